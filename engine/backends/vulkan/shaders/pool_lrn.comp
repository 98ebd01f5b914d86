// LRN, NHWC: a window of squares over the channel axis (a 1-D "pool" of x^2):
// y = x / (bias + alpha / size * sum of x^2 over channels [c - (size-1)/2, c + size/2])^beta,
// clipped to [0, C). One invocation per element. Dispatch: x (and z) over N*H*W*C, groups of 64.
// The op refuses bias <= 0 and alpha < 0, so the base of pow() is positive.
#version 450
#include "common.glsl"

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer BX { STORE x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BY { STORE y[]; };

layout(push_constant) uniform Params {
  int C, lo, hi, total;  // lo = (size-1)/2, hi = size/2
  float alpha_over_size, beta, bias;
} p;

void main() {
  const int id = int((gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x);
  if (id >= p.total) return;
  const int c = id % p.C;
  const int base = id - c;
  const int c0 = max(c - p.lo, 0), c1 = min(c + p.hi, p.C - 1);
  float sum = 0.0;
  for (int k = c0; k <= c1; ++k) {
    const float v = LOAD(x[base + k]);
    sum += v * v;
  }
  y[id] = TOSTORE(LOAD(x[id]) / pow(p.bias + p.alpha_over_size * sum, p.beta));
}
