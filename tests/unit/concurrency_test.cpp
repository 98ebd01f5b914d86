// Concurrency (docs/CONCURRENCY.md): one Model shared by N Sessions on N threads, each running
// different inputs, interleaved, must give exactly (bitwise) what a fresh single-threaded session
// gives for the same input; sessions created at the same moment on many threads share one packed
// copy of each weight; sessions destroyed while others run change nothing for the others; and
// intra-op threads (SessionOptions::num_threads > 1) give, per kernel family, bitwise the same
// outputs as one thread where the work split cannot change any arithmetic (and a tolerance, with
// the reason, where it can). These suites also run under TSan (the sanitize leg): models are small.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <latch>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "format/builder.h"
#include "pocket/pocket.h"
#include "tests/unit/fixture_models.h"
#include "kernels/transform/transform.h"

namespace pocket {
namespace {

using format::AttrDesc;
using format::QuantDesc;

// ---- Small models built with format/builder.h ----------------------------------------------------

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::vector<float> uniform(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

int64_t count_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

class Builder {
 public:
  // f16: every float constant made by weight() is stored F16 (converted to F32 once per model at
  // session creation and shared by the sessions through the weight cache).
  explicit Builder(bool f16 = false) : f16_(f16) {}

  int32_t input(const std::string& name, std::vector<int64_t> shape, fb::DType dt = fb::DType::F32) {
    format::TensorDesc t;
    t.name = name, t.dtype = dt, t.shape = std::move(shape);
    const int32_t i = m_.add_tensor(t);
    m_.inputs.push_back(i);
    return i;
  }
  // A float constant with values uniform in [-scale, scale).
  int32_t weight(std::vector<int64_t> shape, float scale = 0.3f) {
    const std::vector<float> v = uniform(static_cast<size_t>(count_of(shape)), ++seed_, -scale, scale);
    format::TensorDesc t;
    t.name = "w" + std::to_string(seed_);
    t.shape = std::move(shape);
    t.has_data = true;
    if (f16_) {
      t.dtype = fb::DType::F16;
      t.data.resize(v.size() * 2);
      for (size_t k = 0; k < v.size(); ++k) {
        const uint16_t h = kernels::f32_to_f16(v[k]);
        std::memcpy(t.data.data() + 2 * k, &h, 2);
      }
    } else {
      t.data = f32_bytes(v);
    }
    return m_.add_tensor(t);
  }
  // An int8 constant, symmetric, per channel along axis (scales ~ scale / 127).
  int32_t weight_i8(std::vector<int64_t> shape, int32_t axis, float scale = 0.3f) {
    std::mt19937 rng(++seed_);
    std::uniform_int_distribution<int> d(-127, 127);
    format::TensorDesc t;
    t.name = "q" + std::to_string(seed_);
    t.dtype = fb::DType::I8;
    t.has_data = true;
    t.data.resize(static_cast<size_t>(count_of(shape)));
    for (auto& b : t.data) b = static_cast<uint8_t>(static_cast<int8_t>(d(rng)));
    t.has_quant = true;
    t.quant.axis = axis;
    for (int64_t c = 0; c < shape[static_cast<size_t>(axis)]; ++c)
      t.quant.scales.push_back(scale / 127.f * (1.f + 0.01f * static_cast<float>(c % 7)));
    t.shape = std::move(shape);
    return m_.add_tensor(t);
  }
  // A computed value; int8 with per-tensor (scale, zero point) when q is given.
  int32_t value(const QuantDesc* q = nullptr) {
    format::TensorDesc t;
    t.name = "v" + std::to_string(m_.tensors.size());
    if (q) t.dtype = fb::DType::I8, t.has_quant = true, t.quant = *q;
    return m_.add_tensor(t);
  }
  int32_t node(fb::OpType op, std::vector<int32_t> ins, std::vector<AttrDesc> attrs = {}, const QuantDesc* q = nullptr) {
    const int32_t out = value(q);
    format::NodeDesc n;
    n.op = op;
    n.name = std::string(fb::EnumNameOpType(op)) + "_" + std::to_string(m_.nodes.size());
    n.inputs = std::move(ins);
    n.outputs = {out};
    n.attrs = std::move(attrs);
    m_.nodes.push_back(std::move(n));
    return out;
  }
  void output(int32_t i) { m_.outputs.push_back(i); }
  std::vector<uint8_t> bytes() const { return format::serialize(m_); }

 private:
  format::ModelDesc m_;
  bool f16_;
  uint32_t seed_ = 100;
};

QuantDesc per_tensor(float scale, int64_t zp) {
  QuantDesc q;
  q.scales = {scale};
  q.zero_points = {zp};
  return q;
}

constexpr int64_t kRelu = static_cast<int64_t>(fb::ActivationKind::Relu);
constexpr int64_t kHardSwish = static_cast<int64_t>(fb::ActivationKind::HardSwish);
constexpr int64_t kHardSigmoid = static_cast<int64_t>(fb::ActivationKind::HardSigmoid);
constexpr int64_t kGelu = static_cast<int64_t>(fb::ActivationKind::Gelu);

AttrDesc pads1() { return AttrDesc::Ints("pads", {1, 1, 1, 1}); }

// Conv 3x3 (Winograd) -> depthwise 3x3 s2 -> 1x1 (GEMM) -> grouped 3x3 + residual (XNNPACK) ->
// SqueezeExcite -> MaxPool -> GlobalAveragePool -> Flatten -> Gemm -> Softmax.
std::vector<uint8_t> conv_net(bool f16) {
  Builder b(f16);
  const int32_t x = b.input("x", {1, 14, 14, 8});
  const int32_t c1 = b.node(fb::OpType::Conv, {x, b.weight({16, 8, 3, 3}), b.weight({16}, 0.1f)},
                            {pads1(), AttrDesc::Int("activation", kRelu)});
  const int32_t c2 = b.node(fb::OpType::Conv, {c1, b.weight({16, 1, 3, 3}), b.weight({16}, 0.1f)},
                            {pads1(), AttrDesc::Int("group", 16), AttrDesc::Ints("strides", {2, 2}),
                             AttrDesc::Int("activation", kHardSwish)});
  const int32_t c3 = b.node(fb::OpType::Conv, {c2, b.weight({24, 16, 1, 1}), b.weight({24}, 0.1f)});
  const int32_t c4 = b.node(fb::OpType::Conv, {c3, b.weight({24, 8, 3, 3}), b.weight({24}, 0.1f), c3},
                            {pads1(), AttrDesc::Int("group", 3)});
  const int32_t se = b.node(fb::OpType::SqueezeExcite,
                            {c4, b.weight({8, 24, 1, 1}), b.weight({8}, 0.1f), b.weight({24, 8, 1, 1}), b.weight({24}, 0.1f)},
                            {AttrDesc::Int("activation", kRelu), AttrDesc::Int("gate", kHardSigmoid),
                             AttrDesc::Float("gate_alpha", 1.f / 6.f), AttrDesc::Float("gate_beta", 0.5f)});
  const int32_t mp = b.node(fb::OpType::MaxPool, {se},
                            {AttrDesc::Ints("kernel_shape", {3, 3}), AttrDesc::Ints("strides", {2, 2}), pads1()});
  const int32_t gp = b.node(fb::OpType::GlobalAveragePool, {mp});
  const int32_t fl = b.node(fb::OpType::Flatten, {gp}, {AttrDesc::Int("axis", 1)});
  const int32_t fc = b.node(fb::OpType::Gemm, {fl, b.weight({24, 10}), b.weight({10}, 0.1f)});
  const int32_t sm = b.node(fb::OpType::Softmax, {fc}, {AttrDesc::Int("axis", -1)});
  b.output(se);
  b.output(sm);
  return b.bytes();
}

// A pre-norm transformer block: LayerNorm -> Q/K/V MatMuls -> Attention (plain + causal) ->
// output MatMul + residual -> LayerNorm -> MatMul + Gelu -> MatMul + residual -> RMSNorm ->
// MatMul -> Softmax.
std::vector<uint8_t> transformer_net(bool f16) {
  Builder b(f16);
  const int32_t x = b.input("x", {2, 12, 32});
  auto ln = [&](int32_t in) {
    return b.node(fb::OpType::LayerNormalization, {in, b.weight({32}, 1.f), b.weight({32}, 0.1f)},
                  {AttrDesc::Int("axis", -1), AttrDesc::Float("epsilon", 1e-5f)});
  };
  const int32_t h1 = ln(x);
  const int32_t q = b.node(fb::OpType::MatMul, {h1, b.weight({32, 32}), b.weight({32}, 0.1f)});
  const int32_t k = b.node(fb::OpType::MatMul, {h1, b.weight({32, 32}), b.weight({32}, 0.1f)});
  const int32_t v = b.node(fb::OpType::MatMul, {h1, b.weight({32, 32}), b.weight({32}, 0.1f)});
  const int32_t a1 = b.node(fb::OpType::Attention, {q, k, v}, {AttrDesc::Int("num_heads", 4)});
  const int32_t a2 = b.node(fb::OpType::Attention, {q, k, v}, {AttrDesc::Int("num_heads", 4), AttrDesc::Int("causal", 1)});
  const int32_t a = b.node(fb::OpType::Add, {a1, a2});
  const int32_t o = b.node(fb::OpType::MatMul, {a, b.weight({32, 32}), b.weight({32}, 0.1f), x});
  const int32_t h2 = ln(o);
  const int32_t f1 = b.node(fb::OpType::MatMul, {h2, b.weight({32, 64}), b.weight({64}, 0.1f)},
                            {AttrDesc::Int("activation", kGelu)});
  const int32_t f2 = b.node(fb::OpType::MatMul, {f1, b.weight({64, 32}), b.weight({32}, 0.1f), o});
  const int32_t r = b.node(fb::OpType::RMSNormalization, {f2, b.weight({32}, 1.f)});
  const int32_t logits = b.node(fb::OpType::MatMul, {r, b.weight({32, 8})});
  const int32_t sm = b.node(fb::OpType::Softmax, {logits}, {AttrDesc::Int("axis", -1)});
  b.output(f2);
  b.output(sm);
  return b.bytes();
}

// Static int8: QuantizeLinear -> int8 Conv 3x3 -> int8 depthwise -> int8 Add -> int8
// GlobalAveragePool -> DequantizeLinear -> Flatten -> weight-only int8 MatMul; and a second input
// through a weight-only int8 MatMul with 24 rows (dynamic per-row quantization of activations).
std::vector<uint8_t> int8_net() {
  Builder b;
  const QuantDesc qx = per_tensor(1.f / 64.f, 3), q1 = per_tensor(0.05f, -100), q2 = per_tensor(0.05f, 0),
                  q3 = per_tensor(0.08f, 0), q4 = per_tensor(0.02f, 0);
  const int32_t x = b.input("x", {1, 12, 12, 8});
  const int32_t xq = b.node(fb::OpType::QuantizeLinear, {x}, {}, &qx);
  const int32_t c1 = b.node(fb::OpType::Conv, {xq, b.weight_i8({16, 8, 3, 3}, 0), b.weight({16}, 0.1f)},
                            {pads1(), AttrDesc::Int("activation", kRelu)}, &q1);
  const int32_t dw = b.node(fb::OpType::Conv, {c1, b.weight_i8({16, 1, 3, 3}, 0), b.weight({16}, 0.1f)},
                            {pads1(), AttrDesc::Int("group", 16)}, &q2);
  const int32_t ad = b.node(fb::OpType::Add, {c1, dw}, {}, &q3);
  const int32_t gp = b.node(fb::OpType::GlobalAveragePool, {ad}, {}, &q4);
  const int32_t dq = b.node(fb::OpType::DequantizeLinear, {gp});
  const int32_t fl = b.node(fb::OpType::Flatten, {dq}, {AttrDesc::Int("axis", 1)});
  const int32_t mm = b.node(fb::OpType::MatMul, {fl, b.weight_i8({16, 10}, 1), b.weight({10}, 0.1f)});
  const int32_t y = b.input("y", {24, 32});
  const int32_t dyn = b.node(fb::OpType::MatMul, {y, b.weight_i8({32, 40}, 1)});
  b.output(ad);
  b.output(mm);
  b.output(dyn);
  return b.bytes();
}

// ---- Running -------------------------------------------------------------------------------------

using Bytes = std::vector<uint8_t>;
using Feed = std::vector<Bytes>;     // one buffer per session input
using Outputs = std::vector<Bytes>;  // one buffer per session output

// Different contents for every seed: floats uniform in [-1, 1), int8 over the whole range.
Feed make_feed(Session& s, uint32_t seed) {
  Feed f(s.num_inputs());
  for (size_t i = 0; i < s.num_inputs(); ++i) {
    const Value& v = s.input(i);
    std::mt19937 rng(seed * 7919u + static_cast<uint32_t>(i));
    f[i].resize(v.bytes());
    if (v.dtype == DType::F32) {
      std::uniform_real_distribution<float> d(-1.f, 1.f);
      for (size_t k = 0; k < f[i].size() / 4; ++k) {
        const float x = d(rng);
        std::memcpy(f[i].data() + 4 * k, &x, 4);
      }
    } else {
      std::uniform_int_distribution<int> d(0, 255);
      for (auto& x : f[i]) x = static_cast<uint8_t>(d(rng));
    }
  }
  return f;
}

Outputs run_feed(Session& s, const Feed& f) {
  for (size_t i = 0; i < f.size(); ++i) std::memcpy(s.input(i).data, f[i].data(), f[i].size());
  s.run();
  Outputs out(s.num_outputs());
  for (size_t i = 0; i < s.num_outputs(); ++i) {
    const Value& v = s.output(i);
    const auto* p = static_cast<const uint8_t*>(v.data);
    out[i].assign(p, p + v.bytes());
  }
  return out;
}

SessionOptions with_threads(int threads) {
  SessionOptions o;
  o.num_threads = threads;
  // The pool is used on every run (not left for the calling thread when it looks slower), so that
  // what is compared is the multi-threaded split.
  o.adaptive_threads = false;
  return o;
}

std::unique_ptr<Session> make_session(const std::shared_ptr<const Model>& model, int threads = 1) {
  auto s = Session::create(model, with_threads(threads));
  if (!s.ok()) {
    ADD_FAILURE() << "Session::create: " << s.status().message();
    return nullptr;
  }
  return std::move(s.value());
}

// The single-threaded reference: a fresh one-thread session, one run.
Outputs reference(const std::shared_ptr<const Model>& model, const Feed& f) {
  auto s = make_session(model);
  if (!s) return {};
  return run_feed(*s, f);
}

std::shared_ptr<const Model> load(const std::vector<uint8_t>& bytes) {
  auto m = Model::load_buffer(bytes.data(), bytes.size());
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? m.value() : nullptr;
}

// Inputs and their single-threaded reference outputs.
struct Case {
  std::vector<Feed> feeds;
  std::vector<Outputs> refs;
};

Case make_case(const std::shared_ptr<const Model>& model, size_t count) {
  Case c;
  auto probe = make_session(model);
  if (!probe) return c;
  for (size_t k = 0; k < count; ++k) {
    c.feeds.push_back(make_feed(*probe, static_cast<uint32_t>(k + 1)));
    c.refs.push_back(reference(model, c.feeds.back()));
  }
  // Different inputs must give different outputs, or the comparisons below prove little.
  for (size_t k = 1; k < count; ++k) EXPECT_NE(c.refs[k], c.refs[0]) << "inputs " << k << " and 0 give the same outputs";
  return c;
}

// Mismatch counting and the first message, from any thread.
struct Tally {
  std::atomic<int> mismatches{0}, runs{0}, failures{0};
  std::mutex mu;
  std::string first;
  void mismatch(const std::string& what) {
    if (mismatches.fetch_add(1) == 0) {
      std::lock_guard<std::mutex> lock(mu);
      first = what;
    }
  }
};

struct SharedModelRun {
  int threads = 2;            // one session per std::thread
  int iterations = 24;        // runs per thread
  int session_threads = 1;    // SessionOptions::num_threads of each session
  int recreate_every = 0;     // > 0: a thread destroys its session and creates a new one this often
  bool churn = false;         // one more thread creates, runs and destroys sessions all along
};

// N threads, each with its own session of the one model, created at the same moment; thread t
// runs the inputs in its own order (k = (t + i * (2t + 1)) mod K), so different threads run
// different inputs at the same time, and every output is compared bitwise with the reference.
void run_shared_model(const std::vector<uint8_t>& file, const SharedModelRun& cfg) {
  std::shared_ptr<const Model> model = load(file);
  ASSERT_TRUE(model);
  const Case c = make_case(model, static_cast<size_t>(2 * cfg.threads + 1));
  ASSERT_EQ(c.refs.size(), c.feeds.size());
  const size_t kinds = c.feeds.size();
  Tally tally;
  std::latch created(cfg.threads + (cfg.churn ? 1 : 0));
  std::atomic<bool> done{false};
  auto check = [&](Session& s, size_t k, const char* who, int t, int i) {
    const Outputs out = run_feed(s, c.feeds[k]);
    tally.runs++;
    if (out != c.refs[k])
      tally.mismatch(std::string(who) + " " + std::to_string(t) + " run " + std::to_string(i) + " input " +
                     std::to_string(k) + ": outputs differ from the single-threaded reference");
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < cfg.threads; ++t) {
    pool.emplace_back([&, t] {
      auto s = Session::create(model, with_threads(cfg.session_threads));
      created.arrive_and_wait();
      if (!s.ok()) {
        tally.failures++;
        tally.mismatch("Session::create: " + s.status().message());
        return;
      }
      std::unique_ptr<Session> session = std::move(s.value());
      for (int i = 0; i < cfg.iterations; ++i) {
        if (cfg.recreate_every > 0 && i > 0 && i % (cfg.recreate_every + t) == 0) {
          session.reset();  // destroyed while the other threads run theirs
          auto again = Session::create(model, with_threads(cfg.session_threads));
          if (!again.ok()) {
            tally.failures++;
            tally.mismatch("Session::create again: " + again.status().message());
            return;
          }
          session = std::move(again.value());
        }
        check(*session, (static_cast<size_t>(t) + static_cast<size_t>(i) * (2 * t + 1)) % kinds, "thread", t, i);
      }
    });
  }
  if (cfg.churn) {
    pool.emplace_back([&] {
      created.arrive_and_wait();
      for (int i = 0; !done.load() || i < 2; ++i) {
        auto s = Session::create(model, with_threads(1));
        if (!s.ok()) {
          tally.failures++;
          tally.mismatch("churn Session::create: " + s.status().message());
          return;
        }
        check(*s.value(), static_cast<size_t>(i) % kinds, "churn", 0, i);
      }
    });
  }
  for (int t = 0; t < cfg.threads; ++t) pool[static_cast<size_t>(t)].join();
  done = true;
  if (cfg.churn) pool.back().join();
  EXPECT_EQ(tally.failures.load(), 0);
  EXPECT_EQ(tally.mismatches.load(), 0) << tally.first;
  EXPECT_GE(tally.runs.load(), cfg.threads * cfg.iterations);
}

// ---- One Model, N Sessions, N threads ------------------------------------------------------------

TEST(ConcurrencySharedModel, ConvNetTwoFourEightThreads) {
  const std::vector<uint8_t> file = conv_net(false);
  for (int n : {2, 4, 8}) {
    SCOPED_TRACE("threads " + std::to_string(n));
    run_shared_model(file, {n, 16});
  }
}

TEST(ConcurrencySharedModel, TransformerBlockTwoFourEightThreads) {
  const std::vector<uint8_t> file = transformer_net(false);
  for (int n : {2, 4, 8}) {
    SCOPED_TRACE("threads " + std::to_string(n));
    run_shared_model(file, {n, 16});
  }
}

TEST(ConcurrencySharedModel, Int8NetTwoFourEightThreads) {
  const std::vector<uint8_t> file = int8_net();
  for (int n : {2, 4, 8}) {
    SCOPED_TRACE("threads " + std::to_string(n));
    run_shared_model(file, {n, 16});
  }
}

// F16 constants are converted to F32 once per model (weight cache key "f32/<tensor>") and the copy
// is shared: every session must read the same converted bytes.
TEST(ConcurrencySharedModel, F16ConstantsConvertOnceShared) {
  for (const auto& file : {conv_net(true), transformer_net(true)}) {
    for (int n : {2, 4, 8}) {
      SCOPED_TRACE("threads " + std::to_string(n));
      run_shared_model(file, {n, 12});
    }
  }
}

// Sessions with their own intra-op pools, several at once on one model.
TEST(ConcurrencySharedModel, SessionsWithThreadPools) {
  for (const auto& file : {conv_net(false), transformer_net(false), int8_net()}) {
    SharedModelRun cfg;
    cfg.threads = 2;
    cfg.iterations = 4;
    cfg.session_threads = 2;
    run_shared_model(file, cfg);
  }
}

// Sessions destroyed and created again while others run (the weight cache's entries expire and are
// packed again, or found, while other sessions read theirs), plus a thread that does nothing but
// create, run once and destroy.
TEST(ConcurrencySharedModel, SessionsDestroyedWhileOthersRun) {
  for (const auto& file : {conv_net(false), conv_net(true), transformer_net(false), int8_net()}) {
    SharedModelRun cfg;
    cfg.threads = 4;
    cfg.iterations = 12;
    cfg.recreate_every = 3;
    cfg.churn = true;
    run_shared_model(file, cfg);
  }
}

// Sessions created at the same moment on many threads, on a model no session has touched yet:
// every weight is packed (or converted) once, and the shared buffers are exactly what one session
// alone packs.
TEST(ConcurrencyCreation, SimultaneousCreationPacksEachWeightOnce) {
  for (const auto& file : {conv_net(false), conv_net(true), transformer_net(true), int8_net()}) {
    size_t alone_misses = 0, alone_bytes = 0;
    {
      std::shared_ptr<const Model> model = load(file);
      ASSERT_TRUE(model);
      auto s = make_session(model);
      ASSERT_TRUE(s);
      alone_misses = model->weight_cache().misses();
      alone_bytes = model->weight_cache().live_bytes();
    }
    ASSERT_GT(alone_misses, 0u);
    std::shared_ptr<const Model> model = load(file);
    ASSERT_TRUE(model);
    constexpr int kThreads = 8;
    std::latch start(kThreads), hold(kThreads);
    std::vector<std::unique_ptr<Session>> sessions(kThreads);
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        auto s = Session::create(model, with_threads(1));
        if (s.ok()) {
          sessions[t] = std::move(s.value());
        } else {
          errors[t] = s.status().message();
        }
        hold.arrive_and_wait();  // nobody is destroyed before everybody is created
      });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) ASSERT_TRUE(sessions[t]) << "thread " << t << ": " << errors[t];
    const WeightCache& cache = model->weight_cache();
    EXPECT_EQ(cache.misses(), alone_misses) << "a weight was packed more than once";
    EXPECT_EQ(cache.hits(), alone_misses * (kThreads - 1));
    EXPECT_EQ(cache.live_bytes(), alone_bytes);
    EXPECT_EQ(sessions[0]->memory().packed_weights + sessions[0]->memory().converted_constants,
              sessions[kThreads - 1]->memory().packed_weights + sessions[kThreads - 1]->memory().converted_constants);
    // And they all compute the same thing.
    const Feed f = make_feed(*sessions[0], 42);
    const Outputs want = reference(model, f);
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(run_feed(*sessions[t], f), want) << "session " << t;
    sessions.clear();
    EXPECT_EQ(cache.live_bytes(), 0u) << "packed weights outlive every session";
  }
}

