#include "server/status.h"

#include <algorithm>
#include <filesystem>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "log/event_log.h"
#include "table/manifest/snapshot.h"
#include "table/table.h"

namespace kl::server {
namespace {

// The consumer groups of the warehouse's log jobs, by job name.
const std::pair<const char*, const char*> kLogJobs[] = {{"ods", "kubelake-ods"}, {"dwd", "kubelake-dwd"}};

TableStatus ReadTableStatus(const table::Catalog& catalog, const std::string& db, const std::string& name) {
  TableStatus t;
  t.name = name;
  std::string path = catalog.TablePath(db, name);
  if (!IsDirectory(path)) return t;
  t.exists = true;
  table::SnapshotManager snapshots(path);
  auto latest = snapshots.Latest();
  if (!latest.ok()) {
    t.error = latest.status().ToString();
    return t;
  }
  if (!latest->has_value()) return t;
  t.latest_snapshot = (*latest)->id;
  t.last_commit_ms = (*latest)->time_millis;
  t.log_offsets = (*latest)->log_offsets;
  auto earliest = snapshots.EarliestId();
  t.earliest_snapshot = earliest.ok() && earliest->has_value() ? **earliest : t.latest_snapshot;
  return t;
}

int64_t DirectoryBytes(const std::string& dir) {
  std::error_code ec;
  int64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      auto n = it->file_size(size_ec);
      if (!size_ec) total += static_cast<int64_t>(n);
    }
  }
  return ec ? -1 : total;
}

int64_t Behind(const std::map<int32_t, int64_t>& end, const std::map<int32_t, int64_t>& position) {
  int64_t lag = 0;
  for (const auto& [p, e] : end) {
    auto it = position.find(p);
    int64_t at = it == position.end() ? 0 : it->second;
    lag += std::max<int64_t>(0, e - at);
  }
  return lag;
}

LogStatus ReadLogStatus(const LiveSources& live) {
  LogStatus s;
  if (live.log == nullptr) return s;
  s.description = live.log->Describe();
  s.partitions = live.log->NumPartitions();
  for (int32_t p = 0; p < s.partitions; ++p) {
    auto start = live.log->StartOffset(p);
    auto end = live.log->EndOffset(p);
    if (!start.ok() || !end.ok()) {
      s.error = (!start.ok() ? start.status() : end.status()).ToString();
      return s;
    }
    s.end_by_partition[p] = *end;
    s.end_offsets += *end;
    s.retained_records += *end - *start;
  }
  for (const auto& [job, group] : kLogJobs) {
    auto committed = live.log->CommittedOffsets(group);
    if (committed.ok() && !committed->empty()) s.group_lag[group] = Behind(s.end_by_partition, *committed);
  }
  if (!live.log_dir.empty()) s.bytes_on_disk = DirectoryBytes(live.log_dir);
  s.available = true;
  return s;
}

}  // namespace

int64_t JobProgressMs(const pipeline::JobStatus& job) { return std::max(job.last_commit_ms, job.last_caught_up_ms); }

SystemStatus GatherStatus(const pipeline::WarehouseOptions& warehouse, const LiveSources& live) {
  SystemStatus s;
  s.now_ms = NowMillis();
  table::Catalog catalog(warehouse.warehouse);
  for (const char* name : pipeline::kWarehouseTables)
    s.tables.push_back(ReadTableStatus(catalog, warehouse.database, name));
  s.log = ReadLogStatus(live);
  if (live.jobs) {
    s.has_jobs = true;
    s.jobs = live.jobs();
    int64_t fresh = s.jobs.empty() ? 0 : INT64_MAX;
    for (const auto& j : s.jobs) {
      fresh = std::min(fresh, JobProgressMs(j));
      if (s.log.available && !j.position.log_offsets.empty()) {
        s.job_log_lag[j.name] = Behind(s.log.end_by_partition, j.position.log_offsets);
      }
    }
    s.fresh_as_of_ms = fresh;
  } else {
    // Another process runs the jobs: the warehouse is as fresh as its last
    // ADS commit, or current when DWD's consumer group is at the log's end.
    for (const auto& t : s.tables) {
      if (t.name == pipeline::kAdsKindCountTable) s.fresh_as_of_ms = t.last_commit_ms;
    }
    auto dwd_lag = s.log.group_lag.find("kubelake-dwd");
    if (s.log.available && dwd_lag != s.log.group_lag.end() && dwd_lag->second == 0) s.fresh_as_of_ms = s.now_ms;
  }
  if (live.watches) {
    s.has_collector = true;
    s.watches = live.watches();
    if (live.collector_events) s.collector_events = live.collector_events();
  }
  return s;
}

Readiness CheckReady(const SystemStatus& s, int64_t max_age_ms) {
  Readiness r;
  if (s.has_jobs) {
    if (s.jobs.empty()) r.problems.push_back("no jobs are running");
    for (const auto& j : s.jobs) {
      int64_t progress = JobProgressMs(j);
      if (!j.running) {
        r.problems.push_back("job " + j.name + " is not running" +
                             (j.last_error.empty() ? std::string() : ": " + j.last_error));
      } else if (progress == 0) {
        r.problems.push_back("job " + j.name + " has not committed yet");
      } else if (s.now_ms - progress > max_age_ms) {
        r.problems.push_back("job " + j.name + " last committed " + std::to_string((s.now_ms - progress) / 1000) +
                             " s ago");
      }
    }
  } else {
    const TableStatus* dwd = nullptr;
    for (const auto& t : s.tables) {
      if (t.name == pipeline::kDwdTable) dwd = &t;
    }
    if (dwd == nullptr || !dwd->exists || dwd->latest_snapshot == 0) {
      r.problems.push_back("the warehouse has no committed DWD snapshot yet");
    } else if (!dwd->error.empty()) {
      r.problems.push_back("reading DWD: " + dwd->error);
    } else {
      auto lag = s.log.group_lag.find("kubelake-dwd");
      bool caught_up = s.log.available && lag != s.log.group_lag.end() && lag->second == 0;
      if (!caught_up && s.now_ms - dwd->last_commit_ms > max_age_ms) {
        r.problems.push_back(
            "DWD last committed " + std::to_string((s.now_ms - dwd->last_commit_ms) / 1000) + " s ago" +
            (lag != s.log.group_lag.end() ? ", " + std::to_string(lag->second) + " records behind the log"
                                          : std::string()));
      }
    }
  }
  r.ready = r.problems.empty();
  return r;
}

}  // namespace kl::server
