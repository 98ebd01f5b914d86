// ONNX import and the converter's own passes (shape inference, constant folding, identity removal,
// normalisation, support check) and the writer, on tiny models built with the ONNX protobuf API.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "converter/passes/passes.h"
#include "engine/model.h"
#include "engine/session.h"

namespace pocket::converter {
namespace {

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int64_t opset) {
    m_.set_ir_version(7);
    auto* op = m_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
  }
  onnx::GraphProto* g() { return m_.mutable_graph(); }

  void input(const std::string& name, std::vector<int64_t> shape, int type = onnx::TensorProto::FLOAT,
             std::vector<std::string> params = {}) {
    value_info(g()->add_input(), name, shape, type, params);
  }
  void output(const std::string& name) { g()->add_output()->set_name(name); }
  void init_f(const std::string& name, std::vector<int64_t> shape, std::vector<float> v) {
    auto* t = g()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : shape) t->add_dims(d);
    for (float x : v) t->add_float_data(x);
  }
  void init_i(const std::string& name, std::vector<int64_t> shape, std::vector<int64_t> v) {
    auto* t = g()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : shape) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8));
  }
  onnx::NodeProto* node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                        const std::string& name = "") {
    auto* n = g()->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + "_" + std::to_string(g()->node_size()) : name);
    for (auto& s : in) n->add_input(s);
    for (auto& s : out) n->add_output(s);
    return n;
  }
  static void ints(onnx::NodeProto* n, const std::string& a, std::vector<int64_t> v) {
    auto* at = n->add_attribute();
    at->set_name(a);
    at->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) at->add_ints(x);
  }
  static void i(onnx::NodeProto* n, const std::string& a, int64_t v) {
    auto* at = n->add_attribute();
    at->set_name(a);
    at->set_type(onnx::AttributeProto::INT);
    at->set_i(v);
  }
  static void f(onnx::NodeProto* n, const std::string& a, float v) {
    auto* at = n->add_attribute();
    at->set_name(a);
    at->set_type(onnx::AttributeProto::FLOAT);
    at->set_f(v);
  }
  static void s(onnx::NodeProto* n, const std::string& a, const std::string& v) {
    auto* at = n->add_attribute();
    at->set_name(a);
    at->set_type(onnx::AttributeProto::STRING);
    at->set_s(v);
  }
  std::string bytes() const { return m_.SerializeAsString(); }

 private:
  static void value_info(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& shape,
                         int type, const std::vector<std::string>& params) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    auto* sh = tt->mutable_shape();
    for (size_t k = 0; k < shape.size(); ++k) {
      auto* d = sh->add_dim();
      if (shape[k] >= 0) d->set_dim_value(shape[k]);
      else if (k < params.size()) d->set_dim_param(params[k]);
    }
  }
  onnx::ModelProto m_;
};

ir::Graph import(const OnnxBuilder& b) {
  std::string s = b.bytes();
  ir::Graph g;
  Status st = import_onnx_bytes(s.data(), s.size(), &g);
  EXPECT_TRUE(st.ok()) << st.message();
  return g;
}

Status run_optimize(ir::Graph& g, bool nhwc = true) {
  ConvertOptions o;
  o.nhwc = nhwc;
  return optimize(g, o, nullptr);
}

