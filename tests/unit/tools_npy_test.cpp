// tools/common: .npy reading/writing, argument parsing, statistics, output file names.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tools/common/args.h"
#include "tools/common/npy.h"
#include "tools/common/random_fill.h"
#include "tools/common/stats.h"
#include "tools/common/tool_util.h"

namespace pocket::tools {
namespace {

std::vector<uint8_t> npy_bytes(int major, const std::string& dict, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  const uint32_t len = static_cast<uint32_t>(dict.size());
  out.push_back(len & 0xff);
  out.push_back((len >> 8) & 0xff);
  if (major >= 2) {
    out.push_back((len >> 16) & 0xff);
    out.push_back(len >> 24);
  }
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::string parse_error(const std::vector<uint8_t>& bytes) {
  NpyArray a;
  std::string error;
  EXPECT_FALSE(parse_npy(bytes.data(), bytes.size(), &a, &error));
  return error;
}

TEST(ToolsNpy, EncodesExactlyWhatNumpyWrites) {
  const std::vector<float> v = {0, 1, 2, 3, 4, 5};
  std::vector<uint8_t> out;
  std::string error;
  ASSERT_TRUE(encode_npy(POCKET_F32, {2, 3}, v.data(), 24, &out, &error)) << error;
  // np.save(f, np.arange(6, dtype='<f4').reshape(2, 3)): 128-byte header, then the data.
  ASSERT_EQ(out.size(), 152u);
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_EQ(std::string(out.begin() + 10, out.begin() + 10 + dict.size()), dict);
  EXPECT_EQ(out[6], 1);
  EXPECT_EQ(out[8] | out[9] << 8, 118);
  EXPECT_EQ(out[127], '\n');
  EXPECT_EQ(std::memcmp(out.data() + 128, v.data(), 24), 0);
  ASSERT_TRUE(encode_npy(POCKET_I64, {3}, std::vector<int64_t>{1, 2, 3}.data(), 24, &out, &error));
  EXPECT_NE(std::string(out.begin(), out.end()).find("'shape': (3,), }"), std::string::npos);
}

TEST(ToolsNpy, RoundTripsEveryDtypeAndShape) {
  const std::vector<std::pair<pocket_dtype, size_t>> dtypes = {
      {POCKET_F32, 4}, {POCKET_F16, 2}, {POCKET_I64, 8}, {POCKET_I32, 4}, {POCKET_I8, 1}, {POCKET_U8, 1}, {POCKET_BOOL, 1}};
  const std::vector<std::vector<int64_t>> shapes = {{}, {1}, {5}, {2, 3}, {0, 4}, {1, 3, 2, 2}};
  for (auto [dtype, size] : dtypes) {
    for (const auto& shape : shapes) {
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      std::vector<uint8_t> data(static_cast<size_t>(n) * size);
      for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(dtype == POCKET_BOOL ? i % 2 : i * 7 + 1);
      std::vector<uint8_t> bytes;
      std::string error;
      ASSERT_TRUE(encode_npy(dtype, shape, data.data(), data.size(), &bytes, &error)) << error;
      EXPECT_EQ((bytes.size() - data.size()) % 64, 0u);
      NpyArray a;
      ASSERT_TRUE(parse_npy(bytes.data(), bytes.size(), &a, &error)) << error;
      EXPECT_EQ(a.dtype, dtype);
      EXPECT_EQ(a.shape, shape);
      EXPECT_EQ(a.data, data);
    }
  }
}

TEST(ToolsNpy, WidensBfloat16AndRejectsInt4) {
  const std::vector<uint16_t> bf = {0x3f80, 0xc000};  // 1.0, -2.0
  std::vector<uint8_t> bytes;
  std::string error;
  ASSERT_TRUE(encode_npy(POCKET_BF16, {2}, bf.data(), 4, &bytes, &error)) << error;
  NpyArray a;
  ASSERT_TRUE(parse_npy(bytes.data(), bytes.size(), &a, &error)) << error;
  ASSERT_EQ(a.dtype, POCKET_F32);
  float f[2];
  std::memcpy(f, a.data.data(), 8);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -2.0f);
  EXPECT_FALSE(encode_npy(POCKET_I4, {2}, bf.data(), 1, &bytes, &error));
  EXPECT_FALSE(encode_npy(POCKET_F32, {3}, bf.data(), 4, &bytes, &error));  // size mismatch
}

TEST(ToolsNpy, ReadsVersions2And3AndOddlyFormattedHeaders) {
  const auto data = f32_bytes({1.5f, -2.f});
  NpyArray a;
  std::string error;
  for (int major : {2, 3}) {
    auto bytes = npy_bytes(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", data);
    ASSERT_TRUE(parse_npy(bytes.data(), bytes.size(), &a, &error)) << error;
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2}));
    EXPECT_EQ(a.data, data);
  }
  // Key order, double quotes, no trailing comma, Python 2 long suffixes, '=' and '|' byte orders.
  auto bytes = npy_bytes(1, "{\"shape\":(1L,2L),\"fortran_order\":False,\"descr\":\"=f4\"}", data);
  ASSERT_TRUE(parse_npy(bytes.data(), bytes.size(), &a, &error)) << error;
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2}));
  bytes = npy_bytes(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2,), }", {7, 9});
  ASSERT_TRUE(parse_npy(bytes.data(), bytes.size(), &a, &error)) << error;  // 1-D Fortran == C
  EXPECT_EQ(a.dtype, POCKET_U8);
}

