// The int8 and fp16 forms of the ops (format/OPS.md, "Quantization (format 1.2)"), run through the
// real path (builder -> .pocket bytes -> Model -> Session). Each int8 op is compared with a float
// reference computed from the dequantized values: int8 outputs within one step of
// quantize(reference), dynamic (weight-only) f32 outputs against a reference that quantizes the
// input the same way (so only float rounding remains), plus a looser check against the plain float
// result (the expected quantization error).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"
#include "format/builder.h"
#include "kernels/transform/transform.h"

namespace pocket {
namespace {

using format::AttrDesc;
using format::QuantDesc;

// ---- Quantization helpers ------------------------------------------------------------------------

int8_t qz(float x, float s, int32_t zp) {
  const float r = std::nearbyint(x / s) + static_cast<float>(zp);
  return static_cast<int8_t>(std::min(127.f, std::max(-128.f, r)));
}
float dq(int8_t q, float s, int32_t zp) { return s * static_cast<float>(q - zp); }

struct QP {
  float scale = 1.f;
  int32_t zp = 0;
};

// Per-tensor parameters covering [min(0, lo), max(0, hi)].
QP params_for(const std::vector<float>& v) {
  float lo = 0.f, hi = 0.f;
  for (float x : v) lo = std::min(lo, x), hi = std::max(hi, x);
  QP p;
  p.scale = hi > lo ? (hi - lo) / 255.f : 1.f;
  p.zp = static_cast<int32_t>(std::min(127.f, std::max(-128.f, std::nearbyint(-128.f - lo / p.scale))));
  return p;
}

std::vector<int8_t> random_q(size_t n, uint32_t seed, int lo = -128, int hi = 127) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}
std::vector<float> random_f(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

QuantDesc per_tensor(QP p) {
  QuantDesc q;
  q.scales = {p.scale};
  q.zero_points = {p.zp};
  return q;
}
QuantDesc per_axis(const std::vector<float>& scales, int axis) {
  QuantDesc q;
  q.scales = scales;
  q.axis = axis;
  return q;
}

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// ---- A small graph builder and runner ------------------------------------------------------------

struct Graph {
  format::ModelDesc m;
  std::vector<std::pair<int32_t, std::vector<uint8_t>>> feeds;

  int32_t input(const std::string& name, fb::DType dt, std::vector<int64_t> shape, std::vector<uint8_t> data,
                const QuantDesc* q = nullptr) {
    format::TensorDesc t;
    t.name = name, t.dtype = dt, t.shape = std::move(shape);
    if (q) t.has_quant = true, t.quant = *q;
    const int32_t i = m.add_tensor(t);
    m.inputs.push_back(i);
    feeds.push_back({i, std::move(data)});
    return i;
  }
  int32_t constant(const std::string& name, fb::DType dt, std::vector<int64_t> shape, std::vector<uint8_t> data,
                   const QuantDesc* q = nullptr) {
    format::TensorDesc t;
    t.name = name, t.dtype = dt, t.shape = std::move(shape);
    t.has_data = true, t.data = std::move(data);
    if (q) t.has_quant = true, t.quant = *q;
    return m.add_tensor(t);
  }
  int32_t value(const std::string& name, const QuantDesc* q = nullptr) {
    format::TensorDesc t;
    t.name = name;
    if (q) t.dtype = fb::DType::I8, t.has_quant = true, t.quant = *q;
    return m.add_tensor(t);
  }
  void node(fb::OpType op, std::vector<int32_t> ins, std::vector<int32_t> outs, std::vector<AttrDesc> attrs = {},
            const std::string& name = "") {
    format::NodeDesc n;
    n.op = op;
    n.name = name.empty() ? std::string(fb::EnumNameOpType(op)) + std::to_string(m.nodes.size()) : name;
    n.inputs = std::move(ins), n.outputs = std::move(outs), n.attrs = std::move(attrs);
    m.nodes.push_back(std::move(n));
  }
  void output(int32_t i) { m.outputs.push_back(i); }
};

struct Ran {
  Status status = Status::Ok();
  std::vector<Value> outs;
  std::vector<std::vector<uint8_t>> data;
  std::vector<std::string> kernels;
  InitTimes init;
  template <class T>
  std::vector<T> get(size_t i) const {
    std::vector<T> v(data[i].size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), data[i].data(), data[i].size());
    return v;
  }
};

Ran run_graph(const Graph& g, int threads = 1, std::shared_ptr<const Model>* keep_model = nullptr) {
  Ran r;
  std::vector<uint8_t> bytes = format::serialize(g.m);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  if (!model.ok()) {
    r.status = model.status();
    return r;
  }
  if (keep_model) *keep_model = model.value();
  SessionOptions o;
  o.num_threads = threads;
  auto s = Session::create(model.value(), o);
  if (!s.ok()) {
    r.status = s.status();
    return r;
  }
  Session& sess = *s.value();
  for (const auto& [idx, data] : g.feeds) {
    const format::TensorDesc& t = g.m.tensors[idx];
    Status st = sess.set_input(t.name, t.dtype, t.shape, data.data());
    if (!st.ok()) {
      r.status = st;
      return r;
    }
  }
  sess.run();
  for (size_t o2 = 0; o2 < sess.num_outputs(); ++o2) {
    const Value& v = sess.output(o2);
    r.outs.push_back(v);
    r.data.emplace_back(static_cast<const uint8_t*>(v.data), static_cast<const uint8_t*>(v.data) + v.bytes());
  }
  for (const OpProfile& p : sess.profile_info()) r.kernels.push_back(p.kernel);
  r.init = sess.init_times();
  return r;
}

// ---- References ----------------------------------------------------------------------------------

enum Act { kNone = 0, kRelu = 1, kClip = 2, kHardSwish = 4, kSigmoid = 5, kLeakyRelu = 8 };

float act_ref(int act, float v, float alpha = 0.f, float beta = 0.f) {
  switch (act) {
    case kRelu: return std::max(v, 0.f);
    case kClip: return std::min(std::max(v, alpha), beta);
    case kHardSwish: return v * std::min(std::max(v + 3.f, 0.f), 6.f) / 6.f;
    case kSigmoid: return 1.f / (1.f + std::exp(-v));
    case kLeakyRelu: return v >= 0 ? v : alpha * v;
    default: return v;
  }
}

struct ConvGeom {
  int64_t n = 1, h = 6, w = 6, c = 8, m = 16, kh = 3, kw = 3, stride = 1, pad = 1, group = 1, dilation = 1;
  int64_t oh() const { return (h + 2 * pad - ((kh - 1) * dilation + 1)) / stride + 1; }
  int64_t ow() const { return (w + 2 * pad - ((kw - 1) * dilation + 1)) / stride + 1; }
  std::vector<AttrDesc> attrs(int act = 0, float alpha = 0.f, float beta = 0.f) const {
    std::vector<AttrDesc> a = {AttrDesc::Ints("strides", {stride, stride}), AttrDesc::Ints("pads", {pad, pad, pad, pad}),
                               AttrDesc::Ints("dilations", {dilation, dilation}), AttrDesc::Int("group", group)};
    if (act) {
      a.push_back(AttrDesc::Int("activation", act));
      a.push_back(AttrDesc::Float("act_alpha", alpha));
      a.push_back(AttrDesc::Float("act_beta", beta));
    }
    return a;
  }
};

// NHWC conv on real values (W OIHW), + bias, + residual, activation.
std::vector<float> conv_ref(const ConvGeom& g, const std::vector<float>& x, const std::vector<float>& w,
                            const std::vector<float>& bias, const std::vector<float>* r, int act, float alpha = 0.f,
                            float beta = 0.f) {
  const int64_t oh = g.oh(), ow = g.ow(), cg = g.c / g.group, mg = g.m / g.group;
  std::vector<float> y(static_cast<size_t>(g.n * oh * ow * g.m));
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t o = 0; o < g.m; ++o) {
          const int64_t gi = o / mg;
          double acc = bias.empty() ? 0.0 : bias[o];
          for (int64_t ky = 0; ky < g.kh; ++ky)
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t iy = oy * g.stride - g.pad + ky * g.dilation, ix = ox * g.stride - g.pad + kx * g.dilation;
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              for (int64_t i = 0; i < cg; ++i)
                acc += static_cast<double>(x[((b * g.h + iy) * g.w + ix) * g.c + gi * cg + i]) *
                       w[((o * cg + i) * g.kh + ky) * g.kw + kx];
            }
          const size_t k = static_cast<size_t>(((b * oh + oy) * ow + ox) * g.m + o);
          float v = static_cast<float>(acc);
          if (r) v += (*r)[k];
          y[k] = act_ref(act, v, alpha, beta);
        }
  return y;
}

