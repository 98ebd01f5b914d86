// SqueezeExcite (engine/ops/squeeze_excite.cpp) against a plain-loop reference: several shapes
// (channel counts that are not multiples of 8, batch 2), both activation pairs the models use
// (Relu/HardSigmoid, SiLU/Sigmoid) and others, with and without biases, 1 and 2 threads; and the
// prepare errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

using format::AttrDesc;
using testing::TestTensor;

using Kind = fb::ActivationKind;

float activate(Kind k, float a, float b, float x) {
  switch (k) {
    case Kind::None: return x;
    case Kind::Relu: return std::max(x, 0.f);
    case Kind::Clip: return std::min(b, std::max(a, x));
    case Kind::HardSigmoid: return std::min(1.f, std::max(0.f, a * x + b));
    case Kind::HardSwish: return x * std::min(1.f, std::max(0.f, x / 6.f + 0.5f));
    case Kind::Sigmoid: return 1.f / (1.f + std::exp(-x));
    case Kind::SiLU: return x / (1.f + std::exp(-x));
    case Kind::Tanh: return std::tanh(x);
    case Kind::LeakyRelu: return x < 0 ? a * x : x;
    default: break;  // Gelu forms: SqueezeExcite never carries them
  }
  return x;
}

struct SeCase {
  int64_t n, h, w, c, c1;
  Kind act;
  float act_alpha, act_beta;
  Kind gate;
  float gate_alpha, gate_beta;
  bool b1 = true, b2 = true;
};

struct SeData {
  std::vector<float> x, w1, b1, w2, b2;
};

SeData make_data(const SeCase& t, uint32_t seed) {
  SeData d;
  d.x = testing::random_floats(t.n * t.h * t.w * t.c, seed, -2.f, 2.f);
  d.w1 = testing::random_floats(t.c1 * t.c, seed + 1, -0.5f, 0.5f);
  d.b1 = testing::random_floats(t.c1, seed + 2);
  d.w2 = testing::random_floats(t.c * t.c1, seed + 3, -0.5f, 0.5f);
  d.b2 = testing::random_floats(t.c, seed + 4);
  return d;
}

// The obvious loops, in double.
std::vector<float> reference(const SeCase& t, const SeData& d) {
  const int64_t hw = t.h * t.w;
  std::vector<float> y(d.x.size());
  for (int64_t b = 0; b < t.n; ++b) {
    std::vector<double> mean(t.c, 0.0), mid(t.c1), gate(t.c);
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t c = 0; c < t.c; ++c) mean[c] += d.x[(b * hw + p) * t.c + c];
    for (double& m : mean) m /= static_cast<double>(hw);
    for (int64_t j = 0; j < t.c1; ++j) {
      double s = t.b1 ? d.b1[j] : 0.0;
      for (int64_t c = 0; c < t.c; ++c) s += d.w1[j * t.c + c] * mean[c];
      mid[j] = activate(t.act, t.act_alpha, t.act_beta, static_cast<float>(s));
    }
    for (int64_t c = 0; c < t.c; ++c) {
      double s = t.b2 ? d.b2[c] : 0.0;
      for (int64_t j = 0; j < t.c1; ++j) s += d.w2[c * t.c1 + j] * mid[j];
      gate[c] = activate(t.gate, t.gate_alpha, t.gate_beta, static_cast<float>(s));
    }
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t c = 0; c < t.c; ++c) {
        const int64_t i = (b * hw + p) * t.c + c;
        y[i] = static_cast<float>(d.x[i] * gate[c]);
      }
  }
  return y;
}

std::vector<AttrDesc> se_attrs(const SeCase& t) {
  return {AttrDesc::Int("activation", static_cast<int64_t>(t.act)), AttrDesc::Float("act_alpha", t.act_alpha),
          AttrDesc::Float("act_beta", t.act_beta), AttrDesc::Int("gate", static_cast<int64_t>(t.gate)),
          AttrDesc::Float("gate_alpha", t.gate_alpha), AttrDesc::Float("gate_beta", t.gate_beta)};
}

