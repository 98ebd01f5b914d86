// Byte-level BPE (GPT-2 / tiktoken / Whisper): the byte <-> unicode alphabet GPT-2 uses to store
// byte tokens as text, decoding ids to UTF-8, and encoding text to ids by rank-ordered merges.
//
// Ranks: with merge rules ("a b", rank order) a pair's rank is its rule's index; without them
// (tiktoken files, where a token's id is its rank) a pair's rank is the id of the merged token.
// Encoding splits text into GPT-2 pre-tokens first ('s 't 're 've 'm 'll 'd, " ?letters",
// " ?digits", " ?other", whitespace); letters are ASCII letters and every non-ASCII code point,
// which matches GPT-2's \p{L} for the scripts whose letters are letters and differs only for
// non-ASCII punctuation and digits (which then join a neighbouring word piece).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/status.h"

namespace pocket::speech {

// GPT-2's bytes_to_unicode(): byte b -> the code point that stands for it in vocabulary text.
char32_t byte_to_unicode(uint8_t b);
// UTF-8 text of one byte's stand-in, and the whole mapping for a byte string.
std::string bytes_to_vocab_text(std::string_view bytes);
// Inverse: vocabulary text -> raw bytes. False when a code point is not in the alphabet.
bool vocab_text_to_bytes(std::string_view text, std::string* bytes);

class ByteBpe {
 public:
  // vocab: token text by id (GPT-2 alphabet). Ids listed in special_ids (e.g. <|endoftext|>) are
  // never produced by encode() and dropped by decode(). merges may be empty (ranks = ids).
  Status init(const std::vector<std::string>& vocab, const std::vector<std::string>& merges,
              const std::vector<int32_t>& special_ids);

  int32_t size() const { return static_cast<int32_t>(bytes_.size()); }
  // Raw bytes of one id ("" for specials or out-of-range ids).
  const std::string& token_bytes(int32_t id) const;
  bool is_special(int32_t id) const;
  // Id of an exact vocabulary text (specials included), or -1.
  int32_t find_text(std::string_view vocab_text) const;

  // Concatenated bytes of the non-special ids, as UTF-8 (invalid sequences become U+FFFD, as
  // tiktoken's decode with errors="replace" does).
  std::string decode(const std::vector<int32_t>& ids) const;
  // Text -> ids. Fails only when a byte has no single-byte token (a broken vocabulary).
  Status encode(std::string_view text, std::vector<int32_t>* ids) const;
  // One pre-token (no splitting).
  Status encode_piece(std::string_view piece, std::vector<int32_t>* ids) const;

 private:
  int64_t pair_rank(const std::string& a, const std::string& b) const;

  std::vector<std::string> bytes_;               // raw bytes by id
  std::vector<uint8_t> special_;                 // 1 for special ids
  std::unordered_map<std::string, int32_t> by_bytes_;  // non-special raw bytes -> id
  std::unordered_map<std::string, int32_t> by_text_;   // vocabulary text -> id
  std::unordered_map<std::string, int64_t> merge_rank_;  // "a\0b" raw bytes -> rank (merges)
  int32_t byte_id_[256];
  bool use_merges_ = false;
};

// GPT-2 pre-tokenization (see the header comment); pieces are views into text.
std::vector<std::string_view> gpt2_pretokenize(std::string_view text);

// Replaces invalid UTF-8 sequences by U+FFFD.
std::string sanitize_utf8(std::string_view bytes);

}  // namespace pocket::speech
