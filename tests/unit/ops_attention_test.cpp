// The Attention op through the real path (builder -> .pocket -> Session -> run) against a naive
// softmax(scale Q K^T + mask) V written here: heads packed in the last dim, grouped-query heads,
// cross-attention, causal, bool and additive masks with broadcasting, mask_fill = float-min
// (masked_fill semantics: a fully masked row averages V) and -inf rows (zeros), 1 and 2 threads;
// and every validation error prepare() reports.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

using format::AttrDesc;
using testing::OpSpec;
using testing::TestTensor;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kFloatMin = std::numeric_limits<float>::lowest();

TestTensor bool_tensor(std::vector<int64_t> shape, const std::vector<uint8_t>& v) {
  return TestTensor{fb::DType::BOOL, std::move(shape), v};
}

struct Problem {
  int64_t b = 1, sq = 1, sk = 1, hq = 1, hk = 1, d = 8, dv = 8;
  bool causal = false;
  float scale = 0.f;  // 0: default 1/sqrt(d)
  float fill = kNegInf;
  TestTensor mask;  // empty shape and bytes: no mask
  bool has_mask = false;
};

// Mask value at (b, h, i, j) by right-aligned broadcasting.
double mask_at(const TestTensor& m, int64_t b, int64_t h, int64_t i, int64_t j, bool* masked) {
  const int64_t idx4[4] = {b, h, i, j};
  const size_t rank = m.shape.size();
  int64_t off = 0, stride = 1;
  for (size_t k = 0; k < rank; ++k) {
    const size_t dim = rank - 1 - k;
    if (m.shape[dim] != 1) off += idx4[3 - k] * stride;
    stride *= m.shape[dim];
  }
  if (m.dtype == fb::DType::BOOL) {
    *masked = m.bytes[off] != 0;
    return 0.0;
  }
  *masked = false;
  return m.floats()[off];
}

std::vector<float> naive(const Problem& p, const std::vector<float>& q, const std::vector<float>& k,
                         const std::vector<float>& v) {
  std::vector<float> out(p.b * p.sq * p.hq * p.dv);
  const double scale = p.scale != 0.f ? p.scale : 1.0 / std::sqrt(static_cast<double>(p.d));
  std::vector<double> s(p.sk);
  for (int64_t b = 0; b < p.b; ++b)
    for (int64_t h = 0; h < p.hq; ++h) {
      const int64_t g = h / (p.hq / p.hk);
      for (int64_t i = 0; i < p.sq; ++i) {
        double mx = -INFINITY;
        for (int64_t j = 0; j < p.sk; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < p.d; ++c)
            dot += static_cast<double>(q[((b * p.sq + i) * p.hq + h) * p.d + c]) * k[((b * p.sk + j) * p.hk + g) * p.d + c];
          double x = static_cast<float>(dot * scale);
          if (p.has_mask) {
            bool masked = false;
            const double add = mask_at(p.mask, b, h, i, j, &masked);
            x = masked ? static_cast<double>(p.fill) : static_cast<double>(static_cast<float>(x + add));
          }
          if (p.causal && j > i + p.sk - p.sq) x = -INFINITY;
          s[j] = x;
          mx = std::max(mx, x);
        }
        float* o = &out[((b * p.sq + i) * p.hq + h) * p.dv];
        if (mx == -INFINITY) {
          for (int64_t c = 0; c < p.dv; ++c) o[c] = 0.f;
          continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < p.sk; ++j) sum += s[j] = std::exp(s[j] - mx);
        for (int64_t c = 0; c < p.dv; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < p.sk; ++j) acc += s[j] * v[((b * p.sk + j) * p.hk + g) * p.dv + c];
          o[c] = static_cast<float>(acc / sum);
        }
      }
    }
  return out;
}

OpSpec make_spec(const Problem& p, const std::vector<float>& q, const std::vector<float>& k,
                 const std::vector<float>& v) {
  OpSpec spec{fb::OpType::Attention,
              {TestTensor::f32({p.b, p.sq, p.hq * p.d}, q), TestTensor::f32({p.b, p.sk, p.hk * p.d}, k),
               TestTensor::f32({p.b, p.sk, p.hk * p.dv}, v)},
              {},
              {AttrDesc::Int("num_heads", p.hq), AttrDesc::Int("kv_heads", p.hk), AttrDesc::Int("causal", p.causal),
               AttrDesc::Float("mask_fill", p.fill)}};
  if (p.scale != 0.f) spec.attrs.push_back(AttrDesc::Float("scale", p.scale));
  if (p.has_mask) spec.inputs.push_back(p.mask);
  return spec;
}

