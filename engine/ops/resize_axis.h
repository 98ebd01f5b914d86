// Resize's modes and per-axis source indices (ONNX), shared by the CPU op (engine/ops/resize.cpp)
// and the Vulkan op (engine/backends/vulkan/vk_ops_reduce.cpp), so that both read the same input
// elements with the same weights. Source coordinates are clamped into the input as ONNX Runtime
// and PyTorch do.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "engine/op.h"

namespace pocket {

enum class ResizeCoord { kHalfPixel, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfHalfPixelForNearest };
enum class ResizeRound { kPreferFloor, kPreferCeil, kFloor, kCeil };

struct ResizeModes {
  bool linear = false;  // mode "linear" (else "nearest")
  ResizeCoord coord = ResizeCoord::kHalfPixel;
  ResizeRound round = ResizeRound::kPreferFloor;
};

// Reads mode, coordinate_transformation_mode and nearest_mode: "" or what is not supported.
inline std::string parse_resize_modes(const Attrs& a, ResizeModes* m) {
  *m = ResizeModes{};
  const std::string mode = a.s("mode", "nearest");
  if (mode == "linear") m->linear = true;
  else if (mode != "nearest") return "mode '" + mode + "' is not supported (nearest, linear)";
  const std::string ct = a.s("coordinate_transformation_mode", "half_pixel");
  if (ct == "half_pixel") m->coord = ResizeCoord::kHalfPixel;
  else if (ct == "pytorch_half_pixel") m->coord = ResizeCoord::kPytorchHalfPixel;
  else if (ct == "align_corners") m->coord = ResizeCoord::kAlignCorners;
  else if (ct == "asymmetric") m->coord = ResizeCoord::kAsymmetric;
  else if (ct == "tf_half_pixel_for_nearest") m->coord = ResizeCoord::kTfHalfPixelForNearest;
  else return "coordinate_transformation_mode '" + ct + "' is not supported";
  const std::string nm = a.s("nearest_mode", "round_prefer_floor");
  if (nm == "round_prefer_floor") m->round = ResizeRound::kPreferFloor;
  else if (nm == "round_prefer_ceil") m->round = ResizeRound::kPreferCeil;
  else if (nm == "floor") m->round = ResizeRound::kFloor;
  else if (nm == "ceil") m->round = ResizeRound::kCeil;
  else return "nearest_mode '" + nm + "' is not supported";
  return {};
}

// The input coordinate of output index o along an axis of in_len -> out_len elements at `scale`.
inline float resize_source_coord(ResizeCoord mode, int64_t o, float scale, int64_t in_len, int64_t out_len) {
  const float x = static_cast<float>(o);
  switch (mode) {
    case ResizeCoord::kHalfPixel: return (x + 0.5f) / scale - 0.5f;
    case ResizeCoord::kPytorchHalfPixel: return out_len > 1 ? (x + 0.5f) / scale - 0.5f : 0.f;
    case ResizeCoord::kAlignCorners:
      return out_len == 1 ? 0.f : x * static_cast<float>(in_len - 1) / static_cast<float>(out_len - 1);
    case ResizeCoord::kAsymmetric: return x / scale;
    case ResizeCoord::kTfHalfPixelForNearest: return (x + 0.5f) / scale;
  }
  return 0.f;
}

inline int64_t resize_clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

// Nearest: the input index output index o reads.
inline int64_t resize_nearest_index(const ResizeModes& m, int64_t o, float scale, int64_t in_len, int64_t out_len) {
  const float x = resize_source_coord(m.coord, o, scale, in_len, out_len);
  const float f = std::floor(x);
  int64_t i = 0;
  switch (m.round) {
    case ResizeRound::kPreferFloor: i = static_cast<int64_t>(x == f + 0.5f ? f : std::round(x)); break;
    case ResizeRound::kPreferCeil: i = static_cast<int64_t>(x == f + 0.5f ? f + 1.f : std::round(x)); break;
    case ResizeRound::kFloor: i = static_cast<int64_t>(f); break;
    case ResizeRound::kCeil: i = static_cast<int64_t>(std::ceil(x)); break;
  }
  return resize_clamp_index(i, in_len);
}

// Linear: output index o blends input indices *lo and *hi as (1 - *w) * x[lo] + *w * x[hi].
inline void resize_linear_taps(const ResizeModes& m, int64_t o, float scale, int64_t in_len, int64_t out_len,
                               int64_t* lo, int64_t* hi, float* w) {
  float c = resize_source_coord(m.coord, o, scale, in_len, out_len);
  c = std::fmin(std::fmax(c, 0.f), static_cast<float>(in_len - 1));
  *lo = resize_clamp_index(static_cast<int64_t>(c), in_len);
  *hi = *lo + 1 < in_len ? *lo + 1 : *lo;
  *w = *hi == *lo ? 0.f : c - static_cast<float>(*lo);
}

}  // namespace pocket
