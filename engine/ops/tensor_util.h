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
// Fails for dtypes without a whole byte size (I4).
Status check_movable(const OpContext& ctx, const Value& v);
// axis in [-rank, rank - 1] -> [0, rank - 1]; false when out of range.
bool normalize_axis(int64_t axis, int64_t rank, int64_t* out);
std::vector<int64_t> row_major_strides(const Shape& shape);
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
