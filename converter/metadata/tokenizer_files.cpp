#include "converter/metadata/tokenizer_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unordered_map>
#include <unordered_set>

#include "converter/metadata/whisper_vocab.h"
#include "engine/pipelines/text/unicode.h"
#include "engine/pipelines/text/vocab_file.h"

namespace pocket::converter {

namespace {

Status read_text_file(const std::string& path, std::string* out) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return io_error("cannot open '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return io_error("'" + path + "' is not a regular file");
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("cannot open '" + path + "': " + std::strerror(errno));
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (f.bad()) return io_error("cannot read '" + path + "'");
  return Status::Ok();
}

std::string lower_ascii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A JSON object of string keys and non-negative integer values: {"token": id, ...}.
class VocabJsonParser {
 public:
  VocabJsonParser(std::string_view text, std::string name) : s_(text), name_(std::move(name)) {}

  Status parse(std::vector<std::pair<std::string, int64_t>>* entries) {
    skip_ws();
    if (!eat('{')) return error("expected a JSON object {\"token\": id, ...}");
    skip_ws();
    if (eat('}')) return tail();
    while (true) {
      std::string key;
      POCKET_RETURN_IF_ERROR(string(&key));
      skip_ws();
      if (!eat(':')) return error("expected ':' after a token");
      skip_ws();
      int64_t id = 0;
      POCKET_RETURN_IF_ERROR(integer(&id));
      entries->emplace_back(std::move(key), id);
      skip_ws();
      if (eat(',')) {
        skip_ws();
        continue;
      }
      if (eat('}')) return tail();
      return error("expected ',' or '}'");
    }
  }

 private:
  Status error(const std::string& what) const {
    return invalid_argument("vocabulary '" + name_ + "' byte " + std::to_string(i_) + ": " + what);
  }
  Status tail() {
    skip_ws();
    return i_ == s_.size() ? Status::Ok() : error("unexpected text after the JSON object");
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  Status hex4(uint32_t* v) {
    if (i_ + 4 > s_.size()) return error("truncated \\u escape");
    *v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) return error("bad \\u escape");
      *v = (*v << 4) | static_cast<uint32_t>(d);
    }
    return Status::Ok();
  }
  Status string(std::string* out) {
    if (!eat('"')) return error("expected a string");
    while (true) {
      if (i_ >= s_.size()) return error("unterminated string");
      const char c = s_[i_++];
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20) return error("control character inside a string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return error("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          POCKET_RETURN_IF_ERROR(hex4(&cp));
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo = 0;
            if (!(eat('\\') && eat('u'))) return error("unpaired surrogate in \\u escape");
            POCKET_RETURN_IF_ERROR(hex4(&lo));
            if (lo < 0xDC00 || lo > 0xDFFF) return error("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return error("unpaired surrogate in \\u escape");
          }
          text::unicode::append_utf8(cp, out);
          break;
        }
        default: return error(std::string("bad escape '\\") + e + "'");
      }
    }
    return Status::Ok();
  }
  Status integer(int64_t* out) {
    const size_t start = i_;
    int64_t v = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      v = v * 10 + (s_[i_++] - '0');
      if (v > INT32_MAX) return error("token id too large");
    }
    if (i_ == start) return error("expected a non-negative integer token id");
    if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) return error("token ids must be integers");
    *out = v;
    return Status::Ok();
  }

  std::string_view s_;
  std::string name_;
  size_t i_ = 0;
};

// Rows of the constant table input 0 of a Gather, or 0.
int64_t gather_table_rows(const ir::Graph& g, const ir::Node& n) {
  if (n.op != "Gather" || n.inputs.size() < 2) return 0;
  const ir::Value* table = g.find(n.inputs[0]);
  if (!table || !table->is_constant() || table->shape.size() != 2 || n.i("axis", 0) != 0) return 0;
  return table->shape[0];
}

}  // namespace

Result<std::string> tokenizer_kind_for_file(const std::string& path) {
  const std::string name = lower_ascii(std::filesystem::path(path).filename().string());
  if (ends_with(name, ".txt")) return std::string("wordpiece");
  if (ends_with(name, ".json")) return std::string("bytelevel_bpe");
  if (ends_with(name, ".tiktoken")) return std::string("whisper");
  return invalid_argument("cannot tell the tokenizer kind of '" + path +
                          "' (vocab.txt: wordpiece, vocab.json: bytelevel_bpe, *.tiktoken: whisper); use --tokenizer-kind");
}

