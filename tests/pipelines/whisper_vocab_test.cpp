// Whisper's tiktoken vocabulary reader (converter/metadata/whisper_vocab.h) on hand-built
// tiktoken files. A separate binary: it needs the converter library, which cross builds lack.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "converter/metadata/whisper_vocab.h"
#include "engine/pipelines/speech/bpe.h"

namespace pocket {
namespace {


bool printable(int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255); }

// GPT-2 / tiktoken rank order of the 256 single bytes: printable bytes first, then the rest.
std::vector<std::string> byte_tokens() {
  std::vector<std::string> out;
  for (int b = 0; b < 256; ++b)
    if (printable(b)) out.emplace_back(1, static_cast<char>(b));
  for (int b = 0; b < 256; ++b)
    if (!printable(b)) out.emplace_back(1, static_cast<char>(b));
  return out;
}

std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (in.size() - i == 1) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

std::string tiktoken_text(const std::vector<std::string>& tokens) {
  std::string text;
  for (size_t r = 0; r < tokens.size(); ++r) text += base64(tokens[r]) + " " + std::to_string(r) + "\n";
  return text;
}

// Byte tokens plus some merged tokens (rank = id, tiktoken style).
std::vector<std::string> small_tiktoken_vocab() {
  auto t = byte_tokens();
  for (const char* s : {" t", "he", " the", "in", " -", " '", ">>", " >>", "--", " \xE2\x99", " \xE2\x99\xAA", "er",
                        "\xE2\x99", " w", "or", "ld", " wor", " world", "'s"})
    t.emplace_back(s);
  return t;
}

TEST(WhisperVocab, SpecialsAndSuppressTokens) {
  const auto raw = small_tiktoken_vocab();
  const int64_t n = static_cast<int64_t>(raw.size());
  format::TokenizerDesc t;
  const int64_t n_vocab = n + 8 + 99 + 1501;
  auto st = converter::parse_whisper_vocab(tiktoken_text(raw), n_vocab, &t);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(static_cast<int64_t>(t.vocab.size()), n_vocab);
  EXPECT_EQ(t.kind, "bytelevel_bpe");
  EXPECT_EQ(t.vocab[n], "<|endoftext|>");
  EXPECT_EQ(t.vocab[n + 1], "<|startoftranscript|>");
  EXPECT_EQ(t.vocab[n + 2], "<|en|>");
  EXPECT_EQ(t.vocab[n + 2 + 98], "<|su|>");
  EXPECT_EQ(t.vocab[n + 101], "<|translate|>");
  EXPECT_EQ(t.vocab[n + 102], "<|transcribe|>");
  EXPECT_EQ(t.vocab[n + 103], "<|startoflm|>");
  EXPECT_EQ(t.vocab[n + 104], "<|startofprev|>");
  EXPECT_EQ(t.vocab[n + 105], "<|nospeech|>");
  EXPECT_EQ(t.vocab[n + 106], "<|notimestamps|>");
  EXPECT_EQ(t.vocab[n + 107], "<|0.00|>");
  EXPECT_EQ(t.vocab[n + 107 + 1], "<|0.02|>");
  EXPECT_EQ(t.vocab[n + 107 + 3], "<|0.06|>");
  EXPECT_EQ(t.vocab[n + 107 + 1500], "<|30.00|>");
  EXPECT_EQ(t.vocab[raw.size() - 1], "'s");
  EXPECT_EQ(t.vocab[0], "!");
  auto role = [&](const std::string& r) {
    for (auto& kv : t.special_tokens)
      if (kv.first == r) return kv.second;
    return std::string();
  };
  EXPECT_EQ(role("sot"), "<|startoftranscript|>");
  EXPECT_EQ(role("eot"), "<|endoftext|>");
  EXPECT_EQ(role("lang:en"), "<|en|>");
  EXPECT_EQ(role("lang:su"), "<|su|>");
  EXPECT_EQ(role("lang:yue"), "");
  EXPECT_EQ(role("notimestamps"), "<|notimestamps|>");
  EXPECT_EQ(role("nospeech"), "<|nospeech|>");
  EXPECT_EQ(role("sot_prev"), "<|startofprev|>");
  EXPECT_EQ(role("transcribe"), "<|transcribe|>");
  EXPECT_EQ(role("translate"), "<|translate|>");

  // Expected suppress set, worked out by hand from the vocabulary and tokenizer.py's rules.
  auto id = [&](const std::string& s) { return static_cast<int32_t>(std::find(raw.begin(), raw.end(), s) - raw.begin()); };
  std::vector<int32_t> want;
  for (const char* s : {"\"", "#", "(", ")", "*", "+", "/", ":", ";", "<", "=", ">", "@", "[", "\\", "]", "^", "_",
                        "`", "{", "|", "}", "~"})
    want.push_back(id(s));                   // single-byte symbols
  for (const char* s : {" -", " '", ">>", " >>", "--"}) want.push_back(id(s));
  want.push_back(id("\xE2\x99"));            // first token of every ♩..♯
  want.push_back(id(" \xE2\x99"));           // first token of " ♩" etc.
  want.push_back(id(" \xE2\x99\xAA"));       // " ♪" is one token
  for (int64_t k : {1, 101, 102, 103, 104, 105}) want.push_back(static_cast<int32_t>(n + k));
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  EXPECT_EQ(t.suppress_tokens, want);
}

TEST(WhisperVocab, LanguageCountFollowsNVocab) {
  const auto raw = byte_tokens();
  format::TokenizerDesc t;
  ASSERT_TRUE(converter::parse_whisper_vocab(tiktoken_text(raw), 256 + 8 + 100 + 1501, &t).ok());
  EXPECT_EQ(t.vocab[256 + 2 + 99], "<|yue|>");
  EXPECT_EQ(t.vocab.back(), "<|30.00|>");
  EXPECT_EQ(converter::whisper_language_codes().size(), 100u);
}

TEST(WhisperVocab, Errors) {
  const auto raw = byte_tokens();
  format::TokenizerDesc t;
  auto text = tiktoken_text(raw);
  EXPECT_FALSE(converter::parse_whisper_vocab(text, 256 + 8 + 1500, &t).ok());  // too small
  EXPECT_FALSE(converter::parse_whisper_vocab("IQ== 0\nIg= 1\n", 2000, &t).ok());  // bad base64 length
  EXPECT_FALSE(converter::parse_whisper_vocab("IQ== 0\nI!== 1\n", 2000, &t).ok());  // bad char
  EXPECT_FALSE(converter::parse_whisper_vocab("IQ== 0\nIg== 2\n", 2000, &t).ok());  // rank gap
  EXPECT_FALSE(converter::parse_whisper_vocab("IQ== 0\nIg== 0\n", 2000, &t).ok());  // rank twice
  EXPECT_FALSE(converter::parse_whisper_vocab("IQ== 0\nIQ== 1\n", 2000, &t).ok());  // token twice
  EXPECT_FALSE(converter::parse_whisper_vocab("IQ== x\n", 2000, &t).ok());           // bad rank
  EXPECT_FALSE(converter::parse_whisper_vocab("IQ==\n", 2000, &t).ok());             // no rank
  EXPECT_FALSE(converter::parse_whisper_vocab("", 2000, &t).ok());
  auto st = converter::read_whisper_vocab("/nonexistent/multilingual.tiktoken", 51865, &t);
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  // Written to a file and read back.
  const std::string path = testing::TempDir() + "pocket_whisper_vocab_test.tiktoken";
  { std::ofstream(path) << text; }
  st = converter::read_whisper_vocab(path, 256 + 8 + 99 + 1501, &t);
  EXPECT_TRUE(st.ok()) << st.message();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace pocket
