// The converter's quantization (converter/quantize): fp16 weights, int8-dynamic (weight-only) and
// static int8 rewrites of small graphs built in the IR and optimised by the real passes, run in the
// engine against the fp32 graph; the report; --keep-float; --max-error keeping a deliberately bad
// layer float; option errors; and the number conversions underneath.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "converter/quantize/calibration.h"
#include "converter/quantize/quantize.h"
#include "converter/quantize/quantize_internal.h"
#include "tools/common/npy.h"

namespace pocket::converter::quantize {
namespace {

namespace fs = std::filesystem;
using Shape = std::vector<int64_t>;

int64_t count(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::vector<float> randoms(int64_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct Builder {
  ir::Graph g;
  uint32_t seed = 7;

  Builder() { g.opset = 13; }
  void input(const std::string& name, Shape shape) {
    ir::Value& v = g.value(name);
    v.name = name;
    v.shape = std::move(shape);
    v.shape_known = true;
    g.inputs.push_back(name);
  }
  std::string constant(const std::string& name, const Shape& shape, std::vector<float> data = {}) {
    if (data.empty()) {
      const float fan_in = static_cast<float>(count(shape) / shape[0]);
      const float a = std::sqrt(3.f / fan_in);
      data = randoms(count(shape), seed++, -a, a);
    }
    std::vector<uint8_t> bytes(data.size() * 4);
    std::memcpy(bytes.data(), data.data(), bytes.size());
    return g.add_constant(name, fb::DType::F32, shape, std::move(bytes));
  }
  ir::Node& node(const std::string& op, std::vector<std::string> inputs, const std::string& out) {
    ir::Node n;
    n.op = op;
    n.name = out;
    n.inputs = std::move(inputs);
    n.outputs = {out};
    g.nodes.push_back(std::move(n));
    return g.nodes.back();
  }
  ir::Node& conv(const std::string& x, const std::string& out, int64_t c, int64_t m, int64_t k,
                 std::vector<float> w = {}) {
    std::vector<std::string> in = {x, constant(out + ".weight", {m, c, k, k}, std::move(w)),
                                   constant(out + ".bias", {m}, randoms(m, seed++, -0.1f, 0.1f))};
    ir::Node& n = node("Conv", in, out);
    const int64_t p = k / 2;
    n.set_ints("pads", {p, p, p, p});
    n.set_ints("kernel_shape", {k, k});
    return n;
  }
};

// x [1,3,8,8] -> Conv3x3 a (3->C) -> Relu -> Conv1x1 b (C->C) -> Add(b, ra) -> GlobalAveragePool
// -> Flatten -> Gemm fc (C->10, transB) -> y
Builder small_cnn(int64_t c = 32) {
  Builder b;
  b.input("x", {1, 3, 8, 8});
  b.conv("x", "a", 3, c, 3);
  b.node("Relu", {"a"}, "ra");
  b.conv("ra", "b", c, c, 1);
  b.node("Add", {"b", "ra"}, "sum");
  b.node("GlobalAveragePool", {"sum"}, "pool");
  b.node("Flatten", {"pool"}, "flat").set_i("axis", 1);
  ir::Node& fc = b.node("Gemm", {"flat", b.constant("fc.weight", {10, c}), b.constant("fc.bias", {10})}, "y");
  fc.set_i("transB", 1);
  b.g.outputs.push_back("y");
  return b;
}

ir::Graph optimized(Builder b) {
  ConvertReport r;
  ConvertOptions o;
  Status st = optimize(b.g, o, &r);
  EXPECT_TRUE(st.ok()) << st.message();
  return b.g;
}

// A calibration folder of n .npy samples of shape s (uniform in [lo, hi]).
std::string calibration_dir(const std::string& tag, const Shape& s, int n, float lo = -1.f, float hi = 1.f) {
  fs::path dir = fs::path(::testing::TempDir()) / ("pocket_quant_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (int i = 0; i < n; ++i) {
    std::vector<float> v = randoms(count(s), 1000 + i, lo, hi);
    std::string err;
    char name[32];
    std::snprintf(name, sizeof name, "s%03d.npy", i);
    EXPECT_TRUE(tools::write_npy((dir / name).string(), POCKET_F32, s, v.data(), v.size() * 4, &err)) << err;
  }
  return dir.string();
}

std::vector<Sample> load(const std::string& dir, const ir::Graph& g) {
  std::vector<Sample> s;
  Status st = load_calibration_set(dir, g, 0, &s);
  EXPECT_TRUE(st.ok()) << st.message();
  return s;
}

// Output SQNR of `gq` against `g0` on the samples (every output together).
double model_sqnr(const ir::Graph& g0, const ir::Graph& gq, const std::vector<Sample>& samples) {
  std::vector<std::vector<float>> ref;
  Status st = run_on_samples(g0, samples, {}, [&](size_t, const std::map<std::string, HostTensor>& v) {
    for (const auto& o : g0.outputs) ref.emplace_back(v.at(o).f32(), v.at(o).f32() + v.at(o).elements());
    return Status::Ok();
  }, nullptr);
  EXPECT_TRUE(st.ok()) << st.message();
  double signal = 0, noise = 0;
  size_t k = 0;
  st = run_on_samples(gq, samples, {}, [&](size_t, const std::map<std::string, HostTensor>& v) {
    for (const auto& o : g0.outputs) {
      const HostTensor& t = v.at(o);
      EXPECT_EQ(t.elements(), static_cast<int64_t>(ref[k].size()));
      for (int64_t i = 0; i < t.elements() && i < static_cast<int64_t>(ref[k].size()); ++i) {
        signal += double(ref[k][i]) * ref[k][i];
        noise += (double(ref[k][i]) - t.f32()[i]) * (double(ref[k][i]) - t.f32()[i]);
      }
      ++k;
    }
    return Status::Ok();
  }, nullptr);
  EXPECT_TRUE(st.ok()) << st.message();
  return noise == 0 ? 200.0 : 10 * std::log10(signal / noise);
}

const ir::Node* find_op(const ir::Graph& g, const std::string& op, int nth = 0) {
  for (const ir::Node& n : g.nodes)
    if (n.op == op && nth-- == 0) return &n;
  return nullptr;
}

int op_count(const ir::Graph& g, const std::string& op) {
  int c = 0;
  for (const ir::Node& n : g.nodes) c += n.op == op;
  return c;
}

const LayerReport* row(const QuantizeReport& r, const std::string& op, int nth = 0) {
  for (const LayerReport& l : r.layers)
    if (l.op == op && nth-- == 0) return &l;
  return nullptr;
}

// ---- number conversions -------------------------------------------------------------------------

TEST(QuantizeNumbers, HalfRoundsToNearestEven) {
  using detail::f16_from_f32;
  using detail::f32_from_f16;
  EXPECT_EQ(f16_from_f32(1.f), 0x3c00);
  EXPECT_EQ(f16_from_f32(-2.f), 0xc000);
  EXPECT_EQ(f16_from_f32(65504.f), 0x7bff);
  EXPECT_EQ(f16_from_f32(70000.f), 0x7c00);  // overflow -> inf
  EXPECT_EQ(f16_from_f32(1.f + 1.f / 2048), 0x3c00);  // tie -> even (down)
  EXPECT_EQ(f16_from_f32(1.f + 3.f / 2048), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(f16_from_f32(5.9604645e-8f), 0x0001);  // smallest subnormal
  EXPECT_EQ(f16_from_f32(2.0e-8f), 0x0000);         // below half of it -> 0
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-1000.f, 1000.f);
  for (int i = 0; i < 2000; ++i) {
    const float x = d(rng);
    const float y = f32_from_f16(f16_from_f32(x));
    EXPECT_LE(std::fabs(x - y), std::fabs(x) * (1.f / 2048) + 1e-7f) << x;
  }
  for (uint32_t h = 0; h < 0x7c00; h += 7) EXPECT_EQ(f16_from_f32(f32_from_f16(uint16_t(h))), h);
}

TEST(QuantizeNumbers, SymmetricPerChannelWeights) {
  // [3, 2, 2]: channel 0 max 2, channel 1 all zero, channel 2 max 0.5 (axis 0).
  std::vector<float> w = {2, -1, 0.5f, 0, 0, 0, 0, 0, 0.5f, -0.25f, 0.1f, 0};
  std::vector<float> scales;
  std::vector<uint8_t> q = detail::quantize_symmetric(w.data(), {3, 2, 2}, 0, &scales);
  ASSERT_EQ(scales.size(), 3u);
  EXPECT_FLOAT_EQ(scales[0], 2.f / 127);
  EXPECT_FLOAT_EQ(scales[1], 1.f);
  EXPECT_FLOAT_EQ(scales[2], 0.5f / 127);
  auto at = [&](int i) { return static_cast<int>(static_cast<int8_t>(q[i])); };
  EXPECT_EQ(at(0), 127);
  EXPECT_EQ(at(1), -64);  // -63.5 -> -64 (ties to even)
  EXPECT_EQ(at(4), 0);
  EXPECT_EQ(at(8), 127);
  EXPECT_EQ(at(9), -64);  // -63.5
  // Axis 1 of a [2, 3] matrix: per column.
  std::vector<float> m = {1, 0, -4, -0.5f, 2, 1};
  q = detail::quantize_symmetric(m.data(), {2, 3}, 1, &scales);
  ASSERT_EQ(scales.size(), 3u);
  EXPECT_FLOAT_EQ(scales[0], 1.f / 127);
  EXPECT_FLOAT_EQ(scales[1], 2.f / 127);
  EXPECT_FLOAT_EQ(scales[2], 4.f / 127);
  EXPECT_EQ(static_cast<int8_t>(q[2]), -127);
  EXPECT_EQ(static_cast<int8_t>(q[3]), -64);
}

TEST(QuantizeNumbers, ActivationParamsIncludeZero) {
  format::QuantDesc q = detail::activation_params(-1.f, 3.f);
  ASSERT_EQ(q.scales.size(), 1u);
  EXPECT_FLOAT_EQ(q.scales[0], 4.f / 255);
  EXPECT_EQ(q.zero_points[0], -64);  // round(-128 + 63.75)
  EXPECT_EQ(q.axis, -1);
  q = detail::activation_params(0.5f, 2.f);  // widened to [0, 2]
  EXPECT_FLOAT_EQ(q.scales[0], 2.f / 255);
  EXPECT_EQ(q.zero_points[0], -128);
  q = detail::activation_params(-3.f, -1.f);  // widened to [-3, 0]
  EXPECT_EQ(q.zero_points[0], 127);
  q = detail::activation_params(0.f, 0.f);  // never non-zero
  EXPECT_GT(q.scales[0], 0.f);
}

TEST(QuantizeNumbers, NamesParse) {
  Precision p;
  EXPECT_TRUE(parse_precision("int8-dynamic", &p));
  EXPECT_EQ(p, Precision::kInt8Dynamic);
  EXPECT_FALSE(parse_precision("int4", &p));
  CalibrationMethod m;
  EXPECT_TRUE(parse_calibration_method("entropy", &m));
  EXPECT_EQ(m, CalibrationMethod::kEntropy);
  EXPECT_FALSE(parse_calibration_method("kl", &m));
  EXPECT_EQ(detail::split_items({"Conv,Gemm", " a ,b", ""}), (std::vector<std::string>{"Conv", "Gemm", "a", "b"}));
}

// ---- fp16 ---------------------------------------------------------------------------------------

TEST(QuantizeFp16, WeightsHalfAndOutputClose) {
  const ir::Graph g0 = optimized(small_cnn(64));
  ir::Graph g = g0;
  QuantizeOptions o;
  o.precision = Precision::kFp16;
  QuantizeReport r;
  Status st = quantize(g, o, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  for (const auto& [name, v] : g.values) {
    if (!v.is_constant()) continue;
    if (v.elements() >= 16) EXPECT_EQ(v.dtype, ir::DType::F16) << name;
    else EXPECT_EQ(v.dtype, ir::DType::F32) << name;
  }
  EXPECT_LE(static_cast<double>(r.weight_bytes) / r.weight_bytes_fp32, 0.51);
  auto f32 = write_pocket(g0, ConvertOptions{});
  auto f16 = write_pocket(g, ConvertOptions{});
  ASSERT_TRUE(f32.ok() && f16.ok());
  EXPECT_LT(double(f16.value().size()) / f32.value().size(), 0.6);
  ASSERT_NE(row(r, "Gemm"), nullptr);
  EXPECT_EQ(row(r, "Gemm")->precision, "fp16");
  const std::string dir = calibration_dir("fp16", {1, 3, 8, 8}, 4);
  EXPECT_GT(model_sqnr(g0, g, load(dir, g0)), 50.0);
}

TEST(QuantizeFp16, KeepFloatAndOutOfRangeConstantsStayF32) {
  Builder b = small_cnn(16);
  // A Gemm weight with a value beyond fp16's range: stays f32 with a note.
  std::vector<float> w = randoms(10 * 16, 5, -0.3f, 0.3f);
  w[3] = 1e6f;
  b.g.value("fc.weight").data = std::make_shared<std::vector<uint8_t>>(
      reinterpret_cast<uint8_t*>(w.data()), reinterpret_cast<uint8_t*>(w.data() + w.size()));
  ir::Graph g = optimized(std::move(b));
  QuantizeOptions o;
  o.precision = Precision::kFp16;
  o.keep_float = {"Conv"};
  QuantizeReport r;
  ASSERT_TRUE(quantize(g, o, &r).ok());
  for (const ir::Node& n : g.nodes) {
    if (n.op == "Conv") EXPECT_EQ(g.find(n.inputs[1])->dtype, ir::DType::F32);
  }
  const ir::Node* fc = find_op(g, "Gemm");
  ASSERT_NE(fc, nullptr);
  EXPECT_EQ(g.find(fc->inputs[1])->dtype, ir::DType::F32);
  bool noted = false;
  for (const auto& n : r.notes) noted = noted || n.find("exceed the fp16 range") != std::string::npos;
  EXPECT_TRUE(noted);
  ASSERT_NE(row(r, "Conv"), nullptr);
  EXPECT_EQ(row(r, "Conv")->reason, "--keep-float Conv");
}

// ---- int8-dynamic -------------------------------------------------------------------------------

TEST(QuantizeInt8Dynamic, PerChannelWeightsRunClose) {
  const ir::Graph g0 = optimized(small_cnn());
  ir::Graph g = g0;
  QuantizeOptions o;
  o.precision = Precision::kInt8Dynamic;
  QuantizeReport r;
  Status st = quantize(g, o, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  const ir::Node* conv = find_op(g, "Conv");
  ASSERT_NE(conv, nullptr);
  const ir::Value* w = g.find(conv->inputs[1]);
  EXPECT_EQ(w->dtype, ir::DType::I8);
  EXPECT_TRUE(w->has_quant);
  EXPECT_EQ(w->quant.axis, 0);
  EXPECT_EQ(static_cast<int64_t>(w->quant.scales.size()), w->shape[0]);
  EXPECT_TRUE(w->quant.zero_points.empty());
  EXPECT_EQ(g.find(conv->inputs[2])->dtype, ir::DType::F32);  // bias
  const ir::Node* fc = find_op(g, "Gemm");
  ASSERT_NE(fc, nullptr);
  const ir::Value* fw = g.find(fc->inputs[1]);
  EXPECT_EQ(fw->dtype, ir::DType::I8);
  EXPECT_EQ(fw->quant.axis, 0);  // transB: [N, K]
  EXPECT_EQ(fw->quant.scales.size(), 10u);
  EXPECT_EQ(op_count(g, "QuantizeLinear") + op_count(g, "DequantizeLinear"), 0);
  EXPECT_EQ(r.model_sqnr_db, -1);  // no calibration set: not measured
  for (const LayerReport& l : r.layers) EXPECT_EQ(l.precision, "int8-dynamic") << l.name;
  EXPECT_LT(double(r.weight_bytes) / r.weight_bytes_fp32, 0.3);
  const std::string dir = calibration_dir("dyn", {1, 3, 8, 8}, 4);
  EXPECT_GT(model_sqnr(g0, g, load(dir, g0)), 25.0);
}

TEST(QuantizeInt8Dynamic, MatMulAndEmbedding) {
  Builder b;
  b.input("ids", {1, 6});
  b.g.value("ids").dtype = ir::DType::I64;
  b.node("Gather", {b.constant("embed", {50, 16}), "ids"}, "e");
  b.node("MatMul", {"e", b.constant("proj", {16, 24})}, "y");
  b.g.outputs.push_back("y");
  ConvertOptions co;
  co.nhwc = false;
  ConvertReport cr;
  ASSERT_TRUE(optimize(b.g, co, &cr).ok());
  QuantizeOptions o;
  o.precision = Precision::kInt8Dynamic;
  QuantizeReport r;
  ASSERT_TRUE(quantize(b.g, o, &r).ok());
  const ir::Node* gather = find_op(b.g, "Gather");
  const ir::Node* mm = find_op(b.g, "MatMul");
  ASSERT_TRUE(gather && mm);
  const ir::Value* table = b.g.find(gather->inputs[0]);
  EXPECT_EQ(table->dtype, ir::DType::I8);
  EXPECT_EQ(table->quant.axis, 0);
  EXPECT_EQ(table->quant.scales.size(), 50u);
  const ir::Value* proj = b.g.find(mm->inputs[1]);
  EXPECT_EQ(proj->dtype, ir::DType::I8);
  EXPECT_EQ(proj->quant.axis, 1);
  EXPECT_EQ(proj->quant.scales.size(), 24u);
  EXPECT_EQ(r.layers.size(), 2u);
}

// ---- static int8 --------------------------------------------------------------------------------

TEST(QuantizeInt8Static, RewriteTransitionsAndAccuracy) {
  const ir::Graph g0 = optimized(small_cnn());
  ir::Graph g = g0;
  QuantizeOptions o;
  o.precision = Precision::kInt8;
  o.calibration_dir = calibration_dir("static", {1, 3, 8, 8}, 8);
  o.progress = false;
  QuantizeReport r;
  Status st = quantize(g, o, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  // Graph inputs and outputs stay float; one QuantizeLinear after x, one DequantizeLinear before y.
  EXPECT_EQ(g.find("x")->dtype, ir::DType::F32);
  EXPECT_EQ(g.find("y")->dtype, ir::DType::F32);
  EXPECT_EQ(op_count(g, "QuantizeLinear"), 1);
  EXPECT_EQ(op_count(g, "DequantizeLinear"), 1);
  EXPECT_EQ(r.transitions, 2);
  for (const ir::Node& n : g.nodes) {
    if (n.op == "QuantizeLinear" || n.op == "DequantizeLinear") continue;
    if (n.op == "Transpose" && n.inputs[0] == "x") continue;  // NCHW -> NHWC of the float input
    const ir::Value* out = g.find(n.outputs[0]);
    EXPECT_EQ(out->dtype, ir::DType::I8) << n.op << " " << n.name;
    EXPECT_TRUE(out->has_quant);
    EXPECT_EQ(out->quant.axis, -1);
    ASSERT_EQ(out->quant.scales.size(), 1u);
    if (n.op == "Reshape" || n.op == "Flatten") {
      const ir::Value* in = g.find(n.inputs[0]);
      EXPECT_EQ(in->quant.scales, out->quant.scales);
      EXPECT_EQ(in->quant.zero_points, out->quant.zero_points);
    }
    if (n.op == "Conv" || n.op == "Gemm") {
      EXPECT_EQ(g.find(n.inputs[1])->dtype, ir::DType::I8);
      EXPECT_EQ(g.find(n.inputs[2])->dtype, ir::DType::F32);
    }
  }
  // The residual Conv reads an int8 R.
  const ir::Node* res = find_op(g, "Conv", 1);
  ASSERT_NE(res, nullptr);
  ASSERT_GE(res->inputs.size(), 4u);
  EXPECT_EQ(g.find(res->inputs[3])->dtype, ir::DType::I8);
  EXPECT_EQ(r.method, "minmax");
  EXPECT_EQ(r.samples, 8);
  EXPECT_GT(r.model_sqnr_db, 20.0);
  EXPECT_LT(double(r.weight_bytes) / r.weight_bytes_fp32, 0.3);
  EXPECT_GT(model_sqnr(g0, g, load(o.calibration_dir, g0)), 20.0);
  // Report: every layer int8, JSON and text carry it.
  ASSERT_NE(row(r, "Conv"), nullptr);
  EXPECT_EQ(row(r, "Conv")->precision, "int8");
  EXPECT_GT(row(r, "Conv")->bytes_fp32, row(r, "Conv")->bytes);
  const std::string json = r.json();
  EXPECT_NE(json.find("\"precision\":\"int8\""), std::string::npos);
  EXPECT_NE(json.find("\"transitions\":2"), std::string::npos);
  EXPECT_NE(json.find("\"op\":\"GlobalAveragePool\""), std::string::npos);
  const std::string text = r.text();
  EXPECT_NE(text.find("transitions (QuantizeLinear/DequantizeLinear): 2"), std::string::npos);
  EXPECT_NE(text.find("model output SQNR vs fp32"), std::string::npos);
}

TEST(QuantizeInt8Static, KeepFloatMakesBorders) {
  const ir::Graph g0 = optimized(small_cnn());
  ir::Graph g = g0;
  QuantizeOptions o;
  o.precision = Precision::kInt8;
  o.calibration_dir = calibration_dir("keep", {1, 3, 8, 8}, 4);
  o.keep_float = {"Gemm,GlobalAveragePool", "no_such_layer"};
  o.progress = false;
  QuantizeReport r;
  ASSERT_TRUE(quantize(g, o, &r).ok());
  const ir::Node* fc = find_op(g, "Gemm");
  ASSERT_NE(fc, nullptr);
  EXPECT_EQ(g.find(fc->inputs[0])->dtype, ir::DType::F32);
  EXPECT_EQ(g.find(fc->inputs[1])->dtype, ir::DType::F32);
  const ir::Node* pool = find_op(g, "GlobalAveragePool");
  ASSERT_NE(pool, nullptr);
  // The pool is float: its input (the residual conv's int8 output) goes through a DequantizeLinear.
  EXPECT_EQ(g.find(pool->inputs[0])->dtype, ir::DType::F32);
  EXPECT_EQ(find_op(g, "DequantizeLinear")->outputs[0], pool->inputs[0]);
  EXPECT_EQ(row(r, "Gemm")->precision, "fp32");
  EXPECT_EQ(row(r, "Gemm")->reason, "--keep-float Gemm");
  bool warned = false;
  for (const auto& n : r.notes) warned = warned || n.find("no_such_layer matches no node") != std::string::npos;
  EXPECT_TRUE(warned);
  EXPECT_GT(model_sqnr(g0, g, load(o.calibration_dir, g0)), 20.0);
}

// x -> Conv c0 -> Conv a (one output channel's weights x 1000) -> Conv b 1x1 (reading that
// channel x 0.001) -> Conv c3 -> y. The outlier channel sets the per-tensor int8 range of a's
// output, so its other channels, which carry nearly all of y, lose their precision whether a
// quantizes it as its output or b as its input: int8 a or b ruins the model, c0 and c3 do not.
Builder outlier_model() {
  Builder b;
  b.input("x", {1, 3, 8, 8});
  const int64_t c = 8;
  b.conv("x", "c0", 3, c, 3);
  std::vector<float> wa = randoms(c * c * 9, 11, -0.2f, 0.2f);
  for (int i = 0; i < c * 9; ++i) wa[i] *= 1000.f;
  b.conv("c0", "a", c, c, 3, wa);
  std::vector<float> wb = randoms(c * c, 12, -0.5f, 0.5f);
  for (int o = 0; o < c; ++o) wb[o * c] *= 0.001f;
  b.conv("a", "b", c, c, 1, wb);
  b.conv("b", "c3", c, c, 1);
  b.g.outputs.push_back("c3");
  return b;
}

TEST(QuantizeMixedPrecision, MaxErrorKeepsTheBadLayersFloat) {
  const ir::Graph g0 = optimized(outlier_model());
  QuantizeOptions o;
  o.precision = Precision::kInt8;
  o.calibration_dir = calibration_dir("outlier", {1, 3, 8, 8}, 6);
  o.progress = false;
  {
    ir::Graph g = g0;
    QuantizeReport r;
    ASSERT_TRUE(quantize(g, o, &r).ok());
    EXPECT_LT(r.model_sqnr_db, 25.0) << "the fixture must be bad in int8";
  }
  ir::Graph g = g0;
  o.max_error_db = 30;
  QuantizeReport r;
  Status st = quantize(g, o, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_GE(r.model_sqnr_db, 30.0);
  std::map<std::string, const LayerReport*> by_name;
  for (const LayerReport& l : r.layers) by_name[l.name] = &l;
  ASSERT_TRUE(by_name.count("a") && by_name.count("b") && by_name.count("c0") && by_name.count("c3"));
  for (const char* bad : {"a", "b"}) {
    EXPECT_EQ(by_name[bad]->precision, "fp32") << bad;
    EXPECT_NE(by_name[bad]->reason.find("kept float"), std::string::npos) << bad;
    EXPECT_LT(by_name[bad]->sqnr_db, by_name["c0"]->sqnr_db) << bad;  // alone quantized, it hurts more
  }
  EXPECT_EQ(by_name["c0"]->precision, "int8");
  EXPECT_EQ(by_name["c3"]->precision, "int8");
  EXPECT_EQ(r.transitions, 4);  // Q x, DQ c0, Q b, DQ c3
  bool noted = false;
  for (const auto& n : r.notes) noted = noted || n.find("2 layer(s) kept float") != std::string::npos;
  EXPECT_TRUE(noted) << r.text();
  EXPECT_GT(model_sqnr(g0, g, load(o.calibration_dir, g0)), 30.0);
}

// The same outlier pair inside a chain of 28 convs: more int8 layers than the exact search takes,
// so the added-noise proxy ranks them, re-measured after every step.
TEST(QuantizeMixedPrecision, ProxyOnDeepChainFindsTheBadLayers) {
  Builder b = outlier_model();
  b.g.outputs.clear();
  std::string prev = "c3";
  for (int k = 4; k < 28; ++k) {
    const std::string name = "c" + std::to_string(k);
    b.conv(prev, name, 8, 8, 1);
    prev = name;
  }
  b.g.outputs.push_back(prev);
  const ir::Graph g0 = optimized(std::move(b));
  QuantizeOptions o;
  o.precision = Precision::kInt8;
  o.calibration_dir = calibration_dir("chain", {1, 3, 8, 8}, 4);
  o.progress = false;
  o.max_error_db = 25;
  ir::Graph g = g0;
  QuantizeReport r;
  Status st = quantize(g, o, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_GE(r.model_sqnr_db, 25.0) << r.text();
  int int8 = 0;
  std::map<std::string, const LayerReport*> by_name;
  for (const LayerReport& l : r.layers) {
    by_name[l.name] = &l;
    int8 += l.precision == "int8";
    EXPECT_NE(l.sqnr_db, -1) << l.name;
  }
  ASSERT_EQ(r.layers.size(), 28u);
  EXPECT_EQ(by_name["a"]->precision, "fp32") << r.text();
  EXPECT_EQ(by_name["b"]->precision, "fp32") << r.text();
  EXPECT_GE(int8, 20) << r.text();
  bool noted = false;
  for (const auto& n : r.notes) noted = noted || n.find("noise it adds") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(QuantizeMixedPrecision, Int8DynamicMeasuresWithCalibration) {
  const ir::Graph g0 = optimized(small_cnn(16));
  ir::Graph g = g0;
  QuantizeOptions o;
  o.precision = Precision::kInt8Dynamic;
  o.calibration_dir = calibration_dir("dynmax", {1, 3, 8, 8}, 3);
  o.max_error_db = 200;  // reached only with every layer float (identical outputs)
  o.progress = false;
  QuantizeReport r;
  ASSERT_TRUE(quantize(g, o, &r).ok());
  for (const LayerReport& l : r.layers) {
    EXPECT_EQ(l.precision, "fp32") << l.name;
    EXPECT_NE(l.sqnr_db, -1) << l.name;
    EXPECT_GT(l.sqnr_db, 20) << l.name;
  }
  EXPECT_TRUE(std::isinf(r.model_sqnr_db));
  for (const auto& [name, v] : g.values) EXPECT_NE(v.dtype, ir::DType::I8) << name;
}

// ---- errors ---------------------------------------------------------------------------------------

TEST(QuantizeErrors, OptionsAreChecked) {
  const ir::Graph g0 = optimized(small_cnn(8));
  auto run = [&](QuantizeOptions o) {
    ir::Graph g = g0;
    QuantizeReport r;
    return quantize(g, o, &r);
  };
  QuantizeOptions o;
  o.precision = Precision::kInt8;
  Status st = run(o);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("--calibration"), std::string::npos);
  o.precision = Precision::kInt8Dynamic;
  o.max_error_db = 30;
  st = run(o);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("--max-error needs a calibration set"), std::string::npos);
  o = QuantizeOptions{};
  o.precision = Precision::kInt8;
  o.calibration_dir = "/nonexistent/calibration";
  o.progress = false;
  EXPECT_FALSE(run(o).ok());
  o.method = CalibrationMethod::kPercentile;
  o.percentile = 0;
  st = run(o);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("percentile"), std::string::npos);
  // A calibration set of the wrong shape.
  o.method = CalibrationMethod::kMinMax;
  o.calibration_dir = calibration_dir("wrong", {1, 4, 8, 8}, 2);
  EXPECT_FALSE(run(o).ok());
  o.precision = Precision::kFp32;  // nothing to do
  EXPECT_TRUE(run(o).ok());
}

}  // namespace
}  // namespace pocket::converter::quantize
