// Every GEMM variant this CPU runs against the scalar reference (and the scalar reference against
// a double-precision product), over edge sizes, strides, bias, alpha and clamps, 1 and 2 threads.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
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
              if (i + 1 < m) ASSERT_EQ(c[i * g.ldc + n], 12345.f) << "wrote past the row end";
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

}  // namespace
}  // namespace pocket
