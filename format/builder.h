// Builds a .pocket file from plain structs. Used by the converter's writer and by tests that
// need a small model without going through ONNX.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "format/format.h"
#include "format/pocket_generated.h"

namespace pocket::format {

struct AttrDesc {
  std::string name;
  fb::AttrType type = fb::AttrType::Int;
  int64_t i = 0;
  float f = 0.f;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;

  static AttrDesc Int(std::string n, int64_t v);
  static AttrDesc Float(std::string n, float v);
  static AttrDesc String(std::string n, std::string v);
  static AttrDesc Ints(std::string n, std::vector<int64_t> v);
  static AttrDesc Floats(std::string n, std::vector<float> v);
};

struct QuantDesc {
  std::vector<float> scales;
  std::vector<int64_t> zero_points;
  int32_t axis = -1;
  int32_t block_size = 0;
};

struct TensorDesc {
  std::string name;
  fb::DType dtype = fb::DType::F32;
  std::vector<int64_t> shape;           // -1 for a symbolic dim
  std::vector<std::string> dim_names;   // empty, or one per dim ("" for static dims)
  bool has_data = false;
  std::vector<uint8_t> data;            // constant bytes when has_data
  bool has_quant = false;
  QuantDesc quant;
};

struct NodeDesc {
  fb::OpType op = fb::OpType::Identity;
  std::string name;
  std::vector<int32_t> inputs;   // -1 for an omitted optional input
  std::vector<int32_t> outputs;
  std::vector<AttrDesc> attrs;
};

struct PreprocessDesc {
  int32_t width = 0, height = 0;
  std::string layout = "NCHW";
  std::string color_order = "RGB";
  std::vector<float> mean, std;
  float scale = 1.0f;
  std::string resize = "stretch";
};

struct TokenizerDesc {
  std::string kind;                       // "wordpiece" or "bytelevel_bpe" (see pocket.fbs)
  std::vector<std::string> vocab;         // token text by id
  std::vector<std::string> merges;        // bytelevel_bpe merge rules "a b", rank order
  bool lowercase = true;
  bool strip_accents = true;
  int32_t max_length = 512;
  std::vector<std::pair<std::string, std::string>> special_tokens;  // role -> token text
  std::vector<int32_t> suppress_tokens;
};

struct AudioDesc {
  std::string kind = "whisper_log_mel";
  int32_t sample_rate = 16000, n_fft = 400, hop_length = 160, n_mels = 80, chunk_seconds = 30;
};

struct MetadataDesc {
  std::string producer = "pocket-convert";
  std::string producer_version;
  std::string task;
  std::string source;
  bool has_preprocessing = false;
  PreprocessDesc preprocessing;
  std::vector<std::string> labels;
  std::vector<std::pair<std::string, std::string>> properties;
  bool has_tokenizer = false;
  TokenizerDesc tokenizer;
  bool has_audio = false;
  AudioDesc audio;
};

struct ModelDesc {
  std::vector<TensorDesc> tensors;
  std::vector<NodeDesc> nodes;
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;
  MetadataDesc metadata;

  int32_t add_tensor(TensorDesc t);  // returns its index
};

// The whole file in memory.
std::vector<uint8_t> serialize(const ModelDesc& model);
// Streams the file; returns bytes written (0 on a stream error).
uint64_t write(const ModelDesc& model, std::ostream& out);

}  // namespace pocket::format
