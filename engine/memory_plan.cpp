#include "engine/memory_plan.h"

#include <algorithm>
#include <numeric>

#include "format/format.h"

namespace pocket {

MemoryPlan plan_memory(const std::vector<BufferUse>& uses, size_t alignment) {
  MemoryPlan plan;
  plan.offsets.assign(uses.size(), 0);
  std::vector<size_t> order(uses.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return uses[a].bytes > uses[b].bytes; });

  struct Placed { size_t offset, end; int32_t first, last; };
  std::vector<Placed> placed;
  placed.reserve(uses.size());
  std::vector<Placed> overlapping;
  for (size_t idx : order) {
    const BufferUse& u = uses[idx];
    if (u.bytes == 0) continue;
    size_t size = format::align_up(u.bytes, alignment);
    overlapping.clear();
    for (const Placed& p : placed)
      if (p.first <= u.last && u.first <= p.last) overlapping.push_back(p);
    std::sort(overlapping.begin(), overlapping.end(),
              [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    // Lowest gap that fits (best fit would save little and cost clarity).
    size_t offset = 0;
    for (const Placed& p : overlapping) {
      if (p.offset >= offset + size) break;
      offset = std::max(offset, p.end);
    }
    plan.offsets[idx] = offset;
    placed.push_back({offset, offset + size, u.first, u.last});
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
  }

  int32_t steps = 0;
  for (const BufferUse& u : uses) steps = std::max(steps, u.last + 1);
  std::vector<size_t> live(static_cast<size_t>(std::max(steps, 1)) + 1, 0);
  for (const BufferUse& u : uses) {
    if (u.bytes == 0) continue;
    size_t size = format::align_up(u.bytes, alignment);
    for (int32_t s = std::max(u.first, 0); s <= u.last; ++s) live[s] += size;
  }
  plan.lower_bound = live.empty() ? 0 : *std::max_element(live.begin(), live.end());
  return plan;
}

}  // namespace pocket
