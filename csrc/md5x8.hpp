// Multi-buffer MD5: many independent messages hashed at once, one message
// per 32-bit vector lane: 16 lanes with AVX-512 (md5x16.cpp), 8 with AVX2
// (md5x8.cpp), or one at a time (md5.cpp). Messages of different lengths are
// padded separately; a lane whose message has fewer blocks keeps its state
// unchanged through the extra rounds. The path is chosen once at run time
// (the best this CPU has), or by the environment variable NASBENCH_SUITE_MD5
// = scalar | avx2 | avx512 | auto, or by md5_set_path().
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "md5.hpp"

namespace nbs {

enum class Md5Path { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// out[i] = md5(msgs[i], lens[i]) for i < count (any count).
void md5_many(const uint8_t* const* msgs, const size_t* lens, int count, Digest* out);

// Pads the message of len bytes at slot[0..len) in place (0x80, zeros,
// 64-bit bit length); returns its number of 64-byte blocks.
int md5_pad(uint8_t* slot, size_t len);

// Messages padded in place (md5_pad) in slots of `stride` bytes from base:
// out[i] = md5 of message i, i < count, whose padded form has blocks[i]
// blocks. Every slot must be readable for the largest blocks[i] * 64 bytes
// (lanes that finish early read stale bytes of their own slot, discarded).
void md5_slots(const uint8_t* base, size_t stride, const int* blocks, int count, Digest* out);

// The path in use, its name, the names this CPU can run (scalar first).
Md5Path md5_path();
const char* md5_path_name(Md5Path p);
std::vector<std::string> md5_paths();

// Chooses a path by name ("auto": the best available); returns the chosen
// name. Throws std::invalid_argument for an unknown or unavailable name.
std::string md5_set_path(const std::string& name);

// Applies NASBENCH_SUITE_MD5 if set (same rules as md5_set_path, the error
// names the variable).
void md5_path_from_env();

// Whether a vector path is in use; on: the best one, off: scalar.
bool md5_simd_enabled();
bool md5_set_simd(bool on);

}  // namespace nbs
