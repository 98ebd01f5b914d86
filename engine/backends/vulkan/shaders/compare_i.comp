// Y (bool as uint 0/1) = A cmp B with numpy broadcasting, int32 operands (I32, I64 stored as
// int32, BOOL as 0/1). op: Equal 0, Less 1, Greater 2, LessOrEqual 3, GreaterOrEqual 4.
#version 450
#include "common.glsl"
#include "broadcast.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer AB { int a[]; };
layout(std430, set = 0, binding = 1) readonly buffer BB { int b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer YB { uint y[]; };
layout(push_constant) uniform P { uint n; int op; int plain; int pad; int dims[6]; int sa[6]; int sb[6]; } p;

void main() {
  const uint stride = gl_NumWorkGroups.x * 256u;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
    uint ia = i, ib = i;
    if (p.plain == 0) bcast_offsets2(i, p.dims, p.sa, p.sb, ia, ib);
    int x = a[ia], z = b[ib];
    bool r;
    switch (p.op) {
      case 0: r = x == z; break;
      case 1: r = x < z; break;
      case 2: r = x > z; break;
      case 3: r = x <= z; break;
      default: r = x >= z; break;
    }
    y[i] = r ? 1u : 0u;
  }
}
