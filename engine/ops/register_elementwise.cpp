#include "engine/op.h"

namespace pocket {

void register_elementwise_ops(OpTable& table) { (void)table; }

}  // namespace pocket
