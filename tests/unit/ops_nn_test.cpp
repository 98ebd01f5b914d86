// NN ops through the real path (.pocket model -> Session), against naive double-precision
// references written here from the ONNX definitions, with 1 and 2 threads.
#include <gtest/gtest.h>
#include <cstdio>
#include <unistd.h>
#include <sstream>
#include <fstream>
#include <algorithm>

#include <cmath>
#include <limits>

#include "kernels/xnnpack/xnnpack_init.h"
#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

using format::AttrDesc;
using testing::OpSpec;
using testing::TestTensor;

double act_ref(int kind, double alpha, double beta, double v) {
  switch (kind) {
    case 1: return std::max(v, 0.0);
    case 2: return std::min(std::max(v, alpha), beta);
    case 3: return std::min(std::max(alpha * v + beta, 0.0), 1.0);
    case 4: return v * std::min(std::max(v + 3.0, 0.0), 6.0) / 6.0;
    case 5: return 1.0 / (1.0 + std::exp(-v));
    case 6: return v / (1.0 + std::exp(-v));
    case 7: return std::tanh(v);
    case 8: return v < 0 ? alpha * v : v;
    case 9: return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    case 10: return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    default: return v;
  }
}

std::vector<AttrDesc> act_attrs(int kind, float alpha, float beta) {
  if (kind == 0) return {};
  return {AttrDesc::Int("activation", kind), AttrDesc::Float("act_alpha", alpha), AttrDesc::Float("act_beta", beta)};
}

std::vector<float> to_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

// Runs spec with 1 and 2 threads and compares both with want.
void expect_op(const OpSpec& spec, const Shape& want_shape, const std::vector<double>& want, float tol = 1e-4f) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    std::vector<TestTensor> out;
    Status st = testing::run_op(spec, &out, threads);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].shape, want_shape);
    testing::expect_close(out[0].floats(), to_float(want), tol);
  }
}

void expect_prepare_error(const OpSpec& spec, const std::string& needle) {
  std::vector<TestTensor> out;
  Status st = testing::run_op(spec, &out, 1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
}

// ---------------------------------------------------------------------------------------------
// Conv

struct ConvCase {
  int64_t n, h, w, c, m, kh, kw, sh, sw, dh, dw;
  std::vector<int64_t> pads;  // top, left, bottom, right
  int64_t group;
  std::string auto_pad = "NOTSET";
  bool bias = true;
  int act = 0;
  float alpha = 0.f, beta = 0.f;
};

int64_t same_total(int64_t in, int64_t k, int64_t s, int64_t d, int64_t* out) {
  *out = (in + s - 1) / s;
  return std::max<int64_t>(0, (*out - 1) * s + (k - 1) * d + 1 - in);
}

void run_conv_case(const ConvCase& t, uint32_t seed) {
  SCOPED_TRACE("conv " + std::to_string(t.h) + "x" + std::to_string(t.w) + "x" + std::to_string(t.c) + " -> " +
               std::to_string(t.m) + " k" + std::to_string(t.kh) + "x" + std::to_string(t.kw) + " g" +
               std::to_string(t.group) + " act" + std::to_string(t.act));
  const int64_t cg = t.c / t.group, mg = t.m / t.group;
  std::vector<float> x = testing::random_floats(t.n * t.h * t.w * t.c, seed);
  std::vector<float> w = testing::random_floats(t.m * cg * t.kh * t.kw, seed + 1);
  std::vector<float> b = testing::random_floats(t.m, seed + 2);
  int64_t pt = t.pads[0], pl = t.pads[1], pb = t.pads[2], pr = t.pads[3], oh, ow;
  if (t.auto_pad == "SAME_UPPER" || t.auto_pad == "SAME_LOWER") {
    int64_t th = same_total(t.h, t.kh, t.sh, t.dh, &oh), tw = same_total(t.w, t.kw, t.sw, t.dw, &ow);
    pt = t.auto_pad == "SAME_UPPER" ? th / 2 : th - th / 2;
    pl = t.auto_pad == "SAME_UPPER" ? tw / 2 : tw - tw / 2;
  } else {
    if (t.auto_pad == "VALID") pt = pl = pb = pr = 0;
    oh = (t.h + pt + pb - (t.kh - 1) * t.dh - 1) / t.sh + 1;
    ow = (t.w + pl + pr - (t.kw - 1) * t.dw - 1) / t.sw + 1;
  }
  std::vector<double> want(t.n * oh * ow * t.m);
  for (int64_t n = 0; n < t.n; ++n)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t m = 0; m < t.m; ++m) {
          const int64_t g = m / mg;
          double acc = t.bias ? b[m] : 0.0;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t ky = 0; ky < t.kh; ++ky)
              for (int64_t kx = 0; kx < t.kw; ++kx) {
                const int64_t iy = oy * t.sh - pt + ky * t.dh, ix = ox * t.sw - pl + kx * t.dw;
                if (iy < 0 || iy >= t.h || ix < 0 || ix >= t.w) continue;
                acc += static_cast<double>(x[((n * t.h + iy) * t.w + ix) * t.c + g * cg + ci]) *
                       w[((m * cg + ci) * t.kh + ky) * t.kw + kx];
              }
          want[((n * oh + oy) * ow + ox) * t.m + m] = act_ref(t.act, t.alpha, t.beta, acc);
        }
  OpSpec spec{fb::OpType::Conv, {TestTensor::f32({t.n, t.h, t.w, t.c}, x), TestTensor::f32({t.m, cg, t.kh, t.kw}, w)},
              {false, true}, {}};
  if (t.bias) {
    spec.inputs.push_back(TestTensor::f32({t.m}, b));
    spec.constant.push_back(true);
  }
  spec.attrs = {AttrDesc::Ints("strides", {t.sh, t.sw}), AttrDesc::Ints("dilations", {t.dh, t.dw}),
                AttrDesc::Ints("pads", t.pads), AttrDesc::Int("group", t.group),
                AttrDesc::String("auto_pad", t.auto_pad)};
  for (auto& a : act_attrs(t.act, t.alpha, t.beta)) spec.attrs.push_back(a);
  expect_op(spec, {t.n, oh, ow, t.m}, want);
}

