// ONNX QDQ import: QuantizeLinear / DequantizeLinear (opset 10-17, constant scale and zero point,
// per tensor or per axis, uint8 or int8) become the int8 forms of format/OPS.md "Quantization".
//
//  - Weights: DequantizeLinear(constant int8/uint8 w), or QuantizeLinear(constant float w) ->
//    DequantizeLinear, gives an I8 constant with its quantization when symmetric (uint8 maps to
//    int8 exactly: q - 128, zero point - 128); an asymmetric weight is dequantized to F32 (note).
//    int32 biases (DequantizeLinear of int32) become F32 constants.
//  - Activations: the value between a QuantizeLinear and its DequantizeLinear readers becomes an
//    I8 tensor carrying the quantization; the nodes become the format's QuantizeLinear (X -> Y I8)
//    and DequantizeLinear (X I8 -> Y), their scale / zero point inputs dropped.
//  - An op reading only dequantized values whose output only feeds QuantizeLinear (Conv, Gemm,
//    MatMul with a constant B through an optional Relu/Clip, absorbed as the fused activation;
//    Add, GlobalAveragePool, AveragePool, Concat) becomes the int8 op: it reads the I8 values and
//    writes the QuantizeLinear's I8 output. MaxPool and data movement (Flatten, Reshape,
//    Transpose, Squeeze, Unsqueeze, Identity) on a dequantized value run on the I8 value with the
//    same parameters and the DequantizeLinear moves after them (exact). A QuantizeLinear reading a
//    DequantizeLinear with the same parameters is the identity and goes.
//  - Whatever else reads a dequantized value stays float behind a DequantizeLinear; a Q -> DQ
//    pair on a float path stays (it rounds).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "converter/passes/passes.h"

