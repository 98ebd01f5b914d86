// Calibration for static int8 and the SQNR measurements of mixed precision: loading a
// calibration set, running an IR graph with the engine on it, and turning observed values into
// ranges (min-max, percentile, entropy / KL as TensorRT does).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "converter/ir/graph.h"
#include "converter/quantize/quantize.h"
#include "engine/status.h"

namespace pocket {
class Session;
}

namespace pocket::converter::quantize {

struct HostTensor {
  ir::DType dtype = ir::DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
  const float* f32() const { return reinterpret_cast<const float*>(data.data()); }
  int64_t elements() const;
};
using Sample = std::map<std::string, HostTensor>;  // graph input name -> value

// Reads a calibration set for `graph`'s inputs. A single-input model: .npy files (or images:
// .png/.jpg/.jpeg/.bmp/.ppm/.pgm, preprocessed with graph.metadata's preprocessing into the input's
// layout and size; C = 1 inputs take the luminance) directly in dir (or in dir/<input name>).
// Without preprocessing metadata images get what the writer records for an image input without
// --mean/--std/--input-size: the input's size, stretch, RGB, pixels 0..255 unscaled. Several
// inputs: one sub-folder per input name, the same file names in each. .npy dtypes must equal the
// input's; shapes must match with symbolic dims taking any size and a leading batch dim of 1
// optional. Files are taken in name order (other extensions and hidden files are ignored);
// max_samples > 0 keeps the first N. Errors name the file and what is wrong (dtype, shape vs the
// input's, unreadable image, missing sub-folder or file).
Status load_calibration_set(const std::string& dir, const ir::Graph& graph, int max_samples,
                            std::vector<Sample>* samples);

// A progress bar on stderr ("calibrating  37/128 [=====>    ] 2.1 s"), redrawn in place when
// stderr is a terminal, a line every 10 % otherwise; nothing when disabled.
class ProgressBar {
 public:
  ProgressBar(std::string label, size_t total, bool enabled);
  ~ProgressBar();  // finishes the line
  void step(size_t n = 1);

 private:
  std::string label_;
  size_t total_, done_ = 0;
  bool enabled_, tty_;
  double start_;
  int last_decile_ = -1;
};

// Runs `graph` (any IR graph the writer accepts: fp32 or quantized) with the engine, one session,
// on every sample, and calls fn(sample index, values) with the F32 values of `tensors` (graph
// outputs or intermediate values, which the runner exposes as extra outputs; I8 values are
// dequantized). An empty `tensors` means the graph's outputs.
using ValuesFn = std::function<Status(size_t sample, const std::map<std::string, HostTensor>& values)>;
Status run_on_samples(const ir::Graph& graph, const std::vector<Sample>& samples,
                      const std::vector<std::string>& tensors, const ValuesFn& fn, ProgressBar* progress);

// run_on_samples in pieces, for callers that run one graph on several batches of samples: the
// graph is written, loaded and prepared once (init), then run on any number of samples (the
// session is resized when a sample's shapes differ). tensors as in run_on_samples; `first` gives
// the initial input shapes. Independent of `graph` after init.
class SampleRunner {
 public:
  SampleRunner();
  ~SampleRunner();
  SampleRunner(const SampleRunner&) = delete;
  SampleRunner& operator=(const SampleRunner&) = delete;
  Status init(const ir::Graph& graph, const std::vector<std::string>& tensors, const Sample& first);
  // The F32 values of the tensors for one sample (index only names the sample in errors).
  Status run(size_t index, const Sample& sample, std::map<std::string, HostTensor>* values);

 private:
  std::vector<std::string> names_, inputs_;
  std::map<std::string, HostTensor> constants_;
  std::map<std::string, format::QuantDesc> input_quant_;
  std::unique_ptr<Session> session_;
};

// Accumulates values of one tensor and picks its range.
class RangeObserver {
 public:
  void add_minmax(const float* x, int64_t n);      // pass 1: min and max
  // Pass 2 (percentile, entropy): a kSignedBins-bin histogram over pass 1's [min, max] and a
  // kEntropyBins-bin |x| histogram over [0, max |x|]. Rules of range(): see calibration.cpp.
  void add_histogram(const float* x, int64_t n);
  std::pair<float, float> range(CalibrationMethod method, double percentile) const;
  bool needs_histogram(CalibrationMethod method) const { return method != CalibrationMethod::kMinMax; }

 private:
  static constexpr int64_t kSignedBins = 8192;   // percentile
  static constexpr int64_t kEntropyBins = 2048;  // entropy (KL)
  static constexpr double kMinSpan = 1e-6;       // smallest range width (all-zero tensors)
  float min_ = 0, max_ = 0;
  bool seen_ = false;
  std::vector<double> hist_;      // over [min_, max_]
  std::vector<double> abs_hist_;  // |x| over [0, max(|min_|, |max_|)]
};

// TensorRT's entropy threshold search on a histogram of |x| (or of x >= 0) over [0, amax]: the
// threshold T (a bin edge) whose clipped distribution P and `levels`-level quantized candidate Q
// have the smallest KL(P || Q). See calibration.cpp.
double entropy_threshold(const std::vector<double>& hist, double amax, int levels);

// Ranges of `tensors` over the samples with `method` (one pass for min-max, two otherwise).
Status calibrate_ranges(const ir::Graph& graph, const std::vector<Sample>& samples,
                        const std::vector<std::string>& tensors, CalibrationMethod method, double percentile,
                        std::map<std::string, std::pair<float, float>>* ranges, bool progress);

// Signal-to-quantization-noise ratio in dB: 10 log10(sum ref^2 / sum (ref - x)^2) (+inf when equal,
// also for n == 0). ref all zero and x not: -inf. A non-finite error (NaN/inf in x): -inf.
double sqnr_db(const float* ref, const float* x, int64_t n);

}  // namespace pocket::converter::quantize
