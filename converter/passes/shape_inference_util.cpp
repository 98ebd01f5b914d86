#include "converter/passes/shape_inference_util.h"

#include <cstring>

#include "engine/tensor.h"

namespace pocket::converter {

size_t ir_dtype_size(ir::DType d) { return dtype_size(d); }

namespace {

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
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

}  // namespace

bool const_ints(const ir::Graph& g, const std::string& name, std::vector<int64_t>* out) {
  const ir::Value* v = g.find(name);
  if (!v || !v->is_constant()) return false;
  size_t es = dtype_size(v->dtype);
  if (es == 0) return false;
  size_t n = v->data->size() / es;
  out->resize(n);
  for (size_t i = 0; i < n; ++i) {
    switch (v->dtype) {
      case ir::DType::I64: (*out)[i] = v->as<int64_t>()[i]; break;
      case ir::DType::I32: (*out)[i] = v->as<int32_t>()[i]; break;
      case ir::DType::I8: (*out)[i] = v->as<int8_t>()[i]; break;
      case ir::DType::U8: case ir::DType::BOOL: (*out)[i] = v->as<uint8_t>()[i]; break;
      default: return false;
    }
  }
  return true;
}

bool const_floats(const ir::Graph& g, const std::string& name, std::vector<float>* out) {
  const ir::Value* v = g.find(name);
  if (!v || !v->is_constant()) return false;
  if (v->dtype == ir::DType::F32) {
    out->assign(v->as<float>(), v->as<float>() + v->data->size() / 4);
    return true;
  }
  if (v->dtype == ir::DType::F64) {  // narrowed: callers read attribute-like values
    size_t n = v->data->size() / 8;
    out->resize(n);
    for (size_t i = 0; i < n; ++i) (*out)[i] = static_cast<float>(v->as<double>()[i]);
    return true;
  }
  if (v->dtype == ir::DType::F16) {
    size_t n = v->data->size() / 2;
    out->resize(n);
    for (size_t i = 0; i < n; ++i) (*out)[i] = half_to_float(v->as<uint16_t>()[i]);
    return true;
  }
  std::vector<int64_t> iv;
  if (!const_ints(g, name, &iv)) return false;
  out->assign(iv.begin(), iv.end());
  return true;
}

IntsOperand ints_operand(const ir::Graph& g, const ir::Node& n, size_t k, const std::string& attr) {
  IntsOperand r;
  if (k < n.inputs.size() && !n.inputs[k].empty()) {
    r.found = true;
    r.ok = const_ints(g, n.inputs[k], &r.v);
    return r;
  }
  if (n.has(attr)) {
    r.found = true;
    const ir::Attr& a = n.attrs.at(attr);
    if (a.type == fb::AttrType::Int) r.v = {a.i};
    else if (a.type == fb::AttrType::Floats) r.v.assign(a.floats.begin(), a.floats.end());
    else r.v = a.ints;
  }
  return r;
}

int64_t norm_axis(int64_t axis, int64_t rank) {
  if (axis < 0) axis += rank;
  return axis < 0 || axis >= rank ? -1 : axis;
}

bool broadcast_shapes(const std::vector<int64_t>& a, const std::vector<std::string>& an,
                      const std::vector<int64_t>& b, const std::vector<std::string>& bn,
                      std::vector<int64_t>* out, std::vector<std::string>* out_names) {
  size_t r = std::max(a.size(), b.size());
  std::vector<int64_t> s(r);
  std::vector<std::string> names(r);
  bool any_name = false;
  for (size_t i = 0; i < r; ++i) {
    int64_t ia = static_cast<int64_t>(i) - static_cast<int64_t>(r - a.size());
    int64_t ib = static_cast<int64_t>(i) - static_cast<int64_t>(r - b.size());
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    std::string na = ia >= 0 && !an.empty() ? an[ia] : "", nb = ib >= 0 && !bn.empty() ? bn[ib] : "";
    if (da == db) {
      s[i] = da;
      names[i] = da < 0 ? (na.empty() ? nb : na) : "";
    } else if (da == 1) {
      s[i] = db, names[i] = db < 0 ? nb : "";
    } else if (db == 1) {
      s[i] = da, names[i] = da < 0 ? na : "";
    } else if (da < 0) {
      s[i] = db;
    } else if (db < 0) {
      s[i] = da;
    } else {
      return false;
    }
    any_name = any_name || !names[i].empty() || s[i] < 0;
  }
  *out = std::move(s);
  if (out_names) {
    if (any_name) *out_names = std::move(names);
    else out_names->clear();
  }
  return true;
}

std::string node_label(const ir::Node& n) { return n.op + " '" + n.name + "'"; }

}  // namespace pocket::converter
