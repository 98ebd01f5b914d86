// Vulkan ReduceMean/Sum/Max/Min/Prod/L2, ArgMax/ArgMin, InstanceNormalization, Resize and Trilu
// against the CPU ops, fp32 (1e-5 relative) and fp16 storage (looser), on small shapes (lavapipe
// is slow). The reductions run in both shader forms (POCKET_VK_CPU_STYLE=1: one invocation per
// output on a CPU device; =0: shared-memory rows / split strided reductions).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/partition.h"
#include "tests/unit/fixture_models.h"
#include "tests/unit/vulkan_test_util.h"

namespace pocket::testing {
namespace {

using format::AttrDesc;

constexpr float kTol32 = 1e-5f;
constexpr float kTol16 = 1e-2f;

// Values exactly representable in fp16 (multiples of 1/8 in [-8, 8]), so fp16 storage keeps every
// comparison (ArgMax ties) and every copied value exact.
TestTensor grid_f32(std::vector<int64_t> shape, uint32_t seed, int levels = 128) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::mt19937 rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(static_cast<int>(rng() % levels) - levels / 2) / 8.f;
  return TestTensor::f32(std::move(shape), v);
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

// Runs f once per shader form.
template <class F>
void each_form(F f) {
  for (const char* style : {"1", "0"}) {
    SCOPED_TRACE(std::string("POCKET_VK_CPU_STYLE=") + style);
    setenv("POCKET_VK_CPU_STYLE", style, 1);
    f();
  }
  unsetenv("POCKET_VK_CPU_STYLE");
}

std::string kernel_of(const OpSpec& spec) {
  std::vector<TestTensor> out;
  std::string kernel;
  Status s = run_op_vulkan(spec, &out, false, &kernel);
  EXPECT_TRUE(s.ok()) << s.message();
  return kernel;
}

const fb::OpType kReduceOps[] = {fb::OpType::ReduceMean, fb::OpType::ReduceSum,  fb::OpType::ReduceMax,
                                 fb::OpType::ReduceMin,  fb::OpType::ReduceProd, fb::OpType::ReduceL2};

OpSpec reduce_spec(fb::OpType op, TestTensor x, std::vector<int64_t> axes, int keepdims, int noop = -1) {
  OpSpec spec{op, {std::move(x)}, {}, {AttrDesc::Int("keepdims", keepdims)}};
  if (!axes.empty()) spec.attrs.push_back(AttrDesc::Ints("axes", axes));
  if (noop >= 0) spec.attrs.push_back(AttrDesc::Int("noop_with_empty_axes", noop));
  return spec;
}

// Prod of many values needs inputs near 1 to stay finite and meaningful.
TestTensor reduce_input(fb::OpType op, const std::vector<int64_t>& shape, uint32_t seed) {
  if (op == fb::OpType::ReduceProd) return rand_f32(shape, seed, 0.9f, 1.1f);
  return rand_f32(shape, seed, -3.f, 3.f);
}

// ---------------------------------------------------------------------------------------------
// Reductions

TEST(VulkanReduce, AxesAndKeepdims) {
  POCKET_REQUIRE_VULKAN();
  struct Case {
    std::vector<int64_t> shape;
    std::vector<int64_t> axes;
  };
  const Case cases[] = {
      {{2, 8, 7, 7}, {2, 3}},           // spatial mean of NCHW: rows
      {{2, 7, 7, 40}, {1, 2}},          // spatial mean of NHWC (the converter's CNN layout): strided
      {{2, 24, 49}, {1}},               // a middle axis: strided
      {{3, 5, 300}, {-1}},              // long rows
      {{4, 6}, {0}},                    // [R, K] over R
      {{2, 3, 4, 5}, {0, 2}},           // alternating kept / reduced groups
      {{2, 3, 4, 5}, {1, 3}},           // alternating, innermost reduced
      {{3, 1, 4}, {1}},                 // a size-1 axis
      {{1, 9, 1}, {0, 2}},              // only size-1 axes: a copy
      {{2, 3, 1, 5}, {-3, -1}},         // negative axes around a size-1 axis
      {{700}, {0}},                     // one long row
      {{2, 2, 2, 2, 2, 2}, {0, 2, 4}},  // three of each group
  };
  uint32_t seed = 1;
  each_form([&] {
    for (const Case& c : cases) {
      for (fb::OpType op : kReduceOps) {
        for (int keep : {1, 0}) {
          SCOPED_TRACE(shape_str(c.shape) + " axes " + std::to_string(c.axes.size()) + " keepdims " +
                       std::to_string(keep) + " " + fb::EnumNameOpType(op));
          both(reduce_spec(op, reduce_input(op, c.shape, seed++), c.axes, keep), 2e-5f, 2e-2f);
        }
      }
    }
  });
}

TEST(VulkanReduce, RandomShapesAndAxes) {
  POCKET_REQUIRE_VULKAN();
  // Random ranks 1..6, dims 1..6 (some 1), random axis subsets (negative half the time).
  std::mt19937 rng(77);
  each_form([&] {
    for (int iter = 0; iter < 40; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 6);
      std::vector<int64_t> shape;
      for (int d = 0; d < rank; ++d) shape.push_back(1 + static_cast<int64_t>(rng() % 6));
      std::vector<int64_t> axes;
      for (int d = 0; d < rank; ++d)
        if (rng() % 2) axes.push_back(rng() % 2 ? d : d - rank);
      const fb::OpType op = kReduceOps[rng() % 6];
      const int keep = static_cast<int>(rng() % 2);
      std::string axes_s;
      for (int64_t a : axes) axes_s += std::to_string(a) + " ";
      SCOPED_TRACE(shape_str(shape) + " axes [" + axes_s + "] keepdims " + std::to_string(keep) + " " +
                   fb::EnumNameOpType(op));
      both(reduce_spec(op, reduce_input(op, shape, 1000 + static_cast<uint32_t>(iter)), axes, keep), 2e-5f, 2e-2f);
    }
  });
}

TEST(VulkanReduce, AllAxesAndEmptyAxes) {
  POCKET_REQUIRE_VULKAN();
  each_form([&] {
    uint32_t seed = 100;
    for (fb::OpType op : kReduceOps) {
      SCOPED_TRACE(fb::EnumNameOpType(op));
      // No axes: every axis (noop_with_empty_axes absent or 0), small and large (split rows).
      both(reduce_spec(op, reduce_input(op, {3, 4, 5}, seed++), {}, 1), 2e-5f, 2e-2f);
      both(reduce_spec(op, reduce_input(op, {3, 4, 5}, seed++), {}, 0, 0), 2e-5f, 2e-2f);
      both(reduce_spec(op, reduce_input(op, {4, 1500}, seed++), {}, 0), 1e-4f, 2e-2f);
      // Listing every axis explicitly.
      both(reduce_spec(op, reduce_input(op, {2, 3, 7}, seed++), {0, 1, 2}, 1), 2e-5f, 2e-2f);
      // noop_with_empty_axes = 1 and no axes: Y = X, exactly (fp16: the storage rounding).
      both(reduce_spec(op, reduce_input(op, {2, 3, 7}, seed++), {}, 1, 1), 0.f, 1e-3f);
      // A scalar input.
      both(reduce_spec(op, TestTensor::f32({}, {1.5f}), {}, 0), kTol32, kTol16);
    }
  });
}

TEST(VulkanReduce, ManyOutputsAndLongStrides) {
  POCKET_REQUIRE_VULKAN();
  each_form([&] {
    // Enough outputs for the strided layout with one invocation per output, and a few outputs with
    // long strided reductions (split over lanes).
    both(reduce_spec(fb::OpType::ReduceMean, rand_f32({2, 16, 2100}, 200), {1}, 1), 1e-5f, 1e-2f);
    both(reduce_spec(fb::OpType::ReduceSum, rand_f32({1, 3000, 5}, 201), {1}, 0), 1e-4f, 2e-2f);
    both(reduce_spec(fb::OpType::ReduceMax, rand_f32({1, 3000, 5}, 202), {1}, 0), 0.f, 1e-3f);
    both(reduce_spec(fb::OpType::ReduceMean, rand_f32({2, 1024, 7, 7}, 203), {2, 3}, 0), 1e-5f, 1e-2f);
  });
}

TEST(VulkanReduce, FewOutputsTwoPasses) {
  POCKET_REQUIRE_VULKAN();
  // Few outputs with long reductions: fp32 partials in scratch, then a second dispatch.
  struct Case {
    std::vector<int64_t> shape;
    std::vector<int64_t> axes;
  };
  const Case cases[] = {{{4, 5000}, {}}, {{3, 20000}, {1}}, {{17000, 3}, {0}}, {{2, 130, 2, 70}, {1, 3}}};
  uint32_t seed = 250;
  each_form([&] {
    for (const Case& c : cases) {
      for (fb::OpType op : kReduceOps) {
        SCOPED_TRACE(shape_str(c.shape) + " " + fb::EnumNameOpType(op));
        TestTensor x =
            op == fb::OpType::ReduceProd ? rand_f32(c.shape, seed++, 0.99f, 1.01f) : rand_f32(c.shape, seed++);
        both(reduce_spec(op, std::move(x), c.axes, 0), 1e-4f, 2e-2f);
      }
    }
  });
  setenv("POCKET_VK_CPU_STYLE", "0", 1);
  EXPECT_EQ(kernel_of(reduce_spec(fb::OpType::ReduceSum, rand_f32({3, 20000}, 1), {1}, 1)), "vulkan.reduce_2pass_f32");
  unsetenv("POCKET_VK_CPU_STYLE");
}

TEST(VulkanReduce, MaxMinPropagateNaNAsTheCpuDoes) {
  POCKET_REQUIRE_VULKAN();
  // A NaN anywhere in a reduction gives NaN on both backends (numpy, PyTorch, ONNX Runtime).
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> v = random_floats(4 * 9, 300, -5.f, 5.f);
  v[0] = nan;          // first element of row 0
  v[9 + 4] = nan;      // middle of row 1
  v[2 * 9 + 8] = nan;  // last of row 2
  each_form([&] {
    for (fb::OpType op : {fb::OpType::ReduceMax, fb::OpType::ReduceMin}) {
      SCOPED_TRACE(fb::EnumNameOpType(op));
      both(reduce_spec(op, TestTensor::f32({4, 9}, v), {1}, 1), 0.f, 1e-2f);
      both(reduce_spec(op, TestTensor::f32({4, 9}, v), {0}, 0), 0.f, 1e-2f);
      // Where the NaNs are: rows 0-2 over axis 1, columns 0, 4 and 8 over axis 0.
      for (bool fp16 : {false, true}) {
        std::vector<TestTensor> rows, cols;
        ASSERT_TRUE(run_op_vulkan(reduce_spec(op, TestTensor::f32({4, 9}, v), {1}, 1), &rows, fp16).ok());
        ASSERT_TRUE(run_op_vulkan(reduce_spec(op, TestTensor::f32({4, 9}, v), {0}, 0), &cols, fp16).ok());
        const std::vector<float> r = rows[0].floats(), c = cols[0].floats();
        for (int i = 0; i < 4; ++i) EXPECT_EQ(std::isnan(r[i]), i < 3) << "row " << i;
        for (int j = 0; j < 9; ++j) EXPECT_EQ(std::isnan(c[j]), j == 0 || j == 4 || j == 8) << "column " << j;
      }
    }
  });
  // Long rows through the two-pass form and the shared-memory tree: one NaN among 20000.
  std::vector<float> longrow = random_floats(2 * 20000, 302);
  longrow[20000 + 12345] = nan;
  setenv("POCKET_VK_CPU_STYLE", "0", 1);
  for (fb::OpType op : {fb::OpType::ReduceMax, fb::OpType::ReduceMin}) {
    std::vector<TestTensor> got;
    ASSERT_TRUE(run_op_vulkan(reduce_spec(op, TestTensor::f32({2, 20000}, longrow), {1}, 0), &got).ok());
    EXPECT_FALSE(std::isnan(got[0].floats()[0]));
    EXPECT_TRUE(std::isnan(got[0].floats()[1]));
  }
  unsetenv("POCKET_VK_CPU_STYLE");
  // Infinities pass through (compared exactly: a relative tolerance is meaningless there).
  std::vector<float> w = random_floats(12, 301);
  w[3] = std::numeric_limits<float>::infinity();
  w[7] = -std::numeric_limits<float>::infinity();
  for (fb::OpType op : {fb::OpType::ReduceMax, fb::OpType::ReduceMin}) {
    OpSpec spec = reduce_spec(op, TestTensor::f32({3, 4}, w), {1}, 1);
    std::vector<TestTensor> want, got;
    ASSERT_TRUE(run_op(spec, &want).ok());
    ASSERT_TRUE(run_op_vulkan(spec, &got).ok());
    EXPECT_EQ(got[0].floats(), want[0].floats()) << fb::EnumNameOpType(op);
  }
}

TEST(VulkanReduce, EmptyInput) {
  POCKET_REQUIRE_VULKAN();
  // Reducing an empty axis gives the identity (Sum 0, Prod 1, L2 0) as the CPU does.
  for (fb::OpType op : {fb::OpType::ReduceSum, fb::OpType::ReduceProd, fb::OpType::ReduceL2}) {
    SCOPED_TRACE(fb::EnumNameOpType(op));
    both(reduce_spec(op, TestTensor::f32({0, 3}, {}), {0}, 1), 0.f, 0.f);
  }
  // An empty kept axis: an empty output.
  both(reduce_spec(fb::OpType::ReduceMean, TestTensor::f32({0, 3}, {}), {1}, 0), 0.f, 0.f);
}

TEST(VulkanReduce, KernelNames) {
  POCKET_REQUIRE_VULKAN();
  setenv("POCKET_VK_CPU_STYLE", "0", 1);
  EXPECT_EQ(kernel_of(reduce_spec(fb::OpType::ReduceMean, rand_f32({4, 256}, 1), {1}, 1)), "vulkan.reduce_rows_f32");
  EXPECT_EQ(kernel_of(reduce_spec(fb::OpType::ReduceMean, rand_f32({2, 64, 3}, 2), {1}, 1)), "vulkan.reduce_split_f32");
  EXPECT_EQ(kernel_of(reduce_spec(fb::OpType::ReduceSum, rand_f32({2, 3}, 3), {}, 1, 1)), "vulkan.reduce_copy_f32");
  setenv("POCKET_VK_CPU_STYLE", "1", 1);
  EXPECT_EQ(kernel_of(reduce_spec(fb::OpType::ReduceMean, rand_f32({4, 256}, 1), {1}, 1)), "vulkan.reduce_f32");
  unsetenv("POCKET_VK_CPU_STYLE");
}

TEST(VulkanReduce, RankEightAlternating) {
  POCKET_REQUIRE_VULKAN();
  // The most groups a model can have (rank 8, axes alternating): 4 kept and 4 reduced.
  each_form([&] {
    both(reduce_spec(fb::OpType::ReduceSum, rand_f32({2, 3, 2, 3, 2, 3, 2, 3}, 5), {1, 3, 5, 7}, 1), 2e-5f, 2e-2f);
    both(reduce_spec(fb::OpType::ReduceMax, rand_f32({3, 2, 3, 2, 3, 2, 3, 2}, 6), {0, 2, 4, 6}, 0), 0.f, 1e-3f);
  });
}

// ---------------------------------------------------------------------------------------------
// ArgMax / ArgMin

TEST(VulkanReduce, ArgMaxArgMin) {
  POCKET_REQUIRE_VULKAN();
  struct Case {
    std::vector<int64_t> shape;
    int64_t axis;
  };
  const Case cases[] = {{{2, 10}, -1}, {{3, 4, 5}, 1}, {{6}, 0}, {{2, 1, 3}, 1}, {{4, 3, 2}, 0}, {{1, 1000}, 1}};
  uint32_t seed = 400;
  for (const Case& c : cases) {
    for (fb::OpType op : {fb::OpType::ArgMax, fb::OpType::ArgMin}) {
      for (int keep : {1, 0}) {
        for (int last : {0, 1}) {
          SCOPED_TRACE(shape_str(c.shape) + " axis " + std::to_string(c.axis) + " keepdims " + std::to_string(keep) +
                       " last " + std::to_string(last) + " " + fb::EnumNameOpType(op));
          // Few distinct values: many ties, so first/last index selection matters.
          OpSpec spec{op,
                      {grid_f32(c.shape, seed++, 8)},
                      {},
                      {AttrDesc::Int("axis", c.axis), AttrDesc::Int("keepdims", keep),
                       AttrDesc::Int("select_last_index", last)}};
          both(spec, 0.f, 0.f);
        }
      }
    }
  }
}

TEST(VulkanReduce, ArgMaxIntegersAndNaN) {
  POCKET_REQUIRE_VULKAN();
  OpSpec i32{fb::OpType::ArgMax,
             {TestTensor{DType::I32, {2, 4}, {}}},
             {},
             {AttrDesc::Int("axis", 1), AttrDesc::Int("keepdims", 0)}};
  const int32_t iv[8] = {3, -7, 3, 1, -2, -2, -9, 100000};
  i32.inputs[0].bytes.assign(reinterpret_cast<const uint8_t*>(iv), reinterpret_cast<const uint8_t*>(iv) + 32);
  expect_vulkan_matches_cpu(i32, 0.f, false);
  OpSpec i64{fb::OpType::ArgMin,
             {TestTensor::i64({3, 2}, {5, -1, 5, 8, -3, -1})},
             {},
             {AttrDesc::Int("axis", 0), AttrDesc::Int("select_last_index", 1)}};
  expect_vulkan_matches_cpu(i64, 0.f, false);
  expect_vulkan_matches_cpu(i64, 0.f, true);
  // NaN is the extreme of both ops, the first NaN or the last with select_last_index, as on the CPU.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (fb::OpType op : {fb::OpType::ArgMax, fb::OpType::ArgMin})
    for (int last : {0, 1}) {
      OpSpec f{op,
               {TestTensor::f32({4, 3}, {nan, 1.f, 2.f, 1.f, nan, 0.f, 2.f, 5.f, nan, 3.f, nan, nan})},
               {},
               {AttrDesc::Int("axis", 1), AttrDesc::Int("keepdims", 0), AttrDesc::Int("select_last_index", last)}};
      SCOPED_TRACE(std::string(fb::EnumNameOpType(op)) + " last " + std::to_string(last));
      for (bool fp16 : {false, true}) {
        std::vector<TestTensor> got;
        ASSERT_TRUE(run_op_vulkan(f, &got, fp16).ok());
        EXPECT_EQ(got[0].int64s(), (std::vector<int64_t>{0, 1, 2, last ? 2 : 1})) << "fp16 " << fp16;
      }
      expect_vulkan_matches_cpu(f, 0.f, false);
      EXPECT_EQ(kernel_of(f), op == fb::OpType::ArgMax ? "vulkan.argmax_f32" : "vulkan.argmin_f32");
    }
}

// ---------------------------------------------------------------------------------------------
// InstanceNormalization

TEST(VulkanReduce, InstanceNorm) {
  POCKET_REQUIRE_VULKAN();
  const std::vector<std::vector<int64_t>> shapes = {
      {1, 3, 5, 5}, {2, 4, 300}, {2, 2, 1, 1}, {1, 5, 2, 3, 4}, {3, 2, 9}};
  uint32_t seed = 500;
  for (const auto& shape : shapes) {
    SCOPED_TRACE(shape_str(shape));
    OpSpec spec{fb::OpType::InstanceNormalization,
                {rand_f32(shape, seed, 1.f, 6.f), rand_f32({shape[1]}, seed + 1), rand_f32({shape[1]}, seed + 2)},
                {false, true, true},
                {AttrDesc::Float("epsilon", 1e-3f)}};
    seed += 3;
    both(spec, 1e-4f, 2e-2f);
  }
  // Non-constant scale and bias.
  OpSpec dyn{
      fb::OpType::InstanceNormalization, {rand_f32({2, 3, 17}, 520), rand_f32({3}, 521), rand_f32({3}, 522)}, {}, {}};
  expect_vulkan_matches_cpu(dyn, 1e-4f, false);
  EXPECT_EQ(kernel_of(dyn), "vulkan.instance_norm_f32");
}

// ---------------------------------------------------------------------------------------------
// Resize

OpSpec resize_spec(TestTensor x, const std::string& mode, const std::string& coord, const std::string& nearest,
                   std::vector<float> scales, std::vector<int64_t> sizes = {}) {
  OpSpec spec{fb::OpType::Resize, {std::move(x)}, {}, {AttrDesc::String("mode", mode)}};
  if (!coord.empty()) spec.attrs.push_back(AttrDesc::String("coordinate_transformation_mode", coord));
  if (!nearest.empty()) spec.attrs.push_back(AttrDesc::String("nearest_mode", nearest));
  if (!scales.empty()) spec.attrs.push_back(AttrDesc::Floats("scales", scales));
  if (!sizes.empty()) spec.attrs.push_back(AttrDesc::Ints("sizes", sizes));
  return spec;
}

TEST(VulkanReduce, ResizeNearest) {
  POCKET_REQUIRE_VULKAN();
  const char* coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                          "tf_half_pixel_for_nearest"};
  const char* rounds[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  uint32_t seed = 600;
  for (const char* c : coords) {
    for (const char* r : rounds) {
      SCOPED_TRACE(std::string(c) + " " + r);
      both(resize_spec(grid_f32({1, 2, 3, 4}, seed++), "nearest", c, r, {1.f, 1.f, 2.f, 1.5f}), 0.f, 0.f);
      both(resize_spec(grid_f32({2, 1, 7, 5}, seed++), "nearest", c, r, {}, {2, 1, 3, 9}), 0.f, 0.f);
    }
  }
  // Integer and bool data move as 32-bit words; ranks 1 to 3.
  OpSpec ints = resize_spec(TestTensor::i64({1, 1, 2, 2}, {1, -2, 300000, 4}), "nearest", "", "", {1.f, 1.f, 2.f, 3.f});
  both(ints, 0.f, 0.f);
  OpSpec bools =
      resize_spec(TestTensor{DType::BOOL, {2, 3}, {1, 0, 0, 1, 1, 0}}, "nearest", "asymmetric", "floor", {2.f, 2.f});
  both(bools, 0.f, 0.f);
  both(resize_spec(grid_f32({5}, seed++), "nearest", "", "", {2.5f}), 0.f, 0.f);
  both(resize_spec(grid_f32({3, 4, 5}, seed++), "nearest", "", "", {}, {2, 8, 2}), 0.f, 0.f);
  both(resize_spec(grid_f32({1, 2, 3, 2, 3, 2}, seed++), "nearest", "", "", {1.f, 2.f, 1.f, 2.f, 0.7f, 3.f}), 0.f, 0.f);
}

TEST(VulkanReduce, ResizeLinear) {
  POCKET_REQUIRE_VULKAN();
  const char* coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                          "tf_half_pixel_for_nearest"};
  uint32_t seed = 700;
  for (const char* c : coords) {
    SCOPED_TRACE(c);
    both(resize_spec(rand_f32({1, 3, 4, 5}, seed++), "linear", c, "", {1.f, 1.f, 2.f, 2.f}), kTol32, kTol16);
    both(resize_spec(rand_f32({2, 2, 6, 8}, seed++), "linear", c, "", {1.f, 1.f, 0.5f, 0.75f}), kTol32, kTol16);
    both(resize_spec(rand_f32({1, 2, 5, 3}, seed++), "linear", c, "", {}, {1, 2, 1, 7}), kTol32, kTol16);
    // Moving a leading axis too (the CPU's separable passes), and rank 3 / 1.
    both(resize_spec(rand_f32({2, 3, 4, 2}, seed++), "linear", c, "", {}, {3, 5, 4, 3}), kTol32, kTol16);
    both(resize_spec(rand_f32({3, 4, 5}, seed++), "linear", c, "", {2.f, 1.f, 1.4f}), kTol32, kTol16);
    both(resize_spec(rand_f32({6}, seed++), "linear", c, "", {}, {11}), kTol32, kTol16);
    // Rank 5 (trilinear over D, H, W) and rank 6.
    both(resize_spec(rand_f32({1, 2, 3, 4, 3}, seed++), "linear", c, "", {1.f, 1.f, 2.f, 1.5f, 2.f}), kTol32, kTol16);
    both(resize_spec(rand_f32({2, 1, 2, 3, 2, 3}, seed++), "linear", c, "", {}, {3, 1, 3, 2, 4, 5}), kTol32, kTol16);
  }
  std::vector<TestTensor> out;
  std::string kernel;
  ASSERT_TRUE(run_op_vulkan(resize_spec(rand_f32({1, 1, 2, 2}, 1), "linear", "", "", {1.f, 1.f, 2.f, 2.f}), &out, false,
                            &kernel)
                  .ok());
  EXPECT_EQ(kernel, "vulkan.resize_linear_f32");
}

