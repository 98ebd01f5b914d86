// LayerNormalization / RMSNormalization over rows of n elements (the dims from `axis` on):
//   layer: y = (x - mean) / sqrt(var + epsilon) * scale + bias   (biased variance, two passes)
//   rms:   y = x / sqrt(mean(x^2) + epsilon) * scale
// One workgroup per row. Bindings: 0 X, 1 Y, 2 scale [n], 3 bias [n] (any buffer when unused).
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
  uint rows;
  uint n;
  float epsilon;
  uint rms;        // 1: RMSNormalization
  uint has_scale;
  uint has_bias;
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
  const uint base = row * p.n;
  const float inv_n = 1.0 / float(p.n);

  float mean = 0.0;
  if (p.rms == 0) {
    float s = 0.0;
    for (uint j = t; j < p.n; j += WG) s += LOAD(x[base + j]);
    mean = workgroup_sum(s) * inv_n;
  }
  float sq = 0.0;
  for (uint j = t; j < p.n; j += WG) {
    const float d = LOAD(x[base + j]) - mean;
    sq += d * d;
  }
  const float inv_std = inversesqrt(workgroup_sum(sq) * inv_n + p.epsilon);

  for (uint j = t; j < p.n; j += WG) {
    float v = (LOAD(x[base + j]) - mean) * inv_std;
    if (p.has_scale != 0) v *= LOAD(scale[j]);
    if (p.has_bias != 0) v += LOAD(bias[j]);
    y[base + j] = TOSTORE(v);
  }
}
