// Graph passes fold_batchnorm, fuse_activations and convert_to_nhwc on hand-built IR graphs.
// Every test checks the rewritten structure and, through a small reference evaluator (plain
// loops, NCHW and NHWC), that the graph still computes what the original computed and that every
// value's recorded shape is the shape the evaluator produces.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "converter/ir/graph.h"
#include "converter/passes/passes.h"

namespace pocket::converter {
namespace {

using Shape = std::vector<int64_t>;

struct Tensor {
  Shape shape;
  std::vector<float> v;
};

int64_t count(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape strides_of(const Shape& s) {
  Shape st(s.size(), 1);
  for (size_t d = s.size(); d-- > 1;) st[d - 1] = st[d] * s[d];
  return st;
}

// ---- reference evaluator ---------------------------------------------------------------------

Tensor transpose(const Tensor& x, const Shape& perm) {
  Shape out_shape(perm.size());
  for (size_t j = 0; j < perm.size(); ++j) out_shape[j] = x.shape[perm[j]];
  Shape st = strides_of(x.shape);
  Tensor y{out_shape, std::vector<float>(count(out_shape))};
  Shape idx(perm.size(), 0);
  for (int64_t o = 0; o < count(out_shape); ++o) {
    int64_t s = 0;
    for (size_t j = 0; j < perm.size(); ++j) s += idx[j] * st[perm[j]];
    y.v[o] = x.v[s];
    for (size_t j = perm.size(); j-- > 0;) {
      if (++idx[j] < out_shape[j]) break;
      idx[j] = 0;
    }
  }
  return y;
}

Tensor broadcast_binary(const Tensor& a, const Tensor& b, const std::function<float(float, float)>& f) {
  size_t r = std::max(a.shape.size(), b.shape.size());
  Shape as(r - a.shape.size(), 1), bs(r - b.shape.size(), 1);
  as.insert(as.end(), a.shape.begin(), a.shape.end());
  bs.insert(bs.end(), b.shape.begin(), b.shape.end());
  Shape out(r);
  for (size_t d = 0; d < r; ++d) {
    EXPECT_TRUE(as[d] == bs[d] || as[d] == 1 || bs[d] == 1) << "broadcast mismatch";
    out[d] = std::max(as[d], bs[d]);
  }
  Shape ast = strides_of(as), bst = strides_of(bs);
  Tensor y{out, std::vector<float>(count(out))};
  Shape idx(r, 0);
  for (int64_t o = 0; o < count(out); ++o) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < r; ++d) {
      if (as[d] != 1) ia += idx[d] * ast[d];
      if (bs[d] != 1) ib += idx[d] * bst[d];
    }
    y.v[o] = f(a.v[ia], b.v[ib]);
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
  return y;
}

float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }
float hard_sigmoid(float x, float a, float b) { return std::min(1.f, std::max(0.f, a * x + b)); }

float activate(int64_t kind, float a, float b, float x) {
  switch (static_cast<fb::ActivationKind>(kind)) {
    case fb::ActivationKind::None: return x;
    case fb::ActivationKind::Relu: return std::max(x, 0.f);
    case fb::ActivationKind::Clip: return std::min(b, std::max(a, x));
    case fb::ActivationKind::HardSigmoid: return hard_sigmoid(x, a, b);
    case fb::ActivationKind::HardSwish: return x * hard_sigmoid(x, 1.f / 6, 0.5f);
    case fb::ActivationKind::Sigmoid: return sigmoid(x);
    case fb::ActivationKind::SiLU: return x * sigmoid(x);
    case fb::ActivationKind::Tanh: return std::tanh(x);
    case fb::ActivationKind::LeakyRelu: return x < 0 ? a * x : x;
  }
  ADD_FAILURE() << "bad activation " << kind;
  return x;
}

void apply_fused(const ir::Node& n, Tensor* y) {
  int64_t k = n.i("activation", 0);
  float a = n.f("act_alpha", 0.f), b = n.f("act_beta", 0.f);
  for (float& x : y->v) x = activate(k, a, b, x);
}

// NCHW conv / conv-transpose with group, strides, pads, dilations.
Tensor conv_nchw(const ir::Node& n, const Tensor& x, const Tensor& w, const Tensor* b) {
  Shape st = n.ints("strides", {1, 1}), dl = n.ints("dilations", {1, 1}), pd = n.ints("pads", {0, 0, 0, 0});
  int64_t group = n.i("group", 1);
  int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  int64_t kh = w.shape[2], kw = w.shape[3];
  if (n.op == "Conv") {
    int64_t M = w.shape[0], cg = C / group, mg = M / group;
    int64_t OH = (H + pd[0] + pd[2] - dl[0] * (kh - 1) - 1) / st[0] + 1;
    int64_t OW = (W + pd[1] + pd[3] - dl[1] * (kw - 1) - 1) / st[1] + 1;
    Tensor y{{N, M, OH, OW}, std::vector<float>(N * M * OH * OW)};
    for (int64_t b0 = 0; b0 < N; ++b0)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            double acc = b ? b->v[m] : 0.0;
            for (int64_t c = 0; c < cg; ++c)
              for (int64_t i = 0; i < kh; ++i)
                for (int64_t j = 0; j < kw; ++j) {
                  int64_t ih = oh * st[0] - pd[0] + i * dl[0], iw = ow * st[1] - pd[1] + j * dl[1];
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  int64_t ci = (m / mg) * cg + c;
                  acc += x.v[((b0 * C + ci) * H + ih) * W + iw] * w.v[((m * cg + c) * kh + i) * kw + j];
                }
            y.v[((b0 * M + m) * OH + oh) * OW + ow] = static_cast<float>(acc);
          }
    return y;
  }
  int64_t mg = w.shape[1], M = mg * group, cg = C / group;
  int64_t OH = (H - 1) * st[0] + dl[0] * (kh - 1) + 1 - pd[0] - pd[2];
  int64_t OW = (W - 1) * st[1] + dl[1] * (kw - 1) + 1 - pd[1] - pd[3];
  Tensor y{{N, M, OH, OW}, std::vector<float>(N * M * OH * OW, 0.f)};
  for (int64_t b0 = 0; b0 < N; ++b0)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t k = 0; k < OH * OW; ++k) y.v[(b0 * M + m) * OH * OW + k] = b ? b->v[m] : 0.f;
  for (int64_t b0 = 0; b0 < N; ++b0)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ih = 0; ih < H; ++ih)
        for (int64_t iw = 0; iw < W; ++iw)
          for (int64_t j = 0; j < mg; ++j)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t q = 0; q < kw; ++q) {
                int64_t oh = ih * st[0] - pd[0] + i * dl[0], ow = iw * st[1] - pd[1] + q * dl[1];
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                int64_t m = (c / cg) * mg + j;
                y.v[((b0 * M + m) * OH + oh) * OW + ow] +=
                    x.v[((b0 * C + c) * H + ih) * W + iw] * w.v[((c * mg + j) * kh + i) * kw + q];
              }
  return y;
}

bool nhwc(const ir::Node& n) { return n.s("layout", "NCHW") == "NHWC"; }

