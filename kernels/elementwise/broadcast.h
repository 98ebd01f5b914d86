// Numpy broadcasting as a walk over rows. A plan collapses the output shape so that adjacent dims
// with the same broadcast pattern merge and size-1 dims vanish; the innermost collapsed dim is
// then a row where each operand either advances (stride 1) or stays (stride 0). The common cases
// fall out as one or a few long rows:
//   same shape            -> one VV row
//   scalar operand        -> one VS / SV row
//   per-row vector [.., C] -> rows of C, VV, with the vector pointer rewinding
//   per-channel [C, 1, 1] -> rows of H*W, VS, with the channel pointer stepping (outer/inner)
// and anything else is the same walk over more dims.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/elementwise/elementwise.h"

namespace pocket::kernels {

inline constexpr int kMaxBroadcastRank = 16;

struct BroadcastPlan {
  int rank = 1;                          // collapsed rank, >= 1
  int64_t dims[kMaxBroadcastRank] = {1};  // collapsed output dims
  int64_t a_stride[kMaxBroadcastRank] = {1};
  int64_t b_stride[kMaxBroadcastRank] = {1};
  RowForm form = RowForm::VV;             // of the innermost dim
  int64_t total = 1;                      // output elements
};

// out = broadcast(a, b); false when the shapes do not broadcast. Shapes are plain dims.
bool broadcast_shape(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>* out);

// Plan for y[out] = a op b where a and b broadcast to out (out must be their broadcast, or a
// and b must each broadcast to out). False if the collapsed rank exceeds kMaxBroadcastRank.
bool make_broadcast_plan(const std::vector<int64_t>& out, const std::vector<int64_t>& a,
                         const std::vector<int64_t>& b, BroadcastPlan* plan);

// Computes output elements [start, end) of the plan with the row kernels of one op.
template <class T>
void broadcast_range(const BroadcastPlan& p, BinaryFn<T> const (&row)[kRowFormCount], const T* a,
                     const T* b, T* y, int64_t start, int64_t end) {
  if (start >= end) return;
  const int r = p.rank;
  const int64_t inner = p.dims[r - 1];
  const BinaryFn<T> fn = row[static_cast<int>(p.form)];
  const int64_t ia = p.a_stride[r - 1], ib = p.b_stride[r - 1];
  // Multi-index of the row containing start, and the operand offsets of that row.
  int64_t idx[kMaxBroadcastRank] = {};
  int64_t row_i = start / inner, col = start % inner;
  int64_t a_off = 0, b_off = 0;
  for (int d = r - 2; d >= 0; --d) {
    idx[d] = row_i % p.dims[d];
    row_i /= p.dims[d];
    a_off += idx[d] * p.a_stride[d];
    b_off += idx[d] * p.b_stride[d];
  }
  int64_t pos = start;
  while (pos < end) {
    const int64_t n = inner - col < end - pos ? inner - col : end - pos;
    fn(a + a_off + col * ia, b + b_off + col * ib, y + pos, static_cast<size_t>(n));
    pos += n;
    col = 0;
    for (int d = r - 2; d >= 0; --d) {  // odometer over the outer dims
      a_off += p.a_stride[d];
      b_off += p.b_stride[d];
      if (++idx[d] < p.dims[d]) break;
      a_off -= idx[d] * p.a_stride[d];
      b_off -= idx[d] * p.b_stride[d];
      idx[d] = 0;
    }
  }
}

}  // namespace pocket::kernels
