// Transformer element-wise and normalisation ops through the real path (builder -> Model ->
// Session -> run) against double-precision references written here: LayerNormalization,
// RMSNormalization, Gelu, Where, comparisons, logical ops, masked Softmax and Cast to/from bool.
// Also every softmax kernel variant on masked rows (-inf, float32 min).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "kernels/reduce/reduce.h"
#include "tests/unit/op_test_util.h"

// OpSpec literals below leave trailing members (constant, attrs) to their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace pocket::testing {
namespace {

using Shape64 = std::vector<int64_t>;
using format::AttrDesc;

const float kInf = std::numeric_limits<float>::infinity();
const float kF32Min = std::numeric_limits<float>::lowest();

int64_t count(const Shape64& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

template <class T>
TestTensor typed(fb::DType dtype, Shape64 shape, const std::vector<T>& v) {
  TestTensor t{dtype, std::move(shape), {}};
  t.bytes.resize(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}
TestTensor bools(Shape64 shape, const std::vector<uint8_t>& v) { return typed(fb::DType::BOOL, std::move(shape), v); }

template <class T>
std::vector<T> values(const TestTensor& t) {
  std::vector<T> v(t.bytes.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  return v;
}

// Offset into a tensor of shape `s` (right-aligned) for the output multi-index `idx`.
int64_t broadcast_offset(const Shape64& idx, const Shape64& s) {
  int64_t off = 0;
  const size_t lead = idx.size() - s.size();
  for (size_t i = 0; i < s.size(); ++i) off = off * s[i] + (s[i] == 1 ? 0 : idx[lead + i]);
  return off;
}

Shape64 unravel(int64_t i, const Shape64& s) {
  Shape64 idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = i % s[d];
    i /= s[d];
  }
  return idx;
}

Shape64 bshape(std::initializer_list<Shape64> shapes) {
  size_t r = 0;
  for (const Shape64& s : shapes) r = std::max(r, s.size());
  Shape64 o(r, 1);
  for (const Shape64& s : shapes)
    for (size_t i = 0; i < s.size(); ++i) {
      const size_t k = i + r - s.size();
      if (s[i] != 1) o[k] = s[i];
    }
  return o;
}

std::string prepare_error(const OpSpec& spec) {
  std::vector<TestTensor> out;
  const Status st = run_op(spec, &out);
  return st.ok() ? std::string("(no error)") : st.message();
}

// ---------------------------------------------------------------- LayerNorm / RMSNorm

std::vector<float> layer_norm_ref(const std::vector<float>& x, int64_t n, const std::vector<float>& scale,
                                  const std::vector<float>* bias, double eps, bool rms) {
  std::vector<float> y(x.size());
  for (size_t r = 0; r * n < x.size(); ++r) {
    const float* xr = x.data() + r * n;
    double mean = 0.0, var = 0.0;
    if (!rms) {
      for (int64_t i = 0; i < n; ++i) mean += xr[i];
      mean /= static_cast<double>(n);
    }
    for (int64_t i = 0; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    const double inv = 1.0 / std::sqrt(var / static_cast<double>(n) + eps);
    for (int64_t i = 0; i < n; ++i)
      y[r * n + i] = static_cast<float>((xr[i] - mean) * inv * (scale.empty() ? 1.f : scale[i]) + (bias ? (*bias)[i] : 0.f));
  }
  return y;
}

TEST(OpsTransformer, LayerNormalizationLastAxis) {
  for (const Shape64& shape : {Shape64{2, 5, 768}, Shape64{64, 768}, Shape64{3, 37}, Shape64{1}}) {
    const int64_t n = shape.back();
    const auto x = random_floats(static_cast<size_t>(count(shape)), 1, -3.f, 4.f);
    const auto scale = random_floats(static_cast<size_t>(n), 2, 0.5f, 1.5f);
    const auto bias = random_floats(static_cast<size_t>(n), 3, -1.f, 1.f);
    for (bool with_bias : {true, false}) {
      OpSpec spec{fb::OpType::LayerNormalization, {TestTensor::f32(shape, x), TestTensor::f32({n}, scale)}, {false, true},
                  {AttrDesc::Float("epsilon", 1e-5f)}};
      if (with_bias) {
        spec.inputs.push_back(TestTensor::f32({n}, bias));
        spec.constant.push_back(true);
      }
      const auto want = layer_norm_ref(x, n, scale, with_bias ? &bias : nullptr, 1e-5, false);
      for (int threads : {1, 2}) {
        std::vector<TestTensor> out;
        ASSERT_TRUE(run_op(spec, &out, threads).ok());
        EXPECT_EQ(out[0].shape, shape);
        expect_close(out[0].floats(), want, 2e-6f);
      }
    }
  }
}

TEST(OpsTransformer, LayerNormalizationInnerAxisAndLeadingOnes) {
  // axis -2 over [3, 4, 6]: rows of 24; Scale given as [1, 4, 6], B as [4, 6].
  const Shape64 shape{3, 4, 6};
  const auto x = random_floats(72, 4, -2.f, 2.f);
  const auto scale = random_floats(24, 5, 0.5f, 1.5f);
  const auto bias = random_floats(24, 6, -1.f, 1.f);
  OpSpec spec{fb::OpType::LayerNormalization,
              {TestTensor::f32(shape, x), TestTensor::f32({1, 4, 6}, scale), TestTensor::f32({4, 6}, bias)},
              {false, true, true},
              {AttrDesc::Int("axis", -2), AttrDesc::Float("epsilon", 1e-3f)}};
  std::vector<TestTensor> out;
  ASSERT_TRUE(run_op(spec, &out).ok());
  expect_close(out[0].floats(), layer_norm_ref(x, 24, scale, &bias, 1e-3, false), 2e-6f);
}

TEST(OpsTransformer, RMSNormalization) {
  const Shape64 shape{4, 9, 384};
  const auto x = random_floats(static_cast<size_t>(count(shape)), 7, -3.f, 3.f);
  const auto scale = random_floats(384, 8, 0.5f, 1.5f);
  for (bool with_scale : {true, false}) {
    OpSpec spec{fb::OpType::RMSNormalization, {TestTensor::f32(shape, x)}, {false}, {}};
    if (with_scale) {
      spec.inputs.push_back(TestTensor::f32({384}, scale));
      spec.constant.push_back(true);
    }
    for (int threads : {1, 2}) {
      std::vector<TestTensor> out;
      ASSERT_TRUE(run_op(spec, &out, threads).ok());
      expect_close(out[0].floats(), layer_norm_ref(x, 384, with_scale ? scale : std::vector<float>{}, nullptr, 1e-6, true),
                   2e-6f);
    }
  }
}

TEST(OpsTransformer, NormalizationErrors) {
  const auto x = random_floats(12, 9);
  // X not f32
  EXPECT_NE(prepare_error({fb::OpType::LayerNormalization,
                           {TestTensor::i64({3, 4}, std::vector<int64_t>(12, 1)), TestTensor::f32({4}, {1, 1, 1, 1})},
                           {false, true}})
                .find("must be f32"),
            std::string::npos);
  // Scale of the wrong shape
  const std::string e = prepare_error({fb::OpType::LayerNormalization,
                                       {TestTensor::f32({3, 4}, x), TestTensor::f32({3}, {1, 1, 1})}, {false, true}});
  EXPECT_NE(e.find("Scale"), std::string::npos) << e;
  EXPECT_NE(e.find("[4]"), std::string::npos) << e;
  // axis out of range
  EXPECT_NE(prepare_error({fb::OpType::RMSNormalization, {TestTensor::f32({3, 4}, x)}, {false}, {AttrDesc::Int("axis", 2)}})
                .find("out of range"),
            std::string::npos);
  // missing Scale for LayerNormalization: refused at load by the arity table (engine/model.cpp)
  const std::string missing = prepare_error({fb::OpType::LayerNormalization, {TestTensor::f32({3, 4}, x)}, {false}});
  EXPECT_NE(missing.find("LayerNormalization takes 2..3 inputs"), std::string::npos) << missing;
}

// ---------------------------------------------------------------- Gelu

TEST(OpsTransformer, GeluBothForms) {
  const Shape64 shape{3, 1001};
  const auto x = random_floats(3003, 10, -8.f, 8.f);
  for (const char* approx : {"none", "tanh", ""}) {
    std::vector<AttrDesc> attrs;
    if (*approx) attrs.push_back(AttrDesc::String("approximate", approx));
    OpSpec spec{fb::OpType::Gelu, {TestTensor::f32(shape, x)}, {false}, attrs};
    std::vector<float> want(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      want[i] = std::string(approx) == "tanh"
                    ? static_cast<float>(0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))))
                    : static_cast<float>(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))));
    }
    for (int threads : {1, 2}) {
      std::vector<TestTensor> out;
      ASSERT_TRUE(run_op(spec, &out, threads).ok());
      const auto got = out[0].floats();
      for (size_t i = 0; i < x.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 2e-7 * std::max(1.0, std::abs(static_cast<double>(x[i])))) << approx << " x=" << x[i];
    }
  }
  EXPECT_NE(prepare_error({fb::OpType::Gelu, {TestTensor::f32({2}, {1, 2})}, {false}, {AttrDesc::String("approximate", "fast")}})
                .find("approximate"),
            std::string::npos);
  EXPECT_NE(prepare_error({fb::OpType::Gelu, {TestTensor::i64({2}, {1, 2})}, {false}}).find("must be f32"), std::string::npos);
}

