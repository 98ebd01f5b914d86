// SqueezeExcite, step 4: Y[n, h, w, c] = X[n, h, w, c] * g[n, c] (g fp32 scratch). One invocation
// per element. Dispatch: x (and z) over N*H*W*C in workgroups of 64.
#version 450
#include "common.glsl"

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer BX { STORE x[]; };
layout(std430, set = 0, binding = 1) readonly buffer BG { float g[]; };
layout(std430, set = 0, binding = 2) writeonly buffer BY { STORE y[]; };

layout(push_constant) uniform Params {
  int image, C, total;  // image = H*W*C, total = N*H*W*C
} p;

void main() {
  const int id = int((gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x);
  if (id >= p.total) return;
  const int n = id / p.image;
  const int c = id % p.C;
  y[id] = TOSTORE(LOAD(x[id]) * g[n * p.C + c]);
}
