// Hostile model files (issue #6): every lie a .pocket file can tell gives an error naming it, and
// whatever loads is safe to create a session on and run.
//
// The small models built here are also the fuzz seeds: with POCKET_WRITE_MODEL_SEEDS=<dir>, the
// test ModelHostile.SeedModelsLoadCreateAndRun writes each one to <dir>/seed-<name>.pocket
// (fuzz/corpus/model/ holds the committed copies).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "format/builder.h"

namespace pocket {
namespace {

using format::AttrDesc;
using format::QuantDesc;
using Bytes = std::vector<uint8_t>;

uint16_t to_f16(float x) {  // normal values only (enough for small weights)
  uint32_t b;
  std::memcpy(&b, &x, 4);
  const uint32_t sign = (b >> 16) & 0x8000u;
  const int32_t e = static_cast<int32_t>((b >> 23) & 0xff) - 127 + 15;
  if (e <= 0) return static_cast<uint16_t>(sign);
  return static_cast<uint16_t>(sign | static_cast<uint32_t>(e) << 10 | ((b >> 13) & 0x3ff));
}

// A tiny graph builder: graph inputs, constants, one-output nodes.
class Builder {
 public:
  int32_t input(const std::string& name, std::vector<int64_t> shape, fb::DType dt = fb::DType::F32,
                std::vector<std::string> dim_names = {}) {
    format::TensorDesc t;
    t.name = name, t.dtype = dt, t.shape = std::move(shape), t.dim_names = std::move(dim_names);
    const int32_t i = m.add_tensor(t);
    m.inputs.push_back(i);
    return i;
  }
  int32_t weight(std::vector<int64_t> shape, float scale = 0.3f, bool f16 = false) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    format::TensorDesc t;
    t.name = "w" + std::to_string(m.tensors.size());
    t.shape = std::move(shape);
    t.has_data = true;
    uint32_t s = static_cast<uint32_t>(m.tensors.size()) * 7919u + 1u;
    for (int64_t k = 0; k < n; ++k) {
      s = s * 1664525u + 1013904223u;
      const float v = (static_cast<float>(s >> 8) / 16777216.f * 2.f - 1.f) * scale;
      if (f16) {
        const uint16_t h = to_f16(v);
        t.data.insert(t.data.end(), reinterpret_cast<const uint8_t*>(&h), reinterpret_cast<const uint8_t*>(&h) + 2);
      } else {
        t.data.insert(t.data.end(), reinterpret_cast<const uint8_t*>(&v), reinterpret_cast<const uint8_t*>(&v) + 4);
      }
    }
    if (f16) t.dtype = fb::DType::F16;
    return m.add_tensor(t);
  }
  int32_t ints(std::vector<int64_t> values) {
    format::TensorDesc t;
    t.name = "i" + std::to_string(m.tensors.size());
    t.dtype = fb::DType::I64;
    t.shape = {static_cast<int64_t>(values.size())};
    t.has_data = true;
    t.data.resize(values.size() * 8);
    if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
    return m.add_tensor(t);
  }
  int32_t weight_i8(std::vector<int64_t> shape, int32_t axis) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    format::TensorDesc t;
    t.name = "q" + std::to_string(m.tensors.size());
    t.dtype = fb::DType::I8;
    t.has_data = true;
    for (int64_t k = 0; k < n; ++k) t.data.push_back(static_cast<uint8_t>(static_cast<int8_t>((k * 37) % 255 - 127)));
    t.has_quant = true;
    t.quant.axis = axis;
    for (int64_t c = 0; c < shape[static_cast<size_t>(axis)]; ++c) t.quant.scales.push_back(0.002f * static_cast<float>(1 + c % 5));
    t.shape = std::move(shape);
    return m.add_tensor(t);
  }
  int32_t value(const QuantDesc* q = nullptr) {
    format::TensorDesc t;
    t.name = "v" + std::to_string(m.tensors.size());
    if (q) t.dtype = fb::DType::I8, t.has_quant = true, t.quant = *q;
    return m.add_tensor(t);
  }
  int32_t node(fb::OpType op, std::vector<int32_t> ins, std::vector<AttrDesc> attrs = {}, const QuantDesc* q = nullptr) {
    const int32_t out = value(q);
    format::NodeDesc n;
    n.op = op;
    n.name = std::string(fb::EnumNameOpType(op)) + "_" + std::to_string(m.nodes.size());
    n.inputs = std::move(ins);
    n.outputs = {out};
    n.attrs = std::move(attrs);
    m.nodes.push_back(std::move(n));
    return out;
  }
  void output(int32_t i) { m.outputs.push_back(i); }
  Bytes bytes() const { return format::serialize(m); }