namespace pocket::converter {
namespace {

using DType = ir::DType;

bool onnx_domain(const ir::Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

struct QParams {
  std::vector<float> scales;
  std::vector<int64_t> zps;  // one per scale, after the uint8 -> int8 mapping
  int axis = -1;             // -1: per tensor
  DType qtype = DType::I8;   // the ONNX integer type (I8, U8, I32)
};

bool same_params(const format::QuantDesc& a, const QParams& b) {
  if (a.axis != b.axis || a.scales.size() != b.scales.size()) return false;
  for (size_t i = 0; i < a.scales.size(); ++i) {
    const int64_t za = a.zero_points.empty() ? 0 : a.zero_points[i];
    if (a.scales[i] != b.scales[i] || za != b.zps[i]) return false;
  }
  return true;
}

format::QuantDesc desc_of(const QParams& p) {
  format::QuantDesc d;
  d.scales = p.scales;
  d.zero_points = p.zps;
  d.axis = p.axis;
  return d;
}

int64_t int_at(const ir::Value& v, int64_t i) {
  switch (v.dtype) {
    case DType::I8: return v.as<int8_t>()[i];
    case DType::U8: return v.as<uint8_t>()[i];
    case DType::I32: return v.as<int32_t>()[i];
    case DType::I64: return v.as<int64_t>()[i];
    default: return 0;
  }
}

class QdqFolder {
 public:
  QdqFolder(ir::Graph& g, std::vector<std::string>* notes) : g_(g), notes_(notes), dead_(g.nodes.size(), false) {}

  Status run() {
    bool any = false;
    for (const auto& n : g_.nodes) any = any || (onnx_domain(n) && (n.op == "QuantizeLinear" || n.op == "DequantizeLinear"));
    if (!any) return Status::Ok();
    const size_t count = g_.nodes.size();
    for (size_t k = 0; k < count; ++k) {
      if (dead_[k]) continue;
      const std::string op = g_.nodes[k].op;
      if (!onnx_domain(g_.nodes[k])) continue;
      if (op == "QuantizeLinear") POCKET_RETURN_IF_ERROR(visit_q(static_cast<int>(k)));
      else if (op == "DequantizeLinear") POCKET_RETURN_IF_ERROR(visit_dq(static_cast<int>(k)));
      else POCKET_RETURN_IF_ERROR(visit_op(static_cast<int>(k)));
    }
    POCKET_RETURN_IF_ERROR(finish_constants());
    std::vector<ir::Node> kept;
    for (size_t k = 0; k < g_.nodes.size(); ++k)
      if (k >= dead_.size() || !dead_[k]) kept.push_back(std::move(g_.nodes[k]));
    g_.nodes = std::move(kept);
    if (!g_.topo_sort()) return internal_error("fold_qdq: the graph has a cycle");
    g_.remove_dead();
    for (const auto& n : g_.nodes) {
      kept_q_ += n.op == "QuantizeLinear";
      kept_dq_ += n.op == "DequantizeLinear";
    }
    notes_->push_back("fold_qdq: " + std::to_string(int8_ops_) + " op(s) made int8 (" + histogram() + "), " +
                      std::to_string(weights_) + " int8 weight(s), " + std::to_string(float_weights_) +
                      " weight(s) dequantized to float, " + std::to_string(kept_q_) + " QuantizeLinear and " +
                      std::to_string(kept_dq_) + " DequantizeLinear kept");
    return Status::Ok();
  }

 private:
  std::string histogram() const {
    std::string s;
    for (const auto& [op, c] : made_) s += (s.empty() ? "" : ", ") + op + " x" + std::to_string(c);
    return s.empty() ? "none" : s;
  }

  // Scale / zero point of a Q or DQ node; `data` is its quantized (DQ) or float (Q) input.
  Status params(const ir::Node& n, QParams* p) {
    const ir::Value* x = g_.find(n.inputs[0]);
    const ir::Value* s = n.inputs.size() > 1 ? g_.find(n.inputs[1]) : nullptr;
    const ir::Value* z = n.inputs.size() > 2 && !n.inputs[2].empty() ? g_.find(n.inputs[2]) : nullptr;
    const std::string what = n.op + " '" + n.name + "'";
    if (!s || !s->is_constant() || s->dtype != DType::F32 || s->elements() < 1)
      return unsupported(what + ": the scale must be a float32 constant");
    if (z && !z->is_constant()) return unsupported(what + ": the zero point must be a constant");
    if (z && z->elements() != s->elements()) return unsupported(what + ": zero point and scale counts differ");
    const int64_t count = s->elements();
    p->scales.assign(s->as<float>(), s->as<float>() + count);
    for (float f : p->scales)
      if (!(f > 0.f) || !std::isfinite(f)) return unsupported(what + ": scales must be finite and > 0");
    p->qtype = z ? z->dtype : (n.op == "QuantizeLinear" ? DType::U8 : (x ? x->dtype : DType::U8));
    p->zps.assign(count, 0);
    if (z)
      for (int64_t i = 0; i < count; ++i) p->zps[i] = int_at(*z, i);
    if (p->qtype == DType::U8)
      for (auto& zp : p->zps) zp -= 128;
    if (p->qtype != DType::I8 && p->qtype != DType::U8 && !(p->qtype == DType::I32 && n.op == "DequantizeLinear"))
      return unsupported(what + ": quantized type " + fb::EnumNameDType(p->qtype) + " is not supported (int8, uint8)");
    const bool vector = s->shape.size() == 1 && (count > 1 || n.has("axis"));
    if (count == 1 && !vector) {
      p->axis = -1;
    } else {
      const int64_t rank = x && x->shape_known ? static_cast<int64_t>(x->shape.size()) : -1;
      int64_t axis = n.i("axis", 1);
      if (axis < 0 && rank > 0) axis += rank;
      if (rank < 0 || axis < 0 || axis >= rank || (x->shape[axis] >= 0 && x->shape[axis] != count))
        return unsupported(what + ": per-axis scale of " + std::to_string(count) + " does not match axis " +
                           std::to_string(n.i("axis", 1)));
      p->axis = static_cast<int>(axis);
      if (count == 1) p->axis = -1;
    }
    return Status::Ok();
  }

  static int64_t row_of(const ir::Value& v, int axis, int64_t i) {
    if (axis < 0) return 0;
    int64_t inner = 1;
    for (size_t d = axis + 1; d < v.shape.size(); ++d) inner *= v.shape[d];
    return (i / inner) % v.shape[axis];
  }

  // QuantizeLinear of a constant: an I8 constant (uint8 mapped), uses renamed to it.
  // Otherwise: the format's QuantizeLinear, or gone when it re-quantizes a DequantizeLinear with
  // the same parameters.
  Status visit_q(int k) {
    ir::Node& n = g_.nodes[k];
    QParams p;
    POCKET_RETURN_IF_ERROR(params(n, &p));
    const std::string x = n.inputs[0], y = n.outputs[0];
    const ir::Value* xv = g_.find(x);
    if (xv && xv->is_constant()) {
      if (xv->dtype != DType::F32) return unsupported("QuantizeLinear '" + n.name + "': constant input is not float32");
      const int64_t count = xv->elements();
      std::vector<uint8_t> bytes(count);
      for (int64_t i = 0; i < count; ++i) {
        const int64_t r = row_of(*xv, p.axis, i);
        float q = std::nearbyint(xv->as<float>()[i] / p.scales[r]) + static_cast<float>(p.zps[r]);
        q = std::min(127.f, std::max(-128.f, q));
        bytes[i] = static_cast<uint8_t>(static_cast<int8_t>(q));
      }
      std::string c = g_.add_constant(y + "_i8", DType::I8, xv->shape, std::move(bytes));
      ir::Value& cv = g_.value(c);
      cv.has_quant = true;
      cv.quant = desc_of(p);
      g_.replace_uses(y, c);
      dead_[k] = true;
      return Status::Ok();
    }
    auto it = dq_of_.find(x);
    if (it != dq_of_.end() && same_params(g_.value(it->second).quant, p) && !g_.is_output(y)) {
      g_.replace_uses(y, it->second);
      dead_[k] = true;
      return Status::Ok();
    }
    if (p.axis >= 0)
      return unsupported("QuantizeLinear '" + n.name + "': per-axis quantization of an activation is not supported");
    n.inputs.resize(1);
    n.attrs.clear();
    mark_i8(y, p);
    return Status::Ok();
  }

  void mark_i8(const std::string& name, const QParams& p) {
    ir::Value& v = g_.value(name);
    v.name = name;
    v.dtype = DType::I8;
    v.has_quant = true;
    v.quant = desc_of(p);
  }

  Status visit_dq(int k) {
    ir::Node& n = g_.nodes[k];
    QParams p;
    POCKET_RETURN_IF_ERROR(params(n, &p));
    const std::string x = n.inputs[0], y = n.outputs[0];
    const ir::Value* xv = g_.find(x);
    if (!xv) return invalid_argument("DequantizeLinear '" + n.name + "': input '" + x + "' is missing");
    if (xv->is_constant()) {
      const_dq_[y] = {k, p};
      return Status::Ok();
    }
    ir::Value& in = g_.value(x);
    if (!in.has_quant) {
      if (in.dtype != DType::I8)
        return unsupported("DequantizeLinear '" + n.name + "': input '" + x + "' of type " +
                           fb::EnumNameDType(in.dtype) + " does not come from a QuantizeLinear");
      in.has_quant = true;
      in.quant = desc_of(p);
    } else if (!same_params(in.quant, p)) {
      return unsupported("DequantizeLinear '" + n.name + "': its scale/zero point differ from those of the "
                         "QuantizeLinear producing '" + x + "'");
    }
    n.inputs.resize(1);
    n.attrs.clear();
    g_.value(y).dtype = DType::F32;
    if (p.axis < 0) dq_of_[y] = x;
    return Status::Ok();
  }

  // The I8 constant of a DequantizeLinear(constant) output when it is a symmetric int8 weight with
  // the wanted axis (or per tensor); "" otherwise.
  std::string int8_weight(const std::string& w, int want_axis) {
    auto it = const_dq_.find(w);
    if (it == const_dq_.end()) return "";
    const QParams& p = it->second.p;
    if (p.qtype == DType::I32) return "";
    for (int64_t z : p.zps)
      if (z != 0) return "";
    if (p.axis >= 0 && p.axis != want_axis) return "";
    auto c = i8_const_.find(w);
    if (c != i8_const_.end()) return c->second;
    const ir::Node& n = g_.nodes[it->second.node];
    const ir::Value& xv = *g_.find(n.inputs[0]);
    const int64_t count = xv.elements();
    std::vector<uint8_t> bytes(count);
    for (int64_t i = 0; i < count; ++i) {
      int64_t q = int_at(xv, i);
      if (xv.dtype == DType::U8) q -= 128;
      bytes[i] = static_cast<uint8_t>(static_cast<int8_t>(q));
    }
    std::string name = g_.add_constant(w + "_i8", DType::I8, xv.shape, std::move(bytes));
    ir::Value& v = g_.value(name);
    v.has_quant = true;
    v.quant = desc_of(p);
    i8_const_[w] = name;
    ++weights_;
    return name;
  }

  // A float bias: a float constant, or the F32 of a DequantizeLinear(constant) (int32 biases).
  std::string float_bias(const std::string& b) {
    if (b.empty()) return b;
    const ir::Value* v = g_.find(b);
    if (v && v->is_constant() && v->dtype == DType::F32) return b;
    auto it = const_dq_.find(b);
    if (it == const_dq_.end()) return "";
    return dequantized_constant(b);
  }

  std::string dequantized_constant(const std::string& y) {
    auto c = float_const_.find(y);
    if (c != float_const_.end()) return c->second;
    const auto& e = const_dq_.at(y);
    const ir::Value& xv = *g_.find(g_.nodes[e.node].inputs[0]);
    const int64_t count = xv.elements();
    std::vector<float> f(count);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t r = row_of(xv, e.p.axis, i);
      int64_t q = int_at(xv, i);
      int64_t zp = e.p.zps[r];
      if (xv.dtype == DType::U8) q -= 128;
      f[i] = e.p.scales[r] * static_cast<float>(q - zp);
    }
    std::vector<uint8_t> bytes(count * 4);
    std::memcpy(bytes.data(), f.data(), bytes.size());
    std::string name = g_.add_constant(y + "_f32", DType::F32, xv.shape, std::move(bytes));
    float_const_[y] = name;
    return name;
  }

  // Dequantized inputs left for float ops become float constants.
  Status finish_constants() {
    for (const auto& [y, e] : const_dq_) {
      if (g_.consumers(y).empty() && !g_.is_output(y)) {
        dead_[e.node] = true;
        continue;
      }
      const bool weight = e.p.qtype != DType::I32;
      g_.replace_uses(y, dequantized_constant(y));
      dead_[e.node] = true;
      if (weight) ++float_weights_;
    }
    return Status::Ok();
  }

  // The alive nodes reading v.
  std::vector<int> readers(const std::string& v) const {
    std::vector<int> r;
    for (int c : g_.consumers(v))
      if (c >= static_cast<int>(dead_.size()) || !dead_[c]) r.push_back(c);
    return r;
  }

  struct Out {
    std::string yq;              // the I8 output (the QuantizeLinear's)
    std::vector<int> kill;       // nodes that go (activation, QuantizeLinears)
    fb::ActivationKind act = fb::ActivationKind::None;
    float lo = 0.f, hi = 0.f;
    QParams p;
  };

  // y feeds (through an optional Relu/Clip when allow_act) only QuantizeLinear nodes with the same
  // per-tensor parameters.
  bool quantized_output(const std::string& y, bool allow_act, bool relu_if_saturating, Out* out) {
    if (g_.is_output(y)) return false;
    std::string v = y;
    std::vector<int> r = readers(v);
    if (r.size() == 1 && (g_.nodes[r[0]].op == "Relu" || g_.nodes[r[0]].op == "Clip") && onnx_domain(g_.nodes[r[0]]) &&
        (allow_act || relu_if_saturating)) {
      const ir::Node& a = g_.nodes[r[0]];
      float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
      if (a.op == "Clip") {
        lo = a.f("min", lo);
        hi = a.f("max", hi);
        for (size_t i = 1; i < a.inputs.size() && i < 3; ++i) {
          if (a.inputs[i].empty()) continue;
          const ir::Value* c = g_.find(a.inputs[i]);
          if (!c || !c->is_constant() || c->dtype != DType::F32 || c->elements() != 1) return false;
          (i == 1 ? lo : hi) = c->as<float>()[0];
        }
        out->act = fb::ActivationKind::Clip;
      } else {
        out->act = fb::ActivationKind::Relu;
        lo = 0.f;
      }
      out->lo = lo;
      out->hi = hi;
      out->kill.push_back(r[0]);
      v = a.outputs[0];
      if (g_.is_output(v)) return false;
      r = readers(v);
    }
    if (r.empty()) return false;
    for (int c : r) {
      const ir::Node& q = g_.nodes[c];
      if (q.op != "QuantizeLinear" || !onnx_domain(q) || q.inputs[0] != v) return false;
      QParams p;
      if (!params(q, &p).ok() || p.axis >= 0) return false;
      if (c == r[0]) out->p = p;
      else if (p.scales != out->p.scales || p.zps != out->p.zps) return false;
      out->kill.push_back(c);
    }
    if (out->act != fb::ActivationKind::None && !allow_act) {
      // Only a Relu / Clip(0, hi) the QuantizeLinear's saturation already performs may go.
      const float qlo = out->p.scales[0] * static_cast<float>(-128 - out->p.zps[0]);
      const float qhi = out->p.scales[0] * static_cast<float>(127 - out->p.zps[0]);
      if (!(out->lo <= qlo || (out->lo == 0.f && out->p.zps[0] == -128)) || out->hi < qhi) return false;
      out->act = fb::ActivationKind::None;
    }
    out->yq = g_.nodes[r[0]].outputs[0];
    return true;
  }

  // Replaces the op's output by the QuantizeLinear output; the absorbed nodes go.
  void take_output(ir::Node& n, const Out& o) {
    n.outputs[0] = o.yq;
    mark_i8(o.yq, o.p);
    for (int c : o.kill) {
      const ir::Node& q = g_.nodes[c];
      if (q.op == "QuantizeLinear" && q.outputs[0] != o.yq) g_.replace_uses(q.outputs[0], o.yq);
      dead_[c] = true;
    }
    ++int8_ops_;
    ++made_[n.op];
  }

  bool dq_input(const std::string& v) const { return dq_of_.count(v) != 0; }

  Status visit_op(int k) {
    const std::string op = g_.nodes[k].op;
    if (op == "Conv" || op == "Gemm" || op == "MatMul") return visit_dense(k);
    if (op == "Add" || op == "GlobalAveragePool" || op == "AveragePool" || op == "Concat") return visit_join(k);
    if (op == "MaxPool" || op == "Flatten" || op == "Reshape" || op == "Transpose" || op == "Squeeze" ||
        op == "Unsqueeze" || op == "Identity")
      return visit_move(k);
    return Status::Ok();
  }

  Status visit_dense(int k) {
    ir::Node& n = g_.nodes[k];
    if (n.inputs.size() < 2 || !dq_input(n.inputs[0]) || n.outputs.size() != 1) return Status::Ok();
    int axis = 0;
    if (n.op == "Gemm") {
      if (n.i("transA", 0) != 0 || n.f("alpha", 1.f) != 1.f || n.f("beta", 1.f) != 1.f) return Status::Ok();
      axis = n.i("transB", 0) ? 0 : 1;
    } else if (n.op == "MatMul") {
      const ir::Value* b = g_.find(n.inputs[1]);
      const ir::Node* dq = const_dq_.count(n.inputs[1]) ? &g_.nodes[const_dq_.at(n.inputs[1]).node] : nullptr;
      const ir::Value* bq = dq ? g_.find(dq->inputs[0]) : nullptr;
      if (!b || !bq || bq->shape.size() != 2 || n.inputs.size() > 2) return Status::Ok();
      axis = 1;
    } else if (n.inputs.size() > 3) {
      return Status::Ok();
    }
    const std::string w = int8_weight(n.inputs[1], axis);
    if (w.empty()) return Status::Ok();
    std::string bias;
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
      bias = float_bias(n.inputs[2]);
      if (bias.empty()) return Status::Ok();
      if (n.op == "Gemm") {
        const ir::Value* bv = g_.find(bias);
        const ir::Value* wv = g_.find(w);
        const int64_t m = wv->shape[n.i("transB", 0) ? 0 : 1];
        if (bv->elements() != m && bv->elements() != 1) return Status::Ok();
      }
    }
    Out o;
    if (!quantized_output(n.outputs[0], true, false, &o)) return Status::Ok();
    n.inputs[0] = dq_of_.at(n.inputs[0]);
    n.inputs[1] = w;
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) n.inputs[2] = bias;
    if (o.act != fb::ActivationKind::None) {
      n.set_i("activation", static_cast<int64_t>(o.act));
      n.set_f("act_alpha", o.act == fb::ActivationKind::Clip ? o.lo : 0.f);
      n.set_f("act_beta", o.act == fb::ActivationKind::Clip ? o.hi : 0.f);
    }
    take_output(n, o);
    return Status::Ok();
  }

