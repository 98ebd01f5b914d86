// Registration of the elementwise op group, one function per op file.
#pragma once

#include "engine/op.h"

namespace pocket::ew {

void register_binary_ops(OpTable& table);       // Add Sub Mul Div Pow PRelu
void register_variadic_ops(OpTable& table);     // Sum Max Min
void register_unary_ops(OpTable& table);        // activations and math
void register_softmax_ops(OpTable& table);      // Softmax LogSoftmax
void register_instance_norm(OpTable& table);    // InstanceNormalization
void register_reduce_ops(OpTable& table);       // ReduceMean/Sum/Max/Min/Prod/L2
void register_argmax_ops(OpTable& table);       // ArgMax ArgMin
void register_layer_norm_ops(OpTable& table);  // LayerNormalization RMSNormalization
void register_gelu_op(OpTable& table);         // Gelu
void register_where_op(OpTable& table);        // Where
void register_compare_ops(OpTable& table);     // Equal Less Greater LessOrEqual GreaterOrEqual
void register_logical_ops(OpTable& table);     // And Or Xor Not

}  // namespace pocket::ew
