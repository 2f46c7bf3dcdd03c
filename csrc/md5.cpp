#include "md5.hpp"

#include <cstring>

namespace nbs {
namespace {

// Per-round shift amounts and sine-derived constants of RFC 1321.
constexpr uint32_t K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
    0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
    0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
    0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
    0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
    0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
    0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};

inline uint32_t rotl(uint32_t x, int c) { return (x << c) | (x >> (32 - c)); }

inline uint32_t load_le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // x86 and ARM little endian; see static_assert below
  return v;
}

#define NBS_STEP(f, a, b, c, d, x, k, s) \
  a += f(b, c, d) + (x) + (k);           \
  a = rotl(a, s) + b;

#define NBS_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define NBS_G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define NBS_H(x, y, z) ((x) ^ (y) ^ (z))
#define NBS_I(x, y, z) ((y) ^ ((x) | ~(z)))

void compress(uint32_t st[4], const uint8_t* block) {
  uint32_t x[16];
  for (int i = 0; i < 16; ++i) x[i] = load_le32(block + 4 * i);
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
  NBS_STEP(NBS_F, a, b, c, d, x[0], K[0], 7)
  NBS_STEP(NBS_F, d, a, b, c, x[1], K[1], 12)
  NBS_STEP(NBS_F, c, d, a, b, x[2], K[2], 17)
  NBS_STEP(NBS_F, b, c, d, a, x[3], K[3], 22)
  NBS_STEP(NBS_F, a, b, c, d, x[4], K[4], 7)
  NBS_STEP(NBS_F, d, a, b, c, x[5], K[5], 12)
  NBS_STEP(NBS_F, c, d, a, b, x[6], K[6], 17)
  NBS_STEP(NBS_F, b, c, d, a, x[7], K[7], 22)
  NBS_STEP(NBS_F, a, b, c, d, x[8], K[8], 7)
  NBS_STEP(NBS_F, d, a, b, c, x[9], K[9], 12)
  NBS_STEP(NBS_F, c, d, a, b, x[10], K[10], 17)
  NBS_STEP(NBS_F, b, c, d, a, x[11], K[11], 22)
  NBS_STEP(NBS_F, a, b, c, d, x[12], K[12], 7)
  NBS_STEP(NBS_F, d, a, b, c, x[13], K[13], 12)
  NBS_STEP(NBS_F, c, d, a, b, x[14], K[14], 17)
  NBS_STEP(NBS_F, b, c, d, a, x[15], K[15], 22)
  NBS_STEP(NBS_G, a, b, c, d, x[1], K[16], 5)
  NBS_STEP(NBS_G, d, a, b, c, x[6], K[17], 9)
  NBS_STEP(NBS_G, c, d, a, b, x[11], K[18], 14)
  NBS_STEP(NBS_G, b, c, d, a, x[0], K[19], 20)
  NBS_STEP(NBS_G, a, b, c, d, x[5], K[20], 5)
  NBS_STEP(NBS_G, d, a, b, c, x[10], K[21], 9)
  NBS_STEP(NBS_G, c, d, a, b, x[15], K[22], 14)
  NBS_STEP(NBS_G, b, c, d, a, x[4], K[23], 20)
  NBS_STEP(NBS_G, a, b, c, d, x[9], K[24], 5)
  NBS_STEP(NBS_G, d, a, b, c, x[14], K[25], 9)
  NBS_STEP(NBS_G, c, d, a, b, x[3], K[26], 14)
  NBS_STEP(NBS_G, b, c, d, a, x[8], K[27], 20)
  NBS_STEP(NBS_G, a, b, c, d, x[13], K[28], 5)
  NBS_STEP(NBS_G, d, a, b, c, x[2], K[29], 9)
  NBS_STEP(NBS_G, c, d, a, b, x[7], K[30], 14)
  NBS_STEP(NBS_G, b, c, d, a, x[12], K[31], 20)
  NBS_STEP(NBS_H, a, b, c, d, x[5], K[32], 4)
  NBS_STEP(NBS_H, d, a, b, c, x[8], K[33], 11)
  NBS_STEP(NBS_H, c, d, a, b, x[11], K[34], 16)
  NBS_STEP(NBS_H, b, c, d, a, x[14], K[35], 23)
  NBS_STEP(NBS_H, a, b, c, d, x[1], K[36], 4)
  NBS_STEP(NBS_H, d, a, b, c, x[4], K[37], 11)
  NBS_STEP(NBS_H, c, d, a, b, x[7], K[38], 16)
  NBS_STEP(NBS_H, b, c, d, a, x[10], K[39], 23)
  NBS_STEP(NBS_H, a, b, c, d, x[13], K[40], 4)
  NBS_STEP(NBS_H, d, a, b, c, x[0], K[41], 11)
  NBS_STEP(NBS_H, c, d, a, b, x[3], K[42], 16)
  NBS_STEP(NBS_H, b, c, d, a, x[6], K[43], 23)
  NBS_STEP(NBS_H, a, b, c, d, x[9], K[44], 4)
  NBS_STEP(NBS_H, d, a, b, c, x[12], K[45], 11)
  NBS_STEP(NBS_H, c, d, a, b, x[15], K[46], 16)
  NBS_STEP(NBS_H, b, c, d, a, x[2], K[47], 23)
  NBS_STEP(NBS_I, a, b, c, d, x[0], K[48], 6)
  NBS_STEP(NBS_I, d, a, b, c, x[7], K[49], 10)
  NBS_STEP(NBS_I, c, d, a, b, x[14], K[50], 15)
  NBS_STEP(NBS_I, b, c, d, a, x[5], K[51], 21)
  NBS_STEP(NBS_I, a, b, c, d, x[12], K[52], 6)
  NBS_STEP(NBS_I, d, a, b, c, x[3], K[53], 10)
  NBS_STEP(NBS_I, c, d, a, b, x[10], K[54], 15)
  NBS_STEP(NBS_I, b, c, d, a, x[1], K[55], 21)
  NBS_STEP(NBS_I, a, b, c, d, x[8], K[56], 6)
  NBS_STEP(NBS_I, d, a, b, c, x[15], K[57], 10)
  NBS_STEP(NBS_I, c, d, a, b, x[6], K[58], 15)
  NBS_STEP(NBS_I, b, c, d, a, x[13], K[59], 21)
  NBS_STEP(NBS_I, a, b, c, d, x[4], K[60], 6)
  NBS_STEP(NBS_I, d, a, b, c, x[11], K[61], 10)
  NBS_STEP(NBS_I, c, d, a, b, x[2], K[62], 15)
  NBS_STEP(NBS_I, b, c, d, a, x[9], K[63], 21)
  st[0] += a;
  st[1] += b;
  st[2] += c;
  st[3] += d;
}

}  // namespace

static_assert(sizeof(uint32_t) == 4, "32-bit words");

Digest md5(const uint8_t* data, size_t len) {
  uint32_t st[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  size_t full = len / 64;
  for (size_t i = 0; i < full; ++i) compress(st, data + 64 * i);
  // Tail: remaining bytes, 0x80, zeros, 64-bit little-endian bit length.
  uint8_t tail[128] = {0};
  size_t rem = len - 64 * full;
  std::memcpy(tail, data + 64 * full, rem);
  tail[rem] = 0x80;
  size_t tail_len = rem + 9 <= 64 ? 64 : 128;
  uint64_t bits = static_cast<uint64_t>(len) * 8u;
  for (int i = 0; i < 8; ++i) tail[tail_len - 8 + i] = static_cast<uint8_t>(bits >> (8 * i));
  compress(st, tail);
  if (tail_len == 128) compress(st, tail + 64);
  Digest d;
  std::memcpy(d.bytes, st, 16);
  return d;
}

void to_hex(const Digest& d, char* out) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) {
    out[2 * i] = digits[d.bytes[i] >> 4];
    out[2 * i + 1] = digits[d.bytes[i] & 15];
  }
}

}  // namespace nbs
