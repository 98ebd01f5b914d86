#include "converter/passes/graph_match.h"

#include <algorithm>
#include <cmath>

#include "converter/passes/shape_inference_util.h"

namespace pocket::converter {

namespace {

bool onnx_domain(const ir::Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

const std::vector<int> kNoReaders;

}  // namespace

GraphMatch::GraphMatch(ir::Graph& g) : g_(g), removed_(g.nodes.size(), false) {
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    for (const auto& o : g.nodes[k].outputs)
      if (!o.empty()) producer_[o] = static_cast<int>(k);
    add_reads(static_cast<int>(k));
  }
}

void GraphMatch::add_reads(int k) {
  for (const auto& i : g_.nodes[k].inputs)
    if (!i.empty()) readers_[i].push_back(k);
}

void GraphMatch::drop_reads(int k) {
  for (const auto& i : g_.nodes[k].inputs) {
    if (i.empty()) continue;
    auto it = readers_.find(i);
    if (it == readers_.end()) continue;
    auto pos = std::find(it->second.begin(), it->second.end(), k);
    if (pos != it->second.end()) it->second.erase(pos);
  }
}

int GraphMatch::producer(const std::string& v, const char* op) const {
  auto it = producer_.find(v);
  if (it == producer_.end() || removed_[it->second]) return -1;
  const ir::Node& n = g_.nodes[it->second];
  if (!onnx_domain(n) || (op && n.op != op)) return -1;
  return it->second;
}

int GraphMatch::reads(const std::string& v) const {
  auto it = readers_.find(v);
  int r = it == readers_.end() ? 0 : static_cast<int>(it->second.size());
  return r + (g_.is_output(v) ? 1 : 0);
}

const std::vector<int>& GraphMatch::readers(const std::string& v) const {
  auto it = readers_.find(v);
  return it == readers_.end() ? kNoReaders : it->second;
}

bool GraphMatch::scalar(const std::string& v, float* out) const {
  const ir::Value* val = g_.find(v);
  if (!val || !val->is_constant() || val->elements() != 1) return false;
  std::vector<float> f;
  if (!const_floats(g_, v, &f) || f.size() != 1) return false;
  *out = f[0];
  return true;
}

bool GraphMatch::scalar_near(const std::string& v, float want, float rel_tol) const {
  float f;
  return scalar(v, &f) && std::fabs(f - want) <= rel_tol * std::fabs(want);
}

namespace {

bool integer_dtype(ir::DType d) {
  return d == ir::DType::I64 || d == ir::DType::I32 || d == ir::DType::I8 || d == ir::DType::U8;
}

}  // namespace

bool GraphMatch::scalar_expr(const std::string& v, double* out, int depth) const {
  if (depth > 12) return false;
  float f;
  if (scalar(v, &f)) {
    std::vector<int64_t> iv;
    if (const_ints(g_, v, &iv) && iv.size() == 1) *out = static_cast<double>(iv[0]);
    else *out = f;
    return true;
  }
  const int p = producer(v);
  if (p < 0) return false;
  const ir::Node& n = g_.nodes[p];
  const ir::Value* val = g_.find(v);
  if (!val) return false;
  if (n.op == "Gather" && n.inputs.size() == 2 && n.i("axis", 0) == 0) {
    std::vector<int64_t> idx;
    int sh = producer(n.inputs[0], "Shape");
    if (sh < 0 || g_.nodes[sh].has("start") || g_.nodes[sh].has("end")) return false;
    const ir::Value* t = g_.find(g_.nodes[sh].inputs[0]);
    if (!t || !t->shape_known || !const_ints(g_, n.inputs[1], &idx) || idx.size() != 1) return false;
    int64_t a = norm_axis(idx[0], static_cast<int64_t>(t->shape.size()));
    if (a < 0 || t->shape[a] < 0) return false;
    *out = static_cast<double>(t->shape[a]);
    return true;
  }
  if (n.inputs.empty()) return false;
  double a;
  if (!scalar_expr(n.inputs[0], &a, depth + 1)) return false;
  if (n.op == "Cast" || n.op == "Unsqueeze" || n.op == "Squeeze" || n.op == "Reshape" || n.op == "Identity") {
    *out = n.op == "Cast" && integer_dtype(val->dtype) ? std::trunc(a) : a;
    return true;
  }
  if (n.op == "Sqrt") {
    *out = std::sqrt(a);
    return a >= 0;
  }
  double b;
  if (n.inputs.size() != 2 || !scalar_expr(n.inputs[1], &b, depth + 1)) return false;
  if (n.op == "Add") *out = a + b;
  else if (n.op == "Sub") *out = a - b;
  else if (n.op == "Mul") *out = a * b;
  else if (n.op == "Div") {
    if (b == 0) return false;
    *out = integer_dtype(val->dtype) ? std::trunc(a / b) : a / b;
  } else if (n.op == "Pow") *out = std::pow(a, b);
  else return false;
  return std::isfinite(*out);
}

void GraphMatch::remove(int k) {
  if (removed_[k]) return;
  drop_reads(k);
  removed_[k] = true;
  for (const auto& o : g_.nodes[k].outputs) {
    auto it = producer_.find(o);
    if (it != producer_.end() && it->second == k) producer_.erase(it);
    if (!o.empty() && reads(o) == 0) g_.values.erase(o);
  }
  for (const auto& i : g_.nodes[k].inputs) {
    if (i.empty() || reads(i) != 0 || g_.is_constant(i)) continue;
    auto it = producer_.find(i);
    if (it == producer_.end() && std::find(g_.inputs.begin(), g_.inputs.end(), i) == g_.inputs.end())
      g_.values.erase(i);  // written by a node removed earlier
  }
}

void GraphMatch::replace(int k, ir::Node n) {
  drop_reads(k);
  for (const auto& o : g_.nodes[k].outputs) {
    auto it = producer_.find(o);
    if (it != producer_.end() && it->second == k) producer_.erase(it);
  }
  g_.nodes[k] = std::move(n);
  removed_[k] = false;
  for (const auto& o : g_.nodes[k].outputs)
    if (!o.empty()) producer_[o] = k;
  add_reads(k);
}

void GraphMatch::compact() {
  std::vector<ir::Node> kept;
  kept.reserve(g_.nodes.size());
  for (size_t k = 0; k < g_.nodes.size(); ++k)
    if (!removed_[k]) kept.push_back(std::move(g_.nodes[k]));
  g_.nodes = std::move(kept);
  removed_.assign(g_.nodes.size(), false);
  producer_.clear();
  readers_.clear();
  for (size_t k = 0; k < g_.nodes.size(); ++k) {
    for (const auto& o : g_.nodes[k].outputs)
      if (!o.empty()) producer_[o] = static_cast<int>(k);
    add_reads(static_cast<int>(k));
  }
}

std::string other_input(const ir::Node& n, const std::string& one) {
  if (n.inputs.size() != 2) return "";
  if (n.inputs[0] == one) return n.inputs[1];
  if (n.inputs[1] == one) return n.inputs[0];
  return "";
}

}  // namespace pocket::converter
