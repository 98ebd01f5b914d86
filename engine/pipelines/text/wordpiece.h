// BERT's WordPiece tokenizer, as the reference Python implementation (google-research/bert
// tokenization.py, Hugging Face BertTokenizer) computes it:
//   basic tokenization: drop NUL, U+FFFD and control characters, map whitespace to " ", put
//     spaces around CJK ideographs, split on whitespace; per word, lower-case (Python
//     str.lower()) and strip accents (NFD, drop Mn marks) when configured, then split off every
//     punctuation character (ASCII symbols and Unicode P*) as its own word;
//   word pieces: greedy longest-match-first over code points, "##" marking continuation pieces;
//     a word with an unmatched rest, or longer than max_chars_per_word code points, is [UNK];
//   encoding: [CLS] pieces [SEP], pieces truncated to max_length - 2, optional [PAD] padding with
//     attention mask 1 for real tokens and 0 for padding.
// Invalid UTF-8 is replaced with U+FFFD (so it disappears like any U+FFFD) and counted.
// Not done (as in the reference, unlike Hugging Face's slow tokenizer): special-token text such
// as "[SEP]" inside the input is tokenized like any other text, and no NFC pass precedes the split.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/model.h"
#include "engine/status.h"

namespace pocket::text {

struct WordPieceConfig {
  bool lowercase = true;
  bool strip_accents = true;
  bool split_cjk = true;
  int64_t max_length = 512;         // longest encoding, [CLS] and [SEP] included (>= 2)
  int64_t max_chars_per_word = 100;
  std::string unk = "[UNK]", cls = "[CLS]", sep = "[SEP]", pad = "[PAD]";
};

struct Encoding {
  std::vector<int32_t> ids;             // [CLS] pieces [SEP], then [PAD] up to the padded length
  std::vector<int32_t> attention_mask;  // 1 for tokens, 0 for padding; same size as ids
  int64_t length = 0;                   // tokens before padding
  int64_t truncated = 0;                // word pieces dropped to fit max_length
  int64_t invalid_utf8 = 0;             // invalid UTF-8 sequences replaced (and then dropped)
};

class WordPieceTokenizer {
 public:
  // vocab: token text by id, as in vocab.txt. Fails on an empty vocabulary, a bad config, or a
  // special token (unk, cls, sep, pad) missing from the vocabulary. A token listed twice keeps
  // its last id, as the reference's dictionary does.
  static Result<WordPieceTokenizer> create(std::vector<std::string> vocab, const WordPieceConfig& config);
  // From the model's metadata tokenizer (kind "wordpiece"; roles unk/cls/sep/pad).
  static Result<WordPieceTokenizer> from_model(const Model& model);
  // A vocab.txt file: one token per line, id = line number.
  static Result<WordPieceTokenizer> from_vocab_file(const std::string& path, const WordPieceConfig& config);

  // Basic tokenization only: the words, UTF-8. invalid_utf8 (optional) receives the count of
  // replaced sequences.
  std::vector<std::string> basic_tokenize(std::string_view text, int64_t* invalid_utf8 = nullptr) const;
  // Word pieces of one basic-tokenized word, appended to ids ([UNK] when it cannot be split).
  void wordpiece(std::string_view word, std::vector<int32_t>* ids) const;
  // Both, without special tokens or truncation.
  std::vector<int32_t> tokenize(std::string_view text, int64_t* invalid_utf8 = nullptr) const;
  // [CLS] pieces [SEP] truncated to max_length (0: the config's; at least 2), padded with [PAD]
  // to pad_to tokens when pad_to is larger than the encoding (pad_to is capped at max_length).
  Encoding encode(std::string_view text, int64_t pad_to = 0, int64_t max_length = 0) const;

  int32_t id(std::string_view token) const;  // -1 when absent
  const std::string& token(int32_t id) const;  // "" when out of range
  int64_t vocab_size() const { return static_cast<int64_t>(vocab_.size()); }
  const WordPieceConfig& config() const { return config_; }
  int32_t unk_id() const { return unk_; }
  int32_t cls_id() const { return cls_; }
  int32_t sep_id() const { return sep_; }
  int32_t pad_id() const { return pad_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, int32_t, Hash, std::equal_to<>>;

  WordPieceTokenizer() = default;
  static int32_t find(const Map& map, std::string_view key);
  void basic_words(std::string_view text, int64_t* invalid_utf8, std::vector<std::u32string>* words) const;
  void pieces(const std::u32string& word, std::vector<int32_t>* ids) const;

  std::vector<std::string> vocab_;
  Map start_;         // every token
  Map continuation_;  // tokens starting with "##", keyed without the prefix
  WordPieceConfig config_;
  int32_t unk_ = -1, cls_ = -1, sep_ = -1, pad_ = -1;
};

}  // namespace pocket::text
