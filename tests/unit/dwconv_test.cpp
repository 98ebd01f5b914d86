// Depthwise conv (engine/ops/conv_depthwise.cpp and every kernels/conv/dwconv_f32 variant this CPU
// runs) against the scalar direct convolution (kConvDirect) over many shapes: 3x3/5x5/other
// kernels, stride 1/2/3, symmetric and asymmetric padding, channel counts that are not a multiple
// of the vector width, tiny images, batch 2, bias/residual/clamp, 1 and 2 threads.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/conv_impl.h"
#include "kernels/conv/dwconv_f32.h"

namespace pocket {
namespace {

struct DwCase {
  int64_t n, h, w, c, kh, kw, sh, sw;
  int64_t pt, pl, pb, pr;
  bool bias = true, residual = false;
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
};

std::string case_name(const DwCase& t) {
  return "n" + std::to_string(t.n) + " " + std::to_string(t.h) + "x" + std::to_string(t.w) + "x" +
         std::to_string(t.c) + " k" + std::to_string(t.kh) + "x" + std::to_string(t.kw) + " s" +
         std::to_string(t.sh) + "," + std::to_string(t.sw) + " pads " + std::to_string(t.pt) + "," +
         std::to_string(t.pl) + "," + std::to_string(t.pb) + "," + std::to_string(t.pr) + (t.bias ? " bias" : "") +
         (t.residual ? " residual" : "") + " clamp [" + std::to_string(t.lo) + "," + std::to_string(t.hi) + "]";
}

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct DwData {
  ConvDesc d;
  std::vector<float> x, w, b, r;
  size_t out_elems = 0;
};

DwData make_data(const DwCase& t, uint32_t seed) {
  DwData s;
  auto& p = s.d.p;
  p.batch = t.n;
  p.in_h = t.h, p.in_w = t.w, p.in_c = t.c, p.out_c = t.c, p.groups = t.c;
  p.kernel_h = t.kh, p.kernel_w = t.kw;
  p.stride_h = t.sh, p.stride_w = t.sw;
  p.pad_top = t.pt, p.pad_left = t.pl;
  p.out_h = (t.h + t.pt + t.pb - t.kh) / t.sh + 1;
  p.out_w = (t.w + t.pl + t.pr - t.kw) / t.sw + 1;
  p.out_min = t.lo, p.out_max = t.hi;
  auto& w = s.d.win;
  w.kernel_h = t.kh, w.kernel_w = t.kw, w.stride_h = t.sh, w.stride_w = t.sw;
  w.pad_top = t.pt, w.pad_left = t.pl, w.pad_bottom = t.pb, w.pad_right = t.pr;
  w.out_h = p.out_h, w.out_w = p.out_w;
  s.d.act.out_min = t.lo, s.d.act.out_max = t.hi;
  s.x = random_vec(static_cast<size_t>(t.n * t.h * t.w * t.c), seed);
  s.w = random_vec(static_cast<size_t>(t.c * t.kh * t.kw), seed + 1);
  s.out_elems = static_cast<size_t>(t.n * p.out_h * p.out_w * t.c);
  if (t.bias) s.b = random_vec(static_cast<size_t>(t.c), seed + 2);
  if (t.residual) s.r = random_vec(s.out_elems, seed + 3);
  s.d.weights_oihw = s.d.weights_ohwi = s.w.data();  // [C][1][kH][kW] == [C][kH][kW][1]
  s.d.bias = t.bias ? s.b.data() : nullptr;
  p.weights = s.w.data();
  p.bias = s.d.bias;
  s.d.residual = t.residual;
  return s;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-5f + 1e-5f * std::fabs(want[i])) << what << " at " << i;
}

void run_case(const DwCase& t, uint32_t seed, pthreadpool_t pool) {
  SCOPED_TRACE(case_name(t));
  DwData s = make_data(t, seed);
  ASSERT_GT(s.d.p.out_h, 0);
  ASSERT_GT(s.d.p.out_w, 0);
  const float* r = t.residual ? s.r.data() : nullptr;

  std::vector<float> want(s.out_elems);
  auto ref = kConvDirect.create(s.d);
  ref->run(s.x.data(), r, want.data(), nullptr, nullptr);

  // The engine implementation (the default variant), on the calling thread and on 2 threads.
  ASSERT_TRUE(kConvDepthwise.supports(s.d));
  auto impl = kConvDepthwise.create(s.d);
  ASSERT_NE(impl, nullptr);
  for (pthreadpool_t tp : {static_cast<pthreadpool_t>(nullptr), pool}) {
    std::vector<float> got(s.out_elems, std::nanf(""));
    ASSERT_TRUE(impl->bind(s.x.data(), got.data(), tp).ok());
    impl->run(s.x.data(), r, got.data(), nullptr, tp);
    expect_close(got, want, impl->name() + (tp ? " 2 threads" : " 1 thread"));
  }

  // Every kernel variant through the kernel API.
  size_t count = 0;
  const kernels::DwConvF32Kernel* variants = kernels::dwconv_f32_variants(&count);
  for (size_t v = 0; v < count; ++v) {
    const kernels::DwConvF32Kernel& k = variants[v];
    std::vector<float> packed(kernels::dwconv_f32_packed_floats(t.c, t.kh, t.kw, k.channel_tile));
    kernels::dwconv_f32_pack(t.c, t.kh, t.kw, k.channel_tile, s.w.data(), s.d.bias, packed.data());
    std::vector<float> zeros(kernels::dwconv_f32_zero_floats(t.w, t.c), 0.f);
    kernels::DwConvF32Params p;
    p.batch = t.n, p.in_h = t.h, p.in_w = t.w, p.channels = t.c;
    p.out_h = s.d.p.out_h, p.out_w = s.d.p.out_w;
    p.kernel_h = t.kh, p.kernel_w = t.kw, p.stride_h = t.sh, p.stride_w = t.sw;
    p.pad_top = t.pt, p.pad_left = t.pl;
    p.packed = packed.data(), p.zeros = zeros.data();
    p.out_min = t.lo, p.out_max = t.hi;
    std::vector<float> got(s.out_elems, std::nanf(""));
    kernels::dwconv_f32(k, p, s.x.data(), r, got.data(), pool);
    expect_close(got, want, std::string("variant ") + k.name);
  }
}

class DwConvTest : public ::testing::Test {
 protected:
  void SetUp() override { pool_ = pthreadpool_create(2); }
  void TearDown() override { pthreadpool_destroy(pool_); }
  pthreadpool_t pool_ = nullptr;
};

TEST_F(DwConvTest, MobileNetLikeShapes) {
  const float inf = std::numeric_limits<float>::infinity();
  const DwCase cases[] = {
      {1, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, true, false, 0.f, 6.f},      // 3x3 s1, ReLU6
      {1, 12, 12, 24, 3, 3, 2, 2, 1, 1, 1, 1},                           // 3x3 s2, even size
      {1, 11, 13, 32, 3, 3, 2, 2, 1, 1, 1, 1, true, false, 0.f, inf},    // 3x3 s2, odd size, ReLU
      {1, 7, 7, 40, 5, 5, 1, 1, 2, 2, 2, 2},                             // 5x5 s1
      {1, 9, 9, 48, 5, 5, 2, 2, 2, 2, 2, 2},                             // 5x5 s2
      {1, 4, 37, 16, 3, 3, 1, 1, 1, 1, 1, 1, true, true, -0.5f, 0.5f},   // long row: 8/4/2/1 blocks
      {1, 5, 29, 8, 5, 5, 1, 1, 2, 2, 2, 2, false, true},                // 5x5 s1 long row, no bias
      {1, 6, 41, 8, 5, 5, 2, 2, 2, 2, 2, 2},                             // 5x5 s2 long row
      {1, 6, 43, 16, 3, 3, 2, 2, 1, 1, 1, 1, true, true},                // 3x3 s2 long row
  };
  uint32_t seed = 10;
  for (const DwCase& t : cases) run_case(t, seed += 11, pool_);
}

TEST_F(DwConvTest, ChannelRemaindersAndPadding) {
  const DwCase cases[] = {
      {1, 8, 8, 3, 3, 3, 1, 1, 1, 1, 1, 1},                              // C < vector width
      {1, 8, 8, 13, 3, 3, 2, 2, 1, 1, 1, 1, true, true},                 // C = 8 + 5
      {1, 7, 10, 20, 5, 5, 1, 1, 2, 2, 2, 2, true, false, -0.3f, 0.4f},  // C = 16 + 4
      {1, 9, 9, 17, 5, 5, 2, 2, 2, 2, 2, 2, false, true},                // C = 16 + 1
      {1, 10, 10, 8, 3, 3, 2, 2, 0, 0, 1, 1},                            // TF "SAME" s2: pad after only
      {1, 9, 11, 12, 3, 3, 1, 1, 2, 1, 0, 3},                            // asymmetric, pad > kernel/2
      {1, 8, 9, 9, 5, 5, 2, 1, 0, 4, 3, 0},                              // mixed strides, one-sided pads
      {1, 6, 6, 16, 3, 3, 1, 1, 0, 0, 0, 0},                             // no padding
      {1, 5, 5, 8, 3, 3, 1, 1, 3, 3, 3, 3},                              // pads beyond the kernel
      {1, 7, 7, 116, 3, 3, 2, 2, 1, 1, 1, 1, true, true, 0.f, 6.f},      // ShuffleNet channels
  };
  uint32_t seed = 500;
  for (const DwCase& t : cases) run_case(t, seed += 13, pool_);
}

TEST_F(DwConvTest, TinyImagesBatchAndGenericKernels) {
  const DwCase cases[] = {
      {1, 1, 1, 16, 3, 3, 1, 1, 1, 1, 1, 1},   // 1x1 image, 3x3 kernel
      {2, 2, 2, 9, 3, 3, 1, 1, 1, 1, 1, 1, true, true},
      {1, 3, 3, 24, 3, 3, 2, 2, 1, 1, 1, 1},
      {1, 1, 1, 8, 5, 5, 1, 1, 2, 2, 2, 2},   // 1x1 image, 5x5 kernel: all border
      {2, 2, 3, 12, 5, 5, 2, 2, 2, 2, 2, 2, true, true, -0.2f, 0.2f},
      {2, 3, 3, 16, 5, 5, 1, 1, 2, 2, 2, 2},
      {2, 7, 7, 24, 3, 3, 1, 1, 1, 1, 1, 1, true, true},  // batch 2
      {1, 6, 7, 10, 1, 1, 1, 1, 0, 0, 0, 0},               // 1x1 depthwise (a per-channel scale)
      {1, 12, 12, 8, 7, 7, 2, 2, 3, 3, 3, 3},              // 7x7
      {1, 8, 9, 11, 3, 5, 1, 2, 1, 2, 1, 2},               // 3x5
      {1, 8, 8, 16, 2, 2, 2, 2, 0, 0, 0, 0},               // 2x2 s2
      {1, 10, 10, 8, 3, 3, 3, 3, 1, 1, 1, 1},              // stride 3
      {2, 2, 40, 16, 3, 3, 1, 1, 1, 1, 1, 1, true, true},  // few rows: column tiles over threads
  };
  uint32_t seed = 900;
  for (const DwCase& t : cases) run_case(t, seed += 17, pool_);
}

TEST(DwConvChoice, SupportsAndNames) {
  DwData s = make_data({1, 8, 8, 16, 3, 3, 2, 2, 1, 1, 1, 1}, 1);
  EXPECT_TRUE(kConvDepthwise.supports(s.d));
  const std::string isa = kernels::dwconv_f32_kernel().name;
  EXPECT_EQ(kConvDepthwise.create(s.d)->name(), "pocket.dwconv3x3." + isa);
  DwData g = make_data({1, 8, 8, 16, 7, 7, 1, 1, 3, 3, 3, 3}, 1);
  EXPECT_EQ(kConvDepthwise.create(g.d)->name(), "pocket.dwconvgeneric." + isa);
  s.d.p.dilation_h = 2;
  EXPECT_FALSE(kConvDepthwise.supports(s.d));  // dilation goes to XNNPACK
  DwData m = make_data({1, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1}, 1);
  m.d.p.out_c = 32;  // channel multiplier 2 is not depthwise here
  EXPECT_FALSE(kConvDepthwise.supports(m.d));
}

}  // namespace
}  // namespace pocket