Tensor eval_node(const ir::Node& n, const std::vector<const Tensor*>& in) {
  const std::string& op = n.op;
  auto unary = [&](const std::function<float(float)>& f) {
    Tensor y = *in[0];
    for (float& x : y.v) x = f(x);
    return y;
  };
  if (op == "Conv" || op == "ConvTranspose") {
    Tensor x = nhwc(n) ? transpose(*in[0], {0, 3, 1, 2}) : *in[0];
    Tensor y = conv_nchw(n, x, *in[1], in.size() > 2 ? in[2] : nullptr);
    if (in.size() > 3 && in[3]) {  // residual R, in the conv's layout, added before the activation
      Tensor r = nhwc(n) ? transpose(*in[3], {0, 3, 1, 2}) : *in[3];
      y = broadcast_binary(y, r, [](float a, float b) { return a + b; });
    }
    apply_fused(n, &y);
    return nhwc(n) ? transpose(y, {0, 2, 3, 1}) : y;
  }
  if (op == "GlobalAveragePool") {
    Tensor x = nhwc(n) ? transpose(*in[0], {0, 3, 1, 2}) : *in[0];
    int64_t nc = x.shape[0] * x.shape[1], hw = x.shape[2] * x.shape[3];
    Tensor y{{x.shape[0], x.shape[1], 1, 1}, std::vector<float>(nc)};
    for (int64_t k = 0; k < nc; ++k) {
      double s = 0;
      for (int64_t j = 0; j < hw; ++j) s += x.v[k * hw + j];
      y.v[k] = static_cast<float>(s / hw);
    }
    return nhwc(n) ? transpose(y, {0, 2, 3, 1}) : y;
  }
  if (op == "BatchNormalization") {
    Tensor y = *in[0];
    int64_t C = y.shape[1], inner = count(y.shape) / (y.shape[0] * C);
    float eps = n.f("epsilon", 1e-5f);
    for (int64_t k = 0; k < count(y.shape); ++k) {
      int64_t c = (k / inner) % C;
      y.v[k] = in[1]->v[c] * (y.v[k] - in[3]->v[c]) / std::sqrt(in[4]->v[c] + eps) + in[2]->v[c];
    }
    return y;
  }
  if (op == "Gemm" || op == "MatMul") {
    Tensor a = *in[0], b = *in[1];
    if (n.i("transA", 0)) a = transpose(a, {1, 0});
    if (n.i("transB", 0)) b = transpose(b, {1, 0});
    int64_t M = a.shape[0], K = a.shape[1], N = b.shape[1];
    Tensor y{{M, N}, std::vector<float>(M * N)};
    float alpha = n.f("alpha", 1.f), beta = n.f("beta", 1.f);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += a.v[i * K + k] * b.v[k * N + j];
        y.v[i * N + j] = static_cast<float>(alpha * s);
      }
    if (in.size() > 2 && in[2]) y = broadcast_binary(y, *in[2], [&](float p, float c) { return p + beta * c; });
    apply_fused(n, &y);
    return y;
  }
  if (op == "MaxPool") {
    Tensor x = nhwc(n) ? transpose(*in[0], {0, 3, 1, 2}) : *in[0];
    Shape k = n.ints("kernel_shape"), st = n.ints("strides", {1, 1});
    int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
    int64_t OH = (H - k[0]) / st[0] + 1, OW = (W - k[1]) / st[1] + 1;
    Tensor y{{N, C, OH, OW}, std::vector<float>(N * C * OH * OW, -INFINITY)};
    for (int64_t p = 0; p < N * C; ++p)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          for (int64_t i = 0; i < k[0]; ++i)
            for (int64_t j = 0; j < k[1]; ++j) {
              float& o = y.v[(p * OH + oh) * OW + ow];
              o = std::max(o, x.v[(p * H + oh * st[0] + i) * W + ow * st[1] + j]);
            }
    return nhwc(n) ? transpose(y, {0, 2, 3, 1}) : y;
  }
  if (op == "Unsqueeze" || op == "Squeeze") {
    Shape s = in[0]->shape;
    std::set<int64_t> axes;
    size_t r = op == "Unsqueeze" ? s.size() + n.ints("axes").size() : s.size();
    for (int64_t a : n.ints("axes")) axes.insert(a < 0 ? a + static_cast<int64_t>(r) : a);
    Shape out;
    if (op == "Squeeze") {
      for (size_t d = 0; d < s.size(); ++d)
        if (!axes.count(d)) out.push_back(s[d]);
    } else {
      for (size_t d = 0, k = 0; d < r; ++d) out.push_back(axes.count(d) ? 1 : s[k++]);
    }
    return Tensor{out, in[0]->v};
  }
  if (op == "Relu") return unary([](float x) { return std::max(x, 0.f); });
  if (op == "Sigmoid") return unary(sigmoid);
  if (op == "Tanh") return unary([](float x) { return std::tanh(x); });
  if (op == "SiLU") return unary([](float x) { return x * sigmoid(x); });
  if (op == "HardSwish") return unary([](float x) { return x * hard_sigmoid(x, 1.f / 6, 0.5f); });
  if (op == "Identity") return *in[0];
  if (op == "LeakyRelu") {
    float a = n.f("alpha", 0.01f);
    return unary([a](float x) { return x < 0 ? a * x : x; });
  }
  if (op == "HardSigmoid") {
    float a = n.f("alpha", 0.2f), b = n.f("beta", 0.5f);
    return unary([a, b](float x) { return hard_sigmoid(x, a, b); });
  }
  if (op == "Clip") {
    float lo = n.f("min", -INFINITY), hi = n.f("max", INFINITY);
    if (in.size() > 1 && in[1]) lo = in[1]->v[0];
    if (in.size() > 2 && in[2]) hi = in[2]->v[0];
    return unary([lo, hi](float x) { return std::min(hi, std::max(lo, x)); });
  }
  if (op == "Add") return broadcast_binary(*in[0], *in[1], [](float a, float b) { return a + b; });
  if (op == "Sub") return broadcast_binary(*in[0], *in[1], [](float a, float b) { return a - b; });
  if (op == "Mul") return broadcast_binary(*in[0], *in[1], [](float a, float b) { return a * b; });
  if (op == "Transpose") return transpose(*in[0], n.ints("perm"));
  if (op == "Reshape") {
    Shape spec = n.ints("shape"), out(spec.size());
    int64_t known = 1, infer = -1;
    for (size_t k = 0; k < spec.size(); ++k) {
      out[k] = spec[k] == 0 ? in[0]->shape[k] : spec[k];
      if (out[k] == -1) infer = static_cast<int64_t>(k);
      else known *= out[k];
    }
    if (infer >= 0) out[infer] = count(in[0]->shape) / known;
    EXPECT_EQ(count(out), count(in[0]->shape));
    return Tensor{out, in[0]->v};
  }
  if (op == "Flatten") {
    int64_t axis = n.i("axis", 1), outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= in[0]->shape[d];
    return Tensor{{outer, count(in[0]->shape) / outer}, in[0]->v};
  }
  if (op == "Concat") {
    int64_t r = static_cast<int64_t>(in[0]->shape.size()), axis = n.i("axis", 0);
    if (axis < 0) axis += r;
    Shape out = in[0]->shape;
    out[axis] = 0;
    for (const Tensor* t : in) out[axis] += t->shape[axis];
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= out[d];
    for (int64_t d = axis + 1; d < r; ++d) inner *= out[d];
    Tensor y{out, {}};
    for (int64_t o = 0; o < outer; ++o)
      for (const Tensor* t : in) {
        int64_t chunk = t->shape[axis] * inner;
        y.v.insert(y.v.end(), t->v.begin() + o * chunk, t->v.begin() + (o + 1) * chunk);
      }
    return y;
  }
  if (op == "Slice") {
    const Tensor& x = *in[0];
    size_t r = x.shape.size();
    Shape starts = n.ints("starts"), ends = n.ints("ends"), axes = n.ints("axes");
    Shape lo(r, 0), hi = x.shape;
    for (size_t k = 0; k < starts.size(); ++k) {
      int64_t a = axes.empty() ? static_cast<int64_t>(k) : axes[k];
      if (a < 0) a += static_cast<int64_t>(r);
      auto clampi = [&](int64_t v) {
        if (v < 0) v += x.shape[a];
        return std::min(std::max<int64_t>(v, 0), x.shape[a]);
      };
      lo[a] = clampi(starts[k]), hi[a] = clampi(ends[k]);
    }
    Shape out(r);
    for (size_t d = 0; d < r; ++d) out[d] = hi[d] - lo[d];
    Tensor y{out, std::vector<float>(count(out))};
    Shape xst = strides_of(x.shape), idx(r, 0);
    for (int64_t o = 0; o < count(out); ++o) {
      int64_t s0 = 0;
      for (size_t d = 0; d < r; ++d) s0 += (idx[d] + lo[d]) * xst[d];
      y.v[o] = x.v[s0];
      for (size_t d = r; d-- > 0;) {
        if (++idx[d] < out[d]) break;
        idx[d] = 0;
      }
    }
    return y;
  }
  if (op == "Pad") {
    Shape pads = n.ints("pads");
    size_t r = in[0]->shape.size();
    Shape out(r);
    for (size_t d = 0; d < r; ++d) out[d] = in[0]->shape[d] + pads[d] + pads[r + d];
    float value = n.f("value", 0.f);
    Tensor y{out, std::vector<float>(count(out), value)};
    Shape ost = strides_of(out), idx(r, 0);
    for (int64_t k = 0; k < count(in[0]->shape); ++k) {
      int64_t o = 0;
      for (size_t d = 0; d < r; ++d) o += (idx[d] + pads[d]) * ost[d];
      y.v[o] = in[0]->v[k];
      for (size_t d = r; d-- > 0;) {
        if (++idx[d] < in[0]->shape[d]) break;
        idx[d] = 0;
      }
    }
    return y;
  }
  if (op == "ReduceMean") {
    size_t r = in[0]->shape.size();
    std::set<int64_t> axes;
    for (int64_t a : n.ints("axes")) axes.insert(a < 0 ? a + static_cast<int64_t>(r) : a);
    Shape kept = in[0]->shape;
    for (int64_t a : axes) kept[a] = 1;
    Tensor sum{kept, std::vector<float>(count(kept), 0.f)};
    Shape kst = strides_of(kept), idx(r, 0);
    for (int64_t k = 0; k < count(in[0]->shape); ++k) {
      int64_t o = 0;
      for (size_t d = 0; d < r; ++d) o += (axes.count(d) ? 0 : idx[d]) * kst[d];
      sum.v[o] += in[0]->v[k];
      for (size_t d = r; d-- > 0;) {
        if (++idx[d] < in[0]->shape[d]) break;
        idx[d] = 0;
      }
    }
    float div = static_cast<float>(count(in[0]->shape) / count(kept));
    for (float& x : sum.v) x /= div;
    if (!n.i("keepdims", 1)) {
      Shape s;
      for (size_t d = 0; d < r; ++d)
        if (!axes.count(d)) s.push_back(kept[d]);
      sum.shape = s;
    }
    return sum;
  }
  ADD_FAILURE() << "evaluator has no op " << op;
  return {};
}

