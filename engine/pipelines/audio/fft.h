// Complex forward FFT of any size: mixed radix (radix 4, 2 and 5 butterflies, a generic one for
// 3 and other primes), twiddles precomputed in double and stored as float. Whisper's 400-point STFT is
// 4 x 4 x 5 x 5. Real signals go two at a time through one complex transform (real_pair()).
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

#include "engine/status.h"

namespace pocket::audio {

using cfloat = std::complex<float>;

class Fft {
 public:
  Status init(int32_t n);
  int32_t size() const { return n_; }
  // out[k] = sum_j in[j] exp(-2 pi i j k / n). in and out must not overlap.
  void forward(const cfloat* in, cfloat* out) const;
  // Spectra of two real signals a and b (n samples each) through one complex FFT: the first
  // n/2 + 1 bins of each into fa, fb. scratch holds 2n complex values.
  void real_pair(const float* a, const float* b, cfloat* fa, cfloat* fb, cfloat* scratch) const;

 private:
  void work(cfloat* out, const cfloat* in, int64_t fstride, size_t stage) const;
  void butterfly(cfloat* out, int64_t fstride, int32_t p, int64_t m) const;

  int32_t n_ = 0;
  std::vector<int32_t> factors_;  // radix per stage, outermost first
  std::vector<cfloat> twiddles_;  // exp(-2 pi i k / n), k < n
};

// The naive O(n^2) DFT in double, for tests.
std::vector<std::complex<double>> naive_dft(const std::vector<std::complex<double>>& in);

}  // namespace pocket::audio
