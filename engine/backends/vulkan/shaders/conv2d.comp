// General NHWC convolution (any kernel, stride, dilation, padding, groups), fused bias, residual
// and activation. One invocation computes 4 consecutive output pixels (linear over N*OH*OW) x one
// block of 4 output channels of one group: 16 accumulators, each input value loaded once per
// block and each weight vector once per 4 pixels.
// Weights (repacked on the host, vk_ops_conv.cpp): block-major [blocks][KH][KW][Cg][4], blocks =
// group * ceil(Mg / 4), zero-padded past Mg. Bias [M] (zeros when the node has none).
// Dispatch: x (and z, for large tensors) over pixel quads in workgroups of 64, y over blocks.
// pocket: fp16-arithmetic (per tap, Cg in chunks of HCHUNK, common.glsl)
#version 450
#include "common.glsl"

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer BX { STORE x[]; };
layout(std430, set = 0, binding = 1) readonly buffer BW { STORE w[]; };
layout(std430, set = 0, binding = 2) readonly buffer BB { STORE bias[]; };
layout(std430, set = 0, binding = 3) readonly buffer BR { STORE res[]; };
layout(std430, set = 0, binding = 4) writeonly buffer BY { STORE y[]; };

layout(push_constant) uniform Params {
  int H, W, C, OH;
  int OW, M, KH, KW;
  int SH, SW, DH, DW;
  int PT, PL, Cg, Mg;
  int BPG, act, has_res, P;  // blocks per group, activation kind, residual flag, N*OH*OW
  float alpha, beta;
} p;

void main() {
  const int quad = int((gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x);
  const int blk = int(gl_WorkGroupID.y);
  const int pix0 = quad * 4;
  if (pix0 >= p.P) return;
  const int g = blk / p.BPG;
  const int m0 = g * p.Mg + (blk - g * p.BPG) * 4;   // first output channel of the block
  const int mlim = min(4, (g + 1) * p.Mg - m0);       // valid channels in the block
  const int cin0 = g * p.Cg;

  int iy0[4], ix0[4], nb[4];
  bool pv[4];
  for (int j = 0; j < 4; ++j) {
    const int pix = pix0 + j;
    pv[j] = pix < p.P;
    const int q = pv[j] ? pix : pix0;
    const int ox = q % p.OW;
    const int t = q / p.OW;
    const int oy = t % p.OH;
    const int n = t / p.OH;
    iy0[j] = oy * p.SH - p.PT;
    ix0[j] = ox * p.SW - p.PL;
    nb[j] = n * p.H;
  }

  vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
  for (int ky = 0; ky < p.KH; ++ky) {
    for (int kx = 0; kx < p.KW; ++kx) {
      int off[4];
      bool ok[4];
      for (int j = 0; j < 4; ++j) {
        const int iy = iy0[j] + ky * p.DH, ix = ix0[j] + kx * p.DW;
        ok[j] = pv[j] && iy >= 0 && iy < p.H && ix >= 0 && ix < p.W;
        off[j] = ok[j] ? ((nb[j] + iy) * p.W + ix) * p.C + cin0 : cin0;
      }
      int wb = ((blk * p.KH + ky) * p.KW + kx) * p.Cg * 4;
      for (int c0 = 0; c0 < p.Cg; c0 += HCHUNK) {
        const int c1 = min(p.Cg, c0 + HCHUNK);
        HVEC4 h0 = HVEC4(0.0), h1 = HVEC4(0.0), h2 = HVEC4(0.0), h3 = HVEC4(0.0);
        for (int c = c0; c < c1; ++c, wb += 4) {
          const HVEC4 wv = HVEC4(HLOAD(w[wb]), HLOAD(w[wb + 1]), HLOAD(w[wb + 2]), HLOAD(w[wb + 3]));
          // Loads without branches (a tap in the padding reads a valid address, then selects 0):
          // no divergent control flow in the innermost loop.
          const HF l0 = HLOAD(x[off[0] + c]), l1 = HLOAD(x[off[1] + c]);
          const HF l2 = HLOAD(x[off[2] + c]), l3 = HLOAD(x[off[3] + c]);
          const HF x0 = ok[0] ? l0 : HF(0.0), x1 = ok[1] ? l1 : HF(0.0);
          const HF x2 = ok[2] ? l2 : HF(0.0), x3 = ok[3] ? l3 : HF(0.0);
          h0 += x0 * wv;
          h1 += x1 * wv;
          h2 += x2 * wv;
          h3 += x3 * wv;
        }
        acc0 += vec4(h0);
        acc1 += vec4(h1);
        acc2 += vec4(h2);
        acc3 += vec4(h3);
      }
    }
  }

  vec4 accs[4] = vec4[4](acc0, acc1, acc2, acc3);
  for (int j = 0; j < 4; ++j) {
    if (!pv[j]) break;
    const int ybase = (pix0 + j) * p.M;
    for (int k = 0; k < mlim; ++k) {
      const int m = m0 + k;
      float v = accs[j][k] + LOAD(bias[m]);
      if (p.has_res != 0) v += LOAD(res[ybase + m]);
      y[ybase + m] = TOSTORE(apply_act(v, p.act, p.alpha, p.beta));
    }
  }
}
