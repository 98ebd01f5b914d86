// int8 kernels of kernels/quant/quant_ops.h: every variant this CPU runs against plain loops
// written here (bitwise for the row kernels, within float rounding / one int8 step for the
// epilogues), on odd lengths, rounding ties, huge and non-finite values, borders, strides,
// dilation, residuals and activations.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/quant/quant_ops.h"

namespace pocket {
namespace {

using kernels::QAct;
using kernels::QParams;

// The reference rounding: nearest, ties to even, then the zero point, then saturation; NaN -> -128.
int8_t ref_quantize(float v, int32_t zp) {
  if (std::isnan(v)) return -128;
  const double r = std::nearbyint(static_cast<double>(v)) + zp;
  return static_cast<int8_t>(std::min(127.0, std::max(-128.0, r)));
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -3.f, float hi = 3.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<int8_t> random_i8(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}

const kernels::QuantRowKernels* row_variants(size_t* count) {
  const kernels::QuantRowKernels* v = kernels::quant_row_variants(count);
  EXPECT_GE(*count, 1u);
  EXPECT_STREQ(v[0].name, "scalar");
  static bool printed = false;
  if (!printed) {
    printed = true;
    size_t dw_count = 0;
    const kernels::DwConvQs8Kernel* dw = kernels::dwconv_qs8_variants(&dw_count);
    std::string names = "quant row variants:";
    for (size_t k = 0; k < *count; ++k) names += std::string(" ") + v[k].name;
    names += "; depthwise qs8 variants:";
    for (size_t k = 0; k < dw_count; ++k) names += std::string(" ") + dw[k].name;
    std::printf("%s\n", names.c_str());
  }
  return v;
}

TEST(KernelsQuantOps, RoundingTiesAndSaturation) {
  // scale 1 makes x / scale exact: the ties must round to even.
  const std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, 127.5f, -127.5f, -128.5f, 0.f, -0.f};
  const std::vector<int8_t> want = {0, 2, 2, 0, -2, -2, 126, 127, -128, -128, 0, 0};
  size_t count = 0;
  const auto* v = row_variants(&count);
  for (size_t k = 0; k < count; ++k) {
    for (size_t rep : {1u, 40u}) {  // single elements (tails) and full vectors
      std::vector<float> xs;
      std::vector<int8_t> ws;
      for (size_t r = 0; r < rep; ++r) xs.insert(xs.end(), x.begin(), x.end()), ws.insert(ws.end(), want.begin(), want.end());
      std::vector<int8_t> y(xs.size());
      v[k].quantize(xs.data(), static_cast<int64_t>(xs.size()), QParams{1.f, 0}, y.data());
      for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], ws[i]) << v[k].name << " x=" << xs[i];
    }
    // Zero point shifts after rounding: 2.5 -> 2 -> 2 + 3.
    int8_t q;
    const float t = 2.5f;
    v[k].quantize(&t, 1, QParams{1.f, 3}, &q);
    EXPECT_EQ(q, 5) << v[k].name;
  }
}

TEST(KernelsQuantOps, QuantizeBitwiseAllLengths) {
  size_t count = 0;
  const auto* v = row_variants(&count);
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t n = 0; n <= 100; ++n) {
    for (const QParams p : {QParams{0.0173f, -7}, QParams{0.5f, 0}, QParams{1e-3f, 120}, QParams{3.f, -128}}) {
      std::vector<float> x = random_floats(static_cast<size_t>(n), static_cast<uint32_t>(n * 31 + 5), -3.f, 3.f);
      // Exact ties, huge values and non-finite values sprinkled in.
      for (int64_t i = 0; i < n; i += 7) x[i] = (static_cast<float>(i % 9) - 4.f + 0.5f) * p.scale;
      if (n > 3) x[3] = 1e30f, x[n - 1] = -1e30f;
      if (n > 10) x[10] = inf, x[n - 2] = -inf;
      if (n > 12) x[12] = std::numeric_limits<float>::quiet_NaN();
      std::vector<int8_t> want(x.size());
      for (size_t i = 0; i < x.size(); ++i) want[i] = ref_quantize(x[i] / p.scale, p.zero_point);
      for (size_t k = 0; k < count; ++k) {
        std::vector<int8_t> y(x.size(), 99);
        v[k].quantize(x.data(), n, p, y.data());
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], want[i]) << v[k].name << " n=" << n << " i=" << i << " x=" << x[i];
      }
    }
  }
}

