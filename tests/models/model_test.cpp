// Whole-model tests against PyTorch: each torchvision classifier exported by
// tests/fixtures/export_models.py is converted in process (converter library), written to the
// build folder as .pocket (beside the fixture, or in this tree's fixtures/ when the fixtures are
// another tree's, POCKET_FIXTURE_ROOT), loaded, run by a Session and compared with PyTorch's logits:
//   max |out - ref| <= 1e-4 * max |ref|.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "converter/passes/passes.h"
#include "engine/model.h"
#include "engine/session.h"

namespace pocket {
namespace {

constexpr double kRelTolerance = 1e-4;

std::string fixture_dir() {
  if (const char* env = std::getenv("POCKET_FIXTURE_DIR"); env && *env) return env;
  return POCKET_FIXTURE_DIR;
}

std::string path_of(const std::string& file) { return fixture_dir() + "/" + file; }

// Where the converted NAME.pocket files go: this build tree, never a reused tree's fixtures.
std::string out_path_of(const std::string& file) {
  std::filesystem::create_directories(POCKET_MODEL_OUT_DIR);
  return std::string(POCKET_MODEL_OUT_DIR) + "/" + file;
}

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// Why the fixtures are missing, or "" when they are there.
std::string fixtures_missing(const std::string& model) {
  if (!file_exists(path_of("manifest.json"))) {
    const std::string reason = POCKET_FIXTURE_SKIP_REASON;
    if (!reason.empty()) return "model fixtures unavailable: " + reason;
    return "no " + path_of("manifest.json") + " (build the pocket_model_fixtures target)";
  }
  for (const char* suffix : {".onnx", "_input.npy", "_output.npy"})
    if (!file_exists(path_of(model + suffix))) return "no fixture " + path_of(model + suffix);
  return "";
}

// A float32 C-order .npy file (format versions 1-3).
struct Npy {
  Shape shape;
  std::vector<float> data;
};

bool read_npy(const std::string& path, Npy* out, std::string* error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return *error = "cannot open " + path, false;
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return *error = path + ": not an .npy file", false;
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | static_cast<uint8_t>(bytes[9]) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return *error = path + ": truncated header", false;
    for (int i = 3; i >= 0; --i) header_len = header_len << 8 | static_cast<uint8_t>(bytes[8 + i]);
    header_start = 12;
  } else {
    return *error = path + ": unknown .npy version " + std::to_string(major), false;
  }
  if (header_start + header_len > bytes.size()) return *error = path + ": truncated header", false;
  const std::string header = bytes.substr(header_start, header_len);
  if (header.find("'descr': '<f4'") == std::string::npos)
    return *error = path + ": not little-endian float32: " + header, false;
  if (header.find("'fortran_order': False") == std::string::npos)
    return *error = path + ": Fortran order is not supported", false;
  const size_t open = header.find('(', header.find("'shape'"));
  const size_t close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos)
    return *error = path + ": no shape in header: " + header, false;
  out->shape.clear();
  std::stringstream dims(header.substr(open + 1, close - open - 1));
  for (std::string dim; std::getline(dims, dim, ',');)
    if (dim.find_first_not_of(' ') != std::string::npos) out->shape.push_back(std::stoll(dim));
  const int64_t n = num_elements(out->shape);
  const size_t data_start = header_start + header_len;
  if (n < 0 || bytes.size() - data_start != static_cast<size_t>(n) * sizeof(float))
    return *error = path + ": data size does not match shape " + shape_str(out->shape), false;
  out->data.resize(n);
  std::memcpy(out->data.data(), bytes.data() + data_start, n * sizeof(float));
  return true;
}

std::string histogram_str(const std::map<std::string, int>& ops) {
  std::string s;
  for (const auto& [op, count] : ops) s += (s.empty() ? "" : " ") + op + ":" + std::to_string(count);
  return s;
}

struct RunResult {
  std::vector<float> output;
  Shape shape;
};

