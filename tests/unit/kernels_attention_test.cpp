// Every attention variant this CPU runs (the tiled scalar one included) against the plain
// row-at-a-time reference: edge sizes of Sq/Sk/D/Dv, grouped-query heads, cross-attention,
// causal, bool and additive masks in every broadcast shape, mask_fill = float-min (fully masked
// rows give uniform weights) and -inf (fully masked rows give zeros), 1 and 2 threads.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention/attention_f32.h"

namespace pocket {
namespace {

using kernels::AttentionF32Problem;
using kernels::AttentionMask;

struct Pool {
  pthreadpool_t p = pthreadpool_create(2);
  ~Pool() { pthreadpool_destroy(p); }
};

std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct Case {
  int64_t batch = 1, heads = 1, kv_heads = 1, sq = 1, sk = 1, d = 32, dv = 32;
  bool causal = false;
  AttentionMask mask = AttentionMask::None;
  std::vector<int64_t> mask_shape;  // right-aligned to [B, H, Sq, Sk]
  float fill = -std::numeric_limits<float>::infinity();
  float density = 0.3f;  // fraction of masked (bool) or -inf (additive) entries
  float scale = 0.f;     // 0: 1/sqrt(d)

  std::string str() const {
    std::string s = "B" + std::to_string(batch) + " H" + std::to_string(heads) + "/" + std::to_string(kv_heads) +
                    " Sq" + std::to_string(sq) + " Sk" + std::to_string(sk) + " D" + std::to_string(d) + " Dv" +
                    std::to_string(dv) + (causal ? " causal" : "");
    if (mask != AttentionMask::None) {
      s += mask == AttentionMask::Bool ? " bool[" : " add[";
      for (int64_t x : mask_shape) s += std::to_string(x) + ",";
      s += "] fill " + std::to_string(fill) + " density " + std::to_string(density);
    }
    return s;
  }
};

// Runs the case on every variant and 1/2 threads; compares with the reference.
void check(const Case& c, uint32_t seed) {
  SCOPED_TRACE(c.str());
  AttentionF32Problem p;
  p.batch = c.batch, p.heads = c.heads, p.kv_heads = c.kv_heads;
  p.sq = c.sq, p.sk = c.sk, p.d = c.d, p.dv = c.dv;
  p.scale = c.scale != 0.f ? c.scale : 1.f / std::sqrt(static_cast<float>(c.d));
  p.causal = c.causal;
  const std::vector<float> q = random_vec(c.batch * c.sq * c.heads * c.d, seed, -2.f, 2.f);
  const std::vector<float> k = random_vec(c.batch * c.sk * c.kv_heads * c.d, seed + 1, -2.f, 2.f);
  const std::vector<float> v = random_vec(c.batch * c.sk * c.kv_heads * c.dv, seed + 2);
  p.q = q.data(), p.k = k.data(), p.v = v.data();

  std::vector<uint8_t> bool_mask;
  std::vector<float> add_mask;
  if (c.mask != AttentionMask::None) {
    const int64_t full[4] = {c.batch, c.heads, c.sq, c.sk};
    const size_t rank = c.mask_shape.size();
    int64_t n = 1, stride = 1;
    for (size_t i = 0; i < rank; ++i) n *= c.mask_shape[i];
    for (size_t i = 0; i < rank; ++i) {
      const size_t dim = rank - 1 - i, fdim = 3 - i;
      const int64_t size = c.mask_shape[dim];
      ASSERT_TRUE(size == 1 || size == full[fdim]);
      p.mask_strides[fdim] = size == 1 ? 0 : stride;
      stride *= size;
    }
    std::mt19937 rng(seed + 3);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    p.mask_kind = c.mask;
    p.mask_fill = c.fill;
    if (c.mask == AttentionMask::Bool) {
      bool_mask.resize(n);
      for (auto& b : bool_mask) b = u(rng) < c.density ? 1 : 0;
      p.mask = bool_mask.data();
    } else {
      add_mask.resize(n);
      for (auto& a : add_mask) a = u(rng) < c.density ? -std::numeric_limits<float>::infinity() : u(rng) * 4.f - 2.f;
      p.mask = add_mask.data();
    }
  }

  std::vector<float> want(c.batch * c.sq * c.heads * c.dv, -7.f), row(std::max<int64_t>(c.sk, 1));
  p.out = want.data();
  kernels::attention_f32_reference(p, row.data());
  for (float w : want) ASSERT_TRUE(std::isfinite(w));

  size_t count = 0;
  const kernels::AttentionF32Kernel* variants = kernels::attention_f32_variants(&count);
  Pool pool;
  for (size_t vi = 0; vi < count; ++vi) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::string(variants[vi].name) + " threads " + std::to_string(threads));
      const kernels::AttentionF32Plan plan = kernels::attention_f32_plan(variants[vi], p, threads);
      std::vector<float> scratch(plan.scratch_bytes() / sizeof(float) + 16);
      std::vector<float> got(want.size(), -7.f);
      AttentionF32Problem run = p;
      run.out = got.data();
      kernels::attention_f32(variants[vi], run, plan, scratch.data(), threads > 1 ? pool.p : nullptr);
      float worst = 0.f;
      size_t at = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        const float e = std::abs(got[i] - want[i]);
        if (!(e <= worst)) worst = e, at = i;
      }
      ASSERT_LE(worst, 2e-5f) << "at " << at << ": got " << got[at] << " want " << want[at];
    }
  }
}