Tensor constant_tensor(const ir::Value& v) {
  Tensor t{v.shape, std::vector<float>(count(v.shape))};
  EXPECT_EQ(v.dtype, fb::DType::F32);
  std::memcpy(t.v.data(), v.data->data(), t.v.size() * sizeof(float));
  return t;
}

// Runs the graph; checks topological order and that each computed shape is the recorded one.
std::map<std::string, Tensor> evaluate(const ir::Graph& g, const std::map<std::string, Tensor>& feeds) {
  std::map<std::string, Tensor> env = feeds;
  for (const ir::Node& n : g.nodes) {
    std::vector<const Tensor*> in;
    for (const auto& name : n.inputs) {
      if (name.empty()) {
        in.push_back(nullptr);
        continue;
      }
      if (!env.count(name)) {
        const ir::Value* v = g.find(name);
        if (!v || !v->is_constant()) {
          ADD_FAILURE() << "node " << n.name << " reads '" << name << "' before it is computed";
          return {};
        }
        env[name] = constant_tensor(*v);
      }
      in.push_back(&env.at(name));
    }
    Tensor y = eval_node(n, in);
    const ir::Value* v = g.find(n.outputs[0]);
    EXPECT_TRUE(v && v->shape_known) << n.outputs[0];
    if (v) {
      EXPECT_EQ(v->shape, y.shape) << "recorded shape of " << n.outputs[0] << " (" << n.op << ")";
    }
    env[n.outputs[0]] = std::move(y);
  }
  std::map<std::string, Tensor> out;
  for (const auto& o : g.outputs) {
    if (!env.count(o)) {
      ADD_FAILURE() << "output " << o << " not computed";
      continue;
    }
    out[o] = env.at(o);
  }
  return out;
}

void expect_same_outputs(const std::map<std::string, Tensor>& got, const std::map<std::string, Tensor>& want,
                         float tol = 1e-4f) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, w] : want) {
    ASSERT_TRUE(got.count(name)) << name;
    const Tensor& t = got.at(name);
    ASSERT_EQ(t.shape, w.shape) << name;
    float scale = 1.f;
    for (float x : w.v) scale = std::max(scale, std::abs(x));
    for (size_t k = 0; k < w.v.size(); ++k)
      ASSERT_NEAR(t.v[k], w.v[k], tol * scale) << name << " at " << k;
  }
}

// ---- graph building --------------------------------------------------------------------------