// The C API: one pocket_model, a pocket_session per thread, errors reported per thread, and the
// model handle freed while its sessions run (they keep what they need).
TEST(ConcurrencyCApi, OneModelSessionPerThread) {
  const std::vector<uint8_t> file = conv_net(false);
  pocket_model* model = nullptr;
  ASSERT_EQ(pocket_model_load_buffer(file.data(), file.size(), &model), POCKET_OK) << pocket_last_error();
  std::shared_ptr<const Model> cpp = load(file);
  ASSERT_TRUE(cpp);
  const Case c = make_case(cpp, 5);
  constexpr int kThreads = 4;
  std::atomic<int> bad{0};
  std::vector<std::string> why(kThreads);
  std::latch created(kThreads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      pocket_session_options opts;
      pocket_session_options_init(&opts);
      pocket_session* s = nullptr;
      const pocket_status st = pocket_session_create(model, &opts, &s);
      created.arrive_and_wait();  // then the main thread frees the model handle
      if (st != POCKET_OK) {
        why[t] = std::string("create: ") + pocket_last_error();
        bad++;
        return;
      }
      for (int i = 0; i < 10; ++i) {
        // A failing call on this thread: the message names this thread's input, whatever the
        // other threads' failing calls say at the same time.
        const std::string wrong = "no_such_input_" + std::to_string(t);
        const float junk = 0.f;
        const int64_t shape[1] = {1};
        if (pocket_session_set_input(s, wrong.c_str(), POCKET_F32, shape, 1, &junk) == POCKET_OK ||
            std::string(pocket_last_error()).find(wrong) == std::string::npos) {
          why[t] = "the error for '" + wrong + "' on this thread reads '" + pocket_last_error() + "'";
          bad++;
          break;
        }
        const size_t k = static_cast<size_t>(t + i) % c.feeds.size();
        void* in = nullptr;
        const void* out = nullptr;
        if (pocket_session_input_data(s, 0, &in) != POCKET_OK) {
          why[t] = pocket_last_error();
          bad++;
          break;
        }
        std::memcpy(in, c.feeds[k][0].data(), c.feeds[k][0].size());
        if (pocket_session_run(s) != POCKET_OK || pocket_session_output_data(s, 1, &out) != POCKET_OK) {
          why[t] = pocket_last_error();
          bad++;
          break;
        }
        if (std::memcmp(out, c.refs[k][1].data(), c.refs[k][1].size()) != 0) {
          why[t] = "run " + std::to_string(i) + ": output differs from the reference";
          bad++;
          break;
        }
      }
      pocket_session_free(s);
    });
  }
  created.arrive_and_wait();
  pocket_model_free(model);  // while the sessions run
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0) << why[0] << " | " << why[1] << " | " << why[2] << " | " << why[3];
}

