#include "engine/weight_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

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
