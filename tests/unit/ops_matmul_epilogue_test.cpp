// MatMul residual input R (format 1.1) and the Gelu/GeluTanh fused activations of MatMul and Gemm,
// through the real path (builder -> .pocket -> Session), against a double-precision reference:
// packed (constant B) and unpacked paths, the GEMV path (M = 1), several K blocks, 1 and 2 threads,
// an absent bias with R present, and a wrong R shape failing at prepare.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

using testing::TestTensor;

constexpr int64_t kGelu = static_cast<int64_t>(fb::ActivationKind::Gelu);
constexpr int64_t kGeluTanh = static_cast<int64_t>(fb::ActivationKind::GeluTanh);
constexpr int64_t kRelu = static_cast<int64_t>(fb::ActivationKind::Relu);

double act_ref(int64_t act, double x) {
  if (act == kGelu) return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  if (act == kGeluTanh) return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  if (act == kRelu) return std::max(x, 0.0);
  return x;
}

// One node whose inputs may be absent (nullptr): absent inputs become -1.
std::vector<uint8_t> build_model(fb::OpType op, const std::vector<const TestTensor*>& inputs,
                                 const std::vector<bool>& constant, const std::vector<format::AttrDesc>& attrs) {
  format::ModelDesc m;
  format::NodeDesc node;
  node.op = op;
  node.name = "op";
  node.attrs = attrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i]) {
      node.inputs.push_back(-1);
      continue;
    }
    format::TensorDesc d;
    d.name = "in" + std::to_string(i);
    d.dtype = inputs[i]->dtype;
    d.shape = inputs[i]->shape;
    if (constant[i]) {
      d.has_data = true;
      d.data = inputs[i]->bytes;
    }
    const int32_t idx = m.add_tensor(d);
    node.inputs.push_back(idx);
    if (!constant[i]) m.inputs.push_back(idx);
  }
  format::TensorDesc out;
  out.name = "out";
  const int32_t oi = m.add_tensor(out);
  node.outputs.push_back(oi);
  m.outputs.push_back(oi);
  m.nodes.push_back(node);
  return format::serialize(m);
}

Status run_model(fb::OpType op, const std::vector<const TestTensor*>& inputs, const std::vector<bool>& constant,
                 const std::vector<format::AttrDesc>& attrs, int threads, TestTensor* result) {
  std::vector<uint8_t> bytes = build_model(op, inputs, constant, attrs);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  if (!model.ok()) return model.status();
  SessionOptions opts;
  opts.num_threads = threads;
  auto session = Session::create(model.value(), opts);
  if (!session.ok()) return session.status();
  Session& s = *session.value();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i] || constant[i]) continue;
    POCKET_RETURN_IF_ERROR(
        s.set_input("in" + std::to_string(i), inputs[i]->dtype, inputs[i]->shape, inputs[i]->bytes.data()));
  }
  s.run();
  const Value& v = s.output(0);
  *result = TestTensor{v.dtype, v.shape, {}};
  result->bytes.resize(v.bytes());
  if (v.bytes()) std::memcpy(result->bytes.data(), v.data, v.bytes());
  return Status::Ok();
}

struct Case {
  Shape a;        // [..., M, K]
  int64_t n;      // B is [K, N]
  bool b_const, bias, residual;
  int64_t act;
};

void run_case(const Case& t, uint32_t seed) {
  const int64_t k = t.a.back(), m = t.a[t.a.size() - 2];
  int64_t batches = 1;
  for (size_t i = 0; i + 2 < t.a.size(); ++i) batches *= t.a[i];
  Shape out = t.a;
  out.back() = t.n;
  const std::vector<float> a = testing::random_floats(static_cast<size_t>(batches * m * k), seed);
  const std::vector<float> b = testing::random_floats(static_cast<size_t>(k * t.n), seed + 1, -0.2f, 0.2f);
  const std::vector<float> bias = testing::random_floats(static_cast<size_t>(t.n), seed + 2);
  const std::vector<float> r = testing::random_floats(static_cast<size_t>(batches * m * t.n), seed + 3, -2.f, 2.f);
  std::vector<float> want(static_cast<size_t>(batches * m * t.n));
  for (int64_t i = 0; i < batches * m; ++i)
    for (int64_t j = 0; j < t.n; ++j) {
      double acc = t.bias ? bias[j] : 0.0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(a[i * k + p]) * b[p * t.n + j];
      if (t.residual) acc += r[i * t.n + j];
      want[i * t.n + j] = static_cast<float>(act_ref(t.act, acc));
    }
  const TestTensor ta = TestTensor::f32(t.a, a), tb = TestTensor::f32({k, t.n}, b);
  const TestTensor tbias = TestTensor::f32({t.n}, bias), tr = TestTensor::f32(out, r);
  std::vector<const TestTensor*> ins = {&ta, &tb, t.bias ? &tbias : nullptr};
  std::vector<bool> cst = {false, t.b_const, true};
  if (t.residual) {
    ins.push_back(&tr);
    cst.push_back(false);
  }
  for (int threads : {1, 2}) {
    SCOPED_TRACE("MatMul A " + shape_str(t.a) + " N " + std::to_string(t.n) + (t.b_const ? " const B" : " B input") +
                 (t.bias ? " bias" : "") + (t.residual ? " R" : "") + " act " + std::to_string(t.act) + " threads " +
                 std::to_string(threads));
    TestTensor got;
    const Status st =
        run_model(fb::OpType::MatMul, ins, cst, {format::AttrDesc::Int("activation", t.act)}, threads, &got);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_EQ(got.shape, out);
    testing::expect_close(got.floats(), want, 2e-5f);
  }
}

