#include "index.hpp"

#include <cstring>

namespace nbs {

bool KeyIndex::build(const uint64_t* keys, int64_t n, int64_t* dup) {
  uint64_t cap = 16;
  while (cap < uint64_t(n) * 2) cap <<= 1;
  mask_ = cap - 1;
  slots_.assign(cap, Slot{0, 0, -1});
  n_ = n;
  for (int64_t r = 0; r < n; ++r) {
    uint64_t lo = keys[2 * r], hi = keys[2 * r + 1];
    uint64_t s = mix(lo, hi) & mask_;
    while (slots_[s].row >= 0) {
      if (slots_[s].lo == lo && slots_[s].hi == hi) {
        if (dup) *dup = r;
        return false;
      }
      s = (s + 1) & mask_;
    }
    slots_[s] = Slot{lo, hi, r};
  }
  return true;
}

int64_t KeyIndex::find(uint64_t lo, uint64_t hi) const {
  uint64_t s = mix(lo, hi) & mask_;
  while (true) {
    const Slot& slot = slots_[s];
    if (slot.row < 0) return -1;
    if (slot.lo == lo && slot.hi == hi) return slot.row;
    s = (s + 1) & mask_;
  }
}

void KeyIndex::prefetch(uint64_t lo, uint64_t hi) const {
  __builtin_prefetch(&slots_[mix(lo, hi) & mask_]);
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

namespace {
// Hex digit values; 0xff for anything else.
struct HexTable {
  uint8_t v[256];
  HexTable() {
    for (int i = 0; i < 256; ++i) v[i] = 0xff;
    for (int i = 0; i < 10; ++i) v['0' + i] = uint8_t(i);
    for (int i = 0; i < 6; ++i) v['a' + i] = v['A' + i] = uint8_t(10 + i);
  }
};
const HexTable kHex;
}  // namespace

bool parse_hex128(const char* s, int stride, uint64_t* lo, uint64_t* hi) {
  uint8_t bytes[16];
  uint8_t bad = 0;
  for (int i = 0; i < 16; ++i) {
    uint8_t a = kHex.v[uint8_t(s[(2 * i) * stride])], b = kHex.v[uint8_t(s[(2 * i + 1) * stride])];
    bad |= uint8_t(a | b) & 0xf0;
    bytes[i] = uint8_t((a << 4) | (b & 0x0f));
  }
  if (bad) return false;
  std::memcpy(lo, bytes, 8);
  std::memcpy(hi, bytes + 8, 8);
  return true;
}

bool parse_hex128_ucs4(const uint32_t* s, uint64_t* lo, uint64_t* hi) {
  uint8_t bytes[16];
  uint32_t wide = 0;
  uint8_t bad = 0;
  for (int i = 0; i < 16; ++i) {
    uint32_t ca = s[2 * i], cb = s[2 * i + 1];
    wide |= (ca | cb) & ~0x7fu;
    uint8_t a = kHex.v[ca & 0x7f], b = kHex.v[cb & 0x7f];
    bad |= uint8_t(a | b) & 0xf0;
    bytes[i] = uint8_t((a << 4) | (b & 0x0f));
  }
  if (bad || wide) return false;
  std::memcpy(lo, bytes, 8);
  std::memcpy(hi, bytes + 8, 8);
  return true;
}

}  // namespace nbs
