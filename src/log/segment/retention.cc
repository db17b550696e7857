#include "log/segment/retention.h"

namespace kl::log {

size_t SegmentsToDelete(const std::vector<RetentionSegment>& segments, const RetentionPolicy& policy,
                        int64_t now_ms, std::optional<int64_t> protected_from) {
  if (segments.size() < 2) return 0;
  uint64_t total = 0;
  for (const auto& s : segments) total += s.size;
  size_t count = 0;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    const RetentionSegment& s = segments[i];
    // Segment i holds offsets [base_i, base_{i+1}).
    int64_t end = segments[i + 1].base_offset;
    if (protected_from && end > *protected_from) break;
    bool over_size = policy.max_bytes >= 0 && total > static_cast<uint64_t>(policy.max_bytes);
    bool too_old = policy.max_age_ms >= 0 && now_ms - s.modified_ms > policy.max_age_ms;
    if (!over_size && !too_old) break;
    total -= s.size;
    ++count;
  }
  return count;
}

}  // namespace kl::log