// ---------------------------------------------------------------- Where

template <class T>
std::vector<T> where_ref(const std::vector<uint8_t>& c, const Shape64& cs, const std::vector<T>& x, const Shape64& xs,
                         const std::vector<T>& y, const Shape64& ys, const Shape64& out) {
  std::vector<T> r(static_cast<size_t>(count(out)));
  for (int64_t i = 0; i < count(out); ++i) {
    const Shape64 idx = unravel(i, out);
    r[i] = c[broadcast_offset(idx, cs)] ? x[broadcast_offset(idx, xs)] : y[broadcast_offset(idx, ys)];
  }
  return r;
}

std::vector<uint8_t> random_bools(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = rng() & 1;
  return v;
}

TEST(OpsTransformer, WhereBroadcastsThreeWays) {
  struct Case {
    Shape64 c, x, y;
  };
  const Case cases[] = {
      {{2, 3, 5}, {2, 3, 5}, {2, 3, 5}},        // same shapes
      {{2, 1, 1, 7}, {}, {2, 4, 3, 7}},         // DistilBERT's masked fill: mask [b,1,1,k], scalar fill, scores
      {{1, 7}, {3, 1}, {}},                     // every operand broadcasts
      {{4, 1, 6}, {1, 5, 1}, {4, 5, 6}},
      {{448}, {1, 1, 448}, {1}},                // Whisper: Greater(Range, position) mask over a row
      {{3, 1, 2, 1, 5}, {1, 4, 2, 1, 1}, {3, 4, 1, 6, 5}},
  };
  uint32_t seed = 20;
  for (const Case& k : cases) {
    const Shape64 out = bshape({k.c, k.x, k.y});
    const auto c = random_bools(static_cast<size_t>(count(k.c)), ++seed);
    // f32 (4 bytes)
    {
      const auto x = random_floats(static_cast<size_t>(count(k.x)), ++seed);
      const auto y = random_floats(static_cast<size_t>(count(k.y)), ++seed);
      OpSpec spec{fb::OpType::Where, {bools(k.c, c), TestTensor::f32(k.x, x), TestTensor::f32(k.y, y)}};
      for (int threads : {1, 2}) {
        std::vector<TestTensor> o;
        ASSERT_TRUE(run_op(spec, &o, threads).ok());
        EXPECT_EQ(o[0].shape, out);
        EXPECT_EQ(o[0].floats(), where_ref(c, k.c, x, k.x, y, k.y, out));
      }
    }
    // i64 (8 bytes) and bool (1 byte)
    {
      std::vector<int64_t> x(static_cast<size_t>(count(k.x))), y(static_cast<size_t>(count(k.y)));
      for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int64_t>(i) * 1000003;
      for (size_t i = 0; i < y.size(); ++i) y[i] = -static_cast<int64_t>(i) - 1;
      std::vector<TestTensor> o;
      ASSERT_TRUE(run_op({fb::OpType::Where, {bools(k.c, c), TestTensor::i64(k.x, x), TestTensor::i64(k.y, y)}}, &o).ok());
      EXPECT_EQ(o[0].int64s(), where_ref(c, k.c, x, k.x, y, k.y, out));
      const auto bx = random_bools(x.size(), ++seed), by = random_bools(y.size(), ++seed);
      ASSERT_TRUE(run_op({fb::OpType::Where, {bools(k.c, c), bools(k.x, bx), bools(k.y, by)}}, &o).ok());
      EXPECT_EQ(o[0].dtype, fb::DType::BOOL);
      EXPECT_EQ(values<uint8_t>(o[0]), where_ref(c, k.c, bx, k.x, by, k.y, out));
    }
  }
}

