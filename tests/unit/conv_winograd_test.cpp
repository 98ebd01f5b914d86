// Winograd 3x3 stride-1 convolution (kernels/conv/winograd_*, engine/ops/conv_winograd.cpp):
// every kernel variant with F(4,3) and F(2,3), and kConvWinograd (what the Conv op runs), against a
// double-precision direct convolution and kConvDirect, over odd sizes, tiles crossing the edges,
// pads 0/1/2 and asymmetric, channel counts that are not multiples of the vector width, batch 2,
// bias/residual/clamp, single-threaded and on a pool.
//
// Tolerance. Winograd is exact in real arithmetic; in f32 its rounding error grows with the
// transform coefficients: B^T has entries up to 5 and A^T up to 8 for F(4,3) (points 0, +-1, +-2),
// so a rounding error in a transformed input or product reaches the output amplified by tens of
// ulps relative to the magnitude sum |w||x| of the direct sum (F(2,3): entries 1, a few ulps).
// The bound used is err <= k * eps * (sum_taps |w x| + |b| + |r|) with eps = 2^-23, k = 64 for
// F(4,3) and 8 for F(2,3); the largest ratios measured on these cases (printed by
// EveryVariantMatchesDoubleReference) are 21.5 and 1.5, 3-5x below. A wrong coefficient, tap or
// edge gives errors of the order of the magnitude itself, ~10^6 times more.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/conv_impl.h"
#include "kernels/conv/winograd_conv.h"

namespace pocket {
namespace {

struct Geometry {
  int64_t n, h, w, c, m, pt, pl, pb, pr;
};

std::string describe(const Geometry& g) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "N%lld H%lld W%lld C%lld M%lld pads %lld,%lld,%lld,%lld", (long long)g.n,
                (long long)g.h, (long long)g.w, (long long)g.c, (long long)g.m, (long long)g.pt, (long long)g.pl,
                (long long)g.pb, (long long)g.pr);
  return buf;
}

std::vector<Geometry> geometries() {
  std::vector<Geometry> v = {
      {1, 8, 8, 16, 16, 1, 1, 1, 1},    // whole 4x4 tiles
      {2, 9, 7, 19, 33, 1, 1, 1, 1},    // odd sizes, batch 2, tails of 8 and 16
      {1, 11, 13, 17, 16, 0, 0, 0, 0},  // no padding, partial last tiles
      {1, 6, 10, 24, 40, 1, 0, 2, 1},   // asymmetric pads
      {1, 5, 5, 16, 20, 2, 2, 2, 2},    // pads of 2: border outputs from padding alone
      {1, 3, 3, 20, 17, 1, 1, 1, 1},    // one partial tile
      {1, 14, 14, 32, 64, 1, 1, 1, 1},  // several tile blocks
      {2, 7, 7, 64, 48, 1, 1, 1, 1},    // ResNet 7x7-like
      {1, 4, 12, 1, 1, 1, 1, 1, 1},     // C = M = 1 (kernel level only)
      {1, 3, 3, 5, 3, 0, 0, 0, 0},      // one output pixel
  };
  std::mt19937 rng(77);
  auto pick = [&](int lo, int hi) { return static_cast<int64_t>(lo + static_cast<int>(rng() % (hi - lo + 1))); };
  while (v.size() < 24) {
    Geometry g{pick(1, 2), pick(1, 15), pick(1, 15), pick(1, 40), pick(1, 40),
               pick(0, 2), pick(0, 2),  pick(0, 2),  pick(0, 2)};
    if (g.h + g.pt + g.pb < 3 || g.w + g.pl + g.pr < 3) continue;
    v.push_back(g);
  }
  return v;
}

