// Depthwise conv f32 on MobileNet/ShuffleNet/EfficientNet shapes: every Pocket variant this CPU
// runs (kernels/conv/dwconv_f32.h) and XNNPACK's convolution2d_nhwc_f32 with
// XNN_FLAG_DEPTHWISE_CONVOLUTION on the same operands, single thread. Counters: GFLOP/s (2 flops
// per tap per output), pct_peak (of the single-core FMA peak probed at startup) and GB/s (input +
// output + weights once per run). Bias and a ReLU6 clamp are fused in both.
//
// Registered from a static initializer (bench_registry.h / main.cpp are shared files; see the
// dwconv helper report for the one-line registration they could get instead).
#include <benchmark/benchmark.h>
#include <xnnpack.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_init.h"
#include "bench/kernels/peak_probe.h"
#include "kernels/conv/dwconv_f32.h"

namespace pocket::bench {

namespace {

struct DwShape {
  const char* model;
  int64_t h, w, c, k, s;  // input h x w x c, k x k kernel, stride s, padding k / 2
};

constexpr DwShape kDwShapes[] = {
    {"mobilenetv3s_dw3x3s2", 112, 112, 16, 3, 2},
    {"mobilenetv2_dw3x3s1", 112, 112, 32, 3, 1},
    {"mobilenetv3_dw3x3s1", 56, 56, 72, 3, 1},
    {"mobilenetv2_dw3x3s2", 56, 56, 144, 3, 2},
    {"mobilenetv2_dw3x3s1", 28, 28, 144, 3, 1},
    {"mobilenetv2_dw3x3s1", 14, 14, 576, 3, 1},
    {"shufflenetv2_dw3x3s1", 28, 28, 116, 3, 1},
    {"mobilenetv3s_dw5x5s2", 28, 28, 96, 5, 2},
    {"mobilenetv3s_dw5x5s1", 14, 14, 240, 5, 1},
    {"mobilenetv3s_dw5x5s1", 7, 7, 576, 5, 1},
};

int64_t out_dim(int64_t in, const DwShape& s) { return (in + 2 * (s.k / 2) - s.k) / s.s + 1; }

struct DwOperands {
  std::vector<float> x, w, bias, y;  // w [C][k][k]
};

DwOperands make_operands(const DwShape& s) {
  DwOperands o;
  std::mt19937 rng(4321);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  o.x.resize(static_cast<size_t>(s.h * s.w * s.c));
  o.w.resize(static_cast<size_t>(s.c * s.k * s.k));
  o.bias.resize(static_cast<size_t>(s.c));
  o.y.assign(static_cast<size_t>(out_dim(s.h, s) * out_dim(s.w, s) * s.c), 0.f);
  for (float& v : o.x) v = dist(rng);
  for (float& v : o.w) v = dist(rng) * 0.5f;
  for (float& v : o.bias) v = dist(rng);
  return o;
}

// Checks a sample of y against a double-precision direct computation; empty string when it matches.
std::string check_sample(const DwShape& s, const DwOperands& o) {
  const int64_t oh = out_dim(s.h, s), ow = out_dim(s.w, s), pad = s.k / 2;
  std::mt19937 rng(77);
  for (int t = 0; t < 256; ++t) {
    const int64_t oy = rng() % oh, ox = rng() % ow, c = rng() % s.c;
    double ref = o.bias[c];
    for (int64_t ky = 0; ky < s.k; ++ky)
      for (int64_t kx = 0; kx < s.k; ++kx) {
        const int64_t iy = oy * s.s - pad + ky, ix = ox * s.s - pad + kx;
        if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
        ref += static_cast<double>(o.x[(iy * s.w + ix) * s.c + c]) * o.w[(c * s.k + ky) * s.k + kx];
      }
    ref = std::min(std::max(ref, 0.0), 6.0);
    const double got = o.y[(oy * ow + ox) * s.c + c];
    if (!(std::fabs(got - ref) <= 1e-4)) {
      char buf[160];
      std::snprintf(buf, sizeof(buf), "wrong result at (%lld,%lld,%lld): %g, expected %g", static_cast<long long>(oy),
                    static_cast<long long>(ox), static_cast<long long>(c), got, ref);
      return buf;
    }
  }
  return {};
}

void set_counters(benchmark::State& state, const DwShape& s) {
  const double outs = static_cast<double>(out_dim(s.h, s) * out_dim(s.w, s) * s.c);
  const double gflop = 2.0 * outs * static_cast<double>(s.k * s.k) * 1e-9;
  const double gbytes = 4.0 * (static_cast<double>(s.h * s.w * s.c) + outs + static_cast<double>(s.c * (s.k * s.k + 1))) * 1e-9;
  const double it = static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(gflop * it, benchmark::Counter::kIsRate);
  state.counters["GB/s"] = benchmark::Counter(gbytes * it, benchmark::Counter::kIsRate);
  if (peak_gflops() > 0)
    state.counters["pct_peak"] = benchmark::Counter(gflop * it * 100.0 / peak_gflops(), benchmark::Counter::kIsRate);
}

void bench_pocket(benchmark::State& state, DwShape s, kernels::DwConvF32Kernel kernel) {
  DwOperands o = make_operands(s);
  std::vector<float> packed(kernels::dwconv_f32_packed_floats(s.c, s.k, s.k, kernel.channel_tile));
  kernels::dwconv_f32_pack(s.c, s.k, s.k, kernel.channel_tile, o.w.data(), o.bias.data(), packed.data());
  std::vector<float> zeros(kernels::dwconv_f32_zero_floats(s.w, s.c), 0.f);
  kernels::DwConvF32Params p;
  p.batch = 1, p.in_h = s.h, p.in_w = s.w, p.channels = s.c;
  p.out_h = out_dim(s.h, s), p.out_w = out_dim(s.w, s);
  p.kernel_h = p.kernel_w = s.k;
  p.stride_h = p.stride_w = s.s;
  p.pad_top = p.pad_left = s.k / 2;
  p.packed = packed.data(), p.zeros = zeros.data();
  p.out_min = 0.f, p.out_max = 6.f;
  for (auto _ : state) {
    kernels::dwconv_f32(kernel, p, o.x.data(), nullptr, o.y.data(), nullptr);
    benchmark::DoNotOptimize(o.y.data());
    benchmark::ClobberMemory();
  }
  if (std::string err = check_sample(s, o); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  set_counters(state, s);
}

void bench_xnnpack(benchmark::State& state, DwShape s) {
  DwOperands o = make_operands(s);
  std::vector<float> hwc(static_cast<size_t>(s.k * s.k * s.c));  // XNNPACK's depthwise layout [kH][kW][C]
  for (int64_t c = 0; c < s.c; ++c)
    for (int64_t t = 0; t < s.k * s.k; ++t) hwc[t * s.c + c] = o.w[c * s.k * s.k + t];
  const uint32_t pad = static_cast<uint32_t>(s.k / 2), k = static_cast<uint32_t>(s.k), st = static_cast<uint32_t>(s.s);
  xnn_operator_t op = nullptr;
  if (xnn_create_convolution2d_nhwc_f32(pad, pad, pad, pad, k, k, st, st, 1, 1, static_cast<uint32_t>(s.c), 1, 1,
                                        static_cast<size_t>(s.c), static_cast<size_t>(s.c), hwc.data(), o.bias.data(),
                                        0.f, 6.f, XNN_FLAG_DEPTHWISE_CONVOLUTION, &op) != xnn_status_success) {
    state.SkipWithError("xnn_create_convolution2d_nhwc_f32 failed");
    return;
  }
  if (xnn_setup_convolution2d_nhwc_f32(op, 1, static_cast<size_t>(s.h), static_cast<size_t>(s.w), o.x.data(),
                                       o.y.data(), nullptr) != xnn_status_success) {
    xnn_delete_operator(op);
    state.SkipWithError("xnn_setup_convolution2d_nhwc_f32 failed");
    return;
  }
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);
    benchmark::DoNotOptimize(o.y.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  if (std::string err = check_sample(s, o); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  set_counters(state, s);
}

std::string shape_name(const DwShape& s) {
  return std::string(s.model) + "/" + std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c);
}

void register_dwconv_benchmarks() {
  size_t count = 0;
  const kernels::DwConvF32Kernel* variants = kernels::dwconv_f32_variants(&count);
  const bool have_xnnpack = pocket::kernels::xnnpack_available();
  for (const DwShape& s : kDwShapes) {
    for (size_t v = 0; v < count; ++v) {
      const std::string name = "dwconv_f32/" + shape_name(s) + "/pocket_" + variants[v].name;
      benchmark::RegisterBenchmark(name.c_str(), bench_pocket, s, variants[v])->Unit(benchmark::kMicrosecond);
    }
    if (have_xnnpack) {
      const std::string name = "dwconv_f32/" + shape_name(s) + "/xnnpack";
      benchmark::RegisterBenchmark(name.c_str(), bench_xnnpack, s)->Unit(benchmark::kMicrosecond);
    }
  }
}

const bool registered = (register_dwconv_benchmarks(), true);

}  // namespace

}  // namespace pocket::bench
