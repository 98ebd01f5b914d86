// Vulkan Softmax, LogSoftmax, LayerNormalization, RMSNormalization and Attention against the CPU
// ops, fp32 (1e-5 relative) and fp16 storage (1e-2), on small shapes (lavapipe is slow).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/vulkan_test_util.h"

namespace pocket::testing {
namespace {

using format::AttrDesc;

constexpr float kTol32 = 1e-5f;
constexpr float kTol16 = 1e-2f;

TestTensor bool_tensor(std::vector<int64_t> shape, const std::vector<uint8_t>& v) {
  TestTensor t{DType::BOOL, std::move(shape), v};
  return t;
}

void both(const OpSpec& spec, float tol32 = kTol32, float tol16 = kTol16) {
  {
    SCOPED_TRACE("fp32");
    expect_vulkan_matches_cpu(spec, tol32, false);
  }
  {
    SCOPED_TRACE("fp16");
    expect_vulkan_matches_cpu(spec, tol16, true);
  }
}

// ---------------------------------------------------------------------------------------------

TEST(VulkanNorm, SoftmaxAxes) {
  POCKET_REQUIRE_VULKAN();
  struct Case {
    std::vector<int64_t> shape;
    int64_t axis;
  };
  const Case cases[] = {{{1, 10}, -1},    {{2, 3, 5}, 1},  {{4, 300}, 1},      {{3, 1, 7}, 0},
                        {{2, 130, 3}, 1}, {{5}, 0},        {{2, 2, 2, 9}, -2}, {{1, 1}, -1},
                        {{2, 64, 3}, 1},  {{2, 65, 3}, 1}, {{1, 21, 8, 9}, 1}};  // both sides of the short-row shader
  uint32_t seed = 1;
  for (const Case& c : cases) {
    for (fb::OpType op : {fb::OpType::Softmax, fb::OpType::LogSoftmax}) {
      SCOPED_TRACE(shape_str(c.shape) + " axis " + std::to_string(c.axis) +
                   (op == fb::OpType::Softmax ? " softmax" : " log"));
      OpSpec spec{op, {rand_f32(c.shape, seed++, -8.f, 8.f)}, {}, {AttrDesc::Int("axis", c.axis)}};
      both(spec);
    }
  }
}

TEST(VulkanNorm, SoftmaxLargeAndMaskedValues) {
  POCKET_REQUIRE_VULKAN();
  // Scores with -inf and -3.4e38 mask values (attention-style) give exact zeros, no NaN.
  std::vector<float> v = random_floats(3 * 70, 5, -4.f, 4.f);
  for (size_t i = 0; i < v.size(); i += 3) v[i] = -std::numeric_limits<float>::infinity();
  for (size_t i = 1; i < v.size(); i += 7) v[i] = -3.4e38f;
  OpSpec spec{fb::OpType::Softmax, {TestTensor::f32({3, 70}, v)}, {}, {}};
  expect_vulkan_matches_cpu(spec, kTol32, false);
  // Large logits: the max subtraction keeps exp in range.
  OpSpec big{fb::OpType::Softmax, {rand_f32({2, 40}, 6, 500.f, 900.f)}, {}, {}};
  expect_vulkan_matches_cpu(big, kTol32, false);
}

TEST(VulkanNorm, SoftmaxKernelName) {
  POCKET_REQUIRE_VULKAN();
  OpSpec spec{fb::OpType::LogSoftmax, {rand_f32({2, 8}, 3)}, {}, {}};
  std::vector<TestTensor> out;
  std::string kernel;
  ASSERT_TRUE(run_op_vulkan(spec, &out, false, &kernel).ok());
  EXPECT_EQ(kernel, "vulkan.log_softmax_f32");
}

TEST(VulkanNorm, LayerNormShapes) {
  POCKET_REQUIRE_VULKAN();
  struct Case {
    std::vector<int64_t> shape;
    int64_t axis;
    bool bias;
  };
  const Case cases[] = {{{2, 5, 16}, -1, true}, {{2, 5, 16}, -1, false}, {{2, 3, 4}, 1, true},
                        {{3, 300}, -1, true},   {{4, 7}, 0, true},       {{1, 1, 1}, -1, true}};
  uint32_t seed = 10;
  for (const Case& c : cases) {
    SCOPED_TRACE(shape_str(c.shape) + " axis " + std::to_string(c.axis) + (c.bias ? " bias" : " no bias"));
    const int64_t axis = c.axis < 0 ? c.axis + static_cast<int64_t>(c.shape.size()) : c.axis;
    const std::vector<int64_t> pshape(c.shape.begin() + axis, c.shape.end());
    OpSpec spec{fb::OpType::LayerNormalization,
                {rand_f32(c.shape, seed, -3.f, 5.f), rand_f32(pshape, seed + 1)},
                {false, true},
                {AttrDesc::Int("axis", c.axis), AttrDesc::Float("epsilon", 1e-5f)}};
    if (c.bias) {
      spec.inputs.push_back(rand_f32(pshape, seed + 2));
      spec.constant.push_back(true);
    }
    seed += 3;
    both(spec, 1e-4f);
  }
}

TEST(VulkanNorm, LayerNormNonConstantScale) {
  POCKET_REQUIRE_VULKAN();
  OpSpec spec{fb::OpType::LayerNormalization, {rand_f32({3, 12}, 20), rand_f32({12}, 21), rand_f32({12}, 22)}, {}, {}};
  expect_vulkan_matches_cpu(spec, 1e-4f, false);
}

TEST(VulkanNorm, RMSNorm) {
  POCKET_REQUIRE_VULKAN();
  OpSpec with_scale{fb::OpType::RMSNormalization,
                    {rand_f32({2, 4, 33}, 30), rand_f32({33}, 31)},
                    {false, true},
                    {AttrDesc::Float("epsilon", 1e-6f)}};
  both(with_scale, 1e-4f);
  OpSpec no_scale{fb::OpType::RMSNormalization, {rand_f32({5, 200}, 32)}, {}, {AttrDesc::Int("axis", 1)}};
  both(no_scale, 1e-4f);
  OpSpec axis0{fb::OpType::RMSNormalization,
               {rand_f32({3, 2, 5}, 33), rand_f32({3, 2, 5}, 34)},
               {false, true},
               {AttrDesc::Int("axis", 0)}};
  expect_vulkan_matches_cpu(axis0, 1e-4f, false);
  std::vector<TestTensor> out;
  std::string kernel;
  ASSERT_TRUE(run_op_vulkan(axis0, &out, false, &kernel).ok());
  EXPECT_EQ(kernel, "vulkan.rmsnorm_f32");
}

// ---------------------------------------------------------------------------------------------
// Attention

struct AttnCase {
  int64_t b = 1, sq = 4, sk = 4, heads = 2, kv_heads = 2, d = 8, dv = 8;
  bool causal = false;
  bool set_scale = false;
  float scale = 0.f;
  bool set_fill = false;
  float fill = 0.f;
};

OpSpec attention_spec(const AttnCase& c, uint32_t seed) {
  OpSpec spec{fb::OpType::Attention,
              {rand_f32({c.b, c.sq, c.heads * c.d}, seed), rand_f32({c.b, c.sk, c.kv_heads * c.d}, seed + 1),
               rand_f32({c.b, c.sk, c.kv_heads * c.dv}, seed + 2)},
              {},
              {AttrDesc::Int("num_heads", c.heads)}};
  if (c.kv_heads != c.heads) spec.attrs.push_back(AttrDesc::Int("kv_heads", c.kv_heads));
  if (c.causal) spec.attrs.push_back(AttrDesc::Int("causal", 1));
  if (c.set_scale) spec.attrs.push_back(AttrDesc::Float("scale", c.scale));
  if (c.set_fill) spec.attrs.push_back(AttrDesc::Float("mask_fill", c.fill));
  return spec;
}

std::vector<uint8_t> random_bools(size_t n, uint32_t seed, int percent_true) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (uint8_t& x : v) x = static_cast<int>(rng() % 100) < percent_true ? 1 : 0;
  return v;
}

TEST(VulkanAttention, Unmasked) {
  POCKET_REQUIRE_VULKAN();
  std::vector<AttnCase> cases;
  cases.push_back({});                         // basic
  cases.push_back({2, 3, 7, 2, 2, 8, 8});      // Sq != Sk, batch 2
  cases.push_back({1, 5, 2, 3, 3, 4, 4});      // Sq > Sk
  cases.push_back({1, 4, 6, 4, 2, 8, 8});      // GQA 4 / 2
  cases.push_back({2, 3, 5, 6, 1, 4, 4});      // multi-query (kv_heads 1)
  cases.push_back({1, 3, 5, 2, 2, 5, 3});      // odd D, Dv != D
  cases.push_back({1, 2, 150, 2, 1, 16, 24});  // several key blocks
  cases.push_back({1, 2, 3, 1, 1, 130, 70});   // D, Dv over the workgroup size
  AttnCase scaled;
  scaled.set_scale = true, scaled.scale = 0.7f;
  cases.push_back(scaled);
  uint32_t seed = 100;
  for (const AttnCase& c : cases) {
    SCOPED_TRACE("B" + std::to_string(c.b) + " Sq" + std::to_string(c.sq) + " Sk" + std::to_string(c.sk) + " H" +
                 std::to_string(c.heads) + "/" + std::to_string(c.kv_heads) + " D" + std::to_string(c.d) + " Dv" +
                 std::to_string(c.dv));
    both(attention_spec(c, seed), kTol32 * 10);
    seed += 3;
  }
}

TEST(VulkanAttention, Causal) {
  POCKET_REQUIRE_VULKAN();
  AttnCase square;
  square.sq = square.sk = 6, square.causal = true;
  both(attention_spec(square, 200), 1e-4f);
  AttnCase decode;  // Sq < Sk: query i sees keys j <= i + Sk - Sq
  decode.sq = 2, decode.sk = 9, decode.causal = true, decode.heads = 4, decode.kv_heads = 2;
  both(attention_spec(decode, 203), 1e-4f);
  AttnCase longer;  // Sq > Sk: the first queries see no key at all -> zeros
  longer.sq = 6, longer.sk = 3, longer.causal = true;
  both(attention_spec(longer, 206), 1e-4f);
  AttnCase blocks;  // causal across key blocks
  blocks.sq = 70, blocks.sk = 70, blocks.heads = 1, blocks.kv_heads = 1, blocks.d = 4, blocks.dv = 4,
  blocks.causal = true;
  expect_vulkan_matches_cpu(attention_spec(blocks, 209), 1e-4f, false);
}

TEST(VulkanAttention, BoolMasks) {
  POCKET_REQUIRE_VULKAN();
  AttnCase c;
  c.b = 2, c.sq = 5, c.sk = 7, c.heads = 2, c.kv_heads = 2, c.d = 4, c.dv = 6;
  const std::vector<std::vector<int64_t>> shapes = {
      {2, 1, 1, 7},  // DistilBERT style [B, 1, 1, Sk]
      {5, 7},        // [Sq, Sk]
      {7},           // [Sk]
      {2, 2, 5, 7},  // full
      {1, 2, 1, 7},  // per head
      {2, 1, 5, 1},  // per query row
  };
  uint32_t seed = 300;
  for (const auto& shape : shapes) {
    for (bool constant : {false, true}) {
      SCOPED_TRACE("mask " + shape_str(shape) + (constant ? " constant" : ""));
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      OpSpec spec = attention_spec(c, seed);
      spec.inputs.push_back(bool_tensor(shape, random_bools(static_cast<size_t>(n), seed + 5, 30)));
      spec.constant = {false, false, false, constant};
      both(spec, 1e-4f);
      seed += 7;
    }
  }
}

TEST(VulkanAttention, FloatMasksAndFill) {
  POCKET_REQUIRE_VULKAN();
  AttnCase c;
  c.b = 1, c.sq = 4, c.sk = 9, c.heads = 3, c.kv_heads = 1, c.d = 8, c.dv = 8;
  for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{1, 1, 4, 9}, {4, 9}, {1, 3, 1, 9}}) {
    SCOPED_TRACE("additive mask " + shape_str(shape));
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> m = random_floats(static_cast<size_t>(n), 400, -3.f, 1.f);
    for (size_t i = 0; i < m.size(); i += 4) m[i] = -std::numeric_limits<float>::infinity();
    OpSpec spec = attention_spec(c, 401);
    spec.inputs.push_back(TestTensor::f32(shape, m));
    expect_vulkan_matches_cpu(spec, 1e-4f, false);
  }
  // A finite mask_fill (-1e9, as exporters write): masked keys get no weight; and causal + mask.
  AttnCase filled = c;
  filled.set_fill = true, filled.fill = -1e9f;
  filled.causal = true;
  OpSpec spec = attention_spec(filled, 410);
  spec.inputs.push_back(bool_tensor({4, 9}, random_bools(36, 411, 40)));
  both(spec, 1e-4f);
}

