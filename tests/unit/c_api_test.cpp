// The public C API (pocket/pocket.h) and its C++ wrapper (pocket/pocket.hpp) on tiny hand-built
// models: loading, errors with codes and messages, inputs/outputs, resize, labels; NULL arguments
// named by every function, exceptions turned into statuses, sustained mode and the pacer.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/c_api_internal.h"
#include "format/builder.h"
#include "pocket/pocket.h"
#include "pocket/pocket.hpp"
#include "pocket/pocket_speech.h"
#include "pocket/pocket_text.h"

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
  pocket_session_options bad_threads;
  pocket_session_options_init(&bad_threads);
  bad_threads.num_threads = 0;
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

// ---- Exception safety, NULL arguments, sustained mode and the pacer ----------------------------

namespace {

// The call failed with POCKET_INVALID_ARGUMENT and a message naming function and argument.
void expect_null(pocket_status st, const char* function, const char* argument) {
  EXPECT_EQ(st, POCKET_INVALID_ARGUMENT) << function << " " << argument;
  const std::string want = std::string(function) + ": " + argument + " must not be NULL";
  EXPECT_NE(std::string(pocket_last_error()).find(want), std::string::npos)
      << "want '" << want << "', got '" << pocket_last_error() << "'";
}

TEST(CApi, NullArgumentsAreNamedByEveryFunction) {
  const auto bytes = add_model(/*symbolic=*/true);
  pocket_model* m = nullptr;
  ASSERT_EQ(pocket_model_load_buffer(bytes.data(), bytes.size(), &m), POCKET_OK);
  pocket_session* s = nullptr;
  ASSERT_EQ(pocket_session_create(m, nullptr, &s), POCKET_OK);
  pocket_model* mo = reinterpret_cast<pocket_model*>(0x1);
  pocket_session* so = reinterpret_cast<pocket_session*>(0x1);

  expect_null(pocket_model_load(nullptr, &mo), "pocket_model_load", "path");
  EXPECT_EQ(mo, nullptr);  // creating calls clear their out handle on failure
  expect_null(pocket_model_load("x.pocket", nullptr), "pocket_model_load", "out_model");
  expect_null(pocket_model_load_buffer(nullptr, 4, &mo), "pocket_model_load_buffer", "data");
  expect_null(pocket_model_load_buffer(bytes.data(), bytes.size(), nullptr), "pocket_model_load_buffer", "out_model");
  pocket_model_free(nullptr);
  EXPECT_EQ(pocket_model_num_labels(nullptr), 0u);
  EXPECT_EQ(pocket_model_label(nullptr, 0), nullptr);
  pocket_preprocessing pp;
  EXPECT_EQ(pocket_model_preprocessing(nullptr, &pp), 0);
  EXPECT_EQ(pocket_model_preprocessing(m, nullptr), 0);

  pocket_session_options_init(nullptr);
  expect_null(pocket_session_create(nullptr, nullptr, &so), "pocket_session_create", "model");
  EXPECT_EQ(so, nullptr);
  expect_null(pocket_session_create(m, nullptr, nullptr), "pocket_session_create", "out_session");
  pocket_session_free(nullptr);
  EXPECT_EQ(pocket_session_num_inputs(nullptr), 0u);
  EXPECT_EQ(pocket_session_num_outputs(nullptr), 0u);
  EXPECT_EQ(pocket_session_num_threads(nullptr), 0);
  pocket_tensor_info info;
  expect_null(pocket_session_input_info(nullptr, 0, &info), "pocket_session_input_info", "session");
  expect_null(pocket_session_input_info(s, 0, nullptr), "pocket_session_input_info", "info");
  expect_null(pocket_session_output_info(nullptr, 0, &info), "pocket_session_output_info", "session");
  expect_null(pocket_session_output_info(s, 0, nullptr), "pocket_session_output_info", "info");
  const int64_t shape[1] = {1};
  const float x[1] = {1};
  expect_null(pocket_session_set_input(nullptr, "a", POCKET_F32, shape, 1, x), "pocket_session_set_input", "session");
  expect_null(pocket_session_set_input(s, nullptr, POCKET_F32, shape, 1, x), "pocket_session_set_input", "name");
  expect_null(pocket_session_set_input(s, "a", POCKET_F32, shape, 1, nullptr), "pocket_session_set_input", "data");
  EXPECT_EQ(pocket_session_set_input(s, "a", POCKET_F32, nullptr, 1, x), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("shape must not be NULL"), std::string::npos) << pocket_last_error();
  void* in = nullptr;
  expect_null(pocket_session_input_data(nullptr, 0, &in), "pocket_session_input_data", "session");
  expect_null(pocket_session_input_data(s, 0, nullptr), "pocket_session_input_data", "data");
  expect_null(pocket_session_resize_input(nullptr, "a", shape, 1), "pocket_session_resize_input", "session");
  expect_null(pocket_session_resize_input(s, nullptr, shape, 1), "pocket_session_resize_input", "name");
  EXPECT_EQ(pocket_session_resize_input(s, "a", nullptr, 1), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("shape must not be NULL"), std::string::npos);
  const char* names[1] = {"a"};
  const int64_t* shapes[1] = {shape};
  const int32_t ranks[1] = {1};
  expect_null(pocket_session_resize_inputs(nullptr, 1, names, shapes, ranks), "pocket_session_resize_inputs", "session");
  expect_null(pocket_session_resize_inputs(s, 1, nullptr, shapes, ranks), "pocket_session_resize_inputs", "names");
  expect_null(pocket_session_resize_inputs(s, 1, names, nullptr, ranks), "pocket_session_resize_inputs", "shapes");
  expect_null(pocket_session_resize_inputs(s, 1, names, shapes, nullptr), "pocket_session_resize_inputs", "ranks");
  const char* null_name[1] = {nullptr};
  EXPECT_EQ(pocket_session_resize_inputs(s, 1, null_name, shapes, ranks), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("entry 0"), std::string::npos) << pocket_last_error();
  EXPECT_EQ(pocket_session_resize_inputs(s, 0, nullptr, nullptr, nullptr), POCKET_OK);
  expect_null(pocket_session_run(nullptr), "pocket_session_run", "session");
  const void* out = nullptr;
  expect_null(pocket_session_output_data(nullptr, 0, &out), "pocket_session_output_data", "session");
  expect_null(pocket_session_output_data(s, 0, nullptr), "pocket_session_output_data", "data");
  EXPECT_STREQ(pocket_session_notices(nullptr), "");
  EXPECT_EQ(pocket_session_arena_bytes(nullptr), 0u);
  EXPECT_EQ(pocket_session_arena_lower_bound(nullptr), 0u);
  pocket_memory_report report;
  expect_null(pocket_session_memory(nullptr, &report), "pocket_session_memory", "session");
  expect_null(pocket_session_memory(s, nullptr), "pocket_session_memory", "out");

  pocket_pacer_options po;
  pocket_pacer_options_init(nullptr);
  pocket_pacer_options_init(&po);
  pocket_pacer* p = reinterpret_cast<pocket_pacer*>(0x1);
  expect_null(pocket_pacer_create(nullptr, &po, &p), "pocket_pacer_create", "session");
  EXPECT_EQ(p, nullptr);
  expect_null(pocket_pacer_create(s, nullptr, &p), "pocket_pacer_create", "options");
  expect_null(pocket_pacer_create(s, &po, nullptr), "pocket_pacer_create", "out_pacer");
  pocket_pacer_free(nullptr);
  expect_null(pocket_pacer_run(nullptr, 0, nullptr), "pocket_pacer_run", "pacer");
  pocket_pacer_stats stats;
  expect_null(pocket_pacer_get_stats(nullptr, &stats), "pocket_pacer_get_stats", "pacer");
  ASSERT_EQ(pocket_pacer_create(s, &po, &p), POCKET_OK);
  expect_null(pocket_pacer_get_stats(p, nullptr), "pocket_pacer_get_stats", "out");
  pocket_pacer_free(p);

  // The text and speech APIs share the conventions and the message.
  pocket_text_tokenizer* tok = reinterpret_cast<pocket_text_tokenizer*>(0x1);
  expect_null(pocket_text_tokenizer_load(nullptr, &tok), "pocket_text_tokenizer_load", "model_path");
  EXPECT_EQ(tok, nullptr);
  EXPECT_STREQ(pocket_text_last_error(), pocket_last_error());
  expect_null(pocket_text_tokenizer_load("m.pocket", nullptr), "pocket_text_tokenizer_load", "out");
  expect_null(pocket_text_tokenizer_from_vocab(nullptr, 1, 0, &tok), "pocket_text_tokenizer_from_vocab", "vocab_path");
  expect_null(pocket_text_tokenizer_from_vocab("vocab.txt", 1, 0, nullptr), "pocket_text_tokenizer_from_vocab", "out");
  pocket_text_tokenizer_free(nullptr);
  EXPECT_EQ(pocket_text_tokenizer_vocab_size(nullptr), 0u);
  EXPECT_STREQ(pocket_text_tokenizer_token(nullptr, 0), "");
  EXPECT_EQ(pocket_text_tokenizer_token_id(nullptr, "a"), -1);
  size_t length = 0;
  expect_null(pocket_text_tokenizer_encode(nullptr, "a", POCKET_TEXT_NUL_TERMINATED, 0, 0, nullptr, nullptr, 0, &length),
              "pocket_text_tokenizer_encode", "tokenizer");
  pocket_text_classifier_options_init(nullptr);
  pocket_text_classifier* tc = reinterpret_cast<pocket_text_classifier*>(0x1);
  expect_null(pocket_text_classifier_create(nullptr, nullptr, &tc), "pocket_text_classifier_create", "model_path");
  EXPECT_EQ(tc, nullptr);
  expect_null(pocket_text_classifier_create("m.pocket", nullptr, nullptr), "pocket_text_classifier_create", "out");
  expect_null(pocket_text_classifier_create_from_buffer(nullptr, 4, nullptr, &tc),
              "pocket_text_classifier_create_from_buffer", "data");
  expect_null(pocket_text_classifier_create_from_buffer(bytes.data(), bytes.size(), nullptr, nullptr),
              "pocket_text_classifier_create_from_buffer", "out");
  pocket_text_classifier_free(nullptr);
  EXPECT_EQ(pocket_text_classifier_num_classes(nullptr), 0u);
  EXPECT_STREQ(pocket_text_classifier_label(nullptr, 0), "");
  EXPECT_EQ(pocket_text_classifier_tokenizer(nullptr), nullptr);
  pocket_text_result tr;
  expect_null(pocket_text_classify(nullptr, "a", POCKET_TEXT_NUL_TERMINATED, &tr), "pocket_text_classify", "classifier");

  pocket_transcriber_options_init(nullptr);
  pocket_transcriber* t = reinterpret_cast<pocket_transcriber*>(0x1);
  expect_null(pocket_transcriber_create(nullptr, "d.pocket", nullptr, &t), "pocket_transcriber_create", "encoder_path");
  EXPECT_EQ(t, nullptr);
  EXPECT_STREQ(pocket_speech_last_error(), pocket_last_error());
  expect_null(pocket_transcriber_create("e.pocket", nullptr, nullptr, &t), "pocket_transcriber_create", "decoder_path");
  expect_null(pocket_transcriber_create("e.pocket", "d.pocket", nullptr, nullptr), "pocket_transcriber_create",
              "out_transcriber");
  pocket_transcriber_free(nullptr);
  pocket_transcription r;
  expect_null(pocket_transcribe_wav(nullptr, "a.wav", &r), "pocket_transcribe_wav", "transcriber");
  const float pcm[1] = {0};
  expect_null(pocket_transcribe_pcm(nullptr, pcm, 1, 16000, &r), "pocket_transcribe_pcm", "transcriber");

  pocket_session_free(s);
  pocket_model_free(m);
}

TEST(CApi, TokenizerNullBuffersAndText) {
  char dir[] = "/tmp/pocket_capi_vocab_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string vocab = std::string(dir) + "/vocab.txt";
  std::ofstream(vocab) << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n";
  pocket_text_tokenizer* tok = nullptr;
  ASSERT_EQ(pocket_text_tokenizer_from_vocab(vocab.c_str(), 1, 0, &tok), POCKET_OK) << pocket_text_last_error();
  std::remove(vocab.c_str());
  rmdir(dir);
  int64_t ids[8];
  size_t length = 0;
  expect_null(pocket_text_tokenizer_encode(tok, "hello", POCKET_TEXT_NUL_TERMINATED, 0, 0, ids, nullptr, 8, nullptr),
              "pocket_text_tokenizer_encode", "out_length");
  EXPECT_EQ(pocket_text_tokenizer_encode(tok, nullptr, 3, 0, 0, ids, nullptr, 8, &length), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("text must not be NULL"), std::string::npos) << pocket_last_error();
  // NULL text with no bytes is the empty text: [CLS] [SEP].
  ASSERT_EQ(pocket_text_tokenizer_encode(tok, nullptr, 0, 0, 0, ids, nullptr, 8, &length), POCKET_OK);
  EXPECT_EQ(length, 2u);
  ASSERT_EQ(pocket_text_tokenizer_encode(tok, "Hello world", POCKET_TEXT_NUL_TERMINATED, 0, 0, ids, nullptr, 8, &length),
            POCKET_OK);
  ASSERT_EQ(length, 4u);
  EXPECT_EQ(ids[1], 5);
  EXPECT_EQ(ids[2], 6);
  pocket_text_tokenizer_free(tok);
}

TEST(CApi, ExceptionsBecomeStatuses) {
  using pocket::capi::call_guarded;
  // The one wrapper every entry point runs in.
  EXPECT_EQ(call_guarded("f", []() -> pocket_status { throw std::bad_alloc(); }), POCKET_OUT_OF_MEMORY);
  EXPECT_STREQ(pocket_last_error(), "f: out of memory");
  EXPECT_EQ(call_guarded("g", []() -> pocket_status { throw std::length_error("vector too long"); }), POCKET_INTERNAL);
  EXPECT_STREQ(pocket_last_error(), "g: vector too long");
  EXPECT_EQ(call_guarded("h", []() -> pocket_status { throw 42; }), POCKET_INTERNAL);
  EXPECT_STREQ(pocket_last_error(), "h: unknown exception");
  EXPECT_EQ(call_guarded("i", [] { return POCKET_IO_ERROR; }), POCKET_IO_ERROR);

  // Through a real entry point: a (C++) clock callback that throws inside pocket_pacer_run.
  const auto bytes = add_model();
  pocket_model* m = nullptr;
  ASSERT_EQ(pocket_model_load_buffer(bytes.data(), bytes.size(), &m), POCKET_OK);
  pocket_session* s = nullptr;
  ASSERT_EQ(pocket_session_create(m, nullptr, &s), POCKET_OK);
  struct Thrower {
    int mode = 0;  // 0: time 0, 1: bad_alloc, 2: runtime_error
  } thrower;
  pocket_pacer_options po;
  pocket_pacer_options_init(&po);
  po.clock = [](void* c) -> int64_t {
    switch (static_cast<Thrower*>(c)->mode) {
      case 1: throw std::bad_alloc();
      case 2: throw std::runtime_error("clock broke");
      default: return 0;
    }
  };
  po.clock_context = &thrower;
  pocket_pacer* p = nullptr;
  ASSERT_EQ(pocket_pacer_create(s, &po, &p), POCKET_OK);
  thrower.mode = 1;
  EXPECT_EQ(pocket_pacer_run(p, 0, nullptr), POCKET_OUT_OF_MEMORY);
  EXPECT_STREQ(pocket_last_error(), "pocket_pacer_run: out of memory");
  thrower.mode = 0;  // the pacer still works
  pocket_pace_result r = POCKET_PACE_REUSED;
  EXPECT_EQ(pocket_pacer_run(p, 0, &r), POCKET_OK);
  EXPECT_EQ(r, POCKET_PACE_RAN);
  thrower.mode = 2;  // after a run, the stats read the clock (wait_ns)
  pocket_pacer_stats st;
  EXPECT_EQ(pocket_pacer_get_stats(p, &st), POCKET_INTERNAL);
  EXPECT_STREQ(pocket_last_error(), "pocket_pacer_get_stats: clock broke");
  EXPECT_EQ(pocket_pacer_run(p, 1, &r), POCKET_INTERNAL);
  EXPECT_STREQ(pocket_last_error(), "pocket_pacer_run: clock broke");
  pocket_pacer_free(p);
  pocket_session_free(s);
  pocket_model_free(m);
}

TEST(CApi, HugeResizeFailsCleanly) {
  const auto bytes = add_model(/*symbolic=*/true);
  pocket_model* m = nullptr;
  ASSERT_EQ(pocket_model_load_buffer(bytes.data(), bytes.size(), &m), POCKET_OK);
  pocket_session* s = nullptr;
  ASSERT_EQ(pocket_session_create(m, nullptr, &s), POCKET_OK);
  // Sizes whose byte counts overflow (2^62 floats are 2^64 bytes: 0 in a size_t). Smaller huge
  // sizes are left out: whether their mapping fails depends on the machine's overcommit policy.
  for (int64_t n : {int64_t{1} << 61, int64_t{1} << 62, INT64_MAX}) {
    const int64_t shape[1] = {n};
    const pocket_status st = pocket_session_resize_input(s, "a", shape, 1);
    EXPECT_TRUE(st == POCKET_OUT_OF_MEMORY || st == POCKET_INVALID_ARGUMENT) << n << ": " << st;
    EXPECT_GT(std::strlen(pocket_last_error()), 10u);
  }
  // The session kept its shapes and still runs.
  pocket_tensor_info info;
  ASSERT_EQ(pocket_session_input_info(s, 0, &info), POCKET_OK);
  EXPECT_EQ(info.shape[0], 1);
  EXPECT_EQ(pocket_session_run(s), POCKET_OK);
  pocket_session_free(s);
  pocket_model_free(m);
}

TEST(CApi, SustainedModeCapsThreads) {
  const auto bytes = add_model();
  pocket_model* m = nullptr;
  ASSERT_EQ(pocket_model_load_buffer(bytes.data(), bytes.size(), &m), POCKET_OK);
  pocket_session_options o;
  pocket_session_options_init(&o);
  EXPECT_EQ(o.sustained, 0);
  EXPECT_EQ(o.sustained_max_threads, 0);
  o.num_threads = 4;
  pocket_session* s = nullptr;
  ASSERT_EQ(pocket_session_create(m, &o, &s), POCKET_OK) << pocket_last_error();
  EXPECT_EQ(pocket_session_num_threads(s), 4);
  pocket_session_free(s);
  o.sustained = 1;
  o.sustained_max_threads = 3;
  ASSERT_EQ(pocket_session_create(m, &o, &s), POCKET_OK) << pocket_last_error();
  EXPECT_EQ(pocket_session_num_threads(s), 3);
  pocket_session_free(s);
  o.sustained_max_threads = 0;
  ASSERT_EQ(pocket_session_create(m, &o, &s), POCKET_OK) << pocket_last_error();
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_EQ(pocket_session_num_threads(s), std::min(4, std::max(1, cores / 2)));
  pocket_session_free(s);
  o.sustained_max_threads = -1;
  EXPECT_EQ(pocket_session_create(m, &o, &s), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("sustained_max_threads"), std::string::npos);
  EXPECT_EQ(s, nullptr);

  pocket::api::Model model;
  ASSERT_TRUE(model.load_buffer(bytes.data(), bytes.size()).ok());
  pocket::api::SessionOptions co;
  co.num_threads = 4;
  co.sustained = true;
  co.sustained_max_threads = 2;
  pocket::api::Session session;
  ASSERT_TRUE(session.create(model, co).ok());
  EXPECT_EQ(session.num_threads(), 2);
  pocket_memory_report report;
  ASSERT_TRUE(session.memory(&report).ok());
  EXPECT_GE(report.total, report.arena);
  pocket_model_free(m);
}

// A fake clock for the C pacer: returns now, then moves it by step (the run "takes" step).
struct StepClock {
  int64_t now = 0;
  int64_t step = 0;
  static int64_t read(void* c) {
    auto* self = static_cast<StepClock*>(c);
    const int64_t t = self->now;
    self->now += self->step;
    return t;
  }
};

constexpr int64_t kMs = 1000000;

struct AddSession {
  pocket_model* model = nullptr;
  pocket_session* session = nullptr;
  explicit AddSession(bool symbolic = false) {
    const auto bytes = add_model(symbolic);
    EXPECT_EQ(pocket_model_load_buffer(bytes.data(), bytes.size(), &model), POCKET_OK);
    EXPECT_EQ(pocket_session_create(model, nullptr, &session), POCKET_OK);
  }
  ~AddSession() {
    pocket_session_free(session);
    pocket_model_free(model);
  }
  float sum3() const {
    const void* out = nullptr;
    EXPECT_EQ(pocket_session_output_data(session, 0, &out), POCKET_OK);
    return static_cast<const float*>(out)[3];
  }
  void set(float a, float b) {
    const int64_t shape[1] = {4};
    const float va[4] = {a, a, a, a}, vb[4] = {b, b, b, b};
    EXPECT_EQ(pocket_session_set_input(session, "a", POCKET_F32, shape, 1, va), POCKET_OK) << pocket_last_error();
    EXPECT_EQ(pocket_session_set_input(session, "b", POCKET_F32, shape, 1, vb), POCKET_OK) << pocket_last_error();
  }
};

TEST(CApi, PacerRateLimitsAndReusesTheOutputs) {
  AddSession as;
  StepClock clock;
  pocket_pacer_options o;
  pocket_pacer_options_init(&o);
  EXPECT_EQ(o.min_interval_ns, 0);
  EXPECT_EQ(o.duty_cycle, 1.0);
  EXPECT_EQ(o.clock, nullptr);
  o.min_interval_ns = 100 * kMs;
  o.clock = StepClock::read;
  o.clock_context = &clock;
  pocket_pacer* p = nullptr;
  ASSERT_EQ(pocket_pacer_create(as.session, &o, &p), POCKET_OK) << pocket_last_error();
  pocket_pace_result r;
  as.set(1, 2);
  ASSERT_EQ(pocket_pacer_run(p, 0, &r), POCKET_OK);  // t = 0: runs
  EXPECT_EQ(r, POCKET_PACE_RAN);
  EXPECT_EQ(as.sum3(), 3.f);
  as.set(10, 20);  // new inputs do not force a run
  clock.now = 99 * kMs;
  ASSERT_EQ(pocket_pacer_run(p, 0, &r), POCKET_OK);
  EXPECT_EQ(r, POCKET_PACE_REUSED);
  EXPECT_EQ(as.sum3(), 3.f);  // the previous result, untouched
  clock.now = 100 * kMs;
  ASSERT_EQ(pocket_pacer_run(p, 0, &r), POCKET_OK);
  EXPECT_EQ(r, POCKET_PACE_RAN);
  EXPECT_EQ(as.sum3(), 30.f);
  as.set(100, 200);
  clock.now = 150 * kMs;
  ASSERT_EQ(pocket_pacer_run(p, /*force=*/1, &r), POCKET_OK);
  EXPECT_EQ(r, POCKET_PACE_RAN);
  EXPECT_EQ(as.sum3(), 300.f);
  pocket_pacer_stats st;
  ASSERT_EQ(pocket_pacer_get_stats(p, &st), POCKET_OK);
  EXPECT_EQ(st.runs, 3);
  EXPECT_EQ(st.reused, 1);
  EXPECT_EQ(st.next_run_ns, 250 * kMs);
  EXPECT_EQ(st.wait_ns, 100 * kMs);
  ASSERT_EQ(pocket_pacer_run(p, 0, nullptr), POCKET_OK);  // out_result may be NULL
  pocket_pacer_free(p);

  o.duty_cycle = 0;
  EXPECT_EQ(pocket_pacer_create(as.session, &o, &p), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("duty"), std::string::npos) << pocket_last_error();
  EXPECT_EQ(p, nullptr);
  o.duty_cycle = 1;
  o.min_interval_ns = -5;
  EXPECT_EQ(pocket_pacer_create(as.session, &o, &p), POCKET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pocket_last_error()).find("min_interval_ns"), std::string::npos) << pocket_last_error();
}

