// The partitioner (engine/partition.h) and the session's backend steps (SessionOptions::backend,
// custom_backend), with a fake backend defined here: it supports a chosen set of op types and
// runs what it gets through make_cpu_backend(), so outputs must be bitwise the CPU session's.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/model.h"
#include "engine/partition.h"
#include "engine/session.h"
#include "format/builder.h"
#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

using testing::random_floats;

// ---- A fake backend ------------------------------------------------------------------------------

struct FakeStats {
  int prepares = 0, runs = 0, uploads = 0, downloads = 0;
  std::vector<size_t> subgraph_sizes;
};

class FakeBackend final : public Backend {
 public:
  FakeBackend(std::set<fb::OpType> ops, std::shared_ptr<FakeStats> stats) : ops_(std::move(ops)), stats_(std::move(stats)) {}
  int version = kBackendInterfaceVersion;
  bool accelerator = true;
  std::string fail_prepare;  // non-empty: every prepare fails with this message
  bool fail_run = false;

  int interface_version() const override { return version; }
  const char* name() const override { return "fake"; }
  std::string device() const override { return "fake device"; }
  bool is_accelerator() const override { return accelerator; }
  Support supports(const NodeView& node) const override {
    if (!ops_.count(node.op())) return Support::no(std::string("fake: no ") + fb::EnumNameOpType(node.op()));
    return Support::yes();
  }
  Result<std::unique_ptr<BackendExecutable>> prepare(const Subgraph& sg, const BackendOptions& options) override {
    stats_->prepares++;
    if (!fail_prepare.empty()) return internal_error(fail_prepare);
    stats_->subgraph_sizes.push_back(sg.nodes.size());
    auto inner = cpu_->prepare(sg, options);
    if (!inner.ok()) return inner.status();
    return std::unique_ptr<BackendExecutable>(new Exe(std::move(inner.value()), stats_, fail_run));
  }

 private:
  class Exe final : public BackendExecutable {
   public:
    Exe(std::unique_ptr<BackendExecutable> inner, std::shared_ptr<FakeStats> stats, bool fail)
        : inner_(std::move(inner)), stats_(std::move(stats)), fail_(fail) {}
    Status upload(size_t i, const void* host, size_t bytes) override {
      stats_->uploads++;
      return inner_->upload(i, host, bytes);
    }
    Status run() override {
      stats_->runs++;
      if (fail_) return internal_error("fake device lost");
      return inner_->run();
    }
    Status download(size_t i, void* host, size_t bytes) override {
      stats_->downloads++;
      return inner_->download(i, host, bytes);
    }
    DeviceMemory memory() const override { return inner_->memory(); }
    std::vector<std::string> kernel_names() const override { return inner_->kernel_names(); }

   private:
    std::unique_ptr<BackendExecutable> inner_;
    std::shared_ptr<FakeStats> stats_;
    bool fail_;
  };
  std::set<fb::OpType> ops_;
  std::shared_ptr<FakeStats> stats_;
  std::unique_ptr<Backend> cpu_ = make_cpu_backend();
};

// ---- Small models --------------------------------------------------------------------------------

struct Graph {
  format::ModelDesc md;
  int32_t value(const std::string& name, std::vector<int64_t> shape = {}) {
    format::TensorDesc d;
    d.name = name;
    d.shape = std::move(shape);
    return md.add_tensor(d);
  }
  int32_t node(fb::OpType op, const std::string& name, std::vector<int32_t> in) {
    const int32_t out = value(name + "_out");
    format::NodeDesc n;
    n.op = op;
    n.name = name;
    n.inputs = std::move(in);
    n.outputs = {out};
    md.nodes.push_back(n);
    return out;
  }
  std::shared_ptr<const Model> load() {
    std::vector<uint8_t> bytes = format::serialize(md);
    auto m = Model::load_buffer(bytes.data(), bytes.size());
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? m.value() : nullptr;
  }
};

// x -> Relu r0 -> Add a1 (r0 + r0) -> Sigmoid s2 (fake: CPU) -> Relu r3 -> Add a4 (r3 + x) -> y
std::shared_ptr<const Model> chain_model(std::vector<int64_t> shape = {1, 64}) {
  Graph g;
  const int32_t x = g.value("x", shape);
  const int32_t r0 = g.node(fb::OpType::Relu, "r0", {x});
  const int32_t a1 = g.node(fb::OpType::Add, "a1", {r0, r0});
  const int32_t s2 = g.node(fb::OpType::Sigmoid, "s2", {a1});
  const int32_t r3 = g.node(fb::OpType::Relu, "r3", {s2});
  const int32_t y = g.node(fb::OpType::Add, "a4", {r3, x});
  g.md.inputs = {x};
  g.md.outputs = {y};
  return g.load();
}

