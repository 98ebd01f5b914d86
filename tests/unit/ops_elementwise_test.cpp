// Elementwise op group through the real path (builder -> Model -> Session -> run), against
// straightforward double-precision references written here, with 1 and 2 threads.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "tests/unit/op_test_util.h"

namespace pocket::testing {
namespace {

using Shape64 = std::vector<int64_t>;
using format::AttrDesc;

int64_t count(const Shape64& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

TestTensor i32_tensor(Shape64 shape, const std::vector<int32_t>& v) {
  TestTensor t{fb::DType::I32, std::move(shape), {}};
  t.bytes.resize(v.size() * 4);
  if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

std::vector<int32_t> int32s(const TestTensor& t) {
  std::vector<int32_t> v(t.bytes.size() / 4);
  if (!v.empty()) std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  return v;
}

// Offset into a tensor of shape `s` (right-aligned to out) for the output multi-index `idx`.
int64_t broadcast_offset(const Shape64& idx, const Shape64& s) {
  int64_t off = 0;
  const size_t lead = idx.size() - s.size();
  for (size_t i = 0; i < s.size(); ++i) off = off * s[i] + (s[i] == 1 ? 0 : idx[lead + i]);
  return off;
}

Shape64 unravel(int64_t i, const Shape64& s) {
  Shape64 idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = s[d] ? i % s[d] : 0;
    if (s[d]) i /= s[d];
  }
  return idx;
}

Shape64 bshape(const Shape64& a, const Shape64& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape64 o(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    o[i] = da == 1 ? db : da;
  }
  return o;
}

// Runs with 1 thread and, when an input is big enough to be split (> 4096 elements), with 2
// threads too; both must succeed and agree bit for bit. Returns the 1-thread result.
std::vector<TestTensor> run_ok(const OpSpec& spec) {
  std::vector<TestTensor> out1, out2;
  Status s1 = run_op(spec, &out1, 1);
  EXPECT_TRUE(s1.ok()) << s1.message();
  int64_t biggest = 0;
  for (const TestTensor& t : spec.inputs) biggest = std::max(biggest, count(t.shape));
  if (biggest <= 4096) return out1;
  Status s2 = run_op(spec, &out2, 2);
  EXPECT_TRUE(s2.ok()) << s2.message();
  if (s1.ok() && s2.ok()) {
    EXPECT_EQ(out1.size(), out2.size());
    for (size_t i = 0; i < std::min(out1.size(), out2.size()); ++i) {
      EXPECT_EQ(out1[i].shape, out2[i].shape);
      EXPECT_TRUE(out1[i].bytes == out2[i].bytes) << "1 and 2 threads differ";
    }
  }
  return out1;
}

Status run_err(const OpSpec& spec) {
  std::vector<TestTensor> out;
  return run_op(spec, &out, 1);
}

// ---------------------------------------------------------------------------------------------
// Binary ops

struct BinCase {
  Shape64 a, b;
};

const std::vector<BinCase>& broadcast_cases() {
  static const std::vector<BinCase> cases = {
      {{}, {}},                             // rank 0
      {{1}, {1}},                           // one element
      {{37}, {37}},                         // same shape, odd length
      {{3, 1000}, {3, 1000}},               // same shape, above the parallel chunk
      {{2, 3, 5}, {}},                      // tensor op scalar
      {{}, {4, 9}},                         // scalar op tensor
      {{2, 3, 5}, {1}},                     // [1] operand
      {{4, 7, 19}, {19}},                   // per-row vector [.., C]
      {{19}, {4, 7, 19}},                   // vector on the left
      {{2, 6, 5, 7}, {6, 1, 1}},            // per-channel [C, 1, 1]
      {{6, 1, 1}, {2, 6, 5, 7}},            // per-channel on the left
      {{8, 1, 13}, {1, 5, 1}},              // bidirectional
      {{3, 1, 4, 1, 5, 2}, {1, 7, 4, 1, 1, 2}},  // rank 6
      {{2, 1, 3, 1, 5, 1}, {1, 4, 1, 6, 1, 3}},  // rank 6, alternating
      {{0, 3}, {3}},                        // zero-size
      {{5, 0}, {1, 1}},                     // zero-size with broadcast
      {{70, 300}, {70, 1}},                 // column vector, parallel
  };
  return cases;
}

double ref_binary(fb::OpType op, double a, double b) {
  switch (op) {
    case fb::OpType::Add: return a + b;
    case fb::OpType::Sub: return a - b;
    case fb::OpType::Mul: return a * b;
    case fb::OpType::Div: return a / b;
    case fb::OpType::Pow: return std::pow(a, b);
    case fb::OpType::PRelu: return a < 0 ? a * b : a;
    case fb::OpType::Max: return std::max(a, b);
    case fb::OpType::Min: return std::min(a, b);
    default: return 0;
  }
}

TEST(OpsElementwise, BinaryF32EveryBroadcastPattern) {
  const fb::OpType ops[] = {fb::OpType::Add, fb::OpType::Sub, fb::OpType::Mul, fb::OpType::Div, fb::OpType::Pow};
  uint32_t seed = 1;
  for (fb::OpType op : ops) {
    for (const BinCase& c : broadcast_cases()) {
      SCOPED_TRACE(std::string(fb::EnumNameOpType(op)) + " " + shape_str(c.a) + " " + shape_str(c.b));
      std::vector<float> a = random_floats(count(c.a), seed++, -2.f, 2.f);
      std::vector<float> b = random_floats(count(c.b), seed++, 0.5f, 2.f);
      if (op == fb::OpType::Pow) {
        for (float& v : a) v = std::abs(v) + 0.1f;
        for (float& v : b) v = v * 2.f - 3.f;
      } else {
        for (size_t i = 0; i < b.size(); i += 2) b[i] = -b[i];  // keep |b| >= 0.5 for Div
      }
      OpSpec spec{op, {TestTensor::f32(c.a, a), TestTensor::f32(c.b, b)}};
      auto out = run_ok(spec);
      if (out.empty()) continue;
      const Shape64 o = bshape(c.a, c.b);
      ASSERT_EQ(out[0].shape, o);
      std::vector<float> want(count(o));
      for (int64_t i = 0; i < count(o); ++i) {
        Shape64 idx = unravel(i, o);
        want[i] = static_cast<float>(ref_binary(op, a[broadcast_offset(idx, c.a)], b[broadcast_offset(idx, c.b)]));
      }
      expect_close(out[0].floats(), want, 2e-6f);
    }
  }
}

TEST(OpsElementwise, BinaryRandomBroadcastShapes) {
  std::mt19937 rng(2024);
  for (int k = 0; k < 40; ++k) {
    const size_t r = rng() % 7;  // rank 0..6
    Shape64 out(r);
    for (int64_t& d : out) d = 1 + rng() % 5;
    auto operand = [&]() {
      const size_t drop = r ? rng() % (r + 1) : 0;  // a shorter rank is right-aligned
      Shape64 s(out.begin() + drop, out.end());
      for (int64_t& d : s)
        if (rng() % 3 == 0) d = 1;
      return s;
    };
    const Shape64 a = operand(), b = operand();
    const fb::OpType op = k % 2 ? fb::OpType::Sub : fb::OpType::Div;
    SCOPED_TRACE(std::string(fb::EnumNameOpType(op)) + " " + shape_str(a) + " " + shape_str(b));
    std::vector<float> av = random_floats(count(a), 10 + k, -2.f, 2.f), bv = random_floats(count(b), 90 + k, 0.5f, 2.f);
    auto got = run_ok(OpSpec{op, {TestTensor::f32(a, av), TestTensor::f32(b, bv)}});
    ASSERT_FALSE(got.empty());
    const Shape64 o = bshape(a, b);
    ASSERT_EQ(got[0].shape, o);
    std::vector<float> want(count(o));
    for (int64_t i = 0; i < count(o); ++i) {
      Shape64 idx = unravel(i, o);
      want[i] = static_cast<float>(ref_binary(op, av[broadcast_offset(idx, a)], bv[broadcast_offset(idx, b)]));
    }
    expect_close(got[0].floats(), want, 1e-6f);
  }
}

TestTensor f64_tensor(Shape64 shape, const std::vector<double>& v) {
  TestTensor t{fb::DType::F64, std::move(shape), {}};
  t.bytes.resize(v.size() * 8);
  if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

std::vector<double> doubles(const TestTensor& t) {
  std::vector<double> v(t.bytes.size() / 8);
  if (!v.empty()) std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  return v;
}

// float64 Add/Sub/Mul/Div: one IEEE operation per element, so results match a double reference
// bit for bit, including values float32 cannot hold (denormal 1e-309, 2.4e198).
TEST(OpsElementwise, BinaryFloat64) {
  const fb::OpType ops[] = {fb::OpType::Add, fb::OpType::Sub, fb::OpType::Mul, fb::OpType::Div};
  const double specials[] = {1e-309, 2.4e198, -3.5e-310, 1.0 / 3.0, -7e300, 0.1};
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> d(-1e3, 1e3);
  for (fb::OpType op : ops) {
    for (const BinCase& c : broadcast_cases()) {
      SCOPED_TRACE(std::string(fb::EnumNameOpType(op)) + " " + shape_str(c.a) + " " + shape_str(c.b));
      std::vector<double> a(count(c.a)), b(count(c.b));
      for (size_t i = 0; i < a.size(); ++i) a[i] = i < 6 ? specials[i] : d(rng);
      for (size_t i = 0; i < b.size(); ++i) b[i] = i < 6 ? specials[5 - i] : d(rng);
      const Shape64 o = bshape(c.a, c.b);
      auto out = run_ok(OpSpec{op, {f64_tensor(c.a, a), f64_tensor(c.b, b)}});
      ASSERT_FALSE(out.empty());
      ASSERT_EQ(out[0].dtype, fb::DType::F64);
      ASSERT_EQ(out[0].shape, o);
      const std::vector<double> got = doubles(out[0]);
      ASSERT_EQ(static_cast<int64_t>(got.size()), count(o));
      for (int64_t i = 0; i < count(o); ++i) {
        Shape64 idx = unravel(i, o);
        const double x = a[broadcast_offset(idx, c.a)], y = b[broadcast_offset(idx, c.b)];
        const double want = op == fb::OpType::Add ? x + y : op == fb::OpType::Sub ? x - y
                            : op == fb::OpType::Mul ? x * y : x / y;
        ASSERT_EQ(std::memcmp(&got[i], &want, 8), 0) << i << ": " << got[i] << " vs " << want;
      }
    }
  }
  // The exact values of the ONNX pytorch-operator add cases.
  auto out = run_ok(OpSpec{fb::OpType::Add, {f64_tensor({2}, {1e-309, 2.4e198}), f64_tensor({1}, {1e-309})}});
  ASSERT_FALSE(out.empty());
  const volatile double tiny = 1e-309;  // computed at run time: denormals must not be flushed
  EXPECT_EQ(doubles(out[0]), (std::vector<double>{tiny + tiny, 2.4e198 + tiny}));
  EXPECT_GT(doubles(out[0])[0], 0.0);
  // Mixed f64/f32 operands are a model error, not a silent reinterpretation.
  Status st = run_err(OpSpec{fb::OpType::Add, {f64_tensor({2}, {1, 2}), TestTensor::f32({2}, {1, 2})}});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("differ in dtype"), std::string::npos) << st.message();
}

// Ops without float64 kernels refuse f64 inputs at prepare, naming the dtype.
TEST(OpsElementwise, Float64RejectedByOtherOps) {
  const TestTensor x = f64_tensor({1, 2, 2, 2}, {1, -2, 3, -4, 5, -6, 7, -8});
  const std::vector<OpSpec> specs = {
      OpSpec{fb::OpType::Relu, {x}},
      OpSpec{fb::OpType::Sigmoid, {x}},
      OpSpec{fb::OpType::Softmax, {x}, {}, {AttrDesc::Int("axis", -1)}},
      OpSpec{fb::OpType::Pow, {x, x}},
      OpSpec{fb::OpType::PRelu, {x, x}},
      OpSpec{fb::OpType::Max, {x, x}},
      OpSpec{fb::OpType::Sum, {x, x}},
      OpSpec{fb::OpType::ReduceSum, {x}, {}, {AttrDesc::Ints("axes", {1})}},
      OpSpec{fb::OpType::Conv, {x, f64_tensor({1, 2, 1, 1}, {1, 1})}, {false, true}, {}},
  };
  for (const OpSpec& spec : specs) {
    SCOPED_TRACE(fb::EnumNameOpType(spec.op));
    Status st = run_err(spec);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("float64"), std::string::npos) << st.message();
  }
}

// Cast between float64 and the other dtypes keeps double precision where the target has it.
TEST(OpsElementwise, CastFloat64) {
  auto cast = [](const TestTensor& x, fb::DType to) {
    return run_ok(OpSpec{fb::OpType::Cast, {x}, {}, {AttrDesc::Int("to", static_cast<int64_t>(to))}});
  };
  const TestTensor x = f64_tensor({5}, {1e-309, 2.4e198, -2.75, 0.1, 1e20});
  auto out = cast(x, fb::DType::F32);
  ASSERT_FALSE(out.empty());
  ASSERT_EQ(out[0].dtype, fb::DType::F32);
  const std::vector<float> f = out[0].floats();
  EXPECT_EQ(f[0], 0.f);
  EXPECT_TRUE(std::isinf(f[1]) && f[1] > 0);
  EXPECT_EQ(f[2], -2.75f);
  EXPECT_EQ(f[3], 0.1f);
  out = cast(x, fb::DType::I64);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].int64s(), (std::vector<int64_t>{0, std::numeric_limits<int64_t>::max(), -2, 0,
                                                   std::numeric_limits<int64_t>::max()}));
  out = cast(x, fb::DType::F64);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(doubles(out[0]), doubles(x));
  out = cast(TestTensor::i64({3}, {(int64_t{1} << 53) + 1, -5, 0}), fb::DType::F64);
  ASSERT_FALSE(out.empty());
  ASSERT_EQ(out[0].dtype, fb::DType::F64);
  EXPECT_EQ(doubles(out[0]), (std::vector<double>{9007199254740992.0, -5.0, 0.0}));
  out = cast(TestTensor::f32({2}, {0.1f, -3.f}), fb::DType::F64);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(doubles(out[0]), (std::vector<double>{static_cast<double>(0.1f), -3.0}));
}

