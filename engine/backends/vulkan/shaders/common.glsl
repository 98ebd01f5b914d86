// Shared by every Pocket compute shader (#include "common.glsl"; glslc -I shaders).
// Storage type: every shader is compiled twice by CMake, NAME_f32 (STORE_F16 undefined) and
// NAME_f16 (-DSTORE_F16=1: activations and float weights stored as float16_t, arithmetic in
// fp32). Use `STORE` for buffer element types, LOAD(x) to widen to float and TOSTORE(x) to narrow
// back.
//
// fp16 arithmetic: a shader whose source contains the line `// pocket: fp16-arithmetic` is
// compiled a third time, NAME_f16a (-DSTORE_F16=1 -DARITH_F16=1), which the runtime uses in
// fp16-arithmetic mode on devices with shaderFloat16. Such a shader writes its hot loop in the
// H* types below: products and partial sums in HF / HVEC4 over at most HCHUNK terms, each chunk
// then added into an fp32 accumulator (vec4). In NAME_f32 and NAME_f16, HF is float and HCHUNK
// is unbounded, so the chunk loop runs once and the code is the plain fp32 loop. The chunking
// bounds fp16 rounding to HCHUNK terms per partial sum (a dot product of K terms keeps K / 16
// fp32 additions) while the multiply-adds, the bulk of the work, run at fp16 rate.
#ifdef ARITH_F16
#ifndef STORE_F16
#error "ARITH_F16 needs STORE_F16"
#endif
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define HF float16_t
#define HVEC4 f16vec4
#define HCHUNK 16
#else
#define HF float
#define HVEC4 vec4
#define HCHUNK 0x40000000
#endif
#define HLOAD(x) HF(x)

#ifdef STORE_F16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : enable
#define STORE float16_t
#define LOAD(x) float(x)
#define TOSTORE(x) float16_t(x)
#else
#define STORE float
#define LOAD(x) (x)
#define TOSTORE(x) (x)
#endif

// format/pocket.fbs ActivationKind, with format/OPS.md's definitions.
#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_CLIP 2
#define ACT_HARDSIGMOID 3
#define ACT_HARDSWISH 4
#define ACT_SIGMOID 5
#define ACT_SILU 6
#define ACT_TANH 7
#define ACT_LEAKYRELU 8
#define ACT_GELU 9
#define ACT_GELUTANH 10

// erf with |error| < 1.5e-7 (Abramowitz-Stegun 7.1.26); GLSL has no erf.
float pocket_erf(float x) {
  float s = sign(x);
  float a = abs(x);
  float t = 1.0 / (1.0 + 0.3275911 * a);
  float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return s * y;
}

float pocket_sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); }

// tanh that does not overflow for large |x| (GLSL's tanh may return NaN there on some drivers).
float pocket_tanh(float x) {
  float e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}

float apply_act(float x, int kind, float alpha, float beta) {
  switch (kind) {
    case ACT_RELU: return max(x, 0.0);
    case ACT_CLIP: return clamp(x, alpha, beta);
    case ACT_HARDSIGMOID: return clamp(alpha * x + beta, 0.0, 1.0);
    case ACT_HARDSWISH: return x * clamp(x + 3.0, 0.0, 6.0) / 6.0;
    case ACT_SIGMOID: return pocket_sigmoid(x);
    case ACT_SILU: return x * pocket_sigmoid(x);
    case ACT_TANH: return pocket_tanh(x);
    case ACT_LEAKYRELU: return x >= 0.0 ? x : alpha * x;
    case ACT_GELU: return 0.5 * x * (1.0 + pocket_erf(x * 0.70710678118654752));
    case ACT_GELUTANH: return 0.5 * x * (1.0 + pocket_tanh(0.79788456080286536 * (x + 0.044715 * x * x * x)));
    default: return x;
  }
}
