// MD5 (RFC 1321), written for the NAS-Bench-101 module hash: many short
// messages, so the whole message is hashed in one call with no streaming
// state. The official hash is defined on lowercase hex digests, see nb101.cpp.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nbs {

struct Digest {
  uint8_t bytes[16];
};

// MD5 of data[0..len).
Digest md5(const uint8_t* data, size_t len);

// Writes the 32 lowercase hex characters of d to out (no terminator).
void to_hex(const Digest& d, char* out);

}  // namespace nbs