TEST(OpsElementwise, BinaryIntegers) {
  const fb::OpType ops[] = {fb::OpType::Add, fb::OpType::Sub, fb::OpType::Mul, fb::OpType::Div};
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> d(-1000, 1000);
  for (fb::OpType op : ops) {
    for (const BinCase& c : broadcast_cases()) {
      SCOPED_TRACE(std::string(fb::EnumNameOpType(op)) + " " + shape_str(c.a) + " " + shape_str(c.b));
      std::vector<int64_t> a(count(c.a)), b(count(c.b));
      for (auto& v : a) v = d(rng);
      for (auto& v : b) v = d(rng);
      if (!b.empty()) b[0] = 0;  // division by zero gives 0, never a trap
      const Shape64 o = bshape(c.a, c.b);
      auto ref = [op](int64_t x, int64_t y) -> int64_t {
        switch (op) {
          case fb::OpType::Add: return x + y;
          case fb::OpType::Sub: return x - y;
          case fb::OpType::Mul: return x * y;
          default: return y == 0 ? 0 : x / y;
        }
      };
      // i64
      auto out = run_ok(OpSpec{op, {TestTensor::i64(c.a, a), TestTensor::i64(c.b, b)}});
      ASSERT_FALSE(out.empty());
      ASSERT_EQ(out[0].dtype, fb::DType::I64);
      std::vector<int64_t> got = out[0].int64s();
      for (int64_t i = 0; i < count(o); ++i) {
        Shape64 idx = unravel(i, o);
        ASSERT_EQ(got[i], ref(a[broadcast_offset(idx, c.a)], b[broadcast_offset(idx, c.b)])) << i;
      }
      // i32
      std::vector<int32_t> a32(a.begin(), a.end()), b32(b.begin(), b.end());
      out = run_ok(OpSpec{op, {i32_tensor(c.a, a32), i32_tensor(c.b, b32)}});
      ASSERT_FALSE(out.empty());
      ASSERT_EQ(out[0].dtype, fb::DType::I32);
      std::vector<int32_t> got32 = int32s(out[0]);
      for (int64_t i = 0; i < count(o); ++i) {
        Shape64 idx = unravel(i, o);
        ASSERT_EQ(got32[i], ref(a[broadcast_offset(idx, c.a)], b[broadcast_offset(idx, c.b)])) << i;
      }
    }
  }
  // INT64_MIN / -1 must not trap.
  auto out = run_ok(OpSpec{fb::OpType::Div, {TestTensor::i64({2}, {std::numeric_limits<int64_t>::min(), 9}),
                                              TestTensor::i64({2}, {-1, -1})}});
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].int64s()[1], -9);
}

