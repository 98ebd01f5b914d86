// Structured pruning: removes channels that are exactly zero (or whose values nobody reads) from
// the NCHW graph, after BatchNorm folding and activation fusion.
//
// Every channel (axis 1) of every activation value is a "slot". Ops that keep channels apart
// (depthwise Conv, elementwise unary ops, pools, Flatten of [N, C, 1, 1], per-channel binary ops,
// Concat on axis 1, leftover BatchNormalization, a Conv/Gemm's residual input R) tie their input
// and output slots together with a union-find: a group of tied slots is removed all at once or
// not at all. Group-1 Conv, Gemm and MatMul (constant B) are the only ops that mix channels: their
// output slots start groups (the producer's weight rows and bias entries go away) and their input
// slots end them (the weight columns go away). A group may go when every such input slot in it
// reads an exactly-zero channel (or the consumer's weight column is zero), so no remaining value
// changes. Zero channels come from Conv/Gemm rows whose weights and bias are zero with act(0) = 0
// (and a zero residual channel), and flow through the tie ops that keep zero at zero. A value that
// is a graph input/output, or is read or produced by anything else, blocks its groups; a zero
// channel kept that way is named in a note with the node that stopped it.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "converter/passes/passes.h"

namespace pocket::converter {
namespace {

using Kind = fb::ActivationKind;

bool onnx_domain(const ir::Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

float act_at_zero(const ir::Node& n) {
  const auto k = static_cast<Kind>(n.i("activation", 0));
  const float a = n.f("act_alpha", 0.f), b = n.f("act_beta", 0.f);
  switch (k) {
    case Kind::Clip: return std::min(b, std::max(a, 0.f));
    case Kind::HardSigmoid: return std::min(1.f, std::max(0.f, b));
    case Kind::Sigmoid: return 0.5f;
    default: return 0.f;  // None, Relu, HardSwish, SiLU, Tanh, LeakyRelu, Gelu, GeluTanh
  }
}

// Unary ops that keep channels apart; `zero` says whether f(0) == 0.
bool unary_op(const ir::Graph& g, const ir::Node& n, bool* zero) {
  static const std::set<std::string> kZero = {"Relu", "HardSwish", "LeakyRelu", "Tanh", "SiLU", "Gelu",
                                              "Identity", "Dropout", "Neg", "Abs", "Elu", "Selu",
                                              "Softsign", "Erf", "Floor", "Ceil", "Sqrt"};
  static const std::set<std::string> kOther = {"Sigmoid", "HardSigmoid", "Exp", "Softplus", "Log",
                                               "Reciprocal"};
  if (kZero.count(n.op)) {
    *zero = true;
    return true;
  }
  if (kOther.count(n.op)) {
    *zero = false;
    return true;
  }
  if (n.op == "Clip") {
    float lo = n.f("min", -std::numeric_limits<float>::infinity());
    float hi = n.f("max", std::numeric_limits<float>::infinity());
    auto scalar = [&](size_t k, float* out) {
      if (n.inputs.size() <= k || n.inputs[k].empty()) return true;
      const ir::Value* v = g.find(n.inputs[k]);
      if (!v || !v->is_constant() || v->dtype != ir::DType::F32 || v->elements() != 1) return false;
      std::memcpy(out, v->data->data(), 4);
      return true;
    };
    if (!scalar(1, &lo) || !scalar(2, &hi)) return false;
    *zero = lo <= 0.f && hi >= 0.f;
    return true;
  }
  return false;
}

bool pool_op(const std::string& op) {
  return op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool";
}

bool binary_op(const std::string& op) {
  return op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Max" || op == "Min";
}

const float* f32(const ir::Value* v) { return v->as<float>(); }

bool const_f32(const ir::Value* v) { return v && v->is_constant() && v->dtype == ir::DType::F32; }

// Removes the indices in `drop` (sorted) along `axis` of a row-major f32 tensor.
std::vector<uint8_t> drop_along(const ir::Value& v, size_t axis, const std::vector<int64_t>& drop,
                                std::vector<int64_t>* new_shape) {
  const std::vector<int64_t>& s = v.shape;
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= s[d];
  for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
  const int64_t n = s[axis];
  std::vector<bool> gone(n, false);
  for (int64_t k : drop) gone[k] = true;
  const int64_t keep = n - static_cast<int64_t>(drop.size());
  std::vector<uint8_t> out(static_cast<size_t>(outer * keep * inner) * 4);
  const float* src = f32(&v);
  float* dst = reinterpret_cast<float*>(out.data());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < n; ++c) {
      if (gone[c]) continue;
      std::memcpy(dst, src + (o * n + c) * inner, static_cast<size_t>(inner) * 4);
      dst += inner;
    }
  *new_shape = s;
  (*new_shape)[axis] = keep;
  return out;
}

class Pruner {
 public:
  explicit Pruner(ir::Graph& g) : g_(g) {}

