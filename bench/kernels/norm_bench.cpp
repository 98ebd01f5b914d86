// Row normalisation and GELU kernels (kernels/norm, kernels/activation/gelu_f32.h), every variant
// this CPU runs, on the transformer shapes: LayerNorm over [128, 768] (DistilBERT, sequence 128)
// and [1500, 384] (Whisper-tiny encoder), RMSNorm on the same, GELU over [128, 3072]. GB/s counts
// bytes read (x, Scale, B) plus bytes written (y). "memcpy" rows copy the same x -> y bytes: the
// bound a two-pass-in-L1 kernel approaches. One thread.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/activation/gelu_f32.h"
#include "kernels/norm/layernorm_f32.h"

namespace pocket::bench {

namespace {

struct RowShape {
  size_t rows, n;
};

std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

void set_rate(benchmark::State& state, double bytes_per_iteration) {
  state.counters["GB/s"] = benchmark::Counter(bytes_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void bench_memcpy(benchmark::State& state, RowShape s) {
  const std::vector<float> x = random_floats(s.rows * s.n, -1.f, 1.f, 1);
  std::vector<float> y(x.size());
  for (auto _ : state) {
    std::memcpy(y.data(), x.data(), x.size() * sizeof(float));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, 2.0 * static_cast<double>(x.size()) * sizeof(float));
}

void bench_norm(benchmark::State& state, kernels::NormF32Kernels k, RowShape s, bool rms) {
  const std::vector<float> x = random_floats(s.rows * s.n, -2.f, 3.f, 2);
  const std::vector<float> scale = random_floats(s.n, 0.5f, 1.5f, 3);
  const std::vector<float> bias = random_floats(s.n, -1.f, 1.f, 4);
  std::vector<float> y(x.size()), want(x.size());
  for (auto _ : state) {
    if (rms) k.rmsnorm(x.data(), y.data(), s.rows, s.n, scale.data(), 1e-6f);
    else k.layernorm(x.data(), y.data(), s.rows, s.n, scale.data(), bias.data(), 1e-5f);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  if (rms) kernels::rmsnorm_f32_scalar(x.data(), want.data(), s.rows, s.n, scale.data(), 1e-6f);
  else kernels::layernorm_f32_scalar(x.data(), want.data(), s.rows, s.n, scale.data(), bias.data(), 1e-5f);
  for (size_t i = 0; i < y.size(); i += 101)
    if (!(std::fabs(y[i] - want[i]) <= 1e-5f * std::fmax(1.f, std::fabs(want[i])))) {
      state.SkipWithError("normalisation result differs from the scalar reference");
      return;
    }
  set_rate(state, (2.0 * static_cast<double>(x.size()) + (rms ? 1.0 : 2.0) * static_cast<double>(s.n)) * sizeof(float));
}

void bench_gelu(benchmark::State& state, kernels::GeluF32Kernels k, size_t count, bool tanh_form) {
  const std::vector<float> x = random_floats(count, -6.f, 6.f, 5);
  std::vector<float> y(count), want(count);
  const kernels::GeluF32Fn fn = tanh_form ? k.tanh_form : k.erf_form;
  for (auto _ : state) {
    fn(x.data(), y.data(), count);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  (tanh_form ? kernels::gelu_tanh_f32_scalar : kernels::gelu_erf_f32_scalar)(x.data(), want.data(), count);
  for (size_t i = 0; i < count; i += 97)
    if (!(std::fabs(y[i] - want[i]) <= 1e-6f * std::fmax(1.f, std::fabs(x[i])))) {
      state.SkipWithError("GELU result differs from the scalar reference");
      return;
    }
  set_rate(state, 2.0 * static_cast<double>(count) * sizeof(float));
  state.counters["Gelem/s"] = benchmark::Counter(static_cast<double>(count) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void register_norm_benchmarks() {
  const RowShape shapes[] = {{128, 768}, {1500, 384}};
  for (const RowShape& s : shapes) {
    const std::string dims = std::to_string(s.rows) + "x" + std::to_string(s.n);
    benchmark::RegisterBenchmark(("norm_f32/memcpy/" + dims).c_str(), bench_memcpy, s)->Unit(benchmark::kMicrosecond);
    for (const kernels::NormF32Kernels& k : kernels::norm_f32_variants()) {
      benchmark::RegisterBenchmark(("norm_f32/layernorm/" + dims + "/" + k.isa).c_str(), bench_norm, k, s, false)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("norm_f32/rmsnorm/" + dims + "/" + k.isa).c_str(), bench_norm, k, s, true)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  const size_t gelu_count = 128 * 3072;
  benchmark::RegisterBenchmark("gelu_f32/memcpy/128x3072", bench_memcpy, RowShape{128, 3072})->Unit(benchmark::kMicrosecond);
  for (const kernels::GeluF32Kernels& k : kernels::gelu_f32_variants())
    for (bool tanh_form : {false, true})
      benchmark::RegisterBenchmark((std::string("gelu_f32/") + (tanh_form ? "tanh" : "erf") + "/128x3072/" + k.isa).c_str(),
                                   bench_gelu, k, gelu_count, tanh_form)
          ->Unit(benchmark::kMicrosecond);
}

// main.cpp (not this file's) calls the families it knows; this one registers itself.
struct StaticHook {
  StaticHook() { register_norm_benchmarks(); }
} hook;

}  // namespace

}  // namespace pocket::bench
