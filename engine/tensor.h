// Runtime tensors: a dtype, a shape and a pointer into the weights mapping, the session arena,
// session-owned memory for values computed at prepare (known), or nowhere yet. Shapes and sizes
// are int64_t.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "format/pocket_generated.h"

namespace pocket {

using DType = fb::DType;
using Shape = std::vector<int64_t>;

// Bytes per element; 0 for I4 (packed, two per byte) which callers size by hand.
size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

// Product of dims; -1 if any dim is negative or the product overflows int64.
int64_t num_elements(const Shape& shape);
std::string shape_str(const Shape& shape);
// Product of non-negative factors, saturating at INT64_MAX: FLOP counts computed at prepare from
// shapes a hostile file chose must not overflow.
int64_t saturating_product(std::initializer_list<int64_t> factors);

struct Value {
  std::string_view name;
  DType dtype = DType::F32;
  Shape shape;
  void* data = nullptr;     // valid after the memory plan (activations) or at load (constants)
  bool constant = false;    // data comes from the model's weight segment and is read-only
  // Computed once at prepare (a Shape node, or a node whose inputs are all constant or known, with
  // small outputs): data is session-owned host memory, not the arena, and stays put until the
  // next prepare. Shape operands (Reshape shape, Slice ends, ...) must be constant or known.
  bool known = false;
  // The file's quantization of this tensor (format 1.2), nullptr if none: an I8 value holds
  // q with real = scale * (q - zero_point), per tensor (axis -1) or per axis. Validated at load.
  const fb::Quantization* quant = nullptr;

  int64_t elements() const { return num_elements(shape); }
  size_t bytes() const { return static_cast<size_t>(elements()) * dtype_size(dtype); }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  template <class T> T* as() const { return static_cast<T*>(data); }
};

}  // namespace pocket