  format::ModelDesc m;
};

QuantDesc per_tensor(float scale, int64_t zp) {
  QuantDesc q;
  q.scales = {scale};
  q.zero_points = {zp};
  return q;
}

constexpr int64_t kRelu = static_cast<int64_t>(fb::ActivationKind::Relu);

// ---- Seed models (also the fuzz corpus) ----------------------------------------------------------

// Conv (+Relu) -> depthwise Conv -> MaxPool -> GlobalAveragePool -> Flatten -> Gemm -> Softmax;
// labels and image preprocessing in the metadata.
Bytes seed_cnn() {
  Builder b;
  const int32_t x = b.input("image", {1, 6, 6, 3});
  const int32_t c1 = b.node(fb::OpType::Conv, {x, b.weight({4, 3, 3, 3}), b.weight({4}, 0.1f)},
                            {AttrDesc::Ints("pads", {1, 1, 1, 1}), AttrDesc::Int("activation", kRelu)});
  const int32_t c2 = b.node(fb::OpType::Conv, {c1, b.weight({4, 1, 3, 3}), b.weight({4}, 0.1f)},
                            {AttrDesc::Ints("pads", {1, 1, 1, 1}), AttrDesc::Int("group", 4)});
  const int32_t mp = b.node(fb::OpType::MaxPool, {c2}, {AttrDesc::Ints("kernel_shape", {2, 2}), AttrDesc::Ints("strides", {2, 2})});
  const int32_t gp = b.node(fb::OpType::GlobalAveragePool, {mp});
  const int32_t fl = b.node(fb::OpType::Flatten, {gp}, {AttrDesc::Int("axis", 1)});
  const int32_t fc = b.node(fb::OpType::Gemm, {fl, b.weight({4, 3}), b.weight({3}, 0.1f)});
  b.output(b.node(fb::OpType::Softmax, {fc}, {AttrDesc::Int("axis", -1)}));
  b.m.metadata.task = "image_classification";
  b.m.metadata.labels = {"cat", "dog", "bird"};
  b.m.metadata.properties = {{"license", "test"}};
  b.m.metadata.has_preprocessing = true;
  b.m.metadata.preprocessing.width = 6;
  b.m.metadata.preprocessing.height = 6;
  b.m.metadata.preprocessing.layout = "NHWC";
  b.m.metadata.preprocessing.mean = {0.5f, 0.5f, 0.5f};
  b.m.metadata.preprocessing.std = {0.2f, 0.2f, 0.2f};
  b.m.metadata.preprocessing.scale = 1.f / 255.f;
  return b.bytes();
}