std::set<fb::OpType> add_relu() { return {fb::OpType::Add, fb::OpType::Relu}; }

std::vector<float> run_session(Session& s, const std::vector<float>& in) {
  EXPECT_EQ(s.input(0).bytes(), in.size() * 4);
  std::memcpy(s.input(0).data, in.data(), in.size() * 4);
  s.run();
  EXPECT_TRUE(s.run_status().ok()) << s.run_status().message();
  std::vector<float> out(static_cast<size_t>(s.output(0).elements()));
  std::memcpy(out.data(), s.output(0).data, out.size() * 4);
  return out;
}

void expect_bitwise(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0);
}

SessionOptions with_backend(std::shared_ptr<Backend> b, const std::string& name = "vulkan") {
  SessionOptions o;
  o.backend = name;
  o.custom_backend = std::move(b);
  return o;
}

// ---- Partitioner alone ---------------------------------------------------------------------------

TEST(Partition, CpuNodeInTheMiddleSplitsTheChain) {
  auto stats = std::make_shared<FakeStats>();
  auto fake = std::make_shared<FakeBackend>(add_relu(), stats);
  auto model = chain_model();
  auto s = Session::create(model, with_backend(fake));
  ASSERT_TRUE(s.ok()) << s.status().message();
  const PartitionReport& r = s.value()->partition();
  EXPECT_EQ(r.backend, "fake");
  EXPECT_EQ(r.device, "fake device");
  ASSERT_EQ(r.subgraphs.size(), 2u);
  EXPECT_EQ(r.subgraphs[0].nodes, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(r.subgraphs[1].nodes, (std::vector<uint32_t>{3, 4}));
  // Subgraph 0: x in, a1 out (Sigmoid reads it). Subgraph 1: s2 and x in, y out.
  EXPECT_EQ(r.subgraphs[0].uploads, 1);
  EXPECT_EQ(r.subgraphs[0].downloads, 1);
  EXPECT_EQ(r.subgraphs[0].upload_bytes, 64u * 4);
  EXPECT_EQ(r.subgraphs[0].download_bytes, 64u * 4);
  EXPECT_EQ(r.subgraphs[1].uploads, 2);
  EXPECT_EQ(r.subgraphs[1].downloads, 1);
  EXPECT_EQ(r.transfer_bytes_per_run(), 5u * 64 * 4);
  EXPECT_EQ(r.ops_offloaded, 4);
  EXPECT_EQ(r.ops_on_cpu, 1);
  ASSERT_EQ(r.stayed_on_cpu.size(), 1u);
  EXPECT_EQ(r.stayed_on_cpu[0].node, 2u);
  EXPECT_EQ(r.stayed_on_cpu[0].label, "Sigmoid 's2'");
  EXPECT_EQ(r.stayed_on_cpu[0].reason, "fake: no Sigmoid");
  EXPECT_EQ(r.subgraphs[0].kernels.size(), 2u);
  EXPECT_EQ(r.subgraphs[0].kernels[0].rfind("cpu.", 0), 0u);
  bool saw = false;
  for (const auto& [key, count] : r.ops_per_backend_by_type)
    if (key == "fake Relu") saw = count == 2;
  EXPECT_TRUE(saw);
  const std::string text = r.summary();
  EXPECT_NE(text.find("Sigmoid 's2': fake: no Sigmoid"), std::string::npos) << text;
  EXPECT_NE(text.find("transfers per run: 3 uploads"), std::string::npos) << text;
  // Steps: subgraph, Sigmoid, subgraph.
  EXPECT_EQ(s.value()->num_run_ops(), 3u);
  const std::vector<OpProfile> prof = s.value()->profile_info();
  ASSERT_EQ(prof.size(), 3u);
  EXPECT_EQ(prof[0].op, "fake subgraph");
  EXPECT_EQ(prof[0].name, "subgraph 0 (2 nodes)");
  EXPECT_EQ(prof[1].op, "Sigmoid");

  auto cpu = Session::create(model);
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu.value()->partition().backend, "cpu");
  EXPECT_EQ(cpu.value()->num_run_ops(), 5u);
  const std::vector<float> in = random_floats(64, 7);
  expect_bitwise(run_session(*s.value(), in), run_session(*cpu.value(), in));
  EXPECT_EQ(stats->runs, 2);
  EXPECT_EQ(stats->uploads, 3);
  EXPECT_EQ(stats->downloads, 2);
  std::vector<double> secs;
  s.value()->run_profiled(secs);
  EXPECT_EQ(secs.size(), 3u);
  EXPECT_EQ(stats->runs, 4);
}

