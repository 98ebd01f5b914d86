// Audio front end (engine/pipelines/audio/): WAV decoding of every format (files written here),
// resampling against the ideal resampled tone (pass band, stop band), FFT against the naive DFT,
// and log-mel invariants. The log-mel comparison with a NumPy reference is in tests/pipelines.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "engine/pipelines/audio/fft.h"
#include "engine/pipelines/audio/log_mel.h"
#include "engine/pipelines/audio/resample.h"
#include "engine/pipelines/audio/wav.h"

namespace pocket::audio {
namespace {

void put16(std::vector<uint8_t>& v, uint32_t x) { v.push_back(x & 0xFF), v.push_back((x >> 8) & 0xFF); }
void put32(std::vector<uint8_t>& v, uint32_t x) { put16(v, x & 0xFFFF), put16(v, x >> 16); }
void put_id(std::vector<uint8_t>& v, const char* id) { v.insert(v.end(), id, id + 4); }

struct WavSpec {
  int format = 1;  // 1 PCM, 3 float
  int channels = 1, rate = 16000, bits = 16;
  bool extensible = false;
  bool data_first = false;  // data chunk before fmt
  bool junk = false;        // an odd-sized unknown chunk before the data
};

// Encodes frames[f][c] (values in [-1, 1)).
std::vector<uint8_t> make_wav(const WavSpec& s, const std::vector<std::vector<double>>& frames) {
  std::vector<uint8_t> fmt;
  put16(fmt, s.extensible ? 0xFFFE : s.format);
  put16(fmt, s.channels);
  put32(fmt, s.rate);
  put32(fmt, s.rate * s.channels * s.bits / 8);
  put16(fmt, s.channels * s.bits / 8);
  put16(fmt, s.bits);
  if (s.extensible) {
    put16(fmt, 22);
    put16(fmt, s.bits);
    put32(fmt, s.channels == 2 ? 3 : 4);
    put16(fmt, s.format);
    const uint8_t tail[14] = {0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71};
    fmt.insert(fmt.end(), tail, tail + 14);
  }
  std::vector<uint8_t> data;
  for (const auto& fr : frames)
    for (double x : fr) {
      if (s.format == 3 && s.bits == 32) {
        float f = static_cast<float>(x);
        uint32_t u;
        std::memcpy(&u, &f, 4);
        put32(data, u);
      } else if (s.format == 3) {
        uint64_t u;
        std::memcpy(&u, &x, 8);
        put32(data, static_cast<uint32_t>(u)), put32(data, static_cast<uint32_t>(u >> 32));
      } else if (s.bits == 8) {
        data.push_back(static_cast<uint8_t>(std::lround(x * 128) + 128));
      } else if (s.bits == 16) {
        put16(data, static_cast<uint16_t>(static_cast<int16_t>(std::lround(x * 32768))));
      } else if (s.bits == 24) {
        const auto v = static_cast<uint32_t>(static_cast<int32_t>(std::lround(x * 8388608)));
        data.push_back(v & 0xFF), data.push_back((v >> 8) & 0xFF), data.push_back((v >> 16) & 0xFF);
      } else {
        put32(data, static_cast<uint32_t>(static_cast<int32_t>(std::llround(x * 2147483648.0))));
      }
    }
  std::vector<uint8_t> body;
  put_id(body, "WAVE");
  auto chunk = [&](const char* id, const std::vector<uint8_t>& c) {
    put_id(body, id);
    put32(body, static_cast<uint32_t>(c.size()));
    body.insert(body.end(), c.begin(), c.end());
    if (c.size() & 1) body.push_back(0);
  };
  if (s.data_first) chunk("data", data);
  chunk("fmt ", fmt);
  if (s.junk) chunk("LIST", std::vector<uint8_t>(5, 'x'));
  if (!s.data_first) chunk("data", data);
  std::vector<uint8_t> file;
  put_id(file, "RIFF");
  put32(file, static_cast<uint32_t>(body.size()));
  file.insert(file.end(), body.begin(), body.end());
  return file;
}

std::vector<std::vector<double>> test_frames(int channels, int n) {
  std::vector<std::vector<double>> f(n, std::vector<double>(channels));
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < channels; ++c) f[i][c] = 0.9 * std::sin(0.01 * i * (c + 1) + c) * (i % 3 == 0 ? -0.5 : 1.0);
  return f;
}

TEST(PipelinesWav, EveryFormatDecodesAndMixesDown) {
  const int n = 101;
  struct Case { int format, bits; bool ext; double tol; };
  for (const Case& k : {Case{1, 8, false, 1.0 / 128}, Case{1, 16, false, 1.0 / 32768}, Case{1, 24, false, 1e-6},
                        Case{1, 32, false, 1e-6}, Case{3, 32, false, 1e-7}, Case{3, 64, false, 1e-7},
                        Case{1, 16, true, 1.0 / 32768}, Case{3, 32, true, 1e-7}, Case{1, 24, true, 1e-6}})
    for (int channels : {1, 2, 3})
      for (bool data_first : {false, true}) {
        WavSpec s;
        s.format = k.format, s.bits = k.bits, s.extensible = k.ext, s.channels = channels, s.rate = 22050;
        s.data_first = data_first, s.junk = !data_first;
        const auto frames = test_frames(channels, n);
        const auto file = make_wav(s, frames);
        Audio a;
        Status st = decode_wav(file.data(), file.size(), &a);
        ASSERT_TRUE(st.ok()) << st.message() << " format " << k.format << " bits " << k.bits;
        EXPECT_EQ(a.sample_rate, 22050);
        EXPECT_EQ(a.info.channels, channels);
        EXPECT_EQ(a.info.extensible, k.ext);
        ASSERT_EQ(a.samples.size(), static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) {
          double mean = 0;
          for (double x : frames[i]) mean += x;
          mean /= channels;
          ASSERT_NEAR(a.samples[i], mean, k.tol + 1e-7) << "frame " << i << " bits " << k.bits << " ch " << channels;
        }
      }
}

TEST(PipelinesWav, BadFilesGetClearErrors) {
  WavSpec s;
  const auto good = make_wav(s, test_frames(1, 50));
  Audio a;
  auto expect_error = [&](std::vector<uint8_t> f, const std::string& needle) {
    Status st = decode_wav(f.data(), f.size(), &a);
    EXPECT_FALSE(st.ok()) << needle;
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
  };
  expect_error({}, "too short");
  expect_error(std::vector<uint8_t>(good.begin(), good.begin() + 30), "truncated");
  expect_error(std::vector<uint8_t>(good.begin(), good.end() - 10), "truncated");
  auto f = good;
  f[0] = 'X';
  expect_error(f, "RIFF");
  f = good;
  f[8] = 'X';
  expect_error(f, "WAVE");
  f = good;  // fmt body starts at 20: tag, channels (22), rate (24), byte rate, block align (32), bits (34)
  f[22] = 0;
  expect_error(f, "zero channels");
  f = good;
  f[22] = 0xFF, f[23] = 0x7F;
  expect_error(f, "channels");
  f = good;
  f[24] = 0, f[25] = 0, f[26] = 0, f[27] = 0;
  expect_error(f, "sample rate");
  f = good;
  f[24] = 0xFF, f[25] = 0xFF, f[26] = 0xFF, f[27] = 0x7F;
  expect_error(f, "sample rate");
  f = good;
  f[32] = 3;
  expect_error(f, "block align");
  f = good;
  f[34] = 12;
  expect_error(f, "bits per sample");
  f = good;
  f[20] = 2;  // ADPCM
  expect_error(f, "format code");
  f = good;
  std::memcpy(&f[12], "fmX ", 4);
  expect_error(f, "no fmt chunk");
  f = good;
  std::memcpy(&f[36], "dat_", 4);
  expect_error(f, "no data chunk");
  WavSpec fl;
  fl.format = 3, fl.bits = 32;
  f = make_wav(fl, {{0.5}, {NAN}});
  expect_error(f, "finite");
  EXPECT_EQ(read_wav_file("/nonexistent.wav", &a).code(), StatusCode::kIoError);
}

// Sine through the resampler vs the same sine sampled at the output rate, away from the edges.
double tone_error_db(int in_rate, int out_rate, double hz, double* out_rms_db = nullptr) {
  const int n = in_rate / 4;  // 0.25 s
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(std::sin(2 * M_PI * hz * i / in_rate));
  std::vector<float> y;
  EXPECT_TRUE(resample(x, in_rate, out_rate, &y).ok());
  EXPECT_EQ(static_cast<int64_t>(y.size()), (static_cast<int64_t>(n) * out_rate + in_rate - 1) / in_rate);
  const size_t lo = y.size() / 5, hi = y.size() - y.size() / 5;
  double err = 0, rms = 0;
  for (size_t j = lo; j < hi; ++j) {
    const double ideal = std::sin(2 * M_PI * hz * static_cast<double>(j) / out_rate);
    err += (y[j] - ideal) * (y[j] - ideal);
    rms += static_cast<double>(y[j]) * y[j];
  }
  if (out_rms_db) *out_rms_db = 10 * std::log10(rms / (hi - lo) / 0.5 + 1e-30);
  return 10 * std::log10(err / (hi - lo) / 0.5 + 1e-30);
}

TEST(PipelinesResample, PassBandAndAliasing) {
  for (int in_rate : {44100, 48000, 22050, 8000, 11025}) {
    const double nyq = std::min(in_rate, 16000) / 2.0;
    // Pass band (a stepped sweep up to 0.75 of the lower Nyquist rate): error below -60 dB.
    for (double f = 50; f <= 0.75 * nyq; f *= 1.37)
      EXPECT_LT(tone_error_db(in_rate, 16000, f), -60) << in_rate << " Hz input, tone " << f;
    if (in_rate > 16000) {
      // Stop band: tones above 8 kHz + 1 kHz must not alias into the output (> 75 dB down).
      for (double f = 9000; f < in_rate / 2.0; f *= 1.21) {
        double rms_db = 0;
        tone_error_db(in_rate, 16000, f, &rms_db);
        EXPECT_LT(rms_db, -75) << in_rate << " Hz input, tone " << f;
      }
    }
  }
  std::vector<float> y;
  EXPECT_FALSE(resample({1.f}, 0, 16000, &y).ok());
  EXPECT_FALSE(resample({1.f}, 383999, 16000, &y).ok());  // coprime and far apart: too many taps
}

TEST(PipelinesFft, MatchesNaiveDft) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int n : {1, 2, 3, 4, 5, 8, 16, 25, 49, 77, 97, 100, 128, 400, 512, 1000, 210, 125, 15}) {
    std::vector<std::complex<double>> in(n);
    for (auto& v : in) v = {u(rng), u(rng)};
    std::vector<cfloat> inf(n), out(n);
    for (int i = 0; i < n; ++i) inf[i] = cfloat(static_cast<float>(in[i].real()), static_cast<float>(in[i].imag()));
    Fft fft;
    ASSERT_TRUE(fft.init(n).ok());
    fft.forward(inf.data(), out.data());
    const auto ref = naive_dft(in);
    double max_err = 0;
    for (int k = 0; k < n; ++k) max_err = std::max(max_err, std::abs(std::complex<double>(out[k].real(), out[k].imag()) - ref[k]));
    EXPECT_LT(max_err, 2e-5 * std::sqrt(static_cast<double>(n)) * 4) << "n " << n;
    // Two real signals through one transform.
    std::vector<float> a(n), b(n);
    for (int i = 0; i < n; ++i) a[i] = static_cast<float>(in[i].real()), b[i] = static_cast<float>(in[i].imag());
    std::vector<cfloat> fa(n / 2 + 1), fb(n / 2 + 1), scratch(2 * n);
    fft.real_pair(a.data(), b.data(), fa.data(), fb.data(), scratch.data());
    std::vector<std::complex<double>> ra(n), rb(n);
    for (int i = 0; i < n; ++i) ra[i] = a[i], rb[i] = b[i];
    const auto da = naive_dft(ra), db = naive_dft(rb);
    for (int k = 0; k <= n / 2; ++k) {
      EXPECT_LT(std::abs(std::complex<double>(fa[k].real(), fa[k].imag()) - da[k]), 1e-4 * std::sqrt(n) * 4) << n << " " << k;
      EXPECT_LT(std::abs(std::complex<double>(fb[k].real(), fb[k].imag()) - db[k]), 1e-4 * std::sqrt(n) * 4) << n << " " << k;
    }
  }
  Fft bad;
  EXPECT_FALSE(bad.init(0).ok());
}

