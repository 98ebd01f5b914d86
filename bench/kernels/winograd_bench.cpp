// Winograd 3x3 stride-1 convolution on ResNet-18's 3x3 shapes (batch 1, pad 1, bias + ReLU clamp):
// Pocket's F(4,3) and F(2,3) with the best kernel variant this CPU runs, against XNNPACK's
// convolution2d_nhwc_f32 on the same operands, single thread. Counters: GFLOP/s counted as the
// direct convolution's 2 * OH * OW * M * C * 9 per iteration (so Winograd's fewer multiplications
// show as an "effective" rate that may exceed the peak), and pct_peak of the probed FMA peak.
//
// Registered at static initialisation (bench_registry.h has no entry for this family yet).
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
#include "kernels/conv/winograd_conv.h"

namespace pocket::bench {

namespace {

struct ConvShape {
  const char* model;
  int64_t hw, c, m;  // square input hw x hw x c, output hw x hw x m
};

constexpr ConvShape kShapes[] = {
    {"resnet18_layer1", 56, 64, 64},
    {"resnet18_layer2", 28, 128, 128},
    {"resnet18_layer3", 14, 256, 256},
    {"resnet18_layer4", 7, 512, 512},
};

struct Operands {
  std::vector<float> x, w_ohwi, bias, y;
};

Operands make_operands(const ConvShape& s) {
  Operands o;
  std::mt19937 rng(4321);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  o.x.resize(static_cast<size_t>(s.hw * s.hw * s.c));
  o.w_ohwi.resize(static_cast<size_t>(s.m * 9 * s.c));
  o.bias.resize(static_cast<size_t>(s.m));
  o.y.assign(static_cast<size_t>(s.hw * s.hw * s.m), 0.f);
  for (float& v : o.x) v = dist(rng);
  for (float& v : o.w_ohwi) v = dist(rng) * 0.1f;
  for (float& v : o.bias) v = dist(rng);
  return o;
}

// A sample of outputs against a double direct convolution (ReLU applied): empty when it matches.
std::string check_sample(const ConvShape& s, const Operands& o) {
  std::mt19937 rng(99);
  for (int t = 0; t < 64; ++t) {
    const int64_t oy = rng() % s.hw, ox = rng() % s.hw, m = rng() % s.m;
    double ref = o.bias[static_cast<size_t>(m)], mag = std::fabs(ref);
    for (int64_t ky = 0; ky < 3; ++ky)
      for (int64_t kx = 0; kx < 3; ++kx) {
        const int64_t iy = oy + ky - 1, ix = ox + kx - 1;
        if (iy < 0 || iy >= s.hw || ix < 0 || ix >= s.hw) continue;
        for (int64_t c = 0; c < s.c; ++c) {
          const double p = static_cast<double>(o.x[static_cast<size_t>((iy * s.hw + ix) * s.c + c)]) *
                           o.w_ohwi[static_cast<size_t>(((m * 3 + ky) * 3 + kx) * s.c + c)];
          ref += p;
          mag += std::fabs(p);
        }
      }
    ref = std::max(ref, 0.0);
    const double got = o.y[static_cast<size_t>((oy * s.hw + ox) * s.m + m)];
    if (!(std::fabs(got - ref) <= 2e-5 * mag + 1e-6)) {
      char buf[160];
      std::snprintf(buf, sizeof(buf), "wrong result at (%lld,%lld,%lld): %g, expected %g", (long long)oy, (long long)ox,
                    (long long)m, got, ref);
      return buf;
    }
  }
  return {};
}

void set_counters(benchmark::State& state, const ConvShape& s) {
  const double gflop = 2.0 * static_cast<double>(s.hw * s.hw) * static_cast<double>(s.m * s.c * 9) * 1e-9;
  const double total = gflop * static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(total, benchmark::Counter::kIsRate);
  if (peak_gflops() > 0)
    state.counters["pct_peak"] = benchmark::Counter(total * 100.0 / peak_gflops(), benchmark::Counter::kIsRate);
}

void bench_pocket(benchmark::State& state, ConvShape s, int tile) {
  const kernels::WinogradF32Kernel& k = kernels::winograd_f32_kernel();
  Operands o = make_operands(s);
  std::vector<float> packed(kernels::winograd_packed_floats(tile, s.c, s.m));
  kernels::winograd_pack_weights(tile, s.c, s.m, o.w_ohwi.data(), packed.data());
  std::vector<float> bias(static_cast<size_t>(kernels::winograd_round16(s.m)), 0.f);
  std::copy(o.bias.begin(), o.bias.end(), bias.begin());
  kernels::WinogradConvArgs a;
  a.tile = tile;
  a.batch = 1, a.in_h = a.in_w = s.hw, a.c = s.c;
  a.out_h = a.out_w = s.hw, a.m = s.m, a.pad_top = a.pad_left = 1;
  a.packed = packed.data();
  a.bias = bias.data();
  a.out_min = 0.f;
  a.block_tiles =
      kernels::winograd_block_tiles(tile, s.c, s.m, kernels::winograd_total_tiles(tile, 1, s.hw, s.hw), k.gemm_rows);
  std::vector<float> scratch(kernels::winograd_scratch_floats(tile, s.c, s.m, a.block_tiles));
  a.scratch = scratch.data();
  a.x = o.x.data();
  a.y = o.y.data();
  for (auto _ : state) {
    kernels::winograd_conv_f32(k, a, nullptr);
    benchmark::DoNotOptimize(o.y.data());
    benchmark::ClobberMemory();
  }
  if (std::string err = check_sample(s, o); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  state.SetLabel("block " + std::to_string(a.block_tiles) + " tiles");
  set_counters(state, s);
}

void bench_xnnpack(benchmark::State& state, ConvShape s) {
  if (!pocket::kernels::xnnpack_available()) {
    state.SkipWithError("XNNPACK does not support this CPU");
    return;
  }
  Operands o = make_operands(s);
  xnn_operator_t op = nullptr;
  if (xnn_create_convolution2d_nhwc_f32(1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, static_cast<size_t>(s.c),
                                        static_cast<size_t>(s.m), static_cast<size_t>(s.c), static_cast<size_t>(s.m),
                                        o.w_ohwi.data(), o.bias.data(), 0.f, INFINITY, 0, &op) != xnn_status_success) {
    state.SkipWithError("xnn_create_convolution2d_nhwc_f32 failed");
    return;
  }
  if (xnn_setup_convolution2d_nhwc_f32(op, 1, static_cast<size_t>(s.hw), static_cast<size_t>(s.hw), o.x.data(),
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

std::string shape_name(const ConvShape& s) {
  return std::string(s.model) + "/" + std::to_string(s.hw) + "x" + std::to_string(s.hw) + "x" + std::to_string(s.c) +
         "_to_" + std::to_string(s.m);
}

bool register_winograd_benchmarks() {
  const std::string isa = kernels::winograd_f32_kernel().name;
  for (const ConvShape& s : kShapes) {
    for (int tile : {4, 2}) {
      const std::string name = "conv3x3_f32/" + shape_name(s) + "/pocket_winograd" + std::to_string(tile) + "x" +
                               std::to_string(tile) + "_" + isa;
      benchmark::RegisterBenchmark(name.c_str(), bench_pocket, s, tile)->Unit(benchmark::kMicrosecond);
    }
    const std::string name = "conv3x3_f32/" + shape_name(s) + "/xnnpack";
    benchmark::RegisterBenchmark(name.c_str(), bench_xnnpack, s)->Unit(benchmark::kMicrosecond);
  }
  return true;
}

const bool registered = register_winograd_benchmarks();

}  // namespace

}  // namespace pocket::bench