TEST(KernelsQuantOps, DequantizeAndRequantizeBitwise) {
  size_t count = 0;
  const auto* v = row_variants(&count);
  for (int64_t n : {0, 1, 7, 8, 9, 31, 32, 33, 63, 65, 100, 257, 1000}) {
    const std::vector<int8_t> x = random_i8(static_cast<size_t>(n), static_cast<uint32_t>(n + 1));
    const QParams px{0.037f, -11}, py{0.021f, 17}, pbig{0.002f, 5};
    std::vector<float> want_f(x.size());
    std::vector<int8_t> want_q(x.size()), want_sat(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      want_f[i] = px.scale * static_cast<float>(x[i] - px.zero_point);
      want_q[i] = ref_quantize(static_cast<float>(x[i] - px.zero_point) * px.scale / py.scale, py.zero_point);
      want_sat[i] = ref_quantize(static_cast<float>(x[i] - px.zero_point) * px.scale / pbig.scale, pbig.zero_point);
    }
    for (size_t k = 0; k < count; ++k) {
      std::vector<float> f(x.size());
      std::vector<int8_t> q(x.size()), sat(x.size());
      v[k].dequantize(x.data(), n, px, f.data());
      v[k].requantize(x.data(), px, n, q.data(), py);
      v[k].requantize(x.data(), px, n, sat.data(), pbig);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(f[i], want_f[i]) << v[k].name << " n=" << n << " i=" << i;
        ASSERT_EQ(q[i], want_q[i]) << v[k].name << " n=" << n << " i=" << i;
        ASSERT_EQ(sat[i], want_sat[i]) << v[k].name << " n=" << n << " i=" << i;
      }
    }
  }
  // Dispatched entry points and the per-axis form.
  const std::vector<int8_t> x = random_i8(2 * 3 * 20, 9);
  const float scales[3] = {0.1f, 0.02f, 0.5f};
  const int32_t zps[3] = {-3, 0, 7};
  for (int64_t inner : {1, 20}) {
    const int64_t outer = inner == 1 ? 40 : 2;
    std::vector<float> y(x.size());
    kernels::dequantize_s8_f32_axis(x.data(), outer, 3, inner, scales, zps, y.data());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t i = 0; i < inner; ++i) {
          const size_t at = static_cast<size_t>((o * 3 + c) * inner + i);
          ASSERT_EQ(y[at], scales[c] * static_cast<float>(x[at] - zps[c])) << "inner " << inner << " at " << at;
        }
    kernels::dequantize_s8_f32_axis(x.data(), outer, 3, inner, scales, nullptr, y.data());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t i = 0; i < inner; ++i) {
          const size_t at = static_cast<size_t>((o * 3 + c) * inner + i);
          ASSERT_EQ(y[at], scales[c] * static_cast<float>(x[at])) << "inner " << inner << " at " << at;
        }
  }
}

