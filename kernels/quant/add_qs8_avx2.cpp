// AVX2 int8 elementwise add: 16 elements per step, real(a) + real(b) in f32, the clamp, the
// division by the output scale and the rounding as in the scalar kernel.
#include <immintrin.h>

#include <algorithm>

#include "kernels/quant/quant_ops_impl.h"

namespace pocket::kernels::quant_detail {

namespace {

struct AddConsts {
  __m256 sa, sb, lo, hi, sy, qlo, qhi;
  __m256i za, zb, zy;
};

inline __m256 real8(const int8_t* p, __m256i z, __m256 s) {
  const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_mul_ps(s, _mm256_cvtepi32_ps(_mm256_sub_epi32(q, z)));
}

inline __m256i finish8(__m256 v, const AddConsts& k) {
  v = _mm256_min_ps(_mm256_max_ps(v, k.lo), k.hi);
  v = _mm256_min_ps(_mm256_max_ps(_mm256_div_ps(v, k.sy), k.qlo), k.qhi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(v), k.zy);
}

inline void store16(int8_t* y, __m256i q0, __m256i q1) {
  const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y),
                   _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1)));
}

// y[0, len) from a[0, len) and b[0, len) (b_step 1) or one real b value (b == nullptr).
int64_t add_run(const int8_t* a, const int8_t* b, __m256 b_real, int64_t len, int8_t* y, const AddConsts& k) {
  int64_t i = 0;
  for (; i + 16 <= len; i += 16) {
    __m256 v0 = real8(a + i, k.za, k.sa), v1 = real8(a + i + 8, k.za, k.sa);
    if (b) {
      v0 = _mm256_add_ps(v0, real8(b + i, k.zb, k.sb));
      v1 = _mm256_add_ps(v1, real8(b + i + 8, k.zb, k.sb));
    } else {
      v0 = _mm256_add_ps(v0, b_real);
      v1 = _mm256_add_ps(v1, b_real);
    }
    store16(y + i, finish8(v0, k), finish8(v1, k));
  }
  return i;  // elements done
}

// The elements the vectors left (fewer than 16), one by one with the same arithmetic.
void add_tail(const int8_t* a, QParams pa, const int8_t* b, int64_t b_step, QParams pb, int64_t len, int8_t* y,
              QParams py, float out_min, float out_max) {
  for (int64_t i = 0; i < len; ++i) {
    float v = pa.scale * static_cast<float>(static_cast<int32_t>(a[i]) - pa.zero_point) +
              pb.scale * static_cast<float>(static_cast<int32_t>(b[i * b_step]) - pb.zero_point);
    v = std::min(std::max(v, out_min), out_max);
    y[i] = quantize_value(v / py.scale, py.zero_point);
  }
}

}  // namespace

void add_qs8_avx2(const int8_t* a, QParams pa, const int8_t* b, QParams pb, int64_t n, int64_t b_channels, int8_t* y,
                  QParams py, float out_min, float out_max) {
  AddConsts k;
  k.sa = _mm256_set1_ps(pa.scale), k.sb = _mm256_set1_ps(pb.scale);
  k.za = _mm256_set1_epi32(pa.zero_point), k.zb = _mm256_set1_epi32(pb.zero_point);
  k.lo = _mm256_set1_ps(out_min), k.hi = _mm256_set1_ps(out_max), k.sy = _mm256_set1_ps(py.scale);
  k.qlo = _mm256_set1_ps(static_cast<float>(-128 - py.zero_point));
  k.qhi = _mm256_set1_ps(static_cast<float>(127 - py.zero_point));
  k.zy = _mm256_set1_epi32(py.zero_point);
  if (b_channels <= 1) {
    const float br = pb.scale * static_cast<float>(static_cast<int32_t>(b[0]) - pb.zero_point);
    const int64_t done = add_run(a, nullptr, _mm256_set1_ps(br), n, y, k);
    add_tail(a + done, pa, b, 0, pb, n - done, y + done, py, out_min, out_max);
  } else if (b_channels >= n) {
    const int64_t done = add_run(a, b, _mm256_setzero_ps(), n, y, k);
    add_tail(a + done, pa, b + done, 1, pb, n - done, y + done, py, out_min, out_max);
  } else {
    for (int64_t i0 = 0; i0 < n; i0 += b_channels) {
      const int64_t len = std::min(b_channels, n - i0);
      const int64_t done = add_run(a + i0, b, _mm256_setzero_ps(), len, y + i0, k);
      add_tail(a + i0 + done, pa, b + done, 1, pb, len - done, y + i0 + done, py, out_min, out_max);
    }
  }
}

}  // namespace pocket::kernels::quant_detail
