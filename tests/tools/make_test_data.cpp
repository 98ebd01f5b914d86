// Test data for the CLI tests of pocket-run, pocket-bench and pocket-classify, made at test time
// with format/builder.h and stb_image_write:
//   pocket_tools_test_data DIR          writes the models, .npy inputs and images below
//   pocket_tools_test_data compare A B  exit 0 iff A and B are .npy files with equal dtype, shape, data
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "format/builder.h"
#include "tools/common/npy.h"
#include "tools/common/random_fill.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace {

using pocket::fb::DType;
using pocket::fb::OpType;
namespace fmt = pocket::format;

bool write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(f);
}

bool write_model(const std::string& path, const fmt::ModelDesc& m) { return write_bytes(path, fmt::serialize(m)); }

fmt::TensorDesc tensor(std::string name, DType dtype, std::vector<int64_t> shape) {
  fmt::TensorDesc t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

// y = Identity(x): input "x" f32 [2,3], output named with characters a file name cannot keep.
fmt::ModelDesc identity_model() {
  fmt::ModelDesc m;
  int x = m.add_tensor(tensor("x", DType::F32, {2, 3}));
  int y = m.add_tensor(tensor("out:0/y", DType::F32, {2, 3}));
  m.nodes.push_back({OpType::Identity, "copy", {x}, {y}, {}});
  m.inputs = {x};
  m.outputs = {y};
  return m;
}

// sum = a + b (f32 [4]), plus an int64 input "ids" [3] passed through Identity: two inputs of two
// dtypes, two outputs.
fmt::ModelDesc add_model() {
  fmt::ModelDesc m;
  int a = m.add_tensor(tensor("a", DType::F32, {4}));
  int b = m.add_tensor(tensor("b", DType::F32, {4}));
  int ids = m.add_tensor(tensor("ids", DType::I64, {3}));
  int sum = m.add_tensor(tensor("sum", DType::F32, {4}));
  int ids_out = m.add_tensor(tensor("ids_out", DType::I64, {3}));
  m.nodes.push_back({OpType::Add, "add", {a, b}, {sum}, {}});
  m.nodes.push_back({OpType::Identity, "pass", {ids}, {ids_out}, {}});
  m.inputs = {a, b, ids};
  m.outputs = {sum, ids_out};
  return m;
}

// An "RGB classifier": NHWC image [1,4,4,3] -> GlobalAveragePool -> [1,1,1,3] scores, one per
// channel, so a red image scores "red" highest. Preprocessing: stretch to 4x4, scale 1/255.
fmt::ModelDesc rgb_model(bool with_metadata) {
  fmt::ModelDesc m;
  int img = m.add_tensor(tensor("image", DType::F32, {1, 4, 4, 3}));
  int pooled = m.add_tensor(tensor("scores", DType::F32, {1, 1, 1, 3}));
  m.nodes.push_back({OpType::GlobalAveragePool, "pool", {img}, {pooled}, {}});
  m.inputs = {img};
  m.outputs = {pooled};
  if (with_metadata) {
    m.metadata.task = "image_classification";
    m.metadata.has_preprocessing = true;
    m.metadata.preprocessing.width = 4;
    m.metadata.preprocessing.height = 4;
    m.metadata.preprocessing.layout = "NHWC";
    m.metadata.preprocessing.color_order = "RGB";
    m.metadata.preprocessing.scale = 10.0f / 255.0f;  // wide score gaps after softmax
    m.metadata.preprocessing.mean = {0.f, 0.f, 0.f};
    m.metadata.preprocessing.std = {1.f, 1.f, 1.f};
    m.metadata.preprocessing.resize = "stretch";
    m.metadata.labels = {"red", "green", "blue"};
  }
  return m;
}

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

fmt::TensorDesc constant(std::string name, DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> data) {
  fmt::TensorDesc t = tensor(std::move(name), dtype, std::move(shape));
  t.has_data = true;
  t.data = std::move(data);
  return t;
}

// For pocket-inspect: x [batch,3] (batch symbolic) -> MatMul W f32 [3,4] -> Add b (f16 [4]) ->
// Mul s (int8 [4], per-axis quantized) -> Add k -> y [batch,4], where k = Add(c1, c2) of two
// constants is evaluated once at prepare. Metadata: every kind (labels, tokenizer, audio, ...).
fmt::ModelDesc inspect_model() {
  fmt::ModelDesc m;
  fmt::TensorDesc xd = tensor("x", DType::F32, {-1, 3});
  xd.dim_names = {"batch", ""};
  int x = m.add_tensor(xd);
  int w = m.add_tensor(constant("W", DType::F32, {3, 4}, bytes_of(std::vector<float>(12, 0.5f))));
  std::vector<uint16_t> half(4);
  for (size_t i = 0; i < 4; ++i) half[i] = pocket::tools::float_to_half(0.25f * static_cast<float>(i));
  int b = m.add_tensor(constant("b", DType::F16, {4}, bytes_of(half)));
  fmt::TensorDesc sd = constant("s", DType::I8, {4}, bytes_of(std::vector<int8_t>{10, 20, 30, 40}));
  sd.has_quant = true;
  sd.quant.scales = {0.1f, 0.1f, 0.05f, 0.05f};
  sd.quant.zero_points = {0, 0, 0, 0};
  sd.quant.axis = 0;
  int sc = m.add_tensor(sd);
  int c1 = m.add_tensor(constant("c1", DType::F32, {4}, bytes_of(std::vector<float>{1, 2, 3, 4})));
  int c2 = m.add_tensor(constant("c2", DType::F32, {4}, bytes_of(std::vector<float>{4, 3, 2, 1})));
  auto act = [&](const char* name) {
    fmt::TensorDesc t = tensor(name, DType::F32, {-1, 4});
    t.dim_names = {"batch", ""};
    return m.add_tensor(t);
  };
  int h = act("h"), h2 = act("h2"), h3 = act("h3"), y = act("y");
  int k = m.add_tensor(tensor("k", DType::F32, {4}));
  m.nodes.push_back({OpType::MatMul, "proj", {x, w}, {h}, {}});
  m.nodes.push_back({OpType::Add, "bias", {h, b}, {h2}, {}});
  m.nodes.push_back({OpType::Mul, "gain", {h2, sc}, {h3}, {}});
  m.nodes.push_back({OpType::Add, "fold \"k\"", {c1, c2}, {k}, {}});
  m.nodes.push_back({OpType::Add, "shift", {h3, k}, {y}, {}});
  m.inputs = {x};
  m.outputs = {y};
  fmt::MetadataDesc& md = m.metadata;
  md.producer = "pocket_tools_test_data";
  md.producer_version = "1.0";
  md.task = "text_classification";
  md.source = "inspect.onnx";
  md.labels = {"zero", "one", "two", "three", "four", "five", "six"};
  md.properties = {{"license", "MIT"}, {"note", "two\nlines"}};
  md.has_tokenizer = true;
  md.tokenizer.kind = "wordpiece";
  md.tokenizer.vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "##s"};
  md.tokenizer.max_length = 16;
  md.tokenizer.special_tokens = {{"pad", "[PAD]"}, {"unk", "[UNK]"}, {"cls", "[CLS]"}, {"sep", "[SEP]"}};
  md.has_audio = true;
  return m;
}