TEST(KernelsQuantOps, DynamicRowQuantization) {
  size_t count = 0;
  const auto* v = row_variants(&count);
  for (int64_t n = 0; n <= 100; ++n) {
    for (int shape = 0; shape < 4; ++shape) {
      // Mixed signs, positive only, negative only, all zeros.
      const float lo = shape == 1 ? 0.5f : -2.f, hi = shape == 2 ? -0.5f : 5.f;
      std::vector<float> x = random_floats(static_cast<size_t>(n), static_cast<uint32_t>(n * 13 + shape), lo, hi);
      if (shape == 3) std::fill(x.begin(), x.end(), 0.f);
      if (n > 5) x[5] = 0.f;
      float mn = 0.f, mx = 0.f;
      for (float f : x) mn = std::min(mn, f), mx = std::max(mx, f);
      float scale = (mx - mn) / 255.f;
      if (scale == 0.f) scale = 1.f;
      const int8_t zp = ref_quantize(-128.f - mn / scale, 0);
      for (size_t k = 0; k < count; ++k) {
        std::vector<int8_t> y(x.size());
        const QParams p = v[k].quantize_dynamic(x.data(), n, y.data());
        ASSERT_EQ(p.scale, scale) << v[k].name << " n=" << n;
        ASSERT_EQ(p.zero_point, zp) << v[k].name << " n=" << n;
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(y[i], ref_quantize(x[i] / scale, zp)) << v[k].name << " n=" << n << " i=" << i;
          if (x[i] == 0.f) {
            ASSERT_EQ(y[i], zp) << "0.0 must be exact";
          }
          ASSERT_LE(std::fabs(scale * static_cast<float>(y[i] - zp) - x[i]), scale * 0.5001f) << v[k].name;
        }
      }
    }
  }
  // Non-finite rows never crash and give a usable zero point.
  std::vector<float> x(40, 1.f);
  x[7] = std::numeric_limits<float>::infinity();
  x[9] = -std::numeric_limits<float>::infinity();
  for (size_t k = 0; k < count; ++k) {
    std::vector<int8_t> y(x.size());
    const QParams p = v[k].quantize_dynamic(x.data(), 40, y.data());
    EXPECT_GE(p.zero_point, -128);
    EXPECT_LE(p.zero_point, 127);
  }
}

// ---- depthwise ----

float ref_act(float v, QAct act, float alpha, float beta) {
  const double x = v;
  switch (act) {
    case QAct::None: return v;
    case QAct::HardSigmoid: return static_cast<float>(std::min(std::max(alpha * x + beta, 0.0), 1.0));
    case QAct::HardSwish: return static_cast<float>(x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0);
    case QAct::Sigmoid: return static_cast<float>(1.0 / (1.0 + std::exp(-x)));
    case QAct::SiLU: return static_cast<float>(x / (1.0 + std::exp(-x)));
    case QAct::Tanh: return static_cast<float>(std::tanh(x));
    case QAct::LeakyRelu: return static_cast<float>(x < 0 ? alpha * x : x);
    case QAct::Gelu: return static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))));
    case QAct::GeluTanh:
      return static_cast<float>(0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
  }
  return v;
}

struct DwCase {
  int64_t n, h, w, c, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  QAct act;
  bool out_i8, residual_f32, residual_i8, bias, clamp;
};

std::string name(const DwCase& t) {
  char b[256];
  std::snprintf(b, sizeof(b), "%lldx%lldx%lldx%lld k%lldx%lld s%lld,%lld d%lld,%lld pads %lld,%lld,%lld,%lld act%d %s%s%s",
                (long long)t.n, (long long)t.h, (long long)t.w, (long long)t.c, (long long)t.kh, (long long)t.kw,
                (long long)t.sh, (long long)t.sw, (long long)t.dh, (long long)t.dw, (long long)t.pt, (long long)t.pl,
                (long long)t.pb, (long long)t.pr, static_cast<int>(t.act), t.out_i8 ? "i8" : "f32",
                t.residual_f32 ? " resf32" : "", t.residual_i8 ? " resi8" : "");
  return b;
}

struct DwData {
  std::vector<int8_t> x, w, res_i8;
  std::vector<float> w_scale, bias, res_f32;
  float x_scale = 0.02f;
  kernels::DwConvQs8Args args;
};

