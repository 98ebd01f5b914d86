// Loading never trusts the file: every corruption gives an error naming the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "engine/model.h"
#include "engine/session.h"
#include "format/builder.h"

namespace pocket {
namespace {

format::ModelDesc small_model() {
  format::ModelDesc m;
  format::TensorDesc x;
  x.name = "x";
  x.shape = {2, 3};
  format::TensorDesc w;
  w.name = "w";
  w.shape = {2, 3};
  w.has_data = true;
  w.data.assign(24, 0);
  format::TensorDesc y;
  y.name = "y";
  int32_t ix = m.add_tensor(x), iw = m.add_tensor(w), iy = m.add_tensor(y);
  format::NodeDesc add;
  add.op = fb::OpType::Add;
  add.name = "add0";
  add.inputs = {ix, iw};
  add.outputs = {iy};
  m.nodes.push_back(add);
  m.inputs = {ix};
  m.outputs = {iy};
  m.metadata.labels = {"cat", "dog"};
  return m;
}

std::string load_error(const std::vector<uint8_t>& bytes) {
  auto r = Model::load_buffer(bytes.data(), bytes.size());
  return r.ok() ? "" : r.status().message();
}

TEST(ModelLoad, ValidModelLoadsWithWeightsAligned) {
  std::vector<uint8_t> bytes = format::serialize(small_model());
  auto r = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Model& m = *r.value();
  EXPECT_EQ(m.fb().weights_offset() % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m.tensor_data(1)) % 64, 0u);
  EXPECT_EQ(m.labels(), (std::vector<std::string>{"cat", "dog"}));
}

TEST(ModelLoad, EveryTruncationIsRejected) {
  std::vector<uint8_t> bytes = format::serialize(small_model());
  for (size_t n = 0; n < bytes.size(); n += 7) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    EXPECT_NE(load_error(cut), "") << "truncated to " << n;
  }
}

TEST(ModelLoad, WrongIdentifierIsNamed) {
  std::vector<uint8_t> bytes = format::serialize(small_model());
  std::memcpy(bytes.data() + 8, "XXXX", 4);
  EXPECT_NE(load_error(bytes).find("PCKT"), std::string::npos);
}

TEST(ModelLoad, RandomByteFlipsNeverCrash) {
  std::vector<uint8_t> good = format::serialize(small_model());
  uint32_t seed = 1;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint8_t> bytes = good;
    for (int k = 0; k < 3; ++k) {
      seed = seed * 1103515245u + 12345u;
      bytes[(seed >> 8) % bytes.size()] ^= static_cast<uint8_t>(1u << (seed % 8));
    }
    auto r = Model::load_buffer(bytes.data(), bytes.size());
    if (r.ok()) {
      auto s = Session::create(r.value());
      (void)s;  // either a usable session or an error; never a crash
    }
  }
}

TEST(ModelLoad, BadTensorIndexIsNamed) {
  format::ModelDesc m = small_model();
  m.nodes[0].inputs[1] = 42;
  EXPECT_NE(load_error(format::serialize(m)).find("tensor 42"), std::string::npos);
}

TEST(ModelLoad, ConstantSizeMismatchIsNamed) {
  format::ModelDesc m = small_model();
  m.tensors[1].data.resize(20);
  std::string e = load_error(format::serialize(m));
  EXPECT_NE(e.find("'w'"), std::string::npos) << e;
  EXPECT_NE(e.find("needs 24"), std::string::npos) << e;
}

TEST(ModelLoad, ReadBeforeWriteIsRejected) {
  format::ModelDesc m = small_model();
  m.inputs.clear();
  EXPECT_NE(load_error(format::serialize(m)).find("before it is produced"), std::string::npos);
}

TEST(ModelLoad, MissingFileIsAnIoError) {
  auto r = Model::load_file("/nonexistent/model.pocket");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(r.status().message().find("/nonexistent/model.pocket"), std::string::npos);
}

TEST(ModelLoad, FileIsMappedAndUsable) {
  std::string path = ::testing::TempDir() + "/small.pocket";
  {
    std::ofstream f(path, std::ios::binary);
    format::write(small_model(), f);
  }
  auto r = Model::load_file(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value()->graph().nodes()->size(), 1u);
}

TEST(Session, RunsAndPlansWithinLowerBound) {
  std::vector<uint8_t> bytes = format::serialize(small_model());
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(model.ok());
  auto s = Session::create(model.value());
  ASSERT_TRUE(s.ok()) << s.status().message();
  float x[6] = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(s.value()->set_input("x", fb::DType::F32, {2, 3}, x).ok());
  s.value()->run();
  const Value& y = s.value()->output(0);
  EXPECT_EQ(y.shape, (Shape{2, 3}));
  EXPECT_FLOAT_EQ(y.as<float>()[5], 6.f);
  EXPECT_GE(s.value()->arena_bytes(), s.value()->arena_lower_bound());
}

TEST(Session, InputErrorsNameTheTensor) {
  std::vector<uint8_t> bytes = format::serialize(small_model());
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  auto s = Session::create(model.value());
  ASSERT_TRUE(s.ok());
  float x[6] = {};
  Status st = s.value()->set_input("nope", fb::DType::F32, {2, 3}, x);
  EXPECT_NE(st.message().find("'nope'"), std::string::npos);
  EXPECT_NE(st.message().find("'x'"), std::string::npos);
  st = s.value()->set_input("x", fb::DType::F32, {3, 2}, x);
  EXPECT_NE(st.message().find("[2, 3]"), std::string::npos);
  st = s.value()->set_input("x", fb::DType::I64, {2, 3}, x);
  EXPECT_NE(st.message().find("float32"), std::string::npos);
}

TEST(ModelLoad, UnknownOpCodeIsRejected) {
  format::ModelDesc m = small_model();
  m.nodes[0].op = static_cast<fb::OpType>(999);
  EXPECT_NE(load_error(format::serialize(m)).find("unknown op code 999"), std::string::npos);
}

TEST(Session, ZeroThreadsIsAnError) {
  std::vector<uint8_t> bytes = format::serialize(small_model());
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(model.ok());
  SessionOptions o;
  o.num_threads = 0;
  auto s = Session::create(model.value(), o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("num_threads"), std::string::npos);
}

}  // namespace
}  // namespace pocket
