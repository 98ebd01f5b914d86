// Attention (format/OPS.md): per head softmax(scale * Q_h K_h^T, masked) V_h, heads packed in the
// last dim: Q [B, Sq, Hq*D], K [B, Sk, Hk*D], V [B, Sk, Hk*Dv], Y [B, Sq, Hq*Dv].
// One workgroup per (batch, head, query row); keys in blocks of WG, one key per invocation, with
// an online softmax (running max m, running sum l, accumulator rescaled by exp(m_old - m_new)),
// so the Sq x Sk scores never exist. A row whose scores are all -inf gives zeros.
// Mask (broadcast to [B, Hq, Sq, Sk] by element strides ms, 0 on broadcast dims): kind 1 BOOL
// (one uint per element, nonzero = masked -> mask_fill), kind 2 F32 added to the scaled score.
// Bindings: 0 Q, 1 K, 2 V, 3 Y, 4 float mask, 5 bool mask (any buffer when unused).
// Workgroups: B * Hq * Sq, split over x and y (x * y >= that). Limits: D <= MAX_D, Dv <= WG * VPT.
#version 450
#include "common.glsl"

#define WG 64
#define MAX_D 512
#define VPT 8
layout(local_size_x = WG) in;

layout(std430, set = 0, binding = 0) readonly buffer Q { STORE q[]; };
layout(std430, set = 0, binding = 1) readonly buffer K { STORE k[]; };
layout(std430, set = 0, binding = 2) readonly buffer V { STORE v[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Y { STORE y[]; };
layout(std430, set = 0, binding = 4) readonly buffer MF { STORE mask_f[]; };
layout(std430, set = 0, binding = 5) readonly buffer MB { uint mask_b[]; };

layout(push_constant) uniform P {
  uint units;      // B * Hq * Sq
  uint heads;      // Hq
  uint group;      // Hq / Hk: query head h reads kv head h / group
  uint sq;
  uint sk;
  uint d;
  uint dv;
  uint q_row;      // Hq * D
  uint k_row;      // Hk * D
  uint v_row;      // Hk * Dv
  uint y_row;      // Hq * Dv
  float scale;
  uint causal;
  uint mask_kind;  // 0 none, 1 bool, 2 additive
  float mask_fill;
  uint ms0, ms1, ms2, ms3;  // mask element strides for b, h, i, j
} p;

#define NEG_INF uintBitsToFloat(0xff800000u)

shared float q_s[MAX_D];
shared float p_s[WG];
shared float red[WG];

void main() {
  const uint u = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (u >= p.units) return;  // uniform over the workgroup
  const uint t = gl_LocalInvocationID.x;
  const uint i = u % p.sq;
  const uint h = (u / p.sq) % p.heads;
  const uint b = u / (p.sq * p.heads);
  const uint kvh = h / p.group;

  const uint q_base = (b * p.sq + i) * p.q_row + h * p.d;
  const uint k_base = b * p.sk * p.k_row + kvh * p.d;
  const uint v_base = b * p.sk * p.v_row + kvh * p.dv;
  const uint m_base = b * p.ms0 + h * p.ms1 + i * p.ms2;

  for (uint c = t; c < p.d; c += WG) q_s[c] = LOAD(q[q_base + c]);
  barrier();

  // Causal: query i sees keys j <= i + Sk - Sq.
  uint key_end = p.sk;
  if (p.causal != 0) key_end = uint(clamp(int(i) + int(p.sk) - int(p.sq) + 1, 0, int(p.sk)));

  float m = NEG_INF, l = 0.0;
  float acc[VPT];
  for (uint r = 0; r < VPT; ++r) acc[r] = 0.0;

  for (uint j0 = 0; j0 < key_end; j0 += WG) {
    const uint j = j0 + t;
    float s = NEG_INF;
    if (j < key_end) {
      const uint kr = k_base + j * p.k_row;
      float dot = 0.0;
      for (uint c = 0; c < p.d; ++c) dot += q_s[c] * LOAD(k[kr + c]);
      s = dot * p.scale;
      if (p.mask_kind == 1) {
        if (mask_b[m_base + j * p.ms3] != 0u) s = p.mask_fill;
      } else if (p.mask_kind == 2) {
        s += LOAD(mask_f[m_base + j * p.ms3]);
      }
    }
    red[t] = s;
    barrier();
    for (uint w = WG / 2; w > 0; w >>= 1) {
      if (t < w) red[t] = max(red[t], red[t + w]);
      barrier();
    }
    const float m_new = max(m, red[0]);
    barrier();
    if (m_new == NEG_INF) continue;  // uniform: every score so far is -inf

    const float alpha = exp(m - m_new);  // 0 while m is -inf
    const float e = exp(s - m_new);      // 0 for a -inf score
    p_s[t] = e;
    red[t] = e;
    barrier();
    for (uint w = WG / 2; w > 0; w >>= 1) {
      if (t < w) red[t] += red[t + w];
      barrier();
    }
    l = l * alpha + red[0];
    m = m_new;

    const uint nk = min(uint(WG), key_end - j0);
    for (uint r = 0; r < VPT; ++r) acc[r] *= alpha;
    for (uint jj = 0; jj < nk; ++jj) {
      const float pj = p_s[jj];
      const uint vr = v_base + (j0 + jj) * p.v_row;
      for (uint r = 0; r < VPT; ++r) {
        const uint c = t + r * WG;
        if (c < p.dv) acc[r] += pj * LOAD(v[vr + c]);
      }
    }
    barrier();  // p_s and red are rewritten by the next block
  }

  const uint y_base = (b * p.sq + i) * p.y_row + h * p.dv;
  const float inv = l > 0.0 ? 1.0 / l : 0.0;
  for (uint r = 0; r < VPT; ++r) {
    const uint c = t + r * WG;
    if (c < p.dv) y[y_base + c] = TOSTORE(acc[r] * inv);
  }
}
