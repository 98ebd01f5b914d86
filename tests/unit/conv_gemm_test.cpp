// Dense convolution on the indirect-GEMM kernels: every micro-kernel variant against the direct
// scalar convolution, and kConvGemm (the ConvImpl the Conv op runs) against kConvDirect, over many
// geometries (kernel 1..7, stride 1..3, dilation 1..2, asymmetric pads, channel counts that are
// not multiples of the vector width, batch 2), with and without bias, residual and clamp,
// single-threaded and on a pool.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/conv_impl.h"
#include "kernels/conv/conv2d_f32.h"
#include "kernels/conv/igemm_f32.h"

namespace pocket {
namespace {

struct Geometry {
  int64_t n, h, w, c, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
};

std::string describe(const Geometry& g) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "N%lld H%lld W%lld C%lld M%lld k%lldx%lld s%lldx%lld d%lldx%lld pads %lld,%lld,%lld,%lld",
                (long long)g.n, (long long)g.h, (long long)g.w, (long long)g.c, (long long)g.m, (long long)g.kh,
                (long long)g.kw, (long long)g.sh, (long long)g.sw, (long long)g.dh, (long long)g.dw, (long long)g.pt,
                (long long)g.pl, (long long)g.pb, (long long)g.pr);
  return buf;
}

int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1) {
  return (in + p0 + p1 - d * (k - 1) - 1) / s + 1;
}