// ---- Intra-op threads: num_threads = 1 against 2, 3 and 4 ----------------------------------------

struct ThreadCase {
  ThreadCase(std::string n, std::vector<uint8_t> f, bool bw = true, float t = 0.f, std::string r = "")
      : name(std::move(n)), file(std::move(f)), bitwise(bw), tol(t), reason(std::move(r)) {}
  std::string name;
  std::vector<uint8_t> file;
  // true: every thread count must give the one-thread bytes. false: within tol (relative to the
  // largest reference magnitude), and reason says why the bytes may differ.
  bool bitwise = true;
  float tol = 0.f;
  std::string reason;
};

// Compares one thread with 2 and 3 (an even and an odd split), two runs each; prints the kernels
// used and, where the bytes differ, the largest difference relative to the largest |output|.
void check_thread_counts(const ThreadCase& tc) {
  SCOPED_TRACE(tc.name);
  std::shared_ptr<const Model> model = load(tc.file);
  ASSERT_TRUE(model);
  auto one = make_session(model, 1);
  ASSERT_TRUE(one);
  std::string kernels;
  for (const OpProfile& p : one->profile_info()) kernels += (kernels.empty() ? "" : ", ") + p.op + ":" + p.kernel;
  const Feed f = make_feed(*one, 11);
  const Outputs want = run_feed(*one, f);
  bool all_bitwise = true;
  double worst_rel = 0;
  for (int threads : {2, 3}) {
    auto s = make_session(model, threads);
    ASSERT_TRUE(s);
    const Outputs got = run_feed(*s, f);
    ASSERT_EQ(got.size(), want.size());
    for (size_t o = 0; o < got.size(); ++o) {
      ASSERT_EQ(got[o].size(), want[o].size());
      if (got[o] == want[o]) continue;
      all_bitwise = false;
      if (tc.bitwise) {
        ADD_FAILURE() << "output " << o << " with " << threads << " threads differs from 1 thread (" << kernels << ")";
        continue;
      }
      const size_t n = got[o].size() / 4;
      std::vector<float> g(n), w(n);
      std::memcpy(g.data(), got[o].data(), n * 4);
      std::memcpy(w.data(), want[o].data(), n * 4);
      float scale = 0.f, worst = 0.f;
      for (size_t i = 0; i < n; ++i) scale = std::max(scale, std::abs(w[i]));
      for (size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(g[i] - w[i]));
      worst_rel = std::max(worst_rel, static_cast<double>(worst) / std::max(scale, 1e-30f));
      EXPECT_LE(worst, tc.tol * std::max(scale, 1e-30f)) << "output " << o << ", " << threads << " threads: " << tc.reason;
    }
    // A session run again on the same input gives the same bytes, whatever its thread count.
    EXPECT_EQ(run_feed(*s, f), got) << threads << " threads: a repeated run differs";
  }
  if (all_bitwise)
    std::printf("[ threads  ] %-36s bitwise       (%s)\n", tc.name.c_str(), kernels.c_str());
  else
    std::printf("[ threads  ] %-36s NOT bitwise, max rel. diff %.2g  (%s)\n", tc.name.c_str(), worst_rel,
                kernels.c_str());
}

