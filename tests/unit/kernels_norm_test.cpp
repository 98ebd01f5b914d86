// Every LayerNorm / RMSNorm / GELU kernel variant this CPU can run against the scalar reference
// (double precision) over many row lengths, including the numerically hard cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kernels/activation/gelu_f32.h"
#include "kernels/norm/layernorm_f32.h"

namespace pocket::kernels {
namespace {

std::vector<float> randoms(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Row lengths 1..1000: every length up to 70 (all tail shapes of 8/16/32/64-wide loops), then
// odd lengths and the model sizes.
std::vector<size_t> lengths() {
  std::vector<size_t> v;
  for (size_t n = 1; n <= 70; ++n) v.push_back(n);
  for (size_t n : {97u, 127u, 128u, 129u, 255u, 383u, 384u, 511u, 512u, 767u, 768u, 769u, 999u, 1000u}) v.push_back(n);
  return v;
}

// max |got - want| / max(1, |want|)
float worst_error(const std::vector<float>& got, const std::vector<float>& want) {
  float worst = 0.f;
  for (size_t i = 0; i < got.size(); ++i) {
    const float e = std::abs(got[i] - want[i]) / std::max(1.f, std::abs(want[i]));
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

TEST(KernelsNorm, DispatchPicksBestVariant) {
  const auto v = norm_f32_variants();
  ASSERT_FALSE(v.empty());
  EXPECT_STREQ(v[0].isa, "scalar");
#if defined(__x86_64__)
  if (!std::getenv("POCKET_ISA") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_GE(v.size(), 2u) << "this CPU has AVX2+FMA: the avx2 variant must be listed";
  }
#endif
  EXPECT_EQ(norm_f32_kernels().layernorm, v.back().layernorm);
  EXPECT_EQ(norm_f32_kernels().rmsnorm, v.back().rmsnorm);
  const auto g = gelu_f32_variants();
  EXPECT_STREQ(g[0].isa, "scalar");
  EXPECT_EQ(g.size(), v.size());
  EXPECT_EQ(gelu_f32_kernels().erf_form, g.back().erf_form);
}

TEST(KernelsNorm, LayerNormVariantsMatchReference) {
  const size_t rows = 3;
  for (const NormF32Kernels& k : norm_f32_variants()) {
    for (size_t n : lengths()) {
      const auto x = randoms(rows * n, static_cast<uint32_t>(n), -3.f, 5.f);
      const auto scale = randoms(n, 7u + static_cast<uint32_t>(n), 0.5f, 1.5f);
      const auto bias = randoms(n, 11u + static_cast<uint32_t>(n), -1.f, 1.f);
      for (bool with_bias : {true, false}) {
        std::vector<float> want(rows * n), got(rows * n, -7.f);
        const float* b = with_bias ? bias.data() : nullptr;
        layernorm_f32_scalar(x.data(), want.data(), rows, n, scale.data(), b, 1e-5f);
        k.layernorm(x.data(), got.data(), rows, n, scale.data(), b, 1e-5f);
        EXPECT_LE(worst_error(got, want), 2e-6f) << k.isa << " n=" << n << " bias=" << with_bias;
      }
    }
  }
}

TEST(KernelsNorm, LayerNormInPlaceAndConstantRows) {
  for (const NormF32Kernels& k : norm_f32_variants()) {
    for (size_t n : {1u, 5u, 33u, 768u}) {
      // In place.
      auto x = randoms(2 * n, 3u, -2.f, 2.f);
      const std::vector<float> scale(n, 1.f), bias(n, 0.25f);
      std::vector<float> want(2 * n);
      layernorm_f32_scalar(x.data(), want.data(), 2, n, scale.data(), bias.data(), 1e-5f);
      k.layernorm(x.data(), x.data(), 2, n, scale.data(), bias.data(), 1e-5f);
      EXPECT_LE(worst_error(x, want), 2e-6f) << k.isa << " n=" << n;
      // A constant row has zero variance: y = bias exactly (eps keeps it finite).
      std::vector<float> c(n, 3.5f), y(n);
      k.layernorm(c.data(), y.data(), 1, n, scale.data(), bias.data(), 1e-5f);
      for (float v : y) ASSERT_EQ(v, 0.25f) << k.isa << " n=" << n;
    }
  }
}

// A large mean next to a small spread: a sum / sum-of-squares method loses the variance to
// cancellation (1e4 +- 1: E[x^2] - E[x]^2 cancels 8 digits); Welford with merging keeps it.
TEST(KernelsNorm, LayerNormLargeMeanSmallSpread) {
  for (const NormF32Kernels& k : norm_f32_variants()) {
    for (size_t n : {100u, 384u, 768u, 1000u}) {
      auto x = randoms(n, 5u, -1.f, 1.f);
      for (float& v : x) v += 1.0e4f;
      const std::vector<float> scale(n, 1.f);
      std::vector<float> want(n), got(n);
      layernorm_f32_scalar(x.data(), want.data(), 1, n, scale.data(), nullptr, 1e-5f);
      k.layernorm(x.data(), got.data(), 1, n, scale.data(), nullptr, 1e-5f);
      // Inputs carry ulp(1e4) = 1e-3 absolute of their own; the statistics must not add more.
      EXPECT_LE(worst_error(got, want), 2e-4f) << k.isa << " n=" << n;
    }
  }
}

TEST(KernelsNorm, RmsNormVariantsMatchReference) {
  for (const NormF32Kernels& k : norm_f32_variants()) {
    for (size_t n : lengths()) {
      const auto x = randoms(2 * n, 13u + static_cast<uint32_t>(n), -4.f, 3.f);
      const auto scale = randoms(n, 17u, 0.5f, 1.5f);
      for (bool with_scale : {true, false}) {
        std::vector<float> want(2 * n), got(2 * n, -7.f);
        const float* s = with_scale ? scale.data() : nullptr;
        rmsnorm_f32_scalar(x.data(), want.data(), 2, n, s, 1e-6f);
        k.rmsnorm(x.data(), got.data(), 2, n, s, 1e-6f);
        EXPECT_LE(worst_error(got, want), 2e-6f) << k.isa << " n=" << n;
      }
    }
  }
}

TEST(KernelsGelu, ReferenceMatchesDefinition) {
  // Reference against the textbook formulas where they do not cancel.
  const float xs[] = {-3.f, -1.f, -0.5f, 0.f, 0.25f, 1.f, 2.f, 6.f};
  for (float x : xs) {
    float y = 0.f;
    gelu_erf_f32_scalar(&x, &y, 1);
    EXPECT_NEAR(y, 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))), 1e-7) << x;
    gelu_tanh_f32_scalar(&x, &y, 1);
    EXPECT_NEAR(y, 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))), 1e-7) << x;
  }
}

