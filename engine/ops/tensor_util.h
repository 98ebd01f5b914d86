// Helpers shared by the data-movement ops: arity and dtype checks, axis normalisation, row-major
// strides, and ops whose whole run is one strided copy or one plain copy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/op.h"
#include "kernels/transform/transform.h"

namespace pocket {

// Fails unless the node has exactly n_in inputs (min_in..max_in) and n_out outputs, all present.
Status check_arity(const OpContext& ctx, size_t min_in, size_t max_in, size_t min_out, size_t max_out);
// Same, but inputs after the first `required` ones may be left out (nullptr).
Status check_arity_optional(const OpContext& ctx, size_t required, size_t max_in, size_t min_out, size_t max_out);
// Fails for dtypes without a whole byte size (I4).
Status check_movable(const OpContext& ctx, const Value& v);
// axis in [-rank, rank - 1] -> [0, rank - 1]; false when out of range.
bool normalize_axis(int64_t axis, int64_t rank, int64_t* out);
std::vector<int64_t> row_major_strides(const Shape& shape);

// Operands known at prepare (format/OPS.md): input `input` of the node is constant or was
// computed at prepare (Value::known); else fails naming the node and the operand.
Status require_known(const OpContext& ctx, size_t input, const char* what);
// An int vector the op needs at prepare: input `input` when the node has it (an int64 or int32
// tensor of rank <= 1, constant or known at prepare), else the ints attribute `attr`. *found says
// whether either was there (attr may be nullptr: input only). Fails, naming the node and the
// operand, when the input is computed at run time or is not an integer tensor.
Status prepare_ints(const OpContext& ctx, size_t input, const char* attr, std::vector<int64_t>* out, bool* found);
// A scalar (one element) operand known at prepare, as double and as int64 (f32/f64/i64/i32).
Status prepare_scalar(const OpContext& ctx, size_t input, const char* what, double* f, int64_t* i);
std::string ints_str(const std::vector<int64_t>& v);
// "input 'x' [1, 3, 224, 224]"
std::string describe(const char* role, const Value& v);

// Builds a strided-copy plan or fails (too many dims after simplification).
Status plan_view(const OpContext& ctx, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides,
                 int64_t offset, size_t elem_size, kernels::StridedCopy* plan);

// An op whose run is one strided copy from input 0 to output 0; subclasses fill plan_ in prepare.
class StridedCopyOp : public Op {
 public:
  void run(OpContext& ctx) override;
  std::string kernel_name() const override;

 protected:
  kernels::StridedCopy plan_;
};

// An op whose run copies input 0's bytes to output 0 (Reshape, Flatten, Squeeze, Unsqueeze,
// Identity). The session does not alias buffers yet, so this is a real copy.
class ByteCopyOp : public Op {
 public:
  void run(OpContext& ctx) override;
  std::string kernel_name() const override { return "copy"; }
  int alias_input() const override { return 0; }  // the session shares the input's bytes
};

}  // namespace pocket
