// Vulkan MatMul and Gemm (vk_ops_dense.cpp, shaders/matmul.comp) against the CPU: shapes from
// 1x1x1 to 128x256x64, 1-D operands, batch broadcasting, constant and computed B, bias, residual,
// fused activations; Gemm's alpha, beta, transposes and C broadcasts; fp32 and fp16.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/unit/vulkan_test_util.h"

namespace pocket::testing {
namespace {

using format::AttrDesc;
using fb::OpType;

TestTensor rnd(std::vector<int64_t> shape, uint32_t seed) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return TestTensor::f32(std::move(shape), random_floats(static_cast<size_t>(n), seed));
}

// Both shader forms (shared-memory tiles for GPUs, register blocks for CPU drivers: see
// vk_ops_dense.cpp), each with fp32, fp16 storage and fp16 arithmetic.
void both(const OpSpec& s) {
  for (const char* style : {"0", "1"}) {
    SCOPED_TRACE(std::string("POCKET_VK_CPU_STYLE=") + style);
    setenv("POCKET_VK_CPU_STYLE", style, 1);
    {
      SCOPED_TRACE("fp32");
      expect_vulkan_matches_cpu(s, 1e-5f, false);
    }
    {
      SCOPED_TRACE("fp16");
      expect_vulkan_matches_cpu(s, 2e-2f, 1);
    }
    {
      SCOPED_TRACE("fp16 arithmetic");
      expect_vulkan_matches_cpu(s, 3e-2f, 2);
    }
    unsetenv("POCKET_VK_CPU_STYLE");
  }
}

TEST(VulkanDense, MatMulShapes) {
  POCKET_REQUIRE_VULKAN();
  const std::vector<std::vector<int64_t>> mnk = {{1, 1, 1},    {1, 7, 5},    {3, 1, 9},     {5, 9, 1},
                                                 {17, 33, 15}, {65, 63, 17}, {128, 256, 64}, {2, 40, 300}};
  uint32_t seed = 1;
  for (const auto& v : mnk) {
    SCOPED_TRACE("M,N,K = " + shape_str(v));
    TestTensor a = rnd({v[0], v[2]}, seed++), b = rnd({v[2], v[1]}, seed++);
    both({OpType::MatMul, {a, b}, {false, (v[0] & 1) != 0}});  // computed B, or constant B (a weight)
  }
}

TEST(VulkanDense, KernelNameFollowsTheShaderForm) {
  POCKET_REQUIRE_VULKAN();
  OpSpec s{OpType::MatMul, {rnd({3, 4}, 15), rnd({4, 5}, 16)}};
  for (const char* style : {"0", "1"}) {
    setenv("POCKET_VK_CPU_STYLE", style, 1);
    std::vector<TestTensor> out;
    std::string kernel;
    ASSERT_TRUE(run_op_vulkan(s, &out, true, &kernel).ok());
    EXPECT_EQ(kernel, style[0] == '1' ? "vulkan.matmul_reg_f16" : "vulkan.matmul_f16");
  }
  unsetenv("POCKET_VK_CPU_STYLE");
}

TEST(VulkanDense, MatMulOneDimAndBatches) {
  POCKET_REQUIRE_VULKAN();
  both({OpType::MatMul, {rnd({6}, 1), rnd({6, 4}, 2)}});
  both({OpType::MatMul, {rnd({3, 6}, 3), rnd({6}, 4)}});
  both({OpType::MatMul, {rnd({2, 6}, 5), rnd({2, 6, 4}, 6)}});            // 1-D-like batch broadcast of A
  both({OpType::MatMul, {rnd({3, 5, 7}, 7), rnd({7, 4}, 8)}});            // B shared by every batch
  both({OpType::MatMul, {rnd({2, 1, 5, 7}, 9), rnd({3, 7, 4}, 10)}});     // both broadcast
  both({OpType::MatMul, {rnd({2, 3, 16, 8}, 11), rnd({2, 3, 8, 16}, 12)}});  // attention-like
  both({OpType::MatMul, {rnd({1, 2, 1, 2, 3, 4}, 13), rnd({2, 1, 2, 1, 4, 5}, 14)}});  // 4 batch dims
}

TEST(VulkanDense, MatMulEpilogue) {
  POCKET_REQUIRE_VULKAN();
  TestTensor a = rnd({9, 12}, 20), b = rnd({12, 10}, 21), bias = rnd({10}, 22), r = rnd({9, 10}, 23);
  both({OpType::MatMul, {a, b, bias}, {false, true, true}});
  both({OpType::MatMul, {a, b, bias, r}, {false, true, true, false}});
  for (int act = 1; act <= 10; ++act) {
    SCOPED_TRACE("activation " + std::to_string(act));
    std::vector<AttrDesc> attrs = {AttrDesc::Int("activation", act)};
    if (act == 2) {
      attrs.push_back(AttrDesc::Float("act_alpha", -0.5f));
      attrs.push_back(AttrDesc::Float("act_beta", 0.5f));
    } else if (act == 3) {
      attrs.push_back(AttrDesc::Float("act_alpha", 0.2f));
      attrs.push_back(AttrDesc::Float("act_beta", 0.5f));
    } else if (act == 8) {
      attrs.push_back(AttrDesc::Float("act_alpha", 0.1f));
    }
    both({OpType::MatMul, {a, b, bias}, {false, true, true}, attrs});
  }
  // Batched with bias and residual.
  both({OpType::MatMul, {rnd({2, 5, 8}, 24), rnd({8, 6}, 25), rnd({6}, 26), rnd({2, 5, 6}, 27)}, {false, true, true, false}});
}

TEST(VulkanDense, Gemm) {
  POCKET_REQUIRE_VULKAN();
  uint32_t seed = 40;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      SCOPED_TRACE("transA " + std::to_string(ta) + " transB " + std::to_string(tb));
      const int64_t m = 13, n = 21, k = 19;
      TestTensor a = rnd(ta ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k}, seed++);
      TestTensor b = rnd(tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}, seed++);
      std::vector<AttrDesc> attrs = {AttrDesc::Int("transA", ta), AttrDesc::Int("transB", tb),
                                     AttrDesc::Float("alpha", 0.7f), AttrDesc::Float("beta", 1.3f)};
      both({OpType::Gemm, {a, b}, {false, true}, attrs});
      for (const std::vector<int64_t>& cs : {std::vector<int64_t>{n}, std::vector<int64_t>{1, n}, std::vector<int64_t>{m, 1},
                                             std::vector<int64_t>{m, n}, std::vector<int64_t>{1}}) {
        SCOPED_TRACE("C " + shape_str(cs));
        both({OpType::Gemm, {a, b, rnd(cs, seed++)}, {false, true, true}, attrs});
        both({OpType::Gemm, {a, b, rnd(cs, seed++)}, {false, false, false}, attrs});
      }
    }
  }
  // Classifier head: [1, 1024] x [1000, 1024]^T + bias with Relu.
  both({OpType::Gemm, {rnd({1, 96}, 60), rnd({100, 96}, 61), rnd({100}, 62)}, {false, true, true},
        {AttrDesc::Int("transB", 1), AttrDesc::Int("activation", 1)}});
}