TEST(NnConv, MatchesReference) {
  const std::vector<ConvCase> cases = {
      {1, 1, 1, 3, 4, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1},                 // 1x1 image
      {2, 7, 9, 3, 5, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 1},                 // odd sizes, stride 2
      {1, 8, 8, 6, 9, 3, 3, 1, 1, 1, 1, {0, 1, 2, 0}, 3},                 // groups, asymmetric pads
      {1, 10, 10, 8, 8, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 8},               // depthwise
      {1, 9, 7, 4, 8, 3, 3, 2, 1, 1, 1, {1, 1, 1, 1}, 4},                 // depthwise, multiplier 2
      {1, 12, 11, 5, 7, 3, 3, 1, 1, 2, 2, {2, 2, 2, 2}, 1},               // dilation
      {1, 9, 6, 16, 32, 5, 2, 3, 1, 1, 1, {2, 0, 1, 1}, 1},               // kernel larger than stride
      {1, 7, 7, 3, 4, 3, 3, 2, 2, 1, 1, {0, 0, 0, 0}, 1, "SAME_UPPER"},   // auto_pad
      {1, 6, 7, 3, 4, 2, 2, 2, 3, 1, 1, {0, 0, 0, 0}, 1, "SAME_LOWER", false},
      {1, 5, 5, 2, 3, 3, 3, 1, 1, 1, 1, {5, 5, 5, 5}, 1, "VALID"},
      {1, 4, 4, 6, 6, 3, 3, 1, 1, 2, 1, {2, 1, 2, 1}, 6, "NOTSET", false},  // depthwise, dilation
      {2, 16, 16, 17, 33, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1},                // pointwise, odd channels
  };
  uint32_t seed = 10;
  for (const ConvCase& t : cases) run_conv_case(t, seed += 7);
}

TEST(NnConv, FusedActivations) {
  for (int act = 1; act <= 10; ++act) {  // Relu .. LeakyRelu, Gelu, GeluTanh
    ConvCase t{1, 6, 5, 4, 6, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 2};
    t.act = act;
    t.alpha = act == 2 ? -0.5f : (act == 3 ? 0.2f : 0.1f);
    t.beta = act == 2 ? 0.7f : (act == 3 ? 0.5f : 0.f);
    run_conv_case(t, 100 + act);
    ConvCase d{1, 6, 5, 4, 4, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 4};  // depthwise path too
    d.act = act;
    d.alpha = t.alpha;
    d.beta = t.beta;
    run_conv_case(d, 200 + act);
  }
}

TEST(NnConv, BadInputsFailInPrepare) {
  auto spec = [](Shape xs, Shape ws, int64_t group) {
    return OpSpec{fb::OpType::Conv,
                  {TestTensor::f32(xs, std::vector<float>(num_elements(xs))),
                   TestTensor::f32(ws, std::vector<float>(num_elements(ws)))},
                  {false, true},
                  {AttrDesc::Int("group", group)}};
  };
  expect_prepare_error(spec({1, 4, 4}, {2, 3, 1, 1}, 1), "rank 4");
  expect_prepare_error(spec({1, 4, 4, 5}, {2, 3, 1, 1}, 1), "[1, 4, 4, 5]");
  expect_prepare_error(spec({1, 4, 4, 6}, {3, 3, 1, 1}, 2), "group");
  expect_prepare_error(spec({1, 4, 4, 3}, {2, 3, 1, 1}, 0), "group");
  // Window sizes whose sums would overflow int64 (fuzz_model) are refused with the sizes named.
  OpSpec huge = spec({1, 4, 4, 3}, {2, 3, 1, 1}, 1);
  huge.attrs.push_back(AttrDesc::Ints("pads", {0, 0, 9223372036854775800, 0}));
  expect_prepare_error(huge, "window along height out of range");
  huge.attrs.back() = AttrDesc::Ints("strides", {1, int64_t{1} << 40});
  expect_prepare_error(huge, "stride 1099511627776");
  expect_prepare_error(spec({1, 2, 2, 3}, {2, 3, 3, 3}, 1), "larger than the padded input");
  OpSpec s = spec({1, 4, 4, 3}, {2, 3, 1, 1}, 1);
  s.attrs.push_back(AttrDesc::Ints("strides", {0, 1}));
  expect_prepare_error(s, "strides");
  s = spec({1, 4, 4, 3}, {2, 3, 1, 1}, 1);
  s.attrs.push_back(AttrDesc::Ints("pads", {0, -1, 0, 0}));
  expect_prepare_error(s, "pads");
  s = spec({1, 4, 4, 3}, {2, 3, 1, 1}, 1);
  s.constant = {false, false};
  expect_prepare_error(s, "constant");
}

// ---------------------------------------------------------------------------------------------
// ConvTranspose

struct DeconvCase {
  int64_t n, h, w, c, mg, kh, kw, sh, sw, dh, dw;
  std::vector<int64_t> pads, opad;
  int64_t group;
  std::string auto_pad = "NOTSET";
  int act = 0;
};