void expect_within_one(const std::vector<int8_t>& got, const std::vector<float>& ref, QP p, const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  int worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const int d = std::abs(static_cast<int>(got[i]) - static_cast<int>(qz(ref[i], p.scale, p.zp)));
    if (d > worst) worst = d, at = i;
  }
  EXPECT_LE(worst, 1) << what << ": at " << at << " got " << int(got[at]) << " want " << int(qz(ref[at], p.scale, p.zp))
                      << " (ref " << ref[at] << ")";
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, float tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  float scale = 1e-3f, worst = 0.f;
  size_t at = 0;
  for (float v : want) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < got.size(); ++i) {
    const float e = std::abs(got[i] - want[i]);
    if (!(e <= worst)) worst = e, at = i;
  }
  EXPECT_LE(worst, tol * scale) << what << ": at " << at << " got " << got[at] << " want " << want[at];
}

std::vector<float> dequant(const std::vector<int8_t>& q, QP p) {
  std::vector<float> v(q.size());
  for (size_t i = 0; i < q.size(); ++i) v[i] = dq(q[i], p.scale, p.zp);
  return v;
}

// Symmetric per-output-channel weights: int8 values and real values [M][rest].
struct QWeights {
  std::vector<int8_t> q;
  std::vector<float> scales, real;
};
QWeights make_weights(int64_t m, int64_t per, uint32_t seed) {
  QWeights w;
  w.q = random_q(static_cast<size_t>(m * per), seed, -127, 127);
  w.scales = random_f(static_cast<size_t>(m), seed + 1, 0.002f, 0.01f);
  w.real.resize(w.q.size());
  for (int64_t o = 0; o < m; ++o)
    for (int64_t i = 0; i < per; ++i) w.real[o * per + i] = w.scales[o] * w.q[o * per + i];
  return w;
}

// ---- QuantizeLinear / DequantizeLinear -----------------------------------------------------------

TEST(OpsQuantTest, QuantizeDequantizeLinear) {
  const std::vector<float> x = random_f(301, 1, -3.f, 2.f);
  const QP p{0.021f, -7};
  Graph g;
  QuantDesc qd = per_tensor(p);
  const int32_t in = g.input("x", fb::DType::F32, {301}, bytes_of(x));
  const int32_t q = g.value("q", &qd);
  const int32_t y = g.value("y");
  g.node(fb::OpType::QuantizeLinear, {in}, {q});
  g.node(fb::OpType::DequantizeLinear, {q}, {y});
  g.output(q);
  g.output(y);
  Ran r = run_graph(g, 2);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  const auto got_q = r.get<int8_t>(0);
  const auto got_y = r.get<float>(1);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(got_q[i], qz(x[i], p.scale, p.zp)) << i;
    EXPECT_FLOAT_EQ(got_y[i], dq(got_q[i], p.scale, p.zp)) << i;
  }
}

