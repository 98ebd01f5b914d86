// pocket-convert --tokenizer / --audio-frontend: tokenizer files read into the metadata, written,
// read back by the engine's WordPieceTokenizer; the text classifier (C++ and C API) on a tiny
// embedding-sum "sentiment" model converted from ONNX.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "converter/metadata/tokenizer_files.h"
#include "engine/model.h"
#include "engine/pipelines/text/text_classifier.h"
#include "engine/pipelines/text/wordpiece.h"
#include "pocket/pocket_text.h"

namespace pocket::converter {
namespace {

// id:                                 0        1        2        3        4        5       6      7        8     9
const std::vector<std::string> kVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "##s", "!"};
constexpr int64_t kSeq = 8;

std::string temp_file(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "pocket_tok_" + name;
  std::ofstream f(path, std::ios::binary);
  f << content;
  return path;
}

std::string vocab_text(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& t : v) s += t + "\n";
  return s;
}

// input_ids, attention_mask [1, 8] int64 -> logits [1, 3] = sum over unmasked tokens of
// (word_embeddings[id] + position_embeddings[pos]). Class 0 "negative" <- "bad", 1 "positive" <-
// "good", 2 "neutral" <- "movie" and (heavily) [PAD], so an unmasked pad would show.
std::string tiny_classifier_onnx(int64_t vocab_rows) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(11);
  onnx::GraphProto* g = m.mutable_graph();
  for (const char* name : {"input_ids", "attention_mask"}) {
    auto* in = g->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::INT64);
    tt->mutable_shape()->add_dim()->set_dim_value(1);
    tt->mutable_shape()->add_dim()->set_dim_value(kSeq);
  }
  auto init_f = [&](const std::string& name, std::vector<int64_t> shape, std::vector<float> v) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : shape) t->add_dims(d);
    for (float x : v) t->add_float_data(x);
  };
  std::vector<float> words(static_cast<size_t>(vocab_rows * 3), 0.f);
  auto row = [&](int64_t id, float a, float b, float c) {
    words[static_cast<size_t>(id * 3)] = a, words[static_cast<size_t>(id * 3 + 1)] = b, words[static_cast<size_t>(id * 3 + 2)] = c;
  };
  row(0, 0, 0, 50);  // [PAD]
  row(5, 0, 2, 0);   // good
  row(6, 2, 0, 0);   // bad
  row(7, 0, 0, 1);   // movie
  row(8, 0, 0.5f, 0);  // ##s
  init_f("embeddings.word_embeddings.weight", {vocab_rows, 3}, words);
  std::vector<float> pos(static_cast<size_t>(kSeq * 3), 0.f);
  pos[0] = 0.25f;  // position 0 ([CLS]) leans negative a little
  init_f("embeddings.position_embeddings.weight", {kSeq, 3}, pos);
  auto* pid = g->add_initializer();
  pid->set_name("position_ids");
  pid->set_data_type(onnx::TensorProto::INT64);
  pid->add_dims(1);
  pid->add_dims(kSeq);
  for (int64_t i = 0; i < kSeq; ++i) pid->add_int64_data(i);
  auto node = [&](const std::string& type, std::vector<std::string> in, std::vector<std::string> out) {
    auto* n = g->add_node();
    n->set_op_type(type);
    n->set_name(type + "_" + std::to_string(g->node_size()));
    for (auto& s : in) n->add_input(s);
    for (auto& s : out) n->add_output(s);
    return n;
  };
  auto ints = [](onnx::NodeProto* n, const std::string& a, std::vector<int64_t> v) {
    auto* at = n->add_attribute();
    at->set_name(a);
    at->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) at->add_ints(x);
  };
  auto int1 = [](onnx::NodeProto* n, const std::string& a, int64_t v) {
    auto* at = n->add_attribute();
    at->set_name(a);
    at->set_type(onnx::AttributeProto::INT);
    at->set_i(v);
  };
  node("Gather", {"embeddings.word_embeddings.weight", "input_ids"}, {"we"});
  node("Gather", {"embeddings.position_embeddings.weight", "position_ids"}, {"pe"});
  node("Add", {"we", "pe"}, {"h"});
  ints(node("Unsqueeze", {"attention_mask"}, {"m3"}), "axes", {2});
  int1(node("Cast", {"m3"}, {"mf"}), "to", onnx::TensorProto::FLOAT);
  node("Mul", {"h", "mf"}, {"hm"});
  auto* rs = node("ReduceSum", {"hm"}, {"logits"});
  ints(rs, "axes", {1});
  int1(rs, "keepdims", 0);
  g->add_output()->set_name("logits");
  return m.SerializeAsString();
}

