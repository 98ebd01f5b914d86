// The transformer passes (rewrite_einsum, fuse_layernorm, fuse_gelu, fuse_attention,
// fuse_matmul_bias, and MatMul residual / Gelu activation fusion) on small IR graphs built the way
// the ONNX importer gives PyTorch 1.13's opset-14 exports: each pattern and its variants must
// become the fused op with the right attributes, and variants that must not fuse (an extra reader,
// a wrong axis) stay as they are. Where the engine runs both forms, the optimised .pocket file
// must compute what the unoptimised one computes. The DistilBERT / Whisper fixtures in
// /work/fixtures4 (when present) are converted and their op counts checked.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "converter/ir/graph.h"
#include "converter/passes/passes.h"
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
  int counter = 0;

  Builder() { g.opset = 14; }
  void input(const std::string& name, Shape shape, fb::DType dt = fb::DType::F32, std::vector<std::string> names = {}) {
    ir::Value& v = g.value(name);
    v.name = name;
    v.dtype = dt;
    v.shape = std::move(shape);
    v.dim_names = std::move(names);
    v.shape_known = true;
    g.inputs.push_back(name);
  }
  std::string weights(const Shape& shape, float lo = -0.5f, float hi = 0.5f) {
    std::vector<float> data = randoms(count(shape), seed++, lo, hi);
    std::vector<uint8_t> bytes(data.size() * 4);
    std::memcpy(bytes.data(), data.data(), bytes.size());
    return g.add_constant("w" + std::to_string(counter++), fb::DType::F32, shape, std::move(bytes));
  }
  std::string scalar(float f) {
    std::vector<uint8_t> bytes(4);
    std::memcpy(bytes.data(), &f, 4);
    return g.add_constant("c" + std::to_string(counter++), fb::DType::F32, {}, std::move(bytes));
  }
  std::string ints(const Shape& v) {
    std::vector<uint8_t> bytes(v.size() * 8);
    std::memcpy(bytes.data(), v.data(), bytes.size());
    return g.add_constant("i" + std::to_string(counter++), fb::DType::I64, {static_cast<int64_t>(v.size())},
                          std::move(bytes));
  }
  // Adds a node; returns its output name (fresh unless given).
  std::string op(const std::string& type, std::vector<std::string> inputs, const std::string& out = "") {
    ir::Node n;
    n.op = type;
    n.outputs = {out.empty() ? "t" + std::to_string(counter++) : out};
    n.name = n.outputs[0] + "_node";
    n.inputs = std::move(inputs);
    g.nodes.push_back(std::move(n));
    return g.nodes.back().outputs[0];
  }
  ir::Node& last() { return g.nodes.back(); }
  void output(const std::string& v) { g.outputs.push_back(v); }
  Status shapes() { return infer_shapes(g); }
};

int op_count(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op == op;
  return n;
}

const ir::Node* find_op(const ir::Graph& g, const std::string& op) {
  for (const auto& n : g.nodes)
    if (n.op == op) return &n;
  return nullptr;
}

// Runs the converter's optimize() (optimised or not), writes the file and runs it on `feeds`.
// Returns false (with a message) when the engine cannot run the file, e.g. an op not built yet.
bool run_engine(ir::Graph g, bool optimize, const std::map<std::string, std::vector<float>>& feeds,
                std::vector<std::vector<float>>* outs, std::string* why) {
  ConvertOptions options;
  options.optimize = optimize;
  ConvertReport report;
  Status st = converter::optimize(g, options, &report);
  if (!st.ok()) return *why = "optimize: " + st.message(), false;
  auto bytes = write_pocket(g, options);
  if (!bytes.ok()) return *why = "write: " + bytes.status().message(), false;
  auto model = Model::load_buffer(bytes.value().data(), bytes.value().size());
  if (!model.ok()) return *why = "load: " + model.status().message(), false;
  auto session = Session::create(model.value(), {});
  if (!session.ok()) return *why = "session: " + session.status().message(), false;
  Session& s = *session.value();
  for (const auto& [name, data] : feeds) {
    const ir::Value* v = g.find(name);
    if (!v) return *why = "no input " + name, false;
    st = s.set_input(name, DType::F32, v->shape, data.data());
    if (!st.ok()) return *why = "set_input: " + st.message(), false;
  }
  s.run();
  outs->clear();
  for (size_t k = 0; k < s.num_outputs(); ++k) {
    const Value& v = s.output(k);
    outs->emplace_back(v.as<float>(), v.as<float>() + v.elements());
  }
  return true;
}

// The optimised graph computes what the unoptimised one computes, when the engine has every op.
void expect_same_results(const ir::Graph& g, const std::map<std::string, std::vector<float>>& feeds,
                         float tol = 2e-5f) {
  std::vector<std::vector<float>> fused, plain;
  std::string why;
  if (!run_engine(g, false, feeds, &plain, &why)) {
    std::cout << "[ SKIPPED numerics ] unfused graph does not run here: " << why << "\n";
    return;
  }
  if (!run_engine(g, true, feeds, &fused, &why)) {
    std::cout << "[ SKIPPED numerics ] fused graph does not run here (engine op missing?): " << why << "\n";
    return;
  }
  ASSERT_EQ(fused.size(), plain.size());
  for (size_t k = 0; k < plain.size(); ++k) {
    ASSERT_EQ(fused[k].size(), plain[k].size());
    float scale = 1.f;
    for (float v : plain[k]) scale = std::max(scale, std::abs(v));
    for (size_t i = 0; i < plain[k].size(); ++i)
      ASSERT_NEAR(fused[k][i], plain[k][i], tol * scale) << "output " << k << " at " << i;
  }
}