// Softmax over int64: loads (the file is well-formed) but no session can be prepared.
fmt::ModelDesc unpreparable_model() {
  fmt::ModelDesc m;
  int x = m.add_tensor(tensor("ids", DType::I64, {2, 3}));
  int y = m.add_tensor(tensor("p", DType::I64, {2, 3}));
  m.nodes.push_back({OpType::Softmax, "softmax", {x}, {y}, {}});
  m.inputs = {x};
  m.outputs = {y};
  return m;
}

std::vector<uint8_t> npy(pocket_dtype dtype, std::vector<int64_t> shape, const void* data, size_t bytes) {
  std::vector<uint8_t> out;
  std::string error;
  if (!pocket::tools::encode_npy(dtype, shape, data, bytes, &out, &error)) std::fprintf(stderr, "%s\n", error.c_str());
  return out;
}

bool write_image(const std::string& path, int w, int h, uint8_t r, uint8_t g, uint8_t b, bool jpeg) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < px.size(); i += 3) {
    px[i] = r;
    px[i + 1] = g;
    px[i + 2] = b;
  }
  return jpeg ? stbi_write_jpg(path.c_str(), w, h, 3, px.data(), 95) != 0
              : stbi_write_png(path.c_str(), w, h, 3, px.data(), w * 3) != 0;
}