  int64_t count_params() const {
    std::set<std::string> seen;
    int64_t total = 0;
    for (const auto& n : g_.nodes)
      for (const auto& in : n.inputs) {
        if (in.empty() || seen.count(in)) continue;
        const ir::Value* v = g_.find(in);
        if (!v || !v->is_constant()) continue;
        if (v->dtype != ir::DType::F32 && v->dtype != ir::DType::F16 && v->dtype != ir::DType::I8 &&
            v->dtype != ir::DType::BF16)
          continue;
        seen.insert(in);
        total += std::max<int64_t>(0, v->elements());
      }
    return total;
  }

  int run(std::vector<std::string>* notes) {
    assign_slots();
    if (total_ == 0) return 0;
    parent_.resize(total_);
    std::iota(parent_.begin(), parent_.end(), 0);
    zero_.assign(total_, false);
    blocked_.assign(total_, -1);
    for (size_t k = 0; k < g_.nodes.size(); ++k) visit(static_cast<int>(k));
    for (const auto& in : g_.inputs) block(in, "it is a graph input");
    for (const auto& out : g_.outputs) block(out, "it is a graph output");
    // Values no handled node produced (graph inputs, outputs of unknown ops) are blocked in visit().
    for (const auto& [name, s] : slots_)
      if (!produced_.count(name)) block(name, "no node this pass follows produces it");

    // Group verdicts.
    std::vector<int> root_reason(total_, -1);  // index into reasons_, -1 = removable
    for (int64_t s = 0; s < total_; ++s)
      if (blocked_[s] >= 0) {
        int64_t r = find(s);
        if (root_reason[r] < 0) root_reason[r] = blocked_[s];
      }
    for (const Sink& k : sinks_) {
      if (zero_[k.slot] || k.column_zero) continue;
      int64_t r = find(k.slot);
      if (root_reason[r] < 0) root_reason[r] = k.reason;
    }
    // A value may not lose every channel: such groups stay (repeat: keeping one can empty another).
    for (bool changed = true; changed;) {
      changed = false;
      for (const auto& [name, s] : slots_) {
        bool all = true;
        for (int64_t c = 0; c < s.channels && all; ++c) all = root_reason[find(s.base + c)] < 0;
        if (!all || s.channels == 0) continue;
        const int why = reason("it would remove every channel of '" + name + "'");
        for (int64_t c = 0; c < s.channels; ++c) root_reason[find(s.base + c)] = why;
        changed = true;
      }
    }

    // Channels to drop per value.
    for (const auto& [name, s] : slots_) {
      std::vector<int64_t> d;
      for (int64_t c = 0; c < s.channels; ++c)
        if (root_reason[find(s.base + c)] < 0) d.push_back(c);
      if (!d.empty()) drop_[name] = std::move(d);
    }

    // Notes on zero channels kept, per producing node.
    for (const Source& src : sources_) {
      const Slots& s = slots_.at(src.value);
      int kept = 0, first_reason = -1;
      for (int64_t c = 0; c < s.channels; ++c) {
        const int64_t slot = s.base + c;
        if (!zero_[slot]) continue;
        const int r = root_reason[find(slot)];
        if (r >= 0) {
          if (kept++ == 0) first_reason = r;
        }
      }
      if (kept > 0)
        notes->push_back("prune_channels: " + std::to_string(kept) + " zero output channel(s) of " +
                         src.node_desc + " kept: " + reasons_[first_reason]);
      if (src.constant_rows > 0)
        notes->push_back("prune_channels: " + std::to_string(src.constant_rows) + " output channel(s) of " +
                         src.node_desc + " have zero weights but a nonzero activation(bias): kept");
    }

    // A removed channel is one group: the same channel of every tied value and weight.
    std::set<int64_t> groups;
    for (const auto& [name, d] : drop_)
      for (int64_t c : d) groups.insert(find(slots_.at(name).base + c));
    const int removed = static_cast<int>(groups.size());
    if (drop_.empty()) return 0;
    rewrite();
    return removed;
  }