TEST(CApi, PacerDutyCycleFromMeasuredRuns) {
  AddSession as;
  StepClock clock;
  clock.step = 10 * kMs;  // every clock read moves 10 ms: a run measures 10 ms
  pocket_pacer_options o;
  pocket_pacer_options_init(&o);
  o.duty_cycle = 0.25;
  o.clock = StepClock::read;
  o.clock_context = &clock;
  pocket_pacer* p = nullptr;
  ASSERT_EQ(pocket_pacer_create(as.session, &o, &p), POCKET_OK) << pocket_last_error();
  pocket_pace_result r;
  ASSERT_EQ(pocket_pacer_run(p, 0, &r), POCKET_OK);  // starts at 0, ends at 10 ms
  EXPECT_EQ(r, POCKET_PACE_RAN);
  pocket_pacer_stats st;
  ASSERT_EQ(pocket_pacer_get_stats(p, &st), POCKET_OK);  // reads 20 ms
  EXPECT_EQ(st.last_run_ns, 10 * kMs);
  EXPECT_EQ(st.next_run_ns, 40 * kMs);  // 10 ms + 10 * (1 / 0.25 - 1)
  EXPECT_EQ(st.wait_ns, 20 * kMs);
  clock.now = 39 * kMs;
  ASSERT_EQ(pocket_pacer_run(p, 0, &r), POCKET_OK);
  EXPECT_EQ(r, POCKET_PACE_REUSED);
  clock.now = 40 * kMs;
  ASSERT_EQ(pocket_pacer_run(p, 0, &r), POCKET_OK);
  EXPECT_EQ(r, POCKET_PACE_RAN);
  pocket_pacer_free(p);
}

