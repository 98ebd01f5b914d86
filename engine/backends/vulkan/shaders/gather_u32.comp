// gather.comp for 32-bit words (int32 and bool storage). Gather along one axis: data viewed as
// [outer, axis_dim, inner], indices (int32 storage) as
// [num_indices] -> out [outer, num_indices, inner]. A negative index counts from the end; an
// index still out of range is clamped into [0, axis_dim - 1] (as the CPU op does with run-time
// indices: never a read out of bounds). This file moves float storage; gather_u32.comp moves
// 32-bit words (int32, bool).
// Bindings: 0 data, 1 indices, 2 out. Workgroups: ceil(total / 128), split over x and y.
#version 450
#include "common.glsl"

layout(local_size_x = 128) in;

layout(std430, set = 0, binding = 0) readonly buffer S { uint data[]; };
layout(std430, set = 0, binding = 1) readonly buffer I { int indices[]; };
layout(std430, set = 0, binding = 2) writeonly buffer D { uint dst[]; };

layout(push_constant) uniform P {
  uint total;        // outer * num_indices * inner
  uint num_indices;
  uint axis_dim;
  uint inner;
} p;

void main() {
  const uint idx = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 128 + gl_LocalInvocationID.x;
  if (idx >= p.total) return;
  const uint r = idx % p.inner;
  const uint j = (idx / p.inner) % p.num_indices;
  const uint o = idx / (p.inner * p.num_indices);
  int i = indices[j];
  if (i < 0) i += int(p.axis_dim);
  i = clamp(i, 0, int(p.axis_dim) - 1);
  dst[idx] = data[(o * p.axis_dim + uint(i)) * p.inner + r];
}
