// Multi-head attention from its exported form (format/OPS.md Attention row):
//
//   Q' = Transpose(0,2,1,3)(Reshape [B,Sq,H,D](x_q))        K'^T = Transpose(0,2,3,1)(Reshape(x_k))
//   S  = MatMul(Q', K'^T) [* or / scalar]                        or Transpose(0,1,3,2)(Transpose(0,2,1,3)(..))
//   S' = S | Add(S, mask) | Where(cond, fill, S) | Where(keep, S, fill)
//   P  = Softmax(S', last axis) ;  O = MatMul(P, V') with V' = Transpose(0,2,1,3)(Reshape(x_v))
//   y  = Reshape [B,Sq,H*Dv](Transpose(0,2,1,3)(O))
//
// becomes y = Attention(x_q, x_k, x_v[, mask]) with num_heads, kv_heads, scale (the product of
// every scalar Mul/Div on x_q, Q', x_k, K' and S: Whisper scales q and k each by D^-0.25) and
// mask_fill. The Reshape targets may be constants or computed from Shape (dynamic batch and
// sequence: Concat of Unsqueeze(Gather(Shape(t), i)) and constants); the head count and size come
// from their constant entries, and the batch and sequence entries must be 0, -1 or provably the
// input's own dims. A mask Expand to the scores' shape (DistilBERT's
// (mask == 0).view(bs, 1, 1, k).expand_as(scores)) and a Cast of a bool to bool are dropped: the
// Attention broadcasts the mask itself. A constant additive mask that is exactly causal becomes
// causal = 1. Every intermediate must have no reader outside the pattern (the Shape of the scores
// feeding a dropped Expand excepted); otherwise the graph is left as it is.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "converter/passes/graph_match.h"
#include "converter/passes/passes.h"
#include "converter/passes/shape_inference_util.h"

namespace pocket::converter {
namespace {

using Dims = std::vector<int64_t>;

// One entry of a Reshape target: a constant, dim `axis` of tensor `of`, or unknown.
struct DimRef {
  enum Kind { kUnknown, kConst, kDimOf } kind = kUnknown;
  int64_t c = 0;
  std::string of;
  int64_t axis = -1;
};

// The head split of one of x_q, x_k, x_v.
struct Heads {
  std::string x;      // [B, S, H*D]
  int64_t h = 0, d = 0;
};

// Drops Cast nodes that do not change the dtype (Whisper's qk.float() and .to(q.dtype) around
// the softmax), so they do not split the pattern. Returns how many.
int drop_noop_casts(ir::Graph& g) {
  int dropped = 0;
  std::vector<ir::Node> kept;
  kept.reserve(g.nodes.size());
  for (ir::Node& n : g.nodes) {
    if (n.op == "Cast" && (n.domain.empty() || n.domain == "ai.onnx") && n.inputs.size() == 1 &&
        n.outputs.size() == 1 && !g.is_output(n.outputs[0])) {
      const ir::Value* in = g.find(n.inputs[0]);
      if (in && !in->is_constant() && n.has("to") && static_cast<int64_t>(in->dtype) == n.i("to", -1)) {
        g.replace_uses(n.outputs[0], n.inputs[0]);
        g.values.erase(n.outputs[0]);
        ++dropped;
        continue;
      }
    }
    kept.push_back(std::move(n));
  }
  g.nodes = std::move(kept);
  return dropped;
}

class AttentionFuser {
 public:
  explicit AttentionFuser(ir::Graph& g) : m_((dropped_casts = drop_noop_casts(g), g)), g_(g) {}
  int dropped_casts = 0;

  void run() {
    for (size_t k = 0; k < g_.nodes.size(); ++k) {
      const int sm = static_cast<int>(k);
      if (m_.removed(sm) || g_.nodes[sm].op != "Softmax") continue;
      try_fuse(sm);
    }
    m_.compact();
  }

  int fused = 0, causal = 0;

