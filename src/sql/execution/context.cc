#include "sql/execution/context.h"

#include "common/clock.h"
#include "common/string_util.h"
#include "sql/functions/datetime/time_zone.h"

namespace kl::sql {

int64_t ExecContext::OffsetMillisAtUtc(int64_t utc_millis) const {
  if (zone == nullptr) return time_zone_offset_millis;
  return zone->OffsetAtUtc(FloorDiv(utc_millis, 1000)) * 1000;
}

int64_t ExecContext::OffsetMillisAtLocal(int64_t local_millis) const {
  if (zone == nullptr) return time_zone_offset_millis;
  return zone->OffsetAtLocal(FloorDiv(local_millis, 1000)) * 1000;
}

Status ExecContext::CheckInterrupt() const {
  if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return Status::Aborted("query cancelled");
  if (deadline_micros > 0 && MonotonicMicros() > deadline_micros) {
    return Status::Aborted("query stopped: it ran past its time limit (SET 'sql.query-timeout')");
  }
  return Status::OK();
}

Status ExecContext::MemoryExceeded(const std::string& what, int64_t bytes) const {
  return Status::Aborted(what + " needs more than the memory limit of " +
                         HumanBytes(static_cast<double>(memory_limit_bytes)) + " (it holds " +
                         HumanBytes(static_cast<double>(bytes)) +
                         "); raise it with SET 'sql.memory-limit' = '4gb', or narrow the query");
}

}  // namespace kl::sql
