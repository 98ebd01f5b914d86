// Vulkan elementwise ops (vk_ops_elementwise.cpp) against the CPU: unary activations and math,
// binary/variadic arithmetic with broadcasting up to rank 6 (float and int), comparisons,
// logic, Where, Cast and the views; fp32 and fp16 storage. Skips without Vulkan.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/vulkan_test_util.h"

namespace pocket::testing {
namespace {

using format::AttrDesc;
using fb::OpType;

TestTensor f32r(std::vector<int64_t> shape, uint32_t seed, float lo = -3.f, float hi = 3.f) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return TestTensor::f32(std::move(shape), random_floats(static_cast<size_t>(n), seed, lo, hi));
}

// Small integer-valued floats: comparisons see equal elements too.
TestTensor f32_ints(std::vector<int64_t> shape, uint32_t seed) {
  TestTensor t = f32r(std::move(shape), seed, -3.f, 3.f);
  std::vector<float> v = t.floats();
  for (float& x : v) x = static_cast<float>(static_cast<int>(x));
  return TestTensor::f32(t.shape, v);
}

TestTensor typed_ints(DType dtype, std::vector<int64_t> shape, uint32_t seed, int lo = -20, int hi = 20) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> r = random_floats(static_cast<size_t>(n), seed, static_cast<float>(lo), static_cast<float>(hi));
  TestTensor t{dtype, std::move(shape), {}};
  for (float f : r) {
    const int64_t v = static_cast<int64_t>(f);
    if (dtype == DType::I64) {
      t.bytes.insert(t.bytes.end(), reinterpret_cast<const uint8_t*>(&v), reinterpret_cast<const uint8_t*>(&v) + 8);
    } else if (dtype == DType::I32) {
      const int32_t w = static_cast<int32_t>(v);
      t.bytes.insert(t.bytes.end(), reinterpret_cast<const uint8_t*>(&w), reinterpret_cast<const uint8_t*>(&w) + 4);
    } else {
      t.bytes.push_back(static_cast<uint8_t>(v > 0 ? 1 : 0));
    }
  }
  return t;
}

TestTensor bools(std::vector<int64_t> shape, uint32_t seed) { return typed_ints(DType::BOOL, std::move(shape), seed, -10, 10); }

void both(const OpSpec& s, float tol32 = 1e-5f, float tol16 = 1e-2f) {
  {
    SCOPED_TRACE("fp32");
    expect_vulkan_matches_cpu(s, tol32, false);
  }
  {
    SCOPED_TRACE("fp16");
    expect_vulkan_matches_cpu(s, tol16, true);
  }
}

struct UnaryCase {
  OpType op;
  float lo, hi;
  std::vector<AttrDesc> attrs;
};

