// The I/O fuzz targets' corpora replayed through the readers (fuzz/corpus/{npy,wav,wordpiece,bpe}:
// generated seeds and any regression inputs a fuzzing run found), plus the contents-based
// vocab.json/merges.txt reader the BPE fuzz target uses. Every input must give a result or a
// clear error; under the ASan/UBSan build a regression input that crashed fails here too.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "converter/metadata/tokenizer_files.h"
#include "engine/pipelines/audio/wav.h"
#include "engine/pipelines/speech/bpe.h"
#include "engine/pipelines/text/vocab_file.h"
#include "engine/pipelines/text/wordpiece.h"
#include "tools/common/image.h"
#include "tools/common/npy.h"

namespace pocket {
namespace {

namespace fs = std::filesystem;

fs::path corpus_dir(const std::string& target) {
  return fs::path(POCKET_SOURCE_DIR) / "fuzz" / "corpus" / target;
}

std::vector<std::pair<std::string, std::string>> corpus(const std::string& target) {
  std::vector<std::pair<std::string, std::string>> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(corpus_dir(target), ec)) {
    if (!e.is_regular_file()) continue;
    std::ifstream f(e.path(), std::ios::binary);
    files.emplace_back(e.path().filename().string(),
                       std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()));
  }
  return files;
}

TEST(FuzzRegressionsIo, NpyCorpus) {
  auto files = corpus("npy");
  if (files.empty()) GTEST_SKIP() << "no fuzz/corpus/npy next to the sources";
  int ok = 0;
  for (const auto& [name, bytes] : files) {
    tools::NpyArray a;
    std::string error;
    if (tools::parse_npy(bytes.data(), bytes.size(), &a, &error)) {
      ++ok;
      EXPECT_EQ(a.data.size() % static_cast<size_t>(a.elements() > 0 ? a.elements() : 1), 0u) << name;
    } else {
      EXPECT_FALSE(error.empty()) << name;
    }
  }
  EXPECT_GT(ok, 0);
}

TEST(FuzzRegressionsIo, WavCorpus) {
  auto files = corpus("wav");
  if (files.empty()) GTEST_SKIP() << "no fuzz/corpus/wav next to the sources";
  int ok = 0;
  for (const auto& [name, bytes] : files) {
    audio::Audio a;
    Status st = audio::decode_wav(bytes.data(), bytes.size(), &a);
    if (st.ok()) {
      ++ok;
      EXPECT_EQ(static_cast<int64_t>(a.samples.size()), a.info.frames) << name;
    } else {
      EXPECT_FALSE(st.message().empty()) << name;
    }
  }
  EXPECT_GT(ok, 0);
}

// fuzz_image inputs: one preprocessing byte, then the file.
TEST(FuzzRegressionsIo, ImageCorpus) {
  auto files = corpus("image");
  if (files.empty()) GTEST_SKIP() << "no fuzz/corpus/image next to the sources";
  int ok = 0;
  for (const auto& [name, bytes] : files) {
    if (bytes.empty()) continue;
    tools::Image img;
    std::string error;
    if (tools::decode_image(bytes.data() + 1, bytes.size() - 1, &img, &error)) {
      ++ok;
      EXPECT_EQ(img.rgb.size(), static_cast<size_t>(img.width) * img.height * 3) << name;
    } else {
      EXPECT_FALSE(error.empty()) << name;
    }
  }
  EXPECT_GT(ok, 0);
}

// stb_image 2.27 overran its Huffman arrays on a DHT segment declaring more than 256 codes.
TEST(FuzzRegressionsIo, JpegHuffmanTableOver256Codes) {
  // A minimal hand-made one: SOI, DHT with counts 255 x 16 (4080 codes).
  std::string jpeg = "\xFF\xD8\xFF\xC4";
  jpeg += std::string("\x10\x03", 2);  // length 4099
  jpeg += '\x00';
  jpeg += std::string(16, '\xFF');
  jpeg += std::string(4080, '\x01');
  jpeg += "\xFF\xD9";
  {
    tools::Image img;
    std::string error;
    EXPECT_FALSE(tools::decode_image(jpeg.data(), jpeg.size(), &img, &error));
    EXPECT_NE(error.find("4080 codes"), std::string::npos) << error;
  }
  auto files = corpus("image");
  bool found = false;
  for (const auto& [name, bytes] : files) {
    if (name != "regress-jpeg-dht-over-256-codes") continue;
    found = true;
    tools::Image img;
    std::string error;
    EXPECT_FALSE(tools::decode_image(bytes.data() + 1, bytes.size() - 1, &img, &error));
    EXPECT_NE(error.find("Huffman table"), std::string::npos) << error;
  }
  if (!found) GTEST_SKIP() << "no fuzz/corpus/image next to the sources";
}

