#include "engine/op.h"
#include "engine/ops/nn_ops.h"

namespace pocket {

void register_nn_ops(OpTable& table) {
  table.set(fb::OpType::Conv, &make_conv);
  table.set(fb::OpType::ConvTranspose, &make_conv_transpose);
  table.set(fb::OpType::MaxPool, &make_max_pool);
  table.set(fb::OpType::AveragePool, &make_average_pool);
  table.set(fb::OpType::GlobalAveragePool, &make_global_average_pool);
  table.set(fb::OpType::GlobalMaxPool, &make_global_max_pool);
  table.set(fb::OpType::LRN, &make_lrn);
  table.set(fb::OpType::Gemm, &make_gemm);
  table.set(fb::OpType::MatMul, &make_matmul);
  table.set(fb::OpType::SqueezeExcite, &make_squeeze_excite);
  table.set(fb::OpType::Attention, &make_attention);
}

}  // namespace pocket
