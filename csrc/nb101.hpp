// NAS-Bench-101 cells: validation and pruning with the official rules, the
// official module hash, canonical forms, enumeration, sampling, mutation,
// neighbourhoods and encodings. Conventions: ../shared/docs/REFERENCE.md and
// google-research/nasbench (lib/graph_util.py, lib/model_spec.py, api.py).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dag.hpp"
#include "md5.hpp"
#include "rng.hpp"

namespace nbs {
namespace nb101 {

constexpr int kMaxVertices = 7;     // module_vertices in the official config
constexpr int kMaxEdges = 9;        // max_edges in the official config
constexpr int kMaxOriginal = 32;    // vertices accepted before pruning
constexpr int kNumOps = 3;          // conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3
constexpr int kLabelInput = -1;
constexpr int kLabelOutput = -2;
constexpr int kPadLabel = -3;
constexpr int kAdjacencyFeatures = 21 + 5 * kNumOps;   // 36
constexpr int kPathFeatures = 1 + 3 + 9 + 27 + 81 + 243;  // 364 = sum 3^k, k = 0..5

// A cell as given: V vertices, matrix entries coded 0, 1 or 2 (= any value
// other than 0 and 1), labels as integers.
struct RawCell {
  int v = 0;
  const uint8_t* m = nullptr;  // V x V row-major
  const int64_t* labels = nullptr;
};

// A pruned, valid cell.
struct Cell {
  int n = 0;
  uint8_t out[kMaxVertices] = {0};  // out[u] bit v: edge u -> v (u < v)
  int8_t label[kMaxVertices] = {0};
};

enum class Rule : int {
  kOk = 0,
  kNotUpperTriangular,
  kNotZeroOne,
  kDisconnected,
  kTooManyVertices,
  kTooManyEdges,
  kFirstNotInput,
  kLastNotOutput,
  kUnknownOp,
};

struct Check {
  Rule rule = Rule::kOk;
  int row = -1, col = -1;  // offending entry, or vertex in row
  int count = 0;           // vertices or edges after pruning
  int64_t label = 0;       // offending label
  explicit operator bool() const { return rule == Rule::kOk; }
};

// Validates and prunes. On success fills *out and returns an ok Check.
Check check_and_prune(const RawCell& raw, Cell* out);

// Human-readable statement of the rule broken. `names`, when given, are the
// op names of the raw cell (used to name an unknown op).
std::string describe(const Check& c, const std::vector<std::string>* names);

// Official module hash (graph_util.hash_module) of a pruned cell.
Digest hash(const Cell& c);

// out[k] = hash(cells[k]) for k < count <= kHashGroup: the vertices of all
// cells of a round go through the multi-buffer MD5 together.
constexpr int kHashGroup = 16;
void hash_group(const Cell* cells, int count, Digest* out);

uint64_t canonical_key(const Cell& c);
Cell from_key(uint64_t key);

// Encodings of a pruned cell, written to out (kAdjacencyFeatures / kPathFeatures floats).
void encode_adjacency(const Cell& c, float* out);
void encode_path(const Cell& c, float* out);

// Whole-space enumeration with dedup by canonical form.
struct Enumeration {
  std::vector<uint64_t> keys;  // sorted, unique
  int64_t candidates[kMaxVertices + 1] = {0};
  int64_t unique[kMaxVertices + 1] = {0};
};
Enumeration enumerate_space(int max_vertices, int max_edges);

// A 7-vertex cell before pruning, the state that sampling and mutation act on.
struct Full {
  uint8_t m[kMaxVertices * kMaxVertices] = {0};
  int64_t labels[kMaxVertices] = {0};
  RawCell raw() const { return RawCell{kMaxVertices, m, labels}; }
};

// Official random_spec: each upper-triangular entry 1 w.p. 1/2, uniform ops,
// rejection of invalid specs.
Full sample(Rng& rng);
// Official notebook mutation on the 7-vertex original.
Full mutate(const Full& parent, double mutation_rate, Rng& rng);

// A regularized-evolution population (Real et al. 2019) held as arrays, a
// ring buffer in age order: member `age` (0 = oldest) is in slot
// (oldest + age) % capacity.
struct Population {
  const uint8_t* m = nullptr;       // capacity x 7 x 7 originals
  const int64_t* labels = nullptr;  // capacity x 7
  const double* values = nullptr;   // capacity
  int capacity = 0, oldest = 0, count = 0;
  int slot(int age) const { return (oldest + age) % capacity; }
};

enum class Evolved { kChild, kAllSeen, kInvalidParent };

struct Child {
  Full full;
  Cell cell;              // pruned
  uint64_t key = 0;       // canonical key
  int rejected = 0;       // children refused because `seen` held their key
  int invalid_slot = -1;  // with kInvalidParent: the parent's slot
};

// One regularized-evolution proposal: up to max_tries times, draw
// sample_size distinct members uniformly (Floyd's algorithm), take the best
// value (the oldest among equal ones; NaN below every number), mutate it (`mutate`) and return the
// child unless seen(child's canonical key). kAllSeen: every child was seen.
Evolved evolve(const Population& pop, int sample_size, double mutation_rate, int max_tries,
               const std::function<bool(uint64_t)>& seen, Rng& rng, Child* out);

// All valid one-edge-flip / one-op-change neighbours, deduplicated by
// canonical form, the parent's class excluded, in move order.
std::vector<Full> neighbours(const Full& parent);

}  // namespace nb101
}  // namespace nbs
