// Cast from float. mode 0: to int32 (truncate toward zero, saturate, NaN -> 0); 1: to bool (x != 0).
#version 450
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer XB { STORE x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YB { int y[]; };
layout(push_constant) uniform P { uint n; int mode; } p;

void main() {
  const uint stride = gl_NumWorkGroups.x * 256u;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
    float v = LOAD(x[i]);
    if (p.mode == 1) {
      y[i] = v != 0.0 ? 1 : 0;
    } else if (isnan(v)) {
      y[i] = 0;
    } else {
      y[i] = v >= 2147483520.0 ? 2147483647 : (v <= -2147483648.0 ? -2147483647 - 1 : int(trunc(v)));
    }
  }
}