int make(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const auto p = [&](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  bool ok = write_model(p("identity.pocket"), identity_model()) && write_model(p("add.pocket"), add_model()) &&
            write_model(p("rgb.pocket"), rgb_model(true)) && write_model(p("rgb_nometa.pocket"), rgb_model(false));

  const float x[6] = {0.5f, -1.f, 2.f, 3.25f, 0.f, -7.5f};
  const float a[4] = {1, 2, 3, 4}, b[4] = {10, 20, 30, 40}, sum[4] = {11, 22, 33, 44};
  const int64_t ids[3] = {5, -1, 1LL << 40};
  const int64_t x_i64[6] = {0, 1, 2, 3, 4, 5};
  std::vector<uint8_t> x_npy = npy(POCKET_F32, {2, 3}, x, sizeof x);
  ok = ok && write_bytes(p("x.npy"), x_npy) && write_bytes(p("a.npy"), npy(POCKET_F32, {4}, a, sizeof a)) &&
       write_bytes(p("b.npy"), npy(POCKET_F32, {4}, b, sizeof b)) &&
       write_bytes(p("sum_expected.npy"), npy(POCKET_F32, {4}, sum, sizeof sum)) &&
       write_bytes(p("ids.npy"), npy(POCKET_I64, {3}, ids, sizeof ids)) &&
       write_bytes(p("x_int64.npy"), npy(POCKET_I64, {2, 3}, x_i64, sizeof x_i64)) &&
       write_bytes(p("x_3x2.npy"), npy(POCKET_F32, {3, 2}, x, sizeof x));
  // Broken inputs: truncated data, Fortran order, big-endian.
  std::vector<uint8_t> truncated(x_npy.begin(), x_npy.end() - 5);
  std::string header(x_npy.begin(), x_npy.end());
  std::string fortran = header, big = header;
  fortran.replace(fortran.find("False"), 5, "True ");
  big.replace(big.find("<f4"), 3, ">f4");
  ok = ok && write_bytes(p("x_truncated.npy"), truncated) &&
       write_bytes(p("x_fortran.npy"), std::vector<uint8_t>(fortran.begin(), fortran.end())) &&
       write_bytes(p("x_bigendian.npy"), std::vector<uint8_t>(big.begin(), big.end()));
  // Images, a file that is not an image, a model file that is not a model.
  ok = ok && write_image(p("red.png"), 9, 6, 250, 10, 10, false) && write_image(p("blue.jpg"), 16, 20, 0, 0, 255, true);
  const std::string junk = "this is not an image\n";
  ok = ok && write_bytes(p("not_an_image.png"), std::vector<uint8_t>(junk.begin(), junk.end())) &&
       write_bytes(p("garbage.pocket"), std::vector<uint8_t>(4096, 0x5a));
  // pocket-inspect: a model with every kind of metadata, one that cannot be prepared, a truncated
  // file and an empty one.
  const std::vector<uint8_t> inspect = fmt::serialize(inspect_model());
  ok = ok && write_bytes(p("inspect.pocket"), inspect) && write_model(p("unpreparable.pocket"), unpreparable_model()) &&
       write_bytes(p("truncated.pocket"), std::vector<uint8_t>(inspect.begin(), inspect.begin() + inspect.size() / 2)) &&
       write_bytes(p("empty.pocket"), {});
  if (!ok) {
    std::fprintf(stderr, "pocket_tools_test_data: cannot write test data into %s\n", dir.c_str());
    return 1;
  }
  return 0;
}

int compare(const std::string& a_path, const std::string& b_path) {
  pocket::tools::NpyArray a, b;
  std::string error;
  if (!pocket::tools::read_npy(a_path, &a, &error) || !pocket::tools::read_npy(b_path, &b, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  if (a.dtype != b.dtype || a.shape != b.shape || a.data != b.data) {
    std::fprintf(stderr, "'%s' and '%s' differ\n", a_path.c_str(), b_path.c_str());
    return 1;
  }
  std::printf("equal\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2) return make(argv[1]);
  if (argc == 4 && std::strcmp(argv[1], "compare") == 0) return compare(argv[2], argv[3]);
  std::fprintf(stderr, "usage: pocket_tools_test_data DIR | compare A.npy B.npy\n");
  return 2;
}
