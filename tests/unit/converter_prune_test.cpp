// prune_channels through the whole converter pipeline: small NCHW graphs built in the IR (as an
// ONNX import gives them) with output channels whose weights and bias are exactly zero. Each graph
// is converted with and without pruning; the pruned one must have the zero channels gone from the
// producer and every consumer (shapes checked), fewer parameters, and compute the same outputs in
// the engine. Channels the pass cannot remove exactly stay, with a note naming what stopped them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
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
  Shape input_shape;

  Builder() { g.opset = 13; }
  void input(const std::string& name, Shape shape) {
    ir::Value& v = g.value(name);
    v.name = name;
    v.shape = shape;
    v.shape_known = true;
    g.inputs.push_back(name);
    input_shape = shape;
  }
  // A random constant with the given rows (axis 0) zeroed.
  std::string constant(const std::string& name, const Shape& shape, const std::set<int64_t>& zero_rows = {},
                       float lo = -0.5f, float hi = 0.5f) {
    std::vector<float> data = randoms(count(shape), seed++, lo, hi);
    const int64_t row = count(shape) / shape[0];
    for (int64_t r : zero_rows) std::fill(data.begin() + r * row, data.begin() + (r + 1) * row, 0.f);
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
  // Conv with output channels `zero` zeroed in weights and bias (bias_zero: also in the bias).
  ir::Node& conv(const std::string& x, const std::string& out, int64_t c, int64_t m, int64_t k,
                 const std::set<int64_t>& zero = {}, int64_t group = 1, bool bias_zero = true) {
    std::vector<std::string> in = {x, constant(out + "_w", {m, c / group, k, k}, zero)};
    in.push_back(constant(out + "_b", {m}, bias_zero ? zero : std::set<int64_t>{}));
    ir::Node& n = node("Conv", in, out);
    const int64_t p = k / 2;
    n.set_ints("pads", {p, p, p, p});
    n.set_ints("kernel_shape", {k, k});
    if (group != 1) n.set_i("group", group);
    return n;
  }
  // Gemm with transB (weight [m, k]) and rows `zero` zeroed.
  ir::Node& gemm(const std::string& x, const std::string& out, int64_t k, int64_t m, const std::set<int64_t>& zero = {}) {
    ir::Node& n = node("Gemm", {x, constant(out + "_w", {m, k}, zero), constant(out + "_b", {m}, zero)}, out);
    n.set_i("transB", 1);
    return n;
  }
};

struct Converted {
  ir::Graph g;
  ConvertReport report;
  std::vector<std::vector<float>> outputs;
};

Converted convert_and_run(Builder b, bool prune) {
  Converted r;
  ConvertOptions options;
  options.prune = prune;
  Status st = converter::optimize(b.g, options, &r.report);
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok()) return r;
  auto bytes = write_pocket(b.g, options);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  if (!bytes.ok()) return r;
  r.g = b.g;
  auto model = Model::load_buffer(bytes.value().data(), bytes.value().size());
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return r;
  auto session = Session::create(model.value(), {});
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return r;
  Session& s = *session.value();
  const std::vector<float> x = randoms(count(b.input_shape), 99, -2.f, 2.f);
  st = s.set_input("x", DType::F32, b.input_shape, x.data());
  EXPECT_TRUE(st.ok()) << st.message();
  s.run();
  for (size_t k = 0; k < s.num_outputs(); ++k) {
    const Value& v = s.output(k);
    r.outputs.emplace_back(v.as<float>(), v.as<float>() + v.elements());
  }
  return r;
}

void expect_same(const std::vector<std::vector<float>>& got, const std::vector<std::vector<float>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    ASSERT_EQ(got[k].size(), want[k].size()) << "output " << k;
    float scale = 1.f;
    for (float v : want[k]) scale = std::max(scale, std::abs(v));
    for (size_t i = 0; i < want[k].size(); ++i)
      ASSERT_NEAR(got[k][i], want[k][i], 2e-5f * scale) << "output " << k << " at " << i;
  }
}

