// The int8 row and depthwise kernels: variant tables filled once from cpu_features() (POCKET_ISA
// caps them), the public entry points and the threaded depthwise driver.
#include <algorithm>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/quant/quant_ops_impl.h"

namespace pocket::kernels {

namespace {

using namespace quant_detail;

std::vector<QuantRowKernels> make_row_variants() {
  std::vector<QuantRowKernels> v{{"scalar", &quantize_f32_s8_scalar, &dequantize_s8_f32_scalar,
                                  &quantize_row_dynamic_f32_s8_scalar, &requantize_s8_scalar}};
#if defined(__x86_64__)
  if (cpu_features().avx2_fma) {
    v.push_back({"avx2", &quantize_f32_s8_avx2, &dequantize_s8_f32_avx2, &quantize_row_dynamic_f32_s8_avx2,
                 &requantize_s8_avx2});
  }
#elif defined(__aarch64__)
  if (cpu_features().neon) {
    v.push_back({"neon", &quantize_f32_s8_neon, &dequantize_s8_f32_neon, &quantize_row_dynamic_f32_s8_neon,
                 &requantize_s8_neon});
  }
#endif
  return v;
}

std::vector<DwConvQs8Kernel> make_dw_variants() {
  std::vector<DwConvQs8Kernel> v{{"scalar", &dwconv_qs8_rows_scalar}};
#if defined(__x86_64__)
  if (cpu_features().avx2_fma) v.push_back({"avx2", &dwconv_qs8_rows_avx2});
#elif defined(__aarch64__)
  if (cpu_features().neon) v.push_back({"neon", &dwconv_qs8_rows_neon});
#endif
  return v;
}

const std::vector<QuantRowKernels>& row_variants() {
  static const std::vector<QuantRowKernels> v = make_row_variants();
  return v;
}

const std::vector<DwConvQs8Kernel>& dw_variants() {
  static const std::vector<DwConvQs8Kernel> v = make_dw_variants();
  return v;
}

const QuantRowKernels& rows() {
  static const QuantRowKernels& k = row_variants().back();
  return k;
}

struct DwTask {
  const DwConvQs8Kernel* kernel;
  const DwConvQs8Args* args;
  int64_t rows;  // output rows per task
  int64_t total;
};

void dw_task(void* ctx, size_t i) {
  const auto* t = static_cast<const DwTask*>(ctx);
  const int64_t r0 = static_cast<int64_t>(i) * t->rows;
  t->kernel->run(*t->args, r0, std::min(t->rows, t->total - r0));
}

}  // namespace

const QuantRowKernels* quant_row_variants(size_t* count) {
  *count = row_variants().size();
  return row_variants().data();
}

const DwConvQs8Kernel* dwconv_qs8_variants(size_t* count) {
  *count = dw_variants().size();
  return dw_variants().data();
}

void quantize_f32_s8(const float* x, int64_t n, QParams p, int8_t* y) { rows().quantize(x, n, p, y); }

void dequantize_s8_f32(const int8_t* x, int64_t n, QParams p, float* y) { rows().dequantize(x, n, p, y); }

void dequantize_s8_f32_axis(const int8_t* x, int64_t outer, int64_t channels, int64_t inner, const float* scales,
                            const int32_t* zero_points, float* y) {
  if (inner < 16) {  // per-channel weights [..][C] and the like: one plain loop
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t c = 0; c < channels; ++c) {
        const int32_t z = zero_points ? zero_points[c] : 0;
        const int64_t off = (o * channels + c) * inner;
        for (int64_t i = 0; i < inner; ++i) {
          y[off + i] = scales[c] * static_cast<float>(static_cast<int32_t>(x[off + i]) - z);
        }
      }
    }
    return;
  }
  const QuantRowKernels& k = rows();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t off = (o * channels + c) * inner;
      k.dequantize(x + off, inner, QParams{scales[c], zero_points ? zero_points[c] : 0}, y + off);
    }
  }
}

QParams quantize_row_dynamic_f32_s8(const float* x, int64_t n, int8_t* y) { return rows().quantize_dynamic(x, n, y); }

void requantize_s8(const int8_t* x, QParams px, int64_t n, int8_t* y, QParams py) {
  rows().requantize(x, px, n, y, py);
}

void add_qs8(const int8_t* a, QParams pa, const int8_t* b, QParams pb, int64_t n, int64_t b_channels, int8_t* y,
             QParams py, float out_min, float out_max) {
  static const AddQs8Fn fn = [] {
#if defined(__x86_64__)
    if (cpu_features().avx2_fma) return &add_qs8_avx2;
#endif
    return &add_qs8_scalar;
  }();
  fn(a, pa, b, pb, n, b_channels, y, py, out_min, out_max);
}

void dwconv_qs8(const DwConvQs8Args& args, pthreadpool_t pool) {
  const int64_t total = args.n * args.oh;
  if (total <= 0 || args.ow <= 0 || args.c <= 0) return;
  const int64_t threads = pool ? static_cast<int64_t>(pthreadpool_get_threads_count(pool)) : 1;
  // Whole output rows; about 8 tasks per thread so a preempted worker leaves little behind.
  const int64_t per = std::max<int64_t>(1, total / (8 * threads));
  DwTask t{&dw_variants().back(), &args, per, total};
  pthreadpool_parallelize_1d(pool, &dw_task, &t, static_cast<size_t>((total + per - 1) / per), 0);
}

}  // namespace pocket::kernels