std::vector<uint8_t> single(fb::OpType op, const std::vector<std::vector<int64_t>>& inputs,
                            const std::vector<std::vector<int64_t>>& weights, std::vector<AttrDesc> attrs = {},
                            bool i8_weights = false) {
  Builder b;
  std::vector<int32_t> ins;
  for (size_t i = 0; i < inputs.size(); ++i) ins.push_back(b.input("in" + std::to_string(i), inputs[i]));
  for (const auto& w : weights)
    ins.push_back(i8_weights && w.size() >= 2 ? b.weight_i8(w, static_cast<int32_t>(w.size()) - 1) : b.weight(w));
  b.output(b.node(op, ins, std::move(attrs)));
  return b.bytes();
}

// Each kernel family, at sizes past its parallel threshold. The work split changes only which
// thread computes which output elements (output tiles, rows, channels, heads); each element's sum
// runs in the same order, so the bytes do not depend on the thread count. See docs/CONCURRENCY.md.
TEST(ConcurrencyThreadCounts, ConvFamilies) {
  const AttrDesc g32 = AttrDesc::Int("group", 32);
  for (const ThreadCase& tc : std::vector<ThreadCase>{
           {"conv3x3 winograd", single(fb::OpType::Conv, {{1, 28, 28, 32}}, {{32, 32, 3, 3}, {32}}, {pads1()})},
           {"conv3x3 s2 igemm", single(fb::OpType::Conv, {{1, 30, 30, 4}}, {{32, 4, 3, 3}, {32}},
                                       {pads1(), AttrDesc::Ints("strides", {2, 2})})},
           {"conv1x1 gemm", single(fb::OpType::Conv, {{1, 28, 28, 32}}, {{64, 32, 1, 1}, {64}},
                                   {AttrDesc::Int("activation", kHardSwish)})},
           {"dwconv3x3", single(fb::OpType::Conv, {{1, 30, 30, 32}}, {{32, 1, 3, 3}, {32}}, {pads1(), g32})},
           {"dwconv5x5 s2", single(fb::OpType::Conv, {{1, 29, 29, 32}}, {{32, 1, 5, 5}, {32}},
                                   {AttrDesc::Ints("pads", {2, 2, 2, 2}), AttrDesc::Ints("strides", {2, 2}), g32})},
           {"grouped conv xnnpack", single(fb::OpType::Conv, {{1, 14, 14, 32}}, {{32, 8, 3, 3}, {32}},
                                           {pads1(), AttrDesc::Int("group", 4)})},
           {"conv7x7 s2 (stem)", single(fb::OpType::Conv, {{1, 32, 32, 3}}, {{16, 3, 7, 7}, {16}},
                                        {AttrDesc::Ints("pads", {3, 3, 3, 3}), AttrDesc::Ints("strides", {2, 2})})},
       })
    check_thread_counts(tc);
}