TEST(OpsElementwise, PRelu) {
  const std::vector<BinCase> cases = {{{2, 5, 3, 3}, {5, 1, 1}}, {{4, 6, 11}, {11}}, {{7, 9}, {}}, {{33}, {33}}};
  uint32_t seed = 50;
  for (const BinCase& c : cases) {
    SCOPED_TRACE(shape_str(c.a) + " " + shape_str(c.b));
    std::vector<float> x = random_floats(count(c.a), seed++), s = random_floats(count(c.b), seed++, 0.f, 0.5f);
    auto out = run_ok(OpSpec{fb::OpType::PRelu, {TestTensor::f32(c.a, x), TestTensor::f32(c.b, s)}, {false, true}});
    ASSERT_FALSE(out.empty());
    ASSERT_EQ(out[0].shape, c.a);
    std::vector<float> want(x.size());
    for (int64_t i = 0; i < count(c.a); ++i) {
      Shape64 idx = unravel(i, c.a);
      want[i] = static_cast<float>(ref_binary(fb::OpType::PRelu, x[i], s[broadcast_offset(idx, c.b)]));
    }
    expect_close(out[0].floats(), want, 1e-6f);
  }
  // The slope must broadcast to X, not the other way round.
  Status st = run_err(OpSpec{fb::OpType::PRelu, {TestTensor::f32({3}, {1, 2, 3}), TestTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("PRelu"), std::string::npos) << st.message();
}

TEST(OpsElementwise, VariadicSumMaxMin) {
  const std::vector<std::vector<Shape64>> cases = {
      {{5, 3}},
      {{4, 1, 6}, {3, 1}},
      {{2, 3, 4}, {4}, {3, 1}},
      {{}, {7, 2}, {2}, {1, 1}},
      {{0, 4}, {4}},
      {{50, 200}, {200}, {50, 1}},
  };
  const fb::OpType ops[] = {fb::OpType::Sum, fb::OpType::Max, fb::OpType::Min};
  uint32_t seed = 100;
  for (fb::OpType op : ops) {
    for (const auto& shapes : cases) {
      OpSpec spec{op, {}};
      std::vector<std::vector<float>> data;
      Shape64 o;
      for (const Shape64& s : shapes) {
        data.push_back(random_floats(count(s), seed++));
        spec.inputs.push_back(TestTensor::f32(s, data.back()));
        o = bshape(o, s);
      }
      SCOPED_TRACE(std::string(fb::EnumNameOpType(op)) + " into " + shape_str(o));
      auto out = run_ok(spec);
      ASSERT_FALSE(out.empty());
      ASSERT_EQ(out[0].shape, o);
      std::vector<float> want(count(o));
      for (int64_t i = 0; i < count(o); ++i) {
        Shape64 idx = unravel(i, o);
        double acc = data[0][broadcast_offset(idx, shapes[0])];
        for (size_t k = 1; k < shapes.size(); ++k) {
          double v = data[k][broadcast_offset(idx, shapes[k])];
          acc = op == fb::OpType::Sum ? acc + v : ref_binary(op, acc, v);
        }
        want[i] = static_cast<float>(acc);
      }
      expect_close(out[0].floats(), want, 2e-6f);
    }
  }
  // Integers.
  auto out = run_ok(OpSpec{fb::OpType::Max, {TestTensor::i64({3}, {1, -5, 7}), TestTensor::i64({}, {2})}});
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].int64s(), (std::vector<int64_t>{2, 2, 7}));
}

