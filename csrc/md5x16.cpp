#include "md5x16.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NBS_HAVE_AVX512_PATH 1
#include <immintrin.h>
#endif

namespace nbs {

#ifdef NBS_HAVE_AVX512_PATH
namespace {

#define NBS_AVX512 __attribute__((target("avx512f,avx512bw")))
#define NBS_AVX512_INLINE __attribute__((target("avx512f,avx512bw"), always_inline)) inline

constexpr int kS[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                        5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

// Message word of step I.
constexpr int word(int i) {
  return i < 16 ? i : i < 32 ? (5 * i + 1) & 15 : i < 48 ? (3 * i + 5) & 15 : (7 * i) & 15;
}
// vpternlogd truth tables (operands b, c, d) of F, G, H and I.
constexpr int logic(int i) { return i < 16 ? 0xCA : i < 32 ? 0xE4 : i < 48 ? 0x96 : 0x39; }

// One MD5 step on G independent register sets (interleaved for ILP).
template <int I, int G>
NBS_AVX512_INLINE void step(__m512i (&a)[G], __m512i (&b)[G], __m512i (&c)[G], __m512i (&d)[G],
                            const __m512i (&x)[G][16]) {
  const __m512i k = _mm512_set1_epi32(int(kMd5K[I]));
  for (int g = 0; g < G; ++g) {
    __m512i f = _mm512_ternarylogic_epi32(b[g], c[g], d[g], logic(I));
    __m512i t = _mm512_add_epi32(_mm512_add_epi32(a[g], _mm512_add_epi32(x[g][word(I)], k)), f);
    a[g] = d[g];
    d[g] = c[g];
    c[g] = b[g];
    b[g] = _mm512_add_epi32(b[g], _mm512_rol_epi32(t, kS[I]));
  }
}

template <int G, int... I>
NBS_AVX512_INLINE void all_steps(__m512i (&a)[G], __m512i (&b)[G], __m512i (&c)[G], __m512i (&d)[G],
                                 const __m512i (&x)[G][16], std::integer_sequence<int, I...>) {
  (step<I, G>(a, b, c, d, x), ...);
}

template <int G>
NBS_AVX512 void kernel(const uint8_t* base, size_t stride, const int* ids, const int* blocks, int count,
                       Digest* out) {
  alignas(64) int32_t off[16 * G], nb[16 * G];
  int max_blocks = 0;
  for (int l = 0; l < 16 * G; ++l) {
    if (l < count) {
      off[l] = int32_t(size_t(ids[l]) * stride);
      nb[l] = blocks[ids[l]];
      max_blocks = std::max(max_blocks, nb[l]);
    } else {
      off[l] = 0;
      nb[l] = 0;  // never live: not read, not written
    }
  }
  __m512i voff[G], vnb[G], a0[G], b0[G], c0[G], d0[G];
  for (int g = 0; g < G; ++g) {
    voff[g] = _mm512_load_si512(off + 16 * g);
    vnb[g] = _mm512_load_si512(nb + 16 * g);
    a0[g] = _mm512_set1_epi32(0x67452301);
    b0[g] = _mm512_set1_epi32(int(0xefcdab89));
    c0[g] = _mm512_set1_epi32(int(0x98badcfe));
    d0[g] = _mm512_set1_epi32(0x10325476);
  }
  for (int blk = 0; blk < max_blocks; ++blk) {
    __mmask16 live[G];
    __m512i x[G][16];
    for (int g = 0; g < G; ++g) {
      live[g] = _mm512_cmpgt_epi32_mask(vnb[g], _mm512_set1_epi32(blk));
      // Word w of every lane's block: one gather per word (lanes past their
      // last block are masked off and read nothing).
      const __m512i at = _mm512_add_epi32(voff[g], _mm512_set1_epi32(blk * 64));
      for (int w = 0; w < 16; ++w)
        x[g][w] = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live[g],
                                              _mm512_add_epi32(at, _mm512_set1_epi32(4 * w)), base, 1);
    }
    __m512i a[G], b[G], c[G], d[G];
    for (int g = 0; g < G; ++g) {
      a[g] = a0[g];
      b[g] = b0[g];
      c[g] = c0[g];
      d[g] = d0[g];
    }
    all_steps<G>(a, b, c, d, x, std::make_integer_sequence<int, 64>{});
    for (int g = 0; g < G; ++g) {
      a0[g] = _mm512_mask_add_epi32(a0[g], live[g], a0[g], a[g]);
      b0[g] = _mm512_mask_add_epi32(b0[g], live[g], b0[g], b[g]);
      c0[g] = _mm512_mask_add_epi32(c0[g], live[g], c0[g], c[g]);
      d0[g] = _mm512_mask_add_epi32(d0[g], live[g], d0[g], d[g]);
    }
  }
  alignas(64) uint32_t st[4][16 * G];
  for (int g = 0; g < G; ++g) {
    _mm512_store_si512(st[0] + 16 * g, a0[g]);
    _mm512_store_si512(st[1] + 16 * g, b0[g]);
    _mm512_store_si512(st[2] + 16 * g, c0[g]);
    _mm512_store_si512(st[3] + 16 * g, d0[g]);
  }
  for (int l = 0; l < count; ++l) {
    uint32_t s[4] = {st[0][l], st[1][l], st[2][l], st[3][l]};
    std::memcpy(out[ids[l]].bytes, s, 16);
  }
}

bool detect() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"); }
const bool kSupported = detect();

}  // namespace

bool md5x16_supported() { return kSupported; }

void md5x16_slots(const uint8_t* base, size_t stride, const int* ids, const int* blocks, int count,
                  Digest* out) {
  if (count > 16)
    kernel<2>(base, stride, ids, blocks, count, out);
  else
    kernel<1>(base, stride, ids, blocks, count, out);
}

#else

bool md5x16_supported() { return false; }

void md5x16_slots(const uint8_t*, size_t, const int*, const int*, int, Digest*) {}

#endif

}  // namespace nbs
