// Scalar attention pieces (the portable variant) and the plain reference.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/attention/attention_f32.h"

namespace pocket::kernels {

namespace {

constexpr int64_t kNr = 8;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The masked, scaled score of key j (j < n_valid) from its raw dot product.
inline float masked_score(float dot, float scale, const AttentionRowMask& mask, int64_t j) {
  const float x = dot * scale;
  switch (mask.kind) {
    case AttentionMask::Bool:
      return static_cast<const uint8_t*>(mask.ptr)[j * mask.stride] ? mask.fill : x;
    case AttentionMask::Additive:
      return x + static_cast<const float*>(mask.ptr)[j * mask.stride];
    default:
      return x;
  }
}

void pack_k_scalar(const float* k, int64_t k_stride, int64_t nk, int64_t d, float* packed) {
  const int64_t panels = (nk + kNr - 1) / kNr;
  for (int64_t p = 0; p < panels; ++p) {
    float* dst = packed + p * d * kNr;
    for (int64_t jj = 0; jj < kNr; ++jj) {
      const int64_t j = p * kNr + jj;
      if (j < nk) {
        const float* src = k + j * k_stride;
        for (int64_t c = 0; c < d; ++c) dst[c * kNr + jj] = src[c];
      } else {
        for (int64_t c = 0; c < d; ++c) dst[c * kNr + jj] = 0.f;
      }
    }
  }
}

void scores_scalar(const float* q, int64_t q_stride, int64_t rows, const float* packed, int64_t nk, int64_t d,
                   float* s, int64_t ld_s) {
  const int64_t panels = (nk + kNr - 1) / kNr;
  for (int64_t r = 0; r < rows; ++r) {
    const float* qr = q + r * q_stride;
    for (int64_t p = 0; p < panels; ++p) {
      const float* b = packed + p * d * kNr;
      float acc[kNr] = {};
      for (int64_t c = 0; c < d; ++c)
        for (int64_t jj = 0; jj < kNr; ++jj) acc[jj] += qr[c] * b[c * kNr + jj];
      std::memcpy(s + r * ld_s + p * kNr, acc, sizeof(acc));
    }
  }
}

float softmax_step_scalar(float* s, int64_t nk, int64_t n_valid, float scale, const AttentionRowMask& mask, float* m,
                          float* l) {
  float mb = kNegInf;
  for (int64_t j = 0; j < nk; ++j) {
    const float x = j < n_valid ? masked_score(s[j], scale, mask, j) : kNegInf;
    s[j] = x;
    mb = std::max(mb, x);
  }
  const float m_new = std::max(*m, mb);
  if (m_new == kNegInf) {
    std::fill(s, s + nk, 0.f);
    return 1.f;
  }
  const float alpha = *m == kNegInf ? 0.f : std::exp(*m - m_new);
  float sum = 0.f;
  for (int64_t j = 0; j < nk; ++j) {
    s[j] = std::exp(s[j] - m_new);
    sum += s[j];
  }
  *l = *l * alpha + sum;
  *m = m_new;
  return alpha;
}

void pv_scalar(const float* p, int64_t ld_p, int64_t rows, int64_t nk, const float* v, int64_t v_stride, int64_t dv,
               const float* alpha, float* acc, int64_t ld_acc) {
  for (int64_t r = 0; r < rows; ++r) {
    float* a = acc + r * ld_acc;
    for (int64_t c = 0; c < dv; ++c) a[c] *= alpha[r];
    const float* pr = p + r * ld_p;
    for (int64_t j = 0; j < nk; ++j) {
      const float w = pr[j];
      const float* vj = v + j * v_stride;
      for (int64_t c = 0; c < dv; ++c) a[c] += w * vj[c];
    }
  }
}

}  // namespace

AttentionF32Kernel attention_f32_scalar() {
  return {"scalar", 4, kNr, &pack_k_scalar, &scores_scalar, &softmax_step_scalar, &pv_scalar};
}

void attention_f32_reference(const AttentionF32Problem& p, float* row) {
  const int64_t group = p.heads / p.kv_heads;
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t h = 0; h < p.heads; ++h) {
      const int64_t kvh = h / group;
      for (int64_t i = 0; i < p.sq; ++i) {
        const float* q = p.q + (b * p.sq + i) * p.q_row() + h * p.d;
        AttentionRowMask mask;
        mask.kind = p.mask_kind;
        mask.fill = p.mask_fill;
        mask.stride = p.mask_strides[3];
        if (p.mask_kind == AttentionMask::Bool)
          mask.ptr = static_cast<const uint8_t*>(p.mask) + b * p.mask_strides[0] + h * p.mask_strides[1] +
                     i * p.mask_strides[2];
        else if (p.mask_kind == AttentionMask::Additive)
          mask.ptr = static_cast<const float*>(p.mask) + b * p.mask_strides[0] + h * p.mask_strides[1] +
                     i * p.mask_strides[2];
        const int64_t limit = p.causal ? i + p.sk - p.sq : p.sk - 1;
        float mx = kNegInf;
        for (int64_t j = 0; j < p.sk; ++j) {
          const float* k = p.k + (b * p.sk + j) * p.k_row() + kvh * p.d;
          float dot = 0.f;
          for (int64_t c = 0; c < p.d; ++c) dot += q[c] * k[c];
          row[j] = j <= limit ? masked_score(dot, p.scale, mask, j) : kNegInf;
          mx = std::max(mx, row[j]);
        }
        float* out = p.out + (b * p.sq + i) * p.out_row() + h * p.dv;
        if (mx == kNegInf) {
          std::fill(out, out + p.dv, 0.f);
          continue;
        }
        double sum = 0.0;
        for (int64_t j = 0; j < p.sk; ++j) {
          row[j] = static_cast<float>(std::exp(static_cast<double>(row[j]) - mx));
          sum += row[j];
        }
        for (int64_t c = 0; c < p.dv; ++c) {
          double acc = 0.0;
          for (int64_t j = 0; j < p.sk; ++j) acc += static_cast<double>(row[j]) * p.v[(b * p.sk + j) * p.v_row() + kvh * p.dv + c];
          out[c] = static_cast<float>(acc / sum);
        }
      }
    }
  }
}

}  // namespace pocket::kernels