 private:
  struct Slots {
    int64_t base = 0, channels = 0;
  };
  struct Sink {
    int64_t slot;
    bool column_zero;
    int reason;
  };
  struct Source {
    std::string value;
    std::string node_desc;
    int constant_rows = 0;
  };

  std::string desc(const ir::Node& n) const { return n.op + " '" + n.name + "'"; }

  int reason(const std::string& r) {
    reasons_.push_back(r);
    return static_cast<int>(reasons_.size()) - 1;
  }

  int64_t find(int64_t s) {
    while (parent_[s] != s) {
      parent_[s] = parent_[parent_[s]];
      s = parent_[s];
    }
    return s;
  }
  void unite(int64_t a, int64_t b) {
    a = find(a);
    b = find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }

  static constexpr int64_t kMaxChannels = int64_t{1} << 24;
  static constexpr int64_t kMaxSlots = int64_t{1} << 26;

  void assign_slots() {
    for (const auto& n : g_.nodes)
      for (const auto* list : {&n.inputs, &n.outputs})
        for (const auto& name : *list) {
          if (name.empty() || slots_.count(name)) continue;
          const ir::Value* v = g_.find(name);
          if (!v || v->is_constant() || !v->shape_known || v->shape.size() < 2 || v->shape[1] <= 0) continue;
          // A channel count no weight could feed (a hostile or broken shape) is not followed: the
          // per-slot tables below would not fit in memory.
          if (v->shape[1] > kMaxChannels || total_ > kMaxSlots - v->shape[1]) continue;
          if (v->dtype != ir::DType::F32) continue;
          slots_[name] = {total_, v->shape[1]};
          total_ += v->shape[1];
        }
  }

  const Slots* slots(const std::string& name) const {
    auto it = slots_.find(name);
    return it == slots_.end() ? nullptr : &it->second;
  }

  void block(const std::string& name, const std::string& why) {
    const Slots* s = slots(name);
    if (!s) return;
    const int r = reason(why);
    for (int64_t c = 0; c < s->channels; ++c)
      if (blocked_[s->base + c] < 0) blocked_[s->base + c] = r;
  }

  void block_node(const ir::Node& n, const std::string& why) {
    for (const auto& in : n.inputs)
      if (!in.empty()) block(in, desc(n) + " reads it (" + why + ")");
    for (const auto& out : n.outputs) {
      block(out, desc(n) + " produces it (" + why + ")");
      produced_.insert(out);
    }
  }

  // Ties a's and b's channel c for every c; false (nothing tied) if their channel counts differ.
  bool tie(const std::string& a, const std::string& b) {
    const Slots* sa = slots(a);
    const Slots* sb = slots(b);
    if (!sa || !sb || sa->channels != sb->channels) return false;
    for (int64_t c = 0; c < sa->channels; ++c) unite(sa->base + c, sb->base + c);
    return true;
  }

  bool zero_at(const std::string& name, int64_t c) const {
    const Slots* s = slots(name);
    return s && zero_[s->base + c];
  }

