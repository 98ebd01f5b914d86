// ConvTranspose, NHWC, gather form: output (n, oy, ox, m) of group g = m / Mg sums, over the taps
// (ky, kx) whose input position iy = (oy + PT - ky*DH) / SH (and likewise ix) is an integer
// inside the input, the products x[n, iy, ix, g*Cg + c] * W[g*Cg + c][m % Mg][ky][kx]; then bias
// and the fused activation. One invocation per output element, channel fastest.
// Weights (repacked on the host): [M][KH][KW][Cg]. Bias [M] (zeros when absent).
// Dispatch: x (and z) over N*OH*OW*M in workgroups of 64.
#version 450
#include "common.glsl"

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer BX { STORE x[]; };
layout(std430, set = 0, binding = 1) readonly buffer BW { STORE w[]; };
layout(std430, set = 0, binding = 2) readonly buffer BB { STORE bias[]; };
layout(std430, set = 0, binding = 3) writeonly buffer BY { STORE y[]; };

layout(push_constant) uniform Params {
  int H, W, C, OH;
  int OW, M, KH, KW;
  int SH, SW, DH, DW;
  int PT, PL, Cg, Mg;
  int act, total;
  float alpha, beta;
} p;

void main() {
  const int id = int((gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x);
  if (id >= p.total) return;
  const int m = id % p.M;
  const int pix = id / p.M;
  const int ox = pix % p.OW;
  const int t = pix / p.OW;
  const int oy = t % p.OH;
  const int n = t / p.OH;
  const int cin0 = (m / p.Mg) * p.Cg;
  float acc = 0.0;
  for (int ky = 0; ky < p.KH; ++ky) {
    const int ty = oy + p.PT - ky * p.DH;
    if (ty < 0 || ty % p.SH != 0) continue;
    const int iy = ty / p.SH;
    if (iy >= p.H) continue;
    for (int kx = 0; kx < p.KW; ++kx) {
      const int tx = ox + p.PL - kx * p.DW;
      if (tx < 0 || tx % p.SW != 0) continue;
      const int ix = tx / p.SW;
      if (ix >= p.W) continue;
      const int xb = ((n * p.H + iy) * p.W + ix) * p.C + cin0;
      const int wb = ((m * p.KH + ky) * p.KW + kx) * p.Cg;
      for (int c = 0; c < p.Cg; ++c) acc += LOAD(x[xb + c]) * LOAD(w[wb + c]);
    }
  }
  y[id] = TOSTORE(apply_act(acc + LOAD(bias[m]), p.act, p.alpha, p.beta));
}
