// Depthwise NHWC convolution (group == C, M = C * mult: output channel m reads input channel
// m / mult), any kernel, stride, dilation and padding, fused bias, residual and activation. One
// invocation computes one output pixel x 4 consecutive output channels.
// Weights (repacked on the host): [KH][KW][M4], M4 = M rounded up to 4, zero-padded. Bias [M].
// Dispatch: x (and z) over (pixel, channel quad) pairs in workgroups of 64, channel quad fastest.
// pocket: fp16-arithmetic (each kernel row's taps summed in HF, rows added in fp32)
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
  int PT, PL, mult, M4;
  int act, has_res, total;  // total = N*OH*OW * M4/4
  float alpha, beta;
} p;

void main() {
  const int id = int((gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x);
  if (id >= p.total) return;
  const int quads = p.M4 / 4;
  const int pix = id / quads;
  const int m0 = (id - pix * quads) * 4;
  const int ox = pix % p.OW;
  const int t = pix / p.OW;
  const int oy = t % p.OH;
  const int n = t / p.OH;
  const int iy0 = oy * p.SH - p.PT, ix0 = ox * p.SW - p.PL;
  // Input channel of each output channel (clamped to a valid channel past M; not stored).
  const int c0 = min(m0, p.M - 1) / p.mult, c1 = min(m0 + 1, p.M - 1) / p.mult;
  const int c2 = min(m0 + 2, p.M - 1) / p.mult, c3 = min(m0 + 3, p.M - 1) / p.mult;

  // Taps in the padding read a valid address (clamped) and select 0: no divergent branches.
  vec4 acc = vec4(0.0);
  for (int ky = 0; ky < p.KH; ++ky) {
    const int iy = iy0 + ky * p.DH;
    const bool oky = iy >= 0 && iy < p.H;
    const int row = (n * p.H + clamp(iy, 0, p.H - 1)) * p.W;
    HVEC4 h = HVEC4(0.0);
    for (int kx = 0; kx < p.KW; ++kx) {
      const int ix = ix0 + kx * p.DW;
      const bool ok = oky && ix >= 0 && ix < p.W;
      const int xb = (row + clamp(ix, 0, p.W - 1)) * p.C;
      const int wb = (ky * p.KW + kx) * p.M4 + m0;
      const HVEC4 wv = HVEC4(HLOAD(w[wb]), HLOAD(w[wb + 1]), HLOAD(w[wb + 2]), HLOAD(w[wb + 3]));
      const HVEC4 xv = HVEC4(HLOAD(x[xb + c0]), HLOAD(x[xb + c1]), HLOAD(x[xb + c2]), HLOAD(x[xb + c3]));
      h += ok ? xv * wv : HVEC4(0.0);
    }
    acc += vec4(h);
  }

  const int ybase = pix * p.M;
  for (int k = 0; k < 4; ++k) {
    const int m = m0 + k;
    if (m >= p.M) break;
    float v = acc[k] + LOAD(bias[m]);
    if (p.has_res != 0) v += LOAD(res[ybase + m]);
    y[ybase + m] = TOSTORE(apply_act(v, p.act, p.alpha, p.beta));
  }
}
