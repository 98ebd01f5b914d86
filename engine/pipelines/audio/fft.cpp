#include "engine/pipelines/audio/fft.h"

#include <cmath>
#include <string>

namespace pocket::audio {
namespace {

inline cfloat mul(cfloat a, cfloat b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

}  // namespace

Status Fft::init(int32_t n) {
  if (n < 1 || n > (1 << 24)) return invalid_argument("fft: size " + std::to_string(n) + " is out of range (1..2^24)");
  n_ = n;
  factors_.clear();
  int32_t rest = n;
  while (rest % 4 == 0) factors_.push_back(4), rest /= 4;
  for (int32_t p : {2, 3, 5})
    while (rest % p == 0) factors_.push_back(p), rest /= p;
  for (int32_t p = 7; rest > 1; p += 2)
    while (rest % p == 0) factors_.push_back(p), rest /= p;
  twiddles_.resize(static_cast<size_t>(n));
  for (int32_t k = 0; k < n; ++k) {
    const double a = -2.0 * M_PI * static_cast<double>(k) / n;
    twiddles_[static_cast<size_t>(k)] = cfloat(static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a)));
  }
  return Status::Ok();
}

// Decimation in time: the p interleaved sub-sequences of stride fstride*p are transformed into
// consecutive blocks of m, then combined by radix-p butterflies.
void Fft::work(cfloat* out, const cfloat* in, int64_t fstride, size_t stage) const {
  if (factors_.empty()) {
    out[0] = in[0];
    return;
  }
  const int32_t p = factors_[stage];
  const int64_t m = n_ / (fstride * p);
  if (m == 1) {
    for (int32_t j = 0; j < p; ++j) out[j] = in[j * fstride];
  } else {
    for (int32_t j = 0; j < p; ++j) work(out + j * m, in + j * fstride, fstride * p, stage + 1);
  }
  butterfly(out, fstride, p, m);
}

void Fft::butterfly(cfloat* out, int64_t fstride, int32_t p, int64_t m) const {
  const cfloat* tw = twiddles_.data();
  if (p == 2) {
    for (int64_t u = 0; u < m; ++u) {
      const cfloat t = mul(out[u + m], tw[u * fstride]);
      out[u + m] = out[u] - t;
      out[u] += t;
    }
    return;
  }
  if (p == 4) {
    for (int64_t u = 0; u < m; ++u) {
      const cfloat t0 = out[u];
      const cfloat t1 = mul(out[u + m], tw[u * fstride]);
      const cfloat t2 = mul(out[u + 2 * m], tw[2 * u * fstride]);
      const cfloat t3 = mul(out[u + 3 * m], tw[3 * u * fstride]);
      const cfloat s02 = t0 + t2, d02 = t0 - t2, s13 = t1 + t3, d13 = t1 - t3;
      const cfloat jd13(d13.imag(), -d13.real());  // -i * d13
      out[u] = s02 + s13;
      out[u + m] = d02 + jd13;
      out[u + 2 * m] = s02 - s13;
      out[u + 3 * m] = d02 - jd13;
    }
    return;
  }
  if (p == 5) {
    const float c1 = static_cast<float>(std::cos(2 * M_PI / 5)), c2 = static_cast<float>(std::cos(4 * M_PI / 5));
    const float s1 = static_cast<float>(std::sin(2 * M_PI / 5)), s2 = static_cast<float>(std::sin(4 * M_PI / 5));
    for (int64_t u = 0; u < m; ++u) {
      const cfloat t0 = out[u];
      const cfloat t1 = mul(out[u + m], tw[u * fstride]);
      const cfloat t2 = mul(out[u + 2 * m], tw[2 * u * fstride]);
      const cfloat t3 = mul(out[u + 3 * m], tw[3 * u * fstride]);
      const cfloat t4 = mul(out[u + 4 * m], tw[4 * u * fstride]);
      const cfloat s14 = t1 + t4, d14 = t1 - t4, s23 = t2 + t3, d23 = t2 - t3;
      const cfloat a1 = t0 + c1 * s14 + c2 * s23, a2 = t0 + c2 * s14 + c1 * s23;
      const cfloat e1 = s1 * d14 + s2 * d23, e2 = s2 * d14 - s1 * d23;
      const cfloat b1(e1.imag(), -e1.real()), b2(e2.imag(), -e2.real());  // -i * e
      out[u] = t0 + s14 + s23;
      out[u + m] = a1 + b1;
      out[u + 4 * m] = a1 - b1;
      out[u + 2 * m] = a2 + b2;
      out[u + 3 * m] = a2 - b2;
    }
    return;
  }
  // Generic radix p (3, other primes): t_q = out[u + q m] w^(q u), y_r = sum_q t_q W_p^(q r).
  cfloat t[64];
  std::vector<cfloat> big;
  cfloat* tq = t;
  if (p > 64) {
    big.resize(static_cast<size_t>(p));
    tq = big.data();
  }
  const int64_t n = n_;
  for (int64_t u = 0; u < m; ++u) {
    for (int32_t q = 0; q < p; ++q) tq[q] = mul(out[u + q * m], tw[(q * u * fstride) % n]);
    for (int32_t r = 0; r < p; ++r) {
      cfloat acc = tq[0];
      int64_t idx = 0;
      const int64_t step = (static_cast<int64_t>(r) * m * fstride) % n;
      for (int32_t q = 1; q < p; ++q) {
        idx += step;
        if (idx >= n) idx -= n;
        acc += mul(tq[q], tw[idx]);
      }
      out[u + r * m] = acc;
    }
  }
}

void Fft::forward(const cfloat* in, cfloat* out) const { work(out, in, 1, 0); }

void Fft::real_pair(const float* a, const float* b, cfloat* fa, cfloat* fb, cfloat* scratch) const {
  cfloat* z = scratch;
  cfloat* zf = scratch + n_;
  for (int32_t i = 0; i < n_; ++i) z[i] = cfloat(a[i], b[i]);
  forward(z, zf);
  for (int32_t k = 0; k <= n_ / 2; ++k) {
    const cfloat zk = zf[k];
    const cfloat zc = std::conj(zf[k == 0 ? 0 : n_ - k]);
    fa[k] = 0.5f * (zk + zc);
    const cfloat d = zk - zc;  // (zk - zc) / (2i) = -i d / 2
    fb[k] = cfloat(0.5f * d.imag(), -0.5f * d.real());
  }
}

std::vector<std::complex<double>> naive_dft(const std::vector<std::complex<double>>& in) {
  const size_t n = in.size();
  std::vector<std::complex<double>> out(n);
  for (size_t k = 0; k < n; ++k) {
    std::complex<double> acc = 0;
    for (size_t j = 0; j < n; ++j) {
      const double a = -2.0 * M_PI * static_cast<double>((j * k) % n) / static_cast<double>(n);
      acc += in[j] * std::complex<double>(std::cos(a), std::sin(a));
    }
    out[k] = acc;
  }
  return out;
}

}  // namespace pocket::audio
