// Whisper speech recognition on two Pocket models: the encoder (mel [1, n_mels, frames] ->
// cross_k_i, cross_v_i [1, audio_ctx, d] per decoder layer, and audio_features) and the decoder
// step with a KV cache (tokens [1, 1] i64, position [1] i64, self_k_i / self_v_i [1, text_ctx, d],
// cross_k_i / cross_v_i -> logits [1, 1, n_vocab], self_k_i_out / self_v_i_out). See the graph
// interface in the export script (scripts/export_whisper.py).
//
// One clip: log-mel of the first chunk_seconds (audio at another rate is resampled first), the
// encoder once, each cross_k_i / cross_v_i copied once into the decoder session's inputs (a
// session input lives in that session's arena, so it cannot alias another session's output), the
// self caches zeroed, then one decoder step per token: the prompt (sot, language, task,
// notimestamps; sot, notimestamps for English-only models: n_vocab 51864, as
// openai-whisper's is_multilingual), then greedy decoding: argmax of the
// logits with whisper's default suppress set (tokenizer metadata), every special token except eot
// (no timestamps), and at the first sampled step " " and eot (SuppressBlank), until eot,
// max_tokens, or the text context is full. The engine updates the self caches in place (output
// data == input data); when it does not, the written row is copied back and a notice says so.
//
// Tokenizer and audio metadata are taken from the decoder or the encoder, whichever has them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/pipelines/audio/log_mel.h"
#include "engine/pipelines/audio/wav.h"
#include "engine/pipelines/speech/bpe.h"
#include "engine/session.h"
#include "engine/status.h"

namespace pocket::speech {

struct TranscribeOptions {
  int num_threads = 1;
  std::string language = "en";      // a whisper language code; ignored by English-only models
  std::string task = "transcribe";  // or "translate"
  int max_tokens = 224;             // sampled tokens per clip (whisper's sample_len: text_ctx / 2)
};

struct Transcription {
  std::string text;                  // UTF-8, specials dropped, surrounding whitespace stripped
  std::vector<int32_t> tokens;       // sampled ids, eot excluded
  std::vector<int32_t> prompt;       // the prefix fed before sampling
  bool stopped_at_eot = false;
  double audio_seconds = 0;          // of the input (before padding / trimming)
  double resample_ms = 0, mel_ms = 0, encoder_ms = 0, cross_copy_ms = 0, decoder_ms = 0, total_ms = 0;
  double cpu_ms = 0;                 // process CPU time over the clip (all threads): wall times are
                                     // noisy on a busy machine, this is not
  int decoder_steps = 0;             // prompt + sampled tokens
  double decoder_ms_per_token() const { return decoder_steps ? decoder_ms / decoder_steps : 0.0; }
  double real_time_factor() const { return audio_seconds > 0 ? total_ms / 1000.0 / audio_seconds : 0.0; }
  std::vector<std::string> notices;  // e.g. audio longer than one chunk, caches copied back
};

class Transcriber {
 public:
  // Checks both graph interfaces, the metadata, and the options; creates both sessions.
  static Result<std::unique_ptr<Transcriber>> create(std::shared_ptr<const Model> encoder,
                                                     std::shared_ptr<const Model> decoder,
                                                     const TranscribeOptions& options = {});
  // Samples at any rate (resampled to the front end's rate when different).
  Result<Transcription> transcribe(const float* samples, int64_t n, int32_t sample_rate);
  Result<Transcription> transcribe(const audio::Audio& audio) {
    return transcribe(audio.samples.data(), static_cast<int64_t>(audio.samples.size()), audio.sample_rate);
  }
  // A ready log-mel [n_mels, frames] (as audio::LogMel computes it).
  Result<Transcription> transcribe_mel(const float* mel);

  const ByteBpe& tokenizer() const { return bpe_; }
  const audio::LogMel& front_end() const { return mel_; }
  int32_t eot() const { return eot_; }
  int32_t sot() const { return sot_; }
  int num_layers() const { return static_cast<int>(layers_.size()); }
  const std::vector<int32_t>& suppress_tokens() const { return suppress_; }
  const std::vector<int32_t>& prompt() const { return prompt_; }
  const TranscribeOptions& options() const { return options_; }
  Session& encoder_session() { return *enc_; }
  Session& decoder_session() { return *dec_; }

 private:
  Transcriber() = default;
  Status decode(Transcription* out);

  struct Layer {
    int enc_k = -1, enc_v = -1;          // encoder outputs cross_k_i, cross_v_i
    int dec_cross_k = -1, dec_cross_v = -1;
    int self_k = -1, self_v = -1, self_k_out = -1, self_v_out = -1;
  };

  TranscribeOptions options_;
  std::shared_ptr<const Model> encoder_, decoder_;
  std::unique_ptr<Session> enc_, dec_;
  audio::LogMel mel_;
  ByteBpe bpe_;
  std::vector<Layer> layers_;
  int enc_mel_ = -1, dec_tokens_ = -1, dec_position_ = -1, dec_logits_ = -1;
  int64_t text_ctx_ = 0, n_vocab_ = 0, d_model_ = 0;
  int32_t eot_ = -1, sot_ = -1;
  std::vector<int32_t> prompt_, suppress_, blank_;
  std::vector<uint8_t> suppressed_;  // per id
  bool warned_copy_ = false;
};

}  // namespace pocket::speech