TEST(OpsTransformer, WhereErrors) {
  const auto c = bools({2}, {1, 0});
  std::string e = prepare_error({fb::OpType::Where, {TestTensor::f32({2}, {1, 0}), TestTensor::f32({2}, {1, 2}),
                                                     TestTensor::f32({2}, {3, 4})}});
  EXPECT_NE(e.find("must be bool"), std::string::npos) << e;
  e = prepare_error({fb::OpType::Where, {c, TestTensor::f32({2}, {1, 2}), TestTensor::i64({2}, {3, 4})}});
  EXPECT_NE(e.find("differ in dtype"), std::string::npos) << e;
  e = prepare_error({fb::OpType::Where, {c, TestTensor::f32({3}, {1, 2, 3}), TestTensor::f32({2}, {3, 4})}});
  EXPECT_NE(e.find("cannot broadcast"), std::string::npos) << e;
}

// ---------------------------------------------------------------- comparisons, logical ops

template <class T, class F>
std::vector<uint8_t> binary_ref(const std::vector<T>& a, const Shape64& as, const std::vector<T>& b, const Shape64& bs,
                                F f) {
  const Shape64 out = bshape({as, bs});
  std::vector<uint8_t> r(static_cast<size_t>(count(out)));
  for (int64_t i = 0; i < count(out); ++i) {
    const Shape64 idx = unravel(i, out);
    r[i] = f(a[broadcast_offset(idx, as)], b[broadcast_offset(idx, bs)]) ? 1 : 0;
  }
  return r;
}