// ---- LayerNorm / RMSNorm ----------------------------------------------------------------------

struct NormOptions {
  bool mul_square = false;  // Mul(d, d) instead of Pow(d, 2)
  bool gamma = true, beta = true;
  bool gamma_first = false;  // Mul(gamma, n)
  Shape axes = {-1};
  bool d_is_output = false;
};

// x [2, 3, 8] -> LayerNorm decomposition -> y
Builder layernorm(const NormOptions& o) {
  Builder b;
  b.input("x", {2, 3, 8});
  std::string m = b.op("ReduceMean", {"x"});
  b.last().set_ints("axes", o.axes);
  std::string d = b.op("Sub", {"x", m}, "d");
  std::string p = o.mul_square ? b.op("Mul", {d, d}) : b.op("Pow", {d, b.scalar(2.f)});
  std::string v = b.op("ReduceMean", {p});
  b.last().set_ints("axes", o.axes);
  std::string s = b.op("Sqrt", {b.op("Add", {v, b.scalar(1e-5f)})});
  std::string y = b.op("Div", {d, s});
  if (o.gamma) {
    std::string gamma = b.weights({8}, 0.5f, 1.5f);
    y = o.gamma_first ? b.op("Mul", {gamma, y}) : b.op("Mul", {y, gamma});
  }
  if (o.beta) y = b.op("Add", {y, b.weights({8})});
  b.op("Relu", {y}, "y");
  b.output("y");
  if (o.d_is_output) b.output("d");
  EXPECT_TRUE(b.shapes().ok());
  return b;
}

TEST(ConverterTransformer, LayerNormDecompositionFuses) {
  for (bool mul_square : {false, true})
    for (bool gamma_first : {false, true}) {
      NormOptions o;
      o.mul_square = mul_square;
      o.gamma_first = gamma_first;
      Builder b = layernorm(o);
      ir::Graph g = b.g;
      std::vector<std::string> notes;
      ASSERT_TRUE(fuse_layernorm(g, &notes).ok());
      EXPECT_EQ(g.nodes.size(), 2u) << "LayerNormalization + Relu";
      const ir::Node* ln = find_op(g, "LayerNormalization");
      ASSERT_NE(ln, nullptr);
      EXPECT_EQ(ln->inputs.size(), 3u);
      EXPECT_EQ(ln->inputs[0], "x");
      EXPECT_EQ(ln->i("axis", 0), -1);
      EXPECT_FLOAT_EQ(ln->f("epsilon", 0.f), 1e-5f);
      ASSERT_EQ(notes.size(), 1u);
      EXPECT_NE(notes[0].find("fused 1 LayerNorm"), std::string::npos);
      expect_same_results(b.g, {{"x", randoms(48, 7, -3.f, 3.f)}}, 1e-4f);
    }
}

TEST(ConverterTransformer, LayerNormWithoutAffineGetsUnitScale) {
  NormOptions o;
  o.gamma = o.beta = false;
  Builder b = layernorm(o);
  ASSERT_TRUE(fuse_layernorm(b.g, nullptr).ok());
  const ir::Node* ln = find_op(b.g, "LayerNormalization");
  ASSERT_NE(ln, nullptr);
  ASSERT_EQ(ln->inputs.size(), 2u);
  const ir::Value* scale = b.g.find(ln->inputs[1]);
  ASSERT_TRUE(scale && scale->is_constant());
  EXPECT_EQ(scale->shape, Shape{8});
  for (int i = 0; i < 8; ++i) EXPECT_EQ(scale->as<float>()[i], 1.f);
}

TEST(ConverterTransformer, LayerNormOverTwoTrailingAxes) {
  NormOptions o;
  o.axes = {-2, -1};
  o.gamma = o.beta = false;
  Builder b = layernorm(o);
  ASSERT_TRUE(fuse_layernorm(b.g, nullptr).ok());
  const ir::Node* ln = find_op(b.g, "LayerNormalization");
  ASSERT_NE(ln, nullptr);
  EXPECT_EQ(ln->i("axis", 0), -2);
  EXPECT_EQ(b.g.find(ln->inputs[1])->shape, (Shape{3, 8}));
}

