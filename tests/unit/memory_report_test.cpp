// Session memory accounting (Session::memory(), MemoryReport) and the memory budget
// (SessionOptions::memory_budget).
#include <gtest/gtest.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "format/builder.h"
#include "kernels/xnnpack/xnnpack_init.h"
#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

using format::AttrDesc;
using testing::random_floats;

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// x [1,H,W,C] -> Conv 1x1 (C -> M, relu; packed by Pocket's GEMM) -> grouped Conv 3x3 (M -> M,
// `groups` groups, pad 1; grouped convolutions that are not depthwise go to XNNPACK) -> y.
std::vector<uint8_t> conv_model(int64_t h, int64_t w, int64_t c, int64_t m, int64_t groups) {
  format::ModelDesc md;
  auto tensor = [&](const std::string& name, std::vector<int64_t> shape, const std::vector<float>* data) {
    format::TensorDesc d;
    d.name = name;
    d.shape = std::move(shape);
    if (data) {
      d.has_data = true;
      d.data = f32_bytes(*data);
    }
    return md.add_tensor(d);
  };
  const std::vector<float> w1 = random_floats(static_cast<size_t>(m * c), 1, -0.1f, 0.1f);
  const std::vector<float> b1 = random_floats(static_cast<size_t>(m), 2);
  const std::vector<float> w2 = random_floats(static_cast<size_t>(m * (m / groups) * 9), 3, -0.1f, 0.1f);
  const std::vector<float> b2 = random_floats(static_cast<size_t>(m), 4);
  int x = tensor("x", {1, h, w, c}, nullptr);
  int tw1 = tensor("w1", {m, c, 1, 1}, &w1), tb1 = tensor("b1", {m}, &b1);
  int hid = tensor("h", {}, nullptr);
  int tw2 = tensor("w2", {m, m / groups, 3, 3}, &w2), tb2 = tensor("b2", {m}, &b2);
  int y = tensor("y", {}, nullptr);
  format::NodeDesc c1;
  c1.op = fb::OpType::Conv;
  c1.name = "pointwise";
  c1.inputs = {x, tw1, tb1};
  c1.outputs = {hid};
  c1.attrs = {AttrDesc::String("activation", "Relu")};
  format::NodeDesc c2;
  c2.op = fb::OpType::Conv;
  c2.name = "grouped";
  c2.inputs = {hid, tw2, tb2};
  c2.outputs = {y};
  c2.attrs = {AttrDesc::Ints("pads", {1, 1, 1, 1}), AttrDesc::Int("group", groups)};
  md.nodes = {c1, c2};
  md.inputs = {x};
  md.outputs = {y};
  return format::serialize(md);
}

size_t sum_of_parts(const MemoryReport& r) {
  return r.arena + r.packed_weights + r.converted_constants + r.known_values + r.xnnpack + r.op_private +
         r.session_overhead;
}

bool any_xnnpack_kernel(const Session& s) {
  for (const OpProfile& p : s.profile_info())
    if (p.kernel.rfind("xnnpack", 0) == 0) return true;
  return false;
}

class MemoryReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bytes_ = conv_model(12, 12, 16, 64, 4);
    auto m = Model::load_buffer(bytes_.data(), bytes_.size());
    ASSERT_TRUE(m.ok()) << m.status().message();
    model_ = m.value();
  }
  std::unique_ptr<Session> make(const SessionOptions& o = {}) {
    auto s = Session::create(model_, o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s.value()) : nullptr;
  }
  std::vector<uint8_t> bytes_;
  std::shared_ptr<const Model> model_;
};

TEST_F(MemoryReportTest, FieldsAddUp) {
  auto s = make();
  ASSERT_TRUE(s);
  const MemoryReport r = s->memory();
  EXPECT_EQ(r.total(), sum_of_parts(r));
  EXPECT_EQ(r.arena, s->arena_bytes());
  EXPECT_EQ(r.arena_lower_bound, s->arena_lower_bound());
  EXPECT_GE(r.arena, r.arena_lower_bound);
  // The arena holds at least x, h and y at once (x is kept for the whole run).
  EXPECT_GE(r.arena, static_cast<size_t>(12 * 12 * (16 + 64 + 64) * 4));
  // Pocket packs the 1x1 weights (64x16 floats at least).
  EXPECT_GE(r.packed_weights, static_cast<size_t>(64 * 16 * 4));
  EXPECT_EQ(r.converted_constants, 0u);  // all F32
  EXPECT_EQ(r.known_values, 0u);
  EXPECT_GT(r.session_overhead, sizeof(Session));
  EXPECT_EQ(r.model_file, bytes_.size());
  // Every packed buffer of the model is this session's (no other session).
  EXPECT_EQ(r.packed_weights, model_->weight_cache().live_bytes());
  // Asking twice gives the same answer (nothing is allocated after creation).
  const MemoryReport again = s->memory();
  EXPECT_EQ(again.total(), r.total());
}

