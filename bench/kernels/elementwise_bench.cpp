// Elementwise kernels from kernels/elementwise: unary HardSwish and Sigmoid over 1M floats and a
// broadcast Add, for every variant this CPU runs. GB/s counts bytes read plus bytes written.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench/kernels/bench_registry.h"
#include "kernels/elementwise/broadcast.h"
#include "kernels/elementwise/elementwise.h"

namespace pocket::bench {

namespace {

constexpr size_t kUnaryCount = size_t{1} << 20;

std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

float reference_unary(kernels::UnaryOp op, float x) {
  if (op == kernels::UnaryOp::Sigmoid) return 1.f / (1.f + std::exp(-x));
  return x * std::fmin(std::fmax(x + 3.f, 0.f), 6.f) / 6.f;  // HardSwish
}

void bench_unary(benchmark::State& state, const kernels::ElementwiseKernels* table, kernels::UnaryOp op) {
  const std::vector<float> x = random_floats(kUnaryCount, -8.f, 8.f, 7);
  std::vector<float> y(kUnaryCount, 0.f);
  const kernels::UnaryF32Fn fn = table->unary_f32[static_cast<int>(op)];
  const kernels::UnaryParams params;
  for (auto _ : state) {
    fn(x.data(), y.data(), kUnaryCount, params);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  for (size_t i = 0; i < kUnaryCount; i += 997) {
    const float ref = reference_unary(op, x[i]);
    if (!(std::fabs(y[i] - ref) <= 1e-5f + 1e-4f * std::fabs(ref))) {
      state.SkipWithError("unary kernel result differs from the reference");
      return;
    }
  }
  const double bytes = 2.0 * sizeof(float) * kUnaryCount * static_cast<double>(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsRate);
}

// y[out] = a + b with b broadcast: per-channel [C,1,1] (NCHW bias) or per-row [N] (last dim).
void bench_add(benchmark::State& state, const kernels::ElementwiseKernels* table, std::vector<int64_t> a_shape,
               std::vector<int64_t> b_shape) {
  std::vector<int64_t> out_shape;
  kernels::BroadcastPlan plan;
  if (!kernels::broadcast_shape(a_shape, b_shape, &out_shape) ||
      !kernels::make_broadcast_plan(out_shape, a_shape, b_shape, &plan)) {
    state.SkipWithError("shapes do not broadcast");
    return;
  }
  int64_t a_n = 1, b_n = 1;
  for (int64_t d : a_shape) a_n *= d;
  for (int64_t d : b_shape) b_n *= d;
  const std::vector<float> a = random_floats(static_cast<size_t>(a_n), -1.f, 1.f, 3);
  const std::vector<float> b = random_floats(static_cast<size_t>(b_n), -1.f, 1.f, 4);
  std::vector<float> y(static_cast<size_t>(plan.total), 0.f);
  const auto& row = table->binary_f32[static_cast<int>(kernels::BinaryOp::Add)];
  for (auto _ : state) {
    kernels::broadcast_range<float>(plan, row, a.data(), b.data(), y.data(), 0, plan.total);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  // a has the output shape here; b's index follows from the broadcast pattern of its last dims.
  const bool per_channel = b_shape.size() >= 2 && b_shape.back() == 1;
  const int64_t inner = per_channel ? a_shape[a_shape.size() - 1] * a_shape[a_shape.size() - 2] : 1;
  for (int64_t i = 0; i < plan.total; i += 1009) {
    const int64_t bi = per_channel ? (i / inner) % b_n : i % b_n;
    if (y[static_cast<size_t>(i)] != a[static_cast<size_t>(i)] + b[static_cast<size_t>(bi)]) {
      state.SkipWithError("broadcast Add result differs from the reference");
      return;
    }
  }
  const double bytes = (2.0 * static_cast<double>(plan.total) + static_cast<double>(b_n)) * sizeof(float) *
                       static_cast<double>(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsRate);
}

}  // namespace

void register_elementwise_benchmarks() {
  static const std::vector<kernels::ElementwiseVariant> variants = kernels::elementwise_variants();
  for (const kernels::ElementwiseVariant& v : variants) {
    const std::string isa = v.isa;
    for (kernels::UnaryOp op : {kernels::UnaryOp::HardSwish, kernels::UnaryOp::Sigmoid}) {
      const char* op_name = op == kernels::UnaryOp::HardSwish ? "hardswish" : "sigmoid";
      const std::string name = std::string("unary_f32/") + op_name + "/n1048576/" + isa;
      benchmark::RegisterBenchmark(name.c_str(), bench_unary, &v.table, op)->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark(("binary_f32/add/bcast_channel_1x64x128x128+64x1x1/" + isa).c_str(), bench_add,
                                 &v.table, std::vector<int64_t>{1, 64, 128, 128}, std::vector<int64_t>{64, 1, 1})
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("binary_f32/add/bcast_row_256x4096+4096/" + isa).c_str(), bench_add, &v.table,
                                 std::vector<int64_t>{256, 4096}, std::vector<int64_t>{4096})
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace pocket::bench
