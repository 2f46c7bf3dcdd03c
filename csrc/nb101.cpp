#include "nb101.hpp"

#include "md5x8.hpp"

#include <algorithm>
#include <cstring>

namespace nbs {
namespace nb101 {
namespace {

const char* const kOpNames[kNumOps] = {"conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"};

inline bool known_interior(int64_t l) { return l >= 0 && l < kNumOps; }

// Writes a small integer as Python's str() would.
inline char* put_int(char* p, int v) {
  if (v < 0) {
    *p++ = '-';
    v = -v;
  }
  if (v >= 10) *p++ = char('0' + v / 10);
  *p++ = char('0' + v % 10);
  return p;
}

// NB101 labels to 0..7 for canonical keys (input and output get their own).
inline uint8_t key_label(int8_t l) { return uint8_t(l + 2); }
inline int8_t from_key_label(uint8_t k) { return int8_t(int(k) - 2); }

SmallDag to_dag(const Cell& c) {
  SmallDag g;
  g.n = c.n;
  for (int i = 0; i < c.n; ++i) {
    g.out[i] = c.out[i];
    g.label[i] = key_label(c.label[i]);
  }
  return g;
}

}  // namespace

Check check_and_prune(const RawCell& raw, Cell* out) {
  Check c;
  const int V = raw.v;
  uint32_t adj[kMaxOriginal] = {0};
  // Official order: upper-triangular first (ModelSpec.__init__), then our
  // 0/1 rule (the official code silently accepts any truthy value).
  int bad01_r = -1, bad01_c = -1;
  for (int r = 0; r < V; ++r) {
    const uint8_t* row = raw.m + size_t(r) * V;
    for (int col = 0; col < V; ++col) {
      uint8_t x = row[col];
      if (!x) continue;
      if (col <= r) {
        c.rule = Rule::kNotUpperTriangular;
        c.row = r;
        c.col = col;
        return c;
      }
      if (x != 1) {
        if (bad01_r < 0) {
          bad01_r = r;
          bad01_c = col;
        }
        continue;
      }
      adj[r] |= 1u << col;
    }
  }
  if (bad01_r >= 0) {
    c.rule = Rule::kNotZeroOne;
    c.row = bad01_r;
    c.col = bad01_c;
    return c;
  }
  // Prune: keep vertices reachable from input and reaching output.
  uint32_t fwd = 1u, bwd = 1u << (V - 1);
  for (int u = 0; u < V; ++u)
    if (fwd >> u & 1u) fwd |= adj[u];
  for (int u = V - 1; u >= 0; --u)
    if (adj[u] & bwd) bwd |= 1u << u;
  if (!(fwd >> (V - 1) & 1u)) {
    c.rule = Rule::kDisconnected;
    return c;
  }
  const uint32_t keep = fwd & bwd;
  const int n = __builtin_popcount(keep);
  if (n > kMaxVertices) {
    c.rule = Rule::kTooManyVertices;
    c.count = n;
    return c;
  }
  int newidx[kMaxOriginal], oldidx[kMaxVertices];
  for (int u = 0, k = 0; u < V; ++u)
    if (keep >> u & 1u) {
      newidx[u] = k;
      oldidx[k++] = u;
    }
  Cell p;
  p.n = n;
  int edges = 0;
  for (int i = 0; i < n; ++i) {
    uint32_t m = adj[oldidx[i]] & keep;
    edges += __builtin_popcount(m);
    uint8_t row = 0;
    while (m) {
      int v = __builtin_ctz(m);
      m &= m - 1;
      row |= uint8_t(1u << newidx[v]);
    }
    p.out[i] = row;
  }
  if (edges > kMaxEdges) {
    c.rule = Rule::kTooManyEdges;
    c.count = edges;
    return c;
  }
  if (raw.labels[oldidx[0]] != kLabelInput) {
    c.rule = Rule::kFirstNotInput;
    c.row = oldidx[0];
    c.label = raw.labels[oldidx[0]];
    return c;
  }
  if (raw.labels[oldidx[n - 1]] != kLabelOutput) {
    c.rule = Rule::kLastNotOutput;
    c.row = oldidx[n - 1];
    c.label = raw.labels[oldidx[n - 1]];
    return c;
  }
  for (int i = 1; i < n - 1; ++i) {
    int64_t l = raw.labels[oldidx[i]];
    if (!known_interior(l)) {
      c.rule = Rule::kUnknownOp;
      c.row = oldidx[i];
      c.label = l;
      return c;
    }
  }
  for (int i = 0; i < n; ++i) p.label[i] = int8_t(raw.labels[oldidx[i]]);
  if (out) *out = p;
  return c;
}

std::string describe(const Check& c, const std::vector<std::string>* names) {
  auto op = [&](int vertex, int64_t label) {
    if (names && vertex >= 0 && vertex < int(names->size())) return "'" + (*names)[vertex] + "'";
    switch (label) {
      case kLabelInput: return std::string("'input' (label -1)");
      case kLabelOutput: return std::string("'output' (label -2)");
      default:
        if (known_interior(label)) return "'" + std::string(kOpNames[label]) + "' (label " + std::to_string(label) + ")";
        return "label " + std::to_string(label);
    }
  };
  switch (c.rule) {
    case Rule::kOk: return "valid";
    case Rule::kNotUpperTriangular:
      return "matrix is not strictly upper triangular: entry [" + std::to_string(c.row) + ", " +
             std::to_string(c.col) +
             "] is nonzero (edges must go from a lower to a higher vertex index; the diagonal must be 0)";
    case Rule::kNotZeroOne:
      return "matrix entries must be 0 or 1: entry [" + std::to_string(c.row) + ", " +
             std::to_string(c.col) + "] is neither";
    case Rule::kDisconnected:
      return "input is disconnected from output: no path from vertex 0 to the last vertex";
    case Rule::kTooManyVertices:
      return "too many vertices: " + std::to_string(c.count) + " after pruning (at most " +
             std::to_string(kMaxVertices) + ")";
    case Rule::kTooManyEdges:
      return "too many edges: " + std::to_string(c.count) + " after pruning (at most " +
             std::to_string(kMaxEdges) + ")";
    case Rule::kFirstNotInput:
      return "first op must be 'input', got " + op(c.row, c.label);
    case Rule::kLastNotOutput:
      return "last op must be 'output', got " + op(c.row, c.label);
    case Rule::kUnknownOp:
      return "unknown op " + op(c.row, c.label) + " at vertex " + std::to_string(c.row) +
             " (interior ops: 'conv3x3-bn-relu' = 0, 'conv1x1-bn-relu' = 1, 'maxpool3x3' = 2)";
  }
  return "invalid cell";
}

namespace {

// Slot of one message in the group arena: the longest message is the final
// "['<32 hex>', ...]" of 7 digests (252 bytes), 5 blocks once padded.
constexpr size_t kSlot = 320;

struct HexLut {
  uint16_t v[256];
  constexpr HexLut() : v() {
    const char* d = "0123456789abcdef";
    for (int i = 0; i < 256; ++i)
      v[i] = uint16_t(uint16_t(uint8_t(d[i >> 4])) | uint16_t(uint16_t(uint8_t(d[i & 15])) << 8));
  }
};
constexpr HexLut kHex;

inline void hex32(const Digest& d, char* out) {
  for (int i = 0; i < 16; ++i) std::memcpy(out + 2 * i, &kHex.v[d.bytes[i]], 2);
}

inline uint64_t be64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

// Vertex order by digest (= order of the lowercase hex strings), insertion
// sort on two big-endian words.
inline void order_by_digest(const Digest* h, int n, int* order) {
  uint64_t hi[kMaxVertices], lo[kMaxVertices];
  for (int i = 0; i < n; ++i) {
    hi[i] = be64(h[i].bytes);
    lo[i] = be64(h[i].bytes + 8);
  }
  for (int i = 0; i < n; ++i) {
    int k = i;
    while (k > 0) {
      int prev = order[k - 1];
      if (hi[prev] < hi[i] || (hi[prev] == hi[i] && lo[prev] <= lo[i])) break;
      order[k] = prev;
      --k;
    }
    order[k] = i;
  }
}

// md5(str((out_degree, in_degree, label))) for every triple an NB101 cell
// can have (degrees 0..6, labels -2..2), computed once.
struct FirstDigests {
  Digest d[kMaxVertices][kMaxVertices][5];
  FirstDigests() {
    for (int o = 0; o < kMaxVertices; ++o)
      for (int i = 0; i < kMaxVertices; ++i)
        for (int l = -2; l <= 2; ++l) {
          char msg[32];
          char* p = msg;
          *p++ = '(';
          p = put_int(p, o);
          *p++ = ',';
          *p++ = ' ';
          p = put_int(p, i);
          *p++ = ',';
          *p++ = ' ';
          p = put_int(p, l);
          *p++ = ')';
          d[o][i][l + 2] = md5(reinterpret_cast<const uint8_t*>(msg), size_t(p - msg));
        }
  }
};

const FirstDigests& first_digests() {
  static const FirstDigests t;
  return t;
}

}  // namespace

void hash_group(const Cell* cells, int count, Digest* out) {
  constexpr int M = kHashGroup * kMaxVertices;
  struct alignas(64) Arena {
    uint8_t slot[M][kSlot];
  };
  thread_local Arena arena;
  const FirstDigests& first = first_digests();
  // Cells by vertex count, largest first: the cells still hashing in round r
  // (those with more than r vertices) are a prefix, so are their messages.
  int cell_of[kHashGroup];
  for (int k = 0; k < count; ++k) {  // stable insertion sort (no allocation)
    int j = k;
    while (j > 0 && cells[cell_of[j - 1]].n < cells[k].n) {
      cell_of[j] = cell_of[j - 1];
      --j;
    }
    cell_of[j] = k;
  }
  int begin[kHashGroup + 1];
  uint8_t in[kHashGroup][kMaxVertices];
  Digest h[M];
  begin[0] = 0;
  for (int k = 0; k < count; ++k) {
    const Cell& c = cells[cell_of[k]];
    begin[k + 1] = begin[k] + c.n;
    std::memset(in[k], 0, kMaxVertices);
    for (int u = 0; u < c.n; ++u)
      for (int v = u + 1; v < c.n; ++v)
        if (c.out[u] >> v & 1u) in[k][v] |= uint8_t(1u << u);
    for (int v = 0; v < c.n; ++v)
      h[begin[k] + v] = first.d[__builtin_popcount(c.out[v])][__builtin_popcount(in[k][v])][c.label[v] + 2];
  }
  char hex[M][32];
  int blocks[M];
  const int rounds = count ? cells[cell_of[0]].n : 0;
  int active = count;
  for (int round = 0; round < rounds; ++round) {
    while (active > 0 && cells[cell_of[active - 1]].n <= round) --active;
    const int messages = begin[active];
    for (int m = 0; m < messages; ++m) hex32(h[m], hex[m]);
    for (int k = 0; k < active; ++k) {
      const Cell& c = cells[cell_of[k]];
      const int n = c.n, b0 = begin[k];
      int order[kMaxVertices];
      order_by_digest(h + b0, n, order);
      for (int v = 0; v < n; ++v) {
        uint8_t* const slot = arena.slot[b0 + v];
        uint8_t* p = slot;
        for (int j = 0; j < n; ++j) {
          const int u = order[j];
          if (in[k][v] >> u & 1u) {
            std::memcpy(p, hex[b0 + u], 32);
            p += 32;
          }
        }
        *p++ = '|';
        for (int j = 0; j < n; ++j) {
          const int u = order[j];
          if (c.out[v] >> u & 1u) {
            std::memcpy(p, hex[b0 + u], 32);
            p += 32;
          }
        }
        *p++ = '|';
        std::memcpy(p, hex[b0 + v], 32);
        p += 32;
        blocks[b0 + v] = md5_pad(slot, size_t(p - slot));
      }
    }
    md5_slots(arena.slot[0], kSlot, blocks, messages, h);
  }
  // str(sorted(hashes)): "['d0', 'd1', ...]", one message per cell.
  Digest fin[kHashGroup];
  for (int k = 0; k < count; ++k) {
    const int n = cells[cell_of[k]].n, b0 = begin[k];
    int order[kMaxVertices];
    order_by_digest(h + b0, n, order);
    uint8_t* const slot = arena.slot[k];
    uint8_t* p = slot;
    *p++ = '[';
    for (int j = 0; j < n; ++j) {
      if (j) {
        *p++ = ',';
        *p++ = ' ';
      }
      *p++ = '\'';
      hex32(h[b0 + order[j]], reinterpret_cast<char*>(p));
      p += 32;
      *p++ = '\'';
    }
    *p++ = ']';
    blocks[k] = md5_pad(slot, size_t(p - slot));
  }
  md5_slots(arena.slot[0], kSlot, blocks, count, fin);
  for (int k = 0; k < count; ++k) out[cell_of[k]] = fin[k];
}

Digest hash(const Cell& c) {
  Digest d;
  hash_group(&c, 1, &d);
  return d;
}

uint64_t canonical_key(const Cell& c) { return nbs::canonical_key(to_dag(c)); }

Cell from_key(uint64_t key) {
  SmallDag g = decode_key(key);
  Cell c;
  c.n = g.n;
  for (int i = 0; i < g.n; ++i) {
    c.out[i] = uint8_t(g.out[i]);
    c.label[i] = from_key_label(g.label[i]);
  }
  return c;
}

void encode_adjacency(const Cell& c, float* out) {
  // The pruned cell in 7 slots, output in the last one (as in BANANAS/NASLib
  // "adjacency" encodings): 21 upper-triangular entries, then one-hot ops of
  // the five interior slots (empty slots all zero).
  std::fill(out, out + kAdjacencyFeatures, 0.0f);
  int slot[kMaxVertices];
  for (int i = 0; i < c.n; ++i) slot[i] = (i == c.n - 1) ? kMaxVertices - 1 : i;
  for (int u = 0; u < c.n; ++u)
    for (int v = u + 1; v < c.n; ++v)
      if (c.out[u] >> v & 1u) {
        int i = slot[u], j = slot[v];
        out[i * (2 * kMaxVertices - i - 1) / 2 + (j - i - 1)] = 1.0f;
      }
  for (int i = 1; i < c.n - 1; ++i) out[21 + (slot[i] - 1) * kNumOps + c.label[i]] = 1.0f;
}

void encode_path(const Cell& c, float* out) {
  // BANANAS path encoding (White et al., AAAI 2021): a path from input to
  // output through interior ops o_0..o_{k-1} sets feature sum_i 3^i (o_i + 1).
  std::fill(out, out + kPathFeatures, 0.0f);
  // Depth-first over (vertex, index, power) states.
  struct State {
    int v, index, power;
  };
  State stack[64];
  int top = 0;
  stack[top++] = {0, 0, 1};
  while (top) {
    State s = stack[--top];
    uint8_t m = c.out[s.v];
    while (m) {
      int w = __builtin_ctz(m);
      m &= m - 1;
      if (w == c.n - 1) {
        out[s.index] = 1.0f;
      } else {
        stack[top++] = {w, s.index + s.power * (c.label[w] + 1), s.power * kNumOps};
      }
    }
  }
}

Enumeration enumerate_space(int max_vertices, int max_edges) {
  Enumeration e;
  for (int n = 2; n <= max_vertices; ++n) {
    const int pairs = n * (n - 1) / 2;
    std::vector<uint64_t> keys;
    int pi[28], pj[28];
    for (int i = 0, k = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j, ++k) {
        pi[k] = i;
        pj[k] = j;
      }
    int interior = n - 2, nlab = 1;
    for (int i = 0; i < interior; ++i) nlab *= kNumOps;
    for (uint32_t bits = 0; bits < (1u << pairs); ++bits) {
      if (__builtin_popcount(bits) > max_edges) continue;
      Cell c;
      c.n = n;
      uint8_t in[kMaxVertices] = {0};
      for (int k = 0; k < pairs; ++k)
        if (bits >> k & 1u) {
          c.out[pi[k]] |= uint8_t(1u << pj[k]);
          in[pj[k]] |= uint8_t(1u << pi[k]);
        }
      // Official is_full_dag: every vertex but the output has an out-edge and
      // every vertex but the input an in-edge, i.e. nothing is pruned away.
      bool full = true;
      for (int v = 0; v < n && full; ++v) {
        if (v < n - 1 && !c.out[v]) full = false;
        if (v > 0 && !in[v]) full = false;
      }
      if (!full) continue;
      c.label[0] = kLabelInput;
      c.label[n - 1] = kLabelOutput;
      for (int lab = 0; lab < nlab; ++lab) {
        int x = lab;
        for (int i = 1; i <= interior; ++i) {
          c.label[i] = int8_t(x % kNumOps);
          x /= kNumOps;
        }
        keys.push_back(canonical_key(c));
      }
    }
    e.candidates[n] = int64_t(keys.size());
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    e.unique[n] = int64_t(keys.size());
    e.keys.insert(e.keys.end(), keys.begin(), keys.end());
  }
  return e;
}

Full sample(Rng& rng) {
  Full f;
  while (true) {
    uint64_t bits = rng.next();
    std::memset(f.m, 0, sizeof f.m);
    int k = 0;
    for (int i = 0; i < kMaxVertices; ++i)
      for (int j = i + 1; j < kMaxVertices; ++j, ++k) f.m[i * kMaxVertices + j] = uint8_t(bits >> k & 1u);
    f.labels[0] = kLabelInput;
    f.labels[kMaxVertices - 1] = kLabelOutput;
    for (int i = 1; i < kMaxVertices - 1; ++i) f.labels[i] = rng.below(kNumOps);
    if (check_and_prune(f.raw(), nullptr)) return f;
  }
}

Full mutate(const Full& parent, double mutation_rate, Rng& rng) {
  const double edge_p = mutation_rate / kMaxVertices;       // NUM_VERTICES
  const double op_p = mutation_rate / (kMaxVertices - 2);   // OP_SPOTS
  while (true) {
    Full f = parent;
    for (int i = 0; i < kMaxVertices - 1; ++i)
      for (int j = i + 1; j < kMaxVertices; ++j)
        if (rng.uniform() < edge_p) f.m[i * kMaxVertices + j] ^= 1u;
    for (int i = 1; i < kMaxVertices - 1; ++i) {
      if (rng.uniform() < op_p) {
        int64_t cur = f.labels[i];
        if (known_interior(cur)) {
          int64_t other = int64_t(rng.below(kNumOps - 1));
          f.labels[i] = other >= cur ? other + 1 : other;
        } else {
          f.labels[i] = int64_t(rng.below(kNumOps));
        }
      }
    }
    if (check_and_prune(f.raw(), nullptr)) return f;
  }
}

Evolved evolve(const Population& pop, int sample_size, double mutation_rate, int max_tries,
               const std::function<bool(uint64_t)>& seen, Rng& rng, Child* out) {
  std::vector<uint8_t> chosen(size_t(pop.count), 0);
  std::vector<int> ages;
  ages.reserve(size_t(sample_size));
  out->rejected = 0;
  for (int t = 0; t < max_tries; ++t) {
    ages.clear();
    for (int j = pop.count - sample_size; j < pop.count; ++j) {
      int a = int(rng.below(uint32_t(j + 1)));
      if (chosen[size_t(a)]) a = j;
      chosen[size_t(a)] = 1;
      ages.push_back(a);
    }
    std::sort(ages.begin(), ages.end());
    int best = pop.slot(ages[0]);
    for (int a : ages) {
      chosen[size_t(a)] = 0;
      int s = pop.slot(a);
      const double v = pop.values[s], b = pop.values[best];
      if (v > b || (b != b && v == v)) best = s;
    }
    Full parent;
    std::memcpy(parent.m, pop.m + size_t(best) * kMaxVertices * kMaxVertices, sizeof parent.m);
    std::memcpy(parent.labels, pop.labels + size_t(best) * kMaxVertices, sizeof parent.labels);
    if (!check_and_prune(parent.raw(), nullptr)) {
      out->invalid_slot = best;
      return Evolved::kInvalidParent;
    }
    out->full = mutate(parent, mutation_rate, rng);
    check_and_prune(out->full.raw(), &out->cell);
    out->key = canonical_key(out->cell);
    if (!seen(out->key)) return Evolved::kChild;
    ++out->rejected;
  }
  return Evolved::kAllSeen;
}

std::vector<Full> neighbours(const Full& parent) {
  std::vector<Full> result;
  Cell pc;
  if (!check_and_prune(parent.raw(), &pc)) return result;
  std::vector<uint64_t> seen{canonical_key(pc)};
  auto consider = [&](const Full& f) {
    Cell c;
    if (!check_and_prune(f.raw(), &c)) return;
    uint64_t k = canonical_key(c);
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) return;
    seen.push_back(k);
    result.push_back(f);
  };
  for (int i = 0; i < kMaxVertices - 1; ++i)
    for (int j = i + 1; j < kMaxVertices; ++j) {
      Full f = parent;
      f.m[i * kMaxVertices + j] ^= 1u;
      consider(f);
    }
  for (int i = 1; i < kMaxVertices - 1; ++i)
    for (int op = 0; op < kNumOps; ++op) {
      if (parent.labels[i] == op) continue;
      Full f = parent;
      f.labels[i] = op;
      consider(f);
    }
  return result;
}

}  // namespace nb101
}  // namespace nbs
