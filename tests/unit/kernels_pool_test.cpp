// Pooling kernels (kernels/pool/pool_f32.h): every variant this CPU runs against the scalar
// reference, and the reference against hand-computed values.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/pool/pool_f32.h"

namespace pocket {
namespace {

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-4.f, 4.f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct PoolCase {
  int64_t n, h, w, c, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  bool ceil_mode;
};

kernels::Pool2dF32Params make_params(const PoolCase& t, bool include_pad) {
  kernels::Pool2dF32Params p;
  p.batch = t.n, p.in_h = t.h, p.in_w = t.w, p.channels = t.c;
  p.kernel_h = t.kh, p.kernel_w = t.kw, p.stride_h = t.sh, p.stride_w = t.sw;
  p.dilation_h = t.dh, p.dilation_w = t.dw;
  p.pad_top = t.pt, p.pad_left = t.pl, p.pad_bottom = t.pb, p.pad_right = t.pr;
  auto out = [&](int64_t in, int64_t k, int64_t s, int64_t d, int64_t a, int64_t b) {
    const int64_t span = in + a + b - (k - 1) * d - 1;
    int64_t o = (t.ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (t.ceil_mode && (o - 1) * s >= in + a) --o;  // the last window must start inside
    return o;
  };
  p.out_h = out(t.h, t.kh, t.sh, t.dh, t.pt, t.pb);
  p.out_w = out(t.w, t.kw, t.sw, t.dw, t.pl, t.pr);
  p.count_include_pad = include_pad;
  return p;
}

std::string name(const PoolCase& t) {
  return std::to_string(t.n) + "x" + std::to_string(t.h) + "x" + std::to_string(t.w) + "x" + std::to_string(t.c) +
         " k" + std::to_string(t.kh) + "x" + std::to_string(t.kw) + " s" + std::to_string(t.sh) + "," +
         std::to_string(t.sw) + " d" + std::to_string(t.dh) + "," + std::to_string(t.dw) + " pads " +
         std::to_string(t.pt) + "," + std::to_string(t.pl) + "," + std::to_string(t.pb) + "," + std::to_string(t.pr) +
         (t.ceil_mode ? " ceil" : "");
}

void expect_equal(const std::vector<float>& got, const std::vector<float>& want, float tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isinf(want[i])) ASSERT_EQ(got[i], want[i]) << what << " at " << i;
    else ASSERT_NEAR(got[i], want[i], tol) << what << " at " << i;
  }
}

TEST(PoolKernels, VariantsMatchScalarReference) {
  pthreadpool_t pool = pthreadpool_create(2);
  const PoolCase cases[] = {
      {1, 112, 112, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false},  // ResNet-18 max pool
      {1, 13, 13, 24, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, true},     // SqueezeNet: ceil_mode, no pads
      {2, 9, 10, 37, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true},      // C = 32 + 5, ceil_mode with pads
      {1, 7, 7, 5, 2, 3, 1, 2, 1, 1, 0, 1, 1, 2, false},       // C < 8, asymmetric pads
      {1, 8, 8, 40, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, false},      // dilation (max only uses it)
      {1, 7, 7, 72, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, false},      // one window covers the image
      {1, 3, 3, 16, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, false},      // pads of 2: windows in padding only
      {2, 1, 1, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, false},
  };
  size_t count = 0;
  const kernels::PoolF32Kernel* variants = kernels::pool_f32_variants(&count);
  uint32_t seed = 3;
  for (const PoolCase& t : cases) {
    SCOPED_TRACE(name(t));
    const std::vector<float> x = random_vec(static_cast<size_t>(t.n * t.h * t.w * t.c), ++seed);
    for (int mode = 0; mode < 3; ++mode) {  // max, avg excluding pads, avg including pads
      PoolCase u = t;
      if (mode > 0) u.dh = u.dw = 1;
      kernels::Pool2dF32Params p = make_params(u, mode == 2);
      ASSERT_GT(p.out_h, 0);
      ASSERT_GT(p.out_w, 0);
      const size_t out = static_cast<size_t>(p.batch * p.out_h * p.out_w * p.channels);
      std::vector<float> want(out, std::nanf(""));
      if (mode == 0) kernels::max_pool2d_f32(variants[0], p, x.data(), want.data(), nullptr);
      else kernels::avg_pool2d_f32(variants[0], p, x.data(), want.data(), nullptr);
      for (size_t v = 1; v < count; ++v)
        for (pthreadpool_t tp : {static_cast<pthreadpool_t>(nullptr), pool}) {
          std::vector<float> got(out, std::nanf(""));
          if (mode == 0) kernels::max_pool2d_f32(variants[v], p, x.data(), got.data(), tp);
          else kernels::avg_pool2d_f32(variants[v], p, x.data(), got.data(), tp);
          expect_equal(got, want, 1e-5f, std::string(variants[v].name) + " mode " + std::to_string(mode));
        }
    }
  }
  pthreadpool_destroy(pool);
}

TEST(PoolKernels, ReferenceOnHandValues) {
  // 1 x 3 x 3 x 1 image, 2x2 windows, stride 2, pads 1 on every side: 4 windows of 1, 2, 2, 4 inputs.
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  PoolCase t{1, 3, 3, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, false};
  kernels::Pool2dF32Params p = make_params(t, false);
  ASSERT_EQ(p.out_h, 2);
  size_t count = 0;
  const kernels::PoolF32Kernel* variants = kernels::pool_f32_variants(&count);
  for (size_t v = 0; v < count; ++v) {
    SCOPED_TRACE(variants[v].name);
    std::vector<float> y(4);
    kernels::max_pool2d_f32(variants[v], p, x.data(), y.data(), nullptr);
    EXPECT_EQ(y, (std::vector<float>{1, 3, 7, 9}));
    kernels::avg_pool2d_f32(variants[v], p, x.data(), y.data(), nullptr);
    EXPECT_EQ(y, (std::vector<float>{1, 2.5f, 5.5f, 7}));
    p.count_include_pad = true;
    kernels::avg_pool2d_f32(variants[v], p, x.data(), y.data(), nullptr);
    EXPECT_EQ(y, (std::vector<float>{0.25f, 1.25f, 2.75f, 7.f}));
    p.count_include_pad = false;
  }
}

TEST(PoolKernels, GlobalPoolsMatchScalarReference) {
  pthreadpool_t pool = pthreadpool_create(2);
  struct G { int64_t n, pixels, c; };
  const G cases[] = {{1, 49, 576}, {2, 196, 37}, {1, 3136, 16}, {3, 1, 5}, {1, 784, 96}, {2, 64, 1000}};
  size_t count = 0;
  const kernels::PoolF32Kernel* variants = kernels::pool_f32_variants(&count);
  uint32_t seed = 70;
  for (const G& g : cases) {
    SCOPED_TRACE(std::to_string(g.n) + "x" + std::to_string(g.pixels) + "x" + std::to_string(g.c));
    const std::vector<float> x = random_vec(static_cast<size_t>(g.n * g.pixels * g.c), ++seed);
    std::vector<float> avg_ref(static_cast<size_t>(g.n * g.c)), max_ref(avg_ref.size());
    for (int64_t b = 0; b < g.n; ++b)
      for (int64_t c = 0; c < g.c; ++c) {
        double s = 0;
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < g.pixels; ++i) {
          const float v = x[static_cast<size_t>((b * g.pixels + i) * g.c + c)];
          s += v;
          m = std::max(m, v);
        }
        avg_ref[static_cast<size_t>(b * g.c + c)] = static_cast<float>(s / static_cast<double>(g.pixels));
        max_ref[static_cast<size_t>(b * g.c + c)] = m;
      }
    for (size_t v = 0; v < count; ++v)
      for (pthreadpool_t tp : {static_cast<pthreadpool_t>(nullptr), pool}) {
        std::vector<float> y(avg_ref.size(), std::nanf(""));
        kernels::global_avg_pool_f32(variants[v], g.n, g.pixels, g.c, x.data(), y.data(), tp);
        expect_equal(y, avg_ref, 1e-4f, std::string(variants[v].name) + " global avg");
        kernels::global_max_pool_f32(variants[v], g.n, g.pixels, g.c, x.data(), y.data(), tp);
        expect_equal(y, max_ref, 0.f, std::string(variants[v].name) + " global max");
      }
  }
  pthreadpool_destroy(pool);
}

}  // namespace
}  // namespace pocket
