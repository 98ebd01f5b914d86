// Vulkan op tests (issue #7): one node of an OpSpec (op_test_util.h) run as a one-node Vulkan
// subgraph, compared with the CPU session running the same model. The process shares one Vulkan
// backend (lavapipe allowed), so every pipeline is JIT-compiled once per test binary; tests skip
// with the reason when there is none (no driver, or a build with POCKET_VULKAN=OFF).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "tests/unit/op_test_util.h"

namespace pocket::testing {

// An F32 tensor of uniform random values in [lo, hi) (seeded: the same every run).
inline TestTensor rand_f32(std::vector<int64_t> shape, uint32_t seed, float lo = -2.f, float hi = 2.f) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return TestTensor::f32(std::move(shape), random_floats(static_cast<size_t>(n), seed, lo, hi));
}

// The process-wide Vulkan backend (lavapipe allowed), or nullptr with *why set.
inline Backend* vulkan_backend_or_null(std::string* why) {
  static std::string reason;
  static std::unique_ptr<Backend> backend = [] {
    auto r = make_vulkan_backend(/*allow_cpu_device=*/true);
    if (!r.ok()) {
      reason = r.status().message();
      return std::unique_ptr<Backend>();
    }
    return std::move(r.value());
  }();
  if (!backend && why) *why = reason;
  return backend.get();
}

#define POCKET_REQUIRE_VULKAN()                                                               \
  do {                                                                                        \
    std::string why_;                                                                         \
    if (!::pocket::testing::vulkan_backend_or_null(&why_)) GTEST_SKIP() << "no Vulkan: " << why_; \
  } while (0)

// A one-node subgraph built from a CPU session of the same model: the values carry the CPU's
// final dtypes and shapes; constant inputs point at the spec's bytes.
struct VulkanSingleNode {
  std::shared_ptr<const Model> model;
  std::unique_ptr<Session> cpu;
  std::vector<Value> in_values, out_values;
  std::vector<std::string> in_names, out_names;
  NodeView view;
  Subgraph subgraph;

  Status build(const OpSpec& spec) {
    std::vector<uint8_t> bytes = build_single_op_model(spec);
    auto m = Model::load_buffer(bytes.data(), bytes.size());
    if (!m.ok()) return m.status();
    model = m.value();
    auto s = Session::create(model, {});
    if (!s.ok()) return s.status();
    cpu = std::move(s.value());
    in_values.resize(spec.inputs.size());
    in_names.resize(spec.inputs.size());
    for (size_t i = 0; i < spec.inputs.size(); ++i) {
      const TestTensor& t = spec.inputs[i];
      in_names[i] = "in" + std::to_string(i);
      Value& v = in_values[i];
      v.name = in_names[i];
      v.dtype = t.dtype;
      v.shape = t.shape;
      v.constant = i < spec.constant.size() && spec.constant[i];
      v.data = v.constant ? const_cast<uint8_t*>(t.bytes.data()) : nullptr;
    }
    out_values.resize(cpu->num_outputs());
    out_names.resize(cpu->num_outputs());
    for (size_t o = 0; o < cpu->num_outputs(); ++o) {
      out_names[o] = "out" + std::to_string(o);
      out_values[o].name = out_names[o];
      out_values[o].dtype = cpu->output(o).dtype;
      out_values[o].shape = cpu->output(o).shape;
    }
    view.index = 0;
    view.node = model->graph().nodes()->Get(0);
    for (Value& v : in_values) view.inputs.push_back(&v);
    for (Value& v : out_values) view.outputs.push_back(&v);
    subgraph.nodes = {view};
    for (Value& v : in_values)
      if (!v.constant) subgraph.inputs.push_back(&v);
    for (Value& v : out_values) subgraph.outputs.push_back(&v);
    return Status::Ok();
  }
};

// Runs spec's single node as one Vulkan subgraph (every non-constant input uploaded, every
// output downloaded; shapes and dtypes taken from a CPU session of the same model). Returns
// kUnsupported with supports()'s reason when the backend refuses the node. fp16: 0 fp32, 1 fp16
// storage, 2 fp16 storage and arithmetic (BackendOptions::fp16_arithmetic).
inline const char* precision_name(int fp16) { return fp16 == 2 ? "fp16 arithmetic" : fp16 ? "fp16" : "fp32"; }
inline Status run_op_vulkan(const OpSpec& spec, std::vector<TestTensor>* outputs, int fp16 = 0,
                            std::string* kernel = nullptr) {
  std::string why;
  Backend* backend = vulkan_backend_or_null(&why);
  if (!backend) return Status(StatusCode::kUnsupported, "no Vulkan: " + why);
  VulkanSingleNode g;
  POCKET_RETURN_IF_ERROR(g.build(spec));
  Support sup = backend->supports(g.view);
  if (!sup.ok) return Status(StatusCode::kUnsupported, sup.reason);
  BackendOptions opts;
  opts.fp16 = fp16 != 0;
  opts.fp16_arithmetic = fp16 == 2;
  auto ex = backend->prepare(g.subgraph, opts);
  if (!ex.ok()) return ex.status();
  BackendExecutable& e = *ex.value();
  size_t k = 0;
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    if (g.in_values[i].constant) continue;
    POCKET_RETURN_IF_ERROR(e.upload(k++, spec.inputs[i].bytes.data(), spec.inputs[i].bytes.size()));
  }
  POCKET_RETURN_IF_ERROR(e.run());
  outputs->clear();
  for (size_t o = 0; o < g.out_values.size(); ++o) {
    const Value& v = g.out_values[o];
    TestTensor t{v.dtype, v.shape, {}};
    t.bytes.resize(v.bytes());
    POCKET_RETURN_IF_ERROR(e.download(o, t.bytes.data(), t.bytes.size()));
    outputs->push_back(std::move(t));
  }
  if (kernel) {
    auto names = e.kernel_names();
    *kernel = names.empty() ? "" : names[0];
  }
  return Status::Ok();
}

// Asserts supported and every output within tol of the CPU (expect_close for floats, exact for
// ints/bools).
inline void expect_vulkan_matches_cpu(const OpSpec& spec, float tol = 1e-4f, int fp16 = 0) {
  std::vector<TestTensor> want, got;
  Status s = run_op(spec, &want);
  ASSERT_TRUE(s.ok()) << "CPU: " << s.message();
  s = run_op_vulkan(spec, &got, fp16);
  ASSERT_TRUE(s.ok()) << "Vulkan " << precision_name(fp16) << ": " << s.message();
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < want.size(); ++o) {
    SCOPED_TRACE("output " + std::to_string(o) + " (" + precision_name(fp16) + ")");
    ASSERT_EQ(got[o].dtype, want[o].dtype);
    ASSERT_EQ(got[o].shape, want[o].shape);
    if (want[o].dtype == DType::F32) {
      expect_close(got[o].floats(), want[o].floats(), tol);
    } else {
      ASSERT_EQ(got[o].bytes.size(), want[o].bytes.size());
      EXPECT_TRUE(got[o].bytes == want[o].bytes) << "integer/bool output differs from the CPU";
    }
  }
}

}  // namespace pocket::testing
