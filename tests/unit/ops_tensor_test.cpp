// Data-movement and shape ops through the real path (.pocket model -> Session), against
// references written here from the ONNX definitions (an index map per output element), with 1
// and 2 threads. Resize is also checked against values PyTorch's F.interpolate produced.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "kernels/transform/transform.h"
#include "tests/unit/op_test_util.h"

namespace pocket {
namespace {

using format::AttrDesc;
using testing::OpSpec;
using testing::TestTensor;

// ---------------------------------------------------------------------------------------------
// Helpers

TestTensor random_tensor(fb::DType dt, const Shape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  TestTensor t{dt, shape, {}};
  const int64_t n = num_elements(shape);
  t.bytes.resize(static_cast<size_t>(n) * dtype_size(dt));
  if (dt == fb::DType::F32) {
    std::uniform_real_distribution<float> d(-10.f, 10.f);
    for (int64_t i = 0; i < n; ++i) {
      float v = d(rng);
      std::memcpy(t.bytes.data() + i * 4, &v, 4);
    }
  } else if (dt == fb::DType::I64) {
    std::uniform_int_distribution<int64_t> d(-(int64_t{1} << 40), int64_t{1} << 40);
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = d(rng);
      std::memcpy(t.bytes.data() + i * 8, &v, 8);
    }
  } else {
    for (auto& b : t.bytes) b = static_cast<uint8_t>(rng());
  }
  return t;
}

TestTensor int32_tensor(Shape shape, const std::vector<int32_t>& v) {
  TestTensor t{fb::DType::I32, std::move(shape), {}};
  t.bytes.resize(v.size() * 4);
  if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t d = s.size(); d-- > 0;) {
    st[d] = acc;
    acc *= s[d];
  }
  return st;
}

// Builds the expected output: for each output multi-index, src(index) gives the input's flat
// element index, or -1 for `fill` (one element of bytes).
TestTensor ref_map(const TestTensor& in, const Shape& out_shape,
                   const std::function<int64_t(const std::vector<int64_t>&)>& src,
                   const std::vector<uint8_t>& fill = {}) {
  const size_t e = dtype_size(in.dtype);
  TestTensor out{in.dtype, out_shape, {}};
  const int64_t n = num_elements(out_shape);
  out.bytes.resize(static_cast<size_t>(n) * e);
  std::vector<int64_t> idx(out_shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i;
    for (size_t d = out_shape.size(); d-- > 0;) {
      idx[d] = rem % out_shape[d];
      rem /= out_shape[d];
    }
    const int64_t s = src(idx);
    if (s < 0) std::memcpy(out.bytes.data() + i * e, fill.data(), e);
    else std::memcpy(out.bytes.data() + i * e, in.bytes.data() + s * e, e);
  }
  return out;
}

int64_t flat(const std::vector<int64_t>& idx, const Shape& shape) {
  int64_t f = 0;
  for (size_t d = 0; d < shape.size(); ++d) f = f * shape[d] + idx[d];
  return f;
}

// Runs spec with 1 and 2 threads; every output must equal want byte for byte.
void expect_outputs(const OpSpec& spec, const std::vector<TestTensor>& want) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    std::vector<TestTensor> out;
    Status st = testing::run_op(spec, &out, threads);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_EQ(out.size(), want.size());
    for (size_t o = 0; o < want.size(); ++o) {
      EXPECT_EQ(out[o].dtype, want[o].dtype) << "output " << o;
      EXPECT_EQ(out[o].shape, want[o].shape) << "output " << o;
      EXPECT_TRUE(out[o].bytes == want[o].bytes) << "output " << o << " differs";
    }
  }
}

void expect_output(const OpSpec& spec, const TestTensor& want) { expect_outputs(spec, {want}); }

void expect_error(const OpSpec& spec, const std::string& needle) {
  std::vector<TestTensor> out;
  Status st = testing::run_op(spec, &out, 1);
  ASSERT_FALSE(st.ok()) << "expected an error containing '" << needle << "'";
  EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
}

Shape random_shape(std::mt19937& rng, int rank, int max_dim, bool allow_zero) {
  Shape s(rank);
  for (int64_t& d : s) {
    d = std::uniform_int_distribution<int>(1, max_dim)(rng);
    if (allow_zero && rng() % 12 == 0) d = 0;
  }
  return s;
}

const fb::DType kMoveTypes[] = {fb::DType::F32, fb::DType::I64, fb::DType::U8, fb::DType::F16};

// ---------------------------------------------------------------------------------------------
// Transpose

TEST(TensorOps, TransposeRandomRanksAndDtypes) {
  std::mt19937 rng(1);
  for (int iter = 0; iter < 30; ++iter) {
    const int rank = 1 + iter % 6;
    const fb::DType dt = kMoveTypes[iter % 4];
    Shape shape = random_shape(rng, rank, rank <= 3 ? 9 : 4, true);
    std::vector<int64_t> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    SCOPED_TRACE(shape_str(shape) + " perm " + shape_str(perm));
    TestTensor x = random_tensor(dt, shape, iter);
    Shape out_shape(rank);
    for (int d = 0; d < rank; ++d) out_shape[d] = shape[perm[d]];
    TestTensor want = ref_map(x, out_shape, [&](const std::vector<int64_t>& o) {
      std::vector<int64_t> i(rank);
      for (int d = 0; d < rank; ++d) i[perm[d]] = o[d];
      return flat(i, shape);
    });
    expect_output({fb::OpType::Transpose, {x}, {}, {AttrDesc::Ints("perm", perm)}}, want);
  }
}

TEST(TensorOps, TransposeNchwNhwcLargeThreaded) {
  for (const auto& case_ : std::vector<std::pair<Shape, std::vector<int64_t>>>{
           {{2, 67, 33, 35}, {0, 2, 3, 1}}, {{1, 33, 35, 67}, {0, 3, 1, 2}}, {{3, 5, 40, 41}, {0, 2, 3, 1}},
           {{1, 3, 112, 112}, {0, 2, 3, 1}}, {{1, 112, 112, 3}, {0, 3, 1, 2}}}) {
    // Named copies, not a structured binding: clang 14 (the sanitizer compiler) cannot capture
    // structured bindings in a lambda.
    const Shape& shape = case_.first;
    const std::vector<int64_t>& perm = case_.second;
    for (fb::DType dt : {fb::DType::F32, fb::DType::I64, fb::DType::U8}) {
      SCOPED_TRACE(shape_str(shape) + " " + dtype_name(dt));
      TestTensor x = random_tensor(dt, shape, 7);
      Shape out_shape(4);
      for (int d = 0; d < 4; ++d) out_shape[d] = shape[perm[d]];
      TestTensor want = ref_map(x, out_shape, [&](const std::vector<int64_t>& o) {
        std::vector<int64_t> i(4);
        for (int d = 0; d < 4; ++d) i[perm[d]] = o[d];
        return flat(i, shape);
      });
      expect_output({fb::OpType::Transpose, {x}, {}, {AttrDesc::Ints("perm", perm)}}, want);
    }
  }
}

TEST(TensorOps, TransposeDefaultPermReverses) {
  TestTensor x = TestTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_output({fb::OpType::Transpose, {x}, {}, {}}, TestTensor::f32({3, 2}, {1, 4, 2, 5, 3, 6}));
}

TEST(TensorOps, TransposeRejectsBadPerm) {
  TestTensor x = TestTensor::f32({2, 3, 4}, std::vector<float>(24));
  expect_error({fb::OpType::Transpose, {x}, {}, {AttrDesc::Ints("perm", {0, 0, 1})}}, "not a permutation");
  expect_error({fb::OpType::Transpose, {x}, {}, {AttrDesc::Ints("perm", {0, 1})}}, "not a permutation");
  expect_error({fb::OpType::Transpose, {x}, {}, {AttrDesc::Ints("perm", {0, 1, 3})}}, "not a permutation");
}

