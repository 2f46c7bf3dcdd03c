// Bindings of the machine-independent floating-point kernels (detmath.hpp,
// mlp.hpp) into nasbench_suite._core; module.cpp calls bind_det at the end of
// the module definition. The strategies (REINFORCE, BANANAS, BOHB) use these
// instead of numpy/BLAS/libm wherever a result steers a search.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "detmath.hpp"
#include "mlp.hpp"

namespace py = pybind11;

namespace nbs {

namespace {

using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
using I64 = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

double exp_(double x) { return det::exp(x); }
double log_(double x) { return det::log(x); }
double log1p_(double x) { return det::log1p(x); }

std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

void need(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument(what);
}

mlp::Shape mlp_shape(const std::vector<int64_t>& dims, int64_t members, const F64& theta) {
  mlp::Shape s(dims, members);
  need(theta.ndim() == 1 && theta.shape(0) == s.size,
       "theta must have shape (" + std::to_string(s.size) + ",) for these layer sizes, got " + shape_of(theta));
  return s;
}

}  // namespace

void bind_det(py::module_& m) {
  m.def("det_exp", py::vectorize(exp_),
        "exp, the same bits on every machine (fdlibm's algorithm in plain IEEE double operations).");
  m.def("det_log", py::vectorize(log_), "log, the same bits on every machine (fdlibm's algorithm).");
  m.def("det_log1p", py::vectorize(log1p_), "log(1 + x), the same bits on every machine.");

  m.def(
      "softmax_rows",
      [](const F64& logits, const I64& sizes) {
        need(logits.ndim() == 2, "logits must be 2-D (decisions, widest), got shape " + shape_of(logits));
        const py::ssize_t n = logits.shape(0), w = logits.shape(1);
        need(sizes.ndim() == 1 && sizes.shape(0) == n, "sizes must have shape (" + std::to_string(n) + ",)");
        const int64_t* sz = sizes.data();
        for (py::ssize_t i = 0; i < n; ++i)
          need(sz[i] >= 1 && sz[i] <= w, "sizes must be between 1 and the row width " + std::to_string(w));
        F64 out({n, w});
        const double* z = logits.data();
        double* p = out.mutable_data();
        {
          py::gil_scoped_release release;
          for (py::ssize_t i = 0; i < n; ++i) {
            det::softmax(z + i * w, sz[i], p + i * w);
            for (py::ssize_t j = sz[i]; j < w; ++j) p[i * w + j] = 0.0;
          }
        }
        return out;
      },
      py::arg("logits"), py::arg("sizes"),
      "Row-wise softmax over the first sizes[i] entries of row i (the rest 0): m = max, "
      "e = det_exp(z - m), divided by their sum taken left to right.");

  m.def(
      "categorical_kde_log_density",
      [](const I64& data, const F64& bw, const I64& sizes, const I64& x) {
        need(data.ndim() == 2 && data.shape(0) >= 1, "data must be a non-empty (n, d) array");
        const py::ssize_t n = data.shape(0), d = data.shape(1);
        need(bw.ndim() == 1 && bw.shape(0) == d, "bw must have shape (" + std::to_string(d) + ",)");
        need(sizes.ndim() == 1 && sizes.shape(0) == d, "sizes must have shape (" + std::to_string(d) + ",)");
        need(x.ndim() == 2 && x.shape(1) == d, "x must have shape (m, " + std::to_string(d) + ")");
        const py::ssize_t mm = x.shape(0);
        F64 out({mm});
        const int64_t *D = data.data(), *X = x.data(), *S = sizes.data();
        const double* B = bw.data();
        double* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          std::vector<double> same(static_cast<size_t>(d)), other(static_cast<size_t>(d)), logk(static_cast<size_t>(n));
          for (py::ssize_t j = 0; j < d; ++j) {
            same[size_t(j)] = det::log1p(-B[j]);
            other[size_t(j)] = S[j] > 1 ? det::log(B[j] / double(S[j] - 1)) : -std::numeric_limits<double>::infinity();
          }
          const double log_n = det::log(double(n));
          for (py::ssize_t i = 0; i < mm; ++i) {
            for (py::ssize_t r = 0; r < n; ++r) {
              double s = 0.0;
              for (py::ssize_t j = 0; j < d; ++j)
                s = s + (X[i * d + j] == D[r * d + j] ? same[size_t(j)] : other[size_t(j)]);
              logk[size_t(r)] = s;
            }
            o[i] = det::logsumexp(logk.data(), n) - log_n;
          }
        }
        return out;
      },
      py::arg("data"), py::arg("bw"), py::arg("sizes"), py::arg("x"),
      "Log of the product Aitchison-Aitken density of the rows of data at each row of x: per "
      "variable log1p(-bw) on a match and log(bw / (c - 1)) otherwise, summed over the variables "
      "left to right, log-sum-exp over the data rows (det_exp/det_log), minus log(n).");

