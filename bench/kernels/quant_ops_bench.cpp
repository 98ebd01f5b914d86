// int8 kernels of kernels/quant/quant_ops.h, single thread:
// - depthwise conv qs8 on MobileNetV3-Small shapes: every Pocket variant this CPU runs, Pocket's
//   f32 depthwise (kernels/conv/dwconv_f32.h, best variant) on the same shape, and XNNPACK's
//   convolution2d_nhwc_qs8 (per-tensor weight scale) and _qc8 (per-channel, Pocket's scheme) with
//   XNN_FLAG_DEPTHWISE_CONVOLUTION. Bias, int8 in and out, no activation. Counters: GOP/s (2 ops
//   per tap per output) and GB/s (input + output + weights once).
// - row kernels: dynamic row quantization (qd8) per variant on transformer / CNN row lengths, and
//   quantize / dequantize next to XNNPACK's convert_nc_f32_qs8 / qs8_f32. Counter GB/s (bytes
//   read + written).
// The Pocket and XNNPACK int8 outputs are compared (at most one step apart) after each run.
#include <benchmark/benchmark.h>
#include <xnnpack.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kernels/xnnpack/xnnpack_init.h"
#include "kernels/conv/dwconv_f32.h"
#include "kernels/quant/quant_ops.h"

namespace pocket::bench {

namespace {

struct QDwShape {
  const char* model;
  int64_t h, w, c, k, s;  // input h x w x c, k x k kernel, stride s, padding k / 2
};

constexpr QDwShape kQDwShapes[] = {
    {"mobilenetv3s_dw3x3s2", 112, 112, 16, 3, 2}, {"mobilenetv3s_dw3x3s2", 56, 56, 72, 3, 2},
    {"mobilenetv3s_dw3x3s1", 28, 28, 88, 3, 1},   {"mobilenetv3s_dw5x5s2", 14, 14, 96, 5, 2},
    {"mobilenetv3s_dw5x5s1", 7, 7, 576, 5, 1},
};

int64_t out_dim(int64_t in, const QDwShape& s) { return (in + 2 * (s.k / 2) - s.k) / s.s + 1; }

struct QDwOperands {
  std::vector<int8_t> x, w, y;  // w [k][k][C]
  std::vector<int32_t> bias_i32;
  std::vector<float> w_scale, bias;
  float x_scale = 0.02f, y_scale = 0.05f;
  int32_t x_zp = -3, y_zp = 5;
};

QDwOperands make_operands(const QDwShape& s, bool per_channel) {
  QDwOperands o;
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> q(-128, 127);
  std::uniform_real_distribution<float> u(0.002f, 0.01f);
  o.x.resize(static_cast<size_t>(s.h * s.w * s.c));
  o.w.resize(static_cast<size_t>(s.k * s.k * s.c));
  for (int8_t& v : o.x) v = static_cast<int8_t>(q(rng));
  for (int8_t& v : o.w) v = static_cast<int8_t>(q(rng));
  o.w_scale.resize(static_cast<size_t>(s.c));
  for (float& v : o.w_scale) v = per_channel ? u(rng) : 0.005f;
  o.bias_i32.resize(static_cast<size_t>(s.c));
  o.bias.resize(static_cast<size_t>(s.c));
  for (int64_t c = 0; c < s.c; ++c) {
    o.bias_i32[c] = q(rng) * 40;
    o.bias[c] = static_cast<float>(o.bias_i32[c]) * (o.x_scale * o.w_scale[c]);
  }
  o.y.assign(static_cast<size_t>(out_dim(s.h, s) * out_dim(s.w, s) * s.c), 0);
  return o;
}

kernels::DwConvQs8Args make_args(const QDwShape& s, QDwOperands& o) {
  kernels::DwConvQs8Args a;
  a.n = 1, a.h = s.h, a.w = s.w, a.c = s.c, a.kh = a.kw = s.k, a.stride_h = a.stride_w = s.s;
  a.pad_top = a.pad_left = s.k / 2;
  a.oh = out_dim(s.h, s), a.ow = out_dim(s.w, s);
  a.x = o.x.data(), a.x_zero_point = o.x_zp, a.weights = o.w.data(), a.out = o.y.data();
  a.ep.a_scale = &o.x_scale, a.ep.b_scale = o.w_scale.data(), a.ep.bias = o.bias.data();
  a.ep.out_i8 = true, a.ep.out_scale = o.y_scale, a.ep.out_zero_point = o.y_zp;
  return a;
}

void set_counters(benchmark::State& state, const QDwShape& s, double elem_bytes) {
  const double outs = static_cast<double>(out_dim(s.h, s) * out_dim(s.w, s) * s.c);
  const double gop = 2.0 * outs * static_cast<double>(s.k * s.k) * 1e-9;
  const double gbytes =
      elem_bytes * (static_cast<double>(s.h * s.w * s.c) + outs + static_cast<double>(s.c * s.k * s.k)) * 1e-9;
  const double it = static_cast<double>(state.iterations());
  state.counters["GOP/s"] = benchmark::Counter(gop * it, benchmark::Counter::kIsRate);
  state.counters["GB/s"] = benchmark::Counter(gbytes * it, benchmark::Counter::kIsRate);
}

// Pocket's output through the scalar variant, for the comparisons.
std::vector<int8_t> reference_output(const QDwShape& s, bool per_channel) {
  QDwOperands o = make_operands(s, per_channel);
  kernels::DwConvQs8Args a = make_args(s, o);
  size_t count = 0;
  kernels::dwconv_qs8_variants(&count)[0].run(a, 0, a.n * a.oh);
  return o.y;
}

std::string compare(const std::vector<int8_t>& got, const std::vector<int8_t>& want) {
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::abs(got[i] - want[i]) > 1) {
      char buf[128];
      std::snprintf(buf, sizeof(buf), "output %zu: %d, reference %d", i, got[i], want[i]);
      return buf;
    }
  }
  return {};
}