TEST_F(MemoryReportTest, SharedPackedWeightsAreReportedInEachSession) {
  auto a = make();
  ASSERT_TRUE(a);
  const size_t misses = model_->weight_cache().misses();
  auto b = make();
  ASSERT_TRUE(b);
  EXPECT_EQ(model_->weight_cache().misses(), misses);  // b found a's buffers
  const MemoryReport ra = a->memory(), rb = b->memory();
  EXPECT_GT(ra.packed_weights, 0u);
  EXPECT_EQ(ra.packed_weights, rb.packed_weights);
  EXPECT_EQ(model_->weight_cache().live_bytes(), ra.packed_weights);  // shared, not doubled
  // XNNPACK operators are per session: each holds its own.
  EXPECT_EQ(ra.xnnpack, rb.xnnpack);
  a.reset();
  EXPECT_EQ(b->memory().packed_weights, rb.packed_weights);  // b still holds them
}

TEST_F(MemoryReportTest, XnnpackBytesCountedAndFreed) {
  if (!kernels::xnnpack_available()) GTEST_SKIP() << "XNNPACK does not support this CPU";
  const size_t before = kernels::xnnpack_heap_bytes();
  const size_t blocks_before = kernels::xnnpack_heap_blocks();
  auto s = make();
  ASSERT_TRUE(s);
  ASSERT_TRUE(any_xnnpack_kernel(*s)) << "the grouped conv no longer goes to XNNPACK: pick another model";
  const MemoryReport r = s->memory();
  // XNNPACK packs the grouped conv's weights: 64 x 16 x 9 floats at least.
  EXPECT_GE(r.xnnpack, static_cast<size_t>(64 * 16 * 9 * 4));
  EXPECT_EQ(kernels::xnnpack_heap_bytes() - before, r.xnnpack);
  s.reset();
  EXPECT_EQ(kernels::xnnpack_heap_bytes(), before);
  EXPECT_EQ(kernels::xnnpack_heap_blocks(), blocks_before);
}

TEST_F(MemoryReportTest, BudgetJustBelowTotalFailsAtTotalSucceeds) {
  size_t total = 0;
  {
    auto s = make();
    ASSERT_TRUE(s);
    total = s->memory().total();
  }
  const size_t xnn_before = kernels::xnnpack_heap_bytes();
  const size_t cache_before = model_->weight_cache().live_bytes();
  SessionOptions o;
  o.memory_budget = total - 1;
  auto fail = Session::create(model_, o);
  ASSERT_FALSE(fail.ok());
  EXPECT_EQ(fail.status().code(), StatusCode::kOutOfMemory);
  const std::string msg = fail.status().message();
  EXPECT_NE(msg.find("memory plan needs"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(total) + " bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("arena"), std::string::npos) << msg;
  EXPECT_NE(msg.find("packed weights"), std::string::npos) << msg;
  EXPECT_NE(msg.find("but the budget is"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(total - 1) + " bytes"), std::string::npos) << msg;
  // Everything the failed creation took is released.
  EXPECT_EQ(kernels::xnnpack_heap_bytes(), xnn_before);
  EXPECT_EQ(model_->weight_cache().live_bytes(), cache_before);

  // A budget far below: fails before the arena is mapped.
  o.memory_budget = 1024;
  auto tiny = Session::create(model_, o);
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.status().message().find("before mapping the arena"), std::string::npos) << tiny.status().message();

  o.memory_budget = total;
  auto ok = Session::create(model_, o);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok.value()->memory().total(), total);
}