struct Problem {
  Geometry g;
  ConvDesc d;
  std::vector<float> x, w_ohwi, bias, residual;
  int64_t out_elems = 0;
  std::vector<double> ref, mag;  // double reference (before the clamp) and sum of |terms|
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
  p.out_h = g.h + g.pt + g.pb - 2, p.out_w = g.w + g.pl + g.pr - 2, p.out_c = g.m;
  p.kernel_h = p.kernel_w = 3;
  p.pad_top = g.pt, p.pad_left = g.pl, p.groups = 1;
  auto& win = pr.d.win;
  win.kernel_h = win.kernel_w = 3;
  win.pad_top = g.pt, win.pad_left = g.pl, win.pad_bottom = g.pb, win.pad_right = g.pr;
  win.out_h = p.out_h, win.out_w = p.out_w;
  fill(pr.x, static_cast<size_t>(g.n * g.h * g.w * g.c));
  fill(pr.w_ohwi, static_cast<size_t>(g.m * 9 * g.c));
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
  pr.ref.assign(static_cast<size_t>(pr.out_elems), 0.0);
  pr.mag.assign(static_cast<size_t>(pr.out_elems), 0.0);
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t oy = 0; oy < p.out_h; ++oy)
      for (int64_t ox = 0; ox < p.out_w; ++ox)
        for (int64_t o = 0; o < g.m; ++o) {
          const size_t i = static_cast<size_t>(((b * p.out_h + oy) * p.out_w + ox) * g.m + o);
          double s = 0, mg = 0;
          for (int64_t ky = 0; ky < 3; ++ky)
            for (int64_t kx = 0; kx < 3; ++kx) {
              const int64_t iy = oy - g.pt + ky, ix = ox - g.pl + kx;
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              for (int64_t ch = 0; ch < g.c; ++ch) {
                const double t =
                    static_cast<double>(pr.x[static_cast<size_t>(((b * g.h + iy) * g.w + ix) * g.c + ch)]) *
                    pr.w_ohwi[static_cast<size_t>(((o * 3 + ky) * 3 + kx) * g.c + ch)];
                s += t;
                mg += std::fabs(t);
              }
            }
          if (flags & 1) s += pr.bias[static_cast<size_t>(o)], mg += std::fabs(pr.bias[static_cast<size_t>(o)]);
          if (flags & 2) s += pr.residual[i], mg += std::fabs(pr.residual[i]);
          pr.ref[i] = s;
          pr.mag[i] = mg;
        }
  return pr;
}

constexpr double kEps = 1.0 / (1 << 23);
double budget(int tile) { return (tile == 4 ? 64 : 8) * kEps; }

// Largest error / (eps * magnitude); fails the test when above the budget.
double check(const Problem& pr, const std::vector<float>& got, int tile, const std::string& what) {
  EXPECT_EQ(got.size(), pr.ref.size()) << what;
  if (got.size() != pr.ref.size()) return 0;
  const float lo = pr.d.p.out_min, hi = pr.d.p.out_max;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double want = std::min<double>(std::max<double>(pr.ref[i], lo), hi);
    const double err = std::fabs(got[i] - want);
    const double allowed = budget(tile) * pr.mag[i] + 1e-30;
    if (!(err <= allowed)) {
      ADD_FAILURE() << what << " " << describe(pr.g) << " at " << i << ": got " << got[i] << " want " << want
                    << " (error " << err << ", allowed " << allowed << ")";
      return err / (kEps * pr.mag[i]);
    }
    if (pr.mag[i] > 0) worst = std::max(worst, err / (kEps * pr.mag[i]));
  }
  return worst;
}

std::vector<float> run_candidate(const ConvCandidate& cand, const Problem& pr, pthreadpool_t pool, std::string* name) {
  std::unique_ptr<ConvImpl> impl = cand.create(pr.d);
  EXPECT_TRUE(impl) << cand.family << " refused " << describe(pr.g);
  if (!impl) return {};
  if (name) *name = impl->name();
  std::vector<float> y(static_cast<size_t>(pr.out_elems), std::numeric_limits<float>::quiet_NaN());
  std::vector<float> scratch(impl->scratch_bytes() / sizeof(float) + 16);
  void* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) / 64 * 64);
  EXPECT_TRUE(impl->bind(pr.x.data(), y.data(), pool).ok());
  impl->run(pr.x.data(), pr.d.residual ? pr.residual.data() : nullptr, y.data(), aligned, pool);
  return y;
}

// The kernel-level driver with a chosen variant and tile size.
std::vector<float> run_kernel(const kernels::WinogradF32Kernel& k, int tile, const Problem& pr, pthreadpool_t pool,
                              int64_t block_tiles = 0) {
  const auto& p = pr.d.p;
  std::vector<float> packed(kernels::winograd_packed_floats(tile, p.in_c, p.out_c));
  kernels::winograd_pack_weights(tile, p.in_c, p.out_c, pr.w_ohwi.data(), packed.data());
  std::vector<float> bias(static_cast<size_t>(kernels::winograd_round16(p.out_c)), 0.f);
  std::copy(pr.bias.begin(), pr.bias.end(), bias.begin());
  kernels::WinogradConvArgs a;
  a.tile = tile;
  a.batch = p.batch, a.in_h = p.in_h, a.in_w = p.in_w, a.c = p.in_c;
  a.out_h = p.out_h, a.out_w = p.out_w, a.m = p.out_c, a.pad_top = p.pad_top, a.pad_left = p.pad_left;
  a.packed = packed.data();
  a.bias = bias.data();
  a.out_min = p.out_min, a.out_max = p.out_max;
  const int64_t total = kernels::winograd_total_tiles(tile, p.batch, p.out_h, p.out_w);
  a.block_tiles =
      block_tiles > 0 ? block_tiles : kernels::winograd_block_tiles(tile, p.in_c, p.out_c, total, k.gemm_rows);
  std::vector<float> scratch(kernels::winograd_scratch_floats(tile, p.in_c, p.out_c, a.block_tiles));
  // NaN-filled: nothing may read scratch it did not write.
  std::fill(scratch.begin(), scratch.end(), std::numeric_limits<float>::quiet_NaN());
  std::vector<float> y(static_cast<size_t>(pr.out_elems), std::numeric_limits<float>::quiet_NaN());
  a.x = pr.x.data();
  a.y = y.data();
  a.residual = pr.d.residual ? pr.residual.data() : nullptr;
  a.scratch = scratch.data();
  kernels::winograd_conv_f32(k, a, pool);
  return y;
}