TEST(ConverterTransformer, LayerNormIsLeftAloneForWrongAxisOrSharedIntermediate) {
  NormOptions wrong_axis;
  wrong_axis.axes = {1};
  Builder b = layernorm(wrong_axis);
  const size_t before = b.g.nodes.size();
  ASSERT_TRUE(fuse_layernorm(b.g, nullptr).ok());
  EXPECT_EQ(op_count(b.g, "LayerNormalization"), 0);
  EXPECT_EQ(op_count(b.g, "RMSNormalization"), 0);
  EXPECT_EQ(b.g.nodes.size(), before);

  // d = x - mean(x) is also a graph output: the mean and the Sub stay; what follows is an RMSNorm
  // of d, and may become one.
  NormOptions shared;
  shared.d_is_output = true;
  Builder c = layernorm(shared);
  ir::Graph g = c.g;
  ASSERT_TRUE(fuse_layernorm(g, nullptr).ok());
  EXPECT_EQ(op_count(g, "LayerNormalization"), 0);
  EXPECT_EQ(op_count(g, "Sub"), 1);
  EXPECT_NE(g.find("d"), nullptr);
  expect_same_results(c.g, {{"x", randoms(48, 9, -3.f, 3.f)}}, 1e-4f);
}

TEST(ConverterTransformer, RmsNormForms) {
  for (int form = 0; form < 3; ++form) {
    Builder b;
    b.input("x", {2, 4, 16});
    std::string p = form == 1 ? b.op("Mul", {"x", "x"}) : b.op("Pow", {"x", b.scalar(2.f)});
    std::string v = b.op("ReduceMean", {p});
    b.last().set_ints("axes", {-1});
    std::string s = b.op("Sqrt", {b.op("Add", {b.scalar(1e-6f), v})});
    std::string y;
    if (form == 0) y = b.op("Div", {"x", s});
    else if (form == 1) y = b.op("Mul", {"x", b.op("Reciprocal", {s})});
    else y = b.op("Mul", {b.op("Div", {b.scalar(1.f), s}), "x"});
    b.op("Mul", {y, b.weights({16})}, "y");
    b.output("y");
    ASSERT_TRUE(b.shapes().ok());
    ir::Graph g = b.g;
    ASSERT_TRUE(fuse_layernorm(g, nullptr).ok());
    ASSERT_EQ(g.nodes.size(), 1u) << "form " << form;
    EXPECT_EQ(g.nodes[0].op, "RMSNormalization");
    EXPECT_FLOAT_EQ(g.nodes[0].f("epsilon", 0.f), 1e-6f);
    EXPECT_EQ(g.nodes[0].outputs[0], "y");
    expect_same_results(b.g, {{"x", randoms(128, 3, -2.f, 2.f)}}, 1e-4f);
  }
}

// ---- GELU ------------------------------------------------------------------------------------

// x = MatMul(in, W) + bias -> GELU -> y
Builder gelu(int form, bool tanh_form, bool extra_reader = false) {
  Builder b;
  b.input("in", {3, 8});
  std::string x = b.op("MatMul", {"in", b.weights({8, 12})});
  std::string e1;
  if (!tanh_form) {
    std::string u = form % 2 ? b.op("Mul", {x, b.scalar(0.70710678f)}) : b.op("Div", {x, b.scalar(1.41421356f)});
    std::string e = b.op("Erf", {u});
    e1 = form % 2 ? b.op("Add", {b.scalar(1.f), e}) : b.op("Add", {e, b.scalar(1.f)});
    if (extra_reader) b.output(e);
  } else {
    std::string cube = form % 2 ? b.op("Mul", {x, b.op("Mul", {x, x})}) : b.op("Pow", {x, b.scalar(3.f)});
    std::string inner = b.op("Add", {x, b.op("Mul", {b.scalar(0.044715f), cube})});
    std::string t = b.op("Tanh", {b.op("Mul", {inner, b.scalar(0.7978845608f)})});
    e1 = b.op("Add", {t, b.scalar(1.f)});
  }
  if (form / 2 == 0) b.op("Mul", {b.op("Mul", {x, e1}), b.scalar(0.5f)}, "y");
  else if (form / 2 == 1) b.op("Mul", {b.op("Mul", {b.scalar(0.5f), x}), e1}, "y");
  else b.op("Mul", {x, b.op("Mul", {e1, b.scalar(0.5f)})}, "y");
  b.output("y");
  EXPECT_TRUE(b.shapes().ok());
  return b;
}

TEST(ConverterTransformer, GeluFormsFuseAndJoinTheMatMul) {
  for (bool tanh_form : {false, true})
    for (int form = 0; form < 6; ++form) {
      Builder b = gelu(form, tanh_form);
      ir::Graph g = b.g;
      ASSERT_TRUE(fuse_gelu(g, nullptr).ok());
      ASSERT_EQ(g.nodes.size(), 2u) << "form " << form << " tanh " << tanh_form;
      EXPECT_EQ(g.nodes[1].op, "Gelu");
      EXPECT_EQ(g.nodes[1].s("approximate", ""), tanh_form ? "tanh" : "none");
      EXPECT_EQ(g.nodes[1].outputs[0], "y");
      ASSERT_TRUE(fuse_activations(g, nullptr).ok());
      ASSERT_EQ(g.nodes.size(), 1u);
      EXPECT_EQ(g.nodes[0].op, "MatMul");
      const auto kind = tanh_form ? fb::ActivationKind::GeluTanh : fb::ActivationKind::Gelu;
      EXPECT_EQ(g.nodes[0].i("activation", -1), static_cast<int64_t>(kind));
      if (form == 0) expect_same_results(b.g, {{"in", randoms(24, 5, -2.f, 2.f)}}, 1e-4f);
    }
}