TEST_F(MemoryReportTest, ResizeUpdatesTheReportAndRespectsTheBudget) {
  auto s = make();
  ASSERT_TRUE(s);
  const MemoryReport small = s->memory();
  ASSERT_TRUE(s->resize_input("x", {1, 24, 24, 16}).ok());
  const MemoryReport big = s->memory();
  EXPECT_EQ(big.arena, s->arena_bytes());
  EXPECT_GE(big.arena, 3 * small.arena);  // 4x the pixels
  EXPECT_EQ(big.total(), sum_of_parts(big));
  EXPECT_EQ(big.packed_weights, small.packed_weights);  // same weights, found in the cache
  EXPECT_EQ(big.packed_weights, model_->weight_cache().live_bytes());  // the old ops' buffers are not counted twice
  ASSERT_TRUE(s->resize_input("x", {1, 12, 12, 16}).ok());
  EXPECT_EQ(s->memory().arena, small.arena);
  EXPECT_EQ(s->memory().xnnpack, small.xnnpack);  // the bigger shape's XNNPACK buffers were freed

  // With a budget that fits the small shape only, growing fails and the session keeps working.
  SessionOptions o;
  o.memory_budget = small.total() + small.arena;  // room for twice the arena, not four times
  auto b = make(o);
  ASSERT_TRUE(b);
  Status st = b->resize_input("x", {1, 24, 24, 16});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kOutOfMemory);
  EXPECT_NE(st.message().find("but the budget is"), std::string::npos) << st.message();
  EXPECT_EQ(b->input(0).shape, (Shape{1, 12, 12, 16}));
  EXPECT_EQ(b->memory().arena, small.arena);
  const std::vector<float> x = random_floats(12 * 12 * 16, 9);
  ASSERT_TRUE(b->set_input("x", DType::F32, {1, 12, 12, 16}, x.data()).ok());
  b->run();
}

// Resident set size of this process, from /proc/self/status (0 where there is none).
size_t rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return static_cast<size_t>(std::stoull(line.substr(6))) * 1024;
  return 0;
}

// Creating a sizeable session and running it once grows the RSS by no more than the plan says
// (plus slack for the allocator and the test's own bookkeeping).
TEST(MemoryReportRss, CreationAndOneRunStayWithinThePlan) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizer runtimes keep freed memory (quarantine) and shadow memory in the RSS";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
  GTEST_SKIP() << "sanitizer runtimes keep freed memory (quarantine) and shadow memory in the RSS";
#endif
#endif
  if (rss_bytes() == 0) GTEST_SKIP() << "no /proc/self/status";
  // 2 MiB of 1x1 weights (Pocket's packing) and 2.25 MiB of grouped 3x3 weights (XNNPACK's).
  const std::vector<uint8_t> bytes = conv_model(16, 16, 512, 1024, 16);
  auto m = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(m.ok()) << m.status().message();
  const std::vector<float> x = random_floats(16 * 16 * 512, 5);
  const size_t rss0 = rss_bytes();
  auto s = Session::create(m.value());
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_TRUE(s.value()->set_input("x", DType::F32, {1, 16, 16, 512}, x.data()).ok());
  s.value()->run();
#if defined(__GLIBC__)
  // Packing's temporaries (transposed weights) are freed, but glibc may keep the pages: give them
  // back, so that the RSS shows what the session holds.
  malloc_trim(0);
#endif
  const size_t rss1 = rss_bytes();
  const MemoryReport r = s.value()->memory();
  EXPECT_GT(r.total(), static_cast<size_t>(6) << 20);
  const size_t slack = static_cast<size_t>(4) << 20;
  const size_t growth = rss1 > rss0 ? rss1 - rss0 : 0;
  std::printf("RSS grew by %.2f MiB for a plan of %.2f MiB (arena %.2f, packed %.2f, XNNPACK %.2f)\n",
              static_cast<double>(growth) / (1 << 20), static_cast<double>(r.total()) / (1 << 20),
              static_cast<double>(r.arena) / (1 << 20), static_cast<double>(r.packed_weights) / (1 << 20),
              static_cast<double>(r.xnnpack) / (1 << 20));
  EXPECT_LE(growth, r.total() + slack) << "RSS grew by " << growth << " bytes; the plan says " << r.total();
}

}  // namespace
}  // namespace pocket