// Hand-picked model shapes plus random ones with a fixed seed.
std::vector<Geometry> geometries() {
  std::vector<Geometry> v = {
      {1, 9, 9, 3, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},     // MobileNet stem, small
      {2, 8, 8, 16, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},    // 1x1 expand-like
      {1, 7, 7, 24, 40, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},    // 1x1, tail panel
      {1, 9, 9, 8, 20, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0},     // 1x1 stride 2 (downsample)
      {1, 13, 11, 3, 17, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3},   // ResNet conv1-like
      {2, 6, 6, 19, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    // 3x3 s1
      {1, 10, 10, 5, 7, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},    // dilated
      {1, 8, 9, 4, 9, 5, 5, 1, 1, 1, 1, 2, 1, 0, 3},      // 5x5 asymmetric pads
      {1, 1, 1, 5, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},      // one pixel
      {1, 3, 3, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},      // all-padding corners
  };
  std::mt19937 rng(2024);
  auto pick = [&](int lo, int hi) { return static_cast<int64_t>(lo + static_cast<int>(rng() % (hi - lo + 1))); };
  while (v.size() < 48) {
    Geometry g;
    g.n = pick(1, 2);
    g.kh = pick(1, 7), g.kw = pick(1, 7);
    g.sh = pick(1, 3), g.sw = pick(1, 3);
    g.dh = pick(1, 2), g.dw = pick(1, 2);
    g.pt = pick(0, 3), g.pl = pick(0, 3), g.pb = pick(0, 3), g.pr = pick(0, 3);
    g.h = pick(1, 12), g.w = pick(1, 12);
    g.c = pick(1, 21), g.m = pick(1, 37);
    if (out_size(g.h, g.kh, g.sh, g.dh, g.pt, g.pb) <= 0 || out_size(g.w, g.kw, g.sw, g.dw, g.pl, g.pr) <= 0) continue;
    v.push_back(g);
  }
  return v;
}

struct Problem {
  Geometry g;
  ConvDesc d;
  std::vector<float> x, w_ohwi, bias, residual;
  int64_t out_elems = 0;
};

// flags: bit 0 bias, bit 1 residual, bit 2 clamp.
Problem make_problem(const Geometry& g, int flags, uint32_t seed) {
  Problem pr;
  pr.g = g;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  auto fill = [&](std::vector<float>& v, size_t n) {
    v.resize(n);
    for (float& f : v) f = dist(rng);
  };
  auto& p = pr.d.p;
  p.batch = g.n, p.in_h = g.h, p.in_w = g.w, p.in_c = g.c;
  p.out_h = out_size(g.h, g.kh, g.sh, g.dh, g.pt, g.pb);
  p.out_w = out_size(g.w, g.kw, g.sw, g.dw, g.pl, g.pr);
  p.out_c = g.m;
  p.kernel_h = g.kh, p.kernel_w = g.kw, p.stride_h = g.sh, p.stride_w = g.sw;
  p.dilation_h = g.dh, p.dilation_w = g.dw, p.pad_top = g.pt, p.pad_left = g.pl, p.groups = 1;
  auto& win = pr.d.win;
  win.kernel_h = g.kh, win.kernel_w = g.kw, win.stride_h = g.sh, win.stride_w = g.sw;
  win.dilation_h = g.dh, win.dilation_w = g.dw;
  win.pad_top = g.pt, win.pad_left = g.pl, win.pad_bottom = g.pb, win.pad_right = g.pr;
  win.out_h = p.out_h, win.out_w = p.out_w;
  fill(pr.x, static_cast<size_t>(g.n * g.h * g.w * g.c));
  fill(pr.w_ohwi, static_cast<size_t>(g.m * g.kh * g.kw * g.c));
  pr.out_elems = g.n * p.out_h * p.out_w * g.m;
  if (flags & 1) {
    fill(pr.bias, static_cast<size_t>(g.m));
    pr.d.bias = p.bias = pr.bias.data();
  }
  if (flags & 2) {
    fill(pr.residual, static_cast<size_t>(pr.out_elems));
    pr.d.residual = true;
  }
  if (flags & 4) {
    pr.d.act.out_min = p.out_min = -0.25f;
    pr.d.act.out_max = p.out_max = 0.5f;
  }
  pr.d.weights_ohwi = pr.w_ohwi.data();
  p.weights = pr.w_ohwi.data();
  return pr;
}

float tolerance(const Geometry& g) { return 1e-5f + 2e-6f * static_cast<float>(g.kh * g.kw * g.c); }

// Runs a ConvCandidate through create/bind/run; x_run may differ from the bound input (a moved
// input: the implementation must re-base).
std::vector<float> run_candidate(const ConvCandidate& cand, const Problem& pr, pthreadpool_t pool,
                                 std::string* name, const float* x_run = nullptr) {
  std::unique_ptr<ConvImpl> impl = cand.create(pr.d);
  EXPECT_TRUE(impl) << cand.family << " refused " << describe(pr.g);
  if (!impl) return {};
  if (name) *name = impl->name();
  std::vector<float> y(static_cast<size_t>(pr.out_elems), std::numeric_limits<float>::quiet_NaN());
  std::vector<uint8_t> scratch(impl->scratch_bytes() + 64);
  void* aligned = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
  EXPECT_TRUE(impl->bind(pr.x.data(), y.data(), pool).ok());
  impl->run(x_run ? x_run : pr.x.data(), pr.d.residual ? pr.residual.data() : nullptr, y.data(), aligned, pool);
  return y;
}

class ConvGemmTest : public ::testing::Test {
 protected:
  void SetUp() override { pool_ = pthreadpool_create(2); }
  void TearDown() override { pthreadpool_destroy(pool_); }
  pthreadpool_t pool_ = nullptr;
};

TEST_F(ConvGemmTest, SupportsEveryGroupOneShapeOnly) {
  Problem pr = make_problem({1, 6, 6, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 0, 1);
  EXPECT_TRUE(kConvGemm.supports(pr.d));
  pr.d.p.groups = 2;
  EXPECT_FALSE(kConvGemm.supports(pr.d));
  EXPECT_EQ(kConvGemm.create(pr.d), nullptr);
}

TEST_F(ConvGemmTest, MatchesDirectConvolution) {
  int run = 0;
  for (const Geometry& g : geometries()) {
    for (int flags : {0, 1, 3, 7, 5}) {
      Problem pr = make_problem(g, flags, static_cast<uint32_t>(100 + run));
      ASSERT_TRUE(kConvGemm.supports(pr.d)) << describe(g);
      const std::vector<float> want = run_candidate(kConvDirect, pr, nullptr, nullptr);
      for (pthreadpool_t pool : {static_cast<pthreadpool_t>(nullptr), pool_}) {
        std::string name;
        const std::vector<float> got = run_candidate(kConvGemm, pr, pool, &name);
        ASSERT_EQ(got.size(), want.size());
        const bool one_by_one = g.kh == 1 && g.kw == 1 && g.pt == 0 && g.pl == 0 && g.pb == 0 && g.pr == 0;
        EXPECT_EQ(name.rfind(one_by_one ? "pocket.gemm1x1." : "pocket.igemm.", 0), 0u) << name;
        for (size_t i = 0; i < want.size(); ++i)
          ASSERT_NEAR(got[i], want[i], tolerance(g))
              << describe(g) << " flags " << flags << (pool ? " threaded" : "") << " at " << i;
      }
      ++run;
    }
  }
}

TEST_F(ConvGemmTest, InputMovedAfterBind) {
  Problem pr = make_problem({2, 7, 6, 5, 11, 3, 3, 1, 2, 1, 1, 1, 0, 1, 2}, 1, 7);
  const std::vector<float> want = run_candidate(kConvDirect, pr, nullptr, nullptr);
  const std::vector<float> moved = pr.x;  // same values, another address
  const std::vector<float> got = run_candidate(kConvGemm, pr, pool_, nullptr, moved.data());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], tolerance(pr.g)) << i;
}

