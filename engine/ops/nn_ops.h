// Factories of the NN op group (registered by register_nn_ops).
#pragma once

#include <memory>

#include "engine/op.h"

namespace pocket {

std::unique_ptr<Op> make_conv();
std::unique_ptr<Op> make_conv_transpose();
std::unique_ptr<Op> make_max_pool();
std::unique_ptr<Op> make_average_pool();
std::unique_ptr<Op> make_global_average_pool();
std::unique_ptr<Op> make_global_max_pool();
std::unique_ptr<Op> make_lrn();
std::unique_ptr<Op> make_gemm();
std::unique_ptr<Op> make_matmul();
std::unique_ptr<Op> make_squeeze_excite();
std::unique_ptr<Op> make_attention();

}  // namespace pocket
