// The inverse standard normal CDF exactly as scipy computes it (scipy.special.ndtri, which
// scipy.stats.norm.ppf calls): the cephes ndtri algorithm by Stephen L. Moshier (Cephes Math
// Library 2.1), as translated in scipy's xsf (include/xsf/cephes/ndtri.h). numerai-tools
// gaussianizes ranks with norm.ppf, and the last bits matter for ties and golden values, so this
// is a line-by-line port: same coefficients, same branches, same Horner order (polevl/p1evl).
// A closed-form or higher-accuracy inverse would differ from scipy by an ulp or two and break
// the antisymmetry quirk numerai-tools inherits (ppf(0.05) != -ppf(0.95) in the last bit).
//
// Compile without FMA contraction of this file's expressions (g++ -std=c++20 does not contract;
// nvcc does by default, so GPU results may differ from scipy by an ulp).
#pragma once

#include <cmath>

#include "core/hd/hd.hpp"

namespace backscore {
namespace ndtri_detail {

// sqrt(2 pi), the cephes constant s2pi.
inline constexpr double kS2Pi = 2.50662827463100050242E0;
// exp(-2): below it (or above 1 - exp(-2)) the tail approximations take over.
inline constexpr double kExpM2 = 0.13533528323661269189;

// cephes polevl: coef[0] x^N + ... + coef[N], Horner from the highest degree.
BACKSCORE_HD inline double polevl(double x, const double* coef, int n) {
  double ans = coef[0];
  for (int i = 1; i <= n; ++i) ans = ans * x + coef[i];
  return ans;
}

// cephes p1evl: as polevl with an implicit leading coefficient 1 (coef has n entries).
BACKSCORE_HD inline double p1evl(double x, const double* coef, int n) {
  double ans = x + coef[0];
  for (int i = 1; i < n; ++i) ans = ans * x + coef[i];
  return ans;
}

}  // namespace ndtri_detail

// x such that Phi(x) = y. y <= 0 gives -inf, y >= 1 gives +inf (scipy's norm.ppf at the domain
// ends; numerai-tools' percentiles never reach them), NaN gives NaN.
BACKSCORE_HD inline double ndtri(double y0) {
  using namespace ndtri_detail;
  // Local arrays rather than namespace-scope ones: nvcc cannot read constexpr arrays at namespace
  // scope from device code, and the compiler folds these into constants on both sides.
  // Approximation for 0 <= |y - 0.5| <= 3/8.
  const double kP0[5] = {
      -5.99633501014107895267E1, 9.80010754185999661536E1,  -5.66762857469070293439E1,
      1.39312609387279679503E1,  -1.23916583867381258016E0,
  };
  const double kQ0[8] = {
      /* 1.00000000000000000000E0, */
      1.95448858338141759834E0,  4.67627912898881538453E0,  8.63602421390890590575E1,
      -2.25462687854119370527E2, 2.00260212380060660359E2,  -8.20372256168333339912E1,
      1.59056225126211695515E1,  -1.18331621121330003142E0,
  };
  // Approximation for z = sqrt(-2 log y) between 2 and 8, i.e. y between exp(-2) and exp(-32).
  const double kP1[9] = {
      4.05544892305962419923E0,   3.15251094599893866154E1,   5.71628192246421288162E1,
      4.40805073893200834700E1,   1.46849561928858024014E1,   2.18663306850790267539E0,
      -1.40256079171354495875E-1, -3.50424626827848203418E-2, -8.57456785154685413611E-4,
  };
  const double kQ1[8] = {
      /* 1.00000000000000000000E0, */
      1.57799883256466749731E1,   4.53907635128879210584E1,   4.13172038254672030440E1,
      1.50425385692907503408E1,   2.50464946208309415979E0,   -1.42182922854787788574E-1,
      -3.80806407691578277194E-2, -9.33259480895457427372E-4,
  };
  // Approximation for z = sqrt(-2 log y) between 8 and 64, i.e. y between exp(-32) and
  // exp(-2048).
  const double kP2[9] = {
      3.23774891776946035970E0,  6.91522889068984211695E0,  3.93881025292474443415E0,
      1.33303460815807542389E0,  2.01485389549179081538E-1, 1.23716634817820021358E-2,
      3.01581553508235416007E-4, 2.65806974686737550832E-6, 6.23974539184983293730E-9,
  };
  const double kQ2[8] = {
      /* 1.00000000000000000000E0, */
      6.02427039364742014255E0,  3.67983563856160859403E0,  1.37702099489081330271E0,
      2.16236993594496635890E-1, 1.34204006088543189037E-2, 3.28014464682127739104E-4,
      2.89247864745380683936E-6, 6.79019408009981274425E-9,
  };
  if (y0 <= 0.0) return -HUGE_VAL;
  if (y0 >= 1.0) return HUGE_VAL;
  bool negate = true;  // cephes' `code`: the lower tail is computed, then negated
  double y = y0;
  if (y > (1.0 - kExpM2)) {
    y = 1.0 - y;
    negate = false;
  }
  if (y > kExpM2) {
    y = y - 0.5;
    const double y2 = y * y;
    double x = y + y * (y2 * polevl(y2, kP0, 4) / p1evl(y2, kQ0, 8));
    x = x * kS2Pi;
    return x;
  }
  double x = sqrt(-2.0 * log(y));
  const double x0 = x - log(x) / x;
  const double z = 1.0 / x;
  double x1;
  if (x < 8.0) {  // y > exp(-32) = 1.2664165549e-14
    x1 = z * polevl(z, kP1, 8) / p1evl(z, kQ1, 8);
  } else {
    x1 = z * polevl(z, kP2, 8) / p1evl(z, kQ2, 8);
  }
  x = x0 - x1;
  if (negate) x = -x;
  return x;
}

}  // namespace backscore