DwData make_dw(const DwCase& t, uint32_t seed) {
  DwData d;
  d.x = random_i8(static_cast<size_t>(t.n * t.h * t.w * t.c), seed);
  d.w = random_i8(static_cast<size_t>(t.kh * t.kw * t.c), seed + 1);
  d.w_scale = random_floats(static_cast<size_t>(t.c), seed + 2, 0.001f, 0.01f);
  d.bias = random_floats(static_cast<size_t>(t.c), seed + 3, -1.f, 1.f);
  auto& a = d.args;
  a.n = t.n, a.h = t.h, a.w = t.w, a.c = t.c, a.kh = t.kh, a.kw = t.kw;
  a.stride_h = t.sh, a.stride_w = t.sw, a.dilation_h = t.dh, a.dilation_w = t.dw, a.pad_top = t.pt, a.pad_left = t.pl;
  a.oh = (t.h + t.pt + t.pb - (t.kh - 1) * t.dh - 1) / t.sh + 1;
  a.ow = (t.w + t.pl + t.pr - (t.kw - 1) * t.dw - 1) / t.sw + 1;
  const size_t out = static_cast<size_t>(t.n * a.oh * a.ow * t.c);
  d.res_i8 = random_i8(out, seed + 4);
  d.res_f32 = random_floats(out, seed + 5, -1.f, 1.f);
  a.x = d.x.data();
  a.x_zero_point = static_cast<int32_t>(seed % 200) - 100;
  a.weights = d.w.data();
  a.ep.a_scale = &d.x_scale;
  a.ep.b_scale = d.w_scale.data();
  a.ep.bias = t.bias ? d.bias.data() : nullptr;
  if (t.residual_f32) a.ep.residual_f32 = d.res_f32.data(), a.ep.ld_residual = t.c;
  if (t.residual_i8) {
    a.ep.residual_i8 = d.res_i8.data(), a.ep.ld_residual = t.c, a.ep.residual_scale = 0.03f;
    a.ep.residual_zero_point = 9;
  }
  a.ep.act = t.act;
  a.ep.act_alpha = t.act == QAct::HardSigmoid ? 0.2f : 0.1f;
  a.ep.act_beta = 0.5f;
  if (t.clamp) a.ep.out_min = 0.f, a.ep.out_max = 6.f;
  a.ep.out_i8 = t.out_i8;
  a.ep.out_scale = 0.05f;
  a.ep.out_zero_point = -5;
  return d;
}

// The plain reference: float values before the int8 rounding (so a test can allow one step).
std::vector<float> ref_dw(const DwData& d) {
  const auto& a = d.args;
  std::vector<float> y(static_cast<size_t>(a.n * a.oh * a.ow * a.c));
  for (int64_t b = 0; b < a.n; ++b)
    for (int64_t oy = 0; oy < a.oh; ++oy)
      for (int64_t ox = 0; ox < a.ow; ++ox)
        for (int64_t c = 0; c < a.c; ++c) {
          int64_t acc = 0;
          for (int64_t ky = 0; ky < a.kh; ++ky)
            for (int64_t kx = 0; kx < a.kw; ++kx) {
              const int64_t iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h;
              const int64_t ix = ox * a.stride_w - a.pad_left + kx * a.dilation_w;
              const int32_t q = iy < 0 || iy >= a.h || ix < 0 || ix >= a.w
                                    ? a.x_zero_point
                                    : d.x[static_cast<size_t>(((b * a.h + iy) * a.w + ix) * a.c + c)];
              acc += static_cast<int64_t>(q - a.x_zero_point) * d.w[static_cast<size_t>((ky * a.kw + kx) * a.c + c)];
            }
          const int64_t pixel = (b * a.oh + oy) * a.ow + ox;
          double v = static_cast<double>(acc) * d.x_scale * d.w_scale[c];
          if (a.ep.bias) v += a.ep.bias[c];
          if (a.ep.residual_f32) v += a.ep.residual_f32[pixel * a.c + c];
          if (a.ep.residual_i8) v += 0.03 * (a.ep.residual_i8[pixel * a.c + c] - 9);
          float f = ref_act(static_cast<float>(v), a.ep.act, a.ep.act_alpha, a.ep.act_beta);
          f = std::min(std::max(f, a.ep.out_min), a.ep.out_max);
          y[static_cast<size_t>(pixel * a.c + c)] = f;
        }
  return y;
}