  void visit(int k) {
    const ir::Node& n = g_.nodes[k];
    if (!onnx_domain(n) || n.outputs.size() != 1 || !slots(n.outputs[0])) {
      // Nothing channel-shaped comes out: inputs read by it cannot lose channels.
      block_node(n, "not an op the pass follows");
      return;
    }
    const std::string& y = n.outputs[0];
    const Slots& ys = *slots(y);
    produced_.insert(y);
    bool zero_preserving = false;
    if (n.op == "Conv") return visit_conv(n);
    if (n.op == "Gemm") return visit_gemm(n);
    if (n.op == "MatMul") return visit_matmul(n);
    if (unary_op(g_, n, &zero_preserving) || pool_op(n.op)) {
      if (pool_op(n.op)) zero_preserving = true;
      if (n.inputs.empty() || !tie(n.inputs[0], y)) return block_node(n, "channel counts differ");
      for (size_t i = 1; i < n.inputs.size(); ++i)
        if (!n.inputs[i].empty() && slots(n.inputs[i])) block(n.inputs[i], desc(n) + " reads it as an operand");
      for (int64_t c = 0; c < ys.channels; ++c) zero_[ys.base + c] = zero_preserving && zero_at(n.inputs[0], c);
      return;
    }
    if (n.op == "Flatten") {
      const ir::Value* x = g_.find(n.inputs[0]);
      bool ok = n.i("axis", 1) == 1 && x && slots(n.inputs[0]);
      for (size_t d = 2; ok && d < x->shape.size(); ++d) ok = x->shape[d] == 1;
      if (!ok || !tie(n.inputs[0], y)) return block_node(n, "only [N, C, 1, 1] -> [N, C] is followed");
      for (int64_t c = 0; c < ys.channels; ++c) zero_[ys.base + c] = zero_at(n.inputs[0], c);
      return;
    }
    if (binary_op(n.op)) return visit_binary(n);
    if (n.op == "Concat") {
      const ir::Value* yv = g_.find(y);
      int64_t axis = n.i("axis", 0);
      if (axis < 0) axis += static_cast<int64_t>(yv->shape.size());
      if (axis != 1) return block_node(n, "not on the channel axis");
      int64_t off = 0;
      for (const auto& in : n.inputs) {
        const Slots* s = slots(in);
        const ir::Value* iv = g_.find(in);
        if (!s || !iv || iv->shape.size() != yv->shape.size() || off + s->channels > ys.channels)
          return block_node(n, "an input without known channels");
        for (int64_t c = 0; c < s->channels; ++c) {
          unite(s->base + c, ys.base + off + c);
          zero_[ys.base + off + c] = zero_[s->base + c];
        }
        off += s->channels;
      }
      if (off != ys.channels) return block_node(n, "channel counts do not add up");
      return;
    }
    if (n.op == "BatchNormalization") {
      if (n.inputs.size() < 5 || !tie(n.inputs[0], y)) return block_node(n, "channel counts differ");
      for (size_t i = 1; i < 5; ++i) {
        const ir::Value* p = g_.find(n.inputs[i]);
        if (!const_f32(p) || p->elements() != ys.channels) return block_node(n, "non-constant parameters");
        per_channel_consts_.push_back({k, i, 0});
      }
      const float* scale = f32(g_.find(n.inputs[1]));
      const float* bias = f32(g_.find(n.inputs[2]));
      const float* mean = f32(g_.find(n.inputs[3]));
      for (int64_t c = 0; c < ys.channels; ++c)
        zero_[ys.base + c] = zero_at(n.inputs[0], c) && bias[c] == 0.f && (mean[c] == 0.f || scale[c] == 0.f);
      return;
    }
    block_node(n, "not an op the pass follows");
  }

  // Output slots of a channel-mixing op: zero where the row is zero (checked by the caller).
  void add_source(const ir::Node& n, int constant_rows) {
    sources_.push_back({n.outputs[0], desc(n), constant_rows});
  }

  void visit_conv(const ir::Node& n) {
    const std::string& y = n.outputs[0];
    const Slots& ys = *slots(y);
    const ir::Value* x = n.inputs.empty() ? nullptr : g_.find(n.inputs[0]);
    const ir::Value* w = n.inputs.size() > 1 ? g_.find(n.inputs[1]) : nullptr;
    const ir::Value* b = n.inputs.size() > 2 && !n.inputs[2].empty() ? g_.find(n.inputs[2]) : nullptr;
    const std::string r = n.inputs.size() > 3 ? n.inputs[3] : "";
    const Slots* xs = x ? slots(n.inputs[0]) : nullptr;
    if (!xs || !const_f32(w) || w->shape.size() < 3 || w->shape[0] != ys.channels ||
        (n.inputs.size() > 2 && !n.inputs[2].empty() && (!const_f32(b) || b->elements() != ys.channels)) ||
        n.inputs.size() > 4)
      return block_node(n, "weights not constant f32 or shapes not known");
    if (!r.empty() && !tie(r, y)) return block_node(n, "residual channels differ");
    const int64_t group = n.i("group", 1);
    const int64_t M = ys.channels, C = xs->channels;
    const int64_t row = w->elements() / M;
    const float* wd = f32(w);
    const float a0 = act_at_zero(n);
    const bool depthwise = group == C && M == C && w->shape[1] == 1 && C > 1;
    if (group != 1 && !depthwise) return block_node(n, "grouped convolution");
    int constant_rows = 0;
    for (int64_t m = 0; m < M; ++m) {
      bool wz = true;
      for (int64_t i = 0; i < row && wz; ++i) wz = wd[m * row + i] == 0.f;
      const bool in_zero = depthwise && zero_at(n.inputs[0], m);
      const bool bz = !b || f32(b)[m] == 0.f;
      const bool rz = r.empty() || zero_at(r, m);
      zero_[ys.base + m] = (wz || in_zero) && bz && rz && a0 == 0.f;
      if (wz && !zero_[ys.base + m] && (r.empty() || rz)) ++constant_rows;
    }
    if (depthwise) {
      tie(n.inputs[0], y);
    } else {
      // Input channel c is column c of every row: [M, C, k...].
      const int64_t k = row / C;
      for (int64_t c = 0; c < C; ++c) {
        bool colz = true;
        for (int64_t m = 0; m < M && colz; ++m)
          for (int64_t i = 0; i < k && colz; ++i) colz = wd[(m * C + c) * k + i] == 0.f;
        sinks_.push_back({xs->base + c, colz, reason(desc(n) + " reads channel " + std::to_string(c) +
                                                     " of '" + n.inputs[0] + "', which is not zero")});
      }
    }
    add_source(n, depthwise ? 0 : constant_rows);
  }

