// Dense f32 convolution (NHWC, group 1, batch 1) on shapes taken from ResNet-18 and MobileNet:
// Pocket's indirect-GEMM kernels (every variant this CPU runs but the scalar reference, unless it
// is the only one) and XNNPACK's convolution2d_nhwc_f32 on the same operands, single thread.
// Counters: GFLOP/s (2 * MACs per iteration) and pct_peak (percent of the probed FMA peak).
// Registered by register_conv_benchmarks(); until main() calls it, a static hook in this file
// does (google-benchmark's own registration style), at most once.
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
#include "kernels/conv/conv2d_f32.h"
#include "kernels/conv/igemm_f32.h"

namespace pocket::bench {

void register_conv_benchmarks();

namespace {

struct ConvShape {
  const char* model;
  int64_t h, w, c, m, k, s, pad;
};

constexpr ConvShape kShapes[] = {
    {"resnet18_conv1_7x7s2", 224, 224, 3, 64, 7, 2, 3},
    {"resnet18_3x3_64", 56, 56, 64, 64, 3, 1, 1},
    {"resnet18_3x3s2_64_128", 56, 56, 64, 128, 3, 2, 1},
    {"resnet18_3x3_128", 28, 28, 128, 128, 3, 1, 1},
    {"resnet18_3x3_256", 14, 14, 256, 256, 3, 1, 1},
    {"resnet18_3x3_512", 7, 7, 512, 512, 3, 1, 1},
    {"resnet18_1x1s2_64_128", 56, 56, 64, 128, 1, 2, 0},
    {"resnet18_1x1s2_256_512", 14, 14, 256, 512, 1, 2, 0},
    {"mobilenet_stem_3x3s2", 224, 224, 3, 16, 3, 2, 1},
    {"mobilenetv3l_1x1_expand", 56, 56, 24, 72, 1, 1, 0},
    {"mobilenetv3l_1x1_project", 28, 28, 120, 40, 1, 1, 0},
    {"mobilenetv2_1x1_expand", 56, 56, 24, 144, 1, 1, 0},
    {"mobilenetv2_1x1_project", 56, 56, 144, 24, 1, 1, 0},
    {"mobilenetv2_1x1_expand_14", 14, 14, 96, 576, 1, 1, 0},
    {"mobilenetv2_1x1_last", 7, 7, 320, 1280, 1, 1, 0},
    {"mobilenetv3s_1x1_last", 7, 7, 96, 576, 1, 1, 0},
};

kernels::Conv2dF32Params params_of(const ConvShape& s) {
  kernels::Conv2dF32Params p;
  p.batch = 1;
  p.in_h = s.h, p.in_w = s.w, p.in_c = s.c;
  p.kernel_h = p.kernel_w = s.k;
  p.stride_h = p.stride_w = s.s;
  p.pad_top = p.pad_left = s.pad;
  p.out_h = (s.h + 2 * s.pad - s.k) / s.s + 1;
  p.out_w = (s.w + 2 * s.pad - s.k) / s.s + 1;
  p.out_c = s.m;
  return p;
}

struct ConvOperands {
  std::vector<float> x, w, bias, y;  // w: [M][kH][kW][C]
};

ConvOperands make_operands(const kernels::Conv2dF32Params& p) {
  ConvOperands o;
  std::mt19937 rng(4321);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  o.x.resize(static_cast<size_t>(p.in_h * p.in_w * p.in_c));
  o.w.resize(static_cast<size_t>(p.out_c * p.kernel_h * p.kernel_w * p.in_c));
  o.bias.resize(static_cast<size_t>(p.out_c));
  o.y.assign(static_cast<size_t>(p.out_h * p.out_w * p.out_c), 0.f);
  for (float& v : o.x) v = dist(rng);
  for (float& v : o.w) v = dist(rng);
  for (float& v : o.bias) v = dist(rng);
  return o;
}

// Samples of Y against a double-precision direct convolution; empty string when they match.
std::string check_sample(const kernels::Conv2dF32Params& p, const ConvOperands& o) {
  std::mt19937 rng(77);
  for (int t = 0; t < 64; ++t) {
    const int64_t oy = rng() % static_cast<uint32_t>(p.out_h), ox = rng() % static_cast<uint32_t>(p.out_w);
    const int64_t m = rng() % static_cast<uint32_t>(p.out_c);
    double ref = o.bias[static_cast<size_t>(m)], mag = std::fabs(ref);
    for (int64_t ky = 0; ky < p.kernel_h; ++ky)
      for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
        const int64_t iy = oy * p.stride_h - p.pad_top + ky, ix = ox * p.stride_w - p.pad_left + kx;
        if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) continue;
        for (int64_t c = 0; c < p.in_c; ++c) {
          const double prod = static_cast<double>(o.x[static_cast<size_t>((iy * p.in_w + ix) * p.in_c + c)]) *
                              o.w[static_cast<size_t>(((m * p.kernel_h + ky) * p.kernel_w + kx) * p.in_c + c)];
          ref += prod;
          mag += std::fabs(prod);
        }
      }
    const double got = o.y[static_cast<size_t>((oy * p.out_w + ox) * p.out_c + m)];
    if (!(std::fabs(got - ref) <= 1e-5 * mag + 1e-5)) {
      char buf[160];
      std::snprintf(buf, sizeof(buf), "wrong result at (%lld,%lld,%lld): %g, expected %g", (long long)oy,
                    (long long)ox, (long long)m, got, ref);
      return buf;
    }
  }
  return {};
}

