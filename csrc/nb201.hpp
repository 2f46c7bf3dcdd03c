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

// Path encoding: one feature per sequence of ops along an input-to-output
// path of non-none edges; a sequence (o_0..o_{k-1}) with o in 1..4 (the op
// codes without none) sets feature sum_i 4^i * o_i - 1.
void encode_path(const uint8_t* ops, float* out);

}  // namespace nb201
}  // namespace nbs
