// Pooling f32 on shapes taken from the fixture CNNs: every Pocket variant this CPU runs
// (kernels/pool/pool_f32.h) and XNNPACK's max_pooling2d / average_pooling2d /
// global_average_pooling on the same input, single thread. Counter: GB/s (input + output bytes).
//
// Registered from a static initializer (bench_registry.h / main.cpp are shared files).
#include <benchmark/benchmark.h>
#include <xnnpack.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_init.h"
#include "kernels/pool/pool_f32.h"

namespace pocket::bench {

namespace {

enum class PoolKind { kMax, kAvg, kGlobalAvg };

struct PoolShape {
  const char* model;
  PoolKind kind;
  int64_t h, w, c, k, s, pad;  // global pools use h, w, c only
};

constexpr PoolShape kPoolShapes[] = {
    {"resnet18_maxpool3x3s2", PoolKind::kMax, 112, 112, 64, 3, 2, 1},
    {"shufflenetv2_maxpool3x3s2", PoolKind::kMax, 112, 112, 24, 3, 2, 1},
    {"squeezenet_maxpool3x3s2", PoolKind::kMax, 55, 55, 128, 3, 2, 0},
    {"inception_avgpool3x3s1", PoolKind::kAvg, 28, 28, 192, 3, 1, 1},
    {"avgpool2x2s2", PoolKind::kAvg, 56, 56, 128, 2, 2, 0},
    {"mobilenetv3s_gap", PoolKind::kGlobalAvg, 7, 7, 576, 0, 0, 0},
    {"mobilenetv2_gap", PoolKind::kGlobalAvg, 7, 7, 1280, 0, 0, 0},
    {"efficientnet_se_gap", PoolKind::kGlobalAvg, 112, 112, 32, 0, 0, 0},
    {"efficientnet_se_gap", PoolKind::kGlobalAvg, 14, 14, 480, 0, 0, 0},
    {"mobilenetv3s_se_gap", PoolKind::kGlobalAvg, 28, 28, 96, 0, 0, 0},
};

kernels::Pool2dF32Params params(const PoolShape& s) {
  kernels::Pool2dF32Params p;
  p.batch = 1, p.in_h = s.h, p.in_w = s.w, p.channels = s.c;
  p.kernel_h = p.kernel_w = s.k;
  p.stride_h = p.stride_w = s.s;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = s.pad;
  p.out_h = (s.h + 2 * s.pad - s.k) / s.s + 1;
  p.out_w = (s.w + 2 * s.pad - s.k) / s.s + 1;
  return p;
}

int64_t out_elems(const PoolShape& s) {
  if (s.kind == PoolKind::kGlobalAvg) return s.c;
  const kernels::Pool2dF32Params p = params(s);
  return p.out_h * p.out_w * s.c;
}

std::vector<float> input(const PoolShape& s) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> x(static_cast<size_t>(s.h * s.w * s.c));
  for (float& v : x) v = d(rng);
  return x;
}

void set_counters(benchmark::State& state, const PoolShape& s) {
  const double bytes = 4.0 * static_cast<double>(s.h * s.w * s.c + out_elems(s));
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9 * static_cast<double>(state.iterations()),
                                              benchmark::Counter::kIsRate);
}

void bench_pocket(benchmark::State& state, PoolShape s, kernels::PoolF32Kernel k) {
  const std::vector<float> x = input(s);
  std::vector<float> y(static_cast<size_t>(out_elems(s)));
  const kernels::Pool2dF32Params p = s.kind == PoolKind::kGlobalAvg ? kernels::Pool2dF32Params{} : params(s);
  for (auto _ : state) {
    switch (s.kind) {
      case PoolKind::kMax: kernels::max_pool2d_f32(k, p, x.data(), y.data(), nullptr); break;
      case PoolKind::kAvg: kernels::avg_pool2d_f32(k, p, x.data(), y.data(), nullptr); break;
      case PoolKind::kGlobalAvg: kernels::global_avg_pool_f32(k, 1, s.h * s.w, s.c, x.data(), y.data(), nullptr); break;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, s);
}

void bench_xnnpack(benchmark::State& state, PoolShape s) {
  const std::vector<float> x = input(s);
  std::vector<float> y(static_cast<size_t>(out_elems(s)));
  const uint32_t pad = static_cast<uint32_t>(s.pad), k = static_cast<uint32_t>(s.k), st = static_cast<uint32_t>(s.s);
  const size_t c = static_cast<size_t>(s.c), h = static_cast<size_t>(s.h), w = static_cast<size_t>(s.w);
  xnn_operator_t op = nullptr;
  xnn_status status = xnn_status_success;
  switch (s.kind) {
    case PoolKind::kMax:
      status = xnn_create_max_pooling2d_nhwc_f32(pad, pad, pad, pad, k, k, st, st, 1, 1, c, c, c, -INFINITY, INFINITY,
                                                 0, &op);
      if (status == xnn_status_success) status = xnn_setup_max_pooling2d_nhwc_f32(op, 1, h, w, x.data(), y.data(), nullptr);
      break;
    case PoolKind::kAvg:
      status = xnn_create_average_pooling2d_nhwc_f32(pad, pad, pad, pad, k, k, st, st, c, c, c, -INFINITY, INFINITY, 0,
                                                     &op);
      if (status == xnn_status_success)
        status = xnn_setup_average_pooling2d_nhwc_f32(op, 1, h, w, x.data(), y.data(), nullptr);
      break;
    case PoolKind::kGlobalAvg:
      status = xnn_create_global_average_pooling_nwc_f32(c, c, c, -INFINITY, INFINITY, 0, &op);
      if (status == xnn_status_success)
        status = xnn_setup_global_average_pooling_nwc_f32(op, 1, h * w, x.data(), y.data(), nullptr);
      break;
  }
  if (status != xnn_status_success) {
    if (op) xnn_delete_operator(op);
    state.SkipWithError("XNNPACK pooling create/setup failed");
    return;
  }
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  set_counters(state, s);
}

std::string shape_name(const PoolShape& s) {
  return std::string(s.model) + "/" + std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c);
}

void register_pool_benchmarks() {
  size_t count = 0;
  const kernels::PoolF32Kernel* variants = kernels::pool_f32_variants(&count);
  const bool have_xnnpack = pocket::kernels::xnnpack_available();
  for (const PoolShape& s : kPoolShapes) {
    for (size_t v = 0; v < count; ++v) {
      const std::string name = "pool_f32/" + shape_name(s) + "/pocket_" + variants[v].name;
      benchmark::RegisterBenchmark(name.c_str(), bench_pocket, s, variants[v])->Unit(benchmark::kMicrosecond);
    }
    if (have_xnnpack) {
      const std::string name = "pool_f32/" + shape_name(s) + "/xnnpack";
      benchmark::RegisterBenchmark(name.c_str(), bench_xnnpack, s)->Unit(benchmark::kMicrosecond);
    }
  }
}

const bool registered = (register_pool_benchmarks(), true);

}  // namespace

}  // namespace pocket::bench
