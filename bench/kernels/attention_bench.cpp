// Fused attention (kernels/attention) against the unfused MatMul -> Softmax -> MatMul path as the
// engine runs it (the same kernels its MatMul and Softmax ops call: kernels::gemm_f32 per head
// into a materialised [B, H, Sq, Sk] score tensor, the softmax kernel into a second tensor, then
// kernels::gemm_f32 with V). The unfused path is given its best case: K already transposed per
// head, the scale folded into the first GEMM's alpha, heads read and written in place through
// strides (the engine would add head Transposes). One thread unless the name says threads:2.
// Rows report GFLOP/s (2 flops per multiply-accumulate of Q.K^T and P.V), scratch_KiB (the fused
// op's per-thread tiles; the unfused path's score + probability tensors) and, on the fused row,
// speedup = unfused time / fused time measured in the same process.
#include <benchmark/benchmark.h>
#include <pthreadpool.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention/attention_f32.h"
#include "kernels/gemm/gemm_f32.h"
#include "kernels/reduce/reduce.h"

namespace pocket::bench {

void register_attention_benchmarks();

namespace {

struct AttnShape {
  const char* name;
  int64_t heads, d, sq, sk;
};

constexpr AttnShape kShapes[] = {
    {"distilbert_s128", 12, 64, 128, 128},
    {"distilbert_s512", 12, 64, 512, 512},
    {"whisper_enc_s1500", 6, 64, 1500, 1500},
    {"whisper_decode_sk448", 6, 64, 1, 448},
    {"whisper_decode_cross_sk1500", 6, 64, 1, 1500},
};

std::string shape_name(const AttnShape& s) {
  return s.name + std::string("/h") + std::to_string(s.heads) + "_d" + std::to_string(s.d) + "_sq" +
         std::to_string(s.sq) + "_sk" + std::to_string(s.sk);
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

struct Inputs {
  std::vector<float> q, k, v, kt;  // kt: per head [D][Sk] (the unfused path's pre-transposed K)
  explicit Inputs(const AttnShape& s) {
    q = random_floats(s.sq * s.heads * s.d, 1);
    k = random_floats(s.sk * s.heads * s.d, 2);
    v = random_floats(s.sk * s.heads * s.d, 3);
    kt.resize(k.size());
    for (int64_t h = 0; h < s.heads; ++h)
      for (int64_t j = 0; j < s.sk; ++j)
        for (int64_t c = 0; c < s.d; ++c) kt[(h * s.d + c) * s.sk + j] = k[j * s.heads * s.d + h * s.d + c];
  }
};

double flops(const AttnShape& s) { return 4.0 * s.heads * s.sq * s.sk * s.d; }

// Seconds per iteration of the unfused run, by shape and threads, for the fused row's speedup.
std::map<std::string, double>& unfused_seconds() {
  static std::map<std::string, double> m;
  return m;
}

struct Pool {
  pthreadpool_t p = nullptr;
  explicit Pool(int threads) {
    if (threads > 1) p = pthreadpool_create(static_cast<size_t>(threads));
  }
  ~Pool() {
    if (p) pthreadpool_destroy(p);
  }
};

void bench_unfused(benchmark::State& state, AttnShape s, int threads) {
  const Inputs in(s);
  const size_t score_floats = static_cast<size_t>(s.heads * s.sq * s.sk);
  std::vector<float> scores(score_floats), probs(score_floats), out(s.sq * s.heads * s.d);
  const kernels::SoftmaxF32Fn softmax = kernels::reduce_kernels().softmax_f32;
  const float scale = 1.f / std::sqrt(static_cast<float>(s.d));
  Pool pool(threads);
  const int64_t row = s.heads * s.d;
  auto run = [&] {
    for (int64_t h = 0; h < s.heads; ++h) {  // MatMul [H, Sq, D] x [H, D, Sk], scale as alpha
      kernels::GemmF32Args g;
      g.m = s.sq, g.n = s.sk, g.k = s.d;
      g.a = in.q.data() + h * s.d, g.a_row_stride = row, g.a_col_stride = 1;
      g.b = in.kt.data() + h * s.d * s.sk, g.ldb = s.sk;
      g.c = scores.data() + h * s.sq * s.sk, g.ldc = s.sk;
      g.alpha = scale;
      kernels::gemm_f32(g, pool.p);
    }
    const int64_t rows = s.heads * s.sq;  // Softmax over the last axis
    auto softmax_rows = [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        softmax(scores.data() + r * s.sk, probs.data() + r * s.sk, static_cast<size_t>(s.sk), 1, 1);
    };
    if (!pool.p) {
      softmax_rows(0, rows);
    } else {
      auto task = [&](size_t start, size_t count) {
        softmax_rows(static_cast<int64_t>(start), static_cast<int64_t>(start + count));
      };
      pthreadpool_parallelize_1d_tile_1d(pool.p, task, static_cast<size_t>(rows), 16, 0);
    }
    for (int64_t h = 0; h < s.heads; ++h) {  // MatMul [H, Sq, Sk] x [H, Sk, D] into merged heads
      kernels::GemmF32Args g;
      g.m = s.sq, g.n = s.d, g.k = s.sk;
      g.a = probs.data() + h * s.sq * s.sk, g.a_row_stride = s.sk, g.a_col_stride = 1;
      g.b = in.v.data() + h * s.d, g.ldb = row;
      g.c = out.data() + h * s.d, g.ldc = row;
      kernels::gemm_f32(g, pool.p);
    }
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (state.iterations() > 0) unfused_seconds()[shape_name(s) + std::to_string(threads)] = sec / state.iterations();
  state.counters["GFLOP/s"] = benchmark::Counter(flops(s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["scratch_KiB"] = 2.0 * score_floats * sizeof(float) / 1024.0;
}

void bench_fused(benchmark::State& state, AttnShape s, const kernels::AttentionF32Kernel* kernel, int threads) {
  const Inputs in(s);
  std::vector<float> out(s.sq * s.heads * s.d), want(out.size());
  kernels::AttentionF32Problem p;
  p.batch = 1, p.heads = p.kv_heads = s.heads;
  p.sq = s.sq, p.sk = s.sk, p.d = p.dv = s.d;
  p.scale = 1.f / std::sqrt(static_cast<float>(s.d));
  p.q = in.q.data(), p.k = in.k.data(), p.v = in.v.data();
  const kernels::AttentionF32Plan plan = kernels::attention_f32_plan(*kernel, p, threads);
  std::vector<float> scratch(plan.scratch_bytes() / sizeof(float) + 16);
  Pool pool(threads);
  p.out = out.data();
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    kernels::attention_f32(*kernel, p, plan, scratch.data(), pool.p);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Spot-check a few rows against the reference (a wrong kernel must not report a speed).
  kernels::AttentionF32Problem r = p;
  r.sq = std::min<int64_t>(s.sq, 3);
  r.sk = s.sk;
  std::vector<float> row(s.sk);
  r.out = want.data();
  r.causal = false;
  kernels::attention_f32_reference(r, row.data());
  for (int64_t i = 0; i < r.sq * s.heads * s.d; ++i)
    if (!(std::fabs(out[i] - want[i]) <= 1e-4f)) {
      state.SkipWithError("fused attention differs from the reference");
      return;
    }
  state.counters["GFLOP/s"] = benchmark::Counter(flops(s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["scratch_KiB"] = static_cast<double>(plan.scratch_bytes()) / 1024.0;
  const auto it = unfused_seconds().find(shape_name(s) + std::to_string(threads));
  if (it != unfused_seconds().end() && state.iterations() > 0)
    state.counters["speedup"] = it->second / (sec / state.iterations());
}

struct StaticHook {
  StaticHook() { register_attention_benchmarks(); }
} hook;

}  // namespace

void register_attention_benchmarks() {
  static bool done = false;
  if (done) return;
  done = true;
  size_t count = 0;
  const kernels::AttentionF32Kernel* variants = kernels::attention_f32_variants(&count);
  for (const AttnShape& s : kShapes) {
    for (int threads : {1, 2}) {
      const std::string suffix = threads > 1 ? "/threads:2" : "";
      benchmark::RegisterBenchmark(("attention_f32/" + shape_name(s) + "/unfused_matmul_softmax_matmul" + suffix).c_str(),
                                   bench_unfused, s, threads)
          ->Unit(benchmark::kMicrosecond);
      for (size_t v = count > 1 ? 1 : 0; v < count; ++v) {
        if (threads > 1 && v + 1 != count) continue;  // 2 threads: the best variant only
        benchmark::RegisterBenchmark(
            ("attention_f32/" + shape_name(s) + "/fused_" + variants[v].name + suffix).c_str(), bench_fused, s,
            &variants[v], threads)
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
}

}  // namespace pocket::bench
