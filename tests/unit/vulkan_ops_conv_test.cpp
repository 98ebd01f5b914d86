// The Vulkan convolution family (engine/backends/vulkan/vk_ops_conv.cpp and its shaders) against
// the CPU ops: Conv (pointwise, general, grouped, depthwise with and without a channel
// multiplier; kernels 1x1 to 7x7 and 1xk, strides, dilations, asymmetric pads, auto_pad, bias or
// none, residual, every fused activation, odd channel counts, batch 2), ConvTranspose,
// MaxPool/AveragePool (ceil_mode, count_include_pad, dilations, auto_pad),
// GlobalAveragePool/GlobalMaxPool, LRN and SqueezeExcite (with and without biases), in fp32
// (1e-4 relative) and fp16 storage (1e-2). Each case is one node run by a session with backend
// "vulkan" (required, so a refusal is an error; the process-wide backend of vulkan_test_util.h)
// and by a CPU session; the test also checks that the node was offloaded and which shader ran.
// MobileNetV3-Small runs with every conv-family node on Vulkan against the CPU (fixture image).
// Without a Vulkan driver the device tests skip; the vk_supports_conv refusals run in every build
// with the Vulkan backend (POCKET_VULKAN=ON), device or not.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#ifdef POCKET_HAVE_VULKAN  // the Vulkan headers and vk_supports_conv (POCKET_VULKAN=ON builds)
#include "engine/backends/vulkan/vk_op.h"
#endif
#include "tests/unit/fixture_models.h"
#include "tests/unit/op_test_util.h"
#include "tests/unit/vulkan_test_util.h"

