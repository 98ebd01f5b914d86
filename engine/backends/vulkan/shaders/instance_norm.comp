// InstanceNormalization: X [N, C, spatial...] viewed as rows = N * C rows of `spatial` elements;
// y = (x - mean) * a + bias[c] with a = scale[c] / sqrt(var + epsilon), mean and the biased
// variance of the row (two passes: the mean, then the centred sum of squares, as the CPU op does).
// One workgroup per row, fp32 accumulation. Bindings: 0 X, 1 Y, 2 scale [C], 3 bias [C].
// Workgroups: rows, split over x and y (x * y >= rows).
#version 450
#include "common.glsl"

#define WG 128
layout(local_size_x = WG) in;

layout(std430, set = 0, binding = 0) readonly buffer X { STORE x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { STORE y[]; };
layout(std430, set = 0, binding = 2) readonly buffer S { STORE scale[]; };
layout(std430, set = 0, binding = 3) readonly buffer B { STORE bias[]; };

layout(push_constant) uniform P {
  uint rows;      // N * C
  uint spatial;   // elements per row
  uint channels;  // C
  float epsilon;
} p;

shared float red[WG];

float workgroup_sum(float v) {
  const uint t = gl_LocalInvocationID.x;
  red[t] = v;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (t < s) red[t] += red[t + s];
    barrier();
  }
  const float r = red[0];
  barrier();
  return r;
}

void main() {
  const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= p.rows) return;  // uniform over the workgroup
  const uint t = gl_LocalInvocationID.x;
  const uint base = row * p.spatial;
  const float inv_n = 1.0 / float(p.spatial);

  float s = 0.0;
  for (uint j = t; j < p.spatial; j += WG) s += LOAD(x[base + j]);
  const float mean = workgroup_sum(s) * inv_n;
  float sq = 0.0;
  for (uint j = t; j < p.spatial; j += WG) {
    const float d = LOAD(x[base + j]) - mean;
    sq += d * d;
  }
  const float var = workgroup_sum(sq) * inv_n;
  const uint c = row % p.channels;
  const float a = LOAD(scale[c]) / sqrt(var + p.epsilon);
  const float b = LOAD(bias[c]) - mean * a;
  for (uint j = t; j < p.spatial; j += WG) y[base + j] = TOSTORE(LOAD(x[base + j]) * a + b);
}