void run_deconv_case(const DeconvCase& t, uint32_t seed) {
  SCOPED_TRACE("deconv " + std::to_string(t.h) + "x" + std::to_string(t.w) + "x" + std::to_string(t.c) + " k" +
               std::to_string(t.kh) + " s" + std::to_string(t.sh) + " g" + std::to_string(t.group));
  const int64_t cg = t.c / t.group, m = t.mg * t.group;
  std::vector<float> x = testing::random_floats(t.n * t.h * t.w * t.c, seed);
  std::vector<float> w = testing::random_floats(t.c * t.mg * t.kh * t.kw, seed + 1);
  std::vector<float> b = testing::random_floats(m, seed + 2);
  std::vector<int64_t> pads = t.pads;
  const int64_t fh = t.sh * (t.h - 1) + t.opad[0] + (t.kh - 1) * t.dh + 1;
  const int64_t fw = t.sw * (t.w - 1) + t.opad[1] + (t.kw - 1) * t.dw + 1;
  if (t.auto_pad == "SAME_UPPER") {
    const int64_t th = std::max<int64_t>(0, fh - t.h * t.sh), tw = std::max<int64_t>(0, fw - t.w * t.sw);
    pads = {th / 2, tw / 2, th - th / 2, tw - tw / 2};
  }
  const int64_t oh = fh - pads[0] - pads[2], ow = fw - pads[1] - pads[3];
  std::vector<double> want(t.n * oh * ow * m);
  for (int64_t n = 0; n < t.n; ++n)
    for (int64_t i = 0; i < oh * ow; ++i)
      for (int64_t o = 0; o < m; ++o) want[(n * oh * ow + i) * m + o] = b[o];
  for (int64_t n = 0; n < t.n; ++n)
    for (int64_t iy = 0; iy < t.h; ++iy)
      for (int64_t ix = 0; ix < t.w; ++ix)
        for (int64_t ci = 0; ci < t.c; ++ci) {
          const int64_t g = ci / cg;
          for (int64_t mo = 0; mo < t.mg; ++mo)
            for (int64_t ky = 0; ky < t.kh; ++ky)
              for (int64_t kx = 0; kx < t.kw; ++kx) {
                const int64_t oy = iy * t.sh - pads[0] + ky * t.dh, ox = ix * t.sw - pads[1] + kx * t.dw;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                want[((n * oh + oy) * ow + ox) * m + g * t.mg + mo] +=
                    static_cast<double>(x[((n * t.h + iy) * t.w + ix) * t.c + ci]) *
                    w[((ci * t.mg + mo) * t.kh + ky) * t.kw + kx];
              }
        }
  for (double& v : want) v = act_ref(t.act, 0.1, 0.0, v);
  OpSpec spec{fb::OpType::ConvTranspose,
              {TestTensor::f32({t.n, t.h, t.w, t.c}, x), TestTensor::f32({t.c, t.mg, t.kh, t.kw}, w),
               TestTensor::f32({m}, b)},
              {false, true, true},
              {AttrDesc::Ints("strides", {t.sh, t.sw}), AttrDesc::Ints("dilations", {t.dh, t.dw}),
               AttrDesc::Ints("pads", t.pads), AttrDesc::Ints("output_padding", t.opad),
               AttrDesc::Int("group", t.group), AttrDesc::String("auto_pad", t.auto_pad)}};
  for (auto& a : act_attrs(t.act, 0.1f, 0.f)) spec.attrs.push_back(a);
  expect_op(spec, {t.n, oh, ow, m}, want);
}

TEST(NnConvTranspose, MatchesReference) {
  const std::vector<DeconvCase> cases = {
      {1, 4, 5, 3, 2, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, {1, 1}, 1},          // classic 2x upsample
      {2, 3, 3, 4, 3, 2, 2, 2, 2, 1, 1, {0, 0, 0, 0}, {0, 0}, 2},          // groups
      {1, 5, 4, 2, 3, 3, 2, 1, 1, 2, 2, {1, 0, 2, 1}, {0, 0}, 1},          // dilation, asymmetric pads
      {1, 3, 4, 2, 2, 3, 3, 1, 1, 2, 2, {0, 0, 0, 0}, {1, 1}, 1},          // output_padding >= stride
      {1, 1, 1, 3, 4, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, {0, 0}, 1},          // 1x1
      {1, 4, 3, 3, 2, 4, 3, 3, 2, 1, 1, {0, 0, 0, 0}, {2, 1}, 1, "SAME_UPPER"},
      {1, 5, 5, 4, 1, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, {1, 0}, 4, "NOTSET", 5},  // depthwise + Sigmoid
      {1, 4, 5, 3, 2, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, {1, 1}, 1, "NOTSET", 9},  // + Gelu
      {1, 4, 5, 3, 2, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, {1, 1}, 1, "NOTSET", 10}, // + GeluTanh
  };
  uint32_t seed = 300;
  for (const DeconvCase& t : cases) run_deconv_case(t, seed += 5);
}

TEST(NnConvTranspose, BadInputsFailInPrepare) {
  OpSpec s{fb::OpType::ConvTranspose,
           {TestTensor::f32({1, 3, 3, 4}, std::vector<float>(36)), TestTensor::f32({3, 2, 3, 3}, std::vector<float>(54))},
           {false, true},
           {}};
  expect_prepare_error(s, "does not match weight W");
  s.inputs[1] = TestTensor::f32({4, 2, 3, 3}, std::vector<float>(72));
  s.attrs = {AttrDesc::Ints("strides", {2, 2}), AttrDesc::Ints("output_padding", {2, 0})};
  expect_prepare_error(s, "output_padding");
  s.attrs = {AttrDesc::Ints("strides", {int64_t{1} << 40, 1})};
  expect_prepare_error(s, "sizes out of range along height");
}

// ---------------------------------------------------------------------------------------------
// MaxPool / AveragePool

struct PoolCase {
  bool max;
  int64_t n, h, w, c, kh, kw, sh, sw;
  std::vector<int64_t> pads;
  int64_t ceil_mode = 0, include_pad = 0, dh = 1, dw = 1;
  std::string auto_pad = "NOTSET";
};

