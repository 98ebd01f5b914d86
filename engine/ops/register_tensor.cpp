#include "engine/op.h"
#include "engine/ops/tensor_ops.h"

namespace pocket {

void register_tensor_ops(OpTable& table) {
  using fb::OpType;
  table.set(OpType::Concat, make_concat_op);
  table.set(OpType::Split, make_split_op);
  table.set(OpType::Slice, make_slice_op);
  table.set(OpType::Reshape, make_reshape_op);
  table.set(OpType::Flatten, make_flatten_op);
  table.set(OpType::Transpose, make_transpose_op);
  table.set(OpType::Squeeze, make_squeeze_op);
  table.set(OpType::Unsqueeze, make_unsqueeze_op);
  table.set(OpType::Gather, make_gather_op);
  table.set(OpType::Pad, make_pad_op);
  table.set(OpType::Tile, make_tile_op);
  table.set(OpType::Expand, make_expand_op);
  table.set(OpType::DepthToSpace, make_depth_to_space_op);
  table.set(OpType::SpaceToDepth, make_space_to_depth_op);
  table.set(OpType::Resize, make_resize_op);
  table.set(OpType::Cast, make_cast_op);
  table.set(OpType::Identity, make_identity_op);
  table.set(OpType::Shape, make_shape_op);
  table.set(OpType::ConstantOfShape, make_constant_of_shape_op);
  table.set(OpType::Range, make_range_op);
  table.set(OpType::Trilu, make_trilu_op);
  table.set(OpType::ScatterND, make_scatter_nd_op);
  table.set(OpType::ScatterElements, make_scatter_elements_op);
}

}  // namespace pocket
