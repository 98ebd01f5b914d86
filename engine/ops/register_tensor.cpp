#include "engine/op.h"

namespace pocket {

void register_tensor_ops(OpTable& table) { (void)table; }

}  // namespace pocket
