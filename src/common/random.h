// Deterministic pseudo-random numbers (xoshiro256**): the simulator and the
// property tests replay exactly from a seed.
#pragma once

#include <cstdint>
#include <string>

namespace kl {

class Random {
 public:
  explicit Random(uint64_t seed);

  uint64_t Next();
  // Uniform in [0, n); n > 0.
  uint64_t Uniform(uint64_t n);
  // Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi);
  double NextDouble();  // [0, 1)
  bool OneIn(uint64_t n) { return Uniform(n) == 0; }
  bool Chance(double p) { return NextDouble() < p; }
  std::string Alnum(size_t len);
  // A random RFC 4122 version-4 UUID string.
  std::string Uuid();

 private:
  uint64_t s_[4];
};

// A process-wide random UUID (file names, commit users); not reproducible.
std::string RandomUuid();

}  // namespace kl