template <class T>
void check_comparisons(fb::DType dtype, const std::vector<T>& a, const Shape64& as, const std::vector<T>& b,
                       const Shape64& bs) {
  const struct {
    fb::OpType op;
    bool (*f)(T, T);
  } ops[] = {
      {fb::OpType::Equal, [](T p, T q) { return p == q; }},
      {fb::OpType::Less, [](T p, T q) { return p < q; }},
      {fb::OpType::Greater, [](T p, T q) { return p > q; }},
      {fb::OpType::LessOrEqual, [](T p, T q) { return p <= q; }},
      {fb::OpType::GreaterOrEqual, [](T p, T q) { return p >= q; }},
  };
  for (const auto& k : ops) {
    std::vector<TestTensor> o;
    ASSERT_TRUE(run_op({k.op, {typed(dtype, as, a), typed(dtype, bs, b)}}, &o).ok());
    EXPECT_EQ(o[0].dtype, fb::DType::BOOL);
    EXPECT_EQ(o[0].shape, bshape({as, bs}));
    EXPECT_EQ(values<uint8_t>(o[0]), binary_ref(a, as, b, bs, k.f)) << static_cast<int>(k.op);
  }
}

TEST(OpsTransformer, ComparisonsAllDtypesWithBroadcasting) {
  std::vector<float> fa = {1.f, -2.f, 3.f, std::nanf(""), -kInf, 0.f, -0.f, 5.f, 2.f, 2.f, 7.f, -1.f};
  std::vector<float> fb_ = {2.f, -0.f, std::nanf("")};
  check_comparisons<float>(fb::DType::F32, fa, {4, 3}, fb_, {3});
  check_comparisons<float>(fb::DType::F32, fa, {4, 3}, {2.f}, {});
  check_comparisons<double>(fb::DType::F64, {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}, {2.0, 5.0}, {2, 1});
  std::vector<int64_t> ia(448);
  for (size_t i = 0; i < ia.size(); ++i) ia[i] = static_cast<int64_t>(i);
  check_comparisons<int64_t>(fb::DType::I64, ia, {448}, {17}, {1});  // Greater(Range(448), position)
  check_comparisons<int64_t>(fb::DType::I64, {5, 1, 9}, {3, 1}, {1, 5, 9, 0}, {1, 4});
  check_comparisons<int32_t>(fb::DType::I32, {-3, 0, 3, 7, 7, 8}, {1, 2, 3}, {7, -3, 3}, {3});
  // Equal on bool
  std::vector<TestTensor> o;
  ASSERT_TRUE(run_op({fb::OpType::Equal, {bools({2, 2}, {1, 0, 1, 0}), bools({2}, {1, 1})}}, &o).ok());
  EXPECT_EQ(values<uint8_t>(o[0]), (std::vector<uint8_t>{1, 0, 1, 0}));
  // DistilBERT: Equal(mask i64, 0) -> the masked-fill condition
  ASSERT_TRUE(run_op({fb::OpType::Equal, {TestTensor::i64({1, 4}, {1, 1, 0, 0}), TestTensor::i64({}, {0})}}, &o).ok());
  EXPECT_EQ(values<uint8_t>(o[0]), (std::vector<uint8_t>{0, 0, 1, 1}));
}

