// Table maintenance: expiring old snapshots (and the files only they
// needed) and removing orphan files left by failed or interrupted writes.
// Neither ever deletes a file that a retained snapshot still references.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "table/table_context.h"

namespace kl::table {

struct ExpireOptions {
  int retain_min = 10;                  // always keep at least this many snapshots
  int retain_max = 2147483647;          // never keep more than this many
  int max_expire = 2147483647;          // expire at most this many snapshots in one call
  int64_t older_than_millis = -1;       // expire snapshots older than this time (-1: from snapshot.time-retained)
  int64_t consumer_expire_millis = -1;  // drop consumers last recorded before this time (-1: keep all)
  int64_t now_millis = -1;              // clock for tests (-1: now)

  // The table's snapshot.num-retained.*, snapshot.expire.limit and consumer.expiration-time.
  static ExpireOptions FromTable(const TableOptions& options);
};

struct ExpireResult {
  std::vector<int64_t> expired_snapshots;
  int64_t deleted_files = 0;
  std::vector<std::string> expired_consumers;
};

// Expires the oldest snapshots the options let go, never one a consumer
// (consumer.h) still needs, and deletes the files only they referenced. It
// works from the snapshots' deltas, as Paimon does, so its cost follows what
// expires, not how many snapshots are kept: cheap enough to run at every
// commit. Files go before snapshot files, so an interrupted run is redone by
// the next one.
Result<ExpireResult> ExpireSnapshots(const std::shared_ptr<TableContext>& ctx, const ExpireOptions& options);

struct OrphanResult {
  std::vector<std::string> deleted;  // paths relative to the table
};

// Deletes files under the table that no snapshot references and that are
// older than `older_than_millis` (files of writes still in flight are young).
Result<OrphanResult> RemoveOrphanFiles(const std::shared_ptr<TableContext>& ctx, int64_t older_than_millis,
                                       bool dry_run = false);

}  // namespace kl::table
