#include "engine/pipelines/speech/bpe.h"

#include <limits>

namespace pocket::speech {
namespace {

bool gpt2_printable(int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255); }

struct ByteAlphabet {
  char32_t to_cp[256];
  std::unordered_map<char32_t, uint8_t> from_cp;
  ByteAlphabet() {
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      to_cp[b] = gpt2_printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
      from_cp[to_cp[b]] = static_cast<uint8_t>(b);
    }
  }
};

const ByteAlphabet& alphabet() {
  static const ByteAlphabet a;
  return a;
}

void append_utf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the valid UTF-8 sequence at s[i] and its code point; 0 when invalid.
size_t utf8_next(std::string_view s, size_t i, char32_t* cp) {
  const auto c = static_cast<uint8_t>(s[i]);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t n = 0;
  char32_t v = 0, min = 0;
  if ((c & 0xE0) == 0xC0) n = 2, v = c & 0x1F, min = 0x80;
  else if ((c & 0xF0) == 0xE0) n = 3, v = c & 0x0F, min = 0x800;
  else if ((c & 0xF8) == 0xF0) n = 4, v = c & 0x07, min = 0x10000;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto d = static_cast<uint8_t>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    v = (v << 6) | (d & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return n;
}

bool is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_letter(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; }
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
bool is_other(uint8_t c) { return !is_space(c) && !is_letter(c) && !is_digit(c); }

const std::string kEmpty;

}  // namespace

char32_t byte_to_unicode(uint8_t b) { return alphabet().to_cp[b]; }

std::string bytes_to_vocab_text(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_utf8(alphabet().to_cp[static_cast<uint8_t>(c)], &out);
  return out;
}