TEST(ConcurrencyThreadCounts, DenseFamilies) {
  for (const ThreadCase& tc : std::vector<ThreadCase>{
           {"gemm 64x128x96", single(fb::OpType::Gemm, {{64, 128}}, {{128, 96}, {96}})},
           {"gemm gemv 1x512x1000", single(fb::OpType::Gemm, {{1, 512}}, {{512, 1000}, {1000}})},
           {"matmul batched + gelu", single(fb::OpType::MatMul, {{4, 32, 64}}, {{64, 48}, {48}},
                                            {AttrDesc::Int("activation", kGelu)})},
           {"matmul 2 inputs", [] {
              Builder b;
              const int32_t a = b.input("a", {4, 40, 32}), c = b.input("b", {4, 32, 40});
              b.output(b.node(fb::OpType::MatMul, {a, c}));
              return b.bytes();
            }()},
       })
    check_thread_counts(tc);
}

TEST(ConcurrencyThreadCounts, AttentionAndNormalisation) {
  auto attention = [](int64_t batch, int64_t sq, int64_t sk, int64_t heads, int64_t d, std::vector<AttrDesc> attrs,
                      bool mask) {
    Builder b;
    const int32_t q = b.input("q", {batch, sq, heads * d}), k = b.input("k", {batch, sk, heads * d}),
                  v = b.input("v", {batch, sk, heads * d});
    std::vector<int32_t> ins = {q, k, v};
    if (mask) ins.push_back(b.input("mask", {batch, 1, 1, sk}));
    attrs.push_back(AttrDesc::Int("num_heads", heads));
    b.output(b.node(fb::OpType::Attention, ins, std::move(attrs)));
    return b.bytes();
  };
  for (const ThreadCase& tc : std::vector<ThreadCase>{
           // NOT bitwise. One head, many query rows: with more threads attention_f32_plan makes
           // smaller query tiles (batch x heads x tiles >= 2 x threads), so row 36 of 37 lands in a
           // 1-row tile (direct scores: dot products reduced by a horizontal-add tree) instead of
           // being the 1-row remainder of a 37-row tile (a 2-chain FMA block). Same math, different
           // summation order: a few ulps. Within one session the plan is fixed, so runs repeat.
           // With 4 heads x 2 batches (next cases) the tiles do not shrink: bitwise.
           {"attention 1 head sq 37", attention(1, 37, 37, 1, 32, {}, false), false, 1e-5f,
            "query tiles shrink with more threads; a row's score arithmetic depends on its tile's row count"},
           {"attention 4 heads sq 20", attention(2, 20, 20, 4, 16, {}, false)},
           {"attention causal", attention(1, 33, 33, 2, 16, {AttrDesc::Int("causal", 1)}, false)},
           {"attention decode sq 1", attention(1, 1, 300, 4, 16, {}, true)},
           {"attention long keys", attention(1, 9, 300, 2, 32, {}, false)},
           {"layernorm", single(fb::OpType::LayerNormalization, {{64, 256}}, {{256}, {256}})},
           {"rmsnorm", single(fb::OpType::RMSNormalization, {{64, 256}}, {{256}})},
           {"softmax", single(fb::OpType::Softmax, {{64, 256}}, {}, {AttrDesc::Int("axis", -1)})},
           {"logsoftmax axis 0", single(fb::OpType::LogSoftmax, {{64, 256}}, {}, {AttrDesc::Int("axis", 0)})},
           {"gelu", single(fb::OpType::Gelu, {{64, 512}}, {})},
       })
    check_thread_counts(tc);
}

