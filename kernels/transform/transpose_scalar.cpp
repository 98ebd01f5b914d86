// Plain 2-D transposes of 1/2/4/8-byte elements; the reference for the ISA variants. Callers
// hand in cache-sized tiles, so a direct double loop is enough here.
#include <cstdint>
#include <cstring>

#include "kernels/transform/dispatch.h"

namespace pocket::kernels {

namespace {

template <class T>
void transpose_tile(const void* src, ptrdiff_t src_ld, void* dst, ptrdiff_t dst_ld, size_t rows, size_t cols) {
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  for (size_t c = 0; c < cols; ++c) {
    T* out = reinterpret_cast<T*>(d + static_cast<ptrdiff_t>(c) * dst_ld);
    const char* in = s + c * sizeof(T);
    for (size_t r = 0; r < rows; ++r) {
      T v;
      std::memcpy(&v, in + static_cast<ptrdiff_t>(r) * src_ld, sizeof(T));
      out[r] = v;
    }
  }
}

}  // namespace

void transpose_x8_scalar(const void* src, ptrdiff_t src_ld, void* dst, ptrdiff_t dst_ld, size_t rows, size_t cols) {
  transpose_tile<uint8_t>(src, src_ld, dst, dst_ld, rows, cols);
}
void transpose_x16_scalar(const void* src, ptrdiff_t src_ld, void* dst, ptrdiff_t dst_ld, size_t rows, size_t cols) {
  transpose_tile<uint16_t>(src, src_ld, dst, dst_ld, rows, cols);
}
void transpose_x32_scalar(const void* src, ptrdiff_t src_ld, void* dst, ptrdiff_t dst_ld, size_t rows, size_t cols) {
  transpose_tile<uint32_t>(src, src_ld, dst, dst_ld, rows, cols);
}
void transpose_x64_scalar(const void* src, ptrdiff_t src_ld, void* dst, ptrdiff_t dst_ld, size_t rows, size_t cols) {
  transpose_tile<uint64_t>(src, src_ld, dst, dst_ld, rows, cols);
}

}  // namespace pocket::kernels
