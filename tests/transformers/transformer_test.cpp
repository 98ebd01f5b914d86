// Whole-model transformer tests against PyTorch (fixtures by scripts/export_distilbert.py and
// scripts/export_whisper.py, seeded weights): each ONNX graph is converted in process, written
// beside the fixture as .pocket, loaded, run by a Session and compared with PyTorch:
//   - DistilBERT logits with padding (batch 2, one short row), at seq 128 and, after
//     Session::resize_input on the same session, at seq 16: max|out - ref| <= 1e-3 * max|ref|;
//   - Whisper tiny encoder outputs (audio_features, cross_k_i, cross_v_i) and decoder_full logits;
//   - 32 greedy steps with the decoder-step graph and its in-place KV cache equal PyTorch's tokens,
//     and the no-cache decoder (decoder_full, resized every step) gives the same tokens.
// Tests skip with the reason when the fixtures cannot be made (no torch, no espeak-ng).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "engine/model.h"
#include "engine/session.h"

namespace pocket {
namespace {

constexpr double kRelTolerance = 1e-3;

std::string fixture_dir() {
  if (const char* env = std::getenv("POCKET_T_FIXTURE_DIR"); env && *env) return env;
  return POCKET_T_FIXTURE_DIR;
}

std::string path_of(const std::string& file) { return fixture_dir() + "/" + file; }

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

std::string fixtures_missing(const std::string& model) {
  if (!file_exists(path_of(model + "/manifest.json"))) {
    const std::string reason = POCKET_T_SKIP_REASON;
    if (!reason.empty()) return "transformer fixtures unavailable: " + reason;
    return "no " + path_of(model + "/manifest.json") + " (build the pocket_transformer_fixtures target)";
  }
  return "";
}

// A float32 or int64 C-order .npy file.
struct Npy {
  Shape shape;
  DType dtype = DType::F32;
  std::vector<float> f;
  std::vector<int64_t> i;
};

bool read_npy(const std::string& path, Npy* out, std::string* error) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return *error = "cannot open " + path, false;
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) return *error = path + ": not an .npy file", false;
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | static_cast<uint8_t>(bytes[9]) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    for (int k = 3; k >= 0; --k) header_len = header_len << 8 | static_cast<uint8_t>(bytes[8 + k]);
    header_start = 12;
  } else {
    return *error = path + ": unknown .npy version", false;
  }
  if (header_start + header_len > bytes.size()) return *error = path + ": truncated header", false;
  const std::string header = bytes.substr(header_start, header_len);
  size_t elem = 4;
  if (header.find("'descr': '<f4'") != std::string::npos) {
    out->dtype = DType::F32;
  } else if (header.find("'descr': '<i8'") != std::string::npos) {
    out->dtype = DType::I64;
    elem = 8;
  } else {
    return *error = path + ": not float32 or int64: " + header, false;
  }
  if (header.find("'fortran_order': False") == std::string::npos) return *error = path + ": Fortran order", false;
  const size_t open = header.find('(', header.find("'shape'"));
  const size_t close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos) return *error = path + ": no shape", false;
  out->shape.clear();
  std::stringstream dims(header.substr(open + 1, close - open - 1));
  for (std::string dim; std::getline(dims, dim, ',');)
    if (dim.find_first_not_of(' ') != std::string::npos) out->shape.push_back(std::stoll(dim));
  const int64_t n = num_elements(out->shape);
  const size_t start = header_start + header_len;
  if (n < 0 || bytes.size() - start != static_cast<size_t>(n) * elem)
    return *error = path + ": data size does not match shape " + shape_str(out->shape), false;
  if (out->dtype == DType::F32) {
    out->f.resize(n);
    std::memcpy(out->f.data(), bytes.data() + start, n * elem);
  } else {
    out->i.resize(n);
    std::memcpy(out->i.data(), bytes.data() + start, n * elem);
  }
  return true;
}

Npy load(const std::string& file) {
  Npy a;
  std::string error;
  EXPECT_TRUE(read_npy(path_of(file), &a, &error)) << error;
  return a;
}

