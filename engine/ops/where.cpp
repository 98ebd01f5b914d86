// Where: cond (BOOL), X, Y -> X where cond else Y, numpy broadcasting over all three. X and Y
// share a dtype (any of 1, 2, 4 or 8 bytes per element: the op only selects). The output shape
// is the three-way broadcast; its dims are collapsed like kernels/elementwise/broadcast.h does
// for two operands (adjacent dims with the same broadcast pattern merge, 1s vanish) and walked
// as rows where each operand advances or stays. Split over the pool in chunks of >= 16 KiB.
#include <cstring>
#include <memory>

#include "engine/ops/ew_ops.h"
#include "engine/ops/ew_common.h"
#include "kernels/elementwise/broadcast.h"

namespace pocket::ew {

namespace {

constexpr int kOperands = 3;  // cond, X, Y

struct Plan3 {
  int rank = 1;
  int64_t dims[kernels::kMaxBroadcastRank] = {1};
  int64_t stride[kOperands][kernels::kMaxBroadcastRank] = {{1}, {1}, {1}};
  int64_t total = 1;
};

// Strides (elements) of `s`, right-aligned to `out`, 0 where s broadcasts.
Shape aligned_strides(const Shape& out, const Shape& s) {
  const size_t r = out.size();
  Shape st(r, 0);
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    const size_t o = i + (r - s.size());
    st[o] = (s[i] == 1 && out[o] != 1) ? 0 : acc;
    acc *= s[i];
  }
  return st;
}

bool make_plan3(const Shape& out, const Shape* in[kOperands], Plan3* plan) {
  Shape st[kOperands];
  for (int k = 0; k < kOperands; ++k) st[k] = aligned_strides(out, *in[k]);
  Plan3 p;
  p.rank = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    p.total *= out[i];
    if (out[i] == 1) continue;
    bool merge = p.rank > 0;
    for (int k = 0; k < kOperands && merge; ++k) merge = (p.stride[k][p.rank - 1] == 0) == (st[k][i] == 0);
    if (merge) {
      p.dims[p.rank - 1] *= out[i];
      for (int k = 0; k < kOperands; ++k) p.stride[k][p.rank - 1] = st[k][i];
      continue;
    }
    if (p.rank == kernels::kMaxBroadcastRank) return false;
    p.dims[p.rank] = out[i];
    for (int k = 0; k < kOperands; ++k) p.stride[k][p.rank] = st[k][i];
    ++p.rank;
  }
  if (p.rank == 0) {  // one element
    p.rank = 1;
    p.dims[0] = 1;
    for (int k = 0; k < kOperands; ++k) p.stride[k][0] = 1;
  }
  *plan = p;
  return true;
}

// One row of n outputs; sc, sx, sy are 0 (operand stays) or 1 (advances).
template <class T>
void select_row(const uint8_t* c, const T* x, const T* y, T* out, int64_t n, int64_t sc, int64_t sx, int64_t sy) {
  if (sc == 1 && sx == 1 && sy == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = c[i] ? x[i] : y[i];
  } else if (sc == 1 && sx == 0 && sy == 1) {  // masked fill: Where(mask, fill, scores)
    const T fill = x[0];
    for (int64_t i = 0; i < n; ++i) out[i] = c[i] ? fill : y[i];
  } else if (sc == 1 && sx == 1 && sy == 0) {
    const T fill = y[0];
    for (int64_t i = 0; i < n; ++i) out[i] = c[i] ? x[i] : fill;
  } else if (sc == 0) {
    const T* src = c[0] ? x : y;
    const int64_t s = c[0] ? sx : sy;
    if (s == 1) std::memcpy(out, src, static_cast<size_t>(n) * sizeof(T));
    else for (int64_t i = 0; i < n; ++i) out[i] = src[0];
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = c[i] ? x[i * sx] : y[i * sy];
  }
}