TEST(VulkanReduce, ResizeRefusesWithReason) {
  POCKET_REQUIRE_VULKAN();
  std::vector<TestTensor> out;
  // Rank 7: the shader takes at most 6 dims.
  Status s = run_op_vulkan(
      resize_spec(rand_f32({1, 1, 1, 1, 1, 2, 2}, 1), "nearest", "", "", {1.f, 1.f, 1.f, 1.f, 1.f, 2.f, 2.f}), &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("rank 7"), std::string::npos) << s.message();
}

// ---------------------------------------------------------------------------------------------
// Trilu

TEST(VulkanReduce, Trilu) {
  POCKET_REQUIRE_VULKAN();
  const std::vector<std::vector<int64_t>> shapes = {{4, 4}, {3, 5}, {2, 6, 3}, {1, 1}};
  uint32_t seed = 800;
  for (const auto& shape : shapes) {
    for (int upper : {1, 0}) {
      for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{-2}, int64_t{7}, int64_t{-100}}) {
        SCOPED_TRACE(shape_str(shape) + " upper " + std::to_string(upper) + " k " + std::to_string(k));
        OpSpec spec{fb::OpType::Trilu, {grid_f32(shape, seed++)}, {}, {AttrDesc::Int("upper", upper)}};
        if (k != 0) {  // k as a constant input (the ONNX form), else the default
          spec.inputs.push_back(TestTensor::i64({}, {k}));
          spec.constant = {false, true};
        }
        both(spec, 0.f, 0.f);
      }
    }
  }
  OpSpec ints{
      fb::OpType::Trilu, {TestTensor::i64({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})}, {}, {AttrDesc::Int("upper", 0)}};
  both(ints, 0.f, 0.f);
  EXPECT_EQ(kernel_of(ints), "vulkan.trilu_f32");
}

