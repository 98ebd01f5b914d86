// f32 GEMM on shapes taken from real models: every Pocket variant this CPU runs (packed B as used
// for weights: pocket_packed_<isa>; unpacked B: pocket_<isa>), and XNNPACK's
// fully_connected_nc_f32 on the same operands, 1 thread, plus 2-thread rows (suffix /threads:2)
// of the packed best variant and XNNPACK on the big shapes, and batched activation x activation
// products (gemm_f32_batched/, the unfused attention path). Counters: GFLOP/s (2*M*N*K per
// iteration) and pct_peak (percent of threads x the single-core FMA peak probed at startup).
#include <benchmark/benchmark.h>
#include <xnnpack.h>

#include <pthreadpool.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_init.h"
#include "bench/kernels/bench_registry.h"
#include "bench/kernels/peak_probe.h"
#include "kernels/gemm/gemm_f32.h"

namespace pocket::bench {

namespace {

// M rows (tokens / pixels) x K inputs x N outputs.
struct GemmShape {
  const char* model;
  int64_t m, k, n;
  bool big;  // also benchmarked with 2 threads
};

constexpr GemmShape kShapes[] = {
    {"distilbert_qkv", 128, 768, 768, true},
    {"distilbert_ffn_up", 128, 768, 3072, true},
    {"distilbert_ffn_down", 128, 3072, 768, true},
    {"whisper_tiny_attn", 1500, 384, 384, true},
    {"whisper_tiny_ffn_up", 1500, 384, 1536, true},
    {"whisper_tiny_ffn_down", 1500, 1536, 384, true},
    {"whisper_tiny_logits", 1, 384, 51865, true},
    {"whisper_tiny_decode_attn", 1, 384, 384, true},
    {"whisper_tiny_decode_ffn_up", 1, 384, 1536, true},
    {"llm_decode", 1, 4096, 4096, true},
    {"mobilenetv3_1x1_expand", 56 * 56, 16, 72},
    {"mobilenetv3_1x1_project", 28 * 28, 72, 24},
};

struct GemmOperands {
  std::vector<float> a, b, bias, c;
};

GemmOperands make_operands(const GemmShape& s) {
  GemmOperands o;
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  o.a.resize(static_cast<size_t>(s.m * s.k));
  o.b.resize(static_cast<size_t>(s.k * s.n));
  o.bias.resize(static_cast<size_t>(s.n));
  o.c.assign(static_cast<size_t>(s.m * s.n), 0.f);
  for (float& v : o.a) v = dist(rng);
  for (float& v : o.b) v = dist(rng);
  for (float& v : o.bias) v = dist(rng);
  return o;
}

// Checks a sample of C against a double-precision dot product; empty string when it matches.
std::string check_sample(const GemmShape& s, const GemmOperands& o) {
  std::mt19937 rng(99);
  for (int t = 0; t < 64; ++t) {
    const int64_t i = static_cast<int64_t>(rng() % static_cast<uint32_t>(s.m));
    const int64_t j = static_cast<int64_t>(rng() % static_cast<uint32_t>(s.n));
    double ref = o.bias[static_cast<size_t>(j)], mag = std::fabs(ref);
    for (int64_t p = 0; p < s.k; ++p) {
      const double prod = static_cast<double>(o.a[static_cast<size_t>(i * s.k + p)]) * o.b[static_cast<size_t>(p * s.n + j)];
      ref += prod;
      mag += std::fabs(prod);
    }
    const double got = o.c[static_cast<size_t>(i * s.n + j)];
    if (!(std::fabs(got - ref) <= 1e-5 * mag + 1e-5)) {
      char buf[160];
      std::snprintf(buf, sizeof(buf), "wrong result at C(%lld,%lld): %g, expected %g",
                    static_cast<long long>(i), static_cast<long long>(j), got, ref);
      return buf;
    }
  }
  return {};
}

struct PoolDeleter {
  void operator()(pthreadpool_t p) const { pthreadpool_destroy(p); }
};
using Pool = std::unique_ptr<pthreadpool, PoolDeleter>;
Pool make_pool(int threads) { return Pool(threads > 1 ? pthreadpool_create(static_cast<size_t>(threads)) : nullptr); }

void set_counters(benchmark::State& state, const GemmShape& s, int threads = 1) {
  const double gflop = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k) * 1e-9;
  const double total = gflop * static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(total, benchmark::Counter::kIsRate);
  if (peak_gflops() > 0)
    state.counters["pct_peak"] =
        benchmark::Counter(total * 100.0 / (peak_gflops() * threads), benchmark::Counter::kIsRate);
}

void bench_pocket_packed(benchmark::State& state, GemmShape s, kernels::GemmF32PackedKernel kernel, int threads) {
  GemmOperands o = make_operands(s);
  const size_t floats = kernels::gemm_f32_packed_b_floats(kernel, s.k, s.n);
  std::unique_ptr<float, decltype(&std::free)> packed(
      static_cast<float*>(std::aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64)), &std::free);
  kernels::gemm_f32_pack_b(kernel, s.k, s.n, o.b.data(), s.n, 1, packed.get());
  kernels::GemmF32PackedArgs args;
  args.m = s.m;
  args.n = s.n;
  args.k = s.k;
  args.a = o.a.data();
  args.lda = s.k;
  args.packed_b = packed.get();
  args.c = o.c.data();
  args.ldc = s.n;
  args.ep.bias = o.bias.data();
  Pool pool = make_pool(threads);
  for (auto _ : state) {
    kernels::gemm_f32_packed(kernel, args, pool.get());
    benchmark::DoNotOptimize(o.c.data());
    benchmark::ClobberMemory();
  }
  if (std::string err = check_sample(s, o); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  set_counters(state, s, threads);
}

void bench_pocket(benchmark::State& state, GemmShape s, kernels::GemmF32Kernel kernel) {
  GemmOperands o = make_operands(s);
  kernels::GemmF32Args args;
  args.m = s.m;
  args.n = s.n;
  args.k = s.k;
  args.a = o.a.data();
  args.a_row_stride = s.k;
  args.a_col_stride = 1;
  args.b = o.b.data();
  args.ldb = s.n;
  args.c = o.c.data();
  args.ldc = s.n;
  args.bias = o.bias.data();
  for (auto _ : state) {
    kernels::gemm_f32(kernel, args, nullptr);
    benchmark::DoNotOptimize(o.c.data());
    benchmark::ClobberMemory();
  }
  if (std::string err = check_sample(s, o); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  set_counters(state, s);
}

void bench_xnnpack(benchmark::State& state, GemmShape s, int threads) {
  GemmOperands o = make_operands(s);
  xnn_operator_t op = nullptr;
  // B is [K][N], the same buffer Pocket reads: XNN_FLAG_TRANSPOSE_WEIGHTS says so.
  if (xnn_create_fully_connected_nc_f32(static_cast<size_t>(s.k), static_cast<size_t>(s.n), static_cast<size_t>(s.k),
                                        static_cast<size_t>(s.n), o.b.data(), o.bias.data(), -INFINITY, INFINITY,
                                        XNN_FLAG_TRANSPOSE_WEIGHTS, &op) != xnn_status_success) {
    state.SkipWithError("xnn_create_fully_connected_nc_f32 failed");
    return;
  }
  if (xnn_setup_fully_connected_nc_f32(op, static_cast<size_t>(s.m), o.a.data(), o.c.data(), nullptr) !=
      xnn_status_success) {
    xnn_delete_operator(op);
    state.SkipWithError("xnn_setup_fully_connected_nc_f32 failed");
    return;
  }
  Pool pool = make_pool(threads);
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
  set_counters(state, s, threads);
}

// Batched MatMul with both operands activations (the unfused attention path): [batches, M, K] x
// [batches, K, N]. Pocket packs each batch's B per run (what MatMulOp does: gemm_f32_packed_b_once)
// or multiplies B as it is (gemm_f32, "unpacked"). XNNPACK (this build has no batch-matrix-multiply
// operator) gets one fully_connected operator per batch created before the timing loop, so its
// weight packing is NOT timed: an upper bound for XNNPACK on this path.
struct BatchedShape {
  const char* name;
  int64_t batches, m, k, n;
};
constexpr BatchedShape kBatched[] = {
    {"distilbert_scores_qk", 12, 128, 64, 128},
    {"distilbert_context_pv", 12, 128, 128, 64},
};

enum class BatchedMode { PackPerRun, Unpacked, Xnnpack };

void bench_batched(benchmark::State& state, BatchedShape s, BatchedMode mode, int threads) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> a(static_cast<size_t>(s.batches * s.m * s.k)), b(static_cast<size_t>(s.batches * s.k * s.n));
  std::vector<float> c(static_cast<size_t>(s.batches * s.m * s.n));
  for (float& v : a) v = dist(rng);
  for (float& v : b) v = dist(rng);
  Pool pool = make_pool(threads);
  const kernels::GemmF32PackedKernel& kr = kernels::gemm_f32_packed_kernel();
  const size_t floats = kernels::gemm_f32_packed_b_floats(kr, s.k, s.n);
  std::unique_ptr<float, decltype(&std::free)> scratch(
      static_cast<float*>(std::aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64)), &std::free);
  std::vector<xnn_operator_t> ops;
  if (mode == BatchedMode::Xnnpack) {
    for (int64_t t = 0; t < s.batches; ++t) {
      xnn_operator_t op = nullptr;
      if (xnn_create_fully_connected_nc_f32(static_cast<size_t>(s.k), static_cast<size_t>(s.n), static_cast<size_t>(s.k),
                                            static_cast<size_t>(s.n), b.data() + t * s.k * s.n, nullptr, -INFINITY,
                                            INFINITY, XNN_FLAG_TRANSPOSE_WEIGHTS, &op) != xnn_status_success ||
          xnn_setup_fully_connected_nc_f32(op, static_cast<size_t>(s.m), a.data() + t * s.m * s.k,
                                           c.data() + t * s.m * s.n, nullptr) != xnn_status_success) {
        state.SkipWithError("XNNPACK fully connected setup failed");
        for (xnn_operator_t o : ops) xnn_delete_operator(o);
        if (op) xnn_delete_operator(op);
        return;
      }
      ops.push_back(op);
    }
  }
  for (auto _ : state) {
    for (int64_t t = 0; t < s.batches; ++t) {
      const float* at = a.data() + t * s.m * s.k;
      const float* bt = b.data() + t * s.k * s.n;
      float* ct = c.data() + t * s.m * s.n;
      if (mode == BatchedMode::PackPerRun) {
        kernels::GemmF32PackedArgs g;
        g.m = s.m, g.n = s.n, g.k = s.k;
        g.a = at, g.lda = s.k;
        g.c = ct, g.ldc = s.n;
        kernels::gemm_f32_packed_b_once(kr, g, bt, s.n, scratch.get(), pool.get());
      } else if (mode == BatchedMode::Unpacked) {
        kernels::GemmF32Args g;
        g.m = s.m, g.n = s.n, g.k = s.k;
        g.a = at, g.a_row_stride = s.k, g.a_col_stride = 1;
        g.b = bt, g.ldb = s.n;
        g.c = ct, g.ldc = s.n;
        kernels::gemm_f32(g, pool.get());
      } else {
        xnn_run_operator(ops[static_cast<size_t>(t)], pool.get());
      }
    }
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  for (xnn_operator_t o : ops) xnn_delete_operator(o);
  // Spot check against a double dot product.
  for (int probe = 0; probe < 32; ++probe) {
    const int64_t t = probe % s.batches, i = (probe * 37) % s.m, j = (probe * 11) % s.n;
    double ref = 0, mag = 0;
    for (int64_t p = 0; p < s.k; ++p) {
      const double x = static_cast<double>(a[(t * s.m + i) * s.k + p]) * b[(t * s.k + p) * s.n + j];
      ref += x;
      mag += std::fabs(x);
    }
    if (!(std::fabs(c[(t * s.m + i) * s.n + j] - ref) <= 1e-5 * mag + 1e-5)) {
      state.SkipWithError("wrong batched result");
      return;
    }
  }
  GemmShape flat{s.name, s.batches * s.m, s.k, s.n, false};
  set_counters(state, flat, threads);
}

std::string shape_name(const GemmShape& s) {
  return std::string(s.model) + "/M" + std::to_string(s.m) + "_K" + std::to_string(s.k) + "_N" + std::to_string(s.n);
}

}  // namespace

