// Resize of float storage, rank <= 4 (the host pads the shape with leading 1s). The host builds
// one table per axis (int32 weight), three words per output index: i0, i1 (source indices,
// already rounded/clamped exactly as the CPU op does) and the bits of the linear weight w of i1.
// mode 0 nearest: y = x[i0 per axis]; mode 1 linear: the multilinear blend of the 2^k corners of
// the axes whose weight is not 0 ((1 - w) * x[i0] + w * x[i1] per axis), in fp32.
// resize_u32.comp is nearest for 32-bit words (int32, bool storage).
// Bindings: 0 X, 1 tables (int32), 2 Y. Workgroups: ceil(total / 128), split over x and y.
#version 450
#include "common.glsl"

layout(local_size_x = 128) in;

layout(std430, set = 0, binding = 0) readonly buffer X { STORE x[]; };
layout(std430, set = 0, binding = 1) readonly buffer T { int tab[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y { STORE y[]; };

layout(push_constant) uniform P {
  uint total;
  uint mode;         // 0 nearest, 1 linear
  uint in_dims[4];
  uint out_dims[4];
  uint tab_off[4];   // word offset of axis d's table (3 words per output index)
} p;

void main() {
  const uint idx = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 128 + gl_LocalInvocationID.x;
  if (idx >= p.total) return;
  uint i0[4], i1[4];
  float w[4];
  uint rest = idx;
  for (int d = 3; d >= 0; --d) {
    const uint o = rest % p.out_dims[d];
    rest /= p.out_dims[d];
    const uint at = p.tab_off[d] + 3 * o;
    i0[d] = uint(tab[at]);
    i1[d] = uint(tab[at + 1]);
    w[d] = intBitsToFloat(tab[at + 2]);
  }
  const uint s3 = 1, s2 = p.in_dims[3], s1 = s2 * p.in_dims[2], s0 = s1 * p.in_dims[1];
  if (p.mode == 0) {
    y[idx] = x[i0[0] * s0 + i0[1] * s1 + i0[2] * s2 + i0[3] * s3];
    return;
  }
  const uint n0 = w[0] != 0.0 ? 2 : 1, n1 = w[1] != 0.0 ? 2 : 1, n2 = w[2] != 0.0 ? 2 : 1, n3 = w[3] != 0.0 ? 2 : 1;
  float acc = 0.0;
  for (uint a = 0; a < n0; ++a) {
    const float wa = a == 0 ? 1.0 - w[0] : w[0];
    const uint oa = (a == 0 ? i0[0] : i1[0]) * s0;
    for (uint b = 0; b < n1; ++b) {
      const float wb = wa * (b == 0 ? 1.0 - w[1] : w[1]);
      const uint ob = oa + (b == 0 ? i0[1] : i1[1]) * s1;
      for (uint c = 0; c < n2; ++c) {
        const float wc = wb * (c == 0 ? 1.0 - w[2] : w[2]);
        const uint oc = ob + (c == 0 ? i0[2] : i1[2]) * s2;
        float row = 0.0;
        if (n3 == 1) {
          row = LOAD(x[oc + i0[3]]);
        } else {
          row = (1.0 - w[3]) * LOAD(x[oc + i0[3]]) + w[3] * LOAD(x[oc + i1[3]]);
        }
        acc += wc * row;
      }
    }
  }
  y[idx] = TOSTORE(acc);
}