void check_dw_output(const DwData& d, const std::vector<float>& want, const void* out, const std::string& what) {
  const auto& a = d.args;
  size_t off_by_one = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (a.ep.out_i8) {
      const int want_q = ref_quantize(want[i] / a.ep.out_scale, a.ep.out_zero_point);
      const int got = static_cast<const int8_t*>(out)[i];
      ASSERT_LE(std::abs(got - want_q), 1) << what << " at " << i << " real " << want[i];
      // One step only where float rounding can decide: next to a rounding tie.
      if (got != want_q) {
        ++off_by_one;
        const float r = want[i] / a.ep.out_scale;
        ASSERT_LT(std::fabs(r - std::floor(r) - 0.5f), 1e-3f) << what << " at " << i << " real " << want[i];
      }
    } else {
      const float got = static_cast<const float*>(out)[i];
      ASSERT_NEAR(got, want[i], 2e-5f * std::max(1.f, std::fabs(want[i]))) << what << " at " << i;
    }
  }
}

std::vector<DwCase> dw_cases() {
  std::vector<DwCase> cases = {
      // MobileNet shapes (3x3 / 5x5, strides 1 and 2, "same" padding).
      {1, 12, 12, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, QAct::HardSwish, true, false, false, true, false},
      {1, 9, 11, 72, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, QAct::None, true, false, false, true, true},
      {1, 8, 8, 88, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, QAct::None, false, false, false, true, false},
      {1, 10, 9, 96, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, QAct::HardSwish, true, false, false, true, false},
      {1, 7, 7, 40, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, QAct::HardSwish, false, false, false, true, false},
      // Channels not a multiple of 16, tiny images (every pixel a border), asymmetric pads.
      {2, 3, 4, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, QAct::None, true, false, false, false, false},
      {1, 5, 6, 23, 3, 3, 1, 2, 1, 1, 0, 1, 2, 0, QAct::LeakyRelu, true, false, false, true, false},
      {1, 2, 2, 33, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, QAct::Sigmoid, false, false, false, true, false},
      // Dilation 2, rectangular kernels, residuals, all activations.
      {1, 11, 10, 17, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, QAct::SiLU, true, false, true, true, false},
      {2, 9, 7, 24, 1, 3, 1, 1, 1, 2, 0, 2, 0, 2, QAct::Tanh, false, true, false, true, false},
      {1, 6, 8, 31, 2, 4, 2, 1, 1, 1, 0, 1, 1, 2, QAct::HardSigmoid, true, true, false, true, false},
      {1, 7, 7, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, QAct::Gelu, false, false, true, true, false},
      {1, 7, 5, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, QAct::GeluTanh, true, false, false, true, true},
      {1, 4, 20, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, QAct::None, true, false, true, false, true},
      {1, 15, 15, 3, 7, 7, 3, 3, 1, 1, 3, 3, 3, 3, QAct::None, true, false, false, true, false},
      // Large kernel (past the vector variants' tap limit on some ISAs).
      {1, 13, 13, 18, 12, 12, 1, 1, 1, 1, 5, 5, 6, 6, QAct::None, false, false, false, true, false},
  };
  return cases;
}

