// Quantization and compression of a converted graph (issue #5): fp16 weights, int8 weight-only
// ("int8-dynamic"), static int8 from a calibration set, accuracy-aware mixed precision, and the
// per-layer report. Runs after the graph passes (converter/passes), on the NHWC, fused IR, and
// produces the forms format/OPS.md "Quantization (format 1.2)" defines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "converter/ir/graph.h"
#include "engine/status.h"

namespace pocket::converter::quantize {

enum class Precision { kFp32, kFp16, kInt8Dynamic, kInt8 };
enum class CalibrationMethod { kMinMax, kPercentile, kEntropy };

// "fp32", "fp16", "int8-dynamic", "int8"; parse returns false on anything else.
const char* precision_name(Precision p);
bool parse_precision(const std::string& s, Precision* p);
const char* calibration_method_name(CalibrationMethod m);
bool parse_calibration_method(const std::string& s, CalibrationMethod* m);

struct QuantizeOptions {
  Precision precision = Precision::kFp32;
  std::string calibration_dir;        // --calibration DIR (.npy files, sub-folders per input, or images)
  CalibrationMethod method = CalibrationMethod::kMinMax;
  double percentile = 99.99;          // --percentile
  int max_samples = 0;                // --calibration-samples N (0: every sample found)
  std::vector<std::string> keep_float;  // --keep-float NAME_OR_OPTYPE...: node names or op types
  double max_error_db = 0;            // --max-error DB: the model's output SQNR must reach DB (0: off)
  bool progress = true;               // progress bar on stderr for calibration and SQNR passes
};

// One quantizable layer (Conv, Gemm, MatMul with a constant weight, and the int8 ops of the static
// form) in the report.
struct LayerReport {
  std::string name;         // node name
  std::string op;           // "Conv"
  std::string precision;    // "int8", "int8-dynamic", "fp16", "fp32"
  double sqnr_db = -1;      // output SQNR vs the fp32 model on the calibration set; < 0: not measured
  uint64_t bytes_fp32 = 0;  // weight bytes as fp32
  uint64_t bytes = 0;       // weight bytes as written
  std::string reason;       // why this precision ("--keep-float Softmax", "kept float: 12.1 dB, budget", ...)
};

struct QuantizeReport {
  Precision precision = Precision::kFp32;
  std::string method;                  // calibration method, "" if none
  int samples = 0;                     // calibration samples used
  std::vector<LayerReport> layers;
  int transitions = 0;                 // QuantizeLinear + DequantizeLinear nodes inserted
  double model_sqnr_db = -1;           // final whole-model output SQNR (< 0: not measured)
  uint64_t weight_bytes_fp32 = 0, weight_bytes = 0;
  std::vector<std::string> notes;
  std::string text() const;            // a table for the terminal
  std::string json() const;            // the same, machine-readable
};

// Rewrites graph in place to options.precision. kFp32 does nothing. The graph must be the fp32
// graph the passes produced; calibration data is read from options.calibration_dir.
Status quantize(ir::Graph& graph, const QuantizeOptions& options, QuantizeReport* report);

}  // namespace pocket::converter::quantize
