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