// x -> Relu r0 ; x -> Sigmoid s1 (CPU) ; Add a2 (r0 + r0) ; Add a3 (a2 + s1) -> y: the CPU node
// between the supported ones neither depends on them nor is fed by them, so one subgraph takes
// all three (the Sigmoid step runs first).
TEST(Partition, BranchesJoinAroundAnIndependentCpuNode) {
  Graph g;
  const int32_t x = g.value("x", {2, 8});
  const int32_t r0 = g.node(fb::OpType::Relu, "r0", {x});
  const int32_t s1 = g.node(fb::OpType::Sigmoid, "s1", {x});
  const int32_t a2 = g.node(fb::OpType::Add, "a2", {r0, r0});
  const int32_t y = g.node(fb::OpType::Add, "a3", {a2, s1});
  g.md.inputs = {x};
  g.md.outputs = {y};
  auto model = g.load();
  auto stats = std::make_shared<FakeStats>();
  auto s = Session::create(model, with_backend(std::make_shared<FakeBackend>(add_relu(), stats)));
  ASSERT_TRUE(s.ok()) << s.status().message();
  const PartitionReport& r = s.value()->partition();
  ASSERT_EQ(r.subgraphs.size(), 1u);
  EXPECT_EQ(r.subgraphs[0].nodes, (std::vector<uint32_t>{0, 2, 3}));
  EXPECT_EQ(r.subgraphs[0].uploads, 2);  // x, s1
  EXPECT_EQ(r.subgraphs[0].downloads, 1);
  const std::vector<OpProfile> prof = s.value()->profile_info();
  ASSERT_EQ(prof.size(), 2u);
  EXPECT_EQ(prof[0].op, "Sigmoid");
  auto cpu = Session::create(model);
  ASSERT_TRUE(cpu.ok());
  const std::vector<float> in = random_floats(16, 3);
  expect_bitwise(run_session(*s.value(), in), run_session(*cpu.value(), in));
}

// x -> Relu r0 -> Sigmoid s1 (CPU) ; Add a2 (r0 + s1) -> y: a2 reads r0's group through the CPU
// node, so joining that group would be a cycle: two subgraphs.
TEST(Partition, NoCycleThroughTheCpu) {
  Graph g;
  const int32_t x = g.value("x", {4, 4});
  const int32_t r0 = g.node(fb::OpType::Relu, "r0", {x});
  const int32_t s1 = g.node(fb::OpType::Sigmoid, "s1", {r0});
  const int32_t y = g.node(fb::OpType::Add, "a2", {r0, s1});
  g.md.inputs = {x};
  g.md.outputs = {y};
  auto model = g.load();
  auto stats = std::make_shared<FakeStats>();
  auto s = Session::create(model, with_backend(std::make_shared<FakeBackend>(add_relu(), stats)));
  ASSERT_TRUE(s.ok()) << s.status().message();
  const PartitionReport& r = s.value()->partition();
  ASSERT_EQ(r.subgraphs.size(), 2u);
  EXPECT_EQ(r.subgraphs[0].nodes, (std::vector<uint32_t>{0}));
  EXPECT_EQ(r.subgraphs[1].nodes, (std::vector<uint32_t>{2}));
  EXPECT_EQ(r.subgraphs[0].downloads, 1);  // r0: read by the Sigmoid and by subgraph 1
  EXPECT_EQ(r.subgraphs[1].uploads, 2);
  auto cpu = Session::create(model);
  ASSERT_TRUE(cpu.ok());
  const std::vector<float> in = random_floats(16, 4);
  expect_bitwise(run_session(*s.value(), in), run_session(*cpu.value(), in));
}