// ---------------------------------------------------------------------------------------------
// Reshape, Flatten, Squeeze, Unsqueeze, Identity

TEST(TensorOps, ReshapeZeroAndInferred) {
  TestTensor x = random_tensor(fb::DType::I64, {2, 3, 4}, 3);
  TestTensor want = x;
  want.shape = {2, 4, 3};
  expect_output({fb::OpType::Reshape, {x}, {}, {AttrDesc::Ints("shape", {0, -1, 3})}}, want);
  want.shape = {24};
  expect_output({fb::OpType::Reshape, {x}, {}, {AttrDesc::Ints("shape", {-1})}}, want);
  TestTensor e = random_tensor(fb::DType::F32, {0, 5}, 1);
  TestTensor we = e;
  we.shape = {5, 0};
  expect_output({fb::OpType::Reshape, {e}, {}, {AttrDesc::Ints("shape", {5, 0}), AttrDesc::Int("allowzero", 1)}}, we);
}

TEST(TensorOps, ReshapeRejectsBadShapes) {
  TestTensor x = TestTensor::f32({2, 3}, std::vector<float>(6));
  expect_error({fb::OpType::Reshape, {x}, {}, {AttrDesc::Ints("shape", {4, 2})}}, "cannot reshape");
  expect_error({fb::OpType::Reshape, {x}, {}, {AttrDesc::Ints("shape", {-1, -1})}}, "more than one -1");
  expect_error({fb::OpType::Reshape, {x}, {}, {AttrDesc::Ints("shape", {-1, 4})}}, "cannot reshape");
  expect_error({fb::OpType::Reshape, {x}, {}, {AttrDesc::Ints("shape", {3, -2})}}, "negative");
  expect_error({fb::OpType::Reshape, {x}, {}, {}}, "'shape'");
}

TEST(TensorOps, FlattenSqueezeUnsqueezeShapes) {
  TestTensor x = random_tensor(fb::DType::F32, {2, 1, 3, 1}, 5);
  auto with_shape = [&](Shape s) {
    TestTensor t = x;
    t.shape = std::move(s);
    return t;
  };
  expect_output({fb::OpType::Flatten, {x}, {}, {}}, with_shape({2, 3}));
  expect_output({fb::OpType::Flatten, {x}, {}, {AttrDesc::Int("axis", 0)}}, with_shape({1, 6}));
  expect_output({fb::OpType::Flatten, {x}, {}, {AttrDesc::Int("axis", -1)}}, with_shape({6, 1}));
  expect_output({fb::OpType::Flatten, {x}, {}, {AttrDesc::Int("axis", 4)}}, with_shape({6, 1}));
  expect_output({fb::OpType::Squeeze, {x}, {}, {}}, with_shape({2, 3}));
  expect_output({fb::OpType::Squeeze, {x}, {}, {AttrDesc::Ints("axes", {-1})}}, with_shape({2, 1, 3}));
  expect_output({fb::OpType::Unsqueeze, {x}, {}, {AttrDesc::Ints("axes", {0, -1})}}, with_shape({1, 2, 1, 3, 1, 1}));
  expect_output({fb::OpType::Unsqueeze, {x}, {}, {AttrDesc::Ints("axes", {2})}}, with_shape({2, 1, 1, 3, 1}));
  expect_output({fb::OpType::Identity, {x}, {}, {}}, x);
  expect_error({fb::OpType::Squeeze, {x}, {}, {AttrDesc::Ints("axes", {0})}}, "not 1");
  expect_error({fb::OpType::Squeeze, {x}, {}, {AttrDesc::Ints("axes", {4})}}, "out of range");
  expect_error({fb::OpType::Unsqueeze, {x}, {}, {AttrDesc::Ints("axes", {1, 1})}}, "repeat");
  expect_error({fb::OpType::Unsqueeze, {x}, {}, {AttrDesc::Ints("axes", {6})}}, "out of range");
  expect_error({fb::OpType::Flatten, {x}, {}, {AttrDesc::Int("axis", 5)}}, "out of range");
}

TEST(TensorOps, IdentityLargeThreaded) {
  TestTensor x = random_tensor(fb::DType::F32, {3, 100, 1000}, 9);
  expect_output({fb::OpType::Identity, {x}, {}, {}}, x);
}

// ---------------------------------------------------------------------------------------------
// Concat, Split

TEST(TensorOps, ConcatRandom) {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 20; ++iter) {
    const int rank = 1 + iter % 6;
    const fb::DType dt = kMoveTypes[iter % 4];
    const Shape base = random_shape(rng, rank, rank <= 3 ? 7 : 4, false);
    const int64_t axis = static_cast<int64_t>(rng() % rank);
    const int64_t attr_axis = rng() % 2 ? axis - rank : axis;
    const int n = 1 + static_cast<int>(rng() % 4);
    std::vector<TestTensor> ins;
    Shape out_shape = base;
    out_shape[axis] = 0;
    std::vector<int64_t> starts;
    for (int i = 0; i < n; ++i) {
      Shape s = base;
      s[axis] = static_cast<int64_t>(rng() % 4);  // 0-size parts included
      starts.push_back(out_shape[axis]);
      out_shape[axis] += s[axis];
      ins.push_back(random_tensor(dt, s, 100 * iter + i));
    }
    SCOPED_TRACE(shape_str(out_shape) + " axis " + std::to_string(attr_axis));
    // Reference: pick the input whose range holds the axis index.
    const size_t e = dtype_size(dt);
    TestTensor want{dt, out_shape, std::vector<uint8_t>(num_elements(out_shape) * e)};
    std::vector<int64_t> idx(rank);
    for (int64_t f = 0; f < num_elements(out_shape); ++f) {
      int64_t rem = f;
      for (int d = rank - 1; d >= 0; --d) {
        idx[d] = rem % out_shape[d];
        rem /= out_shape[d];
      }
      int i = n - 1;
      while (starts[i] > idx[axis] || ins[i].shape[axis] == 0) --i;
      std::vector<int64_t> j = idx;
      j[axis] -= starts[i];
      std::memcpy(want.bytes.data() + f * e, ins[i].bytes.data() + flat(j, ins[i].shape) * e, e);
    }
    expect_output({fb::OpType::Concat, ins, {}, {AttrDesc::Int("axis", attr_axis)}}, want);
  }
}

TEST(TensorOps, ConcatInt64ConstantAndLarge) {
  TestTensor a = TestTensor::i64({2}, {1, -2}), b = TestTensor::i64({3}, {int64_t{1} << 50, 4, 5});
  expect_output({fb::OpType::Concat, {a, b}, {false, true}, {AttrDesc::Int("axis", 0)}},
                TestTensor::i64({5}, {1, -2, int64_t{1} << 50, 4, 5}));
  TestTensor x = random_tensor(fb::DType::F32, {2, 70, 30, 30}, 1), y = random_tensor(fb::DType::F32, {2, 50, 30, 30}, 2);
  TestTensor want{fb::DType::F32, {2, 120, 30, 30}, {}};
  for (int n = 0; n < 2; ++n) {
    want.bytes.insert(want.bytes.end(), x.bytes.begin() + n * 70 * 900 * 4, x.bytes.begin() + (n + 1) * 70 * 900 * 4);
    want.bytes.insert(want.bytes.end(), y.bytes.begin() + n * 50 * 900 * 4, y.bytes.begin() + (n + 1) * 50 * 900 * 4);
  }
  expect_output({fb::OpType::Concat, {x, y}, {}, {AttrDesc::Int("axis", 1)}}, want);
}

