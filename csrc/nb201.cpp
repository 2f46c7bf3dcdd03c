#include "nb201.hpp"

#include <algorithm>

namespace nbs {
namespace nb201 {
namespace {

// The four node paths from node 0 to node 3, as edge indices in order.
constexpr int kPaths[4][3] = {{3, -1, -1}, {0, 4, -1}, {1, 5, -1}, {0, 2, 5}};

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
