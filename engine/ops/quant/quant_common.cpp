#include "engine/ops/quant/quant_common.h"

#include <cmath>

namespace pocket {

std::string describe_value(const char* role, const Value& v) {
  return std::string(role) + " '" + std::string(v.name) + "' " + dtype_name(v.dtype) + shape_str(v.shape);
}

Status per_tensor_qparams(const OpContext& ctx, const Value& v, const char* role, kernels::QParams* p) {
  if (v.dtype != DType::I8 || !v.quant)
    return ctx.fail(StatusCode::kInvalidModel, describe_value(role, v) + " must be a quantized I8 tensor");
  const fb::Quantization* q = v.quant;
  if (!q->scales() || q->scales()->size() != 1)
    return ctx.fail(StatusCode::kUnsupported, describe_value(role, v) + " must be quantized per tensor (has " +
                                                  std::to_string(q->scales() ? q->scales()->size() : 0) + " scales)");
  p->scale = q->scales()->Get(0);
  p->zero_point = q->zero_points() && q->zero_points()->size() ? static_cast<int32_t>(q->zero_points()->Get(0)) : 0;
  return Status::Ok();
}

Status weight_scales(const OpContext& ctx, const Value& w, const char* role, int axis, int64_t channels,
                     std::vector<float>* scales) {
  if (w.dtype != DType::I8 || !w.quant)
    return ctx.fail(StatusCode::kInvalidModel, describe_value(role, w) + " must be a quantized I8 tensor");
  const fb::Quantization* q = w.quant;
  const size_t ns = q->scales() ? q->scales()->size() : 0;
  if (q->zero_points())
    for (int64_t z : *q->zero_points())
      if (z != 0)
        return ctx.fail(StatusCode::kUnsupported, describe_value(role, w) + " must be quantized symmetrically (zero point " +
                                                      std::to_string(z) + ")");
  scales->assign(static_cast<size_t>(channels), 0.f);
  if (q->axis() == -1 || (ns == 1 && channels != 1 && q->axis() != axis)) {
    if (ns != 1) return ctx.fail(StatusCode::kInvalidModel, describe_value(role, w) + " has " + std::to_string(ns) + " scales per tensor");
    for (float& s : *scales) s = q->scales()->Get(0);
    return Status::Ok();
  }
  if (q->axis() != axis || static_cast<int64_t>(ns) != channels)
    return ctx.fail(StatusCode::kUnsupported, describe_value(role, w) + " must be quantized per tensor or per output channel "
                                                  "(axis " + std::to_string(axis) + ", " + std::to_string(channels) +
                                                  " scales), not axis " + std::to_string(q->axis()) + " with " +
                                                  std::to_string(ns) + " scales");
  for (size_t c = 0; c < ns; ++c) (*scales)[c] = q->scales()->Get(static_cast<flatbuffers::uoffset_t>(c));
  return Status::Ok();
}

Status parse_qactivation(const OpContext& ctx, kernels::QGemmEpilogue* ep) {
  const Attrs a = ctx.attrs();
  const int64_t kind = a.i("activation", 0);
  const float alpha = a.f("act_alpha", 0.f), beta = a.f("act_beta", 0.f);
  using K = kernels::QAct;
  ep->act = K::None;
  ep->act_alpha = ep->act_beta = 0.f;
  ep->out_min = -std::numeric_limits<float>::infinity();
  ep->out_max = std::numeric_limits<float>::infinity();
  switch (static_cast<fb::ActivationKind>(kind)) {
    case fb::ActivationKind::None: return Status::Ok();
    case fb::ActivationKind::Relu: ep->out_min = 0.f; return Status::Ok();
    case fb::ActivationKind::Clip:
      if (std::isnan(alpha) || std::isnan(beta) || alpha > beta)
        return ctx.fail(StatusCode::kInvalidModel, "fused Clip needs act_alpha <= act_beta, got [" + std::to_string(alpha) +
                                                       ", " + std::to_string(beta) + "]");
      ep->out_min = alpha;
      ep->out_max = beta;
      return Status::Ok();
    case fb::ActivationKind::HardSigmoid: ep->act = K::HardSigmoid; ep->act_alpha = alpha; ep->act_beta = beta; return Status::Ok();
    case fb::ActivationKind::HardSwish: ep->act = K::HardSwish; return Status::Ok();
    case fb::ActivationKind::Sigmoid: ep->act = K::Sigmoid; return Status::Ok();
    case fb::ActivationKind::SiLU: ep->act = K::SiLU; return Status::Ok();
    case fb::ActivationKind::Tanh: ep->act = K::Tanh; return Status::Ok();
    case fb::ActivationKind::LeakyRelu: ep->act = K::LeakyRelu; ep->act_alpha = alpha; return Status::Ok();
    case fb::ActivationKind::Gelu: ep->act = K::Gelu; return Status::Ok();
    case fb::ActivationKind::GeluTanh: ep->act = K::GeluTanh; return Status::Ok();
  }
  return ctx.fail(StatusCode::kUnsupported, "unknown fused activation " + std::to_string(kind));
}

Status q8_output(const OpContext& ctx, size_t i, const Shape& shape, kernels::QParams* p) {
  Value& y = ctx.out(i);
  y.dtype = DType::I8;
  y.shape = shape;
  if (!y.quant)
    return ctx.fail(StatusCode::kInvalidModel, "output '" + std::string(y.name) +
                                                   "' of an int8 op needs quantization parameters in the model");
  return per_tensor_qparams(ctx, y, "output Y", p);
}

bool same_quantization(const fb::Quantization* a, const fb::Quantization* b) {
  if (!a || !b) return a == b;
  if (a->axis() != b->axis()) return false;
  const size_t na = a->scales() ? a->scales()->size() : 0, nb = b->scales() ? b->scales()->size() : 0;
  if (na != nb) return false;
  for (size_t k = 0; k < na; ++k) {
    const auto kk = static_cast<flatbuffers::uoffset_t>(k);
    if (a->scales()->Get(kk) != b->scales()->Get(kk)) return false;
    const int64_t za = a->zero_points() && a->zero_points()->size() ? a->zero_points()->Get(kk) : 0;
    const int64_t zb = b->zero_points() && b->zero_points()->size() ? b->zero_points()->Get(kk) : 0;
    if (za != zb) return false;
  }
  return true;
}

std::string qgemm_name(bool dynamic) {
  std::string n = kernels::qgemm_kernel_name(kernels::qgemm_kernel());  // "qs8.avx2"
  if (dynamic && n.rfind("qs8", 0) == 0) n.replace(0, 3, "qd8");
  return n;
}

}  // namespace pocket
