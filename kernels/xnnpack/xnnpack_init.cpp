#include "kernels/xnnpack/xnnpack_init.h"

#include <xnnpack.h>

namespace pocket::kernels {

bool xnnpack_available() {
  static const bool ok = xnn_initialize(/*allocator=*/nullptr) == xnn_status_success;
  return ok;
}

}  // namespace pocket::kernels
