// Which old segments of a partition retention may delete. Kept apart from
// the file handling so the rules are plain to read and to test:
// * only sealed segments go (never the active one), oldest first;
// * a segment goes when the partition is over its size limit or the segment
//   is older than the age limit (age = time since its last append, the file's
//   modification time);
// * never a segment holding an offset at or above the lowest committed offset
//   of a required consumer group, so a pipeline never loses unread events. A
//   required group with no commit for the partition holds everything.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace kl::log {

struct RetentionPolicy {
  int64_t max_bytes = -1;  // per partition; -1: no size limit
  int64_t max_age_ms = -1;  // -1: no age limit
};

struct RetentionSegment {
  int64_t base_offset = 0;
  uint64_t size = 0;
  int64_t modified_ms = 0;
};

// `segments`: oldest first, the last one active. `protected_from`: the lowest
// offset that must stay readable (nullopt when no group is required).
// Returns how many of the oldest segments to delete.
size_t SegmentsToDelete(const std::vector<RetentionSegment>& segments, const RetentionPolicy& policy,
                        int64_t now_ms, std::optional<int64_t> protected_from);

}  // namespace kl::log
