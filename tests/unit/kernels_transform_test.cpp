// Transform kernels: every transpose variant against a naive loop, strided-copy plans (zero and
// negative strides, merged dims, tiled path) against a direct gather, and the f16 conversions.
#include <gtest/gtest.h>

#include <pthreadpool.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/transform/dispatch.h"
#include "kernels/transform/transform.h"

namespace pocket::kernels {
namespace {

struct Variant {
  const char* name;
  size_t elem;
  TransposeTileFn fn;
};

std::vector<Variant> transpose_variants() {
  std::vector<Variant> v = {{"x8_scalar", 1, transpose_x8_scalar},
                            {"x16_scalar", 2, transpose_x16_scalar},
                            {"x32_scalar", 4, transpose_x32_scalar},
                            {"x64_scalar", 8, transpose_x64_scalar}};
#if defined(__x86_64__)
  if (cpu_features().avx2_fma) v.push_back({"x32_avx2", 4, transpose_x32_avx2});
#endif
  return v;
}

TEST(TransformKernels, TransposeVariantsMatchNaive) {
  std::mt19937 rng(1);
  for (const Variant& var : transpose_variants()) {
    for (size_t rows : {1, 2, 7, 8, 9, 16, 33, 64}) {
      for (size_t cols : {1, 3, 8, 15, 17, 40}) {
        SCOPED_TRACE(std::string(var.name) + " " + std::to_string(rows) + "x" + std::to_string(cols));
        const size_t e = var.elem;
        const ptrdiff_t src_ld = static_cast<ptrdiff_t>((cols + 3) * e);  // padded rows
        const ptrdiff_t dst_ld = static_cast<ptrdiff_t>((rows + 5) * e);
        std::vector<uint8_t> src(rows * src_ld), dst(cols * dst_ld, 0xAB), want(cols * dst_ld, 0xAB);
        for (auto& b : src) b = static_cast<uint8_t>(rng());
        for (size_t r = 0; r < rows; ++r)
          for (size_t c = 0; c < cols; ++c) std::memcpy(&want[c * dst_ld + r * e], &src[r * src_ld + c * e], e);
        var.fn(src.data(), src_ld, dst.data(), dst_ld, rows, cols);
        EXPECT_TRUE(dst == want);
      }
    }
  }
}

TEST(TransformKernels, TransposeNegativeSourceStride) {
  for (const Variant& var : transpose_variants()) {
    SCOPED_TRACE(var.name);
    const size_t rows = 11, cols = 13, e = var.elem;
    std::vector<uint8_t> src(rows * cols * e), dst(rows * cols * e), want(rows * cols * e);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 7 + 3);
    // Rows read bottom-up.
    const ptrdiff_t ld = -static_cast<ptrdiff_t>(cols * e);
    const uint8_t* base = src.data() + (rows - 1) * cols * e;
    for (size_t r = 0; r < rows; ++r)
      for (size_t c = 0; c < cols; ++c)
        std::memcpy(&want[(c * rows + r) * e], base + static_cast<ptrdiff_t>(r) * ld + static_cast<ptrdiff_t>(c * e), e);
    var.fn(base, ld, dst.data(), static_cast<ptrdiff_t>(rows * e), rows, cols);
    EXPECT_TRUE(dst == want);
  }
}

// Direct gather: dst[i] = src[offset + sum(idx_d * stride_d)].
std::vector<uint8_t> naive_strided(const std::vector<uint8_t>& src, const std::vector<int64_t>& dims,
                                   const std::vector<int64_t>& strides, int64_t offset, size_t e) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  std::vector<uint8_t> out(n * e);
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, off = offset;
    for (size_t d = dims.size(); d-- > 0;) {
      off += (rem % dims[d]) * strides[d];
      rem /= dims[d];
    }
    std::memcpy(&out[i * e], &src[off * e], e);
  }
  return out;
}

