// The CPU backend (make_cpu_backend, engine/backend.cpp) as the reference backend: offloading to
// it gives bitwise the plain session's outputs, on small graphs and on the MobileNetV3-Small
// fixture offloaded wholesale. Also the C API's backend options and partition summary, and the
// named "vulkan" backend end to end when a Vulkan driver is present.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/model.h"
#include "engine/session.h"
#include "format/builder.h"
#include "pocket/pocket.h"
#include "tests/unit/fixture_models.h"
#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

using testing::random_floats;

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// x [1,8,8,4] -> Conv 3x3 (4 -> 8, pad 1, relu) -> Sigmoid -> Mul (by the conv output) -> Conv 1x1
// (8 -> 4, F16 weights: the CPU op sees an F32 copy) -> Add x -> y. Optional inputs left out.
std::vector<uint8_t> small_cnn() {
  format::ModelDesc md;
  auto tensor = [&](const std::string& name, std::vector<int64_t> shape, const std::vector<uint8_t>* data,
                    fb::DType dt = fb::DType::F32) {
    format::TensorDesc d;
    d.name = name;
    d.dtype = dt;
    d.shape = std::move(shape);
    if (data) {
      d.has_data = true;
      d.data = *data;
    }
    return md.add_tensor(d);
  };
  const std::vector<uint8_t> w1 = f32_bytes(random_floats(8 * 4 * 9, 1, -0.3f, 0.3f));
  const std::vector<uint8_t> b1 = f32_bytes(random_floats(8, 2));
  std::vector<uint8_t> w2(4 * 8 * 2);
  for (size_t i = 0; i < w2.size() / 2; ++i) {  // F16: small multiples of 1/64
    const uint16_t h = static_cast<uint16_t>(0x2000 + (i * 37 % 512));
    std::memcpy(&w2[2 * i], &h, 2);
  }
  const int32_t x = tensor("x", {1, 8, 8, 4}, nullptr);
  const int32_t tw1 = tensor("w1", {8, 4, 3, 3}, &w1), tb1 = tensor("b1", {8}, &b1);
  const int32_t tw2 = tensor("w2", {4, 8, 1, 1}, &w2, fb::DType::F16);
  const int32_t c1 = tensor("c1", {}, nullptr), sg = tensor("sg", {}, nullptr), m = tensor("m", {}, nullptr);
  const int32_t c2 = tensor("c2", {}, nullptr), y = tensor("y", {}, nullptr);
  auto node = [&](fb::OpType op, const std::string& name, std::vector<int32_t> in, int32_t out,
                  std::vector<format::AttrDesc> attrs = {}) {
    format::NodeDesc n;
    n.op = op;
    n.name = name;
    n.inputs = std::move(in);
    n.outputs = {out};
    n.attrs = std::move(attrs);
    md.nodes.push_back(n);
  };
  node(fb::OpType::Conv, "conv1", {x, tw1, tb1}, c1,
       {format::AttrDesc::Ints("pads", {1, 1, 1, 1}), format::AttrDesc::String("activation", "Relu")});
  node(fb::OpType::Sigmoid, "gate", {c1}, sg);
  node(fb::OpType::Mul, "scale", {c1, sg}, m);
  node(fb::OpType::Conv, "conv2", {m, tw2, -1}, c2);
  node(fb::OpType::Add, "residual", {c2, x}, y);
  md.inputs = {x};
  md.outputs = {y};
  return format::serialize(md);
}

std::shared_ptr<const Model> load(const std::vector<uint8_t>& bytes) {
  auto m = Model::load_buffer(bytes.data(), bytes.size());
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? m.value() : nullptr;
}

std::vector<std::vector<uint8_t>> run_with(Session& s, uint32_t seed) {
  for (size_t i = 0; i < s.num_inputs(); ++i) {
    Value& in = s.input(i);
    EXPECT_EQ(in.dtype, DType::F32);
    const std::vector<float> data = random_floats(static_cast<size_t>(in.elements()), seed + static_cast<uint32_t>(i));
    std::memcpy(in.data, data.data(), in.bytes());
  }
  s.run();
  EXPECT_TRUE(s.run_status().ok()) << s.run_status().message();
  std::vector<std::vector<uint8_t>> outs;
  for (size_t i = 0; i < s.num_outputs(); ++i) {
    const Value& o = s.output(i);
    const auto* p = static_cast<const uint8_t*>(o.data);
    outs.emplace_back(p, p + o.bytes());
  }
  return outs;
}

SessionOptions offload_to_cpu(int threads = 1) {
  SessionOptions o;
  o.num_threads = threads;
  o.backend = "vulkan";  // with a custom backend: offload everything it supports
  o.custom_backend = std::shared_ptr<Backend>(make_cpu_backend());
  return o;
}

