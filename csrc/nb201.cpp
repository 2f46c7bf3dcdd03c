#include "nb201.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace nbs {
namespace nb201 {
namespace {

// The four node paths from node 0 to node 3, as edge indices in order.
constexpr int kPaths[4][3] = {{3, -1, -1}, {0, 4, -1}, {1, 5, -1}, {0, 2, 5}};

// splitmix64 finaliser: mixes neighbour colours into a vertex signature
// (the same mixing as the unweighted canonical form in dag.cpp).
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr int kV = kNumEdges + 2;  // input, one vertex per edge, output
constexpr int kIn = 0, kOut = kNumEdges + 1;
constexpr uint8_t kSkip = 1, kPool = 4;

// The reduced network of a cell: vertices 0..n-1 in topological order,
// input 0, output n-1; labels 0 input, 1 output, 2 nor_conv_1x1,
// 3 nor_conv_3x3, 4 avg_pool_3x3 (skip_connect vertices are gone);
// w[u][v] the multiplicity of edge u -> v (0: no edge).
struct WeightedDag {
  int n = 0;
  uint8_t label[kV] = {0};
  int w[kV][kV] = {{0}};
};

// Builds the reduced network (see functional_key in nb201.hpp); false when
// the cell is disconnected.
bool reduce_functional(const uint8_t* ops, WeightedDag* out) {
  // Vertex 0: input, 1..6: one per edge (in edge order, which is
  // topological), 7: output; the same numbering as canonical_key.
  int w[kV][kV] = {{0}};
  for (int e = 0; e < kNumEdges; ++e) {
    if (ops[e] == 0) continue;
    if (kEdgeSrc[e] == 0) w[kIn][e + 1] = 1;
    if (kEdgeDst[e] == 3) w[e + 1][kOut] = 1;
    for (int f = 0; f < kNumEdges; ++f)
      if (ops[f] != 0 && kEdgeSrc[f] == kEdgeDst[e]) w[e + 1][f + 1] = 1;
  }
  // Prune to the vertices on input-output paths (one sweep each way).
  uint16_t fwd = 1u << kIn, bwd = 1u << kOut;
  for (int u = 0; u < kOut; ++u)
    if (fwd >> u & 1u)
      for (int v = u + 1; v < kV; ++v)
        if (w[u][v]) fwd |= uint16_t(1u << v);
  for (int u = kOut - 1; u >= 0; --u)
    for (int v = u + 1; v < kV; ++v)
      if (w[u][v] && (bwd >> v & 1u)) bwd |= uint16_t(1u << u);
  if (!(fwd >> kOut & 1u)) return false;
  uint16_t keep = fwd & bwd;
  for (int u = 0; u < kV; ++u)
    if (!(keep >> u & 1u))
      for (int v = 0; v < kV; ++v) w[u][v] = w[v][u] = 0;
  // Contract skip_connect vertices: skip(x) = x, so every pred -> skip ->
  // succ pair becomes pred -> succ with the product of the multiplicities,
  // added to the edge already there (x + x is 2x, not x).
  for (int s = 1; s <= kNumEdges; ++s) {
    if (!(keep >> s & 1u) || ops[s - 1] != kSkip) continue;
    for (int p = 0; p < s; ++p) {
      if (!w[p][s]) continue;
      for (int q = s + 1; q < kV; ++q)
        if (w[s][q]) w[p][q] += w[p][s] * w[s][q];
    }
    for (int v = 0; v < kV; ++v) w[s][v] = w[v][s] = 0;
    keep &= uint16_t(~(1u << s));
  }
  // Merge avg_pool_3x3 vertices with equal inputs (equal columns of w: the
  // multiset of (pred, multiplicity)), adding their out-multiplicities, until
  // nothing changes (a merge can make the inputs of later pools equal).
  for (bool changed = true; changed;) {
    changed = false;
    for (int a = 1; a <= kNumEdges; ++a) {
      if (!(keep >> a & 1u) || ops[a - 1] != kPool) continue;
      for (int b = a + 1; b <= kNumEdges; ++b) {
        if (!(keep >> b & 1u) || ops[b - 1] != kPool) continue;
        bool same = true;
        for (int u = 0; u < kV && same; ++u) same = w[u][a] == w[u][b];
        if (!same) continue;
        // Equal inputs: neither feeds the other; a takes over b's out-edges.
        for (int v = 0; v < kV; ++v) {
          w[a][v] += w[b][v];
          w[b][v] = w[v][b] = 0;
        }
        keep &= uint16_t(~(1u << b));
        changed = true;
      }
    }
  }
  // Compact, keeping the topological order.
  int idx[kV], n = 0;
  for (int u = 0; u < kV; ++u)
    if (keep >> u & 1u) idx[u] = n++;
  out->n = n;
  std::memset(out->w, 0, sizeof(out->w));
  for (int u = 0; u < kV; ++u) {
    if (!(keep >> u & 1u)) continue;
    out->label[idx[u]] = u == kIn ? 0 : (u == kOut ? 1 : uint8_t(ops[u - 1]));  // 2, 3, 4
    for (int v = u + 1; v < kV; ++v)
      if (keep >> v & 1u) out->w[idx[u]][idx[v]] = w[u][v];
  }
  return true;
}

// Combines a multiset of (neighbour colour, multiplicity) independent of order.
inline uint64_t weighted_multiset(const uint64_t* colour, const int* mult, int n) {
  uint64_t sum = 0, xr = 0;
  for (int v = 0; v < n; ++v) {
    if (!mult[v]) continue;
    uint64_t h = mix(colour[v] * 31 + uint64_t(mult[v]));
    sum += h;
    xr ^= mix(h);
  }
  return mix(sum ^ (xr * 0x2545f4914f6cdd1dULL));
}

// Exact canonical key of a reduced network: the smallest multiplicity code
// over every vertex order consistent with an isomorphism-invariant ordered
// partition (depth, label, refined colour). The partition is invariant, so
// the minimum is; depth first keeps every candidate topological, hence
// input first, output last (the unique source and sink). Colour collisions
// can only enlarge a class (more orders tried), never break exactness.
uint64_t canonical_weighted(const WeightedDag& g) {
  const int n = g.n;
  const int bits = functional_mult_bits(n);
  int depth[kV] = {0}, height[kV] = {0};
  int cin[kV][kV];  // cin[v][u] = w[u][v]: the column of v
  for (int u = 0; u < n; ++u)
    for (int v = 0; v < n; ++v) cin[v][u] = g.w[u][v];
  for (int u = 0; u < n; ++u)  // topological order: one sweep each way
    for (int v = u + 1; v < n; ++v)
      if (g.w[u][v]) depth[v] = std::max(depth[v], depth[u] + 1);
  for (int u = n - 1; u >= 0; --u)
    for (int v = u + 1; v < n; ++v)
      if (g.w[u][v]) height[u] = std::max(height[u], height[v] + 1);
  uint64_t colour[kV];
  for (int v = 0; v < n; ++v) {
    uint64_t win = 0, wout = 0;
    for (int u = 0; u < n; ++u) {
      win += uint64_t(cin[v][u]);
      wout += uint64_t(g.w[v][u]);
    }
    colour[v] = (uint64_t(height[v]) << 24) | (uint64_t(g.label[v]) << 16) | (win << 8) | wout;
  }
  for (int round = 0; round < 3; ++round) {
    uint64_t next[kV];
    for (int v = 0; v < n; ++v)
      next[v] = mix(colour[v] ^ mix(weighted_multiset(colour, cin[v], n) + 0x51) ^
                    (weighted_multiset(colour, g.w[v], n) * 3));
    std::memcpy(colour, next, sizeof(uint64_t) * n);
  }
  uint64_t sortkey[kV];
  int order[kV];
  for (int v = 0; v < n; ++v) {
    sortkey[v] = (uint64_t(depth[v]) << 60) | (uint64_t(g.label[v]) << 56) | (colour[v] >> 8);
    order[v] = v;
  }
  for (int i = 1; i < n; ++i)  // insertion sort: n <= 8
    for (int j = i; j > 0 && sortkey[order[j]] < sortkey[order[j - 1]]; --j)
      std::swap(order[j], order[j - 1]);
  int cls_start[kV + 1], ncls = 0;
  for (int i = 0; i < n; ++i)
    if (i == 0 || sortkey[order[i]] != sortkey[order[i - 1]]) cls_start[ncls++] = i;
  cls_start[ncls] = n;

  uint64_t label_bits = 0;
  for (int i = 1; i + 1 < n; ++i) label_bits |= uint64_t(g.label[order[i]] - 2) << (48 + 2 * (i - 1));

  const uint64_t limit = uint64_t(1) << bits;
  auto encode = [&](const int* ord) {
    uint64_t code = 0;
    int k = 0;  // row-major pair index in the n x n strict upper triangle
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j, ++k) {
        uint64_t m = uint64_t(g.w[ord[i]][ord[j]]);
        if (m >= limit)
          throw std::logic_error("nb201 functional key: multiplicity " + std::to_string(m) +
                                 " does not fit in " + std::to_string(bits) + " bits");
        code |= m << (bits * k);
      }
    return code;
  };
  uint64_t best = encode(order);
  if (ncls != n) {
    // Odometer over the permutations of every class (as in dag.cpp).
    for (int c = 0; c < ncls; ++c)
      for (int i = cls_start[c] + 1; i < cls_start[c + 1]; ++i)
        for (int j = i; j > cls_start[c] && order[j] < order[j - 1]; --j) std::swap(order[j], order[j - 1]);
    best = encode(order);
    while (true) {
      int c = 0;
      for (; c < ncls; ++c)
        if (std::next_permutation(order + cls_start[c], order + cls_start[c + 1])) break;
      if (c == ncls) break;
      best = std::min(best, encode(order));
    }
  }
  return (uint64_t(n) << 60) | label_bits | best;
}

}  // namespace