int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, bool ceil_mode) {
  const int64_t eff = (k - 1) * d + 1;
  int64_t o = (in + pb + pe - eff + (ceil_mode ? s - 1 : 0)) / s + 1;
  if (ceil_mode && (o - 1) * s >= in + pb) --o;
  return o;
}

void run_pool_case(const PoolCase& t, uint32_t seed) {
  SCOPED_TRACE(std::string(t.max ? "max" : "avg") + " pool " + std::to_string(t.h) + "x" + std::to_string(t.w) + " k" +
               std::to_string(t.kh) + "x" + std::to_string(t.kw) + " s" + std::to_string(t.sh) + " ceil" +
               std::to_string(t.ceil_mode) + " incl" + std::to_string(t.include_pad) + " " + t.auto_pad);
  std::vector<float> x = testing::random_floats(t.n * t.h * t.w * t.c, seed, -2.f, 1.f);
  int64_t pt = t.pads[0], pl = t.pads[1], pb = t.pads[2], pr = t.pads[3], oh, ow;
  if (t.auto_pad == "SAME_UPPER" || t.auto_pad == "SAME_LOWER") {
    const int64_t th = same_total(t.h, t.kh, t.sh, t.dh, &oh), tw = same_total(t.w, t.kw, t.sw, t.dw, &ow);
    pt = t.auto_pad == "SAME_UPPER" ? th / 2 : th - th / 2;
    pl = t.auto_pad == "SAME_UPPER" ? tw / 2 : tw - tw / 2;
    pb = th - pt;
    pr = tw - pl;
  } else {
    oh = pool_out(t.h, t.kh, t.sh, t.dh, pt, pb, t.ceil_mode);
    ow = pool_out(t.w, t.kw, t.sw, t.dw, pl, pr, t.ceil_mode);
  }
  std::vector<double> want(t.n * oh * ow * t.c);
  for (int64_t n = 0; n < t.n; ++n)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t c = 0; c < t.c; ++c) {
          double acc = t.max ? -std::numeric_limits<double>::infinity() : 0.0;
          int64_t valid = 0;
          for (int64_t ky = 0; ky < t.kh; ++ky)
            for (int64_t kx = 0; kx < t.kw; ++kx) {
              const int64_t iy = oy * t.sh - pt + ky * t.dh, ix = ox * t.sw - pl + kx * t.dw;
              if (iy < 0 || iy >= t.h || ix < 0 || ix >= t.w) continue;
              const double v = x[((n * t.h + iy) * t.w + ix) * t.c + c];
              acc = t.max ? std::max(acc, v) : acc + v;
              ++valid;
            }
          if (!t.max) {
            // count_include_pad counts the padded window, clipped at the padded end.
            const int64_t hs = oy * t.sh - pt, ws = ox * t.sw - pl;
            const int64_t he = std::min(hs + t.kh, t.h + pb), we = std::min(ws + t.kw, t.w + pr);
            const int64_t count = t.include_pad ? (he - hs) * (we - ws) : valid;
            acc /= static_cast<double>(count);
          }
          want[((n * oh + oy) * ow + ox) * t.c + c] = acc;
        }
  OpSpec spec{t.max ? fb::OpType::MaxPool : fb::OpType::AveragePool,
              {TestTensor::f32({t.n, t.h, t.w, t.c}, x)},
              {false},
              {AttrDesc::Ints("kernel_shape", {t.kh, t.kw}), AttrDesc::Ints("strides", {t.sh, t.sw}),
               AttrDesc::Ints("pads", t.pads), AttrDesc::Int("ceil_mode", t.ceil_mode),
               AttrDesc::String("auto_pad", t.auto_pad)}};
  if (t.max) spec.attrs.push_back(AttrDesc::Ints("dilations", {t.dh, t.dw}));
  else spec.attrs.push_back(AttrDesc::Int("count_include_pad", t.include_pad));
  expect_op(spec, {t.n, oh, ow, t.c}, want, 1e-5f);
}

TEST(NnPool, MaxPoolMatchesReference) {
  const std::vector<PoolCase> cases = {
      {true, 1, 8, 8, 5, 3, 3, 2, 2, {1, 1, 1, 1}},           // ResNet stem
      {true, 2, 9, 7, 3, 3, 3, 2, 2, {1, 1, 1, 1}, 1},        // ceil_mode, odd sizes
      {true, 1, 7, 7, 4, 2, 2, 2, 2, {0, 0, 0, 0}, 1},        // ceil_mode window past the end
      {true, 1, 9, 9, 3, 3, 3, 1, 1, {2, 2, 2, 2}, 0, 0, 2, 2},  // dilation
      {true, 1, 8, 6, 3, 2, 3, 1, 2, {0, 1, 1, 0}, 1, 0, 2, 1},  // dilation, ceil, asymmetric pads
      {true, 1, 5, 5, 2, 1, 1, 2, 2, {0, 0, 0, 0}},           // 1x1 window
      {true, 1, 1, 1, 3, 1, 1, 1, 1, {0, 0, 0, 0}},           // 1x1 image
      {true, 1, 6, 5, 17, 3, 2, 2, 1, {0, 0, 0, 0}, 0, 0, 1, 1, "SAME_UPPER"},
      {true, 1, 6, 5, 4, 3, 3, 2, 2, {0, 0, 0, 0}, 0, 0, 1, 1, "SAME_LOWER"},
      {true, 1, 2, 2, 3, 3, 3, 1, 1, {1, 1, 1, 1}},           // kernel larger than the input
  };
  uint32_t seed = 500;
  for (const PoolCase& t : cases) run_pool_case(t, seed += 3);
}