// Embedding Gather on int64 ids (symbolic batch and sequence) -> LayerNorm -> Q/K/V MatMuls ->
// Attention -> Add -> Reshape -> Concat; wordpiece tokenizer in the metadata.
Bytes seed_transformer() {
  Builder b;
  const int32_t ids = b.input("input_ids", {-1, -1}, fb::DType::I64, {"batch", "seq"});
  const int32_t emb = b.node(fb::OpType::Gather, {b.weight({12, 8}), ids}, {AttrDesc::Int("axis", 0)});
  const int32_t ln = b.node(fb::OpType::LayerNormalization, {emb, b.weight({8}, 1.f), b.weight({8}, 0.1f)},
                            {AttrDesc::Int("axis", -1), AttrDesc::Float("epsilon", 1e-5f)});
  const int32_t q = b.node(fb::OpType::MatMul, {ln, b.weight({8, 8})});
  const int32_t k = b.node(fb::OpType::MatMul, {ln, b.weight({8, 8})});
  const int32_t v = b.node(fb::OpType::MatMul, {ln, b.weight({8, 8}), b.weight({8}, 0.1f)});
  const int32_t at = b.node(fb::OpType::Attention, {q, k, v}, {AttrDesc::Int("num_heads", 2), AttrDesc::Int("causal", 1)});
  const int32_t add = b.node(fb::OpType::Add, {at, emb});
  const int32_t rs = b.node(fb::OpType::Reshape, {add}, {AttrDesc::Ints("shape", {0, -1})});
  const int32_t cat = b.node(fb::OpType::Concat, {rs, rs}, {AttrDesc::Int("axis", 1)});
  b.output(b.node(fb::OpType::Relu, {cat}));
  b.m.metadata.task = "text_classification";
  b.m.metadata.has_tokenizer = true;
  b.m.metadata.tokenizer.kind = "wordpiece";
  b.m.metadata.tokenizer.vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "##s", ",", "!", "caf", "##e", "x"};
  b.m.metadata.tokenizer.max_length = 12;
  b.m.metadata.tokenizer.special_tokens = {{"pad", "[PAD]"}, {"unk", "[UNK]"}, {"cls", "[CLS]"}, {"sep", "[SEP]"}};
  return b.bytes();
}

// QuantizeLinear -> int8 Conv -> int8 Add -> int8 GlobalAveragePool -> DequantizeLinear ->
// Flatten -> weight-only int8 MatMul.
Bytes seed_int8() {
  Builder b;
  const QuantDesc qx = per_tensor(1.f / 64.f, 3), q1 = per_tensor(0.05f, -10), q2 = per_tensor(0.08f, 0),
                  q3 = per_tensor(0.02f, 0);
  const int32_t x = b.input("x", {1, 4, 4, 4});
  const int32_t xq = b.node(fb::OpType::QuantizeLinear, {x}, {}, &qx);
  const int32_t c1 = b.node(fb::OpType::Conv, {xq, b.weight_i8({8, 4, 3, 3}, 0), b.weight({8}, 0.1f)},
                            {AttrDesc::Ints("pads", {1, 1, 1, 1}), AttrDesc::Int("activation", kRelu)}, &q1);
  const int32_t ad = b.node(fb::OpType::Add, {c1, c1}, {}, &q2);
  const int32_t gp = b.node(fb::OpType::GlobalAveragePool, {ad}, {}, &q3);
  const int32_t dq = b.node(fb::OpType::DequantizeLinear, {gp});
  const int32_t fl = b.node(fb::OpType::Flatten, {dq}, {AttrDesc::Int("axis", 1)});
  b.output(b.node(fb::OpType::MatMul, {fl, b.weight_i8({8, 5}, 1), b.weight({5}, 0.1f)}));
  return b.bytes();
}

