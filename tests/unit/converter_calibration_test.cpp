// Calibration (converter/quantize/calibration.h): loading .npy and image calibration sets with every
// error, running a small IR graph on samples with intermediates exposed, range selection (min-max,
// percentile, entropy) on known distributions, the progress bar and SQNR.
#include "converter/quantize/calibration.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tools/common/npy.h"

namespace pocket::converter::quantize {
namespace {

namespace fs = std::filesystem;
using ir::DType;

class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("pocket_calib_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& v) {
  std::string error;
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_TRUE(tools::write_npy(path, POCKET_F32, shape, v.data(), v.size() * sizeof(float), &error)) << error;
}

void write_npy_i64(const std::string& path, const std::vector<int64_t>& shape, const std::vector<int64_t>& v) {
  std::string error;
  ASSERT_TRUE(tools::write_npy(path, POCKET_I64, shape, v.data(), v.size() * sizeof(int64_t), &error)) << error;
}

void write_file(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

// Binary PPM (P6) from RGB bytes, or PGM (P5) from gray bytes.
void write_pnm(const std::string& path, int w, int h, const std::vector<uint8_t>& px, bool gray) {
  std::string s = std::string(gray ? "P5" : "P6") + "\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n";
  s.append(reinterpret_cast<const char*>(px.data()), px.size());
  write_file(path, s);
}

void add_input(ir::Graph& g, const std::string& name, DType dt, std::vector<int64_t> shape,
               std::vector<std::string> dim_names = {}) {
  ir::Value& v = g.value(name);
  v.name = name;
  v.dtype = dt;
  v.shape = std::move(shape);
  v.dim_names = std::move(dim_names);
  v.shape_known = true;
  g.inputs.push_back(name);
}

std::vector<uint8_t> bytes_of(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(float));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

void add_node(ir::Graph& g, const std::string& op, std::vector<std::string> in, const std::string& out,
              std::vector<int64_t> shape, std::vector<std::string> dim_names = {}) {
  ir::Node n;
  n.op = op;
  n.name = op + "_" + out;
  n.inputs = std::move(in);
  n.outputs = {out};
  g.nodes.push_back(n);
  ir::Value& v = g.value(out);
  v.name = out;
  v.dtype = DType::F32;
  v.shape = std::move(shape);
  v.dim_names = std::move(dim_names);
  v.shape_known = true;
}

const std::vector<float> kC = {1.f, -2.f, 3.f, -4.f};
const std::vector<float> kD = {0.5f, 0.25f, -1.f, 2.f};

// y = Relu(x * c) + d with x [batch, 4] (batch symbolic).
ir::Graph small_graph(std::string* c_name = nullptr) {
  ir::Graph g;
  add_input(g, "x", DType::F32, {-1, 4}, {"batch", ""});
  const std::string c = g.add_constant("c", DType::F32, {4}, bytes_of(kC));
  const std::string d = g.add_constant("d", DType::F32, {4}, bytes_of(kD));
  if (c_name) *c_name = c;
  add_node(g, "Mul", {"x", c}, "m", {-1, 4}, {"batch", ""});
  add_node(g, "Relu", {"m"}, "r", {-1, 4}, {"batch", ""});
  add_node(g, "Add", {"r", d}, "y", {-1, 4}, {"batch", ""});
  g.outputs = {"y"};
  return g;
}

HostTensor f32_tensor(std::vector<int64_t> shape, const std::vector<float>& v) {
  HostTensor t;
  t.dtype = DType::F32;
  t.shape = std::move(shape);
  t.data = bytes_of(v);
  return t;
}

std::vector<float> values_of(const HostTensor& t) { return std::vector<float>(t.f32(), t.f32() + t.elements()); }

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---- .npy calibration sets -----------------------------------------------------------------------

TEST(CalibrationLoad, NpyInNameOrderWithBatchDimAddedOrKept) {
  TempDir dir;
  ir::Graph g;
  add_input(g, "x", DType::F32, {1, 3});
  write_npy_f32(dir / "b.npy", {1, 3}, {4, 5, 6});
  write_npy_f32(dir / "a.npy", {3}, {1, 2, 3});
  write_file(dir / "notes.txt", "not a sample");
  std::vector<Sample> samples;
  ASSERT_TRUE(load_calibration_set(dir.str(), g, 0, &samples).ok());
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].at("x").shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(values_of(samples[0].at("x")), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(values_of(samples[1].at("x")), (std::vector<float>{4, 5, 6}));
  ASSERT_TRUE(load_calibration_set(dir.str(), g, 1, &samples).ok());
  EXPECT_EQ(samples.size(), 1u);
  // The several-input layout (a sub-folder named after the input) works for one input too.
  TempDir sub;
  write_npy_f32(sub / "x/s.npy", {1, 3}, {7, 8, 9});
  ASSERT_TRUE(load_calibration_set(sub.str(), g, 0, &samples).ok());
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(values_of(samples[0].at("x")), (std::vector<float>{7, 8, 9}));
}

TEST(CalibrationLoad, SymbolicDimsAcceptAnySizeAndExtraBatchDimIsDropped) {
  TempDir dir;
  ir::Graph g;
  add_input(g, "x", DType::F32, {-1, 2}, {"seq", ""});
  write_npy_f32(dir / "a.npy", {1, 3, 2}, {1, 2, 3, 4, 5, 6});
  std::vector<Sample> samples;
  ASSERT_TRUE(load_calibration_set(dir.str(), g, 0, &samples).ok());
  EXPECT_EQ(samples[0].at("x").shape, (std::vector<int64_t>{3, 2}));
}

TEST(CalibrationLoad, NpyErrorsNameFileInputAndBothShapesOrDtypes) {
  ir::Graph g;
  add_input(g, "x", DType::F32, {1, 3});
  std::vector<Sample> samples;
  {
    TempDir dir;
    write_npy_f32(dir / "a.npy", {4}, {1, 2, 3, 4});
    Status st = load_calibration_set(dir.str(), g, 0, &samples);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(contains(st.message(), "a.npy")) << st.message();
    EXPECT_TRUE(contains(st.message(), "[4]")) << st.message();
    EXPECT_TRUE(contains(st.message(), "[1, 3]")) << st.message();
    EXPECT_TRUE(contains(st.message(), "'x'")) << st.message();
  }
  {
    TempDir dir;
    write_npy_i64(dir / "d.npy", {1, 3}, {1, 2, 3});
    Status st = load_calibration_set(dir.str(), g, 0, &samples);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(contains(st.message(), "d.npy")) << st.message();
    EXPECT_TRUE(contains(st.message(), "int64")) << st.message();
    EXPECT_TRUE(contains(st.message(), "float32")) << st.message();
    EXPECT_TRUE(contains(st.message(), "'x'")) << st.message();
  }
  {
    TempDir dir;
    write_file(dir / "bad.npy", "this is not numpy");
    Status st = load_calibration_set(dir.str(), g, 0, &samples);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(contains(st.message(), "bad.npy")) << st.message();
  }
  {
    TempDir dir;
    write_file(dir / "readme.txt", "no samples here");
    Status st = load_calibration_set(dir.str(), g, 0, &samples);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(contains(st.message(), "no samples")) << st.message();
  }
  {
    Status st = load_calibration_set("/nonexistent/pocket_calib_dir", g, 0, &samples);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(contains(st.message(), "does not exist")) << st.message();
  }
  EXPECT_TRUE(samples.empty());
}

TEST(CalibrationLoad, SeveralInputsTakeOneSubFolderEach) {
  ir::Graph g;
  add_input(g, "a", DType::F32, {1, 2});
  add_input(g, "b", DType::F32, {1, 1});
  std::vector<Sample> samples;
  {
    TempDir dir;
    write_npy_f32(dir / "a/s0.npy", {1, 2}, {1, 2});
    write_npy_f32(dir / "b/s0.npy", {1, 1}, {3});
    write_npy_f32(dir / "a/s1.npy", {1, 2}, {4, 5});
    write_npy_f32(dir / "b/s1.npy", {1, 1}, {6});
    ASSERT_TRUE(load_calibration_set(dir.str(), g, 0, &samples).ok());
    ASSERT_EQ(samples.size(), 2u);
    EXPECT_EQ(values_of(samples[1].at("a")), (std::vector<float>{4, 5}));
    EXPECT_EQ(values_of(samples[1].at("b")), (std::vector<float>{6}));
    // A file missing from one folder.
    write_npy_f32(dir / "a/s2.npy", {1, 2}, {7, 8});
    Status st = load_calibration_set(dir.str(), g, 0, &samples);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(contains(st.message(), "s2.npy")) << st.message();
    EXPECT_TRUE(contains(st.message(), "'b'")) << st.message();
  }
  {
    TempDir dir;
    write_npy_f32(dir / "a/s0.npy", {1, 2}, {1, 2});
    Status st = load_calibration_set(dir.str(), g, 0, &samples);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(contains(st.message(), "sub-folder 'b'")) << st.message();
  }
}

// ---- image calibration sets ----------------------------------------------------------------------

TEST(CalibrationLoad, ImagesUseTheModelPreprocessingAndLayout) {
  TempDir dir;
  // 2x2 RGB image, pixel k = (10k, 10k + 1, 10k + 2).
  std::vector<uint8_t> px;
  for (int k = 0; k < 4; ++k)
    for (int c = 0; c < 3; ++c) px.push_back(static_cast<uint8_t>(10 * k + c));
  write_pnm(dir / "img.ppm", 2, 2, px, false);

  ir::Graph g;
  add_input(g, "image", DType::F32, {1, 3, 2, 2});
  g.metadata.has_preprocessing = true;
  g.metadata.preprocessing.width = 2;
  g.metadata.preprocessing.height = 2;
  g.metadata.preprocessing.layout = "NCHW";
  g.metadata.preprocessing.scale = 1.f / 255.f;
  g.metadata.preprocessing.mean = {0.5f};
  g.metadata.preprocessing.std = {0.25f};
  std::vector<Sample> samples;
  Status st = load_calibration_set(dir.str(), g, 0, &samples);
  ASSERT_TRUE(st.ok()) << st.message();
  const HostTensor& t = samples[0].at("image");
  ASSERT_EQ(t.shape, (std::vector<int64_t>{1, 3, 2, 2}));
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < 4; ++k)
      EXPECT_NEAR(t.f32()[c * 4 + k], ((10 * k + c) / 255.f - 0.5f) / 0.25f, 1e-5f) << c << " " << k;

  // NHWC, BGR, no metadata size: from the input.
  ir::Graph h;
  add_input(h, "image", DType::F32, {1, 2, 2, 3});
  h.metadata = g.metadata;
  h.metadata.preprocessing.layout = "NHWC";
  h.metadata.preprocessing.color_order = "BGR";
  h.metadata.preprocessing.width = 0;
  h.metadata.preprocessing.height = 0;
  st = load_calibration_set(dir.str(), h, 0, &samples);
  ASSERT_TRUE(st.ok()) << st.message();
  const HostTensor& u = samples[0].at("image");
  ASSERT_EQ(u.shape, (std::vector<int64_t>{1, 2, 2, 3}));
  for (int k = 0; k < 4; ++k)
    for (int c = 0; c < 3; ++c)
      EXPECT_NEAR(u.f32()[k * 3 + c], ((10 * k + 2 - c) / 255.f - 0.5f) / 0.25f, 1e-5f) << c << " " << k;
}

TEST(CalibrationLoad, GrayscaleModelsTakeLuminanceAndImagesAreResized) {
  TempDir dir;
  // 4x4 colour image of one colour, and a 4x4 gray image: resized to the model's 2x2.
  std::vector<uint8_t> rgb, gray(16, 200);
  for (int k = 0; k < 16; ++k) rgb.insert(rgb.end(), {100, 50, 200});
  write_pnm(dir / "a.ppm", 4, 4, rgb, false);
  write_pnm(dir / "b.pgm", 4, 4, gray, true);
  ir::Graph g;  // no preprocessing metadata: pixels 0..255 as they are (what the writer records)
  add_input(g, "digit", DType::F32, {1, 1, 2, 2});
  std::vector<Sample> samples;
  Status st = load_calibration_set(dir.str(), g, 0, &samples);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(samples.size(), 2u);
  const float lum = 0.299f * 100 + 0.587f * 50 + 0.114f * 200;
  for (int k = 0; k < 4; ++k) {
    EXPECT_NEAR(samples[0].at("digit").f32()[k], lum, 1e-3f);
    EXPECT_NEAR(samples[1].at("digit").f32()[k], 200.f, 1e-3f);
  }
}

TEST(CalibrationLoad, ImageErrors) {
  std::vector<Sample> samples;
  {
    TempDir dir;
    write_file(dir / "broken.png", "not a png at all");
    ir::Graph g;
    add_input(g, "image", DType::F32, {1, 3, 8, 8});
    Status st = load_calibration_set(dir.str(), g, 0, &samples);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(contains(st.message(), "broken.png")) << st.message();
  }
  {
    TempDir dir;
    write_pnm(dir / "a.ppm", 2, 2, std::vector<uint8_t>(12, 1), false);
    ir::Graph g;
    add_input(g, "ids", DType::I64, {1, 16});
    Status st = load_calibration_set(dir.str(), g, 0, &samples);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(contains(st.message(), "a.ppm")) << st.message();
    EXPECT_TRUE(contains(st.message(), "'ids'")) << st.message();
  }
  {
    TempDir dir;  // metadata size 4x4 but the input is static 2x2
    write_pnm(dir / "a.ppm", 2, 2, std::vector<uint8_t>(12, 1), false);
    ir::Graph g;
    add_input(g, "image", DType::F32, {1, 3, 2, 2});
    g.metadata.has_preprocessing = true;
    g.metadata.preprocessing.width = 4;
    g.metadata.preprocessing.height = 4;
    Status st = load_calibration_set(dir.str(), g, 0, &samples);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(contains(st.message(), "[1, 3, 4, 4]")) << st.message();
    EXPECT_TRUE(contains(st.message(), "[1, 3, 2, 2]")) << st.message();
  }
}

// ---- running graphs ----------------------------------------------------------------------------

TEST(CalibrationRun, IntermediatesInputsAndConstantsMatchAHandComputation) {
  std::string c_name;
  ir::Graph g = small_graph(&c_name);
  std::vector<Sample> samples(2);
  const std::vector<float> x0 = {1, 2, -3, 4}, x1 = {-1, 0.5f, 2, -0.25f, 3, 3, 3, 3};
  samples[0]["x"] = f32_tensor({1, 4}, x0);
  samples[1]["x"] = f32_tensor({2, 4}, x1);  // another batch size: the session is resized
  std::vector<std::vector<float>> m(2), y(2), x(2), c(2);
  std::vector<std::vector<int64_t>> y_shape(2);
  ProgressBar bar("test", 2, false);
  Status st = run_on_samples(g, samples, {"m", "y", "x", c_name},
                             [&](size_t i, const std::map<std::string, HostTensor>& v) {
                               m[i] = values_of(v.at("m"));
                               y[i] = values_of(v.at("y"));
                               x[i] = values_of(v.at("x"));
                               c[i] = values_of(v.at(c_name));
                               y_shape[i] = v.at("y").shape;
                               return Status::Ok();
                             },
                             &bar);
  ASSERT_TRUE(st.ok()) << st.message();
  const std::vector<float>* xs[2] = {&x0, &x1};
  for (int i = 0; i < 2; ++i) {
    const std::vector<float>& in = *xs[i];
    ASSERT_EQ(m[i].size(), in.size());
    ASSERT_EQ(y[i].size(), in.size());
    EXPECT_EQ(y_shape[i], (std::vector<int64_t>{static_cast<int64_t>(in.size() / 4), 4}));
    EXPECT_EQ(x[i], in);
    EXPECT_EQ(c[i], kC);
    for (size_t k = 0; k < in.size(); ++k) {
      EXPECT_FLOAT_EQ(m[i][k], in[k] * kC[k % 4]);
      EXPECT_FLOAT_EQ(y[i][k], std::max(0.f, in[k] * kC[k % 4]) + kD[k % 4]);
    }
  }
  // Empty tensors: the graph outputs.
  size_t calls = 0;
  st = run_on_samples(g, samples, {}, [&](size_t, const std::map<std::string, HostTensor>& v) {
    ++calls;
    EXPECT_EQ(v.size(), 1u);
    EXPECT_TRUE(v.count("y"));
    return Status::Ok();
  }, nullptr);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(calls, 2u);
}

TEST(CalibrationRun, SampleRunnerOutlivesItsGraphAndResizes) {
  SampleRunner runner;
  std::map<std::string, HostTensor> v;
  EXPECT_FALSE(runner.run(0, {}, &v).ok());  // before init
  Sample a, b;
  a["x"] = f32_tensor({1, 4}, {1, 2, 3, 4});
  b["x"] = f32_tensor({3, 4}, std::vector<float>(12, -1.f));
  {
    ir::Graph g = small_graph();
    ASSERT_TRUE(runner.init(g, {"r"}, a).ok());
  }
  for (const Sample* s : {&a, &b, &a}) {
    Status st = runner.run(0, *s, &v);
    ASSERT_TRUE(st.ok()) << st.message();
    const HostTensor& x = s->at("x");
    ASSERT_EQ(v.at("r").shape, x.shape);
    for (int64_t k = 0; k < x.elements(); ++k) EXPECT_EQ(v.at("r").f32()[k], std::max(0.f, x.f32()[k] * kC[k % 4]));
  }
}

TEST(CalibrationRun, Errors) {
  ir::Graph g = small_graph();
  std::vector<Sample> samples(1);
  samples[0]["x"] = f32_tensor({1, 4}, {1, 2, 3, 4});
  auto ok = [](size_t, const std::map<std::string, HostTensor>&) { return Status::Ok(); };
  Status st = run_on_samples(g, samples, {"nope"}, ok, nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(contains(st.message(), "'nope'")) << st.message();
  st = run_on_samples(g, {}, {}, ok, nullptr);
  EXPECT_FALSE(st.ok());
  std::vector<Sample> missing(1);
  missing[0]["z"] = f32_tensor({1, 4}, {1, 2, 3, 4});
  st = run_on_samples(g, missing, {}, ok, nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(contains(st.message(), "'x'")) << st.message();
  // The callback's error stops the run and comes back.
  st = run_on_samples(g, samples, {}, [](size_t, const std::map<std::string, HostTensor>&) {
    return invalid_argument("stop here");
  }, nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "stop here");
}

TEST(CalibrationRun, Int8ValuesAreDequantized) {
  // x -> QuantizeLinear -> q (I8, scale 0.5, zero point 3); an I8 graph input p -> DequantizeLinear -> pf.
  ir::Graph g;
  add_input(g, "x", DType::F32, {1, 4});
  add_input(g, "p", DType::I8, {1, 2});
  g.value("p").has_quant = true;
  g.value("p").quant.scales = {0.25f};
  g.value("p").quant.zero_points = {-1};
  add_node(g, "QuantizeLinear", {"x"}, "q", {1, 4});
  ir::Value& q = g.value("q");
  q.dtype = DType::I8;
  q.has_quant = true;
  q.quant.scales = {0.5f};
  q.quant.zero_points = {3};
  add_node(g, "DequantizeLinear", {"p"}, "pf", {1, 2});
  g.outputs = {"q", "pf"};
  std::vector<Sample> samples(1);
  samples[0]["x"] = f32_tensor({1, 4}, {-1.f, 0.f, 1.2f, 70.f});
  HostTensor p;
  p.dtype = DType::I8;
  p.shape = {1, 2};
  p.data = {static_cast<uint8_t>(int8_t{5}), static_cast<uint8_t>(int8_t{-7})};
  samples[0]["p"] = p;
  std::vector<float> qv, pv, pfv;
  Status st = run_on_samples(g, samples, {"q", "p", "pf"}, [&](size_t, const std::map<std::string, HostTensor>& v) {
    qv = values_of(v.at("q"));
    pv = values_of(v.at("p"));
    pfv = values_of(v.at("pf"));
    return Status::Ok();
  }, nullptr);
  if (!st.ok() && st.code() == StatusCode::kUnsupported) GTEST_SKIP() << "engine int8 ops not available: " << st.message();
  ASSERT_TRUE(st.ok()) << st.message();
  // q = clamp(round(x / 0.5) + 3): -2+3, 0+3, 2+3, 140+3 -> 127; real = 0.5 (q - 3).
  EXPECT_EQ(qv, (std::vector<float>{-1.f, 0.f, 1.f, 62.f}));
  EXPECT_EQ(pv, (std::vector<float>{1.5f, -1.5f}));
  EXPECT_EQ(pfv, pv);
}

// ---- ranges ------------------------------------------------------------------------------------

RangeObserver observe(const std::vector<float>& v) {
  RangeObserver o;
  // Two chunks, as two samples would give.
  const int64_t half = static_cast<int64_t>(v.size() / 2);
  o.add_minmax(v.data(), half);
  o.add_minmax(v.data() + half, static_cast<int64_t>(v.size()) - half);
  o.add_histogram(v.data(), half);
  o.add_histogram(v.data() + half, static_cast<int64_t>(v.size()) - half);
  return o;
}

TEST(CalibrationRange, UniformDistributions) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> sym(-1.f, 1.f), pos(0.f, 1.f);
  std::vector<float> a(100000), b(100000);
  for (float& v : a) v = sym(rng);
  for (float& v : b) v = pos(rng);
  RangeObserver oa = observe(a), ob = observe(b);
  auto mm = oa.range(CalibrationMethod::kMinMax, 0);
  EXPECT_NEAR(mm.first, -1.f, 1e-3f);
  EXPECT_NEAR(mm.second, 1.f, 1e-3f);
  auto pc = oa.range(CalibrationMethod::kPercentile, 99.9);
  EXPECT_NEAR(pc.first, -0.998f, 2e-3f);
  EXPECT_NEAR(pc.second, 0.998f, 2e-3f);
  auto en = oa.range(CalibrationMethod::kEntropy, 0);
  EXPECT_NEAR(en.first, -1.f, 0.03f);
  EXPECT_NEAR(en.second, 1.f, 0.03f);
  // Non-negative: the range starts at 0 for every method.
  for (auto m : {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kEntropy}) {
    auto r = ob.range(m, 99.9);
    EXPECT_EQ(r.first, 0.f) << calibration_method_name(m);
    EXPECT_NEAR(r.second, 1.f, 0.03f) << calibration_method_name(m);
  }
}

TEST(CalibrationRange, GaussianWithOutliersIsClippedByPercentileAndEntropyNotMinMax) {
  std::mt19937 rng(2);
  std::normal_distribution<float> n01(0.f, 1.f);
  std::vector<float> v(200000);
  for (float& x : v) x = n01(rng);
  for (int k = 0; k < 5; ++k) {
    v[static_cast<size_t>(k) * 1000] = 50.f;
    v[static_cast<size_t>(k) * 1000 + 1] = -40.f;
  }
  RangeObserver o = observe(v);
  auto mm = o.range(CalibrationMethod::kMinMax, 0);
  EXPECT_EQ(mm.first, -40.f);
  EXPECT_EQ(mm.second, 50.f);
  auto pc = o.range(CalibrationMethod::kPercentile, 99.99);
  // N(0,1)'s 99.99th percentile is 3.72.
  EXPECT_GT(pc.second, 3.3f);
  EXPECT_LT(pc.second, 4.3f);
  EXPECT_LT(pc.first, -3.3f);
  EXPECT_GT(pc.first, -4.3f);
  auto en = o.range(CalibrationMethod::kEntropy, 0);
  EXPECT_EQ(en.first, -en.second);
  EXPECT_GT(en.second, 2.f);
  EXPECT_LT(en.second, 8.f);
}

TEST(CalibrationRange, AsymmetricPostActivationRangesStayAsymmetric) {
  // A HardSwish output: a small negative tail down to -0.375, a long positive one.
  std::mt19937 rng(3);
  std::normal_distribution<float> n(1.f, 2.f);
  std::vector<float> v(100000);
  for (float& x : v) {
    const float a = n(rng);
    x = a * std::clamp(a + 3.f, 0.f, 6.f) / 6.f;
  }
  RangeObserver o = observe(v);
  const float lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  EXPECT_GT(lo, -0.3751f);
  EXPECT_LT(lo, -0.37f);
  EXPECT_GT(hi, 8.f);
  auto pc = o.range(CalibrationMethod::kPercentile, 99.9);
  EXPECT_NEAR(pc.first, -0.375f, 0.01f);
  EXPECT_GT(pc.second, 5.f);  // 99.9th percentile of a HardSwish(N(1, 2)) ~ 7.2
  EXPECT_LT(pc.second, hi - 0.3f);
  auto en = o.range(CalibrationMethod::kEntropy, 0);
  EXPECT_EQ(en.first, lo);  // [-T, T] clipped to the observed minimum
  EXPECT_GT(en.second, 3.f);
  EXPECT_LE(en.second, hi);
  // A ReLU output: half exact zeros. They do not drag the entropy threshold down.
  std::normal_distribution<float> n01(0.f, 1.f);
  for (float& x : v) x = std::max(0.f, n01(rng));
  RangeObserver r = observe(v);
  auto re = r.range(CalibrationMethod::kEntropy, 0);
  EXPECT_EQ(re.first, 0.f);
  EXPECT_GT(re.second, 3.f);
  EXPECT_LE(re.second, *std::max_element(v.begin(), v.end()));
}

// The entropy search written out plainly (O(bins) per candidate), as TensorRT / MXNet describe it.
double naive_entropy_threshold(const std::vector<double>& h, double amax, int levels) {
  const int bins = static_cast<int>(h.size());
  int last = -1;
  for (int b = 0; b < bins; ++b)
    if (h[b] > 0) last = b;
  if (last < 0) return 0;
  const double width = amax / bins;
  if (last + 1 <= levels) return (last + 1) * width;
  double total = 0;
  for (double c : h) total += c;
  double best = std::numeric_limits<double>::infinity();
  int best_i = 0;
  for (int i = levels; i <= last + 1; ++i) {
    std::vector<double> p(h.begin(), h.begin() + i), q(static_cast<size_t>(i), 0.0);
    for (int k = i; k < bins; ++k) p[i - 1] += h[k];
    double q_total = 0;
    for (int j = 0; j < levels; ++j) {
      const int s = j * i / levels, e = (j + 1) * i / levels;
      double sum = 0;
      int nz = 0;
      for (int k = s; k < e; ++k) {
        sum += h[k];
        nz += p[k] > 0;
      }
      for (int k = s; k < e; ++k) q[k] = p[k] > 0 && nz ? sum / nz : 0;
      q_total += sum;
    }
    double kl = 0;
    for (int k = 0; k < i; ++k) {
      if (p[k] <= 0) continue;
      const double pk = p[k] / total, qk = q[k] > 0 ? q[k] / q_total : 1e-4 / i;
      kl += pk * std::log(pk / qk);
    }
    if (kl < best - 1e-12) {
      best = kl;
      best_i = i;
    }
  }
  return best_i * width;
}

TEST(CalibrationRange, EntropySearchMatchesThePlainAlgorithm) {
  std::mt19937 rng(4);
  for (int trial = 0; trial < 6; ++trial) {
    std::vector<double> h(512, 0.0);
    std::exponential_distribution<double> e(trial % 2 ? 0.02 : 0.05);
    for (int k = 0; k < 20000; ++k) h[std::min<size_t>(511, static_cast<size_t>(e(rng)))] += 1;
    if (trial >= 2) h[300 + trial] += 50;  // a far outlier group
    if (trial >= 4) h[3] += 5000;          // a spike
    if (trial == 5)
      for (int k = 100; k < 140; ++k) h[k] = 0;  // a gap
    for (int levels : {32, 64}) {
      const double fast = entropy_threshold(h, 10.0, levels), slow = naive_entropy_threshold(h, 10.0, levels);
      EXPECT_NEAR(fast, slow, 1e-9) << "trial " << trial << " levels " << levels;
    }
  }
  EXPECT_EQ(entropy_threshold(std::vector<double>(64, 0.0), 1.0, 16), 0.0);
  std::vector<double> narrow(2048, 0.0);
  narrow[10] = 5;
  EXPECT_NEAR(entropy_threshold(narrow, 2048.0, 128), 11.0, 1e-9);  // fits in the levels: no clipping
}

TEST(CalibrationRange, DegenerateTensorsGiveTinyValidRanges) {
  for (auto m : {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kEntropy}) {
    std::vector<float> zeros(1000, 0.f), threes(1000, 3.f), neg(1000, -2.f);
    auto z = observe(zeros).range(m, 99.9);
    EXPECT_EQ(z.first, 0.f);
    EXPECT_GT(z.second, 0.f);
    EXPECT_LT(z.second, 1e-3f);
    auto t = observe(threes).range(m, 99.9);
    EXPECT_EQ(t.first, 0.f);
    EXPECT_FLOAT_EQ(t.second, 3.f);
    auto n = observe(neg).range(m, 99.9);
    EXPECT_FLOAT_EQ(n.first, -2.f);
    EXPECT_EQ(n.second, 0.f);
    RangeObserver never;
    auto e = never.range(m, 99.9);
    EXPECT_EQ(e.first, 0.f);
    EXPECT_GT(e.second, 0.f);
  }
  // Non-finite values are ignored.
  std::vector<float> v = {1.f, std::numeric_limits<float>::quiet_NaN(), -2.f, std::numeric_limits<float>::infinity()};
  auto r = observe(v).range(CalibrationMethod::kMinMax, 0);
  EXPECT_EQ(r.first, -2.f);
  EXPECT_EQ(r.second, 1.f);
}

TEST(CalibrationRange, CalibrateRangesOverAGraph) {
  ir::Graph g = small_graph();
  std::vector<Sample> samples(2);
  samples[0]["x"] = f32_tensor({1, 4}, {1, 2, -3, 4});
  samples[1]["x"] = f32_tensor({1, 4}, {-1, 0.5f, 2, -0.25f});
  std::map<std::string, std::pair<float, float>> ranges;
  Status st = calibrate_ranges(g, samples, {"x", "m", "r"}, CalibrationMethod::kMinMax, 0, &ranges, false);
  ASSERT_TRUE(st.ok()) << st.message();
  // m = x * [1, -2, 3, -4]: {1, -4, -9, -16}, {-1, -1, 6, 1}.
  EXPECT_EQ(ranges.at("x"), std::make_pair(-3.f, 4.f));
  EXPECT_EQ(ranges.at("m"), std::make_pair(-16.f, 6.f));
  EXPECT_EQ(ranges.at("r"), std::make_pair(0.f, 6.f));
  st = calibrate_ranges(g, samples, {"m"}, CalibrationMethod::kPercentile, 100, &ranges, false);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_NEAR(ranges.at("m").first, -16.f, 1e-3f);
  EXPECT_NEAR(ranges.at("m").second, 6.f, 1e-3f);
  st = calibrate_ranges(g, samples, {"m"}, CalibrationMethod::kPercentile, 0, &ranges, false);
  EXPECT_FALSE(st.ok());
}

// ---- progress bar and SQNR -----------------------------------------------------------------------

TEST(CalibrationProgress, ALinePerTenPercentWhenNotATerminal) {
  testing::internal::CaptureStderr();
  {
    ProgressBar bar("calibrating", 20, true);
    for (int k = 0; k < 20; ++k) bar.step();
  }
  {
    ProgressBar quiet("quiet", 20, false);
    quiet.step(20);
  }
  const std::string out = testing::internal::GetCapturedStderr();
  int lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_EQ(lines, 10) << out;
  EXPECT_TRUE(contains(out, "calibrating 20/20 [==============================]")) << out;
  EXPECT_TRUE(contains(out, "calibrating 10/20 [==============>")) << out;
  EXPECT_FALSE(contains(out, "quiet")) << out;
}

TEST(CalibrationSqnr, Values) {
  const float ref[] = {1.f, 1.f}, x[] = {1.1f, 0.9f}, zero[] = {0.f, 0.f};
  EXPECT_NEAR(sqnr_db(ref, x, 2), 20.0, 1e-4);  // 2 / 0.02 = 100
  EXPECT_TRUE(std::isinf(sqnr_db(ref, ref, 2)) && sqnr_db(ref, ref, 2) > 0);
  EXPECT_TRUE(std::isinf(sqnr_db(zero, zero, 2)) && sqnr_db(zero, zero, 2) > 0);
  EXPECT_TRUE(std::isinf(sqnr_db(zero, x, 2)) && sqnr_db(zero, x, 2) < 0);
  const float nan[] = {std::numeric_limits<float>::quiet_NaN(), 1.f};
  EXPECT_TRUE(std::isinf(sqnr_db(ref, nan, 2)) && sqnr_db(ref, nan, 2) < 0);
  std::vector<float> r(1000), q(1000);
  for (int k = 0; k < 1000; ++k) {
    r[k] = std::sin(0.01f * k);
    q[k] = r[k] + (k % 2 ? 1e-3f : -1e-3f);
  }
  double signal = 0;
  for (float v : r) signal += double(v) * v;
  EXPECT_NEAR(sqnr_db(r.data(), q.data(), 1000), 10 * std::log10(signal / (1000 * 1e-6)), 0.01);
}

}  // namespace
}  // namespace pocket::converter::quantize
