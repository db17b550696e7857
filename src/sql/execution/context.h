// What every operator and function of one statement's execution shares: the
// session's time zone and clock, the memory limit, and the hooks that stop a
// query (cancellation flag, deadline, row limit) — checked between batches,
// so a server can stop a runaway query without killing the process.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "format/datum.h"

namespace kl::table {
struct Snapshot;
}

namespace kl::sql {

struct KeptResults;
struct LogicalOp;
class TimeZone;

// Variables a server keeps per session and lets SQL read (the PostgreSQL
// server's settings: current_setting('search_path'), pg_settings), and who the
// session's user is.
class SessionVariables {
 public:
  virtual ~SessionVariables() = default;
  virtual std::optional<std::string> Get(const std::string& name) const = 0;
  // Changes a variable (set_config()); an error when it cannot take the value.
  virtual Status Set(const std::string& name, const std::string& value) = 0;
  // Every variable: (name, value, description).
  virtual std::vector<std::vector<std::string>> All() const = 0;
  virtual std::string user() const = 0;
};

// Rows per batch that operators produce.
inline constexpr size_t kBatchSize = 2048;

struct ExecContext {
  // Session time zone as a fixed offset from UTC, and its name (for messages).
  int64_t time_zone_offset_millis = 0;
  std::string time_zone = "UTC";
  // A session zone whose offset may change (PostgreSQL's TimeZone 'Europe/Berlin', with
  // its summer time); when set, it decides the offsets below instead of the fixed one.
  std::shared_ptr<const TimeZone> zone;
  // Statement start time: NOW(), CURRENT_TIMESTAMP and UNIX_TIMESTAMP() are
  // constant within a batch statement, as in Flink's batch mode.
  int64_t statement_time_millis = 0;
  // Bytes a blocking operator (hash aggregate, hash join, sort, window) may hold.
  int64_t memory_limit_bytes = 2LL << 30;
  // Stop hooks: a flag another thread may set, and a deadline (monotonic micros, 0 = none).
  const std::atomic<bool>* cancel = nullptr;
  int64_t deadline_micros = 0;
  std::string current_catalog, current_database;
  SessionVariables* variables = nullptr;  // set by servers; may be null
  // Values of the outer row a correlated subquery runs for, by correlation id.
  std::map<int, std::vector<format::Datum>> correlated_values;
  // Results kept between the executions of one kept plan (executor.h), when the plan is
  // one a session's plan cache reuses; null otherwise.
  std::shared_ptr<KeptResults> kept_results;
  // Scans that read a given snapshot rather than the latest, by plan node (while a kept
  // result is made from the snapshots it was checked at).
  std::map<const LogicalOp*, std::shared_ptr<const table::Snapshot>> pinned_snapshots;

  // The session zone's offset (east of UTC) at the instant `utc_millis`.
  int64_t OffsetMillisAtUtc(int64_t utc_millis) const;
  // The offset of the wall-clock time `local_millis` in the session zone (a skipped or
  // repeated time takes the offset PostgreSQL gives it).
  int64_t OffsetMillisAtLocal(int64_t local_millis) const;

  // Aborted when the query was cancelled or ran past its deadline.
  Status CheckInterrupt() const;
  // An error naming the operator that needs more than the limit.
  Status MemoryExceeded(const std::string& what, int64_t bytes) const;
};

}  // namespace kl::sql
