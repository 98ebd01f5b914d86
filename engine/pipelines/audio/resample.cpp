#include "engine/pipelines/audio/resample.h"

#include <cmath>
#include <numeric>
#include <string>

namespace pocket::audio {
namespace {

double bessel_i0(double x) {
  double sum = 1.0, term = 1.0;
  const double q = x * x / 4.0;
  for (int k = 1; k < 200; ++k) {
    term *= q / (static_cast<double>(k) * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

}  // namespace

Status Resampler::init(int32_t in_rate, int32_t out_rate) {
  if (in_rate <= 0 || out_rate <= 0)
    return invalid_argument("resample: rates must be positive (got " + std::to_string(in_rate) + " -> " + std::to_string(out_rate) + ")");
  const int32_t g = std::gcd(in_rate, out_rate);
  up_ = out_rate / g;
  down_ = in_rate / g;
  const int64_t mx = std::max(up_, down_);
  half_ = static_cast<int64_t>(kZeroCrossings) * mx;
  const int64_t len = 2 * half_ + 1;
  if (len > kMaxTaps)
    return unsupported("resample: " + std::to_string(in_rate) + " -> " + std::to_string(out_rate) + " Hz needs a " +
                       std::to_string(len) + "-tap filter (limit " + std::to_string(kMaxTaps) + ")");
  // Low-pass at kCutoff of the lower Nyquist rate, in units of the up-sampled rate; gain up_.
  const double fc = kCutoff / static_cast<double>(mx);  // cycles per up-sampled sample x 2
  const double i0b = bessel_i0(kBeta);
  std::vector<double> h(static_cast<size_t>(len));
  for (int64_t i = 0; i < len; ++i) {
    const double t = static_cast<double>(i - half_);
    const double x = M_PI * fc * t;
    const double sinc = t == 0 ? 1.0 : std::sin(x) / x;
    const double r = t / static_cast<double>(half_);
    const double w = bessel_i0(kBeta * std::sqrt(std::max(0.0, 1.0 - r * r))) / i0b;
    h[static_cast<size_t>(i)] = fc * sinc * w * up_;
  }
  // y[o] = sum_k x[k] h[o*down - k*up + half]. With o*down = q*up + p, the first input with a
  // non-zero tap is k = q + first_off, first_off = ceil((p - half) / up); phase p's tap j is
  // h[half + p - (first_off + j)*up], so process() walks the input forward.
  taps_ = static_cast<int32_t>((len + up_ - 1) / up_) + 1;
  phases_.assign(static_cast<size_t>(up_) * taps_, 0.f);
  for (int32_t p = 0; p < up_; ++p) {
    const int64_t first_off = -((half_ - p) / up_);  // half >= p
    for (int32_t j = 0; j < taps_; ++j) {
      const int64_t idx = half_ + p - (first_off + j) * up_;
      if (idx >= 0 && idx < len) phases_[static_cast<size_t>(p) * taps_ + j] = static_cast<float>(h[static_cast<size_t>(idx)]);
    }
  }
  return Status::Ok();
}

int64_t Resampler::output_length(int64_t n) const { return (n * up_ + down_ - 1) / down_; }

void Resampler::process(const float* in, int64_t n, std::vector<float>* out) const {
  const int64_t n_out = output_length(n);
  out->assign(static_cast<size_t>(n_out), 0.f);
  for (int64_t o = 0; o < n_out; ++o) {
    const int64_t pos = o * down_;
    const int64_t q = pos / up_;
    const int32_t p = static_cast<int32_t>(pos % up_);
    const int64_t first = q - ((half_ - p) / up_);
    const float* taps = phases_.data() + static_cast<size_t>(p) * taps_;
    const int64_t j0 = std::max<int64_t>(0, -first), j1 = std::min<int64_t>(taps_, n - first);
    // Eight partial sums: independent chains the compiler turns into SIMD lanes.
    float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    const float* x = in + first;
    int64_t j = j0;
    for (; j + 8 <= j1; j += 8)
      for (int l = 0; l < 8; ++l) acc[l] += taps[j + l] * x[j + l];
    float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; j < j1; ++j) sum += taps[j] * x[j];
    (*out)[static_cast<size_t>(o)] = sum;
  }
}

Status resample(const std::vector<float>& in, int32_t in_rate, int32_t out_rate, std::vector<float>* out) {
  if (in_rate == out_rate && in_rate > 0) {
    *out = in;
    return Status::Ok();
  }
  Resampler r;
  POCKET_RETURN_IF_ERROR(r.init(in_rate, out_rate));
  r.process(in.data(), static_cast<int64_t>(in.size()), out);
  return Status::Ok();
}

}  // namespace pocket::audio
