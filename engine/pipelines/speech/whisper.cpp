#include "engine/pipelines/speech/whisper.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>

#include "engine/pipelines/audio/resample.h"

namespace pocket::speech {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }
double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

const fb::Tokenizer* find_tokenizer(const Model& a, const Model& b) {
  if (a.metadata() && a.metadata()->tokenizer()) return a.metadata()->tokenizer();
  if (b.metadata() && b.metadata()->tokenizer()) return b.metadata()->tokenizer();
  return nullptr;
}

const fb::AudioFrontEnd* find_audio(const Model& a, const Model& b) {
  if (a.metadata() && a.metadata()->audio()) return a.metadata()->audio();
  if (b.metadata() && b.metadata()->audio()) return b.metadata()->audio();
  return nullptr;
}

std::string describe(const Value& v) { return std::string(v.name) + " " + dtype_name(v.dtype) + shape_str(v.shape); }

std::string strip(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\n\r\v\f");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t\n\r\v\f");
  return s.substr(a, b - a + 1);
}

}  // namespace

Result<std::unique_ptr<Transcriber>> Transcriber::create(std::shared_ptr<const Model> encoder,
                                                         std::shared_ptr<const Model> decoder,
                                                         const TranscribeOptions& options) {
  if (!encoder || !decoder) return invalid_argument("whisper: encoder and decoder models are required");
  if (options.num_threads < 1) return invalid_argument("whisper: num_threads must be at least 1");
  if (options.max_tokens < 1) return invalid_argument("whisper: max_tokens must be at least 1");
  if (options.task != "transcribe" && options.task != "translate")
    return invalid_argument("whisper: task '" + options.task + "' is not 'transcribe' or 'translate'");
  std::unique_ptr<Transcriber> t(new Transcriber());
  t->options_ = options;
  t->encoder_ = encoder;
  t->decoder_ = decoder;

  // Metadata: tokenizer and audio front end.
  const fb::Tokenizer* tok = find_tokenizer(*decoder, *encoder);
  if (!tok)
    return invalid_model("whisper: neither model has tokenizer metadata (convert with the Whisper vocabulary, "
                         "e.g. pocket-convert --tokenizer multilingual.tiktoken)");
  const std::string kind = tok->kind() ? tok->kind()->str() : "";
  if (kind != "bytelevel_bpe") return invalid_model("whisper: tokenizer kind is '" + kind + "', expected 'bytelevel_bpe'");
  const fb::AudioFrontEnd* af = find_audio(*encoder, *decoder);
  if (!af) return invalid_model("whisper: neither model has audio front-end metadata (convert with --audio-frontend)");
  const std::string akind = af->kind() ? af->kind()->str() : "";
  if (akind != "whisper_log_mel") return invalid_model("whisper: audio front end is '" + akind + "', expected 'whisper_log_mel'");
  audio::LogMelOptions mo;
  mo.sample_rate = af->sample_rate(), mo.n_fft = af->n_fft(), mo.hop_length = af->hop_length();
  mo.n_mels = af->n_mels(), mo.chunk_seconds = af->chunk_seconds();
  POCKET_RETURN_IF_ERROR(t->mel_.init(mo));

  std::vector<std::string> vocab;
  vocab.reserve(tok->vocab()->size());
  for (auto* v : *tok->vocab()) vocab.push_back(v->str());
  std::vector<std::pair<std::string, std::string>> roles;
  if (tok->special_tokens())
    for (auto* kv : *tok->special_tokens()) roles.emplace_back(kv->key()->str(), kv->value()->str());
  auto id_of = [&](const std::string& text) -> int32_t {
    for (size_t i = vocab.size(); i-- > 0;)
      if (vocab[i] == text) return static_cast<int32_t>(i);
    return -1;
  };
  auto role_id = [&](const std::string& role) -> int32_t {
    for (auto& kv : roles)
      if (kv.first == role) return id_of(kv.second);
    return -1;
  };
  t->eot_ = role_id("eot");
  t->sot_ = role_id("sot");
  const int32_t notimestamps = role_id("notimestamps");
  if (t->eot_ < 0 || t->sot_ < 0 || notimestamps < 0)
    return invalid_model("whisper: tokenizer metadata lacks the 'eot', 'sot' or 'notimestamps' special token");
  // Whisper's specials (and timestamps) are every id from eot on.
  std::vector<int32_t> specials;
  for (int32_t i = t->eot_; i < static_cast<int32_t>(vocab.size()); ++i) specials.push_back(i);
  POCKET_RETURN_IF_ERROR(t->bpe_.init(vocab, {}, specials));

  t->prompt_ = {t->sot_};
  // openai-whisper: multilingual when n_vocab >= 51865; English-only models (51864, gpt2 ranks)
  // still carry the language tokens but prompt with sot, notimestamps only. Smaller (test)
  // vocabularies: multilingual when they have language tokens.
  bool multilingual = false;
  for (auto& kv : roles) multilingual |= kv.first.rfind("lang:", 0) == 0;
  if (vocab.size() >= 51864) multilingual = vocab.size() >= 51865;
  if (multilingual) {
    const int32_t lang = role_id("lang:" + options.language);
    if (lang < 0) return invalid_argument("whisper: language '" + options.language + "' is not in the model's tokenizer");
    const int32_t task = role_id(options.task);
    if (task < 0) return invalid_model("whisper: tokenizer metadata lacks the '" + options.task + "' special token");
    t->prompt_.push_back(lang);
    t->prompt_.push_back(task);
  }
  t->prompt_.push_back(notimestamps);

  // Sessions and graph interfaces.
  SessionOptions so;
  so.num_threads = options.num_threads;
  auto enc = Session::create(encoder, so);
  if (!enc.ok()) return Status(enc.status().code(), "whisper encoder: " + enc.status().message());
  t->enc_ = std::move(enc.value());
  auto dec = Session::create(decoder, so);
  if (!dec.ok()) return Status(dec.status().code(), "whisper decoder: " + dec.status().message());
  t->dec_ = std::move(dec.value());
  Session& E = *t->enc_;
  Session& D = *t->dec_;

  t->enc_mel_ = E.find_input("mel");
  if (t->enc_mel_ < 0) return invalid_model("whisper encoder: no input named 'mel'");
  {
    const Value& v = E.input(t->enc_mel_);
    const Shape want = {1, t->mel_.n_mels(), t->mel_.n_frames()};
    if (v.dtype != DType::F32 || v.shape != want)
      return invalid_model("whisper encoder: input " + describe(v) + ", expected mel F32" + shape_str(want) +
                           " from the audio metadata");
  }
  t->dec_tokens_ = D.find_input("tokens");
  t->dec_position_ = D.find_input("position");
  t->dec_logits_ = D.find_output("logits");
  if (t->dec_tokens_ < 0 || t->dec_position_ < 0 || t->dec_logits_ < 0)
    return invalid_model("whisper decoder: needs inputs 'tokens', 'position' and output 'logits' (a decoder-step graph)");
  {
    const Value& tk = D.input(t->dec_tokens_);
    const Value& ps = D.input(t->dec_position_);
    if (tk.dtype != DType::I64 || tk.elements() != 1) return invalid_model("whisper decoder: input " + describe(tk) + ", expected tokens I64[1, 1]");
    if (ps.dtype != DType::I64 || ps.elements() != 1) return invalid_model("whisper decoder: input " + describe(ps) + ", expected position I64[1]");
    const Value& lg = D.output(t->dec_logits_);
    if (lg.dtype != DType::F32 || lg.shape.empty()) return invalid_model("whisper decoder: output " + describe(lg) + ", expected logits F32");
    t->n_vocab_ = lg.shape.back();
    if (lg.elements() != t->n_vocab_) return invalid_model("whisper decoder: output " + describe(lg) + " holds more than one step's logits");
    if (t->n_vocab_ != static_cast<int64_t>(vocab.size()))
      return invalid_model("whisper: the decoder's logits have " + std::to_string(t->n_vocab_) + " entries but the tokenizer has " +
                           std::to_string(vocab.size()) + " tokens");
  }
  for (int i = 0;; ++i) {
    const std::string s = std::to_string(i);
    Layer L;
    L.dec_cross_k = D.find_input("cross_k_" + s);
    if (L.dec_cross_k < 0) break;
    L.dec_cross_v = D.find_input("cross_v_" + s);
    L.self_k = D.find_input("self_k_" + s);
    L.self_v = D.find_input("self_v_" + s);
    L.self_k_out = D.find_output("self_k_" + s + "_out");
    L.self_v_out = D.find_output("self_v_" + s + "_out");
    L.enc_k = E.find_output("cross_k_" + s);
    L.enc_v = E.find_output("cross_v_" + s);
    if (L.dec_cross_v < 0 || L.self_k < 0 || L.self_v < 0 || L.self_k_out < 0 || L.self_v_out < 0)
      return invalid_model("whisper decoder: layer " + s + " needs inputs cross_v_" + s + ", self_k_" + s + ", self_v_" + s +
                           " and outputs self_k_" + s + "_out, self_v_" + s + "_out");
    if (L.enc_k < 0 || L.enc_v < 0)
      return invalid_model("whisper encoder: no outputs cross_k_" + s + " / cross_v_" + s + " for decoder layer " + s);
    for (auto [e, d] : {std::pair{L.enc_k, L.dec_cross_k}, std::pair{L.enc_v, L.dec_cross_v}}) {
      const Value& ev = E.output(e);
      const Value& dv = D.input(d);
      if (ev.dtype != DType::F32 || dv.dtype != DType::F32 || ev.shape != dv.shape)
        return invalid_model("whisper: encoder output " + describe(ev) + " does not match decoder input " + describe(dv));
    }
    for (auto [in, out] : {std::pair{L.self_k, L.self_k_out}, std::pair{L.self_v, L.self_v_out}}) {
      const Value& iv = D.input(in);
      const Value& ov = D.output(out);
      if (iv.dtype != DType::F32 || iv.rank() != 3 || iv.shape[0] != 1 || ov.dtype != iv.dtype || ov.shape != iv.shape)
        return invalid_model("whisper decoder: cache " + describe(iv) + " / " + describe(ov) + ", expected F32[1, text_ctx, d] both");
      if (t->text_ctx_ == 0) t->text_ctx_ = iv.shape[1], t->d_model_ = iv.shape[2];
      if (iv.shape[1] != t->text_ctx_ || iv.shape[2] != t->d_model_)
        return invalid_model("whisper decoder: cache " + describe(iv) + " differs from layer 0's");
    }
    t->layers_.push_back(L);
  }
  if (t->layers_.empty()) return invalid_model("whisper decoder: no input 'cross_k_0' (not a Whisper decoder-step graph)");
  if (t->text_ctx_ < static_cast<int64_t>(t->prompt_.size()) + 1)
    return invalid_model("whisper decoder: text context " + std::to_string(t->text_ctx_) + " is shorter than the prompt");

  // Suppression: the metadata's list, every special except eot, and SuppressBlank's ids.
  t->suppressed_.assign(vocab.size(), 0);
  if (tok->suppress_tokens())
    for (int32_t id : *tok->suppress_tokens()) t->suppressed_[id] = 1;  // validated at load
  for (int32_t id : specials)
    if (id != t->eot_) t->suppressed_[id] = 1;
  for (size_t i = 0; i < vocab.size(); ++i)
    if (t->suppressed_[i]) t->suppress_.push_back(static_cast<int32_t>(i));
  POCKET_RETURN_IF_ERROR(t->bpe_.encode(" ", &t->blank_));
  t->blank_.push_back(t->eot_);
  return t;
}