 private:
  static bool onnx(const ir::Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

  const ir::Value* shaped(const std::string& v) const {
    const ir::Value* val = g_.find(v);
    return val && val->shape_known ? val : nullptr;
  }

  // The single reader of v if it is op `op`, else -1.
  int only_reader(const std::string& v, const char* op) const {
    if (!m_.single_use(v)) return -1;
    int r = m_.readers(v)[0];
    return g_.nodes[r].op == op && onnx(g_.nodes[r]) ? r : -1;
  }

  // The factor of a Mul/Div node with one scalar operand computable now: the other operand's
  // name, or "" if n is not that. Multiplies *scale (the scalar's own nodes die with remove_dead).
  std::string scale_operand(const ir::Node& n, double* scale) const {
    if (n.inputs.size() != 2 || (n.op != "Mul" && n.op != "Div")) return "";
    double c;
    for (int side = 1; side >= 0; --side) {
      if (side == 0 && n.op == "Div") break;
      if (!m_.scalar_expr(n.inputs[side], &c) || (n.op == "Div" && c == 0)) continue;
      *scale *= n.op == "Div" ? 1.0 / c : c;
      return n.inputs[1 - side];
    }
    return "";
  }

  // Follows scalar Mul/Div producers of a single-use v back to their input.
  std::string peel_scale(std::string v, double* scale, std::vector<int>* gone) const {
    for (;;) {
      if (!m_.single_use(v)) return v;
      int k = m_.producer(v, "Mul");
      if (k < 0) k = m_.producer(v, "Div");
      if (k < 0) return v;
      std::string in = scale_operand(g_.nodes[k], scale);
      if (in.empty()) return v;
      v = in;
      gone->push_back(k);
    }
  }

  // The single-use v's producer if it is Transpose with exactly `perm`; -1 otherwise.
  int transpose(const std::string& v, const Dims& perm) const {
    if (!m_.single_use(v)) return -1;
    int t = m_.producer(v, "Transpose");
    if (t < 0 || g_.nodes[t].inputs.size() != 1 || g_.nodes[t].ints("perm") != perm) return -1;
    return t;
  }

  // The entries of a Reshape's target shape.
  std::vector<DimRef> target(const ir::Node& r) const {
    std::vector<DimRef> out;
    if (r.inputs.size() < 2 || r.inputs[1].empty()) {
      if (!r.has("shape")) return out;
      for (int64_t d : r.ints("shape")) out.push_back({DimRef::kConst, d, "", -1});
      return out;
    }
    if (!refs(r.inputs[1], &out, 0)) out.clear();
    return out;
  }

  // A 1-D integer value as DimRefs: constants, Shape(t) (dims of t), and Concat, Unsqueeze,
  // Squeeze, Cast, Gather (constant indices) and Slice (constant bounds, step 1) of those.
  bool refs(const std::string& v, std::vector<DimRef>* out, int depth) const {
    out->clear();
    if (depth > 16) return false;
    Dims c;
    if (const_ints(g_, v, &c)) {
      for (int64_t d : c) out->push_back({DimRef::kConst, d, "", -1});
      return true;
    }
    int p = m_.producer(v);
    if (p < 0) return false;
    const ir::Node& n = g_.nodes[p];
    if (n.op == "Shape") {
      const ir::Value* t = shaped(n.inputs[0]);
      if (!t) return false;
      const int64_t rank = static_cast<int64_t>(t->shape.size());
      int64_t s0 = n.i("start", 0), e0 = n.i("end", rank);
      if (s0 < 0) s0 += rank;
      if (e0 < 0) e0 += rank;
      for (int64_t i = std::max<int64_t>(s0, 0); i < std::min(e0, rank); ++i)
        out->push_back({DimRef::kDimOf, 0, n.inputs[0], i});
      return true;
    }
    if (n.op == "Concat") {
      if (n.i("axis", 0) != 0 && n.i("axis", 0) != -1) return false;
      for (const auto& in : n.inputs) {
        std::vector<DimRef> part;
        if (!refs(in, &part, depth + 1)) return false;
        out->insert(out->end(), part.begin(), part.end());
      }
      return true;
    }
    if (n.op == "Unsqueeze" || n.op == "Squeeze" || n.op == "Cast") return refs(n.inputs[0], out, depth + 1);
    std::vector<DimRef> data;
    if (n.op == "Gather" && n.inputs.size() == 2 && n.i("axis", 0) == 0) {
      if (!const_ints(g_, n.inputs[1], &c) || !refs(n.inputs[0], &data, depth + 1)) return false;
      for (int64_t i : c) {
        if (i < 0) i += static_cast<int64_t>(data.size());
        if (i < 0 || i >= static_cast<int64_t>(data.size())) return false;
        out->push_back(data[i]);
      }
      return true;
    }
    if (n.op == "Slice") {
      IntsOperand st = ints_operand(g_, n, 1, "starts"), en = ints_operand(g_, n, 2, "ends"),
                  ax = ints_operand(g_, n, 3, "axes"), sp = ints_operand(g_, n, 4, "steps");
      if (!st.ok || !en.ok || !ax.ok || !sp.ok || st.v.size() != 1 || en.v.size() != 1) return false;
      if ((!ax.v.empty() && ax.v != Dims{0}) || (!sp.v.empty() && sp.v != Dims{1})) return false;
      if (!refs(n.inputs[0], &data, depth + 1)) return false;
      const int64_t size = static_cast<int64_t>(data.size());
      int64_t b = st.v[0] < 0 ? st.v[0] + size : st.v[0], e = en.v[0] < 0 ? en.v[0] + size : en.v[0];
      b = std::clamp<int64_t>(b, 0, size);
      e = std::clamp<int64_t>(e, 0, size);
      for (int64_t i = b; i < e; ++i) out->push_back(data[i]);
      return true;
    }
    return false;
  }

  // Whether dim i of x is provably `r` (0 copies dim `copy_index` of the Reshape input).
  bool same_dim(const DimRef& r, const ir::Value& x, size_t i, bool zero_copies) const {
    const int64_t d = x.shape[i];
    if (r.kind == DimRef::kConst) return (r.c == 0 && zero_copies) || (r.c > 0 && r.c == d);
    if (r.kind != DimRef::kDimOf) return false;
    if (r.of == x.name && r.axis == static_cast<int64_t>(i)) return true;
    const ir::Value* t = shaped(r.of);
    if (!t || r.axis >= static_cast<int64_t>(t->shape.size())) return false;
    const int64_t td = t->shape[r.axis];
    if (td >= 0 || d >= 0) return td == d && d >= 0;
    const std::string tn = r.axis < static_cast<int64_t>(t->dim_names.size()) ? t->dim_names[r.axis] : "";
    const std::string xn = i < x.dim_names.size() ? x.dim_names[i] : "";
    return !tn.empty() && tn == xn;
  }

  // v = Reshape [B, S, H, D](x) (with scalar scales peeled on both sides) -> heads.
  bool split(std::string v, Heads* out, double* scale, std::vector<int>* gone) const {
    v = peel_scale(v, scale, gone);
    if (!m_.single_use(v)) return false;
    int r = m_.producer(v, "Reshape");
    if (r < 0) return false;
    const ir::Node& rn = g_.nodes[r];
    if (rn.i("allowzero", 0) != 0) return false;
    std::vector<DimRef> t = target(rn);
    std::vector<int> peeled;
    std::string x = peel_scale(rn.inputs[0], scale, &peeled);
    const ir::Value* xv = shaped(rn.inputs[0]);
    if (!xv || xv->shape.size() != 3 || xv->dtype != ir::DType::F32 || t.size() != 4) return false;
    const int64_t hd = xv->shape[2];
    if (hd <= 0) return false;
    auto cval = [&](size_t i) { return t[i].kind == DimRef::kConst ? t[i].c : -2; };
    int64_t h = cval(2), d = cval(3);
    if (h == -1 && d > 0 && hd % d == 0) h = hd / d;
    if (d == -1 && h > 0 && hd % h == 0) d = hd / h;
    if (h <= 0 || d <= 0 || h * d != hd) return false;
    if (!same_dim(t[0], *xv, 0, true)) return false;
    const bool seq_inferred = cval(1) == -1 && cval(2) > 0 && cval(3) > 0;
    if (!seq_inferred && !same_dim(t[1], *xv, 1, true)) return false;
    gone->push_back(r);
    gone->insert(gone->end(), peeled.begin(), peeled.end());
    *out = {x, h, d};
    return true;
  }

  // Q' or V': [scales] Transpose(0,2,1,3) [scales] Reshape [scales] x.
  bool heads_bhsd(const std::string& v, Heads* out, double* scale, std::vector<int>* gone) const {
    std::string u = peel_scale(v, scale, gone);
    int t = transpose(u, {0, 2, 1, 3});
    if (t < 0) return false;
    gone->push_back(t);
    return split(g_.nodes[t].inputs[0], out, scale, gone);
  }

  // K'^T: Transpose(0,2,3,1)(Reshape(x)) or Transpose(0,1,3,2)(Transpose(0,2,1,3)(Reshape(x))).
  bool heads_bhds(const std::string& v, Heads* out, double* scale, std::vector<int>* gone) const {
    std::string u = peel_scale(v, scale, gone);
    int t = transpose(u, {0, 2, 3, 1});
    if (t >= 0) {
      gone->push_back(t);
      return split(g_.nodes[t].inputs[0], out, scale, gone);
    }
    t = transpose(u, {0, 1, 3, 2});
    if (t < 0) t = transpose(u, {0, 1, -1, -2});
    if (t < 0) return false;
    gone->push_back(t);
    return heads_bhsd(g_.nodes[t].inputs[0], out, scale, gone);
  }

  // The mask condition/addend with redundant Cast(bool -> bool) and Expand (to the scores' shape)
  // stripped. `scores` are the values whose Shape an Expand may use (they all disappear).
  std::string strip_mask(std::string m, const std::vector<std::string>& scores, const Dims& s_shape,
                         std::vector<int>* gone) const {
    for (;;) {
      if (!m_.single_use(m)) return m;
      int c = m_.producer(m, "Cast");
      if (c >= 0) {
        const ir::Value* in = shaped(g_.nodes[c].inputs[0]);
        const ir::Value* out = g_.find(m);
        if (!in || !out || in->dtype != out->dtype) return m;
        gone->push_back(c);
        m = g_.nodes[c].inputs[0];
        continue;
      }
      int e = m_.producer(m, "Expand");
      if (e < 0 || g_.nodes[e].inputs.size() > 2) return m;
      const ir::Node& en = g_.nodes[e];
      const ir::Value* in = shaped(en.inputs[0]);
      if (!in || in->shape.size() > 4) return m;
      std::vector<int> extra;
      if (!redundant_expand(en, scores, s_shape, in->shape, &extra)) return m;
      gone->push_back(e);
      gone->insert(gone->end(), extra.begin(), extra.end());
      m = en.inputs[0];
    }
  }

  // Expand(in, shape) adds nothing the Attention's broadcasting does not: the target is the
  // Shape of a score value, or a constant that only repeats `in` up to the scores' shape.
  bool redundant_expand(const ir::Node& e, const std::vector<std::string>& scores, const Dims& s_shape,
                        const Dims& in_shape, std::vector<int>* extra) const {
    Dims target;
    if (e.inputs.size() < 2 || e.inputs[1].empty()) {
      if (!e.has("shape")) return false;
      target = e.ints("shape");
    } else if (!const_ints(g_, e.inputs[1], &target)) {
      int sh = m_.producer(e.inputs[1], "Shape");
      if (sh < 0 || !m_.single_use(e.inputs[1])) return false;
      const ir::Node& s = g_.nodes[sh];
      if (s.has("start") || s.has("end")) return false;
      bool ours = false;
      for (const auto& v : scores) ours = ours || s.inputs[0] == v;
      if (!ours) return false;
      extra->push_back(sh);
      return true;
    }
    if (target.size() > 4 || target.size() > s_shape.size()) return false;
    for (size_t i = 0; i < target.size(); ++i) {
      const int64_t sd = s_shape[s_shape.size() - target.size() + i];
      if (target[i] != 1 && target[i] != sd) return false;
      if (target[i] == sd && sd < 0) return false;
    }
    (void)in_shape;
    return true;
  }

  // Shape readers of a score value besides `next`: each must feed only an Expand of the mask.
  bool score_readers_ok(const std::string& v, int next, std::vector<int>* shapes) const {
    if (g_.is_output(v)) return false;
    for (int r : m_.readers(v)) {
      if (r == next) continue;
      const ir::Node& n = g_.nodes[r];
      if (n.op != "Shape" || n.has("start") || n.has("end") || !m_.single_use(n.outputs[0])) return false;
      int e = m_.readers(n.outputs[0])[0];
      if (g_.nodes[e].op != "Expand" || g_.nodes[e].inputs.size() != 2 || g_.nodes[e].inputs[1] != n.outputs[0])
        return false;
      shapes->push_back(r);
    }
    int count = 0;
    for (int r : m_.readers(v)) count += r == next;
    return count == 1;
  }

  // An additive constant [.., Sq, Sk] mask that is 0 on and below diagonal Sk - Sq and -inf
  // (or <= -1e30) above it.
  bool causal_constant(const std::string& mask, int64_t sq, int64_t sk) const {
    const ir::Value* v = g_.find(mask);
    if (!v || !v->is_constant() || v->dtype != ir::DType::F32 || sq <= 0 || sk <= 0) return false;
    if (v->shape.size() < 2 || v->shape[v->shape.size() - 2] != sq || v->shape.back() != sk) return false;
    for (size_t i = 0; i + 2 < v->shape.size(); ++i)
      if (v->shape[i] != 1) return false;
    const float* p = v->as<float>();
    for (int64_t i = 0; i < sq; ++i)
      for (int64_t j = 0; j < sk; ++j) {
        float x = p[i * sk + j];
        bool visible = j <= i + sk - sq;
        if (visible ? x != 0.f : !(x <= -1e30f)) return false;
      }
    return true;
  }

  // mask = C[:e0, :e1] (Slices starting at 0 with step 1) of a constant causal C [N, N], where e0
  // and e1 are provably the scores' Sq and Sk and Sq is provably Sk (Whisper's decoder over a
  // dynamic sequence: self.mask[:n_ctx, :n_ctx]): the same as causal = 1.
  bool causal_slice(const std::string& mask, const ir::Value& scores) const {
    if (!same_dim_value(scores, 2, scores, 3)) return false;
    std::string cur = mask;
    std::vector<DimRef> ends(2);
    for (int step = 0; step < 2; ++step) {
      int sl = m_.producer(cur, "Slice");
      if (sl < 0) break;
      const ir::Node& n = g_.nodes[sl];
      IntsOperand st = ints_operand(g_, n, 1, "starts"), ax = ints_operand(g_, n, 3, "axes"),
                  sp = ints_operand(g_, n, 4, "steps");
      if (!st.ok || !ax.ok || !sp.ok) return false;
      std::vector<DimRef> en;
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        if (!refs(n.inputs[2], &en, 0)) return false;
      } else {
        for (int64_t e : n.ints("ends")) en.push_back({DimRef::kConst, e, "", -1});
      }
      Dims axes = ax.v;
      if (axes.empty())
        for (size_t i = 0; i < st.v.size(); ++i) axes.push_back(static_cast<int64_t>(i));
      if (axes.size() != st.v.size() || en.size() != st.v.size()) return false;
      for (size_t i = 0; i < axes.size(); ++i) {
        int64_t a = norm_axis(axes[i], 2);
        if (a < 0 || st.v[i] != 0 || (!sp.v.empty() && sp.v[i] != 1) || ends[a].kind != DimRef::kUnknown) return false;
        ends[a] = en[i];
      }
      cur = n.inputs[0];
    }
    const ir::Value* c = g_.find(cur);
    if (!c || !c->is_constant() || c->shape.size() != 2 || c->shape[0] != c->shape[1]) return false;
    if (!causal_constant(cur, c->shape[0], c->shape[1])) return false;
    for (int a = 0; a < 2; ++a) {
      if (ends[a].kind == DimRef::kUnknown) return false;
      if (!same_dim(ends[a], scores, 2 + a, false)) return false;
    }
    return true;
  }

