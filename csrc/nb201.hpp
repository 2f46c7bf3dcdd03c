// NAS-Bench-201 / NATS-Bench topology cells: 6 edges, 5 ops (official order
// none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3), edges in
// arch-string order 0->1, 0->2, 1->2, 0->3, 1->3, 2->3.
#pragma once
#include <cstdint>

#include "dag.hpp"

namespace nbs {
namespace nb201 {

constexpr int kNumEdges = 6;
constexpr int kNumOps = 5;
constexpr int kNumCells = 15625;  // 5^6
constexpr int kPathFeatures = 4 + 16 + 64;  // op sequences of length 1..3 over 4 non-none ops
constexpr int kEdgeSrc[kNumEdges] = {0, 0, 1, 0, 1, 2};
constexpr int kEdgeDst[kNumEdges] = {1, 2, 2, 3, 3, 3};

// True when some input-to-output path uses only non-`none` edges.
bool connected(const uint8_t* ops);

// Exact canonical key of the op-on-node DAG (input, one vertex per non-none
// edge labelled by its op, output; pruned to the vertices on input-output
// paths). 0 for a disconnected cell (no connected cell has key 0).
uint64_t canonical_key(const uint8_t* ops);

// Exact canonical key of the cell as a network ("functional identity",
// REFERENCE.md NB201 / issue 14): the pruned op-on-node DAG with edge
// multiplicities (a node's input is the sum of its predecessors' outputs),
// every skip_connect node contracted (pred->succ multiplicity += product)
// and avg_pool_3x3 nodes with equal inputs (multiset of pred, multiplicity)
// merged, out-multiplicities added, until nothing changes; convs never merge.
// Two cells are the same network iff their keys are equal; 0 when
// disconnected (no connected cell has key 0).
//
// Key layout (uint64), canonical vertex order (input first, output last):
//   bits 60..63  n, the vertex count (2..8);
//   bits 48..59  interior labels, 2 bits per canonical vertex i in 1..n-2 at
//                48 + 2 (i - 1): 0 nor_conv_1x1, 1 nor_conv_3x3, 2 avg_pool_3x3;
//   bits  0..47  multiplicity of every pair (i, j), i < j, at
//                b * (row-major index of (i, j) in the strict upper triangle
//                of the n x n matrix), b = functional_mult_bits(n) bits each.
// b is 1 for n = 8 (nothing was contracted or merged, every multiplicity is
// 1), 2 for n = 7 (one contraction or one merge: at most 2), 3 for n <= 6;
// over all 15,625 cells the largest multiplicity is 4 (input->output of the
// all-skip cell). A multiplicity that does not fit throws std::logic_error.
uint64_t functional_key(const uint8_t* ops);

constexpr int functional_mult_bits(int n) { return n >= 8 ? 1 : (n == 7 ? 2 : 3); }

// Path encoding: one feature per sequence of ops along an input-to-output
// path of non-none edges; a sequence (o_0..o_{k-1}) with o in 1..4 (the op
// codes without none) sets feature sum_i 4^i * o_i - 1.
void encode_path(const uint8_t* ops, float* out);

}  // namespace nb201
}  // namespace nbs
