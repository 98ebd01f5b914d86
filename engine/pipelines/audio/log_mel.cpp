#include "engine/pipelines/audio/log_mel.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace pocket::audio {
namespace {

// Slaney's auditory-toolbox mel scale (librosa htk=False): linear below 1 kHz, log above.
constexpr double kFsp = 200.0 / 3.0, kMinLogHz = 1000.0, kMinLogMel = kMinLogHz / kFsp;
const double kLogStep = std::log(6.4) / 27.0;

double hz_to_mel(double f) { return f >= kMinLogHz ? kMinLogMel + std::log(f / kMinLogHz) / kLogStep : f / kFsp; }
double mel_to_hz(double m) { return m >= kMinLogMel ? kMinLogHz * std::exp(kLogStep * (m - kMinLogMel)) : kFsp * m; }

}  // namespace

std::vector<double> mel_filterbank(int32_t sample_rate, int32_t n_fft, int32_t n_mels) {
  const int32_t n_bins = n_fft / 2 + 1;
  std::vector<double> fft_freqs(n_bins), mel_f(n_mels + 2);
  for (int32_t k = 0; k < n_bins; ++k) fft_freqs[k] = static_cast<double>(k) * sample_rate / n_fft;
  const double mel_max = hz_to_mel(sample_rate / 2.0);
  for (int32_t i = 0; i < n_mels + 2; ++i) mel_f[i] = mel_to_hz(mel_max * i / (n_mels + 1));
  std::vector<double> w(static_cast<size_t>(n_mels) * n_bins, 0.0);
  for (int32_t m = 0; m < n_mels; ++m) {
    const double d0 = mel_f[m + 1] - mel_f[m], d1 = mel_f[m + 2] - mel_f[m + 1];
    const double enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
    for (int32_t k = 0; k < n_bins; ++k) {
      const double lower = (fft_freqs[k] - mel_f[m]) / d0;
      const double upper = (mel_f[m + 2] - fft_freqs[k]) / d1;
      w[static_cast<size_t>(m) * n_bins + k] = std::max(0.0, std::min(lower, upper)) * enorm;
    }
  }
  return w;
}

Status LogMel::init(const LogMelOptions& o) {
  if (o.sample_rate < 1000 || o.n_fft < 16 || o.n_fft > 65536 || o.hop_length < 1 || o.hop_length > o.n_fft ||
      o.n_mels < 1 || o.n_mels > 1024 || o.chunk_seconds < 1 || o.chunk_seconds > 3600)
    return invalid_argument("log-mel: parameters out of range (sample_rate " + std::to_string(o.sample_rate) + ", n_fft " +
                            std::to_string(o.n_fft) + ", hop " + std::to_string(o.hop_length) + ", n_mels " +
                            std::to_string(o.n_mels) + ", chunk_seconds " + std::to_string(o.chunk_seconds) + ")");
  opt_ = o;
  n_samples_ = static_cast<int64_t>(o.sample_rate) * o.chunk_seconds;
  if (n_samples_ <= o.n_fft / 2)
    return invalid_argument("log-mel: a chunk of " + std::to_string(n_samples_) + " samples is too short for reflect padding of " +
                            std::to_string(o.n_fft / 2));
  n_bins_ = o.n_fft / 2 + 1;
  POCKET_RETURN_IF_ERROR(fft_.init(o.n_fft));
  window_.resize(o.n_fft);
  for (int32_t i = 0; i < o.n_fft; ++i)
    window_[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * i / o.n_fft));  // periodic Hann
  const std::vector<double> w = mel_filterbank(o.sample_rate, o.n_fft, o.n_mels);
  first_.assign(o.n_mels, 0);
  count_.assign(o.n_mels, 0);
  offset_.assign(o.n_mels, 0);
  weights_.clear();
  for (int32_t m = 0; m < o.n_mels; ++m) {
    const double* row = w.data() + static_cast<size_t>(m) * n_bins_;
    int32_t lo = 0, hi = n_bins_;
    while (lo < n_bins_ && static_cast<float>(row[lo]) == 0.f) ++lo;
    while (hi > lo && static_cast<float>(row[hi - 1]) == 0.f) --hi;
    first_[m] = lo;
    count_[m] = hi - lo;
    offset_[m] = weights_.size();
    for (int32_t k = lo; k < hi; ++k) weights_.push_back(static_cast<float>(row[k]));
  }
  return Status::Ok();
}

void LogMel::compute(const float* samples, int64_t n, float* out) const {
  const int64_t N = n_samples_, frames = n_frames();
  const int32_t nfft = opt_.n_fft, pad = nfft / 2, hop = opt_.hop_length, n_mels = opt_.n_mels;
  const int64_t valid = std::min(n, N);
  // The padded/trimmed signal, reflect-padded by n_fft/2 on both sides.
  std::vector<float> x(static_cast<size_t>(N + 2 * pad), 0.f);
  std::copy(samples, samples + valid, x.begin() + pad);
  for (int32_t i = 1; i <= pad; ++i) {
    x[pad - i] = x[pad + i];
    x[pad + N - 1 + i] = x[pad + N - 1 - i];
  }
  std::vector<float> fa(nfft), fb(nfft), power(static_cast<size_t>(2) * n_bins_);
  std::vector<cfloat> sa(n_bins_), sb(n_bins_), scratch(static_cast<size_t>(2) * nfft);
  float gmax = -INFINITY;
  for (int64_t t = 0; t < frames; t += 2) {
    const bool pair = t + 1 < frames;
    const float* a = x.data() + t * hop;
    const float* b = pair ? a + hop : a;
    for (int32_t i = 0; i < nfft; ++i) {
      fa[i] = a[i] * window_[i];
      fb[i] = b[i] * window_[i];
    }
    fft_.real_pair(fa.data(), fb.data(), sa.data(), sb.data(), scratch.data());
    for (int32_t k = 0; k < n_bins_; ++k) {
      power[k] = std::norm(sa[k]);
      power[n_bins_ + k] = std::norm(sb[k]);
    }
    for (int f = 0; f < (pair ? 2 : 1); ++f) {
      const float* pw = power.data() + static_cast<size_t>(f) * n_bins_;
      for (int32_t m = 0; m < n_mels; ++m) {
        const float* wt = weights_.data() + offset_[m];
        const float* pk = pw + first_[m];
        float acc = 0.f;
        for (int32_t j = 0; j < count_[m]; ++j) acc += wt[j] * pk[j];
        const float v = std::log10(std::max(acc, 1e-10f));
        out[static_cast<size_t>(m) * frames + t + f] = v;
        gmax = std::max(gmax, v);
      }
    }
  }
  const float floor = gmax - 8.0f;
  const size_t total = static_cast<size_t>(n_mels) * frames;
  for (size_t i = 0; i < total; ++i) out[i] = (std::max(out[i], floor) + 4.0f) * 0.25f;
}

}  // namespace pocket::audio
