// The public C API (pocket/pocket.h) and its C++ wrapper (pocket/pocket.hpp) on tiny hand-built
// models: loading, errors with codes and messages, inputs/outputs, resize, labels.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "format/builder.h"
#include "pocket/pocket.h"
#include "pocket/pocket.hpp"

namespace {

using pocket::fb::DType;
using pocket::fb::OpType;
namespace fmt = pocket::format;

fmt::TensorDesc tensor(std::string name, DType dtype, std::vector<int64_t> shape, std::vector<std::string> dims = {}) {
  fmt::TensorDesc t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.dim_names = std::move(dims);
  return t;
}

// sum = a + b with a symbolic length "n", plus a constant bias c added to a: out2 = a + c is
// left out; one Add keeps the test independent of other ops. Labels for the metadata checks.
std::vector<uint8_t> add_model(bool symbolic = false) {
  fmt::ModelDesc m;
  std::vector<int64_t> shape = symbolic ? std::vector<int64_t>{-1} : std::vector<int64_t>{4};
  std::vector<std::string> dims = symbolic ? std::vector<std::string>{"n"} : std::vector<std::string>{};
  int a = m.add_tensor(tensor("a", DType::F32, shape, dims));
  int b = m.add_tensor(tensor("b", DType::F32, shape, dims));
  int sum = m.add_tensor(tensor("sum", DType::F32, shape, dims));
  fmt::NodeDesc add;
  add.op = OpType::Add;
  add.name = "add";
  add.inputs = {a, b};
  add.outputs = {sum};
  m.nodes.push_back(add);
  m.inputs = {a, b};
  m.outputs = {sum};
  m.metadata.labels = {"zero", "one"};
  return fmt::serialize(m);
}

std::vector<uint8_t> identity_model() {
  fmt::ModelDesc m;
  int x = m.add_tensor(tensor("x", DType::I64, {2, 2}));
  int y = m.add_tensor(tensor("y", DType::I64, {2, 2}));
  fmt::NodeDesc id;
  id.op = OpType::Identity;
  id.name = "id";
  id.inputs = {x};
  id.outputs = {y};
  m.nodes.push_back(id);
  m.inputs = {x};
  m.outputs = {y};
  return fmt::serialize(m);
}

TEST(CApi, RunsAnAddModel) {
  const auto bytes = add_model();
  pocket_model* model = nullptr;
  ASSERT_EQ(pocket_model_load_buffer(bytes.data(), bytes.size(), &model), POCKET_OK) << pocket_last_error();
  ASSERT_EQ(pocket_model_num_labels(model), 2u);
  EXPECT_STREQ(pocket_model_label(model, 1), "one");
  EXPECT_EQ(pocket_model_label(model, 2), nullptr);

  pocket_session_options options;
  pocket_session_options_init(&options);
  EXPECT_EQ(options.num_threads, 1);
  options.num_threads = 2;
  pocket_session* s = nullptr;
  ASSERT_EQ(pocket_session_create(model, &options, &s), POCKET_OK) << pocket_last_error();
  pocket_model_free(model);  // the session keeps what it needs

  ASSERT_EQ(pocket_session_num_inputs(s), 2u);
  ASSERT_EQ(pocket_session_num_outputs(s), 1u);
  pocket_tensor_info info;
  ASSERT_EQ(pocket_session_input_info(s, 1, &info), POCKET_OK);
  EXPECT_STREQ(info.name, "b");
  EXPECT_EQ(info.dtype, POCKET_F32);
  ASSERT_EQ(info.rank, 1);
  EXPECT_EQ(info.shape[0], 4);
  EXPECT_EQ(info.bytes, 16u);

  const int64_t shape[1] = {4};
  const float a[4] = {1, 2, 3, 4}, b[4] = {0.5f, -2, 10, 0};
  ASSERT_EQ(pocket_session_set_input(s, "a", POCKET_F32, shape, 1, a), POCKET_OK) << pocket_last_error();
  void* b_data = nullptr;
  ASSERT_EQ(pocket_session_input_data(s, 1, &b_data), POCKET_OK);
  std::memcpy(b_data, b, sizeof b);
  ASSERT_EQ(pocket_session_run(s), POCKET_OK);
  const void* out = nullptr;
  ASSERT_EQ(pocket_session_output_data(s, 0, &out), POCKET_OK);
  const float* sum = static_cast<const float*>(out);
  EXPECT_EQ(sum[0], 1.5f);
  EXPECT_EQ(sum[1], 0.f);
  EXPECT_EQ(sum[2], 13.f);
  EXPECT_EQ(sum[3], 4.f);
  ASSERT_EQ(pocket_session_output_info(s, 0, &info), POCKET_OK);
  EXPECT_STREQ(info.name, "sum");
  EXPECT_GE(pocket_session_arena_bytes(s), 48u);
  pocket_session_free(s);
}

TEST(CApi, InputErrorsNameTheTensor) {
  const auto bytes = add_model();
  pocket_model* model = nullptr;
  ASSERT_EQ(pocket_model_load_buffer(bytes.data(), bytes.size(), &model), POCKET_OK);
  pocket_session* s = nullptr;
  ASSERT_EQ(pocket_session_create(model, nullptr, &s), POCKET_OK);
  const float data[6] = {};
  const int64_t good[1] = {4}, bad[2] = {2, 3};
  EXPECT_EQ(pocket_session_set_input(s, "nope", POCKET_F32, good, 1, data), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("no input 'nope'"), std::string::npos) << pocket_last_error();
  EXPECT_EQ(pocket_session_set_input(s, "a", POCKET_I64, good, 1, data), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("input 'a' expects float32, got int64"), std::string::npos);
  EXPECT_EQ(pocket_session_set_input(s, "b", POCKET_F32, bad, 2, data), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("input 'b' expects shape"), std::string::npos);
  EXPECT_EQ(pocket_session_set_input(s, "a", POCKET_F32, good, -1, data), POCKET_INVALID_ARGUMENT);
  EXPECT_EQ(pocket_session_set_input(s, nullptr, POCKET_F32, good, 1, data), POCKET_INVALID_ARGUMENT);
  pocket_tensor_info info;
  EXPECT_EQ(pocket_session_input_info(s, 2, &info), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("out of range"), std::string::npos);
  const void* out = nullptr;
  EXPECT_EQ(pocket_session_output_data(s, 1, &out), POCKET_INVALID_ARGUMENT);
  EXPECT_EQ(pocket_session_run(nullptr), POCKET_INVALID_ARGUMENT);
  EXPECT_EQ(pocket_session_num_inputs(nullptr), 0u);
  pocket_session_options bad_threads = {0};
  pocket_session* s2 = nullptr;
  EXPECT_EQ(pocket_session_create(model, &bad_threads, &s2), POCKET_INVALID_ARGUMENT);
  EXPECT_EQ(s2, nullptr);
  EXPECT_NE(std::string(pocket_last_error()).find("num_threads"), std::string::npos);
  pocket_session_free(s);
  pocket_model_free(model);
}

TEST(CApi, LoadErrorsHaveCodesAndMessages) {
  pocket_model* model = reinterpret_cast<pocket_model*>(0x1);
  const std::vector<uint8_t> garbage(1000, 0xab);
  EXPECT_EQ(pocket_model_load_buffer(garbage.data(), garbage.size(), &model), POCKET_INVALID_MODEL);
  EXPECT_EQ(model, nullptr);
  EXPECT_GT(std::strlen(pocket_last_error()), 10u);

  const auto bytes = add_model();
  for (size_t keep : {size_t{0}, size_t{3}, size_t{16}, bytes.size() / 2, bytes.size() - 1}) {
    const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep));
    const pocket_status st = pocket_model_load_buffer(cut.empty() ? garbage.data() : cut.data(), keep, &model);
    EXPECT_EQ(st, POCKET_INVALID_MODEL) << "kept " << keep << " bytes";
    EXPECT_EQ(model, nullptr);
    EXPECT_GT(std::strlen(pocket_last_error()), 10u);
  }
  // The same through files: missing, not a model, truncated.
  EXPECT_EQ(pocket_model_load("/nonexistent/dir/m.pocket", &model), POCKET_IO_ERROR);
  EXPECT_NE(std::string(pocket_last_error()).find("/nonexistent/dir/m.pocket"), std::string::npos);
  const std::string path = ::testing::TempDir() + "c_api_test_truncated.pocket";
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size() - 7));
  }
  EXPECT_EQ(pocket_model_load(path.c_str(), &model), POCKET_INVALID_MODEL);
  EXPECT_GT(std::strlen(pocket_last_error()), 10u);
  std::remove(path.c_str());
  EXPECT_EQ(pocket_model_load(nullptr, &model), POCKET_INVALID_ARGUMENT);
  EXPECT_EQ(pocket_model_load_buffer(bytes.data(), bytes.size(), nullptr), POCKET_INVALID_ARGUMENT);
  EXPECT_STREQ(pocket_version(), "1.0.0");
}

