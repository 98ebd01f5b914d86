// Reference binary kernels on rows (f32; f64, i32 and i64 for the arithmetic ops). Broadcasting is done by
// the caller walking rows (broadcast.h); a row is VV, VS or SV.
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/elementwise/elementwise.h"

namespace pocket::kernels {

namespace {

template <class T>
struct AddF { static T f(T a, T b) { return a + b; } };
template <class T>
struct SubF { static T f(T a, T b) { return a - b; } };
template <class T>
struct MulF { static T f(T a, T b) { return a * b; } };
template <class T>
struct DivF {
  static T f(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      // Integer division truncates; x/0 and MIN/-1 would trap, so they give 0 and MIN.
      if (b == 0) return 0;
      if (b == -1) return static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(a));
      return a / b;
    } else {
      return a / b;
    }
  }
};
template <class T>
struct PowF { static T f(T a, T b) { return std::pow(a, b); } };
template <class T>
struct MaxF { static T f(T a, T b) { return a < b ? b : a; } };
template <class T>
struct MinF { static T f(T a, T b) { return b < a ? b : a; } };
template <class T>
struct PReluF { static T f(T a, T b) { return a < 0 ? a * b : a; } };

template <class T, class Op>
void vv(const T* a, const T* b, T* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = Op::f(a[i], b[i]);
}
template <class T, class Op>
void vs(const T* a, const T* b, T* y, size_t n) {
  const T s = b[0];
  for (size_t i = 0; i < n; ++i) y[i] = Op::f(a[i], s);
}
template <class T, class Op>
void sv(const T* a, const T* b, T* y, size_t n) {
  const T s = a[0];
  for (size_t i = 0; i < n; ++i) y[i] = Op::f(s, b[i]);
}

template <class T, template <class> class Op>
void set(BinaryFn<T> (&row)[kRowFormCount]) {
  row[static_cast<int>(RowForm::VV)] = vv<T, Op<T>>;
  row[static_cast<int>(RowForm::VS)] = vs<T, Op<T>>;
  row[static_cast<int>(RowForm::SV)] = sv<T, Op<T>>;
}

template <class T>
void fill_common(BinaryFn<T> (&table)[kBinaryOpCount][kRowFormCount]) {
  set<T, AddF>(table[static_cast<int>(BinaryOp::Add)]);
  set<T, SubF>(table[static_cast<int>(BinaryOp::Sub)]);
  set<T, MulF>(table[static_cast<int>(BinaryOp::Mul)]);
  set<T, DivF>(table[static_cast<int>(BinaryOp::Div)]);
  set<T, MaxF>(table[static_cast<int>(BinaryOp::Max)]);
  set<T, MinF>(table[static_cast<int>(BinaryOp::Min)]);
}

}  // namespace

void fill_binary_scalar(ElementwiseKernels& t) {
  fill_common<float>(t.binary_f32);
  set<float, PowF>(t.binary_f32[static_cast<int>(BinaryOp::Pow)]);
  set<float, PReluF>(t.binary_f32[static_cast<int>(BinaryOp::PRelu)]);
  for (const char*& isa : t.binary_f32_isa) isa = "scalar";
  fill_common<int32_t>(t.binary_i32);
  fill_common<int64_t>(t.binary_i64);
  fill_common<double>(t.binary_f64);
}

}  // namespace pocket::kernels