TEST(ToolsNpy, RejectsCorruptAndUnsupportedFilesClearly) {
  const auto data = f32_bytes({1, 2, 3, 4, 5, 6});
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_NE(parse_error({1, 2, 3}).find("not a .npy file"), std::string::npos);
  std::vector<uint8_t> bad_magic = npy_bytes(1, good, data);
  bad_magic[1] = 'X';
  EXPECT_NE(parse_error(bad_magic).find("bad magic"), std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(9, good, data)).find("version 9.0"), std::string::npos);
  auto short_header = npy_bytes(1, good, {});
  short_header.resize(40);
  EXPECT_NE(parse_error(short_header).find("truncated .npy header"), std::string::npos);
  auto short_data = npy_bytes(1, good, data);
  short_data.pop_back();
  EXPECT_NE(parse_error(short_data).find("truncated .npy data: shape needs 24 bytes, file has 23"), std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data)).find("Fortran-order"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data)).find("big-endian"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }", data)).find("object"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", data)).find("structured"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", data)).find("unsupported dtype '<f8'"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': '<f4', 'shape': (2, 3), }", data)).find("lacks"), std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", data)).find("shape"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }", data)).find("fortran_order"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "['descr']", data)).find("not a dictionary"), std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", data)).find("malformed"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", data))
                .find("too large"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", data))
                .find("shape"),
            std::string::npos);
  // A header length beyond the file.
  auto lying = npy_bytes(1, good, data);
  lying[8] = 0xff;
  lying[9] = 0xff;
  EXPECT_NE(parse_error(lying).find("truncated .npy header"), std::string::npos);
}

TEST(ToolsNpy, ReadErrorsNameTheFile) {
  NpyArray a;
  std::string error;
  EXPECT_FALSE(read_npy("/nonexistent/dir/x.npy", &a, &error));
  EXPECT_NE(error.find("cannot open '/nonexistent/dir/x.npy'"), std::string::npos);
  EXPECT_FALSE(write_npy("/nonexistent/dir/x.npy", POCKET_U8, {1}, "a", 1, &error));
  EXPECT_NE(error.find("/nonexistent/dir/x.npy"), std::string::npos);
}

TEST(ToolsArgs, ParsesOptionsPositionalsAndRejectsBadInput) {
  std::vector<std::string> model, images, inputs;
  int64_t threads = 1;
  bool json = false;
  std::string out;
  ArgParser p("tool", "MODEL IMAGE...", "test");
  p.positional("MODEL", &model, 1, false, "");
  p.positional("IMAGE", &images, 1, true, "");
  p.option_int("--threads", "N", 1, 64, &threads, "");
  p.flag("--json", &json, "");
  p.option("--out", "DIR", &out, "");
  p.repeated("--input", "N=F", &inputs, "");
  const char* ok[] = {"tool", "m.pocket", "--threads=4", "a.png", "--json", "--input", "x=1.npy", "b.png", "--out", "d", "--input", "y=2.npy"};
  ASSERT_EQ(p.parse(12, ok), ArgParser::Outcome::kOk) << p.error();
  EXPECT_EQ(model, std::vector<std::string>{"m.pocket"});
  EXPECT_EQ(images, (std::vector<std::string>{"a.png", "b.png"}));
  EXPECT_EQ(threads, 4);
  EXPECT_TRUE(json);
  EXPECT_EQ(out, "d");
  EXPECT_EQ(inputs, (std::vector<std::string>{"x=1.npy", "y=2.npy"}));
  EXPECT_NE(p.help().find("--threads N"), std::string::npos);

  auto fails = [](std::vector<const char*> argv, const std::string& want) {
    std::vector<std::string> m, im;
    int64_t t = 1;
    bool f = false;
    ArgParser q("tool", "", "");
    q.positional("MODEL", &m, 1, false, "");
    q.positional("IMAGE", &im, 1, true, "");
    q.option_int("--threads", "N", 1, 64, &t, "");
    q.flag("--json", &f, "");
    EXPECT_EQ(q.parse(static_cast<int>(argv.size()), argv.data()), ArgParser::Outcome::kError) << want;
    EXPECT_NE(q.error().find(want), std::string::npos) << q.error();
  };
  fails({"tool", "m", "a", "--threads", "x"}, "'x' is not an integer");
  fails({"tool", "m", "a", "--threads", "4x"}, "'4x' is not an integer");
  fails({"tool", "m", "a", "--threads", "65"}, "out of range [1, 64]");
  fails({"tool", "m", "a", "--threads", "99999999999999999999999"}, "out of range");
  fails({"tool", "m", "a", "--threads"}, "needs a value");
  fails({"tool", "m", "a", "--json=1"}, "takes no value");
  fails({"tool", "m", "a", "--bogus"}, "unknown option '--bogus'");
  fails({"tool", "m"}, "missing IMAGE");
  fails({"tool"}, "missing MODEL");
  const char* help[] = {"tool", "--threads", "x", "--help"};
  ArgParser h("tool", "", "");
  EXPECT_EQ(h.parse(4, help), ArgParser::Outcome::kHelp);
}