TEST(VulkanAttention, FullyMaskedRowsGiveZerosOrUniform) {
  POCKET_REQUIRE_VULKAN();
  AttnCase c;
  c.sq = 3, c.sk = 5, c.heads = 1, c.kv_heads = 1, c.d = 4, c.dv = 4;
  // Row 1 fully masked with the default -inf fill: zeros.
  std::vector<uint8_t> m(15, 0);
  for (int j = 0; j < 5; ++j) m[5 + j] = 1;
  m[2] = 1;
  OpSpec spec = attention_spec(c, 500);
  spec.inputs.push_back(bool_tensor({3, 5}, m));
  both(spec, 1e-4f);
  std::vector<TestTensor> out;
  ASSERT_TRUE(run_op_vulkan(spec, &out).ok());
  const std::vector<float> y = out[0].floats();
  for (int k = 0; k < 4; ++k) EXPECT_EQ(y[4 + k], 0.f);
  // With a finite fill the fully masked row is the mean of V (every score equal), as on the CPU.
  c.set_fill = true, c.fill = -10000.f;
  OpSpec finite = attention_spec(c, 500);
  finite.inputs.push_back(bool_tensor({3, 5}, m));
  both(finite, 1e-4f);
  // An additive mask of all -inf on one row: zeros too.
  std::vector<float> add(15, 0.f);
  for (int j = 0; j < 5; ++j) add[10 + j] = -std::numeric_limits<float>::infinity();
  OpSpec additive = attention_spec(AttnCase{1, 3, 5, 1, 1, 4, 4}, 510);
  additive.inputs.push_back(TestTensor::f32({1, 1, 3, 5}, add));
  expect_vulkan_matches_cpu(additive, 1e-4f, false);
}

