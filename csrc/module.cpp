// pybind11 bindings of the private module nasbench_suite._core.
//
// Users never import this module: nasbench_suite.spaces.* wrap it, convert
// user input to the arrays below and document the public API. Conventions
// of every batch entry point here:
//   matrices: C-contiguous uint8 (N, V, V) with entries coded 0, 1 or 2
//             (2 = any value other than 0/1; the facade makes the codes);
//   labels:   C-contiguous int64 (N, V) in the official NB101 labelling.
// Batch loops run without the GIL; `threads` > 1 splits the batch.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <optional>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "index.hpp"
#include "md5x8.hpp"
#include "nb101.hpp"
#include "nb201.hpp"

namespace py = pybind11;
using namespace nbs;

namespace {

struct InvalidSpec : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using U8Array = py::array_t<uint8_t, py::array::c_style>;
using I64Array = py::array_t<int64_t, py::array::c_style>;
using U64Array = py::array_t<uint64_t, py::array::c_style>;
using F64Array = py::array_t<double, py::array::c_style>;

struct Batch {
  ssize_t n = 0, v = 0;
  const uint8_t* m = nullptr;
  const int64_t* labels = nullptr;
  nb101::RawCell cell(ssize_t i) const {
    return nb101::RawCell{int(v), m + i * v * v, labels + i * v};
  }
};

Batch as_batch(const U8Array& matrices, const I64Array& labels) {
  if (matrices.ndim() != 3 || matrices.shape(1) != matrices.shape(2))
    throw InvalidSpec("matrices must be an array of shape (N, V, V), got shape " +
                      py::str(py::tuple(py::cast(std::vector<ssize_t>(
                                  matrices.shape(), matrices.shape() + matrices.ndim()))))
                          .cast<std::string>());
  Batch b;
  b.n = matrices.shape(0);
  b.v = matrices.shape(1);
  if (b.v < 1 || b.v > nb101::kMaxOriginal)
    throw InvalidSpec("matrices must have between 1 and " + std::to_string(nb101::kMaxOriginal) +
                      " vertices before pruning, got V = " + std::to_string(b.v));
  if (labels.ndim() != 2 || labels.shape(0) != b.n || labels.shape(1) != b.v)
    throw InvalidSpec("labels must have shape (N, V) = (" + std::to_string(b.n) + ", " +
                      std::to_string(b.v) + ") to match the matrices (one op label per vertex)");
  b.m = matrices.data();
  b.labels = labels.data();
  return b;
}

// Runs fn(slot, begin, end) over [0, n) split into at most `threads`
// contiguous ranges (slot = range number, ascending with begin), one thread
// each, the caller's included. Returns the number of slots used.
template <typename Fn>
int parallel_for(ssize_t n, int threads, Fn fn) {
  int used = std::max(1, std::min<int>(threads, int(std::max<ssize_t>(1, n / 256))));
  ssize_t chunk = (n + used - 1) / used;
  std::vector<std::thread> pool;
  for (int t = 1; t < used; ++t) {
    ssize_t b = std::min(n, t * chunk), e = std::min(n, (t + 1) * chunk);
    pool.emplace_back([=] { fn(t, b, e); });
  }
  fn(0, ssize_t(0), std::min(n, chunk));
  for (auto& th : pool) th.join();
  return used;
}

// Validates and prunes every cell of the batch, calling body(i, cell) on
// valid ones; raises InvalidSpec for the first invalid cell (lowest index).
template <typename Body>
void for_each_valid(const Batch& b, int threads, Body body) {
  const size_t slots = size_t(std::max(1, threads));
  std::vector<ssize_t> first_bad(slots, -1);
  std::vector<nb101::Check> bad_check(slots);
  {
    py::gil_scoped_release release;
    parallel_for(b.n, threads, [&](int slot, ssize_t begin, ssize_t end) {
      for (ssize_t i = begin; i < end; ++i) {
        nb101::Cell c;
        nb101::Check chk = nb101::check_and_prune(b.cell(i), &c);
        if (!chk) {
          first_bad[size_t(slot)] = i;
          bad_check[size_t(slot)] = chk;
          return;
        }
        body(i, c);
      }
    });
  }
  ssize_t worst = -1;
  size_t which = 0;
  for (size_t s = 0; s < first_bad.size(); ++s)
    if (first_bad[s] >= 0 && (worst < 0 || first_bad[s] < worst)) {
      worst = first_bad[s];
      which = s;
    }
  if (worst >= 0)
    throw InvalidSpec("cell " + std::to_string(worst) + ": " + nb101::describe(bad_check[which], nullptr));
}

// A pruned cell in 7 slots. output_last=false: vertex i in slot i, padding
// after the output (m[:n, :n] is the pruned matrix). output_last=true: the
// output in slot 6 and isolated padding vertices before it, so the arrays
// are valid input to every batch call again.
void write_padded(const nb101::Cell& c, uint8_t* m, int8_t* lab, bool output_last) {
  constexpr int V = nb101::kMaxVertices;
  std::memset(m, 0, V * V);
  int slot[V];
  for (int i = 0; i < c.n; ++i) slot[i] = (output_last && i == c.n - 1) ? V - 1 : i;
  for (int i = 0; i < V; ++i) lab[i] = int8_t(nb101::kPadLabel);
  for (int i = 0; i < c.n; ++i) lab[slot[i]] = c.label[i];
  for (int u = 0; u < c.n; ++u)
    for (int v = u + 1; v < c.n; ++v) m[slot[u] * V + slot[v]] = (c.out[u] >> v) & 1u;
}

py::tuple padded_arrays(ssize_t n, const std::vector<nb101::Cell>& cells, bool output_last) {
  constexpr int V = nb101::kMaxVertices;
  U8Array m({n, ssize_t(V), ssize_t(V)});
  py::array_t<int8_t> lab({n, ssize_t(V)});
  I64Array nv({n});
  auto* mp = m.mutable_data();
  auto* lp = lab.mutable_data();
  auto* np_ = nv.mutable_data();
  for (ssize_t i = 0; i < n; ++i) {
    write_padded(cells[size_t(i)], mp + i * V * V, lp + i * V, output_last);
    np_[i] = cells[size_t(i)].n;
  }
  return py::make_tuple(m, lab, nv);
}

// Cells before pruning (7x7 + labels), with their pruned form ("end"
// layout) and canonical key, so the facade builds Cell objects without
// validating again.
py::tuple full_arrays(const std::vector<nb101::Full>& fs) {
  constexpr int V = nb101::kMaxVertices;
  ssize_t n = ssize_t(fs.size());
  U8Array m({n, ssize_t(V), ssize_t(V)});
  I64Array lab({n, ssize_t(V)});
  std::vector<nb101::Cell> cells(fs.size());
  U64Array keys({n});
  for (ssize_t i = 0; i < n; ++i) {
    const nb101::Full& f = fs[size_t(i)];
    std::memcpy(m.mutable_data() + i * V * V, f.m, V * V);
    std::memcpy(lab.mutable_data() + i * V, f.labels, V * sizeof(int64_t));
    nb101::check_and_prune(f.raw(), &cells[size_t(i)]);
    keys.mutable_data()[i] = nb101::canonical_key(cells[size_t(i)]);
  }
  py::tuple pruned = padded_arrays(n, cells, false);
  return py::make_tuple(m, lab, pruned[0], pruned[1], pruned[2], keys);
}

nb101::Full as_full(const U8Array& matrix, const I64Array& labels) {
  constexpr int V = nb101::kMaxVertices;
  if (matrix.ndim() != 2 || matrix.shape(0) != V || matrix.shape(1) != V || labels.ndim() != 1 ||
      labels.shape(0) != V)
    throw InvalidSpec("expected a 7x7 matrix and 7 labels (the facade pads smaller cells)");
  nb101::Full f;
  std::memcpy(f.m, matrix.data(), V * V);
  std::memcpy(f.labels, labels.data(), V * sizeof(int64_t));
  return f;
}

// Clears an array's writeable flag without a Python call (cells are
// immutable; their arrays are read-only views).
void set_readonly(py::array& a) {
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
}

// One child for the facade's Cell._from_parts: (original 7x7, labels (7,),
// pruned (n, n), pruned labels (n,), canonical key), arrays read-only.
py::tuple child_arrays(const nb101::Child& c) {
  constexpr int V = nb101::kMaxVertices;
  const int n = c.cell.n;
  U8Array m({ssize_t(V), ssize_t(V)}), pm({ssize_t(n), ssize_t(n)});
  I64Array lab({ssize_t(V)});
  py::array_t<int8_t> pl({ssize_t(n)});
  std::memcpy(m.mutable_data(), c.full.m, V * V);
  std::memcpy(lab.mutable_data(), c.full.labels, V * sizeof(int64_t));
  for (int u = 0; u < n; ++u) {
    pl.mutable_data()[u] = c.cell.label[u];
    for (int w = 0; w < n; ++w) pm.mutable_data()[u * n + w] = (c.cell.out[u] >> w) & 1u;
  }
  set_readonly(m);
  set_readonly(lab);
  set_readonly(pm);
  set_readonly(pl);
  return py::make_tuple(m, lab, pm, pl, py::int_(c.key));
}

const uint8_t* nb201_codes(const U8Array& codes, ssize_t* n) {
  if (codes.ndim() != 2 || codes.shape(1) != nb201::kNumEdges)
    throw InvalidSpec("NB201 op codes must have shape (N, 6)");
  const uint8_t* p = codes.data();
  for (ssize_t i = 0; i < codes.shape(0) * nb201::kNumEdges; ++i)
    if (p[i] >= nb201::kNumOps)
      throw InvalidSpec("cell " + std::to_string(i / nb201::kNumEdges) + ": op code " +
                        std::to_string(p[i]) + " on edge " + std::to_string(i % nb201::kNumEdges) +
                        " is not in 0..4");
  *n = codes.shape(0);
  return p;
}


// Parses an array of 32-char hex strings ('S32' bytes or '<U32' str) into
// (N, 2) key words without the GIL; throws naming the first bad element.
void parse_hex_array(const void* base, ssize_t n, bool ucs4, uint64_t* out) {
  ssize_t bad = -1;
  {
    py::gil_scoped_release release;
    for (ssize_t i = 0; i < n; ++i) {
      bool ok = ucs4 ? parse_hex128_ucs4(static_cast<const uint32_t*>(base) + 32 * i, out + 2 * i, out + 2 * i + 1)
                     : parse_hex128(static_cast<const char*>(base) + 32 * i, 1, out + 2 * i, out + 2 * i + 1);
      if (!ok) {
        bad = i;
        break;
      }
    }
  }
  if (bad >= 0) throw InvalidSpec("key " + std::to_string(bad) + " is not a 32-character hex hash");
}

// Batched lookups, prefetching the slot of the key a few places ahead.
void find_batch(const KeyIndex& idx, const uint64_t* k, ssize_t n, int64_t* r) {
  py::gil_scoped_release release;
  constexpr ssize_t kAhead = 8;
  for (ssize_t i = 0; i < n; ++i) {
    if (i + kAhead < n) idx.prefetch(k[2 * (i + kAhead)], k[2 * (i + kAhead) + 1]);
    r[i] = idx.find(k[2 * i], k[2 * i + 1]);
  }
}

std::vector<uint64_t> hex_keys(const py::array& a) {
  py::array arr = py::array::ensure(a, py::array::c_style);
  if (!arr) throw InvalidSpec("hashes must be an array of 32-character hex strings");
  auto kind = arr.dtype().kind();
  ssize_t n = arr.size(), item = arr.itemsize();
  std::vector<uint64_t> keys(size_t(2 * n));
  if (kind == 'S' && item == 32) {
    parse_hex_array(arr.data(), n, false, keys.data());
  } else if (kind == 'U' && item == 128) {
    parse_hex_array(arr.data(), n, true, keys.data());
  } else {
    throw InvalidSpec("hashes must be 32-character hex strings (dtype S32 or <U32), got dtype " +
                      py::str(arr.dtype()).cast<std::string>());
  }
  return keys;
}
}  // namespace