TEST(VulkanElementwise, UnaryEveryOp) {
  POCKET_REQUIRE_VULKAN();
  const std::vector<UnaryCase> cases = {
      {OpType::Relu, -3, 3, {}},
      {OpType::LeakyRelu, -3, 3, {AttrDesc::Float("alpha", 0.2f)}},
      {OpType::LeakyRelu, -3, 3, {}},
      {OpType::Elu, -4, 3, {AttrDesc::Float("alpha", 0.7f)}},
      {OpType::Selu, -4, 3, {}},
      {OpType::Sigmoid, -8, 8, {}},
      {OpType::HardSigmoid, -5, 5, {AttrDesc::Float("alpha", 0.3f), AttrDesc::Float("beta", 0.4f)}},
      {OpType::HardSwish, -5, 5, {}},
      {OpType::Tanh, -6, 6, {}},
      {OpType::Softplus, -10, 10, {}},
      {OpType::Softsign, -5, 5, {}},
      {OpType::Clip, -5, 5, {AttrDesc::Float("min", -1.5f), AttrDesc::Float("max", 2.f)}},
      {OpType::Clip, -5, 5, {AttrDesc::Float("max", 0.5f)}},
      {OpType::Exp, -5, 5, {}},
      {OpType::Log, 0.01f, 10, {}},
      {OpType::Sqrt, 0, 10, {}},
      {OpType::Neg, -3, 3, {}},
      {OpType::Abs, -3, 3, {}},
      {OpType::Erf, -3, 3, {}},
      {OpType::Reciprocal, 0.5f, 4, {}},
      {OpType::Floor, -5, 5, {}},
      {OpType::Ceil, -5, 5, {}},
      {OpType::SiLU, -6, 6, {}},
      {OpType::Gelu, -5, 5, {}},
      {OpType::Gelu, -5, 5, {AttrDesc::String("approximate", "tanh")}},
  };
  uint32_t seed = 1;
  for (const UnaryCase& c : cases) {
    SCOPED_TRACE(fb::EnumNameOpType(c.op));
    for (const std::vector<int64_t>& shape : {std::vector<int64_t>{7}, std::vector<int64_t>{2, 3, 45}}) {
      OpSpec s{c.op, {f32r(shape, seed++, c.lo, c.hi)}, {}, c.attrs};
      // Floor/Ceil of fp16-rounded inputs can land on the other integer: fp32 only.
      if (c.op == OpType::Floor || c.op == OpType::Ceil) {
        expect_vulkan_matches_cpu(s, 1e-6f, false);
      } else {
        both(s, 2e-5f, 1.5e-2f);
      }
    }
  }
}

TEST(VulkanElementwise, UnaryLargeAndEmpty) {
  POCKET_REQUIRE_VULKAN();
  both({OpType::Relu, {f32r({3, 257, 131}, 5)}});
  std::vector<TestTensor> cpu;
  OpSpec empty{OpType::Sigmoid, {TestTensor::f32({0, 4}, {})}};
  if (run_op(empty, &cpu).ok()) both(empty);
}

// Broadcast patterns: {A shape, B shape}.
const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> kBroadcasts = {
    {{5}, {5}},
    {{1}, {7}},
    {{2, 3}, {3}},
    {{7, 13}, {7, 13}},
    {{4, 1}, {1, 5}},
    {{2, 1, 4}, {3, 1}},
    {{2, 3, 1, 5}, {1, 3, 4, 1}},
    {{2, 1, 3, 1, 2, 3}, {1, 2, 1, 4, 1, 3}},
    {{3, 4}, {}},
};

TEST(VulkanElementwise, BinaryFloatBroadcasting) {
  POCKET_REQUIRE_VULKAN();
  uint32_t seed = 100;
  for (OpType op : {OpType::Add, OpType::Sub, OpType::Mul, OpType::Div, OpType::Max, OpType::Min}) {
    SCOPED_TRACE(fb::EnumNameOpType(op));
    for (const auto& [sa, sb] : kBroadcasts) {
      SCOPED_TRACE(shape_str(sa) + " with " + shape_str(sb));
      TestTensor a = f32r(sa, seed++), b = f32r(sb, seed++, 0.5f, 3.f);
      both({op, {a, b}}, 1e-5f, 2e-2f);
      both({op, {b, a}}, 1e-5f, 2e-2f);
    }
  }
}

TEST(VulkanElementwise, PowAndPRelu) {
  POCKET_REQUIRE_VULKAN();
  // Positive bases with any exponent, negative bases with integral exponents.
  both({OpType::Pow, {f32r({4, 6}, 7, 0.1f, 3.f), f32r({6}, 8, -2.f, 2.f)}}, 1e-4f, 3e-2f);
  both({OpType::Pow, {f32r({4, 6}, 9, -3.f, 3.f), TestTensor::f32({1}, {2.f})}}, 1e-5f, 2e-2f);
  both({OpType::Pow, {f32r({5}, 10, -3.f, 3.f), TestTensor::f32({1}, {3.f})}}, 1e-5f, 2e-2f);
  both({OpType::PRelu, {f32r({2, 3, 4, 5}, 11), f32r({5}, 12, 0.f, 0.5f)}});
  both({OpType::PRelu, {f32r({2, 3, 4}, 13), f32r({3, 1}, 14, 0.f, 0.5f)}});
}

