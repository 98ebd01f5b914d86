// libFuzzer target: the .npy reader (tools/common/npy.*, also used by the converter's calibration
// loader). Any byte string is parsed; an accepted array must be self-consistent (data size =
// elements x item size) and survive an encode -> parse round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/common/npy.h"

namespace {
size_t item_size(pocket_dtype d) {
  switch (d) {
    case POCKET_F32: case POCKET_I32: return 4;
    case POCKET_F16: case POCKET_BF16: return 2;
    case POCKET_I64: return 8;
    default: return 1;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pocket::tools::NpyArray a;
  std::string error;
  if (!pocket::tools::parse_npy(data, size, &a, &error)) {
    if (error.empty()) std::abort();
    return 0;
  }
  const int64_t n = a.elements();
  if (n < 0 || static_cast<uint64_t>(n) * item_size(a.dtype) != a.data.size()) std::abort();
  std::vector<uint8_t> enc;
  if (!pocket::tools::encode_npy(a.dtype, a.shape, a.data.data(), a.data.size(), &enc, &error)) {
    if (error.empty()) std::abort();
    return 0;
  }
  pocket::tools::NpyArray b;
  if (!pocket::tools::parse_npy(enc.data(), enc.size(), &b, &error)) std::abort();
  if (b.dtype != a.dtype || b.shape != a.shape || b.data != a.data) std::abort();
  return 0;
}
