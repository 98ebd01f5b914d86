// Trilu of float storage: X [..., rows, cols]; keeps the elements with j - i >= k (upper) or
// j - i <= k (lower) of every rows x cols matrix and writes 0 elsewhere. k is clamped on the host
// into [-rows - 1, cols + 1] (the same elements as the unclamped k). trilu_u32.comp moves 32-bit
// words (int32, bool storage). Bindings: 0 X, 1 Y. Workgroups: ceil(total / 128), over x and y.
#version 450
#include "common.glsl"

layout(local_size_x = 128) in;

layout(std430, set = 0, binding = 0) readonly buffer X { STORE x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { STORE y[]; };

layout(push_constant) uniform P {
  uint total;
  uint rows;
  uint cols;
  uint upper;
  int k;
} p;

void main() {
  const uint idx = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 128 + gl_LocalInvocationID.x;
  if (idx >= p.total) return;
  const int j = int(idx % p.cols);
  const int i = int((idx / p.cols) % p.rows);
  const bool keep = p.upper != 0 ? j - i >= p.k : j - i <= p.k;
  y[idx] = keep ? x[idx] : TOSTORE(0.0);
}