TEST(PipelinesLogMel, FilterbankIsSlaneyNormalised) {
  const auto w = mel_filterbank(16000, 400, 80);
  ASSERT_EQ(w.size(), 80u * 201u);
  // Slaney normalisation: each triangle's area in Hz is 1 (2/(f2-f0) * (f2-f0)/2), so the sum of
  // its weights times the bin spacing (40 Hz) is close to 1 for the wide filters.
  for (int m = 55; m < 80; ++m) {
    double s = 0;
    for (int k = 0; k < 201; ++k) s += w[m * 201 + k];
    EXPECT_NEAR(s * 40.0, 1.0, 0.05) << m;
  }
  // Filter 0 starts at 0 Hz; mel points below 1 kHz are linear (200/3 Hz per mel).
  EXPECT_EQ(w[0], 0.0);
  EXPECT_GT(w[1], 0.0);
}

TEST(PipelinesLogMel, ShapeRangeAndSpeed) {
  LogMel mel;
  ASSERT_TRUE(mel.init({}).ok());
  EXPECT_EQ(mel.n_frames(), 3000);
  EXPECT_EQ(mel.n_samples(), 480000);
  std::vector<float> x(16000 * 5);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 440 * i / 16000.0));
  std::vector<float> out(80 * 3000);
  auto cpu_ms = [] {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
  };
  const double t0 = cpu_ms();
  mel.compute(x.data(), static_cast<int64_t>(x.size()), out.data());
  const double ms = cpu_ms() - t0;
  float mx = -1e9f, mn = 1e9f;
  for (float v : out) mx = std::max(mx, v), mn = std::min(mn, v);
  EXPECT_NEAR(mn, mx - 2.0f, 1e-5);  // the max - 8 floor, scaled by 1/4
  // The 440 Hz tone peaks in the filter whose centre is nearest 440 Hz.
  int best = 0;
  for (int m = 0; m < 80; ++m)
    if (out[m * 3000 + 100] > out[best * 3000 + 100]) best = m;
  // Mel points are 82 evenly spaced mels up to hz_to_mel(8000) = 15 + ln(8) / (ln(6.4) / 27);
  // 440 Hz is 6.6 mels (linear below 1 kHz), so filter m = 6.6 / spacing - 1 peaks there.
  const double mel_max = 15 + std::log(8.0) / (std::log(6.4) / 27);
  EXPECT_NEAR(best, 440.0 / (200.0 / 3.0) / (mel_max / 81) - 1, 1.0);
  // Frames past the 5 s of audio are the floor.
  EXPECT_EQ(out[10 * 3000 + 2000], mn);
  std::printf("log-mel of 30 s: %.1f ms thread CPU time\n", ms);
  LogMelOptions o;
  o.n_mels = 128;
  ASSERT_TRUE(mel.init(o).ok());
  o.hop_length = 0;
  EXPECT_FALSE(mel.init(o).ok());
}

}  // namespace
}  // namespace pocket::audio
