#include "md5x8.hpp"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NBS_HAVE_AVX2_PATH 1
#include <immintrin.h>
#endif

namespace nbs {

#ifdef NBS_HAVE_AVX2_PATH
namespace {

constexpr int S[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                       5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                       4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                       6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

// Largest padded message handled in the vector path (NB101 messages are at
// most 7 * 64 + 34 bytes); longer ones go to the scalar path.
constexpr size_t kMaxPadded = 1024;

__attribute__((target("avx2"))) inline __m256i rotl(__m256i x, int c) {
  return _mm256_or_si256(_mm256_slli_epi32(x, c), _mm256_srli_epi32(x, 32 - c));
}

__attribute__((target("avx2"))) void md5_x8(const uint8_t* const* msgs, const size_t* lens, int count,
                                            Digest* out) {
  alignas(32) uint8_t buf[8][kMaxPadded];  // lanes >= count are never hashed
  int blocks[8] = {0};
  int max_blocks = 0;
  for (int l = 0; l < 8; ++l) {
    if (l >= count) {
      blocks[l] = 0;
      continue;
    }
    size_t len = lens[l];
    size_t padded = ((len + 8) / 64 + 1) * 64;
    std::memcpy(buf[l], msgs[l], len);
    std::memset(buf[l] + len, 0, padded - len);
    buf[l][len] = 0x80;
    uint64_t bits = uint64_t(len) * 8u;
    std::memcpy(buf[l] + padded - 8, &bits, 8);
    blocks[l] = int(padded / 64);
    max_blocks = std::max(max_blocks, blocks[l]);
  }
  __m256i a0 = _mm256_set1_epi32(0x67452301), b0 = _mm256_set1_epi32(int(0xefcdab89));
  __m256i c0 = _mm256_set1_epi32(int(0x98badcfe)), d0 = _mm256_set1_epi32(0x10325476);
  const __m256i nblocks = _mm256_setr_epi32(blocks[0], blocks[1], blocks[2], blocks[3], blocks[4],
                                            blocks[5], blocks[6], blocks[7]);
  const __m256i ones = _mm256_set1_epi32(-1);
  for (int blk = 0; blk < max_blocks; ++blk) {
    // Message words: load 32 bytes of each lane and transpose 8x8 so that
    // x[w] holds word w of every lane. Lanes past their last block read
    // stale bytes; their results are discarded by the blend below.
    __m256i x[16];
    for (int half = 0; half < 2; ++half) {
      __m256i r[8];
      for (int l = 0; l < 8; ++l)
        r[l] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(buf[l] + blk * 64 + 32 * half));
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
    std::memcpy(out[l].bytes, st, 16);
  }
}

bool detect_avx2() { return __builtin_cpu_supports("avx2"); }
const bool kAvx2 = detect_avx2();
bool g_use_simd = kAvx2;

}  // namespace
#endif

bool md5_simd_enabled() {
#ifdef NBS_HAVE_AVX2_PATH
  return g_use_simd;
#else
  return false;
#endif
}

bool md5_set_simd(bool on) {
#ifdef NBS_HAVE_AVX2_PATH
  g_use_simd = on && kAvx2;
  return g_use_simd;
#else
  (void)on;
  return false;
#endif
}

void md5_many(const uint8_t* const* msgs, const size_t* lens, int count, Digest* out) {
#ifdef NBS_HAVE_AVX2_PATH
  if (g_use_simd && count > 1) {
    bool fits = true;
    for (int i = 0; i < count; ++i)
      if (lens[i] + 72 > kMaxPadded) fits = false;
    if (fits) {
      md5_x8(msgs, lens, count, out);
      return;
    }
  }
#endif
  for (int i = 0; i < count; ++i) out[i] = md5(msgs[i], lens[i]);
}

}  // namespace nbs
