// libFuzzer target: the WAV decoder (engine/pipelines/audio/wav.*), then what a speech pipeline
// does with the result: resampling to 16 kHz and Whisper's log-mel front end, on at most a few
// seconds of audio (so one input stays fast).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "engine/pipelines/audio/log_mel.h"
#include "engine/pipelines/audio/resample.h"
#include "engine/pipelines/audio/wav.h"

namespace {
constexpr size_t kMaxSamples = 48000;  // samples resampled / fed to log-mel per input

const pocket::audio::LogMel& log_mel() {
  static const pocket::audio::LogMel* m = [] {
    auto* lm = new pocket::audio::LogMel;
    pocket::audio::LogMelOptions o;
    o.chunk_seconds = 1;  // 100 frames: the same code path as 30 s, 30x cheaper
    if (!lm->init(o).ok()) std::abort();
    return lm;
  }();
  return *m;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pocket::audio::Audio audio;
  pocket::Status st = pocket::audio::decode_wav(data, size, &audio);
  if (!st.ok()) {
    if (st.message().empty()) std::abort();
    return 0;
  }
  const auto& info = audio.info;
  if (audio.sample_rate <= 0 || audio.sample_rate > pocket::audio::kMaxWavSampleRate) std::abort();
  if (info.channels <= 0 || info.channels > pocket::audio::kMaxWavChannels) std::abort();
  if (static_cast<int64_t>(audio.samples.size()) != info.frames) std::abort();
  // Decoded samples of integer PCM are within [-1, 1]; float files may hold anything (even NaN).
  if (info.format == 1)
    for (float s : audio.samples)
      if (!(s >= -1.0f && s <= 1.0f)) std::abort();

  std::vector<float> head(audio.samples.begin(),
                          audio.samples.begin() + static_cast<std::ptrdiff_t>(std::min(audio.samples.size(), kMaxSamples)));
  std::vector<float> at16k;
  pocket::audio::Resampler rs;
  // Far-apart coprime rates need huge filters: init refuses them (that is a clean error, not a
  // finding). Keep the filter small enough that building it stays fast.
  const int32_t g = std::gcd(audio.sample_rate, 16000);
  if (std::max(16000 / g, audio.sample_rate / g) > 1024) return 0;
  st = rs.init(audio.sample_rate, 16000);
  if (!st.ok()) return 0;
  rs.process(head.data(), static_cast<int64_t>(head.size()), &at16k);
  if (static_cast<int64_t>(at16k.size()) != rs.output_length(static_cast<int64_t>(head.size()))) std::abort();
  const auto& lm = log_mel();
  std::vector<float> mel(static_cast<size_t>(lm.n_mels() * lm.n_frames()));
  lm.compute(at16k.data(), static_cast<int64_t>(at16k.size()), mel.data());
  return 0;
}