// stb_image 2.27 converted a 16-bit PGM to RGB as 8-bit data, then read past the buffer.
TEST(FuzzRegressionsIo, SixteenBitPnmRefused) {
  for (const char* magic : {"P5", "P6"}) {
    std::string pnm = std::string(magic) + "\n2 2\n65535\n" + std::string(magic[1] == '5' ? 8 : 24, '\x7f');
    tools::Image img;
    std::string error;
    EXPECT_FALSE(tools::decode_image(pnm.data(), pnm.size(), &img, &error)) << magic;
    EXPECT_NE(error.find("16-bit"), std::string::npos) << error;
  }
  // A size field too long for an int (stb_image 2.27 overflowed while reading it).
  for (const char* header : {"P6\n2555555550 2\n255\n", "P5 # c\n2 #x\n 99999999999 255\n"}) {
    std::string pnm = std::string(header) + std::string(16, '\x01');
    tools::Image img;
    std::string error;
    EXPECT_FALSE(tools::decode_image(pnm.data(), pnm.size(), &img, &error)) << header;
    EXPECT_NE(error.find("digits"), std::string::npos) << error;
  }
  // A truncated raster: stb_image 2.27 returned its uninitialised buffer as pixels (and a
  // 3x2555555 header on a 336-byte file decoded 7.6 Mpixel of garbage, slowly: fuzz_image).
  for (const char* header : {"P5\n2 2\n255\n", "P6 # c\n2 2\n255\n", "P5 3 2555555 255\n"}) {
    std::string pnm = std::string(header) + std::string(3, '\x40');
    tools::Image img;
    std::string error;
    EXPECT_FALSE(tools::decode_image(pnm.data(), pnm.size(), &img, &error)) << header;
    EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  }
  // 8-bit ones still decode.
  std::string pgm = std::string("P5\n2 2\n255\n") + std::string(4, '\x40');
  tools::Image img;
  std::string error;
  ASSERT_TRUE(tools::decode_image(pgm.data(), pgm.size(), &img, &error)) << error;
  EXPECT_EQ(img.width, 2);
  EXPECT_EQ(img.rgb[0], 0x40);
}

// The fuzz target's layout: flags byte, vocabulary, NUL, text.
TEST(FuzzRegressionsIo, WordPieceCorpus) {
  auto files = corpus("wordpiece");
  if (files.empty()) GTEST_SKIP() << "no fuzz/corpus/wordpiece next to the sources";
  for (const auto& [name, bytes] : files) {
    if (bytes.empty()) continue;
    std::string_view rest = std::string_view(bytes).substr(1);
    const size_t nul = rest.find('\0');
    std::vector<std::string> vocab;
    Status st = text::parse_vocab_txt(rest.substr(0, nul), name, &vocab);
    if (!st.ok()) {
      EXPECT_FALSE(st.message().empty()) << name;
      continue;
    }
    text::WordPieceConfig config;
    for (const std::string* s : {&config.unk, &config.cls, &config.sep, &config.pad})
      if (std::find(vocab.begin(), vocab.end(), *s) == vocab.end()) vocab.push_back(*s);
    auto tok = text::WordPieceTokenizer::create(vocab, config);
    ASSERT_TRUE(tok.ok()) << name << ": " << tok.status().message();
    std::string_view txt = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
    text::Encoding e = tok.value().encode(txt, 16);
    EXPECT_EQ(e.ids.size(), e.attention_mask.size()) << name;
    EXPECT_GE(e.length, 2) << name;
  }
}

TEST(FuzzRegressionsIo, ByteLevelBpeFromContents) {
  // Every byte, one merge, an end-of-text special; ids 0..N-1.
  std::string json = "{";
  std::vector<std::string> vocab;
  for (int b = 0; b < 256; ++b) vocab.push_back(speech::bytes_to_vocab_text(std::string(1, static_cast<char>(b))));
  vocab.push_back(speech::bytes_to_vocab_text("he"));
  vocab.push_back("<|endoftext|>");
  for (size_t i = 0; i < vocab.size(); ++i) {
    std::string esc;
    for (char c : vocab[i]) {
      if (c == '"' || c == '\\') esc += '\\';
      esc += c;
    }
    json += (i ? ", \"" : "\"") + esc + "\": " + std::to_string(i);
  }
  json += "}";
  const std::string_view merges = "#version: 0.2\nh e\n";
  format::TokenizerDesc desc;
  Status st = converter::parse_bytelevel_bpe(json, &merges, "v.json", "m.txt", &desc);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(desc.kind, "bytelevel_bpe");
  ASSERT_EQ(desc.vocab.size(), 258u);
  ASSERT_EQ(desc.merges.size(), 1u);
  ASSERT_EQ(desc.special_tokens.size(), 1u);
  EXPECT_EQ(desc.special_tokens[0].first, "eot");

  speech::ByteBpe bpe;
  ASSERT_TRUE(bpe.init(desc.vocab, desc.merges, {257}).ok());
  std::vector<int32_t> ids;
  ASSERT_TRUE(bpe.encode("hehe \xff!", &ids).ok());
  EXPECT_EQ(ids[0], 256);  // "he" merged
  EXPECT_EQ(bpe.decode(ids), speech::sanitize_utf8("hehe \xff!"));

  // No merges file; then a bad merges line names the merges file and line.
  st = converter::parse_bytelevel_bpe(json, nullptr, "v.json", "", &desc);
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(desc.merges.empty());
  const std::string_view bad = "h  e\n";
  st = converter::parse_bytelevel_bpe(json, &bad, "v.json", "m.txt", &desc);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("merges 'm.txt' line 1"), std::string::npos) << st.message();
  const std::string_view empty;
  EXPECT_FALSE(converter::parse_bytelevel_bpe(json, &empty, "v.json", "m.txt", &desc).ok());
  // Broken JSON names the vocabulary and the byte.
  st = converter::parse_bytelevel_bpe("{\"a\": 0, \"b\": 5}", nullptr, "v.json", "", &desc);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("v.json"), std::string::npos) << st.message();
  st = converter::parse_bytelevel_bpe("{\"a\": 0,", nullptr, "v.json", "", &desc);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("byte"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace pocket