TEST(TransformKernels, StridedCopyMatchesNaive) {
  std::mt19937 rng(5);
  pthreadpool_t pool = pthreadpool_create(2);
  for (int iter = 0; iter < 300; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 6);
    const size_t e = size_t{1} << (rng() % 4);
    // A random permuted/reversed/broadcast view of a random source tensor.
    std::vector<int64_t> src_dims(rank);
    for (auto& d : src_dims) d = 1 + static_cast<int64_t>(rng() % (iter < 250 ? 6 : 40));
    if (iter >= 250) src_dims.assign(rank, 1), src_dims[0] = 1 + rng() % 50, src_dims[rank - 1] = 30 + rng() % 60;
    std::vector<int64_t> src_strides(rank);
    int64_t total = 1;
    for (int d = rank - 1; d >= 0; --d) src_strides[d] = total, total *= src_dims[d];
    std::vector<int> perm(rank);
    for (int d = 0; d < rank; ++d) perm[d] = d;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int64_t> dims(rank), strides(rank);
    int64_t offset = 0;
    for (int d = 0; d < rank; ++d) {
      dims[d] = src_dims[perm[d]];
      strides[d] = src_strides[perm[d]];
      switch (rng() % 5) {
        case 0:  // reversed
          offset += (dims[d] - 1) * strides[d];
          strides[d] = -strides[d];
          break;
        case 1:  // broadcast a size-1 source dim
          if (dims[d] == 1) dims[d] = 1 + rng() % 4, strides[d] = 0;
          break;
        default: break;
      }
    }
    std::vector<uint8_t> src(total * e);
    for (auto& b : src) b = static_cast<uint8_t>(rng());
    std::vector<uint8_t> want = naive_strided(src, dims, strides, offset, e);
    StridedCopy plan;
    ASSERT_TRUE(plan_strided_copy(rank, dims.data(), strides.data(), offset, e, &plan));
    EXPECT_EQ(plan.total * static_cast<int64_t>(plan.elem_size), static_cast<int64_t>(want.size()));
    for (pthreadpool_t p : {static_cast<pthreadpool_t>(nullptr), pool}) {
      std::vector<uint8_t> got(want.size(), 0xCD);
      strided_copy(plan, src.data(), got.data(), p);
      ASSERT_TRUE(got == want) << "iter " << iter << " rank " << rank << " e " << e;
    }
  }
  pthreadpool_destroy(pool);
}

TEST(TransformKernels, PlanMergesAndFoldsContiguousDims) {
  // [2, 3, 4] contiguous: one unit of 24 elements.
  const int64_t dims[] = {2, 3, 4}, strides[] = {12, 4, 1};
  StridedCopy plan;
  ASSERT_TRUE(plan_strided_copy(3, dims, strides, 0, 4, &plan));
  EXPECT_EQ(plan.rank, 0);
  EXPECT_EQ(plan.elem_size, 96u);
  // NCHW -> NHWC of [1, 8, 5, 5]: a [25, 8] 2-D transpose.
  const int64_t in[] = {1, 8, 5, 5}, perm[] = {0, 2, 3, 1};
  ASSERT_TRUE(plan_transpose(4, in, perm, 4, &plan));
  ASSERT_EQ(plan.rank, 2);
  EXPECT_EQ(plan.dims[0], 25);
  EXPECT_EQ(plan.dims[1], 8);
  EXPECT_EQ(plan.strides[0], 4);
  EXPECT_EQ(plan.strides[1], 100);
}

TEST(TransformKernels, BlockCopyAndGather) {
  pthreadpool_t pool = pthreadpool_create(2);
  std::vector<uint8_t> src(3 * 200000), dst(3 * 250000, 0), want(3 * 250000, 0);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 13);
  for (int b = 0; b < 3; ++b) std::memcpy(&want[b * 250000 + 7], &src[b * 200000], 200000);
  block_copy(src.data(), 200000, dst.data() + 7, 250000, 200000, 3, pool);
  EXPECT_TRUE(dst == want);
  // Gather with clamped out-of-range indices, inner blocks of 3 bytes.
  std::vector<uint8_t> data = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const int64_t idx[] = {2, -1, 5, -7, 0};
  std::vector<uint8_t> out(15);
  gather(data.data(), idx, true, 5, 1, 3, 3, out.data(), nullptr);
  EXPECT_EQ(out, (std::vector<uint8_t>{7, 8, 9, 7, 8, 9, 7, 8, 9, 1, 2, 3, 1, 2, 3}));
  pthreadpool_destroy(pool);
}

TEST(TransformKernels, HalfConversionsRoundTripAndRoundToNearestEven) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f))));
      continue;
    }
    ASSERT_EQ(f32_to_f16(f), h) << "half bits " << h;
  }
  // Random floats: the result is the nearest finite half (ties to even), or inf past 65520.
  std::mt19937 rng(9);
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, 4);
    if (std::isnan(f)) continue;
    f = std::ldexp(std::fmod(f, 1.f), static_cast<int>(rng() % 44) - 28);
    const uint16_t h = f32_to_f16(f);
    const double got = f16_to_f32(h);
    if (std::fabs(f) >= 65520.0) {
      EXPECT_TRUE(std::isinf(got));
      continue;
    }
    const double err = std::fabs(got - f);
    for (int delta : {-1, 1}) {
      const uint16_t n = static_cast<uint16_t>(h + delta);
      const double alt = f16_to_f32(n);
      if (std::isnan(alt) || std::isinf(alt) || (n & 0x7fff) == 0x7fff) continue;
      if (((n ^ h) & 0x8000) != 0) continue;  // crossed the sign bit
      const double alt_err = std::fabs(alt - f);
      ASSERT_LE(err, alt_err) << f;
      if (err == alt_err) ASSERT_EQ(h & 1, 0) << "tie must go to even: " << f;
    }
  }
  // bf16: 1 + 2^-8 ties to even (1.0), NaN stays NaN.
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
}

}  // namespace
}  // namespace pocket::kernels
