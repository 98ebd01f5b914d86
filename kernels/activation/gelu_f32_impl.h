// Coefficients shared by the vector GELU kernels (gelu_f32_<isa>.cpp).
// erf form, y = x * Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2. With a = |x| / sqrt(2):
//   erfc(a) = exp(-a^2) * t * R(t), t = 1 / (1 + kGeluT * a), R fitted (least squares on the
//   relative error of erfc(a) e^(a^2), a in [0, 9.5]; about 3e-7 in float);
//   Phi = 1 - erfc/2 for x > 0, erfc/2 otherwise. a^2 = x^2 / 2 is taken from x as a two-float
//   sum so exp(-a^2) sees it exactly (rounding a first would cost 2 a^2 ulp). |x| is clamped at
//   13.1 (erfc < 1e-37 beyond) so that exp's argument stays in [-87, 0]: one 2^n scale, no
//   range checks. Result: within ~1.2e-7 * max(1, |x|) of the exact value, and negative outputs
//   (tiny Phi) keep ~5e-7 relative accuracy.
// tanh form, y = x * (1 + tanh u) / 2 = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3):
//   with e = exp(-|2u|) (|2u| clamped at 87): y = x / (1 + e) for u > 0, x e / (1 + e) otherwise.
#pragma once

namespace pocket::kernels::gelu {

inline constexpr float kInvSqrt2 = 0.70710678118654752f;
inline constexpr float kClampX = 13.1f;
inline constexpr float kGeluT = 0.7f;
// t = 1 / (1 + kGeluTx * |x|)
inline constexpr float kGeluTx = 0.7f * 0.70710678118654752f;
// erfc(a) e^(a^2) = t * sum kErfcR[i] t^i
inline constexpr float kErfcR[11] = {3.949496746e-01f, 3.944160938e-01f,  3.047851622e-01f, 5.839446187e-02f,
                                     7.658567280e-02f, -6.728193760e-01f, 4.175471663e-01f, 4.892255962e-01f,
                                     -8.165869713e-01f, 4.416428804e-01f, -8.814038336e-02f};
inline constexpr int kErfcDegree = 10;
// tanh form: 2u = x * (kTanh2K0 + kTanh2K1 * x^2)
inline constexpr float kTanh2K0 = 1.5957691216057308f;              // 2 sqrt(2/pi)
inline constexpr float kTanh2K1 = 1.5957691216057308f * 0.044715f;  // 2 sqrt(2/pi) 0.044715
inline constexpr float kTanhClamp = 87.f;

// e^y for y in [-87.3, 0]: y = n ln2 + r (Cody-Waite), degree-6 Taylor polynomial in r (relative
// error < 1.3e-7), times 2^n built in the exponent field (n >= -126: a normal float).
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kExpPoly[7] = {1.f, 1.f, 1.f / 2.f, 1.f / 6.f, 1.f / 24.f, 1.f / 120.f, 1.f / 720.f};

}  // namespace pocket::kernels::gelu
