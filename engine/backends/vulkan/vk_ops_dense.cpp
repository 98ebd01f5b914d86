// MatMul and Gemm on Vulkan: a tiled shader (shaders/matmul.comp: 64x64 blocks of Y per
// workgroup, 4x4 per invocation, K through shared memory in steps of 16) with the bias, the
// residual, alpha/beta and the fused activation in its store; on a CPU implementation
// (lavapipe) the same without shared memory (matmul_reg.comp, 4x4 per invocation straight from
// the buffers: 1.5-1.7x faster there, where workgroup barriers are expensive). A, B, bias, R may be constant
// (uploaded once as weights) or computed.
//   MatMul: numpy semantics (a 1-D A is [1,K], a 1-D B is [K,1]; batch dims broadcast, at most 4
//           of them), bias [N] (input 2), residual R with Y's shape (input 3), activation attrs.
//   Gemm:   Y = act(alpha A' B' + beta C), transA/transB, C broadcast to [M,N].
#include <algorithm>
#include <limits>

#include "engine/backends/vulkan/vk_op.h"
#include "engine/backends/vulkan/vk_util.h"

namespace pocket::vk {
namespace {

using fb::OpType;
constexpr size_t kMaxBatchRank = 4;

struct MatMulPush {
  uint32_t M, N, K, brank;
  int32_t a_sm, a_sk, b_sk, b_sn;
  int32_t bias_sm, bias_sn, flags, act;
  float alpha, beta, act_alpha, act_beta;
  int32_t bdims[4];
  int32_t a_bs[4];
  int32_t b_bs[4];
};
static_assert(sizeof(MatMulPush) == 112);

bool fits_i32(int64_t v) { return v >= 0 && v <= std::numeric_limits<int32_t>::max(); }

// The shapes of a MatMul, numpy style: batch dims and per-operand batch strides.
struct Plan {
  int64_t m = 0, n = 0, k = 0, batch = 1;
  Shape bdims;
  std::vector<int64_t> a_bs, b_bs;
  int32_t a_sm = 0, a_sk = 0, b_sk = 0, b_sn = 0;
  int32_t bias_sm = 0, bias_sn = 0;
  bool bias = false, residual = false;
};

bool plan_matmul(const NodeView& nv, Plan* p, std::string* why) {
  Shape as = nv.inputs[0]->shape, bs = nv.inputs[1]->shape;
  if (as.empty() || bs.empty()) { *why = "rank-0 operand"; return false; }
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  p->m = as[as.size() - 2];
  p->k = as.back();
  p->n = bs.back();
  if (bs[bs.size() - 2] != p->k) { *why = "inner dimensions differ"; return false; }
  const size_t ab = as.size() - 2, bb = bs.size() - 2, rank = std::max(ab, bb);
  if (rank > kMaxBatchRank) { *why = std::to_string(rank) + " batch dims (at most 4)"; return false; }
  p->bdims.assign(rank, 1);
  p->a_bs.assign(rank, 0);
  p->b_bs.assign(rank, 0);
  int64_t sa = p->m * p->k, sb = p->k * p->n;
  for (size_t j = 0; j < rank; ++j) {
    const size_t d = rank - 1 - j;
    const int64_t da = j < ab ? as[ab - 1 - j] : 1, db = j < bb ? bs[bb - 1 - j] : 1;
    if (da != db && da != 1 && db != 1) { *why = "batch dims do not broadcast"; return false; }
    p->bdims[d] = da == 1 ? db : da;
    p->a_bs[d] = da == 1 ? 0 : sa;
    p->b_bs[d] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  p->batch = 1;
  for (int64_t d : p->bdims) p->batch *= d;
  p->a_sm = static_cast<int32_t>(p->k);
  p->a_sk = 1;
  p->b_sk = static_cast<int32_t>(p->n);
  p->b_sn = 1;
  if (nv.has_input(2)) {
    const Value& c = *nv.inputs[2];
    if (c.dtype != DType::F32) { *why = std::string("dtype ") + dtype_name(c.dtype) + " of bias"; return false; }
    if (c.rank() != 1 || c.shape[0] != p->n) { *why = "bias " + shape_str(c.shape) + " is not [N]"; return false; }
    p->bias = true;
    p->bias_sm = 0;
    p->bias_sn = 1;
  }
  if (nv.has_input(3)) {
    const Value& r = *nv.inputs[3];
    if (r.dtype != DType::F32) { *why = std::string("dtype ") + dtype_name(r.dtype) + " of R"; return false; }
    if (nv.outputs[0] && r.shape != nv.outputs[0]->shape) { *why = "residual R does not have Y's shape"; return false; }
    p->residual = true;
  }
  if (!fits_i32(sa) || !fits_i32(sb) || !fits_i32(p->batch * p->m * p->n)) { *why = "2^31 elements or more"; return false; }
  return true;
}

bool plan_gemm(const NodeView& nv, Plan* p, std::string* why) {
  const Attrs at = nv.attrs();
  const Shape& as = nv.inputs[0]->shape;
  const Shape& bs = nv.inputs[1]->shape;
  if (as.size() != 2 || bs.size() != 2) { *why = "A and B must be 2-D"; return false; }
  const bool ta = at.i("transA", 0) != 0, tb = at.i("transB", 0) != 0;
  p->m = ta ? as[1] : as[0];
  p->k = ta ? as[0] : as[1];
  p->n = tb ? bs[0] : bs[1];
  if ((tb ? bs[1] : bs[0]) != p->k) { *why = "inner dimensions differ"; return false; }
  p->a_sm = ta ? 1 : static_cast<int32_t>(p->k);
  p->a_sk = ta ? static_cast<int32_t>(p->m) : 1;
  p->b_sk = tb ? 1 : static_cast<int32_t>(p->n);
  p->b_sn = tb ? static_cast<int32_t>(p->k) : 1;
  if (nv.has_input(2)) {
    const Value& c = *nv.inputs[2];
    if (c.dtype != DType::F32) { *why = std::string("dtype ") + dtype_name(c.dtype) + " of C"; return false; }
    int32_t s[2];
    if (!broadcast_strides(c.shape, {p->m, p->n}, 2, s)) { *why = "C " + shape_str(c.shape) + " does not broadcast to [M,N]"; return false; }
    p->bias = true;
    p->bias_sm = s[0];
    p->bias_sn = s[1];
  }
  if (!fits_i32(p->m * p->k) || !fits_i32(p->k * p->n) || !fits_i32(p->m * p->n)) { *why = "2^31 elements or more"; return false; }
  return true;
}

bool plan_dense(const NodeView& nv, Plan* p, std::string* why) {
  return nv.op() == OpType::Gemm ? plan_gemm(nv, p, why) : plan_matmul(nv, p, why);
}

class DenseOp final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    const NodeView& nv = ctx.node();
    std::string why;
    if (!plan_dense(nv, &plan_, &why)) return ctx.fail(StatusCode::kUnsupported, why);
    const Attrs at = nv.attrs();
    act_ = static_cast<int32_t>(at.i("activation", 0));
    act_alpha_ = at.f("act_alpha", 0.f);
    act_beta_ = at.f("act_beta", 0.f);
    if (nv.op() == OpType::Gemm) {
      alpha_ = at.f("alpha", 1.f);
      beta_ = at.f("beta", 1.f);
    }
    reg_ = prefers_cpu_style_shaders(ctx);
    weights_.assign(4, -1);
    for (size_t i = 0; i < nv.inputs.size() && i < 4; ++i) {
      if (!is_constant_input(nv, i)) continue;
      weights_[i] = add_constant_weight(ctx, *nv.inputs[i], &why);
      if (weights_[i] < 0) return ctx.fail(StatusCode::kUnsupported, why);
    }
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    const Plan& p = plan_;
    if (p.m == 0 || p.n == 0 || p.batch == 0) return;
    MatMulPush q{};
    q.M = static_cast<uint32_t>(p.m);
    q.N = static_cast<uint32_t>(p.n);
    q.K = static_cast<uint32_t>(p.k);
    q.brank = static_cast<uint32_t>(p.bdims.size());
    q.a_sm = p.a_sm;
    q.a_sk = p.a_sk;
    q.b_sk = p.b_sk;
    q.b_sn = p.b_sn;
    q.bias_sm = p.bias_sm;
    q.bias_sn = p.bias_sn;
    q.flags = (p.bias ? 1 : 0) | (p.residual ? 2 : 0);
    q.act = act_;
    q.alpha = alpha_;
    q.beta = beta_;
    q.act_alpha = act_alpha_;
    q.act_beta = act_beta_;
    for (size_t d = 0; d < p.bdims.size(); ++d) {
      q.bdims[d] = static_cast<int32_t>(p.bdims[d]);
      q.a_bs[d] = static_cast<int32_t>(p.a_bs[d]);
      q.b_bs[d] = static_cast<int32_t>(p.b_bs[d]);
    }
    const Tensor y = ctx.output(0);
    const Tensor a = operand(ctx, 0), b = operand(ctx, 1);
    const Tensor c = p.bias ? operand(ctx, 2) : y;
    const Tensor r = p.residual ? operand(ctx, 3) : y;
    const int64_t tile = reg_ ? 32 : 64;
    ctx.dispatch(reg_ ? "matmul_reg" : "matmul", {a, b, c, r, y}, &q, sizeof(q), static_cast<uint32_t>((p.n + tile - 1) / tile),
                 static_cast<uint32_t>((p.m + tile - 1) / tile), static_cast<uint32_t>(p.batch));
  }