TEST(OpsElementwise, BinaryErrors) {
  // Mismatched broadcast: the message names the op, both tensors and their shapes.
  Status st = run_err(OpSpec{fb::OpType::Add, {TestTensor::f32({2, 3}, std::vector<float>(6)), TestTensor::f32({4}, std::vector<float>(4))}});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("Add"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("[2, 3]"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("in1"), std::string::npos) << st.message();
  // Mixed dtypes.
  st = run_err(OpSpec{fb::OpType::Mul, {TestTensor::f32({2}, {1, 2}), TestTensor::i64({2}, {1, 2})}});
  EXPECT_FALSE(st.ok());
  // Pow on integers is not supported.
  st = run_err(OpSpec{fb::OpType::Pow, {TestTensor::i64({2}, {1, 2}), TestTensor::i64({2}, {1, 2})}});
  EXPECT_FALSE(st.ok());
  // Wrong arity.
  st = run_err(OpSpec{fb::OpType::Sub, {TestTensor::f32({2}, {1, 2})}});
  EXPECT_FALSE(st.ok());
  // Variadic broadcast mismatch.
  st = run_err(OpSpec{fb::OpType::Sum, {TestTensor::f32({2}, {1, 2}), TestTensor::f32({3}, {1, 2, 3})}});
  EXPECT_FALSE(st.ok());
}

// ---------------------------------------------------------------------------------------------
// Unary ops

struct UnaryCase {
  fb::OpType op;
  float lo, hi;
  std::vector<AttrDesc> attrs;
  std::function<double(double)> ref;
};

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

TEST(OpsElementwise, UnaryEveryOp) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<UnaryCase> cases = {
      {fb::OpType::Relu, -3, 3, {}, [](double v) { return std::max(v, 0.0); }},
      {fb::OpType::LeakyRelu, -3, 3, {}, [](double v) { return v >= 0 ? v : 0.01 * v; }},
      {fb::OpType::LeakyRelu, -3, 3, {AttrDesc::Float("alpha", 0.2f)}, [](double v) { return v >= 0 ? v : 0.2 * v; }},
      {fb::OpType::Elu, -4, 3, {AttrDesc::Float("alpha", 0.7f)}, [](double v) { return v >= 0 ? v : 0.7 * std::expm1(v); }},
      {fb::OpType::Selu, -4, 3, {}, [](double v) {
         return v > 0 ? 1.05070102214813232421875 * v : 1.05070102214813232421875 * 1.67326319217681884765625 * std::expm1(v);
       }},
      {fb::OpType::Sigmoid, -20, 20, {}, sigmoid},
      {fb::OpType::HardSigmoid, -5, 5, {}, [](double v) { return std::clamp(0.2 * v + 0.5, 0.0, 1.0); }},
      {fb::OpType::HardSigmoid, -5, 5, {AttrDesc::Float("alpha", 0.3f), AttrDesc::Float("beta", 0.4f)},
       [](double v) { return std::clamp(double(0.3f) * v + double(0.4f), 0.0, 1.0); }},
      {fb::OpType::HardSwish, -5, 5, {}, [](double v) { return v * std::clamp(v + 3, 0.0, 6.0) / 6; }},
      {fb::OpType::Tanh, -6, 6, {}, [](double v) { return std::tanh(v); }},
      {fb::OpType::Softplus, -20, 20, {}, [](double v) { return std::log1p(std::exp(v)); }},
      {fb::OpType::Softsign, -5, 5, {}, [](double v) { return v / (1 + std::abs(v)); }},
      {fb::OpType::Clip, -5, 5, {AttrDesc::Float("min", -1.5f), AttrDesc::Float("max", 2.f)},
       [](double v) { return std::clamp(v, -1.5, 2.0); }},
      {fb::OpType::Clip, -5, 5, {AttrDesc::Float("min", 0.f)}, [inf](double v) { return std::clamp(v, 0.0, inf); }},
      {fb::OpType::Exp, -10, 10, {}, [](double v) { return std::exp(v); }},
      {fb::OpType::Log, 0.01f, 100, {}, [](double v) { return std::log(v); }},
      {fb::OpType::Sqrt, 0, 100, {}, [](double v) { return std::sqrt(v); }},
      {fb::OpType::Neg, -5, 5, {}, [](double v) { return -v; }},
      {fb::OpType::Abs, -5, 5, {}, [](double v) { return std::abs(v); }},
      {fb::OpType::Erf, -4, 4, {}, [](double v) { return std::erf(v); }},
      {fb::OpType::Reciprocal, 0.5f, 4, {}, [](double v) { return 1 / v; }},
      {fb::OpType::Floor, -50, 50, {}, [](double v) { return std::floor(v); }},
      {fb::OpType::Ceil, -50, 50, {}, [](double v) { return std::ceil(v); }},
      {fb::OpType::SiLU, -20, 20, {}, [](double v) { return v * sigmoid(v); }},
  };
  const std::vector<Shape64> shapes = {{}, {1}, {0}, {3, 0, 2}, {17}, {2, 3, 5, 7}, {1, 2, 1, 3, 1, 5}, {9001}};
  uint32_t seed = 300;
  for (const UnaryCase& c : cases) {
    for (const Shape64& s : shapes) {
      SCOPED_TRACE(std::string(fb::EnumNameOpType(c.op)) + " " + shape_str(s));
      std::vector<float> x = random_floats(count(s), seed++, c.lo, c.hi);
      OpSpec spec{c.op, {TestTensor::f32(s, x)}};
      spec.attrs = c.attrs;
      auto out = run_ok(spec);
      ASSERT_FALSE(out.empty());
      ASSERT_EQ(out[0].shape, s);
      ASSERT_EQ(out[0].dtype, fb::DType::F32);
      std::vector<float> got = out[0].floats();
      for (size_t i = 0; i < x.size(); ++i) {
        const double want = c.ref(x[i]);
        ASSERT_NEAR(got[i], want, 3e-6 * std::max(1.0, std::abs(want))) << "x = " << x[i];
      }
    }
  }
}