// One SqueezeExcite node; an absent bias is input -1 (B1) or left out (B2).
std::vector<uint8_t> build_model(const SeCase& t, const SeData& d, bool x_constant_w1 = true) {
  format::ModelDesc m;
  format::NodeDesc node;
  node.op = fb::OpType::SqueezeExcite;
  node.name = "se";
  node.attrs = se_attrs(t);
  auto add = [&](const std::string& name, std::vector<int64_t> shape, const std::vector<float>* data) {
    format::TensorDesc td;
    td.name = name;
    td.shape = std::move(shape);
    if (data) {
      td.has_data = true;
      td.data.resize(data->size() * 4);
      std::memcpy(td.data.data(), data->data(), td.data.size());
    }
    return m.add_tensor(td);
  };
  const int32_t x = add("x", {t.n, t.h, t.w, t.c}, nullptr);
  m.inputs.push_back(x);
  node.inputs.push_back(x);
  const int32_t w1 = add("w1", {t.c1, t.c, 1, 1}, x_constant_w1 ? &d.w1 : nullptr);
  if (!x_constant_w1) m.inputs.push_back(w1);
  node.inputs.push_back(w1);
  node.inputs.push_back(t.b1 ? add("b1", {t.c1}, &d.b1) : -1);
  node.inputs.push_back(add("w2", {t.c, t.c1, 1, 1}, &d.w2));
  if (t.b2) node.inputs.push_back(add("b2", {t.c}, &d.b2));
  const int32_t y = add("y", {}, nullptr);
  node.outputs.push_back(y);
  m.outputs.push_back(y);
  m.nodes.push_back(node);
  return format::serialize(m);
}

void check_case(const SeCase& t, int threads) {
  SCOPED_TRACE("N" + std::to_string(t.n) + " H" + std::to_string(t.h) + " W" + std::to_string(t.w) + " C" +
               std::to_string(t.c) + " C1" + std::to_string(t.c1) + " threads " + std::to_string(threads));
  const SeData d = make_data(t, static_cast<uint32_t>(t.c * 131 + t.c1 + t.h));
  const std::vector<uint8_t> bytes = build_model(t, d);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(model.ok()) << model.status().message();
  SessionOptions opts;
  opts.num_threads = threads;
  auto session = Session::create(model.value(), opts);
  ASSERT_TRUE(session.ok()) << session.status().message();
  Session& s = *session.value();
  ASSERT_TRUE(s.set_input("x", DType::F32, {t.n, t.h, t.w, t.c}, d.x.data()).ok());
  s.run();
  const Value& y = s.output(0);
  ASSERT_EQ(y.shape, (Shape{t.n, t.h, t.w, t.c}));
  std::vector<float> got(y.as<float>(), y.as<float>() + y.elements());
  testing::expect_close(got, reference(t, d), 2e-5f);
  // A second run gives the same bytes (scratch fully rewritten, nothing accumulated).
  s.run();
  std::vector<float> again(y.as<float>(), y.as<float>() + y.elements());
  EXPECT_EQ(got, again);
}

TEST(SqueezeExcite, MatchesReferenceMobileNetV3Form) {
  const float hs_a = 1.f / 6.f, hs_b = 0.5f;
  for (int threads : {1, 2}) {
    check_case({1, 56, 56, 16, 8, Kind::Relu, 0, 0, Kind::HardSigmoid, hs_a, hs_b}, threads);
    check_case({1, 7, 7, 96, 24, Kind::Relu, 0, 0, Kind::HardSigmoid, hs_a, hs_b}, threads);
    check_case({2, 5, 3, 37, 11, Kind::Relu, 0, 0, Kind::HardSigmoid, hs_a, hs_b}, threads);
    // FC layers large enough to be split over the pool (64-column tiles, a partial last one).
    check_case({1, 7, 7, 576, 144, Kind::Relu, 0, 0, Kind::HardSigmoid, hs_a, hs_b}, threads);
  }
}

TEST(SqueezeExcite, MatchesReferenceEfficientNetForm) {
  for (int threads : {1, 2}) {
    check_case({1, 14, 14, 240, 10, Kind::SiLU, 0, 0, Kind::Sigmoid, 0, 0}, threads);
    check_case({2, 9, 11, 13, 3, Kind::SiLU, 0, 0, Kind::Sigmoid, 0, 0}, threads);
    check_case({2, 1, 1, 1, 1, Kind::SiLU, 0, 0, Kind::Sigmoid, 0, 0}, threads);
    check_case({2, 3, 5, 300, 60, Kind::SiLU, 0, 0, Kind::Sigmoid, 0, 0}, threads);
  }
}

