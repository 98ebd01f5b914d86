#include "engine/op.h"
#include "engine/ops/ew_ops.h"

namespace pocket {

namespace ew {
// Transformer ops (format 1.1), one function per op file.
void register_layer_norm_ops(OpTable& table);  // LayerNormalization RMSNormalization
void register_gelu_op(OpTable& table);         // Gelu
void register_where_op(OpTable& table);        // Where
void register_compare_ops(OpTable& table);     // Equal Less Greater LessOrEqual GreaterOrEqual
void register_logical_ops(OpTable& table);     // And Or Xor Not
}  // namespace ew

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
