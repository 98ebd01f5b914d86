// Attention (format/OPS.md): per head softmax(scale * Q_h K_h^T, masked) V_h, heads packed in the
// last dim: Q [B, Sq, Hq*D], K [B, Sk, Hk*D], V [B, Sk, Hk*Dv], Y [B, Sq, Hq*Dv].
// One workgroup per (batch, head, ROWS query rows); keys in blocks of WG, one key per invocation
// (its K row read once for the ROWS queries), with an online softmax per query row (running max
// m, running sum l, accumulator rescaled by exp(m_old - m_new)), so the Sq x Sk scores never
// exist. A row whose scores are all -inf gives zeros.
// Mask (broadcast to [B, Hq, Sq, Sk] by element strides ms, 0 on broadcast dims): kind 1 BOOL
// (one uint per element, nonzero = masked -> mask_fill), kind 2 F32 added to the scaled score.
// Bindings: 0 Q, 1 K, 2 V, 3 Y, 4 float mask, 5 bool mask (any buffer when unused).
// Workgroups: B * Hq * ceil(Sq / ROWS), split over x and y (x * y >= that). Limits: D <= MAX_D, Dv <= WG * VPT.
// pocket: fp16-arithmetic (Q K^T dot products over D in chunks of HCHUNK; softmax and P V in fp32)
#version 450
#include "common.glsl"

#define WG 64
#define MAX_D 512
#define VPT 8
#define ROWS 4  // vk_ops_norm.cpp kAttentionRows
layout(local_size_x = WG) in;