  bool same_dim_value(const ir::Value& a, size_t i, const ir::Value& b, size_t j) const {
    if (a.shape[i] >= 0 || b.shape[j] >= 0) return a.shape[i] == b.shape[j];
    if (a.name == b.name && i == j) return true;
    const std::string an = i < a.dim_names.size() ? a.dim_names[i] : "";
    const std::string bn = j < b.dim_names.size() ? b.dim_names[j] : "";
    return !an.empty() && an == bn;
  }

  void try_fuse(int sm) {
    const ir::Node& soft = g_.nodes[sm];
    if (!onnx(soft) || soft.inputs.size() != 1 || soft.outputs.size() != 1) return;
    const ir::Value* sv = shaped(soft.inputs[0]);
    if (!sv || sv->shape.size() != 4 || sv->dtype != ir::DType::F32) return;
    const int64_t axis = soft.i("axis", g_.opset < 13 ? 1 : -1);
    if (norm_axis(axis, 4) != 3) return;

    std::vector<int> gone;
    double scale = 1.0;
    // Mask.
    std::string s_masked = soft.inputs[0], s = s_masked, mask, inverted_mask;
    bool where = false;
    float fill = -std::numeric_limits<float>::infinity();
    int mask_node = -1;
    if (m_.single_use(s_masked)) {
      int a = m_.producer(s_masked, "Add");
      int w = m_.producer(s_masked, "Where");
      if (a >= 0 && g_.nodes[a].inputs.size() == 2) {
        mask_node = a;
      } else if (w >= 0 && g_.nodes[w].inputs.size() == 3) {
        const ir::Node& wn = g_.nodes[w];
        if (m_.scalar(wn.inputs[1], &fill) && !m_.scalar(wn.inputs[2], &fill)) {
          m_.scalar(wn.inputs[1], &fill);
          mask_node = w, where = true, mask = wn.inputs[0], s = wn.inputs[2];
        } else if (m_.scalar(wn.inputs[2], &fill)) {
          mask_node = w, where = true, inverted_mask = wn.inputs[0], s = wn.inputs[1];
        }
      }
    }
    // Scores before the mask: MatMul(Q', K'^T) [scales].
    std::vector<std::string> score_values;
    std::vector<int> shape_readers;
    std::string add_other;
    int qk = -1;
    std::vector<int> scale_nodes;
    auto scores_from = [&](const std::string& start, int next) -> int {
      std::vector<int> nodes;
      double f = 1.0;
      std::string v = start;
      std::vector<std::string> vals = {v};
      std::vector<int> shapes;
      if (!score_readers_ok(v, next, &shapes)) return -1;
      for (;;) {
        int k = m_.producer(v, "Mul");
        if (k < 0) k = m_.producer(v, "Div");
        if (k < 0) break;
        std::string in = scale_operand(g_.nodes[k], &f);
        if (in.empty()) break;
        if (!score_readers_ok(in, k, &shapes)) return -1;
        nodes.push_back(k);
        v = in;
        vals.push_back(v);
      }
      int mm = m_.producer(v, "MatMul");
      if (mm < 0 || g_.nodes[mm].inputs.size() != 2) return -1;
      scale *= f;
      scale_nodes = nodes;
      score_values = vals;
      shape_readers = shapes;
      return mm;
    };
    if (mask_node >= 0 && !where) {
      for (int side = 0; side < 2 && qk < 0; ++side) {
        s = g_.nodes[mask_node].inputs[side];
        add_other = g_.nodes[mask_node].inputs[1 - side];
        qk = scores_from(s, mask_node);
      }
      if (qk < 0) {  // an Add that is not a mask: no mask at all
        mask_node = -1;
        s = s_masked;
      } else {
        mask = add_other;
      }
    } else if (mask_node >= 0) {
      qk = scores_from(s, mask_node);
      if (qk < 0) return;
    }
    if (mask_node < 0) {
      s = s_masked;
      qk = scores_from(s, sm);
      if (qk < 0) return;
    }
    gone.push_back(qk);
    gone.insert(gone.end(), scale_nodes.begin(), scale_nodes.end());
    gone.insert(gone.end(), shape_readers.begin(), shape_readers.end());
    if (mask_node >= 0) gone.push_back(mask_node);
    gone.push_back(sm);

    // Q', K'^T.
    Heads q, k, v;
    if (!heads_bhsd(g_.nodes[qk].inputs[0], &q, &scale, &gone)) return;
    if (!heads_bhds(g_.nodes[qk].inputs[1], &k, &scale, &gone)) return;
    // P V'.
    const std::string p = soft.outputs[0];
    int pv = only_reader(p, "MatMul");
    if (pv < 0 || g_.nodes[pv].inputs.size() != 2 || g_.nodes[pv].inputs[0] != p) return;
    double v_scale = 1.0;
    if (!heads_bhsd(g_.nodes[pv].inputs[1], &v, &v_scale, &gone) || v_scale != 1.0) return;
    gone.push_back(pv);
    // Merge: Transpose(0,2,1,3) -> Reshape [B, Sq, H*Dv].
    const std::string o = g_.nodes[pv].outputs[0];
    int tr = only_reader(o, "Transpose");
    if (tr < 0 || g_.nodes[tr].ints("perm") != Dims{0, 2, 1, 3}) return;
    const std::string ot = g_.nodes[tr].outputs[0];
    int rs = only_reader(ot, "Reshape");
    if (rs < 0 || g_.nodes[rs].i("allowzero", 0) != 0) return;
    gone.push_back(tr);
    gone.push_back(rs);

    // Shapes and heads.
    const ir::Value* xq = shaped(q.x);
    const ir::Value* xk = shaped(k.x);
    const ir::Value* xv = shaped(v.x);
    if (!xq || !xk || !xv) return;
    if (q.d != k.d || k.h != v.h || !(k.h == q.h || k.h == 1)) return;
    if (!same_dim_value(*xq, 0, *xk, 0) || !same_dim_value(*xq, 0, *xv, 0) || !same_dim_value(*xk, 1, *xv, 1))
      return;
    std::vector<DimRef> t = target(g_.nodes[rs]);
    if (t.size() != 3) return;
    const int64_t hdv = q.h * v.d;
    const bool last_ok = t[2].kind == DimRef::kConst && (t[2].c == hdv || t[2].c == -1);
    const bool seq_inferred = t[1].kind == DimRef::kConst && t[1].c == -1 && t[2].c == hdv;
    if (!last_ok || !same_dim(t[0], *xq, 0, true) || (!seq_inferred && !same_dim(t[1], *xq, 1, true))) return;
    if (t[2].c == -1 && !(same_dim(t[1], *xq, 1, true) && t[1].c != -1)) return;

    // Mask operand.
    std::string mask_in;
    const Dims& s_shape = sv->shape;
    bool is_causal = false;
    if (!mask.empty() || !inverted_mask.empty()) {
      std::vector<std::string> scores = score_values;
      std::string mv = strip_mask(mask.empty() ? inverted_mask : mask, scores, s_shape, &gone);
      const ir::Value* mval = shaped(mv);
      if (!mval || mval->shape.size() > 4) return;
      if (where && mval->dtype != ir::DType::BOOL) return;
      if (!where && mval->dtype != ir::DType::F32) return;
      Dims bshape;
      if (!broadcast_shapes(mval->shape, {}, s_shape, {}, &bshape, nullptr) || bshape.size() != 4) return;
      for (size_t i = 0; i < 4; ++i)
        if (s_shape[i] >= 0 && bshape[i] >= 0 && bshape[i] != s_shape[i]) return;
      mask_in = mv;
      if (!where && (causal_constant(mv, s_shape[2], s_shape[3]) || causal_slice(mv, *sv))) {
        is_causal = true;
        mask_in.clear();
      }
    }

    // A Shape of the scores may only feed the mask Expand dropped above.
    for (int sh : shape_readers) {
      const int e = m_.readers(g_.nodes[sh].outputs[0])[0];
      if (std::find(gone.begin(), gone.end(), e) == gone.end()) return;
    }
    // Every node we drop must not be read from outside: checked link by link above, except the
    // values the Reshapes' targets read (they stay, and die with remove_dead when unused).
    ir::Node att;
    att.op = "Attention";
    att.name = g_.nodes[sm].name.empty() ? g_.nodes[rs].name : g_.nodes[sm].name;
    att.inputs = {q.x, k.x, v.x};
    att.outputs = {g_.nodes[rs].outputs[0]};
    att.set_i("num_heads", q.h);
    att.set_i("kv_heads", k.h);
    att.set_f("scale", static_cast<float>(scale));
    if (is_causal) att.set_i("causal", 1);
    if (where) att.set_f("mask_fill", fill);
    std::string not_out;
    int not_slot = -1;
    if (!mask_in.empty()) {
      if (!inverted_mask.empty()) {
        // Where(keep, S, fill): masked where keep is false.
        not_out = g_.unique_name(mask_in + "__not");
        ir::Value nv = *g_.find(mask_in);
        nv.name = not_out;
        nv.data = nullptr;
        g_.values[not_out] = nv;
        not_slot = sm;  // the Softmax's slot: after the mask's producer, before the Attention
      }
      att.inputs.push_back(not_out.empty() ? mask_in : not_out);
    }
    const int last = rs;
    for (auto it = gone.rbegin(); it != gone.rend(); ++it)
      if (*it != last) m_.remove(*it);
    if (not_slot >= 0) {
      ir::Node n;
      n.op = "Not";
      n.name = g_.nodes[not_slot].name + "__not";
      n.inputs = {mask_in};
      n.outputs = {not_out};
      m_.replace(not_slot, std::move(n));
    }
    m_.replace(last, std::move(att));
    ++fused;
    causal += is_causal;
  }

  GraphMatch m_;
  ir::Graph& g_;
};

}  // namespace

Status fuse_attention(ir::Graph& g, std::vector<std::string>* notes) {
  AttentionFuser f(g);
  f.run();
  if (!g.topo_sort()) return internal_error("fuse_attention: graph has a cycle");
  if (notes && f.dropped_casts)
    notes->push_back("fuse_attention: dropped " + std::to_string(f.dropped_casts) + " Cast node(s) that keep the dtype");
  if (notes && f.fused)
    notes->push_back("fuse_attention: fused " + std::to_string(f.fused) +
                     " attention blocks (head split Reshape/Transpose, MatMul, scale, mask, Softmax, MatMul, "
                     "head merge) into Attention" +
                     (f.causal ? " (" + std::to_string(f.causal) + " with a constant causal mask as causal = 1)" : ""));
  return Status::Ok();
}

}  // namespace pocket::converter
