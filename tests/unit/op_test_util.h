// Runs one op (or a small hand-built graph) through the real path: builder -> .pocket bytes ->
// Model::load_buffer -> Session -> run. Every op test uses this so that what is tested is what
// users run.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "format/builder.h"

namespace pocket::testing {

struct TestTensor {
  fb::DType dtype = fb::DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  static TestTensor f32(std::vector<int64_t> shape, const std::vector<float>& v) {
    TestTensor t{fb::DType::F32, std::move(shape), {}};
    t.bytes.resize(v.size() * 4);
    if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
    return t;
  }
  static TestTensor i64(std::vector<int64_t> shape, const std::vector<int64_t>& v) {
    TestTensor t{fb::DType::I64, std::move(shape), {}};
    t.bytes.resize(v.size() * 8);
    if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
    return t;
  }
  std::vector<float> floats() const {
    std::vector<float> v(bytes.size() / 4);
    if (!v.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
    return v;
  }
  std::vector<int64_t> int64s() const {
    std::vector<int64_t> v(bytes.size() / 8);
    if (!v.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
    return v;
  }
};

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// One node. Inputs are graph inputs unless marked constant (then stored as weights).
struct OpSpec {
  fb::OpType op;
  std::vector<TestTensor> inputs;
  std::vector<bool> constant;               // per input; default false
  std::vector<format::AttrDesc> attrs;
  int num_outputs = 1;
};

inline std::vector<uint8_t> build_single_op_model(const OpSpec& spec) {
  format::ModelDesc m;
  format::NodeDesc node;
  node.op = spec.op;
  node.name = "op";
  node.attrs = spec.attrs;
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const TestTensor& t = spec.inputs[i];
    format::TensorDesc d;
    d.name = "in" + std::to_string(i);
    d.dtype = t.dtype;
    d.shape = t.shape;
    bool is_const = i < spec.constant.size() && spec.constant[i];
    if (is_const) {
      d.has_data = true;
      d.data = t.bytes;
    }
    int32_t idx = m.add_tensor(d);
    node.inputs.push_back(idx);
    if (!is_const) m.inputs.push_back(idx);
  }
  for (int o = 0; o < spec.num_outputs; ++o) {
    format::TensorDesc d;
    d.name = "out" + std::to_string(o);
    int32_t idx = m.add_tensor(d);
    node.outputs.push_back(idx);
    m.outputs.push_back(idx);
  }
  m.nodes.push_back(node);
  return format::serialize(m);
}

// Runs the op; on a prepare error returns it (status), else fills outputs.
inline Status run_op(const OpSpec& spec, std::vector<TestTensor>* outputs, int threads = 1) {
  std::vector<uint8_t> bytes = build_single_op_model(spec);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  if (!model.ok()) return model.status();
  SessionOptions opts;
  opts.num_threads = threads;
  auto session = Session::create(model.value(), opts);
  if (!session.ok()) return session.status();
  Session& s = *session.value();
  size_t k = 0;
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    if (i < spec.constant.size() && spec.constant[i]) continue;
    const TestTensor& t = spec.inputs[i];
    POCKET_RETURN_IF_ERROR(s.set_input("in" + std::to_string(i), t.dtype, t.shape, t.bytes.data()));
    ++k;
  }
  s.run();
  outputs->clear();
  for (size_t o = 0; o < s.num_outputs(); ++o) {
    const Value& v = s.output(o);
    TestTensor t{v.dtype, v.shape, {}};
    t.bytes.resize(v.bytes());
    if (v.bytes()) std::memcpy(t.bytes.data(), v.data, v.bytes());
    outputs->push_back(std::move(t));
  }
  return Status::Ok();
}

// max |a-b| <= tol * max(1, max|b|)
inline void expect_close(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  float scale = 1.f, worst = 0.f;
  size_t worst_i = 0;
  for (float w : want) scale = std::max(scale, std::abs(w));
  for (size_t i = 0; i < got.size(); ++i) {
    // NaN where NaN is wanted matches; NaN on one side only fails (e is NaN).
    const float e = std::isnan(got[i]) && std::isnan(want[i]) ? 0.f : std::abs(got[i] - want[i]);
    if (!(e <= worst)) { worst = e; worst_i = i; }
  }
  EXPECT_LE(worst, tol * scale) << "at " << worst_i << ": got " << got[worst_i] << " want " << want[worst_i];
}

}  // namespace pocket::testing