// F16 constants: MatMul with an F16 weight, Mul by an F16 vector, Sigmoid; bytelevel BPE
// tokenizer and a Whisper audio front end in the metadata.
Bytes seed_f16_audio() {
  Builder b;
  const int32_t x = b.input("mel", {1, 3, 8});
  const int32_t mm = b.node(fb::OpType::MatMul, {x, b.weight({8, 6}, 0.3f, true)});
  const int32_t mul = b.node(fb::OpType::Mul, {mm, b.weight({6}, 1.f, true)});
  const int32_t tr = b.node(fb::OpType::Transpose, {mul}, {AttrDesc::Ints("perm", {0, 2, 1})});
  b.output(b.node(fb::OpType::Sigmoid, {tr}));
  b.m.metadata.task = "speech_recognition";
  b.m.metadata.has_tokenizer = true;
  b.m.metadata.tokenizer.kind = "bytelevel_bpe";
  for (int c = 33; c < 127; ++c) b.m.metadata.tokenizer.vocab.push_back(std::string(1, static_cast<char>(c)));
  b.m.metadata.tokenizer.vocab.push_back("\xc4\xa0");  // the GPT-2 alphabet's space
  b.m.metadata.tokenizer.vocab.push_back("he");
  b.m.metadata.tokenizer.vocab.push_back("<|endoftext|>");
  b.m.metadata.tokenizer.merges = {"h e"};
  b.m.metadata.tokenizer.special_tokens = {{"eot", "<|endoftext|>"}};
  b.m.metadata.tokenizer.suppress_tokens = {0, 1};
  b.m.metadata.has_audio = true;
  b.m.metadata.audio.n_mels = 8;
  return b.bytes();
}

// Shape arithmetic and data movement: Shape -> Gather -> ConstantOfShape, Range, Expand, Slice,
// Pad, Tile, Split, Where/Equal, Cast, ReduceMean, ArgMax, Trilu, ScatterND, Resize.
Bytes seed_shapes() {
  Builder b;
  const int32_t x = b.input("x", {2, -1}, fb::DType::F32, {"", "n"});
  const int32_t sh = b.node(fb::OpType::Shape, {x});
  const int32_t cs = b.node(fb::OpType::ConstantOfShape, {sh}, {AttrDesc::Float("value", 0.5f)});
  const int32_t ad = b.node(fb::OpType::Add, {x, cs});
  const int32_t ex = b.node(fb::OpType::Expand, {ad}, {AttrDesc::Ints("shape", {2, 2, 1})});
  const int32_t sl = b.node(fb::OpType::Slice, {ex}, {AttrDesc::Ints("starts", {0}), AttrDesc::Ints("ends", {1}), AttrDesc::Ints("axes", {0})});
  const int32_t pd = b.node(fb::OpType::Pad, {sl}, {AttrDesc::Ints("pads", {0, 1, 0, 0, 1, 0})});
  const int32_t tl = b.node(fb::OpType::Tile, {pd}, {AttrDesc::Ints("repeats", {1, 1, 2})});
  const int32_t eq = b.node(fb::OpType::Equal, {tl, tl});
  const int32_t wh = b.node(fb::OpType::Where, {eq, tl, b.weight({1}, 1.f)});
  const int32_t rm = b.node(fb::OpType::ReduceMean, {wh}, {AttrDesc::Ints("axes", {-1}), AttrDesc::Int("keepdims", 1)});
  const int32_t am = b.node(fb::OpType::ArgMax, {wh}, {AttrDesc::Int("axis", 1)});
  const int32_t ca = b.node(fb::OpType::Cast, {am}, {AttrDesc::Int("to", static_cast<int64_t>(fb::DType::F32))});
  b.output(rm);
  b.output(ca);
  const int32_t sq = b.input("m", {3, 3});
  const int32_t tr = b.node(fb::OpType::Trilu, {sq}, {AttrDesc::Int("upper", 0)});
  const int32_t sc = b.node(fb::OpType::ScatterND, {tr, b.ints({1, 1}), b.weight({1}, 1.f)});
  b.output(sc);
  format::TensorDesc idx;
  b.m.tensors[static_cast<size_t>(b.m.nodes.back().inputs[1])].shape = {1, 2};
  const int32_t rg = b.node(fb::OpType::Range, {b.ints({0}), b.ints({5}), b.ints({2})});
  b.output(rg);
  const int32_t img = b.input("img", {1, 2, 2, 1});
  b.output(b.node(fb::OpType::Resize, {img}, {AttrDesc::Floats("scales", {1.f, 2.f, 2.f, 1.f}), AttrDesc::String("mode", "nearest")}));
  format::NodeDesc split;
  split.op = fb::OpType::Split;
  split.name = "split";
  split.inputs = {sq};
  split.outputs = {b.value(), b.value()};
  split.attrs = {AttrDesc::Int("axis", 1), AttrDesc::Ints("split", {1, 2})};
  b.m.nodes.push_back(split);
  b.output(split.outputs[0]);
  b.output(split.outputs[1]);
  return b.bytes();
}