TEST(MatMulEpilogue, ResidualAndGeluMatchReference) {
  const Case cases[] = {
      // Packed B (weights): 24-wide panels with a partial last one, rows not a multiple of 4.
      {{2, 7, 19}, 37, true, true, true, kGelu},
      {{2, 7, 19}, 37, true, true, true, kGeluTanh},
      {{3, 5, 33}, 50, true, false, true, 0},
      {{30, 300}, 70, true, true, true, kGelu},       // several K blocks
      {{1, 1, 96}, 53, true, true, true, kGeluTanh},  // M = 1: the GEMV path
      {{2, 64}, 40, true, true, true, kGelu},         // M = 2: GEMV with split chains
      {{6, 17}, 9, true, true, true, kRelu},          // clamp applied after R
      {{9, 40}, 24, true, true, false, kGelu},
      // B an input: the unpacked path adds R and runs the activation after the product.
      {{2, 7, 19}, 37, false, true, true, kGelu},
      {{5, 33}, 50, false, false, true, kGeluTanh},
      {{6, 17}, 9, false, true, true, kRelu},
      {{4, 12}, 8, false, false, false, kGelu},
  };
  uint32_t seed = 77;
  for (const Case& t : cases) run_case(t, seed += 5);
}

TEST(MatMulEpilogue, ResidualWithWrongShapeFailsAtPrepare) {
  const TestTensor a = TestTensor::f32({4, 8}, std::vector<float>(32, 1.f));
  const TestTensor b = TestTensor::f32({8, 6}, std::vector<float>(48, 1.f));
  const TestTensor r = TestTensor::f32({4, 5}, std::vector<float>(20, 1.f));
  TestTensor got;
  const Status st = run_model(fb::OpType::MatMul, {&a, &b, nullptr, &r}, {false, true, true, false}, {}, 1, &got);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("residual R"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("[4, 6]"), std::string::npos) << st.message();
}

TEST(GemmEpilogue, GeluMatchesReference) {
  for (int64_t act : {kGelu, kGeluTanh}) {
    for (bool b_const : {true, false}) {
      for (bool c_rows : {false, true}) {  // C [N] (a bias) or [M, N] (beta = 1: fused residual when B is packed)
        const int64_t m = 11, k = 150, n = 29;
        const std::vector<float> a = testing::random_floats(static_cast<size_t>(m * k), 5);
        const std::vector<float> b = testing::random_floats(static_cast<size_t>(n * k), 6, -0.2f, 0.2f);  // transB
        const std::vector<float> c = testing::random_floats(static_cast<size_t>((c_rows ? m : 1) * n), 7);
        std::vector<float> want(static_cast<size_t>(m * n));
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double acc = c[(c_rows ? i * n : 0) + j];
            for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(a[i * k + p]) * b[j * k + p];
            want[i * n + j] = static_cast<float>(act_ref(act, acc));
          }
        const TestTensor ta = TestTensor::f32({m, k}, a), tb = TestTensor::f32({n, k}, b);
        const TestTensor tc = c_rows ? TestTensor::f32({m, n}, c) : TestTensor::f32({n}, c);
        for (int threads : {1, 2}) {
          SCOPED_TRACE("Gemm act " + std::to_string(act) + (b_const ? " const B" : " B input") +
                       (c_rows ? " C [M,N]" : " C [N]") + " threads " + std::to_string(threads));
          TestTensor got;
          const Status st = run_model(
              fb::OpType::Gemm, {&ta, &tb, &tc}, {false, b_const, !c_rows},
              {format::AttrDesc::Int("transB", 1), format::AttrDesc::Int("activation", act)}, threads, &got);
          ASSERT_TRUE(st.ok()) << st.message();
          testing::expect_close(got.floats(), want, 2e-5f);
        }
      }
    }
  }
}

}  // namespace
}  // namespace pocket
