// ONNX TensorProto element types <-> format DType, and TensorProto contents -> IR bytes.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "converter/ir/graph.h"
#include "engine/status.h"

namespace pocket::converter {

// The IR dtype an ONNX element type is stored as (DOUBLE -> F64, FLOAT16 -> F32, INT16/UINT16 ->
// I32, UINT32/UINT64 -> I64). False for strings, complex and unknown types.
bool onnx_dtype(int onnx_type, ir::DType* out);
std::string onnx_dtype_name(int onnx_type);

// The elements of t (raw bytes in `raw` when not null, else the typed fields) converted to the
// IR dtype chosen by onnx_dtype; `count` is the element count from the dims.
Result<std::vector<uint8_t>> onnx_tensor_data(const onnx::TensorProto& t, const std::string* raw,
                                              int64_t count, ir::DType* dtype);

}  // namespace pocket::converter
