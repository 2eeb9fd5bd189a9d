// Counter-based random numbers that are identical with every compiler and standard
// library: SplitMix64 finalisers keyed by (key, stream, counter), Fisher–Yates with our
// own bounded-integer mapping. Never use std::shuffle or std::*_distribution for data
// order: their results differ between libstdc++, libc++ and MSVC.
#pragma once
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace culturegan::data {

/// SplitMix64 finaliser: a bijective 64-bit mixer (Steele, Lea, Flood 2014).
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// A stateless generator: value(i) is a pure function of (key, stream, i).
class CounterRng {
 public:
  CounterRng(uint64_t key, uint64_t stream)
      : base_(splitmix64(splitmix64(key) ^
                         (stream * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull))) {}
  /// The i-th 64-bit value of this stream.
  uint64_t at(uint64_t i) const {
    return splitmix64(base_ ^ splitmix64(i + 0x632BE59BD9B4E019ull));
  }
  /// Sequential use: the next value (advances an internal counter).
  uint64_t next() { return at(counter_++); }
  /// Uniform integer in [0, n), n >= 1, by rejection (no modulo bias, no std distribution).
  uint64_t below(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const uint64_t x = next();
      if (x >= threshold) return x % n;
    }
  }
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t base_;
  uint64_t counter_ = 0;
};

/// Fisher–Yates shuffle driven by `rng` (portable: same result everywhere).
template <typename T>
void portable_shuffle(std::vector<T>& v, CounterRng& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng.below(i));
    std::swap(v[i - 1], v[j]);
  }
}

/// FNV-1a 64 of a string: stable key for names (e.g. a culture's split stream).
inline uint64_t fnv1a64(const std::string_view s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

}  // namespace culturegan::data
