#include "dag.hpp"

#include <algorithm>
#include <cstring>

namespace nbs {
namespace {

// splitmix64 finaliser: mixes neighbour colours into a vertex signature.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Combines a multiset of colours independent of their order.
inline uint64_t multiset(const uint64_t* c, uint16_t mask) {
  uint64_t sum = 0, xr = 0;
  while (mask) {
    int v = __builtin_ctz(mask);
    mask &= mask - 1;
    uint64_t h = mix(c[v]);
    sum += h;
    xr ^= mix(h);
  }
  return mix(sum ^ (xr * 0x2545f4914f6cdd1dULL));
}

}  // namespace

uint64_t canonical_key(const SmallDag& g) {
  const int n = g.n;
  uint16_t in[kMaxDagVertices] = {0};
  for (int u = 0; u < n; ++u) {
    uint16_t m = g.out[u];
    while (m) {
      int v = __builtin_ctz(m);
      m &= m - 1;
      in[v] |= uint16_t(1u << u);
    }
  }
  // Longest-path depth from the sources and height to the sinks (n <= 8, so
  // n relaxation sweeps are enough and cost nothing).
  int depth[kMaxDagVertices] = {0}, height[kMaxDagVertices] = {0};
  for (int it = 0; it < n; ++it) {
    for (int u = 0; u < n; ++u) {
      uint16_t m = g.out[u];
      while (m) {
        int v = __builtin_ctz(m);
        m &= m - 1;
        depth[v] = std::max(depth[v], depth[u] + 1);
        height[u] = std::max(height[u], height[v] + 1);
      }
    }
  }
  uint64_t colour[kMaxDagVertices];
  for (int v = 0; v < n; ++v) {
    colour[v] = (uint64_t(height[v]) << 16) | (uint64_t(g.label[v]) << 8) |
                (uint64_t(__builtin_popcount(in[v])) << 4) | uint64_t(__builtin_popcount(g.out[v]));
  }
  // Two rounds of colour refinement by in- and out-neighbour multisets.
  for (int round = 0; round < 2; ++round) {
    uint64_t next[kMaxDagVertices];
    for (int v = 0; v < n; ++v) {
      next[v] = mix(colour[v] ^ mix(multiset(colour, in[v]) + 0x51) ^
                    (multiset(colour, g.out[v]) * 3));
    }
    std::memcpy(colour, next, sizeof(uint64_t) * n);
  }
  // Sort key: depth first (keeps every candidate order topological), then
  // the label, then the refined colour. Label and depth are explicit so a
  // (harmless) colour collision can only merge classes, never mix labels.
  uint64_t sortkey[kMaxDagVertices];
  int order[kMaxDagVertices];
  for (int v = 0; v < n; ++v) {
    sortkey[v] = (uint64_t(depth[v]) << 60) | (uint64_t(g.label[v]) << 56) | (colour[v] >> 8);
    order[v] = v;
  }
  std::sort(order, order + n, [&](int a, int b) { return sortkey[a] < sortkey[b]; });

  // Colour classes: [start, end) runs of equal sort keys in `order`.
  int cls_start[kMaxDagVertices + 1], ncls = 0;
  for (int i = 0; i < n; ++i) {
    if (i == 0 || sortkey[order[i]] != sortkey[order[i - 1]]) cls_start[ncls++] = i;
  }
  cls_start[ncls] = n;

  uint64_t label_bits = 0;
  for (int i = 0; i < n; ++i) label_bits |= uint64_t(g.label[order[i]]) << (32 + kKeyLabelBits * i);

  auto encode = [&](const int* ord) {
    int pos[kMaxDagVertices];
    for (int i = 0; i < n; ++i) pos[ord[i]] = i;
    uint64_t code = 0;
    for (int u = 0; u < n; ++u) {
      uint16_t m = g.out[u];
      while (m) {
        int v = __builtin_ctz(m);
        m &= m - 1;
        code |= uint64_t(1) << pair_bit(pos[u], pos[v]);
      }
    }
    return code;
  };

  uint64_t best = encode(order);
  bool trivial = (ncls == n);
  if (!trivial) {
    // Odometer over the permutations of every class (each class starts
    // sorted, next_permutation cycles it back to sorted when it wraps).
    for (int c = 0; c < ncls; ++c) std::sort(order + cls_start[c], order + cls_start[c + 1]);
    best = encode(order);
    while (true) {
      int c = 0;
      for (; c < ncls; ++c) {
        if (std::next_permutation(order + cls_start[c], order + cls_start[c + 1])) break;
      }
      if (c == ncls) break;
      uint64_t code = encode(order);
      if (code < best) best = code;
    }
  }
  return (uint64_t(n) << 60) | label_bits | best;
}

SmallDag decode_key(uint64_t key) {
  SmallDag g;
  g.n = int(key >> 60);
  for (int i = 0; i < g.n; ++i) {
    g.label[i] = uint8_t((key >> (32 + kKeyLabelBits * i)) & 7u);
    for (int j = i + 1; j < g.n; ++j) {
      if ((key >> pair_bit(i, j)) & 1u) g.out[i] |= uint16_t(1u << j);
    }
  }
  return g;
}

}  // namespace nbs
