// pocket-transcribe: speech to text with a Whisper encoder and decoder-step model (.pocket files
// converted with tokenizer and audio front-end metadata). Reads a WAV file (any PCM/float format,
// channel count and rate), transcribes the first 30 s with greedy decoding, prints the text and
// the real-time factor. Runs through the public speech C API (pocket/pocket_speech.h).
#include <cstdio>
#include <string>
#include <vector>

#include "pocket/pocket_speech.h"
#include "tools/common/args.h"
#include "tools/common/tool_util.h"

namespace {

using pocket::tools::report_error;
constexpr const char* kTool = "pocket-transcribe";

std::string json_string(const char* s) {
  std::string out = "\"";
  for (const char* p = s; *p; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

static int tool_main(int argc, char** argv) {
  std::vector<std::string> encoder, decoder, wav;
  int64_t threads = 1, max_tokens = 224;
  std::string language = "en", task = "transcribe";
  bool json = false, show_tokens = false;
  pocket::tools::ArgParser args(
      kTool, "ENCODER.pocket DECODER.pocket AUDIO.wav [--threads N] [--language en] [--task transcribe]\n"
             "       [--max-tokens N] [--json] [--tokens]",
      "Transcribes the first 30 s of a WAV file with Whisper (greedy decoding, no timestamps). The models\n"
      "need tokenizer and audio front-end metadata (pocket-convert --tokenizer multilingual.tiktoken\n"
      "--audio-frontend whisper). Prints the text, then the real-time factor and per-stage timings.");
  args.positional("ENCODER.pocket", &encoder, 1, false, "the Whisper encoder (mel -> cross_k_i, cross_v_i)");
  args.positional("DECODER.pocket", &decoder, 1, false, "the Whisper decoder step with its KV cache");
  args.positional("AUDIO.wav", &wav, 1, false, "PCM 8/16/24/32-bit or float WAV, any rate and channel count");
  args.option_int("--threads", "N", 1, 1024, &threads, "worker threads (default 1)");
  args.option("--language", "CODE", &language, "spoken language, a whisper code (default en)");
  args.option("--task", "TASK", &task, "transcribe (default) or translate (to English)");
  args.option_int("--max-tokens", "N", 1, 448, &max_tokens, "most tokens to sample (default 224)");
  args.flag("--json", &json, "print one JSON object (text, tokens, timings)");
  args.flag("--tokens", &show_tokens, "also print the sampled token ids");
  switch (args.parse(argc, argv)) {
    case pocket::tools::ArgParser::Outcome::kHelp: std::fputs(args.help().c_str(), stdout); return 0;
    case pocket::tools::ArgParser::Outcome::kError: report_error(kTool, args.error()); return 2;
    case pocket::tools::ArgParser::Outcome::kOk: break;
  }

  pocket_transcriber_options o;
  pocket_transcriber_options_init(&o);
  o.num_threads = static_cast<int32_t>(threads);
  o.language = language.c_str();
  o.task = task.c_str();
  o.max_tokens = static_cast<int32_t>(max_tokens);
  pocket_transcriber* t = nullptr;
  if (pocket_transcriber_create(encoder[0].c_str(), decoder[0].c_str(), &o, &t) != POCKET_OK)
    return report_error(kTool, pocket_speech_last_error());
  pocket_transcription r;
  if (pocket_transcribe_wav(t, wav[0].c_str(), &r) != POCKET_OK) {
    const std::string msg = pocket_speech_last_error();
    pocket_transcriber_free(t);
    return report_error(kTool, msg);
  }
  if (r.notices[0]) {
    std::string n = r.notices;
    size_t a = 0;
    while (a <= n.size()) {
      const size_t b = n.find('\n', a);
      std::fprintf(stderr, "%s: notice: %s\n", kTool, n.substr(a, b == std::string::npos ? std::string::npos : b - a).c_str());
      if (b == std::string::npos) break;
      a = b + 1;
    }
  }
  if (json) {
    std::string toks = "[";
    for (size_t i = 0; i < r.num_tokens; ++i) toks += (i ? "," : "") + std::to_string(r.tokens[i]);
    toks += "]";
    std::printf("{\"text\": %s, \"tokens\": %s, \"stopped_at_eot\": %s, \"audio_seconds\": %.3f, \"resample_ms\": %.3f, "
                "\"mel_ms\": %.3f, \"encoder_ms\": %.3f, \"decoder_ms\": %.3f, \"decoder_steps\": %d, "
                "\"decoder_ms_per_token\": %.3f, \"total_ms\": %.3f, \"real_time_factor\": %.4f, \"cpu_ms\": %.3f, \"threads\": %d}\n",
                json_string(r.text).c_str(), toks.c_str(), r.stopped_at_eot ? "true" : "false", r.audio_seconds, r.resample_ms,
                r.mel_ms, r.encoder_ms, r.decoder_ms, r.decoder_steps, r.decoder_ms_per_token, r.total_ms, r.real_time_factor,
                r.cpu_ms, static_cast<int>(threads));
  } else {
    std::printf("%s\n", r.text);
    if (show_tokens) {
      std::printf("tokens:");
      for (size_t i = 0; i < r.num_tokens; ++i) std::printf(" %d", r.tokens[i]);
      std::printf("%s\n", r.stopped_at_eot ? " <eot>" : " (max tokens)");
    }
    std::printf("real-time factor %.3f (%.2f s of audio in %.1f ms: resample %.1f ms, mel %.1f ms, encoder %.1f ms, "
                "decoder %.1f ms = %d steps x %.2f ms; CPU time %.1f ms)\n",
                r.real_time_factor, r.audio_seconds, r.total_ms, r.resample_ms, r.mel_ms, r.encoder_ms, r.decoder_ms,
                r.decoder_steps, r.decoder_ms_per_token, r.cpu_ms);
  }
  pocket_transcriber_free(t);
  return 0;
}

int main(int argc, char** argv) {
  return pocket::tools::guarded_main(kTool, [&] { return tool_main(argc, argv); });
}
