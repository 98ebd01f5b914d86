// Y = A op B with numpy broadcasting (rank <= 6), float. op: Add 0, Sub 1, Mul 2, Div 3, Pow 4,
// Max 5, Min 6, PRelu 7 (A = X, B = slope). plain = 1: A, B and Y have the same shape.
#version 450
#include "common.glsl"
#include "broadcast.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer AB { STORE a[]; };
layout(std430, set = 0, binding = 1) readonly buffer BB { STORE b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer YB { STORE y[]; };
layout(push_constant) uniform P { uint n; int op; int plain; int pad; int dims[6]; int sa[6]; int sb[6]; } p;

float apply(float x, float z) {
  switch (p.op) {
    case 0: return x + z;
    case 1: return x - z;
    case 2: return x * z;
    case 3: return x / z;
    case 4: {
      // pow for negative bases with integral exponents (GLSL pow is undefined for x < 0).
      if (x < 0.0 && z == floor(z)) {
        float r = pow(-x, z);
        return mod(z, 2.0) == 0.0 ? r : -r;
      }
      if (x == 0.0) return z == 0.0 ? 1.0 : (z > 0.0 ? 0.0 : 1.0 / 0.0);
      return pow(x, z);
    }
    case 5: return isnan(x) || isnan(z) ? x + z : max(x, z);
    case 6: return isnan(x) || isnan(z) ? x + z : min(x, z);
    case 7: return x >= 0.0 ? x : x * z;
    default: return x;
  }
}

void main() {
  const uint stride = gl_NumWorkGroups.x * 256u;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
    uint ia = i, ib = i;
    if (p.plain == 0) bcast_offsets2(i, p.dims, p.sa, p.sb, ia, ib);
    y[i] = TOSTORE(apply(LOAD(a[ia]), LOAD(b[ib])));
  }
}