TEST(OpsElementwise, UnaryErrors) {
  Status st = run_err(OpSpec{fb::OpType::Relu, {TestTensor::i64({2}, {1, 2})}});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("Relu"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("int64"), std::string::npos) << st.message();
}

// ---------------------------------------------------------------------------------------------
// Softmax

std::vector<float> ref_softmax(const std::vector<float>& x, const Shape64& s, int64_t axis, bool log) {
  int64_t outer = 1, n = s[axis], inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= s[d];
  for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
  std::vector<float> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t i) { return o * n * inner + i * inner + j; };
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < n; ++i) m = std::max(m, double(x[at(i)]));
      double sum = 0;
      for (int64_t i = 0; i < n; ++i) sum += std::exp(double(x[at(i)]) - m);
      for (int64_t i = 0; i < n; ++i)
        y[at(i)] = static_cast<float>(log ? double(x[at(i)]) - m - std::log(sum) : std::exp(double(x[at(i)]) - m) / sum);
    }
  return y;
}

TEST(OpsElementwise, SoftmaxEveryAxisWithMasks) {
  const std::vector<Shape64> shapes = {{1}, {7}, {3, 19}, {2, 5, 3, 11}, {4, 130}, {2, 70, 9}, {1, 1, 1, 1, 1, 33}, {3, 40, 50}};
  uint32_t seed = 500;
  for (bool log : {false, true}) {
    for (const Shape64& s : shapes) {
      const int64_t r = static_cast<int64_t>(s.size());
      for (int64_t axis = -r; axis < r; ++axis) {
        SCOPED_TRACE(std::string(log ? "LogSoftmax " : "Softmax ") + shape_str(s) + " axis " + std::to_string(axis));
        std::vector<float> x = random_floats(count(s), seed++, -10.f, 10.f);
        // Mask values, but keep the first element along every row finite.
        std::mt19937 rng(seed);
        const int64_t ax = axis < 0 ? axis + r : axis;
        int64_t inner = 1;
        for (int64_t d = ax + 1; d < r; ++d) inner *= s[d];
        for (size_t i = 0; i < x.size(); ++i) {
          const bool first_in_row = (i / inner) % s[ax] == 0;
          if (!first_in_row && rng() % 3 == 0) x[i] = rng() % 2 ? -std::numeric_limits<float>::infinity() : -3.4e38f;
        }
        OpSpec spec{log ? fb::OpType::LogSoftmax : fb::OpType::Softmax, {TestTensor::f32(s, x)}};
        spec.attrs = {AttrDesc::Int("axis", axis)};
        auto out = run_ok(spec);
        ASSERT_FALSE(out.empty());
        std::vector<float> got = out[0].floats(), want = ref_softmax(x, s, ax, log);
        for (size_t i = 0; i < got.size(); ++i) {
          ASSERT_FALSE(std::isnan(got[i])) << i;
          if (std::isinf(want[i]) || std::abs(want[i]) > 1e30f) {
            ASSERT_TRUE(got[i] == want[i] || (got[i] < -1e30f && want[i] < -1e30f)) << i << " " << got[i] << " " << want[i];
          } else {
            ASSERT_NEAR(got[i], want[i], 2e-6 * std::max(1.f, std::abs(want[i]))) << i;
          }
        }
      }
    }
  }
  // Default axis is -1; a rank-0 input and an out-of-range axis are errors.
  auto out = run_ok(OpSpec{fb::OpType::Softmax, {TestTensor::f32({2, 2}, {0, 0, 1, 1})}});
  ASSERT_FALSE(out.empty());
  expect_close(out[0].floats(), {0.5f, 0.5f, 0.5f, 0.5f});
  EXPECT_FALSE(run_err(OpSpec{fb::OpType::Softmax, {TestTensor::f32({}, {1})}}).ok());
  OpSpec bad{fb::OpType::Softmax, {TestTensor::f32({2, 2}, {0, 0, 1, 1})}};
  bad.attrs = {AttrDesc::Int("axis", 2)};
  EXPECT_FALSE(run_err(bad).ok());
}

