// Y[b] = act(alpha * A[b] B[b] + beta * bias + R[b]): MatMul (numpy batch broadcasting, bias [N],
// residual R with Y's shape) and Gemm (alpha, beta, transposes, C broadcast to [M, N]).
// A(m, k) = A[a_batch + m * a_sm + k * a_sk], B(k, n) = B[b_batch + k * b_sk + n * b_sn] (strides
// give the transposes); bias(m, n) = bias[m * bias_sm + n * bias_sn]; Y and R are [batch, M, N]
// contiguous. Batch index z (gl_WorkGroupID.z) is split over bdims (row-major, at most 4 dims),
// with A's and B's batch strides per dim (0 where broadcast).
// Tiling: a 64x64 block of Y per workgroup of 16x16 invocations, each 4x4 outputs; K in steps of
// 16 through shared memory.
// pocket: fp16-arithmetic (tiles held as HF; each BK = 16 step summed in HF, then added in fp32)
#version 450
#include "common.glsl"
layout(local_size_x = 16, local_size_y = 16) in;
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

const uint BM = 64, BN = 64, BK = 16;
shared HF As[BK][BM + 1];
shared HF Bs[BK][BN + 1];

void main() {
  const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  const uint tid = ty * 16u + tx;
  const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  // batch offsets
  int rem = int(gl_WorkGroupID.z), aoff = 0, boff = 0;
  for (int d = int(p.brank) - 1; d >= 0; --d) {
    int q = rem / p.bdims[d];
    int c = rem - q * p.bdims[d];
    rem = q;
    aoff += c * p.a_bs[d];
    boff += c * p.b_bs[d];
  }
  const uint yoff = gl_WorkGroupID.z * p.M * p.N;

  float acc[4][4];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    // 64x16 of A and 16x64 of B: 1024 elements each, 4 per invocation.
    for (uint e = tid; e < BM * BK; e += 256u) {
      uint mm = e / BK, kk = e - mm * BK;
      uint gm = m0 + mm, gk = k0 + kk;
      As[kk][mm] = (gm < p.M && gk < p.K) ? HLOAD(a[aoff + int(gm) * p.a_sm + int(gk) * p.a_sk]) : HF(0.0);
    }
    for (uint e = tid; e < BK * BN; e += 256u) {
      uint kk = e / BN, nn = e - kk * BN;
      uint gk = k0 + kk, gn = n0 + nn;
      Bs[kk][nn] = (gk < p.K && gn < p.N) ? HLOAD(b[boff + int(gk) * p.b_sk + int(gn) * p.b_sn]) : HF(0.0);
    }
    barrier();
    HF part[4][4];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) part[i][j] = HF(0.0);
    for (uint kk = 0; kk < BK; ++kk) {
      HF av[4], bv[4];
      for (int i = 0; i < 4; ++i) av[i] = As[kk][ty + 16u * uint(i)];
      for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx + 16u * uint(j)];
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) part[i][j] += av[i] * bv[j];
    }
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) acc[i][j] += float(part[i][j]);
    barrier();
  }

  for (int i = 0; i < 4; ++i) {
    uint gm = m0 + ty + 16u * uint(i);
    if (gm >= p.M) continue;
    for (int j = 0; j < 4; ++j) {
      uint gn = n0 + tx + 16u * uint(j);
      if (gn >= p.N) continue;
      float v = p.alpha * acc[i][j];
      if ((p.flags & 1) != 0) v += p.beta * LOAD(bias[int(gm) * p.bias_sm + int(gn) * p.bias_sn]);
      uint o = yoff + gm * p.N + gn;
      if ((p.flags & 2) != 0) v += LOAD(res[o]);
      y[o] = TOSTORE(apply_act(v, p.act, p.act_alpha, p.act_beta));
    }
  }
}
