// libFuzzer target: a .pocket file from anywhere (issue #6, "Hostile input").
//
// Any byte string goes to Model::load_buffer. A model that loads must be safe to use: its
// metadata views are read, the pipelines' tokenizers are built from its metadata, and a session
// is created with every symbolic dim at 1 and run once on deterministic inputs. A model that
// loads but whose session fails must fail with a Status, never a crash.
//
// What the fuzzer skips (to keep one input in the millisecond range; the engine's own checks are
// not weakened): graphs with more than kMaxNodes nodes or kMaxTensors tensors, inputs with more than
// kMaxInputElements elements, and plans whose arena exceeds kMaxArenaBytes or whose ops count
// more than kMaxFlops per run (those are created but not run: a legal model with a 3.5 GFLOP
// attention took 27 s under ASan, past libFuzzer's timeout, without being wrong).
//
// Run: scripts/fuzz.sh model, or by hand:
//   build/fuzz/fuzz_model -dict=fuzz/model.dict -max_len=65536 -rss_limit_mb=2048 -timeout=10 fuzz/corpus/model
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/pipelines/speech/bpe.h"
#include "engine/pipelines/text/wordpiece.h"
#include "engine/session.h"

namespace {

constexpr size_t kMaxNodes = 256;
constexpr size_t kMaxTensors = 1024;
constexpr int64_t kMaxInputElements = 1 << 16;
constexpr size_t kMaxArenaBytes = 64u << 20;
constexpr int64_t kMaxFlops = int64_t{200} << 20;

uint32_t hash_bytes(const uint8_t* p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n && i < 256; ++i) h = (h ^ p[i]) * 16777619u;
  return h ^ static_cast<uint32_t>(n);
}

// Deterministic contents: small floats, and small integers (valid and invalid indices alike:
// run() must stay in bounds whatever the caller writes into an input).
void fill(pocket::Value& v, uint32_t seed) {
  uint32_t s = seed * 2654435761u + 97u;
  auto next = [&]() {
    s = s * 1664525u + 1013904223u;
    return s >> 8;
  };
  const int64_t n = v.elements();
  switch (v.dtype) {
    case pocket::DType::F32:
      for (int64_t i = 0; i < n; ++i) v.as<float>()[i] = static_cast<float>(next() % 2001) / 500.f - 2.f;
      break;
    case pocket::DType::F64:
      for (int64_t i = 0; i < n; ++i) v.as<double>()[i] = static_cast<double>(next() % 2001) / 500.0 - 2.0;
      break;
    case pocket::DType::I64:
      for (int64_t i = 0; i < n; ++i) v.as<int64_t>()[i] = static_cast<int64_t>(next() % 9) - 4;
      break;
    case pocket::DType::I32:
      for (int64_t i = 0; i < n; ++i) v.as<int32_t>()[i] = static_cast<int32_t>(next() % 9) - 4;
      break;
    default: {
      const size_t bytes = v.bytes();
      auto* b = static_cast<uint8_t*>(v.data);
      for (size_t i = 0; i < bytes; ++i) b[i] = static_cast<uint8_t>(next());
      break;
    }
  }
}

void touch_metadata(const pocket::Model& model) {
  volatile size_t sink = 0;
  for (const std::string& l : model.labels()) sink = sink + l.size();
  sink = sink + model.property("task").size() + model.property("").size();
  if (const pocket::fb::Metadata* md = model.metadata()) {
    if (const pocket::fb::Preprocessing* p = md->preprocessing()) {
      sink = sink + static_cast<size_t>(p->width()) + static_cast<size_t>(p->height());
      if (p->mean()) for (float m : *p->mean()) sink = sink + static_cast<size_t>(m != 0.f);
      if (p->layout()) sink = sink + p->layout()->size();
    }
    if (const pocket::fb::Tokenizer* t = md->tokenizer()) {
      const std::string kind = t->kind() ? t->kind()->str() : "";
      if (kind == "wordpiece") {
        auto tok = pocket::text::WordPieceTokenizer::from_model(model);
        if (tok.ok()) sink = sink + tok.value().encode("Hello, world! caf\xc3\xa9 ##x [SEP]", 8).ids.size();
      } else if (kind == "bytelevel_bpe" && t->vocab() && t->vocab()->size() <= 4096) {
        std::vector<std::string> vocab, merges;
        for (const auto* s : *t->vocab()) vocab.push_back(s->str());
        if (t->merges() && t->merges()->size() <= 4096)
          for (const auto* s : *t->merges()) merges.push_back(s->str());
        pocket::speech::ByteBpe bpe;
        if (bpe.init(vocab, merges, {}).ok()) {
          std::vector<int32_t> ids;
          if (bpe.encode(" hello world", &ids).ok()) sink = sink + bpe.decode(ids).size();
        }
      }
    }
  }
  (void)sink;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto loaded = pocket::Model::load_buffer(data, size);
  if (!loaded.ok()) {
    if (loaded.status().message().empty()) __builtin_trap();  // an error must say what is wrong
    return 0;
  }
  std::shared_ptr<const pocket::Model> model = loaded.value();
  touch_metadata(*model);

  const pocket::fb::Graph& g = model->graph();
  if (g.nodes()->size() > kMaxNodes || g.tensors()->size() > kMaxTensors) return 0;
  for (int32_t idx : *g.inputs()) {
    const pocket::fb::Tensor* t = g.tensors()->Get(static_cast<flatbuffers::uoffset_t>(idx));
    pocket::Shape s;
    for (int64_t d : *t->shape()) s.push_back(d < 0 ? 1 : d);
    const int64_t n = pocket::num_elements(s);
    if (n < 0 || n > kMaxInputElements) return 0;
  }

  pocket::SessionOptions options;
  options.memory_budget = 256u << 20;
  auto session = pocket::Session::create(model, options);
  if (!session.ok()) {
    if (session.status().message().empty()) __builtin_trap();
    return 0;
  }
  pocket::Session& s = *session.value();
  if (s.arena_bytes() > kMaxArenaBytes) return 0;
  int64_t flops = 0;
  for (const pocket::OpProfile& op : s.profile_info()) {
    if (op.flops < 0 || op.flops > kMaxFlops - flops) return 0;
    flops += op.flops;
  }
  const uint32_t seed = hash_bytes(data, size);
  for (size_t i = 0; i < s.num_inputs(); ++i) fill(s.input(i), seed + static_cast<uint32_t>(i));
  s.run();
  volatile uint64_t sink = 0;
  for (size_t i = 0; i < s.num_outputs(); ++i) {
    const pocket::Value& o = s.output(i);
    const size_t bytes = o.bytes();
    const auto* b = static_cast<const uint8_t*>(o.data);
    if (b && bytes) sink = sink + b[0] + b[bytes - 1];  // outputs must be readable end to end
  }
  (void)sink;
  return 0;
}
