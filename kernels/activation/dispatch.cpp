#include "kernels/activation/activation_f32.h"
#include "kernels/cpu_features.h"

namespace pocket::kernels {

const ActivationF32Kernel& activation_f32_kernel() {
  static const ActivationF32Kernel k = [] {
#if defined(__x86_64__)
    if (cpu_features().avx2_fma) return ActivationF32Kernel{"avx2", &activation_f32_avx2};
#endif
    return ActivationF32Kernel{"scalar", &activation_f32_scalar};
  }();
  return k;
}

namespace {

struct ApplyTask {
  ActivationF32Fn fn;
  const ActivationParams* p;
  float* data;
};

void apply_tile(void* ctx, size_t start, size_t count) {
  auto* t = static_cast<ApplyTask*>(ctx);
  t->fn(*t->p, t->data + start, count);
}

}  // namespace

void apply_activation_f32(const ActivationF32Kernel& k, const ActivationParams& p, float* data, size_t n,
                          pthreadpool_t pool) {
  if (p.kind == Activation::None || n == 0) return;
  constexpr size_t kTile = 16384;
  if (!pool || n <= kTile) {
    k.fn(p, data, n);
    return;
  }
  ApplyTask t{k.fn, &p, data};
  pthreadpool_parallelize_1d_tile_1d(pool, &apply_tile, &t, n, kTile, 0);
}

}  // namespace pocket::kernels
