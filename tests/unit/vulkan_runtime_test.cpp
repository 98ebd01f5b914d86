// The Vulkan runtime (engine/backends/vulkan/vk_backend.cpp): device selection, the one-node
// harness end to end, memory figures, transfers, the pipeline cache file. Skips without Vulkan.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>

#include "tests/unit/vulkan_test_util.h"

namespace pocket::testing {
namespace {

TEST(VulkanRuntime, FirstOpAddEndToEnd) {
  POCKET_REQUIRE_VULKAN();
  OpSpec s{fb::OpType::Add, {TestTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6}), TestTensor::f32({3}, {10, 20, 30})}};
  std::vector<TestTensor> out;
  std::string kernel;
  Status st = run_op_vulkan(s, &out, false, &kernel);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].floats(), (std::vector<float>{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(kernel, "vulkan.binary_f32");
}

}  // namespace
}  // namespace pocket::testing
