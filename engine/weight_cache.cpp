#include "engine/weight_cache.h"

#include <cstdlib>
#include <new>

#include "engine/packed_weights_collector.h"

namespace pocket {

namespace {
thread_local PackedWeightsCollector* t_collector = nullptr;

void collect(const std::shared_ptr<const PackedWeights>& p) {
  if (t_collector && p) t_collector->buffers.emplace_back(p.get(), p->bytes());
}
}  // namespace

PackedWeightsCollector::PackedWeightsCollector() : previous_(t_collector) { t_collector = this; }
PackedWeightsCollector::~PackedWeightsCollector() { t_collector = previous_; }

PackedWeights::PackedWeights(size_t bytes) : bytes_(bytes) {
  const size_t rounded = (bytes + 63) / 64 * 64;
  data_ = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (!data_) throw std::bad_alloc();
}

PackedWeights::~PackedWeights() { std::free(data_); }

std::shared_ptr<const PackedWeights> WeightCache::get_or_pack(const std::string& key, size_t bytes,
                                                              const std::function<void(void*)>& pack) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  if (it != map_.end()) {
    if (std::shared_ptr<const PackedWeights> hit = it->second.lock(); hit && hit->bytes() == bytes) {
      ++hits_;
      collect(hit);
      return hit;
    }
  }
  ++misses_;
  auto fresh = std::make_shared<PackedWeights>(bytes);
  pack(fresh->mutable_data());
  map_[key] = fresh;
  collect(fresh);
  // Drop entries whose buffers are gone, so the map does not grow with re-prepares.
  for (auto e = map_.begin(); e != map_.end();) {
    if (e->second.expired()) e = map_.erase(e);
    else ++e;
  }
  return fresh;
}

std::shared_ptr<const PackedWeights> pack_weights(WeightCache* cache, const std::string& key, size_t bytes,
                                                  const std::function<void(void*)>& pack) {
  if (cache) return cache->get_or_pack(key, bytes, pack);
  auto own = std::make_shared<PackedWeights>(bytes);
  pack(own->mutable_data());
  collect(own);
  return own;
}

size_t WeightCache::live_entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& e : map_)
    if (!e.second.expired()) ++n;
  return n;
}

size_t WeightCache::live_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& e : map_)
    if (auto p = e.second.lock()) n += p->bytes();
  return n;
}

size_t WeightCache::hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_;
}

size_t WeightCache::misses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return misses_;
}

}  // namespace pocket
