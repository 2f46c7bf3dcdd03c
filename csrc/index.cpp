#include "index.hpp"

#include <cstring>

namespace nbs {

bool KeyIndex::build(const uint64_t* keys, int64_t n, int64_t* dup) {
  uint64_t cap = 16;
  while (cap < uint64_t(n) * 2) cap <<= 1;
  mask_ = cap - 1;
  lo_.assign(cap, 0);
  hi_.assign(cap, 0);
  row_.assign(cap, -1);
  n_ = n;
  for (int64_t r = 0; r < n; ++r) {
    uint64_t lo = keys[2 * r], hi = keys[2 * r + 1];
    uint64_t s = mix(lo, hi) & mask_;
    while (row_[s] >= 0) {
      if (lo_[s] == lo && hi_[s] == hi) {
        if (dup) *dup = r;
        return false;
      }
      s = (s + 1) & mask_;
    }
    lo_[s] = lo;
    hi_[s] = hi;
    row_[s] = r;
  }
  return true;
}

int64_t KeyIndex::find(uint64_t lo, uint64_t hi) const {
  uint64_t s = mix(lo, hi) & mask_;
  while (true) {
    int64_t r = row_[s];
    if (r < 0) return -1;
    if (lo_[s] == lo && hi_[s] == hi) return r;
    s = (s + 1) & mask_;
  }
}

namespace {
struct Crc32cTable {
  uint32_t t[8][256];
  Crc32cTable() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xffu];
  }
};
const Crc32cTable kCrc;
}  // namespace

uint32_t crc32c(const uint8_t* p, size_t len, uint32_t crc) {
  // Slicing-by-8, portable (no SSE4.2 dependency).
  crc = ~crc;
  while (len >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= crc;
    crc = kCrc.t[7][w & 0xff] ^ kCrc.t[6][(w >> 8) & 0xff] ^ kCrc.t[5][(w >> 16) & 0xff] ^
          kCrc.t[4][(w >> 24) & 0xff] ^ kCrc.t[3][(w >> 32) & 0xff] ^ kCrc.t[2][(w >> 40) & 0xff] ^
          kCrc.t[1][(w >> 48) & 0xff] ^ kCrc.t[0][w >> 56];
    p += 8;
    len -= 8;
  }
  while (len--) crc = (crc >> 8) ^ kCrc.t[0][(crc ^ *p++) & 0xffu];
  return ~crc;
}

bool parse_hex128(const char* s, int stride, uint64_t* lo, uint64_t* hi) {
  uint8_t bytes[16];
  for (int i = 0; i < 16; ++i) {
    int v = 0;
    for (int k = 0; k < 2; ++k) {
      char c = s[(2 * i + k) * stride];
      int d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else return false;
      v = v * 16 + d;
    }
    bytes[i] = uint8_t(v);
  }
  std::memcpy(lo, bytes, 8);
  std::memcpy(hi, bytes + 8, 8);
  return true;
}

}  // namespace nbs
