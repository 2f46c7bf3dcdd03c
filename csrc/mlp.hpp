// An ensemble of independent feed-forward ReLU networks (BANANAS' predictor,
// nasbench_suite/strategies/bananas.py), trained with Adam on the mean
// absolute error, in float64 with every sum in a fixed order, so that the
// result is bit-for-bit the same on every x86-64 machine (see detmath.hpp for
// why and how: no BLAS, no FMA contraction, no reassociation).
//
// Parameters: one flat float64 vector, for layer l = 0..L-1 (dims[l] inputs,
// dims[l + 1] outputs) W_l of shape (members, dims[l], dims[l + 1]) then b_l
// of shape (members, 1, dims[l + 1]), C order. Hidden layers apply ReLU;
// the last layer (dims[L] = 1) is linear.
//
// The order of every sum:
// - a unit's pre-activation: sum_k in[k] * W[k][j] over k ascending, starting
//   from 0, then + b[j]; in the first layer only the inputs that are not 0
//   enter the sum (inputs are mostly-zero encodings);
// - a weight's gradient: sum over the batch's samples in batch order of
//   in_b[k] * delta_b[j] (first layer: the samples whose input k is not 0);
//   a bias's: sum of delta_b[j] in batch order;
// - a hidden unit's back-propagated delta: sum_j delta[j] * W[k][j] over j
//   ascending, times 1 when the unit's output is > 0 and 0 otherwise.
// Members are independent: splitting them over threads changes nothing.
#pragma once
#include <cstdint>
#include <vector>

namespace nbs {
namespace mlp {

struct Shape {
  std::vector<int64_t> dims;  // inputs, hidden widths..., 1
  int64_t members = 0;
  // Offsets of W_l and b_l in the flat vector, and its size.
  std::vector<int64_t> w_off, b_off;
  int64_t size = 0;
  Shape(std::vector<int64_t> dims, int64_t members);
  int64_t layers() const { return int64_t(dims.size()) - 1; }
};

struct Adam {
  double lr, beta1, beta2, eps;
};

// Trains every member in place: `steps` Adam updates on mini-batches of
// `batch_size` rows of X (n, dims[0]) with targets y (n). Batch t (1-based)
// takes positions s .. s + batch_size - 1 (clipped to n) of the current
// epoch's row order, s = (t - 1) * batch_size mod (ceil(n / batch_size) *
// batch_size); epoch e's order for member m is order[(e * members + m) * n
// ...] (a permutation of 0..n-1), or 0..n-1 when order is null. Inputs
// columns that are 0 in every row of X get no gradient, so they are left out
// of the update (Adam would leave them unchanged). The bias corrections use
// beta**t by repeated multiplication.
void fit(const Shape& shape, double* theta, const double* X, const double* y, int64_t n,
         const int64_t* order, int64_t steps, int64_t batch_size, const Adam& adam, int threads);

// out (members, N): every member's prediction for each row of X (N, dims[0]).
void predict(const Shape& shape, const double* theta, const double* X, int64_t N, double* out,
             int threads);

}  // namespace mlp
}  // namespace nbs