namespace pocket {
namespace {

using format::AttrDesc;
using testing::TestTensor;
using Kind = fb::ActivationKind;

// One node: inputs in order; an absent optional input is `present = false` (index -1 in the file).
struct NodeCase {
  fb::OpType op;
  std::vector<AttrDesc> attrs;
  struct In {
    TestTensor t;
    bool constant = false;
    bool present = true;
  };
  std::vector<In> ins;
};

std::vector<uint8_t> build(const NodeCase& c) {
  format::ModelDesc m;
  format::NodeDesc node;
  node.op = c.op;
  node.name = "node";
  node.attrs = c.attrs;
  for (size_t i = 0; i < c.ins.size(); ++i) {
    const NodeCase::In& in = c.ins[i];
    if (!in.present) {
      node.inputs.push_back(-1);
      continue;
    }
    format::TensorDesc d;
    d.name = "in" + std::to_string(i);
    d.dtype = in.t.dtype;
    d.shape = in.t.shape;
    if (in.constant) {
      d.has_data = true;
      d.data = in.t.bytes;
    }
    const int32_t idx = m.add_tensor(d);
    node.inputs.push_back(idx);
    if (!in.constant) m.inputs.push_back(idx);
  }
  format::TensorDesc out;
  out.name = "out";
  const int32_t o = m.add_tensor(out);
  node.outputs.push_back(o);
  m.outputs.push_back(o);
  m.nodes.push_back(node);
  return format::serialize(m);
}

struct RunResult {
  std::vector<float> y;
  Shape shape;
  std::string kernel;  // the offloaded node's kernel ("" on the CPU)
};

// Runs the node on `backend`; errors are test failures.
RunResult run(const NodeCase& c, const std::string& backend, bool fp16) {
  RunResult r;
  const std::vector<uint8_t> bytes = build(c);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return r;
  SessionOptions opts;
  opts.backend = backend;
  if (backend != "cpu") {
    // The process-wide backend of vulkan_test_util.h: pipelines are compiled once per binary.
    Backend* shared = testing::vulkan_backend_or_null(nullptr);
    EXPECT_NE(shared, nullptr);
    opts.custom_backend = std::shared_ptr<Backend>(shared, [](Backend*) {});
  }
  opts.backend_fp16 = fp16;
  opts.backend_required = backend != "cpu";
  auto session = Session::create(model.value(), opts);
  EXPECT_TRUE(session.ok()) << backend << ": " << session.status().message();
  if (!session.ok()) return r;
  Session& s = *session.value();
  for (size_t i = 0; i < c.ins.size(); ++i) {
    const NodeCase::In& in = c.ins[i];
    if (!in.present || in.constant) continue;
    const Status st = s.set_input("in" + std::to_string(i), in.t.dtype, in.t.shape, in.t.bytes.data());
    EXPECT_TRUE(st.ok()) << st.message();
  }
  s.run();
  EXPECT_TRUE(s.run_status().ok()) << s.run_status().message();
  const PartitionReport& p = s.partition();
  if (backend != "cpu") {
    EXPECT_EQ(p.ops_offloaded, 1) << p.summary();
    if (p.subgraphs.size() == 1 && p.subgraphs[0].kernels.size() == 1) r.kernel = p.subgraphs[0].kernels[0];
  }
  const Value& v = s.output(0);
  r.shape = v.shape;
  r.y.assign(v.as<float>(), v.as<float>() + v.elements());
  return r;
}

// Vulkan against the CPU; returns the Vulkan kernel name without the storage suffix the runtime
// adds (checked: "_f16" in fp16 mode, "_f32" otherwise). fp32 storage: 1e-4 of the largest
// magnitude (sums of hundreds of products in another order); fp16 storage: 1e-2.
std::string check(const NodeCase& c, bool fp16 = false, float tol = 0.f) {
  if (tol == 0.f) tol = fp16 ? 1e-2f : 1e-4f;
  const RunResult cpu = run(c, "cpu", false);
  const RunResult gpu = run(c, "vulkan", fp16);
  EXPECT_EQ(gpu.shape, cpu.shape);
  testing::expect_close(gpu.y, cpu.y, tol);
  const std::string suffix = fp16 ? "_f16" : "_f32";
  const std::string& k = gpu.kernel;
  if (k.size() < suffix.size() || k.compare(k.size() - suffix.size(), suffix.size(), suffix) != 0) {
    ADD_FAILURE() << "kernel '" << k << "' does not end with " << suffix;
    return k;
  }
  return k.substr(0, k.size() - suffix.size());
}

TestTensor rand_t(Shape shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  return TestTensor::f32(shape, testing::random_floats(static_cast<size_t>(num_elements(shape)), seed, lo, hi));
}

// ---------------------------------------------------------------------------------------------
// Conv

struct ConvCase {
  int64_t n = 1, h = 8, w = 8, c = 3, m = 8, kh = 3, kw = 3, group = 1;
  std::vector<int64_t> strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0};
  std::string auto_pad;  // "" : attribute left out
  bool bias = true, residual = false;
  Kind act = Kind::None;
  float alpha = 0.f, beta = 0.f;
};

int64_t out_dim(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, const std::string& ap) {
  if (ap == "SAME_UPPER" || ap == "SAME_LOWER") return (in + s - 1) / s;
  if (ap == "VALID") pb = pe = 0;
  return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

NodeCase conv_node(const ConvCase& t, uint32_t seed) {
  NodeCase c;
  c.op = fb::OpType::Conv;
  c.attrs = {AttrDesc::Ints("strides", t.strides), AttrDesc::Ints("dilations", t.dilations),
             AttrDesc::Ints("pads", t.pads), AttrDesc::Int("group", t.group),
             AttrDesc::Int("activation", static_cast<int64_t>(t.act)), AttrDesc::Float("act_alpha", t.alpha),
             AttrDesc::Float("act_beta", t.beta)};
  if (!t.auto_pad.empty()) c.attrs.push_back(AttrDesc::String("auto_pad", t.auto_pad));
  c.ins.push_back({rand_t({t.n, t.h, t.w, t.c}, seed, -2.f, 2.f)});
  c.ins.push_back({rand_t({t.m, t.c / t.group, t.kh, t.kw}, seed + 1, -0.5f, 0.5f), true});
  c.ins.push_back({rand_t({t.m}, seed + 2), true, t.bias});
  if (t.residual) {
    const int64_t oh = out_dim(t.h, t.kh, t.strides[0], t.dilations[0], t.pads[0], t.pads[2], t.auto_pad);
    const int64_t ow = out_dim(t.w, t.kw, t.strides[1], t.dilations[1], t.pads[1], t.pads[3], t.auto_pad);
    c.ins.push_back({rand_t({t.n, oh, ow, t.m}, seed + 3, -1.f, 1.f)});
  } else if (!t.bias) {
    c.ins.pop_back();  // B left out at the end
  }
  return c;
}

std::string case_name(const ConvCase& t) {
  auto ints = [](const std::vector<int64_t>& v) {
    std::string s;
    for (int64_t x : v) {
      if (!s.empty()) s += ',';
      s += std::to_string(x);
    }
    return s;
  };
  return "N" + std::to_string(t.n) + " H" + std::to_string(t.h) + " W" + std::to_string(t.w) + " C" +
         std::to_string(t.c) + " M" + std::to_string(t.m) + " k" + std::to_string(t.kh) + "x" + std::to_string(t.kw) +
         " g" + std::to_string(t.group) + " s" + ints(t.strides) + " d" + ints(t.dilations) + " p" + ints(t.pads) +
         " " + t.auto_pad + " act" + std::to_string(static_cast<int>(t.act)) + (t.bias ? " B" : "") +
         (t.residual ? " R" : "");
}

std::string check_conv(const ConvCase& t, bool fp16 = false) {
  SCOPED_TRACE(case_name(t) + (fp16 ? " fp16" : ""));
  return check(conv_node(t, static_cast<uint32_t>(t.c * 7 + t.m * 13 + t.kh * 3 + t.h)), fp16);
}

TEST(VulkanConv, PointwiseIsAGemm) {
  POCKET_REQUIRE_VULKAN();
  ConvCase t;
  t.kh = t.kw = 1;
  for (int64_t c : {3, 17, 96})
    for (int64_t m : {1, 4, 17, 96}) {
      t.c = c, t.m = m;
      EXPECT_EQ(check_conv(t), "vulkan.conv1x1");
    }
  t = ConvCase{};
  t.n = 2, t.h = 5, t.w = 7, t.c = 24, t.m = 40, t.kh = t.kw = 1;  // 35 pixels/image: partial quads
  EXPECT_EQ(check_conv(t), "vulkan.conv1x1");
  t.residual = true;
  t.act = Kind::Relu;
  EXPECT_EQ(check_conv(t), "vulkan.conv1x1");
}

TEST(VulkanConv, KernelSizesStridesDilationsPads) {
  POCKET_REQUIRE_VULKAN();
  ConvCase t;
  t.h = 11, t.w = 9;
  for (int64_t k : {3, 5, 7}) {
    for (int64_t s : {1, 2}) {
      t.kh = t.kw = k;
      t.strides = {s, s};
      t.pads = {k / 2, k / 2, k / 2, k / 2};
      t.c = 3, t.m = 17;
      EXPECT_EQ(check_conv(t), "vulkan.conv2d");
      t.c = 17, t.m = 8;
      check_conv(t);
    }
  }
  // 1xk and kx1, asymmetric pads, dilation, strides per axis.
  t = ConvCase{};
  t.h = 10, t.w = 12, t.c = 5, t.m = 6;
  t.kh = 1, t.kw = 5, t.pads = {0, 2, 0, 2};
  check_conv(t);
  t.kh = 7, t.kw = 1, t.pads = {3, 0, 3, 0};
  check_conv(t);
  t.kh = t.kw = 3, t.pads = {0, 1, 2, 1};
  check_conv(t);
  t.dilations = {2, 3}, t.pads = {2, 3, 1, 0};
  check_conv(t);
  t.dilations = {1, 1}, t.strides = {2, 1}, t.pads = {1, 0, 0, 2};
  check_conv(t);
  // 1x1 that is not a GEMM: strided, padded.
  t = ConvCase{};
  t.kh = t.kw = 1, t.strides = {2, 2}, t.c = 9, t.m = 12;
  EXPECT_EQ(check_conv(t), "vulkan.conv2d");
  t.strides = {1, 1}, t.pads = {1, 0, 0, 1};
  EXPECT_EQ(check_conv(t), "vulkan.conv2d");
}

TEST(VulkanConv, AutoPad) {
  POCKET_REQUIRE_VULKAN();
  ConvCase t;
  t.h = 9, t.w = 10, t.c = 4, t.m = 5, t.kh = 4, t.kw = 3, t.strides = {2, 2};
  for (const char* ap : {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
    t.auto_pad = ap;
    check_conv(t);
  }
}

TEST(VulkanConv, Groups) {
  POCKET_REQUIRE_VULKAN();
  ConvCase t;
  t.h = 7, t.w = 6, t.pads = {1, 1, 1, 1};
  t.c = 6, t.m = 10, t.group = 2;
  EXPECT_EQ(check_conv(t), "vulkan.conv2d");
  t.c = 9, t.m = 6, t.group = 3, t.strides = {2, 2};
  check_conv(t);
  t.c = 96, t.m = 96, t.group = 2, t.strides = {1, 1};  // 48 channels per group: 12 blocks each
  check_conv(t);
  t.c = 8, t.m = 4, t.group = 4, t.kh = t.kw = 1, t.pads = {0, 0, 0, 0};  // one output channel per group
  check_conv(t);
}

TEST(VulkanConv, Depthwise) {
  POCKET_REQUIRE_VULKAN();
  ConvCase t;
  t.h = 9, t.w = 8;
  for (int64_t c : {3, 17, 96})
    for (int64_t k : {3, 5})
      for (int64_t s : {1, 2}) {
        t.c = t.m = t.group = c;
        t.kh = t.kw = k;
        t.strides = {s, s};
        t.pads = {k / 2, k / 2, k / 2, k / 2};
        EXPECT_EQ(check_conv(t), c % 4 == 0 ? "vulkan.dwconv4" : "vulkan.dwconv");
      }
  // Dilation, asymmetric pads, batch 2, residual + activation, no bias.
  t = ConvCase{};
  t.n = 2, t.h = 10, t.w = 7, t.c = t.m = t.group = 17;
  t.dilations = {2, 2}, t.pads = {2, 1, 2, 3};
  t.residual = true, t.bias = false, t.act = Kind::HardSwish;
  EXPECT_EQ(check_conv(t), "vulkan.dwconv");
  t.c = t.m = t.group = 16;  // the same with vector loads
  EXPECT_EQ(check_conv(t), "vulkan.dwconv4");
  t.strides = {2, 1}, t.kh = 5, t.kw = 3, t.dilations = {1, 2}, t.bias = true, t.act = Kind::Clip, t.alpha = -1,
  t.beta = 1;
  EXPECT_EQ(check_conv(t), "vulkan.dwconv4");
  // Channel multiplier 2 and 3 (M = C * mult).
  t = ConvCase{};
  t.c = t.group = 4, t.m = 8, t.pads = {1, 1, 1, 1};
  EXPECT_EQ(check_conv(t), "vulkan.dwconv");
  t.c = t.group = 5, t.m = 15, t.strides = {2, 2};
  EXPECT_EQ(check_conv(t), "vulkan.dwconv");
}

TEST(VulkanConv, EveryActivationResidualAndBias) {
  POCKET_REQUIRE_VULKAN();
  struct A {
    Kind k;
    float a, b;
  };
  const A acts[] = {{Kind::None, 0, 0},        {Kind::Relu, 0, 0},      {Kind::Clip, -0.5f, 0.75f},
                    {Kind::HardSigmoid, 0.2f, 0.5f}, {Kind::HardSwish, 0, 0}, {Kind::Sigmoid, 0, 0},
                    {Kind::SiLU, 0, 0},        {Kind::Tanh, 0, 0},      {Kind::LeakyRelu, 0.1f, 0}};
  for (const A& a : acts) {
    ConvCase t;
    t.h = 6, t.w = 5, t.c = 7, t.m = 9, t.pads = {1, 1, 1, 1};
    t.act = a.k, t.alpha = a.a, t.beta = a.b;
    check_conv(t);
    t.residual = true;
    check_conv(t);
    t.bias = false;  // B absent (-1) while R is present
    check_conv(t);
    t.kh = t.kw = 1, t.pads = {0, 0, 0, 0};  // the pointwise epilogue
    check_conv(t);
  }
}

TEST(VulkanConv, BatchTwo) {
  POCKET_REQUIRE_VULKAN();
  ConvCase t;
  t.n = 2, t.h = 7, t.w = 7, t.c = 16, t.m = 24, t.pads = {1, 1, 1, 1}, t.strides = {2, 2};
  check_conv(t);
  t.kh = t.kw = 1, t.pads = {0, 0, 0, 0}, t.strides = {1, 1};
  check_conv(t);
}

TEST(VulkanConv, Fp16Storage) {
  POCKET_REQUIRE_VULKAN();
  ConvCase t;
  t.h = 9, t.w = 9, t.c = 17, t.m = 20, t.pads = {1, 1, 1, 1}, t.residual = true, t.act = Kind::HardSwish;
  check_conv(t, true);
  t.kh = t.kw = 1, t.pads = {0, 0, 0, 0};
  check_conv(t, true);
  t.c = t.m = t.group = 17, t.kh = t.kw = 3, t.pads = {1, 1, 1, 1};
  check_conv(t, true);
  t.c = t.m = t.group = 24;
  EXPECT_EQ(check_conv(t, true), "vulkan.dwconv4");
  t.c = 6, t.m = 9, t.group = 3;
  check_conv(t, true);
}

TEST(VulkanConv, ConvTranspose) {
  POCKET_REQUIRE_VULKAN();
  struct T {
    int64_t n, h, w, c, m, k, group;
    std::vector<int64_t> strides, dilations, pads, opad;
    std::string auto_pad;
    bool bias;
    Kind act;
  };
  const T cases[] = {
      {1, 5, 4, 3, 8, 3, 1, {2, 2}, {1, 1}, {1, 1, 1, 1}, {1, 1}, "", true, Kind::None},
      {2, 4, 6, 6, 4, 4, 2, {2, 2}, {1, 1}, {1, 1, 1, 1}, {0, 0}, "", false, Kind::Relu},
      {1, 3, 3, 5, 7, 3, 1, {1, 1}, {2, 1}, {0, 2, 1, 0}, {0, 0}, "", true, Kind::HardSwish},
      {1, 4, 5, 4, 6, 2, 1, {3, 2}, {1, 1}, {0, 0, 0, 0}, {2, 1}, "", true, Kind::Sigmoid},
      {1, 4, 4, 3, 5, 3, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}, {1, 1}, "SAME_UPPER", true, Kind::None},
      {1, 4, 4, 3, 5, 3, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}, {1, 1}, "SAME_LOWER", true, Kind::LeakyRelu},
      {1, 6, 6, 8, 8, 3, 8, {2, 2}, {1, 1}, {1, 1, 1, 1}, {1, 1}, "", true, Kind::Clip},  // depthwise
  };
  for (const T& t : cases) {
    SCOPED_TRACE("ConvTranspose " + std::to_string(t.h) + "x" + std::to_string(t.w) + "x" + std::to_string(t.c) +
                 " -> " + std::to_string(t.m) + " k" + std::to_string(t.k) + " g" + std::to_string(t.group) + " " +
                 t.auto_pad);
    NodeCase c;
    c.op = fb::OpType::ConvTranspose;
    c.attrs = {AttrDesc::Ints("strides", t.strides),        AttrDesc::Ints("dilations", t.dilations),
               AttrDesc::Ints("pads", t.pads),              AttrDesc::Ints("output_padding", t.opad),
               AttrDesc::Int("group", t.group),             AttrDesc::Int("activation", static_cast<int64_t>(t.act)),
               AttrDesc::Float("act_alpha", t.act == Kind::Clip ? -0.5f : 0.1f),
               AttrDesc::Float("act_beta", 0.5f)};
    if (!t.auto_pad.empty()) c.attrs.push_back(AttrDesc::String("auto_pad", t.auto_pad));
    const uint32_t seed = static_cast<uint32_t>(t.c * 7 + t.m + t.k);
    c.ins.push_back({rand_t({t.n, t.h, t.w, t.c}, seed, -2.f, 2.f)});
    c.ins.push_back({rand_t({t.c, t.m / t.group, t.k, t.k}, seed + 1, -0.5f, 0.5f), true});
    if (t.bias) c.ins.push_back({rand_t({t.m}, seed + 2), true});
    EXPECT_EQ(check(c), "vulkan.conv_transpose");
    check(c, true);
  }
}

// ---------------------------------------------------------------------------------------------
// Pools

struct PoolCase {
  bool max = true;
  int64_t n = 1, h = 9, w = 8, c = 5, kh = 3, kw = 3;
  std::vector<int64_t> strides{2, 2}, pads{0, 0, 0, 0}, dilations{1, 1};
  int64_t ceil_mode = 0, count_include_pad = 0;
  std::string auto_pad;
};

std::string check_pool(const PoolCase& t, bool fp16 = false) {
  SCOPED_TRACE(std::string(t.max ? "MaxPool" : "AveragePool") + " " + std::to_string(t.h) + "x" +
               std::to_string(t.w) + "x" + std::to_string(t.c) + " k" + std::to_string(t.kh) + "x" +
               std::to_string(t.kw) + " s" + std::to_string(t.strides[0]) + " p" + std::to_string(t.pads[0]) +
               std::to_string(t.pads[1]) + std::to_string(t.pads[2]) + std::to_string(t.pads[3]) + " d" +
               std::to_string(t.dilations[0]) + " ceil" + std::to_string(t.ceil_mode) + " cip" +
               std::to_string(t.count_include_pad) + " " + t.auto_pad + (fp16 ? " fp16" : ""));
  NodeCase c;
  c.op = t.max ? fb::OpType::MaxPool : fb::OpType::AveragePool;
  c.attrs = {AttrDesc::Ints("kernel_shape", {t.kh, t.kw}), AttrDesc::Ints("strides", t.strides),
             AttrDesc::Ints("pads", t.pads), AttrDesc::Int("ceil_mode", t.ceil_mode)};
  if (t.max) c.attrs.push_back(AttrDesc::Ints("dilations", t.dilations));
  else c.attrs.push_back(AttrDesc::Int("count_include_pad", t.count_include_pad));
  if (!t.auto_pad.empty()) c.attrs.push_back(AttrDesc::String("auto_pad", t.auto_pad));
  c.ins.push_back({rand_t({t.n, t.h, t.w, t.c}, static_cast<uint32_t>(t.h * 31 + t.c), -3.f, 3.f)});
  return check(c, fp16);
}

TEST(VulkanPool, MaxPool) {
  POCKET_REQUIRE_VULKAN();
  PoolCase t;
  EXPECT_EQ(check_pool(t), "vulkan.maxpool2d");
  t.pads = {1, 1, 1, 1};
  check_pool(t);
  t.ceil_mode = 1, t.h = 10, t.pads = {0, 1, 1, 0};
  check_pool(t);
  t.dilations = {2, 2}, t.pads = {1, 1, 1, 1};
  check_pool(t);
  t = PoolCase{};
  t.n = 2, t.c = 17, t.kh = 2, t.kw = 2, t.strides = {2, 2};
  check_pool(t);
  t.auto_pad = "SAME_UPPER", t.kh = t.kw = 3;
  check_pool(t);
  t.auto_pad = "SAME_LOWER";
  check_pool(t);
  t = PoolCase{};
  t.kh = 1, t.kw = 4, t.strides = {1, 3}, t.pads = {0, 2, 0, 1};
  check_pool(t);
}

TEST(VulkanPool, AveragePool) {
  POCKET_REQUIRE_VULKAN();
  PoolCase t;
  t.max = false;
  EXPECT_EQ(check_pool(t), "vulkan.avgpool2d");
  for (int64_t cip : {0, 1})
    for (int64_t ceil : {0, 1}) {
      t.count_include_pad = cip, t.ceil_mode = ceil;
      t.pads = {1, 1, 1, 1}, t.h = 10, t.w = 7;
      check_pool(t);
      t.pads = {0, 2, 1, 0}, t.kh = 3, t.kw = 4;
      check_pool(t);
      t.kh = t.kw = 3;
    }
  t = PoolCase{};
  t.max = false, t.n = 2, t.c = 96, t.h = t.w = 7, t.kh = t.kw = 7, t.strides = {1, 1};
  check_pool(t);
  t.auto_pad = "SAME_UPPER", t.kh = t.kw = 3, t.strides = {2, 2}, t.count_include_pad = 1;
  check_pool(t);
}

TEST(VulkanPool, GlobalPools) {
  POCKET_REQUIRE_VULKAN();
  for (bool is_max : {false, true})
    for (Shape s : {Shape{1, 7, 7, 96}, Shape{2, 5, 3, 17}, Shape{1, 1, 1, 3}, Shape{2, 13, 11, 9}}) {
      SCOPED_TRACE(std::string(is_max ? "GlobalMaxPool " : "GlobalAveragePool ") + shape_str(s));
      NodeCase c;
      c.op = is_max ? fb::OpType::GlobalMaxPool : fb::OpType::GlobalAveragePool;
      c.ins.push_back({rand_t(s, static_cast<uint32_t>(s[1] * 7 + s[3]), -2.f, 2.f)});
      EXPECT_EQ(check(c), is_max ? "vulkan.globalmaxpool" : "vulkan.globalavgpool");
      check(c, true);
    }
}

TEST(VulkanPool, Fp16Storage) {
  POCKET_REQUIRE_VULKAN();
  PoolCase t;
  t.pads = {1, 1, 1, 1}, t.c = 17;
  check_pool(t, true);
  t.max = false, t.count_include_pad = 1, t.ceil_mode = 1;
  check_pool(t, true);
}

TEST(VulkanPool, Lrn) {
  POCKET_REQUIRE_VULKAN();
  struct L {
    Shape s;
    int64_t size;
    float alpha, beta, bias;
  };
  for (const L& l : {L{{1, 5, 4, 17}, 5, 0.1f, 0.75f, 1.f}, L{{2, 3, 3, 8}, 3, 1e-4f, 0.75f, 2.f},
                     L{{1, 2, 3, 3}, 4, 0.5f, 0.5f, 1.5f}, L{{1, 2, 2, 96}, 1, 0.2f, 1.f, 1.f}}) {
    SCOPED_TRACE("LRN " + shape_str(l.s) + " size " + std::to_string(l.size));
    NodeCase c;
    c.op = fb::OpType::LRN;
    c.attrs = {AttrDesc::Int("size", l.size), AttrDesc::Float("alpha", l.alpha), AttrDesc::Float("beta", l.beta),
               AttrDesc::Float("bias", l.bias)};
    c.ins.push_back({rand_t(l.s, static_cast<uint32_t>(l.s[3] + l.size), -3.f, 3.f)});
    EXPECT_EQ(check(c), "vulkan.lrn");
    check(c, true);
  }
}

// ---------------------------------------------------------------------------------------------
// SqueezeExcite

struct SeCase {
  int64_t n, h, w, c, c1;
  Kind act;
  float act_alpha, act_beta;
  Kind gate;
  float gate_alpha, gate_beta;
  bool b1 = true, b2 = true;
};

std::string check_se(const SeCase& t, bool fp16 = false) {
  SCOPED_TRACE("SE N" + std::to_string(t.n) + " " + std::to_string(t.h) + "x" + std::to_string(t.w) + " C" +
               std::to_string(t.c) + " C1" + std::to_string(t.c1) + (t.b1 ? " B1" : "") + (t.b2 ? " B2" : "") +
               (fp16 ? " fp16" : ""));
  NodeCase c;
  c.op = fb::OpType::SqueezeExcite;
  c.attrs = {AttrDesc::Int("activation", static_cast<int64_t>(t.act)), AttrDesc::Float("act_alpha", t.act_alpha),
             AttrDesc::Float("act_beta", t.act_beta), AttrDesc::Int("gate", static_cast<int64_t>(t.gate)),
             AttrDesc::Float("gate_alpha", t.gate_alpha), AttrDesc::Float("gate_beta", t.gate_beta)};
  const uint32_t seed = static_cast<uint32_t>(t.c * 131 + t.c1);
  c.ins.push_back({rand_t({t.n, t.h, t.w, t.c}, seed, -2.f, 2.f)});
  c.ins.push_back({rand_t({t.c1, t.c, 1, 1}, seed + 1, -0.5f, 0.5f), true});
  c.ins.push_back({rand_t({t.c1}, seed + 2), true, t.b1});
  c.ins.push_back({rand_t({t.c, t.c1, 1, 1}, seed + 3, -0.5f, 0.5f), true});
  if (t.b2) c.ins.push_back({rand_t({t.c}, seed + 4), true});
  return check(c, fp16);
}

TEST(VulkanSqueezeExcite, MatchesCpu) {
  POCKET_REQUIRE_VULKAN();
  const float hs_a = 1.f / 6.f, hs_b = 0.5f;
  EXPECT_EQ(check_se({1, 7, 7, 96, 24, Kind::Relu, 0, 0, Kind::HardSigmoid, hs_a, hs_b}), "vulkan.squeeze_excite");
  check_se({2, 5, 3, 37, 11, Kind::Relu, 0, 0, Kind::HardSigmoid, hs_a, hs_b});
  check_se({1, 6, 6, 240, 10, Kind::SiLU, 0, 0, Kind::Sigmoid, 0, 0});
  check_se({2, 1, 1, 1, 1, Kind::SiLU, 0, 0, Kind::Sigmoid, 0, 0});
  SeCase t{2, 4, 6, 21, 5, Kind::Clip, -0.25f, 0.5f, Kind::Tanh, 0, 0};
  t.b1 = false;
  check_se(t);
  t = {1, 3, 3, 9, 4, Kind::LeakyRelu, 0.1f, 0, Kind::None, 0, 0};
  t.b2 = false;
  check_se(t);
  t = {1, 8, 2, 33, 7, Kind::None, 0, 0, Kind::HardSwish, 0, 0};
  t.b1 = t.b2 = false;
  check_se(t);
  check_se({1, 7, 7, 96, 24, Kind::Relu, 0, 0, Kind::HardSigmoid, hs_a, hs_b}, true);
}

// ---------------------------------------------------------------------------------------------
// A whole model: MobileNetV3-Small's conv-family nodes (Conv with residuals and HardSwish,
// depthwise 3x3/5x5 stride 1/2, SqueezeExcite, GlobalAveragePool) on Vulkan, everything else on
// the CPU, against the CPU alone. A backend that offers the Vulkan backend only the nodes of this
// family keeps the test about these shaders (other families are tested in their own files).

class ConvFamilyOnly final : public Backend {
 public:
  explicit ConvFamilyOnly(Backend& vk) : vk_(vk) {}
  const char* name() const override { return "vulkan"; }
  std::string device() const override { return vk_.device(); }
  bool is_accelerator() const override { return vk_.is_accelerator(); }
  Support supports(const NodeView& node) const override {
    switch (node.op()) {
      case fb::OpType::Conv:
      case fb::OpType::ConvTranspose:
      case fb::OpType::LRN:
      case fb::OpType::MaxPool:
      case fb::OpType::AveragePool:
      case fb::OpType::GlobalAveragePool:
      case fb::OpType::GlobalMaxPool:
      case fb::OpType::SqueezeExcite:
        return vk_.supports(node);
      default:
        return Support::no("not in the conv family (this test)");
    }
  }
  Result<std::unique_ptr<BackendExecutable>> prepare(const Subgraph& subgraph,
                                                     const BackendOptions& options) override {
    return vk_.prepare(subgraph, options);
  }

