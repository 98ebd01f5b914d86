// Reference row reductions and accumulations.
#include <algorithm>

#include "kernels/reduce/reduce.h"

namespace pocket::kernels {

namespace {

template <ReduceOp Op>
float reduce_row(const float* x, size_t n) {
  float acc = reduce_identity(Op);
  for (size_t i = 0; i < n; ++i) {
    const float v = Op == ReduceOp::SumSquares ? x[i] * x[i] : x[i];
    acc = reduce_combine(Op, acc, v);
  }
  return acc;
}

template <ReduceOp Op>
void accumulate_row(const float* x, float* acc, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float v = Op == ReduceOp::SumSquares ? x[i] * x[i] : x[i];
    acc[i] = reduce_combine(Op, acc[i], v);
  }
}

float sum_sq_dev(const float* x, size_t n, float mean) {
  float acc = 0.f;
  for (size_t i = 0; i < n; ++i) acc += (x[i] - mean) * (x[i] - mean);
  return acc;
}

template <ReduceOp Op>
void set(ReduceKernels& t) {
  t.reduce_row_f32[static_cast<int>(Op)] = reduce_row<Op>;
  t.accumulate_row_f32[static_cast<int>(Op)] = accumulate_row<Op>;
  t.reduce_isa[static_cast<int>(Op)] = "scalar";
}

}  // namespace

void fill_reduce_f32_scalar(ReduceKernels& t) {
  set<ReduceOp::Sum>(t);
  set<ReduceOp::SumSquares>(t);
  set<ReduceOp::Max>(t);
  set<ReduceOp::Min>(t);
  set<ReduceOp::Prod>(t);
  t.sum_sq_dev_f32 = sum_sq_dev;
  t.sum_sq_dev_isa = "scalar";
}

}  // namespace pocket::kernels