// partition_nodes directly: consecutive supported nodes without a data dependency (two branches
// from the graph input) form one subgraph.
TEST(Partition, ConsecutiveIndependentNodesGroupTogether) {
  Graph g;
  const int32_t x = g.value("x", {8});
  const int32_t r0 = g.node(fb::OpType::Relu, "r0", {x});
  const int32_t r1 = g.node(fb::OpType::Relu, "r1", {x});
  g.md.inputs = {x};
  g.md.outputs = {r0, r1};
  auto model = g.load();
  auto stats = std::make_shared<FakeStats>();
  FakeBackend fake(add_relu(), stats);
  auto s = Session::create(model);
  ASSERT_TRUE(s.ok());
  // NodeViews as the session's CPU ops saw them.
  std::vector<Value> values(3);
  for (int i = 0; i < 3; ++i) {
    values[i].shape = {8};
    values[i].name = i == 0 ? "x" : i == 1 ? "r0_out" : "r1_out";
  }
  std::vector<NodeView> nodes(2);
  for (uint32_t i = 0; i < 2; ++i) {
    nodes[i].index = i;
    nodes[i].node = model->graph().nodes()->Get(i);
    nodes[i].inputs = {&values[0]};
    nodes[i].outputs = {&values[1 + i]};
  }
  Partition p = partition_nodes(nodes, fake, {&values[1], &values[2]});
  ASSERT_EQ(p.subgraphs.size(), 1u);
  EXPECT_EQ(p.subgraphs[0].nodes.size(), 2u);
  EXPECT_EQ(p.subgraphs[0].inputs, (std::vector<const Value*>{&values[0]}));
  EXPECT_EQ(p.subgraphs[0].outputs, (std::vector<const Value*>{&values[1], &values[2]}));
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].subgraph, 0);
  EXPECT_EQ(p.subgraphs[0].nodes[0].label(), "Relu 'r0'");
}

// ---- Session integration -------------------------------------------------------------------------

// A chain the backend takes whole: the intermediate values get no host bytes.
TEST(PartitionSession, InternalValuesGetNoArenaBytes) {
  Graph g;
  const int32_t x = g.value("x", {1, 4096});
  int32_t v = x;
  for (int i = 0; i < 4; ++i) v = g.node(i % 2 ? fb::OpType::Add : fb::OpType::Relu, "n" + std::to_string(i),
                                         i % 2 ? std::vector<int32_t>{v, v} : std::vector<int32_t>{v});
  g.md.inputs = {x};
  g.md.outputs = {v};
  auto model = g.load();
  auto stats = std::make_shared<FakeStats>();
  auto off = Session::create(model, with_backend(std::make_shared<FakeBackend>(add_relu(), stats)));
  auto cpu = Session::create(model);
  ASSERT_TRUE(off.ok() && cpu.ok());
  ASSERT_EQ(off.value()->partition().subgraphs.size(), 1u);
  EXPECT_EQ(off.value()->partition().ops_on_cpu, 0);
  // CPU: x + two ping-pong buffers (the output takes one); offloaded: x and y only.
  EXPECT_EQ(cpu.value()->arena_bytes(), 3u * 4096 * 4);
  EXPECT_EQ(off.value()->arena_bytes(), 2u * 4096 * 4);
  EXPECT_GT(off.value()->memory().device, 0u);
  EXPECT_EQ(cpu.value()->memory().device, 0u);
  const std::vector<float> in = random_floats(4096, 9);
  expect_bitwise(run_session(*off.value(), in), run_session(*cpu.value(), in));
}

TEST(PartitionSession, InterfaceVersionMismatchIsAnError) {
  auto fake = std::make_shared<FakeBackend>(add_relu(), std::make_shared<FakeStats>());
  fake->version = kBackendInterfaceVersion + 1;
  auto s = Session::create(chain_model(), with_backend(fake));
  ASSERT_FALSE(s.ok());
  const std::string msg = s.status().message();
  EXPECT_NE(msg.find("version " + std::to_string(kBackendInterfaceVersion + 1)), std::string::npos) << msg;
  EXPECT_NE(msg.find("version " + std::to_string(kBackendInterfaceVersion)), std::string::npos) << msg;
}