TEST(CppApi, WrapsTheCApi) {
  pocket::api::Model model;
  const auto bytes = identity_model();
  ASSERT_TRUE(model.load_buffer(bytes.data(), bytes.size()).ok());
  EXPECT_TRUE(model.labels().empty());
  pocket::api::Session session;
  ASSERT_TRUE(session.create(model).ok());
  pocket::api::Model moved = std::move(model);
  EXPECT_FALSE(model.loaded());
  EXPECT_TRUE(moved.loaded());

  const auto inputs = session.inputs();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].name, "x");
  EXPECT_EQ(inputs[0].dtype, POCKET_I64);
  EXPECT_EQ(inputs[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(inputs[0].elements(), 4);
  const int64_t x[4] = {1, -2, int64_t{1} << 40, 7};
  ASSERT_TRUE(session.set_input("x", POCKET_I64, {2, 2}, x).ok());
  ASSERT_TRUE(session.run().ok());
  const int64_t* y = session.output<int64_t>(0);
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(std::memcmp(x, y, sizeof x), 0);
  EXPECT_EQ(session.output_data(5), nullptr);

  pocket::api::Status st = session.set_input("x", POCKET_F32, {2, 2}, x);
  EXPECT_EQ(st.code, POCKET_INVALID_ARGUMENT);
  EXPECT_NE(st.message.find("'x'"), std::string::npos);
  EXPECT_STREQ(pocket::api::status_name(st.code), "invalid argument");
  EXPECT_EQ(pocket::api::shape_str({1, 3}), "[1,3]");

  pocket::api::Session moved_session = std::move(session);
  EXPECT_FALSE(session.created());
  EXPECT_EQ(moved_session.num_outputs(), 1u);

  pocket::api::Model bad;
  st = bad.load("/nonexistent.pocket");
  EXPECT_EQ(st.code, POCKET_IO_ERROR);
  EXPECT_FALSE(st.message.empty());
  pocket::api::Session none;
  st = none.create(bad);
  EXPECT_EQ(st.code, POCKET_INVALID_ARGUMENT);
}

TEST(CppApi, ResizesASymbolicInput) {
  pocket::api::Model model;
  const auto bytes = add_model(/*symbolic=*/true);
  ASSERT_TRUE(model.load_buffer(bytes.data(), bytes.size()).ok());
  pocket::api::Session s;
  ASSERT_TRUE(s.create(model).ok());
  pocket::api::TensorInfo info;
  ASSERT_TRUE(s.input_info(0, &info).ok());
  EXPECT_EQ(info.shape, std::vector<int64_t>{1});  // symbolic dims start at 1
  ASSERT_TRUE(s.resize_input("a", {6}).ok());
  ASSERT_TRUE(s.resize_input("b", {6}).ok());
  const std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {6, 5, 4, 3, 2, 1};
  ASSERT_TRUE(s.set_input("a", POCKET_F32, {6}, a.data()).ok());
  ASSERT_TRUE(s.set_input("b", POCKET_F32, {6}, b.data()).ok());
  ASSERT_TRUE(s.run().ok());
  ASSERT_TRUE(s.output_info(0, &info).ok());
  EXPECT_EQ(info.shape, std::vector<int64_t>{6});
  for (int i = 0; i < 6; ++i) EXPECT_EQ(s.output<float>(0)[i], 7.f);
  EXPECT_EQ(s.resize_input("a", {2, 3}).code, POCKET_INVALID_ARGUMENT);
  EXPECT_EQ(s.resize_input("zzz", {2}).code, POCKET_INVALID_ARGUMENT);
}

}  // namespace

