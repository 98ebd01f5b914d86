// SqueezeExcite, steps 2 and 3: out[n, j] = act(bias[j] + sum_i W[j, i] * in[n, i]) with W
// [n_out][n_in] row-major (ONNX OIHW with a 1x1 kernel, used as stored), in and out fp32 scratch.
// One invocation per (n, j). Dispatch: x (and z) over N*n_out in workgroups of 64.
#version 450
#include "common.glsl"

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer BI { float src[]; };
layout(std430, set = 0, binding = 1) readonly buffer BW { STORE w[]; };
layout(std430, set = 0, binding = 2) readonly buffer BB { STORE bias[]; };
layout(std430, set = 0, binding = 3) writeonly buffer BO { float dst[]; };

layout(push_constant) uniform Params {
  int n_in, n_out, total, act;  // total = N*n_out
  float alpha, beta;
} p;

void main() {
  const int id = int((gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x);
  if (id >= p.total) return;
  const int n = id / p.n_out, j = id - n * p.n_out;
  const int ib = n * p.n_in, wb = j * p.n_in;
  float s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int i = 0;
  for (; i + 4 <= p.n_in; i += 4) {
    s0 += src[ib + i] * LOAD(w[wb + i]);
    s1 += src[ib + i + 1] * LOAD(w[wb + i + 1]);
    s2 += src[ib + i + 2] * LOAD(w[wb + i + 2]);
    s3 += src[ib + i + 3] * LOAD(w[wb + i + 3]);
  }
  for (; i < p.n_in; ++i) s0 += src[ib + i] * LOAD(w[wb + i]);
  dst[id] = apply_act(LOAD(bias[j]) + ((s0 + s1) + (s2 + s3)), p.act, p.alpha, p.beta);
}