// The node producing `out` (by its name, "<out>_node"), after the passes.
const ir::Node* node_named(const ir::Graph& g, const std::string& name) {
  for (const auto& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

Shape input_shape(const ir::Graph& g, const std::string& node, size_t k) {
  const ir::Node* n = node_named(g, node);
  EXPECT_NE(n, nullptr) << node;
  if (!n || n->inputs.size() <= k) return {};
  const ir::Value* v = g.find(n->inputs[k]);
  return v ? v->shape : Shape{};
}

bool has_note(const ConvertReport& r, const std::string& a, const std::string& b) {
  for (const auto& n : r.notes)
    if (n.find("prune_channels") != std::string::npos && n.find(a) != std::string::npos &&
        n.find(b) != std::string::npos)
      return true;
  return false;
}

// Both conversions, the outputs compared; returns the pruned one.
Converted pruned_same(const Builder& b) {
  Converted with = convert_and_run(b, true);
  Converted without = convert_and_run(b, false);
  expect_same(with.outputs, without.outputs);
  EXPECT_EQ(without.report.pruned_channels, 0);
  return with;
}

TEST(ConverterPrune, ConvChainDropsZeroRowsAndConsumerColumns) {
  Builder b;
  b.input("x", {1, 3, 9, 7});
  b.conv("x", "a", 3, 8, 3, {1, 4, 6});
  b.node("Relu", {"a"}, "r");
  b.conv("r", "out", 8, 5, 1);
  b.g.outputs.push_back("out");
  Converted c = pruned_same(b);
  EXPECT_EQ(c.report.pruned_channels, 3);
  EXPECT_EQ(input_shape(c.g, "a_node", 1), (Shape{5, 3, 3, 3}));
  EXPECT_EQ(input_shape(c.g, "a_node", 2), (Shape{5}));
  EXPECT_EQ(input_shape(c.g, "out_node", 1), (Shape{5, 5, 1, 1}));
  // 8*27 + 8 + 5*8 + 5 = 269 -> 5*27 + 5 + 5*5 + 5 = 170
  EXPECT_EQ(c.report.params_before, 269);
  EXPECT_EQ(c.report.params_after, 170);
}

// An inverted-residual block: expand 1x1 -> depthwise 3x3 (some channels zero) -> SE -> project,
// added to the stem output, then GAP -> Flatten -> Gemm (some rows zero) -> Gemm.
Builder mobile_block() {
  Builder b;
  b.input("x", {2, 3, 8, 8});
  b.conv("x", "stem", 3, 8, 3).set_i("activation", 0);
  b.node("Relu", {"stem"}, "s");
  b.conv("s", "exp", 8, 16, 1);
  b.node("Relu", {"exp"}, "e");
  b.conv("e", "dw", 16, 16, 3, {0, 5, 6, 15}, 16);
  b.node("HardSwish", {"dw"}, "d");
  b.node("GlobalAveragePool", {"d"}, "se0");
  b.conv("se0", "fc1", 16, 4, 1);
  b.node("Relu", {"fc1"}, "se1");
  b.conv("se1", "fc2", 4, 16, 1);
  ir::Node& hs = b.node("HardSigmoid", {"fc2"}, "se2");
  hs.set_f("alpha", 1.f / 6.f);
  hs.set_f("beta", 0.5f);
  b.node("Mul", {"d", "se2"}, "m");
  b.conv("m", "proj", 16, 8, 1);
  b.node("Add", {"proj", "s"}, "res");
  b.conv("res", "last", 8, 12, 1, {2, 3});
  b.node("HardSwish", {"last"}, "l");
  b.node("GlobalAveragePool", {"l"}, "pool");
  ir::Node& f = b.node("Flatten", {"pool"}, "flat");
  f.set_i("axis", 1);
  b.gemm("flat", "fc", 12, 10, {0, 9});
  b.node("Relu", {"fc"}, "h");
  b.gemm("h", "out", 10, 5);
  b.g.outputs.push_back("out");
  return b;
}

TEST(ConverterPrune, InvertedResidualWithSqueezeExcite) {
  Converted c = pruned_same(mobile_block());
  // 4 depthwise channels (dead in the expand conv too), 2 of "last", 2 of "fc".
  EXPECT_EQ(c.report.pruned_channels, 4 + 2 + 2);
  EXPECT_LT(c.report.params_after, c.report.params_before);
  EXPECT_EQ(input_shape(c.g, "exp_node", 1), (Shape{12, 8, 1, 1}));
  EXPECT_EQ(input_shape(c.g, "dw_node", 1), (Shape{12, 1, 3, 3}));
  EXPECT_EQ(node_named(c.g, "dw_node")->i("group", 0), 12);
  EXPECT_EQ(input_shape(c.g, "proj_node", 1), (Shape{8, 12, 1, 1}));
  EXPECT_EQ(input_shape(c.g, "out_node", 1), (Shape{5, 8}));
  // The residual stream keeps its 8 channels: the stem's are not zero.
  EXPECT_EQ(input_shape(c.g, "stem_node", 1), (Shape{8, 3, 3, 3}));
}

TEST(ConverterPrune, ConcatOffsets) {
  Builder b;
  b.input("x", {1, 4, 6, 6});
  b.conv("x", "a", 4, 6, 3, {0, 5});
  b.node("Relu", {"a"}, "ra");
  b.conv("x", "c", 4, 5, 1, {2});
  b.node("Relu", {"c"}, "rc");
  ir::Node& cat = b.node("Concat", {"ra", "rc"}, "cat");
  cat.set_i("axis", 1);
  b.node("MaxPool", {"cat"}, "mp").set_ints("kernel_shape", {2, 2});
  b.conv("mp", "out", 11, 3, 1);
  b.g.outputs.push_back("out");
  Converted c = pruned_same(b);
  EXPECT_EQ(c.report.pruned_channels, 3);
  EXPECT_EQ(input_shape(c.g, "out_node", 1), (Shape{3, 8, 1, 1}));
}

TEST(ConverterPrune, UnfollowableConsumersKeepTheChannelWithANote) {
  Builder b;
  b.input("x", {1, 3, 5, 5});
  b.conv("x", "a", 3, 6, 3, {1, 2});
  b.node("Relu", {"a"}, "r");
  ir::Node& t = b.node("Transpose", {"r"}, "t");
  t.set_ints("perm", {0, 2, 3, 1});
  b.g.outputs.push_back("t");
  Converted c = pruned_same(b);
  EXPECT_EQ(c.report.pruned_channels, 0);
  EXPECT_EQ(c.report.params_after, c.report.params_before);
  EXPECT_TRUE(has_note(c.report, "'a_node'", "t_node")) << "no note names the Transpose";
}

TEST(ConverterPrune, NonzeroActivationOfZeroRowsIsKept) {
  // Zero weights but a nonzero bias: the channel is a constant, not zero.
  Builder b;
  b.input("x", {1, 3, 5, 5});
  b.conv("x", "a", 3, 6, 3, {1, 2}, 1, /*bias_zero=*/false);
  b.node("Relu", {"a"}, "r");
  b.conv("r", "out", 6, 2, 1);
  b.g.outputs.push_back("out");
  Converted c = pruned_same(b);
  EXPECT_EQ(c.report.pruned_channels, 0);
  EXPECT_TRUE(has_note(c.report, "'a_node'", "nonzero"));

  // Sigmoid(0) = 0.5: zero weights and bias still give a nonzero channel.
  Builder s;
  s.input("x", {1, 3, 5, 5});
  s.conv("x", "a", 3, 6, 3, {1, 2});
  s.node("Sigmoid", {"a"}, "r");
  s.conv("r", "out", 6, 2, 1);
  s.g.outputs.push_back("out");
  Converted cs = pruned_same(s);
  EXPECT_EQ(cs.report.pruned_channels, 0);
}

TEST(ConverterPrune, ResidualChannelZeroOnBothSidesOnly) {
  // out = Conv(x) + Conv(y): channel 1 is zero in both addends, channel 3 in one only.
  Builder b;
  b.input("x", {1, 4, 5, 5});
  b.conv("x", "a", 4, 6, 3, {1, 3});
  b.node("Relu", {"a"}, "ra");
  b.conv("ra", "p", 6, 6, 1, {1});
  b.node("Add", {"p", "ra"}, "sum");
  b.conv("sum", "out", 6, 2, 1);
  b.g.outputs.push_back("out");
  Converted c = pruned_same(b);
  EXPECT_EQ(input_shape(c.g, "out_node", 1), (Shape{2, 5, 1, 1}));
  EXPECT_EQ(input_shape(c.g, "a_node", 1), (Shape{5, 4, 3, 3}));
}

}  // namespace
}  // namespace pocket::converter