  m.def(
      "mlp_ensemble_fit",
      [](const F64& theta, const std::vector<int64_t>& dims, int64_t members, const F64& X, const F64& y,
         std::optional<I64> order, int64_t steps, int64_t batch_size, double lr, double beta1, double beta2,
         double eps, int threads) {
        mlp::Shape s = mlp_shape(dims, members, theta);
        need(X.ndim() == 2 && X.shape(1) == dims[0],
             "X must have shape (n, " + std::to_string(dims[0]) + "), got " + shape_of(X));
        const py::ssize_t n = X.shape(0);
        need(y.ndim() == 1 && y.shape(0) == n, "y must have shape (" + std::to_string(n) + ",)");
        need(batch_size >= 1, "batch_size must be positive");
        need(steps >= 0, "steps must be non-negative");
        const int64_t per_epoch = n > 0 ? (n + batch_size - 1) / batch_size : 1;
        const int64_t epochs = (steps + per_epoch - 1) / per_epoch;
        const int64_t* ord = nullptr;
        if (batch_size < n) {
          need(order.has_value() && order->ndim() == 3 && order->shape(0) >= epochs &&
                   order->shape(1) == members && order->shape(2) == n,
               "order must have shape (epochs >= " + std::to_string(epochs) + ", " + std::to_string(members) +
                   ", " + std::to_string(n) + ") when batch_size < n");
          ord = order->data();
          for (py::ssize_t i = 0; i < order->size(); ++i)
            need(ord[i] >= 0 && ord[i] < n, "order holds a row number outside [0, n)");
        }
        F64 out({s.size});
        std::copy(theta.data(), theta.data() + s.size, out.mutable_data());
        double* th = out.mutable_data();
        {
          py::gil_scoped_release release;
          mlp::fit(s, th, X.data(), y.data(), n, ord, steps, batch_size, mlp::Adam{lr, beta1, beta2, eps},
                   threads);
        }
        return out;
      },
      py::arg("theta"), py::arg("dims"), py::arg("members"), py::arg("X"), py::arg("y"), py::arg("order"),
      py::arg("steps"), py::arg("batch_size"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"),
      py::arg("eps"), py::arg("threads") = 1,
      "Trains an ensemble of ReLU networks with Adam on the mean absolute error in float64 with "
      "fixed-order sums (csrc/mlp.hpp); returns the new flat parameter vector.");

  m.def(
      "mlp_ensemble_predict",
      [](const F64& theta, const std::vector<int64_t>& dims, int64_t members, const F64& X, int threads) {
        mlp::Shape s = mlp_shape(dims, members, theta);
        need(X.ndim() == 2 && X.shape(1) == dims[0],
             "X must have shape (N, " + std::to_string(dims[0]) + "), got " + shape_of(X));
        const py::ssize_t N = X.shape(0);
        F64 out({py::ssize_t(members), N});
        double* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          mlp::predict(s, theta.data(), X.data(), N, o, threads);
        }
        return out;
      },
      py::arg("theta"), py::arg("dims"), py::arg("members"), py::arg("X"), py::arg("threads") = 1,
      "(members, N) predictions of the ensemble (csrc/mlp.hpp) for the rows of X.");
}

}  // namespace nbs
