// Depthwise NHWC convolution, the common case with vector loads: group == C == M and C a
// multiple of 4. One invocation computes one output pixel x 4 channels, reading input, weights,
// bias and residual as 4-channel vectors (one 16-byte load, 8 in fp16 mode, instead of four
// scalar ones). Same weights layout as dwconv.comp ([KH][KW][C]); bias [C]. Any kernel, stride,
// dilation and padding; taps in the padding read a clamped address and select 0 (no branches).
// Dispatch: x (and z) over (pixel, channel quad) pairs in workgroups of 64, channel quad fastest.
// pocket: fp16-arithmetic (each kernel row's taps summed in HF, rows added in fp32)
#version 450
#include "common.glsl"

#ifdef STORE_F16
#define STORE4 f16vec4
#else
#define STORE4 vec4
#endif

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer BX { STORE4 x[]; };
layout(std430, set = 0, binding = 1) readonly buffer BW { STORE4 w[]; };
layout(std430, set = 0, binding = 2) readonly buffer BB { STORE4 bias[]; };
layout(std430, set = 0, binding = 3) readonly buffer BR { STORE4 res[]; };
layout(std430, set = 0, binding = 4) writeonly buffer BY { STORE4 y[]; };

layout(push_constant) uniform Params {
  int H, W, C4, OH;   // C4 = C / 4
  int OW, KH, KW, SH;
  int SW, DH, DW, PT;
  int PL, act, has_res, total;  // total = N*OH*OW*C4
  float alpha, beta;
} p;

void main() {
  const int id = int((gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x);
  if (id >= p.total) return;
  const int pix = id / p.C4;
  const int q = id - pix * p.C4;
  const int ox = pix % p.OW;
  const int t = pix / p.OW;
  const int oy = t % p.OH;
  const int n = t / p.OH;
  const int iy0 = oy * p.SH - p.PT, ix0 = ox * p.SW - p.PL;
  vec4 acc = vec4(0.0);
  for (int ky = 0; ky < p.KH; ++ky) {
    const int iy = iy0 + ky * p.DH;
    const bool oky = iy >= 0 && iy < p.H;
    const int row = (n * p.H + clamp(iy, 0, p.H - 1)) * p.W;
    HVEC4 h = HVEC4(0.0);
    for (int kx = 0; kx < p.KW; ++kx) {
      const int ix = ix0 + kx * p.DW;
      const bool ok = oky && ix >= 0 && ix < p.W;
      const HVEC4 xv = HVEC4(x[(row + clamp(ix, 0, p.W - 1)) * p.C4 + q]);
      const HVEC4 wv = HVEC4(w[(ky * p.KW + kx) * p.C4 + q]);
      h += ok ? xv * wv : HVEC4(0.0);
    }
    acc += vec4(h);
  }
  vec4 v = acc + vec4(bias[q]);
  if (p.has_res != 0) v += vec4(res[id]);
  y[id] = STORE4(apply_act(v.x, p.act, p.alpha, p.beta), apply_act(v.y, p.act, p.alpha, p.beta),
                 apply_act(v.z, p.act, p.alpha, p.beta), apply_act(v.w, p.act, p.alpha, p.beta));
}
