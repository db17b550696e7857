// What the server knows about the running system: the warehouse's tables
// (read from disk, so a separate `kubelake serve` sees them too), the event
// log and, when the server runs inside `run`, `pipeline` or `demo`, the
// jobs and the collector of that process. /metrics, /readyz and the
// dashboard's status all read one SystemStatus.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "collector/collector.h"
#include "pipeline/runtime/job.h"
#include "pipeline/warehouse/warehouse.h"

namespace kl::log {
class EventLog;
}  // namespace kl::log

namespace kl::server {

// Live state of this process; every member may be left empty.
struct LiveSources {
  std::function<std::vector<pipeline::JobStatus>()> jobs;
  std::function<std::vector<collector::WatchStats>()> watches;
  std::function<uint64_t()> collector_events;
  log::EventLog* log = nullptr;  // not owned; outlives the server
  std::string log_dir;           // an embedded log's directory, for its size on disk
};

struct TableStatus {
  std::string name;
  bool exists = false;
  int64_t earliest_snapshot = 0;
  int64_t latest_snapshot = 0;
  int64_t last_commit_ms = 0;              // time of the latest snapshot
  std::map<int32_t, int64_t> log_offsets;  // of the latest snapshot (tables fed by the log)
  std::string error;
};

struct LogStatus {
  bool available = false;
  std::string description;
  int32_t partitions = 0;
  int64_t end_offsets = 0;                   // sum over partitions
  int64_t retained_records = 0;              // sum of end - start
  int64_t bytes_on_disk = -1;                // -1: not a local log
  std::map<std::string, int64_t> group_lag;  // consumer group -> records behind the end
  std::map<int32_t, int64_t> end_by_partition;
  std::string error;
};

struct SystemStatus {
  int64_t now_ms = 0;
  bool has_jobs = false;
  std::vector<pipeline::JobStatus> jobs;
  std::map<std::string, int64_t> job_log_lag;  // log-reading job -> records behind the log's end
  bool has_collector = false;
  std::vector<collector::WatchStats> watches;
  uint64_t collector_events = 0;
  std::vector<TableStatus> tables;
  LogStatus log;
  // The time up to which the warehouse is known to reflect the log: each job
  // has committed or found nothing new since then (0 when unknown).
  int64_t fresh_as_of_ms = 0;
};

SystemStatus GatherStatus(const pipeline::WarehouseOptions& warehouse, const LiveSources& live);

struct Readiness {
  bool ready = false;
  std::vector<std::string> problems;  // why not, one line each
};

// Ready when every job has committed (or been caught up with nothing to
// commit) within `max_age_ms`; without live jobs, when the DWD table has
// committed within that time or its consumer group is at the log's end.
Readiness CheckReady(const SystemStatus& status, int64_t max_age_ms);

// When a job last showed progress: its last commit or its last caught-up poll.
int64_t JobProgressMs(const pipeline::JobStatus& job);

}  // namespace kl::server