TEST(VulkanElementwise, ConstantOperandBecomesWeight) {
  POCKET_REQUIRE_VULKAN();
  OpSpec s{OpType::Add, {f32r({4, 8}, 20), f32r({8}, 21)}, {false, true}};
  both(s);
  OpSpec m{OpType::Mul, {f32r({3}, 22), f32r({2, 3}, 23)}, {true, false}};
  both(m);
}

TEST(VulkanElementwise, BinaryIntegers) {
  POCKET_REQUIRE_VULKAN();
  uint32_t seed = 200;
  for (DType dt : {DType::I64, DType::I32}) {
    for (OpType op : {OpType::Add, OpType::Sub, OpType::Mul, OpType::Div}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " " + fb::EnumNameOpType(op));
      for (size_t i = 0; i < 7; ++i) {
        const auto& [sa, sb] = kBroadcasts[i];
        // Division by zero gives 0 on both sides.
        expect_vulkan_matches_cpu({op, {typed_ints(dt, sa, seed++), typed_ints(dt, sb, seed++, -5, 6)}});
      }
    }
  }
}

TEST(VulkanElementwise, Variadic) {
  POCKET_REQUIRE_VULKAN();
  for (OpType op : {OpType::Sum, OpType::Max, OpType::Min}) {
    SCOPED_TRACE(fb::EnumNameOpType(op));
    both({op, {f32r({2, 3, 4}, 30), f32r({4}, 31), f32r({3, 1}, 32)}});
    both({op, {f32r({5}, 33), f32r({5}, 34)}});
    both({op, {f32r({2, 5}, 35)}});  // one input: a view
    both({op, {f32r({1}, 36), f32r({2, 3}, 37), f32r({2, 1}, 38), f32r({3}, 39)}});
  }
}

TEST(VulkanElementwise, Comparisons) {
  POCKET_REQUIRE_VULKAN();
  uint32_t seed = 300;
  for (OpType op : {OpType::Equal, OpType::Less, OpType::Greater, OpType::LessOrEqual, OpType::GreaterOrEqual}) {
    SCOPED_TRACE(fb::EnumNameOpType(op));
    for (size_t i = 0; i < kBroadcasts.size(); ++i) {
      const auto& [sa, sb] = kBroadcasts[i];
      both({op, {f32_ints(sa, seed), f32_ints(sb, seed + 1)}});
      expect_vulkan_matches_cpu({op, {typed_ints(DType::I64, sa, seed, -3, 3), typed_ints(DType::I64, sb, seed + 1, -3, 3)}});
      expect_vulkan_matches_cpu({op, {typed_ints(DType::I32, sa, seed, -3, 3), typed_ints(DType::I32, sb, seed + 1, -3, 3)}});
      seed += 2;
    }
  }
  std::vector<TestTensor> cpu;
  OpSpec eqb{OpType::Equal, {bools({3, 4}, 1), bools({4}, 2)}};
  if (run_op(eqb, &cpu).ok()) expect_vulkan_matches_cpu(eqb);
}

TEST(VulkanElementwise, Logic) {
  POCKET_REQUIRE_VULKAN();
  for (OpType op : {OpType::And, OpType::Or, OpType::Xor}) {
    SCOPED_TRACE(fb::EnumNameOpType(op));
    expect_vulkan_matches_cpu({op, {bools({2, 3, 4}, 40), bools({3, 1}, 41)}});
    expect_vulkan_matches_cpu({op, {bools({17}, 42), bools({17}, 43)}});
  }
  expect_vulkan_matches_cpu({OpType::Not, {bools({5, 7}, 44)}});
}

