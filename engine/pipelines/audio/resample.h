// Rational-ratio polyphase resampling with a Kaiser-windowed sinc low-pass (the scheme of
// scipy.signal.resample_poly, with a longer, steeper filter): out_rate/in_rate = L/M in lowest
// terms, filter designed at L * in_rate, cutoff at 0.9 x the lower Nyquist rate, Kaiser beta 8.6
// (about 85 dB stop-band), 24 zero crossings of the lower rate either side. The output has
// ceil(n * L / M) samples and no delay (the filter is centred).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/status.h"

namespace pocket::audio {

class Resampler {
 public:
  // Fails when a rate is not positive or the ratio needs more than kMaxTaps filter taps
  // (coprime rates far apart, e.g. 383999 -> 16000).
  Status init(int32_t in_rate, int32_t out_rate);
  void process(const float* in, int64_t n, std::vector<float>* out) const;
  int64_t output_length(int64_t n) const;

  int32_t up() const { return up_; }
  int32_t down() const { return down_; }
  int32_t taps_per_phase() const { return taps_; }

  static constexpr int64_t kMaxTaps = int64_t{1} << 23;
  static constexpr int32_t kZeroCrossings = 24;
  static constexpr double kCutoff = 0.9, kBeta = 8.6;

 private:
  int32_t up_ = 1, down_ = 1, taps_ = 1;
  int64_t half_ = 0;            // filter centre, in up-sampled samples
  std::vector<float> phases_;   // [up][taps]: taps of phase p, reversed for a forward dot product
};

// One-shot helper: resample to out_rate (a copy when the rates match).
Status resample(const std::vector<float>& in, int32_t in_rate, int32_t out_rate, std::vector<float>* out);

}  // namespace pocket::audio