layout(std430, set = 0, binding = 0) readonly buffer Q { STORE q[]; };
layout(std430, set = 0, binding = 1) readonly buffer K { STORE k[]; };
layout(std430, set = 0, binding = 2) readonly buffer V { STORE v[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Y { STORE y[]; };
layout(std430, set = 0, binding = 4) readonly buffer MF { STORE mask_f[]; };
layout(std430, set = 0, binding = 5) readonly buffer MB { uint mask_b[]; };

layout(push_constant) uniform P {
  uint units;      // B * Hq * ceil(Sq / ROWS)
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

shared HF q_s[ROWS][MAX_D];
shared float p_s[ROWS][WG];
shared float red[ROWS][WG];

void main() {
  const uint u = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (u >= p.units) return;  // uniform over the workgroup
  const uint t = gl_LocalInvocationID.x;
  const uint tiles = (p.sq + ROWS - 1) / ROWS;
  const uint i0 = (u % tiles) * ROWS;
  const uint h = (u / tiles) % p.heads;
  const uint b = u / (tiles * p.heads);
  const uint kvh = h / p.group;
  const uint rows = min(uint(ROWS), p.sq - i0);

  const uint k_base = b * p.sk * p.k_row + kvh * p.d;
  const uint v_base = b * p.sk * p.v_row + kvh * p.dv;

  // Query rows past Sq (the last tile) are zeros, computed and never written.
  for (uint r = 0; r < ROWS; ++r) {
    const uint q_base = (b * p.sq + i0 + r) * p.q_row + h * p.d;
    for (uint c = t; c < p.d; c += WG) q_s[r][c] = r < rows ? HLOAD(q[q_base + c]) : HF(0.0);
  }
  barrier();

  // Causal: query i sees keys j <= i + Sk - Sq; the tile walks up to its last row's end.
  uint key_end[ROWS];
  uint tile_end = 0;
  for (uint r = 0; r < ROWS; ++r) {
    key_end[r] = p.sk;
    if (p.causal != 0) key_end[r] = uint(clamp(int(i0 + r) + int(p.sk) - int(p.sq) + 1, 0, int(p.sk)));
    if (r < rows) tile_end = max(tile_end, key_end[r]);
  }

  float m[ROWS], l[ROWS], acc[ROWS][VPT];
  for (uint r = 0; r < ROWS; ++r) {
    m[r] = NEG_INF;
    l[r] = 0.0;
    for (uint c = 0; c < VPT; ++c) acc[r][c] = 0.0;
  }

  for (uint j0 = 0; j0 < tile_end; j0 += WG) {
    const uint j = j0 + t;
    float s[ROWS];
    for (uint r = 0; r < ROWS; ++r) s[r] = 0.0;
    if (j < tile_end) {
      const uint kr = k_base + j * p.k_row;
      for (uint c0 = 0; c0 < p.d; c0 += uint(HCHUNK)) {
        const uint c1 = min(p.d, c0 + uint(HCHUNK));
        HF hs[ROWS];
        for (uint r = 0; r < ROWS; ++r) hs[r] = HF(0.0);
        for (uint c = c0; c < c1; ++c) {
          const HF kc = HLOAD(k[kr + c]);
          for (uint r = 0; r < ROWS; ++r) hs[r] += q_s[r][c] * kc;
        }
        for (uint r = 0; r < ROWS; ++r) s[r] += float(hs[r]);
      }
    }
    for (uint r = 0; r < ROWS; ++r) {
      float x = s[r] * p.scale;
      if (j >= key_end[r] || r >= rows) {
        x = NEG_INF;
      } else {
        const uint mo = b * p.ms0 + h * p.ms1 + (i0 + r) * p.ms2 + j * p.ms3;
        if (p.mask_kind == 1) {
          if (mask_b[mo] != 0u) x = p.mask_fill;
        } else if (p.mask_kind == 2) {
          x += LOAD(mask_f[mo]);
        }
      }
      s[r] = x;
      red[r][t] = x;
    }
    barrier();
    for (uint w = WG / 2; w > 0; w >>= 1) {
      if (t < w)
        for (uint r = 0; r < ROWS; ++r) red[r][t] = max(red[r][t], red[r][t + w]);
      barrier();
    }
    float alpha[ROWS];
    for (uint r = 0; r < ROWS; ++r) {
      const float m_new = max(m[r], red[r][0]);
      // Every score so far -inf: nothing to add yet.
      alpha[r] = m_new == NEG_INF ? 1.0 : exp(m[r] - m_new);  // exp(-inf) = 0 on the first finite block
      s[r] = m_new == NEG_INF ? 0.0 : exp(s[r] - m_new);
      m[r] = m_new;
    }
    barrier();
    for (uint r = 0; r < ROWS; ++r) {
      p_s[r][t] = s[r];
      red[r][t] = s[r];
    }
    barrier();
    for (uint w = WG / 2; w > 0; w >>= 1) {
      if (t < w)
        for (uint r = 0; r < ROWS; ++r) red[r][t] += red[r][t + w];
      barrier();
    }
    for (uint r = 0; r < ROWS; ++r) {
      l[r] = l[r] * alpha[r] + red[r][0];
      for (uint c = 0; c < VPT; ++c) acc[r][c] *= alpha[r];
    }

    const uint nk = min(uint(WG), tile_end - j0);
    for (uint c = 0; c < VPT; ++c) {
      const uint col = t + c * WG;
      if (col >= p.dv) break;
      for (uint jj = 0; jj < nk; ++jj) {
        const float vj = LOAD(v[v_base + (j0 + jj) * p.v_row + col]);
        for (uint r = 0; r < ROWS; ++r) acc[r][c] += p_s[r][jj] * vj;
      }
    }
    barrier();  // p_s and red are rewritten by the next block
  }

  for (uint r = 0; r < rows; ++r) {
    const uint y_base = (b * p.sq + i0 + r) * p.y_row + h * p.dv;
    const float inv = l[r] > 0.0 ? 1.0 / l[r] : 0.0;
    for (uint c = 0; c < VPT; ++c) {
      const uint col = t + c * WG;
      if (col < p.dv) y[y_base + col] = TOSTORE(acc[r][c] * inv);
    }
  }
}