TEST(KernelsGelu, VariantsMatchReference) {
  // A dense sweep over [-12, 12] for accuracy, and every row length 1..70 plus odd ones for tails.
  std::vector<float> x;
  for (int i = -60000; i <= 60000; ++i) x.push_back(static_cast<float>(i) * 2e-4f);
  std::vector<float> want(x.size()), got(x.size());
  for (const GeluF32Kernels& k : gelu_f32_variants()) {
    for (bool tanh_form : {false, true}) {
      (tanh_form ? gelu_tanh_f32_scalar : gelu_erf_f32_scalar)(x.data(), want.data(), x.size());
      (tanh_form ? k.tanh_form : k.erf_form)(x.data(), got.data(), x.size());
      // |error| <= 1.5e-7 * max(1, |x|): about an ulp of the output.
      float worst = 0.f, at = 0.f;
      for (size_t i = 0; i < x.size(); ++i) {
        const float e = std::abs(got[i] - want[i]) / std::max(1.f, std::abs(x[i]));
        if (e > worst) worst = e, at = x[i];
      }
      EXPECT_LE(worst, 1.5e-7f) << k.isa << (tanh_form ? " tanh" : " erf") << " worst at x=" << at;
      // Negative outputs down to 1e-30 keep their relative accuracy (erf form).
      if (!tanh_form) {
        float rel = 0.f;
        for (size_t i = 0; i < x.size(); ++i)
          if (x[i] < 0.f && std::abs(want[i]) > 1e-30f) rel = std::max(rel, std::abs(got[i] / want[i] - 1.f));
        EXPECT_LE(rel, 2e-6f) << k.isa;
      }
    }
    for (size_t n : lengths()) {
      const auto v = randoms(n, static_cast<uint32_t>(n), -6.f, 6.f);
      std::vector<float> w(n), g(n + 1, 42.f);
      gelu_erf_f32_scalar(v.data(), w.data(), n);
      k.erf_form(v.data(), g.data(), n);
      EXPECT_EQ(g[n], 42.f) << k.isa << ": wrote past the row, n=" << n;
      g.pop_back();
      EXPECT_LE(worst_error(g, w), 1.5e-7f) << k.isa << " n=" << n;
      std::vector<float> inplace = v;
      k.tanh_form(inplace.data(), inplace.data(), n);
      gelu_tanh_f32_scalar(v.data(), w.data(), n);
      EXPECT_LE(worst_error(inplace, w), 1.5e-7f) << k.isa << " tanh in place n=" << n;
    }
  }
}

TEST(KernelsGelu, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  for (const GeluF32Kernels& k : gelu_f32_variants()) {
    for (bool tanh_form : {false, true}) {
      const float x[4] = {std::nanf(""), inf, 0.f, -30.f};
      float y[4];
      (tanh_form ? k.tanh_form : k.erf_form)(x, y, 4);
      EXPECT_TRUE(std::isnan(y[0])) << k.isa;
      EXPECT_EQ(y[1], inf) << k.isa;
      EXPECT_EQ(y[2], 0.f) << k.isa;
      EXPECT_LE(std::abs(y[3]), 1e-30f) << k.isa;
    }
  }
}

}  // namespace
}  // namespace pocket::kernels
