#include "md5.hpp"

#include <cstring>

namespace nbs {
namespace {

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
  NBS_STEP(NBS_F, a, b, c, d, x[0], kMd5K[0], 7)
  NBS_STEP(NBS_F, d, a, b, c, x[1], kMd5K[1], 12)
  NBS_STEP(NBS_F, c, d, a, b, x[2], kMd5K[2], 17)
  NBS_STEP(NBS_F, b, c, d, a, x[3], kMd5K[3], 22)
  NBS_STEP(NBS_F, a, b, c, d, x[4], kMd5K[4], 7)
  NBS_STEP(NBS_F, d, a, b, c, x[5], kMd5K[5], 12)
  NBS_STEP(NBS_F, c, d, a, b, x[6], kMd5K[6], 17)
  NBS_STEP(NBS_F, b, c, d, a, x[7], kMd5K[7], 22)
  NBS_STEP(NBS_F, a, b, c, d, x[8], kMd5K[8], 7)
  NBS_STEP(NBS_F, d, a, b, c, x[9], kMd5K[9], 12)
  NBS_STEP(NBS_F, c, d, a, b, x[10], kMd5K[10], 17)
  NBS_STEP(NBS_F, b, c, d, a, x[11], kMd5K[11], 22)
  NBS_STEP(NBS_F, a, b, c, d, x[12], kMd5K[12], 7)
  NBS_STEP(NBS_F, d, a, b, c, x[13], kMd5K[13], 12)
  NBS_STEP(NBS_F, c, d, a, b, x[14], kMd5K[14], 17)
  NBS_STEP(NBS_F, b, c, d, a, x[15], kMd5K[15], 22)
  NBS_STEP(NBS_G, a, b, c, d, x[1], kMd5K[16], 5)
  NBS_STEP(NBS_G, d, a, b, c, x[6], kMd5K[17], 9)
  NBS_STEP(NBS_G, c, d, a, b, x[11], kMd5K[18], 14)
  NBS_STEP(NBS_G, b, c, d, a, x[0], kMd5K[19], 20)
  NBS_STEP(NBS_G, a, b, c, d, x[5], kMd5K[20], 5)
  NBS_STEP(NBS_G, d, a, b, c, x[10], kMd5K[21], 9)
  NBS_STEP(NBS_G, c, d, a, b, x[15], kMd5K[22], 14)
  NBS_STEP(NBS_G, b, c, d, a, x[4], kMd5K[23], 20)
  NBS_STEP(NBS_G, a, b, c, d, x[9], kMd5K[24], 5)
  NBS_STEP(NBS_G, d, a, b, c, x[14], kMd5K[25], 9)
  NBS_STEP(NBS_G, c, d, a, b, x[3], kMd5K[26], 14)
  NBS_STEP(NBS_G, b, c, d, a, x[8], kMd5K[27], 20)
  NBS_STEP(NBS_G, a, b, c, d, x[13], kMd5K[28], 5)
  NBS_STEP(NBS_G, d, a, b, c, x[2], kMd5K[29], 9)
  NBS_STEP(NBS_G, c, d, a, b, x[7], kMd5K[30], 14)
  NBS_STEP(NBS_G, b, c, d, a, x[12], kMd5K[31], 20)
  NBS_STEP(NBS_H, a, b, c, d, x[5], kMd5K[32], 4)
  NBS_STEP(NBS_H, d, a, b, c, x[8], kMd5K[33], 11)
  NBS_STEP(NBS_H, c, d, a, b, x[11], kMd5K[34], 16)
  NBS_STEP(NBS_H, b, c, d, a, x[14], kMd5K[35], 23)
  NBS_STEP(NBS_H, a, b, c, d, x[1], kMd5K[36], 4)
  NBS_STEP(NBS_H, d, a, b, c, x[4], kMd5K[37], 11)
  NBS_STEP(NBS_H, c, d, a, b, x[7], kMd5K[38], 16)
  NBS_STEP(NBS_H, b, c, d, a, x[10], kMd5K[39], 23)
  NBS_STEP(NBS_H, a, b, c, d, x[13], kMd5K[40], 4)
  NBS_STEP(NBS_H, d, a, b, c, x[0], kMd5K[41], 11)
  NBS_STEP(NBS_H, c, d, a, b, x[3], kMd5K[42], 16)
  NBS_STEP(NBS_H, b, c, d, a, x[6], kMd5K[43], 23)
  NBS_STEP(NBS_H, a, b, c, d, x[9], kMd5K[44], 4)
  NBS_STEP(NBS_H, d, a, b, c, x[12], kMd5K[45], 11)
  NBS_STEP(NBS_H, c, d, a, b, x[15], kMd5K[46], 16)
  NBS_STEP(NBS_H, b, c, d, a, x[2], kMd5K[47], 23)
  NBS_STEP(NBS_I, a, b, c, d, x[0], kMd5K[48], 6)
  NBS_STEP(NBS_I, d, a, b, c, x[7], kMd5K[49], 10)
  NBS_STEP(NBS_I, c, d, a, b, x[14], kMd5K[50], 15)
  NBS_STEP(NBS_I, b, c, d, a, x[5], kMd5K[51], 21)
  NBS_STEP(NBS_I, a, b, c, d, x[12], kMd5K[52], 6)
  NBS_STEP(NBS_I, d, a, b, c, x[3], kMd5K[53], 10)
  NBS_STEP(NBS_I, c, d, a, b, x[10], kMd5K[54], 15)
  NBS_STEP(NBS_I, b, c, d, a, x[1], kMd5K[55], 21)
  NBS_STEP(NBS_I, a, b, c, d, x[8], kMd5K[56], 6)
  NBS_STEP(NBS_I, d, a, b, c, x[15], kMd5K[57], 10)
  NBS_STEP(NBS_I, c, d, a, b, x[6], kMd5K[58], 15)
  NBS_STEP(NBS_I, b, c, d, a, x[13], kMd5K[59], 21)
  NBS_STEP(NBS_I, a, b, c, d, x[4], kMd5K[60], 6)
  NBS_STEP(NBS_I, d, a, b, c, x[11], kMd5K[61], 10)
  NBS_STEP(NBS_I, c, d, a, b, x[2], kMd5K[62], 15)
  NBS_STEP(NBS_I, b, c, d, a, x[9], kMd5K[63], 21)
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

Digest md5_padded(const uint8_t* padded, int blocks) {
  uint32_t st[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  for (int i = 0; i < blocks; ++i) compress(st, padded + 64 * i);
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