TEST(ConverterTransformer, GeluWithAnExtraReaderIsLeftAlone) {
  Builder b = gelu(0, false, /*extra_reader=*/true);
  const size_t before = b.g.nodes.size();
  ASSERT_TRUE(fuse_gelu(b.g, nullptr).ok());
  EXPECT_EQ(b.g.nodes.size(), before);
  EXPECT_EQ(op_count(b.g, "Gelu"), 0);
}

TEST(ConverterTransformer, StandaloneGeluAfterConvIsNotFusedIntoIt) {
  Builder b;
  b.input("x", {1, 4, 5, 5});
  std::string c = b.op("Conv", {"x", b.weights({4, 4, 1, 1})});
  b.op("Gelu", {c}, "y");
  b.output("y");
  ASSERT_TRUE(b.shapes().ok());
  ASSERT_TRUE(fuse_activations(b.g, nullptr).ok());
  EXPECT_EQ(op_count(b.g, "Gelu"), 1);
}

// ---- MatMul epilogue ------------------------------------------------------------------------

TEST(ConverterTransformer, MatMulBiasResidualAndActivationBecomeOneMatMul) {
  Builder b;
  b.input("x", {-1, 5, 8}, fb::DType::F32, {"batch", "", ""});
  b.input("r", {-1, 5, 6}, fb::DType::F32, {"batch", "", ""});
  std::string mm = b.op("MatMul", {"x", b.weights({8, 6})});
  std::string biased = b.op("Add", {b.weights({6}), mm});
  std::string res = b.op("Add", {"r", biased});
  b.op("Relu", {res}, "y");
  b.output("y");
  ASSERT_TRUE(b.shapes().ok());
  std::vector<std::string> notes;
  ASSERT_TRUE(fuse_matmul_bias(b.g, &notes).ok());
  ASSERT_TRUE(fuse_residual(b.g, &notes).ok());
  ASSERT_TRUE(fuse_activations(b.g, &notes).ok());
  ASSERT_EQ(b.g.nodes.size(), 1u);
  const ir::Node& n = b.g.nodes[0];
  EXPECT_EQ(n.op, "MatMul");
  ASSERT_EQ(n.inputs.size(), 4u);
  EXPECT_EQ(b.g.find(n.inputs[2])->shape, Shape{6});
  EXPECT_EQ(n.inputs[3], "r");
  EXPECT_EQ(n.i("activation", 0), static_cast<int64_t>(fb::ActivationKind::Relu));
  EXPECT_EQ(notes.size(), 3u);
}

TEST(ConverterTransformer, MatMulBiasIsNotFusedForAFullTensorOrASharedOutput) {
  Builder b;
  b.input("x", {4, 8});
  std::string mm = b.op("MatMul", {"x", b.weights({8, 6})});
  b.op("Add", {mm, b.weights({4, 6})}, "y");  // not a per-column bias
  std::string mm2 = b.op("MatMul", {"x", b.weights({8, 6})}, "z");
  b.op("Add", {mm2, b.weights({6})}, "y2");
  b.output("y");
  b.output("y2");
  b.output("z");  // the plain product is a graph output too
  ASSERT_TRUE(b.shapes().ok());
  ASSERT_TRUE(fuse_matmul_bias(b.g, nullptr).ok());
  EXPECT_EQ(op_count(b.g, "Add"), 2);
  (void)mm;
}

// ---- Attention ------------------------------------------------------------------------------

struct AttOptions {
  int64_t batch = 2, sq = 5, sk = 5, heads = 4, d = 8;
  bool dynamic = false;           // batch and seq symbolic, Reshape targets from Shape
  bool where_mask = false;        // DistilBERT: Where(Cast(Expand(Reshape(Equal(mask, 0)), Shape(S))), min, S)
  bool additive_mask = false;     // Whisper decoder: S + mask[sk]
  bool causal_mask = false;       // constant [sq, sk] triangle (dynamic: C[:seq, :seq] of a [16, 16] one)
  bool whisper_scale = false;     // Q' and K'^T each * d^-0.25 (else Q' / sqrt(d))
  bool k_two_transposes = false;  // K'^T = Transpose(0,1,3,2)(Transpose(0,2,1,3)(.))
  bool softmax_is_output = false;
  bool shape_scale = false;       // the factor as Pow(Cast(Div(Gather(Shape(xq), 2), heads)), -0.25)
  int64_t softmax_axis = -1;
};

// The head split of x [B, S, H*D]: Reshape -> Transpose(perm).
std::string split_heads(Builder& b, const std::string& x, const AttOptions& o, int64_t s, const Shape& perm) {
  std::string target;
  if (o.dynamic) {
    std::string shape = b.op("Shape", {x});
    std::string bs = b.op("Gather", {shape, b.ints({0})});
    target = b.op("Concat", {bs, b.ints({-1, o.heads, o.d})});
    b.last().set_i("axis", 0);
  } else {
    target = b.ints({o.batch, s, o.heads, -1});
  }
  std::string r = b.op("Reshape", {x, target});
  std::string t = b.op("Transpose", {r});
  b.last().set_ints("perm", perm);
  return t;
}

