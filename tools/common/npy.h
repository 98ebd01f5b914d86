// Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0): little-endian,
// C-order arrays of the dtypes Pocket tensors use. Everything else (Fortran order, big-endian,
// object or structured dtypes, truncated data) is rejected with a message naming the problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pocket/pocket.h"

namespace pocket::tools {

struct NpyArray {
  pocket_dtype dtype = POCKET_F32;
  std::vector<int64_t> shape;  // () for a scalar
  std::vector<uint8_t> data;   // elements * itemsize bytes, little-endian, C order

  int64_t elements() const;
};

// Parses a whole .npy file held in memory. On failure returns false and sets error (no file name).
bool parse_npy(const void* bytes, size_t size, NpyArray* out, std::string* error);
// Reads path; errors name the file.
bool read_npy(const std::string& path, NpyArray* out, std::string* error);

// The .npy bytes (format 1.0, or 2.0 when the header needs it) for data of dtype and shape.
// bfloat16 has no NumPy dtype and is widened to float32. Fails for int4.
bool encode_npy(pocket_dtype dtype, const std::vector<int64_t>& shape, const void* data, size_t bytes,
                std::vector<uint8_t>* out, std::string* error);
bool write_npy(const std::string& path, pocket_dtype dtype, const std::vector<int64_t>& shape,
               const void* data, size_t bytes, std::string* error);

}  // namespace pocket::tools