TEST(ConverterImport, ShapeSubgraphFoldsIntoReshapeAttribute) {
  OnnxBuilder b(13);
  b.input("x", {2, 3, 4});
  b.init_i("zero", {}, {0});
  b.init_i("axes0", {1}, {0});
  b.init_i("minus1", {1}, {-1});
  b.node("Shape", {"x"}, {"s"});
  auto* gather = b.node("Gather", {"s", "zero"}, {"n"});
  OnnxBuilder::i(gather, "axis", 0);
  b.node("Unsqueeze", {"n", "axes0"}, {"n1"});
  auto* cat = b.node("Concat", {"n1", "minus1"}, {"shape"});
  OnnxBuilder::i(cat, "axis", 0);
  b.node("Reshape", {"x", "shape"}, {"y"}, "reshape");
  b.output("y");
  ir::Graph g = import(b);
  ASSERT_TRUE(run_optimize(g).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, "Reshape");
  EXPECT_EQ(g.nodes[0].inputs.size(), 1u);
  EXPECT_EQ(g.nodes[0].ints("shape"), (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(g.find("y")->shape, (std::vector<int64_t>{2, 12}));
}

TEST(ConverterImport, SymbolicBatchViewBecomesCopyDim) {
  OnnxBuilder b(13);
  b.input("x", {-1, 3, 4}, onnx::TensorProto::FLOAT, {"batch"});
  b.init_i("zero", {}, {0});
  b.init_i("axes0", {1}, {0});
  b.init_i("minus1", {1}, {-1});
  b.node("Shape", {"x"}, {"s"});
  b.node("Gather", {"s", "zero"}, {"n"});
  b.node("Unsqueeze", {"n", "axes0"}, {"n1"});
  auto* cat = b.node("Concat", {"n1", "minus1"}, {"shape"});
  OnnxBuilder::i(cat, "axis", 0);
  b.node("Reshape", {"x", "shape"}, {"y"}, "view");
  b.output("y");
  ir::Graph g = import(b);
  ASSERT_TRUE(run_optimize(g).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].ints("shape"), (std::vector<int64_t>{0, -1}));
  const ir::Value* y = g.find("y");
  EXPECT_EQ(y->shape, (std::vector<int64_t>{-1, 12}));
  EXPECT_EQ(y->dim_names[0], "batch");
}

TEST(ConverterImport, ImagePreprocessingMetadata) {
  OnnxBuilder b(13);
  b.input("image", {1, 3, 6, 8});
  b.node("Relu", {"image"}, {"y"});
  b.output("y");
  std::string bytes = b.bytes();
  ConvertOptions o;
  o.mean = {0.485f, 0.456f, 0.406f};
  o.std = {0.229f, 0.224f, 0.225f};
  auto r = convert_onnx_bytes(bytes.data(), bytes.size(), o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto m = Model::load_buffer(r.value().data(), r.value().size());
  ASSERT_TRUE(m.ok()) << m.status().message();
  const fb::Preprocessing* p = m.value()->metadata()->preprocessing();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->width(), 8);
  EXPECT_EQ(p->height(), 6);
  EXPECT_EQ(p->layout()->str(), "NCHW");
  EXPECT_EQ(p->color_order()->str(), "RGB");
  EXPECT_FLOAT_EQ(p->scale(), 1.f / 255.f);
  ASSERT_EQ(p->mean()->size(), 3u);
  EXPECT_FLOAT_EQ(p->std()->Get(2), 0.225f);
  o.mean = {123.7f, 116.3f, 103.5f};
  o.std = {58.4f, 57.1f, 57.4f};
  o.input_width = 32;
  o.input_height = 16;
  r = convert_onnx_bytes(bytes.data(), bytes.size(), o);
  ASSERT_TRUE(r.ok());
  m = Model::load_buffer(r.value().data(), r.value().size());
  ASSERT_TRUE(m.ok());
  p = m.value()->metadata()->preprocessing();
  EXPECT_FLOAT_EQ(p->scale(), 1.f);
  EXPECT_EQ(p->width(), 32);
  EXPECT_EQ(p->height(), 16);
}

TEST(ConverterImport, ConstantOfShapeAndExpandFold) {
  OnnxBuilder b(13);
  b.input("x", {2, 3});
  b.init_i("shape", {2}, {2, 3});
  b.init_i("shape2", {3}, {4, 2, 3});
  auto* cos = b.node("ConstantOfShape", {"shape"}, {"c"});
  auto* at = cos->add_attribute();
  at->set_name("value");
  at->set_type(onnx::AttributeProto::TENSOR);
  at->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  at->mutable_t()->add_dims(1);
  at->mutable_t()->add_float_data(1.5f);
  b.node("Expand", {"c", "shape"}, {"e"});
  b.node("Add", {"x", "e"}, {"a"});
  b.node("Expand", {"a", "shape2"}, {"y"}, "expand_dynamic");
  b.output("y");
  ir::Graph g = import(b);
  ASSERT_TRUE(run_optimize(g).ok());
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].op, "Add");
  const ir::Value* e = g.find(g.nodes[0].inputs[1]);
  ASSERT_TRUE(e && e->is_constant());
  EXPECT_EQ(e->shape, (std::vector<int64_t>{2, 3}));
  for (int k = 0; k < 6; ++k) EXPECT_EQ(e->as<float>()[k], 1.5f);
  EXPECT_EQ(g.nodes[1].op, "Expand");
  EXPECT_EQ(g.nodes[1].inputs.size(), 1u);
  EXPECT_EQ(g.nodes[1].ints("shape"), (std::vector<int64_t>{4, 2, 3}));
  EXPECT_EQ(g.find("y")->shape, (std::vector<int64_t>{4, 2, 3}));
}

