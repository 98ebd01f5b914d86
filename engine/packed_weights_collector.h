// Which packed-weight buffers an op got from the weight cache (engine/weight_cache.h), for the
// session's memory report (MemoryReport::packed_weights).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace pocket {

class PackedWeights;

// While alive, records every buffer that WeightCache::get_or_pack() or pack_weights() hands out on
// this thread (hits and fresh packs; the innermost collector only). Nests.
class PackedWeightsCollector {
 public:
  PackedWeightsCollector();
  ~PackedWeightsCollector();
  PackedWeightsCollector(const PackedWeightsCollector&) = delete;
  PackedWeightsCollector& operator=(const PackedWeightsCollector&) = delete;
  // Buffers seen (a buffer handed out twice appears twice) and their bytes.
  std::vector<std::pair<const PackedWeights*, size_t>> buffers;

 private:
  PackedWeightsCollector* previous_;
};

}  // namespace pocket
