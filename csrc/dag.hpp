// Exact canonical forms of small vertex-labelled DAGs (at most 8 vertices),
// shared by NAS-Bench-101 cells and NAS-Bench-201 op-on-node graphs.
//
// Vertices are ordered by an isomorphism-invariant colour whose most
// significant part is the longest-path depth from the sources, so every
// candidate order is topological and the canonical matrix stays upper
// triangular. Ties are broken by trying every order inside each colour
// class and keeping the smallest adjacency code: exact, and cheap because
// the classes of real cells are tiny.
#pragma once
#include <cstdint>

namespace nbs {

constexpr int kMaxDagVertices = 8;
constexpr int kKeyLabelBits = 3;  // labels must be in 0..7

struct SmallDag {
  int n = 0;
  uint16_t out[kMaxDagVertices] = {0};  // out[u] bit v: edge u -> v
  uint8_t label[kMaxDagVertices] = {0};
};

// Key layout (uint64): bits 60..63 n; bits 32..55 labels (3 bits per
// canonical vertex i at 32 + 3 i); bits 0..27 the upper-triangular adjacency
// of the canonical order, pair (i, j) with i < j at bit pair_bit(i, j).
uint64_t canonical_key(const SmallDag& g);

// Inverse of canonical_key: the canonical representative.
SmallDag decode_key(uint64_t key);

inline int pair_bit(int i, int j) {
  // Row-major index of (i, j), i < j, in the strict upper triangle of 8x8.
  return i * (2 * kMaxDagVertices - i - 1) / 2 + (j - i - 1);
}

}  // namespace nbs
