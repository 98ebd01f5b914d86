// Two-operand Einsum -> [ReduceSum] -> Transpose -> Reshape -> MatMul -> Reshape -> Transpose.
// Each index is one of: batch (in both operands and the output), contracted (both operands, not
// the output), free (one operand and the output), or summed (one operand only: ReduceSum first).
// A is laid out [batch, freeA, contracted] and B [batch, contracted, freeB], each group flattened,
// so one batched MatMul computes the product; the result is reshaped to [batch, freeA, freeB]
// and transposed to the output's order. Steps that change nothing are left out
// ("bij,bjk->bik" is a single MatMul). "..." is expanded to fresh indices when both operands'
// ellipsis dims are equal. Static shapes only. Anything else (one or three operands, a repeated
// index within an operand, broadcasting batch dims, symbolic dims) stays an Einsum, which the
// support check then lists with every other unsupported node; a note names the node, its
// equation and the reason.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

#include "converter/passes/passes.h"
#include "converter/passes/shape_inference_util.h"

namespace pocket::converter {
namespace {

using Dims = std::vector<int64_t>;

class EinsumRewriter {
 public:
  explicit EinsumRewriter(ir::Graph& g) : g_(g) {}

  void run() {
    std::vector<ir::Node> nodes = std::move(g_.nodes);
    g_.nodes.clear();
    for (ir::Node& n : nodes) {
      if (n.op != "Einsum" || !(n.domain.empty() || n.domain == "ai.onnx")) {
        g_.nodes.push_back(std::move(n));
        continue;
      }
      std::string why = rewrite(n);
      if (!why.empty()) {
        problems.push_back("Einsum '" + n.name + "' (equation \"" + n.s("equation", "") + "\"): " + why);
        g_.nodes.push_back(std::move(n));
      }
    }
  }

  std::vector<std::string> problems;
  int rewritten = 0;

 private:
  // Appends a node computing `op` of `in`, output shaped `shape`; returns the output name.
  std::string emit(const ir::Node& orig, const std::string& op, std::vector<std::string> in, const Dims& shape,
                   const std::string& suffix, const std::string& out_name = "") {
    ir::Node n;
    n.op = op;
    n.name = orig.name + "__" + suffix;
    n.inputs = std::move(in);
    std::string out = out_name.empty() ? g_.unique_name(orig.outputs[0] + "__" + suffix) : out_name;
    ir::Value& v = g_.value(out);
    v.name = out;
    v.dtype = g_.find(orig.inputs[0])->dtype;
    v.shape = shape;
    v.shape_known = true;
    v.dim_names.clear();
    n.outputs = {out};
    g_.nodes.push_back(std::move(n));
    return out;
  }

  std::string ints_const(const std::string& base, const Dims& v) {
    std::vector<uint8_t> bytes(v.size() * 8);
    std::memcpy(bytes.data(), v.data(), bytes.size());
    return g_.add_constant(base, ir::DType::I64, {static_cast<int64_t>(v.size())}, std::move(bytes));
  }

  std::string reshape(const ir::Node& orig, const std::string& x, const Dims& from, const Dims& to,
                      const std::string& suffix, const std::string& out_name = "") {
    if (from == to && out_name.empty()) return x;
    std::string shape = ints_const(orig.name + "__" + suffix + "_shape", to);
    return emit(orig, "Reshape", {x, shape}, to, suffix, out_name);
  }

  std::string transpose(const ir::Node& orig, const std::string& x, const Dims& from, const Dims& perm,
                        const std::string& suffix, const std::string& out_name = "") {
    bool identity = true;
    for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<int64_t>(i);
    if (identity && out_name.empty()) return x;
    Dims to(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) to[i] = from[perm[i]];
    std::string out = emit(orig, "Transpose", {x}, to, suffix, out_name);
    g_.nodes.back().set_ints("perm", perm);
    return out;
  }