// Model file -> Session(threads) -> run on the input -> the "logits" output.
void run_model(std::shared_ptr<const Model> model, int threads, const Npy& input, RunResult* out) {
  SessionOptions options;
  options.num_threads = threads;
  auto session = Session::create(model, options);
  ASSERT_TRUE(session.ok()) << "Session::create: " << session.status().message();
  Session& s = **session;
  ASSERT_EQ(s.num_inputs(), 1u);
  Status st = s.set_input("input", DType::F32, input.shape, input.data.data());
  ASSERT_TRUE(st.ok()) << "set_input: " << st.message();
  s.run();
  const int o = s.find_output("logits");
  ASSERT_GE(o, 0) << "no output named 'logits'";
  const Value& v = s.output(o);
  ASSERT_EQ(v.dtype, DType::F32);
  out->shape = v.shape;
  out->output.assign(v.as<const float>(), v.as<const float>() + v.elements());
}

void expect_close(const std::string& what, const RunResult& got, const Npy& ref) {
  ASSERT_EQ(shape_str(got.shape), shape_str(ref.shape)) << what;
  double max_ref = 0, max_err = 0;
  size_t worst = 0;
  for (size_t i = 0; i < ref.data.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(ref.data[i])));
    const double err = std::fabs(static_cast<double>(got.output[i]) - ref.data[i]);
    if (!(err <= max_err)) max_err = err, worst = i;  // NaN counts as the worst
  }
  const double bound = kRelTolerance * max_ref;
  std::printf("[ model    ] %-32s max|out-ref| = %.3g at %zu (out %.6g, ref %.6g), max|ref| = %.4g, "
              "relative %.3g (bound %.0e)\n",
              what.c_str(), max_err, worst, got.output[worst], ref.data[worst], max_ref,
              max_ref > 0 ? max_err / max_ref : max_err, kRelTolerance);
  EXPECT_GT(max_ref, 0) << what << ": the reference is all zeros";
  EXPECT_LE(max_err, bound) << what << ": worst element " << worst << " is " << got.output[worst]
                            << ", PyTorch says " << ref.data[worst];
}

class ModelTest : public ::testing::TestWithParam<std::string> {};

// Converts NAME.onnx, writes NAME.pocket beside it and returns the converter report.
void convert_fixture(const std::string& name, converter::ConvertReport* report) {
  converter::ConvertOptions options;
  auto bytes = converter::convert_onnx_file(path_of(name + ".onnx"), options, report);
  ASSERT_TRUE(bytes.ok()) << "convert " << name << ".onnx: " << bytes.status().message();
  std::printf("[ model    ] %s: converted in %.2fs, %zu bytes\n  ONNX ops:   %s\n  pocket ops: %s\n",
              name.c_str(), report->seconds, bytes->size(), histogram_str(report->ops_before).c_str(),
              histogram_str(report->ops_after).c_str());
  std::ofstream f(out_path_of(name + ".pocket"), std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  ASSERT_TRUE(f.good()) << "cannot write " << out_path_of(name + ".pocket");
}

TEST_P(ModelTest, MatchesPyTorch) {
  const std::string name = GetParam();
  if (std::string why = fixtures_missing(name); !why.empty()) GTEST_SKIP() << why;
  Npy input, ref;
  std::string error;
  ASSERT_TRUE(read_npy(path_of(name + "_input.npy"), &input, &error)) << error;
  ASSERT_TRUE(read_npy(path_of(name + "_output.npy"), &ref, &error)) << error;

  converter::ConvertReport report;
  ASSERT_NO_FATAL_FAILURE(convert_fixture(name, &report));
  auto model = Model::load_file(out_path_of(name + ".pocket"));
  ASSERT_TRUE(model.ok()) << "load " << name << ".pocket: " << model.status().message();

  RunResult got;
  ASSERT_NO_FATAL_FAILURE(run_model(*model, 1, input, &got));
  expect_close(name + " (1 thread)", got, ref);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, ModelTest,
                         ::testing::Values("mobilenet_v3_small", "mobilenet_v3_large",
                                           "mobilenet_v2", "resnet18", "squeezenet1_1",
                                           "shufflenet_v2_x1_0", "efficientnet_b0"),
                         [](const auto& info) { return info.param; });

// The in-memory path (load_buffer) with a 2-thread session must agree with the reference too.
TEST(ModelThreads, MobileNetV2TwoThreadsFromBuffer) {
  const std::string name = "mobilenet_v2";
  if (std::string why = fixtures_missing(name); !why.empty()) GTEST_SKIP() << why;
  Npy input, ref;
  std::string error;
  ASSERT_TRUE(read_npy(path_of(name + "_input.npy"), &input, &error)) << error;
  ASSERT_TRUE(read_npy(path_of(name + "_output.npy"), &ref, &error)) << error;
  converter::ConvertReport report;
  auto bytes = converter::convert_onnx_file(path_of(name + ".onnx"), {}, &report);
  ASSERT_TRUE(bytes.ok()) << "convert: " << bytes.status().message();
  auto model = Model::load_buffer(bytes->data(), bytes->size());
  ASSERT_TRUE(model.ok()) << "load_buffer: " << model.status().message();
  RunResult one, two;
  ASSERT_NO_FATAL_FAILURE(run_model(*model, 2, input, &two));
  expect_close(name + " (2 threads)", two, ref);
  ASSERT_NO_FATAL_FAILURE(run_model(*model, 1, input, &one));
  ASSERT_EQ(one.output.size(), two.output.size());
  double diff = 0, max_ref = 0;
  for (size_t i = 0; i < one.output.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(one.output[i]) - two.output[i]));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(ref.data[i])));
  }
  std::printf("[ model    ] %s: max|1 thread - 2 threads| = %.3g\n", name.c_str(), diff);
  EXPECT_LE(diff, kRelTolerance * max_ref) << "1-thread and 2-thread results differ";
}

