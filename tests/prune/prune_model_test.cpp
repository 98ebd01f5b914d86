// Model tests of prune_channels and fold_qdq (issue #5) on fixtures exported at build time
// (tests/prune/CMakeLists.txt):
//  - MobileNetV3-Small pruned 0/30/50/70 % (scripts/export_pruned_mobilenet.py): converted in
//    process, the engine's logits within 1e-4 of PyTorch's (relative to the largest |logit|),
//    channels removed and parameters falling with the amount;
//  - QDQ models (scripts/export_qdq.py): the QAT digits CNN and the hand-built uint8 graph import
//    as int8 ops (I8 Conv/Gemm/Add/pools, no ONNX scale inputs left) and match PyTorch's fake-quant
//    (numpy's QDQ simulation) within one output quantization step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "engine/model.h"
#include "engine/session.h"
#include "tools/common/npy.h"

namespace pocket {
namespace {

const std::string kDir = POCKET_P_FIXTURE_DIR;

#define SKIP_WITHOUT(path)                                                                    \
  do {                                                                                        \
    if (std::string(POCKET_P_SKIP_REASON).size()) GTEST_SKIP() << POCKET_P_SKIP_REASON;       \
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is missing (build pocket_prune_fixtures)"; \
  } while (0)

std::vector<float> load_f32(const std::string& path, std::vector<int64_t>* shape = nullptr) {
  tools::NpyArray a;
  std::string err;
  EXPECT_TRUE(tools::read_npy(path, &a, &err)) << path << ": " << err;
  EXPECT_EQ(a.dtype, POCKET_F32) << path;
  if (shape) *shape = a.shape;
  std::vector<float> v(a.elements());
  if (a.data.size() == v.size() * 4) std::memcpy(v.data(), a.data.data(), a.data.size());
  return v;
}

struct Converted {
  converter::ConvertReport report;
  ir::Graph graph;
  std::map<std::string, std::vector<float>> outputs;
  bool ok = false;
};

// Converts (keeping the optimised IR), runs one input, collects the float outputs by name.
Converted convert_and_run(const std::string& onnx, const std::string& input_npy, bool prune = true) {
  Converted r;
  converter::ConvertOptions options;
  options.prune = prune;
  Status st = converter::import_onnx_file(onnx, &r.graph, &r.report.notes);
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok()) return r;
  st = converter::optimize(r.graph, options, &r.report);
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok()) return r;
  auto bytes = converter::write_pocket(r.graph, options);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  if (!bytes.ok()) return r;
  r.report.file_bytes = bytes.value().size();
  auto model = Model::load_buffer(bytes.value().data(), bytes.value().size());
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return r;
  auto session = Session::create(model.value(), {});
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return r;
  Session& s = *session.value();
  std::vector<int64_t> shape;
  const std::vector<float> x = load_f32(input_npy, &shape);
  st = s.set_input("input", DType::F32, shape, x.data());
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok()) return r;
  s.run();
  for (size_t k = 0; k < s.num_outputs(); ++k) {
    const Value& v = s.output(k);
    r.outputs[r.graph.outputs[k]] = std::vector<float>(v.as<float>(), v.as<float>() + v.elements());
  }
  r.ok = true;
  return r;
}

// ---- pruning ----------------------------------------------------------------------------------

struct PrunedResult {
  int64_t params_before = 0, params_after = 0;
  int channels = 0;
  uint64_t bytes = 0;
};

PrunedResult check_pruned(int pct) {
  const std::string stem = kDir + "/prune/mobilenet_v3_small_p" + std::to_string(pct);
  PrunedResult res;
  Converted r = convert_and_run(stem + ".onnx", stem + "_input.npy");
  EXPECT_TRUE(r.ok);
  if (!r.ok) return res;
  const std::vector<float> want = load_f32(stem + "_output.npy");
  const std::vector<float>& got = r.outputs["logits"];
  EXPECT_EQ(got.size(), want.size());
  float scale = 0.f, worst = 0.f;
  for (float v : want) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  EXPECT_LE(worst, 1e-4f * scale) << pct << " %: max |diff| " << worst << " vs max |logit| " << scale;
  res.params_before = r.report.params_before;
  res.params_after = r.report.params_after;
  res.channels = r.report.pruned_channels;
  res.bytes = r.report.file_bytes;
  std::cout << pct << " %: pruned " << res.channels << " channels: params " << res.params_before << " -> "
            << res.params_after << ", file " << res.bytes << " bytes, max |diff| " << worst << " (max |logit| "
            << scale << ")\n";
  for (const auto& n : r.report.notes)
    if (n.find("prune_channels") != std::string::npos && n.find("kept") != std::string::npos)
      std::cout << "  " << n << "\n";
  return res;
}

TEST(PrunedMobileNet, OutputsMatchAndParametersFall) {
  SKIP_WITHOUT(kDir + "/prune/mobilenet_v3_small_p70.onnx");
  std::vector<PrunedResult> rs;
  for (int pct : {0, 30, 50, 70}) rs.push_back(check_pruned(pct));
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].channels, 0);
  EXPECT_EQ(rs[0].params_after, rs[0].params_before);
  for (size_t k = 1; k < rs.size(); ++k) {
    EXPECT_GT(rs[k].channels, rs[k - 1].channels);
    EXPECT_LT(rs[k].params_after, rs[k - 1].params_after);
    EXPECT_LT(rs[k].bytes, rs[k - 1].bytes);
  }
  // 30 % of the channels of (almost) every layer: at least a third of the weights go.
  EXPECT_LT(rs[1].params_after, rs[0].params_after * 2 / 3);
}

