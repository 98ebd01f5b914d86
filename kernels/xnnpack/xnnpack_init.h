#pragma once

namespace pocket::kernels {

// Initialises XNNPACK once per process; false if this CPU is not supported by it.
bool xnnpack_available();

}  // namespace pocket::kernels
