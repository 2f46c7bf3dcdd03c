// See mlp.hpp. Built with -ffp-contract=off (setup.py): every expression
// below is evaluated as written, one IEEE-754 rounding per operation.
#include "mlp.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>

namespace nbs {
namespace mlp {

Shape::Shape(std::vector<int64_t> d, int64_t m) : dims(std::move(d)), members(m) {
  if (dims.size() < 2) throw std::invalid_argument("an MLP needs at least an input and an output size");
  for (int64_t v : dims)
    if (v < 1) throw std::invalid_argument("layer sizes must be positive");
  if (dims.back() != 1) throw std::invalid_argument("the last layer must have one output");
  if (members < 1) throw std::invalid_argument("members must be positive");
  int64_t off = 0;
  for (int64_t l = 0; l < layers(); ++l) {
    w_off.push_back(off);
    off += members * dims[l] * dims[l + 1];
    b_off.push_back(off);
    off += members * dims[l + 1];
  }
  size = off;
}

namespace {

// Sparse rows of X: for row r, the (column, value) pairs whose value is not
// 0, columns ascending.
struct Sparse {
  std::vector<int64_t> start, col;
  std::vector<double> val;
  Sparse(const double* X, int64_t n, int64_t d) {
    start.reserve(size_t(n + 1));
    start.push_back(0);
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t k = 0; k < d; ++k) {
        double v = X[r * d + k];
        if (v != 0.0) {
          col.push_back(k);
          val.push_back(v);
        }
      }
      start.push_back(int64_t(col.size()));
    }
  }
};

// Views of one member's parameters (or of a vector laid out like them).
struct Member {
  std::vector<double*> W, b;
  Member(const Shape& s, double* base, int64_t m) {
    for (int64_t l = 0; l < s.layers(); ++l) {
      W.push_back(base + s.w_off[size_t(l)] + m * s.dims[size_t(l)] * s.dims[size_t(l + 1)]);
      b.push_back(base + s.b_off[size_t(l)] + m * s.dims[size_t(l + 1)]);
    }
  }
};

// One forward pass of member `p` on sparse row r; h[l] (dims[l + 1]) gets
// layer l's output (after ReLU for hidden layers). Returns the prediction.
double forward(const Shape& s, const Member& p, const Sparse& x, int64_t r, std::vector<std::vector<double>>& h) {
  const int64_t L = s.layers();
  for (int64_t l = 0; l < L; ++l) {
    const int64_t fo = s.dims[size_t(l + 1)];
    double* out = h[size_t(l)].data();
    std::fill(out, out + fo, 0.0);
    const double* W = p.W[size_t(l)];
    if (l == 0) {
      for (int64_t q = x.start[size_t(r)]; q < x.start[size_t(r + 1)]; ++q) {
        const double v = x.val[size_t(q)];
        const double* Wk = W + x.col[size_t(q)] * fo;
        for (int64_t j = 0; j < fo; ++j) out[j] = out[j] + v * Wk[j];
      }
    } else {
      const int64_t fi = s.dims[size_t(l)];
      const double* in = h[size_t(l - 1)].data();
      for (int64_t k = 0; k < fi; ++k) {
        const double v = in[k];
        const double* Wk = W + k * fo;
        for (int64_t j = 0; j < fo; ++j) out[j] = out[j] + v * Wk[j];
      }
    }
    const double* b = p.b[size_t(l)];
    for (int64_t j = 0; j < fo; ++j) out[j] = out[j] + b[j];
    if (l + 1 < L)
      for (int64_t j = 0; j < fo; ++j) out[j] = out[j] > 0.0 ? out[j] : 0.0;
  }
  return h[size_t(L - 1)][0];
}

template <typename Fn>
void for_members(int64_t members, int threads, Fn fn) {
  int used = int(std::max<int64_t>(1, std::min<int64_t>(threads, members)));
  std::vector<std::thread> pool;
  for (int t = 1; t < used; ++t)
    pool.emplace_back([=] {
      for (int64_t m = t; m < members; m += used) fn(m);
    });
  for (int64_t m = 0; m < members; m += used) fn(m);
  for (auto& th : pool) th.join();
}

void fit_member(const Shape& s, double* theta, int64_t m, const Sparse& x, const std::vector<int64_t>& active,
                const double* y, int64_t n, const int64_t* order, int64_t steps, int64_t bs, const Adam& adam) {
  const int64_t L = s.layers();
  Member p(s, theta, m);
  // Gradient and Adam moments in the same layout as one member's parameters.
  Shape one(s.dims, 1);
  std::vector<double> grad(static_cast<size_t>(one.size)), mom1(static_cast<size_t>(one.size), 0.0),
      mom2(static_cast<size_t>(one.size), 0.0);
  Member g(one, grad.data(), 0), m1(one, mom1.data(), 0), m2(one, mom2.data(), 0);
  // Activations of each sample of a batch, and deltas.
  std::vector<std::vector<std::vector<double>>> h(static_cast<size_t>(bs));
  for (auto& hb : h)
    for (int64_t l = 0; l < L; ++l) hb.emplace_back(size_t(s.dims[size_t(l + 1)]));
  std::vector<std::vector<double>> delta(static_cast<size_t>(bs)), prev(static_cast<size_t>(bs));
  int64_t widest = *std::max_element(s.dims.begin() + 1, s.dims.end());
  for (int64_t b = 0; b < bs; ++b) {
    delta[size_t(b)].resize(size_t(widest));
    prev[size_t(b)].resize(size_t(widest));
  }
  std::vector<int64_t> rows(static_cast<size_t>(bs));
  const int64_t per_epoch = (n + bs - 1) / bs;
  const double one_b1 = 1.0 - adam.beta1, one_b2 = 1.0 - adam.beta2;
  double b1t = 1.0, b2t = 1.0;  // beta**t
  const int64_t fo0 = s.dims[1];

  for (int64_t t = 1; t <= steps; ++t) {
    const int64_t start = ((t - 1) * bs) % (per_epoch * bs);
    const int64_t epoch = (t - 1) / per_epoch;
    const int64_t B = std::min(bs, n - start);
    for (int64_t i = 0; i < B; ++i)
      rows[size_t(i)] = order ? order[(epoch * s.members + m) * n + start + i] : start + i;
    // Forward, and d(mean |pred - y|)/d(pred) = sign(pred - y) / B.
    const double inv_b = 1.0 / double(B);
    for (int64_t i = 0; i < B; ++i) {
      const int64_t r = rows[size_t(i)];
      const double out = forward(s, p, x, r, h[size_t(i)]);
      const double e = out - y[r];
      const double sign = e > 0.0 ? 1.0 : (e < 0.0 ? -1.0 : 0.0);
      delta[size_t(i)][0] = sign * inv_b;
    }
    // Backward: layer l's gradient from its input (layer l - 1's output or X).
    for (int64_t l = L - 1; l >= 0; --l) {
      const int64_t fo = s.dims[size_t(l + 1)];
      double* gW = g.W[size_t(l)];
      double* gb = g.b[size_t(l)];
      std::fill(gb, gb + fo, 0.0);
      if (l == 0) {
        for (int64_t k : active) std::fill(gW + k * fo, gW + (k + 1) * fo, 0.0);
        for (int64_t i = 0; i < B; ++i) {
          const int64_t r = rows[size_t(i)];
          const double* d = delta[size_t(i)].data();
          for (int64_t q = x.start[size_t(r)]; q < x.start[size_t(r + 1)]; ++q) {
            const double v = x.val[size_t(q)];
            double* gk = gW + x.col[size_t(q)] * fo;
            for (int64_t j = 0; j < fo; ++j) gk[j] = gk[j] + v * d[j];
          }
        }
      } else {
        const int64_t fi = s.dims[size_t(l)];
        std::fill(gW, gW + fi * fo, 0.0);
        for (int64_t i = 0; i < B; ++i) {
          const double* in = h[size_t(i)][size_t(l - 1)].data();
          const double* d = delta[size_t(i)].data();
          for (int64_t k = 0; k < fi; ++k) {
            const double v = in[k];
            double* gk = gW + k * fo;
            for (int64_t j = 0; j < fo; ++j) gk[j] = gk[j] + v * d[j];
          }
        }
      }
      for (int64_t i = 0; i < B; ++i) {
        const double* d = delta[size_t(i)].data();
        for (int64_t j = 0; j < fo; ++j) gb[j] = gb[j] + d[j];
      }
      if (l > 0) {  // delta of layer l - 1's (ReLU) outputs
        const int64_t fi = s.dims[size_t(l)];
        const double* W = p.W[size_t(l)];
        for (int64_t i = 0; i < B; ++i) {
          const double* d = delta[size_t(i)].data();
          const double* in = h[size_t(i)][size_t(l - 1)].data();
          double* pd = prev[size_t(i)].data();
          for (int64_t k = 0; k < fi; ++k) {
            const double* Wk = W + k * fo;
            double acc = 0.0;
            for (int64_t j = 0; j < fo; ++j) acc = acc + d[j] * Wk[j];
            pd[k] = in[k] > 0.0 ? acc : 0.0;
          }
          std::swap(delta[size_t(i)], prev[size_t(i)]);
        }
      }
    }
    // Adam (the Keras form: the bias correction folded into the step size).
    b1t = b1t * adam.beta1;
    b2t = b2t * adam.beta2;
    const double step = adam.lr * std::sqrt(1.0 - b2t) / (1.0 - b1t);
    auto update = [&](double* param, double* gr, double* mo1, double* mo2, int64_t count) {
      for (int64_t q = 0; q < count; ++q) {
        mo1[q] = mo1[q] * adam.beta1 + gr[q] * one_b1;
        mo2[q] = mo2[q] * adam.beta2 + (gr[q] * gr[q]) * one_b2;
        param[q] = param[q] - (mo1[q] / (std::sqrt(mo2[q]) + adam.eps)) * step;
      }
    };
    for (int64_t l = 0; l < L; ++l) {
      const int64_t fo = s.dims[size_t(l + 1)];
      if (l == 0) {
        for (int64_t k : active)
          update(p.W[0] + k * fo0, g.W[0] + k * fo0, m1.W[0] + k * fo0, m2.W[0] + k * fo0, fo0);
      } else {
        update(p.W[size_t(l)], g.W[size_t(l)], m1.W[size_t(l)], m2.W[size_t(l)], s.dims[size_t(l)] * fo);
      }
      update(p.b[size_t(l)], g.b[size_t(l)], m1.b[size_t(l)], m2.b[size_t(l)], fo);
    }
  }
}

}  // namespace

