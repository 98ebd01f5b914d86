#include "engine/op.h"
#include "engine/ops/ew_ops.h"

namespace pocket {

void register_elementwise_ops(OpTable& table) {
  ew::register_binary_ops(table);
  ew::register_variadic_ops(table);
  ew::register_unary_ops(table);
  ew::register_softmax_ops(table);
  ew::register_instance_norm(table);
  ew::register_reduce_ops(table);
  ew::register_argmax_ops(table);
  ew::register_layer_norm_ops(table);
  ew::register_gelu_op(table);
  ew::register_where_op(table);
  ew::register_compare_ops(table);
  ew::register_logical_ops(table);
}

}  // namespace pocket