TEST(TensorOps, ConcatRejectsMismatch) {
  TestTensor a = TestTensor::f32({2, 3}, std::vector<float>(6)), b = TestTensor::f32({3, 3}, std::vector<float>(9));
  expect_error({fb::OpType::Concat, {a, b}, {}, {AttrDesc::Int("axis", 1)}}, "does not match");
  expect_error({fb::OpType::Concat, {a, b}, {}, {AttrDesc::Int("axis", 2)}}, "out of range");
  TestTensor c = TestTensor::i64({2, 3}, std::vector<int64_t>(6));
  expect_error({fb::OpType::Concat, {a, c}, {}, {AttrDesc::Int("axis", 0)}}, "int64");
}

TEST(TensorOps, SplitSizesAndEqualParts) {
  std::mt19937 rng(21);
  for (int iter = 0; iter < 20; ++iter) {
    const int rank = 1 + iter % 5;
    const fb::DType dt = kMoveTypes[iter % 4];
    Shape shape = random_shape(rng, rank, 5, false);
    const int64_t axis = static_cast<int64_t>(rng() % rank);
    const int n = 1 + static_cast<int>(rng() % 3);
    shape[axis] = n * static_cast<int64_t>(1 + rng() % 3) + (iter % 2 ? 0 : static_cast<int64_t>(rng() % 2));
    std::vector<int64_t> sizes;
    std::vector<AttrDesc> attrs = {AttrDesc::Int("axis", iter % 3 == 0 ? axis - rank : axis)};
    if (iter % 2 == 0) {
      int64_t left = shape[axis];
      for (int i = 0; i + 1 < n; ++i) {
        sizes.push_back(static_cast<int64_t>(rng() % (left + 1)));
        left -= sizes.back();
      }
      sizes.push_back(left);
      attrs.push_back(AttrDesc::Ints("split", sizes));
    } else {
      for (int i = 0; i < n; ++i) sizes.push_back(shape[axis] / n);
    }
    SCOPED_TRACE(shape_str(shape) + " axis " + std::to_string(axis) + " sizes " + shape_str(sizes));
    TestTensor x = random_tensor(dt, shape, iter);
    std::vector<TestTensor> want;
    int64_t start = 0;
    for (int i = 0; i < n; ++i) {
      Shape s = shape;
      s[axis] = sizes[i];
      want.push_back(ref_map(x, s, [&](const std::vector<int64_t>& o) {
        std::vector<int64_t> j = o;
        j[axis] += start;
        return flat(j, shape);
      }));
      start += sizes[i];
    }
    OpSpec spec{fb::OpType::Split, {x}, {}, attrs, n};
    expect_outputs(spec, want);
  }
}

TEST(TensorOps, SplitUnevenAndErrors) {
  TestTensor x = TestTensor::f32({7}, {0, 1, 2, 3, 4, 5, 6});
  expect_outputs({fb::OpType::Split, {x}, {}, {}, 3},
                 {TestTensor::f32({3}, {0, 1, 2}), TestTensor::f32({3}, {3, 4, 5}), TestTensor::f32({1}, {6})});
  expect_error({fb::OpType::Split, {x}, {}, {AttrDesc::Ints("split", {3, 3})}, 2}, "summing");
  expect_error({fb::OpType::Split, {x}, {}, {AttrDesc::Ints("split", {3, 4})}, 3}, "summing");
}

// ---------------------------------------------------------------------------------------------
// Slice

// The indices taken along one axis, per the ONNX Slice text: negative values count from the
// end; then for step > 0 start and end clamp to [0, dim], for step < 0 start clamps to
// [0, dim-1] and end to [-1, dim-1]. (numpy differs for start < -dim with a negative step: it
// takes nothing, ONNX and ONNX Runtime take element 0.)
std::vector<int64_t> slice_indices(int64_t dim, int64_t start, int64_t end, int64_t step) {
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::max<int64_t>(0, std::min(start, dim));
    end = std::max<int64_t>(0, std::min(end, dim));
  } else {
    start = std::max<int64_t>(0, std::min(start, dim - 1));
    end = std::max<int64_t>(-1, std::min(end, dim - 1));
  }
  std::vector<int64_t> r;
  if (dim == 0) return r;
  if (step > 0)
    for (int64_t i = start; i < end; i += step) r.push_back(i);
  else
    for (int64_t i = start; i > end; i += step) r.push_back(i);
  return r;
}

TEST(TensorOps, SliceRandomWithNegativeStepsAndClamping) {
  std::mt19937 rng(31);
  const int64_t big = std::numeric_limits<int64_t>::max(), small = std::numeric_limits<int64_t>::min();
  for (int iter = 0; iter < 36; ++iter) {
    const int rank = 1 + iter % 6;
    const fb::DType dt = kMoveTypes[iter % 4];
    Shape shape = random_shape(rng, rank, rank <= 3 ? 8 : 4, true);
    std::vector<int64_t> starts, ends, axes, steps;
    std::vector<std::vector<int64_t>> picks(rank);
    for (int d = 0; d < rank; ++d) picks[d].resize(shape[d]), std::iota(picks[d].begin(), picks[d].end(), 0);
    std::vector<int> order(rank);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    const int k = 1 + static_cast<int>(rng() % rank);
    for (int a = 0; a < k; ++a) {
      const int d = order[a];
      const int64_t dim = shape[d];
      auto pick = [&]() -> int64_t {
        switch (rng() % 6) {
          case 0: return big;
          case 1: return small;
          case 2: return static_cast<int64_t>(rng() % 20) - 10;
          default: return static_cast<int64_t>(rng() % (dim + 1)) - (rng() % 2 ? dim : 0);
        }
      };
      int64_t step = static_cast<int64_t>(1 + rng() % 3) * (rng() % 2 ? -1 : 1);
      const int64_t s = pick(), e = pick();
      starts.push_back(s);
      ends.push_back(e);
      axes.push_back(rng() % 2 ? d - rank : d);
      steps.push_back(step);
      picks[d] = slice_indices(dim, s, e, step);
    }
    Shape out_shape(rank);
    for (int d = 0; d < rank; ++d) out_shape[d] = static_cast<int64_t>(picks[d].size());
    SCOPED_TRACE(shape_str(shape) + " starts " + shape_str(starts) + " ends " + shape_str(ends) + " axes " +
                 shape_str(axes) + " steps " + shape_str(steps));
    TestTensor x = random_tensor(dt, shape, iter);
    TestTensor want = ref_map(x, out_shape, [&](const std::vector<int64_t>& o) {
      std::vector<int64_t> i(rank);
      for (int d = 0; d < rank; ++d) i[d] = picks[d][o[d]];
      return flat(i, shape);
    });
    expect_output({fb::OpType::Slice, {x}, {},
                   {AttrDesc::Ints("starts", starts), AttrDesc::Ints("ends", ends), AttrDesc::Ints("axes", axes),
                    AttrDesc::Ints("steps", steps)}},
                  want);
  }
}

TEST(TensorOps, SliceInt64DefaultsAndErrors) {
  TestTensor x = TestTensor::i64({6}, {10, 11, 12, 13, 14, 15});
  expect_output({fb::OpType::Slice, {x}, {}, {AttrDesc::Ints("starts", {-1}), AttrDesc::Ints("ends", {-1000}),
                                             AttrDesc::Ints("steps", {-2})}},
                TestTensor::i64({3}, {15, 13, 11}));
  expect_output({fb::OpType::Slice, {x}, {}, {AttrDesc::Ints("starts", {1}), AttrDesc::Ints("ends", {1000})}},
                TestTensor::i64({5}, {11, 12, 13, 14, 15}));
  expect_error({fb::OpType::Slice, {x}, {}, {AttrDesc::Ints("starts", {0}), AttrDesc::Ints("ends", {3}),
                                            AttrDesc::Ints("steps", {0})}},
               "contain 0");
  expect_error({fb::OpType::Slice, {x}, {}, {AttrDesc::Ints("starts", {0}), AttrDesc::Ints("ends", {3}),
                                            AttrDesc::Ints("axes", {1})}},
               "out of range");
}