TEST(OpsTransformer, ComparisonErrors) {
  std::string e = prepare_error({fb::OpType::Less, {bools({2}, {1, 0}), bools({2}, {0, 0})}});
  EXPECT_NE(e.find("dtype not supported"), std::string::npos) << e;
  e = prepare_error({fb::OpType::Equal, {TestTensor::f32({2}, {1, 0}), TestTensor::i64({2}, {0, 0})}});
  EXPECT_NE(e.find("differ in dtype"), std::string::npos) << e;
  e = prepare_error({fb::OpType::Greater, {TestTensor::f32({2}, {1, 0}), TestTensor::f32({3}, {0, 0, 0})}});
  EXPECT_NE(e.find("cannot broadcast"), std::string::npos) << e;
}

TEST(OpsTransformer, LogicalOps) {
  const Shape64 as{3, 1, 4}, bs{5, 1};
  const auto a = random_bools(12, 31), b = random_bools(5, 32);
  const struct {
    fb::OpType op;
    bool (*f)(uint8_t, uint8_t);
  } ops[] = {
      {fb::OpType::And, [](uint8_t p, uint8_t q) { return p && q; }},
      {fb::OpType::Or, [](uint8_t p, uint8_t q) { return p || q; }},
      {fb::OpType::Xor, [](uint8_t p, uint8_t q) { return (p != 0) != (q != 0); }},
  };
  for (const auto& k : ops) {
    for (int threads : {1, 2}) {
      std::vector<TestTensor> o;
      ASSERT_TRUE(run_op({k.op, {bools(as, a), bools(bs, b)}}, &o, threads).ok());
      EXPECT_EQ(o[0].shape, bshape({as, bs}));
      EXPECT_EQ(values<uint8_t>(o[0]), binary_ref(a, as, b, bs, k.f));
    }
  }
  std::vector<TestTensor> o;
  ASSERT_TRUE(run_op({fb::OpType::Not, {bools({2, 3}, {1, 0, 0, 1, 1, 0})}}, &o).ok());
  EXPECT_EQ(values<uint8_t>(o[0]), (std::vector<uint8_t>{0, 1, 1, 0, 0, 1}));
  EXPECT_NE(prepare_error({fb::OpType::Not, {TestTensor::f32({2}, {1, 0})}}).find("must be bool"), std::string::npos);
  EXPECT_NE(prepare_error({fb::OpType::And, {bools({2}, {1, 0}), TestTensor::i64({2}, {1, 0})}}).find("must be bool"),
            std::string::npos);
}

