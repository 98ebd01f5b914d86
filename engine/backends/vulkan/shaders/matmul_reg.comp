// Y[b] = act(alpha * A[b] B[b] + beta * bias + R[b]): MatMul (numpy batch broadcasting, bias [N],
// residual R with Y's shape) and Gemm (alpha, beta, transposes, C broadcast to [M, N]).
// A(m, k) = A[a_batch + m * a_sm + k * a_sk], B(k, n) = B[b_batch + k * b_sk + n * b_sn] (strides
// give the transposes); bias(m, n) = bias[m * bias_sm + n * bias_sn]; Y and R are [batch, M, N]
// contiguous. Batch index z (gl_WorkGroupID.z) is split over bdims (row-major, at most 4 dims),
// with A's and B's batch strides per dim (0 where broadcast).
// No shared memory: each invocation computes a 4x4 block of Y straight from the buffers (8x8
// invocations per workgroup: 32x32 of Y). For CPU implementations (lavapipe), where workgroup
// barriers are expensive and buffers sit in the CPU's caches anyway.
// pocket: fp16-arithmetic (K in chunks of HCHUNK, common.glsl)
#version 450
#include "common.glsl"
layout(local_size_x = 8, local_size_y = 8) in;
layout(std430, set = 0, binding = 0) readonly buffer AB { STORE a[]; };
layout(std430, set = 0, binding = 1) readonly buffer BB { STORE b[]; };
layout(std430, set = 0, binding = 2) readonly buffer CB { STORE bias[]; };
layout(std430, set = 0, binding = 3) readonly buffer RB { STORE res[]; };
layout(std430, set = 0, binding = 4) writeonly buffer YB { STORE y[]; };
layout(push_constant) uniform P {
  uint M, N, K, brank;
  int a_sm, a_sk, b_sk, b_sn;
  int bias_sm, bias_sn, flags, act;  // flags: 1 bias, 2 residual
  float alpha, beta, act_alpha, act_beta;
  int bdims[4];
  int a_bs[4];
  int b_bs[4];
} p;

void main() {
  const uint n0 = gl_GlobalInvocationID.x * 4u, m0 = gl_GlobalInvocationID.y * 4u;
  if (m0 >= p.M || n0 >= p.N) return;
  int rem = int(gl_WorkGroupID.z), aoff = 0, boff = 0;
  for (int d = int(p.brank) - 1; d >= 0; --d) {
    int q = rem / p.bdims[d];
    int c = rem - q * p.bdims[d];
    rem = q;
    aoff += c * p.a_bs[d];
    boff += c * p.b_bs[d];
  }
  const uint yoff = gl_WorkGroupID.z * p.M * p.N;
  // Rows/cols past the edge read row/col 0 (always valid) and are not stored.
  int ar[4], bc[4];
  for (int i = 0; i < 4; ++i) {
    uint m = m0 + uint(i), n = n0 + uint(i);
    ar[i] = aoff + int(m < p.M ? m : 0u) * p.a_sm;
    bc[i] = boff + int(n < p.N ? n : 0u) * p.b_sn;
  }
  vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
  for (uint k0 = 0; k0 < p.K; k0 += uint(HCHUNK)) {
    const uint k1 = min(p.K, k0 + uint(HCHUNK));
    HVEC4 h0 = HVEC4(0.0), h1 = HVEC4(0.0), h2 = HVEC4(0.0), h3 = HVEC4(0.0);
    for (uint k = k0; k < k1; ++k) {
      const int ka = int(k) * p.a_sk, kb = int(k) * p.b_sk;
      HVEC4 bv = HVEC4(HLOAD(b[bc[0] + kb]), HLOAD(b[bc[1] + kb]), HLOAD(b[bc[2] + kb]), HLOAD(b[bc[3] + kb]));
      h0 += HLOAD(a[ar[0] + ka]) * bv;
      h1 += HLOAD(a[ar[1] + ka]) * bv;
      h2 += HLOAD(a[ar[2] + ka]) * bv;
      h3 += HLOAD(a[ar[3] + ka]) * bv;
    }
    acc0 += vec4(h0);
    acc1 += vec4(h1);
    acc2 += vec4(h2);
    acc3 += vec4(h3);
  }
  vec4 acc[4] = vec4[4](acc0, acc1, acc2, acc3);
  for (int i = 0; i < 4; ++i) {
    uint gm = m0 + uint(i);
    if (gm >= p.M) break;
    for (int j = 0; j < 4; ++j) {
      uint gn = n0 + uint(j);
      if (gn >= p.N) break;
      float v = p.alpha * acc[i][j];
      if ((p.flags & 1) != 0) v += p.beta * LOAD(bias[int(gm) * p.bias_sm + int(gn) * p.bias_sn]);
      uint o = yoff + gm * p.N + gn;
      if ((p.flags & 2) != 0) v += LOAD(res[o]);
      y[o] = TOSTORE(apply_act(v, p.act, p.act_alpha, p.act_beta));
    }
  }
}