// ---------------------------------------------------------------------------------------------
// ShuffleNetV2: its one ReduceMean (the spatial mean before the classifier) was the only node left
// on the CPU; now the whole model is one Vulkan subgraph and matches the CPU.

TEST(VulkanReduce, ShuffleNetV2FullyOffloaded) {
  POCKET_REQUIRE_VULKAN();
  std::string why;
  const std::string path = fixture_pocket("shufflenet_v2_x1_0", &why);
  if (path.empty() || !std::ifstream(path).good())
    GTEST_SKIP() << "no ShuffleNetV2 fixture (set POCKET_FIXTURE_DIR to a build's fixtures folder): " << why;
  auto model = Model::load_file(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  SessionOptions o;
  o.backend = "vulkan";
  o.backend_required = true;
  o.custom_backend = std::shared_ptr<Backend>(vulkan_backend_or_null(nullptr), [](Backend*) {});
  auto vk = Session::create(model.value(), o);
  ASSERT_TRUE(vk.ok()) << vk.status().message();
  auto cpu = Session::create(model.value(), {});
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  const PartitionReport& r = vk.value()->partition();
  EXPECT_EQ(r.ops_on_cpu, 0) << r.summary();
  EXPECT_EQ(r.subgraphs.size(), 1u) << r.summary();
  for (Session* s : {vk.value().get(), cpu.value().get()}) {
    Value& in = s->input(0);
    ASSERT_EQ(in.dtype, DType::F32);
    std::vector<float> v = random_floats(static_cast<size_t>(in.elements()), 11, 0.f, 1.f);
    std::memcpy(in.data, v.data(), v.size() * 4);
  }
  vk.value()->run();
  ASSERT_TRUE(vk.value()->run_status().ok()) << vk.value()->run_status().message();
  cpu.value()->run();
  const Value& want = cpu.value()->output(0);
  const Value& got = vk.value()->output(0);
  ASSERT_EQ(got.shape, want.shape);
  const size_t n = static_cast<size_t>(want.elements());
  expect_close(std::vector<float>(got.as<float>(), got.as<float>() + n),
               std::vector<float>(want.as<float>(), want.as<float>() + n), 1e-4f);
}

}  // namespace
}  // namespace pocket::testing
