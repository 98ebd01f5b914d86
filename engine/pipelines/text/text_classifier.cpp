#include "engine/pipelines/text/text_classifier.h"

#include <algorithm>
#include <cmath>

namespace pocket::text {

namespace {

// The model file's declared shape of graph input k (-1 for symbolic dims).
Shape declared_input_shape(const Model& m, const std::string& name) {
  const fb::Graph& g = m.graph();
  for (int32_t t : *g.inputs()) {
    const fb::Tensor* tensor = g.tensors()->Get(t);
    if (tensor->name()->str() != name) continue;
    Shape s;
    if (tensor->shape())
      for (int64_t d : *tensor->shape()) s.push_back(d);
    return s;
  }
  return {};
}

std::string input_list(Session& s) {
  std::string out;
  for (size_t i = 0; i < s.num_inputs(); ++i) {
    const Value& v = s.input(i);
    out += (i ? ", '" : "'") + std::string(v.name) + "' " + dtype_name(v.dtype) + " " + shape_str(v.shape);
  }
  return out;
}

bool is_token_dtype(DType d) { return d == DType::I64 || d == DType::I32; }

void write_row(Value& v, int64_t row, const std::vector<int32_t>& src) {
  const int64_t n = static_cast<int64_t>(src.size());
  if (v.dtype == DType::I64) {
    int64_t* dst = v.as<int64_t>() + row * n;
    for (int64_t i = 0; i < n; ++i) dst[i] = src[static_cast<size_t>(i)];
  } else {
    std::copy(src.begin(), src.end(), v.as<int32_t>() + row * n);
  }
}

bool is_probability_vector(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) {
    if (!(x >= 0.f && x <= 1.f)) return false;
    sum += x;
  }
  return std::fabs(sum - 1.0) < 1e-3;
}

}  // namespace

Result<std::unique_ptr<TextClassifier>> TextClassifier::create(std::shared_ptr<const Model> model,
                                                               const TextClassifierOptions& options) {
  if (!model) return invalid_argument("text classifier: no model");
  auto tok = WordPieceTokenizer::from_model(*model);
  if (!tok.ok()) return tok.status();
  std::unique_ptr<TextClassifier> c(new TextClassifier(std::move(tok).value()));
  c->model_ = model;
  c->labels_ = model->labels();

  const Shape ids_shape = declared_input_shape(*model, "input_ids");
  if (ids_shape.empty()) {
    // Tell the user what the model takes instead.
    std::string names;
    for (int32_t t : *model->graph().inputs())
      names += (names.empty() ? "'" : ", '") + model->graph().tensors()->Get(t)->name()->str() + "'";
    return invalid_argument("the model has no 'input_ids' input (inputs: " + names +
                            "); a text classifier takes input_ids [and attention_mask, token_type_ids]");
  }
  if (ids_shape.size() != 2)
    return invalid_argument("input 'input_ids' has shape " + shape_str(ids_shape) + "; a text classifier takes [batch, seq]");
  c->batch_ = ids_shape[0] > 0 ? ids_shape[0] : 1;
  c->fixed_len_ = ids_shape[1] > 0 ? ids_shape[1] : 0;

  SessionOptions so;
  so.num_threads = std::max(1, options.num_threads);
  if (ids_shape[0] < 0 || ids_shape[1] < 0) {
    // Start at a typical length so creation plans once; classify() resizes per text.
    const Shape start{c->batch_, c->fixed_len_ > 0 ? c->fixed_len_ : 8};
    for (const char* name : {"input_ids", "attention_mask", "token_type_ids"})
      if (!declared_input_shape(*model, name).empty()) so.input_shapes.emplace_back(name, start);
  }
  auto s = Session::create(model, so);
  if (!s.ok()) return s.status();
  c->session_ = std::move(s).value();
  POCKET_RETURN_IF_ERROR(c->bind());
  c->current_len_ = c->session_->input(static_cast<size_t>(c->ids_)).shape[1];

  const int64_t model_max = c->tokenizer_.config().max_length;
  if (options.max_length > model_max)
    return invalid_argument("max length " + std::to_string(options.max_length) + " is more than the model takes (" +
                            std::to_string(model_max) + " tokens, from its tokenizer metadata)");
  int64_t max_len = options.max_length > 0 ? options.max_length : model_max;
  if (c->fixed_len_ > 0) max_len = std::min(max_len, c->fixed_len_);
  if (max_len < 2)
    return invalid_argument("the model's sequence length " + std::to_string(max_len) + " leaves no room for [CLS] and [SEP]");
  c->max_len_ = max_len;
  return c;
}

