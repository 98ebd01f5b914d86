// libFuzzer target: the WordPiece tokenizer (engine/pipelines/text/wordpiece.*, vocab_file.*).
// Input: one flags byte, then a vocabulary part and a text part separated by the first NUL byte.
// Flag bit 0 chooses how the vocabulary is read: through parse_vocab_txt (the vocab.txt reader,
// which must reject what it cannot take) or as raw lines, the way a .pocket file's metadata can
// carry any strings. The BERT special tokens are added when missing so the search reaches the
// tokenizer; the other bits pick the config. The text is tokenized, encoded with and without
// padding, and the ids mapped back to tokens.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pipelines/text/vocab_file.h"
#include "engine/pipelines/text/wordpiece.h"

using pocket::text::WordPieceConfig;
using pocket::text::WordPieceTokenizer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (1 << 16)) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t nul = rest.find('\0');
  std::string_view vocab_part = rest.substr(0, nul);
  std::string_view text = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);

  std::vector<std::string> vocab;
  if (flags & 1) {
    pocket::Status st = pocket::text::parse_vocab_txt(vocab_part, "fuzz", &vocab);
    if (!st.ok()) {
      if (st.message().empty()) std::abort();
      return 0;
    }
  } else {
    size_t pos = 0;
    while (pos <= vocab_part.size()) {
      size_t nl = vocab_part.find('\n', pos);
      if (nl == std::string_view::npos) nl = vocab_part.size();
      vocab.emplace_back(vocab_part.substr(pos, nl - pos));
      pos = nl + 1;
    }
  }
  WordPieceConfig config;
  config.lowercase = flags & 2;
  config.strip_accents = flags & 4;
  config.split_cjk = flags & 8;
  config.max_length = (flags & 16) ? 2 + (flags >> 5) : 512;
  config.max_chars_per_word = (flags & 128) ? 3 : 100;
  for (const std::string* s : {&config.unk, &config.cls, &config.sep, &config.pad}) {
    bool found = false;
    for (const auto& v : vocab) found |= v == *s;
    if (!found) vocab.push_back(*s);
  }
  auto tok = WordPieceTokenizer::create(std::move(vocab), config);
  if (!tok.ok()) {
    if (tok.status().message().empty()) std::abort();
    return 0;
  }
  const WordPieceTokenizer& t = tok.value();
  int64_t bad = 0;
  std::vector<std::string> words = t.basic_tokenize(text, &bad);
  for (const auto& w : words) {
    std::vector<int32_t> ids;
    t.wordpiece(w, &ids);
    for (int32_t id : ids)
      if (id < 0 || id >= t.vocab_size()) std::abort();
  }
  std::vector<int32_t> ids = t.tokenize(text);
  for (int32_t id : ids)
    if (id < 0 || id >= t.vocab_size()) std::abort();
  const int64_t pad_to = (flags & 16) ? 64 : 0;
  pocket::text::Encoding e = t.encode(text, pad_to);
  if (e.ids.size() != e.attention_mask.size()) std::abort();
  if (static_cast<int64_t>(e.ids.size()) > t.config().max_length) std::abort();
  if (e.length < 2 || e.length > static_cast<int64_t>(e.ids.size())) std::abort();
  if (e.ids.front() != t.cls_id() || e.ids[static_cast<size_t>(e.length - 1)] != t.sep_id()) std::abort();
  for (int32_t id : e.ids) (void)t.token(id);
  (void)t.token(-1);
  (void)t.token(static_cast<int32_t>(t.vocab_size()));
  return 0;
}
