// fold_qdq through the whole converter pipeline on QDQ graphs built in the IR as the ONNX importer
// gives them (QuantizeLinear/DequantizeLinear with scale and zero-point inputs, uint8
// activations, int8 per-channel and per-tensor weights, an int32 bias): the converted graph must
// hold the int8 forms of format/OPS.md (I8 Conv with the Relu as its activation, I8
// GlobalAveragePool and Gemm, one QuantizeLinear at the input and one DequantizeLinear at the
// output, no scale inputs), and the engine must match a double-precision QDQ simulation within one
// output quantization step. Bad QDQ input gets a clear error; an asymmetric weight stays float.
// (Model-sized QDQ fixtures, a QAT-trained CNN among them, are tested in tests/prune/.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "converter/ir/graph.h"
#include "engine/model.h"
#include "engine/session.h"

namespace pocket::converter {
namespace {

using Shape = std::vector<int64_t>;

constexpr int64_t kN = 2, kC = 3, kH = 6, kW = 6, kM = 4, kK = 5;
constexpr float kSx = 0.02f, kS1 = 0.03f, kS2 = 0.02f, kS3 = 0.04f;
constexpr int kZx = 128, kZ2 = 10, kZ3 = 128;  // uint8 zero points (kS1's is 0)

template <class T>
std::string add(ir::Graph& g, const std::string& name, ir::DType dt, const Shape& shape, const std::vector<T>& v) {
  std::vector<uint8_t> bytes(v.size() * sizeof(T));
  std::memcpy(bytes.data(), v.data(), bytes.size());
  return g.add_constant(name, dt, shape, std::move(bytes));
}

double q_u8(double x, double s, int zp) { return std::min(255.0, std::max(0.0, std::nearbyint(x / s) + zp)); }

struct Qdq {
  ir::Graph g;
  std::vector<float> x, conv_w_scale, conv_b, gemm_w, gemm_b;
  std::vector<int8_t> conv_wq;
  float gemm_w_scale = 0.f;
  std::vector<double> reference;  // [kN, kK]
};

ir::Node& node(ir::Graph& g, const std::string& op, std::vector<std::string> in, const std::string& out) {
  ir::Node n;
  n.op = op;
  n.name = out + "_node";
  n.inputs = std::move(in);
  n.outputs = {out};
  g.nodes.push_back(std::move(n));
  return g.nodes.back();
}

void q(ir::Graph& g, const std::string& x, const std::string& y, float s, int zp) {
  node(g, "QuantizeLinear", {x, add<float>(g, y + "_s", ir::DType::F32, {}, {s}),
                             add<uint8_t>(g, y + "_z", ir::DType::U8, {}, {static_cast<uint8_t>(zp)})}, y);
}
void dq(ir::Graph& g, const std::string& x, const std::string& y, float s, int zp) {
  node(g, "DequantizeLinear", {x, add<float>(g, y + "_s", ir::DType::F32, {}, {s}),
                               add<uint8_t>(g, y + "_z", ir::DType::U8, {}, {static_cast<uint8_t>(zp)})}, y);
}

// x -> Q/DQ -> Conv 3x3 (int8 per-channel W, int32 bias) -> Relu -> Q/DQ -> GlobalAveragePool ->
// Q/DQ -> Flatten -> Gemm (W: Q(const float) -> DQ per tensor, float bias) -> Q/DQ -> out.
// weight_zero_point: the conv weight's zero point (nonzero: asymmetric, stays float).
Qdq build(int weight_zero_point = 0) {
  Qdq t;
  ir::Graph& g = t.g;
  g.opset = 13;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  t.x.resize(kN * kC * kH * kW);
  for (float& v : t.x) v = 2.f * u(rng);
  ir::Value& xv = g.value("x");
  xv.name = "x";
  xv.shape = {kN, kC, kH, kW};
  xv.shape_known = true;
  g.inputs.push_back("x");

  q(g, "x", "xq", kSx, kZx);
  dq(g, "xq", "xd", kSx, kZx);
  // Conv weight: int8 per output channel, symmetric.
  const int64_t row = kC * 9;
  t.conv_wq.resize(kM * row);
  t.conv_w_scale.resize(kM);
  for (int64_t m = 0; m < kM; ++m) {
    t.conv_w_scale[m] = 0.004f + 0.001f * static_cast<float>(m);
    for (int64_t i = 0; i < row; ++i) t.conv_wq[m * row + i] = static_cast<int8_t>(std::lround(127.f * u(rng)));
  }
  std::string wq = add<int8_t>(g, "wq", ir::DType::I8, {kM, kC, 3, 3}, t.conv_wq);
  std::string ws = add<float>(g, "w_s", ir::DType::F32, {kM}, t.conv_w_scale);
  std::string wz = add<int8_t>(g, "w_z", ir::DType::I8, {kM}, std::vector<int8_t>(kM, static_cast<int8_t>(weight_zero_point)));
  node(g, "DequantizeLinear", {wq, ws, wz}, "w").set_i("axis", 0);
  // Bias: int32 with scale sx * sw.
  std::vector<int32_t> bq(kM);
  std::vector<float> bs(kM);
  t.conv_b.resize(kM);
  for (int64_t m = 0; m < kM; ++m) {
    bs[m] = kSx * t.conv_w_scale[m];
    bq[m] = static_cast<int32_t>(std::lround(0.2f * u(rng) / bs[m]));
    t.conv_b[m] = bs[m] * static_cast<float>(bq[m]);
  }
  node(g, "DequantizeLinear", {add<int32_t>(g, "bq", ir::DType::I32, {kM}, bq), add<float>(g, "b_s", ir::DType::F32, {kM}, bs),
                               add<int32_t>(g, "b_z", ir::DType::I32, {kM}, std::vector<int32_t>(kM, 0))}, "b")
      .set_i("axis", 0);
  ir::Node& conv = node(g, "Conv", {"xd", "w", "b"}, "c");
  conv.set_ints("pads", {1, 1, 1, 1});
  conv.set_ints("kernel_shape", {3, 3});
  node(g, "Relu", {"c"}, "r");
  q(g, "r", "rq", kS1, 0);
  dq(g, "rq", "rd", kS1, 0);
  node(g, "GlobalAveragePool", {"rd"}, "gap");
  q(g, "gap", "gapq", kS2, kZ2);
  dq(g, "gapq", "gapd", kS2, kZ2);
  node(g, "Flatten", {"gapd"}, "flat").set_i("axis", 1);
  // Gemm weight [kK, kM] (transB): QuantizeLinear of a float constant, int8 per tensor.
  t.gemm_w.resize(kK * kM);
  for (float& v : t.gemm_w) v = 0.8f * u(rng);
  t.gemm_w_scale = 0.8f / 127.f;
  std::string gw = add<float>(g, "gw_f", ir::DType::F32, {kK, kM}, t.gemm_w);
  node(g, "QuantizeLinear", {gw, add<float>(g, "gw_s", ir::DType::F32, {}, {t.gemm_w_scale}),
                             add<int8_t>(g, "gw_z", ir::DType::I8, {}, {0})}, "gwq");
  node(g, "DequantizeLinear", {"gwq", add<float>(g, "gwd_s", ir::DType::F32, {}, {t.gemm_w_scale}),
                               add<int8_t>(g, "gwd_z", ir::DType::I8, {}, {0})}, "gw");
  t.gemm_b.resize(kK);
  for (float& v : t.gemm_b) v = 0.3f * u(rng);
  node(g, "Gemm", {"flat", "gw", add<float>(g, "gb", ir::DType::F32, {kK}, t.gemm_b)}, "fc").set_i("transB", 1);
  q(g, "fc", "fcq", kS3, kZ3);
  dq(g, "fcq", "out", kS3, kZ3);
  g.outputs.push_back("out");

  // Double-precision QDQ simulation.
  std::vector<double> xd(t.x.size());
  for (size_t i = 0; i < xd.size(); ++i) xd[i] = (q_u8(t.x[i], kSx, kZx) - kZx) * kSx;
  t.reference.assign(kN * kK, 0.0);
  for (int64_t n = 0; n < kN; ++n) {
    std::vector<double> pooled(kM);
    for (int64_t m = 0; m < kM; ++m) {
      double sum = 0;
      for (int64_t oy = 0; oy < kH; ++oy)
        for (int64_t ox = 0; ox < kW; ++ox) {
          double acc = t.conv_b[m];
          for (int64_t c = 0; c < kC; ++c)
            for (int64_t ky = 0; ky < 3; ++ky)
              for (int64_t kx = 0; kx < 3; ++kx) {
                const int64_t iy = oy + ky - 1, ix = ox + kx - 1;
                if (iy < 0 || iy >= kH || ix < 0 || ix >= kW) continue;
                const double w = (t.conv_wq[((m * kC + c) * 3 + ky) * 3 + kx] - weight_zero_point) *
                                 static_cast<double>(t.conv_w_scale[m]);
                acc += w * xd[((n * kC + c) * kH + iy) * kW + ix];
              }
          sum += q_u8(std::max(acc, 0.0), kS1, 0) * kS1;
        }
      pooled[m] = (q_u8(sum / (kH * kW), kS2, kZ2) - kZ2) * kS2;
    }
    for (int64_t k = 0; k < kK; ++k) {
      double acc = t.gemm_b[k];
      for (int64_t m = 0; m < kM; ++m) {
        const double wqv = std::min(127.0, std::max(-128.0, static_cast<double>(std::nearbyint(t.gemm_w[k * kM + m] / t.gemm_w_scale))));
        acc += wqv * t.gemm_w_scale * pooled[m];
      }
      t.reference[n * kK + k] = (q_u8(acc, kS3, kZ3) - kZ3) * kS3;
    }
  }
  return t;
}

struct Result {
  ir::Graph g;
  ConvertReport report;
  std::vector<float> out;
};

Result convert_and_run(Qdq t) {
  Result r;
  ConvertOptions options;
  Status st = converter::optimize(t.g, options, &r.report);
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok()) return r;
  r.g = t.g;
  auto bytes = write_pocket(t.g, options);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  if (!bytes.ok()) return r;
  auto model = Model::load_buffer(bytes.value().data(), bytes.value().size());
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return r;
  auto session = Session::create(model.value(), {});
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return r;
  Session& s = *session.value();
  st = s.set_input("x", DType::F32, {kN, kC, kH, kW}, t.x.data());
  EXPECT_TRUE(st.ok()) << st.message();
  s.run();
  const Value& v = s.output(0);
  r.out.assign(v.as<float>(), v.as<float>() + v.elements());
  return r;
}

const ir::Node* find_op(const ir::Graph& g, const std::string& op) {
  for (const auto& n : g.nodes)
    if (n.op == op) return &n;
  return nullptr;
}

int count_op(const ir::Graph& g, const std::string& op) {
  int c = 0;
  for (const auto& n : g.nodes) c += n.op == op;
  return c;
}

TEST(ConverterQdq, Int8FormsAndOutputsWithinOneStep) {
  Qdq t = build();
  const std::vector<double> want = t.reference;
  Result r = convert_and_run(std::move(t));
  const ir::Graph& g = r.g;
  // Structure: int8 Conv (+Relu), GAP, Gemm; one Q at the input, one DQ at the output.
  EXPECT_EQ(count_op(g, "QuantizeLinear"), 1);
  EXPECT_EQ(count_op(g, "DequantizeLinear"), 1);
  EXPECT_EQ(count_op(g, "Relu"), 0);
  const ir::Node* conv = find_op(g, "Conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->i("activation", 0), static_cast<int64_t>(fb::ActivationKind::Relu));
  const ir::Value* cx = g.find(conv->inputs[0]);
  const ir::Value* cw = g.find(conv->inputs[1]);
  const ir::Value* cb = g.find(conv->inputs[2]);
  const ir::Value* cy = g.find(conv->outputs[0]);
  ASSERT_TRUE(cx && cw && cb && cy);
  EXPECT_EQ(cx->dtype, ir::DType::I8);
  ASSERT_TRUE(cx->has_quant);
  EXPECT_EQ(cx->quant.axis, -1);
  EXPECT_FLOAT_EQ(cx->quant.scales[0], kSx);
  EXPECT_EQ(cx->quant.zero_points[0], kZx - 128);  // uint8 -> int8
  EXPECT_EQ(cw->dtype, ir::DType::I8);
  ASSERT_TRUE(cw->has_quant);
  EXPECT_EQ(cw->quant.axis, 0);
  EXPECT_EQ(cw->quant.scales.size(), static_cast<size_t>(kM));
  EXPECT_EQ(cb->dtype, ir::DType::F32);
  EXPECT_EQ(cy->dtype, ir::DType::I8);
  EXPECT_EQ(cy->quant.zero_points[0], -128);
  const ir::Node* gap = find_op(g, "GlobalAveragePool");
  ASSERT_NE(gap, nullptr);
  EXPECT_EQ(g.find(gap->inputs[0])->dtype, ir::DType::I8);
  EXPECT_EQ(g.find(gap->outputs[0])->dtype, ir::DType::I8);
  const ir::Node* gemm = find_op(g, "Gemm");
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(g.find(gemm->inputs[0])->dtype, ir::DType::I8);
  const ir::Value* gw = g.find(gemm->inputs[1]);
  ASSERT_TRUE(gw && gw->has_quant);
  EXPECT_EQ(gw->dtype, ir::DType::I8);
  EXPECT_EQ(gw->quant.axis, -1);
  for (const auto& n : g.nodes)
    if (n.op == "QuantizeLinear" || n.op == "DequantizeLinear") EXPECT_EQ(n.inputs.size(), 1u) << n.name;
  bool noted = false;
  for (const auto& n : r.report.notes)
    noted = noted || (n.find("fold_qdq: 4 op(s) made int8 (Conv x1, Flatten x1, Gemm x1, GlobalAveragePool x1)") !=
                      std::string::npos);
  EXPECT_TRUE(noted);

  ASSERT_EQ(r.out.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(r.out[i], want[i], 1.01 * kS3) << "at " << i;
}

TEST(ConverterQdq, AsymmetricWeightStaysFloat) {
  Qdq t = build(/*weight_zero_point=*/3);
  const std::vector<double> want = t.reference;
  Result r = convert_and_run(std::move(t));
  const ir::Node* conv = find_op(r.g, "Conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(r.g.find(conv->inputs[0])->dtype, ir::DType::F32);
  EXPECT_EQ(r.g.find(conv->inputs[1])->dtype, ir::DType::F32);
  bool noted = false;
  for (const auto& n : r.report.notes) noted = noted || n.find("1 weight(s) dequantized to float") != std::string::npos;
  EXPECT_TRUE(noted);
  ASSERT_EQ(r.out.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(r.out[i], want[i], 1.01 * kS3) << "at " << i;
}

TEST(ConverterQdq, NonConstantScaleIsAClearError) {
  Qdq t = build();
  ir::Value& s = t.g.value("s_in");
  s.name = "s_in";
  s.shape = {};
  s.shape_known = true;
  t.g.inputs.push_back("s_in");
  for (auto& n : t.g.nodes)
    if (n.name == "rq_node") n.inputs[1] = "s_in";
  ConvertOptions options;
  ConvertReport report;
  Status st = converter::optimize(t.g, options, &report);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("rq_node"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("scale"), std::string::npos) << st.message();
}

TEST(ConverterQdq, PerAxisActivationQuantizationIsRejected) {
  Qdq t = build();
  for (auto& n : t.g.nodes)
    if (n.name == "rq_node") {
      n.inputs[1] = add<float>(t.g, "rq_axis_s", ir::DType::F32, {kM}, std::vector<float>(kM, kS1));
      n.inputs[2] = add<uint8_t>(t.g, "rq_axis_z", ir::DType::U8, {kM}, std::vector<uint8_t>(kM, 0));
      n.set_i("axis", 1);
    }
  ConvertOptions options;
  ConvertReport report;
  Status st = converter::optimize(t.g, options, &report);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("per-axis"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace pocket::converter