TEST(OpsElementwise, SoftmaxZeroSize) {
  auto out = run_ok(OpSpec{fb::OpType::Softmax, {TestTensor::f32({0, 5}, {})}});
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].shape, (Shape64{0, 5}));
}

// ---------------------------------------------------------------------------------------------
// InstanceNormalization

TEST(OpsElementwise, InstanceNormalization) {
  const std::vector<Shape64> shapes = {{1, 1, 1}, {2, 3, 17}, {2, 4, 5, 7}, {1, 2, 3, 4, 5}, {3, 64, 40, 41}};
  uint32_t seed = 700;
  for (const Shape64& s : shapes) {
    SCOPED_TRACE(shape_str(s));
    const int64_t c = s[1], sp = count(s) / (s[0] * c);
    std::vector<float> x = random_floats(count(s), seed++, 3.f, 7.f);  // an offset: tests centring
    std::vector<float> scale = random_floats(c, seed++, 0.5f, 2.f), bias = random_floats(c, seed++);
    OpSpec spec{fb::OpType::InstanceNormalization,
                {TestTensor::f32(s, x), TestTensor::f32({c}, scale), TestTensor::f32({c}, bias)},
                {false, true, true}};
    spec.attrs = {AttrDesc::Float("epsilon", 1e-3f)};
    auto out = run_ok(spec);
    ASSERT_FALSE(out.empty());
    std::vector<float> want(x.size());
    for (int64_t r = 0; r < s[0] * c; ++r) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < sp; ++i) mean += x[r * sp + i];
      mean /= sp;
      for (int64_t i = 0; i < sp; ++i) var += (x[r * sp + i] - mean) * (x[r * sp + i] - mean);
      var /= sp;
      for (int64_t i = 0; i < sp; ++i)
        want[r * sp + i] = static_cast<float>(scale[r % c] * (x[r * sp + i] - mean) / std::sqrt(var + double(1e-3f)) + bias[r % c]);
    }
    expect_close(out[0].floats(), want, 2e-5f);
  }
  // Scale of the wrong length; input of rank 2.
  EXPECT_FALSE(run_err(OpSpec{fb::OpType::InstanceNormalization,
                              {TestTensor::f32({1, 2, 3}, std::vector<float>(6)), TestTensor::f32({3}, {1, 1, 1}),
                               TestTensor::f32({2}, {0, 0})}})
                   .ok());
  EXPECT_FALSE(run_err(OpSpec{fb::OpType::InstanceNormalization,
                              {TestTensor::f32({1, 2}, {1, 2}), TestTensor::f32({2}, {1, 1}), TestTensor::f32({2}, {0, 0})}})
                   .ok());
}

