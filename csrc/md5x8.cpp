#include "md5x8.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "md5x16.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NBS_HAVE_AVX2_PATH 1
#include <immintrin.h>
#endif

namespace nbs {
namespace {

#ifdef NBS_HAVE_AVX2_PATH

constexpr int S[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                       5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                       4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                       6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

__attribute__((target("avx2"))) inline __m256i rotl(__m256i x, int c) {
  return _mm256_or_si256(_mm256_slli_epi32(x, c), _mm256_srli_epi32(x, 32 - c));
}

// Up to 8 padded messages (see md5_slots): message ids[l] at
// base + ids[l] * stride with blocks[ids[l]] blocks; out[ids[l]] = digest.
__attribute__((target("avx2"))) void md5_x8(const uint8_t* base, size_t stride, const int* ids,
                                            const int* blocks, int count, Digest* out) {
  const uint8_t* src[8];
  int nb[8];
  int max_blocks = 0;
  for (int l = 0; l < 8; ++l) {
    if (l < count) {
      src[l] = base + size_t(ids[l]) * stride;
      nb[l] = blocks[ids[l]];
      max_blocks = std::max(max_blocks, nb[l]);
    } else {
      src[l] = base + size_t(ids[0]) * stride;  // read, never kept
      nb[l] = 0;
    }
  }
  __m256i a0 = _mm256_set1_epi32(0x67452301), b0 = _mm256_set1_epi32(int(0xefcdab89));
  __m256i c0 = _mm256_set1_epi32(int(0x98badcfe)), d0 = _mm256_set1_epi32(0x10325476);
  const __m256i nblocks = _mm256_setr_epi32(nb[0], nb[1], nb[2], nb[3], nb[4], nb[5], nb[6], nb[7]);
  const __m256i ones = _mm256_set1_epi32(-1);
  for (int blk = 0; blk < max_blocks; ++blk) {
    // Message words: load 32 bytes of each lane and transpose 8x8 so that
    // x[w] holds word w of every lane. Lanes past their last block read
    // stale bytes of their own slot; their results are discarded below.
    __m256i x[16];
    for (int half = 0; half < 2; ++half) {
      __m256i r[8];
      for (int l = 0; l < 8; ++l)
        r[l] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[l] + blk * 64 + 32 * half));
      __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
      __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
      __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
      __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
      __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
      __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
      __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
      __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
      __m256i* o = x + 8 * half;
      o[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
      o[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
      o[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
      o[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
      o[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
      o[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
      o[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
      o[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
    }
    __m256i a = a0, b = b0, c = c0, d = d0;
#pragma GCC unroll 64
    for (int i = 0; i < 64; ++i) {
      __m256i f;
      int g;
      if (i < 16) {
        f = _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)));
        g = i;
      } else if (i < 32) {
        f = _mm256_xor_si256(c, _mm256_and_si256(d, _mm256_xor_si256(b, c)));
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = _mm256_xor_si256(_mm256_xor_si256(b, c), d);
        g = (3 * i + 5) & 15;
      } else {
        f = _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones)));
        g = (7 * i) & 15;
      }
      __m256i t = _mm256_add_epi32(_mm256_add_epi32(a, f),
                                   _mm256_add_epi32(x[g], _mm256_set1_epi32(int(kMd5K[i]))));
      a = d;
      d = c;
      c = b;
      b = _mm256_add_epi32(b, rotl(t, S[i]));
    }
    // Lanes past their last block keep their state.
    __m256i live = _mm256_cmpgt_epi32(nblocks, _mm256_set1_epi32(blk));
    a0 = _mm256_blendv_epi8(a0, _mm256_add_epi32(a0, a), live);
    b0 = _mm256_blendv_epi8(b0, _mm256_add_epi32(b0, b), live);
    c0 = _mm256_blendv_epi8(c0, _mm256_add_epi32(c0, c), live);
    d0 = _mm256_blendv_epi8(d0, _mm256_add_epi32(d0, d), live);
  }
  alignas(32) uint32_t sa[8], sb[8], sc[8], sd[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(sa), a0);
  _mm256_store_si256(reinterpret_cast<__m256i*>(sb), b0);
  _mm256_store_si256(reinterpret_cast<__m256i*>(sc), c0);
  _mm256_store_si256(reinterpret_cast<__m256i*>(sd), d0);
  for (int l = 0; l < count; ++l) {
    uint32_t st[4] = {sa[l], sb[l], sc[l], sd[l]};
    std::memcpy(out[ids[l]].bytes, st, 16);
  }
}

bool detect_avx2() { return __builtin_cpu_supports("avx2"); }
const bool kAvx2 = detect_avx2();

#else

const bool kAvx2 = false;
void md5_x8(const uint8_t*, size_t, const int*, const int*, int, Digest*) {}

#endif

bool available(Md5Path p) {
  switch (p) {
    case Md5Path::kScalar: return true;
    case Md5Path::kAvx2: return kAvx2;
    case Md5Path::kAvx512: return md5x16_supported();
  }
  return false;
}

Md5Path best() {
  if (available(Md5Path::kAvx512)) return Md5Path::kAvx512;
  if (available(Md5Path::kAvx2)) return Md5Path::kAvx2;
  return Md5Path::kScalar;
}

Md5Path g_path = best();

constexpr Md5Path kAll[] = {Md5Path::kScalar, Md5Path::kAvx2, Md5Path::kAvx512};

Md5Path choose(const std::string& name, const char* what) {
  if (name == "auto") return best();
  for (Md5Path p : kAll) {
    if (name != md5_path_name(p)) continue;
    if (!available(p))
      throw std::invalid_argument(std::string(what) + ": the " + name +
                                  " MD5 path needs CPU features this machine lacks (" +
                                  (p == Md5Path::kAvx512 ? "avx512f and avx512bw" : "avx2") +
                                  "); available here: " + [] {
                                    std::string s;
                                    for (const std::string& n : md5_paths()) s += n + ", ";
                                    return s;
                                  }() + "or auto");
    return p;
  }
  throw std::invalid_argument(std::string(what) + ": unknown MD5 path '" + name +
                              "'; use scalar, avx2, avx512 or auto");
}

}  // namespace

const char* md5_path_name(Md5Path p) {
  switch (p) {
    case Md5Path::kScalar: return "scalar";
    case Md5Path::kAvx2: return "avx2";
    case Md5Path::kAvx512: return "avx512";
  }
  return "?";
}

Md5Path md5_path() { return g_path; }

std::vector<std::string> md5_paths() {
  std::vector<std::string> names;
  for (Md5Path p : kAll)
    if (available(p)) names.push_back(md5_path_name(p));
  return names;
}

std::string md5_set_path(const std::string& name) {
  g_path = choose(name, ("md5_set_path('" + name + "')").c_str());
  return md5_path_name(g_path);
}

void md5_path_from_env() {
  const char* v = std::getenv("NASBENCH_SUITE_MD5");
  if (!v || !*v) return;
  g_path = choose(v, ("NASBENCH_SUITE_MD5=" + std::string(v)).c_str());
}

bool md5_simd_enabled() { return g_path != Md5Path::kScalar; }

bool md5_set_simd(bool on) {
  g_path = on ? best() : Md5Path::kScalar;
  return md5_simd_enabled();
}

int md5_pad(uint8_t* slot, size_t len) {
  const size_t padded = ((len + 8) / 64 + 1) * 64;
  slot[len] = 0x80;
  std::memset(slot + len + 1, 0, padded - len - 9);
  const uint64_t bits = uint64_t(len) * 8u;
  std::memcpy(slot + padded - 8, &bits, 8);
  return int(padded / 64);
}

void md5_slots(const uint8_t* base, size_t stride, const int* blocks, int count, Digest* out) {
  Md5Path path = g_path;
  // The AVX-512 gathers take 32-bit offsets.
  if (path == Md5Path::kAvx512 && size_t(count) * stride >= (size_t(1) << 31))
    path = kAvx2 ? Md5Path::kAvx2 : Md5Path::kScalar;
  if (path == Md5Path::kScalar || count == 1) {
    for (int i = 0; i < count; ++i) out[i] = md5_padded(base + size_t(i) * stride, blocks[i]);
    return;
  }
  // Lanes of one call run as many rounds as the longest message: put
  // messages of equal length together (stable order by block count).
  thread_local std::vector<int> ids;
  ids.resize(size_t(count));
  int max_b = 0;
  for (int i = 0; i < count; ++i) max_b = std::max(max_b, blocks[i]);
  if (max_b <= 8) {
    int start[10] = {0};
    for (int i = 0; i < count; ++i) ++start[blocks[i] + 1];
    for (int b = 1; b <= 9; ++b) start[b] += start[b - 1];
    for (int i = 0; i < count; ++i) ids[size_t(start[blocks[i]]++)] = i;
  } else {
    for (int i = 0; i < count; ++i) ids[size_t(i)] = i;
    std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return blocks[a] < blocks[b]; });
  }
  const int width = path == Md5Path::kAvx512 ? 32 : 8;
  for (int k = 0; k < count; k += width) {
    const int n = std::min(width, count - k);
    if (path == Md5Path::kAvx512)
      md5x16_slots(base, stride, ids.data() + k, blocks, n, out);
    else
      md5_x8(base, stride, ids.data() + k, blocks, n, out);
  }
}

void md5_many(const uint8_t* const* msgs, const size_t* lens, int count, Digest* out) {
  if (g_path == Md5Path::kScalar || count == 1) {
    for (int i = 0; i < count; ++i) out[i] = md5(msgs[i], lens[i]);
    return;
  }
  size_t longest = 0;
  for (int i = 0; i < count; ++i) longest = std::max(longest, lens[i]);
  const size_t stride = ((longest + 8) / 64 + 1) * 64;
  thread_local std::vector<uint8_t> arena;
  thread_local std::vector<int> blocks;
  arena.resize(stride * size_t(count));
  blocks.resize(size_t(count));
  for (int i = 0; i < count; ++i) {
    uint8_t* slot = arena.data() + size_t(i) * stride;
    std::memcpy(slot, msgs[i], lens[i]);
    blocks[size_t(i)] = md5_pad(slot, lens[i]);
  }
  md5_slots(arena.data(), stride, blocks.data(), count, out);
}

}  // namespace nbs