TEST(TensorOps, SliceLargeThreaded) {
  Shape shape = {2, 64, 40, 40};
  TestTensor x = random_tensor(fb::DType::F32, shape, 4);
  TestTensor want = ref_map(x, {2, 30, 40, 20}, [&](const std::vector<int64_t>& o) {
    return flat({o[0], 60 - 2 * o[1], o[2], 1 + o[3] * 2}, shape);
  });
  expect_output({fb::OpType::Slice, {x}, {}, {AttrDesc::Ints("starts", {60, 1}), AttrDesc::Ints("ends", {1, 40}),
                                             AttrDesc::Ints("axes", {1, -1}), AttrDesc::Ints("steps", {-2, 2})}},
                want);
}

// ---------------------------------------------------------------------------------------------
// Gather

TEST(TensorOps, GatherRandomAxesAndIndexTypes) {
  std::mt19937 rng(41);
  for (int iter = 0; iter < 30; ++iter) {
    const int rank = 1 + iter % 4;
    const fb::DType dt = kMoveTypes[iter % 4];
    Shape shape = random_shape(rng, rank, 6, false);
    const int64_t axis = static_cast<int64_t>(rng() % rank);
    const int64_t dim = shape[axis];
    Shape ishape = iter % 5 == 0 ? Shape{} : random_shape(rng, 1 + static_cast<int>(rng() % 2), 4, true);
    const int64_t ni = num_elements(ishape);
    std::vector<int64_t> ind(ni);
    for (auto& v : ind) v = static_cast<int64_t>(rng() % (2 * dim)) - dim;
    const bool use32 = iter % 2;
    std::vector<int32_t> ind32(ind.begin(), ind.end());
    TestTensor it = use32 ? int32_tensor(ishape, ind32) : TestTensor::i64(ishape, ind);
    Shape out_shape(shape.begin(), shape.begin() + axis);
    out_shape.insert(out_shape.end(), ishape.begin(), ishape.end());
    out_shape.insert(out_shape.end(), shape.begin() + axis + 1, shape.end());
    TestTensor x = random_tensor(dt, shape, iter);
    const int64_t ir = static_cast<int64_t>(ishape.size());
    TestTensor want = ref_map(x, out_shape, [&](const std::vector<int64_t>& o) {
      std::vector<int64_t> i(o.begin(), o.begin() + axis);
      std::vector<int64_t> io(o.begin() + axis, o.begin() + axis + ir);
      int64_t v = ind[ir ? flat(io, ishape) : 0];
      i.push_back(v < 0 ? v + dim : v);
      i.insert(i.end(), o.begin() + axis + ir, o.end());
      return flat(i, shape);
    });
    SCOPED_TRACE(shape_str(shape) + " axis " + std::to_string(axis) + " indices " + shape_str(ishape));
    const bool constant = iter % 3 == 0;
    expect_output({fb::OpType::Gather, {x, it}, {false, constant}, {AttrDesc::Int("axis", iter % 2 ? axis - rank : axis)}},
                  want);
  }
}

TEST(TensorOps, GatherInt64DataLargeThreaded) {
  Shape shape = {300, 200};
  TestTensor x = random_tensor(fb::DType::I64, shape, 3);
  std::vector<int64_t> ind;
  for (int i = 0; i < 250; ++i) ind.push_back((i * 37) % 300 - (i % 2 ? 300 : 0));
  TestTensor want = ref_map(x, {250, 200}, [&](const std::vector<int64_t>& o) {
    int64_t v = ind[o[0]];
    return flat({v < 0 ? v + 300 : v, o[1]}, shape);
  });
  expect_output({fb::OpType::Gather, {x, TestTensor::i64({250}, ind)}, {}, {}}, want);
}

TEST(TensorOps, GatherOutOfRangeIndices) {
  TestTensor x = TestTensor::f32({4}, {1, 2, 3, 4});
  // Constant indices are checked when the session is created.
  expect_error({fb::OpType::Gather, {x, TestTensor::i64({2}, {0, 4})}, {false, true}, {}}, "out of range");
  expect_error({fb::OpType::Gather, {x, TestTensor::i64({1}, {-5})}, {false, true}, {}}, "out of range");
  // Run-time indices cannot fail: they are clamped into the axis (documented in gather.cpp).
  expect_output({fb::OpType::Gather, {x, TestTensor::i64({4}, {7, -9, 1, std::numeric_limits<int64_t>::min()})}, {}, {}},
                TestTensor::f32({4}, {4, 1, 2, 1}));
  TestTensor bad_idx = TestTensor::f32({1}, {0});
  expect_error({fb::OpType::Gather, {x, bad_idx}, {}, {}}, "int64 or int32");
  expect_error({fb::OpType::Gather, {x, TestTensor::i64({1}, {0})}, {}, {AttrDesc::Int("axis", 1)}}, "out of range");
}

// ---------------------------------------------------------------------------------------------
// Pad

TEST(TensorOps, PadModesRandom4D) {
  std::mt19937 rng(51);
  const char* modes[] = {"constant", "reflect", "edge"};
  for (int iter = 0; iter < 24; ++iter) {
    const std::string mode = modes[iter % 3];
    const fb::DType dt = iter % 2 ? fb::DType::F32 : fb::DType::I64;
    Shape shape = random_shape(rng, 4, 6, false);
    std::vector<int64_t> pads(8);
    for (int d = 0; d < 4; ++d) {
      for (int side = 0; side < 2; ++side) {
        int64_t& p = pads[d + 4 * side];
        const int64_t lim = mode == "reflect" ? shape[d] - 1 : 3;  // ONNX: reflect pads < dim
        p = static_cast<int64_t>(rng() % (lim + 1));
        if (rng() % 4 == 0) p = -static_cast<int64_t>(rng() % ((shape[d] + 1) / 2 + 0));  // crop
      }
    }
    Shape out_shape(4);
    for (int d = 0; d < 4; ++d) out_shape[d] = shape[d] + pads[d] + pads[d + 4];
    SCOPED_TRACE(mode + " " + shape_str(shape) + " pads " + shape_str(pads));
    TestTensor x = random_tensor(dt, shape, iter);
    const float value = 2.5f;
    std::vector<uint8_t> fill(8);
    if (dt == fb::DType::F32) std::memcpy(fill.data(), &value, 4);
    else { int64_t v = 2; std::memcpy(fill.data(), &v, 8); }
    TestTensor want = ref_map(x, out_shape, [&](const std::vector<int64_t>& o) -> int64_t {
      std::vector<int64_t> i(4);
      for (int d = 0; d < 4; ++d) {
        int64_t v = o[d] - pads[d];
        const int64_t n = shape[d];
        if (v < 0 || v >= n) {
          if (mode == "constant") return -1;
          if (mode == "edge") v = v < 0 ? 0 : n - 1;
          else v = v < 0 ? -v : 2 * (n - 1) - v;
        }
        i[d] = v;
      }
      return flat(i, shape);
    }, fill);
    expect_output({fb::OpType::Pad, {x}, {}, {AttrDesc::Ints("pads", pads), AttrDesc::String("mode", mode),
                                             AttrDesc::Float("value", value)}},
                  want);
  }
}

