// BatchNormalization (inference form) y = scale * (x - mean) / sqrt(var + eps) + B is the
// per-channel affine map y = s * x + t. Folded into the weights and bias of a producing
// Conv/ConvTranspose/Gemm when that op owns x alone; otherwise rewritten as Mul + Add.
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "converter/passes/passes.h"

namespace pocket::converter {
namespace {

bool onnx_domain(const ir::Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

std::vector<float> read_f32(const ir::Value& v) {
  std::vector<float> out(static_cast<size_t>(v.elements()));
  std::memcpy(out.data(), v.data->data(), out.size() * sizeof(float));
  return out;
}

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(float));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// A constant f32 operand with a known shape, or nullptr.
const ir::Value* f32_constant(const ir::Graph& g, const std::string& name) {
  if (name.empty()) return nullptr;
  const ir::Value* v = g.find(name);
  if (!v || !v->is_constant() || v->dtype != ir::DType::F32 || v->elements() < 0) return nullptr;
  if (v->data->size() < static_cast<size_t>(v->elements()) * sizeof(float)) return nullptr;
  return v;
}

struct Affine {
  std::vector<double> s, t;  // y = s[c] * x + t[c]
};

Status bn_affine(const ir::Graph& g, const ir::Node& bn, Affine* out) {
  const char* what[] = {"scale", "B", "mean", "var"};
  std::vector<float> p[4];
  for (int k = 0; k < 4; ++k) {
    const ir::Value* v = f32_constant(g, bn.inputs[1 + k]);
    if (!v)
      return unsupported("BatchNormalization '" + bn.name + "': " + what[k] + " ('" +
                         bn.inputs[1 + k] + "') must be a constant f32 tensor");
    p[k] = read_f32(*v);
    if (p[k].size() != p[0].size())
      return invalid_model("BatchNormalization '" + bn.name + "': " + what[k] + " has " +
                           std::to_string(p[k].size()) + " elements, scale has " +
                           std::to_string(p[0].size()));
  }
  double eps = bn.f("epsilon", 1e-5f);
  size_t c = p[0].size();
  out->s.resize(c);
  out->t.resize(c);
  for (size_t i = 0; i < c; ++i) {
    double s = p[0][i] / std::sqrt(static_cast<double>(p[3][i]) + eps);
    out->s[i] = s;
    out->t[i] = p[1][i] - p[2][i] * s;
  }
  return Status::Ok();
}

// W [M, C/group, k...] (Conv) or [C_in, M/group, k...] (ConvTranspose) scaled per output channel;
// bias b[m] * s[m] + t[m]. Returns false (graph untouched) when shapes do not fit.
bool fold_into_conv(ir::Graph& g, ir::Node& conv, const Affine& a) {
  const ir::Value* w = f32_constant(g, conv.inputs.size() > 1 ? conv.inputs[1] : "");
  if (!w || w->shape.size() < 3) return false;
  const ir::Value* b = nullptr;
  if (conv.inputs.size() > 2 && !conv.inputs[2].empty()) {
    b = f32_constant(g, conv.inputs[2]);
    if (!b) return false;
  }
  int64_t m = static_cast<int64_t>(a.s.size());
  int64_t group = conv.i("group", 1);
  if (group < 1) return false;
  int64_t inner = 1;
  for (size_t d = 2; d < w->shape.size(); ++d) inner *= w->shape[d];
  std::vector<float> wv = read_f32(*w);
  if (conv.op == "Conv") {
    if (w->shape[0] != m) return false;
    int64_t per = w->elements() / m;
    for (int64_t o = 0; o < m; ++o)
      for (int64_t k = 0; k < per; ++k) wv[o * per + k] = static_cast<float>(wv[o * per + k] * a.s[o]);
  } else {
    int64_t cin = w->shape[0], mg = w->shape[1];
    if (cin % group != 0 || mg * group != m) return false;
    int64_t cin_g = cin / group;
    for (int64_t c = 0; c < cin; ++c)
      for (int64_t j = 0; j < mg; ++j) {
        double s = a.s[(c / cin_g) * mg + j];
        float* p = wv.data() + (c * mg + j) * inner;
        for (int64_t k = 0; k < inner; ++k) p[k] = static_cast<float>(p[k] * s);
      }
  }
  std::vector<float> bv(m, 0.f);
  if (b) {
    if (b->elements() != m) return false;
    bv = read_f32(*b);
  }
  for (int64_t o = 0; o < m; ++o) bv[o] = static_cast<float>(bv[o] * a.s[o] + a.t[o]);
  std::string wname = g.add_constant(conv.inputs[1] + "_bnfold", ir::DType::F32, w->shape, f32_bytes(wv));
  std::string bname = g.add_constant((b ? conv.inputs[2] : conv.outputs[0] + "_bias") + "_bnfold",
                                     ir::DType::F32, {m}, f32_bytes(bv));
  conv.inputs.resize(3);
  conv.inputs[1] = wname;
  conv.inputs[2] = bname;
  return true;
}

// Gemm Y = alpha * A' B' + beta * C with Y [rows, N] and the BN channel axis = columns.
bool fold_into_gemm(ir::Graph& g, ir::Node& gemm, const Affine& a) {
  const ir::Value* bw = f32_constant(g, gemm.inputs.size() > 1 ? gemm.inputs[1] : "");
  const ir::Value* y = g.find(gemm.outputs[0]);
  if (!bw || bw->shape.size() != 2 || !y || y->shape.size() != 2) return false;
  int64_t n = static_cast<int64_t>(a.s.size());
  if (y->shape[1] != n) return false;
  bool trans_b = gemm.i("transB", 0) != 0;
  int64_t k_dim = trans_b ? bw->shape[1] : bw->shape[0];
  if ((trans_b ? bw->shape[0] : bw->shape[1]) != n) return false;
  std::vector<float> wv = read_f32(*bw);
  for (int64_t k = 0; k < k_dim; ++k)
    for (int64_t j = 0; j < n; ++j) {
      float& x = trans_b ? wv[j * k_dim + k] : wv[k * n + j];
      x = static_cast<float>(x * a.s[j]);
    }
  float beta = gemm.f("beta", 1.f);
  const ir::Value* c = nullptr;
  if (gemm.inputs.size() > 2 && !gemm.inputs[2].empty()) {
    c = f32_constant(g, gemm.inputs[2]);
    if (!c) return false;
  }
  // C' = C * s + t / beta broadcast to [rows_c, N]; rows_c = 1 unless C varies along rows.
  int64_t rows_c = 1;
  std::vector<float> cv;
  bool use_c = c && beta != 0.f;
  if (use_c) {
    const auto& cs = c->shape;
    if (cs.size() > 2) return false;
    int64_t c_rows = cs.size() == 2 ? cs[0] : 1;
    int64_t c_cols = cs.empty() ? 1 : cs.back();
    if (c_cols != 1 && c_cols != n) return false;
    if (c_rows != 1) {
      if (y->shape[0] < 0 || c_rows != y->shape[0]) return false;
      rows_c = c_rows;
    }
    cv = read_f32(*c);
  }
  std::vector<float> out(rows_c * n);
  for (int64_t r = 0; r < rows_c; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double base = 0;
      if (use_c) {
        int64_t c_cols = c->shape.empty() ? 1 : c->shape.back();
        base = cv[(c->shape.size() == 2 && c->shape[0] != 1 ? r : 0) * c_cols + (c_cols == 1 ? 0 : j)];
      }
      double bb = use_c ? beta : 1.0;
      out[r * n + j] = static_cast<float>(base * a.s[j] + a.t[j] / bb);
    }
  std::vector<int64_t> cshape = rows_c == 1 ? std::vector<int64_t>{n} : std::vector<int64_t>{rows_c, n};
  std::string wname = g.add_constant(gemm.inputs[1] + "_bnfold", ir::DType::F32, bw->shape, f32_bytes(wv));
  std::string cname = g.add_constant((c ? gemm.inputs[2] : gemm.outputs[0] + "_bias") + "_bnfold",
                                     ir::DType::F32, cshape, f32_bytes(out));
  gemm.inputs.resize(3);
  gemm.inputs[1] = wname;
  gemm.inputs[2] = cname;
  if (!use_c) gemm.set_f("beta", 1.f);
  return true;
}

}  // namespace

Status fold_batchnorm(ir::Graph& g, std::vector<std::string>* notes) {
  std::unordered_map<std::string, int> producer;
  std::unordered_map<std::string, int> use_count;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    for (const auto& o : g.nodes[n].outputs) producer[o] = static_cast<int>(n);
    for (const auto& i : g.nodes[n].inputs)
      if (!i.empty()) ++use_count[i];
  }
  auto users = [&](const std::string& v) {
    auto it = use_count.find(v);
    return it == use_count.end() ? 0 : it->second;
  };

