// Identity: output 0 is input 0 (no attributes). The session gives the output the input's bytes
// (Op::alias_input), so run() does nothing.
#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class IdentityOp final : public ByteCopyOp {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1, 1, 1));
    POCKET_RETURN_IF_ERROR(check_movable(ctx, ctx.in(0)));
    ctx.out(0).dtype = ctx.in(0).dtype;
    ctx.out(0).shape = ctx.in(0).shape;
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Op> make_identity_op() { return std::make_unique<IdentityOp>(); }

}  // namespace pocket
