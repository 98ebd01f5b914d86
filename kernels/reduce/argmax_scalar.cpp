// Arg-max / arg-min along one axis (f32, i32, i64). Scalar only: the op is rare and cheap.
// A NaN is the extreme of both (numpy and PyTorch): the first NaN wins, or the last one with
// select_last_index, as ReduceMax/ReduceMin give NaN.
#include <type_traits>

#include "kernels/reduce/reduce.h"

namespace pocket::kernels {

namespace {

template <class T>
void argmax(const T* x, int64_t* y, size_t outer, size_t n, size_t inner, bool is_min, bool last) {
  for (size_t o = 0; o < outer; ++o) {
    const T* xo = x + o * n * inner;
    int64_t* yo = y + o * inner;
    for (size_t j = 0; j < inner; ++j) {
      T best = xo[j];
      int64_t bi = 0;
      for (size_t i = 1; i < n; ++i) {
        const T v = xo[i * inner + j];
        bool better = is_min ? (last ? v <= best : v < best) : (last ? v >= best : v > best);
        if constexpr (std::is_floating_point_v<T>) {
          if (best != best) better = last && v != v;  // a NaN is beaten only by a later NaN
          else if (v != v) better = true;
        }
        if (better) {
          best = v;
          bi = static_cast<int64_t>(i);
        }
      }
      yo[j] = bi;
    }
  }
}

}  // namespace

void fill_argmax_scalar(ReduceKernels& t) {
  t.argmax_f32 = argmax<float>;
  t.argmax_i32 = argmax<int32_t>;
  t.argmax_i64 = argmax<int64_t>;
}

}  // namespace pocket::kernels
