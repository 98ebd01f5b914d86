// What pocket-inspect reports about a model: read from the file (metadata, inputs/outputs, ops,
// constants, quantization) and, when a session could be created, from the session (FLOPs per op,
// which nodes were evaluated at prepare, inferred shapes, the memory plan).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"

namespace pocket::tools::inspect {

struct TensorSummary {
  std::string name, dtype;
  Shape shape;                         // the file's; -1 for a symbolic dim
  std::vector<std::string> dim_names;  // same length as shape, "" for static dims (or empty)
  Shape prepared;                      // the session's shape (empty without a session)
};

struct OpTypeStats {
  std::string op;
  int nodes = 0, run = 0, at_prepare = 0;
  int64_t param_elements = 0;  // constants this op type reads (each counted at its first reader)
  uint64_t param_bytes = 0;
  int64_t flops = 0;           // per run, from the session
};

struct DTypeStats {
  std::string dtype;
  int tensors = 0;
  int64_t elements = 0;
  uint64_t bytes = 0;
};

struct QuantSummary {
  int int8_constants = 0, int8_activations = 0, int4_constants = 0;
  int fp16_constants = 0, bf16_constants = 0, fp16_activations = 0;
  int per_tensor = 0, per_axis = 0, blocked = 0;  // tensors with quantization parameters
  int quantize_nodes = 0, dequantize_nodes = 0;
  bool any() const {
    return int8_constants || int8_activations || int4_constants || fp16_constants || bf16_constants ||
           fp16_activations || per_tensor || per_axis || blocked || quantize_nodes || dequantize_nodes;
  }
};

// One graph node, for the drawing.
struct NodeSummary {
  std::string op, name;
  std::vector<int32_t> inputs, outputs;  // tensor indices, -1 for an omitted optional input
  bool at_prepare = false;               // evaluated once at prepare (session only)
  Shape output0;                         // the session's shape of output 0 (run nodes only)
  bool has_output0 = false;
};

struct Summary {
  std::string path;
  uint64_t file_size = 0;
  uint32_t format_major = 0, format_minor = 0;

  // metadata (all "" / empty when absent)
  bool has_metadata = false;
  std::string producer, producer_version, task, source;
  bool has_preprocessing = false;
  int width = 0, height = 0;
  std::string layout, color_order, resize;
  std::vector<float> mean, std;
  float scale = 1.f;
  std::vector<std::string> labels;
  std::vector<std::pair<std::string, std::string>> properties;
  bool has_tokenizer = false;
  std::string tokenizer_kind;
  size_t vocab_size = 0, merges = 0;
  bool lowercase = true, strip_accents = true;
  int max_length = 0;
  std::vector<std::pair<std::string, std::string>> special_tokens;
  size_t suppress_tokens = 0;
  bool has_audio = false;
  std::string audio_kind;
  int sample_rate = 0, n_fft = 0, hop_length = 0, n_mels = 0, chunk_seconds = 0;

  std::vector<TensorSummary> tensors;  // every tensor of the graph (for the drawing)
  std::vector<bool> constant;          // per tensor
  std::vector<int32_t> inputs, outputs;  // graph inputs/outputs (tensor indices)
  std::vector<NodeSummary> nodes;
  std::vector<OpTypeStats> op_types;   // most FLOPs first, then most nodes
  std::vector<DTypeStats> params;      // constants by dtype, most bytes first
  int64_t param_elements = 0;
  uint64_t param_bytes = 0;
  int constants = 0;
  QuantSummary quant;

  // From the session (has_session), else session_error says why there is none.
  bool has_session = false;
  std::string session_error;
  int threads = 1;
  int64_t flops = 0;
  MemoryReport memory;
  std::vector<std::string> notices;
};

// Everything the file says; no session yet.
Summary summarize_model(const Model& model, const std::string& path);
// Adds what the session knows (FLOPs, prepared shapes, evaluated-at-prepare nodes, memory).
void add_session(const Session& session, Summary* s);

// Human-readable report (several sections) and one JSON object.
std::string text_report(const Summary& s);
std::string json_report(const Summary& s);

// Helpers shared with the drawing.
std::string shape_text(const Shape& shape, const std::vector<std::string>& dim_names);  // "[batch,128]"
std::string printable(const std::string& s, size_t max_chars = 120);  // control chars -> '?', cut long text

}  // namespace pocket::tools::inspect