ir::Graph import_tiny(int64_t vocab_rows = 10) {
  const std::string onnx = tiny_classifier_onnx(vocab_rows);
  ir::Graph g;
  Status st = import_onnx_bytes(onnx.data(), onnx.size(), &g);
  EXPECT_TRUE(st.ok()) << st.message();
  return g;
}

// Converts the tiny model with a tokenizer loaded as pocket-convert does.
std::vector<uint8_t> convert_tiny(const TokenizerFileOptions& t, const std::vector<std::string>& labels = {}) {
  ir::Graph g = import_tiny();
  ConvertOptions o;
  o.labels = labels;
  o.nhwc = false;
  std::vector<std::string> notes;
  Status st = load_tokenizer(t, g, &o.tokenizer, &notes);
  EXPECT_TRUE(st.ok()) << st.message();
  o.has_tokenizer = true;
  st = optimize(g, o, nullptr);
  EXPECT_TRUE(st.ok()) << st.message();
  auto bytes = write_pocket(g, o);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return bytes.ok() ? bytes.value() : std::vector<uint8_t>{};
}

Status load_status(const std::string& path, const std::string& kind = "", bool lowercase = true,
                   const std::string& merges = "", int64_t rows = 10) {
  ir::Graph g = import_tiny(rows);
  TokenizerFileOptions t;
  t.path = path;
  t.kind = kind;
  t.lowercase = lowercase;
  t.merges_path = merges;
  format::TokenizerDesc d;
  return load_tokenizer(t, g, &d, nullptr);
}

void expect_error(const Status& st, const std::string& fragment) {
  ASSERT_FALSE(st.ok()) << "expected an error containing: " << fragment;
  EXPECT_NE(st.message().find(fragment), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find('\n'), std::string::npos) << "one line: " << st.message();
}

TEST(ConverterTokenizer, WordPieceRoundTrip) {
  const std::string vocab = temp_file("vocab.txt", vocab_text(kVocab));
  ir::Graph g = import_tiny();
  EXPECT_EQ(model_max_positions(g), kSeq);
  EXPECT_EQ(model_embedding_rows(g), 10);
  TokenizerFileOptions t;
  t.path = vocab;
  format::TokenizerDesc d;
  std::vector<std::string> notes;
  ASSERT_TRUE(load_tokenizer(t, g, &d, &notes).ok());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("wordpiece, 10 tokens"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("max_length 8 (the model's position count)"), std::string::npos) << notes[0];

  const std::vector<uint8_t> bytes = convert_tiny(t);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(model.ok()) << model.status().message();
  const fb::Tokenizer* ft = model.value()->metadata()->tokenizer();
  ASSERT_NE(ft, nullptr);
  EXPECT_EQ(ft->kind()->str(), "wordpiece");
  ASSERT_EQ(ft->vocab()->size(), kVocab.size());
  EXPECT_EQ(ft->vocab()->Get(8)->str(), "##s");
  EXPECT_TRUE(ft->lowercase());
  EXPECT_TRUE(ft->strip_accents());
  EXPECT_EQ(ft->max_length(), kSeq);
  std::map<std::string, std::string> roles;
  for (const auto* kv : *ft->special_tokens()) roles[kv->key()->str()] = kv->value()->str();
  EXPECT_EQ(roles, (std::map<std::string, std::string>{
                       {"unk", "[UNK]"}, {"cls", "[CLS]"}, {"sep", "[SEP]"}, {"pad", "[PAD]"}, {"mask", "[MASK]"}}));

  auto tok = text::WordPieceTokenizer::from_model(*model.value());
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  EXPECT_EQ(tok->tokenize("Good MOVIES!"), (std::vector<int32_t>{5, 7, 8, 9}));
  EXPECT_EQ(tok->config().max_length, kSeq);
  std::remove(vocab.c_str());
}