Result<Transcription> Transcriber::transcribe(const float* samples, int64_t n, int32_t sample_rate) {
  if (n < 0 || (n > 0 && !samples)) return invalid_argument("whisper: no samples");
  if (sample_rate <= 0) return invalid_argument("whisper: sample rate " + std::to_string(sample_rate) + " is not positive");
  const auto t0 = Clock::now();
  const double cpu0 = process_cpu_ms();
  Transcription r;
  r.audio_seconds = static_cast<double>(n) / sample_rate;
  const int32_t rate = mel_.options().sample_rate;
  std::vector<float> resampled;
  if (sample_rate != rate) {
    audio::Resampler rs;
    POCKET_RETURN_IF_ERROR(rs.init(sample_rate, rate));
    // Only what the chunk needs (plus the filter's reach) is resampled.
    const int64_t need = std::min<int64_t>(n, (mel_.n_samples() + 64) * sample_rate / rate + rs.taps_per_phase() + 1);
    rs.process(samples, need, &resampled);
    samples = resampled.data();
    n = static_cast<int64_t>(resampled.size());
    r.resample_ms = ms_since(t0);
  }
  if (r.audio_seconds > mel_.options().chunk_seconds + 1e-9) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "audio is %.2f s long; only the first %d s are transcribed", r.audio_seconds,
                  mel_.options().chunk_seconds);
    r.notices.push_back(buf);
  }
  const auto t1 = Clock::now();
  mel_.compute(samples, n, enc_->input(enc_mel_).as<float>());  // straight into the encoder's input
  r.mel_ms = ms_since(t1);
  POCKET_RETURN_IF_ERROR(decode(&r));
  r.total_ms = ms_since(t0);
  r.cpu_ms = process_cpu_ms() - cpu0;
  return r;
}

