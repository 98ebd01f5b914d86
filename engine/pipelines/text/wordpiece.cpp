#include "engine/pipelines/text/wordpiece.h"

#include <algorithm>
#include <utility>

#include "engine/pipelines/text/unicode.h"
#include "engine/pipelines/text/vocab_file.h"

namespace pocket::text {

namespace u = unicode;

int32_t WordPieceTokenizer::find(const Map& map, std::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? -1 : it->second;
}

Result<WordPieceTokenizer> WordPieceTokenizer::create(std::vector<std::string> vocab, const WordPieceConfig& config) {
  if (vocab.empty()) return invalid_argument("wordpiece tokenizer: the vocabulary is empty");
  if (vocab.size() > static_cast<size_t>(INT32_MAX))
    return invalid_argument("wordpiece tokenizer: the vocabulary has more than 2^31 - 1 tokens");
  if (config.max_length < 2)
    return invalid_argument("wordpiece tokenizer: max_length " + std::to_string(config.max_length) +
                            " leaves no room for [CLS] and [SEP] (need at least 2)");
  if (config.max_chars_per_word < 1)
    return invalid_argument("wordpiece tokenizer: max_chars_per_word must be positive");
  WordPieceTokenizer t;
  t.config_ = config;
  t.vocab_ = std::move(vocab);
  t.start_.reserve(t.vocab_.size());
  for (size_t i = 0; i < t.vocab_.size(); ++i) {
    const std::string& tok = t.vocab_[i];
    const auto id = static_cast<int32_t>(i);
    t.start_.insert_or_assign(tok, id);
    if (tok.size() > 2 && tok.compare(0, 2, "##") == 0) t.continuation_.insert_or_assign(tok.substr(2), id);
  }
  struct Special {
    const char* role;
    const std::string* text;
    int32_t* id;
  } specials[] = {{"unk", &t.config_.unk, &t.unk_}, {"cls", &t.config_.cls, &t.cls_},
                  {"sep", &t.config_.sep, &t.sep_}, {"pad", &t.config_.pad, &t.pad_}};
  for (const Special& s : specials) {
    *s.id = find(t.start_, *s.text);
    if (*s.id < 0)
      return invalid_argument(std::string("wordpiece tokenizer: the ") + s.role + " token '" + *s.text +
                              "' is not in the vocabulary of " + std::to_string(t.vocab_.size()) + " tokens");
  }
  return t;
}

Result<WordPieceTokenizer> WordPieceTokenizer::from_model(const Model& model) {
  const fb::Metadata* meta = model.metadata();
  const fb::Tokenizer* tok = meta ? meta->tokenizer() : nullptr;
  if (!tok)
    return invalid_argument("the model has no tokenizer metadata (convert it with pocket-convert --tokenizer vocab.txt)");
  const std::string kind = tok->kind() ? tok->kind()->str() : "";
  if (kind != "wordpiece")
    return invalid_argument("the model's tokenizer is '" + kind + "', not a WordPiece (BERT) tokenizer");
  WordPieceConfig config;
  config.lowercase = tok->lowercase();
  config.strip_accents = tok->strip_accents();
  config.max_length = tok->max_length();
  if (tok->special_tokens()) {
    for (const fb::KeyValue* kv : *tok->special_tokens()) {
      if (!kv->key() || !kv->value()) continue;
      const std::string role = kv->key()->str();
      if (role == "unk") config.unk = kv->value()->str();
      else if (role == "cls") config.cls = kv->value()->str();
      else if (role == "sep") config.sep = kv->value()->str();
      else if (role == "pad") config.pad = kv->value()->str();
    }
  }
  std::vector<std::string> vocab;
  vocab.reserve(tok->vocab()->size());
  for (const flatbuffers::String* s : *tok->vocab()) vocab.push_back(s->str());
  auto r = create(std::move(vocab), config);
  if (!r.ok()) return invalid_model("model metadata: " + r.status().message());
  return r;
}

Result<WordPieceTokenizer> WordPieceTokenizer::from_vocab_file(const std::string& path, const WordPieceConfig& config) {
  std::vector<std::string> vocab;
  POCKET_RETURN_IF_ERROR(read_vocab_txt(path, &vocab));
  return create(std::move(vocab), config);
}

void WordPieceTokenizer::basic_words(std::string_view text, int64_t* invalid_utf8,
                                     std::vector<std::u32string>* words) const {
  std::u32string cps;
  const size_t bad = u::decode_utf8(text, &cps);
  if (invalid_utf8) *invalid_utf8 = static_cast<int64_t>(bad);

  // Clean-up and CJK spacing.
  std::u32string clean;
  clean.reserve(cps.size());
  for (char32_t c : cps) {
    const uint8_t f = u::flags(c);
    if (c == 0 || c == u::kReplacement || (f & u::kControl)) continue;
    if (f & u::kWhitespace) {
      clean.push_back(U' ');
    } else if (config_.split_cjk && (f & u::kCjk)) {
      clean.push_back(U' ');
      clean.push_back(c);
      clean.push_back(U' ');
    } else {
      clean.push_back(c);
    }
  }

  std::u32string lowered, decomposed, piece;
  auto emit = [&](std::u32string_view w) {
    // Split on str.isspace() once more, as the reference's final whitespace_tokenize does.
    size_t i = 0;
    while (i < w.size()) {
      while (i < w.size() && u::has(w[i], u::kSpace)) ++i;
      size_t j = i;
      while (j < w.size() && !u::has(w[j], u::kSpace)) ++j;
      if (j > i) words->emplace_back(w.substr(i, j - i));
      i = j;
    }
  };
  size_t i = 0;
  const std::u32string_view all(clean);
  while (i < all.size()) {
    while (i < all.size() && u::has(all[i], u::kSpace)) ++i;
    size_t j = i;
    while (j < all.size() && !u::has(all[j], u::kSpace)) ++j;
    if (j == i) break;
    std::u32string_view token = all.substr(i, j - i);
    i = j;
    if (config_.lowercase) {
      u::to_lower(token, &lowered);
      token = lowered;
    }
    if (config_.strip_accents) {
      u::to_nfd(token, &decomposed);
      decomposed.erase(std::remove_if(decomposed.begin(), decomposed.end(), [](char32_t c) { return u::has(c, u::kMark); }),
                       decomposed.end());
      token = decomposed;
    }
    piece.clear();
    for (char32_t c : token) {
      if (u::has(c, u::kPunctuation)) {
        emit(piece);
        piece.clear();
        emit(std::u32string_view(&c, 1));
      } else {
        piece.push_back(c);
      }
    }
    emit(piece);
  }
}

std::vector<std::string> WordPieceTokenizer::basic_tokenize(std::string_view text, int64_t* invalid_utf8) const {
  std::vector<std::u32string> words;
  basic_words(text, invalid_utf8, &words);
  std::vector<std::string> out;
  out.reserve(words.size());
  for (const auto& w : words) out.push_back(u::encode_utf8(w));
  return out;
}

void WordPieceTokenizer::pieces(const std::u32string& word, std::vector<int32_t>* ids) const {
  const size_t n = word.size();
  if (n == 0) return;
  if (static_cast<int64_t>(n) > config_.max_chars_per_word) {
    ids->push_back(unk_);
    return;
  }
  std::string utf8;
  std::vector<size_t> off(n + 1);
  for (size_t k = 0; k < n; ++k) {
    off[k] = utf8.size();
    u::append_utf8(word[k], &utf8);
  }
  off[n] = utf8.size();
  const size_t first = ids->size();
  size_t start = 0;
  while (start < n) {
    int32_t found = -1;
    size_t end = n;
    for (; end > start; --end) {
      const std::string_view sub(utf8.data() + off[start], off[end] - off[start]);
      found = find(start == 0 ? start_ : continuation_, sub);
      if (found >= 0) break;
    }
    if (found < 0) {
      ids->resize(first);
      ids->push_back(unk_);
      return;
    }
    ids->push_back(found);
    start = end;
  }
}

void WordPieceTokenizer::wordpiece(std::string_view word, std::vector<int32_t>* ids) const {
  std::u32string cps;
  u::decode_utf8(word, &cps);
  pieces(cps, ids);
}

std::vector<int32_t> WordPieceTokenizer::tokenize(std::string_view text, int64_t* invalid_utf8) const {
  std::vector<std::u32string> words;
  basic_words(text, invalid_utf8, &words);
  std::vector<int32_t> ids;
  ids.reserve(words.size() + words.size() / 2);
  for (const auto& w : words) pieces(w, &ids);
  return ids;
}

Encoding WordPieceTokenizer::encode(std::string_view text, int64_t pad_to, int64_t max_length) const {
  if (max_length <= 0) max_length = config_.max_length;
  max_length = std::max<int64_t>(max_length, 2);
  Encoding e;
  std::vector<int32_t> body = tokenize(text, &e.invalid_utf8);
  const int64_t keep = std::min<int64_t>(static_cast<int64_t>(body.size()), max_length - 2);
  e.truncated = static_cast<int64_t>(body.size()) - keep;
  e.ids.reserve(static_cast<size_t>(std::max(keep + 2, std::min(pad_to, max_length))));
  e.ids.push_back(cls_);
  e.ids.insert(e.ids.end(), body.begin(), body.begin() + keep);
  e.ids.push_back(sep_);
  e.length = static_cast<int64_t>(e.ids.size());
  e.attention_mask.assign(e.ids.size(), 1);
  const int64_t padded = std::min(pad_to, max_length);
  if (padded > e.length) {
    e.ids.resize(static_cast<size_t>(padded), pad_);
    e.attention_mask.resize(static_cast<size_t>(padded), 0);
  }
  return e;
}

int32_t WordPieceTokenizer::id(std::string_view token) const { return find(start_, token); }

const std::string& WordPieceTokenizer::token(int32_t id) const {
  static const std::string kEmpty;
  return id >= 0 && static_cast<size_t>(id) < vocab_.size() ? vocab_[static_cast<size_t>(id)] : kEmpty;
}

}  // namespace pocket::text
