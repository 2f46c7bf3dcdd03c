// NAS-Bench-Graph keys (graph.hpp). All three work on one raw choice at a
// time, without allocation; graph_module.cpp batches them over arrays.
#include "graph.hpp"

#include <algorithm>
#include <array>

namespace nbs {
namespace graph {

const int8_t kLinks[kPatterns][kLayers] = {
    {0, 0, 0, 0}, {0, 0, 0, 1}, {0, 0, 1, 1}, {0, 0, 1, 2}, {0, 0, 1, 3},
    {0, 1, 1, 1}, {0, 1, 1, 2}, {0, 1, 2, 2}, {0, 1, 2, 3},
};

namespace {

constexpr int kNodes = kLayers + 1;

// A subtree's code: tokens of `bits` bits each, preorder (node token, the
// children's codes in sorted order, a closing token). At most 2 * 5 tokens.
struct Code {
  std::array<uint8_t, 2 * kNodes> t{};
  int n = 0;
  bool operator<(const Code& o) const {
    return std::lexicographical_compare(t.begin(), t.begin() + n, o.t.begin(), o.t.begin() + o.n);
  }
};

// children[p] lists the nodes whose parent is p (tokens[p] the token of node p).
Code encode(int node, const int (&parent)[kNodes], const bool (&alive)[kNodes], const uint8_t (&token)[kNodes],
            uint8_t close) {
  Code kids[kLayers];
  int nk = 0;
  for (int c = 1; c < kNodes; ++c)
    if (alive[c] && parent[c] == node) kids[nk++] = encode(c, parent, alive, token, close);
  for (int i = 1; i < nk; ++i)  // insertion sort: at most 4 children
    for (int j = i; j > 0 && kids[j] < kids[j - 1]; --j) std::swap(kids[j], kids[j - 1]);
  Code out;
  out.t[out.n++] = token[node];
  for (int i = 0; i < nk; ++i)
    for (int j = 0; j < kids[i].n; ++j) out.t[out.n++] = kids[i].t[j];
  out.t[out.n++] = close;
  return out;
}

uint64_t pack(const Code& c, int bits) {
  uint64_t k = 0;
  for (int i = 0; i < c.n; ++i) k = (k << bits) | c.t[i];
  return k;
}

}  // namespace

uint64_t canonical_key(int pattern, const uint8_t* ops) {
  int parent[kNodes] = {-1};
  bool alive[kNodes] = {true, true, true, true, true};
  uint8_t token[kNodes] = {uint8_t(kOps + 1)};  // root 10; ops 1..9; close 15
  for (int k = 0; k < kLayers; ++k) {
    parent[k + 1] = kLinks[pattern][k];
    token[k + 1] = uint8_t(ops[k] + 1);
  }
  return pack(encode(0, parent, alive, token, 15), 4);  // 10 tokens x 4 bits
}

namespace {

// The node each node stands for once skips are contracted (0: the input).
void contract(int pattern, const uint8_t* ops, int (&eff)[kNodes], int (&feeds)[kNodes]) {
  const int8_t* link = kLinks[pattern];
  eff[0] = 0;
  for (int k = 0; k < kLayers; ++k) eff[k + 1] = ops[k] == kSkip ? eff[link[k]] : k + 1;
  bool has_child[kNodes] = {};
  for (int k = 0; k < kLayers; ++k) has_child[link[k]] = true;
  for (int v = 0; v < kNodes; ++v) feeds[v] = 0;
  for (int v = 1; v < kNodes; ++v)
    if (!has_child[v]) ++feeds[eff[v]];
}

}  // namespace

uint64_t functional_key(int pattern, const uint8_t* ops) {
  int eff[kNodes], feeds[kNodes];
  contract(pattern, ops, eff, feeds);
  int parent[kNodes] = {-1};
  bool alive[kNodes] = {true};
  uint8_t token[kNodes];
  // token = 1 + label * 5 + feeds (labels: ops 0..7, the input 8; feeds 0..4): 1..45; close 63
  token[0] = uint8_t(1 + 8 * 5 + feeds[0]);
  for (int k = 0; k < kLayers; ++k) {
    alive[k + 1] = ops[k] != kSkip;
    parent[k + 1] = eff[kLinks[pattern][k]];
    token[k + 1] = uint8_t(1 + (ops[k] == kSkip ? 0 : ops[k]) * 5 + feeds[k + 1]);
  }
  return pack(encode(0, parent, alive, token, 63), 6);  // at most 10 tokens x 6 bits
}

bool input_in_output(int pattern, const uint8_t* ops) {
  int eff[kNodes], feeds[kNodes];
  contract(pattern, ops, eff, feeds);
  return feeds[0] > 0;
}

namespace {

// The package's move of layer k to the front (written from its description:
// layer k becomes layer 0 reading the input; readers of node k + 1 read
// node link[k]; every reference to a node <= k follows the shift by one).
void move_front(int k, int (&link)[kLayers], int (&ops)[kLayers]) {
  int nl[kLayers], no[kLayers];
  int old[kLayers];
  for (int i = 0; i < kLayers; ++i) {
    const int f = link[i];
    old[i] = f;
    if (f == k + 1) old[i] = link[k] + 1;  // link[k] <= k: shifted too
    if (f <= k) old[i] = f + 1;
  }
  nl[0] = 0;
  no[0] = ops[k];
  for (int i = 0, j = 1; i < kLayers; ++i) {
    if (i == k) continue;
    nl[j] = old[i];
    no[j] = ops[i];
    ++j;
  }
  for (int i = 0; i < kLayers; ++i) {
    link[i] = nl[i];
    ops[i] = no[i];
  }
}

// Whether layer k and every layer above it up to the input are skips.
bool skips_to_input(int k, const int (&link)[kLayers], const int (&ops)[kLayers]) {
  while (k > -1) {
    if (ops[k] != kSkip) return false;
    k = link[k] - 1;
  }
  return true;
}

int pattern_of(const int (&link)[kLayers]) {
  for (int p = 0; p < kPatterns; ++p)
    if (std::equal(link, link + kLayers, kLinks[p])) return p;
  return -1;
}

void sort_range(int (&ops)[kLayers], int from, int to) { std::sort(ops + from, ops + to); }

}  // namespace

int64_t benchmark_key(int pattern, const uint8_t* raw) {
  int link[kLayers], ops[kLayers];
  for (int k = 0; k < kLayers; ++k) {
    link[k] = kLinks[pattern][k];
    ops[k] = raw[k];
  }
  // 1. every skip layer that has a reader, or no sibling, or is a leaf chain
  //    of skips from the input, goes to the front (in layer order, on the
  //    list as it changes).
  for (int i = 0; i < kLayers; ++i) {
    if (ops[i] != kSkip) continue;
    bool son = false, brother = false;
    for (int j = 0; j < kLayers; ++j) {
      if (link[j] == i + 1)
        son = true;
      else if (j != i && link[j] == link[i])
        brother = true;
    }
    if (son || !brother || (skips_to_input(i, link, ops) && !son)) move_front(i, link, ops);
  }
  // 2. two link lists this can leave, renamed to their pattern
  static const int kA[kLayers] = {0, 1, 2, 1}, kB[kLayers] = {0, 1, 1, 3};
  if (std::equal(link, link + kLayers, kA)) {
    link[2] = 1, link[3] = 2;
    std::swap(ops[2], ops[3]);
  } else if (std::equal(link, link + kLayers, kB)) {
    link[2] = 1, link[3] = 2;
    std::swap(ops[1], ops[2]);
  }
  const int p = pattern_of(link);
  if (p < 0) return -1;
  // 3. layers that are interchangeable in the pattern get sorted op codes
  switch (p) {
    case 0: sort_range(ops, 0, 4); break;
    case 1: sort_range(ops, 1, 3); break;
    case 2: sort_range(ops, 2, 4); break;
    case 3:  // two chains of two from the input: order the chains
      if (ops[0] > ops[1] || (ops[0] == ops[1] && ops[2] > ops[3])) {
        std::swap(ops[0], ops[1]);
        std::swap(ops[2], ops[3]);
      }
      break;
    case 5: sort_range(ops, 1, 4); break;
    case 7: sort_range(ops, 2, 4); break;
    default: break;
  }
  int64_t h = p;
  for (int k = 0; k < kLayers; ++k) h = h * 10 + ops[k];
  return h;
}

}  // namespace graph
}  // namespace nbs