TEST(BackendCpu, Identity) {
  auto b = make_cpu_backend();
  EXPECT_STREQ(b->name(), "cpu");
  EXPECT_FALSE(b->is_accelerator());
  EXPECT_EQ(b->interface_version(), kBackendInterfaceVersion);
  EXPECT_FALSE(b->device().empty());
}

TEST(BackendCpu, SmallCnnOffloadedWholeIsBitwiseEqual) {
  auto model = load(small_cnn());
  ASSERT_TRUE(model);
  for (int threads : {1, 2}) {
    SessionOptions plain;
    plain.num_threads = threads;
    auto cpu = Session::create(model, plain);
    auto off = Session::create(model, offload_to_cpu(threads));
    ASSERT_TRUE(cpu.ok()) << cpu.status().message();
    ASSERT_TRUE(off.ok()) << off.status().message();
    const PartitionReport& r = off.value()->partition();
    EXPECT_EQ(r.backend, "cpu");
    ASSERT_EQ(r.subgraphs.size(), 1u);
    EXPECT_EQ(r.ops_offloaded, 5);
    EXPECT_EQ(r.ops_on_cpu, 0);
    EXPECT_TRUE(r.stayed_on_cpu.empty());
    EXPECT_EQ(r.subgraphs[0].kernels.size(), 5u);
    for (const std::string& k : r.subgraphs[0].kernels) EXPECT_EQ(k.rfind("cpu.", 0), 0u) << k;
    EXPECT_EQ(r.subgraphs[0].uploads, 1);
    EXPECT_EQ(r.subgraphs[0].downloads, 1);
    EXPECT_EQ(r.subgraphs[0].upload_bytes, 8u * 8 * 4 * 4);
    EXPECT_GT(r.subgraphs[0].memory.allocated, 0u);
    // Offloaded ops are released: their packed weights with them.
    EXPECT_EQ(off.value()->memory().packed_weights, 0u);
    EXPECT_EQ(off.value()->memory().device, r.subgraphs[0].memory.allocated);
    for (uint32_t seed : {1u, 2u}) EXPECT_EQ(run_with(*off.value(), seed), run_with(*cpu.value(), seed));
  }
}

// device_memory_budget: a subgraph over the budget stays on the CPU with a notice (an error with
// backend_required); at the budget it is offloaded.
TEST(BackendCpu, DeviceMemoryBudget) {
  auto model = load(small_cnn());
  ASSERT_TRUE(model);
  auto unlimited = Session::create(model, offload_to_cpu());
  ASSERT_TRUE(unlimited.ok()) << unlimited.status().message();
  const size_t need = unlimited.value()->memory().device;
  ASSERT_GT(need, 0u);

  SessionOptions o = offload_to_cpu();
  o.device_memory_budget = need;
  auto fits = Session::create(model, o);
  ASSERT_TRUE(fits.ok()) << fits.status().message();
  EXPECT_EQ(fits.value()->partition().ops_on_cpu, 0);
  EXPECT_EQ(fits.value()->memory().device, need);

  o.device_memory_budget = need - 1;
  auto over = Session::create(model, o);
  ASSERT_TRUE(over.ok()) << over.status().message();
  const PartitionReport& r = over.value()->partition();
  EXPECT_EQ(r.ops_offloaded, 0) << r.summary();
  EXPECT_EQ(over.value()->memory().device, 0u);
  std::string notices;
  for (const std::string& n : over.value()->notices()) notices += n + "\n";
  EXPECT_NE(notices.find("memory budget leaves " + std::to_string(need - 1)), std::string::npos) << notices;
  ASSERT_FALSE(r.stayed_on_cpu.empty());
  EXPECT_NE(r.stayed_on_cpu[0].reason.find("budget"), std::string::npos) << r.stayed_on_cpu[0].reason;
  for (uint32_t seed : {1u, 2u}) EXPECT_EQ(run_with(*over.value(), seed), run_with(*unlimited.value(), seed));

  o.backend_required = true;
  auto required = Session::create(model, o);
  ASSERT_FALSE(required.ok());
  EXPECT_EQ(required.status().code(), StatusCode::kOutOfMemory) << required.status().message();
}

