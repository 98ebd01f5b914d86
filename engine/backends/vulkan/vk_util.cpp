#include "engine/backends/vulkan/vk_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pocket::vk {

bool store_type_of(DType dtype, StoreType* store) {
  switch (dtype) {
    case DType::F32: *store = StoreType::kFloat; return true;
    case DType::I32:
    case DType::I64: *store = StoreType::kInt32; return true;
    case DType::BOOL:
    case DType::U8: *store = StoreType::kBool; return true;
    default: return false;
  }
}

bool grid_xy(uint64_t groups, const DeviceCaps& caps, uint32_t* gx, uint32_t* gy) {
  const uint64_t max_x = std::max<uint32_t>(caps.max_workgroup_count[0], 1);
  const uint64_t max_y = std::max<uint32_t>(caps.max_workgroup_count[1], 1);
  const uint64_t x = std::min<uint64_t>(std::max<uint64_t>(groups, 1), max_x);
  const uint64_t y = (groups + x - 1) / x;
  if (y > max_y) return false;
  *gx = groups == 0 ? 0 : static_cast<uint32_t>(x);
  *gy = static_cast<uint32_t>(std::max<uint64_t>(y, 1));
  return true;
}

size_t store_size(StoreType store, bool fp16) { return store == StoreType::kFloat && fp16 ? 2 : 4; }

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));  // inf / nan
  int32_t e = static_cast<int32_t>(exp) - 127 + 15;
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);  // underflow -> 0
    mant |= 0x800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent: correct
  return static_cast<uint16_t>(sign | h);
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {
      int e = -1;
      do { ++e; mant <<= 1; } while (!(mant & 0x400u));
      x = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

std::string node_label(const NodeView& node) {
  std::string s = node.node ? fb::EnumNameOpType(node.op()) : "?";
  if (node.node && node.node->name()) s += " '" + node.node->name()->str() + "'";
  return s;
}

bool constant_floats(const Value& v, std::vector<float>* out) {
  const int64_t n = v.elements();
  if (n < 0 || (n > 0 && !v.data)) return false;
  out->resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    float x;
    switch (v.dtype) {
      case DType::F32: x = v.as<const float>()[i]; break;
      case DType::F16: x = half_to_float(v.as<const uint16_t>()[i]); break;
      case DType::F64: x = static_cast<float>(v.as<const double>()[i]); break;
      case DType::I32: x = static_cast<float>(v.as<const int32_t>()[i]); break;
      case DType::I64: x = static_cast<float>(v.as<const int64_t>()[i]); break;
      case DType::U8:
      case DType::BOOL: x = static_cast<float>(v.as<const uint8_t>()[i]); break;
      default: return false;
    }
    (*out)[static_cast<size_t>(i)] = x;
  }
  return true;
}

bool constant_ints(const Value& v, std::vector<int32_t>* out) {
  const int64_t n = v.elements();
  if (n < 0 || (n > 0 && !v.data)) return false;
  out->resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t x;
    switch (v.dtype) {
      case DType::I32: x = v.as<const int32_t>()[i]; break;
      case DType::I64: x = v.as<const int64_t>()[i]; break;
      case DType::U8: x = v.as<const uint8_t>()[i]; break;
      case DType::BOOL: x = v.as<const uint8_t>()[i] != 0; break;
      default: return false;
    }
    if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max()) return false;
    (*out)[static_cast<size_t>(i)] = static_cast<int32_t>(x);
  }
  return true;
}

int add_constant_weight(VkPrepare& ctx, const Value& v, std::string* why) {
  StoreType st;
  if (!store_type_of(v.dtype, &st)) {
    *why = std::string("constant of dtype ") + dtype_name(v.dtype);
    return -1;
  }
  if (st == StoreType::kFloat) {
    std::vector<float> f;
    if (!constant_floats(v, &f)) {
      *why = "constant '" + std::string(v.name) + "' has no data";
      return -1;
    }
    return ctx.add_weight_floats(f.data(), f.size());
  }
  std::vector<int32_t> q;
  if (!constant_ints(v, &q)) {
    *why = "constant '" + std::string(v.name) + "' has values outside int32";
    return -1;
  }
  return ctx.add_weight_ints(q.data(), q.size());
}

bool broadcast_strides(const Shape& in, const Shape& out, size_t rank, int32_t* strides) {
  if (in.size() > out.size() || out.size() > rank) return false;
  for (size_t i = 0; i < rank; ++i) strides[i] = 0;
  int64_t s = 1;
  for (size_t j = 0; j < in.size(); ++j) {
    const size_t di = in.size() - 1 - j, dout = out.size() - 1 - j, slot = rank - 1 - j;
    if (in[di] == out[dout]) {
      strides[slot] = in[di] == 1 ? 0 : static_cast<int32_t>(s);
    } else if (in[di] == 1) {
      strides[slot] = 0;
    } else {
      return false;
    }
    s *= in[di];
  }
  return true;
}

bool broadcast_shape(const std::vector<Shape>& shapes, Shape* out) {
  size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.size());
  out->assign(rank, 1);
  for (const Shape& s : shapes) {
    for (size_t j = 0; j < s.size(); ++j) {
      int64_t& o = (*out)[rank - 1 - j];
      const int64_t d = s[s.size() - 1 - j];
      if (d == o || d == 1) continue;
      if (o == 1) { o = d; continue; }
      return false;
    }
  }
  // A zero dim wins over 1 (numpy): handled above since 1 -> d.
  return true;
}

}  // namespace pocket::vk