TEST(ConcurrencyThreadCounts, PoolReduceElementwise) {
  for (const ThreadCase& tc : std::vector<ThreadCase>{
           {"global average pool", single(fb::OpType::GlobalAveragePool, {{2, 28, 28, 64}}, {})},
           {"max pool 3x3 s2", single(fb::OpType::MaxPool, {{1, 56, 56, 32}}, {},
                                      {AttrDesc::Ints("kernel_shape", {3, 3}), AttrDesc::Ints("strides", {2, 2}),
                                       pads1()})},
           {"average pool 3x3", single(fb::OpType::AveragePool, {{1, 56, 56, 32}}, {},
                                       {AttrDesc::Ints("kernel_shape", {3, 3}), pads1()})},
           {"reduce mean hw", single(fb::OpType::ReduceMean, {{1, 28, 28, 64}}, {}, {AttrDesc::Ints("axes", {1, 2})})},
           {"reduce sum all", single(fb::OpType::ReduceSum, {{64, 512}}, {})},
           {"squeeze excite", single(fb::OpType::SqueezeExcite, {{1, 28, 28, 64}}, {{16, 64, 1, 1}, {16}, {64, 16, 1, 1}, {64}},
                                     {AttrDesc::Int("activation", kRelu), AttrDesc::Int("gate", kHardSigmoid),
                                      AttrDesc::Float("gate_alpha", 1.f / 6.f), AttrDesc::Float("gate_beta", 0.5f)})},
           {"add broadcast", single(fb::OpType::Add, {{1, 56, 56, 64}}, {{64}})},
           {"hardswish", single(fb::OpType::HardSwish, {{1, 56, 56, 64}}, {})},
           {"sigmoid", single(fb::OpType::Sigmoid, {{1, 56, 56, 64}}, {})},
       })
    check_thread_counts(tc);
}

