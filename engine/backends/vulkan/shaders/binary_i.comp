// Y = A op B with numpy broadcasting (rank <= 6), int32 (I32, and I64 stored as int32).
// op: Add 0, Sub 1, Mul 2, Div 3 (truncates; x / 0 = 0, as the CPU), Max 5, Min 6.
#version 450
#include "common.glsl"
#include "broadcast.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer AB { int a[]; };
layout(std430, set = 0, binding = 1) readonly buffer BB { int b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer YB { int y[]; };
layout(push_constant) uniform P { uint n; int op; int plain; int pad; int dims[6]; int sa[6]; int sb[6]; } p;

int apply(int x, int z) {
  switch (p.op) {
    case 0: return x + z;
    case 1: return x - z;
    case 2: return x * z;
    case 3: return z == 0 ? 0 : x / z;
    case 5: return max(x, z);
    case 6: return min(x, z);
    default: return x;
  }
}

void main() {
  const uint stride = gl_NumWorkGroups.x * 256u;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
    uint ia = i, ib = i;
    if (p.plain == 0) bcast_offsets2(i, p.dims, p.sa, p.sb, ia, ib);
    y[i] = apply(a[ia], b[ib]);
  }
}
