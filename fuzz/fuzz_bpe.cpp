// libFuzzer target: byte-level BPE (engine/pipelines/speech/bpe.*) and the converter's tokenizer
// file readers (converter/metadata/: vocab.json + merges.txt, openai-whisper *.tiktoken).
// Input: one mode byte, then parts separated by NUL bytes.
//   mode % 3 == 0: vocab.json \0 merges.txt \0 text      (parse_bytelevel_bpe, then ByteBpe)
//   mode % 3 == 1: tiktoken \0 text                      (parse_whisper_vocab, then ByteBpe as
//                                                         the Whisper pipeline builds it)
//   mode % 3 == 2: vocab lines \0 merge lines \0 text    (ByteBpe on raw strings, as a .pocket
//                                                         file's metadata can carry anything)
// The text is pre-tokenized, encoded and decoded; decode(encode(text)) must give the text back
// (invalid UTF-8 replaced), and decoding arbitrary ids must not fail.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "converter/metadata/tokenizer_files.h"
#include "converter/metadata/whisper_vocab.h"
#include "engine/pipelines/speech/bpe.h"

namespace {

std::vector<std::string_view> split(std::string_view s, char sep, size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t p = s.find(sep);
    if (p == std::string_view::npos) break;
    parts.push_back(s.substr(0, p));
    s.remove_prefix(p + 1);
  }
  parts.push_back(s);
  return parts;
}

std::vector<std::string> lines(std::string_view s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  for (auto l : split(s, '\n', SIZE_MAX)) out.emplace_back(l);
  return out;
}

void check(pocket::Status st) {
  if (!st.ok() && st.message().empty()) std::abort();
}

void exercise(const pocket::speech::ByteBpe& bpe, std::string_view text) {
  for (std::string_view piece : pocket::speech::gpt2_pretokenize(text))
    if (piece.empty() || piece.data() < text.data() || piece.data() + piece.size() > text.data() + text.size())
      std::abort();
  std::vector<int32_t> ids;
  pocket::Status st = bpe.encode(text, &ids);
  check(st);
  if (st.ok()) {
    for (int32_t id : ids)
      if (id < 0 || id >= bpe.size() || bpe.is_special(id)) std::abort();
    if (bpe.decode(ids) != pocket::speech::sanitize_utf8(text)) std::abort();
  }
  // Arbitrary ids (out of range, negative, specials) decode without failing.
  std::vector<int32_t> any;
  for (size_t i = 0; i + 4 <= text.size() && any.size() < 64; i += 4) {
    int32_t v = 0;
    for (int k = 0; k < 4; ++k) v = static_cast<int32_t>(static_cast<uint32_t>(v) << 8 | static_cast<uint8_t>(text[i + k]));
    any.push_back(v % (bpe.size() + 3) - 1);
  }
  (void)bpe.decode(any);
  for (int32_t id : any) (void)bpe.token_bytes(id);
  std::string bytes;
  (void)pocket::speech::vocab_text_to_bytes(text, &bytes);
  (void)bpe.find_text(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (1 << 16)) return 0;
  const uint8_t mode = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  pocket::format::TokenizerDesc desc;
  pocket::speech::ByteBpe bpe;
  std::string_view text;
  if (mode % 3 == 0) {
    auto parts = split(rest, '\0', 3);
    std::string_view merges = parts.size() > 1 ? parts[1] : std::string_view();
    text = parts.size() > 2 ? parts[2] : std::string_view();
    pocket::Status st = pocket::converter::parse_bytelevel_bpe(parts[0], parts.size() > 1 ? &merges : nullptr,
                                                                "vocab.json", "merges.txt", &desc);
    check(st);
    if (!st.ok()) return 0;
    std::vector<int32_t> specials;
    for (const auto& [role, tok] : desc.special_tokens)
      for (size_t i = 0; i < desc.vocab.size(); ++i)
        if (desc.vocab[i] == tok) specials.push_back(static_cast<int32_t>(i));
    st = bpe.init(desc.vocab, desc.merges, specials);
    check(st);
    if (!st.ok()) return 0;
  } else if (mode % 3 == 1) {
    auto parts = split(rest, '\0', 2);
    text = parts.size() > 1 ? parts[1] : std::string_view();
    int64_t ranks = 0;
    for (char c : parts[0]) ranks += c == '\n';
    // Ranks + 8 specials + 1501 timestamps + 0..100 languages (and values just outside).
    const int64_t n_vocab = ranks + 1 + 8 + 1501 + (mode / 3) * 104 / 85 - 3;
    pocket::Status st = pocket::converter::parse_whisper_vocab(std::string(parts[0]), n_vocab, &desc);
    check(st);
    if (!st.ok()) return 0;
    if (static_cast<int64_t>(desc.vocab.size()) != n_vocab) std::abort();
    int32_t eot = -1;
    for (const auto& [role, tok] : desc.special_tokens)
      if (role == "eot")
        for (size_t i = 0; i < desc.vocab.size(); ++i)
          if (desc.vocab[i] == tok) eot = static_cast<int32_t>(i);
    if (eot < 0) std::abort();
    std::vector<int32_t> specials;
    for (int32_t i = eot; i < static_cast<int32_t>(desc.vocab.size()); ++i) specials.push_back(i);
    st = bpe.init(desc.vocab, {}, specials);
    check(st);
    if (!st.ok()) return 0;
  } else {
    auto parts = split(rest, '\0', 3);
    std::vector<std::string> vocab = lines(parts[0]);
    std::vector<std::string> merges = parts.size() > 1 ? lines(parts[1]) : std::vector<std::string>{};
    text = parts.size() > 2 ? parts[2] : std::string_view();
    std::vector<int32_t> specials;
    for (size_t i = 0; i < text.size() && i < 4; ++i) specials.push_back(static_cast<int8_t>(text[i]));
    pocket::Status st = bpe.init(vocab, merges, specials);
    check(st);
    if (!st.ok()) return 0;
  }
  exercise(bpe, text);
  return 0;
}