TEST(NnPool, AveragePoolMatchesReference) {
  std::vector<PoolCase> cases;
  for (int64_t incl : {0, 1}) {
    cases.push_back({false, 1, 8, 8, 5, 3, 3, 1, 1, {1, 1, 1, 1}, 0, incl});
    cases.push_back({false, 2, 8, 9, 3, 3, 3, 2, 2, {1, 1, 1, 1}, 1, incl});   // ceil_mode
    cases.push_back({false, 1, 7, 7, 4, 2, 2, 2, 2, {0, 0, 0, 0}, 1, incl});   // ceil window past the end
    cases.push_back({false, 1, 6, 7, 3, 3, 2, 2, 3, {0, 1, 2, 0}, 0, incl});   // asymmetric pads
    cases.push_back({false, 1, 6, 5, 6, 3, 3, 2, 2, {0, 0, 0, 0}, 0, incl, 1, 1, "SAME_UPPER"});
    cases.push_back({false, 1, 4, 4, 2, 4, 4, 1, 1, {0, 0, 0, 0}, 0, incl});   // global-like
    cases.push_back({false, 1, 5, 5, 9, 2, 2, 1, 1, {0, 0, 0, 0}, 0, incl});
  }
  uint32_t seed = 600;
  for (const PoolCase& t : cases) run_pool_case(t, seed += 3);
}

TEST(NnPool, BadInputsFailInPrepare) {
  OpSpec s{fb::OpType::MaxPool, {TestTensor::f32({1, 4, 4, 2}, std::vector<float>(32))}, {false}, {}};
  expect_prepare_error(s, "kernel_shape");
  s.attrs = {AttrDesc::Ints("kernel_shape", {2, 2}), AttrDesc::Ints("strides", {1, 0})};
  expect_prepare_error(s, "strides");
  s.attrs = {AttrDesc::Ints("kernel_shape", {5, 5})};
  expect_prepare_error(s, "larger than the padded input");
  s.op = fb::OpType::AveragePool;
  s.attrs = {AttrDesc::Ints("kernel_shape", {2, 2}), AttrDesc::Ints("dilations", {2, 2})};
  expect_prepare_error(s, "dilations");
  s.inputs[0] = TestTensor::f32({4, 4, 2}, std::vector<float>(32));
  expect_prepare_error(s, "rank 4");
}

// ---------------------------------------------------------------------------------------------
// Global pools, LRN

TEST(NnGlobalPool, MatchesReference) {
  const std::vector<Shape> shapes = {{2, 5, 7, 13}, {1, 1, 1, 3}, {1, 3, 3, 100}, {3, 2, 1, 70}};
  uint32_t seed = 700;
  for (const Shape& s : shapes) {
    std::vector<float> x = testing::random_floats(num_elements(s), ++seed);
    const int64_t px = s[1] * s[2];
    std::vector<double> avg(s[0] * s[3]), mx(s[0] * s[3], -1e30);
    for (int64_t n = 0; n < s[0]; ++n)
      for (int64_t p = 0; p < px; ++p)
        for (int64_t c = 0; c < s[3]; ++c) {
          const double v = x[(n * px + p) * s[3] + c];
          avg[n * s[3] + c] += v / px;
          mx[n * s[3] + c] = std::max(mx[n * s[3] + c], v);
        }
    expect_op(OpSpec{fb::OpType::GlobalAveragePool, {TestTensor::f32(s, x)}, {false}, {}}, {s[0], 1, 1, s[3]}, avg);
    expect_op(OpSpec{fb::OpType::GlobalMaxPool, {TestTensor::f32(s, x)}, {false}, {}}, {s[0], 1, 1, s[3]}, mx);
  }
  expect_prepare_error(OpSpec{fb::OpType::GlobalMaxPool, {TestTensor::f32({2, 3}, std::vector<float>(6))}, {false}, {}},
                       "rank 4");
}

TEST(NnLrn, MatchesReference) {
  struct Case { Shape s; int64_t size; float alpha, beta, bias; };
  const std::vector<Case> cases = {{{1, 3, 4, 7}, 3, 1e-2f, 0.75f, 1.f},
                                   {{2, 2, 2, 10}, 5, 2e-2f, 0.5f, 2.f},
                                   {{1, 2, 3, 6}, 4, 1e-1f, 0.75f, 1.f},
                                   {{1, 1, 1, 1}, 5, 1e-4f, 0.75f, 1.f}};
  uint32_t seed = 800;
  for (const Case& t : cases) {
    std::vector<float> x = testing::random_floats(num_elements(t.s), ++seed, -3.f, 3.f);
    const int64_t c = t.s[3];
    std::vector<double> want(x.size());
    for (size_t p = 0; p < x.size() / c; ++p)
      for (int64_t ch = 0; ch < c; ++ch) {
        double sum = 0;
        for (int64_t k = ch - (t.size - 1) / 2; k <= ch + t.size / 2; ++k)
          if (k >= 0 && k < c) sum += static_cast<double>(x[p * c + k]) * x[p * c + k];
        want[p * c + ch] = x[p * c + ch] / std::pow(t.bias + t.alpha / t.size * sum, static_cast<double>(t.beta));
      }
    expect_op(OpSpec{fb::OpType::LRN,
                     {TestTensor::f32(t.s, x)},
                     {false},
                     {AttrDesc::Int("size", t.size), AttrDesc::Float("alpha", t.alpha),
                      AttrDesc::Float("beta", t.beta), AttrDesc::Float("bias", t.bias)}},
              t.s, want);
  }
  expect_prepare_error(OpSpec{fb::OpType::LRN, {TestTensor::f32({1, 1, 1, 3}, std::vector<float>(3))}, {false}, {}},
                       "size");
}

// ---------------------------------------------------------------------------------------------
// Gemm

struct GemmCase {
  int64_t m, k, n;
  int64_t trans_a, trans_b;
  float alpha, beta;
  Shape c_shape;  // empty vector + has_c=false: no C
  bool has_c, b_const, c_const;
  int act = 0;
};

