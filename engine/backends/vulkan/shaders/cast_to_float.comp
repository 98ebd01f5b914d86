// Cast of int32 (I32, I64 stored as int32) or bool (0/1) to float.
#version 450
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer XB { int x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YB { STORE y[]; };
layout(push_constant) uniform P { uint n; } p;

void main() {
  const uint stride = gl_NumWorkGroups.x * 256u;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) y[i] = TOSTORE(float(x[i]));
}