  std::vector<bool> removed(g.nodes.size(), false);
  std::vector<std::pair<size_t, std::vector<ir::Node>>> replacements;  // BN index -> Mul, Add
  int folded = 0, rewritten = 0;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    ir::Node& bn = g.nodes[n];
    if (bn.op != "BatchNormalization" || !onnx_domain(bn)) continue;
    if (bn.inputs.size() < 5 || bn.outputs.empty())
      return invalid_model("BatchNormalization '" + bn.name + "' needs 5 inputs and an output");
    for (size_t k = 1; k < bn.outputs.size(); ++k) {
      const std::string& o = bn.outputs[k];
      if (!o.empty() && (g.is_output(o) || users(o) > 0))
        return unsupported("BatchNormalization '" + bn.name +
                           "' is in training mode (uses its running mean/var outputs); export the "
                           "model in eval mode");
    }
    if (bn.i("training_mode", 0) != 0)
      return unsupported("BatchNormalization '" + bn.name + "' has training_mode=1; export the "
                         "model in eval mode");
    const ir::Value* x = g.find(bn.inputs[0]);
    if (!x || !x->shape_known || x->shape.size() < 2)
      return invalid_model("BatchNormalization '" + bn.name + "': input '" + bn.inputs[0] +
                           "' needs a known shape of rank >= 2");
    Affine a;
    POCKET_RETURN_IF_ERROR(bn_affine(g, bn, &a));
    int64_t channels = x->shape[1];
    if (channels >= 0 && channels != static_cast<int64_t>(a.s.size()))
      return invalid_model("BatchNormalization '" + bn.name + "': input '" + bn.inputs[0] +
                           "' has " + std::to_string(channels) + " channels, parameters have " +
                           std::to_string(a.s.size()));