TEST(VulkanAttention, DistilBertShape) {
  POCKET_REQUIRE_VULKAN();
  // One DistilBERT layer: B 1, S 128, 12 heads of 64, BOOL mask [B, 1, 1, S] hiding padding.
  AttnCase c;
  c.b = 1, c.sq = c.sk = 128, c.heads = c.kv_heads = 12, c.d = c.dv = 64;
  c.set_fill = true, c.fill = -std::numeric_limits<float>::max();
  OpSpec spec = attention_spec(c, 600);
  std::vector<uint8_t> m(128, 0);
  for (int j = 100; j < 128; ++j) m[j] = 1;
  spec.inputs.push_back(bool_tensor({1, 1, 1, 128}, m));
  expect_vulkan_matches_cpu(spec, 1e-4f, false);
}

TEST(VulkanAttention, WhisperTinyShapes) {
  POCKET_REQUIRE_VULKAN();
  // Decoder self-attention (causal, 6 heads of 64, a few tokens) and cross-attention over the
  // 1500 encoder frames.
  AttnCase self;
  self.sq = self.sk = 5, self.heads = self.kv_heads = 6, self.d = self.dv = 64, self.causal = true;
  both(attention_spec(self, 700), 1e-4f);
  AttnCase cross;
  cross.sq = 3, cross.sk = 1500, cross.heads = cross.kv_heads = 6, cross.d = cross.dv = 64;
  expect_vulkan_matches_cpu(attention_spec(cross, 703), 1e-4f, false);
}

