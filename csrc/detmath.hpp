// Floating-point kernels whose results do not depend on the machine: the same
// bits on every x86-64 CPU, whatever SIMD level or BLAS it has.
//
// Why not libm or numpy: numpy's float64 exp/log/log1p take an AVX512F code
// path on CPUs that have it and libm's elsewhere; glibc's exp, log, log1p and
// pow pick an FMA or a non-FMA variant at load time (ifunc). Each pair
// differs in the last bit on some inputs (measured: numpy's AVX512 exp vs
// glibc on 4.6% of inputs in [-30, 5]; glibc with and without FMA on 0.14%),
// which is enough to change a search's trajectory.
//
// What makes these reproducible: every function below is a fixed sequence
// of IEEE-754 double additions, subtractions, multiplications, divisions,
// square roots and exact power-of-two scalings, evaluated in the order
// written. Those operations are correctly rounded, so each step has one
// possible result; the build uses -ffp-contract=off (setup.py) so the
// compiler may not fuse a multiply and an add into an FMA even when the
// target has one, and no -ffast-math, so nothing is reassociated. A compiler
// that vectorizes these loops must keep that order (it may only vectorize
// across independent outputs), so vector code gives the same bits.
//
// exp and log follow fdlibm (Sun Microsystems, 1993; e_exp.c, e_log.c,
// "Permission to use, copy, modify, and distribute this software is freely
// granted, provided that this notice is preserved"): error below 1 ulp.
// log1p(x) = log(1 + x) * x / ((1 + x) - 1) (Goldberg, "What every computer
// scientist should know about floating-point arithmetic", Theorem 4): a few
// ulp.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>

