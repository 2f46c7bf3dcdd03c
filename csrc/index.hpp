// Hash-to-row index for tables: 128-bit keys (an NB101 MD5 digest, or a
// small integer key in the low word) to int64 rows, open addressing with
// linear probing in a power-of-two table at most half full. Lookups are
// batched and run without the GIL.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nbs {

class KeyIndex {
 public:
  // keys: n pairs (lo, hi). Returns false on a duplicate key (dup = its row).
  bool build(const uint64_t* keys, int64_t n, int64_t* dup);
  int64_t find(uint64_t lo, uint64_t hi) const;
  void prefetch(uint64_t lo, uint64_t hi) const;
  int64_t size() const { return n_; }

 private:
  static uint64_t mix(uint64_t lo, uint64_t hi) {
    uint64_t x = lo ^ (hi * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
  }
  // Key and row side by side: a probe touches one cache line.
  struct Slot {
    uint64_t lo, hi;
    int64_t row;  // -1 = empty
  };
  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
  int64_t n_ = 0;
};

// CRC-32C (Castagnoli), as TFRecord framing uses, and TFRecord's mask.
uint32_t crc32c(const uint8_t* data, size_t len, uint32_t crc = 0);
inline uint32_t tfrecord_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

// Parses 32 hex chars (either case) into (lo, hi) = little-endian words of
// the 16 digest bytes. Returns false when a char is not hex.
bool parse_hex128(const char* s, int stride, uint64_t* lo, uint64_t* hi);
// The same for a numpy '<U32' element (UCS-4 code points).
bool parse_hex128_ucs4(const uint32_t* s, uint64_t* lo, uint64_t* hi);

}  // namespace nbs