std::vector<float> randoms(int64_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct Builder {
  ir::Graph g;
  uint32_t seed = 1;

  Builder() { g.opset = 13; }

  void input(const std::string& name, Shape shape) {
    ir::Value& v = g.value(name);
    v.name = name;
    v.shape = std::move(shape);
    v.shape_known = true;
    g.inputs.push_back(name);
  }
  std::string constant(const std::string& name, Shape shape, std::vector<float> data) {
    EXPECT_EQ(count(shape), static_cast<int64_t>(data.size()));
    std::vector<uint8_t> bytes(data.size() * 4);
    std::memcpy(bytes.data(), data.data(), bytes.size());
    return g.add_constant(name, fb::DType::F32, std::move(shape), std::move(bytes));
  }
  std::string random_constant(const std::string& name, Shape shape, float lo = -1.f, float hi = 1.f) {
    return constant(name, shape, randoms(count(shape), seed++, lo, hi));
  }
  ir::Node& node(const std::string& op, std::vector<std::string> inputs, const std::string& out, Shape out_shape) {
    ir::Value& v = g.value(out);
    v.name = out;
    v.shape = std::move(out_shape);
    v.shape_known = true;
    ir::Node n;
    n.op = op;
    n.name = out + "_node";
    n.inputs = std::move(inputs);
    n.outputs = {out};
    g.nodes.push_back(std::move(n));
    return g.nodes.back();
  }
  // Conv with random weights [M, C/group, k, k] and bias; 'same' padding for odd k, stride 1.
  ir::Node& conv(const std::string& x, const std::string& out, int64_t c, int64_t m, int64_t k, Shape out_shape,
                 int64_t group = 1, bool bias = true) {
    std::string w = random_constant(out + "_w", {m, c / group, k, k});
    std::vector<std::string> in = {x, w};
    if (bias) in.push_back(random_constant(out + "_b", {m}));
    ir::Node& n = node("Conv", in, out, std::move(out_shape));
    int64_t p = k / 2;
    n.set_ints("pads", {p, p, p, p});
    n.set_ints("kernel_shape", {k, k});
    if (group != 1) n.set_i("group", group);
    return n;
  }
  ir::Node& batchnorm(const std::string& x, const std::string& out, int64_t c, Shape out_shape) {
    std::string s = random_constant(out + "_scale", {c}, 0.5f, 1.5f);
    std::string b = random_constant(out + "_B", {c});
    std::string m = random_constant(out + "_mean", {c});
    std::string v = random_constant(out + "_var", {c}, 0.1f, 2.f);
    ir::Node& n = node("BatchNormalization", {x, s, b, m, v}, out, std::move(out_shape));
    n.set_f("epsilon", 1e-3f);
    return n;
  }
  void output(const std::string& name) { g.outputs.push_back(name); }

  std::map<std::string, Tensor> feeds() const {
    std::map<std::string, Tensor> f;
    uint32_t s = 1000;
    for (const auto& name : g.inputs) {
      const ir::Value& v = *g.find(name);
      f[name] = Tensor{v.shape, randoms(count(v.shape), s++, -2.f, 2.f)};
    }
    return f;
  }
};

int op_count(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op == op;
  return n;
}

const ir::Node* find_op(const ir::Graph& g, const std::string& op) {
  for (const auto& n : g.nodes)
    if (n.op == op) return &n;
  return nullptr;
}

const ir::Node* producer_of(const ir::Graph& g, const std::string& v) {
  int p = g.producer(v);
  return p < 0 ? nullptr : &g.nodes[p];
}

// Runs passes and checks the result computes what the original did.
void run_and_compare(Builder& b, std::vector<Status (*)(ir::Graph&, std::vector<std::string>*)> passes,
                     float tol = 1e-4f) {
  auto feeds = b.feeds();
  auto want = evaluate(b.g, feeds);
  std::vector<std::string> notes;
  for (auto pass : passes) {
    Status st = pass(b.g, &notes);
    ASSERT_TRUE(st.ok()) << st.message();
  }
  auto got = evaluate(b.g, feeds);
  expect_same_outputs(got, want, tol);
}

// ---- fold_batchnorm ----------------------------------------------------------------------------

TEST(ConverterPasses, ConvBnReluFoldsToOneConvWithActivation) {
  Builder b;
  b.input("x", {1, 3, 6, 6});
  b.conv("x", "c", 3, 4, 3, {1, 4, 6, 6});
  b.batchnorm("c", "bn", 4, {1, 4, 6, 6});
  b.node("Relu", {"bn"}, "y", {1, 4, 6, 6});
  b.output("y");
  run_and_compare(b, {fold_batchnorm, fuse_activations});
  ASSERT_EQ(b.g.nodes.size(), 1u);
  const ir::Node& conv = b.g.nodes[0];
  EXPECT_EQ(conv.op, "Conv");
  EXPECT_EQ(conv.outputs[0], "y");
  EXPECT_EQ(conv.i("activation", 0), static_cast<int64_t>(fb::ActivationKind::Relu));
  EXPECT_EQ(b.g.outputs, std::vector<std::string>{"y"});
}

TEST(ConverterPasses, BnFoldsIntoBiaslessAndGroupedConv) {
  Builder b;
  b.input("x", {2, 4, 5, 5});
  b.conv("x", "c", 4, 6, 3, {2, 6, 5, 5}, /*group=*/2, /*bias=*/false);
  b.batchnorm("c", "y", 6, {2, 6, 5, 5});
  b.output("y");
  run_and_compare(b, {fold_batchnorm});
  ASSERT_EQ(b.g.nodes.size(), 1u);
  EXPECT_EQ(b.g.nodes[0].inputs.size(), 3u);  // bias created
  EXPECT_EQ(b.g.find(b.g.nodes[0].inputs[2])->shape, Shape{6});
}

TEST(ConverterPasses, BnFoldsIntoGroupedConvTranspose) {
  Builder b;
  b.input("x", {1, 4, 3, 3});
  // W [C_in=4, C_out/group=3, 2, 2], group 2 -> 6 output channels.
  std::string w = b.random_constant("w", {4, 3, 2, 2});
  ir::Node& ct = b.node("ConvTranspose", {"x", w}, "c", {1, 6, 6, 6});
  ct.set_i("group", 2);
  ct.set_ints("strides", {2, 2});
  b.batchnorm("c", "y", 6, {1, 6, 6, 6});
  b.output("y");
  run_and_compare(b, {fold_batchnorm});
  ASSERT_EQ(b.g.nodes.size(), 1u);
  EXPECT_EQ(b.g.nodes[0].op, "ConvTranspose");
}

TEST(ConverterPasses, BnFoldsIntoGemm) {
  for (int trans_b = 0; trans_b < 2; ++trans_b)
    for (int with_c = 0; with_c < 2; ++with_c) {
      Builder b;
      b.input("a", {3, 5});
      std::string w = b.random_constant("w", trans_b ? Shape{4, 5} : Shape{5, 4});
      std::vector<std::string> in = {"a", w};
      if (with_c) in.push_back(b.random_constant("c", {4}));
      ir::Node& gemm = b.node("Gemm", in, "g", {3, 4});
      gemm.set_i("transB", trans_b);
      gemm.set_f("beta", 0.5f);
      gemm.set_f("alpha", 1.5f);
      b.batchnorm("g", "y", 4, {3, 4});
      b.output("y");
      run_and_compare(b, {fold_batchnorm});
      ASSERT_EQ(b.g.nodes.size(), 1u) << trans_b << with_c;
      EXPECT_EQ(b.g.nodes[0].op, "Gemm");
    }
}

TEST(ConverterPasses, BnAfterNonConvBecomesMulAdd) {
  struct Case {
    Shape shape, constant_shape;
  } cases[] = {{{2, 3, 4, 4}, {3, 1, 1}}, {{2, 3}, {3}}, {{2, 3, 5}, {3, 1}}};
  for (const auto& c : cases) {
    Builder b;
    b.input("x", c.shape);
    b.node("Relu", {"x"}, "r", c.shape);
    b.batchnorm("r", "y", 3, c.shape);
    b.output("y");
    run_and_compare(b, {fold_batchnorm});
    EXPECT_EQ(op_count(b.g, "BatchNormalization"), 0);
    ASSERT_EQ(op_count(b.g, "Mul"), 1);
    ASSERT_EQ(op_count(b.g, "Add"), 1);
    const ir::Node* mul = find_op(b.g, "Mul");
    EXPECT_EQ(b.g.find(mul->inputs[1])->shape, c.constant_shape);
    EXPECT_EQ(producer_of(b.g, "y")->op, "Add");
  }
}

TEST(ConverterPasses, BnAfterSharedConvOutputIsNotFolded) {
  Builder b;
  b.input("x", {1, 2, 4, 4});
  b.conv("x", "c", 2, 3, 1, {1, 3, 4, 4});
  b.batchnorm("c", "y", 3, {1, 3, 4, 4});
  b.node("Relu", {"c"}, "z", {1, 3, 4, 4});
  b.output("y");
  b.output("z");
  run_and_compare(b, {fold_batchnorm});
  EXPECT_EQ(op_count(b.g, "Conv"), 1);
  EXPECT_EQ(op_count(b.g, "Mul"), 1);
  EXPECT_EQ(op_count(b.g, "Add"), 1);
}

TEST(ConverterPasses, TrainingModeBnIsRejectedByName) {
  Builder b;
  b.input("x", {1, 2, 3, 3});
  ir::Node& bn = b.batchnorm("x", "y", 2, {1, 2, 3, 3});
  bn.name = "bn_train";
  bn.outputs.push_back("running_mean");
  b.g.value("running_mean") = ir::Value{"running_mean", fb::DType::F32, {2}, {}, true, nullptr};
  b.output("y");
  b.output("running_mean");
  Status st = fold_batchnorm(b.g, nullptr);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bn_train"), std::string::npos) << st.message();
}

TEST(ConverterPasses, OldOpsetBnAttributesAreIgnored) {
  Builder b;
  b.input("x", {1, 2, 3, 3});
  b.conv("x", "c", 2, 2, 3, {1, 2, 3, 3});
  ir::Node& bn = b.batchnorm("c", "y", 2, {1, 2, 3, 3});
  bn.set_i("is_test", 1);
  bn.set_i("spatial", 1);
  bn.set_ints("consumed_inputs", {0, 0, 0, 1, 1});
  bn.outputs = {"y", "", ""};
  b.output("y");
  run_and_compare(b, {fold_batchnorm});
  EXPECT_EQ(b.g.nodes.size(), 1u);
}

// ---- fuse_activations -------------------------------------------------------------------------

TEST(ConverterPasses, ClipWithOpset6AttributesFuses) {
  Builder b;
  b.g.opset = 6;
  b.input("x", {1, 2, 4, 4});
  b.conv("x", "c", 2, 3, 3, {1, 3, 4, 4});
  ir::Node& clip = b.node("Clip", {"c"}, "y", {1, 3, 4, 4});
  clip.set_f("min", 0.f);
  clip.set_f("max", 0.5f);
  b.output("y");
  run_and_compare(b, {fuse_activations});
  ASSERT_EQ(b.g.nodes.size(), 1u);
  const ir::Node& c = b.g.nodes[0];
  EXPECT_EQ(c.i("activation", 0), static_cast<int64_t>(fb::ActivationKind::Clip));
  EXPECT_EQ(c.f("act_alpha", -1), 0.f);
  EXPECT_EQ(c.f("act_beta", -1), 0.5f);
}

TEST(ConverterPasses, Relu6FromConstantClipInputsFusesIntoGemm) {
  Builder b;
  b.input("a", {2, 3});
  std::string w = b.random_constant("w", {3, 4}, -3.f, 3.f);
  b.node("Gemm", {"a", w}, "g", {2, 4});
  std::string lo = b.constant("lo", {}, {0.f});
  std::string hi = b.constant("hi", {}, {6.f});
  b.node("Clip", {"g", lo, hi}, "y", {2, 4});
  b.output("y");
  run_and_compare(b, {fuse_activations});
  ASSERT_EQ(b.g.nodes.size(), 1u);
  EXPECT_EQ(b.g.nodes[0].f("act_beta", 0), 6.f);
}

TEST(ConverterPasses, ReluThenClipMergeIntoOneClamp) {
  Builder b;
  b.g.opset = 9;
  b.input("x", {1, 2, 4, 4});
  b.conv("x", "c", 2, 3, 3, {1, 3, 4, 4});
  b.node("Relu", {"c"}, "r", {1, 3, 4, 4});
  b.node("Clip", {"r"}, "y", {1, 3, 4, 4}).set_f("max", 0.25f);
  b.node("Relu", {"y"}, "z", {1, 3, 4, 4});  // redundant: merges too
  b.output("z");
  run_and_compare(b, {fuse_activations});
  ASSERT_EQ(b.g.nodes.size(), 1u);
  const ir::Node& c = b.g.nodes[0];
  EXPECT_EQ(c.i("activation", 0), static_cast<int64_t>(fb::ActivationKind::Clip));
  EXPECT_EQ(c.f("act_alpha", -1), 0.f);
  EXPECT_EQ(c.f("act_beta", -1), 0.25f);
}

TEST(ConverterPasses, ClipWithComputedBoundStaysSeparate) {
  Builder b;
  b.input("x", {1, 2, 3, 3});
  b.input("lo", {});
  b.conv("x", "c", 2, 2, 1, {1, 2, 3, 3});
  b.node("Clip", {"c", "lo"}, "y", {1, 2, 3, 3});
  b.output("y");
  ASSERT_TRUE(fuse_activations(b.g, nullptr).ok());
  EXPECT_EQ(b.g.nodes.size(), 2u);
  EXPECT_FALSE(b.g.nodes[0].has("activation"));
}

TEST(ConverterPasses, EachActivationKindFusesWithItsParameters) {
  struct Case {
    std::string op;
    fb::ActivationKind kind;
    float alpha, beta;
  } cases[] = {{"Relu", fb::ActivationKind::Relu, 0, 0},
               {"Sigmoid", fb::ActivationKind::Sigmoid, 0, 0},
               {"Tanh", fb::ActivationKind::Tanh, 0, 0},
               {"HardSwish", fb::ActivationKind::HardSwish, 0, 0},
               {"LeakyRelu", fb::ActivationKind::LeakyRelu, 0.3f, 0},
               {"HardSigmoid", fb::ActivationKind::HardSigmoid, 0.25f, 0.4f}};
  for (const auto& c : cases) {
    Builder b;
    b.input("a", {2, 3});
    std::string w = b.random_constant("w", {3, 4}, -3.f, 3.f);
    b.node("MatMul", {"a", w}, "m", {2, 4});
    ir::Node& act = b.node(c.op, {"m"}, "y", {2, 4});
    if (c.op == "LeakyRelu") act.set_f("alpha", c.alpha);
    if (c.op == "HardSigmoid") act.set_f("alpha", c.alpha), act.set_f("beta", c.beta);
    b.output("y");
    run_and_compare(b, {fuse_activations});
    ASSERT_EQ(b.g.nodes.size(), 1u) << c.op;
    const ir::Node& m = b.g.nodes[0];
    EXPECT_EQ(m.i("activation", 0), static_cast<int64_t>(c.kind)) << c.op;
    EXPECT_EQ(m.f("act_alpha", -1), c.alpha) << c.op;
    EXPECT_EQ(m.f("act_beta", -1), c.beta) << c.op;
  }
}

TEST(ConverterPasses, HardSwishAndSiluPatternsFuseIntoConv) {
  for (bool swish : {true, false}) {
    Builder b;
    b.input("x", {1, 2, 4, 4});
    b.conv("x", "c", 2, 3, 3, {1, 3, 4, 4});
    ir::Node& gate = b.node(swish ? "HardSigmoid" : "Sigmoid", {"c"}, "h", {1, 3, 4, 4});
    if (swish) gate.set_f("alpha", 1.f / 6), gate.set_f("beta", 0.5f);
    b.node("Mul", {"h", "c"}, "y", {1, 3, 4, 4});
    b.output("y");
    run_and_compare(b, {fuse_activations});
    ASSERT_EQ(b.g.nodes.size(), 1u);
    EXPECT_EQ(b.g.nodes[0].i("activation", 0),
              static_cast<int64_t>(swish ? fb::ActivationKind::HardSwish : fb::ActivationKind::SiLU));
    EXPECT_EQ(b.g.nodes[0].outputs[0], "y");
  }
}

TEST(ConverterPasses, StandaloneGatedPatternsBecomeHardSwishAndSilu) {
  for (bool swish : {true, false}) {
    Builder b;
    b.input("x", {2, 5});
    ir::Node& gate = b.node(swish ? "HardSigmoid" : "Sigmoid", {"x"}, "h", {2, 5});
    if (swish) gate.set_f("alpha", 0.16666667f);
    b.node("Mul", {"x", "h"}, "y", {2, 5});
    b.node("Relu", {"x"}, "z", {2, 5});  // x has a third reader: still a valid pattern
    b.output("y");
    b.output("z");
    run_and_compare(b, {fuse_activations});
    EXPECT_EQ(op_count(b.g, swish ? "HardSwish" : "SiLU"), 1);
    EXPECT_EQ(op_count(b.g, "Mul"), 0);
    EXPECT_EQ(b.g.nodes.size(), 2u);
  }
}

TEST(ConverterPasses, NoFusionWhenProducerOutputIsSharedOrAGraphOutput) {
  Builder b;
  b.input("x", {1, 2, 3, 3});
  b.conv("x", "c", 2, 2, 1, {1, 2, 3, 3});
  b.node("Relu", {"c"}, "y", {1, 2, 3, 3});
  b.conv("x", "d", 2, 2, 1, {1, 2, 3, 3});
  b.node("Relu", {"d"}, "z", {1, 2, 3, 3});
  b.output("y");
  b.output("c");  // c is also a model output
  b.output("z");
  b.node("Sigmoid", {"z"}, "w", {1, 2, 3, 3});  // z: Relu fused into d, then only one per conv
  b.output("w");
  run_and_compare(b, {fuse_activations});
  EXPECT_EQ(op_count(b.g, "Relu"), 1);
  EXPECT_EQ(op_count(b.g, "Sigmoid"), 1);
}

// ---- convert_to_nhwc -------------------------------------------------------------------------

void expect_all_conv_ops_nhwc(const ir::Graph& g) {
  for (const auto& n : g.nodes) {
    if (n.op == "Conv" || n.op == "GlobalAveragePool" || n.op == "ConvTranspose") {
      EXPECT_EQ(n.s("layout", ""), "NHWC") << n.name;
    }
  }
}

TEST(ConverterPasses, ConvChainHasTransposesOnlyAtTheEdges) {
  Builder b;
  b.input("x", {1, 3, 5, 5});
  b.conv("x", "c1", 3, 4, 3, {1, 4, 5, 5}).set_i("activation", 1);
  b.node("Relu", {"c1"}, "r", {1, 4, 5, 5});
  b.conv("r", "c2", 4, 4, 3, {1, 4, 5, 5});
  b.node("Add", {"c2", "c1"}, "s", {1, 4, 5, 5});
  b.conv("s", "y", 4, 2, 1, {1, 2, 5, 5});
  b.output("y");
  run_and_compare(b, {convert_to_nhwc});
  expect_all_conv_ops_nhwc(b.g);
  EXPECT_EQ(op_count(b.g, "Transpose"), 2);
  EXPECT_EQ(producer_of(b.g, "y")->op, "Transpose");  // the output keeps its name and NCHW
  EXPECT_EQ(b.g.find("y")->shape, (Shape{1, 2, 5, 5}));
  for (const auto& n : b.g.nodes)
    if (n.op == "Transpose") {
      bool at_input = n.inputs[0] == "x", at_output = n.outputs[0] == "y";
      EXPECT_TRUE(at_input || at_output) << n.name;
    }
}

TEST(ConverterPasses, MobileNetV3BlockHasOneTransposeAndAReshapeBeforeFlatten) {
  Builder b;
  b.input("x", {1, 3, 8, 8});
  b.conv("x", "c0", 3, 8, 3, {1, 8, 8, 8});
  b.batchnorm("c0", "bn0", 8, {1, 8, 8, 8});
  b.node("HardSwish", {"bn0"}, "h0", {1, 8, 8, 8});
  // depthwise conv + BN + hardswish as x * HardSigmoid(x)
  b.conv("h0", "dw", 8, 8, 3, {1, 8, 8, 8}, /*group=*/8);
  b.batchnorm("dw", "bn1", 8, {1, 8, 8, 8});
  ir::Node& hs = b.node("HardSigmoid", {"bn1"}, "g1", {1, 8, 8, 8});
  hs.set_f("alpha", 1.f / 6);
  b.node("Mul", {"bn1", "g1"}, "h1", {1, 8, 8, 8});
  // squeeze-excite
  b.node("GlobalAveragePool", {"h1"}, "se_p", {1, 8, 1, 1});
  b.conv("se_p", "se_c1", 8, 4, 1, {1, 4, 1, 1});
  b.node("Relu", {"se_c1"}, "se_r", {1, 4, 1, 1});
  b.conv("se_r", "se_c2", 4, 8, 1, {1, 8, 1, 1});
  b.node("HardSigmoid", {"se_c2"}, "se_s", {1, 8, 1, 1}).set_f("alpha", 1.f / 6);
  b.node("Mul", {"h1", "se_s"}, "se", {1, 8, 8, 8});
  // project, residual-free head
  b.conv("se", "proj", 8, 6, 1, {1, 6, 8, 8});
  b.batchnorm("proj", "bn2", 6, {1, 6, 8, 8});
  b.node("GlobalAveragePool", {"bn2"}, "pool", {1, 6, 1, 1});
  b.node("Flatten", {"pool"}, "flat", {1, 6});
  std::string w = b.random_constant("fc_w", {5, 6});
  std::string bias = b.random_constant("fc_b", {5});
  b.node("Gemm", {"flat", w, bias}, "logits", {1, 5}).set_i("transB", 1);
  b.output("logits");
  run_and_compare(b, {fold_batchnorm, fuse_activations, convert_to_nhwc});

  EXPECT_EQ(op_count(b.g, "BatchNormalization"), 0);
  EXPECT_EQ(op_count(b.g, "Conv"), 5);
  EXPECT_EQ(op_count(b.g, "HardSwish"), 0);  // both fused
  EXPECT_EQ(op_count(b.g, "Relu"), 0);
  EXPECT_EQ(op_count(b.g, "Mul"), 1);  // the SE scale
  EXPECT_EQ(op_count(b.g, "Transpose"), 1);
  const ir::Node* t = find_op(b.g, "Transpose");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->inputs[0], "x");
  EXPECT_EQ(t->ints("perm"), (Shape{0, 2, 3, 1}));
  const ir::Node* flatten = find_op(b.g, "Flatten");
  ASSERT_TRUE(flatten);
  const ir::Node* before = producer_of(b.g, flatten->inputs[0]);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->op, "Reshape");
  EXPECT_EQ(producer_of(b.g, before->inputs[0])->op, "GlobalAveragePool");
  expect_all_conv_ops_nhwc(b.g);
}

