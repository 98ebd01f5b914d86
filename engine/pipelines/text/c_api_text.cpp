#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "engine/c_api_internal.h"
#include "engine/pipelines/text/text_classifier.h"
#include "engine/pipelines/text/wordpiece.h"
#include "pocket/pocket_text.h"

// Either owns its tokenizer (pocket_text_tokenizer_load / _from_vocab) or views a classifier's.
struct pocket_text_tokenizer {
  std::unique_ptr<pocket::text::WordPieceTokenizer> owned;
  const pocket::text::WordPieceTokenizer* view = nullptr;
  const pocket::text::WordPieceTokenizer& get() const { return *view; }
};

struct pocket_text_classifier {
  std::unique_ptr<pocket::text::TextClassifier> classifier;
  pocket_text_tokenizer tokenizer;  // views classifier->tokenizer()
  std::vector<std::string> labels;  // per class: metadata label or "class N"
  pocket::text::TextClassification last;
  std::vector<int64_t> last_ids;
};

namespace {

using pocket::capi::call_guarded;
using pocket::capi::require;
using pocket::capi::to_c;

pocket_status fail(pocket_status code, const std::string& message) {
  return pocket::capi::fail(code, nullptr, message);
}

// text may be NULL only for an empty text (text_bytes 0 or POCKET_TEXT_NUL_TERMINATED).
pocket_status check_text(const char* function, const char* text, size_t text_bytes) {
  if (text || text_bytes == 0 || text_bytes == POCKET_TEXT_NUL_TERMINATED) return POCKET_OK;
  return pocket::capi::fail(POCKET_INVALID_ARGUMENT, function,
                            "text must not be NULL when text_bytes is " + std::to_string(text_bytes));
}

std::string_view text_view(const char* text, size_t bytes) {
  if (!text) return {};
  return bytes == POCKET_TEXT_NUL_TERMINATED ? std::string_view(text) : std::string_view(text, bytes);
}

pocket_status make_tokenizer(pocket::Result<pocket::text::WordPieceTokenizer> r, pocket_text_tokenizer** out) {
  if (!r.ok()) return to_c(r.status());
  auto t = std::make_unique<pocket_text_tokenizer>();
  t->owned = std::make_unique<pocket::text::WordPieceTokenizer>(std::move(r).value());
  t->view = t->owned.get();
  *out = t.release();
  return POCKET_OK;
}

pocket_status make_classifier(pocket::Result<std::shared_ptr<const pocket::Model>> model,
                              const pocket_text_classifier_options* options, pocket_text_classifier** out) {
  if (!model.ok()) return to_c(model.status());
  pocket_text_classifier_options o;
  pocket_text_classifier_options_init(&o);
  if (options) o = *options;
  if (o.num_threads < 1 || o.max_length < 0)
    return fail(POCKET_INVALID_ARGUMENT, "pocket_text_classifier_create: num_threads must be >= 1 and max_length >= 0");
  pocket::text::TextClassifierOptions co;
  co.num_threads = o.num_threads;
  co.max_length = o.max_length;
  auto c = pocket::text::TextClassifier::create(std::move(model).value(), co);
  if (!c.ok()) return to_c(c.status());
  auto h = std::make_unique<pocket_text_classifier>();
  h->classifier = std::move(c).value();
  h->tokenizer.view = &h->classifier->tokenizer();
  const auto& labels = h->classifier->labels();
  for (int64_t i = 0; i < h->classifier->num_classes(); ++i)
    h->labels.push_back(i < static_cast<int64_t>(labels.size()) && !labels[static_cast<size_t>(i)].empty()
                            ? labels[static_cast<size_t>(i)]
                            : "class " + std::to_string(i));
  *out = h.release();
  return POCKET_OK;
}

}  // namespace

