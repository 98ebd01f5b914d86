// fp16 arithmetic on the Vulkan backend (BackendOptions::fp16_arithmetic, the _f16a shader
// variants of shaders/common.glsl). Two kinds of check:
//  - the arithmetic really is fp16, chunked as documented: inputs chosen so that fp16 sums over
//    16-term chunks, fp16 storage with fp32 sums, and fp32 give three different, exactly known
//    results (2048 + 1 rounds back to 2048 in fp16; 16 ones do not);
//  - over random shapes every _f16a shader stays close to the CPU reference.
// Without a Vulkan driver (or without shaderFloat16) the device tests skip with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/unit/vulkan_test_util.h"

namespace pocket::testing {
namespace {

using format::AttrDesc;
using fb::OpType;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The device has shaderFloat16 when an fp16-arithmetic MatMul reports an _f16a kernel.
bool device_has_fp16_arithmetic(std::string* why) {
  std::vector<TestTensor> out;
  std::string kernel;
  OpSpec s{OpType::MatMul, {TestTensor::f32({1, 2}, {1.f, 2.f}), TestTensor::f32({2, 1}, {3.f, 4.f})}};
  Status st = run_op_vulkan(s, &out, 2, &kernel);
  if (!st.ok()) {
    *why = st.message();
    return false;
  }
  if (!ends_with(kernel, "_f16a")) {
    *why = "the device has no shaderFloat16 (kernel " + kernel + ")";
    return false;
  }
  return true;
}

#define POCKET_REQUIRE_FP16_ARITHMETIC()                                                 \
  do {                                                                                   \
    POCKET_REQUIRE_VULKAN();                                                             \
    std::string why_;                                                                    \
    if (!device_has_fp16_arithmetic(&why_)) GTEST_SKIP() << "no fp16 arithmetic: " << why_; \
  } while (0)

// Output 0 of the node in precision `mode` (0 fp32, 1 fp16 storage, 2 fp16 arithmetic), and its
// kernel name.
std::vector<float> vk_run(const OpSpec& s, int mode, std::string* kernel = nullptr) {
  std::vector<TestTensor> out;
  Status st = run_op_vulkan(s, &out, mode, kernel);
  EXPECT_TRUE(st.ok()) << precision_name(mode) << ": " << st.message();
  return st.ok() && !out.empty() ? out[0].floats() : std::vector<float>{};
}

std::vector<float> cpu_run(const OpSpec& s) {
  std::vector<TestTensor> out;
  Status st = run_op(s, &out);
  EXPECT_TRUE(st.ok()) << st.message();
  return st.ok() && !out.empty() ? out[0].floats() : std::vector<float>{};
}

// 2048 then n - 1 ones: the dot product with ones is 2047 + n in exact arithmetic.
std::vector<float> big_then_ones(size_t n) {
  std::vector<float> v(n, 1.f);
  v[0] = 2048.f;
  return v;
}

// A dot product of 32 terms, 2048 then 31 ones, against ones:
//   exact / fp32:                        2079
//   fp16 storage, fp32 sums:             2079 -> stored as fp16 -> 2080
//   fp16 sums over 16-term chunks:       (2048 + 15 ones: each +1 rounds back to 2048) + 16 = 2064
//   (a plain fp16 sum over all 32 terms would stay at 2048.)
constexpr float kExact = 2079.f, kFp16Storage = 2080.f, kChunked = 2064.f;

TEST(VulkanFp16Arithmetic, MatMulSumsInFp16ChunksOf16) {
  POCKET_REQUIRE_FP16_ARITHMETIC();
  const TestTensor a = TestTensor::f32({1, 32}, big_then_ones(32));
  const TestTensor b = TestTensor::f32({32, 3}, std::vector<float>(96, 1.f));
  for (bool constant_b : {false, true}) {
    const OpSpec s{OpType::MatMul, {a, b}, {false, constant_b}};
    EXPECT_EQ(cpu_run(s), std::vector<float>(3, kExact));
    for (const char* style : {"0", "1"}) {  // shared-memory tiles / register blocks (vk_ops_dense.cpp)
      SCOPED_TRACE(std::string("POCKET_VK_CPU_STYLE=") + style + (constant_b ? ", constant B" : ""));
      setenv("POCKET_VK_CPU_STYLE", style, 1);
      std::string kernel;
      EXPECT_EQ(vk_run(s, 0), std::vector<float>(3, kExact));
      EXPECT_EQ(vk_run(s, 1, &kernel), std::vector<float>(3, kFp16Storage));
      EXPECT_TRUE(ends_with(kernel, "_f16")) << kernel;
      EXPECT_EQ(vk_run(s, 2, &kernel), std::vector<float>(3, kChunked));
      EXPECT_EQ(kernel, style[0] == '1' ? "vulkan.matmul_reg_f16a" : "vulkan.matmul_f16a");
    }
    unsetenv("POCKET_VK_CPU_STYLE");
  }
}

OpSpec conv_spec(TestTensor x, TestTensor w, std::vector<int64_t> strides, int64_t group = 1) {
  const int64_t m = w.shape[0];
  return OpSpec{OpType::Conv,
                {std::move(x), std::move(w), TestTensor::f32({m}, std::vector<float>(static_cast<size_t>(m), 0.f))},
                {false, true, true},
                {AttrDesc::Ints("strides", strides), AttrDesc::Ints("pads", {0, 0, 0, 0}), AttrDesc::Int("group", group)}};
}

TEST(VulkanFp16Arithmetic, ConvSumsInFp16Chunks) {
  POCKET_REQUIRE_FP16_ARITHMETIC();
  // Pointwise (conv1x1): one pixel, 32 input channels (2048, then ones), 4 output channels.
  {
    SCOPED_TRACE("pointwise");
    const OpSpec s = conv_spec(TestTensor::f32({1, 1, 1, 32}, big_then_ones(32)),
                               TestTensor::f32({4, 32, 1, 1}, std::vector<float>(128, 1.f)), {1, 1});
    std::string kernel;
    EXPECT_EQ(cpu_run(s), std::vector<float>(4, kExact));
    EXPECT_EQ(vk_run(s, 1), std::vector<float>(4, kFp16Storage));
    EXPECT_EQ(vk_run(s, 2, &kernel), std::vector<float>(4, kChunked));
    EXPECT_EQ(kernel, "vulkan.conv1x1_f16a");
  }
  // General (conv2d): a strided 1x1 kernel (one tap per output pixel, 32 channels summed per tap).
  {
    SCOPED_TRACE("general");
    std::vector<float> x = big_then_ones(32);  // [1, 2, 2, 32] (NHWC); only pixel (0, 0) is read
    x.resize(32 * 4, 0.f);
    const OpSpec s = conv_spec(TestTensor::f32({1, 2, 2, 32}, x),
                               TestTensor::f32({4, 32, 1, 1}, std::vector<float>(128, 1.f)), {2, 2});
    std::string kernel;
    EXPECT_EQ(cpu_run(s), std::vector<float>(4, kExact));
    EXPECT_EQ(vk_run(s, 1), std::vector<float>(4, kFp16Storage));
    EXPECT_EQ(vk_run(s, 2, &kernel), std::vector<float>(4, kChunked));
    EXPECT_EQ(kernel, "vulkan.conv2d_f16a");
  }
  // Depthwise: a 2x4 kernel over a 2x4 image (one output pixel); rows [2048 1 1 1] and [1 1 1 1].
  // fp16 row sums: 2048 + 4 = 2052; fp32: 2055 (stored as fp16: 2056).
  for (int64_t channels : {4, 3}) {  // dwconv4 (C % 4 == 0) and dwconv
    SCOPED_TRACE("depthwise C=" + std::to_string(channels));
    const size_t n = static_cast<size_t>(channels);
    std::vector<float> x(8 * n, 1.f);  // [1, 2, 4, C] (NHWC)
    for (size_t c = 0; c < n; ++c) x[c] = 2048.f;
    const OpSpec s = conv_spec(TestTensor::f32({1, 2, 4, channels}, x),
                               TestTensor::f32({channels, 1, 2, 4}, std::vector<float>(n * 8, 1.f)), {1, 1}, channels);
    std::string kernel;
    EXPECT_EQ(cpu_run(s), std::vector<float>(n, 2055.f));
    EXPECT_EQ(vk_run(s, 1), std::vector<float>(n, 2056.f));
    EXPECT_EQ(vk_run(s, 2, &kernel), std::vector<float>(n, 2052.f));
    EXPECT_EQ(kernel, channels == 4 ? "vulkan.dwconv4_f16a" : "vulkan.dwconv_f16a");
  }
}

// Attention scores (Q K^T) in fp16 chunks: one query [2048, 1 x 31] and two keys, ones and
// [1, 0 x 15, 1 x 16]. Exact scores 2079 and 2064 (key 0 wins by 15: softmax ~ [1, 3e-7]);
// chunked fp16 scores are both 2064 (softmax [0.5, 0.5]). V = [0, 1], so Y is softmax[1].
TEST(VulkanFp16Arithmetic, AttentionScoresInFp16Chunks) {
  POCKET_REQUIRE_FP16_ARITHMETIC();
  std::vector<float> k(64, 1.f);
  for (size_t c = 1; c < 16; ++c) k[32 + c] = 0.f;
  const OpSpec s{OpType::Attention,
                 {TestTensor::f32({1, 1, 32}, big_then_ones(32)), TestTensor::f32({1, 2, 32}, k),
                  TestTensor::f32({1, 2, 1}, {0.f, 1.f})},
                 {},
                 {AttrDesc::Int("num_heads", 1), AttrDesc::Float("scale", 1.f)}};
  const std::vector<float> cpu = cpu_run(s);
  ASSERT_EQ(cpu.size(), 1u);
  EXPECT_LT(cpu[0], 1e-5f);
  std::string kernel;
  const std::vector<float> storage = vk_run(s, 1, &kernel);
  ASSERT_EQ(storage.size(), 1u);
  EXPECT_LT(storage[0], 1e-5f);
  EXPECT_EQ(kernel, "vulkan.attention_f16");
  const std::vector<float> arith = vk_run(s, 2, &kernel);
  ASSERT_EQ(arith.size(), 1u);
  EXPECT_EQ(arith[0], 0.5f);
  EXPECT_EQ(kernel, "vulkan.attention_f16a");
}

// Random data over shapes that cross the 16-term chunks: every _f16a shader within 3e-2 of the
// CPU's largest magnitude (fp16 storage alone is checked at 1e-2..2e-2 in the per-op tests).
TEST(VulkanFp16Arithmetic, CloseToCpuOverShapes) {
  POCKET_REQUIRE_FP16_ARITHMETIC();
  uint32_t seed = 100;
  auto rnd = [&](std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return TestTensor::f32(std::move(shape), random_floats(static_cast<size_t>(n), seed++));
  };
  for (const char* style : {"0", "1"}) {
    setenv("POCKET_VK_CPU_STYLE", style, 1);
    for (const std::vector<int64_t>& mnk : std::vector<std::vector<int64_t>>{{1, 1, 1}, {5, 9, 17}, {33, 65, 100}, {64, 64, 768}}) {
      SCOPED_TRACE("MatMul M,N,K " + shape_str(mnk) + " style " + style);
      expect_vulkan_matches_cpu({OpType::MatMul, {rnd({mnk[0], mnk[2]}), rnd({mnk[2], mnk[1]})}, {false, true}}, 3e-2f, 2);
    }
  }
  unsetenv("POCKET_VK_CPU_STYLE");
  struct ConvCase {
    std::vector<int64_t> x, w;  // x NHWC, w [M, C / group, KH, KW]
    std::vector<int64_t> strides, pads;
    int64_t group;
  };
  const std::vector<ConvCase> convs = {
      {{1, 7, 9, 40}, {24, 40, 1, 1}, {1, 1}, {0, 0, 0, 0}, 1},   // conv1x1, C in 3 chunks
      {{2, 9, 8, 17}, {10, 17, 3, 3}, {2, 1}, {1, 1, 1, 1}, 1},   // conv2d
      {{1, 8, 8, 32}, {16, 16, 3, 3}, {1, 1}, {1, 0, 1, 2}, 2},   // grouped conv2d
      {{1, 10, 10, 24}, {24, 1, 5, 5}, {2, 2}, {2, 2, 2, 2}, 24}, // dwconv4
      {{1, 9, 7, 6}, {12, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, 6},     // dwconv, multiplier 2
  };
  for (const ConvCase& c : convs) {
    SCOPED_TRACE("Conv x " + shape_str(c.x) + " w " + shape_str(c.w));
    OpSpec s{OpType::Conv,
             {rnd(c.x), rnd(c.w), rnd({c.w[0]})},
             {false, true, true},
             {AttrDesc::Ints("strides", c.strides), AttrDesc::Ints("pads", c.pads), AttrDesc::Int("group", c.group)}};
    expect_vulkan_matches_cpu(s, 3e-2f, 2);
    std::vector<TestTensor> out;
    std::string kernel;
    ASSERT_TRUE(run_op_vulkan(s, &out, 2, &kernel).ok());
    EXPECT_TRUE(ends_with(kernel, "_f16a")) << kernel;
  }
  for (const std::vector<int64_t>& a : std::vector<std::vector<int64_t>>{{1, 5, 7, 2, 16}, {2, 9, 33, 4, 64}}) {
    SCOPED_TRACE("Attention B,Sq,Sk,H,D " + shape_str(a));
    const int64_t b = a[0], sq = a[1], sk = a[2], h = a[3], d = a[4];
    expect_vulkan_matches_cpu({OpType::Attention,
                               {rnd({b, sq, h * d}), rnd({b, sk, h * d}), rnd({b, sk, h * d})},
                               {},
                               {AttrDesc::Int("num_heads", h)}},
                              3e-2f, 2);
  }
}

// Asking for fp16 arithmetic without fp16 storage is said, not silently ignored.
TEST(VulkanFp16Arithmetic, ArithmeticWithoutStorageIsANote) {
  POCKET_REQUIRE_VULKAN();
  VulkanSingleNode g;
  ASSERT_TRUE(g.build({OpType::MatMul, {TestTensor::f32({1, 2}, {1.f, 2.f}), TestTensor::f32({2, 1}, {3.f, 4.f})}}).ok());
  BackendOptions o;
  o.fp16 = false;
  o.fp16_arithmetic = true;
  auto ex = vulkan_backend_or_null(nullptr)->prepare(g.subgraph, o);
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  const std::vector<std::string> notes = ex.value()->notes();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("without fp16 storage"), std::string::npos) << notes[0];
  EXPECT_TRUE(ends_with(ex.value()->kernel_names()[0], "_f32")) << ex.value()->kernel_names()[0];
}

}  // namespace
}  // namespace pocket::testing
