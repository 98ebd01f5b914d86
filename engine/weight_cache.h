// Packed weights shared by every Session of one Model. Packing (GEMM panels, Winograd transforms,
// depthwise channel groups) happens at Session creation; a second session of the same model, or a
// session re-prepared by resize_input, finds the buffer here instead of packing again.
// Entries are held weakly: a buffer lives as long as some session uses it, so destroying every
// session of a model frees its packed weights. Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace pocket {

// One 64-byte-aligned immutable buffer.
class PackedWeights {
 public:
  explicit PackedWeights(size_t bytes);
  ~PackedWeights();
  PackedWeights(const PackedWeights&) = delete;
  PackedWeights& operator=(const PackedWeights&) = delete;
  const void* data() const { return data_; }
  template <class T>
  const T* as() const { return static_cast<const T*>(data_); }
  size_t bytes() const { return bytes_; }
  void* mutable_data() { return data_; }  // only while packing

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

class WeightCache {
 public:
  // The buffer stored under key, or a new one of `bytes` filled by pack(ptr). The key must name
  // everything the packed bytes depend on: node, implementation family, kernel/ISA, shapes.
  // A hit with a different size is a key collision and is packed again (not shared).
  std::shared_ptr<const PackedWeights> get_or_pack(const std::string& key, size_t bytes,
                                                   const std::function<void(void*)>& pack);
  // Live shared buffers and their total size (for memory reports).
  size_t live_entries() const;
  size_t live_bytes() const;
  // Counters for tests: how many get_or_pack calls were served from the cache, how many packed.
  size_t hits() const;
  size_t misses() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::weak_ptr<const PackedWeights>> map_;
  size_t hits_ = 0, misses_ = 0;
};

// The one way ops pack weights: through the model's cache when there is one (a session), else
// into a buffer of the caller's own (an op run alone in a test).
std::shared_ptr<const PackedWeights> pack_weights(WeightCache* cache, const std::string& key, size_t bytes,
                                                  const std::function<void(void*)>& pack);

}  // namespace pocket
