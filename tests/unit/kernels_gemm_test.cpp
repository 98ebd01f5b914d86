// Every GEMM variant this CPU runs, packed and unpacked, against a double-precision product (the
// scalar variants included, so they are the checked reference), over edge sizes (non-multiples
// of MR/NR, K past the K-block size, M <= 3 GEMV), strides, bias, residual (in place too), alpha
// and clamps, 1 and 2 threads.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "kernels/gemm/gemm_f32.h"

namespace pocket {
namespace {

struct Pool {
  pthreadpool_t p = pthreadpool_create(2);
  ~Pool() { pthreadpool_destroy(p); }
};

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

TEST(GemmKernels, VariantsMatchScalarReference) {
  size_t count = 0;
  const kernels::GemmF32Kernel* variants = kernels::gemm_f32_variants(&count);
  ASSERT_GE(count, 1u);
  EXPECT_STREQ(variants[0].name, "scalar");
  Pool pool;
  const int64_t sizes[] = {1, 2, 5, 6, 7, 15, 16, 17, 33, 70};
  uint32_t seed = 1;
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{3}, int64_t{16}, int64_t{37}}) {
        ++seed;
        const bool trans_a = seed % 3 == 0, use_bias = seed % 2 == 0, clamp = seed % 5 == 0;
        std::vector<float> a = random_vec(m * k, seed), b = random_vec(k * (n + 3), seed + 1000);
        std::vector<float> bias = random_vec(n, seed + 2000);
        kernels::GemmF32Args g;
        g.m = m, g.n = n, g.k = k;
        g.a = a.data();
        g.a_row_stride = trans_a ? 1 : k;
        g.a_col_stride = trans_a ? m : 1;
        g.b = b.data();
        g.ldb = n + 3;  // B wider than N: the kernel must honour ldb
        g.ldc = n + 1;
        g.bias = use_bias ? bias.data() : nullptr;
        g.alpha = seed % 4 == 0 ? 0.5f : 1.f;
        if (clamp) g.out_min = -0.3f, g.out_max = 0.4f;
        // Double-precision truth.
        std::vector<double> want(m * n);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double acc = 0;
            for (int64_t p = 0; p < k; ++p)
              acc += static_cast<double>(a[i * g.a_row_stride + p * g.a_col_stride]) * b[p * g.ldb + j];
            double v = g.alpha * acc + (use_bias ? bias[j] : 0.0);
            want[i * n + j] = std::min(std::max(v, static_cast<double>(g.out_min)), static_cast<double>(g.out_max));
          }
        for (size_t vi = 0; vi < count; ++vi) {
          for (pthreadpool_t tp : {static_cast<pthreadpool_t>(nullptr), pool.p}) {
            std::vector<float> c((m - 1) * g.ldc + n + 1, 12345.f);
            g.c = c.data();
            kernels::gemm_f32(variants[vi], g, tp);
            for (int64_t i = 0; i < m; ++i) {
              for (int64_t j = 0; j < n; ++j)
                ASSERT_NEAR(c[i * g.ldc + j], want[i * n + j], 1e-4 * (1 + k))
                    << variants[vi].name << " m" << m << " n" << n << " k" << k << " at " << i << "," << j;
              if (i + 1 < m) {
                ASSERT_EQ(c[i * g.ldc + n], 12345.f) << "wrote past the row end";
              }
            }
            ASSERT_EQ(c.back(), 12345.f);
          }
        }
      }
}

TEST(GemmKernels, LargeThreadedProductMatchesSingleThread) {
  Pool pool;
  const int64_t m = 200, n = 150, k = 130;
  std::vector<float> a = random_vec(m * k, 7), b = random_vec(k * n, 8);
  kernels::GemmF32Args g;
  g.m = m, g.n = n, g.k = k;
  g.a = a.data(), g.a_row_stride = k;
  g.b = b.data(), g.ldb = n, g.ldc = n;
  std::vector<float> c1(m * n), c2(m * n);
  g.c = c1.data();
  kernels::gemm_f32(g, nullptr);
  g.c = c2.data();
  kernels::gemm_f32(g, pool.p);
  EXPECT_EQ(c1, c2);  // tiles only partition the work: identical sums
}

