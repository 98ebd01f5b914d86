#include "engine/memory_plan.h"

#include <gtest/gtest.h>

namespace pocket {
namespace {

bool overlaps(const BufferUse& a, const BufferUse& b) { return a.first <= b.last && b.first <= a.last; }

TEST(MemoryPlan, ChainReusesMemory) {
  // a -> b -> c -> d: each buffer is live for two steps, so two slots suffice.
  std::vector<BufferUse> uses = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 3}};
  MemoryPlan p = plan_memory(uses, 64);
  EXPECT_EQ(p.lower_bound, 2 * 1024u);
  EXPECT_EQ(p.arena_bytes, 2 * 1024u);
}

TEST(MemoryPlan, NoLiveBuffersOverlapInMemory) {
  std::vector<BufferUse> uses;
  uint32_t seed = 7;
  for (int i = 0; i < 200; ++i) {
    seed = seed * 1664525u + 1013904223u;
    int32_t first = static_cast<int32_t>(seed % 50);
    int32_t len = static_cast<int32_t>((seed >> 8) % 10);
    uses.push_back({static_cast<size_t>(1 + (seed >> 16) % 5000), first, first + len});
  }
  MemoryPlan p = plan_memory(uses, 64);
  for (size_t i = 0; i < uses.size(); ++i) {
    EXPECT_EQ(p.offsets[i] % 64, 0u);
    EXPECT_LE(p.offsets[i] + uses[i].bytes, p.arena_bytes);
    for (size_t j = i + 1; j < uses.size(); ++j) {
      if (!overlaps(uses[i], uses[j])) continue;
      bool disjoint = p.offsets[i] + uses[i].bytes <= p.offsets[j] || p.offsets[j] + uses[j].bytes <= p.offsets[i];
      EXPECT_TRUE(disjoint) << i << " and " << j;
    }
  }
  EXPECT_GE(p.arena_bytes, p.lower_bound);
}

}  // namespace
}  // namespace pocket
