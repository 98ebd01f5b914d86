#include "converter/onnx/onnx_types.h"

#include <cstring>

namespace pocket::converter {

namespace {

using TP = onnx::TensorProto;

float half_bits_to_float(uint32_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) bits = sign;
    else {
      int e = -1;
      do { ++e; mant <<= 1; } while (!(mant & 0x400));
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 31) bits = sign | 0x7f800000u | mant << 13;
  else bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_bits_to_float(uint32_t h) {
  uint32_t bits = h << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

size_t raw_size(int t) {
  switch (t) {
    case TP::FLOAT: case TP::INT32: case TP::UINT32: return 4;
    case TP::DOUBLE: case TP::INT64: case TP::UINT64: return 8;
    case TP::FLOAT16: case TP::BFLOAT16: case TP::INT16: case TP::UINT16: return 2;
    case TP::INT8: case TP::UINT8: case TP::BOOL: return 1;
    default: return 0;
  }
}

template <class T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

bool is_float_type(int t) { return t == TP::FLOAT || t == TP::DOUBLE || t == TP::FLOAT16 || t == TP::BFLOAT16; }

}  // namespace

bool onnx_dtype(int t, ir::DType* out) {
  switch (t) {
    case TP::FLOAT: case TP::FLOAT16: *out = ir::DType::F32; return true;
    case TP::DOUBLE: *out = ir::DType::F64; return true;
    case TP::BFLOAT16: *out = ir::DType::BF16; return true;
    case TP::INT64: case TP::UINT32: case TP::UINT64: *out = ir::DType::I64; return true;
    case TP::INT32: case TP::INT16: case TP::UINT16: *out = ir::DType::I32; return true;
    case TP::INT8: *out = ir::DType::I8; return true;
    case TP::UINT8: *out = ir::DType::U8; return true;
    case TP::BOOL: *out = ir::DType::BOOL; return true;
    default: return false;
  }
}

std::string onnx_dtype_name(int t) {
  if (onnx::TensorProto_DataType_IsValid(t)) return onnx::TensorProto_DataType_Name(static_cast<TP::DataType>(t));
  return "type " + std::to_string(t);
}

Result<std::vector<uint8_t>> onnx_tensor_data(const onnx::TensorProto& t, const std::string* raw,
                                              int64_t count, ir::DType* dtype) {
  const int src = t.data_type();
  if (!onnx_dtype(src, dtype)) return unsupported("element type " + onnx_dtype_name(src) + " is not supported");
  const size_t es = raw_size(src);
  int64_t available = 0;
  if (raw) available = static_cast<int64_t>(raw->size() / es);
  else if (src == TP::FLOAT) available = t.float_data_size();
  else if (src == TP::DOUBLE) available = t.double_data_size();
  else if (src == TP::INT64) available = t.int64_data_size();
  else if (src == TP::UINT32 || src == TP::UINT64) available = t.uint64_data_size();
  else available = t.int32_data_size();
  if (raw && raw->size() != static_cast<size_t>(count) * es)
    return invalid_model("holds " + std::to_string(raw->size()) + " bytes of data, the shape needs " +
                         std::to_string(count * static_cast<int64_t>(es)));
  if (!raw && available != count)
    return invalid_model("holds " + std::to_string(available) + " elements, the shape needs " + std::to_string(count));

  // Fast path: the raw bytes already are the IR representation.
  const bool same_repr = (src == TP::FLOAT || src == TP::DOUBLE || src == TP::INT64 || src == TP::INT32 || src == TP::INT8 ||
                          src == TP::UINT8 || src == TP::BOOL || src == TP::BFLOAT16);
  if (raw && same_repr) return std::vector<uint8_t>(raw->begin(), raw->end());

  const size_t out_es = *dtype == ir::DType::I64 || *dtype == ir::DType::F64 ? 8 : *dtype == ir::DType::F32 || *dtype == ir::DType::I32 ? 4
                        : *dtype == ir::DType::BF16 ? 2 : 1;
  std::vector<uint8_t> out(static_cast<size_t>(count) * out_es);
  const char* rp = raw ? raw->data() : nullptr;
  for (int64_t i = 0; i < count; ++i) {
    double fv = 0;
    int64_t iv = 0;
    const char* p = rp ? rp + i * es : nullptr;
    switch (src) {
      case TP::FLOAT: fv = p ? load<float>(p) : t.float_data(i); break;
      case TP::DOUBLE: fv = p ? load<double>(p) : t.double_data(i); break;
      case TP::FLOAT16: fv = half_bits_to_float(p ? load<uint16_t>(p) : static_cast<uint32_t>(t.int32_data(i)) & 0xffff); break;
      case TP::BFLOAT16: fv = bf16_bits_to_float(p ? load<uint16_t>(p) : static_cast<uint32_t>(t.int32_data(i)) & 0xffff); break;
      case TP::INT64: iv = p ? load<int64_t>(p) : t.int64_data(i); break;
      case TP::UINT64: iv = static_cast<int64_t>(p ? load<uint64_t>(p) : t.uint64_data(i)); break;
      case TP::UINT32: iv = p ? load<uint32_t>(p) : static_cast<uint32_t>(t.uint64_data(i)); break;
      case TP::INT32: iv = p ? load<int32_t>(p) : t.int32_data(i); break;
      case TP::INT16: iv = p ? load<int16_t>(p) : static_cast<int16_t>(t.int32_data(i)); break;
      case TP::UINT16: iv = p ? load<uint16_t>(p) : static_cast<uint16_t>(t.int32_data(i)); break;
      case TP::INT8: iv = p ? load<int8_t>(p) : static_cast<int8_t>(t.int32_data(i)); break;
      case TP::UINT8: iv = p ? load<uint8_t>(p) : static_cast<uint8_t>(t.int32_data(i)); break;
      case TP::BOOL: iv = (p ? load<uint8_t>(p) : t.int32_data(i)) != 0; break;
    }
    uint8_t* o = out.data() + i * out_es;
    if (*dtype == ir::DType::BF16) {
      float f = static_cast<float>(fv);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      uint16_t h = static_cast<uint16_t>(bits >> 16);
      std::memcpy(o, &h, 2);
      continue;
    }
    if (*dtype == ir::DType::F64) {
      std::memcpy(o, &fv, 8);
      continue;
    }
    if (is_float_type(src)) {
      float f = static_cast<float>(fv);
      std::memcpy(o, &f, 4);
      continue;
    }
    switch (*dtype) {
      case ir::DType::I64: std::memcpy(o, &iv, 8); break;
      case ir::DType::I32: { int32_t x = static_cast<int32_t>(iv); std::memcpy(o, &x, 4); break; }
      default: *o = static_cast<uint8_t>(iv); break;
    }
  }
  return out;
}

}  // namespace pocket::converter
