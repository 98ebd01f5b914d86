#include "kernels/elementwise/broadcast.h"

#include <algorithm>

namespace pocket::kernels {

bool broadcast_shape(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>* out) {
  const size_t r = std::max(a.size(), b.size());
  std::vector<int64_t> s(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db || db == 1) s[i] = da;
    else if (da == 1) s[i] = db;
    else return false;
  }
  *out = std::move(s);
  return true;
}

bool make_broadcast_plan(const std::vector<int64_t>& out, const std::vector<int64_t>& a,
                         const std::vector<int64_t>& b, BroadcastPlan* plan) {
  const size_t r = out.size();
  // Contiguous strides of a and b, aligned right to out; 0 where the operand broadcasts.
  auto strides = [r, &out](const std::vector<int64_t>& s) {
    std::vector<int64_t> st(r, 0);
    int64_t acc = 1;
    for (size_t i = s.size(); i-- > 0;) {
      const size_t o = i + (r - s.size());
      st[o] = (s[i] == 1 && out[o] != 1) ? 0 : acc;
      acc *= s[i];
    }
    return st;
  };
  const std::vector<int64_t> sa = strides(a), sb = strides(b);
  BroadcastPlan p;
  p.rank = 0;
  p.total = 1;
  for (size_t i = 0; i < r; ++i) {
    p.total *= out[i];
    if (out[i] == 1) continue;
    const bool a_bc = sa[i] == 0, b_bc = sb[i] == 0;
    if (p.rank > 0) {
      const int k = p.rank - 1;
      const bool pa_bc = p.a_stride[k] == 0, pb_bc = p.b_stride[k] == 0;
      if (pa_bc == a_bc && pb_bc == b_bc) {  // same pattern: merge with the previous dim
        p.dims[k] *= out[i];
        p.a_stride[k] = a_bc ? 0 : sa[i];
        p.b_stride[k] = b_bc ? 0 : sb[i];
        continue;
      }
    }
    if (p.rank == kMaxBroadcastRank) return false;
    p.dims[p.rank] = out[i];
    p.a_stride[p.rank] = sa[i];
    p.b_stride[p.rank] = sb[i];
    ++p.rank;
  }
  if (p.rank == 0) {  // every dim is 1: one element
    p.rank = 1;
    p.dims[0] = 1;
    p.a_stride[0] = p.b_stride[0] = 1;
  }
  const int64_t ia = p.a_stride[p.rank - 1], ib = p.b_stride[p.rank - 1];
  p.form = ia == 0 ? RowForm::SV : (ib == 0 ? RowForm::VS : RowForm::VV);
  // A dim of 1 element in a and b (after collapsing, only a 1-element output) is VV.
  if (ia == 0 && ib == 0) p.form = RowForm::VV;
  *plan = p;
  return true;
}

}  // namespace pocket::kernels