 private:
  Backend& vk_;
};

std::string fixture_dir() { return ::pocket::testing::unit_fixture_dir(); }

// The float32 data of a version-1 .npy file (the fixtures' inputs), empty if it is not one.
std::vector<float> read_npy_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[10];
  if (!f.read(magic, 10) || std::memcmp(magic, "\x93NUMPY\x01", 7) != 0) return {};
  const size_t header = static_cast<uint8_t>(magic[8]) | (static_cast<size_t>(static_cast<uint8_t>(magic[9])) << 8);
  std::string h(header, '\0');
  if (!f.read(h.data(), static_cast<std::streamsize>(header)) || h.find("'<f4'") == std::string::npos) return {};
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / 4);
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

// Runs the model on `input` (the fixture's image) when it fits input 0, else on random floats.
std::vector<float> run_model(Session& s, const std::vector<float>& input) {
  for (size_t i = 0; i < s.num_inputs(); ++i) {
    Value& in = s.input(i);
    std::vector<float> data = testing::random_floats(static_cast<size_t>(in.elements()), 5 + i, -2.f, 2.f);
    if (i == 0 && input.size() == data.size()) data = input;
    std::memcpy(in.data, data.data(), in.bytes());
  }
  s.run();
  EXPECT_TRUE(s.run_status().ok()) << s.run_status().message();
  const Value& o = s.output(0);
  return std::vector<float>(o.as<float>(), o.as<float>() + o.elements());
}

