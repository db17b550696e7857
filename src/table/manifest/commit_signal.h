// Snapshots committed by this process, counted per table path: a reader that follows a table
// (a streaming job) waits here for the next commit instead of looking at the file system every
// few milliseconds, and wakes as soon as it lands. Commits by other processes do not signal;
// such a reader still looks at the file system when its wait times out.
#pragma once

#include <cstdint>
#include <string>

namespace kl::table {

uint64_t SnapshotsCommittedHere(const std::string& table_path);
// Returns once SnapshotsCommittedHere(table_path) differs from `seen` or after `timeout_ms`.
void WaitForSnapshotCommittedHere(const std::string& table_path, uint64_t seen, int64_t timeout_ms);

}  // namespace kl::table