void set_counters(benchmark::State& state, const kernels::Conv2dF32Params& p) {
  const double gflop =
      2e-9 * static_cast<double>(p.out_h * p.out_w * p.out_c) * static_cast<double>(p.kernel_h * p.kernel_w * p.in_c);
  const double total = gflop * static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(total, benchmark::Counter::kIsRate);
  if (peak_gflops() > 0)
    state.counters["pct_peak"] = benchmark::Counter(total * 100.0 / peak_gflops(), benchmark::Counter::kIsRate);
}

void bench_pocket(benchmark::State& state, ConvShape s, kernels::IgemmF32Kernel kernel) {
  const kernels::Conv2dF32Params p = params_of(s);
  ConvOperands o = make_operands(p);
  const int64_t k = p.kernel_h * p.kernel_w * p.in_c;
  std::vector<float> packed(kernels::igemm_f32_packed_floats(kernel, p.out_c, k));
  kernels::igemm_f32_pack(kernel, p.out_c, k, o.w.data(), o.bias.data(), packed.data());
  std::vector<float> zero(static_cast<size_t>(p.in_c), 0.f);
  std::vector<const float*> ind(kernels::igemm_f32_indirection_size(p, kernel.mr));
  kernels::igemm_f32_build_indirection(p, kernel.mr, o.x.data(), zero.data(), ind.data());
  kernels::IgemmF32Args a;
  a.pixels = p.out_h * p.out_w;
  a.m = p.out_c;
  a.kc = p.in_c;
  a.ks = p.kernel_h * p.kernel_w;
  a.indirection = ind.data();
  a.zero = zero.data();
  a.packed_w = packed.data();
  a.y = o.y.data();
  a.ldy = p.out_c;
  for (auto _ : state) {
    kernels::igemm_f32(kernel, a, nullptr);
    benchmark::DoNotOptimize(o.y.data());
    benchmark::ClobberMemory();
  }
  if (std::string err = check_sample(p, o); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  set_counters(state, p);
}

void bench_xnnpack(benchmark::State& state, ConvShape s) {
  const kernels::Conv2dF32Params p = params_of(s);
  ConvOperands o = make_operands(p);
  const uint32_t pad = static_cast<uint32_t>(s.pad);
  const int64_t pad_far_h = (p.out_h - 1) * s.s + s.k - s.h - s.pad;  // bottom/right pad actually used
  const int64_t pad_far_w = (p.out_w - 1) * s.s + s.k - s.w - s.pad;
  xnn_operator_t op = nullptr;
  if (xnn_create_convolution2d_nhwc_f32(pad, static_cast<uint32_t>(pad_far_w > 0 ? pad_far_w : 0),
                                        static_cast<uint32_t>(pad_far_h > 0 ? pad_far_h : 0), pad,
                                        static_cast<uint32_t>(s.k), static_cast<uint32_t>(s.k),
                                        static_cast<uint32_t>(s.s), static_cast<uint32_t>(s.s), 1, 1, 1,
                                        static_cast<size_t>(s.c), static_cast<size_t>(s.m), static_cast<size_t>(s.c),
                                        static_cast<size_t>(s.m), o.w.data(), o.bias.data(), -INFINITY, INFINITY, 0,
                                        &op) != xnn_status_success) {
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
  if (std::string err = check_sample(p, o); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  set_counters(state, p);
}

std::string shape_name(const ConvShape& s) {
  return std::string(s.model) + "/" + std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c) +
         "_to_" + std::to_string(s.m) + "_k" + std::to_string(s.k) + "s" + std::to_string(s.s);
}

struct StaticHook {
  StaticHook() { register_conv_benchmarks(); }
} hook;

}  // namespace

void register_conv_benchmarks() {
  static bool done = false;
  if (done) return;
  done = true;
  size_t count = 0;
  const kernels::IgemmF32Kernel* variants = kernels::igemm_f32_variants(&count);
  const bool have_xnnpack = pocket::kernels::xnnpack_available();
  for (const ConvShape& s : kShapes) {
    for (size_t v = count > 1 ? 1 : 0; v < count; ++v) {
      const std::string name = "conv_f32/" + shape_name(s) + "/pocket_" + variants[v].name;
      benchmark::RegisterBenchmark(name.c_str(), bench_pocket, s, variants[v])->Unit(benchmark::kMicrosecond);
    }
    if (have_xnnpack) {
      const std::string name = "conv_f32/" + shape_name(s) + "/xnnpack";
      benchmark::RegisterBenchmark(name.c_str(), bench_xnnpack, s)->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace pocket::bench
