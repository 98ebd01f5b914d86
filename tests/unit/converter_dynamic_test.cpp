// Dynamic-axis ONNX graphs (the shape plumbing PyTorch exports for dynamic batch/seq) convert to
// .pocket with their shape operands kept as inputs, which the engine evaluates at prepare; the
// converted model then runs at several lengths. Operands that depend on run-time data are
// reported by the converter, naming the node and what it depends on.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "engine/model.h"
#include "engine/session.h"

namespace pocket::converter {
namespace {

struct Onnx {
  onnx::ModelProto m;
  explicit Onnx(int64_t opset) {
    m.set_ir_version(7);
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
  }
  onnx::GraphProto* g() { return m.mutable_graph(); }
  void input(const std::string& name, std::vector<int64_t> shape, std::vector<std::string> params,
             int type = onnx::TensorProto::FLOAT) {
    auto* vi = g()->add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    auto* sh = tt->mutable_shape();
    for (size_t k = 0; k < shape.size(); ++k) {
      auto* d = sh->add_dim();
      if (shape[k] >= 0) d->set_dim_value(shape[k]);
      else d->set_dim_param(params[k]);
    }
  }
  void output(const std::string& name) { g()->add_output()->set_name(name); }
  void ints(const std::string& name, std::vector<int64_t> shape, std::vector<int64_t> v) {
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
    n->set_name(name.empty() ? out[0] : name);
    for (auto& s : in) n->add_input(s);
    for (auto& s : out) n->add_output(s);
    return n;
  }
  static void attr_i(onnx::NodeProto* n, const std::string& a, int64_t v) {
    auto* at = n->add_attribute();
    at->set_name(a);
    at->set_type(onnx::AttributeProto::INT);
    at->set_i(v);
  }
  std::string bytes() const { return m.SerializeAsString(); }
};

// x [batch, seq, 4], m [batch, 1, 1]; opset 13:
//   flat   = Reshape(x, Concat(Unsqueeze(batch * seq), [4]))      -> [batch*seq, 4]
//   wide   = Expand(m, Shape(x))                                  -> [batch, seq, 4]
//   head   = Slice(x, [0], Unsqueeze(seq - 1), [1])               -> [batch, seq-1, 4]
//   posx   = x + Unsqueeze(Cast(Range(0, seq, 1), float), 1)      -> [batch, seq, 4]
std::string dynamic_onnx() {
  Onnx b(13);
  b.input("x", {-1, -1, 4}, {"batch", "seq", ""});
  b.input("m", {-1, 1, 1}, {"batch", "", ""});
  b.ints("i0", {}, {0});
  b.ints("i1", {}, {1});
  b.ints("one", {}, {1});
  b.ints("zero", {}, {0});
  b.ints("axes0", {1}, {0});
  b.ints("axes1", {1}, {1});
  b.ints("four", {1}, {4});
  b.ints("start0", {1}, {0});
  b.node("Shape", {"x"}, {"shape"});
  Onnx::attr_i(b.node("Gather", {"shape", "i0"}, {"batch"}), "axis", 0);
  Onnx::attr_i(b.node("Gather", {"shape", "i1"}, {"seq"}), "axis", 0);
  b.node("Mul", {"batch", "seq"}, {"rows"});
  b.node("Unsqueeze", {"rows", "axes0"}, {"rows_v"});
  Onnx::attr_i(b.node("Concat", {"rows_v", "four"}, {"flat_shape"}), "axis", 0);
  b.node("Reshape", {"x", "flat_shape"}, {"flat"}, "flatten_rows");
  b.node("Expand", {"m", "shape"}, {"wide"}, "expand_mask");
  b.node("Sub", {"seq", "one"}, {"seq_m1"});
  b.node("Unsqueeze", {"seq_m1", "axes0"}, {"ends"});
  b.node("Slice", {"x", "start0", "ends", "axes1"}, {"head"}, "drop_last");
  b.node("Range", {"zero", "seq", "one"}, {"pos"}, "positions");
  Onnx::attr_i(b.node("Cast", {"pos"}, {"pos_f"}), "to", onnx::TensorProto::FLOAT);
  b.node("Unsqueeze", {"pos_f", "axes1"}, {"pos_col"});
  b.node("Add", {"x", "pos_col"}, {"posx"});
  for (const char* o : {"flat", "wide", "head", "posx"}) b.output(o);
  return b.bytes();
}

std::vector<float> seq_floats(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>(i % 97) - 3.f;
  return v;
}

std::vector<float> out_floats(const Session& s, const char* name) {
  const int i = s.find_output(name);
  EXPECT_GE(i, 0) << name;
  if (i < 0) return {};
  const Value& v = s.output(static_cast<size_t>(i));
  std::vector<float> r(static_cast<size_t>(v.elements()));
  if (!r.empty()) std::memcpy(r.data(), v.data, r.size() * 4);
  return r;
}

TEST(ConverterDynamic, ShapeOperandsKeptAndEvaluatedAtPrepare) {
  const std::string onnx = dynamic_onnx();
  ConvertReport report;
  // No conv here, so no NHWC pass: it needs every value's rank, and shape inference does not yet
  // give Reshape(x, Concat(batch * seq, 4)) the rank 2 that its shape operand's length says.
  ConvertOptions options;
  options.nhwc = false;
  auto file = convert_onnx_bytes(onnx.data(), onnx.size(), options, &report);
  ASSERT_TRUE(file.ok()) << file.status().message();
  bool kept_note = false;
  for (const std::string& n : report.notes) kept_note = kept_note || n.find("kept") != std::string::npos;
  EXPECT_TRUE(kept_note);
  auto model = Model::load_buffer(file.value().data(), file.value().size());
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto session = Session::create(model.value());
  ASSERT_TRUE(session.ok()) << session.status().message();
  Session& s = *session.value();
  EXPECT_GT(s.num_prepare_evaluated(), 0u);
  for (auto [batch, seq] : {std::pair<int64_t, int64_t>{1, 7}, {2, 12}, {1, 3}}) {
    SCOPED_TRACE("batch " + std::to_string(batch) + " seq " + std::to_string(seq));
    ASSERT_TRUE(s.resize_input("x", {batch, seq, 4}).ok());
    ASSERT_EQ(s.input(static_cast<size_t>(s.find_input("m"))).shape, (Shape{batch, 1, 1}));
    const std::vector<float> x = seq_floats(static_cast<size_t>(batch * seq * 4), 0.25f);
    const std::vector<float> m = seq_floats(static_cast<size_t>(batch), 1.5f);
    ASSERT_TRUE(s.set_input("x", fb::DType::F32, {batch, seq, 4}, x.data()).ok());
    ASSERT_TRUE(s.set_input("m", fb::DType::F32, {batch, 1, 1}, m.data()).ok());
    s.run();
    std::vector<float> wide, head, posx;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < seq; ++t)
        for (int64_t c = 0; c < 4; ++c) {
          const float v = x[static_cast<size_t>((b * seq + t) * 4 + c)];
          wide.push_back(m[static_cast<size_t>(b)]);
          if (t < seq - 1) head.push_back(v);
          posx.push_back(v + static_cast<float>(t));
        }
    EXPECT_EQ(s.output(static_cast<size_t>(s.find_output("flat"))).shape, (Shape{batch * seq, 4}));
    EXPECT_EQ(out_floats(s, "flat"), x);
    EXPECT_EQ(out_floats(s, "wide"), wide);
    EXPECT_EQ(s.output(static_cast<size_t>(s.find_output("head"))).shape, (Shape{batch, seq - 1, 4}));
    EXPECT_EQ(out_floats(s, "head"), head);
    EXPECT_EQ(out_floats(s, "posx"), posx);
  }
}

TEST(ConverterDynamic, ShapeOperandFromRunTimeDataIsReported) {
  Onnx b(13);
  b.input("x", {2, 3}, {});
  b.input("n", {2}, {}, onnx::TensorProto::INT64);
  b.ints("pad", {2}, {0, 0});
  b.node("Add", {"n", "pad"}, {"target"});
  b.node("Reshape", {"x", "target"}, {"y"}, "data_dependent_view");
  b.output("y");
  const std::string onnx = b.bytes();
  auto file = convert_onnx_bytes(onnx.data(), onnx.size(), ConvertOptions{}, nullptr);
  ASSERT_FALSE(file.ok());
  const std::string msg = file.status().message();
  EXPECT_EQ(file.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(msg.find("Reshape 'data_dependent_view'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("graph input 'n'"), std::string::npos) << msg;
}

}  // namespace
}  // namespace pocket::converter
