#include "tools/common/random_fill.h"

#include "tools/common/args.h"

#include <cmath>
#include <cstring>
#include <random>

namespace pocket::tools {

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return static_cast<uint16_t>(sign | (absx > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflows to inf
  if (absx < 0x38800000u) {                                                  // subnormal or zero
    float a;
    std::memcpy(&a, &absx, 4);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(a * 16777216.0f)));
  }
  uint32_t mant = absx + 0xc8000fffu + ((absx >> 13) & 1u);  // rebias exponent, round to even
  return static_cast<uint16_t>(sign | (mant >> 13));
}

bool parse_input_shape(const std::string& spec, std::string* name, std::vector<int64_t>* shape, std::string* error) {
  std::string dims;
  if (!split_assignment(spec, name, &dims) || name->empty() || dims.empty()) {
    *error = "--input-shape '" + spec + "': expected NAME=DIMS, e.g. input_ids=1x128";
    return false;
  }
  shape->clear();
  size_t start = 0;
  while (true) {
    const size_t end = dims.find_first_of("x,", start);
    const std::string part = dims.substr(start, end == std::string::npos ? std::string::npos : end - start);
    int64_t d = 0;
    std::string why;
    if (!parse_int(part, 0, int64_t{1} << 40, &d, &why)) {
      *error = "--input-shape '" + spec + "': dimension '" + part + "' is not a size (" + why + ")";
      return false;
    }
    shape->push_back(d);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return true;
}

void default_random_range(pocket_dtype dtype, double* lo, double* hi) {
  switch (dtype) {
    case POCKET_I64: case POCKET_I32: *lo = 0; *hi = 2; break;
    case POCKET_U8: *lo = 0; *hi = 256; break;
    case POCKET_I8: *lo = -128; *hi = 128; break;
    case POCKET_BOOL: *lo = 0; *hi = 2; break;
    default: *lo = -1; *hi = 1; break;
  }
}

bool fill_random(pocket_dtype dtype, size_t elements, uint64_t seed, double lo, double hi, void* out) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> real(lo, hi);
  auto integer = [&]() -> int64_t {
    const int64_t a = static_cast<int64_t>(std::ceil(lo));
    const int64_t b = static_cast<int64_t>(std::ceil(hi)) - 1;  // [lo, hi)
    if (b <= a) return a;
    return std::uniform_int_distribution<int64_t>(a, b)(rng);
  };
  switch (dtype) {
    case POCKET_F32: {
      auto* p = static_cast<float*>(out);
      for (size_t i = 0; i < elements; ++i) p[i] = static_cast<float>(real(rng));
      return true;
    }
    case POCKET_F16: {
      auto* p = static_cast<uint16_t*>(out);
      for (size_t i = 0; i < elements; ++i) p[i] = float_to_half(static_cast<float>(real(rng)));
      return true;
    }
    case POCKET_BF16: {
      auto* p = static_cast<uint16_t*>(out);
      for (size_t i = 0; i < elements; ++i) {
        float f = static_cast<float>(real(rng));
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        p[i] = static_cast<uint16_t>(bits >> 16);
      }
      return true;
    }
    case POCKET_I64: {
      auto* p = static_cast<int64_t*>(out);
      for (size_t i = 0; i < elements; ++i) p[i] = integer();
      return true;
    }
    case POCKET_I32: {
      auto* p = static_cast<int32_t*>(out);
      for (size_t i = 0; i < elements; ++i) p[i] = static_cast<int32_t>(integer());
      return true;
    }
    case POCKET_I8: {
      auto* p = static_cast<int8_t*>(out);
      for (size_t i = 0; i < elements; ++i) p[i] = static_cast<int8_t>(integer());
      return true;
    }
    case POCKET_U8: {
      auto* p = static_cast<uint8_t*>(out);
      for (size_t i = 0; i < elements; ++i) p[i] = static_cast<uint8_t>(integer());
      return true;
    }
    case POCKET_BOOL: {
      auto* p = static_cast<uint8_t*>(out);
      for (size_t i = 0; i < elements; ++i) p[i] = static_cast<uint8_t>(rng() & 1u);
      return true;
    }
    default: return false;
  }
}

}  // namespace pocket::tools