TEST(KernelsQuantOps, DepthwiseVariantsMatchReference) {
  size_t count = 0;
  const kernels::DwConvQs8Kernel* v = kernels::dwconv_qs8_variants(&count);
  ASSERT_GE(count, 1u);
  EXPECT_STREQ(v[0].name, "scalar");
  uint32_t seed = 100;
  for (const DwCase& t : dw_cases()) {
    DwData d = make_dw(t, seed += 17);
    const std::vector<float> want = ref_dw(d);
    const size_t out_n = want.size();
    for (size_t k = 0; k < count; ++k) {
      for (const bool out_i8 : {t.out_i8, !t.out_i8}) {  // the case's output type, then the other one
        std::vector<float> yf(out_n, 1234.f);
        std::vector<int8_t> yq(out_n, 77);
        DwData dk = d;
        kernels::DwConvQs8Args& a = dk.args;
        a.ep.out_i8 = out_i8;
        a.out = out_i8 ? static_cast<void*>(yq.data()) : static_cast<void*>(yf.data());
        // Two calls over split row ranges: the row0/rows contract.
        const int64_t rows = a.n * a.oh, half = rows / 2;
        v[k].run(a, 0, half);
        v[k].run(a, half, rows - half);
        check_dw_output(dk, want, a.out, std::string(v[k].name) + " " + name(t) + (out_i8 ? " (i8 out)" : " (f32 out)"));
      }
    }
  }
}

TEST(KernelsQuantOps, DepthwiseThreadedAndExtremes) {
  pthreadpool_t pool = pthreadpool_create(2);
  // Saturating weights and inputs (-128 everywhere) with zero point 127: the largest sums.
  DwCase t{1, 9, 9, 40, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, QAct::None, false, false, false, false, false};
  DwData d = make_dw(t, 5);
  std::fill(d.x.begin(), d.x.end(), int8_t{-128});
  std::fill(d.w.begin(), d.w.end(), int8_t{-128});
  d.args.x_zero_point = 127;
  const std::vector<float> want = ref_dw(d);
  std::vector<float> y(want.size());
  d.args.out = y.data();
  kernels::dwconv_qs8(d.args, pool);
  check_dw_output(d, want, y.data(), "extremes threaded");
  pthreadpool_destroy(pool);
}

TEST(KernelsQuantOps, DepthwiseResidualInPlace) {
  // The int8 residual is the output buffer itself (an in-place residual add), C with a partial block.
  size_t count = 0;
  const kernels::DwConvQs8Kernel* v = kernels::dwconv_qs8_variants(&count);
  DwCase t{1, 6, 7, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, QAct::None, true, false, true, true, false};
  DwData d = make_dw(t, 41);
  d.args.ep.residual_scale = d.args.ep.out_scale;  // the residual has the output's parameters
  d.args.ep.residual_zero_point = d.args.ep.out_zero_point;
  std::vector<float> want = ref_dw(d);
  // ref_dw adds 0.03 * (r - 9): redo the residual term with the output's parameters.
  for (size_t i = 0; i < want.size(); ++i) {
    want[i] += static_cast<float>(d.args.ep.out_scale * (d.res_i8[i] - d.args.ep.out_zero_point) - 0.03 * (d.res_i8[i] - 9));
  }
  for (size_t k = 0; k < count; ++k) {
    std::vector<int8_t> io = d.res_i8;
    DwData dk = d;
    dk.args.ep.residual_i8 = io.data();
    dk.args.out = io.data();
    v[k].run(dk.args, 0, dk.args.n * dk.args.oh);
    check_dw_output(dk, want, io.data(), std::string(v[k].name) + " in-place residual");
  }
}

// ---- add, pools, scale channels, im2col ----