Result<Transcription> Transcriber::transcribe_mel(const float* mel) {
  if (!mel) return invalid_argument("whisper: no mel");
  const auto t0 = Clock::now();
  const double cpu0 = process_cpu_ms();
  Transcription r;
  r.audio_seconds = mel_.options().chunk_seconds;
  std::memcpy(enc_->input(enc_mel_).data, mel, enc_->input(enc_mel_).bytes());
  POCKET_RETURN_IF_ERROR(decode(&r));
  r.total_ms = ms_since(t0);
  r.cpu_ms = process_cpu_ms() - cpu0;
  return r;
}

Status Transcriber::decode(Transcription* r) {
  Session& E = *enc_;
  Session& D = *dec_;
  auto t0 = Clock::now();
  E.run();
  r->encoder_ms = ms_since(t0);

  t0 = Clock::now();
  for (const Layer& L : layers_) {
    std::memcpy(D.input(L.dec_cross_k).data, E.output(L.enc_k).data, D.input(L.dec_cross_k).bytes());
    std::memcpy(D.input(L.dec_cross_v).data, E.output(L.enc_v).data, D.input(L.dec_cross_v).bytes());
    std::memset(D.input(L.self_k).data, 0, D.input(L.self_k).bytes());
    std::memset(D.input(L.self_v).data, 0, D.input(L.self_v).bytes());
  }
  r->cross_copy_ms = ms_since(t0);

  t0 = Clock::now();
  auto* token_in = D.input(dec_tokens_).as<int64_t>();
  auto* position_in = D.input(dec_position_).as<int64_t>();
  const size_t row_bytes = static_cast<size_t>(d_model_) * sizeof(float);
  auto step = [&](int32_t token, int64_t pos) {
    *token_in = token;
    *position_in = pos;
    D.run();
    ++r->decoder_steps;
    for (const Layer& L : layers_)
      for (auto [in, out] : {std::pair{L.self_k, L.self_k_out}, std::pair{L.self_v, L.self_v_out}}) {
        const Value& iv = D.input(in);
        const Value& ov = D.output(out);
        if (ov.data == iv.data) continue;
        std::memcpy(static_cast<char*>(iv.data) + pos * row_bytes, static_cast<const char*>(ov.data) + pos * row_bytes, row_bytes);
        if (!warned_copy_) {
          warned_copy_ = true;
          r->notices.push_back("the decoder's self-attention cache is not updated in place (" + std::string(ov.name) +
                               " is not " + std::string(iv.name) + "'s buffer); the written row is copied back each step");
        }
      }
  };
  int64_t pos = 0;
  for (int32_t tk : prompt_) step(tk, pos++);
  r->prompt = prompt_;
  const float* logits = D.output(dec_logits_).as<float>();
  const float kNegInf = -std::numeric_limits<float>::infinity();
  for (int k = 0; k < options_.max_tokens; ++k) {
    int32_t best = -1;
    float best_v = kNegInf;
    for (int64_t i = 0; i < n_vocab_; ++i) {
      if (suppressed_[i]) continue;
      const float v = logits[i];
      if (v > best_v) best_v = v, best = static_cast<int32_t>(i);  // first maximum, as argmax; NaN never wins
    }
    if (k == 0 && best >= 0 && std::find(blank_.begin(), blank_.end(), best) != blank_.end()) {
      best = -1, best_v = kNegInf;
      for (int64_t i = 0; i < n_vocab_; ++i) {
        if (suppressed_[i] || std::find(blank_.begin(), blank_.end(), static_cast<int32_t>(i)) != blank_.end()) continue;
        if (logits[i] > best_v) best_v = logits[i], best = static_cast<int32_t>(i);
      }
    }
    if (best < 0) {
      r->notices.push_back("every logit was suppressed or not a number; decoding stopped");
      break;
    }
    if (best == eot_) {
      r->stopped_at_eot = true;
      break;
    }
    r->tokens.push_back(best);
    if (k + 1 >= options_.max_tokens || pos >= text_ctx_) break;  // done, or the cache is full
    step(best, pos++);
  }
  r->decoder_ms = ms_since(t0);
  r->text = strip(bpe_.decode(r->tokens));
  return Status::Ok();
}

}  // namespace pocket::speech