Status read_wordpiece_vocab(const std::string& path, bool lowercase, format::TokenizerDesc* out) {
  std::vector<std::string> vocab;
  POCKET_RETURN_IF_ERROR(text::read_vocab_txt(path, &vocab));
  std::unordered_set<std::string_view> have(vocab.begin(), vocab.end());
  const std::pair<const char*, const char*> roles[] = {{"unk", "[UNK]"}, {"cls", "[CLS]"}, {"sep", "[SEP]"}, {"pad", "[PAD]"}};
  std::string missing;
  for (const auto& [role, tok] : roles)
    if (!have.count(tok)) missing += std::string(missing.empty() ? "" : ", ") + tok;
  if (!missing.empty())
    return invalid_argument("vocabulary '" + path + "' lacks the BERT special token(s) " + missing +
                            " (a WordPiece vocab.txt has [PAD], [UNK], [CLS], [SEP])");
  out->kind = "wordpiece";
  out->lowercase = lowercase;
  out->strip_accents = lowercase;
  out->merges.clear();
  out->suppress_tokens.clear();
  out->special_tokens.clear();
  for (const auto& [role, tok] : roles) out->special_tokens.emplace_back(role, tok);
  if (have.count("[MASK]")) out->special_tokens.emplace_back("mask", "[MASK]");
  out->vocab = std::move(vocab);
  return Status::Ok();
}

Status read_bytelevel_bpe(const std::string& vocab_json, const std::string& merges_path, format::TokenizerDesc* out) {
  std::string text, mtext;
  POCKET_RETURN_IF_ERROR(read_text_file(vocab_json, &text));
  if (!merges_path.empty()) POCKET_RETURN_IF_ERROR(read_text_file(merges_path, &mtext));
  const std::string_view merges_view(mtext);
  return parse_bytelevel_bpe(text, merges_path.empty() ? nullptr : &merges_view, vocab_json, merges_path, out);
}

Status parse_bytelevel_bpe(std::string_view text, const std::string_view* merges_text, const std::string& vocab_json,
                           const std::string& merges_path, format::TokenizerDesc* out) {
  std::vector<std::pair<std::string, int64_t>> entries;
  POCKET_RETURN_IF_ERROR(VocabJsonParser(text, vocab_json).parse(&entries));
  if (entries.empty()) return invalid_argument("vocabulary '" + vocab_json + "' has no tokens");
  std::vector<std::string> vocab(entries.size());
  std::vector<bool> filled(entries.size(), false);
  std::unordered_map<std::string_view, int64_t> seen;
  for (const auto& [tok, id] : entries) {
    if (id >= static_cast<int64_t>(entries.size()))
      return invalid_argument("vocabulary '" + vocab_json + "': token id " + std::to_string(id) + " of '" + tok +
                              "' is outside 0.." + std::to_string(entries.size() - 1) + " (ids must be 0..N-1)");
    if (filled[static_cast<size_t>(id)])
      return invalid_argument("vocabulary '" + vocab_json + "': id " + std::to_string(id) + " is given to both '" +
                              vocab[static_cast<size_t>(id)] + "' and '" + tok + "'");
    if (!seen.emplace(tok, id).second)
      return invalid_argument("vocabulary '" + vocab_json + "': token '" + tok + "' is listed twice");
    vocab[static_cast<size_t>(id)] = tok;
    filled[static_cast<size_t>(id)] = true;
  }
  std::vector<std::string> merges;
  if (merges_text) {
    const std::string_view mtext = *merges_text;
    size_t pos = 0, line_no = 0;
    while (pos < mtext.size()) {
      size_t nl = mtext.find('\n', pos);
      if (nl == std::string::npos) nl = mtext.size();
      std::string line(mtext.substr(pos, nl - pos));
      pos = nl + 1;
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
      if (line.empty()) continue;
      const size_t sp = line.find(' ');
      if (sp == 0 || sp == std::string::npos || sp + 1 == line.size() || line.find(' ', sp + 1) != std::string::npos)
        return invalid_argument("merges '" + merges_path + "' line " + std::to_string(line_no) +
                                ": expected two tokens separated by one space, got '" + line + "'");
      merges.push_back(std::move(line));
    }
    if (merges.empty()) return invalid_argument("merges '" + merges_path + "' has no merge rules");
  }
  out->kind = "bytelevel_bpe";
  out->lowercase = false;
  out->strip_accents = false;
  out->special_tokens.clear();
  out->suppress_tokens.clear();
  if (seen.count("<|endoftext|>")) out->special_tokens.emplace_back("eot", "<|endoftext|>");
  out->vocab = std::move(vocab);
  out->merges = std::move(merges);
  return Status::Ok();
}

int64_t model_max_positions(const ir::Graph& g) {
  for (const ir::Node& n : g.nodes) {
    const int64_t rows = gather_table_rows(g, n);
    if (rows <= 0) continue;
    const std::string name = lower_ascii(n.inputs[0]);
    if (name.find("position") != std::string::npos || name.find("wpe") != std::string::npos) return rows;
  }
  // Constant tables added to activations by slicing (Whisper's decoder: positional_embedding[offset:...]).
  for (const auto& [name, v] : g.values) {
    if (!v.is_constant() || v.shape.size() != 2) continue;
    const std::string l = lower_ascii(name);
    if (l.find("position") != std::string::npos && l.find("embed") != std::string::npos) return v.shape[0];
  }
  return 0;
}