void run_gemm_case(const GemmCase& t, uint32_t seed) {
  SCOPED_TRACE("gemm " + std::to_string(t.m) + "x" + std::to_string(t.k) + "x" + std::to_string(t.n) + " tA" +
               std::to_string(t.trans_a) + " tB" + std::to_string(t.trans_b) + " C" + shape_str(t.c_shape) +
               (t.b_const ? " Bconst" : "") + (t.c_const ? " Cconst" : "") + " act" + std::to_string(t.act));
  std::vector<float> a = testing::random_floats(t.m * t.k, seed);
  std::vector<float> b = testing::random_floats(t.k * t.n, seed + 1);
  std::vector<float> c = testing::random_floats(std::max<int64_t>(num_elements(t.c_shape), 1), seed + 2);
  const int64_t cm = t.c_shape.size() == 2 ? t.c_shape[0] : 1, cn = t.c_shape.empty() ? 1 : t.c_shape.back();
  std::vector<double> want(t.m * t.n);
  for (int64_t i = 0; i < t.m; ++i)
    for (int64_t j = 0; j < t.n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < t.k; ++p) {
        const double av = t.trans_a ? a[p * t.m + i] : a[i * t.k + p];
        const double bv = t.trans_b ? b[j * t.k + p] : b[p * t.n + j];
        acc += av * bv;
      }
      double v = t.alpha * acc;
      if (t.has_c) v += t.beta * static_cast<double>(c[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)]);
      want[i * t.n + j] = act_ref(t.act, 0.1, 0.0, v);
    }
  OpSpec spec{fb::OpType::Gemm,
              {TestTensor::f32(t.trans_a ? Shape{t.k, t.m} : Shape{t.m, t.k}, a),
               TestTensor::f32(t.trans_b ? Shape{t.n, t.k} : Shape{t.k, t.n}, b)},
              {false, t.b_const},
              {AttrDesc::Int("transA", t.trans_a), AttrDesc::Int("transB", t.trans_b),
               AttrDesc::Float("alpha", t.alpha), AttrDesc::Float("beta", t.beta)}};
  if (t.has_c) {
    spec.inputs.push_back(TestTensor::f32(t.c_shape, c));
    spec.constant.push_back(t.c_const);
  }
  for (auto& at : act_attrs(t.act, 0.1f, 0.f)) spec.attrs.push_back(at);
  expect_op(spec, {t.m, t.n}, want);
}

TEST(NnGemm, MatchesReference) {
  std::vector<GemmCase> cases;
  for (bool b_const : {true, false}) {
    cases.push_back({3, 4, 5, 0, 0, 1.f, 1.f, {}, false, b_const, false});
    cases.push_back({7, 9, 11, 1, 0, 0.5f, 2.f, {11}, true, b_const, true});
    cases.push_back({7, 9, 11, 0, 1, 1.5f, 0.5f, {7, 11}, true, b_const, true});
    cases.push_back({7, 9, 11, 1, 1, 1.f, 1.f, {7, 1}, true, b_const, false});
    cases.push_back({1, 1, 1, 0, 0, 1.f, 1.f, {1}, true, b_const, true});
    cases.push_back({33, 65, 17, 0, 1, 1.f, -1.f, {}, true, b_const, true});    // scalar C
    cases.push_back({5, 8, 6, 0, 0, 1.f, 1.f, {1, 6}, true, b_const, false, 1});  // Relu, runtime C
    cases.push_back({5, 8, 6, 0, 0, 1.f, 1.f, {5, 6}, true, b_const, true, 5});   // Sigmoid after C
    cases.push_back({64, 96, 80, 0, 0, 1.f, 1.f, {80}, true, b_const, true, 8});  // big enough to thread
    cases.push_back({4, 3, 6, 0, 0, 1.f, 0.f, {4, 6}, true, b_const, false});     // beta 0 ignores C
  }
  uint32_t seed = 900;
  for (const GemmCase& t : cases) run_gemm_case(t, seed += 3);
}

TEST(NnGemm, BadInputsFailInPrepare) {
  OpSpec s{fb::OpType::Gemm,
           {TestTensor::f32({3, 4}, std::vector<float>(12)), TestTensor::f32({5, 6}, std::vector<float>(30))},
           {false, true},
           {}};
  expect_prepare_error(s, "inner dimensions");
  s.inputs[1] = TestTensor::f32({4, 6}, std::vector<float>(24));
  s.inputs.push_back(TestTensor::f32({2, 6}, std::vector<float>(12)));
  s.constant.push_back(true);
  expect_prepare_error(s, "does not broadcast");
  s.inputs.pop_back();
  s.constant.pop_back();
  s.inputs[0] = TestTensor::f32({3, 4, 1}, std::vector<float>(12));
  expect_prepare_error(s, "rank 2");
}

// ---------------------------------------------------------------------------------------------
// MatMul

struct MatMulCase {
  Shape a, b;
  bool b_const;
  bool bias = false, bias_const = true;
  int act = 0;
};