TEST(ConverterTokenizer, CasedAndMaxLengthOptions) {
  const std::string vocab = temp_file("cased.txt", vocab_text(kVocab));
  TokenizerFileOptions t;
  t.path = vocab;
  t.lowercase = false;
  t.max_length = 6;
  const std::vector<uint8_t> bytes = convert_tiny(t);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(model.ok()) << model.status().message();
  const fb::Tokenizer* ft = model.value()->metadata()->tokenizer();
  EXPECT_FALSE(ft->lowercase());
  EXPECT_FALSE(ft->strip_accents());
  EXPECT_EQ(ft->max_length(), 6);
  auto tok = text::WordPieceTokenizer::from_model(*model.value());
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ(tok->tokenize("Good good"), (std::vector<int32_t>{1, 5}));
  std::remove(vocab.c_str());
}

TEST(ConverterTokenizer, VocabularyErrors) {
  expect_error(load_status("/nonexistent/vocab.txt"), "cannot open '/nonexistent/vocab.txt'");
  const std::string no_cls = temp_file("nocls.txt", "[PAD]\n[UNK]\n[SEP]\ngood\n");
  expect_error(load_status(no_cls), "lacks the BERT special token(s) [CLS]");
  const std::string dup = temp_file("dup.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\ngood\ngood\n");
  expect_error(load_status(dup), "line 6: token 'good' is also on line 5");
  const std::string garbled = temp_file("garbled.txt", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
  expect_error(load_status(garbled), "line 1: invalid UTF-8");
  const std::string binary = temp_file("binary.txt", std::string("[PAD]\n[UNK]\nab\0cd\n", 18));
  expect_error(load_status(binary), "line 3: NUL byte");
  const std::string empty = temp_file("empty.txt", "");
  expect_error(load_status(empty), "has no tokens");
  std::vector<std::string> big = kVocab;
  big.push_back("extra");
  const std::string too_big = temp_file("big.txt", vocab_text(big));
  expect_error(load_status(too_big), "has 11 tokens but the model's embedding table has 10 rows");
  expect_error(load_status(temp_file("vocab.bin", "x")), "cannot tell the tokenizer kind");
  const std::string ok = temp_file("ok.txt", vocab_text(kVocab));
  expect_error(load_status(ok, "wordpiece", true, "merges.txt"), "merges are only used by the bytelevel_bpe");
  expect_error(load_status(ok, "bytelevel_bpe"), "expected a JSON object");  // a vocab.txt is not JSON
  expect_error(load_status(ok, "bytelevel_bpe", false), "lower-casing is a wordpiece option");
  for (const std::string& p : {no_cls, dup, garbled, binary, empty, too_big, ok}) std::remove(p.c_str());
}

TEST(ConverterTokenizer, ByteLevelBpeFiles) {
  // GPT-2 alphabet: "Ġ" is the byte-to-unicode form of a space; JSON escapes must decode.
  const std::string vocab = temp_file("bpe.json", "{\"a\": 0, \"b\": 1, \"\\u0120a\": 2,\n \"ab\": 3, \"<|endoftext|>\": 4, \"\\\"q\\\"\": 5}");
  const std::string merges = temp_file("merges.txt", "#version: 0.2\na b\n\xC4\xA0 a\n");
  format::TokenizerDesc d;
  ASSERT_TRUE(read_bytelevel_bpe(vocab, merges, &d).ok());
  EXPECT_EQ(d.kind, "bytelevel_bpe");
  EXPECT_EQ(d.vocab, (std::vector<std::string>{"a", "b", "\xC4\xA0" "a", "ab", "<|endoftext|>", "\"q\""}));
  EXPECT_EQ(d.merges, (std::vector<std::string>{"a b", "\xC4\xA0 a"}));
  EXPECT_EQ(d.special_tokens, (std::vector<std::pair<std::string, std::string>>{{"eot", "<|endoftext|>"}}));
  EXPECT_TRUE(load_status(vocab, "", true, merges).ok());

  struct Bad {
    std::string json, error;
  } bad[] = {
      {"{\"a\": 0, \"b\": 2}", "token id 2 of 'b' is outside 0..1"},
      {"{\"a\": 0, \"b\": 0}", "id 0 is given to both 'a' and 'b'"},
      {"{\"a\": 0, \"a\": 1}", "token 'a' is listed twice"},
      {"{\"a\": 0,}", "expected a string"},
      {"[\"a\"]", "expected a JSON object"},
      {"{\"a\": 1.5}", "token ids must be integers"},
      {"{\"\\ud800\": 0}", "unpaired surrogate"},
      {"{}", "has no tokens"},
  };
  for (const Bad& b : bad) {
    const std::string p = temp_file("bad.json", b.json);
    expect_error(read_bytelevel_bpe(p, "", &d), b.error);
    std::remove(p.c_str());
  }
  const std::string bad_merges = temp_file("badmerges.txt", "a b\nabc\n");
  expect_error(read_bytelevel_bpe(vocab, bad_merges, &d), "line 2: expected two tokens separated by one space");
  for (const std::string& p : {vocab, merges, bad_merges}) std::remove(p.c_str());
}

TEST(ConverterTokenizer, WhisperKindUsesTheLogitsSize) {
  // The 256 single-byte ranks (in byte order), then 8 specials, one language and 1501 timestamps.
  static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string ranks;
  for (int b = 0; b < 256; ++b)
    ranks += std::string{kB64[b >> 2], kB64[(b & 3) << 4], '=', '='} + " " + std::to_string(b) + "\n";
  const std::string tiktoken = temp_file("tiny.tiktoken", ranks);
  ir::Graph g;
  g.outputs = {"logits"};
  g.value("logits").shape = {1, 1, 256 + 8 + 1 + 1501};
  EXPECT_EQ(model_logits_size(g), 1766);
  TokenizerFileOptions t;
  t.path = tiktoken;
  format::TokenizerDesc d;
  std::vector<std::string> notes;
  Status st = load_tokenizer(t, g, &d, &notes);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(d.kind, "bytelevel_bpe");
  EXPECT_EQ(d.vocab.size(), 1766u);
  EXPECT_EQ(d.vocab[33], "!");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("whisper (bytelevel_bpe), 1766 tokens"), std::string::npos) << notes[0];
  // Without logits or a token embedding the size is unknown: a clear error, not a guess.
  ir::Graph encoder;
  expect_error(load_tokenizer(t, encoder, &d, nullptr), "cannot tell Whisper's vocabulary size");
  std::remove(tiktoken.c_str());
}

