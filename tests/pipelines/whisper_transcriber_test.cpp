// speech::Transcriber on a toy Whisper pair built with the format builder: the encoder reshapes
// the mel into cross_k_0 / cross_v_0; the decoder step's logits are a table row picked by the
// input token (a Markov chain, so the expected greedy tokens are known), and it writes row
// `position` of its caches with ScatterND: self_k_0 in place, self_v_0 after an Add (a different
// buffer, so the Transcriber must copy the row back). Checks the prompt, SuppressBlank, the
// suppress list, eot, max_tokens, the cache contents, the cross copies, and the interface errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/pipelines/speech/bpe.h"
#include "engine/pipelines/speech/whisper.h"
#include "format/builder.h"
#include "pocket/pocket_speech.h"

namespace pocket::speech {
namespace {

namespace fmt = pocket::format;
using fb::OpType;

constexpr int64_t kT = 12, kD = 4, kAudioCtx = 1500, kCross = 160;  // 80 x 3000 = 1500 x 160

bool printable(int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255); }

struct Toy {
  std::vector<std::string> vocab;
  int32_t hello = 0, world = 0, space = 0, quote = 0;
  int32_t eot = 0, sot = 0, en = 0, de = 0, translate = 0, transcribe = 0, sot_lm = 0, sot_prev = 0, nospeech = 0,
          notimestamps = 0, ts0 = 0;
  int32_t V() const { return static_cast<int32_t>(vocab.size()); }
};

Toy make_toy() {
  Toy t;
  for (int b = 0; b < 256; ++b)
    if (printable(b)) t.vocab.push_back(bytes_to_vocab_text(std::string(1, static_cast<char>(b))));
  for (int b = 0; b < 256; ++b)
    if (!printable(b)) t.vocab.push_back(bytes_to_vocab_text(std::string(1, static_cast<char>(b))));
  auto add = [&](const std::string& raw) {
    t.vocab.push_back(bytes_to_vocab_text(raw));
    return t.V() - 1;
  };
  for (int i = 0; i < t.V(); ++i) {
    std::string b;
    (void)vocab_text_to_bytes(t.vocab[i], &b);
    if (b == " ") t.space = i;
    if (b == "\"") t.quote = i;
  }
  t.hello = add("Hello");
  t.world = add(" world");
  t.eot = add("<|endoftext|>");
  t.sot = add("<|startoftranscript|>");
  t.en = add("<|en|>");
  t.de = add("<|de|>");
  t.translate = add("<|translate|>");
  t.transcribe = add("<|transcribe|>");
  t.sot_lm = add("<|startoflm|>");
  t.sot_prev = add("<|startofprev|>");
  t.nospeech = add("<|nospeech|>");
  t.notimestamps = add("<|notimestamps|>");
  t.ts0 = add("<|0.00|>");
  add("<|0.02|>");
  return t;
}

fmt::TensorDesc tensor(std::string name, fb::DType dtype, std::vector<int64_t> shape) {
  fmt::TensorDesc t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

template <class T>
fmt::TensorDesc constant(std::string name, fb::DType dtype, std::vector<int64_t> shape, const std::vector<T>& v) {
  fmt::TensorDesc t = tensor(std::move(name), dtype, std::move(shape));
  t.has_data = true;
  t.data.resize(v.size() * sizeof(T));
  std::memcpy(t.data.data(), v.data(), t.data.size());
  return t;
}

void node(fmt::ModelDesc& m, OpType op, std::string name, std::vector<int32_t> in, std::vector<int32_t> out,
          std::vector<fmt::AttrDesc> attrs = {}) {
  fmt::NodeDesc n;
  n.op = op;
  n.name = std::move(name);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  m.nodes.push_back(std::move(n));
}

void add_metadata(fmt::ModelDesc& m, const Toy& t) {
  m.metadata.has_tokenizer = true;
  auto& k = m.metadata.tokenizer;
  k.kind = "bytelevel_bpe";
  k.vocab = t.vocab;
  k.max_length = kT;
  k.special_tokens = {{"eot", "<|endoftext|>"},     {"sot", "<|startoftranscript|>"}, {"lang:en", "<|en|>"},
                      {"lang:de", "<|de|>"},         {"translate", "<|translate|>"},   {"transcribe", "<|transcribe|>"},
                      {"sot_prev", "<|startofprev|>"}, {"nospeech", "<|nospeech|>"},  {"notimestamps", "<|notimestamps|>"}};
  k.suppress_tokens = {t.quote, t.sot, t.translate, t.transcribe, t.sot_lm, t.sot_prev, t.nospeech};
  m.metadata.has_audio = true;
}

std::string g_save_path;  // when set, load() also writes the model there (C API test)

std::shared_ptr<const Model> load(const fmt::ModelDesc& m) {
  const auto bytes = fmt::serialize(m);
  if (!g_save_path.empty()) std::ofstream(g_save_path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  auto r = Model::load_buffer(bytes.data(), bytes.size());
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r.value() : nullptr;
}

std::shared_ptr<const Model> encoder(const Toy& t, bool metadata) {
  fmt::ModelDesc m;
  const int mel = m.add_tensor(tensor("mel", fb::DType::F32, {1, 80, 3000}));
  const int k = m.add_tensor(tensor("cross_k_0", fb::DType::F32, {1, kAudioCtx, kCross}));
  const int v = m.add_tensor(tensor("cross_v_0", fb::DType::F32, {1, kAudioCtx, kCross}));
  const int two = m.add_tensor(constant<float>("two", fb::DType::F32, {1}, {2.f}));
  node(m, OpType::Reshape, "reshape", {mel}, {k}, {fmt::AttrDesc::Ints("shape", {1, kAudioCtx, kCross})});
  node(m, OpType::Mul, "double", {k, two}, {v});
  m.inputs = {mel};
  m.outputs = {k, v};
  if (metadata) add_metadata(m, t);
  return load(m);
}

// Next-token table: row = input token, with the chain
// notimestamps -> [" " > eot > <|0.00|> > "Hello"], Hello -> ['"' > " world"], world -> [<|de|> > eot].
std::vector<float> logit_table(const Toy& t) {
  const int32_t V = t.V();
  std::vector<float> tab(static_cast<size_t>(V) * V);
  for (int32_t r = 0; r < V; ++r)
    for (int32_t c = 0; c < V; ++c) tab[static_cast<size_t>(r) * V + c] = -1.f - 0.001f * ((r * 7 + c * 13) % 97);
  auto set = [&](int32_t r, int32_t c, float v) { tab[static_cast<size_t>(r) * V + c] = v; };
  set(t.notimestamps, t.space, 9), set(t.notimestamps, t.eot, 8), set(t.notimestamps, t.ts0, 7), set(t.notimestamps, t.hello, 6);
  set(t.hello, t.quote, 9), set(t.hello, t.world, 5);
  set(t.world, t.de, 9), set(t.world, t.eot, 4);
  return tab;
}

std::shared_ptr<const Model> decoder(const Toy& t, bool metadata, int64_t vocab_override = 0) {
  const int32_t V = vocab_override ? static_cast<int32_t>(vocab_override) : t.V();
  fmt::ModelDesc m;
  const int tokens = m.add_tensor(tensor("tokens", fb::DType::I64, {1, 1}));
  const int position = m.add_tensor(tensor("position", fb::DType::I64, {1}));
  const int sk = m.add_tensor(tensor("self_k_0", fb::DType::F32, {1, kT, kD}));
  const int sv = m.add_tensor(tensor("self_v_0", fb::DType::F32, {1, kT, kD}));
  const int ck = m.add_tensor(tensor("cross_k_0", fb::DType::F32, {1, kAudioCtx, kCross}));
  const int cv = m.add_tensor(tensor("cross_v_0", fb::DType::F32, {1, kAudioCtx, kCross}));
  std::vector<float> tab = logit_table(t);
  tab.resize(static_cast<size_t>(t.V()) * V, -5.f);
  const int table = m.add_tensor(constant<float>("table", fb::DType::F32, {t.V(), V}, tab));
  const int logits = m.add_tensor(tensor("logits", fb::DType::F32, {1, 1, V}));
  node(m, OpType::Gather, "gather_logits", {table, tokens}, {logits}, {fmt::AttrDesc::Int("axis", 0)});
  // Cache row update: the token id as a float, kD times; indices [[0, position]].
  std::vector<float> rows(static_cast<size_t>(t.V()) * kD);
  for (int32_t r = 0; r < t.V(); ++r)
    for (int64_t j = 0; j < kD; ++j) rows[static_cast<size_t>(r) * kD + j] = static_cast<float>(r) + 0.25f * j;
  const int row_table = m.add_tensor(constant<float>("row_table", fb::DType::F32, {t.V(), kD}, rows));
  const int row3 = m.add_tensor(tensor("row3", fb::DType::F32, {1, 1, kD}));
  const int row = m.add_tensor(tensor("row", fb::DType::F32, {1, kD}));
  node(m, OpType::Gather, "gather_row", {row_table, tokens}, {row3}, {fmt::AttrDesc::Int("axis", 0)});
  node(m, OpType::Reshape, "row_reshape", {row3}, {row}, {fmt::AttrDesc::Ints("shape", {1, kD})});
  const int zero = m.add_tensor(constant<int64_t>("zero", fb::DType::I64, {1}, {0}));
  const int idx1 = m.add_tensor(tensor("idx1", fb::DType::I64, {2}));
  const int idx = m.add_tensor(tensor("idx", fb::DType::I64, {1, 2}));
  node(m, OpType::Concat, "idx_concat", {zero, position}, {idx1}, {fmt::AttrDesc::Int("axis", 0)});
  node(m, OpType::Reshape, "idx_reshape", {idx1}, {idx}, {fmt::AttrDesc::Ints("shape", {1, 2})});
  const int sk_out = m.add_tensor(tensor("self_k_0_out", fb::DType::F32, {1, kT, kD}));
  node(m, OpType::ScatterND, "scatter_k", {sk, idx, row}, {sk_out});
  const int fzero = m.add_tensor(constant<float>("fzero", fb::DType::F32, {1}, {0.f}));
  const int sv_copy = m.add_tensor(tensor("sv_copy", fb::DType::F32, {1, kT, kD}));
  const int sv_out = m.add_tensor(tensor("self_v_0_out", fb::DType::F32, {1, kT, kD}));
  node(m, OpType::Add, "copy_v", {sv, fzero}, {sv_copy});
  node(m, OpType::ScatterND, "scatter_v", {sv_copy, idx, row}, {sv_out});
  m.inputs = {tokens, position, sk, sv, ck, cv};
  m.outputs = {logits, sk_out, sv_out};
  if (metadata) add_metadata(m, t);
  return load(m);
}

TEST(WhisperTranscriber, GreedyDecodingOnAToyModel) {
  const Toy t = make_toy();
  auto enc = encoder(t, false);
  auto dec = decoder(t, true);
  ASSERT_TRUE(enc && dec);
  auto tr = Transcriber::create(enc, dec, {});
  ASSERT_TRUE(tr.ok()) << tr.status().message();
  Transcriber& T = *tr.value();
  EXPECT_EQ(T.prompt(), (std::vector<int32_t>{t.sot, t.en, t.transcribe, t.notimestamps}));
  EXPECT_EQ(T.num_layers(), 1);
  std::vector<float> audio(8000);
  for (size_t i = 0; i < audio.size(); ++i) audio[i] = 0.2f * std::sin(0.05f * i);
  auto r = T.transcribe(audio.data(), static_cast<int64_t>(audio.size()), 8000);  // resampled to 16 kHz
  ASSERT_TRUE(r.ok()) << r.status().message();
  // SuppressBlank skips " " and eot, <|0.00|> is a special: "Hello"; then '"' is suppressed:
  // " world"; then <|de|> is a special: eot.
  EXPECT_EQ(r->tokens, (std::vector<int32_t>{t.hello, t.world}));
  EXPECT_EQ(r->text, "Hello world");
  EXPECT_TRUE(r->stopped_at_eot);
  EXPECT_EQ(r->decoder_steps, 6);
  EXPECT_NEAR(r->audio_seconds, 1.0, 1e-9);
  EXPECT_GT(r->real_time_factor(), 0.0);
  // self_v_0_out is not self_v_0's buffer: one notice, rows copied back.
  ASSERT_EQ(r->notices.size(), 1u);
  EXPECT_NE(r->notices[0].find("not updated in place"), std::string::npos) << r->notices[0];
  Session& D = T.decoder_session();
  const std::vector<int32_t> fed = {t.sot, t.en, t.transcribe, t.notimestamps, t.hello, t.world};
  for (const char* cache : {"self_k_0", "self_v_0"}) {
    const float* c = D.input(D.find_input(cache)).as<float>();
    for (int64_t p = 0; p < kT; ++p)
      for (int64_t j = 0; j < kD; ++j) {
        const float want = p < 6 ? static_cast<float>(fed[p]) + 0.25f * j : 0.f;
        ASSERT_EQ(c[p * kD + j], want) << cache << " row " << p;
      }
  }
  EXPECT_EQ(D.output(D.find_output("self_k_0_out")).data, D.input(D.find_input("self_k_0")).data);
  // Cross K/V copied from the encoder.
  Session& E = T.encoder_session();
  EXPECT_EQ(std::memcmp(D.input(D.find_input("cross_v_0")).data, E.output(E.find_output("cross_v_0")).data,
                        D.input(D.find_input("cross_v_0")).bytes()), 0);
  const float* ck = D.input(D.find_input("cross_k_0")).as<float>();
  const float* mel = E.input(E.find_input("mel")).as<float>();
  EXPECT_EQ(std::memcmp(ck, mel, 80 * 3000 * sizeof(float)), 0);

  // A second clip starts from clean caches: same result.
  auto r2 = T.transcribe(audio.data(), static_cast<int64_t>(audio.size()), 8000);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->tokens, r->tokens);
}

TEST(WhisperTranscriber, MaxTokensLanguageAndTask) {
  const Toy t = make_toy();
  auto enc = encoder(t, true);
  auto dec = decoder(t, false);  // metadata on the encoder this time
  TranscribeOptions o;
  o.max_tokens = 1;
  o.language = "de";
  o.task = "translate";
  auto tr = Transcriber::create(enc, dec, o);
  ASSERT_TRUE(tr.ok()) << tr.status().message();
  EXPECT_EQ(tr.value()->prompt(), (std::vector<int32_t>{t.sot, t.de, t.translate, t.notimestamps}));
  std::vector<float> audio(16000 * 31, 0.01f);  // longer than 30 s: a notice
  // The chain is keyed on notimestamps, the last prompt token, so the language does not matter.
  auto r = tr.value()->transcribe(audio.data(), static_cast<int64_t>(audio.size()), 16000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tokens, (std::vector<int32_t>{t.hello}));
  EXPECT_FALSE(r->stopped_at_eot);
  EXPECT_EQ(r->decoder_steps, 4);
  bool long_notice = false;
  for (auto& n : r->notices) long_notice |= n.find("only the first 30 s") != std::string::npos;
  EXPECT_TRUE(long_notice);
}

TEST(WhisperTranscriber, ClearErrors) {
  const Toy t = make_toy();
  auto expect = [](Result<std::unique_ptr<Transcriber>> r, const std::string& needle) {
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  expect(Transcriber::create(encoder(t, false), decoder(t, false), {}), "tokenizer metadata");
  expect(Transcriber::create(decoder(t, true), encoder(t, false), {}), "no input named 'mel'");
  expect(Transcriber::create(encoder(t, false), encoder(t, true), {}), "needs inputs 'tokens'");
  expect(Transcriber::create(encoder(t, false), decoder(t, true, t.V() + 3), {}), "logits have");
  TranscribeOptions o;
  o.language = "xx";
  expect(Transcriber::create(encoder(t, false), decoder(t, true), o), "language 'xx'");
  o = {};
  o.task = "summarize";
  expect(Transcriber::create(encoder(t, false), decoder(t, true), o), "task 'summarize'");
  auto tr = Transcriber::create(encoder(t, false), decoder(t, true), {});
  ASSERT_TRUE(tr.ok());
  EXPECT_FALSE(tr.value()->transcribe(nullptr, 10, 16000).ok());
  float x = 0;
  EXPECT_FALSE(tr.value()->transcribe(&x, 1, 0).ok());
}

TEST(WhisperTranscriber, CApi) {
  const Toy t = make_toy();
  const std::string enc_path = testing::TempDir() + "pocket_toy_whisper_encoder.pocket";
  const std::string dec_path = testing::TempDir() + "pocket_toy_whisper_decoder.pocket";
  g_save_path = enc_path;
  encoder(t, false);
  g_save_path = dec_path;
  decoder(t, true);
  g_save_path.clear();
  pocket_transcriber* tr = nullptr;
  EXPECT_EQ(pocket_transcriber_create(dec_path.c_str(), enc_path.c_str(), nullptr, &tr), POCKET_INVALID_MODEL);
  EXPECT_NE(std::string(pocket_speech_last_error()).find("'mel'"), std::string::npos) << pocket_speech_last_error();
  EXPECT_EQ(pocket_transcriber_create("/nonexistent.pocket", dec_path.c_str(), nullptr, &tr), POCKET_IO_ERROR);
  pocket_transcriber_options o;
  pocket_transcriber_options_init(&o);
  ASSERT_EQ(pocket_transcriber_create(enc_path.c_str(), dec_path.c_str(), &o, &tr), POCKET_OK) << pocket_speech_last_error();
  std::vector<float> audio(16000, 0.1f);
  pocket_transcription r;
  ASSERT_EQ(pocket_transcribe_pcm(tr, audio.data(), audio.size(), 16000, &r), POCKET_OK) << pocket_speech_last_error();
  EXPECT_STREQ(r.text, "Hello world");
  ASSERT_EQ(r.num_tokens, 2u);
  EXPECT_EQ(r.tokens[0], t.hello);
  EXPECT_EQ(r.stopped_at_eot, 1);
  EXPECT_EQ(r.decoder_steps, 6);
  EXPECT_NE(std::string(r.notices).find("not updated in place"), std::string::npos);
  EXPECT_EQ(pocket_transcribe_wav(tr, "/nonexistent.wav", &r), POCKET_IO_ERROR);
  EXPECT_EQ(pocket_transcribe_pcm(tr, nullptr, 5, 16000, &r), POCKET_INVALID_ARGUMENT);
  pocket_transcriber_free(tr);
  std::remove(enc_path.c_str());
  std::remove(dec_path.c_str());
}

}  // namespace
}  // namespace pocket::speech
