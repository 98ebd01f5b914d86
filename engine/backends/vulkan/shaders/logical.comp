// Bool (uint 0/1) logic with numpy broadcasting: And 0, Or 1, Xor 2, Not 3 (A only).
#version 450
#include "common.glsl"
#include "broadcast.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer AB { uint a[]; };
layout(std430, set = 0, binding = 1) readonly buffer BB { uint b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer YB { uint y[]; };
layout(push_constant) uniform P { uint n; int op; int plain; int pad; int dims[6]; int sa[6]; int sb[6]; } p;

void main() {
  const uint stride = gl_NumWorkGroups.x * 256u;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
    uint ia = i, ib = i;
    if (p.plain == 0) bcast_offsets2(i, p.dims, p.sa, p.sb, ia, ib);
    bool x = a[ia] != 0u;
    bool r;
    if (p.op == 3) {
      r = !x;
    } else {
      bool z = b[ib] != 0u;
      r = p.op == 0 ? (x && z) : (p.op == 1 ? (x || z) : (x != z));
    }
    y[i] = r ? 1u : 0u;
  }
}
