#include "tools/common/npy.h"

#include "tools/common/tool_util.h"

#include <cstring>
#include <fstream>

namespace pocket::tools {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

size_t item_size(pocket_dtype dtype) {
  switch (dtype) {
    case POCKET_F32: case POCKET_I32: return 4;
    case POCKET_F16: case POCKET_BF16: return 2;
    case POCKET_I64: return 8;
    case POCKET_I8: case POCKET_U8: case POCKET_BOOL: return 1;
    default: return 0;
  }
}

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view s) : s_(s) {}

  bool parse(std::string* descr, bool* fortran, std::vector<int64_t>* shape, std::string* error) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip();
    if (!eat('{')) return fail("header is not a dictionary", error);
    while (true) {
      skip();
      if (eat('}')) break;
      std::string key;
      if (!string_literal(&key)) return fail("header has a malformed key", error);
      skip();
      if (!eat(':')) return fail("header is missing ':' after '" + key + "'", error);
      skip();
      if (key == "descr") {
        if (peek() == '[') return fail("structured dtypes are not supported", error);
        if (!string_literal(descr)) return fail("header 'descr' is not a dtype string", error);
        have_descr = true;
      } else if (key == "fortran_order") {
        if (word("True")) *fortran = true;
        else if (word("False")) *fortran = false;
        else return fail("header 'fortran_order' is not True or False", error);
        have_fortran = true;
      } else if (key == "shape") {
        if (!tuple(shape)) return fail("header 'shape' is not a tuple of non-negative integers", error);
        have_shape = true;
      } else {
        return fail("header has an unknown key '" + key + "'", error);
      }
      skip();
      if (eat(',')) continue;
      skip();
      if (eat('}')) break;
      return fail("header dictionary is malformed", error);
    }
    if (!have_descr || !have_fortran || !have_shape)
      return fail("header lacks one of 'descr', 'fortran_order', 'shape'", error);
    return true;
  }

 private:
  static bool fail(const std::string& m, std::string* error) {
    *error = m;
    return false;
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool string_literal(std::string* out) {
    char q = peek();
    if (q != '\'' && q != '"') return false;
    ++i_;
    out->clear();
    while (i_ < s_.size() && s_[i_] != q) out->push_back(s_[i_++]);
    return eat(q);
  }
  bool integer(int64_t* v) {
    if (peek() < '0' || peek() > '9') return false;
    int64_t x = 0;
    while (peek() >= '0' && peek() <= '9') {
      int d = peek() - '0';
      if (x > (INT64_MAX - d) / 10) return false;
      x = x * 10 + d;
      ++i_;
    }
    eat('L');  // Python 2 long suffix
    *v = x;
    return true;
  }
  bool tuple(std::vector<int64_t>* shape) {
    shape->clear();
    if (!eat('(')) return false;
    while (true) {
      skip();
      if (eat(')')) return true;
      int64_t d;
      if (!integer(&d)) return false;
      shape->push_back(d);
      skip();
      if (eat(',')) continue;
      skip();
      return eat(')');
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

bool dtype_from_descr(const std::string& descr, pocket_dtype* dtype, std::string* error) {
  if (descr.empty()) {
    *error = "empty dtype";
    return false;
  }
  char order = descr[0];
  std::string code = descr;
  if (order == '<' || order == '>' || order == '|' || order == '=' || order == '!') code = descr.substr(1);
  else order = '=';
  if (code == "O" || code.rfind("O", 0) == 0) {
    *error = "object arrays (dtype 'O') are not supported";
    return false;
  }
  static const struct { const char* code; pocket_dtype dtype; } kTable[] = {
      {"f4", POCKET_F32}, {"f2", POCKET_F16}, {"i8", POCKET_I64}, {"i4", POCKET_I32},
      {"i1", POCKET_I8},  {"u1", POCKET_U8},  {"b1", POCKET_BOOL}, {"?", POCKET_BOOL},
  };
  for (const auto& e : kTable) {
    if (code != e.code) continue;
    if ((order == '>' || order == '!') && item_size(e.dtype) > 1) {
      *error = "big-endian data (dtype '" + descr + "') is not supported; save it little-endian";
      return false;
    }
    *dtype = e.dtype;
    return true;
  }
  *error = "unsupported dtype '" + descr + "' (supported: float32, float16, int64, int32, int8, uint8, bool)";
  return false;
}

const char* descr_for(pocket_dtype dtype) {
  switch (dtype) {
    case POCKET_F32: case POCKET_BF16: return "<f4";
    case POCKET_F16: return "<f2";
    case POCKET_I64: return "<i8";
    case POCKET_I32: return "<i4";
    case POCKET_I8: return "|i1";
    case POCKET_U8: return "|u1";
    case POCKET_BOOL: return "|b1";
    default: return nullptr;
  }
}

uint32_t read_le(const uint8_t* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

int64_t NpyArray::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool parse_npy(const void* bytes, size_t size, NpyArray* out, std::string* error) {
  const auto* p = static_cast<const uint8_t*>(bytes);
  if (size < kMagicLen + 2 || std::memcmp(p, kMagic, kMagicLen) != 0) {
    *error = "not a .npy file (bad magic)";
    return false;
  }
  const int major = p[6], minor = p[7];
  int len_bytes;
  if (major == 1) len_bytes = 2;
  else if (major == 2 || major == 3) len_bytes = 4;
  else {
    *error = "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor);
    return false;
  }
  const size_t prefix = kMagicLen + 2 + static_cast<size_t>(len_bytes);
  if (size < prefix) {
    *error = "truncated .npy header";
    return false;
  }
  const uint64_t header_len = read_le(p + kMagicLen + 2, len_bytes);
  if (header_len > size - prefix) {
    *error = "truncated .npy header (claims " + std::to_string(header_len) + " bytes, file has " +
             std::to_string(size - prefix) + ")";
    return false;
  }
  std::string_view header(reinterpret_cast<const char*>(p + prefix), header_len);

  std::string descr, why;
  bool fortran = false;
  std::vector<int64_t> shape;
  if (!HeaderParser(header).parse(&descr, &fortran, &shape, &why)) {
    *error = "corrupt .npy header: " + why;
    return false;
  }
  pocket_dtype dtype;
  if (!dtype_from_descr(descr, &dtype, error)) return false;

  int64_t elements = 1;
  for (int64_t d : shape) {
    if (d != 0 && elements > INT64_MAX / d) {
      *error = "corrupt .npy header: shape is too large";
      return false;
    }
    elements *= d;
  }
  const size_t isz = item_size(dtype);
  const uint64_t data_bytes = static_cast<uint64_t>(elements) * isz;
  if (elements > 0 && data_bytes / isz != static_cast<uint64_t>(elements)) {
    *error = "corrupt .npy header: shape is too large";
    return false;
  }
  if (fortran && shape.size() > 1 && elements > 1) {
    *error = "Fortran-order arrays are not supported; save with np.ascontiguousarray";
    return false;
  }
  const size_t available = size - prefix - header_len;
  if (data_bytes > available) {
    *error = "truncated .npy data: shape needs " + std::to_string(data_bytes) + " bytes, file has " +
             std::to_string(available);
    return false;
  }
  out->dtype = dtype;
  out->shape = std::move(shape);
  const uint8_t* d = p + prefix + header_len;
  out->data.assign(d, d + data_bytes);
  return true;
}

bool read_npy(const std::string& path, NpyArray* out, std::string* error) {
  std::vector<uint8_t> bytes;
  if (!read_file(path, &bytes, error)) return false;
  std::string why;
  if (!parse_npy(bytes.data(), bytes.size(), out, &why)) {
    *error = "'" + path + "': " + why;
    return false;
  }
  return true;
}

bool encode_npy(pocket_dtype dtype, const std::vector<int64_t>& shape, const void* data, size_t bytes,
                std::vector<uint8_t>* out, std::string* error) {
  const char* descr = descr_for(dtype);
  if (!descr) {
    *error = "this dtype (int4 or unknown) cannot be written as .npy";
    return false;
  }
  int64_t elements = 1;
  for (int64_t d : shape) elements *= d;
  const size_t want = static_cast<size_t>(elements) * item_size(dtype);
  if (bytes != want) {
    *error = "tensor holds " + std::to_string(bytes) + " bytes but its shape needs " + std::to_string(want);
    return false;
  }
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dict += ",";  // a 1-tuple: (5,)
  dict += "), }";
  const bool v2 = dict.size() + 1 + 10 > 65535;
  const size_t prefix = kMagicLen + 2 + (v2 ? 4 : 2);
  size_t total = prefix + dict.size() + 1;
  const size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  const size_t header_len = dict.size();

  const size_t data_out = dtype == POCKET_BF16 ? static_cast<size_t>(elements) * 4 : bytes;
  out->assign(prefix + header_len + data_out, 0);
  uint8_t* p = out->data();
  std::memcpy(p, kMagic, kMagicLen);
  p[6] = v2 ? 2 : 1;
  p[7] = 0;
  for (int i = 0; i < (v2 ? 4 : 2); ++i) p[8 + i] = static_cast<uint8_t>(header_len >> (8 * i));
  std::memcpy(p + prefix, dict.data(), header_len);
  uint8_t* d = p + prefix + header_len;
  if (dtype == POCKET_BF16) {
    const auto* src = static_cast<const uint16_t*>(data);
    for (int64_t i = 0; i < elements; ++i) {
      uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
      std::memcpy(d + 4 * i, &bits, 4);
    }
  } else if (bytes) {
    std::memcpy(d, data, bytes);
  }
  return true;
}

bool write_npy(const std::string& path, pocket_dtype dtype, const std::vector<int64_t>& shape,
               const void* data, size_t bytes, std::string* error) {
  std::vector<uint8_t> buf;
  if (!encode_npy(dtype, shape, data, bytes, &buf, error)) return false;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) {
    *error = "cannot create '" + path + "'";
    return false;
  }
  f.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
  f.close();
  if (!f) {
    *error = "cannot write '" + path + "'";
    return false;
  }
  return true;
}

}  // namespace pocket::tools