TEST(TensorOps, PadMatchesNumpyAndErrors) {
  // numpy.pad([[1,2,3],[4,5,6]], ((1,1),(2,2)), mode=...)
  TestTensor x = TestTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<AttrDesc> a = {AttrDesc::Ints("pads", {1, 2, 1, 2})};
  a.push_back(AttrDesc::String("mode", "reflect"));
  expect_output({fb::OpType::Pad, {x}, {}, a},
                TestTensor::f32({4, 7}, {6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4,
                                         3, 2, 1, 2, 3, 2, 1}));
  a[1] = AttrDesc::String("mode", "edge");
  expect_output({fb::OpType::Pad, {x}, {}, a},
                TestTensor::f32({4, 7}, {1, 1, 1, 2, 3, 3, 3, 1, 1, 1, 2, 3, 3, 3, 4, 4, 4, 5, 6, 6, 6,
                                         4, 4, 4, 5, 6, 6, 6}));
  expect_output({fb::OpType::Pad, {x}, {}, {AttrDesc::Ints("pads", {0, -1, 1, 1})}},
                TestTensor::f32({3, 3}, {2, 3, 0, 5, 6, 0, 0, 0, 0}));
  expect_error({fb::OpType::Pad, {x}, {}, {AttrDesc::Ints("pads", {0, 1})}}, "2 * rank");
  expect_error({fb::OpType::Pad, {x}, {}, {AttrDesc::Ints("pads", {0, -4, 0, 0})}}, "negative");
  expect_error({fb::OpType::Pad, {x}, {}, {AttrDesc::Ints("pads", {0, 1, 0, 0}), AttrDesc::String("mode", "wrap")}},
               "wrap");
}

TEST(TensorOps, PadLargeThreaded) {
  Shape shape = {1, 32, 64, 64};
  TestTensor x = random_tensor(fb::DType::F32, shape, 8);
  std::vector<int64_t> pads = {0, 0, 2, 3, 0, 0, 1, 2};
  TestTensor want = ref_map(x, {1, 32, 67, 69}, [&](const std::vector<int64_t>& o) {
    int64_t h = std::clamp<int64_t>(o[2] - 2, 0, 63), w = std::clamp<int64_t>(o[3] - 3, 0, 63);
    return flat({0, o[1], h, w}, shape);
  });
  expect_output({fb::OpType::Pad, {x}, {}, {AttrDesc::Ints("pads", pads), AttrDesc::String("mode", "edge")}}, want);
}

// ---------------------------------------------------------------------------------------------
// Tile, Expand

TEST(TensorOps, TileRandom) {
  std::mt19937 rng(61);
  for (int iter = 0; iter < 24; ++iter) {
    const int rank = 1 + iter % 6;
    const fb::DType dt = kMoveTypes[iter % 4];
    Shape shape = random_shape(rng, rank, rank <= 3 ? 5 : 3, true);
    std::vector<int64_t> reps(rank);
    for (auto& r : reps) r = static_cast<int64_t>(rng() % (rank <= 3 ? 4 : 3));
    if (iter % 4 == 0) std::fill(reps.begin(), reps.end(), 1), reps[0] = 2;
    Shape out_shape(rank);
    for (int d = 0; d < rank; ++d) out_shape[d] = shape[d] * reps[d];
    SCOPED_TRACE(shape_str(shape) + " repeats " + shape_str(reps));
    TestTensor x = random_tensor(dt, shape, iter);
    TestTensor want = ref_map(x, out_shape, [&](const std::vector<int64_t>& o) {
      std::vector<int64_t> i(rank);
      for (int d = 0; d < rank; ++d) i[d] = o[d] % shape[d];
      return flat(i, shape);
    });
    expect_output({fb::OpType::Tile, {x}, {}, {AttrDesc::Ints("repeats", reps)}}, want);
  }
  TestTensor x = TestTensor::f32({2}, {1, 2});
  expect_error({fb::OpType::Tile, {x}, {}, {AttrDesc::Ints("repeats", {2, 2})}}, "one entry per axis");
}

TEST(TensorOps, ExpandBidirectional) {
  struct Case {
    Shape in, target, out;
  };
  for (const Case& c : std::vector<Case>{{{3, 1}, {2, 1, 6}, {2, 3, 6}},
                                         {{1}, {4, 5}, {4, 5}},
                                         {{2, 3}, {1, 1}, {2, 3}},
                                         {{1, 4, 1, 2}, {3, 1, 5, 1}, {3, 4, 5, 2}},
                                         {{2, 1, 3}, {0, 1}, {2, 0, 3}},
                                         {{5, 1, 1, 2, 1, 1}, {5, 3, 1, 2, 2, 4}, {5, 3, 1, 2, 2, 4}}}) {
    for (fb::DType dt : {fb::DType::F32, fb::DType::I64, fb::DType::F16}) {
      SCOPED_TRACE(shape_str(c.in) + " -> " + shape_str(c.target));
      TestTensor x = random_tensor(dt, c.in, 3);
      const int64_t off = static_cast<int64_t>(c.out.size() - c.in.size());
      TestTensor want = ref_map(x, c.out, [&](const std::vector<int64_t>& o) {
        std::vector<int64_t> i(c.in.size());
        for (size_t d = 0; d < c.in.size(); ++d) i[d] = c.in[d] == 1 ? 0 : o[d + off];
        return flat(i, c.in);
      });
      expect_output({fb::OpType::Expand, {x}, {}, {AttrDesc::Ints("shape", c.target)}}, want);
    }
  }
  TestTensor x = TestTensor::f32({2, 3}, std::vector<float>(6));
  expect_error({fb::OpType::Expand, {x}, {}, {AttrDesc::Ints("shape", {4, 3, 2})}}, "cannot broadcast");
}

// ---------------------------------------------------------------------------------------------
// DepthToSpace, SpaceToDepth

TEST(TensorOps, DepthToSpaceAndSpaceToDepth) {
  for (int64_t b : {1, 2, 3}) {
    for (fb::DType dt : {fb::DType::F32, fb::DType::U8}) {
      const int64_t n = 2, c = 2 * b * b, h = 3, w = 4;
      Shape shape = {n, c, h, w};
      TestTensor x = random_tensor(dt, shape, static_cast<uint32_t>(b));
      const int64_t oc = c / (b * b);
      Shape out_shape = {n, oc, h * b, w * b};
      // ONNX: DCR reads channel (by*b + bx)*oc + c, CRD reads channel c*b*b + by*b + bx.
      TestTensor dcr = ref_map(x, out_shape, [&](const std::vector<int64_t>& o) {
        const int64_t by = o[2] % b, bx = o[3] % b;
        return flat({o[0], (by * b + bx) * oc + o[1], o[2] / b, o[3] / b}, shape);
      });
      TestTensor crd = ref_map(x, out_shape, [&](const std::vector<int64_t>& o) {
        const int64_t by = o[2] % b, bx = o[3] % b;
        return flat({o[0], o[1] * b * b + by * b + bx, o[2] / b, o[3] / b}, shape);
      });
      expect_output({fb::OpType::DepthToSpace, {x}, {}, {AttrDesc::Int("blocksize", b)}}, dcr);
      expect_output({fb::OpType::DepthToSpace, {x}, {}, {AttrDesc::Int("blocksize", b), AttrDesc::String("mode", "CRD")}},
                    crd);
      // SpaceToDepth: output channel (by * b + bx) * C + c.
      TestTensor y = random_tensor(dt, {n, 2, h * b, w * b}, 9);
      TestTensor s2d = ref_map(y, {n, 2 * b * b, h, w}, [&](const std::vector<int64_t>& o) {
        const int64_t ch = o[1] % 2, blk = o[1] / 2, by = blk / b, bx = blk % b;
        return flat({o[0], ch, o[2] * b + by, o[3] * b + bx}, y.shape);
      });
      expect_output({fb::OpType::SpaceToDepth, {y}, {}, {AttrDesc::Int("blocksize", b)}}, s2d);
    }
  }
  TestTensor x = TestTensor::f32({1, 3, 2, 2}, std::vector<float>(12));
  expect_error({fb::OpType::DepthToSpace, {x}, {}, {AttrDesc::Int("blocksize", 2)}}, "multiple");
  expect_error({fb::OpType::SpaceToDepth, {x}, {}, {AttrDesc::Int("blocksize", 3)}}, "multiples");
  expect_error({fb::OpType::DepthToSpace, {x}, {}, {AttrDesc::Int("blocksize", 1), AttrDesc::String("mode", "XYZ")}},
               "DCR or CRD");
}