std::vector<std::pair<std::string, Bytes>> seed_models() {
  return {{"cnn", seed_cnn()}, {"transformer", seed_transformer()}, {"int8", seed_int8()},
          {"f16_audio", seed_f16_audio()}, {"shapes", seed_shapes()}};
}

// ---- Helpers -----------------------------------------------------------------------------------

std::string load_error(const Bytes& bytes) {
  auto r = Model::load_buffer(bytes.data(), bytes.size());
  return r.ok() ? "" : r.status().message();
}

// Load, create (symbolic dims 1), fill inputs with arbitrary bytes and run: the error, or "".
std::string load_create_run(const Bytes& bytes, bool* ran = nullptr) {
  if (ran) *ran = false;
  auto r = Model::load_buffer(bytes.data(), bytes.size());
  if (!r.ok()) return "load: " + r.status().message();
  const fb::Graph& g = r.value()->graph();
  if (g.nodes()->size() > 256) return "skipped: too many nodes";
  for (int32_t idx : *g.inputs()) {
    Shape s;
    for (int64_t d : *g.tensors()->Get(static_cast<flatbuffers::uoffset_t>(idx))->shape()) s.push_back(d < 0 ? 1 : d);
    if (num_elements(s) < 0 || num_elements(s) > (1 << 16)) return "skipped: large input";
  }
  auto s = Session::create(r.value());
  if (!s.ok()) return "create: " + s.status().message();
  Session& session = *s.value();
  if (session.arena_bytes() > (64u << 20)) return "skipped: large arena";
  for (size_t i = 0; i < session.num_inputs(); ++i) {
    Value& v = session.input(i);
    auto* p = static_cast<uint8_t*>(v.data);
    for (size_t k = 0; k < v.bytes(); ++k) p[k] = static_cast<uint8_t>(k * 29 + i);
    if (v.dtype == DType::I64)
      for (int64_t k = 0; k < v.elements(); ++k) v.as<int64_t>()[k] = k % 5 - 1;
    if (v.dtype == DType::F32)
      for (int64_t k = 0; k < v.elements(); ++k) v.as<float>()[k] = static_cast<float>(k % 7) * 0.25f - 0.5f;
  }
  session.run();
  if (ran) *ran = true;
  return "";
}

// The file's fb::Tensor / fb::Node, to patch scalar fields in place.
template <class T>
uint8_t* field_address(Bytes& bytes, const T* table, flatbuffers::voffset_t field) {
  const uint8_t* p = reinterpret_cast<const flatbuffers::Table*>(table)->GetAddressOf(field);
  return p ? bytes.data() + (p - bytes.data()) : nullptr;
}

const fb::Model* view(const Bytes& bytes) { return fb::GetSizePrefixedModel(bytes.data()); }

// ---- Seeds: valid models load, create and run --------------------------------------------------

