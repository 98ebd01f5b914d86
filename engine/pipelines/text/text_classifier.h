// Text classification with a BERT-style model (DistilBERT SST-2, ...): the model's own WordPiece
// tokenizer (from its metadata) -> input_ids / attention_mask (/ token_type_ids) -> run ->
// softmax -> label and probability (labels from the metadata).
//
// The inputs are found by name: input_ids (required), attention_mask and token_type_ids
// (optional), int64 or int32, shape [batch, seq]. When seq is symbolic the session is resized to
// each text's length (re-planned only when the length changes); when it is static the encoding
// is padded with [PAD] (mask 0) to that length and truncated to it. Batch is 1, or every row of a
// static batch gets the same text. The output is "logits" (else the first output), float32
// [batch, classes]; a probability vector is kept as it is, anything else goes through softmax.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.h"
#include "engine/pipelines/text/wordpiece.h"
#include "engine/session.h"
#include "engine/status.h"

namespace pocket::text {

struct TextClassifierOptions {
  int num_threads = 1;
  int64_t max_length = 0;  // 0: the tokenizer's; at most the tokenizer's, and capped by a static model's sequence
};

struct TextClassification {
  std::vector<float> logits;         // the model's output row
  std::vector<float> probabilities;  // softmax of logits (or logits, when already probabilities)
  int64_t index = 0;                 // most probable class
  std::string label;                 // its metadata label, or "class N"
  float probability = 0.f;
  Encoding encoding;                 // what the model saw (padding included for a static model)
};

class TextClassifier {
 public:
  static Result<std::unique_ptr<TextClassifier>> create(std::shared_ptr<const Model> model,
                                                        const TextClassifierOptions& options = {});
  // Tokenizes, runs and scores one text (any bytes: invalid UTF-8 is replaced and counted in
  // encoding.invalid_utf8). Fails only if the session cannot be resized to the text's length.
  Result<TextClassification> classify(std::string_view text);

  const WordPieceTokenizer& tokenizer() const { return tokenizer_; }
  const std::vector<std::string>& labels() const { return labels_; }
  int64_t num_classes() const { return classes_; }
  // The model's sequence length when static, 0 when symbolic.
  int64_t fixed_length() const { return fixed_len_; }
  // Longest encoding classify() produces.
  int64_t max_length() const { return max_len_; }
  Session& session() { return *session_; }

 private:
  TextClassifier(WordPieceTokenizer t) : tokenizer_(std::move(t)) {}
  Status bind();  // looks up inputs/outputs after creation or a resize

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Session> session_;
  WordPieceTokenizer tokenizer_;
  std::vector<std::string> labels_;
  std::string ids_name_, mask_name_, types_name_, out_name_;
  int ids_ = -1, mask_ = -1, types_ = -1, out_ = -1;
  int64_t batch_ = 1, fixed_len_ = 0, current_len_ = -1, max_len_ = 0, classes_ = 0;
};

}  // namespace pocket::text
