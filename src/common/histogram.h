// A fixed-bucket histogram of durations (or any non-negative values), kept
// as Prometheus keeps one: cumulative counts per upper bound, a sum and a
// count. Not synchronized: its owner guards it.
#pragma once

#include <array>
#include <cstdint>

namespace kl {

class DurationHistogram {
 public:
  // Upper bounds in seconds, Prometheus's default buckets; +Inf is implicit.
  static constexpr std::array<double, 11> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  void Observe(double seconds) {
    for (size_t i = 0; i < kBounds.size(); ++i) {
      if (seconds <= kBounds[i]) ++buckets_[i];
    }
    sum_ += seconds;
    ++count_;
  }
  // Observations <= kBounds[i] (cumulative).
  uint64_t cumulative(size_t i) const { return buckets_[i]; }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::array<uint64_t, kBounds.size()> buckets_{};
  double sum_ = 0;
  uint64_t count_ = 0;
};

}  // namespace kl