TEST(ConverterImport, IdentityAndDropoutRemovedKeepingOutputName) {
  OnnxBuilder b(12);
  b.input("x", {1, 8});
  b.node("Relu", {"x"}, {"r"});
  b.node("Identity", {"r"}, {"i"});
  b.node("Dropout", {"i"}, {"y", "mask"});
  b.output("y");
  ir::Graph g = import(b);
  ASSERT_TRUE(run_optimize(g).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, "Relu");
  EXPECT_EQ(g.nodes[0].inputs[0], "x");
  EXPECT_EQ(g.nodes[0].outputs[0], "y");
  EXPECT_EQ(g.outputs, (std::vector<std::string>{"y"}));
}

TEST(ConverterImport, Opset9PadAttributes) {
  OnnxBuilder b(9);
  b.input("x", {1, 2, 3, 3});
  auto* p = b.node("Pad", {"x"}, {"y"}, "pad");
  OnnxBuilder::ints(p, "pads", {0, 0, 1, 2, 0, 0, 1, 2});
  OnnxBuilder::f(p, "value", 0.5f);
  b.output("y");
  ir::Graph g = import(b);
  ASSERT_TRUE(run_optimize(g).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  const ir::Node& n = g.nodes[0];
  EXPECT_EQ(n.op, "Pad");
  EXPECT_EQ(n.inputs.size(), 1u);
  EXPECT_EQ(n.ints("pads"), (std::vector<int64_t>{0, 0, 1, 2, 0, 0, 1, 2}));
  EXPECT_EQ(n.f("value", 0), 0.5f);
  EXPECT_EQ(n.s("mode", ""), "constant");
  EXPECT_EQ(g.find("y")->shape, (std::vector<int64_t>{1, 2, 5, 7}));
}

TEST(ConverterImport, Opset11PadInputsBecomeAttributes) {
  OnnxBuilder b(11);
  b.input("x", {1, 4});
  b.init_i("pads", {4}, {0, 1, 0, 2});
  b.init_f("v", {}, {2.f});
  auto* p = b.node("Pad", {"x", "pads", "v"}, {"y"}, "pad");
  OnnxBuilder::s(p, "mode", "constant");
  b.output("y");
  ir::Graph g = import(b);
  ASSERT_TRUE(run_optimize(g).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].inputs.size(), 1u);
  EXPECT_EQ(g.nodes[0].ints("pads"), (std::vector<int64_t>{0, 1, 0, 2}));
  EXPECT_EQ(g.nodes[0].f("value", 0), 2.f);
}