// One fixture model with its conv-family nodes on Vulkan against the CPU alone.
void check_model_conv_family(const std::string& name, int min_offloaded) {
  SCOPED_TRACE(name);
  std::string why;
  const std::string path = ::pocket::testing::fixture_pocket(name, &why);
  if (path.empty()) GTEST_SKIP() << why;
  auto model = Model::load_file(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto cpu = Session::create(model.value());
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  const std::vector<float> image = read_npy_f32(fixture_dir() + "/" + name + "_input.npy");
  const std::vector<float> want = run_model(*cpu.value(), image);
  for (bool fp16 : {false, true}) {
    SCOPED_TRACE(fp16 ? "fp16" : "fp32");
    SessionOptions opts;
    opts.backend = "vulkan";
    opts.backend_required = true;
    opts.backend_fp16 = fp16;
    opts.custom_backend = std::make_shared<ConvFamilyOnly>(*testing::vulkan_backend_or_null(nullptr));
    auto vk = Session::create(model.value(), opts);
    ASSERT_TRUE(vk.ok()) << vk.status().message();
    const PartitionReport& r = vk.value()->partition();
    // Every conv-family node went to Vulkan.
    for (const PartitionReport::CpuNode& n : r.stayed_on_cpu)
      EXPECT_NE(n.reason.find("not in the conv family"), std::string::npos) << n.label << ": " << n.reason;
    EXPECT_GE(r.ops_offloaded, min_offloaded) << r.summary();
    const std::vector<float> got = run_model(*vk.value(), image);
    // Logits after tens of layers: fp32 within 1e-3 of the largest logit; fp16 storage within 5e-2.
    testing::expect_close(got, want, fp16 ? 5e-2f : 1e-3f);
  }
}

TEST(VulkanConvModel, MobileNetV3SmallConvFamilyOffloaded) {
  POCKET_REQUIRE_VULKAN();
  check_model_conv_family("mobilenet_v3_small", 40);
}

// The other fixture models (seconds each on lavapipe): by hand, with
// --gtest_also_run_disabled_tests --gtest_filter='*ConvFamilyAllFixtures*'.
TEST(VulkanConvModel, DISABLED_ConvFamilyAllFixtures) {
  POCKET_REQUIRE_VULKAN();
  for (const char* m : {"mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "resnet18", "squeezenet1_1",
                        "shufflenet_v2_x1_0"})
    check_model_conv_family(m, 1);
}

// Timing of MobileNet-sized layers, Vulkan vs CPU (not a correctness test; run by hand with
// --gtest_also_run_disabled_tests --gtest_filter='*ConvTiming*').
double median_run_ms(const NodeCase& c, const std::string& backend) {
  const std::vector<uint8_t> bytes = build(c);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  SessionOptions opts;
  opts.backend = backend;
  if (backend != "cpu")
    opts.custom_backend = std::shared_ptr<Backend>(testing::vulkan_backend_or_null(nullptr), [](Backend*) {});
  auto session = Session::create(model.value(), opts);
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return 0;
  Session& s = *session.value();
  for (size_t i = 0; i < c.ins.size(); ++i) {
    const NodeCase::In& in = c.ins[i];
    if (!in.present || in.constant) continue;
    EXPECT_TRUE(s.set_input("in" + std::to_string(i), in.t.dtype, in.t.shape, in.t.bytes.data()).ok());
  }
  s.run();
  std::vector<double> ms;
  for (int i = 0; i < 7; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    s.run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

TEST(VulkanConvTiming, DISABLED_MobileNetLayers) {
  POCKET_REQUIRE_VULKAN();
  struct L {
    const char* what;
    ConvCase t;
  };
  std::vector<L> layers;
  ConvCase t;
  t.h = t.w = 224, t.c = 3, t.m = 16, t.strides = {2, 2}, t.pads = {1, 1, 1, 1}, t.act = Kind::HardSwish;
  layers.push_back({"stem 3x3 s2 224x224x3->16", t});
  t = ConvCase{};
  t.h = t.w = 56, t.c = t.m = t.group = 72, t.pads = {1, 1, 1, 1}, t.act = Kind::Relu;
  layers.push_back({"dw 3x3 56x56x72", t});
  t = ConvCase{};
  t.h = t.w = 28, t.c = 72, t.m = 24, t.kh = t.kw = 1;
  layers.push_back({"1x1 28x28 72->24", t});
  t = ConvCase{};
  t.h = t.w = 7, t.c = 96, t.m = 576, t.kh = t.kw = 1, t.act = Kind::HardSwish;
  layers.push_back({"1x1 7x7 96->576", t});
  t = ConvCase{};
  t.h = t.w = 28, t.c = 64, t.m = 64, t.pads = {1, 1, 1, 1}, t.act = Kind::Relu;
  layers.push_back({"3x3 28x28 64->64", t});
  t = ConvCase{};
  t.h = t.w = 2, t.c = 4, t.m = 4, t.kh = t.kw = 1;
  layers.push_back({"1x1 2x2 4->4 (overhead)", t});
  t.kh = t.kw = 3, t.pads = {1, 1, 1, 1};
  layers.push_back({"3x3 2x2 4->4 (overhead)", t});
  for (const L& l : layers) {
    const NodeCase c = conv_node(l.t, 3);
    const double gflop = 2.0 * l.t.n * l.t.m * (l.t.c / l.t.group) * l.t.kh * l.t.kw *
                         ((l.t.h + l.t.pads[0] + l.t.pads[2] - l.t.kh) / l.t.strides[0] + 1) *
                         ((l.t.w + l.t.pads[1] + l.t.pads[3] - l.t.kw) / l.t.strides[1] + 1) * 1e-9;
    const double v = median_run_ms(c, "vulkan"), cpu = median_run_ms(c, "cpu");
    std::printf("%-28s vulkan %8.3f ms (%.2f GFLOP/s)  cpu %8.3f ms\n", l.what, v, gflop / v * 1e3, cpu);
  }
}

#ifdef POCKET_HAVE_VULKAN
// ---------------------------------------------------------------------------------------------
// Refusals (no device needed): vk_supports_conv names what it does not run.

struct View {
  std::vector<uint8_t> bytes;
  std::shared_ptr<const Model> model;
  std::vector<Value> values;
  NodeView node;
};

// The node of `c` as the partitioner would show it, with `out` as the output shape.
std::unique_ptr<View> view_of(const NodeCase& c, const Shape& out) {
  auto v = std::make_unique<View>();
  v->bytes = build(c);
  auto model = Model::load_buffer(v->bytes.data(), v->bytes.size());
  if (!model.ok()) return nullptr;
  v->model = std::move(model.value());
  v->values.resize(c.ins.size() + 1);
  v->node.node = v->model->graph().nodes()->Get(0);
  for (size_t i = 0; i < c.ins.size(); ++i) {
    Value& val = v->values[i];
    val.name = "in";
    val.dtype = c.ins[i].t.dtype;
    val.shape = c.ins[i].t.shape;
    val.constant = c.ins[i].constant;
    val.data = c.ins[i].constant ? const_cast<uint8_t*>(c.ins[i].t.bytes.data()) : nullptr;
    v->node.inputs.push_back(c.ins[i].present ? &val : nullptr);
  }
  Value& y = v->values.back();
  y.name = "out";
  y.shape = out;
  v->node.outputs.push_back(&y);
  return v;
}

TEST(VulkanConvSupport, RefusesWhatItDoesNotRun) {
  vk::DeviceCaps caps;
  ConvCase t;
  t.pads = {1, 1, 1, 1};
  NodeCase c = conv_node(t, 1);
  auto v = view_of(c, {1, 8, 8, 8});
  ASSERT_TRUE(v);
  EXPECT_TRUE(vk::vk_supports_conv(v->node, caps).ok) << vk::vk_supports_conv(v->node, caps).reason;

  // A quantized input.
  v->values[0].dtype = DType::I8;
  Support s = vk::vk_supports_conv(v->node, caps);
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.reason.find("I8"), std::string::npos) << s.reason;
  v->values[0].dtype = DType::F32;
  // A weight computed at run time.
  v->values[1].constant = false;
  s = vk::vk_supports_conv(v->node, caps);
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.reason.find("constant"), std::string::npos) << s.reason;
  v->values[1].constant = true;
  // An output shape the window does not give.
  v->values.back().shape = {1, 7, 8, 8};
  s = vk::vk_supports_conv(v->node, caps);
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.reason.find("output"), std::string::npos) << s.reason;
  // Too large for 32-bit indices.
  v->values.back().shape = {1, 8, 8, 8};
  v->values[0].shape = {1, 8, 8, int64_t{1} << 31};
  s = vk::vk_supports_conv(v->node, caps);
  EXPECT_FALSE(s.ok);

  // LRN with a non-positive bias: a reason; other families' ops: an empty one (not ours).
  NodeCase lrn;
  lrn.op = fb::OpType::LRN;
  lrn.attrs = {AttrDesc::Int("size", 3), AttrDesc::Float("bias", 0.f)};
  lrn.ins.push_back({rand_t({1, 2, 2, 4}, 1)});
  auto vl = view_of(lrn, {1, 2, 2, 4});
  ASSERT_TRUE(vl);
  s = vk::vk_supports_conv(vl->node, caps);
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.reason.find("bias"), std::string::npos) << s.reason;
  NodeCase relu;
  relu.op = fb::OpType::Relu;
  relu.ins.push_back({rand_t({1, 4}, 1)});
  auto vr = view_of(relu, {1, 4});
  ASSERT_TRUE(vr);
  s = vk::vk_supports_conv(vr->node, caps);
  EXPECT_FALSE(s.ok);
  EXPECT_TRUE(s.reason.empty());
  EXPECT_EQ(vk::make_vk_op_conv(vr->node), nullptr);

  // MaxPool with its indices output.
  NodeCase mp;
  mp.op = fb::OpType::MaxPool;
  mp.attrs = {AttrDesc::Ints("kernel_shape", {2, 2}), AttrDesc::Ints("strides", {2, 2})};
  mp.ins.push_back({rand_t({1, 4, 4, 3}, 1)});
  auto vm = view_of(mp, {1, 2, 2, 3});
  ASSERT_TRUE(vm);
  EXPECT_TRUE(vk::vk_supports_conv(vm->node, caps).ok);
  Value idx;
  idx.dtype = DType::I64;
  idx.shape = {1, 2, 2, 3};
  vm->node.outputs.push_back(&idx);
  s = vk::vk_supports_conv(vm->node, caps);
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.reason.find("outputs"), std::string::npos) << s.reason;
}

#endif  // POCKET_HAVE_VULKAN

}  // namespace
}  // namespace pocket