TEST(OpsQuantTest, DequantizeLinearPerAxis) {
  const auto xq = random_q(2 * 3 * 4, 2);
  QuantDesc qd;
  qd.scales = {0.5f, 0.25f, 2.f};
  qd.zero_points = {1, -2, 0};
  qd.axis = 1;
  Graph g;
  const int32_t in = g.input("x", fb::DType::I8, {2, 3, 4}, bytes_of(xq), &qd);
  const int32_t y = g.value("y");
  g.node(fb::OpType::DequantizeLinear, {in}, {y});
  g.output(y);
  Ran r = run_graph(g);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  const auto got = r.get<float>(0);
  for (int a = 0; a < 2; ++a)
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 4; ++i) {
        const size_t k = (a * 3 + c) * 4 + i;
        EXPECT_FLOAT_EQ(got[k], qd.scales[c] * (xq[k] - qd.zero_points[c]));
      }
}

// ---- Conv ---------------------------------------------------------------------------------------

struct ConvCase {
  ConvGeom g;
  int act = 0;
  float alpha = 0.f, beta = 0.f;
  bool residual = false;
  bool per_tensor_w = false;
  const char* kernel_part;  // expected in the kernel name
};

void run_static_conv(const ConvCase& cc, int threads) {
  const ConvGeom& g = cc.g;
  const std::string what = "conv " + std::to_string(g.kh) + "x" + std::to_string(g.kw) + " s" + std::to_string(g.stride) +
                           " p" + std::to_string(g.pad) + " group " + std::to_string(g.group) + " act " +
                           std::to_string(cc.act) + (cc.residual ? " +R" : "") + " threads " + std::to_string(threads);
  const int64_t cg = g.c / g.group;
  const QP px{0.03f, 9};  // nonzero zero point: padding must read it (real 0)
  const auto xq = random_q(static_cast<size_t>(g.n * g.h * g.w * g.c), 11);
  QWeights w = make_weights(g.m, cg * g.kh * g.kw, 12);
  if (cc.per_tensor_w) {
    for (float& s : w.scales) s = 0.006f;
    for (size_t i = 0; i < w.q.size(); ++i) w.real[i] = 0.006f * w.q[i];
  }
  const auto bias = random_f(static_cast<size_t>(g.m), 13, -0.5f, 0.5f);
  const std::vector<int64_t> yshape = {g.n, g.oh(), g.ow(), g.m};
  const size_t ny = static_cast<size_t>(g.n * g.oh() * g.ow() * g.m);
  const QP pr{0.02f, -5};
  const auto rq = random_q(ny, 14);
  const std::vector<float> rreal = dequant(rq, pr);
  const std::vector<float> ref = conv_ref(g, dequant(xq, px), w.real, bias, cc.residual ? &rreal : nullptr, cc.act, cc.alpha, cc.beta);
  const QP py = params_for(ref);

  Graph gr;
  QuantDesc qx = per_tensor(px), qy = per_tensor(py), qr = per_tensor(pr);
  QuantDesc qw = cc.per_tensor_w ? per_tensor(QP{0.006f, 0}) : per_axis(w.scales, 0);
  const int32_t x = gr.input("x", fb::DType::I8, {g.n, g.h, g.w, g.c}, bytes_of(xq), &qx);
  const int32_t wt = gr.constant("w", fb::DType::I8, {g.m, cg, g.kh, g.kw}, bytes_of(w.q), &qw);
  const int32_t b = gr.constant("b", fb::DType::F32, {g.m}, bytes_of(bias));
  std::vector<int32_t> ins = {x, wt, b};
  if (cc.residual) ins.push_back(gr.input("r", fb::DType::I8, yshape, bytes_of(rq), &qr));
  const int32_t y = gr.value("y", &qy);
  gr.node(fb::OpType::Conv, ins, {y}, g.attrs(cc.act, cc.alpha, cc.beta));
  gr.output(y);
  Ran r = run_graph(gr, threads);
  ASSERT_TRUE(r.status.ok()) << what << ": " << r.status.message();
  EXPECT_EQ(r.outs[0].dtype, DType::I8);
  EXPECT_EQ(r.outs[0].shape, yshape);
  EXPECT_NE(r.kernels[0].find(cc.kernel_part), std::string::npos) << what << ": " << r.kernels[0];
  expect_within_one(r.get<int8_t>(0), ref, py, what);
}

TEST(OpsQuantTest, StaticConvPaths) {
  std::vector<ConvCase> cases;
  ConvGeom pw;
  pw.kh = pw.kw = 1, pw.pad = 0, pw.c = 24, pw.m = 20, pw.n = 2;
  cases.push_back({pw, kNone, 0, 0, false, false, "conv1x1"});
  cases.push_back({pw, kRelu, 0, 0, true, false, "conv1x1"});
  ConvGeom k3;  // 3x3 pad 1 stride 1
  k3.c = 8, k3.m = 12, k3.h = 7, k3.w = 5;
  cases.push_back({k3, kNone, 0, 0, false, false, "im2col"});
  cases.push_back({k3, kHardSwish, 0, 0, true, false, "im2col"});
  cases.push_back({k3, kClip, -0.5f, 1.5f, false, true, "im2col"});
  ConvGeom s2 = k3;  // 3x3 stride 2, batch 2
  s2.stride = 2, s2.n = 2, s2.h = 9, s2.w = 8;
  cases.push_back({s2, kSigmoid, 0, 0, false, false, "im2col"});
  ConvGeom big = k3;  // more output pixels than one im2col block
  big.c = 64, big.m = 8, big.h = big.w = 40;
  cases.push_back({big, kRelu, 0, 0, true, false, "im2col"});
  ConvGeom p1x1 = pw;  // 1x1 with stride 2 and padding: the im2col path
  p1x1.stride = 2, p1x1.pad = 1;
  cases.push_back({p1x1, kLeakyRelu, 0.1f, 0, false, false, "im2col"});
  ConvGeom dil = k3;
  dil.dilation = 2, dil.pad = 2;
  cases.push_back({dil, kNone, 0, 0, false, false, "im2col"});
  ConvGeom dw;  // depthwise 3x3 stride 1 and 2
  dw.c = dw.m = dw.group = 24, dw.h = 9, dw.w = 7;
  cases.push_back({dw, kRelu, 0, 0, false, false, "dwconv"});
  cases.push_back({dw, kHardSwish, 0, 0, true, false, "dwconv"});
  ConvGeom dw2 = dw;
  dw2.stride = 2, dw2.kh = dw2.kw = 5, dw2.pad = 2, dw2.n = 2;
  cases.push_back({dw2, kNone, 0, 0, false, false, "dwconv"});
  for (const ConvCase& c : cases)
    for (int threads : {1, 2}) run_static_conv(c, threads);
}