Builder attention(const AttOptions& o) {
  Builder b;
  const int64_t hd = o.heads * o.d;
  if (o.dynamic) {
    b.input("xq", {-1, -1, hd}, fb::DType::F32, {"batch", "seq", ""});
    b.input("xk", {-1, -1, hd}, fb::DType::F32, {"batch", "seq", ""});
    b.input("xv", {-1, -1, hd}, fb::DType::F32, {"batch", "seq", ""});
  } else {
    b.input("xq", {o.batch, o.sq, hd});
    b.input("xk", {o.batch, o.sk, hd});
    b.input("xv", {o.batch, o.sk, hd});
  }
  std::string q = split_heads(b, "xq", o, o.sq, {0, 2, 1, 3});
  std::string k = o.k_two_transposes ? split_heads(b, "xk", o, o.sk, {0, 2, 1, 3})
                                     : split_heads(b, "xk", o, o.sk, {0, 2, 3, 1});
  if (o.k_two_transposes) {
    k = b.op("Transpose", {k});
    b.last().set_ints("perm", {0, 1, 3, 2});
  }
  std::string v = split_heads(b, "xv", o, o.sk, {0, 2, 1, 3});
  if (o.whisper_scale) {
    std::string f = b.scalar(std::pow(static_cast<float>(o.d), -0.25f));
    if (o.shape_scale) {
      std::vector<uint8_t> two(8), heads(8);
      const int64_t axis = 2;
      std::memcpy(two.data(), &axis, 8);
      std::memcpy(heads.data(), &o.heads, 8);
      std::string dim = b.op("Gather", {b.op("Shape", {"xq"}), b.g.add_constant("axis2", fb::DType::I64, {}, two)});
      std::string per_head = b.op("Div", {dim, b.g.add_constant("heads", fb::DType::I64, {}, heads)});
      std::string as_float = b.op("Cast", {per_head});
      b.last().set_i("to", static_cast<int64_t>(fb::DType::F32));
      f = b.op("Pow", {as_float, b.scalar(-0.25f)});
    }
    q = b.op("Mul", {q, f});
    k = b.op("Mul", {k, f});
  } else {
    q = b.op("Div", {q, b.scalar(std::sqrt(static_cast<float>(o.d)))});
  }
  std::string s = b.op("MatMul", {q, k});
  if (o.where_mask) {
    if (o.dynamic) b.input("mask", {-1, -1}, fb::DType::F32, {"batch", "seq"});
    else b.input("mask", {o.batch, o.sk});
    std::string eq = b.op("Equal", {"mask", b.scalar(0.f)});
    std::string shape = o.dynamic ? b.op("Concat", {b.op("Gather", {b.op("Shape", {"mask"}), b.ints({0})}),
                                                     b.ints({1, 1}),
                                                     b.op("Gather", {b.op("Shape", {"mask"}), b.ints({1})})})
                                  : b.ints({o.batch, 1, 1, o.sk});
    if (o.dynamic) b.last().set_i("axis", 0);
    std::string r = b.op("Reshape", {eq, shape});
    std::string e = b.op("Expand", {r, b.op("Shape", {s})});
    std::string c = b.op("Cast", {e});
    b.last().set_i("to", static_cast<int64_t>(fb::DType::BOOL));
    s = b.op("Where", {c, b.scalar(-3.4028234663852886e38f), s});
  }
  if (o.additive_mask) {
    b.input("mask", {o.sk});
    s = b.op("Add", {s, "mask"});
  }
  if (o.causal_mask) {
    const int64_t rows = o.dynamic ? 16 : o.sq, cols = o.dynamic ? 16 : o.sk;
    std::vector<float> m(rows * cols);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) m[i * cols + j] = j > i ? -INFINITY : 0.f;
    std::vector<uint8_t> bytes(m.size() * 4);
    std::memcpy(bytes.data(), m.data(), bytes.size());
    std::string c = b.g.add_constant("causal", fb::DType::F32, {rows, cols}, bytes);
    if (o.dynamic) {  // C[:n, :n] with n = xq's seq
      std::string n = b.op("Gather", {b.op("Shape", {"xq"}), b.ints({1})});
      c = b.op("Slice", {c, b.ints({0}), n, b.ints({0}), b.ints({1})});
      c = b.op("Slice", {c, b.ints({0}), n, b.ints({1}), b.ints({1})});
    }
    s = b.op("Add", {s, c});
  }
  std::string p = b.op("Softmax", {s}, "p");
  b.last().set_i("axis", o.softmax_axis);
  std::string pv = b.op("MatMul", {p, v});
  std::string t = b.op("Transpose", {pv});
  b.last().set_ints("perm", {0, 2, 1, 3});
  std::string target;
  if (o.dynamic) {
    std::string bs = b.op("Gather", {b.op("Shape", {"xq"}), b.ints({0})});
    target = b.op("Concat", {bs, b.ints({-1, hd})});
    b.last().set_i("axis", 0);
  } else {
    target = b.ints({o.batch, o.sq, hd});
  }
  b.op("Reshape", {t, target}, "y");
  b.output("y");
  if (o.softmax_is_output) b.output("p");
  EXPECT_TRUE(b.shapes().ok());
  return b;
}