TEST(ConverterTokenizer, AudioFrontEnd) {
  format::AudioDesc a;
  ASSERT_TRUE(parse_audio_frontend("whisper", &a).ok());
  EXPECT_EQ(a.kind, "whisper_log_mel");
  EXPECT_EQ(a.n_mels, 80);
  EXPECT_EQ(a.n_fft, 400);
  EXPECT_EQ(a.hop_length, 160);
  ASSERT_TRUE(parse_audio_frontend("whisper:128", &a).ok());
  EXPECT_EQ(a.n_mels, 128);
  expect_error(parse_audio_frontend("whisper:64", &a), "80 or 128 mel bins");
  expect_error(parse_audio_frontend("mfcc", &a), "expected whisper or whisper:N_MELS");

  ir::Graph g = import_tiny();
  ConvertOptions o;
  o.nhwc = false;
  o.has_audio = true;
  ASSERT_TRUE(parse_audio_frontend("whisper:128", &o.audio).ok());
  ASSERT_TRUE(optimize(g, o, nullptr).ok());
  auto bytes = write_pocket(g, o);
  ASSERT_TRUE(bytes.ok());
  auto model = Model::load_buffer(bytes.value().data(), bytes.value().size());
  ASSERT_TRUE(model.ok()) << model.status().message();
  const fb::AudioFrontEnd* fa = model.value()->metadata()->audio();
  ASSERT_NE(fa, nullptr);
  EXPECT_EQ(fa->kind()->str(), "whisper_log_mel");
  EXPECT_EQ(fa->n_mels(), 128);
  EXPECT_EQ(model.value()->metadata()->tokenizer(), nullptr);
}

std::vector<float> softmax(std::vector<float> v) {
  float mx = v[0];
  for (float x : v) mx = std::max(mx, x);
  double s = 0;
  for (float& x : v) s += (x = std::exp(x - mx));
  for (float& x : v) x = static_cast<float>(x / s);
  return v;
}