// Dynamic (weight-only) Conv: X F32 quantized per image at run time.
TEST(OpsQuantTest, DynamicConv) {
  for (int variant = 0; variant < 3; ++variant) {
    ConvGeom g;
    g.n = 2, g.c = 16, g.m = 12, g.h = 8, g.w = 6;
    if (variant == 0) g.kh = g.kw = 1, g.pad = 0;
    if (variant == 2) g.stride = 2;
    const int act = variant == 1 ? kRelu : kNone;
    const auto x = random_f(static_cast<size_t>(g.n * g.h * g.w * g.c), 21, -1.f, 3.f);
    QWeights w = make_weights(g.m, g.c * g.kh * g.kw, 22);
    const auto bias = random_f(static_cast<size_t>(g.m), 23);
    const size_t ny = static_cast<size_t>(g.n * g.oh() * g.ow() * g.m);
    const auto res = random_f(ny, 24);
    const bool residual = variant == 1;
    // The run-time quantization of each image, emulated.
    std::vector<float> xq(x.size());
    const size_t image = static_cast<size_t>(g.h * g.w * g.c);
    for (int64_t b = 0; b < g.n; ++b) {
      std::vector<float> img(x.begin() + b * image, x.begin() + (b + 1) * image);
      const QP p = params_for(img);
      for (size_t i = 0; i < image; ++i) xq[b * image + i] = dq(qz(img[i], p.scale, p.zp), p.scale, p.zp);
    }
    const auto ref_q = conv_ref(g, xq, w.real, bias, residual ? &res : nullptr, act);
    const auto ref_f = conv_ref(g, x, w.real, bias, residual ? &res : nullptr, act);
    Graph gr;
    QuantDesc qw = per_axis(w.scales, 0);
    std::vector<int32_t> ins = {gr.input("x", fb::DType::F32, {g.n, g.h, g.w, g.c}, bytes_of(x)),
                                gr.constant("w", fb::DType::I8, {g.m, g.c, g.kh, g.kw}, bytes_of(w.q), &qw),
                                gr.constant("b", fb::DType::F32, {g.m}, bytes_of(bias))};
    if (residual) ins.push_back(gr.input("r", fb::DType::F32, {g.n, g.oh(), g.ow(), g.m}, bytes_of(res)));
    const int32_t y = gr.value("y");
    gr.node(fb::OpType::Conv, ins, {y}, g.attrs(act));
    gr.output(y);
    Ran r = run_graph(gr, 2);
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    EXPECT_EQ(r.outs[0].dtype, DType::F32);
    EXPECT_EQ(r.kernels[0].rfind("qd8", 0), 0u) << r.kernels[0];
    expect_close(r.get<float>(0), ref_q, 1e-4f, "dynamic conv vs emulated quantization " + std::to_string(variant));
    expect_close(r.get<float>(0), ref_f, 2e-2f, "dynamic conv vs float " + std::to_string(variant));
  }
}

// A depthwise Conv with float input and int8 weights runs the float kernel on weights dequantized
// at creation.
TEST(OpsQuantTest, DepthwiseWeightOnlyDequantized) {
  ConvGeom g;
  g.c = g.m = g.group = 16;
  const auto x = random_f(static_cast<size_t>(g.h * g.w * g.c), 31);
  QWeights w = make_weights(g.m, g.kh * g.kw, 32);
  Graph gr;
  QuantDesc qw = per_axis(w.scales, 0);
  const int32_t y = gr.value("y");
  gr.node(fb::OpType::Conv,
          {gr.input("x", fb::DType::F32, {1, g.h, g.w, g.c}, bytes_of(x)),
           gr.constant("w", fb::DType::I8, {g.m, 1, g.kh, g.kw}, bytes_of(w.q), &qw)},
          {y}, g.attrs());
  gr.output(y);
  Ran r = run_graph(gr);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.init.dequantized_i8, 1);
  EXPECT_EQ(r.init.converted_bytes, w.q.size() * 4);
  expect_close(r.get<float>(0), conv_ref(g, x, w.real, {}, nullptr, 0), 1e-5f, "depthwise weight-only");
}

// ---- Gemm / MatMul ------------------------------------------------------------------------------

std::vector<float> matmul_ref(const std::vector<float>& a, const std::vector<float>& bkn, int64_t m, int64_t k, int64_t n,
                              const std::vector<float>& bias, const std::vector<float>* r, int act) {
  std::vector<float> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias.empty() ? 0.0 : bias[j];
      for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(a[i * k + p]) * bkn[p * n + j];
      float v = static_cast<float>(acc);
      if (r) v += (*r)[i * n + j];
      y[i * n + j] = act_ref(act, v);
    }
  return y;
}

