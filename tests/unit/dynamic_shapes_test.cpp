// Dynamic dimensions and prepare-time evaluation (format/OPS.md "Operands known at prepare"):
// shape sub-graphs (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, Expand by another tensor's
// Shape, Slice with ends from Shape, Range over a symbolic length) run once at prepare, again
// after every resize, with symbolic dims bound by name across inputs; operands that depend on
// run-time data are refused at creation with the node and operand named.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "format/builder.h"
#include "pocket/pocket.h"
#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

using format::AttrDesc;
using format::ModelDesc;
using format::NodeDesc;
using format::TensorDesc;

struct GraphBuilder {
  ModelDesc m;
  int32_t input(const std::string& name, fb::DType dt, std::vector<int64_t> shape, std::vector<std::string> dim_names = {}) {
    TensorDesc d;
    d.name = name;
    d.dtype = dt;
    d.shape = std::move(shape);
    d.dim_names = std::move(dim_names);
    int32_t i = m.add_tensor(d);
    m.inputs.push_back(i);
    return i;
  }
  int32_t ints(const std::string& name, std::vector<int64_t> shape, const std::vector<int64_t>& v) {
    TensorDesc d;
    d.name = name;
    d.dtype = fb::DType::I64;
    d.shape = std::move(shape);
    d.has_data = true;
    d.data.resize(v.size() * 8);
    std::memcpy(d.data.data(), v.data(), d.data.size());
    return m.add_tensor(d);
  }
  int32_t node(fb::OpType op, const std::string& name, std::vector<int32_t> in, std::vector<AttrDesc> attrs = {}) {
    TensorDesc d;
    d.name = name;
    int32_t out = m.add_tensor(d);
    NodeDesc n;
    n.op = op;
    n.name = name;
    n.inputs = std::move(in);
    n.outputs = {out};
    n.attrs = std::move(attrs);
    m.nodes.push_back(n);
    return out;
  }
  void output(int32_t t) { m.outputs.push_back(t); }
  std::shared_ptr<const Model> load() {
    std::vector<uint8_t> bytes = format::serialize(m);
    auto r = Model::load_buffer(bytes.data(), bytes.size());
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r.value() : nullptr;
  }
};

// x [batch, seq, 4] f32, m [batch, 1, 1] f32:
//   y_reshape = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), Unsqueeze(Gather(Shape(x), 1) * 2), [2]))
//   y_expand  = Expand(m, Shape(x))
//   y_slice   = Slice(x, starts [0], ends Unsqueeze(Gather(Shape(x), 1) - 1), axes [1])
//   y_range   = Range(0, Gather(Shape(x), 1), 1)                (a known graph output)
//   y_pos     = x + Cast(Unsqueeze(Range(...), 1))               (a known operand of a run-time op)
std::shared_ptr<const Model> dynamic_model() {
  GraphBuilder b;
  const int32_t x = b.input("x", fb::DType::F32, {-1, -1, 4}, {"batch", "seq", ""});
  const int32_t m = b.input("m", fb::DType::F32, {-1, 1, 1}, {"batch", "", ""});
  const int32_t i0 = b.ints("i0", {}, {0}), i1 = b.ints("i1", {}, {1}), two = b.ints("two", {}, {2});
  const int32_t one = b.ints("one", {}, {1}), zero = b.ints("zero", {}, {0});
  const int32_t last = b.ints("last", {1}, {2}), start0 = b.ints("start0", {1}, {0}), axis1 = b.ints("axis1", {1}, {1});
  const int32_t shape = b.node(fb::OpType::Shape, "shape", {x});
  const int32_t batch = b.node(fb::OpType::Gather, "batch", {shape, i0}, {AttrDesc::Int("axis", 0)});
  const int32_t seq = b.node(fb::OpType::Gather, "seq", {shape, i1}, {AttrDesc::Int("axis", 0)});
  const int32_t seq2 = b.node(fb::OpType::Mul, "seq2", {seq, two});
  const int32_t batch_v = b.node(fb::OpType::Unsqueeze, "batch_v", {batch}, {AttrDesc::Ints("axes", {0})});
  const int32_t seq2_v = b.node(fb::OpType::Unsqueeze, "seq2_v", {seq2}, {AttrDesc::Ints("axes", {0})});
  const int32_t target = b.node(fb::OpType::Concat, "target", {batch_v, seq2_v, last}, {AttrDesc::Int("axis", 0)});
  b.output(b.node(fb::OpType::Reshape, "y_reshape", {x, target}));
  b.output(b.node(fb::OpType::Expand, "y_expand", {m, shape}));
  const int32_t seq_m1 = b.node(fb::OpType::Sub, "seq_m1", {seq, one});
  const int32_t ends = b.node(fb::OpType::Unsqueeze, "ends", {seq_m1, zero});
  b.output(b.node(fb::OpType::Slice, "y_slice", {x, start0, ends, axis1}));
  const int32_t range = b.node(fb::OpType::Range, "y_range", {zero, seq, one});
  b.output(range);
  const int32_t pos_col = b.node(fb::OpType::Unsqueeze, "pos_col", {range}, {AttrDesc::Ints("axes", {1})});
  const int32_t pos_f = b.node(fb::OpType::Cast, "pos_f", {pos_col}, {AttrDesc::Int("to", static_cast<int64_t>(fb::DType::F32))});
  b.output(b.node(fb::OpType::Add, "y_pos", {x, pos_f}));
  return b.load();
}