// ---------------------------------------------------------------------------------------------
// Reductions

TEST(OpsElementwise, ReduceAnyAxes) {
  const fb::OpType ops[] = {fb::OpType::ReduceMean, fb::OpType::ReduceSum, fb::OpType::ReduceMax,
                            fb::OpType::ReduceMin, fb::OpType::ReduceProd, fb::OpType::ReduceL2};
  const std::vector<Shape64> shapes = {{}, {1}, {13}, {4, 9}, {3, 1, 5}, {2, 3, 4, 5}, {2, 1, 3, 2, 3, 2}, {40, 300}, {300, 40}, {0, 3}};
  uint32_t seed = 900;
  std::mt19937 rng(42);
  for (fb::OpType op : ops) {
    for (const Shape64& s : shapes) {
      const int r = static_cast<int>(s.size());
      // Every subset of axes for small ranks, random ones above; plus "absent".
      std::vector<std::vector<int64_t>> axis_sets = {{}};
      const int subsets = r <= 4 ? (1 << r) : 12;
      for (int m = 1; m < subsets; ++m) {
        const int bits = r <= 4 ? m : static_cast<int>(rng() % ((1u << r) - 1)) + 1;
        std::vector<int64_t> axes;
        for (int d = 0; d < r; ++d)
          if (bits & (1 << d)) axes.push_back(rng() % 2 ? d : d - r);  // negative axes too
        axis_sets.push_back(axes);
      }
      for (size_t set = 0; set < axis_sets.size(); ++set) {
        const std::vector<int64_t>& axes = axis_sets[set];
        {
          const int keep = static_cast<int>((set + static_cast<size_t>(op)) % 2);  // both, across sets
          std::string trace = std::string(fb::EnumNameOpType(op)) + " " + shape_str(s) + " axes " + shape_str(axes) + " keepdims " + std::to_string(keep);
          SCOPED_TRACE(trace);
          std::vector<float> x = random_floats(count(s), seed++, 0.5f, 1.5f);
          for (size_t i = 0; i < x.size(); i += 3) x[i] = -x[i];
          // Max/Min: a NaN in every other set, which must reach exactly the outputs it feeds.
          const bool minmax = op == fb::OpType::ReduceMax || op == fb::OpType::ReduceMin;
          if (minmax && set % 2 == 1 && !x.empty()) x[rng() % x.size()] = NAN;
          OpSpec spec{op, {TestTensor::f32(s, x)}};
          spec.attrs = {AttrDesc::Int("keepdims", keep)};
          if (!axes.empty()) spec.attrs.push_back(AttrDesc::Ints("axes", axes));
          auto out = run_ok(spec);
          ASSERT_FALSE(out.empty());
          std::vector<bool> red(r, axes.empty());
          for (int64_t a : axes) red[a < 0 ? a + r : a] = true;
          Shape64 os, full;
          for (int d = 0; d < r; ++d) {
            full.push_back(red[d] ? 1 : s[d]);
            if (!red[d] || keep) os.push_back(red[d] ? 1 : s[d]);
          }
          ASSERT_EQ(out[0].shape, os);
          const int64_t on = count(full);
          std::vector<double> acc(on, op == fb::OpType::ReduceProd ? 1.0 : (op == fb::OpType::ReduceMax ? -INFINITY : (op == fb::OpType::ReduceMin ? INFINITY : 0.0)));
          int64_t cnt = 1;
          for (int d = 0; d < r; ++d) if (red[d]) cnt *= s[d];
          for (int64_t i = 0; i < count(s); ++i) {
            Shape64 idx = unravel(i, s);
            int64_t o = 0;
            for (int d = 0; d < r; ++d) o = o * full[d] + (red[d] ? 0 : idx[d]);
            const double v = x[i];
            switch (op) {
              case fb::OpType::ReduceMax: acc[o] = std::isnan(v) || std::isnan(acc[o]) ? NAN : std::max(acc[o], v); break;
              case fb::OpType::ReduceMin: acc[o] = std::isnan(v) || std::isnan(acc[o]) ? NAN : std::min(acc[o], v); break;
              case fb::OpType::ReduceProd: acc[o] *= v; break;
              case fb::OpType::ReduceL2: acc[o] += v * v; break;
              default: acc[o] += v; break;
            }
          }
          std::vector<float> got = out[0].floats();
          ASSERT_EQ(static_cast<int64_t>(got.size()), on);
          for (int64_t i = 0; i < on; ++i) {
            double want = acc[i];
            if (op == fb::OpType::ReduceMean) want /= cnt;
            if (op == fb::OpType::ReduceL2) want = std::sqrt(want);
            if (std::isnan(want) || std::isinf(want)) {  // reductions over nothing, or over a NaN
              ASSERT_TRUE(std::isnan(want) ? std::isnan(got[i]) : got[i] == want) << i;
              continue;
            }
            ASSERT_NEAR(got[i], want, 1e-5 * std::max(1.0, std::abs(want)) + 1e-6 * cnt) << i;
          }
        }
      }
    }
  }
}

