#include "engine/op.h"

namespace pocket {

void register_nn_ops(OpTable& table) { (void)table; }

}  // namespace pocket