const ir::Node* fused_attention(ir::Graph& g) {
  std::vector<std::string> notes;
  EXPECT_TRUE(fuse_attention(g, &notes).ok());
  g.remove_dead();
  return find_op(g, "Attention");
}

std::map<std::string, std::vector<float>> attention_feeds(const AttOptions& o) {
  const int64_t hd = o.heads * o.d;
  std::map<std::string, std::vector<float>> f = {{"xq", randoms(o.batch * o.sq * hd, 11)},
                                                 {"xk", randoms(o.batch * o.sk * hd, 12)},
                                                 {"xv", randoms(o.batch * o.sk * hd, 13)}};
  if (o.where_mask) {
    std::vector<float> m(o.batch * o.sk, 1.f);
    m[o.batch * o.sk - 1] = m[o.batch * o.sk - 2] = 0.f;
    f["mask"] = m;
  }
  if (o.additive_mask) {
    std::vector<float> m(o.sk, 0.f);
    m[o.sk - 1] = -INFINITY;
    f["mask"] = m;
  }
  return f;
}

TEST(ConverterTransformer, DistilBertAttentionWithWhereMaskFuses) {
  for (bool dynamic : {false, true}) {
    AttOptions o;
    o.where_mask = true;
    o.dynamic = dynamic;
    Builder b = attention(o);
    ir::Graph g = b.g;
    const ir::Node* a = fused_attention(g);
    ASSERT_NE(a, nullptr) << "dynamic " << dynamic;
    EXPECT_EQ(a->i("num_heads", 0), 4);
    EXPECT_EQ(a->i("kv_heads", 0), 4);
    EXPECT_NEAR(a->f("scale", 0.f), 1.f / std::sqrt(8.f), 1e-6f);
    EXPECT_FLOAT_EQ(a->f("mask_fill", 0.f), -3.4028234663852886e38f);
    ASSERT_EQ(a->inputs.size(), 4u);
    EXPECT_EQ(a->inputs[0], "xq");
    EXPECT_EQ(a->inputs[1], "xk");
    EXPECT_EQ(a->inputs[2], "xv");
    const ir::Value* m = g.find(a->inputs[3]);
    ASSERT_TRUE(m && m->shape_known);
    EXPECT_EQ(m->dtype, fb::DType::BOOL);
    EXPECT_EQ(m->shape.size(), 4u) << "the [B,1,1,S] mask, its Expand and Cast dropped";
    EXPECT_EQ(op_count(g, "Expand"), 0);
    EXPECT_EQ(op_count(g, "Transpose"), 0);
    EXPECT_EQ(op_count(g, "Softmax"), 0);
    EXPECT_EQ(op_count(g, "MatMul"), 0);
    ASSERT_TRUE(infer_shapes(g).ok());
    const ir::Value* y = g.find("y");
    ASSERT_TRUE(y && y->shape_known);
    EXPECT_EQ(y->shape[2], 32);
    if (dynamic) {
      EXPECT_EQ(y->dim_names[0], "batch");
    }
    if (!dynamic) expect_same_results(b.g, attention_feeds(o));
  }
}

TEST(ConverterTransformer, WhisperAttentionScalesAndMasksFuse) {
  AttOptions self;
  self.whisper_scale = true;
  AttOptions step = self;
  step.additive_mask = true;
  step.sq = 1;
  step.sk = 7;
  step.batch = 1;
  AttOptions cross = self;
  cross.sq = 3;
  cross.sk = 9;
  AttOptions causal = self;
  causal.causal_mask = true;
  AttOptions two = self;
  two.k_two_transposes = true;
  AttOptions dynamic = self;
  dynamic.dynamic = dynamic.shape_scale = true;
  AttOptions dynamic_causal = dynamic;
  dynamic_causal.causal_mask = true;
  for (const AttOptions& o : {self, step, cross, causal, two, dynamic, dynamic_causal}) {
    Builder b = attention(o);
    ir::Graph g = b.g;
    const ir::Node* a = fused_attention(g);
    ASSERT_NE(a, nullptr);
    EXPECT_NEAR(a->f("scale", 0.f), 1.f / std::sqrt(8.f), 1e-6f);
    EXPECT_EQ(a->inputs.size(), o.additive_mask ? 4u : 3u);
    EXPECT_EQ(a->i("causal", 0), o.causal_mask ? 1 : 0);
    EXPECT_EQ(g.nodes.size(), 1u);
    if (!o.dynamic) expect_same_results(b.g, attention_feeds(o));
  }
}

TEST(ConverterTransformer, AttentionIsLeftAloneWhenAnIntermediateIsReadOrTheAxisIsWrong) {
  AttOptions shared;
  shared.softmax_is_output = true;
  AttOptions axis;
  axis.softmax_axis = 2;
  for (const AttOptions& o : {shared, axis}) {
    Builder b = attention(o);
    const size_t before = b.g.nodes.size();
    ASSERT_EQ(fused_attention(b.g), nullptr);
    EXPECT_EQ(b.g.nodes.size(), before);
  }
}