// Outputs large enough to split over two threads, with chunk boundaries inside rows.
TEST(OpsTransformer, SelectionOpsSplitOverThreads) {
  const Shape64 cs{2, 1, 1, 97}, xs{}, ys{2, 12, 17, 97};
  const Shape64 out = bshape({cs, xs, ys});
  const auto c = random_bools(static_cast<size_t>(count(cs)), 50);
  const auto x = random_floats(1, 51);
  const auto y = random_floats(static_cast<size_t>(count(ys)), 52);
  const auto a = random_floats(static_cast<size_t>(count(ys)), 53);
  const auto ba = random_bools(static_cast<size_t>(count(ys)), 54);
  for (int threads : {1, 2}) {
    std::vector<TestTensor> o;
    ASSERT_TRUE(run_op({fb::OpType::Where, {bools(cs, c), TestTensor::f32(xs, x), TestTensor::f32(ys, y)}}, &o, threads).ok());
    EXPECT_EQ(o[0].floats(), where_ref(c, cs, x, xs, y, ys, out)) << threads;
    ASSERT_TRUE(run_op({fb::OpType::Less, {TestTensor::f32(ys, a), TestTensor::f32({97}, std::vector<float>(y.begin(), y.begin() + 97))}},
                       &o, threads)
                    .ok());
    EXPECT_EQ(values<uint8_t>(o[0]), binary_ref(a, ys, std::vector<float>(y.begin(), y.begin() + 97), Shape64{97},
                                                [](float p, float q) { return p < q; }))
        << threads;
    ASSERT_TRUE(run_op({fb::OpType::Xor, {bools(ys, ba), bools(cs, c)}}, &o, threads).ok());
    EXPECT_EQ(values<uint8_t>(o[0]), binary_ref(ba, ys, c, cs, [](uint8_t p, uint8_t q) { return (p != 0) != (q != 0); }))
        << threads;
  }
}

// ---------------------------------------------------------------- masked softmax

// PyTorch's softmax in double: max subtracted; a row of all -inf has max -inf, (-inf) - (-inf)
// is NaN, and so is every output (PyTorch returns NaN there).
std::vector<float> softmax_ref(const std::vector<float>& x, size_t n) {
  std::vector<float> y(x.size());
  for (size_t r = 0; r < x.size() / n; ++r) {
    const float* xr = x.data() + r * n;
    double m = -std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(xr[i]));
    double s = 0.0;
    for (size_t i = 0; i < n; ++i) s += std::exp(xr[i] - m);
    for (size_t i = 0; i < n; ++i) y[r * n + i] = static_cast<float>(std::exp(xr[i] - m) / s);
  }
  return y;
}

// Rows of length n with masks: -inf tails (causal), float32-min tails (HF's finfo.min fill),
// a row of all float32 min (uniform), a row of all -inf (NaN), large negatives (-1e30: exp
// underflows to exact zeros, never NaN).
std::vector<float> masked_rows(size_t n, size_t* rows) {
  std::vector<float> x;
  auto row = [&](uint32_t seed, size_t keep, float fill) {
    auto r = random_floats(n, seed, -20.f, 20.f);
    for (size_t i = keep; i < n; ++i) r[i] = fill;
    x.insert(x.end(), r.begin(), r.end());
  };
  row(1, n, 0.f);
  row(2, (n + 1) / 2, -kInf);
  row(3, 1, -kInf);
  row(4, (n + 2) / 3, kF32Min);
  row(5, 0, kF32Min);
  row(6, n / 2, -1e30f);
  row(7, 0, -kInf);  // must be last: the NaN row
  *rows = 7;
  return x;
}

void expect_softmax(const std::vector<float>& got, const std::vector<float>& want, size_t n, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << what << " n=" << n << " i=" << i << " (all -inf row: NaN, as PyTorch)";
    } else {
      ASSERT_FALSE(std::isnan(got[i])) << what << " n=" << n << " i=" << i;
      ASSERT_NEAR(got[i], want[i], 2e-6f) << what << " n=" << n << " i=" << i;
      if (want[i] == 0.f) {
        ASSERT_EQ(got[i], 0.f) << what << ": masked entries must be exact zeros";
      }
    }
  }
}