TEST(VulkanAttention, EmptyShapes) {
  POCKET_REQUIRE_VULKAN();
  // No keys: every output row is zeros, as on the CPU. No queries: an empty output.
  AttnCase no_keys;
  no_keys.sk = 0;
  expect_vulkan_matches_cpu(attention_spec(no_keys, 850), 0.f, false);
  AttnCase no_queries;
  no_queries.sq = 0;
  expect_vulkan_matches_cpu(attention_spec(no_queries, 851), 0.f, false);
  OpSpec empty_softmax{fb::OpType::Softmax, {rand_f32({0, 5}, 852)}, {}, {}};
  expect_vulkan_matches_cpu(empty_softmax, 0.f, false);
}

TEST(VulkanAttention, KernelNameAndRefusals) {
  POCKET_REQUIRE_VULKAN();
  std::vector<TestTensor> out;
  std::string kernel;
  ASSERT_TRUE(run_op_vulkan(attention_spec(AttnCase{}, 800), &out, false, &kernel).ok());
  EXPECT_EQ(kernel, "vulkan.attention_f32");
  // A head dim over the shader's limit is refused with the reason (the CPU runs it).
  AttnCase wide;
  wide.sq = wide.sk = 1, wide.heads = wide.kv_heads = 1, wide.d = 600, wide.dv = 4;
  Status s = run_op_vulkan(attention_spec(wide, 801), &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("head dim D 600"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace pocket::testing
