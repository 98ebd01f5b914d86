// The converter's library API: ONNX in, .pocket out. The CLI (converter/tools/pocket_convert.cpp)
// and the tests use it; nothing here is part of libpocket.a.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "converter/ir/graph.h"
#include "converter/quantize/quantize.h"
#include "format/builder.h"
#include "engine/status.h"

namespace pocket::converter {

inline constexpr const char* kConverterVersion = "1.0.0";

struct ConvertOptions {
  std::vector<std::string> labels;                      // --labels FILE (one per line)
  std::vector<float> mean, std;                         // --mean a,b,c  --std a,b,c
  int64_t input_width = 0, input_height = 0;            // --input-size WxH (or N for square)
  std::vector<std::pair<std::string, std::string>> metadata;  // --metadata key=value
  std::map<std::string, std::vector<int64_t>> input_shapes;   // fix symbolic input dims
  bool nhwc = true;                                     // convert conv sub-graphs to NHWC
  bool optimize = true;                                 // run the graph passes
  // Pipeline metadata (format 1.1), filled by the CLI's --tokenizer / --audio-frontend loaders
  // (converter/metadata/).
  bool has_tokenizer = false;
  format::TokenizerDesc tokenizer;
  bool has_audio = false;
  format::AudioDesc audio;
  // Quantization (issue #5): --precision, --calibration, --keep-float, --max-error, ...
  // (converter/quantize/). Runs after optimize().
  quantize::QuantizeOptions quant;
  // Structured pruning (converter/passes/prune_channels.cpp): drop output channels whose weights
  // are all zero with the consumers' matching inputs. On by default (it changes no output).
  bool prune = true;
};

struct ConvertReport {
  std::map<std::string, int> ops_before;  // ONNX op histogram as imported
  std::map<std::string, int> ops_after;   // pocket op histogram as written
  std::vector<std::string> notes;         // one line per notable pass action
  double seconds = 0;
  uint64_t file_bytes = 0;
  int64_t opset = 0;
  quantize::QuantizeReport quant;         // filled when options.quant.precision is not fp32
  int64_t params_before = 0, params_after = 0;  // constant elements of weights, before / after pruning
  int pruned_channels = 0;
};

// ONNX ModelProto -> IR, with initializers as constants and static shapes inferred.
Status import_onnx_file(const std::string& path, ir::Graph* graph);
Status import_onnx_bytes(const void* data, size_t size, ir::Graph* graph);
// Same, also appending import notes (e.g. "float16 tensors are stored as float32") to notes.
Status import_onnx_file(const std::string& path, ir::Graph* graph, std::vector<std::string>* notes);
Status import_onnx_bytes(const void* data, size_t size, ir::Graph* graph,
                         std::vector<std::string>* notes);

// All graph passes in order (folding, fusion, layout, normalisation), then the support check.
Status optimize(ir::Graph& graph, const ConvertOptions& options, ConvertReport* report);

// One error listing every op the engine cannot run, with node names and the opset; Ok otherwise.
Status check_supported(const ir::Graph& graph);

// The metadata the writer stores: the graph's, with the options' labels, properties, tokenizer,
// audio front end and image preprocessing (--mean/--std/--input-size) applied.
format::MetadataDesc model_metadata(const ir::Graph& graph, const ConvertOptions& options);

// IR -> .pocket bytes / file (fills metadata from options).
Result<std::vector<uint8_t>> write_pocket(const ir::Graph& graph, const ConvertOptions& options);
Status write_pocket_file(const ir::Graph& graph, const ConvertOptions& options,
                         const std::string& path, uint64_t* bytes_written);

// import + optimize + write, in memory.
Result<std::vector<uint8_t>> convert_onnx_file(const std::string& path, const ConvertOptions& options,
                                               ConvertReport* report = nullptr);
Result<std::vector<uint8_t>> convert_onnx_bytes(const void* data, size_t size,
                                                const ConvertOptions& options,
                                                ConvertReport* report = nullptr);

}  // namespace pocket::converter