// ---------------------------------------------------------------------------------------------
// Resize

void expect_resize(const TestTensor& x, std::vector<AttrDesc> attrs, const Shape& out_shape,
                   const std::vector<float>& want, float tol = 1e-5f) {
  for (int threads : {1, 2}) {
    std::vector<TestTensor> out;
    Status st = testing::run_op({fb::OpType::Resize, {x}, {}, attrs}, &out, threads);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(out[0].shape, out_shape);
    testing::expect_close(out[0].floats(), want, tol);
  }
}

TEST(TensorOps, ResizeNearestMatchesPytorch) {
  // x = arange(6) * 1.5 - 2, shape [1, 1, 2, 3]
  TestTensor x = TestTensor::f32({1, 1, 2, 3}, {-2, -0.5f, 1, 2.5f, 4, 5.5f});
  // F.interpolate(x, scale_factor=2, mode='nearest') == ONNX asymmetric + floor.
  expect_resize(x, {AttrDesc::Floats("scales", {1, 1, 2, 2}), AttrDesc::String("coordinate_transformation_mode", "asymmetric"),
                    AttrDesc::String("nearest_mode", "floor")},
                {1, 1, 4, 6},
                {-2, -2, -0.5f, -0.5f, 1, 1, -2, -2, -0.5f, -0.5f, 1, 1, 2.5f, 2.5f, 4, 4, 5.5f, 5.5f,
                 2.5f, 2.5f, 4, 4, 5.5f, 5.5f});
  // F.interpolate(x, size=(3, 5), mode='nearest')
  expect_resize(x, {AttrDesc::Ints("sizes", {1, 1, 3, 5}), AttrDesc::String("coordinate_transformation_mode", "asymmetric"),
                    AttrDesc::String("nearest_mode", "floor")},
                {1, 1, 3, 5}, {-2, -2, -0.5f, -0.5f, 1, -2, -2, -0.5f, -0.5f, 1, 2.5f, 2.5f, 4, 4, 5.5f});
  // F.interpolate(x, size=(3, 5), mode='nearest-exact') == half_pixel + round_prefer_ceil.
  expect_resize(x, {AttrDesc::Ints("sizes", {1, 1, 3, 5}), AttrDesc::String("nearest_mode", "round_prefer_ceil")},
                {1, 1, 3, 5}, {-2, -2, -0.5f, 1, 1, 2.5f, 2.5f, 4, 5.5f, 5.5f, 2.5f, 2.5f, 4, 5.5f, 5.5f});
}

TEST(TensorOps, ResizeNearestModesByHand) {
  // 1-D, in 4 -> out 8 (scale 2), half_pixel: x = (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, ...
  TestTensor x = TestTensor::f32({4}, {10, 20, 30, 40});
  auto run = [&](const char* ct, const char* nm, std::vector<float> want, std::vector<float> scales = {2.f}) {
    SCOPED_TRACE(std::string(ct) + " " + nm);
    expect_resize(x, {AttrDesc::Floats("scales", scales), AttrDesc::String("coordinate_transformation_mode", ct),
                      AttrDesc::String("nearest_mode", nm)},
                  {static_cast<int64_t>(want.size())}, want);
  };
  run("half_pixel", "round_prefer_floor", {10, 10, 20, 20, 30, 30, 40, 40});
  run("half_pixel", "floor", {10, 10, 10, 20, 20, 30, 30, 40});
  run("half_pixel", "ceil", {10, 20, 20, 30, 30, 40, 40, 40});
  // asymmetric: x = o / 2 = 0, 0.5, 1, 1.5, ...; ties decide.
  run("asymmetric", "round_prefer_floor", {10, 10, 20, 20, 30, 30, 40, 40});
  run("asymmetric", "round_prefer_ceil", {10, 20, 20, 30, 30, 40, 40, 40});
  // align_corners: x = o * 3 / 7.
  run("align_corners", "round_prefer_floor", {10, 10, 20, 20, 30, 30, 40, 40});
  // tf_half_pixel_for_nearest: x = (o + 0.5) / 2 = 0.25, 0.75, ...
  run("tf_half_pixel_for_nearest", "floor", {10, 10, 20, 20, 30, 30, 40, 40});
  // Downscale by 0.5 with pytorch_half_pixel: x = (o + 0.5) * 2 - 0.5 = 0.5, 2.5.
  run("pytorch_half_pixel", "round_prefer_ceil", {20, 40}, {0.5f});
}

TEST(TensorOps, ResizeNearestIntegerTypes) {
  TestTensor x = random_tensor(fb::DType::I64, {2, 3, 4}, 1);
  TestTensor want = ref_map(x, {2, 6, 2}, [&](const std::vector<int64_t>& o) {
    return flat({o[0], o[1] / 2, o[2] * 2}, x.shape);
  });
  expect_output({fb::OpType::Resize, {x}, {},
                 {AttrDesc::Floats("scales", {1, 2, 0.5f}), AttrDesc::String("coordinate_transformation_mode", "asymmetric"),
                  AttrDesc::String("nearest_mode", "floor")}},
                want);
}

TEST(TensorOps, ResizeBilinearMatchesPytorch) {
  TestTensor y = TestTensor::f32({1, 1, 3, 3}, {0.5f, -1, 2, 3, 0.25f, -0.75f, 1, 4, -2.5f});
  // F.interpolate(y, scale_factor=2, mode='bilinear', align_corners=False)
  const std::vector<float> s2 = {0.5f, 0.125f, -0.625f, -0.25f, 1.25f, 2, 1.125f, 0.671875f, -0.234375f,
                                 -0.1875f, 0.8125f, 1.3125f, 2.375f, 1.765625f, 0.546875f, -0.0625f, -0.0625f, -0.0625f,
                                 2.5f, 2.171875f, 1.515625f, 0.59375f, -0.59375f, -1.1875f, 1.5f, 1.890625f, 2.671875f,
                                 1.78125f, -0.78125f, -2.0625f, 1, 1.75f, 3.25f, 2.375f, -0.875f, -2.5f};
  for (const char* ct : {"half_pixel", "pytorch_half_pixel"})
    expect_resize(y, {AttrDesc::Floats("scales", {1, 1, 2, 2}), AttrDesc::String("mode", "linear"),
                      AttrDesc::String("coordinate_transformation_mode", ct)},
                  {1, 1, 6, 6}, s2);
  // F.interpolate(y, size=(5, 4), mode='bilinear', align_corners=True)
  expect_resize(y, {AttrDesc::Ints("sizes", {1, 1, 5, 4}), AttrDesc::String("mode", "linear"),
                    AttrDesc::String("coordinate_transformation_mode", "align_corners")},
                {1, 1, 5, 4},
                {0.5f, -0.5f, 1.192093e-07f, 2, 1.75f, 0.3333333f, -0.04166663f, 0.625f, 3, 1.166667f,
                 -0.08333337f, -0.75f, 2, 2.083333f, 0.8749999f, -1.625f, 1, 3, 1.833333f, -2.5f});
  // F.interpolate(z, size=(3, 2), mode='bilinear', align_corners=False), downscale.
  TestTensor z = TestTensor::f32({1, 1, 4, 5}, {0, 0.7f, 1.4f, 2.1f, 2.8f, 0.5f, 1.2f, 1.9f, 2.6f, 0.2999997f,
                                                1, 1.7f, 2.4f, 0.09999943f, 0.8000002f, 1.5f, 2.2f, 2.9f,
                                                0.5999994f, 1.3f});
  expect_resize(z, {AttrDesc::Ints("sizes", {1, 1, 3, 2}), AttrDesc::String("mode", "linear"),
                    AttrDesc::String("coordinate_transformation_mode", "pytorch_half_pixel")},
                {1, 1, 3, 2}, {0.6083333f, 2.233333f, 1.275f, 1.15f, 1.941666f, 0.6916663f});
}