TEST(TextClassifier, ClassifiesWithMaskedPadding) {
  const std::string vocab = temp_file("cls_vocab.txt", vocab_text(kVocab));
  TokenizerFileOptions t;
  t.path = vocab;
  const std::vector<uint8_t> bytes = convert_tiny(t, {"negative", "positive", "neutral"});
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto c = text::TextClassifier::create(model.value());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value()->fixed_length(), kSeq);
  EXPECT_EQ(c.value()->num_classes(), 3);

  auto r = c.value()->classify("Good movies!");
  ASSERT_TRUE(r.ok()) << r.status().message();
  // [CLS] good movie ##s ! [SEP] [PAD] [PAD]: logits = pos0 + good + movie + ##s.
  EXPECT_EQ(r->encoding.ids, (std::vector<int32_t>{2, 5, 7, 8, 9, 3, 0, 0}));
  EXPECT_EQ(r->encoding.attention_mask, (std::vector<int32_t>{1, 1, 1, 1, 1, 1, 0, 0}));
  const std::vector<float> logits{0.25f, 2.5f, 1.f};
  EXPECT_EQ(r->logits, logits);
  const std::vector<float> p = softmax(logits);
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(r->probabilities[i], p[i], 1e-6);
  EXPECT_EQ(r->index, 1);
  EXPECT_EQ(r->label, "positive");
  EXPECT_NEAR(r->probability, p[1], 1e-6);

  r = c.value()->classify("bad bad BAD movie bad bad bad bad bad");  // truncated to 8 tokens
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->encoding.truncated, 3);
  EXPECT_EQ(r->logits, (std::vector<float>{10.25f, 0.f, 1.f}));
  EXPECT_EQ(r->label, "negative");

  // The C API gives the same.
  pocket_text_classifier* h = nullptr;
  ASSERT_EQ(pocket_text_classifier_create_from_buffer(bytes.data(), bytes.size(), nullptr, &h), POCKET_OK)
      << pocket_text_last_error();
  pocket_text_result cr;
  ASSERT_EQ(pocket_text_classify(h, "Good movies!", POCKET_TEXT_NUL_TERMINATED, &cr), POCKET_OK);
  EXPECT_STREQ(cr.label, "positive");
  EXPECT_EQ(cr.index, 1);
  ASSERT_EQ(cr.num_classes, 3u);
  EXPECT_EQ(cr.logits[1], 2.5f);
  EXPECT_EQ(cr.num_tokens, 8u);
  EXPECT_EQ(cr.num_real_tokens, 6u);
  EXPECT_EQ(cr.token_ids[3], 8);
  EXPECT_STREQ(pocket_text_classifier_label(h, 2), "neutral");
  const pocket_text_tokenizer* tk = pocket_text_classifier_tokenizer(h);
  EXPECT_STREQ(pocket_text_tokenizer_token(tk, 8), "##s");
  EXPECT_EQ(pocket_text_tokenizer_token_id(tk, "movie"), 7);
  int64_t ids[4], mask[4];
  size_t len = 0;
  EXPECT_EQ(pocket_text_tokenizer_encode(tk, "good movie", 10, 0, 0, ids, mask, 4, &len), POCKET_OK);
  EXPECT_EQ(len, 4u);
  EXPECT_EQ(ids[1], 5);
  EXPECT_EQ(pocket_text_tokenizer_encode(tk, "good movie", 10, 6, 0, ids, mask, 4, &len), POCKET_INVALID_ARGUMENT);
  EXPECT_EQ(len, 6u);
  EXPECT_NE(std::string(pocket_text_last_error()).find("buffers hold 4"), std::string::npos);
  pocket_text_classifier_free(h);
  std::remove(vocab.c_str());
}