TEST(OpsTransformer, SoftmaxKernelsOnMaskedRows) {
  for (const auto& v : kernels::reduce_variants()) {
    for (size_t n : {1u, 5u, 8u, 13u, 64u, 127u, 448u, 1500u}) {
      size_t rows = 0;
      const auto x = masked_rows(n, &rows);
      const auto want = softmax_ref(x, n);
      std::vector<float> y(x.size());
      for (size_t r = 0; r < rows; ++r) v.table.softmax_f32(x.data() + r * n, y.data() + r * n, n, 1, 1);
      expect_softmax(y, want, n, std::string(v.isa) + " row");
      // The same rows as columns (softmax over an inner axis): transpose to [n, rows].
      std::vector<float> xt(x.size()), yt(x.size()), back(x.size());
      for (size_t r = 0; r < rows; ++r)
        for (size_t i = 0; i < n; ++i) xt[i * rows + r] = x[r * n + i];
      v.table.softmax_f32(xt.data(), yt.data(), n, rows, rows);
      for (size_t r = 0; r < rows; ++r)
        for (size_t i = 0; i < n; ++i) back[r * n + i] = yt[i * rows + r];
      expect_softmax(back, want, n, std::string(v.isa) + " columns");
    }
  }
}

TEST(OpsTransformer, SoftmaxOpOnAttentionScores) {
  // [batch 2, heads 3, q 5, k 9] scores with a padding mask (-inf / float32 min) on the last axis.
  const Shape64 shape{2, 3, 5, 9};
  auto x = random_floats(270, 40, -8.f, 8.f);
  for (size_t i = 0; i < x.size(); ++i)
    if (i % 9 >= 6) x[i] = (i / 45) % 2 ? -kInf : kF32Min;
  std::vector<TestTensor> o;
  ASSERT_TRUE(run_op({fb::OpType::Softmax, {TestTensor::f32(shape, x)}, {false}, {AttrDesc::Int("axis", -1)}}, &o, 2).ok());
  expect_softmax(o[0].floats(), softmax_ref(x, 9), 9, "Softmax op");
}

// ---------------------------------------------------------------- Cast to and from bool

TEST(OpsTransformer, CastBool) {
  std::vector<TestTensor> o;
  const auto to = [](fb::DType d) { return AttrDesc::Int("to", static_cast<int64_t>(d)); };
  ASSERT_TRUE(run_op({fb::OpType::Cast, {bools({4}, {1, 0, 1, 0})}, {false}, {to(fb::DType::F32)}}, &o).ok());
  EXPECT_EQ(o[0].floats(), (std::vector<float>{1, 0, 1, 0}));
  ASSERT_TRUE(run_op({fb::OpType::Cast, {bools({3}, {0, 1, 1})}, {false}, {to(fb::DType::I64)}}, &o).ok());
  EXPECT_EQ(o[0].int64s(), (std::vector<int64_t>{0, 1, 1}));
  ASSERT_TRUE(run_op({fb::OpType::Cast, {bools({2}, {1, 0})}, {false}, {to(fb::DType::I32)}}, &o).ok());
  EXPECT_EQ(values<int32_t>(o[0]), (std::vector<int32_t>{1, 0}));
  ASSERT_TRUE(run_op({fb::OpType::Cast, {TestTensor::f32({4}, {0.f, -0.5f, std::nanf(""), 3.f})}, {false}, {to(fb::DType::BOOL)}},
                     &o)
                  .ok());
  EXPECT_EQ(o[0].dtype, fb::DType::BOOL);
  EXPECT_EQ(values<uint8_t>(o[0]), (std::vector<uint8_t>{0, 1, 1, 1}));  // x != 0: NaN is true (numpy, PyTorch)
  ASSERT_TRUE(run_op({fb::OpType::Cast, {TestTensor::i64({3}, {0, 7, -1})}, {false}, {to(fb::DType::BOOL)}}, &o).ok());
  EXPECT_EQ(values<uint8_t>(o[0]), (std::vector<uint8_t>{0, 1, 1}));
  ASSERT_TRUE(run_op({fb::OpType::Cast, {typed<int32_t>(fb::DType::I32, {2}, {0, 5})}, {false}, {to(fb::DType::BOOL)}}, &o).ok());
  EXPECT_EQ(values<uint8_t>(o[0]), (std::vector<uint8_t>{0, 1}));
}

}  // namespace
}  // namespace pocket::testing
