// Softmax / LogSoftmax along one axis of X viewed as [outer, n, inner] (opset-13 meaning).
// One workgroup per row (an (outer, inner) pair): the n elements `inner` apart. Numerically
// stable: the row max is subtracted, so -inf scores give exact zeros.
// Bindings: 0 X, 1 Y. Workgroups: rows, split over x and y (x * y >= rows).
#version 450
#include "common.glsl"

#define WG 128
layout(local_size_x = WG) in;

layout(std430, set = 0, binding = 0) readonly buffer X { STORE x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { STORE y[]; };

layout(push_constant) uniform P {
  uint rows;   // outer * inner
  uint n;      // elements along the axis
  uint inner;  // stride of the axis
  uint log_softmax;
} p;

shared float red[WG];

void main() {
  const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= p.rows) return;  // uniform over the workgroup
  const uint t = gl_LocalInvocationID.x;
  const uint o = row / p.inner, c = row % p.inner;
  const uint base = o * p.n * p.inner + c;

  float m = uintBitsToFloat(0xff800000u);  // -inf
  for (uint j = t; j < p.n; j += WG) m = max(m, LOAD(x[base + j * p.inner]));
  red[t] = m;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (t < s) red[t] = max(red[t], red[t + s]);
    barrier();
  }
  m = red[0];
  barrier();

  float sum = 0.0;
  for (uint j = t; j < p.n; j += WG) sum += exp(LOAD(x[base + j * p.inner]) - m);
  red[t] = sum;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (t < s) red[t] += red[t + s];
    barrier();
  }
  sum = red[0];

  if (p.log_softmax != 0) {
    const float shift = m + log(sum);
    for (uint j = t; j < p.n; j += WG) y[base + j * p.inner] = TOSTORE(LOAD(x[base + j * p.inner]) - shift);
  } else {
    const float inv = 1.0 / sum;
    for (uint j = t; j < p.n; j += WG) y[base + j * p.inner] = TOSTORE(exp(LOAD(x[base + j * p.inner]) - m) * inv);
  }
}
