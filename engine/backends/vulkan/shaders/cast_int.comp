// Cast between int32 storage types: mode 0 copies (I32 <-> I64 stored as int32, bool -> int),
// mode 1 gives bool (x != 0).
#version 450
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer XB { int x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YB { int y[]; };
layout(push_constant) uniform P { uint n; int mode; } p;

void main() {
  const uint stride = gl_NumWorkGroups.x * 256u;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) y[i] = p.mode == 1 ? (x[i] != 0 ? 1 : 0) : x[i];
}