void fit(const Shape& s, double* theta, const double* X, const double* y, int64_t n, const int64_t* order,
         int64_t steps, int64_t batch_size, const Adam& adam, int threads) {
  if (n < 1 || steps < 1) return;
  if (batch_size < 1) throw std::invalid_argument("batch_size must be positive");
  const int64_t d = s.dims[0];
  Sparse x(X, n, d);
  std::vector<char> used(static_cast<size_t>(d), 0);
  for (int64_t c : x.col) used[size_t(c)] = 1;
  std::vector<int64_t> active;
  for (int64_t k = 0; k < d; ++k)
    if (used[size_t(k)]) active.push_back(k);
  const int64_t bs = std::min(batch_size, n);
  for_members(s.members, threads, [&](int64_t m) {
    fit_member(s, theta, m, x, active, y, n, order, steps, bs, adam);
  });
}

void predict(const Shape& s, const double* theta, const double* X, int64_t N, double* out, int threads) {
  Sparse x(X, N, s.dims[0]);
  for_members(s.members, threads, [&](int64_t m) {
    Member p(s, const_cast<double*>(theta), m);
    std::vector<std::vector<double>> h;
    for (int64_t l = 0; l < s.layers(); ++l) h.emplace_back(size_t(s.dims[size_t(l + 1)]));
    for (int64_t r = 0; r < N; ++r) out[m * N + r] = forward(s, p, x, r, h);
  });
}

}  // namespace mlp
}  // namespace nbs