void bench_pocket_qs8(benchmark::State& state, QDwShape s, kernels::DwConvQs8Kernel kernel) {
  QDwOperands o = make_operands(s, true);
  kernels::DwConvQs8Args a = make_args(s, o);
  for (auto _ : state) {
    kernel.run(a, 0, a.n * a.oh);
    benchmark::DoNotOptimize(o.y.data());
    benchmark::ClobberMemory();
  }
  if (std::string err = compare(o.y, reference_output(s, true)); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  set_counters(state, s, 1.0);
}

void bench_pocket_f32(benchmark::State& state, QDwShape s) {
  const kernels::DwConvF32Kernel& kernel = kernels::dwconv_f32_kernel();
  std::mt19937 rng(4321);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> x(static_cast<size_t>(s.h * s.w * s.c)), w(static_cast<size_t>(s.c * s.k * s.k)),
      bias(static_cast<size_t>(s.c)), y(static_cast<size_t>(out_dim(s.h, s) * out_dim(s.w, s) * s.c));
  for (float& v : x) v = dist(rng);
  for (float& v : w) v = dist(rng);
  for (float& v : bias) v = dist(rng);
  std::vector<float> packed(kernels::dwconv_f32_packed_floats(s.c, s.k, s.k, kernel.channel_tile));
  kernels::dwconv_f32_pack(s.c, s.k, s.k, kernel.channel_tile, w.data(), bias.data(), packed.data());
  std::vector<float> zeros(kernels::dwconv_f32_zero_floats(s.w, s.c), 0.f);
  kernels::DwConvF32Params p;
  p.batch = 1, p.in_h = s.h, p.in_w = s.w, p.channels = s.c;
  p.out_h = out_dim(s.h, s), p.out_w = out_dim(s.w, s);
  p.kernel_h = p.kernel_w = s.k, p.stride_h = p.stride_w = s.s, p.pad_top = p.pad_left = s.k / 2;
  p.packed = packed.data(), p.zeros = zeros.data();
  for (auto _ : state) {
    kernels::dwconv_f32(kernel, p, x.data(), nullptr, y.data(), nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, s, 4.0);
}

void bench_xnnpack(benchmark::State& state, QDwShape s, bool per_channel) {
  QDwOperands o = make_operands(s, per_channel);
  const uint32_t pad = static_cast<uint32_t>(s.k / 2), k = static_cast<uint32_t>(s.k), st = static_cast<uint32_t>(s.s);
  const uint32_t groups = static_cast<uint32_t>(s.c);
  const size_t stride = static_cast<size_t>(s.c);
  xnn_operator_t op = nullptr;
  xnn_status status;
  if (per_channel) {
    status = xnn_create_convolution2d_nhwc_qc8(pad, pad, pad, pad, k, k, st, st, 1, 1, groups, 1, 1, stride, stride,
                                               static_cast<int8_t>(o.x_zp), o.x_scale, o.w_scale.data(), o.w.data(),
                                               o.bias_i32.data(), static_cast<int8_t>(o.y_zp), o.y_scale, -128, 127,
                                               XNN_FLAG_DEPTHWISE_CONVOLUTION, &op);
  } else {
    status = xnn_create_convolution2d_nhwc_qs8(pad, pad, pad, pad, k, k, st, st, 1, 1, groups, 1, 1, stride, stride,
                                               static_cast<int8_t>(o.x_zp), o.x_scale, o.w_scale[0], o.w.data(),
                                               o.bias_i32.data(), static_cast<int8_t>(o.y_zp), o.y_scale, -128, 127,
                                               XNN_FLAG_DEPTHWISE_CONVOLUTION, &op);
  }
  if (status != xnn_status_success) {
    state.SkipWithError("xnn_create_convolution2d_nhwc_qs8/qc8 failed");
    return;
  }
  status = per_channel ? xnn_setup_convolution2d_nhwc_qc8(op, 1, static_cast<size_t>(s.h), static_cast<size_t>(s.w),
                                                          o.x.data(), o.y.data(), nullptr)
                       : xnn_setup_convolution2d_nhwc_qs8(op, 1, static_cast<size_t>(s.h), static_cast<size_t>(s.w),
                                                          o.x.data(), o.y.data(), nullptr);
  if (status != xnn_status_success) {
    xnn_delete_operator(op);
    state.SkipWithError("xnn_setup_convolution2d_nhwc_qs8/qc8 failed");
    return;
  }
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);
    benchmark::DoNotOptimize(o.y.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  if (std::string err = compare(o.y, reference_output(s, per_channel)); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  set_counters(state, s, 1.0);
}

// ---- rows ----

std::vector<float> row_data(int64_t n) {
  std::mt19937 rng(99);
  std::normal_distribution<float> d(0.f, 1.5f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = d(rng);
  return x;
}

void set_row_counters(benchmark::State& state, int64_t n, double bytes_per_elem) {
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(n) * bytes_per_elem * static_cast<double>(state.iterations()) * 1e-9,
                                              benchmark::Counter::kIsRate);
}

void bench_dynamic(benchmark::State& state, int64_t n, kernels::QuantRowKernels k) {
  const std::vector<float> x = row_data(n);
  std::vector<int8_t> y(static_cast<size_t>(n));
  for (auto _ : state) {
    benchmark::DoNotOptimize(k.quantize_dynamic(x.data(), n, y.data()));
    benchmark::ClobberMemory();
  }
  set_row_counters(state, n, 5.0);
}

void bench_quantize(benchmark::State& state, int64_t n, kernels::QuantRowKernels k) {
  const std::vector<float> x = row_data(n);
  std::vector<int8_t> y(static_cast<size_t>(n));
  for (auto _ : state) {
    k.quantize(x.data(), n, kernels::QParams{0.03f, 3}, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_row_counters(state, n, 5.0);
}

void bench_dequantize(benchmark::State& state, int64_t n, kernels::QuantRowKernels k) {
  std::vector<int8_t> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<int8_t>(i * 37);
  std::vector<float> y(static_cast<size_t>(n));
  for (auto _ : state) {
    k.dequantize(x.data(), n, kernels::QParams{0.03f, 3}, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_row_counters(state, n, 5.0);
}

void bench_xnn_quantize(benchmark::State& state, int64_t n) {
  const std::vector<float> x = row_data(n);
  std::vector<int8_t> y(static_cast<size_t>(n)), want(static_cast<size_t>(n));
  xnn_operator_t op = nullptr;
  const size_t ch = static_cast<size_t>(n);
  if (xnn_create_convert_nc_f32_qs8(ch, ch, ch, 0.03f, 3, -128, 127, 0, &op) != xnn_status_success ||
      xnn_setup_convert_nc_f32_qs8(op, 1, x.data(), y.data(), nullptr) != xnn_status_success) {
    if (op) xnn_delete_operator(op);
    state.SkipWithError("xnn convert_nc_f32_qs8 failed");
    return;
  }
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  kernels::quantize_f32_s8(x.data(), n, kernels::QParams{0.03f, 3}, want.data());
  if (std::string err = compare(y, want); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  set_row_counters(state, n, 5.0);
}

void bench_xnn_dequantize(benchmark::State& state, int64_t n) {
  std::vector<int8_t> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<int8_t>(i * 37);
  std::vector<float> y(static_cast<size_t>(n));
  xnn_operator_t op = nullptr;
  const size_t ch = static_cast<size_t>(n);
  if (xnn_create_convert_nc_qs8_f32(ch, ch, ch, 0.03f, 3, 0, &op) != xnn_status_success ||
      xnn_setup_convert_nc_qs8_f32(op, 1, x.data(), y.data(), nullptr) != xnn_status_success) {
    if (op) xnn_delete_operator(op);
    state.SkipWithError("xnn convert_nc_qs8_f32 failed");
    return;
  }
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  set_row_counters(state, n, 5.0);
}

// add_qs8 (dispatched variant), same-shape operands and a per-channel [C] broadcast.
void bench_add(benchmark::State& state, int64_t n, int64_t b_channels) {
  std::vector<int8_t> a(static_cast<size_t>(n)), b(static_cast<size_t>(b_channels)), y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) a[i] = static_cast<int8_t>(i * 37);
  for (int64_t i = 0; i < b_channels; ++i) b[i] = static_cast<int8_t>(i * 11);
  for (auto _ : state) {
    kernels::add_qs8(a.data(), kernels::QParams{0.03f, 3}, b.data(), kernels::QParams{0.05f, -7}, n, b_channels,
                     y.data(), kernels::QParams{0.06f, 1});
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_row_counters(state, n, b_channels == n ? 3.0 : 2.0);
}

std::string shape_name(const QDwShape& s) {
  return std::string(s.model) + "/" + std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c);
}

void register_quant_ops_benchmarks() {
  const bool have_xnnpack = pocket::kernels::xnnpack_available();
  size_t count = 0;
  const kernels::DwConvQs8Kernel* dw = kernels::dwconv_qs8_variants(&count);
  for (const QDwShape& s : kQDwShapes) {
    const std::string base = "dwconv_qs8/" + shape_name(s) + "/";
    for (size_t v = 0; v < count; ++v) {
      benchmark::RegisterBenchmark((base + "pocket_" + dw[v].name).c_str(), bench_pocket_qs8, s, dw[v])
          ->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark((base + "pocket_f32_" + kernels::dwconv_f32_kernel().name).c_str(), bench_pocket_f32, s)
        ->Unit(benchmark::kMicrosecond);
    if (have_xnnpack) {
      benchmark::RegisterBenchmark((base + "xnnpack_qc8").c_str(), bench_xnnpack, s, true)->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark((base + "xnnpack_qs8").c_str(), bench_xnnpack, s, false)->Unit(benchmark::kMicrosecond);
    }
  }
  const kernels::QuantRowKernels* rows = kernels::quant_row_variants(&count);
  for (int64_t n : {768, 3072, 65536}) {
    for (size_t v = 0; v < count; ++v) {
      benchmark::RegisterBenchmark(("quant_rows/dynamic_qd8/" + std::to_string(n) + "/pocket_" + rows[v].name).c_str(),
                                   bench_dynamic, n, rows[v]);
    }
  }
  for (size_t v = 0; v < count; ++v) {
    benchmark::RegisterBenchmark(("quant_rows/quantize/65536/pocket_" + std::string(rows[v].name)).c_str(),
                                 bench_quantize, int64_t{65536}, rows[v]);
    benchmark::RegisterBenchmark(("quant_rows/dequantize/65536/pocket_" + std::string(rows[v].name)).c_str(),
                                 bench_dequantize, int64_t{65536}, rows[v]);
  }
  benchmark::RegisterBenchmark("quant_misc/add_qs8/28x28x40/same_shape", bench_add, int64_t{28 * 28 * 40},
                               int64_t{28 * 28 * 40});
  benchmark::RegisterBenchmark("quant_misc/add_qs8/28x28x40/per_channel", bench_add, int64_t{28 * 28 * 40}, int64_t{40});
  if (have_xnnpack) {
    benchmark::RegisterBenchmark("quant_rows/quantize/65536/xnnpack", bench_xnn_quantize, int64_t{65536});
    benchmark::RegisterBenchmark("quant_rows/dequantize/65536/xnnpack", bench_xnn_dequantize, int64_t{65536});
  }
}

const bool registered = (register_quant_ops_benchmarks(), true);

}  // namespace

}  // namespace pocket::bench
