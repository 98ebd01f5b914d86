// int8 GEMM (qs8) on shapes from DistilBERT, Whisper and MobileNet (M rows = tokens / pixels):
// every Pocket qgemm variant this CPU runs (int8 in, int8 out with per-column weight scales: the
// static int8 Conv/Gemm form; scalar only on the small shapes), the best variant with f32 out (the
// weight-only dynamic form), XNNPACK's fully_connected_nc_qs8 on the same operands (per-tensor
// weight scale: the only qs8 FC of this XNNPACK; created and set up outside the timing loop) and
// Pocket's fp32 packed GEMM on the same shape, 1 thread; plus /threads:2 rows of the best variant
// and XNNPACK. Counter: GOP/s (2*M*N*K per iteration). The /interleaved rows run all three back to
// back per iteration and report the medians of the time ratios: read those on a busy machine.
// Registered by register_qgemm_benchmarks(); until main() calls it, a static hook in this file does.
#include <benchmark/benchmark.h>
#include <xnnpack.h>

#include <pthreadpool.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_init.h"
#include "kernels/gemm/gemm_f32.h"
#include "kernels/quant/qgemm.h"
#include "kernels/quant/qgemm_impl.h"

namespace pocket::bench {

void register_qgemm_benchmarks();

namespace {

struct QShape {
  const char* model;
  int64_t m, k, n;
};

constexpr QShape kShapes[] = {
    {"distilbert_qkv", 128, 768, 768},       {"distilbert_ffn_up", 128, 768, 3072},
    {"distilbert_ffn_down", 128, 3072, 768}, {"decode", 1, 768, 768},
    {"whisper_ffn_up", 1500, 384, 1536},     {"mobilenet_1x1_expand", 3136, 24, 72},
    {"mobilenet_1x1_mid", 784, 40, 120},     {"mobilenet_1x1_late", 196, 96, 576},
};

std::string shape_name(const QShape& s) {
  return std::string(s.model) + "/" + std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
}

struct PoolDeleter {
  void operator()(pthreadpool_t p) const { pthreadpool_destroy(p); }
};
using Pool = std::unique_ptr<pthreadpool, PoolDeleter>;
Pool make_pool(int threads) { return Pool(threads > 1 ? pthreadpool_create(static_cast<size_t>(threads)) : nullptr); }

constexpr float kAScale = 0.02f, kBScale = 0.01f;
constexpr int32_t kAZero = 3, kOutZero = -2;
float out_scale(const QShape& s) { return 0.05f * std::sqrt(static_cast<float>(s.k)); }

struct Operands {
  std::vector<int8_t> a, b;  // a [M][K], b [K][N]
  std::vector<int32_t> bias_i32;
  std::vector<float> bias, b_scale;
  std::vector<int8_t> c;
};

Operands make_operands(const QShape& s) {
  Operands o;
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> d(-128, 127), db(-5000, 5000);
  o.a.resize(static_cast<size_t>(s.m * s.k));
  o.b.resize(static_cast<size_t>(s.k * s.n));
  for (auto& x : o.a) x = static_cast<int8_t>(d(rng));
  for (auto& x : o.b) x = static_cast<int8_t>(d(rng));
  o.bias_i32.resize(static_cast<size_t>(s.n));
  o.bias.resize(static_cast<size_t>(s.n));
  for (int64_t j = 0; j < s.n; ++j) {
    o.bias_i32[j] = db(rng);
    o.bias[j] = static_cast<float>(o.bias_i32[j]) * kAScale * kBScale;
  }
  o.b_scale.assign(static_cast<size_t>(s.n), kBScale);
  o.c.assign(static_cast<size_t>(s.m * s.n), 0);
  return o;
}

// A sample of C against the exact sum requantized in double; within 1 of it, else an error.
std::string check_sample(const QShape& s, const Operands& o) {
  std::mt19937 rng(99);
  for (int t = 0; t < 64; ++t) {
    const int64_t i = rng() % static_cast<uint32_t>(s.m), j = rng() % static_cast<uint32_t>(s.n);
    int64_t acc = o.bias_i32[j];
    for (int64_t p = 0; p < s.k; ++p) acc += (o.a[i * s.k + p] - kAZero) * static_cast<int64_t>(o.b[p * s.n + j]);
    const double q = std::min(127.0, std::max<double>(-128.0, std::nearbyint(static_cast<double>(acc) * kAScale * kBScale / out_scale(s)) + kOutZero));
    const int got = o.c[i * s.n + j];
    if (std::fabs(got - q) > 1) {
      char buf[128];
      std::snprintf(buf, sizeof(buf), "wrong result at C(%lld,%lld): %d, expected %g", static_cast<long long>(i),
                    static_cast<long long>(j), got, q);
      return buf;
    }
  }
  return {};
}

void set_counters(benchmark::State& state, const QShape& s) {
  const double gop = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k) * 1e-9;
  state.counters["GOP/s"] = benchmark::Counter(gop * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void bench_pocket(benchmark::State& state, QShape s, const kernels::QGemmKernel* kernel, int threads, bool f32_out) {
  Operands o = make_operands(s);
  const size_t bytes = kernels::qgemm_packed_b_bytes(*kernel, s.k, s.n);
  std::unique_ptr<void, decltype(&std::free)> packed(std::aligned_alloc(64, (bytes + 63) / 64 * 64), &std::free);
  kernels::qgemm_pack_b(*kernel, s.k, s.n, o.b.data(), s.n, 1, packed.get());
  std::vector<float> cf(f32_out ? static_cast<size_t>(s.m * s.n) : 0);
  const float as = kAScale;
  const int32_t az = kAZero;
  kernels::QGemmArgs g;
  g.m = s.m, g.n = s.n, g.k = s.k;
  g.a = o.a.data(), g.lda = s.k;
  g.a_zero_point = &az;
  g.packed_b = packed.get();
  g.c_i8 = o.c.data(), g.c_f32 = cf.data(), g.ldc = s.n;
  g.ep.a_scale = &as;
  g.ep.b_scale = o.b_scale.data();
  g.ep.bias = o.bias.data();
  g.ep.out_i8 = !f32_out;
  g.ep.out_scale = out_scale(s);
  g.ep.out_zero_point = kOutZero;
  std::vector<unsigned char> scratch(kernels::qgemm_scratch_bytes(*kernel, s.m, s.n, s.k, threads) + 64);
  Pool pool = make_pool(threads);
  for (auto _ : state) {
    kernels::qgemm(*kernel, g, scratch.data(), pool.get());
    benchmark::DoNotOptimize(o.c.data());
    benchmark::DoNotOptimize(cf.data());
    benchmark::ClobberMemory();
  }
  if (f32_out) {
    for (size_t i = 0; i < cf.size(); ++i) {
      const float q = std::nearbyint(cf[i] / out_scale(s)) + kOutZero;
      o.c[i] = static_cast<int8_t>(std::min(127.f, std::max(-128.f, q)));
    }
  }
  if (std::string err = check_sample(s, o); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  set_counters(state, s);
}

void bench_xnnpack(benchmark::State& state, QShape s, int threads) {
  Operands o = make_operands(s);
  xnn_operator_t op = nullptr;
  if (xnn_create_fully_connected_nc_qs8(static_cast<size_t>(s.k), static_cast<size_t>(s.n), static_cast<size_t>(s.k),
                                        static_cast<size_t>(s.n), static_cast<int8_t>(kAZero), kAScale, kBScale,
                                        o.b.data(), o.bias_i32.data(), static_cast<int8_t>(kOutZero), out_scale(s),
                                        -128, 127, XNN_FLAG_TRANSPOSE_WEIGHTS, &op) != xnn_status_success) {
    state.SkipWithError("xnn_create_fully_connected_nc_qs8 failed");
    return;
  }
  Pool pool = make_pool(threads);
  if (xnn_setup_fully_connected_nc_qs8(op, static_cast<size_t>(s.m), o.a.data(), o.c.data(), pool.get()) !=
      xnn_status_success) {
    xnn_delete_operator(op);
    state.SkipWithError("xnn_setup_fully_connected_nc_qs8 failed");
    return;
  }
  for (auto _ : state) {
    xnn_run_operator(op, pool.get());
    benchmark::DoNotOptimize(o.c.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  if (std::string err = check_sample(s, o); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  set_counters(state, s);
}

void bench_f32(benchmark::State& state, QShape s) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n)), bias(static_cast<size_t>(s.n)),
      c(static_cast<size_t>(s.m * s.n));
  for (auto& x : a) x = d(rng);
  for (auto& x : b) x = d(rng);
  for (auto& x : bias) x = d(rng);
  const size_t floats = kernels::gemm_f32_packed_b_floats(s.k, s.n);
  std::unique_ptr<float, decltype(&std::free)> packed(
      static_cast<float*>(std::aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64)), &std::free);
  kernels::gemm_f32_pack_b(s.k, s.n, b.data(), s.n, 1, packed.get());
  kernels::GemmF32PackedArgs g;
  g.m = s.m, g.n = s.n, g.k = s.k;
  g.a = a.data(), g.lda = s.k, g.packed_b = packed.get(), g.c = c.data(), g.ldc = s.n;
  g.ep.bias = bias.data();
  for (auto _ : state) {
    kernels::gemm_f32_packed(g, nullptr);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, s);
}

// Ours (best variant, int8 out), XNNPACK qs8 and Pocket fp32 back to back in every iteration,
// each timed alone: the medians of the per-iteration time ratios (xnnpack_over_ours = how many
// times faster ours is; f32_over_ours the same against fp32) hold up on a busy machine, where
// separate rows drift by tens of percent.
void bench_interleaved(benchmark::State& state, QShape s) {
  using clock = std::chrono::steady_clock;
  const kernels::QGemmKernel& kernel = kernels::qgemm_kernel();
  Operands o = make_operands(s), ox = make_operands(s);
  const size_t bytes = kernels::qgemm_packed_b_bytes(kernel, s.k, s.n);
  std::unique_ptr<void, decltype(&std::free)> packed(std::aligned_alloc(64, (bytes + 63) / 64 * 64), &std::free);
  kernels::qgemm_pack_b(kernel, s.k, s.n, o.b.data(), s.n, 1, packed.get());
  const float as = kAScale;
  const int32_t az = kAZero;
  kernels::QGemmArgs g;
  g.m = s.m, g.n = s.n, g.k = s.k;
  g.a = o.a.data(), g.lda = s.k;
  g.a_zero_point = &az;
  g.packed_b = packed.get();
  g.c_i8 = o.c.data(), g.ldc = s.n;
  g.ep.a_scale = &as;
  g.ep.b_scale = o.b_scale.data();
  g.ep.bias = o.bias.data();
  g.ep.out_i8 = true;
  g.ep.out_scale = out_scale(s);
  g.ep.out_zero_point = kOutZero;
  xnn_operator_t op = nullptr;
  if (xnn_create_fully_connected_nc_qs8(static_cast<size_t>(s.k), static_cast<size_t>(s.n), static_cast<size_t>(s.k),
                                        static_cast<size_t>(s.n), static_cast<int8_t>(kAZero), kAScale, kBScale,
                                        ox.b.data(), ox.bias_i32.data(), static_cast<int8_t>(kOutZero), out_scale(s),
                                        -128, 127, XNN_FLAG_TRANSPOSE_WEIGHTS, &op) != xnn_status_success ||
      xnn_setup_fully_connected_nc_qs8(op, static_cast<size_t>(s.m), ox.a.data(), ox.c.data(), nullptr) !=
          xnn_status_success) {
    if (op) xnn_delete_operator(op);
    state.SkipWithError("XNNPACK qs8 fully connected setup failed");
    return;
  }
  std::vector<float> fa(static_cast<size_t>(s.m * s.k), 0.5f), fb(static_cast<size_t>(s.k * s.n), 0.25f),
      fc(static_cast<size_t>(s.m * s.n));
  std::unique_ptr<float, decltype(&std::free)> fpacked(
      static_cast<float*>(std::aligned_alloc(64, (kernels::gemm_f32_packed_b_floats(s.k, s.n) * 4 + 63) / 64 * 64)),
      &std::free);
  kernels::gemm_f32_pack_b(s.k, s.n, fb.data(), s.n, 1, fpacked.get());
  kernels::GemmF32PackedArgs fg;
  fg.m = s.m, fg.n = s.n, fg.k = s.k;
  fg.a = fa.data(), fg.lda = s.k, fg.packed_b = fpacked.get(), fg.c = fc.data(), fg.ldc = s.n;
  std::vector<double> rx, rf, tours;
  for (auto _ : state) {
    const auto t0 = clock::now();
    kernels::qgemm(kernel, g, nullptr, nullptr);
    const auto t1 = clock::now();
    xnn_run_operator(op, nullptr);
    const auto t2 = clock::now();
    kernels::gemm_f32_packed(fg, nullptr);
    const auto t3 = clock::now();
    benchmark::DoNotOptimize(o.c.data());
    benchmark::DoNotOptimize(ox.c.data());
    benchmark::DoNotOptimize(fc.data());
    benchmark::ClobberMemory();
    const double ours = std::chrono::duration<double>(t1 - t0).count();
    rx.push_back(std::chrono::duration<double>(t2 - t1).count() / ours);
    rf.push_back(std::chrono::duration<double>(t3 - t2).count() / ours);
    tours.push_back(ours);
  }
  xnn_delete_operator(op);
  if (std::string err = check_sample(s, o); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  if (tours.empty()) return;
  state.counters["xnnpack_over_ours"] = median(rx);
  state.counters["f32_over_ours"] = median(rf);
  state.counters["ours_GOP/s"] = 2e-9 * static_cast<double>(s.m) * static_cast<double>(s.n) *
                                 static_cast<double>(s.k) / median(tours);
}

struct StaticHook {
  StaticHook() { register_qgemm_benchmarks(); }
} hook;

}  // namespace

void register_qgemm_benchmarks() {
  static bool done = false;
  if (done) return;
  done = true;
  size_t count = 0;
  const kernels::QGemmKernel* variants = kernels::qgemm_variants(&count);
  const bool have_xnnpack = pocket::kernels::xnnpack_available();
  for (const QShape& s : kShapes) {
    const std::string base = "qgemm/" + shape_name(s) + "/";
    const bool small = s.m * s.n * s.k <= 16 * 1024 * 1024;
    for (size_t v = 0; v < count; ++v) {
      if (v == 0 && count > 1 && !small) continue;
      benchmark::RegisterBenchmark((base + "pocket_" + variants[v].name).c_str(), bench_pocket, s, &variants[v], 1,
                                   false)
          ->Unit(benchmark::kMicrosecond);
    }
    const kernels::QGemmKernel* best = &kernels::qgemm_kernel();
    benchmark::RegisterBenchmark((base + "pocket_" + best->name + "_f32out").c_str(), bench_pocket, s, best, 1, true)
        ->Unit(benchmark::kMicrosecond);
    if (have_xnnpack)
      benchmark::RegisterBenchmark((base + "xnnpack_qs8").c_str(), bench_xnnpack, s, 1)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((base + "pocket_f32").c_str(), bench_f32, s)->Unit(benchmark::kMicrosecond);
    if (have_xnnpack)
      benchmark::RegisterBenchmark((base + "interleaved").c_str(), bench_interleaved, s)
          ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((base + "pocket_" + best->name + "/threads:2").c_str(), bench_pocket, s, best, 2,
                                 false)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    if (have_xnnpack)
      benchmark::RegisterBenchmark((base + "xnnpack_qs8/threads:2").c_str(), bench_xnnpack, s, 2)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
  }
}

}  // namespace pocket::bench