bool connected(const uint8_t* ops) {
  for (const auto& path : kPaths) {
    bool ok = true;
    for (int e : path)
      if (e >= 0 && ops[e] == 0) ok = false;
    if (ok) return true;
  }
  return false;
}

uint64_t canonical_key(const uint8_t* ops) {
  // Vertex 0: input, 1..6: one per edge, 7: output (before pruning).
  constexpr int kIn = 0, kOut = kNumEdges + 1;
  uint16_t out[kNumEdges + 2] = {0};
  for (int e = 0; e < kNumEdges; ++e) {
    if (ops[e] == 0) continue;
    if (kEdgeSrc[e] == 0) out[kIn] |= uint16_t(1u << (e + 1));
    if (kEdgeDst[e] == 3) out[e + 1] |= uint16_t(1u << kOut);
    for (int f = 0; f < kNumEdges; ++f)
      if (ops[f] != 0 && kEdgeSrc[f] == kEdgeDst[e]) out[e + 1] |= uint16_t(1u << (f + 1));
  }
  // Prune. Vertex numbering is topological (edge e only feeds edges f > e
  // and the output), so one sweep each way is enough.
  uint16_t fwd = 1u << kIn, bwd = 1u << kOut;
  for (int u = 0; u < kOut; ++u)
    if (fwd >> u & 1u) fwd |= out[u];
  for (int u = kOut; u >= 0; --u)
    if (out[u] & bwd) bwd |= uint16_t(1u << u);
  if (!(fwd >> kOut & 1u)) return 0;
  const uint16_t keep = fwd & bwd;
  int newidx[kNumEdges + 2], k = 0;
  for (int u = 0; u <= kOut; ++u)
    if (keep >> u & 1u) newidx[u] = k++;
  SmallDag g;
  g.n = k;
  for (int u = 0; u <= kOut; ++u) {
    if (!(keep >> u & 1u)) continue;
    int i = newidx[u];
    // Labels: input 0, output 1, ops skip..avg_pool -> 2..5.
    g.label[i] = u == kIn ? 0 : (u == kOut ? 1 : uint8_t(ops[u - 1] + 1));
    uint16_t m = out[u] & keep;
    while (m) {
      int v = __builtin_ctz(m);
      m &= m - 1;
      g.out[i] |= uint16_t(1u << newidx[v]);
    }
  }
  return nbs::canonical_key(g);
}

uint64_t functional_key(const uint8_t* ops) {
  WeightedDag g;
  if (!reduce_functional(ops, &g)) return 0;
  return canonical_weighted(g);
}

void encode_path(const uint8_t* ops, float* out) {
  std::fill(out, out + kPathFeatures, 0.0f);
  for (const auto& path : kPaths) {
    int index = 0, power = 1;
    bool ok = true;
    for (int e : path) {
      if (e < 0) break;
      if (ops[e] == 0) {
        ok = false;
        break;
      }
      index += power * ops[e];
      power *= 4;
    }
    if (ok) out[index - 1] = 1.0f;
  }
}

}  // namespace nb201
}  // namespace nbs