// ---- Einsum ---------------------------------------------------------------------------------

TEST(ConverterTransformer, EinsumFormsBecomeMatMuls) {
  struct Case {
    std::string eq;
    Shape a, b;
    int transposes;
  };
  const std::vector<Case> cases = {
      {"bij,bjk->bik", {2, 3, 4}, {2, 4, 5}, 0},   {"bhid,bhjd->bhij", {2, 3, 4, 5}, {2, 3, 6, 5}, 1},
      {"bhij,bhjd->bhid", {2, 3, 4, 6}, {2, 3, 6, 5}, 0}, {"ij,jk->ik", {3, 4}, {4, 5}, 0},
      {"bi,ij->bj", {3, 4}, {4, 5}, 0},            {"bid,jd->bij", {2, 3, 4}, {5, 4}, 1},
      {"...ij,...jk->...ik", {2, 3, 4}, {2, 4, 5}, 0}, {"ik,jk->ij", {3, 4}, {5, 4}, 1},
      {"bij,bjk->bki", {2, 3, 4}, {2, 4, 5}, 1},   {"bij,bjk->bi", {2, 3, 4}, {2, 4, 5}, 0},
  };
  for (const Case& c : cases) {
    Builder b;
    b.input("a", c.a);
    b.input("b", c.b);
    b.op("Einsum", {"a", "b"}, "y");
    b.last().set_s("equation", c.eq);
    b.output("y");
    ASSERT_TRUE(b.shapes().ok());
    ASSERT_TRUE(b.g.find("y")->shape_known) << c.eq;
    const Shape want = b.g.find("y")->shape;
    ir::Graph g = b.g;
    std::vector<std::string> notes;
    Status st = rewrite_einsum(g, &notes);
    ASSERT_TRUE(st.ok()) << c.eq << ": " << st.message();
    EXPECT_EQ(op_count(g, "Einsum"), 0);
    EXPECT_EQ(op_count(g, "MatMul"), 1) << c.eq;
    EXPECT_LE(op_count(g, "Transpose"), c.transposes + 1) << c.eq;
    ASSERT_TRUE(infer_shapes(g).ok());
    EXPECT_EQ(g.find("y")->shape, want) << c.eq;
    // Numerics: the rewritten graph against a direct sum.
    const auto av = randoms(count(c.a), 1), bv = randoms(count(c.b), 2);
    std::vector<std::vector<float>> outs;
    std::string why;
    ASSERT_TRUE(run_engine(g, true, {{"a", av}, {"b", bv}}, &outs, &why)) << c.eq << ": " << why;
    // Reference: iterate over every assignment of the indices.
    std::string lhs = c.eq.substr(0, c.eq.find("->")), rhs = c.eq.substr(c.eq.find("->") + 2);
    std::string ta = lhs.substr(0, lhs.find(',')), tb = lhs.substr(lhs.find(',') + 1);
    if (ta.rfind("...", 0) == 0) ta = "Z" + ta.substr(3), tb = "Z" + tb.substr(3), rhs = "Z" + rhs.substr(3);
    std::map<char, int64_t> size;
    for (size_t i = 0; i < ta.size(); ++i) size[ta[i]] = c.a[i];
    for (size_t i = 0; i < tb.size(); ++i) size[tb[i]] = c.b[i];
    std::string letters;
    for (const auto& [ch, n] : size) letters += ch;
    std::vector<float> ref(count(want), 0.f);
    std::map<char, int64_t> idx;
    for (char ch : letters) idx[ch] = 0;
    auto offset = [&](const std::string& t, const Shape& s) {
      int64_t o = 0;
      for (size_t i = 0; i < t.size(); ++i) o = o * s[i] + idx[t[i]];
      return o;
    };
    for (;;) {
      ref[offset(rhs, want)] += av[offset(ta, c.a)] * bv[offset(tb, c.b)];
      size_t k = letters.size();
      while (k > 0 && ++idx[letters[k - 1]] == size[letters[k - 1]]) idx[letters[--k]] = 0;
      if (k == 0) break;
    }
    ASSERT_EQ(outs.size(), 1u);
    ASSERT_EQ(outs[0].size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(outs[0][i], ref[i], 1e-4f) << c.eq << " at " << i;
  }
}

TEST(ConverterTransformer, UnsupportedEinsumIsReportedWithNodeAndEquation) {
  Builder b;
  b.input("a", {3, 3});
  b.input("b", {3, 4});
  b.op("Einsum", {"a", "b"}, "y");
  b.last().set_s("equation", "ii,ij->ij");
  b.output("y");
  ASSERT_TRUE(b.shapes().ok());
  ir::Graph g = b.g;
  std::vector<std::string> notes;
  ASSERT_TRUE(rewrite_einsum(g, &notes).ok());
  EXPECT_EQ(op_count(g, "Einsum"), 1);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("y_node"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("ii,ij->ij"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("repeated index"), std::string::npos) << notes[0];
  ConvertReport report;
  Status st = optimize(b.g, ConvertOptions{}, &report);
  ASSERT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  EXPECT_NE(st.message().find("Einsum 'y_node'"), std::string::npos) << st.message();
}

// ---- Shape inference ------------------------------------------------------------------------

TEST(ConverterTransformer, SymbolicDimsFlowThroughShapeComputedReshapes) {
  Builder b;
  b.input("x", {-1, -1, 32}, fb::DType::F32, {"batch", "seq", ""});
  std::string shape = b.op("Shape", {"x"});
  std::string bs = b.op("Gather", {shape, b.ints({0})});
  std::string target = b.op("Concat", {bs, b.ints({-1, 4, 8})});
  b.last().set_i("axis", 0);
  std::string r = b.op("Reshape", {"x", target}, "r");
  std::string e = b.op("Expand", {b.op("Unsqueeze", {b.op("Unsqueeze", {b.weights({8}), b.ints({0})}), b.ints({0})}),
                                  b.op("Shape", {r})},
                       "e");
  b.output(e);
  ASSERT_TRUE(b.shapes().ok());
  const ir::Value* rv = b.g.find("r");
  ASSERT_TRUE(rv->shape_known);
  EXPECT_EQ(rv->shape, (Shape{-1, -1, 4, 8}));
  EXPECT_EQ(rv->dim_names[0], "batch");
  EXPECT_EQ(rv->dim_names[1], "seq");
  const ir::Value* ev = b.g.find("e");
  ASSERT_TRUE(ev->shape_known);
  EXPECT_EQ(ev->shape, (Shape{-1, -1, 4, 8}));
  EXPECT_EQ(ev->dim_names[1], "seq");
}

// ---- Fixture models -------------------------------------------------------------------------

const char* kFixtures = "/work/fixtures4";

// ONNX files under the fixture folder whose path contains `key`.
std::vector<std::string> fixture_models(const std::string& key) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(kFixtures, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(kFixtures, ec))
    if (e.path().extension() == ".onnx" && e.path().string().find(key) != std::string::npos)
      out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Imports and optimises an ONNX file; prints the op counts before and after.
bool optimise_fixture(const std::string& path, ir::Graph* g) {
  std::vector<std::string> notes;
  Status st = import_onnx_file(path, g, &notes);
  EXPECT_TRUE(st.ok()) << path << ": " << st.message();
  if (!st.ok()) return false;
  ConvertReport r;
  r.ops_before = g->op_counts();
  st = optimize(*g, ConvertOptions{}, &r);
  EXPECT_TRUE(st.ok()) << path << ": " << st.message();
  if (!st.ok()) return false;
  std::string before, after;
  for (const auto& [op, n] : r.ops_before) before += " " + op + ":" + std::to_string(n);
  for (const auto& [op, n] : r.ops_after) after += " " + op + ":" + std::to_string(n);
  std::cout << path << "\n  before:" << before << "\n  after: " << after << "\n";
  return true;
}

int gelu_matmuls(const ir::Graph& g) {
  int n = 0;
  for (const auto& node : g.nodes)
    n += (node.op == "MatMul" || node.op == "Gemm") &&
         node.i("activation", 0) == static_cast<int64_t>(fb::ActivationKind::Gelu);
  return n;
}

TEST(ConverterTransformer, DistilBertFixtureFusesEveryBlock) {
  const auto paths = fixture_models("distilbert");
  if (paths.empty()) GTEST_SKIP() << "no DistilBERT ONNX under " << kFixtures;
  ir::Graph g;
  ASSERT_TRUE(optimise_fixture(paths[0], &g));
  EXPECT_EQ(op_count(g, "Attention"), 6);
  EXPECT_EQ(op_count(g, "LayerNormalization"), 13);
  EXPECT_EQ(gelu_matmuls(g), 6);
  EXPECT_EQ(op_count(g, "Transpose"), 0);
  EXPECT_EQ(op_count(g, "Softmax"), 0);
  EXPECT_EQ(op_count(g, "Erf"), 0);
  EXPECT_EQ(op_count(g, "Where"), 0);
  for (const auto& n : g.nodes)
    if (n.op == "MatMul") {
      EXPECT_GE(n.inputs.size(), 3u) << n.name << " has no bias";
    }
}

TEST(ConverterTransformer, WhisperFixturesFuseEveryAttention) {
  const auto paths = fixture_models("whisper");
  if (paths.empty()) GTEST_SKIP() << "no Whisper ONNX under " << kFixtures;
  for (const auto& p : paths) {
    ir::Graph g;
    ASSERT_TRUE(optimise_fixture(p, &g));
    EXPECT_EQ(op_count(g, "Softmax"), 0) << p;
    EXPECT_GT(op_count(g, "Attention"), 0) << p;
    EXPECT_EQ(op_count(g, "Erf"), 0) << p;
    EXPECT_EQ(op_count(g, "ReduceMean"), 0) << p;
    EXPECT_GT(op_count(g, "LayerNormalization"), 0) << p;
  }
}

}  // namespace
}  // namespace pocket::converter
