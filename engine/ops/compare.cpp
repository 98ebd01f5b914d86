// Equal, Less, Greater, LessOrEqual, GreaterOrEqual: A, B -> BOOL, numpy broadcasting. f32, f64,
// i64, i32, and bool for Equal (A and B share the dtype). IEEE semantics: NaN compares unequal
// and unordered (every comparison with NaN is false). Walked as rows of the two-operand
// broadcast plan (kernels/elementwise/broadcast.h), split over the pool in >= 16 KiB chunks.
#include <memory>
#include <type_traits>

#include "engine/ops/ew_ops.h"
#include "engine/ops/ew_common.h"
#include "kernels/elementwise/broadcast.h"

namespace pocket::ew {

namespace {

enum class CmpOp { Equal, Less, Greater, LessOrEqual, GreaterOrEqual };

// bool (uint8_t) operands compare as truth values.
template <CmpOp K, class T>
inline uint8_t compare(T a, T b) {
  if constexpr (std::is_same_v<T, uint8_t>) return (a != 0) == (b != 0);
  else if constexpr (K == CmpOp::Equal) return a == b;
  else if constexpr (K == CmpOp::Less) return a < b;
  else if constexpr (K == CmpOp::Greater) return a > b;
  else if constexpr (K == CmpOp::LessOrEqual) return a <= b;
  else return a >= b;
}

// One row; A and B advance by ia, ib (0 or 1), written out per form so each loop vectorises.
template <CmpOp K, class T>
void compare_row(const T* a, const T* b, uint8_t* y, int64_t n, int64_t ia, int64_t ib) {
  if (ia == 1 && ib == 1) {
    for (int64_t i = 0; i < n; ++i) y[i] = compare<K>(a[i], b[i]);
  } else if (ia == 1) {
    const T s = b[0];
    for (int64_t i = 0; i < n; ++i) y[i] = compare<K>(a[i], s);
  } else if (ib == 1) {
    const T s = a[0];
    for (int64_t i = 0; i < n; ++i) y[i] = compare<K>(s, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = compare<K>(a[0], b[0]);
  }
}

// Output elements [start, end) of the plan (the odometer of kernels::broadcast_range, with a
// BOOL output).
template <CmpOp K, class T>
void compare_range(const kernels::BroadcastPlan& p, const T* a, const T* b, uint8_t* y, int64_t start, int64_t end) {
  if (start >= end) return;
  const int r = p.rank;
  const int64_t inner = p.dims[r - 1];
  const int64_t ia = p.a_stride[r - 1], ib = p.b_stride[r - 1];
  int64_t idx[kernels::kMaxBroadcastRank] = {};
  int64_t row = start / inner, col = start % inner;
  int64_t a_off = 0, b_off = 0;
  for (int d = r - 2; d >= 0; --d) {
    idx[d] = row % p.dims[d];
    row /= p.dims[d];
    a_off += idx[d] * p.a_stride[d];
    b_off += idx[d] * p.b_stride[d];
  }
  int64_t pos = start;
  while (pos < end) {
    const int64_t n = std::min(inner - col, end - pos);
    compare_row<K, T>(a + a_off + col * ia, b + b_off + col * ib, y + pos, n, ia, ib);
    pos += n;
    col = 0;
    for (int d = r - 2; d >= 0; --d) {
      a_off += p.a_stride[d];
      b_off += p.b_stride[d];
      if (++idx[d] < p.dims[d]) break;
      a_off -= idx[d] * p.a_stride[d];
      b_off -= idx[d] * p.b_stride[d];
      idx[d] = 0;
    }
  }
}

template <CmpOp K>
class Compare final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 2, 2));
    const Value& a = ctx.in(0);
    const Value& b = ctx.in(1);
    const bool ok = a.dtype == DType::F32 || a.dtype == DType::F64 || a.dtype == DType::I64 || a.dtype == DType::I32 ||
                    (K == CmpOp::Equal && a.dtype == DType::BOOL);
    if (!ok)
      return ctx.fail(StatusCode::kUnsupported, "input " + describe(a) + ": dtype not supported (f32, f64, i64, i32" +
                                                    std::string(K == CmpOp::Equal ? ", bool" : "") + ")");
    if (b.dtype != a.dtype)
      return ctx.fail(StatusCode::kInvalidModel, "inputs " + describe(a) + " and " + describe(b) + " differ in dtype");
    Shape out;
    if (!kernels::broadcast_shape(a.shape, b.shape, &out))
      return ctx.fail(StatusCode::kInvalidModel, "cannot broadcast " + describe(a) + " with " + describe(b));
    if (!kernels::make_broadcast_plan(out, a.shape, b.shape, &plan_))
      return ctx.fail(StatusCode::kUnsupported, "broadcast of " + describe(a) + " with " + describe(b) + " is too irregular");
    dtype_ = a.dtype;
    Value& y = ctx.out(0);
    y.dtype = DType::BOOL;
    y.shape = out;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    switch (dtype_) {
      case DType::F64: run_typed<double>(ctx); break;
      case DType::I64: run_typed<int64_t>(ctx); break;
      case DType::I32: run_typed<int32_t>(ctx); break;
      case DType::BOOL: run_typed<uint8_t>(ctx); break;
      default: run_typed<float>(ctx); break;
    }
  }

  std::string kernel_name() const override { return "scalar"; }
  int64_t flops(const OpContext& ctx) const override { return ctx.outputs[0]->elements(); }

 private:
  template <class T>
  void run_typed(const OpContext& ctx) {
    const T* a = ctx.in(0).as<const T>();
    const T* b = ctx.in(1).as<const T>();
    uint8_t* y = ctx.out(0).as<uint8_t>();
    parallel_for(ctx, plan_.total, chunk_units(sizeof(T)), [&](int64_t s, int64_t e) {
      compare_range<K, T>(plan_, a, b, y, s, e);
    });
  }

  kernels::BroadcastPlan plan_;
  DType dtype_ = DType::F32;
};

template <CmpOp K>
std::unique_ptr<Op> make() {
  return std::make_unique<Compare<K>>();
}

}  // namespace

void register_compare_ops(OpTable& table) {
  table.set(fb::OpType::Equal, make<CmpOp::Equal>);
  table.set(fb::OpType::Less, make<CmpOp::Less>);
  table.set(fb::OpType::Greater, make<CmpOp::Greater>);
  table.set(fb::OpType::LessOrEqual, make<CmpOp::LessOrEqual>);
  table.set(fb::OpType::GreaterOrEqual, make<CmpOp::GreaterOrEqual>);
}

}  // namespace pocket::ew
