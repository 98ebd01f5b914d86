// The speech C API (include/pocket/pocket_speech.h) over speech::Transcriber.
#include <new>
#include <string>
#include <vector>

#include "engine/c_api_internal.h"
#include "engine/pipelines/audio/wav.h"
#include "engine/pipelines/speech/whisper.h"
#include "pocket/pocket_speech.h"

struct pocket_transcriber {
  std::unique_ptr<pocket::speech::Transcriber> t;
  pocket::speech::Transcription last;
  std::string notices;
};

namespace {

using pocket::capi::call_guarded;
using pocket::capi::require;
using pocket::capi::to_c;

pocket_status fail(pocket_status code, const std::string& message) {
  return pocket::capi::fail(code, nullptr, message);
}

pocket_status finish(pocket_transcriber* t, pocket::Result<pocket::speech::Transcription> r, pocket_transcription* out) {
  if (!r.ok()) return to_c(r.status());
  t->last = std::move(r.value());
  const auto& x = t->last;
  t->notices.clear();
  for (const std::string& n : x.notices) t->notices += (t->notices.empty() ? "" : "\n") + n;
  out->text = x.text.c_str();
  out->tokens = x.tokens.data();
  out->num_tokens = x.tokens.size();
  out->stopped_at_eot = x.stopped_at_eot ? 1 : 0;
  out->audio_seconds = x.audio_seconds;
  out->resample_ms = x.resample_ms;
  out->mel_ms = x.mel_ms;
  out->encoder_ms = x.encoder_ms;
  out->decoder_ms = x.decoder_ms;
  out->total_ms = x.total_ms;
  out->decoder_steps = x.decoder_steps;
  out->decoder_ms_per_token = x.decoder_ms_per_token();
  out->real_time_factor = x.real_time_factor();
  out->cpu_ms = x.cpu_ms;
  out->notices = t->notices.c_str();
  return POCKET_OK;
}

}  // namespace

extern "C" {

const char* pocket_speech_last_error(void) { return pocket::capi::last_error().c_str(); }

void pocket_transcriber_options_init(pocket_transcriber_options* options) {
  if (!options) return;
  options->num_threads = 1;
  options->language = "en";
  options->task = "transcribe";
  options->max_tokens = 224;
}

pocket_status pocket_transcriber_create(const char* encoder_path, const char* decoder_path,
                                        const pocket_transcriber_options* options,
                                        pocket_transcriber** out_transcriber) {
  static constexpr const char* fn = "pocket_transcriber_create";
  return call_guarded(fn, [&]() -> pocket_status {
    if (out_transcriber) *out_transcriber = nullptr;
    if (pocket_status st = require(fn, {{encoder_path, "encoder_path"},
                                        {decoder_path, "decoder_path"},
                                        {out_transcriber, "out_transcriber"}});
        st != POCKET_OK)
      return st;
    pocket::speech::TranscribeOptions o;
    if (options) {
      o.num_threads = options->num_threads;
      if (options->language) o.language = options->language;
      if (options->task) o.task = options->task;
      o.max_tokens = options->max_tokens;
    }
    auto enc = pocket::Model::load_file(encoder_path);
    if (!enc.ok()) return fail(static_cast<pocket_status>(static_cast<int>(enc.status().code())),
                               "encoder '" + std::string(encoder_path) + "': " + enc.status().message());
    auto dec = pocket::Model::load_file(decoder_path);
    if (!dec.ok()) return fail(static_cast<pocket_status>(static_cast<int>(dec.status().code())),
                               "decoder '" + std::string(decoder_path) + "': " + dec.status().message());
    auto t = pocket::speech::Transcriber::create(enc.value(), dec.value(), o);
    if (!t.ok()) return to_c(t.status());
    auto h = std::make_unique<pocket_transcriber>();
    h->t = std::move(t.value());
    *out_transcriber = h.release();
    return POCKET_OK;
  });
}

void pocket_transcriber_free(pocket_transcriber* transcriber) { delete transcriber; }

pocket_status pocket_transcribe_wav(pocket_transcriber* transcriber, const char* wav_path, pocket_transcription* out) {
  static constexpr const char* fn = "pocket_transcribe_wav";
  return call_guarded(fn, [&]() -> pocket_status {
    if (pocket_status st = require(fn, {{transcriber, "transcriber"}, {wav_path, "wav_path"}, {out, "out"}});
        st != POCKET_OK)
      return st;
    pocket::audio::Audio a;
    if (pocket_status s = to_c(pocket::audio::read_wav_file(wav_path, &a)); s != POCKET_OK) return s;
    return finish(transcriber, transcriber->t->transcribe(a), out);
  });
}

pocket_status pocket_transcribe_pcm(pocket_transcriber* transcriber, const float* samples, size_t count,
                                    int32_t sample_rate, pocket_transcription* out) {
  static constexpr const char* fn = "pocket_transcribe_pcm";
  return call_guarded(fn, [&]() -> pocket_status {
    if (pocket_status st = require(fn, {{transcriber, "transcriber"}, {out, "out"}}); st != POCKET_OK) return st;
    if (count > 0 && !samples) return fail(POCKET_INVALID_ARGUMENT, "pocket_transcribe_pcm: samples must not be NULL when count > 0");
    return finish(transcriber, transcriber->t->transcribe(samples, static_cast<int64_t>(count), sample_rate), out);
  });
}

}  // extern "C"