TEST(CApi, PacerRunsAfterAResize) {
  AddSession as(/*symbolic=*/true);
  StepClock clock;
  pocket_pacer_options o;
  pocket_pacer_options_init(&o);
  o.min_interval_ns = 1000 * kMs;
  o.clock = StepClock::read;
  o.clock_context = &clock;
  pocket_pacer* p = nullptr;
  ASSERT_EQ(pocket_pacer_create(as.session, &o, &p), POCKET_OK);
  pocket_pace_result r;
  ASSERT_EQ(pocket_pacer_run(p, 0, &r), POCKET_OK);
  EXPECT_EQ(r, POCKET_PACE_RAN);
  ASSERT_EQ(pocket_pacer_run(p, 0, &r), POCKET_OK);
  EXPECT_EQ(r, POCKET_PACE_REUSED);
  const int64_t shape[1] = {4};
  ASSERT_EQ(pocket_session_resize_input(as.session, "a", shape, 1), POCKET_OK);
  as.set(1, 2);
  ASSERT_EQ(pocket_pacer_run(p, 0, &r), POCKET_OK);  // the outputs were replaced: runs
  EXPECT_EQ(r, POCKET_PACE_RAN);
  EXPECT_EQ(as.sum3(), 3.f);
  ASSERT_EQ(pocket_pacer_run(p, 0, &r), POCKET_OK);
  EXPECT_EQ(r, POCKET_PACE_REUSED);
  // A failed resize changes nothing: still reused.
  const int64_t bad[2] = {2, 2};
  EXPECT_NE(pocket_session_resize_input(as.session, "a", bad, 2), POCKET_OK);
  ASSERT_EQ(pocket_pacer_run(p, 0, &r), POCKET_OK);
  EXPECT_EQ(r, POCKET_PACE_REUSED);
  pocket_pacer_free(p);
}