struct PackedCase {
  int64_t m, n, k;
  bool trans_b, bias, residual, in_place, clamp;
  int64_t ldc_pad;
};

// Runs one case on every packed variant, 1 and 2 threads, against a double-precision product.
void check_packed_case(const PackedCase& t, uint32_t seed, pthreadpool_t pool) {
  size_t count = 0;
  const kernels::GemmF32PackedKernel* variants = kernels::gemm_f32_packed_variants(&count);
  const int64_t m = t.m, n = t.n, k = t.k;
  const int64_t lda = k + 2, ldc = n + t.ldc_pad, ldr = n + 5;
  std::vector<float> a = random_vec(static_cast<size_t>(m * lda), seed);
  std::vector<float> b = random_vec(static_cast<size_t>(k * n), seed + 1);
  std::vector<float> bias = random_vec(static_cast<size_t>(n), seed + 2);
  std::vector<float> res = random_vec(static_cast<size_t>(m * ldr), seed + 3);
  const int64_t brs = t.trans_b ? 1 : n, bcs = t.trans_b ? k : 1;  // B^T stored [N][K]
  const float lo = t.clamp ? -0.5f : -INFINITY, hi = t.clamp ? 0.6f : INFINITY;
  std::vector<double> want(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(a[i * lda + p]) * b[p * brs + j * bcs];
      if (t.bias) acc += bias[j];
      if (t.residual) acc += res[i * ldr + j];
      want[i * n + j] = std::min(std::max(acc, static_cast<double>(lo)), static_cast<double>(hi));
    }
  for (size_t vi = 0; vi < count; ++vi) {
    const kernels::GemmF32PackedKernel& kr = variants[vi];
    const size_t floats = kernels::gemm_f32_packed_b_floats(kr, k, n);
    std::unique_ptr<float, decltype(&std::free)> packed(
        static_cast<float*>(std::aligned_alloc(64, (floats * sizeof(float) + 64) / 64 * 64)), &std::free);
    kernels::gemm_f32_pack_b(kr, k, n, b.data(), brs, bcs, packed.get());
    for (pthreadpool_t tp : {static_cast<pthreadpool_t>(nullptr), pool}) {
      std::vector<float> c(static_cast<size_t>((m - 1) * ldc + n + 1), 12345.f);
      kernels::GemmF32PackedArgs g;
      g.m = m, g.n = n, g.k = k;
      g.a = a.data(), g.lda = lda;
      g.packed_b = packed.get();
      g.c = c.data(), g.ldc = ldc;
      g.ep.bias = t.bias ? bias.data() : nullptr;
      g.ep.out_min = lo, g.ep.out_max = hi;
      if (t.residual && t.in_place) {  // C starts as the residual, same stride
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = res[i * ldr + j];
        g.ep.residual = c.data(), g.ep.ld_residual = ldc;
      } else if (t.residual) {
        g.ep.residual = res.data(), g.ep.ld_residual = ldr;
      }
      kernels::gemm_f32_packed(kr, g, tp);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j)
          ASSERT_NEAR(c[i * ldc + j], want[i * n + j], 2e-5 * (4 + k))
              << kr.name << (tp ? " 2 threads" : " 1 thread") << " m" << m << " n" << n << " k" << k << " trans_b "
              << t.trans_b << " bias " << t.bias << " residual " << t.residual << " in_place " << t.in_place
              << " clamp " << t.clamp << " at " << i << "," << j;
        if (i + 1 < m && ldc > n) {
          ASSERT_EQ(c[i * ldc + n], 12345.f) << kr.name << " wrote past the row end";
        }
      }
      ASSERT_EQ(c.back(), 12345.f) << kr.name << " wrote past C";
    }
  }
}

TEST(GemmKernels, PackedVariantsMatchReference) {
  size_t count = 0;
  const kernels::GemmF32PackedKernel* variants = kernels::gemm_f32_packed_variants(&count);
  ASSERT_GE(count, 1u);
  EXPECT_STREQ(variants[0].name, "scalar");
  Pool pool;
  const int64_t sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 13, 16, 17, 24, 33, 70};
  uint32_t seed = 11;
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{3}, int64_t{16}, int64_t{37}}) {
        ++seed;
        const PackedCase t{m, n, k, seed % 3 == 0, seed % 2 == 0, seed % 4 < 2, seed % 8 == 1, seed % 5 == 0,
                           (seed % 7) % 3};
        check_packed_case(t, seed, pool.p);
      }
}