std::vector<float> out_floats(const Session& s, const char* name) {
  const Value& v = s.output(static_cast<size_t>(s.find_output(name)));
  std::vector<float> r(static_cast<size_t>(v.elements()));
  if (!r.empty()) std::memcpy(r.data(), v.data, r.size() * 4);
  return r;
}

void check_lengths(Session& s, int64_t batch, int64_t seq) {
  SCOPED_TRACE("batch " + std::to_string(batch) + " seq " + std::to_string(seq));
  ASSERT_EQ(s.input(static_cast<size_t>(s.find_input("m"))).shape, (Shape{batch, 1, 1}));  // bound by name
  std::vector<float> x = testing::random_floats(static_cast<size_t>(batch * seq * 4), static_cast<uint32_t>(seq));
  std::vector<float> m = testing::random_floats(static_cast<size_t>(batch), 7);
  ASSERT_TRUE(s.set_input("x", fb::DType::F32, {batch, seq, 4}, x.data()).ok());
  ASSERT_TRUE(s.set_input("m", fb::DType::F32, {batch, 1, 1}, m.data()).ok());
  s.run();
  EXPECT_EQ(s.output(static_cast<size_t>(s.find_output("y_reshape"))).shape, (Shape{batch, seq * 2, 2}));
  EXPECT_EQ(out_floats(s, "y_reshape"), x);
  std::vector<float> want_expand, want_slice, want_pos;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t c = 0; c < 4; ++c) {
        const float xv = x[static_cast<size_t>((b * seq + t) * 4 + c)];
        want_expand.push_back(m[static_cast<size_t>(b)]);
        if (t < seq - 1) want_slice.push_back(xv);
        want_pos.push_back(xv + static_cast<float>(t));
      }
  EXPECT_EQ(s.output(static_cast<size_t>(s.find_output("y_expand"))).shape, (Shape{batch, seq, 4}));
  EXPECT_EQ(out_floats(s, "y_expand"), want_expand);
  EXPECT_EQ(s.output(static_cast<size_t>(s.find_output("y_slice"))).shape, (Shape{batch, seq - 1, 4}));
  EXPECT_EQ(out_floats(s, "y_slice"), want_slice);
  EXPECT_EQ(out_floats(s, "y_pos"), want_pos);
  const Value& range = s.output(static_cast<size_t>(s.find_output("y_range")));
  ASSERT_EQ(range.shape, (Shape{seq}));
  for (int64_t t = 0; t < seq; ++t) EXPECT_EQ(range.as<const int64_t>()[t], t);
}