TEST(ConverterPasses, ConcatOfTwoConvBranchesRemapsAxis) {
  Builder b;
  b.input("x", {1, 3, 4, 4});
  b.conv("x", "a", 3, 2, 3, {1, 2, 4, 4});
  b.conv("x", "c", 3, 5, 1, {1, 5, 4, 4});
  b.node("Concat", {"a", "c"}, "cat", {1, 7, 4, 4}).set_i("axis", 1);
  b.conv("cat", "y", 7, 3, 3, {1, 3, 4, 4});
  b.output("y");
  run_and_compare(b, {convert_to_nhwc});
  EXPECT_EQ(find_op(b.g, "Concat")->i("axis", -1), 3);
  EXPECT_EQ(op_count(b.g, "Transpose"), 2);  // one for x (shared by both convs), one for y
}

TEST(ConverterPasses, ConstantOperandsArePermutedAndLayoutAgnosticOpsRemapped) {
  Builder b;
  b.input("x", {1, 3, 4, 5});
  b.conv("x", "c", 3, 4, 3, {1, 4, 4, 5});
  std::string scale = b.random_constant("ch_scale", {4, 1, 1});
  b.node("Mul", {"c", scale}, "m", {1, 4, 4, 5});
  std::string full = b.random_constant("full", {1, 4, 4, 5});
  b.node("Sub", {"m", full}, "s", {1, 4, 4, 5});
  std::string k = b.constant("k", {1}, {0.5f});
  b.node("Add", {"s", k}, "a", {1, 4, 4, 5});
  ir::Node& pad = b.node("Pad", {"a"}, "p", {1, 4, 6, 8});
  pad.set_ints("pads", {0, 0, 1, 2, 0, 0, 1, 1});
  pad.set_s("mode", "constant");
  b.conv("p", "c2", 4, 2, 3, {1, 2, 6, 8});
  ir::Node& red = b.node("ReduceMean", {"c2"}, "r", {1, 2});
  red.set_ints("axes", {2, 3});
  red.set_i("keepdims", 0);
  b.output("r");
  run_and_compare(b, {convert_to_nhwc});
  EXPECT_EQ(op_count(b.g, "Transpose"), 1);  // only at the input; ReduceMean ends NHWC
  EXPECT_EQ(b.g.find(find_op(b.g, "Mul")->inputs[1])->shape, (Shape{1, 1, 1, 4}));
  EXPECT_EQ(find_op(b.g, "Pad")->ints("pads"), (Shape{0, 1, 2, 0, 0, 1, 1, 0}));
  EXPECT_EQ(find_op(b.g, "ReduceMean")->ints("axes"), (Shape{1, 2}));
  EXPECT_EQ(producer_of(b.g, "r")->op, "ReduceMean");
}