void check(const Problem& p, uint32_t seed) {
  const auto q = testing::random_floats(p.b * p.sq * p.hq * p.d, seed, -2.f, 2.f);
  const auto k = testing::random_floats(p.b * p.sk * p.hk * p.d, seed + 1, -2.f, 2.f);
  const auto v = testing::random_floats(p.b * p.sk * p.hk * p.dv, seed + 2);
  const std::vector<float> want = naive(p, q, k, v);
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    std::vector<TestTensor> out;
    ASSERT_TRUE(testing::run_op(make_spec(p, q, k, v), &out, threads).ok());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].shape, (std::vector<int64_t>{p.b, p.sq, p.hq * p.dv}));
    const std::vector<float> got = out[0].floats();
    for (float x : got) ASSERT_FALSE(std::isnan(x));
    testing::expect_close(got, want, 2e-5f);
  }
}

TEST(AttentionOp, SelfAttentionHeadsPacked) {
  Problem p;
  p.b = 2, p.sq = p.sk = 19, p.hq = p.hk = 3, p.d = p.dv = 16;
  check(p, 1);
}

TEST(AttentionOp, GroupedQueryCrossAttentionCausalScale) {
  Problem p;
  p.b = 1, p.sq = 5, p.sk = 40, p.hq = 8, p.hk = 2, p.d = 16, p.dv = 24, p.causal = true, p.scale = 0.3f;
  check(p, 2);
  p.sq = 9, p.sk = 4;  // more queries than keys: the first rows see nothing -> zeros
  check(p, 3);
}

TEST(AttentionOp, DistilBertPaddingMaskFloatMin) {
  // mask (bs, 1, 1, k) as DistilBERT builds it; batch 1 is entirely masked: masked_fill(finfo.min)
  // then softmax gives uniform weights, so every output row is the mean of V.
  Problem p;
  p.b = 2, p.sq = p.sk = 6, p.hq = p.hk = 2, p.d = p.dv = 8, p.fill = kFloatMin, p.has_mask = true;
  p.mask = bool_tensor({2, 1, 1, 6}, {0, 0, 0, 0, 1, 1, /**/ 1, 1, 1, 1, 1, 1});
  check(p, 4);
  const auto q = testing::random_floats(2 * 6 * 16, 4, -2.f, 2.f);
  const auto k = testing::random_floats(2 * 6 * 16, 5, -2.f, 2.f);
  const auto v = testing::random_floats(2 * 6 * 16, 6);
  std::vector<TestTensor> out;
  ASSERT_TRUE(testing::run_op(make_spec(p, q, k, v), &out).ok());
  const std::vector<float> got = out[0].floats();
  for (int64_t c = 0; c < 16; ++c) {
    double mean = 0;
    for (int64_t j = 0; j < 6; ++j) mean += v[(6 + j) * 16 + c] / 6.0;
    EXPECT_NEAR(got[(6 + 3) * 16 + c], mean, 1e-5);
  }
}

TEST(AttentionOp, BoolMaskBroadcastShapes) {
  uint32_t seed = 10;
  for (std::vector<int64_t> shape : std::vector<std::vector<int64_t>>{{7, 11}, {2, 1, 7, 11}, {1, 3, 1, 11}, {11}, {7, 1}}) {
    Problem p;
    p.b = 2, p.sq = 7, p.sk = 11, p.hq = p.hk = 3, p.d = p.dv = 8, p.has_mask = true;
    int64_t n = 1;
    for (int64_t x : shape) n *= x;
    std::vector<uint8_t> bits(n);
    for (int64_t i = 0; i < n; ++i) bits[i] = (i * 7 + seed) % 3 == 0;
    p.mask = bool_tensor(shape, bits);
    check(p, ++seed);
  }
}

