// Seeded random tensor contents for benchmarks when the user gives no inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pocket/pocket.h"

namespace pocket::tools {

// Uniform values in [lo, hi) for float dtypes, integers in [lo, hi) for integer dtypes, 0/1 for
// bool. Writes `elements` values of `dtype` to out. False for dtypes it cannot produce (int4).
bool fill_random(pocket_dtype dtype, size_t elements, uint64_t seed, double lo, double hi, void* out);

// The default range for a dtype: [-1, 1) for floats, [0, 2) for int64/int32 (indices, masks,
// token ids of a tiny vocabulary), [0, 256) for uint8, [-128, 128) for int8.
void default_random_range(pocket_dtype dtype, double* lo, double* hi);

// "NAME=1x128" (or "NAME=1,128") -> name and shape, for --input-shape. Dims are >= 0.
bool parse_input_shape(const std::string& spec, std::string* name, std::vector<int64_t>* shape, std::string* error);

// IEEE half from float (round to nearest even).
uint16_t float_to_half(float f);

}  // namespace pocket::tools