bool vocab_text_to_bytes(std::string_view text, std::string* bytes) {
  bytes->clear();
  const auto& from = alphabet().from_cp;
  for (size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const size_t n = utf8_next(text, i, &cp);
    if (n == 0) return false;
    auto it = from.find(cp);
    if (it == from.end()) return false;
    bytes->push_back(static_cast<char>(it->second));
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    char32_t cp = 0;
    const size_t n = utf8_next(bytes, i, &cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::vector<std::string_view> gpt2_pretokenize(std::string_view text) {
  std::vector<std::string_view> out;
  const size_t n = text.size();
  auto at = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  auto run = [&](size_t i, bool (*pred)(uint8_t)) {
    while (i < n && pred(at(i))) ++i;
    return i;
  };
  size_t i = 0;
  while (i < n) {
    size_t end = i;
    if (at(i) == '\'') {
      for (std::string_view c : {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"})
        if (text.substr(i, c.size()) == c) {
          end = i + c.size();
          break;
        }
    }
    if (end == i) {
      const size_t j = (at(i) == ' ' && i + 1 < n && !is_space(at(i + 1))) ? i + 1 : i;
      if (j < n && is_letter(at(j))) end = run(j, is_letter);
      else if (j < n && is_digit(at(j))) end = run(j, is_digit);
      else if (j < n && is_other(at(j))) end = run(j, is_other);
    }
    if (end == i) {  // whitespace: a run, leaving its last char to a following word
      const size_t k = run(i, is_space);
      end = (k < n && k - i > 1) ? k - 1 : k;
    }
    out.push_back(text.substr(i, end - i));
    i = end;
  }
  return out;
}

Status ByteBpe::init(const std::vector<std::string>& vocab, const std::vector<std::string>& merges,
                     const std::vector<int32_t>& special_ids) {
  bytes_.assign(vocab.size(), std::string());
  special_.assign(vocab.size(), 0);
  by_bytes_.clear();
  by_text_.clear();
  merge_rank_.clear();
  for (int32_t id : special_ids) {
    if (id < 0 || id >= static_cast<int32_t>(vocab.size()))
      return invalid_argument("bpe: special token id " + std::to_string(id) + " is outside the vocabulary of " +
                              std::to_string(vocab.size()));
    special_[id] = 1;
  }
  for (size_t id = 0; id < vocab.size(); ++id) {
    by_text_.emplace(vocab[id], static_cast<int32_t>(id));
    if (special_[id]) continue;
    if (!vocab_text_to_bytes(vocab[id], &bytes_[id]))
      return invalid_argument("bpe: vocabulary entry " + std::to_string(id) + " '" + vocab[id] +
                              "' is not in the byte-level alphabet");
    by_bytes_.emplace(bytes_[id], static_cast<int32_t>(id));  // first id wins for duplicates
  }
  for (int b = 0; b < 256; ++b) {
    auto it = by_bytes_.find(std::string(1, static_cast<char>(b)));
    byte_id_[b] = it == by_bytes_.end() ? -1 : it->second;
  }
  use_merges_ = !merges.empty();
  for (size_t r = 0; r < merges.size(); ++r) {
    const size_t sp = merges[r].find(' ');
    std::string a, b;
    if (sp == std::string::npos || !vocab_text_to_bytes(std::string_view(merges[r]).substr(0, sp), &a) ||
        !vocab_text_to_bytes(std::string_view(merges[r]).substr(sp + 1), &b))
      return invalid_argument("bpe: merge rule " + std::to_string(r) + " '" + merges[r] + "' is not 'a b' in the byte-level alphabet");
    merge_rank_.emplace(a + '\0' + b, static_cast<int64_t>(r));
  }
  return Status::Ok();
}

const std::string& ByteBpe::token_bytes(int32_t id) const {
  if (id < 0 || id >= size() || special_[id]) return kEmpty;
  return bytes_[id];
}

bool ByteBpe::is_special(int32_t id) const { return id >= 0 && id < size() && special_[id]; }

int32_t ByteBpe::find_text(std::string_view vocab_text) const {
  auto it = by_text_.find(std::string(vocab_text));
  return it == by_text_.end() ? -1 : it->second;
}

std::string ByteBpe::decode(const std::vector<int32_t>& ids) const {
  std::string raw;
  for (int32_t id : ids) raw += token_bytes(id);
  return sanitize_utf8(raw);
}

int64_t ByteBpe::pair_rank(const std::string& a, const std::string& b) const {
  if (use_merges_) {
    auto it = merge_rank_.find(a + '\0' + b);
    return it == merge_rank_.end() ? -1 : it->second;
  }
  auto it = by_bytes_.find(a + b);
  return it == by_bytes_.end() ? -1 : it->second;
}

Status ByteBpe::encode_piece(std::string_view piece, std::vector<int32_t>* ids) const {
  if (piece.empty()) return Status::Ok();
  if (!use_merges_) {
    auto whole = by_bytes_.find(std::string(piece));
    if (whole != by_bytes_.end()) {
      ids->push_back(whole->second);
      return Status::Ok();
    }
  }
  std::vector<std::string> parts;
  parts.reserve(piece.size());
  for (char c : piece) parts.emplace_back(1, c);
  while (parts.size() > 1) {
    int64_t best = std::numeric_limits<int64_t>::max();
    size_t at = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      const int64_t r = pair_rank(parts[i], parts[i + 1]);
      if (r >= 0 && r < best) best = r, at = i;
    }
    if (best == std::numeric_limits<int64_t>::max()) break;
    parts[at] += parts[at + 1];
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(at) + 1);
  }
  for (const std::string& p : parts) {
    auto it = by_bytes_.find(p);
    if (it == by_bytes_.end()) {
      if (p.size() == 1)
        return invalid_argument("bpe: byte " + std::to_string(static_cast<uint8_t>(p[0])) +
                                " has no token in the vocabulary");
      // A merged pair whose result is missing from the vocabulary (inconsistent merges): emit bytes.
      for (char c : p) {
        const int32_t b = byte_id_[static_cast<uint8_t>(c)];
        if (b < 0) return invalid_argument("bpe: a byte has no token in the vocabulary");
        ids->push_back(b);
      }
      continue;
    }
    ids->push_back(it->second);
  }
  return Status::Ok();
}

Status ByteBpe::encode(std::string_view text, std::vector<int32_t>* ids) const {
  for (std::string_view piece : gpt2_pretokenize(text)) POCKET_RETURN_IF_ERROR(encode_piece(piece, ids));
  return Status::Ok();
}

}  // namespace pocket::speech
