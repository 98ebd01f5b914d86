// Shared pieces of the elementwise op group (binary, variadic, unary, softmax, normalisation,
// reductions): operand descriptions for error messages, axis normalisation and the parallel
// loop over >= 16 KiB chunks.
#pragma once

#include <pthreadpool.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "engine/op.h"

namespace pocket::ew {

// Parallel work is split into chunks of at least this many bytes of output.
inline constexpr int64_t kMinChunkBytes = 16 * 1024;

// "'x' (f32 [2,3])"
inline std::string describe(const Value& v) {
  return "'" + std::string(v.name) + "' (" + dtype_name(v.dtype) + " " + shape_str(v.shape) + ")";
}

// Checks arity: exactly `outputs` outputs and between min_in and max_in present inputs.
inline Status check_arity(const OpContext& ctx, size_t min_in, size_t max_in, size_t outputs = 1) {
  if (ctx.inputs.size() < min_in || ctx.inputs.size() > max_in) {
    std::string want = std::to_string(min_in);
    if (max_in != min_in) want += ".." + std::to_string(max_in);
    return ctx.fail(StatusCode::kInvalidModel, "expects " + want + " inputs, got " + std::to_string(ctx.inputs.size()));
  }
  for (size_t i = 0; i < ctx.inputs.size(); ++i)
    if (!ctx.inputs[i]) return ctx.fail(StatusCode::kInvalidModel, "input " + std::to_string(i) + " is missing");
  if (ctx.outputs.size() != outputs)
    return ctx.fail(StatusCode::kInvalidModel, "expects " + std::to_string(outputs) + " output(s), got " +
                                                   std::to_string(ctx.outputs.size()));
  return Status::Ok();
}

inline Status require_f32(const OpContext& ctx, const Value& v) {
  if (v.dtype != DType::F32)
    return ctx.fail(StatusCode::kUnsupported, "input " + describe(v) + " must be f32");
  return Status::Ok();
}

// Normalises a possibly negative axis into [0, rank); false if out of range.
inline bool normalize_axis(int64_t axis, int64_t rank, int64_t* out) {
  if (axis < -rank || axis >= rank) return false;
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

// f(begin, end) over [0, total) in chunks of at least min_chunk units, on the session's pool.
template <class F>
void parallel_for(const OpContext& ctx, int64_t total, int64_t min_chunk, const F& f) {
  if (total <= 0) return;
  min_chunk = std::max<int64_t>(min_chunk, 1);
  const int64_t threads = ctx.pool ? static_cast<int64_t>(pthreadpool_get_threads_count(ctx.pool)) : 1;
  if (threads <= 1 || total <= min_chunk) {
    f(int64_t{0}, total);
    return;
  }
  const int64_t chunk = std::max(min_chunk, (total + threads * 4 - 1) / (threads * 4));
  auto task = [&f](size_t start, size_t count) {
    f(static_cast<int64_t>(start), static_cast<int64_t>(start + count));
  };
  pthreadpool_parallelize_1d_tile_1d(ctx.pool, task, static_cast<size_t>(total), static_cast<size_t>(chunk), 0);
}

// Units of `unit_bytes` bytes in one parallel chunk.
inline int64_t chunk_units(int64_t unit_bytes) {
  return std::max<int64_t>(1, kMinChunkBytes / std::max<int64_t>(unit_bytes, 1));
}

}  // namespace pocket::ew
