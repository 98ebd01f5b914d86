// Pointwise NHWC convolution (1x1 kernel, stride 1, no padding, group 1): a GEMM
// Y[P, M] = X[P, C] * W[C, M] with fused bias, residual and activation. One invocation computes
// 4 consecutive pixels x 8 output channels (two 4-channel blocks): 32 accumulators, each input
// value loaded once per 8 channels, each weight vector once per 4 pixels.
// Weights: the conv2d layout with KH = KW = 1: [blocks][C][4], blocks = ceil(M / 4), zero-padded.
// Dispatch: x (and z) over pixel quads in workgroups of 64, y over pairs of blocks.
// pocket: fp16-arithmetic (C in chunks of HCHUNK, common.glsl)
#version 450
#include "common.glsl"

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer BX { STORE x[]; };
layout(std430, set = 0, binding = 1) readonly buffer BW { STORE w[]; };
layout(std430, set = 0, binding = 2) readonly buffer BB { STORE bias[]; };
layout(std430, set = 0, binding = 3) readonly buffer BR { STORE res[]; };
layout(std430, set = 0, binding = 4) writeonly buffer BY { STORE y[]; };

layout(push_constant) uniform Params {
  int C, M, blocks, act;
  int has_res, P;
  float alpha, beta;
} p;

void main() {
  const int quad = int((gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x);
  const int pix0 = quad * 4;
  if (pix0 >= p.P) return;
  const int b0 = int(gl_WorkGroupID.y) * 2;
  const bool two = b0 + 1 < p.blocks;
  const int b1 = two ? b0 + 1 : b0;

  // Pixels past P read pixel pix0 (valid) and are not stored.
  const int r0 = pix0 * p.C;
  const int r1 = (pix0 + 1 < p.P ? pix0 + 1 : pix0) * p.C;
  const int r2 = (pix0 + 2 < p.P ? pix0 + 2 : pix0) * p.C;
  const int r3 = (pix0 + 3 < p.P ? pix0 + 3 : pix0) * p.C;

  vec4 a00 = vec4(0.0), a10 = vec4(0.0), a20 = vec4(0.0), a30 = vec4(0.0);
  vec4 a01 = vec4(0.0), a11 = vec4(0.0), a21 = vec4(0.0), a31 = vec4(0.0);
  int wa = b0 * p.C * 4, wb = b1 * p.C * 4;
  for (int c0 = 0; c0 < p.C; c0 += HCHUNK) {
    const int c1 = min(p.C, c0 + HCHUNK);
    HVEC4 h00 = HVEC4(0.0), h10 = HVEC4(0.0), h20 = HVEC4(0.0), h30 = HVEC4(0.0);
    HVEC4 h01 = HVEC4(0.0), h11 = HVEC4(0.0), h21 = HVEC4(0.0), h31 = HVEC4(0.0);
    for (int c = c0; c < c1; ++c, wa += 4, wb += 4) {
      const HVEC4 u = HVEC4(HLOAD(w[wa]), HLOAD(w[wa + 1]), HLOAD(w[wa + 2]), HLOAD(w[wa + 3]));
      const HVEC4 v = HVEC4(HLOAD(w[wb]), HLOAD(w[wb + 1]), HLOAD(w[wb + 2]), HLOAD(w[wb + 3]));
      const HF x0 = HLOAD(x[r0 + c]), x1 = HLOAD(x[r1 + c]), x2 = HLOAD(x[r2 + c]), x3 = HLOAD(x[r3 + c]);
      h00 += x0 * u; h10 += x1 * u; h20 += x2 * u; h30 += x3 * u;
      h01 += x0 * v; h11 += x1 * v; h21 += x2 * v; h31 += x3 * v;
    }
    a00 += vec4(h00); a10 += vec4(h10); a20 += vec4(h20); a30 += vec4(h30);
    a01 += vec4(h01); a11 += vec4(h11); a21 += vec4(h21); a31 += vec4(h31);
  }

  vec4 lo[4] = vec4[4](a00, a10, a20, a30);
  vec4 hi[4] = vec4[4](a01, a11, a21, a31);
  const int nm = two ? 8 : 4;
  for (int j = 0; j < 4; ++j) {
    if (pix0 + j >= p.P) break;
    const int ybase = (pix0 + j) * p.M;
    for (int k = 0; k < nm; ++k) {
      const int m = b0 * 4 + k;
      if (m >= p.M) break;
      float v = k < 4 ? lo[j][k] : hi[j][k - 4];
      v += LOAD(bias[m]);
      if (p.has_res != 0) v += LOAD(res[ybase + m]);
      y[ybase + m] = TOSTORE(apply_act(v, p.act, p.alpha, p.beta));
    }
  }
}
