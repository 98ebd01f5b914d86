// Residual fusion: Conv -> Add(conv_out, other) becomes one Conv with `other` as its optional 4th
// input R (added before the fused activation, see format/OPS.md). The Add must be the conv
// output's only reader, `other` a non-constant f32 value (or all three I8: int8 Conv + R) of
// exactly the output's shape, and the
// Conv 2-D without an activation of its own; the activation after the Add (Relu, Clip, ...) is
// fused into the Conv afterwards by fuse_activations. When both Add operands are such Convs, the
// later one in node order takes the other as its residual, so no node has to move.
// MatMul (format 1.1) the same way: MatMul(A, B[, bias]) -> Add(out, other) becomes
// MatMul(A, B, bias or "", other); symbolic dims count as equal when they carry the same name
// (a transformer's [batch, seq, d] residual stream).
#include <unordered_map>

#include "converter/passes/passes.h"

namespace pocket::converter {
namespace {

bool onnx_domain(const ir::Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

class ResidualFuser {
 public:
  explicit ResidualFuser(ir::Graph& g) : g_(g), removed_(g.nodes.size(), false) {
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      for (const auto& o : g.nodes[n].outputs) producer_[o] = static_cast<int>(n);
      for (const auto& i : g.nodes[n].inputs)
        if (!i.empty()) ++reads_[i];
    }
    for (const auto& o : g.outputs) ++reads_[o];
  }

  void run() {
    for (size_t a = 0; a < g_.nodes.size(); ++a) {
      const ir::Node& add = g_.nodes[a];
      if (add.op != "Add" || !onnx_domain(add) || add.inputs.size() != 2 || add.outputs.size() != 1) continue;
      if (add.inputs[0] == add.inputs[1]) continue;
      int best = -1, best_side = -1;
      for (int side = 0; side < 2; ++side) {
        int c = fusable_conv(add.inputs[side], add.outputs[0], add.inputs[1 - side]);
        if (c < 0) c = fusable_matmul(add.inputs[side], add.outputs[0], add.inputs[1 - side]);
        if (c > best) best = c, best_side = side;
      }
      if (best < 0) continue;
      fuse(best, static_cast<int>(a), add.inputs[1 - best_side]);
    }
    std::vector<ir::Node> kept;
    kept.reserve(g_.nodes.size());
    for (size_t n = 0; n < g_.nodes.size(); ++n)
      if (!removed_[n]) kept.push_back(std::move(g_.nodes[n]));
    g_.nodes = std::move(kept);
  }

  int fused = 0;

 private:
  static bool same_static_shape(const ir::Value* a, const ir::Value* b) {
    if (!a || !b || !a->shape_known || !b->shape_known || a->shape != b->shape) return false;
    for (int64_t d : a->shape)
      if (d < 0) return false;
    return true;
  }

  // Index of the Conv producing x if Add(x, other) -> out may become its residual, else -1.
  int fusable_conv(const std::string& x, const std::string& out, const std::string& other) const {
    auto it = producer_.find(x);
    if (it == producer_.end() || removed_[it->second]) return -1;
    const ir::Node& c = g_.nodes[it->second];
    if (c.op != "Conv" || !onnx_domain(c) || c.outputs.size() != 1 || c.outputs[0] != x) return -1;
    if (c.inputs.size() < 2 || c.inputs.size() > 3 || c.i("activation", 0) != 0) return -1;
    auto r = reads_.find(x);
    if (r == reads_.end() || r->second != 1 || g_.is_output(x)) return -1;
    const ir::Value* xv = g_.find(x);
    const ir::Value* ov = g_.find(other);
    const ir::Value* yv = g_.find(out);
    if (!xv || !ov || !yv || ov->is_constant()) return -1;
    // f32, or the static int8 form (format/OPS.md): X, R and Y I8 per tensor (Y keeps the Add's
    // quantization).
    const bool f32 = xv->dtype == ir::DType::F32 && ov->dtype == ir::DType::F32;
    auto per_tensor_i8 = [](const ir::Value* v) {
      return v->dtype == ir::DType::I8 && v->has_quant && v->quant.axis < 0;
    };
    const bool i8 = per_tensor_i8(xv) && per_tensor_i8(ov) && per_tensor_i8(yv);
    if (!f32 && !i8) return -1;
    if (xv->shape.size() != 4 || !same_static_shape(xv, ov) || !same_static_shape(xv, yv)) return -1;
    // `other` must not depend on the conv output (it cannot: the Add is its only reader) and must
    // not be the conv's own input-side value produced by the Add (a cycle): guarded by name.
    if (other == out) return -1;
    return it->second;
  }

  // Same shape, symbolic dims matched by name.
  static bool same_shape(const ir::Value* a, const ir::Value* b) {
    if (!a || !b || !a->shape_known || !b->shape_known || a->shape != b->shape) return false;
    for (size_t i = 0; i < a->shape.size(); ++i) {
      if (a->shape[i] >= 0) continue;
      const std::string na = i < a->dim_names.size() ? a->dim_names[i] : "";
      const std::string nb = i < b->dim_names.size() ? b->dim_names[i] : "";
      if (na.empty() || na != nb) return false;
    }
    return true;
  }

  // Index of the MatMul producing x if Add(x, other) -> out may become its residual, else -1.
  int fusable_matmul(const std::string& x, const std::string& out, const std::string& other) const {
    auto it = producer_.find(x);
    if (it == producer_.end() || removed_[it->second]) return -1;
    const ir::Node& c = g_.nodes[it->second];
    if (c.op != "MatMul" || !onnx_domain(c) || c.outputs.size() != 1 || c.outputs[0] != x) return -1;
    if (c.inputs.size() < 2 || c.inputs.size() > 3 || c.i("activation", 0) != 0) return -1;
    auto r = reads_.find(x);
    if (r == reads_.end() || r->second != 1 || g_.is_output(x) || other == out || other == x) return -1;
    const ir::Value* xv = g_.find(x);
    const ir::Value* ov = g_.find(other);
    const ir::Value* yv = g_.find(out);
    if (!xv || !ov || xv->dtype != ir::DType::F32 || ov->dtype != ir::DType::F32) return -1;
    if (!same_shape(xv, ov) || !same_shape(xv, yv)) return -1;
    return it->second;
  }

  void fuse(int c, int a, const std::string& other) {
    ir::Node& conv = g_.nodes[c];
    const std::string old = conv.outputs[0];
    const std::string out = g_.nodes[a].outputs[0];
    conv.inputs.resize(3);  // an omitted bias stays "" (optional input left out)
    conv.inputs.push_back(other);
    conv.outputs[0] = out;
    producer_[out] = c;
    producer_.erase(old);
    removed_[a] = true;
    g_.values.erase(old);
    ++fused;
  }

  ir::Graph& g_;
  std::vector<bool> removed_;
  std::unordered_map<std::string, int> producer_;
  std::unordered_map<std::string, int> reads_;  // readers of a value (nodes and graph outputs)
};

}  // namespace

Status fuse_residual(ir::Graph& g, std::vector<std::string>* notes) {
  ResidualFuser f(g);
  f.run();
  if (!g.topo_sort()) return internal_error("fuse_residual: graph has a cycle");
  if (notes && f.fused)
    notes->push_back("fuse_residual: fused " + std::to_string(f.fused) + " residual Adds into Conv/MatMul");
  return Status::Ok();
}

}  // namespace pocket::converter
