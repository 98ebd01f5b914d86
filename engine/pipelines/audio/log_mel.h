// Whisper's log-mel front end (openai-whisper audio.py): the samples padded with zeros or trimmed
// to chunk_seconds, STFT with a periodic Hann window (n_fft, hop, centre frames with reflect
// padding), |X|^2 with the last frame dropped, a Slaney mel filterbank (librosa.filters.mel
// defaults: fmin 0, fmax sr/2, htk=False, norm="slaney"), log10(max(x, 1e-10)), clamped to
// (global max - 8), then (x + 4) / 4. Output [n_mels, frames] row-major, frames = samples / hop.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/pipelines/audio/fft.h"
#include "engine/status.h"

namespace pocket::audio {

struct LogMelOptions {
  int32_t sample_rate = 16000, n_fft = 400, hop_length = 160, n_mels = 80, chunk_seconds = 30;
};

// librosa.filters.mel(sr, n_fft, n_mels) with its defaults, computed in double: [n_mels, n_fft/2+1].
std::vector<double> mel_filterbank(int32_t sample_rate, int32_t n_fft, int32_t n_mels);

class LogMel {
 public:
  Status init(const LogMelOptions& options);
  int64_t n_samples() const { return n_samples_; }  // chunk length the input is padded/trimmed to
  int64_t n_frames() const { return n_samples_ / opt_.hop_length; }
  int32_t n_mels() const { return opt_.n_mels; }
  const LogMelOptions& options() const { return opt_; }
  // samples at options().sample_rate; out holds n_mels() * n_frames() floats.
  void compute(const float* samples, int64_t n, float* out) const;

 private:
  LogMelOptions opt_;
  int64_t n_samples_ = 0;
  int32_t n_bins_ = 0;
  Fft fft_;
  std::vector<float> window_;
  // Sparse filterbank: filter m covers bins [first_[m], first_[m] + weights of it).
  std::vector<int32_t> first_, count_;
  std::vector<size_t> offset_;
  std::vector<float> weights_;
};

}  // namespace pocket::audio
