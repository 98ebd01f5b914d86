// Compiled with -mavx2 -mfma (bench/CMakeLists.txt); only called after cpu_features().avx2_fma.
#include "bench/kernels/peak_probe.h"

#include <time.h>

#include "kernels/cpu_features.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace pocket::bench {

namespace {

// clock_gettime rather than <chrono>: this file is built with AVX2 flags, and inline template code
// from headers could otherwise be merged into the baseline build.
// Thread CPU time, not wall time: the probe measures what the core does while this thread runs,
// so a busy machine (another process sharing the core) does not lower the peak.
double now_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

#if defined(__x86_64__)
// 10 independent accumulators hide the FMA latency (4-5 cycles) on two FMA ports.
__attribute__((noinline)) float fma_loop(long iters) {
  __m256 acc0 = _mm256_set1_ps(0.f), acc1 = _mm256_set1_ps(0.1f), acc2 = _mm256_set1_ps(0.2f);
  __m256 acc3 = _mm256_set1_ps(0.3f), acc4 = _mm256_set1_ps(0.4f), acc5 = _mm256_set1_ps(0.5f);
  __m256 acc6 = _mm256_set1_ps(0.6f), acc7 = _mm256_set1_ps(0.7f), acc8 = _mm256_set1_ps(0.8f);
  __m256 acc9 = _mm256_set1_ps(0.9f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iters; ++i) {
    acc0 = _mm256_fmadd_ps(acc0, a, b);
    acc1 = _mm256_fmadd_ps(acc1, a, b);
    acc2 = _mm256_fmadd_ps(acc2, a, b);
    acc3 = _mm256_fmadd_ps(acc3, a, b);
    acc4 = _mm256_fmadd_ps(acc4, a, b);
    acc5 = _mm256_fmadd_ps(acc5, a, b);
    acc6 = _mm256_fmadd_ps(acc6, a, b);
    acc7 = _mm256_fmadd_ps(acc7, a, b);
    acc8 = _mm256_fmadd_ps(acc8, a, b);
    acc9 = _mm256_fmadd_ps(acc9, a, b);
    __asm__ volatile("" : "+x"(acc0), "+x"(acc1), "+x"(acc2), "+x"(acc3), "+x"(acc4));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)),
                           _mm256_add_ps(_mm256_add_ps(acc4, acc5), _mm256_add_ps(acc6, acc7)));
  s = _mm256_add_ps(s, _mm256_add_ps(acc8, acc9));
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

// 10 independent vpmaddwd -> vpaddd chains (16 multiply-adds per vpmaddwd).
__attribute__((noinline)) int madd_loop(long iters) {
  __m256i c0 = _mm256_set1_epi32(1), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0;
  const __m256i x = _mm256_set1_epi16(3), y = _mm256_set1_epi16(5);
  for (long i = 0; i < iters; ++i) {
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(x, y));
    c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(x, y));
    c2 = _mm256_add_epi32(c2, _mm256_madd_epi16(x, y));
    c3 = _mm256_add_epi32(c3, _mm256_madd_epi16(x, y));
    c4 = _mm256_add_epi32(c4, _mm256_madd_epi16(x, y));
    c5 = _mm256_add_epi32(c5, _mm256_madd_epi16(x, y));
    c6 = _mm256_add_epi32(c6, _mm256_madd_epi16(x, y));
    c7 = _mm256_add_epi32(c7, _mm256_madd_epi16(x, y));
    c8 = _mm256_add_epi32(c8, _mm256_madd_epi16(x, y));
    c9 = _mm256_add_epi32(c9, _mm256_madd_epi16(x, y));
    __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5), "+x"(c6), "+x"(c7), "+x"(c8),
                     "+x"(c9));
  }
  __m256i s = _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3));
  s = _mm256_add_epi32(s, _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7)));
  s = _mm256_add_epi32(s, _mm256_add_epi32(c8, c9));
  return _mm256_extract_epi32(s, 0);
}
#endif

}  // namespace

double probe_madd_peak_gops() {
#if defined(__x86_64__)
  if (!kernels::cpu_features().avx2_fma) return 0.0;
  constexpr long kIters = 20'000'000;
  constexpr double kOps = 2.0 * 16 * 10 * static_cast<double>(kIters);
  volatile int sink = madd_loop(kIters / 10);
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now_seconds();
    sink = madd_loop(kIters);
    const double s = now_seconds() - t0;
    if (s > 0 && kOps / s * 1e-9 > best) best = kOps / s * 1e-9;
  }
  (void)sink;
  return best;
#else
  return 0.0;
#endif
}

double probe_fma_peak_gflops() {
#if defined(__x86_64__)
  if (!kernels::cpu_features().avx2_fma) return 0.0;
  constexpr long kIters = 20'000'000;  // 200M FMAs: ~30-60 ms on a 3-4 GHz core
  constexpr double kFlops = 2.0 * 8 * 10 * static_cast<double>(kIters);
  volatile float sink = fma_loop(kIters / 10);  // warm up (clock ramp)
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now_seconds();
    sink = fma_loop(kIters);
    const double s = now_seconds() - t0;
    if (s > 0 && kFlops / s * 1e-9 > best) best = kFlops / s * 1e-9;
  }
  (void)sink;
  return best;
#else
  return 0.0;
#endif
}

double& peak_gflops() {
  static double peak = 0.0;
  return peak;
}

}  // namespace pocket::bench