TEST(ConverterPasses, SoftmaxSliceAndSplitAxesAreRemapped) {
  Builder b;
  b.input("x", {1, 4, 3, 3});
  b.conv("x", "c", 4, 4, 1, {1, 4, 3, 3});
  b.node("Softmax", {"c"}, "sm", {1, 4, 3, 3}).set_i("axis", 1);
  ir::Node& sl = b.node("Slice", {"sm"}, "sl", {1, 2, 3, 3});
  sl.set_ints("starts", {1});
  sl.set_ints("ends", {3});
  sl.set_ints("axes", {-3});
  b.conv("sl", "y", 2, 2, 1, {1, 2, 3, 3});
  b.output("y");
  ASSERT_TRUE(convert_to_nhwc(b.g, nullptr).ok());
  EXPECT_EQ(find_op(b.g, "Softmax")->i("axis", -1), 3);
  EXPECT_EQ(find_op(b.g, "Slice")->ints("axes"), (Shape{3}));
  EXPECT_EQ(b.g.find(find_op(b.g, "Slice")->outputs[0])->shape, (Shape{1, 3, 3, 2}));
  EXPECT_EQ(op_count(b.g, "Transpose"), 2);
}

TEST(ConverterPasses, ModelTransposesCancelAgainstLayoutTransposes) {
  Builder b;
  b.input("x", {1, 5, 5, 3});  // an NHWC model input
  ir::Node& t = b.node("Transpose", {"x"}, "t", {1, 3, 5, 5});
  t.set_ints("perm", {0, 3, 1, 2});
  b.conv("t", "c", 3, 4, 3, {1, 4, 5, 5});
  b.node("Relu", {"c"}, "r", {1, 4, 5, 5});
  b.node("Transpose", {"r"}, "y", {1, 5, 5, 4}).set_ints("perm", {0, 2, 3, 1});
  b.output("y");
  run_and_compare(b, {convert_to_nhwc});
  EXPECT_EQ(op_count(b.g, "Transpose"), 0);
  EXPECT_EQ(op_count(b.g, "Reshape"), 0);
  EXPECT_EQ(b.g.nodes.size(), 2u);
  EXPECT_EQ(producer_of(b.g, "y")->op, "Relu");
}

TEST(ConverterPasses, ModelTransposeIsNotMovedOntoTheOtherOperand) {
  Builder b;
  b.input("a", {2, 3, 4});
  b.input("c", {2, 4, 3});
  b.node("Transpose", {"a"}, "t", {2, 4, 3}).set_ints("perm", {0, 2, 1});
  b.node("Add", {"t", "c"}, "s", {2, 4, 3});
  b.node("Flatten", {"s"}, "y", {2, 12});
  b.output("y");
  run_and_compare(b, {convert_to_nhwc});
  EXPECT_EQ(op_count(b.g, "Transpose"), 1);
  EXPECT_EQ(find_op(b.g, "Transpose")->inputs[0], "a");
}

TEST(ConverterPasses, GraphOutputsKeepNamesAndLogicalShapes) {
  Builder b;
  b.input("x", {2, 3, 4, 4});
  b.conv("x", "c", 3, 3, 3, {2, 3, 4, 4});
  b.node("Sigmoid", {"c"}, "s", {2, 3, 4, 4});
  b.node("Flatten", {"c"}, "f", {2, 48});
  b.output("c");
  b.output("s");
  b.output("f");
  run_and_compare(b, {convert_to_nhwc});
  EXPECT_EQ(b.g.outputs, (std::vector<std::string>{"c", "s", "f"}));
  EXPECT_EQ(b.g.inputs, (std::vector<std::string>{"x"}));
  // c is read back in NCHW once, by both the graph output and the Flatten.
  EXPECT_EQ(producer_of(b.g, "c")->op, "Transpose");
  EXPECT_EQ(find_op(b.g, "Flatten")->inputs[0], "c");
}

TEST(ConverterPasses, PoolingAndSqueezeStayChannelsLast) {
  Builder b;
  b.input("x", {1, 2, 6, 6});
  b.conv("x", "c", 2, 4, 3, {1, 4, 6, 6});
  ir::Node& mp = b.node("MaxPool", {"c"}, "p", {1, 4, 3, 3});
  mp.set_ints("kernel_shape", {2, 2});
  mp.set_ints("strides", {2, 2});
  mp.outputs.push_back("unused_indices");  // nobody reads it: dropped, the pool still converts
  b.conv("p", "c2", 4, 3, 3, {1, 3, 3, 3});
  b.node("GlobalAveragePool", {"c2"}, "g", {1, 3, 1, 1});
  b.node("Squeeze", {"g"}, "y", {1, 3}).set_ints("axes", {2, 3});
  b.output("y");
  run_and_compare(b, {convert_to_nhwc});
  EXPECT_EQ(find_op(b.g, "MaxPool")->s("layout", ""), "NHWC");
  EXPECT_EQ(find_op(b.g, "MaxPool")->outputs.size(), 1u);
  EXPECT_EQ(find_op(b.g, "Squeeze")->ints("axes"), (Shape{1, 2}));
  EXPECT_EQ(op_count(b.g, "Transpose"), 1);
  EXPECT_EQ(op_count(b.g, "Reshape"), 0);
}