// ---- QDQ ---------------------------------------------------------------------------------------

int count_int8(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) {
    if (node.op != op || node.inputs.empty()) continue;
    const ir::Value* x = g.find(node.inputs[0]);
    n += x && x->dtype == ir::DType::I8;
  }
  return n;
}

// The scale of the int8 value a float graph output is dequantized from.
float output_step(const ir::Graph& g, const std::string& out) {
  for (const auto& n : g.nodes)
    if (n.op == "DequantizeLinear" && n.outputs[0] == out) {
      const ir::Value* q = g.find(n.inputs[0]);
      if (q && q->has_quant && !q->quant.scales.empty()) return q->quant.scales[0];
    }
  return 0.f;
}

void expect_within(const std::vector<float>& got, const std::vector<float>& want, float tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  float worst = 0.f;
  for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  EXPECT_LE(worst, tol) << what << ": max |diff| " << worst;
  std::cout << what << ": max |diff| " << worst << " (tolerance " << tol << ")\n";
}

TEST(QdqImport, HandBuiltUint8Graph) {
  const std::string dir = kDir + "/qdq";
  SKIP_WITHOUT(dir + "/qdq_hand.onnx");
  Converted r = convert_and_run(dir + "/qdq_hand.onnx", dir + "/qdq_hand_input.npy");
  ASSERT_TRUE(r.ok);
  const ir::Graph& g = r.graph;
  EXPECT_EQ(count_int8(g, "Conv"), 2);
  EXPECT_EQ(count_int8(g, "Gemm"), 1);
  EXPECT_EQ(count_int8(g, "MaxPool"), 1);
  EXPECT_EQ(count_int8(g, "GlobalAveragePool"), 1);
  // The Add joins the 1x1 Conv as its residual input (int8 Conv + R).
  for (const auto& n : g.nodes) {
    if (n.op == "QuantizeLinear" || n.op == "DequantizeLinear") EXPECT_EQ(n.inputs.size(), 1u) << n.name;
    if (n.op == "Conv") {
      const ir::Value* w = g.find(n.inputs[1]);
      ASSERT_TRUE(w && w->has_quant);
      EXPECT_EQ(w->dtype, ir::DType::I8);
      EXPECT_EQ(w->quant.axis, 0);
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) EXPECT_EQ(g.find(n.inputs[2])->dtype, ir::DType::F32);
    }
  }
  const float step = output_step(g, "logits");
  EXPECT_NEAR(step, 0.03f, 1e-7f);
  expect_within(r.outputs["logits"], load_f32(dir + "/qdq_hand_output.npy"), 1.01f * step, "hand logits");
  // Sigmoid of the int8 sum: one step of the sum (0.05) moves it at most 0.0125.
  expect_within(r.outputs["sig"], load_f32(dir + "/qdq_hand_sigmoid.npy"), 0.0126f, "hand sigmoid");
}

TEST(QdqImport, QatDigitsCnn) {
  const std::string dir = kDir + "/qdq";
  SKIP_WITHOUT(dir + "/qat_digits.onnx");
  Converted r = convert_and_run(dir + "/qat_digits.onnx", dir + "/qat_digits_input.npy");
  ASSERT_TRUE(r.ok);
  const ir::Graph& g = r.graph;
  EXPECT_EQ(count_int8(g, "Conv"), 3);
  EXPECT_EQ(count_int8(g, "Gemm"), 1);
  EXPECT_EQ(count_int8(g, "GlobalAveragePool"), 1);
  int q = 0, dq = 0;
  for (const auto& n : g.nodes) {
    q += n.op == "QuantizeLinear";
    dq += n.op == "DequantizeLinear";
  }
  EXPECT_EQ(q, 1);   // the input
  EXPECT_EQ(dq, 1);  // the logits
  const float step = output_step(g, "logits");
  ASSERT_GT(step, 0.f);
  const std::vector<float> want = load_f32(dir + "/qat_digits_output.npy");
  const std::vector<float>& got = r.outputs["logits"];
  ASSERT_EQ(got.size(), want.size());
  // PyTorch's fake quant rounds float sums the engine computes in int32 + f32 epilogues: a value on
  // a rounding boundary may land one step away; allow one step.
  expect_within(got, want, 1.01f * step, "QAT digits logits");
  // Same predicted digits.
  const size_t classes = 10;
  int same = 0;
  for (size_t b = 0; b < want.size() / classes; ++b) {
    auto arg = [&](const std::vector<float>& v) {
      return std::max_element(v.begin() + b * classes, v.begin() + (b + 1) * classes) - v.begin();
    };
    same += arg(got) == arg(want);
  }
  EXPECT_GE(same, static_cast<int>(want.size() / classes) - 1);
}

}  // namespace
}  // namespace pocket
