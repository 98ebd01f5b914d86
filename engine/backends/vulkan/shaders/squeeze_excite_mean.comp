// SqueezeExcite, step 1 of 4: s[n, c] = mean over H*W of X[n, :, :, c], kept in fp32 (scratch)
// in both storage modes. One invocation per (n, c). Dispatch: x (and z) over N*C, groups of 64.
#version 450
#include "common.glsl"

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer BX { STORE x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BS { float s[]; };

layout(push_constant) uniform Params {
  int pixels, C, total;  // total = N*C
} p;

void main() {
  const int id = int((gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x);
  if (id >= p.total) return;
  const int n = id / p.C, c = id - n * p.C;
  int off = n * p.pixels * p.C + c;
  float s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int i = 0;
  for (; i + 4 <= p.pixels; i += 4, off += 4 * p.C) {
    s0 += LOAD(x[off]);
    s1 += LOAD(x[off + p.C]);
    s2 += LOAD(x[off + 2 * p.C]);
    s3 += LOAD(x[off + 3 * p.C]);
  }
  for (; i < p.pixels; ++i, off += p.C) s0 += LOAD(x[off]);
  s[id] = ((s0 + s1) + (s2 + s3)) * (1.0 / float(p.pixels));
}