TEST(BackendCpu, MobileNetV3SmallOffloadedWholeIsBitwiseEqual) {
  std::string why;
  const std::string path = ::pocket::testing::fixture_pocket("mobilenet_v3_small", &why);
  if (path.empty()) GTEST_SKIP() << why;
  auto loaded = Model::load_file(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  auto cpu = Session::create(loaded.value());
  auto off = Session::create(loaded.value(), offload_to_cpu());
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  ASSERT_TRUE(off.ok()) << off.status().message();
  const PartitionReport& r = off.value()->partition();
  EXPECT_EQ(r.ops_on_cpu, 0) << r.summary();
  EXPECT_EQ(r.subgraphs.size(), 1u) << r.summary();
  EXPECT_EQ(static_cast<size_t>(r.ops_offloaded), cpu.value()->num_run_ops());
  EXPECT_EQ(off.value()->num_run_ops(), 1u);
  EXPECT_LT(off.value()->arena_bytes(), cpu.value()->arena_bytes());
  EXPECT_EQ(run_with(*off.value(), 11), run_with(*cpu.value(), 11));
}

// ---- C API ---------------------------------------------------------------------------------------

TEST(BackendCapi, OptionsAndSummary) {
  const std::vector<uint8_t> bytes = small_cnn();
  pocket_model* model = nullptr;
  ASSERT_EQ(pocket_model_load_buffer(bytes.data(), bytes.size(), &model), POCKET_OK);
  pocket_session_options o;
  pocket_session_options_init(&o);
  EXPECT_EQ(o.backend, nullptr);
  EXPECT_EQ(o.backend_fp16, 0);
  EXPECT_EQ(o.backend_required, 0);
  EXPECT_EQ(o.pipeline_cache_file, nullptr);
  pocket_session* s = nullptr;
  ASSERT_EQ(pocket_session_create(model, &o, &s), POCKET_OK);
  EXPECT_NE(std::string(pocket_session_partition_summary(s)).find("backend: cpu (requested cpu)"), std::string::npos)
      << pocket_session_partition_summary(s);
  pocket_session_free(s);

  o.backend = "auto";  // lavapipe is not an accelerator; no Vulkan: also the CPU
  ASSERT_EQ(pocket_session_create(model, &o, &s), POCKET_OK) << pocket_last_error();
  const std::string summary = pocket_session_partition_summary(s);
  EXPECT_NE(summary.find("requested auto"), std::string::npos) << summary;
  EXPECT_NE(summary.find("decision: auto: "), std::string::npos) << summary;
  EXPECT_EQ(pocket_session_run(s), POCKET_OK);
  pocket_memory_report mem;
  ASSERT_EQ(pocket_session_memory(s, &mem), POCKET_OK);
  EXPECT_EQ(mem.device, 0u);  // nothing offloaded
  pocket_session_free(s);

  o.backend = "cpu";
  o.backend_fp16 = 2;  // fp16 storage and arithmetic: accepted (the CPU backend ignores it)
  ASSERT_EQ(pocket_session_create(model, &o, &s), POCKET_OK) << pocket_last_error();
  pocket_session_free(s);
  o.backend_fp16 = 3;
  EXPECT_EQ(pocket_session_create(model, &o, &s), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("backend_fp16 must be 0"), std::string::npos) << pocket_last_error();
  o.backend_fp16 = 0;

  o.backend = "gpu";
  EXPECT_EQ(pocket_session_create(model, &o, &s), POCKET_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  EXPECT_NE(std::string(pocket_last_error()).find("'gpu'"), std::string::npos) << pocket_last_error();
  EXPECT_STREQ(pocket_session_partition_summary(nullptr), "");
  pocket_model_free(model);
}

// ---- The named Vulkan backend, when this machine has a Vulkan driver -----------------------------

TEST(BackendVulkanSession, SmallCnnMatchesTheCpu) {
  auto probe = make_vulkan_backend(true);
  if (!probe.ok()) GTEST_SKIP() << "no Vulkan backend: " << probe.status().message();
  auto model = load(small_cnn());
  ASSERT_TRUE(model);
  SessionOptions o;
  o.backend = "vulkan";
  auto vk = Session::create(model, o);
  ASSERT_TRUE(vk.ok()) << vk.status().message();
  auto cpu = Session::create(model);
  ASSERT_TRUE(cpu.ok());
  const PartitionReport& r = vk.value()->partition();
  EXPECT_EQ(r.requested, "vulkan");
  EXPECT_FALSE(r.decision.empty());
  auto a = run_with(*vk.value(), 3), b = run_with(*cpu.value(), 3);
  ASSERT_EQ(a.size(), b.size());
  std::vector<float> got(a[0].size() / 4), want(b[0].size() / 4);
  std::memcpy(got.data(), a[0].data(), a[0].size());
  std::memcpy(want.data(), b[0].data(), b[0].size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-3f * (1.0f + std::fabs(want[i]))) << i << "\n" << r.summary();
}

}  // namespace
}  // namespace pocket