  // Expands "..." in a term to fresh upper-case indices ("...ij" with 2 ellipsis dims -> "ABij").
  static std::string expand(const std::string& t, size_t ell_rank) {
    size_t e = t.find("...");
    if (e == std::string::npos) return t;
    std::string fresh;
    for (size_t i = 0; i < ell_rank; ++i) fresh.push_back(static_cast<char>('A' + i));
    return t.substr(0, e) + fresh + t.substr(e + 3);
  }

  std::string rewrite(const ir::Node& n) {
    std::string eq = n.s("equation", "");
    eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
    if (n.inputs.size() != 2 || n.outputs.size() != 1) return "only 2-operand Einsum is supported";
    size_t arrow = eq.find("->");
    if (arrow == std::string::npos) return "an explicit output (->) is required";
    size_t comma = eq.find(',');
    if (comma == std::string::npos || comma > arrow) return "malformed equation";
    std::string ta = eq.substr(0, comma), tb = eq.substr(comma + 1, arrow - comma - 1), to = eq.substr(arrow + 2);
    const ir::Value* av = g_.find(n.inputs[0]);
    const ir::Value* bv = g_.find(n.inputs[1]);
    if (!av || !bv || !av->shape_known || !bv->shape_known) return "operand shapes are unknown";
    if (av->dtype != ir::DType::F32 || bv->dtype != ir::DType::F32) return "only float32 operands are supported";
    Dims as = av->shape, bs = bv->shape;
    for (int64_t d : as) if (d < 0) return "symbolic dims are not supported";
    for (int64_t d : bs) if (d < 0) return "symbolic dims are not supported";
    // Ellipsis.
    auto letters = [](const std::string& t) { return t.size() - (t.find("...") == std::string::npos ? 0 : 3); };
    const bool ea = ta.find("...") != std::string::npos, eb = tb.find("...") != std::string::npos;
    if (ea || eb || to.find("...") != std::string::npos) {
      if (letters(ta) > as.size() || letters(tb) > bs.size()) return "rank does not match the equation";
      size_t ra = ea ? as.size() - letters(ta) : 0, rb = eb ? bs.size() - letters(tb) : 0;
      if (ea && eb) {
        if (ra != rb) return "ellipsis dims differ between operands (broadcasting is not supported)";
        Dims da(as.begin() + ta.find("..."), as.begin() + ta.find("...") + ra);
        Dims db(bs.begin() + tb.find("..."), bs.begin() + tb.find("...") + rb);
        if (da != db) return "ellipsis dims differ between operands (broadcasting is not supported)";
      }
      size_t r = std::max(ra, rb);
      ta = expand(ta, ra);
      tb = expand(tb, rb);
      to = expand(to, r);
    }
    if (ta.size() != as.size() || tb.size() != bs.size()) return "rank does not match the equation";
    std::map<char, int64_t> size;
    for (const std::string* t : {&ta, &tb, &to})
      for (char c : *t)
        if (!std::isalpha(static_cast<unsigned char>(c))) return std::string("bad index '") + c + "'";
    auto repeated = [](const std::string& t) {
      std::string s = t;
      std::sort(s.begin(), s.end());
      return std::adjacent_find(s.begin(), s.end()) != s.end();
    };
    if (repeated(ta) || repeated(tb) || repeated(to)) return "a repeated index within one term (diagonal) is not supported";
    for (size_t i = 0; i < ta.size(); ++i) size[ta[i]] = as[i];
    for (size_t i = 0; i < tb.size(); ++i) {
      auto it = size.find(tb[i]);
      if (it != size.end() && it->second != bs[i]) return std::string("index '") + tb[i] + "' has different sizes (broadcasting is not supported)";
      size[tb[i]] = bs[i];
    }
    for (char c : to)
      if (!size.count(c)) return std::string("output index '") + c + "' is in no operand";
    auto in = [](const std::string& t, char c) { return t.find(c) != std::string::npos; };
    std::string batch, contracted, free_a, free_b, sum_a, sum_b;
    for (char c : ta) {
      if (in(tb, c) && in(to, c)) batch += c;
      else if (in(tb, c)) contracted += c;
      else if (in(to, c)) free_a += c;
      else sum_a += c;
    }
    for (char c : tb) {
      if (in(ta, c)) continue;
      if (in(to, c)) free_b += c;
      else sum_b += c;
    }
    // Sum out indices only one operand has.
    std::string a = n.inputs[0], b = n.inputs[1];
    auto reduce = [&](std::string& x, std::string& t, Dims& s, const std::string& gone, const std::string& tag) {
      if (gone.empty()) return;
      Dims axes, kept;
      std::string kt;
      for (size_t i = 0; i < t.size(); ++i) {
        if (in(gone, t[i])) axes.push_back(static_cast<int64_t>(i));
        else kept.push_back(s[i]), kt += t[i];
      }
      std::vector<std::string> ins = {x};
      if (g_.opset >= 13) ins.push_back(ints_const(n.name + "__" + tag + "_axes", axes));
      x = emit(n, "ReduceSum", ins, kept, tag);
      ir::Node& r = g_.nodes.back();
      if (g_.opset < 13) r.set_ints("axes", axes);
      r.set_i("keepdims", 0);
      t = kt;
      s = kept;
    };
    reduce(a, ta, as, sum_a, "sum_a");
    reduce(b, tb, bs, sum_b, "sum_b");
    auto prod = [&](const std::string& idx) {
      int64_t p = 1;
      for (char c : idx) p *= size[c];
      return p;
    };
    auto perm_of = [&](const std::string& from, const std::string& want) {
      Dims p;
      for (char c : want) p.push_back(static_cast<int64_t>(from.find(c)));
      return p;
    };
    const int64_t nb = prod(batch), fa = prod(free_a), fb = prod(free_b), k = prod(contracted);
    // A -> [batch..., freeA..., contracted...] -> [nb, fa, k] (or [fa, k] without batch).
    const std::string a_order = batch + free_a + contracted, b_order = batch + contracted + free_b;
    a = transpose(n, a, as, perm_of(ta, a_order), "a_t");
    b = transpose(n, b, bs, perm_of(tb, b_order), "b_t");
    Dims a_t, b_t;
    for (char c : a_order) a_t.push_back(size[c]);
    for (char c : b_order) b_t.push_back(size[c]);
    Dims a3 = batch.empty() ? Dims{fa, k} : Dims{nb, fa, k};
    Dims b3 = batch.empty() ? Dims{k, fb} : Dims{nb, k, fb};
    a = reshape(n, a, a_t, a3, "a_r");
    b = reshape(n, b, b_t, b3, "b_r");
    const std::string r_order = batch + free_a + free_b;
    Dims r3 = batch.empty() ? Dims{fa, fb} : Dims{nb, fa, fb};
    Dims r_full;
    for (char c : r_order) r_full.push_back(size[c]);
    const Dims out_perm = perm_of(r_order, to);
    bool perm_identity = true;
    for (size_t i = 0; i < out_perm.size(); ++i) perm_identity = perm_identity && out_perm[i] == static_cast<int64_t>(i);
    const bool need_reshape = r3 != r_full;
    const std::string& y = n.outputs[0];
    std::string mm = emit(n, "MatMul", {a, b}, r3, "matmul", !need_reshape && perm_identity ? y : "");
    if (need_reshape) mm = reshape(n, mm, r3, r_full, "r", perm_identity ? y : "");
    if (!perm_identity) transpose(n, mm, r_full, out_perm, "out", y);
    ++rewritten;
    return "";
  }

  ir::Graph& g_;
};

}  // namespace

Status rewrite_einsum(ir::Graph& g, std::vector<std::string>* notes) {
  EinsumRewriter r(g);
  r.run();
  if (notes && r.rewritten)
    notes->push_back("rewrite_einsum: rewrote " + std::to_string(r.rewritten) +
                     " Einsum node(s) as Transpose/Reshape/MatMul");
  for (const auto& p : r.problems)
    if (notes) notes->push_back("rewrite_einsum: cannot rewrite " + p);
  return Status::Ok();
}

}  // namespace pocket::converter
