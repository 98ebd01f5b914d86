// MatMul -> Add(constant bias) becomes the MatMul's bias input (format/OPS.md MatMul row), the
// form PyTorch exports nn.Linear on 3-D inputs in. The bias must be an f32 constant with one
// element per output column ([N], or [1, .., 1, N] no longer than the output's rank), the MatMul
// must have no bias, residual or activation yet, and its output no other reader.
#include "converter/passes/graph_match.h"
#include "converter/passes/passes.h"

namespace pocket::converter {
namespace {

class BiasFuser {
 public:
  explicit BiasFuser(ir::Graph& g) : m_(g), g_(g) {}

  void run() {
    for (size_t k = 0; k < g_.nodes.size(); ++k) {
      const int mm = static_cast<int>(k);
      if (m_.removed(mm)) continue;
      const ir::Node& n = g_.nodes[mm];
      if (n.op != "MatMul" || !(n.domain.empty() || n.domain == "ai.onnx") || n.inputs.size() != 2 ||
          n.outputs.size() != 1 || n.i("activation", 0) != 0)
        continue;
      const std::string y = n.outputs[0];
      if (!m_.single_use(y)) continue;
      const int add = m_.readers(y)[0];
      const ir::Node& a = g_.nodes[add];
      if (a.op != "Add" || a.inputs.size() != 2 || a.outputs.size() != 1) continue;
      const std::string b = other_input(a, y);
      std::string bias;
      if (b.empty() || b == y || !bias_vector(b, y, &bias)) continue;
      ir::Node fused = n;
      fused.inputs.push_back(bias);
      fused.outputs = a.outputs;
      m_.replace(add, std::move(fused));
      m_.remove(mm);
      ++fused_count;
    }
    m_.compact();
  }

  int fused_count = 0;

 private:
  // b as a [N] constant (N = y's static last dim), reshaped if it has leading ones.
  bool bias_vector(const std::string& b, const std::string& y, std::string* out) {
    const ir::Value* bv = g_.find(b);
    const ir::Value* yv = g_.find(y);
    if (!bv || !yv || !bv->is_constant() || bv->dtype != ir::DType::F32 || !bv->shape_known ||
        !yv->shape_known || yv->dtype != ir::DType::F32 || yv->shape.empty())
      return false;
    const int64_t n = yv->shape.back();
    if (n <= 0 || bv->shape.empty() || bv->shape.size() > yv->shape.size() || bv->shape.back() != n) return false;
    for (size_t i = 0; i + 1 < bv->shape.size(); ++i)
      if (bv->shape[i] != 1) return false;
    if (bv->shape.size() == 1) {
      *out = b;
    } else {
      *out = g_.add_constant(b + "__bias", ir::DType::F32, {n}, *bv->data);
    }
    return true;
  }

  GraphMatch m_;
  ir::Graph& g_;
};

}  // namespace

Status fuse_matmul_bias(ir::Graph& g, std::vector<std::string>* notes) {
  BiasFuser f(g);
  f.run();
  if (!g.topo_sort()) return internal_error("fuse_matmul_bias: graph has a cycle");
  if (notes && f.fused_count)
    notes->push_back("fuse_matmul_bias: fused " + std::to_string(f.fused_count) +
                     " MatMul -> Add(constant bias) pairs into MatMul with a bias input");
  return Status::Ok();
}

}  // namespace pocket::converter
