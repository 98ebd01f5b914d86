// MaxPool / AveragePool, NHWC. One invocation per output element (pixel, channel), channel
// fastest. Max: taps outside the input are skipped (a window with no input tap gives -inf), with
// dilation. Average: the sum of the input taps divided by the input taps (count_include_pad 0)
// or by the window clipped to [-PT, H + PB) x [-PL, W + PR) (count_include_pad 1; the ceil_mode
// part past the padded end never counts); a window with no count gives 0. As engine/ops/pooling.cpp.
// Dispatch: x (and z) over output elements in workgroups of 64.
#version 450
#include "common.glsl"

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer BX { STORE x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BY { STORE y[]; };

layout(push_constant) uniform Params {
  int H, W, C, OH;
  int OW, KH, KW, SH;
  int SW, DH, DW, PT;
  int PL, PB, PR, is_max;
  int include_pad, total;
} p;

void main() {
  const int id = int((gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x);
  if (id >= p.total) return;
  const int c = id % p.C;
  const int pix = id / p.C;
  const int ox = pix % p.OW;
  const int t = pix / p.OW;
  const int oy = t % p.OH;
  const int n = t / p.OH;
  const int hs = oy * p.SH - p.PT, ws = ox * p.SW - p.PL;
  const int base = n * p.H;
  if (p.is_max != 0) {
    float m = uintBitsToFloat(0xff800000u);  // -inf
    for (int ky = 0; ky < p.KH; ++ky) {
      const int iy = hs + ky * p.DH;
      if (iy < 0 || iy >= p.H) continue;
      for (int kx = 0; kx < p.KW; ++kx) {
        const int ix = ws + kx * p.DW;
        if (ix < 0 || ix >= p.W) continue;
        m = max(m, LOAD(x[((base + iy) * p.W + ix) * p.C + c]));
      }
    }
    y[id] = TOSTORE(m);
    return;
  }
  const int y0 = max(hs, 0), y1 = min(hs + p.KH, p.H);
  const int x0 = max(ws, 0), x1 = min(ws + p.KW, p.W);
  float sum = 0.0;
  for (int iy = y0; iy < y1; ++iy)
    for (int ix = x0; ix < x1; ++ix) sum += LOAD(x[((base + iy) * p.W + ix) * p.C + c]);
  int count;
  if (p.include_pad != 0) {
    const int he = min(hs + p.KH, p.H + p.PB), we = min(ws + p.KW, p.W + p.PR);
    count = (he - hs) * (we - ws);
  } else {
    count = max(y1 - y0, 0) * max(x1 - x0, 0);
  }
  y[id] = TOSTORE(count > 0 ? sum * (1.0 / float(count)) : 0.0);
}