TEST(OpsQuantTest, StaticMatMulAndGemm) {
  const int64_t k = 40, n = 24;
  for (int form = 0; form < 3; ++form) {  // 0: MatMul [2, 5, K] + bias + R, 1: Gemm, 2: Gemm transB
    const bool gemm = form > 0, trans_b = form == 2;
    const int64_t m = gemm ? 7 : 10;
    const QP pa{0.02f, -3};
    const auto aq = random_q(static_cast<size_t>(m * k), 41);
    // Weights per output column: stored [K, N] (axis 1) or [N, K] (axis 0).
    QWeights w = make_weights(n, k, 42);  // w.q [N][K]
    std::vector<int8_t> stored = w.q;
    std::vector<float> bkn(static_cast<size_t>(k * n));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) bkn[p * n + j] = w.real[j * k + p];
    if (!trans_b)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t p = 0; p < k; ++p) stored[p * n + j] = w.q[j * k + p];
    const auto bias = random_f(static_cast<size_t>(n), 43);
    const QP pr{0.01f, 4};
    const auto rq = random_q(static_cast<size_t>(m * n), 44);
    const auto rreal = dequant(rq, pr);
    const bool residual = !gemm;
    const int act = gemm ? kRelu : kNone;
    const auto ref = matmul_ref(dequant(aq, pa), bkn, m, k, n, bias, residual ? &rreal : nullptr, act);
    const QP py = params_for(ref);
    Graph g;
    QuantDesc qa = per_tensor(pa), qy = per_tensor(py), qr = per_tensor(pr);
    QuantDesc qw = per_axis(w.scales, trans_b ? 0 : 1);
    const std::vector<int64_t> ashape = gemm ? std::vector<int64_t>{m, k} : std::vector<int64_t>{2, m / 2, k};
    std::vector<int64_t> yshape = ashape;
    yshape.back() = n;
    std::vector<int32_t> ins = {g.input("a", fb::DType::I8, ashape, bytes_of(aq), &qa),
                                g.constant("b", fb::DType::I8, trans_b ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n},
                                           bytes_of(stored), &qw),
                                g.constant("bias", fb::DType::F32, {n}, bytes_of(bias))};
    if (residual) ins.push_back(g.input("r", fb::DType::I8, yshape, bytes_of(rq), &qr));
    const int32_t y = g.value("y", &qy);
    std::vector<AttrDesc> attrs = {AttrDesc::Int("activation", act)};
    if (trans_b) attrs.push_back(AttrDesc::Int("transB", 1));
    g.node(gemm ? fb::OpType::Gemm : fb::OpType::MatMul, ins, {y}, attrs);
    g.output(y);
    Ran r = run_graph(g, 2);
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    EXPECT_EQ(r.outs[0].shape, yshape);
    EXPECT_EQ(r.kernels[0].rfind("qs8", 0), 0u) << r.kernels[0];
    expect_within_one(r.get<int8_t>(0), ref, py, "static dense form " + std::to_string(form));
  }
}

TEST(OpsQuantTest, DynamicMatMulAndGemm) {
  const int64_t k = 33, n = 17;
  for (int form = 0; form < 2; ++form) {
    const bool gemm = form == 1;
    const int64_t m = 6;
    auto a = random_f(static_cast<size_t>(m * k), 51, -2.f, 1.f);
    for (int64_t p = 0; p < k; ++p) a[2 * k + p] = 0.f;  // an all-zero row
    QWeights w = make_weights(n, k, 52);
    std::vector<int8_t> stored(w.q.size());
    std::vector<float> bkn(static_cast<size_t>(k * n));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) stored[p * n + j] = w.q[j * k + p], bkn[p * n + j] = w.real[j * k + p];
    const auto bias = random_f(static_cast<size_t>(n), 53);
    const auto res = random_f(static_cast<size_t>(m * n), 54);
    std::vector<float> aq(a.size());
    for (int64_t i = 0; i < m; ++i) {
      std::vector<float> row(a.begin() + i * k, a.begin() + (i + 1) * k);
      const QP p = params_for(row);
      for (int64_t q = 0; q < k; ++q) aq[i * k + q] = dq(qz(row[q], p.scale, p.zp), p.scale, p.zp);
    }
    const auto ref_q = matmul_ref(aq, bkn, m, k, n, bias, gemm ? nullptr : &res, kNone);
    const auto ref_f = matmul_ref(a, bkn, m, k, n, bias, gemm ? nullptr : &res, kNone);
    Graph g;
    QuantDesc qw = per_axis(w.scales, 1);
    std::vector<int32_t> ins = {g.input("a", fb::DType::F32, {m, k}, bytes_of(a)),
                                g.constant("b", fb::DType::I8, {k, n}, bytes_of(stored), &qw),
                                g.constant("bias", fb::DType::F32, {n}, bytes_of(bias))};
    if (!gemm) ins.push_back(g.input("r", fb::DType::F32, {m, n}, bytes_of(res)));
    const int32_t y = g.value("y");
    g.node(gemm ? fb::OpType::Gemm : fb::OpType::MatMul, ins, {y});
    g.output(y);
    Ran r = run_graph(g);
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    EXPECT_EQ(r.kernels[0].rfind("qd8", 0), 0u) << r.kernels[0];
    expect_close(r.get<float>(0), ref_q, 1e-4f, "dynamic dense (emulated)");
    expect_close(r.get<float>(0), ref_f, 2e-2f, "dynamic dense (float)");
  }
}

// ---- Gather, Add, pools, SqueezeExcite, data movement --------------------------------------------

TEST(OpsQuantTest, GatherInt8Embeddings) {
  const int64_t rows = 10, dim = 6;
  QWeights t = make_weights(rows, dim, 61);
  const std::vector<int64_t> idx = {3, 0, 9, -1, 3};
  Graph g;
  QuantDesc qt = per_axis(t.scales, 0);
  const int32_t y = g.value("y");
  g.node(fb::OpType::Gather,
         {g.constant("table", fb::DType::I8, {rows, dim}, bytes_of(t.q), &qt), g.input("ids", fb::DType::I64, {5}, bytes_of(idx))},
         {y});
  g.output(y);
  Ran r = run_graph(g);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.outs[0].shape, (Shape{5, dim}));
  const auto got = r.get<float>(0);
  for (size_t j = 0; j < idx.size(); ++j) {
    const int64_t row = idx[j] < 0 ? idx[j] + rows : idx[j];
    for (int64_t d = 0; d < dim; ++d) EXPECT_FLOAT_EQ(got[j * dim + d], t.real[row * dim + d]);
  }
}

