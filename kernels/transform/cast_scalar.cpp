// Element type conversion (ONNX Cast) between f64, f32, f16, bf16, i64, i32, i8, u8 and bool, with
// portable f16/bf16 bit conversions (round to nearest even, NaN and Inf kept, subnormals exact).
// Floating values pass through double, so f64 keeps its precision and f32 values are unchanged;
// f64 -> f16/bf16 rounds to f32 first.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "format/pocket_generated.h"
#include "kernels/transform/transform.h"

namespace pocket::kernels {

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0u));
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (a < 0x38800000u) {                                                 // half subnormal or zero
    if (a <= 0x33000000u) return static_cast<uint16_t>(sign);           // <= 2^-25 ties to 0
    const uint32_t e = a >> 23;
    const uint32_t m = (a & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t h = (a - 0x38000000u) >> 13;
  const uint32_t rem = a & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  uint32_t bits;
  if (e == 0) {
    float v = static_cast<float>(m) * 5.9604644775390625e-8f;  // m * 2^-24, exact
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  } else if (e == 31) {
    bits = sign | 0x7f800000u | (m << 13);
  } else {
    bits = sign | ((e + 112u) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

float bf16_to_f32(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace {

struct f16_t { uint16_t bits; };
struct bf16_t { uint16_t bits; };
struct bool_t { uint8_t v; };

inline double load(const double* p) { return *p; }
inline double load(const float* p) { return *p; }
inline double load(const f16_t* p) { return f16_to_f32(p->bits); }
inline double load(const bf16_t* p) { return bf16_to_f32(p->bits); }
inline int64_t load(const int64_t* p) { return *p; }
inline int64_t load(const int32_t* p) { return *p; }
inline int64_t load(const int8_t* p) { return *p; }
inline int64_t load(const uint8_t* p) { return *p; }
inline int64_t load(const bool_t* p) { return p->v != 0; }

template <class I>
I truncate_saturate(double v) {
  if (std::isnan(v)) return 0;
  const double t = std::trunc(v);
  if (t <= static_cast<double>(std::numeric_limits<I>::min())) return std::numeric_limits<I>::min();
  if (t >= static_cast<double>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  return static_cast<I>(t);
}

template <class D>
inline void store(D* d, double v) {
  if constexpr (std::is_same_v<D, double>) *d = v;
  else if constexpr (std::is_same_v<D, float>) *d = static_cast<float>(v);
  else if constexpr (std::is_same_v<D, f16_t>) d->bits = f32_to_f16(static_cast<float>(v));
  else if constexpr (std::is_same_v<D, bf16_t>) d->bits = f32_to_bf16(static_cast<float>(v));
  else if constexpr (std::is_same_v<D, bool_t>) d->v = v != 0.0;
  else *d = truncate_saturate<D>(v);
}

template <class D>
inline void store(D* d, int64_t v) {
  if constexpr (std::is_same_v<D, double>) *d = static_cast<double>(v);
  else if constexpr (std::is_same_v<D, float>) *d = static_cast<float>(v);
  else if constexpr (std::is_same_v<D, f16_t>) d->bits = f32_to_f16(static_cast<float>(v));
  else if constexpr (std::is_same_v<D, bf16_t>) d->bits = f32_to_bf16(static_cast<float>(v));
  else if constexpr (std::is_same_v<D, bool_t>) d->v = v != 0;
  else *d = static_cast<D>(v);  // modular (C++20)
}

using ConvertFn = void (*)(const void* src, void* dst, size_t start, size_t count);

template <class S, class D>
void convert(const void* src, void* dst, size_t start, size_t count) {
  const S* s = static_cast<const S*>(src) + start;
  D* d = static_cast<D*>(dst) + start;
  for (size_t i = 0; i < count; ++i) store(&d[i], load(&s[i]));
}

template <class S>
ConvertFn pick_dst(fb::DType d) {
  switch (d) {
    case fb::DType::F64: return convert<S, double>;
    case fb::DType::F32: return convert<S, float>;
    case fb::DType::F16: return convert<S, f16_t>;
    case fb::DType::BF16: return convert<S, bf16_t>;
    case fb::DType::I64: return convert<S, int64_t>;
    case fb::DType::I32: return convert<S, int32_t>;
    case fb::DType::I8: return convert<S, int8_t>;
    case fb::DType::U8: return convert<S, uint8_t>;
    case fb::DType::BOOL: return convert<S, bool_t>;
    default: return nullptr;
  }
}

ConvertFn pick(int src, int dst) {
  const auto d = static_cast<fb::DType>(dst);
  switch (static_cast<fb::DType>(src)) {
    case fb::DType::F64: return pick_dst<double>(d);
    case fb::DType::F32: return pick_dst<float>(d);
    case fb::DType::F16: return pick_dst<f16_t>(d);
    case fb::DType::BF16: return pick_dst<bf16_t>(d);
    case fb::DType::I64: return pick_dst<int64_t>(d);
    case fb::DType::I32: return pick_dst<int32_t>(d);
    case fb::DType::I8: return pick_dst<int8_t>(d);
    case fb::DType::U8: return pick_dst<uint8_t>(d);
    case fb::DType::BOOL: return pick_dst<bool_t>(d);
    default: return nullptr;
  }
}

struct CastContext {
  ConvertFn fn;
  const void* src;
  void* dst;
};

void cast_range(void* opaque, size_t start, size_t count) {
  const CastContext& c = *static_cast<const CastContext*>(opaque);
  c.fn(c.src, c.dst, start, count);
}

}  // namespace

bool cast_supported(int src_dtype, int dst_dtype) { return pick(src_dtype, dst_dtype) != nullptr; }

void cast(const void* src, int src_dtype, void* dst, int dst_dtype, int64_t count, pthreadpool_t pool) {
  ConvertFn fn = pick(src_dtype, dst_dtype);
  if (!fn || count <= 0) return;
  CastContext c{fn, src, dst};
  if (!pool || count < 64 * 1024) {
    fn(src, dst, 0, static_cast<size_t>(count));
    return;
  }
  pthreadpool_parallelize_1d_tile_1d(pool, cast_range, &c, static_cast<size_t>(count), 16 * 1024, 0);
}

}  // namespace pocket::kernels