class ConvWinogradTest : public ::testing::Test {
 protected:
  void SetUp() override { pool_ = pthreadpool_create(2); }
  void TearDown() override { pthreadpool_destroy(pool_); }
  pthreadpool_t pool_ = nullptr;
};

TEST_F(ConvWinogradTest, SupportsOnly3x3Stride1WithEnoughChannels) {
  Problem pr = make_problem({1, 8, 8, 16, 16, 1, 1, 1, 1}, 0, 1);
  EXPECT_TRUE(kConvWinograd.supports(pr.d));
  Problem stem = make_problem({1, 8, 8, 3, 16, 1, 1, 1, 1}, 0, 1);
  EXPECT_FALSE(kConvWinograd.supports(stem.d));
  Problem d = pr;
  d.d.p.stride_h = 2;
  EXPECT_FALSE(kConvWinograd.supports(d.d));
  d = pr;
  d.d.p.dilation_w = 2;
  EXPECT_FALSE(kConvWinograd.supports(d.d));
  d = pr;
  d.d.p.groups = 2;
  EXPECT_FALSE(kConvWinograd.supports(d.d));
  d = pr;
  d.d.p.kernel_h = 5;
  EXPECT_FALSE(kConvWinograd.supports(d.d));
}

// Every variant this CPU runs, both tile sizes, small and default blocks, 1 thread and a pool.
TEST_F(ConvWinogradTest, EveryVariantMatchesDoubleReference) {
  size_t count = 0;
  const kernels::WinogradF32Kernel* variants = kernels::winograd_f32_variants(&count);
  ASSERT_GE(count, 1u);
  EXPECT_STREQ(variants[0].name, "scalar");
  double worst[2] = {0, 0};
  int run = 0;
  for (const Geometry& g : geometries()) {
    const int flags = run % 8;
    Problem pr = make_problem(g, flags, static_cast<uint32_t>(500 + run));
    ++run;
    for (size_t v = 0; v < count; ++v)
      for (int tile : {4, 2})
        for (int64_t block : {int64_t{0}, int64_t{5}}) {
          const std::string what = std::string(variants[v].name) + " F(" + std::to_string(tile) + ",3) block " +
                                   std::to_string(block) + " flags " + std::to_string(flags);
          const double e = check(pr, run_kernel(variants[v], tile, pr, run % 2 ? pool_ : nullptr, block), tile, what);
          worst[tile == 4 ? 0 : 1] = std::max(worst[tile == 4 ? 0 : 1], e);
        }
  }
  std::printf("largest error / (eps * magnitude): F(4,3) %.1f (budget %.0f), F(2,3) %.1f (budget %.0f)\n", worst[0],
              budget(4) / kEps, worst[1], budget(2) / kEps);
}

// What the Conv op runs, against the double reference and against kConvDirect.
TEST_F(ConvWinogradTest, ConvImplMatchesDirect) {
  int run = 0;
  for (const Geometry& g : geometries()) {
    for (int flags : {0, 3, 7}) {
      Problem pr = make_problem(g, flags, static_cast<uint32_t>(100 + run));
      ++run;
      if (!kConvWinograd.supports(pr.d)) {
        EXPECT_TRUE(g.c < 16 || g.m < 16 || pr.d.p.out_h < 2 || pr.d.p.out_w < 2) << describe(g);
        continue;
      }
      const std::vector<float> direct = run_candidate(kConvDirect, pr, nullptr, nullptr);
      for (pthreadpool_t pool : {static_cast<pthreadpool_t>(nullptr), pool_}) {
        std::string name;
        const std::vector<float> got = run_candidate(kConvWinograd, pr, pool, &name);
        ASSERT_EQ(name.rfind("pocket.winograd", 0), 0u) << name;
        const int tile = name.rfind("pocket.winograd4x4.", 0) == 0 ? 4 : 2;
        check(pr, got, tile, name);
        ASSERT_EQ(got.size(), direct.size());
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_LE(std::fabs(got[i] - direct[i]), 2 * budget(tile) * pr.mag[i] + 1e-30)
              << name << " vs direct " << describe(g) << " at " << i;
      }
    }
  }
}

}  // namespace
}  // namespace pocket