TEST(KernelsQuantOps, AddBroadcasts) {
  const QParams pa{0.03f, -4}, pb{0.07f, 10}, py{0.05f, 3};
  for (int64_t n : {1, 15, 64, 99, 160, 333, 1000}) {
    for (int64_t bc : {int64_t{1}, int64_t{3}, int64_t{16}, int64_t{40}, int64_t{111}, n}) {
      if (n % bc) continue;
      const auto a = random_i8(static_cast<size_t>(n), 1), b = random_i8(static_cast<size_t>(bc), 2);
      for (bool relu : {false, true}) {
        std::vector<int8_t> y(static_cast<size_t>(n));
        kernels::add_qs8(a.data(), pa, b.data(), pb, n, bc, y.data(), py, relu ? 0.f : -INFINITY, INFINITY);
        for (int64_t i = 0; i < n; ++i) {
          double v = pa.scale * (a[i] - pa.zero_point) + pb.scale * (b[i % bc] - pb.zero_point);
          if (relu) v = std::max(v, 0.0);
          const int want = ref_quantize(static_cast<float>(v / py.scale), py.zero_point);
          ASSERT_LE(std::abs(y[i] - want), 1) << "n " << n << " bc " << bc << " i " << i;
        }
      }
    }
  }
}

TEST(KernelsQuantOps, GlobalAvgPoolAndScaleChannels) {
  const int64_t n = 2, hw = 13, c = 300;  // c past the 256-channel chunk
  const auto x = random_i8(static_cast<size_t>(n * hw * c), 3);
  const QParams px{0.04f, 6}, py{0.01f, -2};
  std::vector<int8_t> y(static_cast<size_t>(n * c));
  std::vector<float> yf(static_cast<size_t>(n * c));
  kernels::global_avgpool_qs8(x.data(), px, n, hw, c, y.data(), py, nullptr);
  kernels::global_avgpool_qs8(x.data(), px, n, hw, c, nullptr, py, yf.data());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t j = 0; j < c; ++j) {
      double s = 0;
      for (int64_t p = 0; p < hw; ++p) s += x[static_cast<size_t>((b * hw + p) * c + j)] - px.zero_point;
      const double mean = px.scale * s / hw;
      ASSERT_NEAR(yf[b * c + j], mean, 1e-5) << j;
      ASSERT_LE(std::abs(y[b * c + j] - ref_quantize(static_cast<float>(mean / py.scale), py.zero_point)), 1) << j;
    }
  const auto gate = random_floats(static_cast<size_t>(n * c), 4, 0.f, 1.f);
  std::vector<int8_t> z(x.size());
  kernels::scale_channels_qs8(x.data(), px, gate.data(), n, hw, c, z.data(), QParams{0.03f, 1});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t j = 0; j < c; ++j) {
        const size_t i = static_cast<size_t>((b * hw + p) * c + j);
        const double v = px.scale * (x[i] - px.zero_point) * gate[b * c + j];
        ASSERT_LE(std::abs(z[i] - ref_quantize(static_cast<float>(v / 0.03), 1)), 1) << i;
      }
}

