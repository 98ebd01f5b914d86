// Strided box copy, the data-movement workhorse (Transpose, Slice, Concat, Split, Expand, Tile,
// DepthToSpace, SpaceToDepth):
// for every coordinate c of a box of up to 6 dims,
//   dst[dst_base + sum_d c_d * dst_stride_d] = src[src_base + sum_d (c_d % src_mod_d) * src_stride_d]
// (strides in elements; a source stride may be negative (Slice with negative steps) or 0
// (Expand); src_mod_d is the box dim except for Tile). The host merges dims and pads the plan to
// 6 dims with size-1 dims. This file moves float storage (STORE); transpose_u32.comp moves 32-bit
// words (int32, bool) with the same plan.
// Bindings: 0 src, 1 dst. Workgroups: ceil(total / 128), split over x and y.
#version 450
#include "common.glsl"

layout(local_size_x = 128) in;

layout(std430, set = 0, binding = 0) readonly buffer S { STORE src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer D { STORE dst[]; };

layout(push_constant) uniform P {
  uint total;
  int src_base;
  uint dst_base;
  uint dims[6];
  int src_stride[6];
  uint dst_stride[6];
  uint src_mod[6];
} p;

void main() {
  const uint idx = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 128 + gl_LocalInvocationID.x;
  if (idx >= p.total) return;
  uint rest = idx;
  int s = p.src_base;
  uint o = p.dst_base;
  for (int d = 5; d >= 0; --d) {
    const uint c = rest % p.dims[d];
    rest /= p.dims[d];
    s += int(c % p.src_mod[d]) * p.src_stride[d];
    o += c * p.dst_stride[d];
  }
  dst[o] = src[s];
}
