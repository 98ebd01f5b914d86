// Resize of float storage, rank <= 6 (the host pads the shape with leading 1s). The host builds
// one table per axis (int32 weight), three words per output index: i0, i1 (source indices,
// already rounded/clamped exactly as the CPU op does) and the bits of the linear weight w of i1.
// mode 0 nearest: y = x[i0 per axis]; mode 1 linear: the multilinear blend, in fp32, of the 2^k
// corners of the k axes whose weight is not 0 (weights (1 - w) for i0, w for i1 per axis).
// resize_u32.comp is nearest for 32-bit words (int32, bool storage).
// Bindings: 0 X, 1 tables (int32), 2 Y. Workgroups: ceil(total / 128), split over x and y.
#version 450
#include "common.glsl"

#define RANK 6
layout(local_size_x = 128) in;

layout(std430, set = 0, binding = 0) readonly buffer X { STORE x[]; };
layout(std430, set = 0, binding = 1) readonly buffer T { int tab[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y { STORE y[]; };

layout(push_constant) uniform P {
  uint total;
  uint mode;            // 0 nearest, 1 linear
  uint in_dims[RANK];
  uint out_dims[RANK];
  uint tab_off[RANK];   // word offset of axis d's table (3 words per output index)
} p;

void main() {
  const uint idx = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 128 + gl_LocalInvocationID.x;
  if (idx >= p.total) return;
  uint i0[RANK], i1[RANK], stride[RANK];
  float w[RANK];
  uint rest = idx, s = 1, base = 0, moving = 0;
  for (int d = RANK - 1; d >= 0; --d) {
    const uint o = rest % p.out_dims[d];
    rest /= p.out_dims[d];
    const uint at = p.tab_off[d] + 3 * o;
    i0[d] = uint(tab[at]);
    i1[d] = uint(tab[at + 1]);
    w[d] = intBitsToFloat(tab[at + 2]);
    stride[d] = s;
    base += i0[d] * s;
    s *= p.in_dims[d];
    if (w[d] != 0.0) moving |= 1u << d;
  }
  if (p.mode == 0 || moving == 0) {
    y[idx] = x[base];
    return;
  }
  // Every subset c of the moving axes: axis d in c reads i1 with weight w, else i0 with 1 - w.
  float acc = 0.0;
  uint c = moving;
  while (true) {
    float wt = 1.0;
    uint off = base;
    for (int d = 0; d < RANK; ++d) {
      if ((moving & (1u << d)) == 0) continue;
      if ((c & (1u << d)) != 0) {
        wt *= w[d];
        off += (i1[d] - i0[d]) * stride[d];
      } else {
        wt *= 1.0 - w[d];
      }
    }
    acc += wt * LOAD(x[off]);
    if (c == 0) break;
    c = (c - 1) & moving;
  }
  y[idx] = TOSTORE(acc);
}
