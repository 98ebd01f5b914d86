// Direct conv/deconv kernels against double-precision references, and the activation variants
// against their scalar reference (and the math library).
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/activation/activation_f32.h"
#include "kernels/conv/conv2d_f32.h"
#include "kernels/cpu_features.h"

namespace pocket {
namespace {

std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

kernels::Conv2dF32Params make_params(int64_t h, int64_t w, int64_t c, int64_t m, int64_t k, int64_t s, int64_t d,
                                     int64_t pad, int64_t groups, bool deconv) {
  kernels::Conv2dF32Params p;
  p.batch = 2;
  p.in_h = h, p.in_w = w, p.in_c = c, p.out_c = m;
  p.kernel_h = k, p.kernel_w = k + 1;
  p.stride_h = s, p.stride_w = s;
  p.dilation_h = d, p.dilation_w = 1;
  p.pad_top = pad, p.pad_left = 0;
  p.groups = groups;
  if (deconv) {
    p.out_h = s * (h - 1) + (p.kernel_h - 1) * d + 1 - 2 * pad;
    p.out_w = s * (w - 1) + p.kernel_w - 0;
  } else {
    p.out_h = (h + 2 * pad - (p.kernel_h - 1) * d - 1) / s + 1;
    p.out_w = (w - p.kernel_w) / s + 1;
  }
  return p;
}

TEST(ConvKernels, DirectConvAndDeconvMatchReference) {
  pthreadpool_t pool = pthreadpool_create(2);
  struct Case { int64_t h, w, c, m, k, s, d, pad, g; };
  const Case cases[] = {{5, 6, 4, 6, 3, 1, 1, 1, 2}, {7, 7, 3, 5, 2, 2, 2, 2, 1}, {4, 5, 6, 6, 3, 2, 1, 1, 6},
                        {3, 4, 2, 4, 1, 1, 1, 0, 2}};
  uint32_t seed = 40;
  for (const Case& t : cases)
    for (bool deconv : {false, true}) {
      kernels::Conv2dF32Params p = make_params(t.h, t.w, t.c, t.m, t.k, t.s, t.d, t.pad, t.g, deconv);
      const int64_t cg = t.c / t.g, mg = t.m / t.g;
      std::vector<float> x = random_vec(p.batch * t.h * t.w * t.c, ++seed);
      std::vector<float> w = random_vec(t.m * p.kernel_h * p.kernel_w * cg, ++seed);  // [M][kH][kW][Cg]
      std::vector<float> b = random_vec(t.m, ++seed);
      p.weights = w.data();
      p.bias = b.data();
      p.out_min = -0.8f;
      p.out_max = 0.9f;
      std::vector<double> want(p.batch * p.out_h * p.out_w * t.m);
      for (int64_t n = 0; n < p.batch; ++n)
        for (int64_t i = 0; i < p.out_h * p.out_w; ++i)
          for (int64_t o = 0; o < t.m; ++o) want[(n * p.out_h * p.out_w + i) * t.m + o] = b[o];
      for (int64_t n = 0; n < p.batch; ++n)
        for (int64_t o = 0; o < t.m; ++o) {
          const int64_t g = o / mg;
          for (int64_t ky = 0; ky < p.kernel_h; ++ky)
            for (int64_t kx = 0; kx < p.kernel_w; ++kx)
              for (int64_t ci = 0; ci < cg; ++ci) {
                const double wv = w[((o * p.kernel_h + ky) * p.kernel_w + kx) * cg + ci];
                if (!deconv) {
                  for (int64_t oy = 0; oy < p.out_h; ++oy)
                    for (int64_t ox = 0; ox < p.out_w; ++ox) {
                      const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
                      const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                      if (iy < 0 || iy >= t.h || ix < 0 || ix >= t.w) continue;
                      want[((n * p.out_h + oy) * p.out_w + ox) * t.m + o] +=
                          wv * x[((n * t.h + iy) * t.w + ix) * t.c + g * cg + ci];
                    }
                } else {
                  for (int64_t iy = 0; iy < t.h; ++iy)
                    for (int64_t ix = 0; ix < t.w; ++ix) {
                      const int64_t oy = iy * p.stride_h - p.pad_top + ky * p.dilation_h;
                      const int64_t ox = ix * p.stride_w - p.pad_left + kx * p.dilation_w;
                      if (oy < 0 || oy >= p.out_h || ox < 0 || ox >= p.out_w) continue;
                      want[((n * p.out_h + oy) * p.out_w + ox) * t.m + o] +=
                          wv * x[((n * t.h + iy) * t.w + ix) * t.c + g * cg + ci];
                    }
                }
              }
        }
      for (double& v : want) v = std::min(std::max(v, -0.8), 0.9);
      for (pthreadpool_t tp : {static_cast<pthreadpool_t>(nullptr), pool}) {
        std::vector<float> y(want.size(), 99.f);
        if (deconv) kernels::deconv2d_f32_scalar(p, x.data(), y.data(), tp);
        else kernels::conv2d_f32_scalar(p, x.data(), y.data(), tp);
        for (size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(y[i], want[i], 1e-5) << (deconv ? "deconv" : "conv") << " case h" << t.h << " at " << i;
      }
    }
  pthreadpool_destroy(pool);
}

TEST(ConvKernels, ActivationVariantsMatchReference) {
  using kernels::Activation;
  std::vector<float> x = random_vec(1003, 5, -12.f, 12.f);
  x[0] = 0.f, x[1] = -0.f, x[2] = 95.f, x[3] = -95.f, x[4] = 1e-6f;
  std::vector<kernels::ActivationF32Kernel> variants = {{"scalar", &kernels::activation_f32_scalar}};
#if defined(__x86_64__)
  if (kernels::cpu_features().avx2_fma) variants.push_back({"avx2", &kernels::activation_f32_avx2});
#endif
  const kernels::ActivationParams params[] = {
      {Activation::Relu}, {Activation::Clip, -0.5f, 2.f}, {Activation::HardSigmoid, 0.2f, 0.5f},
      {Activation::HardSwish}, {Activation::Sigmoid}, {Activation::SiLU}, {Activation::Tanh},
      {Activation::LeakyRelu, 0.01f}, {Activation::Gelu}, {Activation::GeluTanh}};
  pthreadpool_t pool = pthreadpool_create(2);
  for (const auto& v : variants)
    for (const auto& p : params) {
      for (size_t i = 0; i < x.size(); ++i) {
        double xv = x[i], want;
        switch (p.kind) {
          case Activation::Relu: want = std::max(xv, 0.0); break;
          case Activation::Clip: want = std::min(std::max(xv, -0.5), 2.0); break;
          case Activation::HardSigmoid: want = std::min(std::max(0.2 * xv + 0.5, 0.0), 1.0); break;
          case Activation::HardSwish: want = xv * std::min(std::max(xv + 3, 0.0), 6.0) / 6; break;
          case Activation::Sigmoid: want = 1 / (1 + std::exp(-xv)); break;
          case Activation::SiLU: want = xv / (1 + std::exp(-xv)); break;
          case Activation::Tanh: want = std::tanh(xv); break;
          case Activation::Gelu: want = 0.5 * xv * (1 + std::erf(xv / std::sqrt(2.0))); break;
          case Activation::GeluTanh:
            want = 0.5 * xv * (1 + std::tanh(std::sqrt(2 / M_PI) * (xv + 0.044715 * xv * xv * xv)));
            break;
          default: want = xv < 0 ? 0.01 * xv : xv; break;
        }
        // Every prefix length exercises the vector tail.
        if (i < 20) {
          std::vector<float> y(x.begin(), x.begin() + static_cast<long>(i) + 1);
          v.fn(p, y.data(), y.size());
          ASSERT_NEAR(y[i], want, 2e-6 * std::max(1.0, std::abs(want))) << v.name << " kind " << int(p.kind);
        }
      }
      std::vector<float> y = x;
      kernels::apply_activation_f32(v, p, y.data(), y.size(), pool);
      std::vector<float> r = x;
      kernels::activation_f32_scalar(p, r.data(), r.size());
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y[i], r[i], 2e-6 * std::max(1.f, std::abs(r[i]))) << v.name << " kind " << int(p.kind) << " x " << x[i];
    }
  pthreadpool_destroy(pool);
}

}  // namespace
}  // namespace pocket
