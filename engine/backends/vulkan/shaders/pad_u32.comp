// pad.comp for 32-bit words (int32 and bool storage). Pad (constant, reflect or edge) of a
// contiguous X of up to 6 dims (the host pads the plan with
// leading size-1 dims): output coordinate c reads input coordinate c - begin_d, mapped back into
// [0, in_dim_d) by the mode (reflect: numpy "reflect", bouncing for pads larger than the dim;
// edge: clamped), or is `value` in constant mode when it falls outside. Negative begins crop.
// This file moves float storage; pad_u32.comp moves 32-bit words (int32, bool).
// Bindings: 0 X, 1 Y. Workgroups: ceil(total / 128), split over x and y.
#version 450
#include "common.glsl"

layout(local_size_x = 128) in;

layout(std430, set = 0, binding = 0) readonly buffer S { uint src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer D { uint dst[]; };

layout(push_constant) uniform P {
  uint total;
  uint mode;        // 0 constant, 1 reflect, 2 edge
  uint value_bits;  // the constant: float bits (float storage) or the 32-bit word
  uint out_dims[6];
  uint in_dims[6];
  int begin[6];
} p;

void main() {
  const uint idx = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 128 + gl_LocalInvocationID.x;
  if (idx >= p.total) return;
  uint rest = idx;
  uint s = 0, stride = 1;
  bool outside = false;
  for (int d = 5; d >= 0; --d) {
    const int n = int(p.in_dims[d]);
    int c = int(rest % p.out_dims[d]) - p.begin[d];
    rest /= p.out_dims[d];
    if (c < 0 || c >= n) {
      if (p.mode == 0) {
        outside = true;
      } else if (p.mode == 2 || n == 1) {
        c = clamp(c, 0, n - 1);
      } else {
        const int period = 2 * (n - 1);
        c = abs(c) % period;
        if (c >= n) c = period - c;
      }
    }
    s += uint(max(c, 0)) * stride;
    stride *= uint(n);
  }
  dst[idx] = outside ? p.value_bits : src[s];
}
