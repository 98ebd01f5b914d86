// fuzz_onnx's regression inputs (fuzz/corpus/onnx/regress-*.onnx) through the same path the
// target takes: import, the default passes, the writer and Model::load_buffer. Each must end in a
// model or in an error that says what is wrong; none may crash or throw (they did: a libonnx
// shape-inference SEGV, an int64 overflow in Reshape's shape inference, bad_alloc/length_error in
// channel pruning).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "engine/model.h"

namespace pocket {
namespace {

namespace fs = std::filesystem;

TEST(ConverterFuzzRegressions, OnnxRegressionInputsEndCleanly) {
  const fs::path dir = fs::path(POCKET_SOURCE_DIR) / "fuzz" / "corpus" / "onnx";
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind("regress-", 0) == 0) files.push_back(e.path());
  if (files.empty()) GTEST_SKIP() << "no fuzz/corpus/onnx/regress-* next to the sources";
  for (const fs::path& f : files) {
    SCOPED_TRACE(f.filename().string());
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ir::Graph graph;
    std::vector<std::string> notes;
    Status st = converter::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &graph, &notes);
    if (!st.ok()) {
      EXPECT_FALSE(st.message().empty());
      continue;
    }
    converter::ConvertOptions options;
    converter::ConvertReport report;
    st = converter::optimize(graph, options, &report);
    if (!st.ok()) {
      EXPECT_FALSE(st.message().empty());
      continue;
    }
    auto written = converter::write_pocket(graph, options);
    if (!written.ok()) {
      EXPECT_FALSE(written.status().message().empty());
      continue;
    }
    auto model = Model::load_buffer(written.value().data(), written.value().size());
    if (!model.ok()) EXPECT_FALSE(model.status().message().empty());
  }
}

}  // namespace
}  // namespace pocket
