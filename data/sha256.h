// SHA-256 of a byte buffer (FIPS 180-4). Used for each source image's content hash, which
// the corpus stores and ingest uses to drop exact duplicates.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace culturegan::data {

using Sha256Digest = std::array<uint8_t, 32>;

/// SHA-256 of `size` bytes at `data`.
Sha256Digest sha256(const uint8_t* data, size_t size);
/// Lower-case hex (64 characters).
std::string to_hex(const Sha256Digest& digest);

}  // namespace culturegan::data