TEST(AttentionKernels, ScalarIsFirstAndBestIsLast) {
  size_t count = 0;
  const kernels::AttentionF32Kernel* variants = kernels::attention_f32_variants(&count);
  ASSERT_GE(count, 1u);
  EXPECT_STREQ(variants[0].name, "scalar");
  EXPECT_STREQ(kernels::attention_f32_kernel().name, variants[count - 1].name);
}

TEST(AttentionKernels, EdgeSizes) {
  // Every (Sq, Sk) pair; D rotates through 32, 64, 80 so each size meets each D.
  const int64_t dims[] = {32, 64, 80};
  uint32_t seed = 10;
  for (int64_t sq : {1, 3, 17, 64, 130})
    for (int64_t sk : {1, 3, 17, 64, 130}) {
      Case c;
      c.batch = 1 + (seed % 2), c.heads = 2, c.kv_heads = 2;
      c.sq = sq, c.sk = sk, c.d = c.dv = dims[seed % 3];
      check(c, ++seed);
    }
}

TEST(AttentionKernels, ValueWidthDiffersAndTails) {
  uint32_t seed = 100;
  for (int64_t dv : {1, 5, 8, 13, 24, 40, 80}) {
    Case c;
    c.heads = 3, c.kv_heads = 3, c.sq = 19, c.sk = 45, c.d = 20, c.dv = dv;
    check(c, ++seed);
  }
  Case odd_d;
  odd_d.sq = 7, odd_d.sk = 300, odd_d.d = 3, odd_d.dv = 7;  // sk past one key block
  check(odd_d, 200);
}

TEST(AttentionKernels, GroupedQueryHeads) {
  for (int64_t sq : {1, 17, 64}) {
    Case c;
    c.batch = 2, c.heads = 8, c.kv_heads = 2, c.sq = sq, c.sk = 130, c.d = 64, c.dv = 64;
    check(c, 300 + static_cast<uint32_t>(sq));
  }
  Case mqa;
  mqa.heads = 4, mqa.kv_heads = 1, mqa.sq = 9, mqa.sk = 33, mqa.d = 32, mqa.dv = 16;
  check(mqa, 310);
}

TEST(AttentionKernels, Causal) {
  uint32_t seed = 400;
  for (int64_t sq : {1, 3, 17, 64, 130})
    for (int64_t sk : {1, 17, 130, 300}) {
      Case c;
      c.heads = 2, c.kv_heads = 1, c.sq = sq, c.sk = sk, c.d = 32, c.dv = 32, c.causal = true;
      check(c, ++seed);  // sq > sk: the first sq - sk rows see no key and give zeros
    }
}