extern "C" {

const char* pocket_text_last_error(void) { return pocket::capi::last_error().c_str(); }

pocket_status pocket_text_tokenizer_load(const char* model_path, pocket_text_tokenizer** out) {
  return call_guarded("pocket_text_tokenizer_load", [&]() -> pocket_status {
    if (out) *out = nullptr;
    if (pocket_status st = require("pocket_text_tokenizer_load", {{model_path, "model_path"}, {out, "out"}}); st != POCKET_OK)
      return st;
    auto m = pocket::Model::load_file(model_path);
    if (!m.ok()) return to_c(m.status());
    return make_tokenizer(pocket::text::WordPieceTokenizer::from_model(*m.value()), out);
  });
}

pocket_status pocket_text_tokenizer_from_vocab(const char* vocab_path, int32_t lowercase, int32_t max_length,
                                               pocket_text_tokenizer** out) {
  return call_guarded("pocket_text_tokenizer_from_vocab", [&]() -> pocket_status {
    if (out) *out = nullptr;
    if (pocket_status st = require("pocket_text_tokenizer_from_vocab", {{vocab_path, "vocab_path"}, {out, "out"}});
        st != POCKET_OK)
      return st;
    if (max_length < 0) return fail(POCKET_INVALID_ARGUMENT, "pocket_text_tokenizer_from_vocab: max_length must be >= 0");
    pocket::text::WordPieceConfig config;
    config.lowercase = config.strip_accents = lowercase != 0;
    if (max_length > 0) config.max_length = max_length;
    return make_tokenizer(pocket::text::WordPieceTokenizer::from_vocab_file(vocab_path, config), out);
  });
}

void pocket_text_tokenizer_free(pocket_text_tokenizer* tokenizer) { delete tokenizer; }

size_t pocket_text_tokenizer_vocab_size(const pocket_text_tokenizer* tokenizer) {
  return tokenizer ? static_cast<size_t>(tokenizer->get().vocab_size()) : 0;
}

const char* pocket_text_tokenizer_token(const pocket_text_tokenizer* tokenizer, int64_t id) {
  if (!tokenizer || id < 0 || id > INT32_MAX) return "";
  return tokenizer->get().token(static_cast<int32_t>(id)).c_str();
}

int64_t pocket_text_tokenizer_token_id(const pocket_text_tokenizer* tokenizer, const char* token) {
  if (!tokenizer || !token) return -1;
  return tokenizer->get().id(token);
}

pocket_status pocket_text_tokenizer_encode(const pocket_text_tokenizer* tokenizer, const char* text, size_t text_bytes,
                                           int32_t pad_to, int32_t max_length, int64_t* ids, int64_t* mask,
                                           size_t capacity, size_t* out_length) {
  return call_guarded("pocket_text_tokenizer_encode", [&]() -> pocket_status {
    if (pocket_status st = require("pocket_text_tokenizer_encode", {{tokenizer, "tokenizer"}, {out_length, "out_length"}});
        st != POCKET_OK)
      return st;
    if (pocket_status st = check_text("pocket_text_tokenizer_encode", text, text_bytes); st != POCKET_OK) return st;
    if (pad_to < 0 || max_length < 0 || (max_length > 0 && max_length < 2))
      return fail(POCKET_INVALID_ARGUMENT, "pocket_text_tokenizer_encode: pad_to must be >= 0 and max_length 0 or >= 2");
    const pocket::text::Encoding e = tokenizer->get().encode(text_view(text, text_bytes), pad_to, max_length);
    *out_length = e.ids.size();
    const size_t n = std::min(capacity, e.ids.size());
    for (size_t i = 0; i < n; ++i) {
      if (ids) ids[i] = e.ids[i];
      if (mask) mask[i] = e.attention_mask[i];
    }
    if (capacity < e.ids.size())
      return fail(POCKET_INVALID_ARGUMENT, "pocket_text_tokenizer_encode: the encoding has " + std::to_string(e.ids.size()) +
                                               " tokens but the buffers hold " + std::to_string(capacity));
    return POCKET_OK;
  });
}

void pocket_text_classifier_options_init(pocket_text_classifier_options* options) {
  if (!options) return;
  options->num_threads = 1;
  options->max_length = 0;
}

pocket_status pocket_text_classifier_create(const char* model_path, const pocket_text_classifier_options* options,
                                            pocket_text_classifier** out) {
  return call_guarded("pocket_text_classifier_create", [&]() -> pocket_status {
    if (out) *out = nullptr;
    if (pocket_status st = require("pocket_text_classifier_create", {{model_path, "model_path"}, {out, "out"}});
        st != POCKET_OK)
      return st;
    return make_classifier(pocket::Model::load_file(model_path), options, out);
  });
}

pocket_status pocket_text_classifier_create_from_buffer(const void* data, size_t size,
                                                        const pocket_text_classifier_options* options,
                                                        pocket_text_classifier** out) {
  return call_guarded("pocket_text_classifier_create_from_buffer", [&]() -> pocket_status {
    if (out) *out = nullptr;
    if (pocket_status st = require("pocket_text_classifier_create_from_buffer", {{data, "data"}, {out, "out"}});
        st != POCKET_OK)
      return st;
    return make_classifier(pocket::Model::load_buffer(data, size), options, out);
  });
}

void pocket_text_classifier_free(pocket_text_classifier* classifier) { delete classifier; }

size_t pocket_text_classifier_num_classes(const pocket_text_classifier* classifier) {
  return classifier ? classifier->labels.size() : 0;
}

const char* pocket_text_classifier_label(const pocket_text_classifier* classifier, size_t index) {
  if (!classifier || index >= classifier->labels.size()) return "";
  return classifier->labels[index].c_str();
}

const pocket_text_tokenizer* pocket_text_classifier_tokenizer(const pocket_text_classifier* classifier) {
  return classifier ? &classifier->tokenizer : nullptr;
}

pocket_status pocket_text_classify(pocket_text_classifier* classifier, const char* text, size_t text_bytes,
                                   pocket_text_result* out) {
  return call_guarded("pocket_text_classify", [&]() -> pocket_status {
    if (pocket_status st = require("pocket_text_classify", {{classifier, "classifier"}, {out, "out"}}); st != POCKET_OK)
      return st;
    if (pocket_status st = check_text("pocket_text_classify", text, text_bytes); st != POCKET_OK) return st;
    auto r = classifier->classifier->classify(text_view(text, text_bytes));
    if (!r.ok()) return to_c(r.status());
    classifier->last = std::move(r).value();
    const auto& c = classifier->last;
    classifier->last_ids.assign(c.encoding.ids.begin(), c.encoding.ids.end());
    out->index = c.index;
    out->label = classifier->labels[static_cast<size_t>(c.index)].c_str();
    out->probability = c.probability;
    out->num_classes = c.probabilities.size();
    out->probabilities = c.probabilities.data();
    out->logits = c.logits.data();
    out->num_tokens = classifier->last_ids.size();
    out->num_real_tokens = static_cast<size_t>(c.encoding.length);
    out->token_ids = classifier->last_ids.data();
    out->truncated = c.encoding.truncated;
    out->invalid_utf8 = c.encoding.invalid_utf8;
    return POCKET_OK;
  });
}

}  // extern "C"
