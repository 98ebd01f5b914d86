// Y = f(X), elementwise, float. op: the codes of vk_ops_elementwise.cpp (UnaryCode).
#version 450
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer XB { STORE x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YB { STORE y[]; };
layout(push_constant) uniform P { uint n; int op; float alpha; float beta; } p;

float softplus(float v) { return max(v, 0.0) + log(1.0 + exp(-abs(v))); }

float f(float v) {
  switch (p.op) {
    case 0: return max(v, 0.0);                                        // Relu
    case 1: return v >= 0.0 ? v : p.alpha * v;                          // LeakyRelu
    case 2: return v > 0.0 ? v : p.alpha * (exp(v) - 1.0);              // Elu
    case 3: return v > 0.0 ? p.beta * v : p.beta * p.alpha * (exp(v) - 1.0);  // Selu (alpha, gamma)
    case 4: return pocket_sigmoid(v);                                   // Sigmoid
    case 5: return clamp(p.alpha * v + p.beta, 0.0, 1.0);               // HardSigmoid
    case 6: return v * clamp(v + 3.0, 0.0, 6.0) / 6.0;                  // HardSwish
    case 7: return pocket_tanh(v);                                      // Tanh
    case 8: return softplus(v);                                         // Softplus
    case 9: return v / (1.0 + abs(v));                                  // Softsign
    case 10: return min(max(v, p.alpha), p.beta);                       // Clip
    case 11: return exp(v);                                             // Exp
    case 12: return log(v);                                             // Log
    case 13: return sqrt(v);                                            // Sqrt
    case 14: return -v;                                                 // Neg
    case 15: return abs(v);                                             // Abs
    case 16: return pocket_erf(v);                                      // Erf
    case 17: return 1.0 / v;                                            // Reciprocal
    case 18: return floor(v);                                           // Floor
    case 19: return ceil(v);                                            // Ceil
    case 20: return v * pocket_sigmoid(v);                              // SiLU
    case 21: return apply_act(v, ACT_GELU, 0.0, 0.0);                   // Gelu
    case 22: return apply_act(v, ACT_GELUTANH, 0.0, 0.0);               // Gelu tanh
    default: return v;
  }
}

void main() {
  const uint stride = gl_NumWorkGroups.x * 256u;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) y[i] = TOSTORE(f(LOAD(x[i])));
}