TEST(SqueezeExcite, OtherActivationsAndMissingBiases) {
  SeCase t{2, 4, 6, 21, 5, Kind::Clip, -0.25f, 0.5f, Kind::Tanh, 0, 0};
  t.b1 = false;
  check_case(t, 2);
  t = {1, 3, 3, 9, 4, Kind::LeakyRelu, 0.1f, 0, Kind::None, 0, 0};
  t.b2 = false;
  check_case(t, 1);
  t = {1, 8, 2, 33, 7, Kind::None, 0, 0, Kind::HardSwish, 0, 0};
  t.b1 = t.b2 = false;
  check_case(t, 2);
}

TEST(SqueezeExcite, ProfileNamesTheKernel) {
  const SeCase t{1, 4, 4, 8, 2, Kind::Relu, 0, 0, Kind::Sigmoid, 0, 0};
  const SeData d = make_data(t, 7);
  const std::vector<uint8_t> bytes = build_model(t, d);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(model.ok());
  auto session = Session::create(model.value(), {});
  ASSERT_TRUE(session.ok()) << session.status().message();
  const std::vector<OpProfile> info = session.value()->profile_info();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].op, "SqueezeExcite");
  EXPECT_EQ(info[0].kernel, "pocket.se");
  EXPECT_EQ(info[0].flops, 2 * (8 * 2 * 2) + 16 * 8 * 2);
}

Status prepare_error(const testing::OpSpec& spec) {
  std::vector<TestTensor> out;
  return testing::run_op(spec, &out);
}

testing::OpSpec valid_spec(int64_t c, int64_t c1) {
  const SeCase t{1, 3, 3, c, c1, Kind::Relu, 0, 0, Kind::Sigmoid, 0, 0};
  testing::OpSpec spec{fb::OpType::SqueezeExcite,
                       {TestTensor::f32({1, 3, 3, c}, testing::random_floats(9 * c, 1)),
                        TestTensor::f32({c1, c, 1, 1}, testing::random_floats(c1 * c, 2)),
                        TestTensor::f32({c1}, testing::random_floats(c1, 3)),
                        TestTensor::f32({c, c1, 1, 1}, testing::random_floats(c * c1, 4)),
                        TestTensor::f32({c}, testing::random_floats(c, 5))},
                       {false, true, true, true, true},
                       se_attrs(t)};
  return spec;
}

TEST(SqueezeExcite, PrepareRejectsBadShapesAndOperands) {
  ASSERT_TRUE(prepare_error(valid_spec(8, 2)).ok());

  auto expect_error = [](const testing::OpSpec& spec, const std::string& needle) {
    Status st = prepare_error(spec);
    ASSERT_FALSE(st.ok()) << "expected an error mentioning '" << needle << "'";
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("SqueezeExcite"), std::string::npos) << st.message();
  };

  testing::OpSpec s = valid_spec(8, 2);
  s.inputs[1] = TestTensor::f32({2, 7, 1, 1}, testing::random_floats(14, 2));
  expect_error(s, "W1");

  s = valid_spec(8, 2);
  s.inputs[3] = TestTensor::f32({8, 3, 1, 1}, testing::random_floats(24, 2));
  expect_error(s, "W2");

  s = valid_spec(8, 2);
  s.inputs[2] = TestTensor::f32({3}, testing::random_floats(3, 2));
  expect_error(s, "B1");

  s = valid_spec(8, 2);
  s.inputs[4] = TestTensor::f32({7}, testing::random_floats(7, 2));
  expect_error(s, "B2");

  s = valid_spec(8, 2);
  s.constant[1] = false;  // W1 fed at run time
  expect_error(s, "W1 must be a constant");

  s = valid_spec(8, 2);
  s.inputs[0] = TestTensor::f32({1, 9, 8}, testing::random_floats(72, 1));
  expect_error(s, "input X");

  s = valid_spec(8, 2);
  s.attrs[3] = AttrDesc::Int("gate", 99);
  expect_error(s, "gate");

  s = valid_spec(8, 2);
  s.attrs[0] = AttrDesc::Int("activation", static_cast<int64_t>(Kind::Clip));
  s.attrs[1] = AttrDesc::Float("act_alpha", 1.f);
  s.attrs[2] = AttrDesc::Float("act_beta", 0.f);
  expect_error(s, "Clip");

  s = valid_spec(8, 2);
  s.inputs.resize(3);
  s.constant.resize(3);
  expect_error(s, "inputs");
}

}  // namespace
}  // namespace pocket