TEST(ConcurrencyThreadCounts, Int8) {
  for (const ThreadCase& tc : std::vector<ThreadCase>{
           // Weight-only int8: the activations are quantized per row (each row's own range), the
           // products summed in int32 (exact in any order), so the split cannot change a bit.
           {"matmul int8-dynamic 96x128x64", single(fb::OpType::MatMul, {{96, 128}}, {{128, 64}}, {}, true)},
           {"gemm int8-dynamic 1x256x300", single(fb::OpType::Gemm, {{1, 256}}, {{256, 300}}, {}, true)},
           {"int8 net (static conv, dw, add, pool)", int8_net()},
       })
    check_thread_counts(tc);
}

// ---- The MobileNetV3-Small fixture ---------------------------------------------------------------

TEST(ConcurrencyFixture, MobileNetV3SmallFourThreadsFourSessions) {
  std::string why;
  const std::string path = ::pocket::testing::fixture_pocket("mobilenet_v3_small", &why);
  if (path.empty()) GTEST_SKIP() << why;
  auto loaded = Model::load_file(path);
  ASSERT_TRUE(loaded.ok()) << path << ": " << loaded.status().message();
  std::shared_ptr<const Model> model = loaded.value();
  const Case c = make_case(model, 5);
  constexpr int kThreads = 4;
  Tally tally;
  std::latch created(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto s = Session::create(model, with_threads(1));
      created.arrive_and_wait();
      if (!s.ok()) {
        tally.mismatch("Session::create: " + s.status().message());
        return;
      }
      for (int i = 0; i < 3; ++i) {
        const size_t k = static_cast<size_t>(t + 2 * i) % c.feeds.size();
        if (run_feed(*s.value(), c.feeds[k]) != c.refs[k])
          tally.mismatch("thread " + std::to_string(t) + " input " + std::to_string(k) + " differs from the reference");
        tally.runs++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(tally.mismatches.load(), 0) << tally.first;
  EXPECT_EQ(tally.runs.load(), kThreads * 3);
  // And a session with an intra-op pool gives the same bytes (docs/CONCURRENCY.md: no attention).
  auto pooled = make_session(model, 2);
  ASSERT_TRUE(pooled);
  EXPECT_EQ(run_feed(*pooled, c.feeds[1]), c.refs[1]) << "2 intra-op threads";
}

}  // namespace
}  // namespace pocket
