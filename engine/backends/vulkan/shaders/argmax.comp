// ArgMax / ArgMin of float storage along one axis of X viewed as [outer, n, inner]: one
// invocation per (outer, inner) position walks the n elements `inner` apart in order, exactly as
// the CPU kernel does (strict comparison keeps the first extreme, select_last_index the last; a
// NaN is the extreme of both, the first NaN or with select_last_index the last). Indices are int32 (I64 storage on the device).
// argmax_i.comp is the same for int32 storage (I32 and I64 inputs).
// Bindings: 0 X, 1 Y (int32). Workgroups: ceil(outer * inner / 128), split over x and y.
#version 450
#include "common.glsl"

layout(local_size_x = 128) in;

layout(std430, set = 0, binding = 0) readonly buffer X { STORE x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { int y[]; };

layout(push_constant) uniform P {
  uint total;  // outer * inner
  uint n;
  uint inner;
  uint is_min;
  uint last;   // select_last_index
} p;

void main() {
  const uint idx = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 128 + gl_LocalInvocationID.x;
  if (idx >= p.total) return;
  const uint o = idx / p.inner, c = idx % p.inner;
  const uint base = o * p.n * p.inner + c;
  float best = LOAD(x[base]);
  int bi = 0;
  for (uint i = 1; i < p.n; ++i) {
    const float v = LOAD(x[base + i * p.inner]);
    bool better;
    if (isnan(best)) better = p.last != 0 && isnan(v);
    else if (isnan(v)) better = true;
    else if (p.is_min != 0) better = p.last != 0 ? v <= best : v < best;
    else better = p.last != 0 ? v >= best : v > best;
    if (better) {
      best = v;
      bi = int(i);
    }
  }
  y[idx] = bi;
}