// Converts DIR/NAME.onnx to DIR/NAME.pocket (in process) and loads it.
std::shared_ptr<const Model> convert_and_load(const std::string& dir, const std::string& name) {
  converter::ConvertOptions options;
  converter::ConvertReport report;
  auto bytes = converter::convert_onnx_file(path_of(dir + "/" + name + ".onnx"), options, &report);
  EXPECT_TRUE(bytes.ok()) << "convert " << dir << "/" << name << ".onnx: " << bytes.status().message();
  if (!bytes.ok()) return nullptr;
  std::string hist;
  for (const auto& [op, count] : report.ops_after) hist += (hist.empty() ? "" : " ") + op + ":" + std::to_string(count);
  std::printf("[ model    ] %s/%s: converted in %.2fs, %zu bytes; pocket ops: %s\n", dir.c_str(), name.c_str(),
              report.seconds, bytes->size(), hist.c_str());
  // ctest runs test cases as parallel processes that convert the same model: each writes its own
  // file and renames it into place, so no process maps a file another one is rewriting.
  const std::string out = path_of(dir + "/" + name + ".pocket");
  const std::string tmp = out + ".tmp" + std::to_string(::getpid());
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes->data()), static_cast<std::streamsize>(bytes->size()));
  EXPECT_TRUE(f.good()) << "cannot write " << tmp;
  f.close();
  EXPECT_EQ(std::rename(tmp.c_str(), out.c_str()), 0) << "cannot rename " << tmp << " to " << out;
  auto model = Model::load_file(out);
  EXPECT_TRUE(model.ok()) << "load " << out << ": " << model.status().message();
  return model.ok() ? *model : nullptr;
}