TEST(AttentionKernels, BoolMasksEveryBroadcast) {
  const std::vector<std::vector<int64_t>> shapes = {
      {2, 1, 1, 70},  // DistilBERT padding mask (bs, 1, 1, k)
      {2, 3, 17, 70}, {17, 70}, {70}, {3, 1, 70}, {2, 1, 17, 1}, {1, 1, 1, 1}};
  uint32_t seed = 500;
  for (const auto& shape : shapes)
    for (float fill : {std::numeric_limits<float>::lowest(), -std::numeric_limits<float>::infinity(), -1e4f}) {
      Case c;
      c.batch = 2, c.heads = 3, c.kv_heads = 3, c.sq = 17, c.sk = 70, c.d = 32, c.dv = 24;
      c.mask = AttentionMask::Bool, c.mask_shape = shape, c.fill = fill;
      check(c, ++seed);
    }
}

TEST(AttentionKernels, FullyMaskedRows) {
  // Every key masked: float-min gives uniform weights (the mean of V, as masked_fill + softmax
  // does), -inf gives zeros.
  for (float fill : {std::numeric_limits<float>::lowest(), -std::numeric_limits<float>::infinity()}) {
    Case c;
    c.batch = 2, c.heads = 2, c.kv_heads = 2, c.sq = 5, c.sk = 150, c.d = 32, c.dv = 32;
    c.mask = AttentionMask::Bool, c.mask_shape = {2, 1, 1, 150}, c.fill = fill, c.density = 1.f;
    check(c, 600);
  }
  Case partial;  // masked rows mixed with visible ones, keys spanning two blocks
  partial.heads = 2, partial.kv_heads = 2, partial.sq = 13, partial.sk = 200, partial.d = 32, partial.dv = 32;
  partial.mask = AttentionMask::Bool, partial.mask_shape = {13, 200};
  partial.fill = std::numeric_limits<float>::lowest(), partial.density = 0.97f;
  check(partial, 601);
}

TEST(AttentionKernels, AdditiveMasks) {
  const std::vector<std::vector<int64_t>> shapes = {{1, 1, 17, 70}, {17, 70}, {2, 1, 1, 70}, {2, 3, 17, 70}, {17, 1}};
  uint32_t seed = 700;
  for (const auto& shape : shapes)
    for (float density : {0.f, 0.4f, 1.f}) {  // 1: rows entirely -inf -> zeros, no NaN
      Case c;
      c.batch = 2, c.heads = 3, c.kv_heads = 3, c.sq = 17, c.sk = 70, c.d = 40, c.dv = 40;
      c.mask = AttentionMask::Additive, c.mask_shape = shape, c.density = density;
      check(c, ++seed);
    }
  Case causal_and_mask;  // Whisper decoder style: causal plus an additive mask, cross lengths
  causal_and_mask.heads = 6, causal_and_mask.kv_heads = 6, causal_and_mask.sq = 5, causal_and_mask.sk = 140;
  causal_and_mask.d = 64, causal_and_mask.dv = 64, causal_and_mask.causal = true;
  causal_and_mask.mask = AttentionMask::Additive, causal_and_mask.mask_shape = {5, 140};
  causal_and_mask.density = 0.2f;
  check(causal_and_mask, 720);
}

TEST(AttentionKernels, OneAndTwoRowTiles) {
  // Tiles of one or two query rows take the direct (unpacked) score path where a variant has it:
  // Sq = 1 and 2, and a 48-row tile plus a 1-row tail; D with a tail past whole vectors.
  uint32_t seed = 900;
  for (int64_t sq : {1, 2, 49})
    for (int64_t d : {13, 20, 64}) {
      Case c;
      c.heads = 3, c.kv_heads = 3, c.sq = sq, c.sk = 45, c.d = d, c.dv = 24;
      if (d == 20) c.causal = true, c.mask = AttentionMask::Bool, c.mask_shape = {sq, 45};
      check(c, ++seed);
    }
}

TEST(AttentionKernels, DecodeStep) {
  // One query against a long cache, split over heads.
  Case c;
  c.heads = 6, c.kv_heads = 6, c.sq = 1, c.sk = 448, c.d = 64, c.dv = 64;
  c.mask = AttentionMask::Additive, c.mask_shape = {1, 448}, c.density = 0.5f;
  check(c, 800);
}

}  // namespace
}  // namespace pocket
