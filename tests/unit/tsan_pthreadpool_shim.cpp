// ThreadSanitizer builds only (-DPOCKET_SANITIZE=thread): makes the fork/join of Debian's
// pthreadpool visible to TSan. The system libpthreadpool.so is not instrumented and hands work to
// its threads through futexes and atomics TSan cannot see, so every multi-threaded kernel would
// otherwise be reported as racing with the thread that prepared its inputs and reads its outputs.
//
// This file interposes the pthreadpool_parallelize_* entry points Pocket's kernels call (the
// executable's definitions win over the shared library's, for XNNPACK's calls too) and forwards to
// the real ones (dlsym RTLD_NEXT), wrapping each task so that TSan sees exactly the ordering
// pthreadpool guarantees and nothing more:
//   caller before parallelize  --happens-before-->  every task  --happens-before-->  caller after.
// Tasks of one parallelize call get no ordering between them, so two tasks writing the same
// bytes (a kernel tiling bug) are still reported. What stays unseen: pthreadpool's own memory and
// XNNPACK's kernels (both uninstrumented libraries). Compiled to nothing in other builds.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define POCKET_TSAN_SHIM 1
#endif
#endif
#if !defined(POCKET_TSAN_SHIM) && defined(__SANITIZE_THREAD__)
#define POCKET_TSAN_SHIM 1
#endif

#ifdef POCKET_TSAN_SHIM
#include <dlfcn.h>
#include <pthreadpool.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

namespace {

// One parallelize call: the caller's task and context, and two sync addresses (fork, join).
template <typename... Idx>
struct Call {
  void (*task)(void*, Idx...);
  void* context;
  char fork;
  char join;
};

template <typename... Idx>
void trampoline(void* p, Idx... i) {
  auto* c = static_cast<Call<Idx...>*>(p);
  __tsan_acquire(&c->fork);
  c->task(c->context, i...);
  __tsan_release(&c->join);
}

template <typename Fn>
Fn real(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (!f) {
    std::fprintf(stderr, "tsan_pthreadpool_shim: %s not found in the loaded libraries\n", name);
    std::abort();
  }
  return reinterpret_cast<Fn>(f);
}

// Forwards one call: Rest are the ranges, tiles and flags after the context.
template <typename... Idx, typename... Rest>
void forward(const char* name, pthreadpool_t pool, void (*task)(void*, Idx...), void* context, Rest... rest) {
  using Real = void (*)(pthreadpool_t, void (*)(void*, Idx...), void*, Rest...);
  static const Real fn = real<Real>(name);
  Call<Idx...> call{task, context, 0, 0};
  __tsan_release(&call.fork);
  fn(pool, &trampoline<Idx...>, &call, rest...);
  __tsan_acquire(&call.join);
}

}  // namespace

extern "C" {

void pthreadpool_parallelize_1d(pthreadpool_t pool, pthreadpool_task_1d_t task, void* context, size_t range,
                                uint32_t flags) {
  forward("pthreadpool_parallelize_1d", pool, task, context, range, flags);
}

void pthreadpool_parallelize_1d_tile_1d(pthreadpool_t pool, pthreadpool_task_1d_tile_1d_t task, void* context,
                                        size_t range, size_t tile, uint32_t flags) {
  forward("pthreadpool_parallelize_1d_tile_1d", pool, task, context, range, tile, flags);
}

void pthreadpool_parallelize_2d(pthreadpool_t pool, pthreadpool_task_2d_t task, void* context, size_t range_i,
                                size_t range_j, uint32_t flags) {
  forward("pthreadpool_parallelize_2d", pool, task, context, range_i, range_j, flags);
}

void pthreadpool_parallelize_2d_tile_1d(pthreadpool_t pool, pthreadpool_task_2d_tile_1d_t task, void* context,
                                        size_t range_i, size_t range_j, size_t tile_j, uint32_t flags) {
  forward("pthreadpool_parallelize_2d_tile_1d", pool, task, context, range_i, range_j, tile_j, flags);
}

void pthreadpool_parallelize_2d_tile_2d(pthreadpool_t pool, pthreadpool_task_2d_tile_2d_t task, void* context,
                                        size_t range_i, size_t range_j, size_t tile_i, size_t tile_j,
                                        uint32_t flags) {
  forward("pthreadpool_parallelize_2d_tile_2d", pool, task, context, range_i, range_j, tile_i, tile_j, flags);
}

void pthreadpool_parallelize_3d_tile_2d(pthreadpool_t pool, pthreadpool_task_3d_tile_2d_t task, void* context,
                                        size_t range_i, size_t range_j, size_t range_k, size_t tile_j,
                                        size_t tile_k, uint32_t flags) {
  forward("pthreadpool_parallelize_3d_tile_2d", pool, task, context, range_i, range_j, range_k, tile_j, tile_k,
          flags);
}

}  // extern "C"
#endif  // POCKET_TSAN_SHIM
