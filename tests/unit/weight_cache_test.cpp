#include "engine/weight_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

TEST(WeightCache, SharesLiveBuffersAndPacksOnce) {
  WeightCache cache;
  int packs = 0;
  auto fill100 = [&](void* p) {
    ++packs;
    std::memset(p, 7, 100);
  };
  auto fill = [&](void*) { ++packs; };
  auto a = cache.get_or_pack("conv1/pocket.gemm", 100, fill100);
  auto b = cache.get_or_pack("conv1/pocket.gemm", 100, fill100);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(packs, 1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a->data()) % 64, 0u);
  EXPECT_EQ(a->as<uint8_t>()[99], 7);
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.live_entries(), 1u);
  EXPECT_EQ(cache.live_bytes(), 100u);

  auto c = cache.get_or_pack("conv2/pocket.gemm", 50, fill);
  EXPECT_NE(c.get(), a.get());
  EXPECT_EQ(packs, 2);
  EXPECT_EQ(cache.live_bytes(), 150u);
}

TEST(WeightCache, FreesWhenNoSessionHoldsIt) {
  WeightCache cache;
  int packs = 0;
  auto fill = [&](void*) { ++packs; };
  {
    auto a = cache.get_or_pack("k", 64, fill);
    EXPECT_EQ(cache.live_entries(), 1u);
  }
  EXPECT_EQ(cache.live_entries(), 0u);
  EXPECT_EQ(cache.live_bytes(), 0u);
  auto again = cache.get_or_pack("k", 64, fill);
  EXPECT_EQ(packs, 2);
}

TEST(WeightCache, SizeMismatchIsNotShared) {
  WeightCache cache;
  auto fill = [](void*) {};
  auto a = cache.get_or_pack("k", 64, fill);
  auto b = cache.get_or_pack("k", 128, fill);
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(b->bytes(), 128u);
  EXPECT_EQ(a->bytes(), 64u);  // the first holder keeps its buffer
}

TEST(WeightCache, ConcurrentCallersGetOneBuffer) {
  WeightCache cache;
  std::atomic<int> packs{0};
  std::vector<std::shared_ptr<const PackedWeights>> got(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] { got[t] = cache.get_or_pack("shared", 4096, [&](void*) { ++packs; }); });
  for (auto& th : threads) th.join();
  EXPECT_EQ(packs.load(), 1);
  for (auto& g : got) EXPECT_EQ(g.get(), got[0].get());
}

}  // namespace
}  // namespace pocket

// Every op that packs weights goes through the model's cache: a second session of the same model
// packs nothing, and the buffers are freed with the last session.
namespace pocket {
namespace {

void expect_second_session_packs_nothing(const testing::OpSpec& spec) {
  std::vector<uint8_t> bytes = testing::build_single_op_model(spec);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(model.ok()) << model.status().message();
  const WeightCache& cache = model.value()->weight_cache();
  auto first = Session::create(model.value());
  ASSERT_TRUE(first.ok()) << first.status().message();
  const std::string kernel = first.value()->profile_info().at(0).kernel;
  const size_t misses = cache.misses();
  EXPECT_GE(misses, 1u) << kernel << " packed nothing through the cache";
  EXPECT_GT(cache.live_bytes(), 0u) << kernel;
  auto second = Session::create(model.value());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(cache.misses(), misses) << kernel << " packed again for a second session";
  EXPECT_GE(cache.hits(), 1u) << kernel;
  first.value().reset();
  second.value().reset();
  EXPECT_EQ(cache.live_bytes(), 0u) << kernel;
}

TEST(WeightCache, SessionsOfOneModelShareEveryPackedWeight) {
  using testing::TestTensor;
  using format::AttrDesc;
  auto r = [](Shape s, uint32_t seed) {
    return TestTensor::f32(s, testing::random_floats(static_cast<size_t>(num_elements(s)), seed));
  };
  // Winograd (3x3 s1, 16 channels), indirect GEMM (C = 4), 1x1 GEMM, depthwise, Gemm, MatMul.
  expect_second_session_packs_nothing({fb::OpType::Conv, {r({1, 9, 9, 16}, 1), r({16, 16, 3, 3}, 2)}, {false, true},
                                       {AttrDesc::Ints("pads", {1, 1, 1, 1})}});
  expect_second_session_packs_nothing({fb::OpType::Conv, {r({1, 6, 6, 4}, 3), r({8, 4, 3, 3}, 4)}, {false, true}, {}});
  expect_second_session_packs_nothing({fb::OpType::Conv, {r({1, 6, 6, 4}, 5), r({8, 4, 1, 1}, 6)}, {false, true}, {}});
  expect_second_session_packs_nothing({fb::OpType::Conv, {r({1, 6, 6, 8}, 7), r({8, 1, 3, 3}, 8)}, {false, true},
                                       {AttrDesc::Int("group", 8)}});
  expect_second_session_packs_nothing({fb::OpType::Gemm, {r({2, 12}, 9), r({12, 5}, 10)}, {false, true}, {}});
  expect_second_session_packs_nothing({fb::OpType::MatMul, {r({3, 12}, 11), r({12, 7}, 12)}, {false, true}, {}});
}

}  // namespace
}  // namespace pocket