int64_t model_embedding_rows(const ir::Graph& g) {
  for (const ir::Node& n : g.nodes) {
    if (n.inputs.size() < 2) continue;
    const bool from_input = std::find(g.inputs.begin(), g.inputs.end(), n.inputs[1]) != g.inputs.end();
    if (!from_input) continue;
    if (const int64_t rows = gather_table_rows(g, n)) return rows;
  }
  return 0;
}

int64_t model_logits_size(const ir::Graph& g) {
  for (const std::string& o : g.outputs) {
    if (lower_ascii(o) != "logits") continue;
    const ir::Value* v = g.find(o);
    if (v && !v->shape.empty() && v->shape.back() > 0) return v->shape.back();
  }
  return 0;
}

Status load_tokenizer(const TokenizerFileOptions& o, const ir::Graph& graph, format::TokenizerDesc* out,
                      std::vector<std::string>* notes) {
  std::string kind = o.kind;
  if (kind.empty()) {
    auto k = tokenizer_kind_for_file(o.path);
    if (!k.ok()) return k.status();
    kind = k.value();
  }
  if (kind != "wordpiece" && kind != "bytelevel_bpe" && kind != "whisper")
    return invalid_argument("tokenizer kind '" + kind + "' is not wordpiece, bytelevel_bpe or whisper");
  if (!o.merges_path.empty() && kind != "bytelevel_bpe")
    return invalid_argument("merges are only used by the bytelevel_bpe tokenizer, not " + kind);
  if (!o.lowercase && kind != "wordpiece")
    return invalid_argument("lower-casing is a wordpiece option; the " + kind + " tokenizer never lower-cases");

  const int64_t rows = model_embedding_rows(graph);
  std::string what;
  if (kind == "wordpiece") {
    POCKET_RETURN_IF_ERROR(read_wordpiece_vocab(o.path, o.lowercase, out));
    what = "wordpiece, " + std::to_string(out->vocab.size()) + " tokens, " + (o.lowercase ? "lower-cased, accents stripped" : "cased");
  } else if (kind == "bytelevel_bpe") {
    POCKET_RETURN_IF_ERROR(read_bytelevel_bpe(o.path, o.merges_path, out));
    what = "bytelevel_bpe, " + std::to_string(out->vocab.size()) + " tokens, " + std::to_string(out->merges.size()) + " merges";
  } else {
    const int64_t n_vocab = model_logits_size(graph) > 0 ? model_logits_size(graph) : rows;
    if (n_vocab <= 0)
      return invalid_argument("cannot tell Whisper's vocabulary size from this model (no 'logits' output, no token "
                              "embedding read by a Gather on an input): embed the tokenizer in the decoder");
    POCKET_RETURN_IF_ERROR(read_whisper_vocab(o.path, n_vocab, out));
    what = "whisper (bytelevel_bpe), " + std::to_string(out->vocab.size()) + " tokens";
  }
  if (rows > 0 && static_cast<int64_t>(out->vocab.size()) > rows)
    return invalid_argument("tokenizer '" + o.path + "' has " + std::to_string(out->vocab.size()) +
                            " tokens but the model's embedding table has " + std::to_string(rows) +
                            " rows: ids past the table would be out of range (wrong vocabulary for this model?)");
  if (o.max_length > 0) {
    if (o.max_length < 2 || o.max_length > INT32_MAX) return invalid_argument("max length " + std::to_string(o.max_length) + " is out of range");
    out->max_length = static_cast<int32_t>(o.max_length);
    what += ", max_length " + std::to_string(o.max_length);
  } else if (kind == "whisper") {
    what += ", max_length " + std::to_string(out->max_length);
  } else if (const int64_t pos = model_max_positions(graph); pos >= 2 && pos <= INT32_MAX) {
    out->max_length = static_cast<int32_t>(pos);
    what += ", max_length " + std::to_string(pos) + " (the model's position count)";
  } else {
    out->max_length = 512;
    what += ", max_length 512 (default; the model's position count is not visible)";
  }
  if (notes) notes->push_back("tokenizer: " + what);
  return Status::Ok();
}

Status parse_audio_frontend(const std::string& spec, format::AudioDesc* out) {
  const size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  if (kind != "whisper") return invalid_argument("audio front end '" + spec + "': expected whisper or whisper:N_MELS");
  format::AudioDesc a;
  a.kind = "whisper_log_mel";
  if (colon != std::string::npos) {
    const std::string n = spec.substr(colon + 1);
    if (n != "80" && n != "128") return invalid_argument("audio front end '" + spec + "': whisper uses 80 or 128 mel bins");
    a.n_mels = std::stoi(n);
  }
  *out = a;
  return Status::Ok();
}

}  // namespace pocket::converter