TEST(OpsQuantTest, AddSameShapeAndBroadcast) {
  for (int form = 0; form < 3; ++form) {  // same shape, per channel, scalar
    const Shape as = {2, 3, 4, 8};
    const Shape bs = form == 0 ? as : form == 1 ? Shape{8} : Shape{1};
    const int64_t na = num_elements(as), nb = num_elements(bs);
    const QP pa{0.03f, 5}, pb{0.02f, -20};
    const auto aq = random_q(static_cast<size_t>(na), 71), bq = random_q(static_cast<size_t>(nb), 72);
    std::vector<float> ref(static_cast<size_t>(na));
    for (int64_t i = 0; i < na; ++i) ref[i] = dq(aq[i], pa.scale, pa.zp) + dq(bq[i % nb], pb.scale, pb.zp);
    const QP py = params_for(ref);
    Graph g;
    QuantDesc qa = per_tensor(pa), qb = per_tensor(pb), qy = per_tensor(py);
    const int32_t y = g.value("y", &qy);
    g.node(fb::OpType::Add, {g.input("a", fb::DType::I8, as, bytes_of(aq), &qa), g.input("b", fb::DType::I8, bs, bytes_of(bq), &qb)},
           {y});
    g.output(y);
    Ran r = run_graph(g, 2);
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    expect_within_one(r.get<int8_t>(0), ref, py, "add form " + std::to_string(form));
  }
}

TEST(OpsQuantTest, Pools) {
  const int64_t n = 2, h = 7, w = 6, c = 5;
  const QP px{0.05f, -10};
  const auto xq = random_q(static_cast<size_t>(n * h * w * c), 81);
  const auto xr = dequant(xq, px);
  auto at = [&](int64_t b, int64_t y, int64_t x, int64_t ch) { return xr[((b * h + y) * w + x) * c + ch]; };
  // MaxPool 3x3 s2 p1 (Y keeps X's parameters), AveragePool 2x2 s2 (count_include_pad 0, pads 0 1 0 1), global.
  for (int form = 0; form < 3; ++form) {
    Graph g;
    QuantDesc qx = per_tensor(px);
    std::vector<float> ref;
    Shape ys;
    std::vector<AttrDesc> attrs;
    fb::OpType op;
    if (form == 0) {
      op = fb::OpType::MaxPool;
      attrs = {AttrDesc::Ints("kernel_shape", {3, 3}), AttrDesc::Ints("strides", {2, 2}), AttrDesc::Ints("pads", {1, 1, 1, 1})};
      const int64_t oh = 4, ow = 3;
      ys = {n, oh, ow, c};
      for (int64_t b = 0; b < n; ++b)
        for (int64_t oy = 0; oy < oh; ++oy)
          for (int64_t ox = 0; ox < ow; ++ox)
            for (int64_t ch = 0; ch < c; ++ch) {
              float m = -1e30f;
              for (int64_t ky = 0; ky < 3; ++ky)
                for (int64_t kx = 0; kx < 3; ++kx) {
                  const int64_t iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
                  if (iy >= 0 && iy < h && ix >= 0 && ix < w) m = std::max(m, at(b, iy, ix, ch));
                }
              ref.push_back(m);
            }
    } else if (form == 1) {
      op = fb::OpType::AveragePool;
      attrs = {AttrDesc::Ints("kernel_shape", {2, 2}), AttrDesc::Ints("strides", {2, 2}), AttrDesc::Ints("pads", {0, 0, 1, 0})};
      const int64_t oh = 4, ow = 3;
      ys = {n, oh, ow, c};
      for (int64_t b = 0; b < n; ++b)
        for (int64_t oy = 0; oy < oh; ++oy)
          for (int64_t ox = 0; ox < ow; ++ox)
            for (int64_t ch = 0; ch < c; ++ch) {
              float s = 0;
              int cnt = 0;
              for (int64_t ky = 0; ky < 2; ++ky)
                for (int64_t kx = 0; kx < 2; ++kx) {
                  const int64_t iy = oy * 2 + ky, ix = ox * 2 + kx;
                  if (iy < h && ix < w) s += at(b, iy, ix, ch), ++cnt;
                }
              ref.push_back(s / cnt);
            }
    } else {
      op = fb::OpType::GlobalAveragePool;
      ys = {n, 1, 1, c};
      for (int64_t b = 0; b < n; ++b)
        for (int64_t ch = 0; ch < c; ++ch) {
          double s = 0;
          for (int64_t p = 0; p < h * w; ++p) s += xr[(b * h * w + p) * c + ch];
          ref.push_back(static_cast<float>(s / (h * w)));
        }
    }
    const QP py = form == 0 ? px : params_for(ref);
    QuantDesc qy = per_tensor(py);
    const int32_t y = g.value("y", &qy);
    g.node(op, {g.input("x", fb::DType::I8, {n, h, w, c}, bytes_of(xq), &qx)}, {y}, attrs);
    g.output(y);
    Ran r = run_graph(g);
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    EXPECT_EQ(r.outs[0].shape, ys);
    expect_within_one(r.get<int8_t>(0), ref, py, "pool form " + std::to_string(form));
  }
}

