// ScatterND, ScatterElements (in place when nothing else reads the data), Range and Trilu.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

using format::AttrDesc;
using testing::OpSpec;
using testing::TestTensor;

TestTensor i32(std::vector<int64_t> shape, const std::vector<int32_t>& v) {
  TestTensor t{fb::DType::I32, std::move(shape), {}};
  t.bytes.resize(v.size() * 4);
  std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

std::vector<float> iota(size_t n, float start = 0) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + static_cast<float>(i);
  return v;
}

TEST(ScatterND, RowsAndElementsWithNegativeIndices) {
  // data [4, 3], indices [2, 1] -> rows 1 and -1 (3) replaced.
  std::vector<TestTensor> out;
  OpSpec spec{fb::OpType::ScatterND,
              {TestTensor::f32({4, 3}, iota(12)), TestTensor::i64({2, 1}, {1, -1}), TestTensor::f32({2, 3}, iota(6, 100))},
              {false, false, false}, {}};
  ASSERT_TRUE(run_op(spec, &out).ok());
  EXPECT_EQ(out[0].shape, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(out[0].floats(), (std::vector<float>{0, 1, 2, 100, 101, 102, 6, 7, 8, 103, 104, 105}));
  // Full index tuples (k = rank): single elements; constant indices are checked at prepare.
  spec.inputs[1] = TestTensor::i64({2, 2}, {0, 2, 3, 0});
  spec.inputs[2] = TestTensor::f32({2}, {-1, -2});
  spec.constant = {false, true, false};
  ASSERT_TRUE(run_op(spec, &out).ok());
  EXPECT_EQ(out[0].floats(), (std::vector<float>{0, 1, -1, 3, 4, 5, 6, 7, 8, -2, 10, 11}));
}

TEST(ScatterND, BadIndicesAndShapes) {
  std::vector<TestTensor> out;
  // A constant index out of range: refused at prepare, naming it.
  OpSpec spec{fb::OpType::ScatterND,
              {TestTensor::f32({4, 3}, iota(12)), TestTensor::i64({1, 1}, {4}), TestTensor::f32({1, 3}, iota(3))},
              {false, true, false}, {}};
  Status st = run_op(spec, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidModel);
  EXPECT_NE(st.message().find("index 4"), std::string::npos) << st.message();
  // The same index arriving at run time: skipped, data copied unchanged, nothing written outside.
  spec.constant = {false, false, false};
  ASSERT_TRUE(run_op(spec, &out).ok());
  EXPECT_EQ(out[0].floats(), iota(12));
  // Wrong updates shape.
  spec.inputs[2] = TestTensor::f32({1, 4}, iota(4));
  EXPECT_EQ(run_op(spec, &out).code(), StatusCode::kInvalidModel);
  // Reductions other than none.
  spec.inputs[2] = TestTensor::f32({1, 3}, iota(3));
  spec.attrs = {AttrDesc::String("reduction", "add")};
  EXPECT_EQ(run_op(spec, &out).code(), StatusCode::kUnsupported);
}

TEST(ScatterElements, AxesAndIndexTypes) {
  std::vector<TestTensor> out;
  // ONNX example: data 3x3 zeros, indices [[1,0,2],[0,2,1]], axis 0.
  OpSpec spec{fb::OpType::ScatterElements,
              {TestTensor::f32({3, 3}, std::vector<float>(9, 0.f)), TestTensor::i64({2, 3}, {1, 0, 2, 0, 2, 1}),
               TestTensor::f32({2, 3}, {1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f})},
              {false, false, false}, {}};
  ASSERT_TRUE(run_op(spec, &out).ok());
  EXPECT_EQ(out[0].floats(), (std::vector<float>{2.0f, 1.1f, 0, 1.0f, 0, 2.2f, 0, 2.1f, 1.2f}));
  // axis 1 (negative index), int32 indices: [[1,2,3,4,5]], indices [[1,-2]] -> [[1,1.1,3,2.1,5]].
  spec.inputs = {TestTensor::f32({1, 5}, {1, 2, 3, 4, 5}), i32({1, 2}, {1, -2}), TestTensor::f32({1, 2}, {1.1f, 2.1f})};
  spec.attrs = {AttrDesc::Int("axis", 1)};
  ASSERT_TRUE(run_op(spec, &out).ok());
  EXPECT_EQ(out[0].floats(), (std::vector<float>{1, 1.1f, 3, 2.1f, 5}));
  // Out of range at run time: skipped.
  spec.inputs[1] = i32({1, 2}, {7, 0});
  ASSERT_TRUE(run_op(spec, &out).ok());
  EXPECT_EQ(out[0].floats(), (std::vector<float>{2.1f, 2, 3, 4, 5}));
  // ... and refused at prepare when constant.
  spec.constant = {false, true, false};
  EXPECT_EQ(run_op(spec, &out).code(), StatusCode::kInvalidModel);
  spec.constant = {};
  spec.attrs = {AttrDesc::Int("axis", 2)};
  EXPECT_EQ(run_op(spec, &out).code(), StatusCode::kInvalidModel);
}

TEST(Range, DtypesLengthsAndErrors) {
  std::vector<TestTensor> out;
  OpSpec spec{fb::OpType::Range, {TestTensor::i64({}, {10}), TestTensor::i64({}, {1}), TestTensor::i64({}, {-3})}, {true, true, true}, {}};
  ASSERT_TRUE(run_op(spec, &out).ok());
  EXPECT_EQ(out[0].int64s(), (std::vector<int64_t>{10, 7, 4}));
  spec.inputs = {TestTensor::f32({}, {0.5f}), TestTensor::f32({}, {2.0f}), TestTensor::f32({}, {0.5f})};
  ASSERT_TRUE(run_op(spec, &out).ok());
  EXPECT_EQ(out[0].floats(), (std::vector<float>{0.5f, 1.0f, 1.5f}));
  spec.inputs = {i32({}, {3}), i32({}, {3}), i32({}, {1})};
  ASSERT_TRUE(run_op(spec, &out).ok());
  EXPECT_EQ(out[0].shape, (std::vector<int64_t>{0}));
  // Large: not evaluated at prepare (more than 65536 elements), filled by run().
  spec.inputs = {i32({}, {0}), i32({}, {70000}), i32({}, {1})};
  ASSERT_TRUE(run_op(spec, &out).ok());
  ASSERT_EQ(out[0].shape, (std::vector<int64_t>{70000}));
  int32_t last;
  std::memcpy(&last, out[0].bytes.data() + 4 * 69999, 4);
  EXPECT_EQ(last, 69999);
  spec.inputs = {TestTensor::i64({}, {0}), TestTensor::i64({}, {5}), TestTensor::i64({}, {0})};
  EXPECT_EQ(run_op(spec, &out).code(), StatusCode::kInvalidModel);
  // Elements near the int64 limits where i * delta alone overflows (fuzz_model found it).
  const int64_t big = 9'000'000'000'000'000'000, step = -1'800'000'000'000'000'000;
  spec.inputs = {TestTensor::i64({}, {big}), TestTensor::i64({}, {-big}), TestTensor::i64({}, {step})};
  ASSERT_TRUE(run_op(spec, &out).ok());
  const int64_t e17 = 100'000'000'000'000'000;
  std::vector<int64_t> want;
  for (int64_t k = 90; k > -90; k -= 18) want.push_back(k * e17);  // 9e18, 7.2e18, ..., -7.2e18
  EXPECT_EQ(out[0].int64s(), want);
  // Operands that come at run time.
  spec.inputs[2] = TestTensor::i64({}, {1});
  spec.constant = {true, false, true};
  Status st = run_op(spec, &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_NE(st.message().find("computed at run time"), std::string::npos) << st.message();
}

TEST(Trilu, UpperLowerAndK) {
  std::vector<TestTensor> out;
  const std::vector<float> x = iota(2 * 3 * 4, 1);
  auto ref = [&](bool upper, int64_t k) {
    std::vector<float> y = x;
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 4; ++j)
          if (upper ? j - i < k : j - i > k) y[static_cast<size_t>((b * 3 + i) * 4 + j)] = 0;
    return y;
  };
  for (int upper : {0, 1})
    for (int64_t k : std::vector<int64_t>{-4, -1, 0, 1, 2, 5, int64_t{1} << 62}) {
      SCOPED_TRACE("upper " + std::to_string(upper) + " k " + std::to_string(k));
      OpSpec spec{fb::OpType::Trilu, {TestTensor::f32({2, 3, 4}, x), TestTensor::i64({}, {k})}, {false, true},
                  {AttrDesc::Int("upper", upper)}};
      ASSERT_TRUE(run_op(spec, &out).ok());
      EXPECT_EQ(out[0].floats(), ref(upper != 0, k));
      OpSpec attr{fb::OpType::Trilu, {TestTensor::f32({2, 3, 4}, x)}, {false}, {AttrDesc::Int("upper", upper), AttrDesc::Int("k", k)}};
      ASSERT_TRUE(run_op(attr, &out).ok());
      EXPECT_EQ(out[0].floats(), ref(upper != 0, k));
    }
  OpSpec bad{fb::OpType::Trilu, {TestTensor::f32({4}, iota(4))}, {false}, {}};
  EXPECT_EQ(run_op(bad, &out).code(), StatusCode::kInvalidModel);
}

// A decoder-step-like graph: cache [1, T, D] (graph input) -> ScatterND at row `pos` with `new`
// -> cache_out (graph output), and sum = ReduceSum(cache_out) read after the update.
std::shared_ptr<const Model> kv_model(int64_t T, int64_t D, bool extra_reader) {
  format::ModelDesc m;
  auto tensor = [&](const std::string& name, fb::DType dt, std::vector<int64_t> shape, bool input) {
    format::TensorDesc d;
    d.name = name;
    d.dtype = dt;
    d.shape = std::move(shape);
    int32_t i = m.add_tensor(d);
    if (input) m.inputs.push_back(i);
    return i;
  };
  auto constant = [&](const std::string& name, std::vector<int64_t> shape, const std::vector<int64_t>& v) {
    format::TensorDesc d;
    d.name = name;
    d.dtype = fb::DType::I64;
    d.shape = std::move(shape);
    d.has_data = true;
    d.data.resize(v.size() * 8);
    std::memcpy(d.data.data(), v.data(), d.data.size());
    return m.add_tensor(d);
  };
  auto node = [&](fb::OpType op, const std::string& name, std::vector<int32_t> in, std::vector<format::AttrDesc> attrs = {}) {
    int32_t out = tensor(name, fb::DType::F32, {}, false);
    format::NodeDesc n;
    n.op = op;
    n.name = name;
    n.inputs = std::move(in);
    n.outputs = {out};
    n.attrs = std::move(attrs);
    m.nodes.push_back(n);
    return out;
  };
  const int32_t cache = tensor("cache", fb::DType::F32, {1, T, D}, true);
  const int32_t pos = tensor("pos", fb::DType::I64, {1}, true);
  const int32_t upd = tensor("new", fb::DType::F32, {1, 1, D}, true);
  const int32_t zero = constant("zero", {1}, {0});
  const int32_t idx_shape = constant("idx_shape", {3}, {1, 1, 2});
  const int32_t pair = node(fb::OpType::Concat, "pair", {zero, pos}, {format::AttrDesc::Int("axis", 0)});
  const int32_t idx = node(fb::OpType::Reshape, "idx", {pair, idx_shape});
  const int32_t out = node(fb::OpType::ScatterND, "update", {cache, idx, upd});
  const int32_t sum = node(fb::OpType::ReduceSum, "sum", {out}, {format::AttrDesc::Ints("axes", {1}), format::AttrDesc::Int("keepdims", 0)});
  m.outputs = {out, sum};
  if (extra_reader) m.outputs.push_back(node(fb::OpType::Neg, "old_neg", {cache}));
  std::vector<uint8_t> bytes = format::serialize(m);
  auto r = Model::load_buffer(bytes.data(), bytes.size());
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r.value() : nullptr;
}

void run_decode_steps(bool extra_reader) {
  const int64_t T = 448, D = 64;
  auto model = kv_model(T, D, extra_reader);
  ASSERT_TRUE(model);
  auto r = Session::create(model);
  ASSERT_TRUE(r.ok()) << r.status().message();
  Session& s = *r.value();
  const size_t cache_bytes = static_cast<size_t>(T * D * 4);
  const Value& cache_in = s.input(static_cast<size_t>(s.find_input("cache")));
  const Value& cache_out = s.output(static_cast<size_t>(s.find_output("update")));
  const size_t arena = s.arena_bytes();
  if (!extra_reader) {
    EXPECT_EQ(cache_out.data, cache_in.data);
    EXPECT_LT(arena, 2 * cache_bytes);  // one cache buffer, not two
  } else {
    EXPECT_NE(cache_out.data, cache_in.data);  // another reader of the old cache: copied first
  }
  std::vector<float> zeros(static_cast<size_t>(T * D), 0.f), want = zeros;
  ASSERT_TRUE(s.set_input("cache", fb::DType::F32, {1, T, D}, zeros.data()).ok());
  for (int64_t step = 0; step < 10; ++step) {
    std::vector<float> row = testing::random_floats(static_cast<size_t>(D), static_cast<uint32_t>(step + 1));
    const int64_t p = step;
    ASSERT_TRUE(s.set_input("pos", fb::DType::I64, {1}, &p).ok());
    ASSERT_TRUE(s.set_input("new", fb::DType::F32, {1, 1, D}, row.data()).ok());
    const std::vector<float> fed = want;
    s.run();
    std::memcpy(want.data() + p * D, row.data(), static_cast<size_t>(D) * 4);
    ASSERT_EQ(std::memcmp(cache_out.data, want.data(), cache_bytes), 0) << "step " << step;
    const Value& sum = s.output(static_cast<size_t>(s.find_output("sum")));
    for (int64_t d = 0; d < D; ++d) {
      float acc = 0;
      for (int64_t t = 0; t <= step; ++t) acc += want[static_cast<size_t>(t * D + d)];
      EXPECT_NEAR(sum.as<const float>()[d], acc, 1e-5f);
    }
    EXPECT_EQ(s.arena_bytes(), arena);
    if (!extra_reader) {
      EXPECT_EQ(cache_out.data, cache_in.data);
    } else {
      // The input is not written: feeding the output back is the caller's job.
      ASSERT_EQ(std::memcmp(cache_in.data, fed.data(), cache_bytes), 0);
      ASSERT_TRUE(s.set_input("cache", fb::DType::F32, {1, T, D}, cache_out.data).ok());
    }
  }
}

TEST(ScatterND, KvCacheUpdatedInPlace) { run_decode_steps(false); }
TEST(ScatterND, KvCacheWithAnotherReaderIsCopied) { run_decode_steps(true); }

}  // namespace
}  // namespace pocket