TEST(ConverterImport, Conv1dLiftedTo2d) {
  OnnxBuilder b(11);
  b.input("x", {1, 2, 8});
  b.init_f("w", {4, 2, 3}, std::vector<float>(24, 0.25f));
  auto* c = b.node("Conv", {"x", "w"}, {"y"}, "conv1d");
  OnnxBuilder::ints(c, "pads", {1, 1});
  OnnxBuilder::ints(c, "strides", {2});
  b.output("y");
  ir::Graph g = import(b);
  EXPECT_EQ(g.find("y")->shape, (std::vector<int64_t>{1, 4, 4}));
  std::vector<std::string> notes;
  ASSERT_TRUE(infer_shapes(g).ok());
  ASSERT_TRUE(normalize(g, &notes).ok());
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.nodes[0].op, "Unsqueeze");
  EXPECT_EQ(g.nodes[0].ints("axes"), (std::vector<int64_t>{2}));
  const ir::Node& conv = g.nodes[1];
  EXPECT_EQ(conv.op, "Conv");
  EXPECT_EQ(conv.ints("pads"), (std::vector<int64_t>{0, 1, 0, 1}));
  EXPECT_EQ(conv.ints("strides"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(g.find(conv.inputs[1])->shape, (std::vector<int64_t>{4, 2, 1, 3}));
  EXPECT_EQ(g.find(conv.outputs[0])->shape, (std::vector<int64_t>{1, 4, 1, 4}));
  EXPECT_EQ(g.nodes[2].op, "Squeeze");
  EXPECT_EQ(g.nodes[2].outputs[0], "y");
  EXPECT_EQ(g.find("y")->shape, (std::vector<int64_t>{1, 4, 4}));
}

TEST(ConverterImport, Opset11SoftmaxOverInnerAxisReshaped) {
  OnnxBuilder b(11);
  b.input("x", {2, 3, 4});
  auto* s = b.node("Softmax", {"x"}, {"y"}, "sm");
  OnnxBuilder::i(s, "axis", 1);
  b.output("y");
  ir::Graph g = import(b);
  ASSERT_TRUE(run_optimize(g).ok());
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.nodes[0].ints("shape"), (std::vector<int64_t>{-1, 12}));
  EXPECT_EQ(g.nodes[1].i("axis", 0), 1);
  EXPECT_EQ(g.nodes[2].ints("shape"), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(g.find("y")->shape, (std::vector<int64_t>{2, 3, 4}));
}

TEST(ConverterImport, UnsupportedOpsListedTogether) {
  OnnxBuilder b(13);
  b.input("x", {1, 4});
  b.node("Relu", {"x"}, {"a"});
  b.node("Einsum", {"a"}, {"b"}, "my_einsum");
  auto* custom = b.node("FancyOp", {"b"}, {"c"}, "custom_node");
  custom->set_domain("com.example");
  b.node("NonZero", {"c"}, {"y"}, "nz");
  b.output("y");
  ir::Graph g = import(b);
  Status st = run_optimize(g);
  ASSERT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  EXPECT_NE(st.message().find("Einsum 'my_einsum' (opset 13)"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("FancyOp 'custom_node' (opset 13)"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("NonZero 'nz' (opset 13)"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("Relu"), std::string::npos) << st.message();
}

// Input and output counts are checked against ONNX's schema at the model's opset before any pass
// indexes them (fuzz_onnx: a DequantizeLinear without an output, an Add with one input).
TEST(ConverterImport, NodeArityOutsideTheSchemaIsAnError) {
  auto import_error = [](const OnnxBuilder& b) {
    const std::string s = b.bytes();
    ir::Graph g;
    return import_onnx_bytes(s.data(), s.size(), &g);
  };
  {
    OnnxBuilder b(13);
    b.input("x", {1, 4});
    b.node("Relu", {"x"}, {"r"});
    b.node("Add", {"r"}, {"y"}, "lonely_add");
    b.output("y");
    Status st = import_error(b);
    EXPECT_EQ(st.code(), StatusCode::kInvalidModel) << st.message();
    EXPECT_NE(st.message().find("'lonely_add' has 1 inputs; ONNX opset 13 Add takes 2"), std::string::npos) << st.message();
  }
  {
    OnnxBuilder b(13);
    b.input("x", {1, 4});
    b.node("Relu", {"x"}, {"y"});
    b.node("Sigmoid", {"x"}, {}, "no_output");
    b.output("y");
    Status st = import_error(b);
    EXPECT_EQ(st.code(), StatusCode::kInvalidModel) << st.message();
    EXPECT_NE(st.message().find("'no_output' has 0 outputs; ONNX opset 13 Sigmoid gives 1"), std::string::npos)
        << st.message();
  }
  {  // Optional inputs may be left out (Clip with only x) and variadic ones are open-ended.
    OnnxBuilder b(13);
    b.input("x", {1, 4});
    b.node("Clip", {"x"}, {"c"});
    OnnxBuilder::i(b.node("Concat", {"c", "c", "c"}, {"y"}), "axis", 1);
    b.output("y");
    EXPECT_TRUE(import_error(b).ok());
  }
}

TEST(ConverterImport, InitializersListedAsInputsAreConstants) {
  OnnxBuilder b(9);
  b.input("x", {-1, 3}, onnx::TensorProto::FLOAT, {"batch"});
  b.input("w", {3, 2});
  b.init_f("w", {3, 2}, {1, 2, 3, 4, 5, 6});
  b.node("MatMul", {"x", "w"}, {"y"});
  b.output("y");
  ir::Graph g = import(b);
  EXPECT_EQ(g.inputs, (std::vector<std::string>{"x"}));
  EXPECT_TRUE(g.is_constant("w"));
  const ir::Value* y = g.find("y");
  ASSERT_TRUE(y->shape_known);
  EXPECT_EQ(y->shape, (std::vector<int64_t>{-1, 2}));
  EXPECT_EQ(y->dim_names[0], "batch");
}

TEST(ConverterImport, WrittenFileLoads) {
  OnnxBuilder b(13);
  b.input("x", {-1, 3}, onnx::TensorProto::FLOAT, {"batch"});
  b.init_f("w", {3, 2}, {1, 2, 3, 4, 5, 6});
  b.init_f("bias", {2}, {0.5f, -0.5f});
  b.init_i("to_int", {}, {7});
  b.node("MatMul", {"x", "w"}, {"m"});
  b.node("Add", {"m", "bias"}, {"a"});
  b.node("Relu", {"a"}, {"r"});
  auto* cast = b.node("Cast", {"r"}, {"y"});
  OnnxBuilder::i(cast, "to", onnx::TensorProto::INT64);
  b.output("y");
  std::string bytes = b.bytes();
  ConvertOptions o;
  o.labels = {"cat", "dog"};
  o.metadata = {{"task", "classification"}, {"author", "test"}};
  ConvertReport report;
  auto r = convert_onnx_bytes(bytes.data(), bytes.size(), o, &report);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(report.opset, 13);
  EXPECT_EQ(report.ops_before.at("MatMul"), 1);
  EXPECT_EQ(report.file_bytes, r.value().size());
  auto m = Model::load_buffer(r.value().data(), r.value().size());
  ASSERT_TRUE(m.ok()) << m.status().message();
  const Model& model = *m.value();
  EXPECT_EQ(model.labels(), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(model.property("author"), "test");
  EXPECT_EQ(model.metadata()->producer()->str(), "pocket-convert");
  EXPECT_EQ(model.metadata()->task()->str(), "classification");
  const fb::Graph& g = model.graph();
  ASSERT_EQ(g.inputs()->size(), 1u);
  const fb::Tensor* x = g.tensors()->Get(g.inputs()->Get(0));
  EXPECT_EQ(x->shape()->Get(0), -1);
  EXPECT_EQ(x->dim_names()->Get(0)->str(), "batch");
  bool saw_cast = false;
  for (const fb::Node* n : *g.nodes()) {
    if (n->op() != fb::OpType::Cast) continue;
    saw_cast = true;
    ASSERT_TRUE(n->attributes());
    for (const fb::Attribute* a : *n->attributes())
      if (a->name()->str() == "to") EXPECT_EQ(a->i(), static_cast<int64_t>(fb::DType::I64));
  }
  EXPECT_TRUE(saw_cast);
  const fb::Tensor* out = g.tensors()->Get(g.outputs()->Get(0));
  EXPECT_EQ(out->dtype(), fb::DType::I64);
  EXPECT_EQ(out->name()->str(), "y");
}

// float64 stays float64 end to end: inputs, initializers (raw and double_data), a Constant node,
// folding, and the engine's Add, with values float32 cannot hold.
TEST(ConverterImport, Float64KeptAndComputed) {
  OnnxBuilder b(13);
  b.input("x", {2, 2}, onnx::TensorProto::DOUBLE);
  auto* c = b.node("Constant", {}, {"k"});
  auto* at = c->add_attribute();
  at->set_name("value");
  at->set_type(onnx::AttributeProto::TENSOR);
  at->mutable_t()->set_data_type(onnx::TensorProto::DOUBLE);
  at->mutable_t()->add_dims(2);
  at->mutable_t()->add_double_data(1e-309);
  at->mutable_t()->add_double_data(2.4e198);
  auto* r = b.g()->add_initializer();  // raw little-endian doubles
  r->set_name("r");
  r->set_data_type(onnx::TensorProto::DOUBLE);
  r->add_dims(2);
  const double rv[2] = {0.1, -1e300};
  r->set_raw_data(std::string(reinterpret_cast<const char*>(rv), sizeof rv));
  b.node("Add", {"k", "r"}, {"kr"}, "fold_me");  // all constant: folded exactly in double
  b.node("Add", {"x", "kr"}, {"y"}, "add");
  b.output("y");
  ir::Graph g = import(b);
  ASSERT_EQ(g.find("x")->dtype, ir::DType::F64);
  ASSERT_EQ(g.find("k")->dtype, ir::DType::F64);
  ASSERT_EQ(g.find("r")->dtype, ir::DType::F64);
  EXPECT_EQ(g.find("r")->as<double>()[1], -1e300);
  ASSERT_TRUE(run_optimize(g).ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  const ir::Value* kr = g.find(g.nodes[0].inputs[1]);
  ASSERT_TRUE(kr && kr->is_constant());
  ASSERT_EQ(kr->dtype, ir::DType::F64);
  EXPECT_EQ(kr->as<double>()[0], 1e-309 + 0.1);
  EXPECT_EQ(kr->as<double>()[1], 2.4e198 + -1e300);
  EXPECT_EQ(g.find("y")->dtype, ir::DType::F64);

  std::string bytes = b.bytes();
  auto file = convert_onnx_bytes(bytes.data(), bytes.size(), ConvertOptions{}, nullptr);
  ASSERT_TRUE(file.ok()) << file.status().message();
  auto m = Model::load_buffer(file.value().data(), file.value().size());
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto s = Session::create(m.value(), SessionOptions{});
  ASSERT_TRUE(s.ok()) << s.status().message();
  Session& session = *s.value();
  const double xv[4] = {1e-309, 2.4e198, 3.0, -0.5};
  Status st = session.set_input("x", DType::F64, {2, 2}, xv);
  ASSERT_TRUE(st.ok()) << st.message();
  session.run();
  const Value& y = session.output(0);
  ASSERT_EQ(y.dtype, DType::F64);
  ASSERT_EQ(y.elements(), 4);
  const double* yv = y.as<const double>();
  EXPECT_EQ(yv[0], 1e-309 + (1e-309 + 0.1));
  EXPECT_EQ(yv[1], 2.4e198 + (2.4e198 + -1e300));
  EXPECT_EQ(yv[2], 3.0 + (1e-309 + 0.1));
  EXPECT_EQ(yv[3], -0.5 + (2.4e198 + -1e300));
}

// Ops without float64 kernels are reported by the converter, not run on misread bytes.
TEST(ConverterImport, Float64UnsupportedOpsReported) {
  OnnxBuilder b(13);
  b.input("x", {1, 4}, onnx::TensorProto::DOUBLE);
  b.node("Relu", {"x"}, {"a"}, "relu64");
  b.node("Neg", {"a"}, {"y"}, "neg64");
  b.output("y");
  ir::Graph g = import(b);
  Status st = run_optimize(g);
  ASSERT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  EXPECT_NE(st.message().find("Relu 'relu64'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("Neg 'neg64'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("F64"), std::string::npos) << st.message();
}

TEST(ConverterImport, WriterRefusesNchwConv) {
  OnnxBuilder b(13);
  b.input("x", {1, 2, 4, 4});
  b.init_f("w", {2, 2, 1, 1}, std::vector<float>(4, 1.f));
  b.node("Conv", {"x", "w"}, {"y"}, "conv");
  b.output("y");
  ir::Graph g = import(b);
  auto r = write_pocket(g, ConvertOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("Conv 'conv'"), std::string::npos);
}

TEST(ConverterImport, BadInputsGiveClearErrors) {
  ir::Graph g;
  std::string junk = "definitely not a protobuf";
  Status st = import_onnx_bytes(junk.data(), junk.size(), &g);
  EXPECT_EQ(st.code(), StatusCode::kInvalidModel);
  EXPECT_EQ(import_onnx_file("/nonexistent/model.onnx", &g).code(), StatusCode::kIoError);
  OnnxBuilder b(3);
  b.input("x", {1});
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  std::string s = b.bytes();
  st = import_onnx_bytes(s.data(), s.size(), &g);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_NE(st.message().find("opset 3"), std::string::npos);
}

}  // namespace
}  // namespace pocket::converter
