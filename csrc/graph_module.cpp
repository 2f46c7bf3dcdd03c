// Bindings of the NAS-Bench-Graph keys (graph.hpp) into nasbench_suite._core;
// module.cpp calls bind_graph. One call keys a whole array of raw choices,
// with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "graph.hpp"

namespace py = pybind11;

namespace nbs {

namespace {

using I64 = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using U8 = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;

void need(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument(what);
}

}  // namespace

void bind_graph(py::module_& m) {
  m.def(
      "graph_keys",
      [](const I64& patterns, const U8& ops) {
        need(patterns.ndim() == 1, "patterns must be 1-D (N,), one link-pattern index per choice");
        const py::ssize_t n = patterns.shape(0);
        need(ops.ndim() == 2 && ops.shape(0) == n && ops.shape(1) == graph::kLayers,
             "ops must have shape (N, 4): the full-list op code of each layer, N = len(patterns) = " +
                 std::to_string(n));
        const int64_t* p = patterns.data();
        const uint8_t* o = ops.data();
        for (py::ssize_t i = 0; i < n; ++i) {
          need(p[i] >= 0 && p[i] < graph::kPatterns,
               "link-pattern index " + std::to_string(p[i]) + " at row " + std::to_string(i) + " is outside 0..8");
          for (int k = 0; k < graph::kLayers; ++k)
            need(o[i * graph::kLayers + k] < graph::kOps, "op code " + std::to_string(o[i * graph::kLayers + k]) +
                                                              " at row " + std::to_string(i) + " is outside 0..8");
        }
        py::array_t<uint64_t> canon(n), func(n);
        py::array_t<int64_t> bench(n);
        py::array_t<bool> iio(n);
        uint64_t* c = canon.mutable_data();
        uint64_t* f = func.mutable_data();
        int64_t* b = bench.mutable_data();
        bool* io = iio.mutable_data();
        {
          py::gil_scoped_release release;
          for (py::ssize_t i = 0; i < n; ++i) {
            const uint8_t* oi = o + i * graph::kLayers;
            const int pi = int(p[i]);
            c[i] = graph::canonical_key(pi, oi);
            f[i] = graph::functional_key(pi, oi);
            b[i] = graph::benchmark_key(pi, oi);
            io[i] = graph::input_in_output(pi, oi);
          }
        }
        return py::make_tuple(canon, func, bench, iio);
      },
      py::arg("patterns"), py::arg("ops"),
      "NAS-Bench-Graph keys of N raw choices (link-pattern index, 4 full-list op codes): (canonical uint64, "
      "functional uint64, benchmark int64, input_in_output bool), each (N,). canonical: the exact labelled-DAG "
      "canonical form; functional: skip layers contracted as the identity; benchmark: the package's "
      "valid_hash(); input_in_output: the input feeds the output through skips.");
}

}  // namespace nbs