namespace nbs {
namespace det {

inline uint64_t bits_of(double x) {
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

inline double from_bits(uint64_t u) {
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// 2**k for -1022 <= k <= 1023 (exact).
inline double pow2(int k) { return from_bits(uint64_t(k + 1023) << 52); }

inline double exp(double x) {
  constexpr double o_threshold = 7.09782712893383973096e+02;
  constexpr double u_threshold = -7.45133219101941108420e+02;
  constexpr double ln2_hi = 6.93147180369123816490e-01;  // 0x3fe62e42 fee00000
  constexpr double ln2_lo = 1.90821492927058770002e-10;  // 0x3dea39ef 35793c76
  constexpr double inv_ln2 = 1.44269504088896338700e+00;
  constexpr double P1 = 1.66666666666666019037e-01;
  constexpr double P2 = -2.77777777770155933842e-03;
  constexpr double P3 = 6.61375632143793436117e-05;
  constexpr double P4 = -1.65339022054652515390e-06;
  constexpr double P5 = 4.13813679705723846039e-08;
  if (x != x) return x + x;
  if (x > o_threshold) return std::numeric_limits<double>::infinity();
  if (x < u_threshold) return 0.0;
  const double ax = x < 0 ? -x : x;
  double hi = 0, lo = 0;
  int k = 0;
  if (ax > 0.5 * 0.6931471805599453) {
    if (ax < 1.5 * 0.6931471805599453) {
      k = x < 0 ? -1 : 1;
      hi = x - k * ln2_hi;
      lo = k * ln2_lo;
    } else {
      k = int(inv_ln2 * x + (x < 0 ? -0.5 : 0.5));  // rounds half away from 0
      hi = x - k * ln2_hi;  // exact: ln2_hi has 21 trailing zero bits
      lo = k * ln2_lo;
    }
    x = hi - lo;
  } else if (ax < 3.725290298461914e-09) {  // 2**-28
    return 1.0 + x;
  }
  const double t = x * x;
  const double c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return 1.0 - ((x * c) / (c - 2.0) - x);
  const double y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * pow2(1023);
    return y * pow2(k);
  }
  return (y * pow2(k + 1000)) * pow2(-1000);  // subnormal result: one rounding
}

inline double log(double x) {
  constexpr double ln2_hi = 6.93147180369123816490e-01;
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  constexpr double two54 = 1.80143985094819840000e+16;
  constexpr double Lg1 = 6.666666666666735130e-01;
  constexpr double Lg2 = 3.999999999940941908e-01;
  constexpr double Lg3 = 2.857142874366239149e-01;
  constexpr double Lg4 = 2.222219843214978396e-01;
  constexpr double Lg5 = 1.818357216161805012e-01;
  constexpr double Lg6 = 1.531383769920937332e-01;
  constexpr double Lg7 = 1.479819860511658591e-01;
  uint64_t u = bits_of(x);
  int32_t hx = int32_t(u >> 32);
  const uint32_t lx = uint32_t(u);
  int k = 0;
  if (hx < 0x00100000) {  // x < 2**-1022: zero, negative, subnormal or NaN with the sign bit
    if (((hx & 0x7fffffff) | lx) == 0) return -std::numeric_limits<double>::infinity();
    if (hx < 0) return std::numeric_limits<double>::quiet_NaN();
    k -= 54;
    x *= two54;  // subnormal: scale up (exact)
    u = bits_of(x);
    hx = int32_t(u >> 32);
  }
  if (hx >= 0x7ff00000) return x + x;  // inf or NaN
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const int32_t i = (hx + 0x95f64) & 0x100000;
  x = from_bits((uint64_t(uint32_t(hx | (i ^ 0x3ff00000))) << 32) | (bits_of(x) & 0xffffffffu));
  k += (i >> 20);  // x is now in [sqrt(2)/2, sqrt(2))
  const double f = x - 1.0;
  const double dk = double(k);
  if ((0x000fffff & (2 + hx)) < 3) {  // -2**-20 <= f < 2**-20
    if (f == 0.0) return k == 0 ? 0.0 : dk * ln2_hi + dk * ln2_lo;
    const double R = f * f * (0.5 - 0.33333333333333333 * f);
    return k == 0 ? f - R : dk * ln2_hi - ((R - dk * ln2_lo) - f);
  }
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  const double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  const double R = t2 + t1;
  if (((hx - 0x6147a) | (0x6b851 - hx)) > 0) {
    const double hfsq = 0.5 * f * f;
    if (k == 0) return f - (hfsq - s * (hfsq + R));
    return dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
  }
  if (k == 0) return f - s * (f - R);
  return dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
}

inline double log1p(double x) {
  if (x != x) return x + x;
  const double u = 1.0 + x;
  if (u == 1.0) return x;  // |x| below half an ulp of 1: log1p(x) = x to within rounding
  if (u == std::numeric_limits<double>::infinity()) return u;
  if (u <= 0.0) return u == 0.0 ? -std::numeric_limits<double>::infinity()
                                : std::numeric_limits<double>::quiet_NaN();
  return log(u) * (x / (u - 1.0));
}

// x**k for an integer k >= 0 by repeated multiplication, left to right
// (beta**t of Adam's bias correction without libm's pow).
inline double powi(double x, int64_t k) {
  double r = 1.0;
  for (int64_t i = 0; i < k; ++i) r = r * x;
  return r;
}

// out[j] = softmax(z[0..n))[j]: m = max z, e_j = exp(z_j - m), s = e_0 + e_1
// + ... (left to right), out_j = e_j / s.
inline void softmax(const double* z, int64_t n, double* out) {
  double m = z[0];
  for (int64_t j = 1; j < n; ++j) m = z[j] > m ? z[j] : m;
  double s = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    out[j] = exp(z[j] - m);
    s = s + out[j];
  }
  for (int64_t j = 0; j < n; ++j) out[j] = out[j] / s;
}

// log(sum_j exp(a_j)) = m + log(sum_j exp(a_j - m)), m = max a, the sum left
// to right; -inf when every a_j is -inf.
inline double logsumexp(const double* a, int64_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < n; ++j) m = a[j] > m ? a[j] : m;
  if (m == -std::numeric_limits<double>::infinity()) return m;
  double s = 0.0;
  for (int64_t j = 0; j < n; ++j) s = s + exp(a[j] - m);
  return m + log(s);
}

}  // namespace det
}  // namespace nbs