TEST(PartitionSession, PrepareFailureFallsBackToTheCpuWithANotice) {
  auto stats = std::make_shared<FakeStats>();
  auto fake = std::make_shared<FakeBackend>(add_relu(), stats);
  fake->fail_prepare = "out of shader cores";
  auto model = chain_model();
  auto s = Session::create(model, with_backend(fake));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(stats->prepares, 2);
  const PartitionReport& r = s.value()->partition();
  EXPECT_EQ(r.backend, "cpu");
  EXPECT_EQ(r.ops_offloaded, 0);
  EXPECT_EQ(r.ops_on_cpu, 5);
  ASSERT_EQ(r.stayed_on_cpu.size(), 5u);
  for (const auto& c : r.stayed_on_cpu)
    EXPECT_TRUE(c.reason.find("out of shader cores") != std::string::npos || c.reason == "fake: no Sigmoid") << c.reason;
  bool noticed = false;
  for (const std::string& n : s.value()->notices()) noticed |= n.find("out of shader cores") != std::string::npos;
  EXPECT_TRUE(noticed);
  const std::string text = r.summary();
  EXPECT_NE(text.find("ops: all 5 on the CPU, none offloaded\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("offloaded to cpu"), std::string::npos) << text;
  // The failed subgraph's reason once, then "the same" for its other nodes.
  const size_t first = text.find("out of shader cores");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_NE(text.find(": the same\n"), std::string::npos) << text;
  auto cpu = Session::create(model);
  ASSERT_TRUE(cpu.ok());
  const std::vector<float> in = random_floats(64, 5);
  expect_bitwise(run_session(*s.value(), in), run_session(*cpu.value(), in));

  SessionOptions o = with_backend(fake);
  o.backend_required = true;
  auto req = Session::create(model, o);
  ASSERT_FALSE(req.ok());
  EXPECT_NE(req.status().message().find("out of shader cores"), std::string::npos) << req.status().message();
}

// device_memory_budget over two subgraphs: each gets what the ones before it left; once it is
// used up, the next subgraph is not even prepared and runs on the CPU with a notice.
TEST(PartitionSession, DeviceBudgetSharedBySubgraphs) {
  auto model = chain_model();
  auto free_stats = std::make_shared<FakeStats>();
  auto unlimited = Session::create(model, with_backend(std::make_shared<FakeBackend>(add_relu(), free_stats)));
  ASSERT_TRUE(unlimited.ok()) << unlimited.status().message();
  ASSERT_EQ(unlimited.value()->partition().subgraphs.size(), 2u);
  const size_t first = unlimited.value()->partition().subgraphs[0].memory.allocated;
  ASSERT_GT(first, 0u);

  auto stats = std::make_shared<FakeStats>();
  SessionOptions o = with_backend(std::make_shared<FakeBackend>(add_relu(), stats));
  o.device_memory_budget = first;
  auto s = Session::create(model, o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(stats->prepares, 1);
  const PartitionReport& r = s.value()->partition();
  ASSERT_EQ(r.subgraphs.size(), 1u) << r.summary();
  EXPECT_EQ(s.value()->memory().device, first);
  std::string notices;
  for (const std::string& n : s.value()->notices()) notices += n + "\n";
  EXPECT_NE(notices.find("device memory budget (" + std::to_string(first) + " bytes) is used up"), std::string::npos)
      << notices;
  auto cpu = Session::create(model);
  ASSERT_TRUE(cpu.ok());
  const std::vector<float> in = random_floats(64, 6);
  expect_bitwise(run_session(*s.value(), in), run_session(*cpu.value(), in));
}

TEST(PartitionSession, RunFailureIsReported) {
  auto fake = std::make_shared<FakeBackend>(add_relu(), std::make_shared<FakeStats>());
  fake->fail_run = true;
  auto s = Session::create(chain_model(), with_backend(fake));
  ASSERT_TRUE(s.ok());
  s.value()->run();
  EXPECT_FALSE(s.value()->run_status().ok());
  EXPECT_NE(s.value()->run_status().message().find("fake device lost"), std::string::npos);
  EXPECT_NE(s.value()->run_status().message().find("subgraph 0"), std::string::npos);
}

TEST(PartitionSession, ResizeRepartitions) {
  Graph g;
  format::TensorDesc d;
  d.name = "x";
  d.shape = {1, -1};
  d.dim_names = {"", "n"};
  const int32_t x = g.md.add_tensor(d);
  const int32_t r0 = g.node(fb::OpType::Relu, "r0", {x});
  const int32_t s1 = g.node(fb::OpType::Sigmoid, "s1", {r0});
  const int32_t y = g.node(fb::OpType::Add, "a2", {s1, s1});
  g.md.inputs = {x};
  g.md.outputs = {y};
  auto model = g.load();
  auto stats = std::make_shared<FakeStats>();
  SessionOptions o = with_backend(std::make_shared<FakeBackend>(add_relu(), stats));
  o.input_shapes = {{"x", {1, 16}}};
  auto s = Session::create(model, o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s.value()->partition().subgraphs[0].upload_bytes, 16u * 4);
  ASSERT_TRUE(s.value()->resize_input("x", {1, 100}).ok());
  EXPECT_EQ(stats->prepares, 4);
  const PartitionReport& r = s.value()->partition();
  ASSERT_EQ(r.subgraphs.size(), 2u);
  EXPECT_EQ(r.subgraphs[0].upload_bytes, 100u * 4);
  EXPECT_EQ(r.subgraphs[1].download_bytes, 100u * 4);
  SessionOptions plain;
  plain.input_shapes = {{"x", {1, 100}}};
  auto cpu = Session::create(model, plain);
  ASSERT_TRUE(cpu.ok());
  const std::vector<float> in = random_floats(100, 6);
  expect_bitwise(run_session(*s.value(), in), run_session(*cpu.value(), in));
}

TEST(PartitionSession, AutoKeepsANonAcceleratorOnTheCpu) {
  auto stats = std::make_shared<FakeStats>();
  auto fake = std::make_shared<FakeBackend>(add_relu(), stats);
  fake->accelerator = false;
  auto s = Session::create(chain_model(), with_backend(fake, "auto"));
  ASSERT_TRUE(s.ok()) << s.status().message();
  const PartitionReport& r = s.value()->partition();
  EXPECT_EQ(r.requested, "auto");
  EXPECT_EQ(r.backend, "cpu");
  EXPECT_NE(r.decision.find("not an accelerator"), std::string::npos) << r.decision;
  EXPECT_EQ(stats->prepares, 0);
  EXPECT_EQ(r.ops_on_cpu, 5);
  EXPECT_EQ(r.stayed_on_cpu.size(), 5u);
  EXPECT_EQ(s.value()->num_run_ops(), 5u);
  const std::string text = r.summary();
  EXPECT_NE(text.find("stayed on the CPU (5), 4 of them by the decision above:\n  #2 Sigmoid 's2': fake: no Sigmoid\n"),
            std::string::npos) << text;
}

// An accelerator that supports only Relu: the FLOPs are in the Conv, so auto stays on the CPU;
// asked for by name, the same backend takes the Relu.
TEST(PartitionSession, AutoNeedsHalfTheFlops) {
  Graph g;
  const int32_t x = g.value("x", {1, 8, 8, 8});
  format::TensorDesc w;
  w.name = "w";
  w.shape = {8, 8, 3, 3};
  w.has_data = true;
  const std::vector<float> wf = random_floats(8 * 8 * 9, 2, -0.1f, 0.1f);
  w.data.resize(wf.size() * 4);
  std::memcpy(w.data.data(), wf.data(), w.data.size());
  const int32_t wi = g.md.add_tensor(w);
  const int32_t c = g.node(fb::OpType::Conv, "conv", {x, wi});
  g.md.nodes.back().attrs = {format::AttrDesc::Ints("pads", {1, 1, 1, 1})};
  const int32_t y = g.node(fb::OpType::Relu, "relu", {c});
  g.md.inputs = {x};
  g.md.outputs = {y};
  auto model = g.load();
  auto stats = std::make_shared<FakeStats>();
  auto fake = std::make_shared<FakeBackend>(std::set<fb::OpType>{fb::OpType::Relu}, stats);
  auto a = Session::create(model, with_backend(fake, "auto"));
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a.value()->partition().backend, "cpu");
  EXPECT_NE(a.value()->partition().decision.find("< 50%"), std::string::npos) << a.value()->partition().decision;
  auto v = Session::create(model, with_backend(fake, "vulkan"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value()->partition().ops_offloaded, 1);
  auto conv_only = std::make_shared<FakeBackend>(std::set<fb::OpType>{fb::OpType::Conv}, stats);
  auto b = Session::create(model, with_backend(conv_only, "auto"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.value()->partition().backend, "fake");
  EXPECT_NE(b.value()->partition().decision.find("99.3% of the FLOPs"), std::string::npos) << b.value()->partition().decision;
}

TEST(PartitionSession, BadBackendNameIsAnError) {
  SessionOptions o;
  o.backend = "metal";
  auto s = Session::create(chain_model(), o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("'metal'"), std::string::npos);
}

}  // namespace
}  // namespace pocket
