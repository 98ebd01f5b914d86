// WordPiece tokenizer: hand-built vocabulary, expected ids worked out by hand from BERT's
// reference algorithm (basic tokenization, greedy longest-match-first pieces).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "engine/pipelines/text/unicode.h"
#include "engine/pipelines/text/vocab_file.h"
#include "engine/pipelines/text/wordpiece.h"

namespace pocket::text {
namespace {

using Ids = std::vector<int32_t>;

// id:                          0        1        2        3        4        5      6       7
const std::vector<std::string> kVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cafe", "##s",
    // 8        9     10        11     12   13   14   15    16       17       18     19
    "angstrom", "un", "##want", "##ed", ",", ".", "!", "'", "hello", "world", "中", "国",
    // 20      21     22   23     24     25    26       27       28   29   30     31   32
    "##ing", "run", "a", "##b", "##c", "é", "café", "Hello", "?", "$", "don", "t", "οδος",
    // 33  34     35 (U+1112) 36 (U+1161)   37 (U+11AB)
    "i", "##a", "\u1112", "##\u1161", "##\u11ab"};

WordPieceTokenizer make(bool lowercase = true, bool strip_accents = true, int64_t max_length = 512) {
  WordPieceConfig c;
  c.lowercase = lowercase;
  c.strip_accents = strip_accents;
  c.max_length = max_length;
  auto r = WordPieceTokenizer::create(kVocab, c);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(r).value();
}

TEST(WordPiece, AsciiWordsAndPunctuation) {
  const auto t = make();
  EXPECT_EQ(t.tokenize("Hello, world!"), (Ids{16, 12, 17, 14}));
  EXPECT_EQ(t.basic_tokenize("Hello, world!"), (std::vector<std::string>{"hello", ",", "world", "!"}));
  EXPECT_EQ(t.tokenize("don't $5?"), (Ids{30, 15, 31, 29, 1, 28}));
  // ASCII symbols count as punctuation ('^' is Sk, '+' is Sm); other symbols ('©', So) do not.
  EXPECT_EQ(t.tokenize("a^b a+b a\u00a9b"), (Ids{22, 1, 1, 22, 1, 1, 1}));
  // Unicode P* punctuation: em dash (Pd), inverted question mark (Po).
  EXPECT_EQ(t.tokenize("hello\u2014world \u00bfa"), (Ids{16, 1, 17, 1, 22}));
}

TEST(WordPiece, GreedyLongestMatchAndUnknownRest) {
  const auto t = make();
  EXPECT_EQ(t.tokenize("unwanted"), (Ids{9, 10, 11}));
  // "run" matches, but no piece covers "##ning": the whole word is [UNK].
  EXPECT_EQ(t.tokenize("running"), (Ids{1}));
  EXPECT_EQ(t.tokenize("cafes"), (Ids{6, 7}));
  Ids ids;
  t.wordpiece("ab", &ids);
  EXPECT_EQ(ids, (Ids{22, 23}));
}

TEST(WordPiece, AccentsLowerCaseAndStripping) {
  const auto t = make();
  EXPECT_EQ(t.tokenize("Café CAFÉS Ångström"), (Ids{6, 6, 7, 8}));
  EXPECT_EQ(t.tokenize("Cafe\u0301"), (Ids{6}));  // already decomposed
  EXPECT_EQ(t.basic_tokenize("Ångström"), (std::vector<std::string>{"angstrom"}));
  // Lower-case without accent stripping keeps "é" (the precomposed form as typed).
  const auto lower_only = make(true, false);
  EXPECT_EQ(lower_only.tokenize("CAFÉ"), (Ids{26}));
  // Cased: no lower-casing, no stripping, no normalisation ("e" + U+0301 stays two code points).
  const auto cased = make(false, false);
  EXPECT_EQ(cased.tokenize("Hello café HELLO hello"), (Ids{27, 26, 1, 16}));
  EXPECT_EQ(cased.tokenize("cafe\u0301"), (Ids{1}));
}

TEST(WordPiece, PythonLowerCaseRules) {
  const auto t = make();
  // Capital sigma at the end of a word lower-cases to final sigma, as Python's str.lower().
  EXPECT_EQ(t.tokenize("ΟΔΟΣ"), (Ids{32}));
  // U+0130 lower-cases to "i" + U+0307; stripping drops the mark.
  EXPECT_EQ(t.tokenize("\u0130"), (Ids{33}));
  // Hangul syllables decompose to jamo under NFD.
  EXPECT_EQ(t.tokenize("\ud55c"), (Ids{35, 36, 37}));
}

TEST(WordPiece, CjkCharactersAreSingleWords) {
  const auto t = make();
  EXPECT_EQ(t.tokenize("中国人 ab中"), (Ids{18, 19, 1, 22, 23, 18}));
  EXPECT_EQ(t.basic_tokenize("ab中c"), (std::vector<std::string>{"ab", "中", "c"}));
}

TEST(WordPiece, WhitespaceAndControlCharacters) {
  const auto t = make();
  // \t and NBSP are whitespace; ZERO WIDTH SPACE (Cf) and NUL are dropped; U+FFFD is dropped;
  // U+2028 (Zl) is not BERT whitespace but str.split() splits on it.
  using namespace std::string_literals;  // keeps the embedded NUL
  EXPECT_EQ(t.tokenize("the\tcafe\u00a0the hel\u200blo\0 wor\ufffdld hello\u2028world\r\n"s),
            (Ids{5, 6, 5, 16, 17, 16, 17}));
  EXPECT_EQ(t.tokenize(std::string("the\0the", 7)), (Ids{1}));  // "thethe": "##the" is not a piece
  EXPECT_TRUE(t.tokenize(" \t\r\n\u3000 ").empty());
}

TEST(WordPiece, EmojiAndUnknownWords) {
  const auto t = make();
  EXPECT_EQ(t.tokenize("\U0001F600 ab\U0001F600"), (Ids{1, 1}));
  EXPECT_EQ(t.tokenize("xyz"), (Ids{1}));
}

TEST(WordPiece, InvalidUtf8IsReplacedAndCounted) {
  const auto t = make();
  int64_t bad = -1;
  // 0xFF is never valid; 0xC3 needs a continuation byte; 0xE2 0x82 is truncated at the end.
  EXPECT_EQ(t.tokenize("hel\xFFlo wor\xC3ld the\xE2\x82", &bad), (Ids{16, 17, 5}));
  EXPECT_EQ(bad, 3);
  const Encoding e = t.encode("\xED\xA0\x80 hello \xC0\xAF");  // a surrogate and an overlong '/'
  EXPECT_EQ(e.ids, (Ids{2, 16, 3}));
  EXPECT_EQ(e.invalid_utf8, 5);  // ED, A0, 80, C0, AF: no byte starts a valid sequence (as Python)
}

TEST(WordPiece, LongWords) {
  const auto t = make();
  Ids hundred{22};
  hundred.insert(hundred.end(), 99, 34);
  EXPECT_EQ(t.tokenize(std::string(100, 'a')), hundred);
  EXPECT_EQ(t.tokenize(std::string(101, 'a')), (Ids{1}));
  EXPECT_EQ(t.tokenize(std::string(101, 'a') + " the"), (Ids{1, 5}));
}

TEST(WordPiece, EncodeSpecialTokensTruncationPadding) {
  const auto t = make(true, true, 8);
  Encoding e = t.encode("");
  EXPECT_EQ(e.ids, (Ids{2, 3}));
  e = t.encode("hello", 6);
  EXPECT_EQ(e.ids, (Ids{2, 16, 3, 0, 0, 0}));
  EXPECT_EQ(e.attention_mask, (Ids{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(e.length, 3);
  EXPECT_EQ(e.truncated, 0);
  e = t.encode("the the the the the", 0, 5);
  EXPECT_EQ(e.ids, (Ids{2, 5, 5, 5, 3}));
  EXPECT_EQ(e.truncated, 2);
  // The config's max_length (8) caps both the tokens and the padding.
  e = t.encode("the the the the the the the the the", 100);
  EXPECT_EQ(e.ids, (Ids{2, 5, 5, 5, 5, 5, 5, 3}));
  EXPECT_EQ(e.attention_mask, Ids(8, 1));
  EXPECT_EQ(e.truncated, 3);
}

TEST(WordPiece, CreateErrors) {
  auto r = WordPieceTokenizer::create({}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("empty"), std::string::npos);
  r = WordPieceTokenizer::create({"[PAD]", "[CLS]", "[SEP]", "the"}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unk token '[UNK]' is not in the vocabulary"), std::string::npos) << r.status().message();
  WordPieceConfig c;
  c.max_length = 1;
  r = WordPieceTokenizer::create(kVocab, c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("max_length 1"), std::string::npos);
}

TEST(WordPiece, VocabFileParsing) {
  std::vector<std::string> v;
  ASSERT_TRUE(parse_vocab_txt("\xEF\xBB\xBF[PAD]\r\n[UNK]\r\n##a\r\n\r\n\n", "v", &v).ok());
  EXPECT_EQ(v, (std::vector<std::string>{"[PAD]", "[UNK]", "##a"}));
  struct Bad {
    std::string text, error;
  } bad[] = {
      {"", "has no tokens"},
      {"\n\n", "has no tokens"},
      {"a\n\nb\n", "line 2: empty line"},
      {"a\nb\na\n", "line 3: token 'a' is also on line 1"},
      {"a\tb\n", "line 1: contains a tab"},
      {"a\n\xFF\xFE\n", "line 2: invalid UTF-8"},
      {std::string("a\nb\0c\n", 6), "line 2: NUL byte"},
      {std::string(1001, 'x'), "token of 1001 bytes"},
  };
  for (const Bad& b : bad) {
    Status st = parse_vocab_txt(b.text, "v.txt", &v);
    ASSERT_FALSE(st.ok()) << b.error;
    EXPECT_NE(st.message().find(b.error), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("v.txt"), std::string::npos) << st.message();
  }
  Status st = read_vocab_txt("/nonexistent/vocab.txt", &v);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot open '/nonexistent/vocab.txt'"), std::string::npos);
}

TEST(WordPiece, FromVocabFileMatchesInMemory) {
  const std::string path = ::testing::TempDir() + "pocket_wordpiece_vocab.txt";
  {
    std::ofstream f(path, std::ios::binary);
    for (const auto& tok : kVocab) f << tok << "\n";
  }
  auto r = WordPieceTokenizer::from_vocab_file(path, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tokenize("Unwanted, Ångström!"), (Ids{9, 10, 11, 12, 8, 14}));
  EXPECT_EQ(r->vocab_size(), static_cast<int64_t>(kVocab.size()));
  EXPECT_EQ(r->token(26), "café");
  EXPECT_EQ(r->id("##want"), 10);
  EXPECT_EQ(r->id("nope"), -1);
  std::remove(path.c_str());
}

// Random bytes and random code points never crash and give ids inside the vocabulary.
TEST(WordPiece, RandomInputIsSafe) {
  const auto t = make(true, true, 64);
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 300; ++iter) {
    std::string s(rng() % 200, '\0');
    for (char& ch : s) ch = static_cast<char>(rng() & 0xFF);
    if (iter % 2) {
      s.clear();
      for (int k = 0; k < 50; ++k) unicode::append_utf8(static_cast<char32_t>(rng() % 0x110000), &s);
    }
    const Encoding e = t.encode(s, 64);
    ASSERT_EQ(e.ids.size(), 64u);
    ASSERT_EQ(e.attention_mask.size(), 64u);
    for (int32_t id : e.ids) ASSERT_TRUE(id >= 0 && id < t.vocab_size());
  }
}

TEST(Unicode, TablesAgreeWithUnicodeData) {
  using namespace unicode;
  EXPECT_TRUE(has(U' ', kWhitespace));
  EXPECT_TRUE(has(0x3000, kWhitespace));
  EXPECT_FALSE(has(U'\t', kControl));
  EXPECT_TRUE(has(0x7F, kControl));
  EXPECT_TRUE(has(0x200B, kControl));      // Cf
  EXPECT_TRUE(has(0xE000, kControl));      // Co
  EXPECT_TRUE(has(U'~', kPunctuation));
  EXPECT_TRUE(has(0x3002, kPunctuation));  // ideographic full stop
  EXPECT_FALSE(has(U'a', kPunctuation));
  EXPECT_TRUE(has(0x0301, kMark));
  EXPECT_TRUE(has(0x9FA5, kCjk));
  EXPECT_FALSE(has(0x3042, kCjk));         // hiragana is not split
  EXPECT_EQ(combining_class(0x0301), 230);
  EXPECT_EQ(combining_class(0x0323), 220);
  std::u32string out;
  to_lower(U"ÀÉÎ ΣΑΣ Ǆ", &out);
  EXPECT_EQ(out, U"àéî σας ǆ");
  // Canonical reordering: dot below (220) goes before acute (230).
  to_nfd(U"\u00e9\u0323", &out);
  EXPECT_EQ(out, U"e\u0323\u0301");
  to_nfd(U"\u1e69", &out);  // s with dot below and dot above
  EXPECT_EQ(out, U"s\u0323\u0307");
  EXPECT_STREQ(unicode_version(), "14.0.0");
}

}  // namespace
}  // namespace pocket::text
