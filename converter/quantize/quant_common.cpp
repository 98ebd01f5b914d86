// Shared helpers of the quantization rewrites: names, keep-float matching, fp16 and int8 number
// conversions, weight quantization.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "converter/quantize/quantize_internal.h"

namespace pocket::converter::quantize {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::kFp32: return "fp32";
    case Precision::kFp16: return "fp16";
    case Precision::kInt8Dynamic: return "int8-dynamic";
    case Precision::kInt8: return "int8";
  }
  return "?";
}

bool parse_precision(const std::string& s, Precision* p) {
  for (Precision q : {Precision::kFp32, Precision::kFp16, Precision::kInt8Dynamic, Precision::kInt8})
    if (s == precision_name(q)) {
      *p = q;
      return true;
    }
  return false;
}

const char* calibration_method_name(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::kMinMax: return "minmax";
    case CalibrationMethod::kPercentile: return "percentile";
    case CalibrationMethod::kEntropy: return "entropy";
  }
  return "?";
}

bool parse_calibration_method(const std::string& s, CalibrationMethod* m) {
  for (CalibrationMethod q : {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kEntropy})
    if (s == calibration_method_name(q)) {
      *m = q;
      return true;
    }
  return false;
}

namespace detail {

std::string layer_name(const ir::Node& n) {
  if (!n.name.empty()) return n.name;
  return n.outputs.empty() ? n.op : n.outputs[0];
}

std::string FloatSet::reason(const ir::Node& n) const {
  const std::string name = layer_name(n);
  for (const std::string& k : keep)
    if (k == name || k == n.name || k == n.op) return "--keep-float " + k;
  auto it = kept.find(name);
  return it == kept.end() ? std::string() : it->second;
}

std::vector<std::string> split_items(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ',')) {
      while (!item.empty() && item.front() == ' ') item.erase(item.begin());
      while (!item.empty() && item.back() == ' ') item.pop_back();
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

uint16_t f16_from_f32(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  const uint16_t sign = static_cast<uint16_t>((b >> 16) & 0x8000u);
  const uint32_t exp = (b >> 23) & 0xffu;
  uint32_t man = b & 0x7fffffu;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (man ? 0x200u : 0u));  // inf / nan
  const int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the full mantissa, round to nearest even.
    if (e < -10) return sign;
    man |= 0x800000u;
    const int shift = 14 - e;  // 24-bit mantissa -> 10-bit field at exponent 0
    uint32_t q = man >> shift;
    const uint32_t rem = man & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t q = (static_cast<uint32_t>(e) << 10) | (man >> 13);
  const uint32_t rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) ++q;  // may carry into the exponent (-> inf at the top)
  return static_cast<uint16_t>(sign | q);
}

float f32_from_f16(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  uint32_t b;
  if (exp == 0) {
    if (man == 0) b = sign;
    else {
      float v = std::ldexp(static_cast<float>(man), -24);
      std::memcpy(&b, &v, 4);
      b |= sign;
    }
  } else if (exp == 31) {
    b = sign | 0x7f800000u | (man << 13);
  } else {
    b = sign | ((exp - 15 + 127) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

std::vector<uint8_t> quantize_symmetric(const float* w, const std::vector<int64_t>& shape, int axis,
                                        std::vector<float>* scales) {
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= shape[k];
  for (size_t k = axis + 1; k < shape.size(); ++k) inner *= shape[k];
  const int64_t c = shape[axis];
  std::vector<float> amax(c, 0.f);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < c; ++j) {
      const float* p = w + (o * c + j) * inner;
      for (int64_t i = 0; i < inner; ++i) amax[j] = std::max(amax[j], std::fabs(p[i]));
    }
  scales->assign(c, 1.f);
  for (int64_t j = 0; j < c; ++j)
    if (amax[j] > 0 && std::isfinite(amax[j])) (*scales)[j] = amax[j] / 127.f;
  std::vector<uint8_t> q(outer * c * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < c; ++j) {
      const float inv = 1.f / (*scales)[j];
      const float* p = w + (o * c + j) * inner;
      uint8_t* d = q.data() + (o * c + j) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        float r = std::nearbyint(p[i] * inv);
        r = std::min(127.f, std::max(-127.f, r));
        d[i] = static_cast<uint8_t>(static_cast<int8_t>(r));
      }
    }
  return q;
}

format::QuantDesc activation_params(float lo, float hi) {
  lo = std::min(lo, 0.f);
  hi = std::max(hi, 0.f);
  if (!std::isfinite(lo)) lo = -3.0e38f;
  if (!std::isfinite(hi)) hi = 3.0e38f;
  format::QuantDesc q;
  double scale = (static_cast<double>(hi) - lo) / 255.0;
  if (!(scale > 1e-30)) scale = 1.0;  // a tensor that is always zero
  q.scales = {static_cast<float>(scale)};
  double zp = std::nearbyint(-128.0 - lo / static_cast<double>(q.scales[0]));
  q.zero_points = {static_cast<int64_t>(std::min(127.0, std::max(-128.0, zp)))};
  q.axis = -1;
  return q;
}

uint64_t constant_bytes(const ir::Value& v) { return v.data ? v.data->size() : 0; }

void node_weight_bytes(const ir::Graph& g, const ir::Node& n, uint64_t* fp32, uint64_t* written) {
  *fp32 = *written = 0;
  std::set<std::string> seen;
  for (const std::string& in : n.inputs) {
    if (in.empty() || !seen.insert(in).second) continue;
    const ir::Value* v = g.find(in);
    if (!v || !v->is_constant()) continue;
    if (v->dtype != ir::DType::F32 && v->dtype != ir::DType::F16 && v->dtype != ir::DType::I8) continue;
    *written += constant_bytes(*v);
    *fp32 += static_cast<uint64_t>(std::max<int64_t>(v->elements(), 0)) * 4;
  }
}

bool is_f32_constant(const ir::Graph& g, const std::string& name) {
  const ir::Value* v = g.find(name);
  return v && v->is_constant() && v->dtype == ir::DType::F32 && v->shape_known;
}

bool is_f32_activation(const ir::Graph& g, const std::string& name) {
  const ir::Value* v = g.find(name);
  return v && !v->is_constant() && v->dtype == ir::DType::F32 && !v->has_quant;
}

bool WeightQuantizer::quantize(int node, int slot, int axis) {
  const std::string src = g_.nodes[node].inputs[slot];
  auto key = std::make_pair(src, axis);
  auto it = done_.find(key);
  if (it != done_.end()) {
    g_.nodes[node].inputs[slot] = it->second;
    return true;
  }
  const ir::Value* v = g_.find(src);
  if (!v || !v->is_constant() || v->dtype != ir::DType::F32 || axis < 0 ||
      static_cast<size_t>(axis) >= v->shape.size() || v->elements() <= 0 ||
      static_cast<int64_t>(v->data->size()) != v->elements() * 4)
    return false;
  std::vector<float> scales;
  std::vector<uint8_t> q = quantize_symmetric(v->as<float>(), v->shape, axis, &scales);
  const std::vector<int64_t> shape = v->shape;
  std::string name = g_.add_constant(src + "_i8", ir::DType::I8, shape, std::move(q));
  ir::Value& nv = g_.value(name);
  nv.has_quant = true;
  nv.quant.scales = std::move(scales);
  nv.quant.zero_points.clear();
  nv.quant.axis = axis;
  g_.nodes[node].inputs[slot] = name;
  done_[key] = name;
  return true;
}

bool is_int8_precision(const std::string& p) { return p == "int8" || p == "int8-dynamic"; }

}  // namespace detail
}  // namespace pocket::converter::quantize
