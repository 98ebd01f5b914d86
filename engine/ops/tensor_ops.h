// Factories of the data-movement and shape ops (engine/ops/<op>.cpp), registered by
// register_tensor_ops() in register_tensor.cpp.
#pragma once

#include <memory>

#include "engine/op.h"

namespace pocket {

std::unique_ptr<Op> make_concat_op();
std::unique_ptr<Op> make_split_op();
std::unique_ptr<Op> make_slice_op();
std::unique_ptr<Op> make_reshape_op();
std::unique_ptr<Op> make_flatten_op();
std::unique_ptr<Op> make_squeeze_op();
std::unique_ptr<Op> make_unsqueeze_op();
std::unique_ptr<Op> make_transpose_op();
std::unique_ptr<Op> make_gather_op();
std::unique_ptr<Op> make_pad_op();
std::unique_ptr<Op> make_tile_op();
std::unique_ptr<Op> make_range_op();
std::unique_ptr<Op> make_trilu_op();
std::unique_ptr<Op> make_scatter_nd_op();
std::unique_ptr<Op> make_scatter_elements_op();
std::unique_ptr<Op> make_expand_op();
std::unique_ptr<Op> make_depth_to_space_op();
std::unique_ptr<Op> make_space_to_depth_op();
std::unique_ptr<Op> make_resize_op();
std::unique_ptr<Op> make_cast_op();
std::unique_ptr<Op> make_identity_op();
std::unique_ptr<Op> make_shape_op();
std::unique_ptr<Op> make_constant_of_shape_op();

}  // namespace pocket