template <class T>
void select_range(const Plan3& p, const uint8_t* c, const T* x, const T* y, T* out, int64_t start, int64_t end) {
  if (start >= end) return;
  const int r = p.rank;
  const int64_t inner = p.dims[r - 1];
  const int64_t sc = p.stride[0][r - 1], sx = p.stride[1][r - 1], sy = p.stride[2][r - 1];
  int64_t idx[kernels::kMaxBroadcastRank] = {};
  int64_t row = start / inner, col = start % inner;
  int64_t off[kOperands] = {};
  for (int d = r - 2; d >= 0; --d) {
    idx[d] = row % p.dims[d];
    row /= p.dims[d];
    for (int k = 0; k < kOperands; ++k) off[k] += idx[d] * p.stride[k][d];
  }
  int64_t pos = start;
  while (pos < end) {
    const int64_t n = std::min(inner - col, end - pos);
    select_row<T>(c + off[0] + col * sc, x + off[1] + col * sx, y + off[2] + col * sy, out + pos, n, sc, sx, sy);
    pos += n;
    col = 0;
    for (int d = r - 2; d >= 0; --d) {  // odometer over the outer dims
      for (int k = 0; k < kOperands; ++k) off[k] += p.stride[k][d];
      if (++idx[d] < p.dims[d]) break;
      for (int k = 0; k < kOperands; ++k) off[k] -= idx[d] * p.stride[k][d];
      idx[d] = 0;
    }
  }
}

class Where final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 3, 3));
    const Value& c = ctx.in(0);
    const Value& x = ctx.in(1);
    const Value& y = ctx.in(2);
    if (c.dtype != DType::BOOL)
      return ctx.fail(StatusCode::kInvalidModel, "condition " + describe(c) + " must be bool");
    if (x.dtype != y.dtype)
      return ctx.fail(StatusCode::kInvalidModel, "X " + describe(x) + " and Y " + describe(y) + " differ in dtype");
    elem_ = dtype_size(x.dtype);
    if (elem_ != 1 && elem_ != 2 && elem_ != 4 && elem_ != 8)
      return ctx.fail(StatusCode::kUnsupported, "X " + describe(x) + ": dtype not supported (1, 2, 4 or 8-byte elements)");
    Shape cx, out;
    if (!kernels::broadcast_shape(c.shape, x.shape, &cx) || !kernels::broadcast_shape(cx, y.shape, &out))
      return ctx.fail(StatusCode::kInvalidModel,
                      "cannot broadcast condition " + describe(c) + ", X " + describe(x) + " and Y " + describe(y));
    const Shape* in[kOperands] = {&c.shape, &x.shape, &y.shape};
    if (!make_plan3(out, in, &plan_))
      return ctx.fail(StatusCode::kUnsupported, "broadcast of " + describe(c) + ", " + describe(x) + " and " +
                                                    describe(y) + " is too irregular");
    Value& o = ctx.out(0);
    o.dtype = x.dtype;
    o.shape = out;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    switch (elem_) {
      case 1: run_typed<uint8_t>(ctx); break;
      case 2: run_typed<uint16_t>(ctx); break;
      case 4: run_typed<uint32_t>(ctx); break;
      default: run_typed<uint64_t>(ctx); break;
    }
  }

  std::string kernel_name() const override { return "scalar"; }

 private:
  template <class T>
  void run_typed(const OpContext& ctx) {
    const uint8_t* c = ctx.in(0).as<const uint8_t>();
    const T* x = ctx.in(1).as<const T>();
    const T* y = ctx.in(2).as<const T>();
    T* out = ctx.out(0).as<T>();
    parallel_for(ctx, plan_.total, chunk_units(sizeof(T)), [&](int64_t s, int64_t e) {
      select_range<T>(plan_, c, x, y, out, s, e);
    });
  }

  Plan3 plan_;
  size_t elem_ = 4;
};

std::unique_ptr<Op> make_where() { return std::make_unique<Where>(); }

}  // namespace

void register_where_op(OpTable& table) { table.set(fb::OpType::Where, make_where); }

}  // namespace pocket::ew
