// NAS-Bench-Graph (Qin et al., NeurIPS 2022 Datasets and Benchmarks): a GNN
// is a 4-layer macro DAG. Layer k (node k + 1; node 0 is the input) applies
// one op to the output of node link[k] < k + 1, so the DAG is a tree rooted
// at the input; every leaf (a node no layer reads) feeds the output, which
// adds them. A raw choice: one of the 9 link patterns (the 9 rooted trees of
// 4 nodes, in the package's `link_list` order) and 4 op codes.
//
// Op codes here are always the FULL op list's indices (gat, gcn, gin, cheb,
// sage, arma, graph, fc, skip; skip = 8), also for the proteins op list (its
// ops are a subset), since the package's benchmark key is written that way.
#pragma once
#include <cstdint>

namespace nbs {
namespace graph {

constexpr int kLayers = 4;
constexpr int kPatterns = 9;
constexpr int kOps = 9;   // full op list
constexpr int kSkip = 8;  // the identity op
extern const int8_t kLinks[kPatterns][kLayers];

// Exact canonical key of the labelled rooted tree (input root, one node per
// layer labelled by its op): equal iff the two choices are isomorphic DAGs.
// Never 0.
uint64_t canonical_key(int pattern, const uint8_t* ops);

// Functional key: every skip layer contracted (it is the identity: its
// readers read its input, and where it is a leaf its input feeds the output);
// the key is the canonical form of the contracted tree whose nodes carry
// their op and the number of times they feed the output (the output adds its
// inputs, so the count matters). Equal iff the same network. Never 0.
uint64_t functional_key(int pattern, const uint8_t* ops);

// Whether the input itself feeds the output (a chain of skips from the input
// to a leaf): the networks NAS-Bench-Graph's data does not hold.
bool input_in_output(int pattern, const uint8_t* ops);

// The package's benchmark key (nas_bench_graph `Arch.valid_hash()` of the
// raw choice): its skip-moving and equal-part sorting, then link-pattern
// index and the 4 op codes in base 10. -1 when its procedure leaves a link
// list outside the 9 patterns (never, for the 9 patterns as input).
int64_t benchmark_key(int pattern, const uint8_t* ops);

}  // namespace graph
}  // namespace nbs