namespace {

TEST(CApi, PreprocessingAndPlanFigures) {
  std::vector<uint8_t> plain = add_model();
  pocket_model* model = nullptr;
  ASSERT_EQ(pocket_model_load_buffer(plain.data(), plain.size(), &model), POCKET_OK);
  pocket_preprocessing pp{};
  EXPECT_EQ(pocket_model_preprocessing(model, &pp), 0);  // no preprocessing table
  pocket_session* s = nullptr;
  ASSERT_EQ(pocket_session_create(model, nullptr, &s), POCKET_OK);
  // a, b and sum are all live at the one step: 3 buffers of 16 bytes, 64-byte aligned.
  EXPECT_EQ(pocket_session_arena_lower_bound(s), 3u * 64u);
  EXPECT_GE(pocket_session_arena_bytes(s), pocket_session_arena_lower_bound(s));
  pocket_session_free(s);
  pocket_model_free(model);

  std::vector<uint8_t> bytes;
  {
    // Same graph with an image preprocessing table.
    pocket::format::ModelDesc m;
    m.add_tensor(tensor("a", DType::F32, {4}));
    m.add_tensor(tensor("y", DType::F32, {4}));
    pocket::format::NodeDesc id;
    id.op = OpType::Identity;
    id.inputs = {0};
    id.outputs = {1};
    m.nodes.push_back(id);
    m.inputs = {0};
    m.outputs = {1};
    m.metadata.has_preprocessing = true;
    m.metadata.preprocessing.width = 224;
    m.metadata.preprocessing.height = 160;
    m.metadata.preprocessing.color_order = "BGR";
    m.metadata.preprocessing.mean = {0.5f, 0.25f, 0.125f};
    m.metadata.preprocessing.std = {2.f, 4.f, 8.f};
    m.metadata.preprocessing.scale = 1.f / 255.f;
    bytes = pocket::format::serialize(m);
  }
  ASSERT_EQ(pocket_model_load_buffer(bytes.data(), bytes.size(), &model), POCKET_OK);
  ASSERT_EQ(pocket_model_preprocessing(model, &pp), 1);
  EXPECT_EQ(pp.width, 224);
  EXPECT_EQ(pp.height, 160);
  EXPECT_STREQ(pp.color_order, "BGR");
  EXPECT_STREQ(pp.layout, "NCHW");
  ASSERT_EQ(pp.mean_count, 3u);
  ASSERT_EQ(pp.std_count, 3u);
  EXPECT_FLOAT_EQ(pp.mean[2], 0.125f);
  EXPECT_FLOAT_EQ(pp.std[1], 4.f);
  EXPECT_FLOAT_EQ(pp.scale, 1.f / 255.f);
  pocket_model_free(model);
}

}  // namespace