  Status visit_join(int k) {
    ir::Node& n = g_.nodes[k];
    if (n.outputs.size() != 1 || n.inputs.empty()) return Status::Ok();
    for (const auto& in : n.inputs)
      if (!dq_input(in)) return Status::Ok();
    if (n.op == "Add") {
      if (n.inputs.size() != 2) return Status::Ok();  // a hostile graph's one-input Add
      const ir::Value* a = g_.find(n.inputs[0]);
      const ir::Value* b = g_.find(n.inputs[1]);
      if (!a || !b || !a->shape_known || !b->shape_known || a->shape != b->shape) return Status::Ok();
    }
    if (n.op == "AveragePool" || n.op == "GlobalAveragePool") {
      if (n.inputs.size() != 1) return Status::Ok();
    }
    Out o;
    if (!quantized_output(n.outputs[0], false, n.op == "Add", &o)) return Status::Ok();
    for (auto& in : n.inputs) in = dq_of_.at(in);
    take_output(n, o);
    return Status::Ok();
  }

  // MaxPool / data movement on a dequantized value: runs on the I8 value, the DequantizeLinear
  // moves after it.
  Status visit_move(int k) {
    ir::Node& n = g_.nodes[k];
    if (n.inputs.empty() || !dq_input(n.inputs[0]) || n.outputs.size() != 1) return Status::Ok();
    for (size_t i = 1; i < n.inputs.size(); ++i)
      if (!n.inputs[i].empty() && !g_.is_constant(n.inputs[i])) return Status::Ok();
    const std::string xq = dq_of_.at(n.inputs[0]);
    const std::string y = n.outputs[0];
    const std::string yq = g_.unique_name(y + "_q8");
    ir::Value v = g_.value(y);
    v.name = yq;
    v.dtype = DType::I8;
    v.has_quant = true;
    v.quant = g_.value(xq).quant;
    v.data.reset();
    g_.values[yq] = v;
    n.inputs[0] = xq;
    n.outputs[0] = yq;
    ir::Node dq;
    dq.op = "DequantizeLinear";
    dq.name = y + "/dequantize";
    dq.inputs = {yq};
    dq.outputs = {y};
    g_.nodes.push_back(std::move(dq));
    dead_.push_back(false);
    dq_of_[y] = yq;
    ++int8_ops_;
    ++made_[g_.nodes[k].op];
    return Status::Ok();
  }

  struct ConstDq {
    int node;
    QParams p;
  };

  ir::Graph& g_;
  std::vector<std::string>* notes_;
  std::vector<bool> dead_;
  std::map<std::string, std::string> dq_of_;      // float value -> the I8 value it dequantizes
  std::map<std::string, ConstDq> const_dq_;       // DQ(constant) outputs
  std::map<std::string, std::string> i8_const_, float_const_;
  std::map<std::string, int> made_;
  int int8_ops_ = 0, weights_ = 0, float_weights_ = 0, kept_q_ = 0, kept_dq_ = 0;
};

}  // namespace

Status fold_qdq(ir::Graph& g, std::vector<std::string>* notes) {
  std::vector<std::string> local;
  QdqFolder f(g, notes ? notes : &local);
  POCKET_RETURN_IF_ERROR(f.run());
  return infer_shapes(g);
}

}  // namespace pocket::converter