TEST(ModelHostile, SeedModelsLoadCreateAndRun) {
  const char* dir = std::getenv("POCKET_WRITE_MODEL_SEEDS");
  for (const auto& [name, bytes] : seed_models()) {
    bool ran = false;
    EXPECT_EQ(load_create_run(bytes, &ran), "") << name;
    EXPECT_TRUE(ran) << name;
    if (dir) {
      std::ofstream f(std::string(dir) + "/seed-" + name + ".pocket", std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
  }
}

// ---- Crafted lies: each names what is wrong ------------------------------------------------------

format::ModelDesc add_model() {
  Builder b;
  const int32_t x = b.input("x", {2, 3});
  b.output(b.node(fb::OpType::Add, {x, b.weight({2, 3})}));
  return b.m;
}

TEST(ModelHostile, WrongTensorIndex) {
  format::ModelDesc m = add_model();
  m.nodes[0].inputs[1] = 77;
  EXPECT_NE(load_error(format::serialize(m)).find("refers to tensor 77 of 3"), std::string::npos) << load_error(format::serialize(m));
  m = add_model();
  m.nodes[0].inputs[0] = -5;
  EXPECT_NE(load_error(format::serialize(m)).find("refers to tensor -5"), std::string::npos);
  m = add_model();
  m.outputs = {9};
  EXPECT_NE(load_error(format::serialize(m)).find("graph output refers to tensor 9"), std::string::npos);
}

TEST(ModelHostile, BadDataOffsetAndSize) {
  // A second constant: its data_offset (64) is stored (the first one's, 0, is a default and is not).
  Builder b;
  const int32_t x = b.input("x", {2, 3});
  const int32_t a = b.node(fb::OpType::Add, {x, b.weight({2, 3})});
  const int32_t w2 = b.weight({2, 3});
  b.output(b.node(fb::OpType::Add, {a, w2}));
  Bytes bytes = b.bytes();
  const fb::Tensor* w = view(bytes)->graph()->tensors()->Get(static_cast<flatbuffers::uoffset_t>(w2));
  ASSERT_TRUE(w->has_data());
  uint8_t* off = field_address(bytes, w, fb::Tensor::VT_DATA_OFFSET);
  ASSERT_NE(off, nullptr);
  const uint64_t far = 1ull << 40;
  std::memcpy(off, &far, 8);
  EXPECT_NE(load_error(bytes).find("data lies outside the weight segment"), std::string::npos) << load_error(bytes);
  const uint64_t unaligned = 8;
  std::memcpy(off, &unaligned, 8);
  EXPECT_NE(load_error(bytes).find("data lies outside the weight segment"), std::string::npos) << load_error(bytes);

  bytes = format::serialize(add_model());
  uint8_t* size = field_address(bytes, view(bytes)->graph()->tensors()->Get(1), fb::Tensor::VT_DATA_SIZE);
  ASSERT_NE(size, nullptr);
  const uint64_t wrong = 20;
  std::memcpy(size, &wrong, 8);
  EXPECT_NE(load_error(bytes).find("holds 20 bytes but float32[2, 3] needs 24"), std::string::npos) << load_error(bytes);
}

TEST(ModelHostile, OverflowingShapes) {
  // A constant whose element count overflows.
  format::ModelDesc m = add_model();
  m.tensors[1].shape = {int64_t{1} << 40, int64_t{1} << 40};
  EXPECT_NE(load_error(format::serialize(m)).find("too large"), std::string::npos) << load_error(format::serialize(m));
  // A graph input whose size in bytes overflows (elements fit in int64, bytes do not).
  m = add_model();
  m.tensors[0].shape = {int64_t{1} << 31, int64_t{1} << 31};
  std::string e = load_error(format::serialize(m));
  EXPECT_NE(e.find("tensor 0 'x'"), std::string::npos) << e;
  EXPECT_NE(e.find("too large"), std::string::npos) << e;
  // An input with a symbolic dim beside huge ones: still too large once the dim is 1.
  m = add_model();
  m.tensors[0].shape = {-1, int64_t{1} << 62, 4};
  m.tensors[0].dim_names = {"n", "", ""};
  e = load_error(format::serialize(m));
  EXPECT_NE(e.find("too large"), std::string::npos) << e;
}

TEST(ModelHostile, UnknownOpCodeAndDtype) {
  format::ModelDesc m = add_model();
  m.nodes[0].op = static_cast<fb::OpType>(999);
  EXPECT_NE(load_error(format::serialize(m)).find("unknown op code 999"), std::string::npos);
  m = add_model();
  m.tensors[0].dtype = static_cast<fb::DType>(42);
  EXPECT_NE(load_error(format::serialize(m)).find("unknown dtype"), std::string::npos);
}

TEST(ModelHostile, ArityIsCheckedAtLoad) {
  Builder b;
  const int32_t x = b.input("x", {1, 4, 4, 2});
  b.output(b.node(fb::OpType::Conv, {x}));
  std::string e = load_error(b.bytes());
  EXPECT_NE(e.find("(Conv) has 1 inputs and 1 outputs; Conv takes 2..4 inputs"), std::string::npos) << e;

  Builder b2;
  const int32_t y = b2.input("y", {2, 2});
  b2.output(b2.node(fb::OpType::Add, {y, y, y}));
  e = load_error(b2.bytes());
  EXPECT_NE(e.find("Add takes 2 inputs"), std::string::npos) << e;

  Builder b3;
  b3.output(b3.node(fb::OpType::Where, {b3.input("c", {2}, fb::DType::BOOL)}));
  e = load_error(b3.bytes());
  EXPECT_NE(e.find("Where takes 3 inputs"), std::string::npos) << e;
}

TEST(ModelHostile, OptionalRequiredInputLeftOutFailsInPrepare) {
  Builder b;
  const int32_t x = b.input("x", {1, 4, 4, 2});
  b.output(b.node(fb::OpType::Conv, {x, -1}));
  EXPECT_EQ(load_error(b.bytes()), "");
  const std::string e = load_create_run(b.bytes());
  EXPECT_NE(e.find("create: "), std::string::npos) << e;
  EXPECT_NE(e.find("weight W"), std::string::npos) << e;
}

TEST(ModelHostile, GemmWithRank5Weight) {
  Builder b;
  const int32_t a = b.input("a", {2, 3});
  b.output(b.node(fb::OpType::Gemm, {a, b.weight({3, 1, 1, 1, 2})}));
  const std::string e = load_create_run(b.bytes());
  EXPECT_NE(e.find("create: "), std::string::npos) << e;
  EXPECT_NE(e.find("Gemm"), std::string::npos) << e;
  EXPECT_NE(e.find("rank 2"), std::string::npos) << e;
}

TEST(ModelHostile, NegativeAndHugeAttributes) {
  Builder b;
  const int32_t x = b.input("x", {1, 4, 4, 2});
  b.output(b.node(fb::OpType::Conv, {x, b.weight({2, 2, 1, 1})}, {AttrDesc::Ints("strides", {-1, 1})}));
  std::string e = load_create_run(b.bytes());
  EXPECT_NE(e.find("create: "), std::string::npos) << e;
  EXPECT_NE(e.find("stride"), std::string::npos) << e;

  Builder b2;
  const int32_t y = b2.input("y", {2, 3});
  b2.output(b2.node(fb::OpType::Softmax, {y}, {AttrDesc::Int("axis", -9)}));
  e = load_create_run(b2.bytes());
  EXPECT_NE(e.find("create: "), std::string::npos) << e;
  EXPECT_NE(e.find("axis"), std::string::npos) << e;
}

TEST(ModelHostile, HugeReshapeAndExpand) {
  Builder b;
  const int32_t x = b.input("x", {2, 3});
  b.output(b.node(fb::OpType::Reshape, {x}, {AttrDesc::Ints("shape", {int64_t{1} << 40, int64_t{1} << 40})}));
  std::string e = load_create_run(b.bytes());
  EXPECT_NE(e.find("create: "), std::string::npos) << e;

  Builder b2;
  const int32_t y = b2.input("y", {1, 1});
  b2.output(b2.node(fb::OpType::Expand, {y}, {AttrDesc::Ints("shape", {int64_t{1} << 40, int64_t{1} << 40})}));
  e = load_create_run(b2.bytes());
  EXPECT_NE(e.find("create: "), std::string::npos) << e;
}

TEST(ModelHostile, BadQuantizationAndMetadata) {
  format::ModelDesc m = add_model();
  m.tensors[1].dtype = fb::DType::I8;
  m.tensors[1].data.resize(6);
  m.tensors[1].has_quant = true;
  m.tensors[1].quant.scales = {-1.f};
  std::string e = load_error(format::serialize(m));
  EXPECT_NE(e.find("quantization scale"), std::string::npos) << e;

  m = add_model();
  m.metadata.has_tokenizer = true;
  m.metadata.tokenizer.kind = "wordpiece";
  m.metadata.tokenizer.vocab = {"a"};
  m.metadata.tokenizer.suppress_tokens = {5};
  e = load_error(format::serialize(m));
  EXPECT_NE(e.find("suppress token 5"), std::string::npos) << e;

  m = add_model();
  m.metadata.has_audio = true;
  m.metadata.audio.hop_length = 0;
  e = load_error(format::serialize(m));
  EXPECT_NE(e.find("audio front end parameters"), std::string::npos) << e;

  m = add_model();
  m.metadata.has_preprocessing = true;
  m.metadata.preprocessing.width = -3;
  e = load_error(format::serialize(m));
  EXPECT_NE(e.find("preprocessing"), std::string::npos) << e;
}

// ---- Random corruption of real small models: never a crash ----------------------------------------

TEST(ModelHostile, MutatedModelsNeverCrash) {
  std::mt19937 rng(20261126);
  int loaded = 0, ran = 0, total = 0;
  for (const auto& [name, original] : seed_models()) {
    for (int iter = 0; iter < 80; ++iter) {
      Bytes bytes = original;
      const int kind = static_cast<int>(rng() % 4);
      if (kind == 0) {  // flip a few bits
        for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k)
          bytes[rng() % bytes.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      } else if (kind == 1) {  // interesting values over a few bytes
        static const uint8_t values[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, 0x40};
        const size_t at = rng() % bytes.size();
        for (size_t k = at; k < std::min(bytes.size(), at + 1 + rng() % 8); ++k) bytes[k] = values[rng() % 7];
      } else if (kind == 2) {  // truncate
        bytes.resize(rng() % bytes.size());
      } else {  // copy a chunk over another place (offsets pointing elsewhere)
        const size_t from = rng() % bytes.size(), to = rng() % bytes.size();
        const size_t n = std::min<size_t>({static_cast<size_t>(1 + rng() % 16), bytes.size() - from, bytes.size() - to});
        std::memmove(bytes.data() + to, bytes.data() + from, n);
      }
      bool r = false;
      const std::string e = load_create_run(bytes, &r);
      ++total;
      if (e.rfind("load: ", 0) != 0) ++loaded;
      if (r) ++ran;
      if (!r && e.rfind("skipped", 0) != 0) {
        EXPECT_GT(e.size(), std::string("create: ").size()) << name;
      }
    }
  }
  // Sanity: the mutations leave a fair share loadable, so the later stages were exercised.
  EXPECT_GT(loaded, total / 10);
  EXPECT_GT(ran, 0);
}

// ---- fuzz_model's findings (fuzz/corpus/model/crash-*): each ends in a clean error or a run ------

TEST(ModelHostile, FuzzFindingsEndCleanly) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(POCKET_SOURCE_DIR) / "fuzz" / "corpus" / "model";
  int replayed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind("crash-", 0) != 0) continue;
    SCOPED_TRACE(entry.path().filename().string());
    std::ifstream in(entry.path(), std::ios::binary);
    const Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bool ran = false;
    const std::string e = load_create_run(bytes, &ran);
    if (!ran) EXPECT_FALSE(e.empty());
    ++replayed;
  }
  if (replayed == 0) GTEST_SKIP() << "no fuzz/corpus/model/crash-* next to the sources";
}

}  // namespace
}  // namespace pocket