  // Gemm A [N, K] x B' [K, M] (+ C): transA 0 only.
  void visit_gemm(const ir::Node& n) {
    const std::string& y = n.outputs[0];
    const Slots& ys = *slots(y);
    const Slots* as = n.inputs.empty() ? nullptr : slots(n.inputs[0]);
    const ir::Value* a = as ? g_.find(n.inputs[0]) : nullptr;
    const ir::Value* b = n.inputs.size() > 1 ? g_.find(n.inputs[1]) : nullptr;
    const ir::Value* cv = n.inputs.size() > 2 && !n.inputs[2].empty() ? g_.find(n.inputs[2]) : nullptr;
    const bool tb = n.i("transB", 0) != 0;
    const int64_t M = ys.channels;
    if (!as || a->shape.size() != 2 || n.i("transA", 0) != 0 || !const_f32(b) || b->shape.size() != 2 ||
        b->shape[tb ? 0 : 1] != M || b->shape[tb ? 1 : 0] != as->channels || n.inputs.size() > 3)
      return block_node(n, "transA, non-constant B or unknown shapes");
    if (cv && (!const_f32(cv) || (cv->elements() != M && cv->elements() != 1)))
      return block_node(n, "C is not a constant [M] or scalar");
    const int64_t K = as->channels;
    const float* bd = f32(b);
    auto at = [&](int64_t k, int64_t m) { return tb ? bd[m * K + k] : bd[k * M + m]; };
    const float beta = n.f("beta", 1.f), a0 = act_at_zero(n);
    int constant_rows = 0;
    for (int64_t m = 0; m < M; ++m) {
      bool wz = true;
      for (int64_t k = 0; k < K && wz; ++k) wz = at(k, m) == 0.f;
      const float c = cv ? f32(cv)[cv->elements() == 1 ? 0 : m] * beta : 0.f;
      zero_[ys.base + m] = wz && c == 0.f && a0 == 0.f;
      if (wz && !zero_[ys.base + m]) ++constant_rows;
    }
    for (int64_t k = 0; k < K; ++k) {
      bool colz = true;
      for (int64_t m = 0; m < M && colz; ++m) colz = at(k, m) == 0.f;
      sinks_.push_back({as->base + k, colz, reason(desc(n) + " reads column " + std::to_string(k) + " of '" +
                                                   n.inputs[0] + "', which is not zero")});
    }
    add_source(n, constant_rows);
  }