TEST(CppApi, PacerWithAStdFunctionClock) {
  pocket::api::Model model;
  const auto bytes = identity_model();
  ASSERT_TRUE(model.load_buffer(bytes.data(), bytes.size()).ok());
  pocket::api::Session session;
  ASSERT_TRUE(session.create(model).ok());
  int64_t now = 0;
  pocket::api::PacerOptions o;
  o.min_interval = std::chrono::milliseconds(50);
  o.clock = [&now] { return now; };
  pocket::api::Pacer pacer;
  ASSERT_TRUE(pacer.create(session, o).ok());
  pocket::api::Pacer moved = std::move(pacer);  // the clock moves with it
  EXPECT_FALSE(pacer.created());
  bool ran = false;
  ASSERT_TRUE(moved.run(false, &ran).ok());
  EXPECT_TRUE(ran);
  now = 49 * kMs;
  ASSERT_TRUE(moved.run(false, &ran).ok());
  EXPECT_FALSE(ran);
  EXPECT_EQ(moved.stats().wait_ns, 1 * kMs);
  now = 50 * kMs;
  ASSERT_TRUE(moved.run(false, &ran).ok());
  EXPECT_TRUE(ran);
  EXPECT_EQ(pacer.run().code, POCKET_INVALID_ARGUMENT);  // no pacer
  o.duty_cycle = 2;
  EXPECT_EQ(pacer.create(session, o).code, POCKET_INVALID_ARGUMENT);
}

}  // namespace