void run_matmul_case(const MatMulCase& t, uint32_t seed) {
  SCOPED_TRACE("matmul " + shape_str(t.a) + " x " + shape_str(t.b) + (t.b_const ? " Bconst" : "") +
               (t.bias ? " bias" : "") + " act" + std::to_string(t.act));
  std::vector<float> a = testing::random_floats(num_elements(t.a), seed);
  std::vector<float> b = testing::random_floats(num_elements(t.b), seed + 1);
  Shape as = t.a, bs = t.b;
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  std::vector<float> bias = testing::random_floats(n, seed + 2);
  const size_t rank = std::max(as.size(), bs.size()) - 2;
  Shape ab(rank, 1), bb(rank, 1), ob(rank);
  for (size_t i = 0; i < as.size() - 2; ++i) ab[rank - (as.size() - 2) + i] = as[i];
  for (size_t i = 0; i < bs.size() - 2; ++i) bb[rank - (bs.size() - 2) + i] = bs[i];
  int64_t batches = 1;
  for (size_t i = 0; i < rank; ++i) batches *= (ob[i] = std::max(ab[i], bb[i]));
  std::vector<double> want(batches * m * n);
  for (int64_t t0 = 0; t0 < batches; ++t0) {
    int64_t rem = t0, ao = 0, bo = 0, sa = 1, sb = 1;
    for (size_t i = rank; i-- > 0;) {
      const int64_t idx = rem % ob[i];
      rem /= ob[i];
      ao += (ab[i] == 1 ? 0 : idx) * sa;
      bo += (bb[i] == 1 ? 0 : idx) * sb;
      sa *= ab[i];
      sb *= bb[i];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = t.bias ? bias[j] : 0.0;
        for (int64_t p = 0; p < k; ++p)
          acc += static_cast<double>(a[ao * m * k + i * k + p]) * b[bo * k * n + p * n + j];
        want[(t0 * m + i) * n + j] = act_ref(t.act, 0.1, 0.0, acc);
      }
  }
  Shape out = ob;
  if (t.a.size() > 1) out.push_back(m);
  if (t.b.size() > 1) out.push_back(n);
  OpSpec spec{fb::OpType::MatMul, {TestTensor::f32(t.a, a), TestTensor::f32(t.b, b)}, {false, t.b_const}, {}};
  if (t.bias) {
    spec.inputs.push_back(TestTensor::f32({n}, bias));
    spec.constant.push_back(t.bias_const);
  }
  spec.attrs = act_attrs(t.act, 0.1f, 0.f);
  expect_op(spec, out, want);
}

TEST(NnMatMul, MatchesReference) {
  std::vector<MatMulCase> cases;
  for (bool b_const : {true, false}) {
    cases.push_back({{2, 3, 4, 5}, {5, 6}, b_const});
    cases.push_back({{3, 1, 4, 5}, {2, 5, 6}, b_const});     // batch broadcast
    cases.push_back({{2, 5, 7}, {1, 7, 3}, b_const});
    cases.push_back({{5}, {5, 6}, b_const});                 // 1-D A
    cases.push_back({{2, 4, 5}, {5}, b_const});              // 1-D B
    cases.push_back({{5}, {5}, b_const});                    // dot product
    cases.push_back({{4, 7}, {2, 3, 7, 9}, b_const});        // A broadcast over B's batch
    cases.push_back({{3, 8}, {8, 6}, b_const, true, true, 1});
    cases.push_back({{3, 8}, {8, 6}, b_const, true, false, 7});
    cases.push_back({{2, 40, 50}, {50, 70}, b_const, true, true, 6});
    cases.push_back({{1, 1}, {1, 1}, b_const});
  }
  uint32_t seed = 1000;
  for (const MatMulCase& t : cases) run_matmul_case(t, seed += 3);
}

TEST(NnMatMul, BadInputsFailInPrepare) {
  OpSpec s{fb::OpType::MatMul,
           {TestTensor::f32({2, 3, 4}, std::vector<float>(24)), TestTensor::f32({3, 4, 5}, std::vector<float>(60))},
           {false, false},
           {}};
  expect_prepare_error(s, "do not broadcast");
  s.inputs[1] = TestTensor::f32({3, 5}, std::vector<float>(15));
  expect_prepare_error(s, "inner dimensions");
  s.inputs[1] = TestTensor::f32({4, 5}, std::vector<float>(20));
  s.inputs.push_back(TestTensor::f32({4}, std::vector<float>(4)));
  s.constant.push_back(true);
  expect_prepare_error(s, "bias");
}

