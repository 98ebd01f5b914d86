#include "kernels/xnnpack/xnnpack_init.h"

#include <xnnpack.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace pocket::kernels {

namespace {

// Blocks are plain aligned_alloc() blocks (so that even a block XNNPACK frees with its default
// allocator, after some other code called xnn_initialize(nullptr), is freed correctly), and a
// registry maps each live block to its size and account. XNNPACK allocates only when operators
// are created and set up (never in xnn_run_operator), so a mutex here costs nothing at run time.
struct Block {
  size_t size;            // bytes asked for
  XnnAccount* account;    // nullptr: allocated outside any account
};

thread_local XnnAccount* t_account = nullptr;
std::atomic<int64_t> g_bytes{0};
std::atomic<int64_t> g_blocks{0};

std::mutex& registry_mu() {
  static std::mutex mu;
  return mu;
}
std::unordered_map<void*, Block>& registry() {
  static auto* r = new std::unordered_map<void*, Block>();  // never destroyed: frees may come at exit
  return *r;
}

constexpr size_t kMinAlignment = 64;  // XNN_ALLOCATION_ALIGNMENT on x86-64 and aarch64

void* counted_alloc(size_t alignment, size_t size) {
  if (alignment < kMinAlignment) alignment = kMinAlignment;
  if (size > SIZE_MAX - alignment) return nullptr;
  const size_t total = size == 0 ? alignment : (size + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, total);
  if (!p) return nullptr;
  XnnAccount* a = t_account;
  {
    std::lock_guard<std::mutex> lock(registry_mu());
    registry()[p] = Block{size, a};
  }
  if (a) {
    a->retain();
    a->add(static_cast<int64_t>(size));
  }
  g_bytes.fetch_add(static_cast<int64_t>(size), std::memory_order_relaxed);
  g_blocks.fetch_add(1, std::memory_order_relaxed);
  return p;
}

// Removes p from the registry; false if it is not ours (allocated by XNNPACK's default
// allocator before ours was installed).
bool unregister(void* p, Block* out) {
  std::lock_guard<std::mutex> lock(registry_mu());
  auto it = registry().find(p);
  if (it == registry().end()) return false;
  *out = it->second;
  registry().erase(it);
  return true;
}

void uncount(const Block& b) {
  if (b.account) {
    b.account->add(-static_cast<int64_t>(b.size));
    b.account->release();
  }
  g_bytes.fetch_sub(static_cast<int64_t>(b.size), std::memory_order_relaxed);
  g_blocks.fetch_sub(1, std::memory_order_relaxed);
}

void counted_free(void* p) {
  if (!p) return;
  Block b;
  if (unregister(p, &b)) uncount(b);
  std::free(p);  // ours or XNNPACK's default (malloc / posix_memalign): free() either way
}

void* x_allocate(void*, size_t size) { return counted_alloc(kMinAlignment, size); }

void* x_reallocate(void*, void* p, size_t size) {
  if (!p) return counted_alloc(kMinAlignment, size);
  size_t old = 0;
  {
    std::lock_guard<std::mutex> lock(registry_mu());
    auto it = registry().find(p);
    if (it == registry().end()) return std::realloc(p, size);  // not ours: stays uncounted
    old = it->second.size;
  }
  void* q = counted_alloc(kMinAlignment, size);
  if (!q) return nullptr;  // the old block stays valid
  std::memcpy(q, p, old < size ? old : size);
  counted_free(p);
  return q;
}

void x_deallocate(void*, void* p) { counted_free(p); }
void* x_aligned_allocate(void*, size_t alignment, size_t size) { return counted_alloc(alignment, size); }
void x_aligned_deallocate(void*, void* p) { counted_free(p); }

const xnn_allocator kCountingAllocator = {
    /*context=*/nullptr,
    /*allocate=*/x_allocate,
    /*reallocate=*/x_reallocate,
    /*deallocate=*/x_deallocate,
    /*aligned_allocate=*/x_aligned_allocate,
    /*aligned_deallocate=*/x_aligned_deallocate,
};

}  // namespace

bool xnnpack_available() {
  static const bool ok = xnn_initialize(&kCountingAllocator) == xnn_status_success;
  return ok;
}

XnnAccount* XnnAccount::create() { return new XnnAccount(); }

void XnnAccount::release() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

XnnAccountScope::XnnAccountScope(XnnAccount* account) : previous_(t_account) { t_account = account; }
XnnAccountScope::~XnnAccountScope() { t_account = previous_; }

size_t xnnpack_heap_bytes() { return static_cast<size_t>(g_bytes.load(std::memory_order_relaxed)); }
size_t xnnpack_heap_blocks() { return static_cast<size_t>(g_blocks.load(std::memory_order_relaxed)); }

}  // namespace pocket::kernels
