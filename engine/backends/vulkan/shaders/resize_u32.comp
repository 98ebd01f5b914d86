// resize.comp's nearest mode for 32-bit words (int32 and bool storage): y = x[i0 per axis], the
// per-axis source indices from the host's tables (3 words per output index; only i0 is read).
// Bindings: 0 X, 1 tables (int32), 2 Y. Workgroups: ceil(total / 128), split over x and y.
#version 450

#define RANK 6
layout(local_size_x = 128) in;

layout(std430, set = 0, binding = 0) readonly buffer X { uint x[]; };
layout(std430, set = 0, binding = 1) readonly buffer T { int tab[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y { uint y[]; };

layout(push_constant) uniform P {
  uint total;
  uint mode;            // always 0 (nearest)
  uint in_dims[RANK];
  uint out_dims[RANK];
  uint tab_off[RANK];
} p;

void main() {
  const uint idx = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 128 + gl_LocalInvocationID.x;
  if (idx >= p.total) return;
  uint rest = idx, off = 0, stride = 1;
  for (int d = RANK - 1; d >= 0; --d) {
    const uint o = rest % p.out_dims[d];
    rest /= p.out_dims[d];
    off += uint(tab[p.tab_off[d] + 3 * o]) * stride;
    stride *= p.in_dims[d];
  }
  y[idx] = x[off];
}
