// Model::load validation of tensor quantization (format 1.2): every invalid parameter is rejected
// at load with the tensor named.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "engine/model.h"
#include "format/builder.h"

namespace pocket {
namespace {

// Identity(X) with X a graph input of the given dtype/shape/quantization.
std::vector<uint8_t> model_with(fb::DType dtype, std::vector<int64_t> shape, const format::QuantDesc& q,
                                bool constant = false) {
  format::ModelDesc m;
  format::TensorDesc x;
  x.name = "quantized_x";
  x.dtype = dtype;
  x.shape = shape;
  x.has_quant = true;
  x.quant = q;
  if (constant) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    x.has_data = true;
    x.data.assign(static_cast<size_t>(n) * (dtype == fb::DType::F32 ? 4 : 1), 0);
  }
  const int32_t xi = m.add_tensor(x);
  format::TensorDesc y;
  y.name = "y";
  y.dtype = dtype;
  y.shape = shape;
  const int32_t yi = m.add_tensor(y);
  format::NodeDesc n;
  n.op = fb::OpType::Identity;
  n.name = "id";
  n.inputs = {xi};
  n.outputs = {yi};
  m.nodes.push_back(n);
  if (!constant) m.inputs.push_back(xi);
  m.outputs.push_back(yi);
  return format::serialize(m);
}

format::QuantDesc q(std::vector<float> scales, std::vector<int64_t> zps = {}, int axis = -1, int block = 0) {
  format::QuantDesc d;
  d.scales = std::move(scales);
  d.zero_points = std::move(zps);
  d.axis = axis;
  d.block_size = block;
  return d;
}

void expect_rejected(const std::vector<uint8_t>& bytes, const std::string& what) {
  auto m = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_FALSE(m.ok()) << "accepted: " << what;
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(m.status().message().find("quantized_x"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find(what), std::string::npos) << m.status().message();
}

TEST(ModelQuantTest, ValidQuantizationLoads) {
  for (auto bytes : {model_with(fb::DType::I8, {2, 3}, q({0.5f}, {-3})),
                     model_with(fb::DType::I8, {2, 3}, q({0.5f, 0.25f, 1.f}, {}, 1)),
                     model_with(fb::DType::I8, {2, 3}, q({0.5f, 0.25f}, {0, 0}, 0), true),
                     model_with(fb::DType::I8, {2, 3}, q({0.5f}, {127}))}) {
    auto m = Model::load_buffer(bytes.data(), bytes.size());
    EXPECT_TRUE(m.ok()) << m.status().message();
  }
}

TEST(ModelQuantTest, NonInt8TensorRejected) {
  expect_rejected(model_with(fb::DType::F32, {2, 3}, q({0.5f})), "dtype float32");
}

TEST(ModelQuantTest, EmptyScalesRejected) { expect_rejected(model_with(fb::DType::I8, {2, 3}, q({})), "without scales"); }

TEST(ModelQuantTest, BadScalesRejected) {
  expect_rejected(model_with(fb::DType::I8, {2, 3}, q({0.f})), "finite and > 0");
  expect_rejected(model_with(fb::DType::I8, {2, 3}, q({-1.f})), "finite and > 0");
  expect_rejected(model_with(fb::DType::I8, {2, 3}, q({std::numeric_limits<float>::quiet_NaN()})), "finite and > 0");
  expect_rejected(model_with(fb::DType::I8, {2, 3}, q({std::numeric_limits<float>::infinity()})), "finite and > 0");
  expect_rejected(model_with(fb::DType::I8, {2, 3}, q({1.f, -0.5f, 1.f}, {}, 1)), "at index 1");
}

TEST(ModelQuantTest, ZeroPointsRejected) {
  expect_rejected(model_with(fb::DType::I8, {2, 3}, q({0.5f}, {128})), "zero point 128");
  expect_rejected(model_with(fb::DType::I8, {2, 3}, q({0.5f}, {-129})), "zero point -129");
  expect_rejected(model_with(fb::DType::I8, {2, 3}, q({0.5f, 0.5f, 0.5f}, {0, 0}, 1)), "2 quantization zero points for 3 scales");
}

TEST(ModelQuantTest, AxisRejected) {
  expect_rejected(model_with(fb::DType::I8, {2, 3}, q({0.5f, 0.5f}, {}, 2)), "axis 2 out of range");
  expect_rejected(model_with(fb::DType::I8, {2, 3}, q({0.5f, 0.5f}, {}, -2)), "axis -2 out of range");
  expect_rejected(model_with(fb::DType::I8, {2, 3}, q({0.5f, 0.5f}, {}, 1)), "2 quantization scales along axis 1 of size 3");
  expect_rejected(model_with(fb::DType::I8, {2, 3}, q({0.5f, 0.5f})), "per-tensor quantization (axis -1) with 2 scales");
}

TEST(ModelQuantTest, BlockSizeRejected) {
  expect_rejected(model_with(fb::DType::I8, {2, 4}, q({0.5f}, {}, -1, 32)), "block_size 32");
}

}  // namespace
}  // namespace pocket