std::unique_ptr<Session> make_session(std::shared_ptr<const Model> model, int threads = 1) {
  SessionOptions options;
  options.num_threads = threads;
  auto s = Session::create(std::move(model), options);
  EXPECT_TRUE(s.ok()) << "Session::create: " << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

// Relative error of out against ref; prints a line and checks the bound.
double expect_close(const std::string& what, const float* out, const Shape& out_shape, const Npy& ref,
                    size_t ref_offset = 0, size_t count = 0) {
  if (count == 0) {
    EXPECT_EQ(shape_str(out_shape), shape_str(ref.shape)) << what;
    if (shape_str(out_shape) != shape_str(ref.shape)) return INFINITY;
    count = ref.f.size();
  }
  double max_ref = 0, max_err = 0;
  size_t worst = 0;
  for (size_t k = 0; k < count; ++k) {
    const double r = ref.f[ref_offset + k];
    max_ref = std::max(max_ref, std::fabs(r));
    const double err = std::fabs(static_cast<double>(out[k]) - r);
    if (!(err <= max_err)) max_err = err, worst = k;
  }
  const double rel = max_ref > 0 ? max_err / max_ref : max_err;
  std::printf("[ model    ] %-40s max|out-ref| = %.3g at %zu (out %.6g, ref %.6g), max|ref| = %.4g, relative %.3g\n",
              what.c_str(), max_err, worst, out[worst], ref.f[ref_offset + worst], max_ref, rel);
  EXPECT_GT(max_ref, 0) << what << ": the reference is all zeros";
  EXPECT_LE(max_err, kRelTolerance * max_ref) << what << ": worst element " << worst;
  return rel;
}

void set(Session& s, const std::string& name, const Npy& a) {
  const Status st = a.dtype == DType::F32 ? s.set_input(name, DType::F32, a.shape, a.f.data())
                                          : s.set_input(name, DType::I64, a.shape, a.i.data());
  ASSERT_TRUE(st.ok()) << "set_input " << name << ": " << st.message();
}

const Value& output(const Session& s, const std::string& name) {
  const int o = s.find_output(name);
  EXPECT_GE(o, 0) << "no output " << name;
  return s.output(o < 0 ? 0 : static_cast<size_t>(o));
}

// ------------------------------------------------------------------------------------------------

TEST(DistilBert, LogitsWithPaddingAtTwoSequenceLengths) {
  if (std::string why = fixtures_missing("distilbert"); !why.empty()) GTEST_SKIP() << why;
  auto model = convert_and_load("distilbert", "model");
  ASSERT_TRUE(model);
  auto s = make_session(model);
  ASSERT_TRUE(s);
  for (int seq : {128, 16}) {
    const std::string p = "distilbert/ref_seq" + std::to_string(seq) + "_";
    const Npy ids = load(p + "input_ids.npy"), mask = load(p + "attention_mask.npy"), ref = load(p + "logits.npy");
    // resize_input binds "batch" and "seq" by name: attention_mask follows input_ids.
    const Status st = s->resize_input("input_ids", ids.shape);
    ASSERT_TRUE(st.ok()) << "resize_input input_ids " << shape_str(ids.shape) << ": " << st.message();
    ASSERT_NO_FATAL_FAILURE(set(*s, "input_ids", ids));
    ASSERT_NO_FATAL_FAILURE(set(*s, "attention_mask", mask));
    s->run();
    const Value& v = output(*s, "logits");
    expect_close("distilbert seq " + std::to_string(seq) + " (padded row)", v.as<const float>(), v.shape, ref);
  }
}

TEST(DistilBert, TwoThreadsAgree) {
  if (std::string why = fixtures_missing("distilbert"); !why.empty()) GTEST_SKIP() << why;
  auto model = convert_and_load("distilbert", "model");
  ASSERT_TRUE(model);
  auto s = make_session(model, 2);
  ASSERT_TRUE(s);
  const Npy ids = load("distilbert/ref_seq128_input_ids.npy"), mask = load("distilbert/ref_seq128_attention_mask.npy");
  const Npy ref = load("distilbert/ref_seq128_logits.npy");
  ASSERT_TRUE(s->resize_input("input_ids", ids.shape).ok());
  ASSERT_NO_FATAL_FAILURE(set(*s, "input_ids", ids));
  ASSERT_NO_FATAL_FAILURE(set(*s, "attention_mask", mask));
  s->run();
  const Value& v = output(*s, "logits");
  expect_close("distilbert seq 128 (2 threads)", v.as<const float>(), v.shape, ref);
}

// ------------------------------------------------------------------------------------------------
// Whisper tiny

int count_layers(const std::string& dir) {
  int n = 0;
  while (file_exists(path_of(dir + "/ref_cross_k_" + std::to_string(n) + ".npy"))) ++n;
  return n;
}

TEST(WhisperTiny, EncoderMatchesPyTorch) {
  const std::string dir = "whisper-tiny";
  if (std::string why = fixtures_missing(dir); !why.empty()) GTEST_SKIP() << why;
  auto model = convert_and_load(dir, "encoder");
  ASSERT_TRUE(model);
  auto s = make_session(model);
  ASSERT_TRUE(s);
  ASSERT_NO_FATAL_FAILURE(set(*s, "mel", load(dir + "/ref_mel.npy")));
  s->run();
  const Value& af = output(*s, "audio_features");
  expect_close("whisper-tiny audio_features", af.as<const float>(), af.shape, load(dir + "/ref_audio_features.npy"));
  const int L = count_layers(dir);
  ASSERT_GT(L, 0);
  for (int i = 0; i < L; ++i) {
    for (const char* kv : {"k", "v"}) {
      const std::string name = std::string("cross_") + kv + "_" + std::to_string(i);
      const Value& v = output(*s, name);
      expect_close("whisper-tiny " + name, v.as<const float>(), v.shape, load(dir + "/ref_" + name + ".npy"));
    }
  }
}

TEST(WhisperTiny, DecoderFullLogits) {
  const std::string dir = "whisper-tiny";
  if (std::string why = fixtures_missing(dir); !why.empty()) GTEST_SKIP() << why;
  auto model = convert_and_load(dir, "decoder_full");
  ASSERT_TRUE(model);
  auto s = make_session(model);
  ASSERT_TRUE(s);
  const Npy af = load(dir + "/ref_audio_features.npy");
  for (const char* which : {"decoder_full", "greedy"}) {
    const Npy tokens = load(dir + "/ref_" + std::string(which) + "_tokens.npy");
    const Npy ref = load(dir + "/ref_" + std::string(which) + "_logits.npy");
    const Status st = s->resize_input("tokens", tokens.shape);
    ASSERT_TRUE(st.ok()) << "resize_input tokens " << shape_str(tokens.shape) << ": " << st.message();
    ASSERT_NO_FATAL_FAILURE(set(*s, "tokens", tokens));
    ASSERT_NO_FATAL_FAILURE(set(*s, "audio_features", af));
    s->run();
    const Value& v = output(*s, "logits");
    expect_close("whisper-tiny decoder_full " + std::string(which) + " " + shape_str(tokens.shape),
                 v.as<const float>(), v.shape, ref);
  }
}

// Whisper's greedy choice: suppressed tokens (and the blank set at the first step) excluded.
int64_t pick(const float* logits, int64_t vocab, const std::vector<int64_t>& suppress,
             const std::vector<int64_t>& blank, bool first, double* margin) {
  std::vector<double> l(logits, logits + vocab);
  for (int64_t t : suppress) l[static_cast<size_t>(t)] = -INFINITY;
  if (first)
    for (int64_t t : blank) l[static_cast<size_t>(t)] = -INFINITY;
  int64_t best = 0;
  for (int64_t t = 1; t < vocab; ++t)
    if (l[t] > l[best]) best = t;
  double second = -INFINITY;
  for (int64_t t = 0; t < vocab; ++t)
    if (t != best) second = std::max(second, l[t]);
  *margin = l[best] - second;
  return best;
}

constexpr int64_t kEot = 50257;

TEST(WhisperTiny, GreedyKvCacheMatchesPyTorchAndNoCache) {
  const std::string dir = "whisper-tiny";
  if (std::string why = fixtures_missing(dir); !why.empty()) GTEST_SKIP() << why;
  const int L = count_layers(dir);
  ASSERT_GT(L, 0);
  const Npy ref_tokens = load(dir + "/ref_greedy_tokens.npy"), ref_logits = load(dir + "/ref_greedy_logits.npy");
  const Npy suppress = load(dir + "/ref_suppress_tokens.npy"), blank = load(dir + "/ref_suppress_blank.npy");
  ASSERT_EQ(ref_tokens.dtype, DType::I64);
  const std::vector<int64_t> want(ref_tokens.i.begin(), ref_tokens.i.end());
  const size_t prefix = 4, steps = want.size() - prefix;
  const int64_t vocab = ref_logits.shape.back();

  // --- KV cache: decoder-step graph, cache updated in place.
  auto model = convert_and_load(dir, "decoder");
  ASSERT_TRUE(model);
  auto s = make_session(model);
  ASSERT_TRUE(s);
  for (int i = 0; i < L; ++i) {
    for (const char* kv : {"k", "v"}) {
      const std::string n = std::to_string(i);
      ASSERT_NO_FATAL_FAILURE(set(*s, std::string("cross_") + kv + "_" + n, load(dir + "/ref_cross_" + kv + "_" + n + ".npy")));
      const int in = s->find_input(std::string("self_") + kv + "_" + n);
      ASSERT_GE(in, 0);
      Value& c = s->input(static_cast<size_t>(in));
      std::memset(c.data, 0, c.bytes());
    }
  }
  std::vector<int64_t> got(want.begin(), want.begin() + prefix);
  int in_place = 0, copied = 0;
  double worst_rel = 0;
  size_t fed = 0;
  for (size_t step = 0; step < steps; ++step) {
    const float* logits = nullptr;
    while (fed < got.size()) {
      const int64_t tok = got[fed], pos = static_cast<int64_t>(fed);
      ASSERT_TRUE(s->set_input("tokens", DType::I64, {1, 1}, &tok).ok());
      ASSERT_TRUE(s->set_input("position", DType::I64, {1}, &pos).ok());
      s->run();
      for (int i = 0; i < L; ++i) {
        for (const char* kv : {"k", "v"}) {
          const std::string n = std::string("self_") + kv + "_" + std::to_string(i);
          Value& in = s->input(static_cast<size_t>(s->find_input(n)));
          const Value& out = output(*s, n + "_out");
          if (out.data == in.data) {
            ++in_place;
          } else {
            ++copied;
            std::memcpy(in.data, out.data, in.bytes());
          }
        }
      }
      const Value& lv = output(*s, "logits");
      logits = lv.as<const float>();
      // Row `fed` of the full decoder's logits over the reference sequence is this step's logits.
      double max_ref = 0, max_err = 0;
      for (int64_t t = 0; t < vocab; ++t) {
        const double r = ref_logits.f[fed * vocab + t];
        max_ref = std::max(max_ref, std::fabs(r));
        max_err = std::max(max_err, std::fabs(logits[t] - r));
      }
      worst_rel = std::max(worst_rel, max_err / max_ref);
      ++fed;
    }
    double margin = 0;
    const int64_t t = pick(logits, vocab, suppress.i, blank.i, step == 0, &margin);
    got.push_back(t);
    if (t == kEot) break;
  }
  std::printf("[ model    ] whisper-tiny KV cache: %zu steps, worst step-logits relative error %.3g, cache %s "
              "(%d in place, %d copied)\n",
              got.size() - prefix, worst_rel, copied ? "COPIED" : "updated in place", in_place, copied);
  EXPECT_LE(worst_rel, kRelTolerance) << "KV-cache step logits differ from PyTorch's full-decoder logits";
  EXPECT_EQ(got, want) << "greedy tokens with the KV cache differ from PyTorch's";
  EXPECT_EQ(copied, 0) << "the self-attention cache was not updated in place";

  // --- No cache: decoder_full resized to the sequence length every step.
  auto full_model = convert_and_load(dir, "decoder_full");
  ASSERT_TRUE(full_model);
  auto f = make_session(full_model);
  ASSERT_TRUE(f);
  const Npy af = load(dir + "/ref_audio_features.npy");
  std::vector<int64_t> nocache(want.begin(), want.begin() + prefix);
  for (size_t step = 0; step < steps; ++step) {
    const Shape shape{1, static_cast<int64_t>(nocache.size())};
    ASSERT_TRUE(f->resize_input("tokens", shape).ok());
    ASSERT_TRUE(f->set_input("tokens", DType::I64, shape, nocache.data()).ok());
    ASSERT_NO_FATAL_FAILURE(set(*f, "audio_features", af));
    f->run();
    const Value& lv = output(*f, "logits");
    double margin = 0;
    const int64_t t = pick(lv.as<const float>() + (nocache.size() - 1) * vocab, vocab, suppress.i, blank.i, step == 0, &margin);
    nocache.push_back(t);
    if (t == kEot) break;
  }
  EXPECT_EQ(nocache, want) << "greedy tokens without the cache differ from PyTorch's";
  EXPECT_EQ(nocache, got) << "greedy tokens with and without the KV cache differ";
}

}  // namespace
}  // namespace pocket
