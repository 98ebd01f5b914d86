// The Vulkan runtime (engine/backends/vulkan/vk_backend.cpp): device selection, the one-node
// harness end to end, a multi-node subgraph (liveness plan, a view, weights, barriers), memory
// figures, transfers and their checks, the pipeline cache file. Skips without Vulkan.
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <cmath>
#include <limits>
#include <thread>

#include <unistd.h>

#include "tests/unit/fixture_models.h"
#include "tests/unit/vulkan_test_util.h"

namespace pocket::testing {
namespace {

using format::AttrDesc;
using fb::OpType;

TEST(VulkanRuntime, FirstOpAddEndToEnd) {
  POCKET_REQUIRE_VULKAN();
  OpSpec s{OpType::Add, {TestTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6}), TestTensor::f32({3}, {10, 20, 30})}};
  std::vector<TestTensor> out;
  std::string kernel;
  Status st = run_op_vulkan(s, &out, false, &kernel);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].floats(), (std::vector<float>{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(kernel, "vulkan.binary_f32");
  ASSERT_TRUE(run_op_vulkan(s, &out, true, &kernel).ok());
  EXPECT_EQ(out[0].floats(), (std::vector<float>{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(kernel, "vulkan.binary_f16");
}

TEST(VulkanRuntime, DeviceDescriptionAndSelection) {
  POCKET_REQUIRE_VULKAN();
  Backend* b = vulkan_backend_or_null(nullptr);
  EXPECT_STREQ(b->name(), "vulkan");
  EXPECT_EQ(b->interface_version(), kBackendInterfaceVersion);
  const std::string dev = b->device();
  EXPECT_NE(dev.find("Vulkan 1."), std::string::npos) << dev;
  std::printf("[ vulkan   ] device: %s (accelerator: %s)\n", dev.c_str(), b->is_accelerator() ? "yes" : "no");
  auto strict = make_vulkan_backend(/*allow_cpu_device=*/false);
  if (!b->is_accelerator()) {
    // The only device is a CPU implementation (lavapipe): refused unless asked for, by name.
    EXPECT_NE(dev.find("CPU driver"), std::string::npos) << dev;
    ASSERT_FALSE(strict.ok()) << "a CPU Vulkan device was taken without allow_cpu_device";
    EXPECT_EQ(strict.status().code(), StatusCode::kUnsupported);
    const std::string name = dev.substr(0, dev.find(','));
    EXPECT_NE(strict.status().message().find(name), std::string::npos) << strict.status().message();
  } else {
    EXPECT_TRUE(strict.ok()) << strict.status().message();
  }
}

TEST(VulkanRuntime, NoDriverIsACleanError) {
  // A bogus ICD list: the loader finds no driver; the backend says so instead of crashing.
  // (VK_DRIVER_FILES is the newer loaders' name for the same list and takes precedence.)
  const char* names[] = {"VK_ICD_FILENAMES", "VK_DRIVER_FILES"};
  std::string saved[2];
  bool had[2];
  for (int i = 0; i < 2; ++i) {
    const char* v = getenv(names[i]);
    had[i] = v != nullptr;
    saved[i] = v ? v : "";
    setenv(names[i], "/nonexistent/pocket_no_such_icd.json", 1);
  }
  auto r = make_vulkan_backend(true);
  for (int i = 0; i < 2; ++i) {
    if (had[i]) setenv(names[i], saved[i].c_str(), 1); else unsetenv(names[i]);
  }
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  std::string lower = r.status().message();
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(lower.find("vulkan"), std::string::npos) << r.status().message();  // also a POCKET_VULKAN=OFF build's message
}

TEST(VulkanRuntime, UnsupportedNodeHasAReason) {
  POCKET_REQUIRE_VULKAN();
  // An F16 output: a dtype the Vulkan backend does not hold (the node stays on the CPU).
  std::vector<TestTensor> out, cpu;
  OpSpec to_f16{OpType::Cast, {TestTensor::f32({4}, {1, 2, 3, 4})}, {}, {AttrDesc::Int("to", static_cast<int64_t>(DType::F16))}};
  ASSERT_TRUE(run_op(to_f16, &cpu).ok());
  Status s = run_op_vulkan(to_f16, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("float16"), std::string::npos) << s.message();
}

// x [4,6] -> Relu -> Reshape [6,4] -> MatMul W [4,3] (constant) + bias -> Sigmoid -> y [6,3], plus
// t = Neg(x) as a second output.
struct ChainModel {
  std::vector<uint8_t> bytes;
  std::vector<float> w = random_floats(12, 3), bias = random_floats(3, 4);
  ChainModel() {
    format::ModelDesc m;
    auto tensor = [&](const char* name, DType dt, Shape shape, const std::vector<float>* data = nullptr) {
      format::TensorDesc d;
      d.name = name;
      d.dtype = dt;
      d.shape = std::move(shape);
      if (data) {
        d.has_data = true;
        d.data.resize(data->size() * 4);
        std::memcpy(d.data.data(), data->data(), d.data.size());
      }
      return m.add_tensor(d);
    };
    int32_t x = tensor("x", DType::F32, {4, 6}), r = tensor("r", DType::F32, {}), v = tensor("v", DType::F32, {}),
            w = tensor("w", DType::F32, {4, 3}, &this->w), b = tensor("b", DType::F32, {3}, &bias),
            mm = tensor("mm", DType::F32, {}), y = tensor("y", DType::F32, {}), t = tensor("t", DType::F32, {});
    auto node = [&](OpType op, const char* name, std::vector<int32_t> in, std::vector<int32_t> out,
                    std::vector<AttrDesc> attrs = {}) {
      format::NodeDesc n;
      n.op = op;
      n.name = name;
      n.inputs = std::move(in);
      n.outputs = std::move(out);
      n.attrs = std::move(attrs);
      m.nodes.push_back(n);
    };
    node(OpType::Relu, "relu", {x}, {r});
    node(OpType::Reshape, "reshape", {r}, {v}, {AttrDesc::Ints("shape", {6, 4})});
    node(OpType::MatMul, "mm", {v, w, b}, {mm});
    node(OpType::Sigmoid, "sig", {mm}, {y});
    node(OpType::Neg, "neg", {x}, {t});
    m.inputs = {x};
    m.outputs = {y, t};
    bytes = format::serialize(m);
  }
};

TEST(VulkanRuntime, MultiNodeSubgraphPlanAndRepeatedRuns) {
  POCKET_REQUIRE_VULKAN();
  Backend* backend = vulkan_backend_or_null(nullptr);
  ChainModel cm;
  auto model = Model::load_buffer(cm.bytes.data(), cm.bytes.size());
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto cpu = Session::create(model.value(), {});
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  // The subgraph's values, with the shapes the CPU inferred.
  Value x{"x", DType::F32, {4, 6}}, r{"r", DType::F32, {4, 6}}, v{"v", DType::F32, {6, 4}},
      w{"w", DType::F32, {4, 3}, cm.w.data(), true}, b{"b", DType::F32, {3}, cm.bias.data(), true},
      mm{"mm", DType::F32, {6, 3}}, y{"y", DType::F32, {6, 3}}, t{"t", DType::F32, {4, 6}};
  const auto* nodes = model.value()->graph().nodes();
  Subgraph sg;
  auto add = [&](uint32_t i, std::vector<const Value*> in, std::vector<const Value*> out) {
    NodeView nv;
    nv.index = i;
    nv.node = nodes->Get(i);
    nv.inputs = std::move(in);
    nv.outputs = std::move(out);
    ASSERT_TRUE(backend->supports(nv).ok) << backend->supports(nv).reason;
    sg.nodes.push_back(nv);
  };
  add(0, {&x}, {&r});
  add(1, {&r}, {&v});
  add(2, {&v, &w, &b}, {&mm});
  add(3, {&mm}, {&y});
  add(4, {&x}, {&t});
  sg.inputs = {&x};
  sg.outputs = {&y, &t};
  for (bool fp16 : {false, true}) {
    SCOPED_TRACE(fp16 ? "fp16" : "fp32");
    BackendOptions opts;
    opts.fp16 = fp16;
    auto ex = backend->prepare(sg, opts);
    ASSERT_TRUE(ex.ok()) << ex.status().message();
    BackendExecutable& e = *ex.value();
    const std::vector<std::string> names = e.kernel_names();
    ASSERT_EQ(names.size(), 5u);
    EXPECT_EQ(names[1], "vulkan.view");
    EXPECT_EQ(names[2].rfind("vulkan.matmul", 0), 0u) << names[2];
    EXPECT_EQ(names[2].substr(names[2].size() - 4), fp16 ? "_f16" : "_f32");
    const DeviceMemory mem = e.memory();
    EXPECT_GE(mem.planned, mem.lower_bound);
    EXPECT_GT(mem.lower_bound, 0u);
    EXPECT_EQ(mem.weights > 0, true);
    EXPECT_GE(mem.allocated, mem.planned + mem.weights + mem.staging);
    // x, r(=v), mm, y, t: five fp32 buffers of at most 96 bytes; liveness lets some share.
    EXPECT_LT(mem.planned, 5u * 128u + 64u);
    for (uint32_t run = 0; run < 3; ++run) {
      SCOPED_TRACE("run " + std::to_string(run));
      std::vector<float> xin = random_floats(24, 100 + run);
      ASSERT_TRUE(cpu.value()->set_input("x", DType::F32, {4, 6}, xin.data()).ok());
      cpu.value()->run();
      ASSERT_TRUE(e.upload(0, xin.data(), xin.size() * 4).ok());
      ASSERT_TRUE(e.run().ok());
      std::vector<float> gy(18), gt(24);
      ASSERT_TRUE(e.download(0, gy.data(), gy.size() * 4).ok());
      ASSERT_TRUE(e.download(1, gt.data(), gt.size() * 4).ok());
      const Value& cy = cpu.value()->output(0);
      const Value& ct = cpu.value()->output(1);
      expect_close(gy, std::vector<float>(cy.as<float>(), cy.as<float>() + 18), fp16 ? 1e-2f : 1e-5f);
      expect_close(gt, std::vector<float>(ct.as<float>(), ct.as<float>() + 24), fp16 ? 1e-2f : 1e-6f);
    }
    // Transfer checks.
    std::vector<float> small(3);
    Status s = e.upload(0, small.data(), small.size() * 4);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("'x'"), std::string::npos) << s.message();
    EXPECT_EQ(e.upload(1, small.data(), 12).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(e.download(2, small.data(), 12).code(), StatusCode::kInvalidArgument);
  }
}

TEST(VulkanRuntime, Int64OverflowOnUploadRefused) {
  POCKET_REQUIRE_VULKAN();
  std::vector<TestTensor> out;
  OpSpec ok{OpType::Add, {TestTensor::i64({3}, {1, -2, 2147483000}), TestTensor::i64({1}, {7})}};
  ASSERT_TRUE(run_op_vulkan(ok, &out).ok());
  EXPECT_EQ(out[0].int64s(), (std::vector<int64_t>{8, 5, 2147483007}));
  OpSpec big{OpType::Add, {TestTensor::i64({3}, {1, int64_t{1} << 40, 3}), TestTensor::i64({1}, {7})}};
  Status s = run_op_vulkan(big, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("int32"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'in0'"), std::string::npos) << s.message();
}

// Two executables on the shared backend, prepared and run from two threads at once (pipelines and
// the queue are shared: the backend serialises what Vulkan requires).
TEST(VulkanRuntime, TwoThreadsShareTheBackend) {
  POCKET_REQUIRE_VULKAN();
  std::vector<std::string> errors(2);
  auto work = [&](int t) {
    for (int i = 0; i < 10; ++i) {
      const int64_t m = 5 + t + i, k = 7, n = 3 + i;
      OpSpec s{OpType::MatMul, {TestTensor::f32({m, k}, random_floats(static_cast<size_t>(m * k), 10 * t + i)),
                                TestTensor::f32({k, n}, random_floats(static_cast<size_t>(k * n), 99 + i))}};
      std::vector<TestTensor> got;
      Status st = run_op_vulkan(s, &got);
      if (!st.ok()) { errors[static_cast<size_t>(t)] = st.message(); return; }
      // Reference in double.
      const std::vector<float> a = s.inputs[0].floats(), b = s.inputs[1].floats(), y = got[0].floats();
      for (int64_t r = 0; r < m; ++r)
        for (int64_t c = 0; c < n; ++c) {
          double acc = 0;
          for (int64_t q = 0; q < k; ++q) acc += double(a[static_cast<size_t>(r * k + q)]) * b[static_cast<size_t>(q * n + c)];
          if (std::abs(acc - y[static_cast<size_t>(r * n + c)]) > 1e-4) {
            errors[static_cast<size_t>(t)] = "wrong value at " + std::to_string(r) + "," + std::to_string(c);
            return;
          }
        }
    }
  };
  std::thread t0(work, 0), t1(work, 1);
  t0.join();
  t1.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
}

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// A fresh backend (its own device, no pipelines yet) preparing and running a MatMul; returns ms.
double cold_prepare_ms(const std::string& cache_file, bool* ok) {
  auto b = make_vulkan_backend(true);
  *ok = b.ok();
  if (!b.ok()) return 0;
  OpSpec s{OpType::MatMul, {TestTensor::f32({8, 8}, random_floats(64, 1)), TestTensor::f32({8, 8}, random_floats(64, 2))}};
  VulkanSingleNode g;
  if (!g.build(s).ok()) { *ok = false; return 0; }
  BackendOptions o;
  o.pipeline_cache_file = cache_file;
  const auto t0 = std::chrono::steady_clock::now();
  auto ex = b.value()->prepare(g.subgraph, o);
  if (!ex.ok()) { *ok = false; return 0; }
  (void)ex.value()->upload(0, s.inputs[0].bytes.data(), 256);
  (void)ex.value()->upload(1, s.inputs[1].bytes.data(), 256);
  *ok = ex.value()->run().ok();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

TEST(VulkanRuntime, PipelineCacheFileWrittenReusedCorruptIgnored) {
  POCKET_REQUIRE_VULKAN();
  const std::string path = ::testing::TempDir() + "pocket_vk_cache_" + std::to_string(getpid()) + ".vkcache";
  std::remove(path.c_str());
  bool ok = false;
  const double cold = cold_prepare_ms(path, &ok);
  ASSERT_TRUE(ok);
  std::vector<uint8_t> data = read_all(path);
  ASSERT_GE(data.size(), 32u) << "no pipeline cache written to " << path;
  uint32_t hdr[2];
  std::memcpy(hdr, data.data(), 8);
  EXPECT_GE(hdr[0], 32u);
  EXPECT_EQ(hdr[1], 1u);  // VK_PIPELINE_CACHE_HEADER_VERSION_ONE
  const double warm = cold_prepare_ms(path, &ok);
  ASSERT_TRUE(ok);
  EXPECT_GE(read_all(path).size(), 32u);
  // Garbage and a foreign header: ignored (prepare succeeds) and replaced by a valid file.
  for (int variant = 0; variant < 2; ++variant) {
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      std::vector<uint8_t> junk(variant == 0 ? 7 : 4096, 0xA5);
      if (variant == 1) {
        const uint32_t h[4] = {32, 1, 0xdead, 0xbeef};
        std::memcpy(junk.data(), h, 16);
      }
      f.write(reinterpret_cast<const char*>(junk.data()), static_cast<std::streamsize>(junk.size()));
    }
    cold_prepare_ms(path, &ok);
    EXPECT_TRUE(ok) << "a corrupt pipeline cache file made prepare fail";
    std::vector<uint8_t> again = read_all(path);
    ASSERT_GE(again.size(), 32u);
    std::memcpy(hdr, again.data(), 8);
    EXPECT_EQ(hdr[1], 1u);
  }
  // An unwritable location is not an error either.
  cold_prepare_ms("/nonexistent-dir/x.vkcache", &ok);
  EXPECT_TRUE(ok);
  std::printf("[ vulkan   ] new device + prepare + first run of a MatMul: %.1f ms without a cache file, %.1f ms with it\n",
              cold, warm);
  std::remove(path.c_str());
}

// ---- Whole models through the session (SessionOptions::backend, engine/partition.h) -----------

// Runs `file` on the CPU and with every supported node on the shared Vulkan backend, the same
// random inputs, and compares every float output (rel. to the output's largest magnitude).
// fp16: 0 fp32, 1 fp16 storage, 2 fp16 storage and arithmetic (then every conv/MatMul/attention
// kernel must be an _f16a one).
void model_matches_cpu(const std::string& file, int fp16, float tol, bool expect_all_offloaded,
                       const std::vector<std::pair<std::string, Shape>>& shapes = {}) {
  std::string why;
  const std::string path = file[0] == '/' ? file : fixture_pocket(file, &why);
  if (path.empty()) GTEST_SKIP() << why;
  if (!std::ifstream(path).good()) GTEST_SKIP() << "no " << path << " (set POCKET_FIXTURE_DIR to a build's fixtures folder)";
  auto model = Model::load_file(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  SessionOptions o;
  o.input_shapes = shapes;
  o.backend = "vulkan";
  o.backend_fp16 = fp16 != 0;
  o.backend_fp16_arithmetic = fp16 == 2;
  o.backend_required = true;
  o.custom_backend = std::shared_ptr<Backend>(vulkan_backend_or_null(nullptr), [](Backend*) {});
  auto t0 = std::chrono::steady_clock::now();
  auto vk = Session::create(model.value(), o);
  ASSERT_TRUE(vk.ok()) << vk.status().message();
  const double create_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  SessionOptions co;
  co.input_shapes = shapes;
  auto cpu = Session::create(model.value(), co);
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  const PartitionReport& r = vk.value()->partition();
  if (expect_all_offloaded) EXPECT_EQ(r.ops_on_cpu, 0) << r.summary();
  if (fp16 == 2) {
    int arith = 0;
    for (const auto& part : r.subgraphs)
      for (const std::string& k : part.kernels) {
        const bool hot = k.find("conv") != std::string::npos || k.find("matmul") != std::string::npos ||
                         k.find("attention") != std::string::npos;
        if (hot && k.find("transpose") == std::string::npos) EXPECT_EQ(k.substr(k.size() - 5), "_f16a") << k;
        arith += k.size() > 5 && k.substr(k.size() - 5) == "_f16a";
      }
    EXPECT_GT(arith, 0) << r.summary();
    EXPECT_TRUE(vk.value()->notices().empty()) << vk.value()->notices().front();
  }
  for (Session* s : {vk.value().get(), cpu.value().get()}) {
    for (size_t i = 0; i < s->num_inputs(); ++i) {
      Value& in = s->input(i);
      std::vector<float> v = random_floats(static_cast<size_t>(in.elements()), 7 + static_cast<uint32_t>(i), 0.f, 1.f);
      if (in.dtype == DType::F32) {
        std::memcpy(in.data, v.data(), v.size() * 4);
      } else if (in.dtype == DType::I64) {
        // Token ids in [0, 1000); masks all ones.
        const bool mask = in.name.find("mask") != std::string_view::npos;
        for (size_t e = 0; e < v.size(); ++e) in.as<int64_t>()[e] = mask ? 1 : static_cast<int64_t>(v[e] * 1000);
      } else {
        FAIL() << "input dtype " << dtype_name(in.dtype);
      }
    }
  }
  t0 = std::chrono::steady_clock::now();
  vk.value()->run();
  const double first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(vk.value()->run_status().ok()) << status_code_name(vk.value()->run_status().code()) << ": " << vk.value()->run_status().message() << "\n" << r.summary(20);
  t0 = std::chrono::steady_clock::now();
  vk.value()->run();
  const double second_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  cpu.value()->run();
  for (size_t o2 = 0; o2 < cpu.value()->num_outputs(); ++o2) {
    const Value& want = cpu.value()->output(o2);
    const Value& got = vk.value()->output(o2);
    ASSERT_EQ(got.shape, want.shape);
    if (want.dtype != DType::F32) continue;
    const size_t n = static_cast<size_t>(want.elements());
    expect_close(std::vector<float>(got.as<float>(), got.as<float>() + n),
                 std::vector<float>(want.as<float>(), want.as<float>() + n), tol);
  }
  size_t planned = 0, allocated = 0;
  for (const auto& part : r.subgraphs) {
    planned += part.memory.planned;
    allocated += part.memory.allocated;
  }
  std::printf("%s", r.summary(20).c_str());
  std::printf("[ vulkan   ] %s %s: %d ops offloaded in %zu subgraph(s), %d on the CPU; session create %.0f ms, "
              "first run %.0f ms, second %.0f ms; device memory planned %zu, allocated %zu bytes\n",
              file.c_str(), precision_name(fp16), r.ops_offloaded, r.subgraphs.size(), r.ops_on_cpu, create_ms, first_ms,
              second_ms, planned, allocated);
}

TEST(VulkanModels, MobileNetV3SmallMatchesCpu) {
  POCKET_REQUIRE_VULKAN();
  model_matches_cpu("mobilenet_v3_small", 0, 1e-3f, true);
}

// DistilBERT (seq 16) from the transformer fixtures (exported at build time), fully offloaded.
void distilbert_matches_cpu(int fp16, float tol) {
  std::string why;
  const std::string path = pocket_or_converted(unit_fixture_dir() + "4/distilbert", "model", &why);
  if (path.empty()) GTEST_SKIP() << why;
  model_matches_cpu(path, fp16, tol, true, {{"input_ids", {1, 16}}, {"attention_mask", {1, 16}}});
}

TEST(VulkanModels, DistilBertMatchesCpu) {
  POCKET_REQUIRE_VULKAN();
  distilbert_matches_cpu(0, 1e-3f);
}

// fp16 storage and arithmetic over DistilBERT (MatMul, Gemm, attention in _f16a shaders).
TEST(VulkanModels, DistilBertFp16Arithmetic) {
  POCKET_REQUIRE_VULKAN();
  distilbert_matches_cpu(2, 5e-2f);
}

// device_memory_budget on the Vulkan backend: refused before any device allocation when the plan
// needs more (the model then runs on the CPU with a notice naming the parts), offloaded within it.
TEST(VulkanModels, DeviceMemoryBudget) {
  POCKET_REQUIRE_VULKAN();
  std::string why;
  const std::string path = fixture_pocket("mobilenet_v3_small", &why);
  if (path.empty()) GTEST_SKIP() << why;
  auto model = Model::load_file(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  SessionOptions o;
  o.backend = "vulkan";
  o.custom_backend = std::shared_ptr<Backend>(vulkan_backend_or_null(nullptr), [](Backend*) {});
  o.device_memory_budget = 4u << 20;  // fp32 MobileNetV3-Small needs 11.6 MiB
  auto small = Session::create(model.value(), o);
  ASSERT_TRUE(small.ok()) << small.status().message();
  EXPECT_EQ(small.value()->partition().ops_offloaded, 0) << small.value()->partition().summary();
  EXPECT_EQ(small.value()->memory().device, 0u);
  std::string note;
  for (const std::string& n : small.value()->notices()) note += n + "\n";
  EXPECT_NE(note.find("device memory budget leaves 4194304 bytes (checked before allocating)"), std::string::npos) << note;
  EXPECT_NE(note.find("weights "), std::string::npos) << note;
  o.device_memory_budget = 32u << 20;
  o.backend_required = true;
  auto big = Session::create(model.value(), o);
  ASSERT_TRUE(big.ok()) << big.status().message();
  EXPECT_EQ(big.value()->partition().ops_on_cpu, 0);
  EXPECT_GT(big.value()->memory().device, 4u << 20);
  EXPECT_LE(big.value()->memory().device, 32u << 20);
}

// fp16 storage over a whole model (the per-op tests cover fp16 on every op).
TEST(VulkanModels, MobileNetV3SmallFp16) {
  POCKET_REQUIRE_VULKAN();
  model_matches_cpu("mobilenet_v3_small", 1, 3e-2f, true);
}

// fp16 storage and arithmetic over a whole model (measured: 3.4e-3 of the largest logit).
TEST(VulkanModels, MobileNetV3SmallFp16Arithmetic) {
  POCKET_REQUIRE_VULKAN();
  model_matches_cpu("mobilenet_v3_small", 2, 3e-2f, true);
}

}  // namespace
}  // namespace pocket::testing