// Every micro-kernel variant this CPU runs, through the kernel API, against the direct reference.
TEST_F(ConvGemmTest, EveryVariantMatchesDirectConvolution) {
  size_t count = 0;
  const kernels::IgemmF32Kernel* variants = kernels::igemm_f32_variants(&count);
  ASSERT_GE(count, 1u);
  EXPECT_STREQ(variants[0].name, "scalar");
  int run = 0;
  for (const Geometry& g : geometries()) {
    Problem pr = make_problem(g, run % 2 == 0 ? 7 : 1, static_cast<uint32_t>(900 + run));
    ++run;
    const auto& p = pr.d.p;
    std::vector<float> direct(static_cast<size_t>(pr.out_elems));
    kernels::Conv2dF32Params ref = p;
    ref.out_min = -std::numeric_limits<float>::infinity();
    ref.out_max = std::numeric_limits<float>::infinity();
    kernels::conv2d_f32_scalar(ref, pr.x.data(), direct.data(), nullptr);
    for (size_t i = 0; i < direct.size(); ++i) {
      if (pr.d.residual) direct[i] += pr.residual[i];
      direct[i] = std::min(std::max(direct[i], p.out_min), p.out_max);
    }
    const int64_t k = g.kh * g.kw * g.c;
    const std::vector<float> zero(static_cast<size_t>(g.c), 0.f);
    for (size_t v = 0; v < count; ++v) {
      const kernels::IgemmF32Kernel& kern = variants[v];
      std::vector<float> packed(kernels::igemm_f32_packed_floats(kern, g.m, k));
      kernels::igemm_f32_pack(kern, g.m, k, pr.w_ohwi.data(), p.bias, packed.data());
      std::vector<const float*> ind(kernels::igemm_f32_indirection_size(p, kern.mr));
      kernels::igemm_f32_build_indirection(p, kern.mr, pr.x.data(), zero.data(), ind.data());
      // Output rows padded past M: the kernels must leave the gap alone.
      const int64_t ldy = g.m + 3;
      const int64_t pixels = g.n * p.out_h * p.out_w;
      std::vector<float> y(static_cast<size_t>(pixels * ldy), 12345.f);
      kernels::IgemmF32Args a;
      a.pixels = pixels;
      a.m = g.m;
      a.kc = g.c;
      a.ks = g.kh * g.kw;
      a.indirection = ind.data();
      a.zero = zero.data();
      a.packed_w = packed.data();
      a.y = y.data();
      a.ldy = ldy;
      a.residual = pr.d.residual ? pr.residual.data() : nullptr;
      a.ldr = g.m;
      a.out_min = p.out_min;
      a.out_max = p.out_max;
      kernels::igemm_f32(kern, a, v % 2 ? pool_ : nullptr);
      for (int64_t px = 0; px < pixels; ++px) {
        for (int64_t o = 0; o < g.m; ++o)
          ASSERT_NEAR(y[px * ldy + o], direct[px * g.m + o], tolerance(g))
              << kern.name << " " << describe(g) << " pixel " << px << " channel " << o;
        for (int64_t o = g.m; o < ldy; ++o) ASSERT_EQ(y[px * ldy + o], 12345.f) << kern.name << " wrote past M";
      }
    }
  }
}

}  // namespace
}  // namespace pocket