TEST(DynamicShapes, ShapeSubgraphsEvaluatedAtPrepareAcrossResizes) {
  auto model = dynamic_model();
  ASSERT_TRUE(model);
  auto r = Session::create(model);
  ASSERT_TRUE(r.ok()) << r.status().message();
  Session& s = *r.value();
  // Symbolic dims start at 1.
  check_lengths(s, 1, 1);
  // Everything but the four data ops (Reshape, Expand, Slice, Add) ran once at prepare.
  EXPECT_EQ(s.num_run_ops(), 4u);
  EXPECT_EQ(s.profile_info().size(), 4u);
  std::vector<double> seconds;
  s.run_profiled(seconds);
  EXPECT_EQ(seconds.size(), 4u);
  for (const OpProfile& p : s.profile_info()) EXPECT_NE(p.op, "Shape");
  for (int64_t seq : {5, 17, 2, 128}) {
    ASSERT_TRUE(s.resize_input("x", {1, seq, 4}).ok());
    check_lengths(s, 1, seq);
  }
  ASSERT_TRUE(s.resize_input("x", {3, 9, 4}).ok());
  check_lengths(s, 3, 9);
  // Binding works from the other input too: m's batch sets x's batch.
  ASSERT_TRUE(s.resize_input("m", {2, 1, 1}).ok());
  EXPECT_EQ(s.input(static_cast<size_t>(s.find_input("x"))).shape, (Shape{2, 9, 4}));
}