TEST(OpsQuantTest, SqueezeExciteInt8) {
  const int64_t n = 2, h = 4, w = 5, c = 8, c1 = 4;
  const QP px{0.04f, -30};
  const auto xq = random_q(static_cast<size_t>(n * h * w * c), 91);
  const auto xr = dequant(xq, px);
  const auto w1 = random_f(static_cast<size_t>(c1 * c), 92), b1 = random_f(static_cast<size_t>(c1), 93);
  const auto w2 = random_f(static_cast<size_t>(c * c1), 94), b2 = random_f(static_cast<size_t>(c), 95);
  std::vector<float> ref(xr.size());
  for (int64_t b = 0; b < n; ++b) {
    std::vector<float> s(c, 0.f), hdn(c1), gate(c);
    for (int64_t p = 0; p < h * w; ++p)
      for (int64_t ch = 0; ch < c; ++ch) s[ch] += xr[(b * h * w + p) * c + ch] / (h * w);
    for (int64_t j = 0; j < c1; ++j) {
      float a = b1[j];
      for (int64_t i = 0; i < c; ++i) a += w1[j * c + i] * s[i];
      hdn[j] = std::max(a, 0.f);
    }
    for (int64_t j = 0; j < c; ++j) {
      float a = b2[j];
      for (int64_t i = 0; i < c1; ++i) a += w2[j * c1 + i] * hdn[i];
      gate[j] = act_ref(kSigmoid, a);
    }
    for (int64_t p = 0; p < h * w; ++p)
      for (int64_t ch = 0; ch < c; ++ch) ref[(b * h * w + p) * c + ch] = xr[(b * h * w + p) * c + ch] * gate[ch];
  }
  const QP py = params_for(ref);
  Graph g;
  QuantDesc qx = per_tensor(px), qy = per_tensor(py);
  const int32_t y = g.value("y", &qy);
  g.node(fb::OpType::SqueezeExcite,
         {g.input("x", fb::DType::I8, {n, h, w, c}, bytes_of(xq), &qx), g.constant("w1", fb::DType::F32, {c1, c, 1, 1}, bytes_of(w1)),
          g.constant("b1", fb::DType::F32, {c1}, bytes_of(b1)), g.constant("w2", fb::DType::F32, {c, c1, 1, 1}, bytes_of(w2)),
          g.constant("b2", fb::DType::F32, {c}, bytes_of(b2))},
         {y}, {AttrDesc::Int("activation", kRelu), AttrDesc::Int("gate", kSigmoid)});
  g.output(y);
  Ran r = run_graph(g, 2);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  expect_within_one(r.get<int8_t>(0), ref, py, "squeeze excite");
}

TEST(OpsQuantTest, DataMovementKeepsQuantization) {
  const QP px{0.1f, 3};
  const auto xq = random_q(24, 101);
  QuantDesc qx = per_tensor(px);
  {  // Reshape -> Transpose -> Pad (pads with the zero point): all keep X's parameters.
    Graph g;
    const int32_t a = g.value("a", &qx), b = g.value("b", &qx), y = g.value("y", &qx);
    g.node(fb::OpType::Reshape, {g.input("x", fb::DType::I8, {2, 3, 4}, bytes_of(xq), &qx)}, {a},
           {AttrDesc::Ints("shape", {6, 4})});
    g.node(fb::OpType::Transpose, {a}, {b}, {AttrDesc::Ints("perm", {1, 0})});
    g.node(fb::OpType::Pad, {b}, {y}, {AttrDesc::Ints("pads", {0, 1, 0, 0})});
    g.output(y);
    Ran r = run_graph(g);
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    const auto got = r.get<int8_t>(0);
    ASSERT_EQ(got.size(), 28u);
    for (int64_t i = 0; i < 4; ++i) {
      EXPECT_EQ(got[i * 7], px.zp);
      for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(got[i * 7 + 1 + j], xq[j * 4 + i]);
    }
  }
  {  // Y with other parameters: rejected, naming the output.
    Graph g;
    QuantDesc other = per_tensor(QP{0.2f, 3});
    const int32_t y = g.value("reshaped", &other);
    g.node(fb::OpType::Reshape, {g.input("x", fb::DType::I8, {2, 3, 4}, bytes_of(xq), &qx)}, {y}, {AttrDesc::Ints("shape", {24})});
    g.output(y);
    Ran r = run_graph(g);
    ASSERT_FALSE(r.status.ok());
    EXPECT_NE(r.status.message().find("reshaped"), std::string::npos) << r.status.message();
  }
}

TEST(OpsQuantTest, ConcatRequantizes) {
  const QP pa{0.1f, 3}, pb{0.05f, -7}, py{0.1f, 3};
  const auto aq = random_q(2 * 3 * 2, 111), bq = random_q(2 * 2 * 2, 112, -100, 100);
  Graph g;
  QuantDesc qa = per_tensor(pa), qb = per_tensor(pb), qy = per_tensor(py);
  const int32_t y = g.value("y", &qy);
  g.node(fb::OpType::Concat, {g.input("a", fb::DType::I8, {2, 3, 2}, bytes_of(aq), &qa), g.input("b", fb::DType::I8, {2, 2, 2}, bytes_of(bq), &qb)},
         {y}, {AttrDesc::Int("axis", 1)});
  g.output(y);
  Ran r = run_graph(g);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  const auto got = r.get<int8_t>(0);
  for (int64_t o = 0; o < 2; ++o) {
    for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(got[o * 10 + i], aq[o * 6 + i]);
    for (int64_t i = 0; i < 4; ++i) {
      const int want = qz(dq(bq[o * 4 + i], pb.scale, pb.zp), py.scale, py.zp);
      EXPECT_LE(std::abs(got[o * 10 + 6 + i] - want), 1);
    }
  }
}