  std::string kernel_name() const override { return reg_ ? "vulkan.matmul_reg" : "vulkan.matmul"; }

 private:
  Tensor operand(VkRecord& ctx, size_t i) const { return weights_[i] >= 0 ? ctx.weight(weights_[i]) : ctx.input(i); }
  Plan plan_;
  int32_t act_ = 0;
  float act_alpha_ = 0.f, act_beta_ = 0.f, alpha_ = 1.f, beta_ = 1.f;
  std::vector<int> weights_;
  bool reg_ = false;
};

}  // namespace

Support vk_supports_dense(const NodeView& nv, const DeviceCaps& caps) {
  if (nv.op() != OpType::MatMul && nv.op() != OpType::Gemm) return Support::no("");
  if (nv.inputs.size() < 2 || !nv.has_input(0) || !nv.has_input(1)) return Support::no("A or B missing");
  for (size_t i = 0; i < 2; ++i)
    if (nv.inputs[i]->dtype != DType::F32)
      return Support::no(std::string("dtype ") + dtype_name(nv.inputs[i]->dtype) + " of input " + std::to_string(i));
  if (nv.outputs.empty() || !nv.outputs[0] || nv.outputs[0]->dtype != DType::F32) return Support::no("output not F32");
  const int64_t act = nv.attrs().i("activation", 0);
  if (act < 0 || act > static_cast<int64_t>(fb::ActivationKind::MAX)) return Support::no("activation " + std::to_string(act));
  Plan p;
  std::string why;
  if (!plan_dense(nv, &p, &why)) return Support::no(why);
  if ((p.n + 31) / 32 > caps.max_workgroup_count[0] || (p.m + 31) / 32 > caps.max_workgroup_count[1] ||
      p.batch > static_cast<int64_t>(caps.max_workgroup_count[2]))
    return Support::no("more workgroups than the device allows");
  return Support::yes();
}

std::unique_ptr<VkOp> make_vk_op_dense(const NodeView& nv) {
  if (nv.op() != OpType::MatMul && nv.op() != OpType::Gemm) return nullptr;
  return std::make_unique<DenseOp>();
}

}  // namespace pocket::vk
