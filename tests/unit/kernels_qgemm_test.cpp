// Every int8 GEMM variant against a plain triple loop: int32 sums bitwise (through the real
// packing and driver, with the epilogue swapped for one that stores the raw sums), then the f32
// and int8 epilogues (bias, residual f32 / int8, every QAct, clamp), and threads vs one thread.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <cstdio>
#include <vector>

#include "kernels/quant/qgemm.h"
#include "kernels/quant/qgemm_impl.h"

namespace pocket {
namespace {

using kernels::QAct;
using kernels::QGemmArgs;
using kernels::QGemmKernel;

std::vector<const QGemmKernel*> variants() {
  size_t n = 0;
  const QGemmKernel* v = kernels::qgemm_variants(&n);
  std::vector<const QGemmKernel*> out;
  for (size_t i = 0; i < n; ++i) out.push_back(&v[i]);
  return out;
}

struct Packed {
  std::unique_ptr<void, decltype(&std::free)> p{nullptr, &std::free};
  Packed(const QGemmKernel& kr, int64_t k, int64_t n, const std::vector<int8_t>& b, bool transposed) {
    const size_t bytes = kernels::qgemm_packed_b_bytes(kr, k, n);
    p.reset(std::aligned_alloc(64, (bytes + 64) / 64 * 64));
    // b is [K][N] (or [N][K] when transposed)
    if (transposed)
      kernels::qgemm_pack_b(kr, k, n, b.data(), 1, k, p.get());
    else
      kernels::qgemm_pack_b(kr, k, n, b.data(), n, 1, p.get());
  }
};

struct Problem {
  int64_t m, n, k;
  std::vector<int8_t> a, b;  // a [m][lda], b [k][n]
  int64_t lda;
  std::vector<int32_t> za;
  bool za_per_row;
};

Problem make_problem(std::mt19937& rng, int64_t m, int64_t n, int64_t k, bool per_row) {
  Problem pr{m, n, k, {}, {}, k + static_cast<int64_t>(rng() % 3), {}, per_row};
  std::uniform_int_distribution<int> d(-128, 127);
  pr.a.resize(static_cast<size_t>(m * pr.lda));
  for (auto& x : pr.a) x = static_cast<int8_t>(d(rng));
  pr.b.resize(static_cast<size_t>(k * n));
  for (auto& x : pr.b) x = static_cast<int8_t>(d(rng));
  pr.za.resize(per_row ? static_cast<size_t>(m) : 1);
  for (auto& z : pr.za) z = d(rng);
  if (rng() % 4 == 0) pr.za[0] = -128;
  if (pr.za.size() > 1) pr.za[1] = 127;
  return pr;
}

std::vector<int64_t> ref_sums(const Problem& pr) {
  std::vector<int64_t> s(static_cast<size_t>(pr.m * pr.n));
  for (int64_t i = 0; i < pr.m; ++i) {
    const int64_t z = pr.za[pr.za_per_row ? i : 0];
    for (int64_t j = 0; j < pr.n; ++j) {
      int64_t acc = 0;
      for (int64_t p = 0; p < pr.k; ++p) acc += (pr.a[i * pr.lda + p] - z) * static_cast<int64_t>(pr.b[p * pr.n + j]);
      s[i * pr.n + j] = acc;
    }
  }
  return s;
}

// The raw-sum epilogue: stores acc's bits in c_f32's slots.
void store_sums(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols, const int32_t* acc,
                int64_t ld_acc) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(g.c_f32 + (i + r) * g.ldc + j, acc + r * ld_acc, static_cast<size_t>(cols) * 4);
}

std::vector<int32_t> run_sums(const QGemmKernel& kr, const Problem& pr, pthreadpool_t pool, bool transposed_b) {
  QGemmKernel raw = kr;
  raw.epilogue = &store_sums;
  std::vector<int8_t> b = pr.b;
  if (transposed_b) {
    for (int64_t p = 0; p < pr.k; ++p)
      for (int64_t j = 0; j < pr.n; ++j) b[j * pr.k + p] = pr.b[p * pr.n + j];
  }
  Packed pb(raw, pr.k, pr.n, b, transposed_b);
  std::vector<float> c(static_cast<size_t>(pr.m * pr.n));
  float one = 1.f;
  QGemmArgs g;
  g.m = pr.m, g.n = pr.n, g.k = pr.k;
  g.a = pr.a.data(), g.lda = pr.lda;
  g.a_zero_point = pr.za.data(), g.a_zero_point_per_row = pr.za_per_row;
  g.packed_b = pb.p.get();
  g.c_f32 = c.data(), g.ldc = pr.n;
  g.ep.a_scale = &one;
  std::vector<float> bs(static_cast<size_t>(pr.n), 1.f);
  g.ep.b_scale = bs.data();
  kernels::qgemm(raw, g, nullptr, pool);
  std::vector<int32_t> s(c.size());
  std::memcpy(s.data(), c.data(), c.size() * 4);
  return s;
}

struct Pool {
  pthreadpool_t p = pthreadpool_create(2);
  ~Pool() { pthreadpool_destroy(p); }
};

TEST(QGemm, Int32SumsMatchTripleLoop) {
  std::mt19937 rng(7);
  Pool pool;
  const int64_t shapes[][3] = {{1, 1, 1},   {1, 17, 5},   {2, 33, 3},   {3, 16, 64},  {4, 8, 1},    {5, 7, 13},
                               {6, 16, 2},  {7, 31, 129}, {13, 45, 77}, {1, 100, 1030}, {9, 3, 1100}, {25, 70, 515},
                               {64, 48, 24}, {2, 300, 40}, {40, 270, 9}, {3, 20, 0}};
  for (const QGemmKernel* kr : variants()) {
    for (const auto& s : shapes) {
      for (int per_row = 0; per_row < 2; ++per_row) {
        const Problem pr = make_problem(rng, s[0], s[1], s[2], per_row != 0);
        const auto ref = ref_sums(pr);
        const bool tb = rng() % 2 == 0;
        for (pthreadpool_t p : {static_cast<pthreadpool_t>(nullptr), pool.p}) {
          const auto got = run_sums(*kr, pr, p, tb);
          for (size_t i = 0; i < ref.size(); ++i)
            ASSERT_EQ(static_cast<int64_t>(got[i]), ref[i])
                << kr->name << " m" << pr.m << " n" << pr.n << " k" << pr.k << " at " << i;
        }
      }
    }
  }
}

TEST(QGemm, ExtremeValuesDoNotOverflow) {
  Pool pool;
  for (const QGemmKernel* kr : variants()) {
    for (int which = 0; which < 3; ++which) {
      Problem pr{5, 20, 4099, {}, {}, 4099, {}, true};
      const int8_t av = which == 1 ? 127 : -128, bv = which == 2 ? 127 : -128;
      pr.a.assign(static_cast<size_t>(pr.m * pr.lda), av);
      pr.b.assign(static_cast<size_t>(pr.k * pr.n), bv);
      pr.za = {127, -128, 0, 127, -128};
      const auto ref = ref_sums(pr);
      const auto got = run_sums(*kr, pr, pool.p, false);
      for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(static_cast<int64_t>(got[i]), ref[i]) << kr->name << " " << i;
    }
  }
}

double ref_act(QAct act, double x, double alpha, double beta) {
  switch (act) {
    case QAct::None: return x;
    case QAct::HardSigmoid: return std::min(1.0, std::max(0.0, alpha * x + beta));
    case QAct::HardSwish: return x * std::min(6.0, std::max(0.0, x + 3)) / 6;
    case QAct::Sigmoid: return 1 / (1 + std::exp(-x));
    case QAct::SiLU: return x / (1 + std::exp(-x));
    case QAct::Tanh: return std::tanh(x);
    case QAct::LeakyRelu: return x < 0 ? alpha * x : x;
    case QAct::Gelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case QAct::GeluTanh: return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  }
  return x;
}

struct EpCase {
  QAct act;
  bool bias, res_f32, res_i8, clamp, out_i8, a_scale_per_row;
};

TEST(QGemm, EpilogueMatchesReference) {
  std::mt19937 rng(11);
  Pool pool;
  std::uniform_real_distribution<float> uf(0.5f, 1.5f), ub(-2.f, 2.f);
  std::vector<EpCase> cases;
  for (int a = 0; a <= static_cast<int>(QAct::GeluTanh); ++a)
    cases.push_back({static_cast<QAct>(a), a % 2 == 0, a % 3 == 0, a % 3 == 1, a % 4 == 1, a % 2 == 1, a % 3 != 2});
  cases.push_back({QAct::None, true, false, true, true, true, true});
  cases.push_back({QAct::SiLU, false, true, false, true, false, false});
  const int64_t shapes[][3] = {{1, 37, 100}, {3, 16, 7}, {19, 53, 200}, {70, 300, 33}};
  for (const QGemmKernel* kr : variants()) {
    for (const EpCase& ec : cases) {
      for (const auto& s : shapes) {
        const Problem pr = make_problem(rng, s[0], s[1], s[2], true);
        const auto sums = ref_sums(pr);
        const int64_t m = pr.m, n = pr.n;
        std::vector<float> as(static_cast<size_t>(m)), bs(static_cast<size_t>(n)), bias(static_cast<size_t>(n)),
            res(static_cast<size_t>(m * n));
        std::vector<int8_t> res8(static_cast<size_t>(m * n));
        const float kscale = 2.f / (128.f * std::sqrt(static_cast<float>(pr.k)) * 64.f);
        for (auto& x : as) x = uf(rng) * 0.03f;
        for (auto& x : bs) x = uf(rng) * kscale / 0.03f;
        for (auto& x : bias) x = ub(rng);
        for (auto& x : res) x = ub(rng);
        for (auto& x : res8) x = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
        const float alpha = ec.act == QAct::LeakyRelu ? 0.1f : 0.2f, beta = 0.5f;
        const float lo = ec.clamp ? -0.7f : -INFINITY, hi = ec.clamp ? 1.3f : INFINITY;
        const float os = 0.02f;
        const int32_t oz = 5;
        QGemmArgs g;
        g.m = m, g.n = n, g.k = pr.k;
        g.a = pr.a.data(), g.lda = pr.lda;
        g.a_zero_point = pr.za.data(), g.a_zero_point_per_row = true;
        Packed pb(*kr, pr.k, n, pr.b, false);
        g.packed_b = pb.p.get();
        g.ldc = n + 3;
        std::vector<float> c(static_cast<size_t>(m * g.ldc), 0.f), c2 = c;
        std::vector<int8_t> c8(static_cast<size_t>(m * g.ldc), 0), c82 = c8;
        g.ep.a_scale = as.data(), g.ep.a_scale_per_row = ec.a_scale_per_row;
        g.ep.b_scale = bs.data();
        g.ep.bias = ec.bias ? bias.data() : nullptr;
        g.ep.residual_f32 = ec.res_f32 ? res.data() : nullptr;
        g.ep.residual_i8 = ec.res_i8 ? res8.data() : nullptr;
        g.ep.ld_residual = n;
        g.ep.residual_scale = 0.015f, g.ep.residual_zero_point = -3;
        g.ep.act = ec.act, g.ep.act_alpha = alpha, g.ep.act_beta = beta;
        g.ep.out_min = lo, g.ep.out_max = hi;
        g.ep.out_i8 = ec.out_i8, g.ep.out_scale = os, g.ep.out_zero_point = oz;
        g.c_f32 = c.data(), g.c_i8 = c8.data();
        kernels::qgemm(*kr, g, nullptr, nullptr);
        g.c_f32 = c2.data(), g.c_i8 = c82.data();
        kernels::qgemm(*kr, g, nullptr, pool.p);
        ASSERT_EQ(c, c2) << kr->name << " threads";
        ASSERT_EQ(c8, c82) << kr->name << " threads";
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < n; ++j) {
            double v = static_cast<double>(sums[i * n + j]) * as[ec.a_scale_per_row ? i : 0] * bs[j];
            if (ec.bias) v += bias[j];
            if (ec.res_f32) v += res[i * n + j];
            if (ec.res_i8) v += 0.015 * (res8[i * n + j] + 3);
            v = ref_act(ec.act, v, alpha, beta);
            v = std::min<double>(std::max<double>(v, lo), hi);
            if (!ec.out_i8) {
              const float got = c[i * g.ldc + j];
              ASSERT_NEAR(got, v, 1e-5 * std::max(1.0, std::fabs(v)))
                  << kr->name << " act " << static_cast<int>(ec.act) << " m" << m << " n" << n << " at " << i << "," << j;
            } else {
              const double q = std::min(127.0, std::max<double>(-128.0, std::nearbyint(static_cast<float>(v) / os) + oz));
              ASSERT_NEAR(c8[i * g.ldc + j], q, 1.0)
                  << kr->name << " act " << static_cast<int>(ec.act) << " at " << i << "," << j;
            }
          }
          for (int64_t j = n; j < g.ldc; ++j) ASSERT_EQ(ec.out_i8 ? c8[i * g.ldc + j] : c[i * g.ldc + j], 0);
        }
      }
    }
  }
}

TEST(QGemm, PackedSizesAndNames) {
  std::string names;
  for (const QGemmKernel* kr : variants()) names += std::string(" ") + kr->name;
  std::printf("qgemm variants:%s (best %s)\n", names.c_str(), kernels::qgemm_kernel_name(kernels::qgemm_kernel()));
  for (const QGemmKernel* kr : variants()) {
    EXPECT_EQ(kernels::qgemm_packed_b_bytes(*kr, 10, 0), 0u);
    EXPECT_EQ(kernels::qgemm_packed_b_bytes(*kr, 10, 1) % 64, 0u);
    EXPECT_STRNE(kernels::qgemm_kernel_name(*kr), "");
    EXPECT_LE(kr->mr, kernels::kQGemmMrMax);
  }
  EXPECT_STREQ(kernels::qgemm_kernel_name(*variants().front()), "qs8.scalar");
  EXPECT_EQ(&kernels::qgemm_kernel(), variants().back());
}

}  // namespace
}  // namespace pocket