// Kernel choice. The default heuristic picks Pocket's kernels; XNNPACK stays a variant that a tuner
// (or a tuning file) can select, and every variant an op lists computes the same result.
std::string chosen_kernel(const OpSpec& spec) {
  std::vector<uint8_t> bytes = testing::build_single_op_model(spec);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  if (!model.ok()) return model.status().message();
  auto session = Session::create(model.value());
  if (!session.ok()) return session.status().message();
  return session.value()->profile_info().at(0).kernel;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST(NnKernelChoice, DefaultsArePocketKernels) {
  auto x = [](Shape s) { return TestTensor::f32(s, std::vector<float>(num_elements(s), 0.5f)); };
  const std::string conv = chosen_kernel({fb::OpType::Conv, {x({1, 5, 5, 4}), x({8, 4, 3, 3})}, {false, true}, {}});
  EXPECT_TRUE(starts_with(conv, "pocket.igemm.")) << conv;  // C = 4 is too few channels for Winograd
  const std::string wino = chosen_kernel({fb::OpType::Conv, {x({1, 9, 9, 16}), x({16, 16, 3, 3})}, {false, true},
                                          {AttrDesc::Ints("pads", {1, 1, 1, 1})}});
  EXPECT_TRUE(starts_with(wino, "pocket.winograd")) << wino;
  const std::string pw = chosen_kernel({fb::OpType::Conv, {x({1, 5, 5, 4}), x({8, 4, 1, 1})}, {false, true}, {}});
  EXPECT_TRUE(starts_with(pw, "pocket.gemm1x1.")) << pw;
  const std::string dw = chosen_kernel(
      {fb::OpType::Conv, {x({1, 5, 5, 4}), x({4, 1, 3, 3})}, {false, true}, {AttrDesc::Int("group", 4)}});
  EXPECT_TRUE(starts_with(dw, "pocket.dwconv3x3.")) << dw;
  const std::string mp = chosen_kernel({fb::OpType::MaxPool, {x({1, 8, 8, 4})}, {false},
                                        {AttrDesc::Ints("kernel_shape", {3, 3}), AttrDesc::Ints("strides", {2, 2}),
                                         AttrDesc::Ints("pads", {1, 1, 1, 1}), AttrDesc::Int("ceil_mode", 1)}});
  EXPECT_TRUE(starts_with(mp, "pocket.maxpool2d.")) << mp;
  const std::string gemm = chosen_kernel({fb::OpType::Gemm, {x({3, 4}), x({4, 5})}, {false, true}, {}});
  EXPECT_TRUE(starts_with(gemm, "pocket.gemm")) << gemm;
  // A grouped (not depthwise) conv has no Pocket kernel of its own: XNNPACK runs it.
  if (kernels::xnnpack_available()) {
    EXPECT_EQ(chosen_kernel({fb::OpType::Conv, {x({1, 5, 5, 4}), x({8, 2, 3, 3})}, {false, true},
                             {AttrDesc::Int("group", 2)}}),
              "xnnpack.conv2d");
  }
}

// Forces each variant of the single op through a tuning file (written by a tuned session, then
// edited) and checks its output against the default choice's.
void expect_every_variant_agrees(const OpSpec& spec, const std::vector<std::string>& must_list) {
  SCOPED_TRACE(fb::EnumNameOpType(spec.op));
  std::vector<uint8_t> bytes = testing::build_single_op_model(spec);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto run = [&](const SessionOptions& o, std::vector<std::string>* variants, std::string* kernel) {
    auto session = Session::create(model.value(), o);
    EXPECT_TRUE(session.ok()) << session.status().message();
    if (!session.ok()) return std::vector<float>{};
    Session& s = *session.value();
    for (size_t i = 0; i < spec.inputs.size(); ++i) {
      if (i < spec.constant.size() && spec.constant[i]) continue;
      const TestTensor& t = spec.inputs[i];
      EXPECT_TRUE(s.set_input("in" + std::to_string(i), t.dtype, t.shape, t.bytes.data()).ok());
    }
    s.run();
    if (variants) *variants = s.kernel_choices().at(0).variants;
    if (kernel) *kernel = s.profile_info().at(0).kernel;
    const Value& v = s.output(0);
    return std::vector<float>(v.as<float>(), v.as<float>() + v.elements());
  };
  std::vector<std::string> variants;
  const std::vector<float> want = run({}, &variants, nullptr);
  for (const std::string& name : must_list)
    EXPECT_NE(std::find(variants.begin(), variants.end(), name), variants.end()) << "variant " << name << " missing";
  const std::string path = ::testing::TempDir() + "/pocket_variant_" + std::to_string(::getpid()) + ".tune";
  SessionOptions tune;
  tune.tune = true;
  tune.tuning_file = path;
  run(tune, nullptr, nullptr);
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  for (size_t v = 0; v < variants.size(); ++v) {
    std::istringstream lines(text);
    std::string line, edited;
    while (std::getline(lines, line)) {
      if (!line.empty() && line[0] != '#' && line.find('\t') != std::string::npos) {
        const size_t a = line.find('\t'), b = line.find('\t', a + 1);
        line = line.substr(0, b + 1) + std::to_string(v) + "\t" + variants[v] + "\top";
      }
      edited += line + "\n";
    }
    std::ofstream(path) << edited;
    SessionOptions forced;
    forced.tuning_file = path;
    std::string kernel;
    const std::vector<float> got = run(forced, nullptr, &kernel);
    SCOPED_TRACE(variants[v] + " (" + kernel + ")");
    // The file really forced the variant: each family's kernels carry its name as a prefix.
    EXPECT_TRUE(starts_with(kernel, variants[v].substr(0, variants[v].find('.')))) << kernel;
    if (variants[v] == "xnnpack") EXPECT_TRUE(starts_with(kernel, "xnnpack")) << kernel;
    testing::expect_close(got, want, 1e-5f);
  }
  std::remove(path.c_str());
}

TEST(NnKernelChoice, EveryVariantAgrees) {
  auto r = [](Shape s, uint32_t seed) {
    return TestTensor::f32(s, testing::random_floats(static_cast<size_t>(num_elements(s)), seed));
  };
  const std::vector<std::string> xnn = kernels::xnnpack_available() ? std::vector<std::string>{"xnnpack"}
                                                                     : std::vector<std::string>{};
  expect_every_variant_agrees({fb::OpType::Conv, {r({1, 9, 9, 16}, 1), r({16, 16, 3, 3}, 2), r({16}, 3)},
                               {false, true, true}, {AttrDesc::Ints("pads", {1, 1, 1, 1})}},
                              xnn);
  expect_every_variant_agrees({fb::OpType::Conv, {r({2, 7, 6, 5}, 4), r({7, 5, 1, 1}, 5)}, {false, true}, {}}, xnn);
  expect_every_variant_agrees({fb::OpType::Conv, {r({1, 9, 9, 12}, 6), r({12, 1, 5, 5}, 7)}, {false, true},
                               {AttrDesc::Int("group", 12), AttrDesc::Ints("strides", {2, 2}),
                                AttrDesc::Ints("pads", {2, 2, 2, 2})}},
                              xnn);
  expect_every_variant_agrees({fb::OpType::MaxPool, {r({1, 8, 8, 4}, 8)}, {false},
                               {AttrDesc::Ints("kernel_shape", {3, 3}), AttrDesc::Ints("strides", {2, 2}),
                                AttrDesc::Ints("pads", {1, 1, 1, 1})}},
                              xnn);
  expect_every_variant_agrees({fb::OpType::Gemm, {r({3, 40}, 9), r({40, 17}, 10), r({17}, 11)}, {false, true, true},
                               {AttrDesc::Int("transB", 0)}},
                              xnn);
}

}  // namespace
}  // namespace pocket
