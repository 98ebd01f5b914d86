// argmax.comp for int32 storage (I32 inputs, and I64 inputs stored as int32 on the device):
// ArgMax / ArgMin along one axis of X viewed as [outer, n, inner], one invocation per (outer,
// inner) position, ties to the first index (or the last with select_last_index) as on the CPU.
// Bindings: 0 X (int32), 1 Y (int32). Workgroups: ceil(outer * inner / 128), split over x and y.
#version 450
#include "common.glsl"

layout(local_size_x = 128) in;

layout(std430, set = 0, binding = 0) readonly buffer X { int x[]; };
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
  int best = x[base];
  int bi = 0;
  for (uint i = 1; i < p.n; ++i) {
    const int v = x[base + i * p.inner];
    bool better;
    if (p.is_min != 0) better = p.last != 0 ? v <= best : v < best;
    else better = p.last != 0 ? v >= best : v > best;
    if (better) {
      best = v;
      bi = int(i);
    }
  }
  y[idx] = bi;
}
