#include "table/maintenance.h"

#include <set>

#include "common/clock.h"
#include "common/file_util.h"
#include "table/commit.h"
#include "table/snapshot.h"

namespace kl::table {
namespace {

// Every file path (absolute) a snapshot needs: its manifest lists, manifests,
// live data files and changelog files.
Status CollectReferences(const std::shared_ptr<TableContext>& ctx, const ManifestIO& io, const Snapshot& s,
                         std::set<std::string>* out) {
  const std::string& dir = io.dir();
  std::vector<std::string> lists = {s.base_manifest_list, s.delta_manifest_list};
  if (s.changelog_manifest_list) lists.push_back(*s.changelog_manifest_list);
  for (const auto& list : lists) {
    out->insert(JoinPath(dir, list));
    KL_ASSIGN_OR_RETURN(std::vector<ManifestFileMeta> metas, io.ReadManifestList(list));
    for (const auto& m : metas) out->insert(JoinPath(dir, m.file_name));
  }
  KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> live, ReadLiveEntries(io, s));
  KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> changelog, ReadChangelogEntries(io, s));
  KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> delta, ReadDeltaEntries(io, s));
  for (const auto* entries : {&live, &changelog}) {
    for (const auto& e : *entries) out->insert(ctx->paths().DataFilePath(e.partition, e.bucket, e.file));
  }
  // Files a snapshot's delta deletes are still needed by the snapshot before it;
  // listing them here keeps them until that snapshot goes too.
  for (const auto& e : delta) out->insert(ctx->paths().DataFilePath(e.partition, e.bucket, e.file));
  if (s.index_manifest) out->insert(JoinPath(dir, *s.index_manifest));
  return Status::OK();
}

void ListFilesRecursive(const std::string& root, const std::string& rel, std::vector<std::string>* out) {
  std::string dir = rel.empty() ? root : JoinPath(root, rel);
  auto names = ListDir(dir);
  if (!names.ok()) return;
  for (const auto& n : *names) {
    std::string child = rel.empty() ? n : JoinPath(rel, n);
    if (IsDirectory(JoinPath(root, child))) ListFilesRecursive(root, child, out);
    else out->push_back(child);
  }
}

}  // namespace

ExpireOptions ExpireOptions::FromTable(const TableOptions& options) {
  ExpireOptions o;
  o.retain_min = options.snapshot_num_retained_min();
  o.retain_max = options.snapshot_num_retained_max();
  o.older_than_millis = -1;
  return o;
}

Result<ExpireResult> ExpireSnapshots(const std::shared_ptr<TableContext>& ctx, const ExpireOptions& options) {
  SnapshotManager snapshots(ctx->path());
  ManifestIO io(ctx->paths().ManifestDir(), ctx->schema().PartitionType(), ctx->options().manifest_compression(),
                ctx->schema().id);
  KL_ASSIGN_OR_RETURN(std::vector<int64_t> ids, snapshots.ListIds());
  ExpireResult result;
  if (ids.empty()) return result;
  int64_t now = options.now_millis >= 0 ? options.now_millis : NowMillis();
  int64_t cutoff = options.older_than_millis >= 0 ? options.older_than_millis
                                                  : now - ctx->options().snapshot_time_retained_ms();
  size_t retain_min = static_cast<size_t>(std::max(1, options.retain_min));
  size_t retain_max = static_cast<size_t>(std::max(options.retain_min, options.retain_max));
  // Expire from the oldest while: more than retain_max remain, or (more than
  // retain_min remain and the snapshot is older than the cutoff).
  size_t expire_count = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    size_t remaining = ids.size() - i;
    if (remaining <= retain_min) break;
    if (remaining > retain_max) {
      ++expire_count;
      continue;
    }
    KL_ASSIGN_OR_RETURN(Snapshot s, snapshots.Read(ids[i]));
    if (s.time_millis >= cutoff) break;
    ++expire_count;
  }
  if (expire_count == 0) return result;

  std::set<std::string> keep, candidates;
  for (size_t i = expire_count; i < ids.size(); ++i) {
    KL_ASSIGN_OR_RETURN(Snapshot s, snapshots.Read(ids[i]));
    KL_RETURN_IF_ERROR(CollectReferences(ctx, io, s, &keep));
  }
  for (size_t i = 0; i < expire_count; ++i) {
    KL_ASSIGN_OR_RETURN(Snapshot s, snapshots.Read(ids[i]));
    KL_RETURN_IF_ERROR(CollectReferences(ctx, io, s, &candidates));
  }
  // Snapshot files go first (oldest first): if we stop half way, what is left
  // behind is unreferenced files, which orphan removal cleans up.
  for (size_t i = 0; i < expire_count; ++i) {
    KL_RETURN_IF_ERROR(RemoveFile(snapshots.SnapshotPath(ids[i])));
    result.expired_snapshots.push_back(ids[i]);
  }
  KL_RETURN_IF_ERROR(snapshots.WriteEarliestHint(ids[expire_count]));
  for (const auto& path : candidates) {
    if (keep.count(path) != 0) continue;
    if (FileExists(path)) {
      KL_RETURN_IF_ERROR(RemoveFile(path));
      ++result.deleted_files;
    }
  }
  return result;
}

Result<OrphanResult> RemoveOrphanFiles(const std::shared_ptr<TableContext>& ctx, int64_t older_than_millis,
                                       bool dry_run) {
  SnapshotManager snapshots(ctx->path());
  ManifestIO io(ctx->paths().ManifestDir(), ctx->schema().PartitionType(), ctx->options().manifest_compression(),
                ctx->schema().id);
  KL_ASSIGN_OR_RETURN(std::vector<int64_t> ids, snapshots.ListIds());
  std::set<std::string> referenced;
  for (int64_t id : ids) {
    auto s = snapshots.Read(id);
    if (!s.ok()) {
      if (s.status().IsNotFound()) continue;
      return s.status();
    }
    KL_RETURN_IF_ERROR(CollectReferences(ctx, io, *s, &referenced));
  }
  std::vector<std::string> files;
  ListFilesRecursive(ctx->path(), "", &files);
  OrphanResult result;
  for (const auto& rel : files) {
    // Metadata that is not referenced by manifests is never an orphan.
    if (rel.rfind("snapshot/", 0) == 0 || rel.rfind("schema/", 0) == 0 || rel.rfind("tag/", 0) == 0 ||
        rel.rfind("branch/", 0) == 0 || rel.rfind("consumer/", 0) == 0) {
      continue;
    }
    std::string path = JoinPath(ctx->path(), rel);
    if (referenced.count(path) != 0) continue;
    auto mtime = FileModifiedMillis(path);
    if (!mtime.ok() || *mtime > older_than_millis) continue;
    if (!dry_run) KL_RETURN_IF_ERROR(RemoveFile(path));
    result.deleted.push_back(rel);
  }
  return result;
}

}  // namespace kl::table