void register_gemm_benchmarks() {
  size_t count = 0;
  const kernels::GemmF32Kernel* variants = kernels::gemm_f32_variants(&count);
  const bool have_xnnpack = pocket::kernels::xnnpack_available();
  if (!have_xnnpack) std::printf("XNNPACK does not support this CPU: its GEMM benchmarks are left out\n");
  size_t packed_count = 0;
  const kernels::GemmF32PackedKernel* packed = kernels::gemm_f32_packed_variants(&packed_count);
  for (const GemmShape& s : kShapes) {
    for (size_t v = 0; v < packed_count; ++v) {
      const std::string name = "gemm_f32/" + shape_name(s) + "/pocket_packed_" + packed[v].name;
      benchmark::RegisterBenchmark(name.c_str(), bench_pocket_packed, s, packed[v], 1)->Unit(benchmark::kMicrosecond);
    }
    for (size_t v = 0; v < count; ++v) {
      const std::string name = "gemm_f32/" + shape_name(s) + "/pocket_" + variants[v].name;
      benchmark::RegisterBenchmark(name.c_str(), bench_pocket, s, variants[v])->Unit(benchmark::kMicrosecond);
    }
    if (have_xnnpack) {
      const std::string name = "gemm_f32/" + shape_name(s) + "/xnnpack";
      benchmark::RegisterBenchmark(name.c_str(), bench_xnnpack, s, 1)->Unit(benchmark::kMicrosecond);
    }
    if (s.big) {
      const std::string name = "gemm_f32/" + shape_name(s) + "/pocket_packed_" + packed[packed_count - 1].name;
      benchmark::RegisterBenchmark((name + "/threads:2").c_str(), bench_pocket_packed, s, packed[packed_count - 1], 2)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
      if (have_xnnpack)
        benchmark::RegisterBenchmark(("gemm_f32/" + shape_name(s) + "/xnnpack/threads:2").c_str(), bench_xnnpack, s, 2)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
    }
  }
  for (const BatchedShape& s : kBatched) {
    const std::string base = std::string("gemm_f32_batched/") + s.name + "/B" + std::to_string(s.batches) + "_M" +
                             std::to_string(s.m) + "_K" + std::to_string(s.k) + "_N" + std::to_string(s.n);
    for (int threads : {1, 2}) {
      const std::string suffix = threads > 1 ? "/threads:2" : "";
      auto reg = [&](const std::string& name, BatchedMode mode) {
        auto* b = benchmark::RegisterBenchmark((base + name + suffix).c_str(), bench_batched, s, mode, threads)
                      ->Unit(benchmark::kMicrosecond);
        if (threads > 1) b->UseRealTime();
      };
      reg(std::string("/pocket_pack_per_run_") + kernels::gemm_f32_packed_kernel().name, BatchedMode::PackPerRun);
      reg(std::string("/pocket_unpacked_") + kernels::gemm_f32_kernel().name, BatchedMode::Unpacked);
      if (have_xnnpack) reg("/xnnpack_fc_prepacked", BatchedMode::Xnnpack);
    }
  }
}

}  // namespace pocket::bench
