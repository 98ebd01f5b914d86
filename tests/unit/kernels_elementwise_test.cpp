// Every elementwise and reduce kernel variant this CPU can run, against the scalar reference
// (and the polynomial approximations against double-precision libm), over edge lengths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/elementwise/elementwise.h"
#include "kernels/reduce/reduce.h"

namespace pocket::kernels {
namespace {

const size_t kLengths[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 100, 1001};

std::vector<float> randoms(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct UnaryRange {
  UnaryOp op;
  const char* name;
  float lo, hi;
  UnaryParams p;
};

const std::vector<UnaryRange>& unary_ranges() {
  static const std::vector<UnaryRange> r = {
      {UnaryOp::Relu, "Relu", -5, 5, {}},
      {UnaryOp::LeakyRelu, "LeakyRelu", -5, 5, {0.1f, 0}},
      {UnaryOp::Elu, "Elu", -10, 5, {0.8f, 0}},
      {UnaryOp::Selu, "Selu", -10, 5, {1.67326f, 1.0507f}},
      {UnaryOp::Sigmoid, "Sigmoid", -30, 30, {}},
      {UnaryOp::HardSigmoid, "HardSigmoid", -6, 6, {0.2f, 0.5f}},
      {UnaryOp::HardSwish, "HardSwish", -6, 6, {}},
      {UnaryOp::Tanh, "Tanh", -10, 10, {}},
      {UnaryOp::Softplus, "Softplus", -30, 30, {}},
      {UnaryOp::Softsign, "Softsign", -10, 10, {}},
      {UnaryOp::Clip, "Clip", -5, 5, {-1.f, 3.f}},
      {UnaryOp::Exp, "Exp", -100, 88, {}},
      {UnaryOp::Log, "Log", 1e-3f, 1e3f, {}},
      {UnaryOp::Sqrt, "Sqrt", 0, 1e4f, {}},
      {UnaryOp::Neg, "Neg", -5, 5, {}},
      {UnaryOp::Abs, "Abs", -5, 5, {}},
      {UnaryOp::Erf, "Erf", -5, 5, {}},
      {UnaryOp::Reciprocal, "Reciprocal", 0.01f, 100, {}},
      {UnaryOp::Floor, "Floor", -100, 100, {}},
      {UnaryOp::Ceil, "Ceil", -100, 100, {}},
      {UnaryOp::SiLU, "SiLU", -30, 30, {}},
  };
  return r;
}

TEST(KernelsElementwise, DispatchPicksBestVariant) {
  const auto variants = elementwise_variants();
  ASSERT_FALSE(variants.empty());
  EXPECT_STREQ(variants[0].isa, "scalar");
#if defined(__x86_64__)
  if (!std::getenv("POCKET_ISA") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    EXPECT_GE(variants.size(), 2u) << "this CPU has AVX2+FMA: the avx2 variant must be listed";
#endif
  const ElementwiseKernels& k = elementwise_kernels();
  for (int op = 0; op < kUnaryOpCount; ++op) {
    EXPECT_NE(k.unary_f32[op], nullptr);
    EXPECT_EQ(k.unary_f32[op], variants.back().table.unary_f32[op]);
  }
  for (int op = 0; op < kBinaryOpCount; ++op)
    for (int f = 0; f < kRowFormCount; ++f) EXPECT_NE(k.binary_f32[op][f], nullptr);
  EXPECT_EQ(reduce_kernels().softmax_f32, reduce_variants().back().table.softmax_f32);
  EXPECT_EQ(reduce_variants().size(), variants.size() > 1 ? 2u : 1u);  // reduce has scalar + avx2
}

TEST(KernelsElementwise, UnaryVariantsMatchScalar) {
  const auto variants = elementwise_variants();
  const ElementwiseKernels& ref = variants[0].table;
  for (size_t v = 1; v < variants.size(); ++v) {
    const ElementwiseKernels& t = variants[v].table;
    for (const UnaryRange& u : unary_ranges()) {
      for (size_t n : kLengths) {
        SCOPED_TRACE(std::string(variants[v].isa) + " " + u.name + " n=" + std::to_string(n));
        std::vector<float> x = randoms(n, static_cast<uint32_t>(n * 31 + static_cast<int>(u.op)), u.lo, u.hi);
        if (n > 4 && u.op != UnaryOp::Log && u.op != UnaryOp::Sqrt && u.op != UnaryOp::Reciprocal) {
          x[0] = 0.f;
          x[1] = -0.f;
          x[2] = 1e-4f;
          x[3] = -2.5e-3f;
        }
        // Output guard: a kernel must write exactly n elements.
        std::vector<float> want(n + 1, 7.f), got(n + 1, 7.f);
        const int op = static_cast<int>(u.op);
        ref.unary_f32[op](x.data(), want.data(), n, u.p);
        t.unary_f32[op](x.data(), got.data(), n, u.p);
        ASSERT_EQ(got[n], 7.f) << "wrote past the end";
        for (size_t i = 0; i < n; ++i) {
          const float w = want[i];
          const float tol = 2e-6f * std::abs(w) + 3e-7f + (std::abs(w) < 1e-37f ? 1e-37f : 0.f);
          ASSERT_NEAR(got[i], w, tol) << "x = " << x[i];
        }
      }
    }
  }
}

// The polynomials themselves, on dense grids, against double precision.
TEST(KernelsElementwise, ApproximationsAgainstDouble) {
  for (const auto& variant : elementwise_variants()) {
    const ElementwiseKernels& t = variant.table;
    auto check = [&](UnaryOp op, float lo, float hi, double (*f)(double), double rel, double abs, const char* name) {
      const size_t n = 20001;
      std::vector<float> x(n), y(n);
      for (size_t i = 0; i < n; ++i) x[i] = lo + (hi - lo) * static_cast<float>(i) / (n - 1);
      t.unary_f32[static_cast<int>(op)](x.data(), y.data(), n, UnaryParams{});
      double worst = 0;
      for (size_t i = 0; i < n; ++i) {
        const double w = f(x[i]);
        const double e = std::abs(y[i] - w) / (rel * std::abs(w) + abs);
        worst = std::max(worst, e);
      }
      EXPECT_LE(worst, 1.0) << variant.isa << " " << name;
    };
    check(UnaryOp::Exp, -87.f, 88.f, [](double v) { return std::exp(v); }, 1e-6, 1e-38, "exp");
    check(UnaryOp::Sigmoid, -80.f, 40.f, [](double v) { return 1 / (1 + std::exp(-v)); }, 1e-6, 1e-38, "sigmoid");
    check(UnaryOp::Tanh, -9.f, 9.f, [](double v) { return std::tanh(v); }, 1e-6, 1e-7, "tanh");
    check(UnaryOp::Tanh, -0.3f, 0.3f, [](double v) { return std::tanh(v); }, 2e-6, 1e-12, "tanh near 0 (relative)");
    check(UnaryOp::Erf, -6.f, 6.f, [](double v) { return std::erf(v); }, 1e-6, 3e-7, "erf");
    check(UnaryOp::Erf, -0.45f, 0.45f, [](double v) { return std::erf(v); }, 2e-6, 1e-12, "erf near 0 (relative)");
    // Extremes: exp of -inf, very negative, +inf and beyond the float range.
    const float in[] = {-std::numeric_limits<float>::infinity(), -200.f, -104.5f, 89.f, std::numeric_limits<float>::infinity(), 0.f};
    float out[6];
    t.unary_f32[static_cast<int>(UnaryOp::Exp)](in, out, 6, UnaryParams{});
    EXPECT_EQ(out[0], 0.f) << variant.isa;
    EXPECT_EQ(out[1], 0.f) << variant.isa;
    EXPECT_LE(out[2], 1e-44f) << variant.isa;
    EXPECT_TRUE(std::isinf(out[3])) << variant.isa;
    EXPECT_TRUE(std::isinf(out[4])) << variant.isa;
    EXPECT_EQ(out[5], 1.f) << variant.isa;
  }
}

TEST(KernelsElementwise, BinaryVariantsMatchScalar) {
  const auto variants = elementwise_variants();
  const ElementwiseKernels& ref = variants[0].table;
  const char* names[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu"};
  for (size_t v = 1; v < variants.size(); ++v) {
    const ElementwiseKernels& t = variants[v].table;
    for (int op = 0; op < kBinaryOpCount; ++op) {
      for (int form = 0; form < kRowFormCount; ++form) {
        for (size_t n : kLengths) {
          SCOPED_TRACE(std::string(variants[v].isa) + " " + names[op] + " form " + std::to_string(form) + " n=" + std::to_string(n));
          std::vector<float> a = randoms(n + 1, static_cast<uint32_t>(n + op), -3.f, 3.f);
          std::vector<float> b = randoms(n + 1, static_cast<uint32_t>(n * 7 + op), 0.5f, 2.f);
          if (op == static_cast<int>(BinaryOp::Pow))
            for (float& x : a) x = std::abs(x) + 0.1f;
          std::vector<float> want(n + 1, 7.f), got(n + 1, 7.f);
          ref.binary_f32[op][form](a.data(), b.data(), want.data(), n);
          t.binary_f32[op][form](a.data(), b.data(), got.data(), n);
          ASSERT_EQ(got[n], 7.f) << "wrote past the end";
          for (size_t i = 0; i < n; ++i) ASSERT_NEAR(got[i], want[i], 1e-6f * std::abs(want[i])) << i;
        }
      }
    }
    for (size_t n : kLengths) {
      std::vector<float> x = randoms(n, 3, -3.f, 3.f), want(n + 1, 7.f), got(n + 1, 7.f);
      ref.affine_f32(x.data(), want.data(), n, 1.7f, -0.3f);
      t.affine_f32(x.data(), got.data(), n, 1.7f, -0.3f);
      ASSERT_EQ(got[n], 7.f);
      for (size_t i = 0; i < n; ++i) ASSERT_NEAR(got[i], want[i], 1e-6f * (std::abs(want[i]) + 1.f));
    }
  }
}

TEST(KernelsReduce, VariantsMatchScalar) {
  const auto variants = reduce_variants();
  const ReduceKernels& ref = variants[0].table;
  const char* names[] = {"Sum", "SumSquares", "Max", "Min", "Prod"};
  for (size_t v = 1; v < variants.size(); ++v) {
    const ReduceKernels& t = variants[v].table;
    for (int op = 0; op < kReduceOpCount; ++op) {
      for (size_t n : kLengths) {
        SCOPED_TRACE(std::string(variants[v].isa) + " " + names[op] + " n=" + std::to_string(n));
        const bool prod = op == static_cast<int>(ReduceOp::Prod);
        std::vector<float> x = randoms(n, static_cast<uint32_t>(n + 11 * op), prod ? 0.97f : -2.f, prod ? 1.03f : 2.f);
        float mag = 1.f;
        for (float e : x) mag += std::abs(e) * (op == 1 ? std::abs(e) : 1.f);
        const float got = t.reduce_row_f32[op](x.data(), n), want = ref.reduce_row_f32[op](x.data(), n);
        if (got != want) ASSERT_NEAR(got, want, 2e-6f * mag);  // equal covers the +-inf of empty rows
        std::vector<float> acc_ref = randoms(n + 1, 9, 0.5f, 1.5f), acc = acc_ref;
        ref.accumulate_row_f32[op](x.data(), acc_ref.data(), n);
        t.accumulate_row_f32[op](x.data(), acc.data(), n);
        ASSERT_EQ(acc[n], acc_ref[n]) << "wrote past the end";
        for (size_t i = 0; i < n; ++i) ASSERT_NEAR(acc[i], acc_ref[i], 1e-6f * (std::abs(acc_ref[i]) + 1.f));
        if (op == 0) {
          std::vector<float> y = randoms(n, 5, 99.f, 101.f);
          const float want = ref.sum_sq_dev_f32(y.data(), n, 100.f);
          ASSERT_NEAR(t.sum_sq_dev_f32(y.data(), n, 100.f), want, 2e-6f * (want + 1.f));
        }
      }
    }
  }
}

// Max and Min propagate NaN in every variant (numpy, PyTorch and ONNX Runtime do): a NaN at any
// position of the row, in any of the unrolled accumulators or the tail, and a NaN already in an
// accumulation row, all give NaN; the other positions keep their plain max/min.
TEST(KernelsReduce, MaxAndMinPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const auto& variant : reduce_variants()) {
    const ReduceKernels& t = variant.table;
    for (ReduceOp rop : {ReduceOp::Max, ReduceOp::Min}) {
      const int op = static_cast<int>(rop);
      for (size_t n : kLengths) {
        if (n == 0) continue;
        for (size_t pos : {size_t{0}, n / 3, n / 2, n - 1}) {
          SCOPED_TRACE(std::string(variant.isa) + (rop == ReduceOp::Max ? " Max" : " Min") + " n=" +
                       std::to_string(n) + " NaN at " + std::to_string(pos));
          std::vector<float> x = randoms(n, static_cast<uint32_t>(n + pos), -2.f, 2.f);
          x[pos] = nan;
          EXPECT_TRUE(std::isnan(t.reduce_row_f32[op](x.data(), n)));
          std::vector<float> acc = randoms(n, 3, -1.f, 1.f), want = acc;
          for (size_t i = 0; i < n; ++i)
            want[i] = i == pos ? nan : (rop == ReduceOp::Max ? std::max(acc[i], x[i]) : std::min(acc[i], x[i]));
          t.accumulate_row_f32[op](x.data(), acc.data(), n);
          for (size_t i = 0; i < n; ++i) {
            if (i == pos) ASSERT_TRUE(std::isnan(acc[i]));
            else ASSERT_EQ(acc[i], want[i]) << i;
          }
          // A NaN already accumulated stays NaN under finite x.
          x[pos] = 1.f;
          acc.assign(n, 0.f);
          acc[pos] = nan;
          t.accumulate_row_f32[op](x.data(), acc.data(), n);
          ASSERT_TRUE(std::isnan(acc[pos]));
        }
      }
    }
  }
}

TEST(KernelsReduce, SoftmaxVariantsMatchScalar) {
  const auto variants = reduce_variants();
  const ReduceKernels& ref = variants[0].table;
  struct Block {
    size_t n, stride, cols;
  };
  std::vector<Block> blocks;
  for (size_t n : kLengths)
    if (n) blocks.push_back({n, 1, 1});
  for (size_t n : {1, 2, 5, 33})
    for (size_t cols : {1, 3, 8, 9, 17}) blocks.push_back({n, cols + 2, cols});
  for (size_t v = 1; v < variants.size(); ++v) {
    const ReduceKernels& t = variants[v].table;
    for (bool log : {false, true}) {
      for (const Block& b : blocks) {
        SCOPED_TRACE(std::string(variants[v].isa) + (log ? " log" : "") + " n=" + std::to_string(b.n) + " stride=" +
                     std::to_string(b.stride) + " cols=" + std::to_string(b.cols));
        const size_t total = b.n * b.stride;
        std::vector<float> x = randoms(total, static_cast<uint32_t>(total + b.cols), -20.f, 20.f);
        std::mt19937 rng(static_cast<uint32_t>(b.n));
        for (size_t i = b.stride; i < total; ++i)  // masks, but never in the first element of a column
          if (rng() % 3 == 0) x[i] = rng() % 2 ? -std::numeric_limits<float>::infinity() : -3.4e38f;
        std::vector<float> want(total, 7.f), got(total, 7.f);
        (log ? ref.log_softmax_f32 : ref.softmax_f32)(x.data(), want.data(), b.n, b.stride, b.cols);
        (log ? t.log_softmax_f32 : t.softmax_f32)(x.data(), got.data(), b.n, b.stride, b.cols);
        for (size_t i = 0; i < total; ++i) {
          const bool inside = i % b.stride < b.cols;
          if (!inside) {
            ASSERT_EQ(got[i], 7.f) << "wrote outside the block at " << i;
            continue;
          }
          ASSERT_FALSE(std::isnan(got[i])) << i;
          if (std::abs(want[i]) > 1e30f) ASSERT_TRUE(std::abs(got[i]) > 1e30f && (got[i] < 0) == (want[i] < 0)) << i;
          else ASSERT_NEAR(got[i], want[i], 2e-6f * (std::abs(want[i]) + 1.f)) << i;
        }
      }
    }
  }
}

TEST(KernelsReduce, ArgMaxTies) {
  const ReduceKernels& k = reduce_kernels();
  const float x[] = {1, 3, 3, 0, 0, -1};
  int64_t y[2];
  k.argmax_f32(x, y, 2, 3, 1, false, false);
  EXPECT_EQ(y[0], 1);
  EXPECT_EQ(y[1], 0);
  k.argmax_f32(x, y, 2, 3, 1, false, true);
  EXPECT_EQ(y[0], 2);
  EXPECT_EQ(y[1], 1);
  k.argmax_f32(x, y, 2, 3, 1, true, false);
  EXPECT_EQ(y[0], 0);
  EXPECT_EQ(y[1], 2);
}

}  // namespace
}  // namespace pocket::kernels
