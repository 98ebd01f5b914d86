// fuse_squeeze_excite through the whole converter pipeline: an NCHW squeeze-excite block built in
// the IR (as an ONNX import gives it) is optimised, must come out as one SqueezeExcite node, and
// the .pocket file must compute what the same graph converted without optimisation computes (the
// separate GlobalAveragePool, Conv, activation and Mul ops). Variants that must not fuse: an extra
// reader of the FC1 output, the gate as a graph output, a Mul whose other operand is not the
// pooled tensor.
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
  uint32_t seed = 1;

  Builder() { g.opset = 13; }
  void input(const std::string& name, Shape shape) {
    ir::Value& v = g.value(name);
    v.name = name;
    v.shape = std::move(shape);
    v.shape_known = true;
    g.inputs.push_back(name);
  }
  std::string constant(const std::string& name, const Shape& shape, float lo = -0.5f, float hi = 0.5f) {
    std::vector<float> data = randoms(count(shape), seed++, lo, hi);
    std::vector<uint8_t> bytes(data.size() * 4);
    std::memcpy(bytes.data(), data.data(), bytes.size());
    return g.add_constant(name, fb::DType::F32, shape, std::move(bytes));
  }
  ir::Node& node(const std::string& op, std::vector<std::string> inputs, const std::string& out) {
    ir::Node n;
    n.op = op;
    n.name = out + "_node";
    n.inputs = std::move(inputs);
    n.outputs = {out};
    g.nodes.push_back(std::move(n));
    return g.nodes.back();
  }
  ir::Node& conv(const std::string& x, const std::string& out, int64_t c, int64_t m, int64_t k, bool bias = true) {
    std::vector<std::string> in = {x, constant(out + "_w", {m, c, k, k})};
    if (bias) in.push_back(constant(out + "_b", {m}));
    ir::Node& n = node("Conv", in, out);
    const int64_t p = k / 2;
    n.set_ints("pads", {p, p, p, p});
    n.set_ints("kernel_shape", {k, k});
    return n;
  }
};

struct Options {
  int64_t n = 1, c = 24, c1 = 6, h = 7, w = 5;
  bool efficientnet = false;    // SiLU / Sigmoid instead of Relu / HardSigmoid
  bool fc1_bias = true;
  bool gate_first = false;      // Mul(gate, x) instead of Mul(x, gate)
  bool extra_fc1_reader = false;
  bool gate_is_output = false;
  bool mul_other_tensor = false;
};

// x [N,3,H,W] -> Conv 3x3 -> a -> SE(a) -> Conv 1x1 -> out (plus side outputs of the variants).
Builder se_block(const Options& o) {
  Builder b;
  b.input("x", {o.n, 3, o.h, o.w});
  b.conv("x", "a", 3, o.c, 3);
  std::string other = "a";
  if (o.mul_other_tensor) {
    b.conv("x", "a2", 3, o.c, 3);
    other = "a2";
  }
  b.node("GlobalAveragePool", {"a"}, "s0");
  b.conv("s0", "fc1", o.c, o.c1, 1, o.fc1_bias);
  b.node(o.efficientnet ? "SiLU" : "Relu", {"fc1"}, "s1");
  b.conv("s1", "fc2", o.c1, o.c, 1);
  ir::Node& gate = b.node(o.efficientnet ? "Sigmoid" : "HardSigmoid", {"fc2"}, "s2");
  if (!o.efficientnet) {
    gate.set_f("alpha", 1.f / 6.f);
    gate.set_f("beta", 0.5f);
  }
  if (o.gate_first) b.node("Mul", {"s2", other}, "m");
  else b.node("Mul", {other, "s2"}, "m");
  b.conv("m", "out", o.c, 4, 1);
  b.g.outputs.push_back("out");
  if (o.extra_fc1_reader) {
    b.conv("s1", "side", o.c1, 3, 1);
    b.g.outputs.push_back("side");
  }
  if (o.gate_is_output) b.g.outputs.push_back("s2");
  return b;
}

int op_count(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op == op;
  return n;
}