// After the NHWC pass, no Transpose may sit between two convolutions: every Transpose left must
// have no Conv upstream (the input's NCHW -> NHWC) or none downstream (before the classifier).
TEST(ModelLayout, MobileNetV3SmallHasNoTransposeBetweenConvs) {
  const std::string name = "mobilenet_v3_small";
  if (std::string why = fixtures_missing(name); !why.empty()) GTEST_SKIP() << why;
  ir::Graph g;
  Status st = converter::import_onnx_file(path_of(name + ".onnx"), &g);
  ASSERT_TRUE(st.ok()) << "import: " << st.message();
  converter::ConvertOptions options;
  converter::ConvertReport report;
  st = converter::optimize(g, options, &report);
  ASSERT_TRUE(st.ok()) << "optimize: " << st.message();
  const auto counts = g.op_counts();
  std::printf("[ model    ] %s op histogram after the passes: %s\n", name.c_str(),
              histogram_str(counts).c_str());
  for (const std::string& note : report.notes) std::printf("  note: %s\n", note.c_str());

  const int n = static_cast<int>(g.nodes.size());
  auto reach = [&](int start, bool downstream) {
    std::vector<bool> seen(n, false);
    std::vector<int> stack{start};
    bool conv = false;
    while (!stack.empty()) {
      const int i = stack.back();
      stack.pop_back();
      const ir::Node& node = g.nodes[i];
      if (i != start && node.op == "Conv") conv = true;
      std::vector<int> next;
      if (downstream) {
        for (const std::string& o : node.outputs)
          for (int c : g.consumers(o)) next.push_back(c);
      } else {
        for (const std::string& in : node.inputs)
          if (!in.empty()) next.push_back(g.producer(in));
      }
      for (int j : next)
        if (j >= 0 && !seen[j]) seen[j] = true, stack.push_back(j);
    }
    return conv;
  };
  int transposes = 0, between = 0;
  for (int i = 0; i < n; ++i) {
    if (g.nodes[i].op != "Transpose") continue;
    ++transposes;
    if (reach(i, false) && reach(i, true)) {
      ++between;
      ADD_FAILURE() << "Transpose '" << g.nodes[i].name << "' sits between convolutions";
    }
  }
  std::printf("[ model    ] %s: %d Transpose(s), %d between convolutions\n", name.c_str(), transposes,
              between);
  EXPECT_GT(counts.count("Conv") ? counts.at("Conv") : 0, 0) << "no Conv left after the passes";
}

}  // namespace
}  // namespace pocket
