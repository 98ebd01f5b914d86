#include "converter/metadata/whisper_vocab.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_set>

#include "engine/pipelines/speech/bpe.h"

namespace pocket::converter {
namespace {

constexpr int kTimestamps = 1501;  // <|0.00|> .. <|30.00|>
constexpr int kFixedSpecials = 8;  // eot, sot, translate, transcribe, startoflm, startofprev, nospeech, notimestamps

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with '=' padding; false on any other character or a bad length.
bool base64_decode(const std::string& in, std::string* out) {
  out->clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = in[i + k];
      int d = 0;
      if (c == '=') {
        if (i + 4 != in.size() || k < 4 - pad) return false;
      } else {
        d = base64_value(c);
        if (d < 0) return false;
      }
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out->push_back(static_cast<char>((v >> 16) & 0xFF));
    if (i + 4 != in.size() || pad < 2) out->push_back(static_cast<char>((v >> 8) & 0xFF));
    if (i + 4 != in.size() || pad < 1) out->push_back(static_cast<char>(v & 0xFF));
  }
  return true;
}

// tokenizer.py's non_speech_tokens: ids of symbols that mark non-speech annotations.
Status non_speech_tokens(const speech::ByteBpe& bpe, std::set<int32_t>* result) {
  std::vector<std::string> symbols;
  for (const char* s : {"\"", "#", "(", ")", "*", "+", "/", ":", ";", "<", "=", ">", "@", "[", "\\", "]", "^", "_",
                        "`", "{", "|", "}", "~", "\xE3\x80\x8C", "\xE3\x80\x8D", "\xE3\x80\x8E", "\xE3\x80\x8F"})
    symbols.emplace_back(s);  // the last four: 「 」 『 』
  for (const char* s : {"<<", ">>", "<<<", ">>>", "--", "---", "-(", "-[", "('", "(\"", "((", "))", "(((", ")))", "[[",
                        "]]", "{{", "}}", "\xE2\x99\xAA\xE2\x99\xAA", "\xE2\x99\xAA\xE2\x99\xAA\xE2\x99\xAA"})
    symbols.emplace_back(s);  // ... ♪♪ ♪♪♪
  // U+2669..U+266F: ♩ ♪ ♫ ♬ ♭ ♮ ♯ (suppressed by their first token even when split).
  std::vector<std::string> misc;
  for (int c = 0x69; c <= 0x6F; ++c) misc.push_back(std::string("\xE2\x99") + static_cast<char>(0x80 + c - 0x40));
  std::vector<int32_t> ids;
  for (const char* s : {" -", " '"}) {
    ids.clear();
    POCKET_RETURN_IF_ERROR(bpe.encode(s, &ids));
    if (!ids.empty()) result->insert(ids[0]);
  }
  auto add = [&](const std::string& symbol, bool always) -> Status {
    for (const std::string& text : {symbol, " " + symbol}) {
      ids.clear();
      POCKET_RETURN_IF_ERROR(bpe.encode(text, &ids));
      if (!ids.empty() && (ids.size() == 1 || always)) result->insert(ids[0]);
    }
    return Status::Ok();
  };
  for (const std::string& s : symbols) POCKET_RETURN_IF_ERROR(add(s, false));
  for (const std::string& s : misc) POCKET_RETURN_IF_ERROR(add(s, true));
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& whisper_language_codes() {
  static const std::vector<std::string> codes = {
      "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id",
      "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg",
      "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br",
      "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so",
      "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt",
      "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue"};
  return codes;
}

Status parse_whisper_vocab(const std::string& text, int64_t n_vocab, format::TokenizerDesc* out,
                           const std::string& source_name) {
  std::vector<std::string> by_rank;
  std::vector<uint8_t> seen;
  std::unordered_set<std::string> seen_bytes;
  std::istringstream lines(text);
  std::string line, b64, bytes;
  int64_t line_no = 0, count = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::istringstream fields(line);
    std::string rank_text, extra;
    if (!(fields >> b64 >> rank_text) || (fields >> extra))
      return invalid_argument(source_name + " line " + std::to_string(line_no) + ": expected 'base64 rank', got '" + line + "'");
    if (!base64_decode(b64, &bytes) || bytes.empty())
      return invalid_argument(source_name + " line " + std::to_string(line_no) + ": bad base64 '" + b64 + "'");
    if (rank_text.size() > 9 || rank_text.find_first_not_of("0123456789") != std::string::npos)
      return invalid_argument(source_name + " line " + std::to_string(line_no) + ": bad rank '" + rank_text + "'");
    const int64_t rank = std::stoll(rank_text);
    if (rank >= static_cast<int64_t>(by_rank.size())) {
      by_rank.resize(rank + 1);
      seen.resize(rank + 1, 0);
    }
    if (seen[rank]) return invalid_argument(source_name + " line " + std::to_string(line_no) + ": rank " + rank_text + " appears twice");
    if (!seen_bytes.insert(bytes).second)
      return invalid_argument(source_name + " line " + std::to_string(line_no) + ": token '" + b64 + "' appears twice");
    seen[rank] = 1;
    by_rank[rank] = speech::bytes_to_vocab_text(bytes);
    ++count;
  }
  if (count == 0) return invalid_argument(source_name + " has no tokens");
  if (count != static_cast<int64_t>(by_rank.size())) {
    const auto missing = std::find(seen.begin(), seen.end(), 0) - seen.begin();
    return invalid_argument(source_name + ": ranks are not 0.." + std::to_string(count - 1) + " (rank " +
                            std::to_string(missing) + " is missing, largest is " + std::to_string(by_rank.size() - 1) + ")");
  }
  const int64_t n_ranks = count;
  const int64_t spare = n_vocab - n_ranks - kFixedSpecials - kTimestamps;
  if (spare < 0)
    return invalid_argument("whisper vocabulary: n_vocab " + std::to_string(n_vocab) + " is too small for " +
                            std::to_string(n_ranks) + " ranks, " + std::to_string(kFixedSpecials) + " special tokens and " +
                            std::to_string(kTimestamps) + " timestamps (at least " +
                            std::to_string(n_ranks + kFixedSpecials + kTimestamps) + ")");
  const auto& codes = whisper_language_codes();
  const int64_t n_langs = std::min<int64_t>(spare, static_cast<int64_t>(codes.size()));
  const int64_t n_timestamps = n_vocab - n_ranks - kFixedSpecials - n_langs;

  format::TokenizerDesc t;
  t.kind = "bytelevel_bpe";
  t.lowercase = false;
  t.strip_accents = false;
  t.max_length = 448;
  t.vocab = std::move(by_rank);
  t.vocab.reserve(n_vocab);
  std::vector<int32_t> special_ids;
  auto add_special = [&](const std::string& token, const std::string& role) {
    const auto id = static_cast<int32_t>(t.vocab.size());
    t.vocab.push_back(token);
    special_ids.push_back(id);
    if (!role.empty()) t.special_tokens.emplace_back(role, token);
    return id;
  };
  const int32_t eot = add_special("<|endoftext|>", "eot");
  const int32_t sot = add_special("<|startoftranscript|>", "sot");
  for (int64_t i = 0; i < n_langs; ++i) add_special("<|" + codes[i] + "|>", "lang:" + codes[i]);
  const int32_t translate = add_special("<|translate|>", "translate");
  const int32_t transcribe = add_special("<|transcribe|>", "transcribe");
  const int32_t sot_lm = add_special("<|startoflm|>", "sot_lm");
  const int32_t sot_prev = add_special("<|startofprev|>", "sot_prev");
  const int32_t nospeech = add_special("<|nospeech|>", "nospeech");
  add_special("<|notimestamps|>", "notimestamps");
  for (int64_t i = 0; i < n_timestamps; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "<|%.2f|>", static_cast<double>(i) * 0.02);
    add_special(buf, i == 0 ? "timestamp_begin" : "");
  }
  (void)eot;

  speech::ByteBpe bpe;
  POCKET_RETURN_IF_ERROR(bpe.init(t.vocab, {}, special_ids));
  std::set<int32_t> suppress;
  POCKET_RETURN_IF_ERROR(non_speech_tokens(bpe, &suppress));
  for (int32_t id : {transcribe, translate, sot, sot_prev, sot_lm, nospeech}) suppress.insert(id);
  t.suppress_tokens.assign(suppress.begin(), suppress.end());
  *out = std::move(t);
  return Status::Ok();
}

Status read_whisper_vocab(const std::string& path, int64_t n_vocab, format::TokenizerDesc* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("cannot open whisper vocabulary '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return io_error("cannot read whisper vocabulary '" + path + "'");
  return parse_whisper_vocab(ss.str(), n_vocab, out, "'" + path + "'");
}

}  // namespace pocket::converter