  // MatMul A [N, K] x constant B [K, M] (+ bias [M], + R): rank 2 only.
  void visit_matmul(const ir::Node& n) {
    const std::string& y = n.outputs[0];
    const Slots& ys = *slots(y);
    const Slots* as = n.inputs.empty() ? nullptr : slots(n.inputs[0]);
    const ir::Value* a = as ? g_.find(n.inputs[0]) : nullptr;
    const ir::Value* b = n.inputs.size() > 1 ? g_.find(n.inputs[1]) : nullptr;
    const ir::Value* bias = n.inputs.size() > 2 && !n.inputs[2].empty() ? g_.find(n.inputs[2]) : nullptr;
    const std::string r = n.inputs.size() > 3 ? n.inputs[3] : "";
    const int64_t M = ys.channels;
    if (!as || a->shape.size() != 2 || !const_f32(b) || b->shape.size() != 2 || b->shape[1] != M ||
        b->shape[0] != as->channels || n.inputs.size() > 4 ||
        (n.inputs.size() > 2 && !n.inputs[2].empty() && (!const_f32(bias) || bias->elements() != M)))
      return block_node(n, "not a 2-D product with a constant B");
    if (!r.empty() && !tie(r, y)) return block_node(n, "residual channels differ");
    const int64_t K = as->channels;
    const float* bd = f32(b);
    const float a0 = act_at_zero(n);
    int constant_rows = 0;
    for (int64_t m = 0; m < M; ++m) {
      bool wz = true;
      for (int64_t k = 0; k < K && wz; ++k) wz = bd[k * M + m] == 0.f;
      const bool bz = !bias || f32(bias)[m] == 0.f;
      const bool rz = r.empty() || zero_at(r, m);
      zero_[ys.base + m] = wz && bz && rz && a0 == 0.f;
      if (wz && !zero_[ys.base + m] && (r.empty() || rz)) ++constant_rows;
    }
    for (int64_t k = 0; k < K; ++k) {
      bool colz = true;
      for (int64_t m = 0; m < M && colz; ++m) colz = bd[k * M + m] == 0.f;
      sinks_.push_back({as->base + k, colz, reason(desc(n) + " reads column " + std::to_string(k) + " of '" +
                                                   n.inputs[0] + "', which is not zero")});
    }
    add_source(n, constant_rows);
  }

  // Elementwise binary with numpy broadcasting: per-channel operands tie (or are sliced, if
  // constant); operands without a channel extent broadcast.
  void visit_binary(const ir::Node& n) {
    const int k = node_index(n);
    const std::string& y = n.outputs[0];
    const Slots& ys = *slots(y);
    const ir::Value* yv = g_.find(y);
    const size_t rank = yv->shape.size();
    struct Operand {
      std::string name;
      bool tied = false;        // a slotted value with the channel axis
      const ir::Value* cst = nullptr;  // a constant with a channel extent
      size_t axis = 0;
      bool broadcast = false;   // no channel extent (or 1)
    };
    std::vector<Operand> ops;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      Operand o;
      o.name = n.inputs[i];
      const ir::Value* v = g_.find(o.name);
      if (!v || !v->shape_known || v->shape.size() > rank) return block_node(n, "operand shapes unknown");
      const int64_t ax = 1 - static_cast<int64_t>(rank - v->shape.size());
      if (ax < 0 || v->shape[ax] == 1) {
        o.broadcast = true;
      } else if (v->shape[ax] != ys.channels) {
        return block_node(n, "operand channel extent differs");
      } else if (v->is_constant()) {
        if (v->dtype != ir::DType::F32) return block_node(n, "non-f32 constant operand");
        o.cst = v;
        o.axis = static_cast<size_t>(ax);
        per_channel_consts_.push_back({k, i, o.axis});
      } else if (ax == 1 && slots(o.name)) {
        o.tied = true;
      } else {
        return block_node(n, "operand of another rank carries the channels");
      }
      ops.push_back(o);
    }
    for (const auto& o : ops)
      if (o.tied) tie(o.name, y);
    // Zero at channel c: Mul if any operand is zero there; Add/Sub/Max/Min if all are.
    const bool any = n.op == "Mul";
    for (int64_t c = 0; c < ys.channels; ++c) {
      bool all_zero = true, some_zero = false;
      for (const auto& o : ops) {
        bool z = false;
        if (o.tied) {
          z = zero_at(o.name, c);
        } else if (o.cst) {
          z = const_channel_zero(*o.cst, o.axis, c);
        } else if (o.broadcast) {
          const ir::Value* v = g_.find(o.name);
          z = const_f32(v) && std::all_of(f32(v), f32(v) + v->elements(), [](float f) { return f == 0.f; });
        }
        all_zero = all_zero && z;
        some_zero = some_zero || z;
      }
      if (n.op == "Div") zero_[ys.base + c] = false;
      else zero_[ys.base + c] = any ? some_zero : all_zero;
    }
  }

