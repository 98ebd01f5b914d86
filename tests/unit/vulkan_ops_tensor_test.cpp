// Vulkan data movement (Gather, Transpose, Slice, Concat, Split, Expand, Tile, DepthToSpace,
// SpaceToDepth, Pad) against the
// CPU ops: float values in fp32 and fp16 storage, int64/int32/bool values as 32-bit words
// (compared exactly), constants and computed inputs, and the refusals' reasons.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/unit/vulkan_test_util.h"

namespace pocket::testing {
namespace {

using format::AttrDesc;

int64_t count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

TestTensor rand_f32(std::vector<int64_t> shape, uint32_t seed) { return testing::rand_f32(std::move(shape), seed, -4.f, 4.f); }

// 0, 1, 2, ... as int64 (exact comparisons catch any misplaced element).
TestTensor iota_i64(std::vector<int64_t> shape, int64_t start = 0) {
  std::vector<int64_t> v(static_cast<size_t>(count(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<int64_t>(i) * 3 - 7;
  return TestTensor::i64(std::move(shape), v);
}

TestTensor i32(std::vector<int64_t> shape, const std::vector<int32_t>& v) {
  TestTensor t{DType::I32, std::move(shape), {}};
  t.bytes.resize(v.size() * 4);
  if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

TestTensor bools(std::vector<int64_t> shape, uint32_t seed) {
  TestTensor t{DType::BOOL, std::move(shape), {}};
  t.bytes.resize(static_cast<size_t>(count(t.shape)));
  for (size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = ((i * 7 + seed) % 3) == 0;
  return t;
}

void both(const OpSpec& spec) {
  {
    SCOPED_TRACE("fp32");
    expect_vulkan_matches_cpu(spec, 0.f, false);
  }
  {
    SCOPED_TRACE("fp16");
    expect_vulkan_matches_cpu(spec, 1e-2f, true);
  }
}

std::string kernel_of(const OpSpec& spec) {
  std::vector<TestTensor> out;
  std::string kernel;
  Status s = run_op_vulkan(spec, &out, false, &kernel);
  return s.ok() ? kernel : s.message();
}

// The runtime appends the storage variant ("vulkan.gather_f32").
#define EXPECT_KERNEL(spec, name) EXPECT_EQ(kernel_of(spec), std::string(name) + "_f32")

// ---------------------------------------------------------------------------------------------

TEST(VulkanTensor, GatherEmbeddingLookup) {
  POCKET_REQUIRE_VULKAN();
  // DistilBERT's word/position embeddings: constant table [V, H], int64 ids [B, S].
  OpSpec spec{fb::OpType::Gather,
              {rand_f32({50, 24}, 1), TestTensor::i64({2, 5}, {0, 49, 3, -1, 7, 7, 12, -50, 20, 1})},
              {true, false},
              {AttrDesc::Int("axis", 0)}};
  both(spec);
  EXPECT_KERNEL(spec, "vulkan.gather");
  // Constant indices, computed data.
  OpSpec const_idx{fb::OpType::Gather, {rand_f32({6, 4}, 2), TestTensor::i64({3}, {5, -6, 2})}, {false, true}, {}};
  both(const_idx);
}

TEST(VulkanTensor, GatherAxesAndIndexShapes) {
  POCKET_REQUIRE_VULKAN();
  struct Case {
    std::vector<int64_t> data;
    int64_t axis;
    std::vector<int64_t> idx_shape;
  };
  const Case cases[] = {{{3, 5, 4}, 1, {2}}, {{3, 5, 4}, -1, {2, 2}},   {{3, 5, 4}, 0, {}},
                        {{7}, 0, {4}},       {{2, 3, 4, 5}, 2, {3, 1}}, {{3, 5, 4}, 1, {0}}};
  uint32_t seed = 10;
  for (const Case& c : cases) {
    SCOPED_TRACE(shape_str(c.data) + " axis " + std::to_string(c.axis) + " indices " + shape_str(c.idx_shape));
    const int64_t rank = static_cast<int64_t>(c.data.size());
    const int64_t dim = c.data[c.axis < 0 ? c.axis + rank : c.axis];
    std::vector<int32_t> idx(static_cast<size_t>(count(c.idx_shape)));
    for (size_t i = 0; i < idx.size(); ++i)
      idx[i] = static_cast<int32_t>((i * 5 + seed) % (2 * dim)) - static_cast<int32_t>(dim);
    OpSpec spec{
        fb::OpType::Gather, {rand_f32(c.data, seed++), i32(c.idx_shape, idx)}, {}, {AttrDesc::Int("axis", c.axis)}};
    both(spec);
  }
}

TEST(VulkanTensor, GatherIntAndBoolData) {
  POCKET_REQUIRE_VULKAN();
  OpSpec ints{fb::OpType::Gather, {iota_i64({4, 3}), TestTensor::i64({2}, {3, -4})}, {}, {AttrDesc::Int("axis", 0)}};
  expect_vulkan_matches_cpu(ints);
  OpSpec const_ints{
      fb::OpType::Gather, {iota_i64({4, 3}), TestTensor::i64({2}, {2, 0})}, {true, false}, {AttrDesc::Int("axis", 1)}};
  expect_vulkan_matches_cpu(const_ints);
  OpSpec bool_data{fb::OpType::Gather, {bools({5, 2}, 1), TestTensor::i64({3}, {4, 0, 2})}, {}, {}};
  expect_vulkan_matches_cpu(bool_data);
}

TEST(VulkanTensor, GatherRuntimeOutOfRangeIndexIsClamped) {
  POCKET_REQUIRE_VULKAN();
  // Run-time indices out of range are clamped, as on the CPU (never a read out of bounds).
  OpSpec spec{fb::OpType::Gather, {rand_f32({4, 3}, 20), TestTensor::i64({3}, {9, -9, 1})}, {}, {}};
  expect_vulkan_matches_cpu(spec, 0.f);
}

TEST(VulkanTensor, TransposePerms) {
  POCKET_REQUIRE_VULKAN();
  struct Case {
    std::vector<int64_t> shape, perm;
  };
  const Case cases[] = {{{3, 5}, {1, 0}},
                        {{2, 3, 4}, {0, 2, 1}},
                        {{2, 3, 4}, {2, 0, 1}},
                        {{1, 4, 3, 6}, {0, 2, 3, 1}},  // NCHW -> NHWC
                        {{2, 5, 3, 4}, {0, 2, 1, 3}},  // head split [B, S, H, D] -> [B, H, S, D]
                        {{2, 3, 2, 3, 2}, {4, 2, 0, 3, 1}},
                        {{2, 1, 3, 2, 2, 3}, {5, 4, 3, 2, 1, 0}},
                        {{4, 3}, {}}};  // no perm: reverse
  uint32_t seed = 30;
  for (const Case& c : cases) {
    SCOPED_TRACE(shape_str(c.shape) + " perm " + shape_str(c.perm));
    OpSpec spec{fb::OpType::Transpose, {rand_f32(c.shape, seed++)}, {}, {}};
    if (!c.perm.empty()) spec.attrs.push_back(AttrDesc::Ints("perm", c.perm));
    both(spec);
    OpSpec ints{fb::OpType::Transpose, {iota_i64(c.shape)}, {}, spec.attrs};
    expect_vulkan_matches_cpu(ints);
  }
}

TEST(VulkanTensor, TransposeRank7MergesOrRefuses) {
  POCKET_REQUIRE_VULKAN();
  // Rank 7 whose two trailing dims stay together: merged to 6 dims, runs.
  OpSpec merged{fb::OpType::Transpose,
                {rand_f32({2, 1, 2, 3, 2, 2, 3}, 40)},
                {},
                {AttrDesc::Ints("perm", {4, 3, 2, 1, 0, 5, 6})}};
  both(merged);
  // A full 7-dim reversal keeps 7 dims: refused with the reason.
  OpSpec seven{fb::OpType::Transpose,
               {rand_f32({2, 3, 2, 3, 2, 3, 2}, 41)},
               {},
               {AttrDesc::Ints("perm", {6, 5, 4, 3, 2, 1, 0})}};
  std::vector<TestTensor> out;
  Status s = run_op_vulkan(seven, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("more than 6 dims"), std::string::npos) << s.message();
}

TEST(VulkanTensor, SliceAttributes) {
  POCKET_REQUIRE_VULKAN();
  struct Case {
    std::vector<int64_t> shape, starts, ends, axes, steps;
  };
  const int64_t kBig = INT64_MAX;
  const Case cases[] = {
      {{10}, {2}, {8}, {}, {}},
      {{10}, {-3}, {kBig}, {}, {}},
      {{10}, {8}, {1}, {0}, {-2}},       // negative step
      {{10}, {-1}, {-kBig}, {0}, {-1}},  // full reversal
      {{4, 6, 5}, {1, 0}, {3, 6}, {0, 2}, {1, 2}},
      {{4, 6, 5}, {5}, {-7}, {1}, {-3}},
      {{2, 3, 4, 5}, {0, 1, 1}, {1, 3, 5}, {0, -2, -1}, {1, 1, 3}},
      {{4, 6}, {3}, {3}, {1}, {}},        // empty
      {{3, 8}, {-100}, {100}, {1}, {3}},  // clamped
  };
  uint32_t seed = 50;
  for (const Case& c : cases) {
    SCOPED_TRACE(shape_str(c.shape) + " starts " + shape_str(c.starts) + " ends " + shape_str(c.ends) + " axes " +
                 shape_str(c.axes) + " steps " + shape_str(c.steps));
    std::vector<AttrDesc> attrs = {AttrDesc::Ints("starts", c.starts), AttrDesc::Ints("ends", c.ends)};
    if (!c.axes.empty()) attrs.push_back(AttrDesc::Ints("axes", c.axes));
    if (!c.steps.empty()) attrs.push_back(AttrDesc::Ints("steps", c.steps));
    both(OpSpec{fb::OpType::Slice, {rand_f32(c.shape, seed++)}, {}, attrs});
    expect_vulkan_matches_cpu(OpSpec{fb::OpType::Slice, {iota_i64(c.shape)}, {}, attrs});
  }
}

TEST(VulkanTensor, SliceOperandInputs) {
  POCKET_REQUIRE_VULKAN();
  // ONNX's operand form: starts/ends/axes/steps as constant int64 inputs.
  OpSpec spec{fb::OpType::Slice,
              {rand_f32({5, 7}, 60), TestTensor::i64({2}, {4, 1}), TestTensor::i64({2}, {0, 7}),
               TestTensor::i64({2}, {0, 1}), TestTensor::i64({2}, {-2, 2})},
              {false, true, true, true, true},
              {}};
  both(spec);
  EXPECT_KERNEL(spec, "vulkan.slice");
}

TEST(VulkanTensor, Concat) {
  POCKET_REQUIRE_VULKAN();
  OpSpec axis0{fb::OpType::Concat, {rand_f32({2, 3}, 70), rand_f32({4, 3}, 71)}, {}, {AttrDesc::Int("axis", 0)}};
  both(axis0);
  OpSpec axis1{fb::OpType::Concat,
               {rand_f32({2, 1, 4}, 72), rand_f32({2, 3, 4}, 73), rand_f32({2, 2, 4}, 74)},
               {},
               {AttrDesc::Int("axis", 1)}};
  both(axis1);
  OpSpec last{fb::OpType::Concat,
              {rand_f32({3, 2, 5}, 75), rand_f32({3, 2, 1}, 76)},
              {true, false},
              {AttrDesc::Int("axis", -1)}};  // a constant part (a class token, a cache prefix)
  both(last);
  OpSpec with_empty{fb::OpType::Concat, {rand_f32({2, 0}, 77), rand_f32({2, 3}, 78)}, {}, {AttrDesc::Int("axis", 1)}};
  expect_vulkan_matches_cpu(with_empty, 0.f);
  OpSpec ints{fb::OpType::Concat, {iota_i64({2, 2}), iota_i64({2, 3}, 100)}, {false, true}, {AttrDesc::Int("axis", 1)}};
  expect_vulkan_matches_cpu(ints);
  OpSpec bool_cat{fb::OpType::Concat, {bools({3}, 1), bools({2}, 2)}, {}, {}};
  expect_vulkan_matches_cpu(bool_cat);
  EXPECT_KERNEL(axis1, "vulkan.concat");
}

TEST(VulkanTensor, Split) {
  POCKET_REQUIRE_VULKAN();
  OpSpec equal{fb::OpType::Split, {rand_f32({6, 4}, 80)}, {}, {AttrDesc::Int("axis", 0)}, 3};
  both(equal);
  OpSpec parts{fb::OpType::Split,
               {rand_f32({2, 7, 3}, 81)},
               {},
               {AttrDesc::Int("axis", 1), AttrDesc::Ints("split", {2, 4, 1})},
               3};
  both(parts);
  OpSpec ints{fb::OpType::Split, {iota_i64({3, 4})}, {}, {AttrDesc::Int("axis", -1)}, 2};
  expect_vulkan_matches_cpu(ints);
}

TEST(VulkanTensor, Expand) {
  POCKET_REQUIRE_VULKAN();
  OpSpec row{fb::OpType::Expand, {rand_f32({1, 4}, 90)}, {}, {AttrDesc::Ints("shape", {3, 4})}};
  both(row);
  OpSpec rank_up{fb::OpType::Expand, {rand_f32({3, 1}, 91)}, {}, {AttrDesc::Ints("shape", {2, 3, 5})}};
  both(rank_up);
  OpSpec bidirectional{fb::OpType::Expand, {rand_f32({2, 1, 3}, 92)}, {}, {AttrDesc::Ints("shape", {4, 1})}};
  both(bidirectional);
  OpSpec mask{fb::OpType::Expand, {bools({1, 1, 1, 6}, 3)}, {}, {AttrDesc::Ints("shape", {2, 3, 4, 6})}};
  expect_vulkan_matches_cpu(mask);
}

TEST(VulkanTensor, Tile) {
  POCKET_REQUIRE_VULKAN();
  OpSpec a{fb::OpType::Tile, {rand_f32({2, 3}, 100)}, {}, {AttrDesc::Ints("repeats", {3, 2})}};
  both(a);
  OpSpec b{fb::OpType::Tile, {rand_f32({2, 1, 3}, 101)}, {}, {AttrDesc::Ints("repeats", {1, 4, 1})}};
  both(b);
  OpSpec ints{fb::OpType::Tile, {iota_i64({3})}, {}, {AttrDesc::Ints("repeats", {4})}};
  expect_vulkan_matches_cpu(ints);
}

TEST(VulkanTensor, DepthToSpaceAndSpaceToDepth) {
  POCKET_REQUIRE_VULKAN();
  for (const char* mode : {"DCR", "CRD"}) {
    SCOPED_TRACE(mode);
    OpSpec d2s{fb::OpType::DepthToSpace,
               {rand_f32({2, 8, 3, 2}, 120)},
               {},
               {AttrDesc::Int("blocksize", 2), AttrDesc::String("mode", mode)}};
    both(d2s);
  }
  OpSpec s2d{fb::OpType::SpaceToDepth, {rand_f32({1, 3, 6, 4}, 121)}, {}, {AttrDesc::Int("blocksize", 2)}};
  both(s2d);
  OpSpec ints{fb::OpType::SpaceToDepth, {iota_i64({1, 2, 3, 6})}, {}, {AttrDesc::Int("blocksize", 3)}};
  expect_vulkan_matches_cpu(ints);
  EXPECT_KERNEL(s2d, "vulkan.space_to_depth");
}

TEST(VulkanTensor, Pad) {
  POCKET_REQUIRE_VULKAN();
  OpSpec constant{fb::OpType::Pad,
                  {rand_f32({1, 3, 4, 2}, 110)},
                  {},
                  {AttrDesc::Ints("pads", {0, 1, 2, 0, 0, 2, 1, 0}), AttrDesc::Float("value", 1.5f)}};
  both(constant);
  OpSpec crop{fb::OpType::Pad, {rand_f32({5, 6}, 111)}, {}, {AttrDesc::Ints("pads", {-1, 2, 1, -3})}};
  both(crop);
  OpSpec reflect{fb::OpType::Pad,
                 {rand_f32({3, 4}, 112)},
                 {},
                 {AttrDesc::Ints("pads", {2, 5, 2, 3}), AttrDesc::String("mode", "reflect")}};
  both(reflect);
  OpSpec edge{fb::OpType::Pad,
              {rand_f32({2, 3, 3}, 113)},
              {},
              {AttrDesc::Ints("pads", {0, 2, 1, 1, 0, 3}), AttrDesc::String("mode", "edge")}};
  both(edge);
  OpSpec ints{
      fb::OpType::Pad, {iota_i64({2, 3})}, {}, {AttrDesc::Ints("pads", {1, 1, 0, 2}), AttrDesc::Float("value", -2.7f)}};
  expect_vulkan_matches_cpu(ints);
  OpSpec operand{fb::OpType::Pad,
                 {rand_f32({2, 2}, 114), TestTensor::i64({4}, {1, 0, 0, 1}), TestTensor::f32({}, {3.f})},
                 {false, true, true},
                 {}};
  both(operand);
  EXPECT_KERNEL(operand, "vulkan.pad");
}

TEST(VulkanTensor, Refusals) {
  POCKET_REQUIRE_VULKAN();
  std::vector<TestTensor> out;
  // f64 values have no Vulkan storage.
  TestTensor f64{DType::F64, {2, 2}, std::vector<uint8_t>(32, 0)};
  Status s = run_op_vulkan(OpSpec{fb::OpType::Transpose, {f64}, {}, {}}, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("float64"), std::string::npos) << s.message();
  // Constant int64 data that does not fit int32 on the device.
  OpSpec big{
      fb::OpType::Gather, {TestTensor::i64({2}, {int64_t{1} << 40, 1}), TestTensor::i64({1}, {0})}, {true, false}, {}};
  s = run_op_vulkan(big, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("outside int32"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace pocket::testing
