#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace pocket::kernels {

// Initialises XNNPACK once per process; false if this CPU is not supported by it. XNNPACK is
// given a counting allocator that records, for every block, its size and the XnnAccount current
// on the allocating thread (see XnnAccountScope), so each session knows the heap bytes its
// XNNPACK operators hold, net of frees, whichever thread frees them. Code that uses XNNPACK
// directly should call this rather than xnn_initialize(nullptr), which would put XNNPACK's
// default allocator back: still safe (blocks are plain aligned_alloc blocks, freed with free()
// either way), but blocks allocated afterwards go uncounted.
bool xnnpack_available();

// Bytes XNNPACK holds for one owner (a session). Reference-counted: the owner holds one
// reference and every live block another, so a block freed after its owner is gone is safe.
class XnnAccount {
 public:
  static XnnAccount* create();      // one reference, held by the caller
  void release();                   // drops the caller's reference
  size_t bytes() const { return static_cast<size_t>(bytes_.load(std::memory_order_relaxed)); }

  // Used by the allocator.
  void add(int64_t n) { bytes_.fetch_add(n, std::memory_order_relaxed); }
  void retain() { refs_.fetch_add(1, std::memory_order_relaxed); }

 private:
  XnnAccount() = default;
  std::atomic<int64_t> bytes_{0};
  std::atomic<int64_t> refs_{1};
};

// While alive, XNNPACK allocations made on this thread are counted in `account` (nullptr: in no
// account). Nests: the previous account is restored on destruction.
class XnnAccountScope {
 public:
  explicit XnnAccountScope(XnnAccount* account);
  ~XnnAccountScope();
  XnnAccountScope(const XnnAccountScope&) = delete;
  XnnAccountScope& operator=(const XnnAccountScope&) = delete;

 private:
  XnnAccount* previous_;
};

// Heap bytes XNNPACK holds right now in the whole process (every account, and blocks allocated
// outside any account such as XNNPACK's own initialisation), and how many blocks.
size_t xnnpack_heap_bytes();
size_t xnnpack_heap_blocks();

}  // namespace pocket::kernels