// Direct multilinear reference (2^k corners) for the separable N-d path.
std::vector<float> ref_linear_nd(const std::vector<float>& x, const Shape& in, const Shape& out,
                                 const std::vector<float>& scales) {
  const int r = static_cast<int>(in.size());
  std::vector<float> y(num_elements(out));
  std::vector<int64_t> o(r);
  for (int64_t f = 0; f < num_elements(out); ++f) {
    int64_t rem = f;
    for (int d = r - 1; d >= 0; --d) o[d] = rem % out[d], rem /= out[d];
    std::vector<int64_t> lo(r), hi(r);
    std::vector<double> w(r);
    for (int d = 0; d < r; ++d) {
      double c = std::clamp((o[d] + 0.5) / scales[d] - 0.5, 0.0, static_cast<double>(in[d] - 1));
      lo[d] = static_cast<int64_t>(c);
      hi[d] = std::min(lo[d] + 1, in[d] - 1);
      w[d] = c - lo[d];
    }
    double acc = 0;
    for (int corner = 0; corner < (1 << r); ++corner) {
      double weight = 1;
      std::vector<int64_t> i(r);
      for (int d = 0; d < r; ++d) {
        const bool up = (corner >> d) & 1;
        i[d] = up ? hi[d] : lo[d];
        weight *= up ? w[d] : 1 - w[d];
      }
      acc += weight * x[flat(i, in)];
    }
    y[f] = static_cast<float>(acc);
  }
  return y;
}

TEST(TensorOps, ResizeTrilinearAndSeparable) {
  // t = (arange(24) * 1.3) % 5, shape [1, 1, 2, 3, 4]; F.interpolate(t, scale_factor=2, mode='trilinear')
  std::vector<float> tv = {0, 1.3f, 2.6f, 3.9f, 0.1999998f, 1.5f, 2.8f, 4.099999f, 0.3999996f, 1.7f, 3, 4.299999f,
                           0.5999994f, 1.9f, 3.199999f, 4.5f, 0.7999992f, 2.099998f, 3.4f, 4.699999f, 1, 2.299999f,
                           3.599998f, 4.9f};
  TestTensor t = TestTensor::f32({1, 1, 2, 3, 4}, tv);
  std::vector<float> want = ref_linear_nd(tv, t.shape, {1, 1, 4, 6, 8}, {1, 1, 2, 2, 2});
  const std::vector<float> torch_head = {0, 0.325f, 0.975f, 1.625f, 2.275f, 2.925f, 3.575f, 3.9f,
                                         0.04999995f, 0.3749999f, 1.025f, 1.675f, 2.325f, 2.975f, 3.625f, 3.95f};
  testing::expect_close(std::vector<float>(want.begin(), want.begin() + 16), torch_head, 1e-5f);
  EXPECT_NEAR(want.back(), 4.9f, 1e-5f);
  expect_resize(t, {AttrDesc::Floats("scales", {1, 1, 2, 2, 2}), AttrDesc::String("mode", "linear")}, {1, 1, 4, 6, 8},
                want);
  // Random N-d: moving axes anywhere, ranks 1..5, with 1 and 2 threads.
  std::mt19937 rng(71);
  for (int iter = 0; iter < 16; ++iter) {
    const int r = 1 + iter % 5;
    Shape in = random_shape(rng, r, 6, false);
    std::vector<float> scales(r);
    Shape out(r);
    for (int d = 0; d < r; ++d) {
      const float choices[] = {1.f, 2.f, 0.5f, 1.5f, 3.f};
      scales[d] = choices[rng() % 5];
      out[d] = static_cast<int64_t>(std::floor(in[d] * static_cast<double>(scales[d])));
      if (out[d] == 0) scales[d] = 1.f, out[d] = in[d];
    }
    SCOPED_TRACE(shape_str(in) + " -> " + shape_str(out));
    std::vector<float> xv = testing::random_floats(num_elements(in), iter);
    expect_resize(TestTensor::f32(in, xv), {AttrDesc::Floats("scales", scales), AttrDesc::String("mode", "linear")}, out,
                  ref_linear_nd(xv, in, out, scales), 1e-5f);
  }
}

TEST(TensorOps, ResizeLargeThreadedAndErrors) {
  Shape in = {1, 8, 40, 50};
  std::vector<float> xv = testing::random_floats(num_elements(in), 5);
  expect_resize(TestTensor::f32(in, xv), {AttrDesc::Floats("scales", {1, 1, 2, 2}), AttrDesc::String("mode", "linear")},
                {1, 8, 80, 100}, ref_linear_nd(xv, in, {1, 8, 80, 100}, {1, 1, 2, 2}));
  TestTensor x = TestTensor::f32({1, 1, 2, 2}, {1, 2, 3, 4});
  expect_error({fb::OpType::Resize, {x}, {}, {AttrDesc::Floats("scales", {1, 1, 0, 2})}}, "positive");
  expect_error({fb::OpType::Resize, {x}, {}, {AttrDesc::Floats("scales", {1, 2})}}, "one entry per axis");
  expect_error({fb::OpType::Resize, {x}, {}, {}}, "'scales' or 'sizes'");
  expect_error({fb::OpType::Resize, {x}, {}, {AttrDesc::Floats("scales", {1, 1, 2, 2}), AttrDesc::String("mode", "cubic")}},
               "cubic");
  TestTensor i = TestTensor::i64({1, 2}, {1, 2});
  expect_error({fb::OpType::Resize, {i}, {}, {AttrDesc::Floats("scales", {1, 2}), AttrDesc::String("mode", "linear")}},
               "float32");
}

// ---------------------------------------------------------------------------------------------
// Cast