TEST(ConverterPasses, LiftedOneDimensionalConvChainHasNoInnerTransposes) {
  Builder b;
  b.input("x", {1, 3, 10});
  std::string prev = "x";
  int64_t c = 3;
  for (int l = 0; l < 3; ++l) {
    std::string id = std::to_string(l);
    b.node("Unsqueeze", {prev}, "u" + id, {1, c, 1, 10}).set_ints("axes", {2});
    std::string w = b.random_constant("w" + id, {4, c, 1, 3});
    ir::Node& conv = b.node("Conv", {"u" + id, w}, "c" + id, {1, 4, 1, 10});
    conv.set_ints("pads", {0, 1, 0, 1});
    b.node("Squeeze", {"c" + id}, "s" + id, {1, 4, 10}).set_ints("axes", {2});
    b.node("Relu", {"s" + id}, "r" + id, {1, 4, 10});
    prev = "r" + id;
    c = 4;
  }
  b.output(prev);
  run_and_compare(b, {convert_to_nhwc});
  EXPECT_EQ(op_count(b.g, "Transpose"), 2);  // the input and the output
  EXPECT_EQ(op_count(b.g, "Reshape"), 0);
  for (const auto& n : b.g.nodes) {
    if (n.op == "Unsqueeze" && n.inputs[0] != "x") {
      EXPECT_EQ(n.ints("axes"), (Shape{1}));
    }
  }
}

TEST(ConverterPasses, BinaryOpWithGraphInputFollowsTheConvLayout) {
  Builder b;
  b.input("x", {1, 3, 4, 4});
  b.input("skip", {1, 4, 4, 4});
  b.conv("x", "c", 3, 4, 3, {1, 4, 4, 4});
  b.node("Add", {"c", "skip"}, "a", {1, 4, 4, 4});
  b.conv("a", "y", 4, 2, 3, {1, 2, 4, 4});
  b.output("y");
  run_and_compare(b, {convert_to_nhwc});
  EXPECT_EQ(op_count(b.g, "Transpose"), 3);  // x, skip, y
  for (const auto& n : b.g.nodes) {
    if (n.op == "Transpose") {
      EXPECT_TRUE(n.inputs[0] == "x" || n.inputs[0] == "skip" || n.outputs[0] == "y");
    }
  }
}

TEST(ConverterPasses, SplitAndResizeAttributesArePermuted) {
  Builder b;
  b.input("x", {1, 4, 3, 3});
  b.conv("x", "c", 4, 4, 1, {1, 4, 3, 3});
  ir::Node& rs = b.node("Resize", {"c"}, "rz", {1, 4, 6, 9});
  rs.set_floats("scales", {1.f, 1.f, 2.f, 3.f});
  rs.set_s("mode", "nearest");
  ir::Node& sp = b.node("Split", {"rz"}, "p0", {1, 1, 6, 9});
  sp.outputs.push_back("p1");
  b.g.value("p1") = ir::Value{"p1", fb::DType::F32, {1, 3, 6, 9}, {}, true, nullptr};
  sp.set_i("axis", 1);
  sp.set_ints("split", {1, 3});
  b.conv("p0", "y0", 1, 2, 1, {1, 2, 6, 9});
  b.conv("p1", "y1", 3, 2, 1, {1, 2, 6, 9});
  b.output("y0");
  b.output("y1");
  ASSERT_TRUE(convert_to_nhwc(b.g, nullptr).ok());
  EXPECT_EQ(find_op(b.g, "Resize")->floats("scales"), (std::vector<float>{1.f, 2.f, 3.f, 1.f}));
  EXPECT_EQ(find_op(b.g, "Split")->i("axis", -1), 3);
  EXPECT_EQ(b.g.find(find_op(b.g, "Split")->outputs[1])->shape, (Shape{1, 6, 9, 3}));
  EXPECT_EQ(op_count(b.g, "Transpose"), 3);  // x, y0, y1
}

TEST(ConverterPasses, SymbolicBatchUsesReshapeCopyingTheBatchDim) {
  Builder b;
  b.input("x", {-1, 3, 4, 4});
  b.conv("x", "c", 3, 8, 3, {-1, 8, 4, 4});
  b.node("GlobalAveragePool", {"c"}, "g", {-1, 8, 1, 1});
  b.node("Flatten", {"g"}, "y", {-1, 8});
  b.output("y");
  ASSERT_TRUE(convert_to_nhwc(b.g, nullptr).ok());
  const ir::Node* r = find_op(b.g, "Reshape");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ints("shape"), (Shape{0, 8, 1, 1}));
  EXPECT_EQ(b.g.find(r->outputs[0])->shape, (Shape{-1, 8, 1, 1}));
  EXPECT_EQ(op_count(b.g, "Transpose"), 1);
}

TEST(ConverterPasses, LongConvChainConvertsInLinearTime) {
  Builder b;
  const int kLayers = 600;
  b.input("x", {1, 4, 2, 2});
  std::string prev = "x";
  for (int l = 0; l < kLayers; ++l) {
    std::string c = "c" + std::to_string(l), r = "r" + std::to_string(l);
    b.conv(prev, c, 4, 4, 1, {1, 4, 2, 2});
    b.node(l % 2 ? "Relu" : "Sigmoid", {c}, r, {1, 4, 2, 2});
    std::string s = "s" + std::to_string(l);
    b.node("Add", {r, prev}, s, {1, 4, 2, 2});
    prev = s;
  }
  b.output(prev);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(fuse_activations(b.g, nullptr).ok());
  ASSERT_TRUE(convert_to_nhwc(b.g, nullptr).ok());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 1.0);
  EXPECT_EQ(op_count(b.g, "Transpose"), 2);
  EXPECT_EQ(op_count(b.g, "Conv"), kLayers);
  EXPECT_EQ(op_count(b.g, "Relu") + op_count(b.g, "Sigmoid"), 0);
}

// ---- fuse_residual -------------------------------------------------------------------------------

TEST(ConverterPasses, ResidualAddAndReluFuseIntoTheConv) {
  Builder b;
  b.input("x", {1, 3, 5, 5});
  b.conv("x", "c1", 3, 4, 3, {1, 4, 5, 5});
  b.node("Relu", {"c1"}, "r1", {1, 4, 5, 5});
  b.conv("r1", "c2", 4, 4, 3, {1, 4, 5, 5});
  b.batchnorm("c2", "bn2", 4, {1, 4, 5, 5});
  b.node("Add", {"bn2", "r1"}, "s", {1, 4, 5, 5});
  b.node("Relu", {"s"}, "r2", {1, 4, 5, 5});
  b.conv("r2", "y", 4, 2, 1, {1, 2, 5, 5});
  b.output("y");
  EXPECT_EQ(b.g.nodes.size(), 7u);
  run_and_compare(b, {fold_batchnorm, fuse_residual, fuse_activations, convert_to_nhwc});
  EXPECT_EQ(op_count(b.g, "Add"), 0);
  EXPECT_EQ(op_count(b.g, "Relu"), 0);
  EXPECT_EQ(op_count(b.g, "Conv"), 3);
  EXPECT_EQ(op_count(b.g, "Transpose"), 2);  // input and output only: R is read channels-last
  EXPECT_EQ(b.g.nodes.size(), 5u);
  const ir::Node* fused = producer_of(b.g, "r2");
  ASSERT_TRUE(fused);
  EXPECT_EQ(fused->op, "Conv");
  ASSERT_EQ(fused->inputs.size(), 4u);
  EXPECT_EQ(fused->inputs[3], "r1");
  EXPECT_EQ(fused->i("activation", 0), static_cast<int64_t>(fb::ActivationKind::Relu));
  EXPECT_EQ(b.g.find("r1")->shape, (Shape{1, 5, 5, 4}));  // NHWC like the conv output
}

TEST(ConverterPasses, ResidualOfTwoConvsGoesToTheLaterOneAndBiaslessConvKeepsAnEmptyBias) {
  Builder b;
  b.input("x", {1, 2, 4, 4});
  b.conv("x", "a", 2, 3, 3, {1, 3, 4, 4});
  b.conv("x", "c", 2, 3, 1, {1, 3, 4, 4}, 1, /*bias=*/false);
  b.node("Add", {"c", "a"}, "y", {1, 3, 4, 4});
  b.output("y");
  run_and_compare(b, {fuse_residual, convert_to_nhwc});
  EXPECT_EQ(op_count(b.g, "Add"), 0);
  ASSERT_EQ(op_count(b.g, "Conv"), 2);
  const ir::Node* first = find_op(b.g, "Conv");
  EXPECT_EQ(first->inputs.size(), 3u);  // "a" is unchanged
  const ir::Node* later = nullptr;
  for (const auto& n : b.g.nodes)
    if (n.op == "Conv" && n.inputs.size() == 4) later = &n;
  ASSERT_TRUE(later);
  EXPECT_EQ(later->name, "c_node");
  EXPECT_EQ(later->inputs[2], "");
  EXPECT_EQ(b.g.outputs, (std::vector<std::string>{"y"}));
  EXPECT_EQ(producer_of(b.g, "y")->op, "Transpose");  // the output keeps its name and NCHW
}