TEST(TextCApi, TokenizerHandles) {
  const std::string vocab = temp_file("capi_vocab.txt", vocab_text(kVocab));
  pocket_text_tokenizer* t = nullptr;
  ASSERT_EQ(pocket_text_tokenizer_from_vocab(vocab.c_str(), 1, 6, &t), POCKET_OK) << pocket_text_last_error();
  EXPECT_EQ(pocket_text_tokenizer_vocab_size(t), kVocab.size());
  int64_t ids[8], mask[8];
  size_t len = 0;
  ASSERT_EQ(pocket_text_tokenizer_encode(t, "Good movie good good good", POCKET_TEXT_NUL_TERMINATED, 0, 0, ids, mask, 8, &len),
            POCKET_OK);
  ASSERT_EQ(len, 6u);  // max_length 6: [CLS] good movie good good [SEP]
  EXPECT_EQ((std::vector<int64_t>(ids, ids + 6)), (std::vector<int64_t>{2, 5, 7, 5, 5, 3}));
  EXPECT_STREQ(pocket_text_tokenizer_token(t, 7), "movie");
  EXPECT_STREQ(pocket_text_tokenizer_token(t, 99), "");
  pocket_text_tokenizer_free(t);

  // From a converted model file's metadata.
  TokenizerFileOptions o;
  o.path = vocab;
  const std::vector<uint8_t> bytes = convert_tiny(o);
  const std::string model_path = temp_file("capi.pocket", std::string(bytes.begin(), bytes.end()));
  ASSERT_EQ(pocket_text_tokenizer_load(model_path.c_str(), &t), POCKET_OK) << pocket_text_last_error();
  EXPECT_EQ(pocket_text_tokenizer_token_id(t, "##s"), 8);
  pocket_text_tokenizer_free(t);

  EXPECT_EQ(pocket_text_tokenizer_from_vocab("/nonexistent/v.txt", 1, 0, &t), POCKET_IO_ERROR);
  EXPECT_EQ(t, nullptr);
  EXPECT_NE(std::string(pocket_text_last_error()).find("/nonexistent/v.txt"), std::string::npos);
  EXPECT_EQ(pocket_text_tokenizer_load(nullptr, &t), POCKET_INVALID_ARGUMENT);
  std::remove(vocab.c_str());
  std::remove(model_path.c_str());
}

TEST(TextClassifier, ClearErrors) {
  // No tokenizer metadata.
  ir::Graph g = import_tiny();
  ConvertOptions o;
  o.nhwc = false;
  ASSERT_TRUE(optimize(g, o, nullptr).ok());
  auto bytes = write_pocket(g, o);
  ASSERT_TRUE(bytes.ok());
  auto model = Model::load_buffer(bytes.value().data(), bytes.value().size());
  ASSERT_TRUE(model.ok());
  auto c = text::TextClassifier::create(model.value());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no tokenizer metadata"), std::string::npos) << c.status().message();

  pocket_text_classifier* h = nullptr;
  EXPECT_EQ(pocket_text_classifier_create_from_buffer(bytes.value().data(), bytes.value().size(), nullptr, &h),
            POCKET_INVALID_ARGUMENT);
  EXPECT_EQ(h, nullptr);
  EXPECT_NE(std::string(pocket_text_last_error()).find("no tokenizer metadata"), std::string::npos);
  EXPECT_NE(pocket_text_classifier_create("/nonexistent.pocket", nullptr, &h), POCKET_OK);
  EXPECT_NE(std::string(pocket_text_last_error()).find("nonexistent.pocket"), std::string::npos);
  EXPECT_EQ(pocket_text_classify(nullptr, "x", 1, nullptr), POCKET_INVALID_ARGUMENT);

  // A maximum length past what the model takes.
  const std::string vocab = temp_file("err_vocab.txt", vocab_text(kVocab));
  TokenizerFileOptions t;
  t.path = vocab;
  const std::vector<uint8_t> with_tok = convert_tiny(t);
  auto m2 = Model::load_buffer(with_tok.data(), with_tok.size());
  ASSERT_TRUE(m2.ok());
  text::TextClassifierOptions co;
  co.max_length = 9;
  c = text::TextClassifier::create(m2.value(), co);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("max length 9 is more than the model takes (8 tokens"), std::string::npos)
      << c.status().message();
  co.max_length = 4;  // shorter is fine: truncates earlier, still padded to the static 8
  c = text::TextClassifier::create(m2.value(), co);
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto r = c.value()->classify("good good good good");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->encoding.ids, (std::vector<int32_t>{2, 5, 5, 3, 0, 0, 0, 0}));
  EXPECT_EQ(r->encoding.truncated, 2);
  std::remove(vocab.c_str());
}

}  // namespace
}  // namespace pocket::converter
