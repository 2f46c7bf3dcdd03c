// AVX-512 (F + BW) multi-buffer MD5 kernel, 16 lanes per register, two
// register sets interleaved. Compiled with function-level target attributes
// so the build needs no global -mavx512 flag; call only when
// md5x16_supported() is true. See md5x8.hpp for the dispatch.
#pragma once
#include <cstddef>
#include <cstdint>

#include "md5.hpp"

namespace nbs {

// Whether this build has the kernel and this CPU runs it.
bool md5x16_supported();

// One call for count <= 32 padded messages (see md5_slots): message ids[i]
// at base + ids[i] * stride with blocks[ids[i]] blocks; out[ids[i]] = digest.
void md5x16_slots(const uint8_t* base, size_t stride, const int* ids, const int* blocks, int count,
                  Digest* out);

}  // namespace nbs
