// Softmax / LogSoftmax for short rows (the host picks it for n <= 64): one invocation per row of
// X viewed as [outer, n, inner] (rows = outer * inner, adjacent invocations reading adjacent
// columns when inner > 1), three passes over the row: max, sum of exp, write. Same numerics as
// softmax.comp. Bindings: 0 X, 1 Y. Workgroups: ceil(rows / 64), split over x and y.
#version 450
#include "common.glsl"

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer X { STORE x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { STORE y[]; };

layout(push_constant) uniform P {
  uint rows;   // outer * inner
  uint n;      // elements along the axis
  uint inner;  // stride of the axis
  uint log_softmax;
} p;

void main() {
  const uint row = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64 + gl_LocalInvocationID.x;
  if (row >= p.rows) return;
  const uint o = row / p.inner, c = row % p.inner;
  const uint base = o * p.n * p.inner + c;
  float m = uintBitsToFloat(0xff800000u);  // -inf
  for (uint j = 0; j < p.n; ++j) m = max(m, LOAD(x[base + j * p.inner]));
  float sum = 0.0;
  for (uint j = 0; j < p.n; ++j) sum += exp(LOAD(x[base + j * p.inner]) - m);
  if (p.log_softmax != 0) {
    const float shift = m + log(sum);
    for (uint j = 0; j < p.n; ++j) y[base + j * p.inner] = TOSTORE(LOAD(x[base + j * p.inner]) - shift);
  } else {
    const float inv = 1.0 / sum;
    for (uint j = 0; j < p.n; ++j) y[base + j * p.inner] = TOSTORE(exp(LOAD(x[base + j * p.inner]) - m) * inv);
  }
}