  static bool const_channel_zero(const ir::Value& v, size_t axis, int64_t c) {
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= v.shape[d];
    for (size_t d = axis + 1; d < v.shape.size(); ++d) inner *= v.shape[d];
    const int64_t n = v.shape[axis];
    const float* p = f32(&v);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i)
        if (p[(o * n + c) * inner + i] != 0.f) return false;
    return true;
  }

  int node_index(const ir::Node& n) const { return static_cast<int>(&n - g_.nodes.data()); }

  const std::vector<int64_t>* dropped(const std::string& name) const {
    auto it = drop_.find(name);
    return it == drop_.end() ? nullptr : &it->second;
  }

  // Replaces input i of node k by a copy of its constant without `drop` along `axis`.
  void slice_input(ir::Node& n, size_t i, size_t axis, const std::vector<int64_t>& drop) {
    const ir::Value& v = g_.values.at(n.inputs[i]);
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes = drop_along(v, axis, drop, &shape);
    n.inputs[i] = g_.add_constant(v.name + "_pruned", ir::DType::F32, shape, std::move(bytes));
  }

  void rewrite() {
    for (size_t k = 0; k < g_.nodes.size(); ++k) {
      ir::Node& n = g_.nodes[k];
      const std::vector<int64_t>* out = n.outputs.size() == 1 ? dropped(n.outputs[0]) : nullptr;
      const std::vector<int64_t>* in = !n.inputs.empty() ? dropped(n.inputs[0]) : nullptr;
      if (n.op == "Conv") {
        const int64_t group = n.i("group", 1);
        if (out) {
          slice_input(n, 1, 0, *out);
          if (n.inputs.size() > 2 && !n.inputs[2].empty()) slice_input(n, 2, 0, *out);
        }
        if (group == 1) {
          if (in) slice_input(n, 1, 1, *in);
        } else if (out) {
          n.set_i("group", group - static_cast<int64_t>(out->size()));
        }
      } else if (n.op == "Gemm") {
        const bool tb = n.i("transB", 0) != 0;
        if (out) {
          slice_input(n, 1, tb ? 0 : 1, *out);
          if (n.inputs.size() > 2 && !n.inputs[2].empty() && g_.find(n.inputs[2])->elements() > 1) {
            const ir::Value* c = g_.find(n.inputs[2]);
            slice_input(n, 2, c->shape.size() - 1, *out);
          }
        }
        if (in) slice_input(n, 1, tb ? 1 : 0, *in);
      } else if (n.op == "MatMul") {
        if (out) {
          slice_input(n, 1, 1, *out);
          if (n.inputs.size() > 2 && !n.inputs[2].empty()) slice_input(n, 2, 0, *out);
        }
        if (in) slice_input(n, 1, 0, *in);
      }
    }
    for (const auto& pc : per_channel_consts_) {
      ir::Node& n = g_.nodes[pc.node];
      const std::vector<int64_t>* out = dropped(n.outputs[0]);
      if (out) slice_input(n, pc.input, pc.axis, *out);
    }
    for (const auto& [name, d] : drop_) {
      ir::Value& v = g_.values.at(name);
      v.shape[1] -= static_cast<int64_t>(d.size());
    }
  }

  struct PerChannel {
    int node;
    size_t input;
    size_t axis;
  };

  ir::Graph& g_;
  std::map<std::string, Slots> slots_;
  int64_t total_ = 0;
  std::vector<int64_t> parent_;
  std::vector<bool> zero_;
  std::vector<int> blocked_;
  std::vector<std::string> reasons_;
  std::vector<Sink> sinks_;
  std::vector<Source> sources_;
  std::vector<PerChannel> per_channel_consts_;
  std::set<std::string> produced_;
  std::map<std::string, std::vector<int64_t>> drop_;
};

}  // namespace

Status prune_channels(ir::Graph& g, std::vector<std::string>* notes, int64_t* params_before,
                      int64_t* params_after, int* channels_removed) {
  Pruner p(g);
  *params_before = p.count_params();
  std::vector<std::string> local;
  const int removed = p.run(notes ? notes : &local);
  *channels_removed = removed;
  *params_after = p.count_params();
  // The CLI prints the totals from the report ("pruned: N channels, parameters A -> B").
  if (removed > 0) {
    g.remove_dead();
    POCKET_RETURN_IF_ERROR(infer_shapes(g));
  }
  return Status::Ok();
}

}  // namespace pocket::converter