TEST(OpsQuantTest, Int8InputWithoutInt8FormIsAnError) {
  const QP px{0.1f, 0};
  QuantDesc qx = per_tensor(px);
  Graph g;
  const int32_t y = g.value("y");
  g.node(fb::OpType::Sigmoid, {g.input("act_in", fb::DType::I8, {4}, bytes_of(random_q(4, 1)), &qx)}, {y}, {}, "sig");
  g.output(y);
  Ran r = run_graph(g);
  ASSERT_FALSE(r.status.ok());
  const std::string& msg = r.status.message();
  EXPECT_NE(msg.find("Sigmoid 'sig'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("act_in"), std::string::npos) << msg;
  EXPECT_NE(msg.find("int8[4]"), std::string::npos) << msg;
}

TEST(OpsQuantTest, Int8GroupedConvUnsupportedIsNamed) {
  ConvGeom g;
  g.c = 8, g.m = 8, g.group = 2;
  QuantDesc qx = per_tensor(QP{0.1f, 0}), qy = per_tensor(QP{0.1f, 0});
  QWeights w = make_weights(g.m, 4 * 9, 5);
  QuantDesc qw = per_axis(w.scales, 0);
  Graph gr;
  const int32_t y = gr.value("y", &qy);
  gr.node(fb::OpType::Conv,
          {gr.input("x", fb::DType::I8, {1, g.h, g.w, g.c}, bytes_of(random_q(static_cast<size_t>(g.h * g.w * g.c), 3)), &qx),
           gr.constant("w", fb::DType::I8, {8, 4, 3, 3}, bytes_of(w.q), &qw)},
          {y}, g.attrs(), "grouped");
  gr.output(y);
  Ran r = run_graph(gr);
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("Conv 'grouped'"), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("group 2"), std::string::npos) << r.status.message();
}

// ---- fp16 weights --------------------------------------------------------------------------------

Graph fp_conv_graph(bool f16, const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b) {
  ConvGeom g;
  Graph gr;
  std::vector<uint8_t> wb, bb;
  if (f16) {
    std::vector<uint16_t> wh(w.size()), bh(b.size());
    for (size_t i = 0; i < w.size(); ++i) wh[i] = kernels::f32_to_f16(w[i]);
    for (size_t i = 0; i < b.size(); ++i) bh[i] = kernels::f32_to_f16(b[i]);
    wb = bytes_of(wh), bb = bytes_of(bh);
  } else {
    wb = bytes_of(w), bb = bytes_of(b);
  }
  const fb::DType dt = f16 ? fb::DType::F16 : fb::DType::F32;
  const int32_t y = gr.value("y");
  gr.node(fb::OpType::Conv,
          {gr.input("x", fb::DType::F32, {1, g.h, g.w, g.c}, bytes_of(x)), gr.constant("w", dt, {g.m, g.c, 3, 3}, wb),
           gr.constant("b", dt, {g.m}, bb)},
          {y}, g.attrs(kRelu));
  gr.output(y);
  return gr;
}

TEST(OpsQuantTest, Fp16WeightsMatchFp32) {
  ConvGeom g;
  const auto x = random_f(static_cast<size_t>(g.h * g.w * g.c), 121);
  const auto w = random_f(static_cast<size_t>(g.m * g.c * 9), 122, -0.3f, 0.3f);
  const auto b = random_f(static_cast<size_t>(g.m), 123);
  // The fp32 model on the fp16-rounded weights is what the fp16 model must compute (up to float
  // summation order); the unrounded fp32 model differs by the weights' rounding only.
  std::vector<float> wr(w.size()), br(b.size());
  for (size_t i = 0; i < w.size(); ++i) wr[i] = kernels::f16_to_f32(kernels::f32_to_f16(w[i]));
  for (size_t i = 0; i < b.size(); ++i) br[i] = kernels::f16_to_f32(kernels::f32_to_f16(b[i]));
  Ran r16 = run_graph(fp_conv_graph(true, x, w, b));
  Ran r32 = run_graph(fp_conv_graph(false, x, wr, br));
  Ran r32u = run_graph(fp_conv_graph(false, x, w, b));
  ASSERT_TRUE(r16.status.ok()) << r16.status.message();
  ASSERT_TRUE(r32.status.ok() && r32u.status.ok());
  EXPECT_EQ(r16.init.converted_f16, 2);
  EXPECT_EQ(r16.init.converted_bytes, (w.size() + b.size()) * 4);
  EXPECT_EQ(r32.init.converted_f16, 0);
  expect_close(r16.get<float>(0), r32.get<float>(0), 1e-5f, "fp16 vs fp32 on rounded weights");
  expect_close(r16.get<float>(0), r32u.get<float>(0), 2e-3f, "fp16 vs fp32");
}

// Two sessions of one model share the converted weights (the weight cache), freed with the last.
TEST(OpsQuantTest, ConvertedWeightsSharedBySessions) {
  ConvGeom g;
  const auto x = random_f(static_cast<size_t>(g.h * g.w * g.c), 131);
  const auto w = random_f(static_cast<size_t>(g.m * g.c * 9), 132);
  const auto b = random_f(static_cast<size_t>(g.m), 133);
  Graph gr = fp_conv_graph(true, x, w, b);
  std::vector<uint8_t> bytes = format::serialize(gr.m);
  auto model = Model::load_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(model.ok());
  const WeightCache& cache = model.value()->weight_cache();
  auto s1 = Session::create(model.value());
  ASSERT_TRUE(s1.ok()) << s1.status().message();
  const size_t misses = cache.misses(), live = cache.live_bytes();
  EXPECT_GE(live, (w.size() + b.size()) * 4);
  {
    auto s2 = Session::create(model.value());
    ASSERT_TRUE(s2.ok());
    EXPECT_EQ(cache.misses(), misses);  // nothing converted or packed again
    EXPECT_EQ(cache.live_bytes(), live);
    const void* w1 = nullptr;
    (void)w1;
  }
  EXPECT_EQ(cache.live_bytes(), live);
  s1.value().reset();
  EXPECT_EQ(cache.live_bytes(), 0u);
  EXPECT_EQ(cache.live_entries(), 0u);
}

}  // namespace
}  // namespace pocket