template <class T>
TestTensor typed(fb::DType dt, Shape shape, const std::vector<T>& v) {
  TestTensor t{dt, std::move(shape), {}};
  t.bytes.resize(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

TEST(TensorOps, CastFloatToIntegersTruncatesAndSaturates) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  TestTensor x = TestTensor::f32({8}, {1.9f, -1.9f, 300.7f, -300.2f, nan, inf, -inf, 0.4f});
  auto cast_to = [&](fb::DType to) {
    return OpSpec{fb::OpType::Cast, {x}, {}, {AttrDesc::Int("to", static_cast<int64_t>(to))}};
  };
  expect_output(cast_to(fb::DType::I8), typed<int8_t>(fb::DType::I8, {8}, {1, -1, 127, -128, 0, 127, -128, 0}));
  expect_output(cast_to(fb::DType::U8), typed<uint8_t>(fb::DType::U8, {8}, {1, 0, 255, 0, 0, 255, 0, 0}));
  expect_output(cast_to(fb::DType::I32),
                typed<int32_t>(fb::DType::I32, {8}, {1, -1, 300, -300, 0, INT32_MAX, INT32_MIN, 0}));
  expect_output(cast_to(fb::DType::I64),
                TestTensor::i64({8}, {1, -1, 300, -300, 0, INT64_MAX, INT64_MIN, 0}));
  expect_output(cast_to(fb::DType::BOOL), typed<uint8_t>(fb::DType::BOOL, {8}, {1, 1, 1, 1, 1, 1, 1, 1}));
  expect_output(cast_to(fb::DType::F32), x);
}

TEST(TensorOps, CastF16AndIntegerRules) {
  // f32 -> f16 bit patterns: 1, -2, 65504 (max), 65520 (rounds to inf), 2^-24 (smallest
  // subnormal), 0.1 (0x2e66), 1 + 2^-11 (tie, to even -> 1.0), 1 + 3*2^-11 (tie -> up).
  TestTensor x = TestTensor::f32({8}, {1, -2, 65504, 65520, 5.9604645e-8f, 0.1f, 1.00048828125f, 1.00146484375f});
  expect_output({fb::OpType::Cast, {x}, {}, {AttrDesc::Int("to", static_cast<int64_t>(fb::DType::F16))}},
                typed<uint16_t>(fb::DType::F16, {8}, {0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0001, 0x2e66, 0x3c00, 0x3c02}));
  TestTensor h = typed<uint16_t>(fb::DType::F16, {5}, {0x3c00, 0xc000, 0x0001, 0x7c00, 0x3555});
  expect_output({fb::OpType::Cast, {h}, {}, {AttrDesc::Int("to", static_cast<int64_t>(fb::DType::F32))}},
                TestTensor::f32({5}, {1, -2, 5.9604645e-8f, std::numeric_limits<float>::infinity(), 0.333251953125f}));
  // int64 -> int8 wraps; int -> bool is != 0; bool -> float is 0/1.
  TestTensor i = TestTensor::i64({4}, {300, -129, 0, int64_t{1} << 40});
  expect_output({fb::OpType::Cast, {i}, {}, {AttrDesc::Int("to", static_cast<int64_t>(fb::DType::I8))}},
                typed<int8_t>(fb::DType::I8, {4}, {44, 127, 0, 0}));
  expect_output({fb::OpType::Cast, {i}, {}, {AttrDesc::Int("to", static_cast<int64_t>(fb::DType::BOOL))}},
                typed<uint8_t>(fb::DType::BOOL, {4}, {1, 1, 0, 1}));
  expect_output({fb::OpType::Cast, {i}, {}, {AttrDesc::Int("to", static_cast<int64_t>(fb::DType::F32))}},
                TestTensor::f32({4}, {300, -129, 0, 1099511627776.f}));
  TestTensor b = typed<uint8_t>(fb::DType::BOOL, {3}, {0, 1, 7});
  expect_output({fb::OpType::Cast, {b}, {}, {AttrDesc::Int("to", static_cast<int64_t>(fb::DType::F32))}},
                TestTensor::f32({3}, {0, 1, 1}));
  TestTensor u = typed<uint8_t>(fb::DType::U8, {3}, {0, 200, 255});
  expect_output({fb::OpType::Cast, {u}, {}, {AttrDesc::Int("to", static_cast<int64_t>(fb::DType::I32))}},
                typed<int32_t>(fb::DType::I32, {3}, {0, 200, 255}));
  expect_error({fb::OpType::Cast, {u}, {}, {AttrDesc::Int("to", 99)}}, "cannot cast");
  expect_error({fb::OpType::Cast, {u}, {}, {}}, "'to'");
}

TEST(TensorOps, CastLargeThreaded) {
  std::vector<float> v = testing::random_floats(200000, 3, -1000.f, 1000.f);
  std::vector<int32_t> want(v.size());
  for (size_t k = 0; k < v.size(); ++k) want[k] = static_cast<int32_t>(std::trunc(v[k]));
  expect_output({fb::OpType::Cast, {TestTensor::f32({200000}, v)}, {}, {AttrDesc::Int("to", static_cast<int64_t>(fb::DType::I32))}},
                typed<int32_t>(fb::DType::I32, {200000}, want));
}

// ---------------------------------------------------------------------------------------------
// Shape, ConstantOfShape

TEST(TensorOps, ShapeWithStartEnd) {
  TestTensor x = random_tensor(fb::DType::U8, {2, 3, 0, 5}, 1);
  expect_output({fb::OpType::Shape, {x}, {}, {}}, TestTensor::i64({4}, {2, 3, 0, 5}));
  expect_output({fb::OpType::Shape, {x}, {}, {AttrDesc::Int("start", 1), AttrDesc::Int("end", -1)}},
                TestTensor::i64({2}, {3, 0}));
  expect_output({fb::OpType::Shape, {x}, {}, {AttrDesc::Int("start", -10), AttrDesc::Int("end", 2)}},
                TestTensor::i64({2}, {2, 3}));
  expect_output({fb::OpType::Shape, {x}, {}, {AttrDesc::Int("start", 3), AttrDesc::Int("end", 1)}},
                TestTensor::i64({0}, {}));
}

TEST(TensorOps, ConstantOfShape) {
  expect_output({fb::OpType::ConstantOfShape, {}, {}, {AttrDesc::Ints("shape", {2, 3}), AttrDesc::Float("value", 1.5f)}},
                TestTensor::f32({2, 3}, std::vector<float>(6, 1.5f)));
  expect_output({fb::OpType::ConstantOfShape, {}, {},
                 {AttrDesc::Ints("shape", {5}), AttrDesc::Float("value", 7),
                  AttrDesc::Int("dtype", static_cast<int64_t>(fb::DType::I64))}},
                TestTensor::i64({5}, std::vector<int64_t>(5, 7)));
  expect_output({fb::OpType::ConstantOfShape, {}, {}, {AttrDesc::Ints("shape", {3, 0})}}, TestTensor::f32({3, 0}, {}));
  expect_output({fb::OpType::ConstantOfShape, {}, {}, {AttrDesc::Ints("shape", {})}}, TestTensor::f32({}, {0}));
  expect_error({fb::OpType::ConstantOfShape, {}, {}, {AttrDesc::Ints("shape", {2, -1})}}, "negative");
}

// A small graph: ConstantOfShape's output must survive the arena reuse of earlier tensors.
TEST(TensorOps, ConstantOfShapeInsideAGraph) {
  format::ModelDesc m;
  auto tensor = [&](const std::string& name) {
    format::TensorDesc d;
    d.name = name;
    return m.add_tensor(d);
  };
  format::TensorDesc xin;
  xin.name = "x";
  xin.shape = {64};
  const int32_t x = m.add_tensor(xin);
  const int32_t a = tensor("a"), b = tensor("b"), c = tensor("c"), y = tensor("y");
  format::NodeDesc n0{fb::OpType::Identity, "n0", {x}, {a}, {}};
  format::NodeDesc n1{fb::OpType::Identity, "n1", {a}, {b}, {}};
  format::NodeDesc n2{fb::OpType::ConstantOfShape, "n2", {}, {c}, {AttrDesc::Ints("shape", {64}), AttrDesc::Float("value", 3)}};
  format::NodeDesc n3{fb::OpType::Concat, "n3", {b, c}, {y}, {AttrDesc::Int("axis", 0)}};
  m.nodes = {n0, n1, n2, n3};
  m.inputs = {x};
  m.outputs = {y};
  std::vector<uint8_t> bytes = format::serialize(m);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto session = Session::create(model.value());
  ASSERT_TRUE(session.ok()) << session.status().message();
  std::vector<float> xv = testing::random_floats(64, 1);
  ASSERT_TRUE(session.value()->set_input("x", fb::DType::F32, {64}, xv.data()).ok());
  for (int rep = 0; rep < 2; ++rep) {
    session.value()->run();
    const Value& out = session.value()->output(0);
    ASSERT_EQ(out.shape, Shape({128}));
    for (int i = 0; i < 64; ++i) ASSERT_EQ(out.as<const float>()[i], xv[i]);
    for (int i = 64; i < 128; ++i) ASSERT_EQ(out.as<const float>()[i], 3.f);
  }
}

}  // namespace
}  // namespace pocket