TEST(AttentionOp, AdditiveMaskWithInfRows) {
  // Whisper-style additive mask with -inf; row 2 is entirely -inf -> zeros, never NaN.
  Problem p;
  p.b = 1, p.sq = 4, p.sk = 9, p.hq = p.hk = 2, p.d = p.dv = 8, p.has_mask = true;
  std::vector<float> m(4 * 9, 0.f);
  for (int64_t j = 0; j < 9; ++j) m[2 * 9 + j] = kNegInf;
  m[0 * 9 + 8] = kNegInf, m[1 * 9 + 3] = -1.5f, m[3 * 9 + 0] = 2.f;
  p.mask = TestTensor::f32({4, 9}, m);
  check(p, 20);
  std::vector<TestTensor> out;
  const auto q = testing::random_floats(4 * 16, 20, -2.f, 2.f), k = testing::random_floats(9 * 16, 21, -2.f, 2.f),
             v = testing::random_floats(9 * 16, 22);
  ASSERT_TRUE(testing::run_op(make_spec(p, q, k, v), &out).ok());
  for (int64_t c = 0; c < 16; ++c) EXPECT_EQ(out[0].floats()[2 * 16 + c], 0.f);
}

TEST(AttentionOp, LongSequenceSpansKeyBlocks) {
  Problem p;
  p.b = 1, p.sq = 70, p.sk = 300, p.hq = p.hk = 2, p.d = p.dv = 32, p.causal = true;
  check(p, 30);
}

Status prepare_error(OpSpec spec) {
  std::vector<TestTensor> out;
  return testing::run_op(spec, &out);
}

TEST(AttentionOp, ValidationErrors) {
  Problem p;
  p.b = 1, p.sq = 3, p.sk = 5, p.hq = 4, p.hk = 2, p.d = 4, p.dv = 4;
  const auto q = testing::random_floats(3 * 16, 1), k = testing::random_floats(5 * 8, 2), v = testing::random_floats(5 * 8, 3);
  ASSERT_TRUE(prepare_error(make_spec(p, q, k, v)).ok());
  auto expect_error = [&](OpSpec spec, const std::string& needle) {
    const Status s = prepare_error(spec);
    ASSERT_FALSE(s.ok()) << needle;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  };
  OpSpec s = make_spec(p, q, k, v);
  s.attrs.erase(s.attrs.begin());  // num_heads
  expect_error(s, "num_heads");
  s = make_spec(p, q, k, v);
  s.attrs[0] = AttrDesc::Int("num_heads", 5);  // 16 % 5 != 0
  expect_error(s, "num_heads");
  s = make_spec(p, q, k, v);
  s.attrs[1] = AttrDesc::Int("kv_heads", 3);
  expect_error(s, "kv_heads");
  s = make_spec(p, q, k, v);
  s.inputs[1] = TestTensor::f32({1, 5, 12}, testing::random_floats(60, 1));  // K width != Hk * D
  expect_error(s, "K");
  s = make_spec(p, q, k, v);
  s.inputs[2] = TestTensor::f32({1, 4, 8}, testing::random_floats(32, 1));  // V length != Sk
  expect_error(s, "V");
  s = make_spec(p, q, k, v);
  s.inputs[0] = TestTensor::f32({3, 16}, q);  // rank 2
  expect_error(s, "rank 3");
  s = make_spec(p, q, k, v);
  s.inputs.push_back(bool_tensor({3, 4}, std::vector<uint8_t>(12, 0)));  // Sk is 5
  expect_error(s, "does not broadcast");
  s = make_spec(p, q, k, v);
  s.inputs.push_back(TestTensor::i64({5}, {0, 0, 0, 0, 0}));
  expect_error(s, "bool or f32");
  s = make_spec(p, q, k, v);
  s.inputs.push_back(bool_tensor({1, 1, 1, 1, 5}, std::vector<uint8_t>(5, 0)));
  expect_error(s, "rank > 4");
  s = make_spec(p, q, k, v);
  s.attrs[2] = AttrDesc::Int("causal", 2);
  expect_error(s, "causal");
  s = make_spec(p, q, k, v);
  s.inputs[2] = TestTensor::i64({1, 5, 8}, std::vector<int64_t>(40, 0));
  expect_error(s, "f32");
}

}  // namespace
}  // namespace pocket
