// Y = cond ? X : Z with numpy broadcasting of the three operands (rank <= 6), float X and Z.
#version 450
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer CB { uint c[]; };
layout(std430, set = 0, binding = 1) readonly buffer XB { STORE x[]; };
layout(std430, set = 0, binding = 2) readonly buffer ZB { STORE z[]; };
layout(std430, set = 0, binding = 3) writeonly buffer YB { STORE y[]; };
layout(push_constant) uniform P { uint n; int dims[6]; int sc[6]; int sx[6]; int sz[6]; } p;

void main() {
  const uint stride = gl_NumWorkGroups.x * 256u;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
    int r = int(i), oc = 0, ox = 0, oz = 0;
    for (int d = 5; d >= 0; --d) {
      int q = r / p.dims[d];
      int k = r - q * p.dims[d];
      r = q;
      oc += k * p.sc[d];
      ox += k * p.sx[d];
      oz += k * p.sz[d];
    }
    y[i] = c[oc] != 0u ? x[ox] : z[oz];
  }
}