TEST(GemmKernels, PackedLargeKAndGemv) {
  Pool pool;
  uint32_t seed = 5000;
  // K past the K-block size (several accumulate passes), in place residual across them; M <= 3
  // takes the GEMV path over long K and many panels.
  const PackedCase cases[] = {
      {70, 45, 700, false, true, true, true, true, 3},   {13, 70, 1000, true, true, true, false, false, 0},
      {64, 64, 641, false, false, true, true, false, 1}, {1, 300, 1100, false, true, false, false, false, 0},
      {2, 77, 2000, true, true, true, true, true, 2},    {3, 257, 513, false, false, true, false, true, 0},
      {1, 1, 4099, false, true, true, true, false, 0},
  };
  for (const PackedCase& t : cases) check_packed_case(t, ++seed, pool.p);
}

// GELU (erf and tanh forms) applied by the driver to each finished block: every packed variant,
// the tiled path (several K blocks, partial panels and row blocks) and the GEMV path, 1 and 2
// threads, after bias and residual, against a double-precision reference.
TEST(GemmKernels, PackedGeluEpilogueMatchesReference) {
  size_t count = 0;
  const kernels::GemmF32PackedKernel* variants = kernels::gemm_f32_packed_variants(&count);
  Pool pool;
  struct Shape3 {
    int64_t m, n, k;
  };
  for (const Shape3 s : {Shape3{1, 61, 40}, Shape3{3, 30, 9}, Shape3{37, 53, 300}, Shape3{8, 24, 128}}) {
    for (kernels::GemmF32Act act : {kernels::GemmF32Act::Gelu, kernels::GemmF32Act::GeluTanh}) {
      const int64_t m = s.m, n = s.n, k = s.k;
      std::vector<float> a = random_vec(static_cast<size_t>(m * k), 31), b = random_vec(static_cast<size_t>(k * n), 32);
      std::vector<float> bias = random_vec(static_cast<size_t>(n), 33), res = random_vec(static_cast<size_t>(m * n), 34);
      std::vector<double> want(static_cast<size_t>(m * n));
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double x = bias[j] + res[i * n + j];
          for (int64_t p = 0; p < k; ++p) x += static_cast<double>(a[i * k + p]) * b[p * n + j] * 0.1;
          want[i * n + j] = act == kernels::GemmF32Act::Gelu
                                ? 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)))
                                : 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
        }
      for (float& v : b) v *= 0.1f;
      for (size_t vi = 0; vi < count; ++vi) {
        const kernels::GemmF32PackedKernel& kr = variants[vi];
        const size_t floats = kernels::gemm_f32_packed_b_floats(kr, k, n);
        std::unique_ptr<float, decltype(&std::free)> packed(
            static_cast<float*>(std::aligned_alloc(64, (floats * sizeof(float) + 64) / 64 * 64)), &std::free);
        kernels::gemm_f32_pack_b(kr, k, n, b.data(), n, 1, packed.get());
        for (pthreadpool_t tp : {static_cast<pthreadpool_t>(nullptr), pool.p}) {
          std::vector<float> c(static_cast<size_t>(m * n), 12345.f);
          kernels::GemmF32PackedArgs g;
          g.m = m, g.n = n, g.k = k;
          g.a = a.data(), g.lda = k;
          g.packed_b = packed.get();
          g.c = c.data(), g.ldc = n;
          g.ep.bias = bias.data();
          g.ep.residual = res.data(), g.ep.ld_residual = n;
          g.ep.act = act;
          kernels::gemm_f32_packed(kr, g, tp);
          for (int64_t i = 0; i < m * n; ++i)
            ASSERT_NEAR(c[i], want[i], 2e-5 * (4 + k) * 0.1)
                << kr.name << " m" << m << " n" << n << " k" << k << " act " << static_cast<int>(act) << " at " << i;
        }
      }
    }
  }
  // The separate pass (unfused paths).
  std::vector<float> y = random_vec(40000, 35), x = y;
  kernels::gemm_f32_apply_act(kernels::GemmF32Act::Gelu, y.data(), y.size(), pool.p);
  for (size_t i = 0; i < y.size(); i += 97)
    ASSERT_NEAR(y[i], 0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0))), 1e-6) << i;
}