Status TextClassifier::bind() {
  Session& s = *session_;
  ids_ = s.find_input("input_ids");
  mask_ = s.find_input("attention_mask");
  types_ = s.find_input("token_type_ids");
  if (ids_ < 0) return invalid_argument("the model has no 'input_ids' input (inputs: " + input_list(s) + ")");
  for (size_t i = 0; i < s.num_inputs(); ++i) {
    const Value& v = s.input(i);
    const int k = static_cast<int>(i);
    if (k != ids_ && k != mask_ && k != types_)
      return invalid_argument("the model has an input '" + std::string(v.name) +
                              "' a text classifier cannot fill (inputs: " + input_list(s) + ")");
    if (!is_token_dtype(v.dtype) || v.rank() != 2 || v.shape != s.input(static_cast<size_t>(ids_)).shape)
      return invalid_argument("input '" + std::string(v.name) + "' is " + dtype_name(v.dtype) + " " + shape_str(v.shape) +
                              "; a text classifier's inputs are int64 or int32 [batch, seq], all of the same shape");
  }
  out_ = s.find_output("logits");
  if (out_ < 0) out_ = s.num_outputs() > 0 ? 0 : -1;
  if (out_ < 0) return invalid_argument("the model has no outputs");
  const Value& o = s.output(static_cast<size_t>(out_));
  const int64_t batch = s.input(static_cast<size_t>(ids_)).shape[0];
  if (o.dtype != DType::F32 || o.rank() < 1 || o.rank() > 2 || (o.rank() == 2 && o.shape[0] != batch) ||
      o.elements() < 1 || o.elements() % batch != 0)
    return invalid_argument("output '" + std::string(o.name) + "' is " + dtype_name(o.dtype) + " " + shape_str(o.shape) +
                            "; a text classifier's output is float32 [batch, classes]");
  classes_ = o.elements() / batch;
  return Status::Ok();
}

Result<TextClassification> TextClassifier::classify(std::string_view text) {
  TextClassification r;
  r.encoding = tokenizer_.encode(text, 0, max_len_);
  if (fixed_len_ > r.encoding.length) {
    r.encoding.ids.resize(static_cast<size_t>(fixed_len_), tokenizer_.pad_id());
    r.encoding.attention_mask.resize(static_cast<size_t>(fixed_len_), 0);
  }
  const int64_t len = static_cast<int64_t>(r.encoding.ids.size());
  if (len != current_len_) {
    std::vector<std::pair<std::string, Shape>> shapes;
    for (int k : {ids_, mask_, types_})
      if (k >= 0) shapes.emplace_back(std::string(session_->input(static_cast<size_t>(k)).name), Shape{batch_, len});
    POCKET_RETURN_IF_ERROR(session_->resize_inputs(shapes));
    POCKET_RETURN_IF_ERROR(bind());
    current_len_ = len;
  }
  const std::vector<int32_t> zeros(static_cast<size_t>(len), 0);
  for (int64_t b = 0; b < batch_; ++b) {
    write_row(session_->input(static_cast<size_t>(ids_)), b, r.encoding.ids);
    if (mask_ >= 0) write_row(session_->input(static_cast<size_t>(mask_)), b, r.encoding.attention_mask);
    if (types_ >= 0) write_row(session_->input(static_cast<size_t>(types_)), b, zeros);
  }
  session_->run();
  const float* out = session_->output(static_cast<size_t>(out_)).as<float>();
  r.logits.assign(out, out + classes_);
  r.probabilities = r.logits;
  if (!is_probability_vector(r.logits)) {
    const float mx = *std::max_element(r.logits.begin(), r.logits.end());
    double sum = 0;
    for (float& p : r.probabilities) {
      p = std::exp(p - mx);
      sum += p;
    }
    for (float& p : r.probabilities) p = static_cast<float>(p / sum);
  }
  r.index = std::max_element(r.probabilities.begin(), r.probabilities.end()) - r.probabilities.begin();
  r.probability = r.probabilities[static_cast<size_t>(r.index)];
  r.label = r.index < static_cast<int64_t>(labels_.size()) && !labels_[static_cast<size_t>(r.index)].empty()
                ? labels_[static_cast<size_t>(r.index)]
                : "class " + std::to_string(r.index);
  return r;
}

}  // namespace pocket::text