TEST(OpsElementwise, ReduceNoopAndErrors) {
  OpSpec noop{fb::OpType::ReduceSum, {TestTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6})}};
  noop.attrs = {AttrDesc::Int("noop_with_empty_axes", 1)};
  auto out = run_ok(noop);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].shape, (Shape64{2, 3}));
  expect_close(out[0].floats(), {1, 2, 3, 4, 5, 6});

  OpSpec bad{fb::OpType::ReduceMean, {TestTensor::f32({2, 3}, std::vector<float>(6))}};
  bad.attrs = {AttrDesc::Ints("axes", {2})};
  Status st = run_err(bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("ReduceMean"), std::string::npos) << st.message();
  bad.attrs = {AttrDesc::Ints("axes", {1, -1})};
  EXPECT_FALSE(run_err(bad).ok());
  EXPECT_FALSE(run_err(OpSpec{fb::OpType::ReduceMax, {TestTensor::i64({2}, {1, 2})}}).ok());
}

// ---------------------------------------------------------------------------------------------
// ArgMax / ArgMin

TEST(OpsElementwise, ArgMaxArgMin) {
  const std::vector<Shape64> shapes = {{1}, {9}, {3, 7}, {2, 5, 4}, {2, 3, 1, 4, 1, 3}, {300, 70}};
  std::mt19937 rng(5);
  for (fb::OpType op : {fb::OpType::ArgMax, fb::OpType::ArgMin}) {
    for (const Shape64& s : shapes) {
      const int64_t r = static_cast<int64_t>(s.size());
      for (int64_t axis = -r; axis < r; ++axis) {
        for (int combo = 0; combo < 2; ++combo) {
          {
            const int keep = combo, last = (combo + static_cast<int>(axis)) & 1;
            SCOPED_TRACE(std::string(fb::EnumNameOpType(op)) + " " + shape_str(s) + " axis " + std::to_string(axis));
            std::vector<float> x(count(s));
            for (float& v : x) v = static_cast<float>(rng() % 5);  // many ties
            OpSpec spec{op, {TestTensor::f32(s, x)}};
            spec.attrs = {AttrDesc::Int("axis", axis), AttrDesc::Int("keepdims", keep), AttrDesc::Int("select_last_index", last)};
            auto out = run_ok(spec);
            ASSERT_FALSE(out.empty());
            ASSERT_EQ(out[0].dtype, fb::DType::I64);
            const int64_t ax = axis < 0 ? axis + r : axis;
            int64_t outer = 1, inner = 1;
            for (int64_t d = 0; d < ax; ++d) outer *= s[d];
            for (int64_t d = ax + 1; d < r; ++d) inner *= s[d];
            Shape64 os;
            for (int64_t d = 0; d < r; ++d)
              if (d != ax) os.push_back(s[d]);
              else if (keep) os.push_back(1);
            ASSERT_EQ(out[0].shape, os);
            std::vector<int64_t> got = out[0].int64s();
            for (int64_t o = 0; o < outer; ++o)
              for (int64_t j = 0; j < inner; ++j) {
                int64_t best = 0;
                for (int64_t i = 1; i < s[ax]; ++i) {
                  const float v = x[(o * s[ax] + i) * inner + j], b = x[(o * s[ax] + best) * inner + j];
                  const bool better = op == fb::OpType::ArgMax ? (v > b || (last && v == b)) : (v < b || (last && v == b));
                  if (better) best = i;
                }
                ASSERT_EQ(got[o * inner + j], best);
              }
          }
        }
      }
    }
  }
  OpSpec bad{fb::OpType::ArgMax, {TestTensor::f32({2, 3}, std::vector<float>(6))}};
  bad.attrs = {AttrDesc::Int("axis", -3)};
  EXPECT_FALSE(run_err(bad).ok());
  // A NaN is the extreme of both ops (numpy, PyTorch): the first NaN, the last with select_last_index.
  const float nan = NAN;
  const std::vector<float> nx = {nan, 1, 2, 1, nan, 0, 2, 5, nan, 3, nan, nan};
  for (fb::OpType op : {fb::OpType::ArgMax, fb::OpType::ArgMin})
    for (int last : {0, 1}) {
      OpSpec spec{op, {TestTensor::f32({4, 3}, nx)}};
      spec.attrs = {AttrDesc::Int("axis", 1), AttrDesc::Int("keepdims", 0), AttrDesc::Int("select_last_index", last)};
      auto o = run_ok(spec);
      ASSERT_FALSE(o.empty());
      EXPECT_EQ(o[0].int64s(), (std::vector<int64_t>{0, 1, 2, last ? 2 : 1})) << fb::EnumNameOpType(op) << " last " << last;
    }
  // i64 input.
  OpSpec ints{fb::OpType::ArgMin, {TestTensor::i64({4}, {5, -2, 9, -2})}};
  auto out = run_ok(ints);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].int64s(), (std::vector<int64_t>{1}));
}

}  // namespace
}  // namespace pocket::testing