TEST(DynamicShapes, ResizeInputsIsOnePrepareAndChecksNames) {
  auto model = dynamic_model();
  ASSERT_TRUE(model);
  auto r = Session::create(model);
  ASSERT_TRUE(r.ok()) << r.status().message();
  Session& s = *r.value();
  ASSERT_TRUE(s.resize_inputs({{"x", {2, 6, 4}}, {"m", {2, 1, 1}}}).ok());
  check_lengths(s, 2, 6);
  // One dim name, two sizes: refused, and the session keeps working at its old shapes.
  Status st = s.resize_inputs({{"x", {2, 6, 4}}, {"m", {3, 1, 1}}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("'batch'"), std::string::npos) << st.message();
  check_lengths(s, 2, 6);
  EXPECT_EQ(s.resize_inputs({{"nope", {1}}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.resize_inputs({{"x", {1, 2}}}).code(), StatusCode::kInvalidArgument);
  // A shape that fails at prepare (x's last dim 3 cannot be viewed as [b, 2s, 2]): the error names
  // the node, and the session is back at its previous shapes.
  st = s.resize_input("x", {2, 6, 3});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("Reshape 'y_reshape'"), std::string::npos) << st.message();
  check_lengths(s, 2, 6);
}

TEST(DynamicShapes, InputShapesOptionAppliesAtCreation) {
  auto model = dynamic_model();
  ASSERT_TRUE(model);
  SessionOptions o;
  o.input_shapes = {{"x", {4, 11, 4}}};
  auto r = Session::create(model, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  check_lengths(*r.value(), 4, 11);
  o.input_shapes = {{"x", {4, 11}}};
  auto bad = Session::create(model, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("rank"), std::string::npos) << bad.status().message();
}

TEST(DynamicShapes, ShapeOperandFromRunTimeDataIsRefused) {
  // Reshape(x, n + [0]) where n is a graph input: the shape depends on run-time data.
  GraphBuilder b;
  const int32_t x = b.input("x", fb::DType::F32, {2, 3});
  const int32_t n = b.input("n", fb::DType::I64, {2});
  const int32_t zero = b.ints("zeros", {2}, {0, 0});
  const int32_t sum = b.node(fb::OpType::Add, "shape_sum", {n, zero});
  b.output(b.node(fb::OpType::Reshape, "view", {x, sum}));
  auto model = b.load();
  ASSERT_TRUE(model);
  auto r = Session::create(model);
  ASSERT_FALSE(r.ok());
  const std::string msg = r.status().message();
  EXPECT_NE(msg.find("Reshape 'view'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'shape_sum'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("computed at run time"), std::string::npos) << msg;

  // The same with a graph input directly as Slice ends.
  GraphBuilder c;
  const int32_t y = c.input("y", fb::DType::F32, {4});
  const int32_t e = c.input("e", fb::DType::I64, {1});
  const int32_t s0 = c.ints("s0", {1}, {0});
  c.output(c.node(fb::OpType::Slice, "cut", {y, s0, e}));
  auto model2 = c.load();
  ASSERT_TRUE(model2);
  auto r2 = Session::create(model2);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("Slice 'cut': shape operand 'ends'"), std::string::npos) << r2.status().message();
}

TEST(DynamicShapes, ConstantOnlyNodesRunOnceAndLeaveTheArena) {
  // ConstantOfShape -> Add(const): both known at prepare; the graph output lives outside the arena.
  GraphBuilder b;
  const int32_t x = b.input("x", fb::DType::F32, {3});
  const int32_t shape = b.ints("shape", {1}, {3});
  const int32_t fill = b.node(fb::OpType::ConstantOfShape, "fill", {shape}, {AttrDesc::Float("value", 2.f)});
  const int32_t y = b.node(fb::OpType::Mul, "y", {x, fill});
  b.output(fill);
  b.output(y);
  auto model = b.load();
  ASSERT_TRUE(model);
  auto r = Session::create(model);
  ASSERT_TRUE(r.ok()) << r.status().message();
  Session& s = *r.value();
  EXPECT_EQ(s.num_run_ops(), 1u);
  EXPECT_EQ(s.num_prepare_evaluated(), 1u);
  const std::vector<float> xv = {1, 2, 3};
  ASSERT_TRUE(s.set_input("x", fb::DType::F32, {3}, xv.data()).ok());
  for (int k = 0; k < 2; ++k) {
    s.run();
    EXPECT_EQ(out_floats(s, "fill"), (std::vector<float>{2, 2, 2}));
    EXPECT_EQ(out_floats(s, "y"), (std::vector<float>{2, 4, 6}));
  }
}

TEST(DynamicShapes, CApiResizeInputsAndInitialShapes) {
  GraphBuilder b;
  const int32_t x = b.input("x", fb::DType::F32, {-1, -1, 4}, {"batch", "seq", ""});
  const int32_t m = b.input("m", fb::DType::F32, {-1, 1, 1}, {"batch", "", ""});
  b.output(b.node(fb::OpType::Add, "y", {x, m}));
  std::vector<uint8_t> bytes = format::serialize(b.m);
  pocket_model* model = nullptr;
  ASSERT_EQ(pocket_model_load_buffer(bytes.data(), bytes.size(), &model), POCKET_OK) << pocket_last_error();
  const char* names[] = {"x"};
  const int64_t shape[] = {3, 5, 4};
  const int64_t* shapes[] = {shape};
  const int32_t ranks[] = {3};
  pocket_session_options o;
  pocket_session_options_init(&o);
  o.num_input_shapes = 1;
  o.input_shape_names = names;
  o.input_shapes = shapes;
  o.input_shape_ranks = ranks;
  pocket_session* s = nullptr;
  ASSERT_EQ(pocket_session_create(model, &o, &s), POCKET_OK) << pocket_last_error();
  pocket_tensor_info info;
  ASSERT_EQ(pocket_session_input_info(s, 1, &info), POCKET_OK);
  EXPECT_EQ(std::vector<int64_t>(info.shape, info.shape + info.rank), (std::vector<int64_t>{3, 1, 1}));
  const char* both[] = {"x", "m"};
  const int64_t xs[] = {2, 7, 4}, ms[] = {2, 1, 1};
  const int64_t* both_shapes[] = {xs, ms};
  const int32_t both_ranks[] = {3, 3};
  ASSERT_EQ(pocket_session_resize_inputs(s, 2, both, both_shapes, both_ranks), POCKET_OK) << pocket_last_error();
  ASSERT_EQ(pocket_session_output_info(s, 0, &info), POCKET_OK);
  EXPECT_EQ(std::vector<int64_t>(info.shape, info.shape + info.rank), (std::vector<int64_t>{2, 7, 4}));
  const int64_t bad[] = {5, 1, 1};
  const int64_t* bad_shapes[] = {xs, bad};
  EXPECT_EQ(pocket_session_resize_inputs(s, 2, both, bad_shapes, both_ranks), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("'batch'"), std::string::npos) << pocket_last_error();
  EXPECT_EQ(pocket_session_resize_inputs(s, 2, nullptr, both_shapes, both_ranks), POCKET_INVALID_ARGUMENT);
  pocket_session_free(s);
  pocket_model_free(model);
}

}  // namespace
}  // namespace pocket