    // Fold into the producer when it owns x alone.
    auto pit = producer.find(bn.inputs[0]);
    if (pit != producer.end() && !removed[pit->second] && users(bn.inputs[0]) == 1 &&
        !g.is_output(bn.inputs[0])) {
      ir::Node& p = g.nodes[pit->second];
      bool ok = false;
      if (onnx_domain(p) && p.outputs.size() >= 1 && p.outputs[0] == bn.inputs[0] &&
          !p.has("activation")) {
        if (p.op == "Conv" || p.op == "ConvTranspose") ok = fold_into_conv(g, p, a);
        else if (p.op == "Gemm" && x->shape.size() == 2) ok = fold_into_gemm(g, p, a);
      }
      if (ok) {
        std::string old = p.outputs[0];
        p.outputs[0] = bn.outputs[0];
        producer[bn.outputs[0]] = pit->second;
        g.values.erase(old);
        removed[n] = true;
        ++folded;
        continue;
      }
    }

    // Mul + Add with [C, 1, ..., 1] constants (NCHW broadcasting from the channel axis).
    std::vector<int64_t> cshape(x->shape.size() - 1, 1);
    cshape[0] = static_cast<int64_t>(a.s.size());
    std::vector<float> s(a.s.begin(), a.s.end()), t(a.t.begin(), a.t.end());
    std::string sname = g.add_constant(bn.name.empty() ? bn.outputs[0] + "_scale" : bn.name + "_scale",
                                       ir::DType::F32, cshape, f32_bytes(s));
    std::string tname = g.add_constant(bn.name.empty() ? bn.outputs[0] + "_shift" : bn.name + "_shift",
                                       ir::DType::F32, cshape, f32_bytes(t));
    std::string mid = g.unique_name(bn.outputs[0] + "_scaled");
    ir::Value& mv = g.value(mid);
    mv = *x;
    mv.name = mid;
    mv.data.reset();
    ir::Node mul, add;
    mul.op = "Mul";
    mul.name = bn.name + "_mul";
    mul.inputs = {bn.inputs[0], sname};
    mul.outputs = {mid};
    add.op = "Add";
    add.name = bn.name + "_add";
    add.inputs = {mid, tname};
    add.outputs = {bn.outputs[0]};
    removed[n] = true;
    replacements.push_back({n, {std::move(mul), std::move(add)}});
    ++rewritten;
  }
  if (folded == 0 && rewritten == 0) return Status::Ok();

  std::vector<ir::Node> nodes;
  nodes.reserve(g.nodes.size() + replacements.size());
  size_t r = 0;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    if (r < replacements.size() && replacements[r].first == n) {
      for (auto& node : replacements[r].second) nodes.push_back(std::move(node));
      ++r;
      continue;
    }
    if (!removed[n]) nodes.push_back(std::move(g.nodes[n]));
  }
  g.nodes = std::move(nodes);
  if (!g.topo_sort()) return internal_error("fold_batchnorm: graph has a cycle");
  // Drop the BN's statistics and its unused extra outputs once nothing mentions them.
  g.remove_dead();
  if (notes) {
    if (folded) notes->push_back("fold_batchnorm: folded " + std::to_string(folded) +
                                 " BatchNormalization into Conv/ConvTranspose/Gemm weights");
    if (rewritten) notes->push_back("fold_batchnorm: rewrote " + std::to_string(rewritten) +
                                    " BatchNormalization as Mul + Add");
  }
  return Status::Ok();
}

}  // namespace pocket::converter