TEST(VulkanDense, EmptyAndZeroK) {
  POCKET_REQUIRE_VULKAN();
  std::vector<TestTensor> cpu;
  OpSpec zero_k{OpType::MatMul, {TestTensor::f32({3, 0}, {}), TestTensor::f32({0, 4}, {}), rnd({4}, 70)}, {false, false, true}};
  if (run_op(zero_k, &cpu).ok()) expect_vulkan_matches_cpu(zero_k);
  OpSpec zero_m{OpType::MatMul, {TestTensor::f32({0, 5}, {}), rnd({5, 4}, 71)}};
  if (run_op(zero_m, &cpu).ok()) expect_vulkan_matches_cpu(zero_m);
}

// A constant B of more than 16 MiB: the weight upload goes through the staging buffer in chunks.
TEST(VulkanDense, LargeConstantWeightChunkedUpload) {
  POCKET_REQUIRE_VULKAN();
  expect_vulkan_matches_cpu({OpType::MatMul, {rnd({1, 64}, 90), rnd({64, 65600}, 91)}, {false, true}}, 1e-5f, false);
}

// Throughput on a transformer-like shape (printed, for the report; lavapipe is for correctness).
TEST(VulkanDense, ThroughputPrinted) {
  POCKET_REQUIRE_VULKAN();
  const int64_t m = 128, n = 256, k = 128;
  OpSpec s{OpType::MatMul, {rnd({m, k}, 80), rnd({k, n}, 81)}, {false, true}};
  VulkanSingleNode g;
  ASSERT_TRUE(g.build(s).ok());
  auto ex = vulkan_backend_or_null(nullptr)->prepare(g.subgraph, {});
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  ASSERT_TRUE(ex.value()->upload(0, s.inputs[0].bytes.data(), s.inputs[0].bytes.size()).ok());
  ASSERT_TRUE(ex.value()->run().ok());
  std::vector<double> ms;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(ex.value()->run().ok());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("[ vulkan   ] MatMul %lldx%lldx%lld: median %.2f ms, %.2f GFLOP/s on %s\n", static_cast<long long>(m),
              static_cast<long long>(n), static_cast<long long>(k), ms[2], 2.0 * m * n * k / (ms[2] * 1e6),
              vulkan_backend_or_null(nullptr)->device().c_str());
}

}  // namespace
}  // namespace pocket::testing
