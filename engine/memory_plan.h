// Liveness-based arena planning: every buffer has a size and the interval of steps during which
// it is live; buffers whose intervals overlap get disjoint offsets. Greedy by size (largest first,
// lowest offset that fits), as XNNPACK's and TFLite's planners do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pocket {

struct BufferUse {
  size_t bytes = 0;
  int32_t first = 0;  // first step that writes it
  int32_t last = 0;   // last step that reads it (inclusive)
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // one per BufferUse, multiple of the alignment
  size_t arena_bytes = 0;       // total arena size
  size_t lower_bound = 0;       // max over steps of the bytes live at that step
};

MemoryPlan plan_memory(const std::vector<BufferUse>& uses, size_t alignment = 64);

}  // namespace pocket