TEST(KernelsQuantOps, MaxAndAveragePool) {
  pthreadpool_t pool = pthreadpool_create(2);
  struct Case {
    int64_t n, h, w, c, kh, kw, s, d, pt, pl, pb, pr;
    bool include_pad;
  };
  for (const Case& t : {Case{1, 7, 7, 5, 3, 3, 2, 1, 1, 1, 1, 1, false}, Case{2, 6, 5, 17, 2, 2, 2, 1, 0, 0, 0, 1, true},
                        Case{1, 9, 8, 300, 3, 3, 1, 2, 2, 2, 2, 2, false},
                        Case{1, 5, 5, 3, 3, 3, 2, 1, 1, 1, 2, 2, true}}) {  // last: ceil-mode-like overhang
    kernels::PoolQs8Args a;
    a.n = t.n, a.h = t.h, a.w = t.w, a.c = t.c, a.kh = t.kh, a.kw = t.kw, a.stride_h = a.stride_w = t.s;
    a.dilation_h = a.dilation_w = t.d, a.pad_top = t.pt, a.pad_left = t.pl, a.pad_bottom = t.pb, a.pad_right = t.pr;
    a.oh = (t.h + t.pt + t.pb - (t.kh - 1) * t.d - 1 + t.s - 1) / t.s + 1;  // ceil: windows may pass the pads
    a.ow = (t.w + t.pl + t.pr - (t.kw - 1) * t.d - 1 + t.s - 1) / t.s + 1;
    a.count_include_pad = t.include_pad;
    const auto x = random_i8(static_cast<size_t>(t.n * t.h * t.w * t.c), 7);
    a.x = x.data();
    a.px = QParams{0.05f, -3};
    a.py = QParams{0.02f, 4};
    std::vector<int8_t> ymax(static_cast<size_t>(t.n * a.oh * a.ow * t.c)), yavg(ymax.size());
    a.y = ymax.data();
    kernels::maxpool_qs8(a, pool);
    a.y = yavg.data();
    kernels::avgpool_qs8(a, pool);
    for (int64_t b = 0; b < t.n; ++b)
      for (int64_t oy = 0; oy < a.oh; ++oy)
        for (int64_t ox = 0; ox < a.ow; ++ox)
          for (int64_t c = 0; c < t.c; ++c) {
            int mx = -129, count_in = 0, count_pad = 0;
            double s = 0;
            for (int64_t ky = 0; ky < t.kh; ++ky)
              for (int64_t kx = 0; kx < t.kw; ++kx) {
                const int64_t iy = oy * t.s - t.pt + ky * t.d, ix = ox * t.s - t.pl + kx * t.d;
                if (iy >= -t.pt && iy < t.h + t.pb && ix >= -t.pl && ix < t.w + t.pr) ++count_pad;
                if (iy < 0 || iy >= t.h || ix < 0 || ix >= t.w) continue;
                const int q = x[static_cast<size_t>(((b * t.h + iy) * t.w + ix) * t.c + c)];
                mx = std::max(mx, q), s += q - a.px.zero_point, ++count_in;
              }
            const size_t o = static_cast<size_t>(((b * a.oh + oy) * a.ow + ox) * t.c + c);
            if (count_in > 0) {
              ASSERT_EQ(ymax[o], mx) << o;
            }
            const int count = t.include_pad ? count_pad : count_in;
            if (count == 0) continue;
            const double mean = a.px.scale * s / count;
            ASSERT_LE(std::abs(yavg[o] - ref_quantize(static_cast<float>(mean / a.py.scale), a.py.zero_point)), 1)
                << "avg at " << o << " include_pad " << t.include_pad;
          }
  }
  pthreadpool_destroy(pool);
}

TEST(KernelsQuantOps, Im2col) {
  const int64_t h = 6, w = 5, c = 3, kh = 3, kw = 2, sh = 2, sw = 1, dh = 2, dw = 1, pt = 2, pl = 1;
  const int64_t oh = (h + 2 * pt - (kh - 1) * dh - 1) / sh + 1, ow = (w + 2 * pl - (kw - 1) * dw - 1) / sw + 1;
  const auto x = random_i8(static_cast<size_t>(h * w * c), 11);
  const int64_t K = kh * kw * c, row0 = 3, rows = oh * ow - 4;
  std::vector<int8_t> out(static_cast<size_t>(rows * K), 0);
  kernels::im2col_s8(x.data(), h, w, c, kh, kw, sh, sw, dh, dw, pt, pl, ow, row0, rows, int8_t{-9}, out.data());
  for (int64_t r = row0; r < row0 + rows; ++r) {
    const int64_t oy = r / ow, ox = r % ow;
    for (int64_t ky = 0; ky < kh; ++ky)
      for (int64_t kx = 0; kx < kw; ++kx)
        for (int64_t ch = 0; ch < c; ++ch) {
          const int64_t iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
          const int8_t want = iy < 0 || iy >= h || ix < 0 || ix >= w ? int8_t{-9} : x[static_cast<size_t>((iy * w + ix) * c + ch)];
          ASSERT_EQ(out[static_cast<size_t>((r - row0) * K + (ky * kw + kx) * c + ch)], want) << r;
        }
  }
}

}  // namespace
}  // namespace pocket
