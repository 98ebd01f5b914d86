// Coefficients shared by the vector GELU kernels (gelu_f32_<isa>.cpp). With z = x / sqrt(2):
//  |z| < kGeluSmall: erf(z) = z * P(z^2), P fitted for relative error on [0, 0.8];
//  otherwise:        erfc(|z|) = exp(-z^2) * t * R(t), t = 1 / (1 + kGeluT * |z|), R fitted for
//                    relative error of erfc(a) e^(a^2) on a in [0.75, 10]; |x| is clamped at 15.5
//                    (erfc underflows there), and Phi(x) = 1 - erfc/2 (x > 0) or erfc/2 (x < 0).
// y = x * Phi(x). Relative error of erfc stays near 3e-7, so y is within about one ulp of the
// exact value on both sides; the tail branch keeps small negative outputs relatively accurate.
// tanh form: y = x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3) (= x * (1 + tanh u) / 2).
#pragma once

namespace pocket::kernels::gelu {

inline constexpr float kInvSqrt2 = 0.70710678118654752f;
inline constexpr float kGeluSmall = 0.75f;
inline constexpr float kGeluClampX = 15.5f;  // |x| beyond: erfc(|x|/sqrt 2) underflows
inline constexpr float kGeluT = 0.7f;
// erf(z) / z = sum kErfSmall[i] z^(2i)
inline constexpr float kErfSmall[6] = {1.128379107e+00f, -3.761260808e-01f, 1.128319204e-01f,
                                       -2.682382055e-02f, 5.090029445e-03f, -6.563830539e-04f};
// erfc(a) e^(a^2) = t * sum kErfcTail[i] t^i
inline constexpr float kErfcTail[9] = {3.949484229e-01f, 3.944204748e-01f, 3.052288294e-01f,
                                       5.101694912e-02f, 1.310773939e-01f, -9.017693996e-01f,
                                       1.005071998e+00f, -4.412179291e-01f, 6.016965955e-02f};
// tanh form: 2u = x * (kTanh2K0 + kTanh2K1 * x^2)
inline constexpr float kTanh2K0 = 1.5957691216057308f;              // 2 sqrt(2/pi)
inline constexpr float kTanh2K1 = 1.5957691216057308f * 0.044715f;  // 2 sqrt(2/pi) 0.044715

}  // namespace pocket::kernels::gelu