TEST(ToolsUtil, SanitizesOutputNamesAndParsesAssignments) {
  EXPECT_EQ(sanitize_file_name("logits"), "logits");
  EXPECT_EQ(sanitize_file_name("out:0/y z"), "out_0_y_z");
  EXPECT_EQ(sanitize_file_name("a.b-c_D9"), "a.b-c_D9");
  EXPECT_EQ(sanitize_file_name("../x"), ".._x");
  EXPECT_EQ(sanitize_file_name(".."), "__");
  EXPECT_EQ(sanitize_file_name(""), "_");
  EXPECT_EQ(sanitize_file_name("\xc3\xa9"), "__");
  std::vector<InputAssignment> a;
  std::string error;
  ASSERT_TRUE(parse_input_assignments({"x=a.npy", "y=dir/b=c.npy"}, &a, &error)) << error;
  EXPECT_EQ(a[1].name, "y");
  EXPECT_EQ(a[1].path, "dir/b=c.npy");
  EXPECT_FALSE(parse_input_assignments({"x.npy"}, &a, &error));
  EXPECT_FALSE(parse_input_assignments({"=x.npy"}, &a, &error));
  EXPECT_FALSE(parse_input_assignments({"x="}, &a, &error));
  EXPECT_FALSE(parse_input_assignments({"x=1.npy", "x=2.npy"}, &a, &error));
  EXPECT_NE(error.find("given twice"), std::string::npos);
  EXPECT_EQ(json_string("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(ToolsStats, MatchesNumpyPercentilesAndSampleStd) {
  // numpy: np.percentile([5,1,4,2,3,10], [50,90,99]) = [3.5, 7.5, 9.75]; np.std(ddof=1) = 3.18852108
  LatencyStats s = compute_stats({5, 1, 4, 2, 3, 10});
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.mean, 25.0 / 6.0);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 10);
  EXPECT_DOUBLE_EQ(s.p50, 3.5);
  EXPECT_DOUBLE_EQ(s.p90, 7.5);
  EXPECT_NEAR(s.p99, 9.75, 1e-12);
  EXPECT_NEAR(s.std, 3.1885210782848317, 1e-12);
  LatencyStats one = compute_stats({2.5});
  EXPECT_EQ(one.std, 0);
  EXPECT_EQ(one.p99, 2.5);
  EXPECT_EQ(compute_stats({}).count, 0u);
  EXPECT_GT(peak_rss_bytes(), 1024u * 1024u);
}

TEST(ToolsRandom, FillsInRangeDeterministically) {
  std::vector<int64_t> a(1000), b(1000);
  ASSERT_TRUE(fill_random(POCKET_I64, a.size(), 7, 0, 2, a.data()));
  ASSERT_TRUE(fill_random(POCKET_I64, b.size(), 7, 0, 2, b.data()));
  EXPECT_EQ(a, b);
  int ones = 0;
  for (int64_t v : a) {
    ASSERT_TRUE(v == 0 || v == 1);
    ones += static_cast<int>(v);
  }
  EXPECT_GT(ones, 400);
  EXPECT_LT(ones, 600);
  std::vector<float> f(1000);
  ASSERT_TRUE(fill_random(POCKET_F32, f.size(), 1, -1, 1, f.data()));
  for (float v : f) ASSERT_TRUE(v >= -1.f && v < 1.f);
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(65504.f), 0x7bff);
  EXPECT_EQ(float_to_half(1e6f), 0x7c00);
  EXPECT_EQ(float_to_half(5.9604645e-08f), 0x0001);
  EXPECT_EQ(float_to_half(1.00048828125f), 0x3c00);  // halfway, rounds to even
  EXPECT_FALSE(fill_random(POCKET_I4, 4, 0, 0, 1, f.data()));
}

}  // namespace
}  // namespace pocket::tools
