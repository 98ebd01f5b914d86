// Byte-level BPE (engine/pipelines/speech/bpe.h) on hand-built vocabularies: GPT-2's byte
// alphabet, pre-tokenization, rank-ordered merges, encode/decode round trips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "engine/pipelines/speech/bpe.h"

namespace pocket {
namespace {

using speech::ByteBpe;

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

// Byte tokens plus some merged tokens (rank = id, tiktoken style).
std::vector<std::string> small_tiktoken_vocab() {
  auto t = byte_tokens();
  for (const char* s : {" t", "he", " the", "in", " -", " '", ">>", " >>", "--", " \xE2\x99", " \xE2\x99\xAA", "er",
                        "\xE2\x99", " w", "or", "ld", " wor", " world", "'s"})
    t.emplace_back(s);
  return t;
}

std::vector<std::string> as_vocab_text(const std::vector<std::string>& raw) {
  std::vector<std::string> v;
  for (const auto& r : raw) v.push_back(speech::bytes_to_vocab_text(r));
  return v;
}

TEST(PipelinesBpe, ByteAlphabetIsGpt2s) {
  EXPECT_EQ(speech::byte_to_unicode('A'), U'A');
  EXPECT_EQ(speech::byte_to_unicode(' '), char32_t(0x120));   // 'Ġ'
  EXPECT_EQ(speech::byte_to_unicode('\n'), char32_t(0x10A));  // 'Ċ'
  EXPECT_EQ(speech::byte_to_unicode(0), char32_t(0x100));
  EXPECT_EQ(speech::byte_to_unicode(173), char32_t(0x143));
  EXPECT_EQ(speech::bytes_to_vocab_text(" the"), "\xC4\xA0the");
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string back;
  ASSERT_TRUE(speech::vocab_text_to_bytes(speech::bytes_to_vocab_text(all), &back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(speech::vocab_text_to_bytes("\xE4\xB8\x80", &back));  // U+4E00 is not in the alphabet
}

TEST(PipelinesBpe, Pretokenize) {
  // As GPT-2's regex: a whitespace run leaves its last character to a following word, so "\n\nx"
  // splits as "\n", "\n", "x"; trailing whitespace stays one piece.
  auto p = speech::gpt2_pretokenize("Hello world's  12 ok!!\n\nx  ");
  std::vector<std::string> got(p.begin(), p.end());
  std::vector<std::string> want = {"Hello", " world", "'s", " ", " 12", " ok", "!!", "\n", "\n", "x", "  "};
  EXPECT_EQ(got, want);
}

TEST(PipelinesBpe, EncodeDecodeRoundTripTiktokenRanks) {
  const auto raw = small_tiktoken_vocab();
  ByteBpe bpe;
  ASSERT_TRUE(bpe.init(as_vocab_text(raw), {}, {}).ok());
  std::vector<int32_t> ids;
  ASSERT_TRUE(bpe.encode("the world's", &ids).ok());
  // "the" -> t,he (no "the" without a space); " world" is one token; "'s" one token.
  auto id = [&](const std::string& s) { return static_cast<int32_t>(std::find(raw.begin(), raw.end(), s) - raw.begin()); };
  EXPECT_EQ(ids, (std::vector<int32_t>{id("t"), id("he"), id(" world"), id("'s")}));
  for (const std::string text : {"the world's", "Caf\xC3\xA9 \xE2\x99\xAA \xE4\xB8\x80 --  >>x\n", ""}) {
    ids.clear();
    ASSERT_TRUE(bpe.encode(text, &ids).ok());
    EXPECT_EQ(bpe.decode(ids), text);
  }
  // Rank order: " wor" (id larger than " w"+"or") is reached by merging " w"+"or" first.
  ids.clear();
  ASSERT_TRUE(bpe.encode_piece(" word", &ids).ok());
  EXPECT_EQ(ids, (std::vector<int32_t>{id(" wor"), id("d")}));
}

TEST(PipelinesBpe, MergeRulesDecideOrder) {
  // With merges, "a b" rules rank pairs; here "l d" outranks "o r", so " world" can't form " wor".
  std::vector<std::string> raw = byte_tokens();
  for (const char* s : {"ld", " w", "or", " wor"}) raw.emplace_back(s);
  const std::vector<std::string> merges = {"l d", "\xC4\xA0 w", "o r", "\xC4\xA0w or"};
  ByteBpe bpe;
  ASSERT_TRUE(bpe.init(as_vocab_text(raw), merges, {}).ok());
  std::vector<int32_t> ids;
  ASSERT_TRUE(bpe.encode(" world", &ids).ok());
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(bpe.token_bytes(ids[0]), " wor");
  EXPECT_EQ(bpe.token_bytes(ids[1]), "ld");
  EXPECT_FALSE(bpe.init(as_vocab_text(raw), {"nospace"}, {}).ok());
}

TEST(PipelinesBpe, DecodeDropsSpecialsAndReplacesBadUtf8) {
  auto vocab = as_vocab_text(byte_tokens());
  vocab.push_back("<|endoftext|>");
  ByteBpe bpe;
  ASSERT_TRUE(bpe.init(vocab, {}, {256}).ok());
  EXPECT_TRUE(bpe.is_special(256));
  EXPECT_EQ(bpe.find_text("<|endoftext|>"), 256);
  std::vector<int32_t> ids;
  ASSERT_TRUE(bpe.encode("hi", &ids).ok());
  ids.push_back(256);
  EXPECT_EQ(bpe.decode(ids), "hi");
  // A lone 0xE2 byte (first byte of a 3-byte sequence) decodes to U+FFFD.
  const int32_t e2 = bpe.find_text(speech::bytes_to_vocab_text("\xE2"));
  ASSERT_GE(e2, 0);
  EXPECT_EQ(bpe.decode({e2, 256}), "\xEF\xBF\xBD");
  EXPECT_FALSE(bpe.init({"a", "b"}, {}, {5}).ok());
  EXPECT_FALSE(bpe.init({"\xE4\xB8\x80"}, {}, {}).ok());
}

}  // namespace
}  // namespace pocket
