// WAV (RIFF/WAVE) decoding to mono float samples. Chunks in any order (fmt may follow data),
// unknown chunks skipped, odd-size chunks padded; PCM 8 (unsigned) / 16 / 24 / 32-bit, IEEE float
// 32 / 64, WAVE_FORMAT_EXTENSIBLE with a PCM or float sub-format. Channels are mixed down by
// averaging. Every header field is checked; a bad file gets an error naming the field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/status.h"

namespace pocket::audio {

struct WavInfo {
  int32_t format = 0;          // 1 PCM, 3 IEEE float (the sub-format of an extensible file)
  bool extensible = false;
  int32_t channels = 0;
  int32_t sample_rate = 0;
  int32_t bits_per_sample = 0;
  int64_t frames = 0;          // samples per channel
};

struct Audio {
  int32_t sample_rate = 0;
  std::vector<float> samples;  // mono, nominally in [-1, 1]
  WavInfo info;
  double seconds() const { return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0; }
};

// Limits a file must respect (absurd values are errors, not allocations).
inline constexpr int32_t kMaxWavChannels = 256;
inline constexpr int32_t kMaxWavSampleRate = 768000;

Status decode_wav(const void* data, size_t size, Audio* out);
Status read_wav_file(const std::string& path, Audio* out);

}  // namespace pocket::audio
