// Table maintenance: expiring old snapshots (and the files only they
// needed), deleting and expiring tags, and removing orphan files left by
// failed or interrupted writes. None ever deletes a file that a retained
// snapshot or a tag still references.
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
// (consumer.h) still needs, and deletes the files only they referenced: data
// files and manifests a tag (tag.h) still needs stay, changelog files go (a
// tag is read as a whole, not as changes). It works from the snapshots'
// deltas, as Paimon does, so its cost follows what expires, not how many
// snapshots are kept: cheap enough to run at every commit. Files go before
// snapshot files, so an interrupted run is redone by the next one.
Result<ExpireResult> ExpireSnapshots(const std::shared_ptr<TableContext>& ctx, const ExpireOptions& options);

struct DeleteTagResult {
  int64_t deleted_files = 0;  // data files and manifests only the tag still held
};

// Deletes the tag (NotFound if absent). When its snapshot has expired and no
// other tag names it, the data files and manifests that neither the
// neighbouring tags nor the earliest snapshot need go too, as Paimon's.
Result<DeleteTagResult> DeleteTag(const std::shared_ptr<TableContext>& ctx, const std::string& name);

// Deletes the tags whose tagTimeRetained has passed since their tagCreateTime
// (`now_wall`: a local date-time, see Tag::create_time); returns their names.
Result<std::vector<std::string>> ExpireTagsByTime(const std::shared_ptr<TableContext>& ctx, int64_t now_wall);

struct OrphanResult {
  std::vector<std::string> deleted;  // paths relative to the table
};

// Deletes files under the table that no snapshot or tag references and that are
// older than `older_than_millis` (files of writes still in flight are young).
Result<OrphanResult> RemoveOrphanFiles(const std::shared_ptr<TableContext>& ctx, int64_t older_than_millis,
                                       bool dry_run = false);

}  // namespace kl::table