TEST(GemmKernels, PackedThreadedMatchesSingleThread) {
  Pool pool;
  const kernels::GemmF32PackedKernel& kr = kernels::gemm_f32_packed_kernel();
  for (int64_t m : {int64_t{1}, int64_t{3}, int64_t{200}}) {
    const int64_t n = 150, k = 700;
    std::vector<float> a = random_vec(m * k, 7), b = random_vec(k * n, 8), bias = random_vec(n, 9);
    std::vector<float> packed(kernels::gemm_f32_packed_b_floats(kr, k, n));
    kernels::gemm_f32_pack_b(kr, k, n, b.data(), n, 1, packed.data());
    kernels::GemmF32PackedArgs g;
    g.m = m, g.n = n, g.k = k;
    g.a = a.data(), g.lda = k;
    g.packed_b = packed.data();
    g.ldc = n;
    g.ep.bias = bias.data();
    std::vector<float> c1(m * n), c2(m * n);
    g.c = c1.data();
    kernels::gemm_f32_packed(kr, g, nullptr);
    g.c = c2.data();
    kernels::gemm_f32_packed(kr, g, pool.p);
    EXPECT_EQ(c1, c2) << "m" << m;  // tiles only partition the work: identical sums
  }
}

}  // namespace
}  // namespace pocket

namespace pocket {
namespace {

// Summation order must not depend on an element's row or column block: columns with identical
// weights give bit-identical outputs and rows with identical inputs too. (The ONNX "light" models
// have constant weights and logits near 1e12: one ulp between columns turns a uniform softmax
// into a one-hot.)
TEST(GemmKernels, PackedIdenticalColumnsAndRowsGiveIdenticalOutputs) {
  size_t count = 0;
  const kernels::GemmF32PackedKernel* variants = kernels::gemm_f32_packed_variants(&count);
  for (size_t v = 0; v < count; ++v) {
    const kernels::GemmF32PackedKernel& kr = variants[v];
    for (int64_t m : {1, 2, 3, 7, 13}) {
      for (int64_t n : {1000, 37}) {
        const int64_t k = 1031;
        std::vector<float> a(static_cast<size_t>(k));
        for (int64_t p = 0; p < k; ++p) a[p] = std::sin(0.37f * static_cast<float>(p)) * 1000.f;
        std::vector<float> am(static_cast<size_t>(m * k));
        for (int64_t i = 0; i < m; ++i) std::copy(a.begin(), a.end(), am.begin() + i * k);
        std::vector<float> b(static_cast<size_t>(k * n));
        for (int64_t p = 0; p < k; ++p)
          for (int64_t j = 0; j < n; ++j) b[p * n + j] = std::cos(0.11f * static_cast<float>(p)) * 100.f;
        std::unique_ptr<float, void (*)(void*)> packed(
            static_cast<float*>(std::aligned_alloc(64, (kernels::gemm_f32_packed_b_floats(kr, k, n) * 4 + 64) / 64 * 64)),
            &std::free);
        kernels::gemm_f32_pack_b(kr, k, n, b.data(), n, 1, packed.get());
        std::vector<float> c(static_cast<size_t>(m * n));
        kernels::GemmF32PackedArgs g;
        g.m = m, g.n = n, g.k = k;
        g.a = am.data(), g.lda = k;
        g.packed_b = packed.get();
        g.c = c.data(), g.ldc = n;
        kernels::gemm_f32_packed(kr, g, nullptr);
        for (size_t i = 1; i < c.size(); ++i)
          ASSERT_EQ(c[i], c[0]) << kr.name << " m=" << m << " n=" << n << " element " << i;
      }
    }
  }
}

}  // namespace
}  // namespace pocket