TEST(ConverterPasses, ResidualProducedAfterTheConvIsReorderedBeforeIt) {
  Builder b;
  b.input("x", {1, 2, 3, 3});
  b.conv("x", "c", 2, 2, 3, {1, 2, 3, 3});
  b.node("Sigmoid", {"x"}, "other", {1, 2, 3, 3});
  b.node("Add", {"other", "c"}, "s", {1, 2, 3, 3});
  ir::Node& clip = b.node("Clip", {"s"}, "y", {1, 2, 3, 3});
  clip.set_f("min", -0.25f);
  clip.set_f("max", 0.5f);
  b.output("y");
  run_and_compare(b, {fuse_residual, fuse_activations, convert_to_nhwc});
  EXPECT_EQ(op_count(b.g, "Add"), 0);
  EXPECT_EQ(op_count(b.g, "Clip"), 0);
  int sig = -1, conv = -1;
  for (size_t k = 0; k < b.g.nodes.size(); ++k) {
    if (b.g.nodes[k].op == "Sigmoid") sig = static_cast<int>(k);
    if (b.g.nodes[k].op == "Conv") conv = static_cast<int>(k);
  }
  ASSERT_GE(sig, 0);
  ASSERT_GE(conv, 0);
  EXPECT_LT(sig, conv);
  EXPECT_EQ(b.g.nodes[conv].i("activation", 0), static_cast<int64_t>(fb::ActivationKind::Clip));
  EXPECT_EQ(b.g.nodes[conv].f("act_alpha", 0.f), -0.25f);
}

TEST(ConverterPasses, ResidualIsNotFusedWhenItWouldChangeTheResult) {
  Builder b;
  b.input("x", {1, 2, 3, 3});
  // 1: the conv output is also read elsewhere.
  b.conv("x", "c1", 2, 2, 1, {1, 2, 3, 3});
  b.node("Add", {"c1", "x"}, "s1", {1, 2, 3, 3});
  b.node("Sigmoid", {"c1"}, "t1", {1, 2, 3, 3});
  // 2: the conv already has an activation (applied before the Add).
  b.conv("x", "c2", 2, 2, 1, {1, 2, 3, 3}).set_i("activation", 1);
  b.node("Add", {"c2", "x"}, "s2", {1, 2, 3, 3});
  // 3: the other operand broadcasts.
  b.conv("x", "c3", 2, 2, 1, {1, 2, 3, 3});
  b.node("GlobalAveragePool", {"x"}, "gp", {1, 2, 1, 1});
  b.node("Add", {"c3", "gp"}, "s3", {1, 2, 3, 3});
  // 4: the other operand is a constant (a bias, not a residual).
  b.conv("x", "c4", 2, 2, 1, {1, 2, 3, 3});
  std::string k = b.random_constant("k", {1, 2, 3, 3});
  b.node("Add", {"c4", k}, "s4", {1, 2, 3, 3});
  // 5: the conv output is a graph output.
  b.conv("x", "c5", 2, 2, 1, {1, 2, 3, 3});
  b.node("Add", {"c5", "x"}, "s5", {1, 2, 3, 3});
  for (const char* o : {"s1", "t1", "s2", "s3", "s4", "c5", "s5"}) b.output(o);
  run_and_compare(b, {fuse_residual});
  EXPECT_EQ(op_count(b.g, "Add"), 5);
  for (const auto& n : b.g.nodes) {
    if (n.op == "Conv") {
      EXPECT_LE(n.inputs.size(), 3u) << n.name;
    }
  }
}

// ---- convert_to_nhwc: channel shuffle --------------------------------------------------------------

// One ShuffleNetV2 unit: concat of two branches, channel shuffle, channel split.
void shufflenet_unit(Builder& b) {
  b.input("x", {1, 4, 3, 5});
  b.conv("x", "a", 4, 4, 1, {1, 4, 3, 5});
  b.conv("x", "c", 4, 4, 3, {1, 4, 3, 5}, /*group=*/4);
  b.node("Concat", {"a", "c"}, "cat", {1, 8, 3, 5}).set_i("axis", 1);
  b.node("Reshape", {"cat"}, "r5", {1, 2, 4, 3, 5}).set_ints("shape", {1, 2, 4, 3, 5});
  b.node("Transpose", {"r5"}, "t5", {1, 4, 2, 3, 5}).set_ints("perm", {0, 2, 1, 3, 4});
  b.node("Reshape", {"t5"}, "sh", {1, 8, 3, 5}).set_ints("shape", {1, -1, 3, 5});
  ir::Node& s0 = b.node("Slice", {"sh"}, "left", {1, 4, 3, 5});
  s0.set_ints("starts", {0});
  s0.set_ints("ends", {4});
  s0.set_ints("axes", {1});
  ir::Node& s1 = b.node("Slice", {"sh"}, "right", {1, 4, 3, 5});
  s1.set_ints("starts", {4});
  s1.set_ints("ends", {8});
  s1.set_ints("axes", {1});
  b.conv("right", "rc", 4, 4, 1, {1, 4, 3, 5});
  b.node("Concat", {"left", "rc"}, "cat2", {1, 8, 3, 5}).set_i("axis", 1);
  b.conv("cat2", "y", 8, 3, 1, {1, 3, 3, 5});
  b.output("y");
}

TEST(ConverterPasses, ChannelShuffleAndSplitStayChannelsLast) {
  Builder b;
  shufflenet_unit(b);
  run_and_compare(b, {convert_to_nhwc});
  expect_all_conv_ops_nhwc(b.g);
  EXPECT_EQ(op_count(b.g, "Transpose"), 3);  // input, output and the shuffle itself
  EXPECT_EQ(op_count(b.g, "Reshape"), 2);
  int shuffles = 0;
  for (const auto& n : b.g.nodes) {
    if (n.op == "Transpose" && n.ints("perm").size() == 5) {
      EXPECT_EQ(n.ints("perm"), (Shape{0, 1, 2, 4, 3}));
      ++shuffles;
    }
    if (n.op == "Slice") {
      EXPECT_EQ(n.ints("axes"), (Shape{3}));
    }
    if (n.op == "Concat") {
      EXPECT_EQ(n.i("axis", -1), 3);
    }
  }
  EXPECT_EQ(shuffles, 1);
  // Reshape [N,H,W,g,C/g] -> Transpose(0,1,2,4,3) -> Reshape [N,H,W,C] -> Slice on axis 3.
  const ir::Node* merge = producer_of(b.g, find_op(b.g, "Slice")->inputs[0]);
  ASSERT_TRUE(merge);
  EXPECT_EQ(merge->op, "Reshape");
  EXPECT_EQ(merge->ints("shape"), (Shape{1, 3, 5, 8}));
  const ir::Node* shuffle = producer_of(b.g, merge->inputs[0]);
  ASSERT_TRUE(shuffle);
  EXPECT_EQ(shuffle->op, "Transpose");
  const ir::Node* split = producer_of(b.g, shuffle->inputs[0]);
  ASSERT_TRUE(split);
  EXPECT_EQ(split->op, "Reshape");
  EXPECT_EQ(split->ints("shape"), (Shape{1, 3, 5, 2, 4}));
  EXPECT_EQ(producer_of(b.g, split->inputs[0])->op, "Concat");
}

TEST(ConverterPasses, ReshapeOfSpatialDimsFollowsTheLayoutAndCancelsTheModelTranspose) {
  Builder b;
  b.input("x", {1, 3, 4, 5});
  b.conv("x", "c", 3, 6, 3, {1, 6, 4, 5});
  b.node("Reshape", {"c"}, "seq", {1, 6, 20}).set_ints("shape", {1, 6, 20});
  b.node("Transpose", {"seq"}, "y", {1, 20, 6}).set_ints("perm", {0, 2, 1});
  b.output("y");
  run_and_compare(b, {convert_to_nhwc});
  EXPECT_EQ(op_count(b.g, "Transpose"), 1);  // the input only
  EXPECT_EQ(producer_of(b.g, "y")->op, "Reshape");
  EXPECT_EQ(producer_of(b.g, "y")->ints("shape"), (Shape{1, 20, 6}));
}

TEST(ConverterPasses, ReshapeThatMixesChannelsAndSpaceStaysLogical) {
  Builder b;
  b.input("x", {1, 2, 4, 4});
  b.conv("x", "c", 2, 4, 3, {1, 4, 4, 4});
  b.node("Reshape", {"c"}, "r", {1, 16, 4}).set_ints("shape", {1, 16, 4});
  b.node("Sigmoid", {"r"}, "y", {1, 16, 4});
  b.output("y");
  run_and_compare(b, {convert_to_nhwc});
  EXPECT_EQ(op_count(b.g, "Transpose"), 2);  // input, and NCHW before the Reshape
  const ir::Node* r = find_op(b.g, "Reshape");
  ASSERT_TRUE(r);
  EXPECT_EQ(producer_of(b.g, r->inputs[0])->op, "Transpose");
}

}  // namespace
}  // namespace pocket::converter