namespace {

TEST(CApi, TuningOptionsAndNotices) {
  const auto bytes = add_model();
  pocket_model* model = nullptr;
  ASSERT_EQ(pocket_model_load_buffer(bytes.data(), bytes.size(), &model), POCKET_OK) << pocket_last_error();
  pocket_session_options options;
  pocket_session_options_init(&options);
  EXPECT_EQ(options.tune, 0);
  EXPECT_EQ(options.tuning_file, nullptr);
  EXPECT_EQ(options.adaptive_threads, 1);

  char dir[] = "/tmp/pocket_capi_tune_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/add.pocket.tune";
  // A missing file without tune: created, with a notice.
  options.tuning_file = path.c_str();
  pocket_session* s = nullptr;
  ASSERT_EQ(pocket_session_create(model, &options, &s), POCKET_OK) << pocket_last_error();
  EXPECT_NE(std::string(pocket_session_notices(s)).find("does not exist"), std::string::npos) << pocket_session_notices(s);
  pocket_session_free(s);
  // Tuning writes the file (no op of this model has alternatives: a header only).
  options.tune = 1;
  ASSERT_EQ(pocket_session_create(model, &options, &s), POCKET_OK) << pocket_last_error();
  EXPECT_STREQ(pocket_session_notices(s), "");
  pocket_session_free(s);
  std::ifstream f(path);
  std::string first;
  std::getline(f, first);
  EXPECT_EQ(first, "pocket-tuning 1");
  // Not a tuning file: an error naming it, and the file is left alone.
  const std::string foreign = std::string(dir) + "/notes.txt";
  std::ofstream(foreign) << "notes\n";
  options.tuning_file = foreign.c_str();
  EXPECT_EQ(pocket_session_create(model, &options, &s), POCKET_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  EXPECT_NE(std::string(pocket_last_error()).find("not a Pocket tuning file"), std::string::npos) << pocket_last_error();
  EXPECT_EQ(pocket_session_notices(nullptr), std::string());
  std::remove(foreign.c_str());
  std::remove(path.c_str());
  rmdir(dir);

  // The C++ wrapper passes the same options.
  pocket_model_free(model);
  pocket::api::Model m;
  ASSERT_TRUE(m.load_buffer(bytes.data(), bytes.size()).ok());
  pocket::api::Session session;
  pocket::api::SessionOptions o;
  o.num_threads = 2;
  o.tune = true;
  ASSERT_TRUE(session.create(m, o).ok());
  EXPECT_TRUE(session.notices().empty());
}

}  // namespace
