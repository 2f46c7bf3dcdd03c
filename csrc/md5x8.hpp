// Multi-buffer MD5: up to 8 independent messages hashed at once in the
// 8 x 32-bit lanes of AVX2 registers (one lane per message). Messages of
// different lengths are padded separately; a lane whose message has fewer
// blocks keeps its state unchanged through the extra rounds. Falls back to
// the scalar md5() where AVX2 is missing (checked once at run time).
#pragma once
#include <cstddef>
#include <cstdint>

#include "md5.hpp"

namespace nbs {

// out[i] = md5(msgs[i], lens[i]) for i < count (count <= 8).
void md5_many(const uint8_t* const* msgs, const size_t* lens, int count, Digest* out);

// Whether the AVX2 path is in use on this machine.
bool md5_simd_enabled();

// Turns the AVX2 path on or off (benchmarks compare both); returns the new state.
bool md5_set_simd(bool on);

}  // namespace nbs