TEST(VulkanElementwise, Where) {
  POCKET_REQUIRE_VULKAN();
  both({OpType::Where, {bools({2, 3, 4}, 50), f32r({4}, 51), f32r({3, 1}, 52)}});
  both({OpType::Where, {bools({1}, 53), f32r({2, 5}, 54), f32r({2, 5}, 55)}});
  both({OpType::Where, {bools({2, 1, 3, 1, 2, 1}, 56), f32r({1, 2, 1, 4, 1, 3}, 57), f32r({3}, 58)}});
  expect_vulkan_matches_cpu({OpType::Where, {bools({3, 4}, 59), typed_ints(DType::I64, {4}, 60), typed_ints(DType::I64, {3, 1}, 61)}});
  // A constant branch (e.g. a -inf mask value) becomes a weight.
  OpSpec c{OpType::Where, {bools({2, 6}, 62), TestTensor::f32({1}, {-1e4f}), f32r({2, 6}, 63)}, {false, true, false}};
  both(c);
}

TEST(VulkanElementwise, Cast) {
  POCKET_REQUIRE_VULKAN();
  auto cast = [](TestTensor x, DType to) {
    return OpSpec{OpType::Cast, {std::move(x)}, {}, {AttrDesc::Int("to", static_cast<int64_t>(to))}};
  };
  std::vector<TestTensor> cpu;
  TestTensor f = f32r({3, 5}, 70, -40.f, 40.f);
  std::vector<float> fv = f.floats();
  fv[0] = 0.f;
  fv[1] = -0.7f;
  fv[2] = 2.9f;
  f = TestTensor::f32(f.shape, fv);
  for (DType to : {DType::I64, DType::I32, DType::BOOL, DType::F32}) {
    SCOPED_TRACE(std::string("F32 -> ") + dtype_name(to));
    expect_vulkan_matches_cpu(cast(f, to), 0.f);
  }
  for (DType from : {DType::I64, DType::I32, DType::BOOL}) {
    for (DType to : {DType::F32, DType::I64, DType::I32, DType::BOOL}) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + dtype_name(to));
      OpSpec s = cast(typed_ints(from, {4, 6}, 71, -5, 5), to);
      if (!run_op(s, &cpu).ok()) continue;
      expect_vulkan_matches_cpu(s, 0.f);
      if (to == DType::F32) expect_vulkan_matches_cpu(s, 0.f, true);
    }
  }
}

TEST(VulkanElementwise, Views) {
  POCKET_REQUIRE_VULKAN();
  std::string kernel;
  std::vector<TestTensor> out;
  TestTensor x = f32r({2, 3, 4}, 80);
  both({OpType::Reshape, {x}, {}, {AttrDesc::Ints("shape", {4, -1})}});
  both({OpType::Flatten, {x}, {}, {AttrDesc::Int("axis", 2)}});
  both({OpType::Unsqueeze, {x}, {}, {AttrDesc::Ints("axes", {0, 3})}});
  both({OpType::Squeeze, {f32r({1, 3, 1, 2}, 81)}, {}, {AttrDesc::Ints("axes", {0})}});
  both({OpType::Identity, {x}});
  expect_vulkan_matches_cpu({OpType::Identity, {typed_ints(DType::I64, {5}, 82)}});
  ASSERT_TRUE(run_op_vulkan({OpType::Identity, {x}}, &out, false, &kernel).ok());
  EXPECT_EQ(kernel, "vulkan.view");
}

TEST(VulkanElementwise, UnsupportedReasons) {
  POCKET_REQUIRE_VULKAN();
  std::vector<TestTensor> out;
  // F64 arithmetic stays on the CPU, with the reason.
  TestTensor d{DType::F64, {2}, std::vector<uint8_t>(16, 0)};
  Status s = run_op_vulkan({OpType::Add, {d, d}}, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("float64"), std::string::npos) << s.message();
  // Rank 7.
  s = run_op_vulkan({OpType::Add, {f32r({1, 1, 1, 1, 1, 2, 2}, 90), f32r({2}, 91)}}, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("rank 7"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace pocket::testing
