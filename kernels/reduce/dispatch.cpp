// The one place that decides which reduction kernels this CPU runs.
#include <limits>

#include "kernels/cpu_features.h"
#include "kernels/reduce/reduce.h"

namespace pocket::kernels {

float reduce_identity(ReduceOp op) {
  switch (op) {
    case ReduceOp::Max: return -std::numeric_limits<float>::infinity();
    case ReduceOp::Min: return std::numeric_limits<float>::infinity();
    case ReduceOp::Prod: return 1.f;
    default: return 0.f;
  }
}

float reduce_combine(ReduceOp op, float a, float b) {
  switch (op) {
    // A NaN in either operand is the result (b != b: b is NaN; a NaN a is kept by the comparison).
    case ReduceOp::Max: return (a < b || b != b) ? b : a;
    case ReduceOp::Min: return (b < a || b != b) ? b : a;
    case ReduceOp::Prod: return a * b;
    default: return a + b;
  }
}

namespace {

ReduceKernels scalar_table() {
  ReduceKernels t;
  fill_reduce_f32_scalar(t);
  fill_softmax_f32_scalar(t);
  fill_argmax_scalar(t);
  return t;
}

#if defined(__x86_64__) || defined(__i386__)
ReduceKernels avx2_table() {
  ReduceKernels t = scalar_table();
  fill_reduce_f32_avx2(t);
  fill_softmax_f32_avx2(t);
  return t;
}
#endif

#if defined(__aarch64__)
ReduceKernels neon_table() {
  ReduceKernels t = scalar_table();
  fill_reduce_f32_neon(t);
  fill_softmax_f32_neon(t);
  return t;
}
#endif

}  // namespace

std::vector<ReduceVariant> reduce_variants() {
  std::vector<ReduceVariant> v;
  v.push_back({"scalar", scalar_table()});
#if defined(__x86_64__) || defined(__i386__)
  if (cpu_features().avx2_fma) v.push_back({"avx2", avx2_table()});
#endif
#if defined(__aarch64__)
  if (cpu_features().neon) v.push_back({"neon", neon_table()});
#endif
  return v;
}

const ReduceKernels& reduce_kernels() {
  static const ReduceKernels table = [] { return reduce_variants().back().table; }();
  return table;
}

}  // namespace pocket::kernels