// Converts (optimised or not) and runs the engine on a fixed input; every output, flattened.
std::vector<std::vector<float>> convert_and_run(const Options& o, bool optimize, ir::Graph* converted) {
  Builder b = se_block(o);
  ConvertOptions options;
  options.optimize = optimize;
  ConvertReport report;
  Status st = converter::optimize(b.g, options, &report);
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok()) return {};
  auto bytes = write_pocket(b.g, options);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  if (!bytes.ok()) return {};
  if (converted) *converted = b.g;
  auto model = Model::load_buffer(bytes.value().data(), bytes.value().size());
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return {};
  auto session = Session::create(model.value(), {});
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return {};
  Session& s = *session.value();
  const std::vector<float> x = randoms(o.n * 3 * o.h * o.w, 99, -2.f, 2.f);
  st = s.set_input("x", DType::F32, {o.n, 3, o.h, o.w}, x.data());
  EXPECT_TRUE(st.ok()) << st.message();
  s.run();
  std::vector<std::vector<float>> outs;
  for (size_t k = 0; k < s.num_outputs(); ++k) {
    const Value& v = s.output(k);
    outs.emplace_back(v.as<float>(), v.as<float>() + v.elements());
  }
  return outs;
}

void expect_same(const std::vector<std::vector<float>>& got, const std::vector<std::vector<float>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    ASSERT_EQ(got[k].size(), want[k].size()) << "output " << k;
    float scale = 1.f;
    for (float v : want[k]) scale = std::max(scale, std::abs(v));
    for (size_t i = 0; i < want[k].size(); ++i)
      ASSERT_NEAR(got[k][i], want[k][i], 1e-5f * scale) << "output " << k << " at " << i;
  }
}

void expect_fused(const Options& o) {
  ir::Graph fused;
  const auto got = convert_and_run(o, true, &fused);
  EXPECT_EQ(op_count(fused, "SqueezeExcite"), 1);
  EXPECT_EQ(op_count(fused, "GlobalAveragePool"), 0);
  EXPECT_EQ(op_count(fused, "Mul"), 0);
  EXPECT_EQ(op_count(fused, "Conv"), 2);  // the 3x3 before and the 1x1 after
  for (const auto& n : fused.nodes)
    if (n.op == "SqueezeExcite") {
      EXPECT_EQ(n.inputs.size(), 5u);
      EXPECT_EQ(n.inputs[2].empty(), !o.fc1_bias);
      const auto act = o.efficientnet ? fb::ActivationKind::SiLU : fb::ActivationKind::Relu;
      const auto gate = o.efficientnet ? fb::ActivationKind::Sigmoid : fb::ActivationKind::HardSigmoid;
      EXPECT_EQ(n.i("activation", -1), static_cast<int64_t>(act));
      EXPECT_EQ(n.i("gate", -1), static_cast<int64_t>(gate));
      if (!o.efficientnet) {
        EXPECT_FLOAT_EQ(n.f("gate_alpha", 0.f), 1.f / 6.f);
        EXPECT_FLOAT_EQ(n.f("gate_beta", 0.f), 0.5f);
      }
      // Its output keeps the Mul's shape (channels-last), its intermediates are gone.
      const ir::Value* y = fused.find(n.outputs[0]);
      ASSERT_TRUE(y && y->shape_known);
      EXPECT_EQ(y->shape, (Shape{o.n, o.h, o.w, o.c}));
      EXPECT_EQ(fused.find("s0"), nullptr);
    }
  const auto want = convert_and_run(o, false, nullptr);
  expect_same(got, want);
}

void expect_not_fused(const Options& o) {
  ir::Graph g;
  const auto got = convert_and_run(o, true, &g);
  EXPECT_EQ(op_count(g, "SqueezeExcite"), 0);
  EXPECT_EQ(op_count(g, "GlobalAveragePool"), 1);
  EXPECT_EQ(op_count(g, "Mul"), 1);
  const auto want = convert_and_run(o, false, nullptr);
  expect_same(got, want);
}

TEST(ConverterSqueezeExcite, MobileNetV3BlockFusesAndComputesTheSame) {
  Options o;
  expect_fused(o);
  o.n = 2;
  o.c = 19;
  o.c1 = 5;
  o.gate_first = true;
  expect_fused(o);
}

TEST(ConverterSqueezeExcite, EfficientNetBlockWithoutFc1BiasFuses) {
  Options o;
  o.efficientnet = true;
  o.fc1_bias = false;
  o.n = 2;
  o.c = 13;
  o.c1 = 4;
  expect_fused(o);
}

TEST(ConverterSqueezeExcite, ExtraReaderOfFc1OutputBlocksTheFusion) {
  Options o;
  o.extra_fc1_reader = true;
  expect_not_fused(o);
}

TEST(ConverterSqueezeExcite, GateAsGraphOutputBlocksTheFusion) {
  Options o;
  o.gate_is_output = true;
  expect_not_fused(o);
}

TEST(ConverterSqueezeExcite, MulOfAnotherTensorIsNotFused) {
  Options o;
  o.mul_other_tensor = true;
  expect_not_fused(o);
}

}  // namespace
}  // namespace pocket::converter