namespace nbs {
void bind_det(py::module_& m);  // det_module.cpp
void bind_graph(py::module_& m);  // graph_module.cpp
}

PYBIND11_MODULE(_core, m) {
  m.doc() = "Private compiled core of nasbench_suite; use nasbench_suite.spaces instead.";
  py::register_exception<InvalidSpec>(m, "InvalidSpecError", PyExc_ValueError);

  // ---------------------------------------------------------------- NB101
  m.def(
      "nb101_prune_one",
      [](const U8Array& matrix, const I64Array& labels, std::optional<std::vector<std::string>> names) {
        if (matrix.ndim() != 2 || matrix.shape(0) != matrix.shape(1))
          throw InvalidSpec("matrix must be square (V x V), got shape " +
                            py::str(py::tuple(py::cast(std::vector<ssize_t>(
                                        matrix.shape(), matrix.shape() + matrix.ndim()))))
                                .cast<std::string>());
        ssize_t v = matrix.shape(0);
        if (v < 1) throw InvalidSpec("matrix must have at least one vertex");
        if (v > nb101::kMaxOriginal)
          throw InvalidSpec("matrix has " + std::to_string(v) + " vertices; at most " +
                            std::to_string(nb101::kMaxOriginal) + " are accepted before pruning (" +
                            std::to_string(nb101::kMaxVertices) + " after)");
        if (labels.ndim() != 1 || labels.shape(0) != v)
          throw InvalidSpec("ops length mismatch: " + std::to_string(labels.size()) + " ops for a " +
                            std::to_string(v) + "x" + std::to_string(v) + " matrix (one op per vertex)");
        nb101::Cell c;
        nb101::Check chk = nb101::check_and_prune(nb101::RawCell{int(v), matrix.data(), labels.data()}, &c);
        if (!chk) throw InvalidSpec(nb101::describe(chk, names ? &*names : nullptr));
        U8Array pm({ssize_t(c.n), ssize_t(c.n)});
        py::array_t<int8_t> pl({ssize_t(c.n)});
        for (int u = 0; u < c.n; ++u) {
          pl.mutable_data()[u] = c.label[u];
          for (int w = 0; w < c.n; ++w) pm.mutable_data()[u * c.n + w] = (c.out[u] >> w) & 1u;
        }
        return py::make_tuple(pm, pl);
      },
      py::arg("matrix"), py::arg("labels"), py::arg("names") = py::none());

  m.def("nb101_is_valid", [](const U8Array& matrices, const I64Array& labels) {
    Batch b = as_batch(matrices, labels);
    py::array_t<bool> ok({b.n});
    bool* p = ok.mutable_data();
    {
      py::gil_scoped_release release;
      for (ssize_t i = 0; i < b.n; ++i) p[i] = bool(nb101::check_and_prune(b.cell(i), nullptr));
    }
    return ok;
  });

  m.def(
      "nb101_prune",
      [](const U8Array& matrices, const I64Array& labels, bool output_last) {
        Batch b = as_batch(matrices, labels);
        std::vector<nb101::Cell> cells(size_t(b.n));
        for_each_valid(b, 1, [&](ssize_t i, const nb101::Cell& c) { cells[size_t(i)] = c; });
        return padded_arrays(b.n, cells, output_last);
      },
      py::arg("matrices"), py::arg("labels"), py::arg("output_last") = false);

  m.def(
      "nb101_hash",
      [](const U8Array& matrices, const I64Array& labels, int threads) {
        Batch b = as_batch(matrices, labels);
        py::array out(py::dtype("S32"), std::vector<ssize_t>{b.n});
        char* p = static_cast<char*>(out.mutable_data());
        std::vector<nb101::Cell> cells(size_t(b.n));
        for_each_valid(b, threads, [&](ssize_t i, const nb101::Cell& c) { cells[size_t(i)] = c; });
        {
          py::gil_scoped_release release;
          parallel_for(b.n, threads, [&](int, ssize_t begin, ssize_t end) {
            for (ssize_t i = begin; i < end; i += nb101::kHashGroup) {
              const int k = int(std::min<ssize_t>(nb101::kHashGroup, end - i));
              Digest d[nb101::kHashGroup];
              nb101::hash_group(cells.data() + i, k, d);
              for (int j = 0; j < k; ++j) to_hex(d[j], p + 32 * (i + j));
            }
          });
        }
        return out;
      },
      py::arg("matrices"), py::arg("labels"), py::arg("threads") = 1);

  m.def(
      "nb101_canonical",
      [](const U8Array& matrices, const I64Array& labels, int threads) {
        Batch b = as_batch(matrices, labels);
        U64Array out({b.n});
        uint64_t* p = out.mutable_data();
        for_each_valid(b, threads, [&](ssize_t i, const nb101::Cell& c) { p[i] = nb101::canonical_key(c); });
        return out;
      },
      py::arg("matrices"), py::arg("labels"), py::arg("threads") = 1);

  m.def("nb101_decode", [](const U64Array& keys, bool output_last) {
    std::vector<nb101::Cell> cells(size_t(keys.size()));
    const uint64_t* k = keys.data();
    for (ssize_t i = 0; i < keys.size(); ++i) {
      int n = int(k[i] >> 60);
      if (n < 2 || n > nb101::kMaxVertices)
        throw InvalidSpec("key " + std::to_string(i) + " is not an NB101 canonical key");
      cells[size_t(i)] = nb101::from_key(k[i]);
    }
    return padded_arrays(keys.size(), cells, output_last);
  }, py::arg("keys"), py::arg("output_last") = false);

  m.def("nb101_encode_adjacency", [](const U8Array& matrices, const I64Array& labels) {
    Batch b = as_batch(matrices, labels);
    py::array_t<float> out({b.n, ssize_t(nb101::kAdjacencyFeatures)});
    float* p = out.mutable_data();
    for_each_valid(b, 1, [&](ssize_t i, const nb101::Cell& c) {
      nb101::encode_adjacency(c, p + i * nb101::kAdjacencyFeatures);
    });
    return out;
  });

  m.def("nb101_encode_path", [](const U8Array& matrices, const I64Array& labels) {
    Batch b = as_batch(matrices, labels);
    py::array_t<float> out({b.n, ssize_t(nb101::kPathFeatures)});
    float* p = out.mutable_data();
    for_each_valid(b, 1, [&](ssize_t i, const nb101::Cell& c) {
      nb101::encode_path(c, p + i * nb101::kPathFeatures);
    });
    return out;
  });

  m.def(
      "nb101_enumerate",
      [](int max_vertices, int max_edges) {
        if (max_vertices < 2 || max_vertices > nb101::kMaxVertices)
          throw InvalidSpec("max_vertices must be in 2..7");
        if (max_edges < 1 || max_edges > 21) throw InvalidSpec("max_edges must be in 1..21");
        nb101::Enumeration e;
        {
          py::gil_scoped_release release;
          e = nb101::enumerate_space(max_vertices, max_edges);
        }
        U64Array keys({ssize_t(e.keys.size())});
        std::memcpy(keys.mutable_data(), e.keys.data(), e.keys.size() * sizeof(uint64_t));
        py::dict cand, uniq;
        for (int n = 2; n <= max_vertices; ++n) {
          cand[py::int_(n)] = e.candidates[n];
          uniq[py::int_(n)] = e.unique[n];
        }
        return py::make_tuple(keys, cand, uniq);
      },
      py::arg("max_vertices") = nb101::kMaxVertices, py::arg("max_edges") = nb101::kMaxEdges);

  m.def("nb101_sample", [](uint64_t seed, ssize_t count) {
    if (count < 0) throw InvalidSpec("count must be >= 0");
    std::vector<nb101::Full> fs(static_cast<size_t>(count));
    {
      py::gil_scoped_release release;
      Rng rng(seed);
      for (auto& f : fs) f = nb101::sample(rng);
    }
    return full_arrays(fs);
  });

  m.def("nb101_mutate", [](const U8Array& matrix, const I64Array& labels, uint64_t seed, double rate) {
    nb101::Full parent = as_full(matrix, labels);
    if (!nb101::check_and_prune(parent.raw(), nullptr)) throw InvalidSpec("parent cell is invalid");
    if (!(rate > 0.0 && rate <= 7.0))
      throw InvalidSpec("mutation_rate must be in (0, 7] (edge flip probability rate/7), got " + std::to_string(rate));
    Rng rng(seed);
    return full_arrays({nb101::mutate(parent, rate, rng)});
  });

  // Regularized evolution's proposal step (the strategy keeps the population
  // in these arrays so that a proposal is one call, dedup retries included).
  m.def(
      "nb101_evolve",
      [](const U8Array& matrices, const I64Array& labels, const F64Array& values, int oldest, int count,
         int sample_size, uint64_t seed, const py::object& seen, int max_tries, double rate) {
        constexpr int V = nb101::kMaxVertices;
        if (matrices.ndim() != 3 || matrices.shape(1) != V || matrices.shape(2) != V || labels.ndim() != 2 ||
            labels.shape(0) != matrices.shape(0) || labels.shape(1) != V || values.ndim() != 1 ||
            values.shape(0) != matrices.shape(0))
          throw InvalidSpec("population must be matrices (P, 7, 7), labels (P, 7) and values (P,)");
        const ssize_t capacity = matrices.shape(0);
        if (count < 1 || count > capacity || oldest < 0 || oldest >= capacity)
          throw InvalidSpec("need 1 <= count <= P and 0 <= oldest < P, got count " + std::to_string(count) +
                            ", oldest " + std::to_string(oldest) + ", P " + std::to_string(capacity));
        if (sample_size < 1 || sample_size > count)
          throw InvalidSpec("sample_size must be in 1.." + std::to_string(count) + ", got " +
                            std::to_string(sample_size));
        if (max_tries < 1) throw InvalidSpec("max_tries must be >= 1");
        if (!(rate > 0.0 && rate <= 7.0))
          throw InvalidSpec("mutation_rate must be in (0, 7] (edge flip probability rate/7), got " +
                            std::to_string(rate));
        if (!seen.is_none() && !PyAnySet_Check(seen.ptr()))
          throw py::type_error("seen must be a set of canonical keys or None");
        auto is_seen = [&](uint64_t key) {
          if (seen.is_none()) return false;
          py::object k = py::reinterpret_steal<py::object>(PyLong_FromUnsignedLongLong(key));
          int r = PySet_Contains(seen.ptr(), k.ptr());
          if (r < 0) throw py::error_already_set();
          return r == 1;
        };
        nb101::Population pop{matrices.data(), labels.data(), values.data(), int(capacity), oldest, count};
        Rng rng(seed);
        nb101::Child child;
        nb101::Evolved status = nb101::evolve(pop, sample_size, rate, max_tries, is_seen, rng, &child);
        if (status == nb101::Evolved::kInvalidParent)
          throw InvalidSpec("population slot " + std::to_string(child.invalid_slot) + " is not a valid cell");
        py::object cell = status == nb101::Evolved::kChild ? py::object(child_arrays(child)) : py::none();
        return py::make_tuple(cell, child.rejected);
      },
      py::arg("matrices"), py::arg("labels"), py::arg("values"), py::arg("oldest"), py::arg("count"),
      py::arg("sample_size"), py::arg("seed"), py::arg("seen"), py::arg("max_tries"), py::arg("rate") = 1.0);

  m.def("nb101_neighbours", [](const U8Array& matrix, const I64Array& labels) {
    nb101::Full parent = as_full(matrix, labels);
    if (!nb101::check_and_prune(parent.raw(), nullptr)) throw InvalidSpec("parent cell is invalid");
    return full_arrays(nb101::neighbours(parent));
  });

  // ---------------------------------------------------------------- NB201
  m.def("nb201_canonical", [](const U8Array& codes) {
    ssize_t n = 0;
    const uint8_t* p = nb201_codes(codes, &n);
    U64Array keys({n});
    py::array_t<bool> conn({n});
    {
      py::gil_scoped_release release;
      for (ssize_t i = 0; i < n; ++i) {
        keys.mutable_data()[i] = nb201::canonical_key(p + i * nb201::kNumEdges);
        conn.mutable_data()[i] = nb201::connected(p + i * nb201::kNumEdges);
      }
    }
    return py::make_tuple(keys, conn);
  });

  m.def("nb201_functional", [](const U8Array& codes) {
    ssize_t n = 0;
    const uint8_t* p = nb201_codes(codes, &n);
    U64Array keys({n});
    {
      py::gil_scoped_release release;
      for (ssize_t i = 0; i < n; ++i)
        keys.mutable_data()[i] = nb201::functional_key(p + i * nb201::kNumEdges);
    }
    return keys;
  });

  m.def("nb201_encode_path", [](const U8Array& codes) {
    ssize_t n = 0;
    const uint8_t* p = nb201_codes(codes, &n);
    py::array_t<float> out({n, ssize_t(nb201::kPathFeatures)});
    for (ssize_t i = 0; i < n; ++i)
      nb201::encode_path(p + i * nb201::kNumEdges, out.mutable_data() + i * nb201::kPathFeatures);
    return out;
  });

  // ---------------------------------------------------------------- tables
  py::class_<KeyIndex>(m, "KeyIndex")
      .def(py::init([](const U64Array& keys) {
        if (keys.ndim() != 2 || keys.shape(1) != 2) throw InvalidSpec("keys must have shape (N, 2)");
        auto idx = std::make_unique<KeyIndex>();
        int64_t dup = -1;
        bool ok;
        {
          py::gil_scoped_release release;
          ok = idx->build(keys.data(), keys.shape(0), &dup);
        }
        if (!ok) throw InvalidSpec("duplicate key at row " + std::to_string(dup));
        return idx;
      }))
      .def("__len__", &KeyIndex::size)
      .def("find", [](const KeyIndex& idx, const U64Array& keys) {
        if (keys.ndim() != 2 || keys.shape(1) != 2) throw InvalidSpec("keys must have shape (M, 2)");
        ssize_t n = keys.shape(0);
        I64Array rows({n});
        const uint64_t* k = keys.data();
        int64_t* r = rows.mutable_data();
        find_batch(idx, k, n, r);
        return rows;
      })
      .def("find_hex", [](const KeyIndex& idx, const py::array& hashes) {
        std::vector<uint64_t> keys = hex_keys(hashes);
        ssize_t n = ssize_t(keys.size() / 2);
        I64Array rows({n});
        int64_t* r = rows.mutable_data();
        find_batch(idx, keys.data(), n, r);
        return rows;
      })
      .def("find_one", [](const KeyIndex& idx, uint64_t lo, uint64_t hi) { return idx.find(lo, hi); })
      .def("find_one_hex", [](const KeyIndex& idx, const std::string& h) -> int64_t {
        uint64_t lo, hi;
        if (h.size() != 32 || !parse_hex128(h.data(), 1, &lo, &hi)) return -2;
        return idx.find(lo, hi);
      });

  m.def("hex_to_keys", [](const py::array& hashes) {
    std::vector<uint64_t> keys = hex_keys(hashes);
    U64Array out({ssize_t(keys.size() / 2), ssize_t(2)});
    std::memcpy(out.mutable_data(), keys.data(), keys.size() * sizeof(uint64_t));
    return out;
  });

  m.def(
      "crc32c",
      [](const py::bytes& data, uint32_t crc) {
        std::string_view v = data;
        return crc32c(reinterpret_cast<const uint8_t*>(v.data()), v.size(), crc);
      },
      py::arg("data"), py::arg("crc") = 0);
  m.def("tfrecord_masked_crc", [](const py::bytes& data) {
    std::string_view v = data;
    return tfrecord_mask(crc32c(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  });

  md5_path_from_env();  // NASBENCH_SUITE_MD5; a bad value fails the import with its reason
  m.def("md5_path", [] { return std::string(md5_path_name(md5_path())); },
        "Name of the MD5 path NB101 hashing uses: 'scalar', 'avx2' or 'avx512'.");
  m.def("md5_paths", &md5_paths, "Names of the MD5 paths this machine can run, scalar first.");
  m.def("md5_set_path", &md5_set_path, py::arg("name"),
        "Chooses the MD5 path ('scalar', 'avx2', 'avx512' or 'auto' for the best available); "
        "returns the chosen name. ValueError for an unknown or unavailable path.");
  m.def("md5_simd_enabled", &md5_simd_enabled,
        "Whether NB101 hashing uses the AVX2 multi-buffer MD5 on this machine.");
  m.def("md5_set_simd", &md5_set_simd, py::arg("on"),
        "Turns the AVX2 multi-buffer MD5 on or off (for benchmarks); returns the new state.");

  m.attr("NB101_ADJACENCY_FEATURES") = nb101::kAdjacencyFeatures;
  m.attr("NB101_PATH_FEATURES") = nb101::kPathFeatures;
  m.attr("NB201_PATH_FEATURES") = nb201::kPathFeatures;

  // Machine-independent floating point for the strategies (det_module.cpp).
  nbs::bind_det(m);
  // NAS-Bench-Graph keys (graph_module.cpp).
  nbs::bind_graph(m);
}
