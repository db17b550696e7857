#include "table/operation/maintenance.h"

#include <map>
#include <set>

#include "common/clock.h"
#include "common/file_util.h"
#include "table/index/index_manifest.h"
#include "table/manifest/snapshot.h"
#include "table/operation/commit.h"
#include "table/operation/consumer.h"

namespace kl::table {
namespace {

// The paths of the index files (deletion vectors, dynamic-bucket HASH files) an index manifest lists.
Result<std::vector<std::string>> IndexFilesOf(const std::shared_ptr<TableContext>& ctx, const std::string& dir,
                                              const std::string& index_manifest) {
  KL_ASSIGN_OR_RETURN(std::vector<IndexManifestEntry> entries, ReadIndexManifest(JoinPath(dir, index_manifest)));
  bool in_data_dir = ctx->options().index_file_in_data_file_dir();
  std::vector<std::string> out;
  out.reserve(entries.size());
  for (const auto& e : entries) out.push_back(ctx->paths().IndexFilePath(e.partition, e.bucket, e.file, in_data_dir));
  return out;
}

// Every file path (absolute) a snapshot needs: its manifest lists, manifests,
// live data files, changelog files, index manifest and index files.
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
  if (s.index_manifest) {
    out->insert(JoinPath(dir, *s.index_manifest));
    KL_ASSIGN_OR_RETURN(std::vector<std::string> index_files, IndexFilesOf(ctx, dir, *s.index_manifest));
    out->insert(index_files.begin(), index_files.end());
  }
  return Status::OK();
}

void ListFilesRecursive(const std::string& root, const std::string& rel, std::vector<std::string>* out) {
  std::string dir = rel.empty() ? root : JoinPath(root, rel);
  auto names = ListDir(dir);
  if (!names.ok()) return;
  for (const auto& n : *names) {
    std::string child = rel.empty() ? n : JoinPath(rel, n);
    if (IsDirectory(JoinPath(root, child)))
      ListFilesRecursive(root, child, out);
    else
      out->push_back(child);
  }
}

}  // namespace

ExpireOptions ExpireOptions::FromTable(const TableOptions& options) {
  ExpireOptions o;
  o.retain_min = options.snapshot_num_retained_min();
  o.retain_max = options.snapshot_num_retained_max();
  o.max_expire = options.snapshot_expire_limit();
  o.older_than_millis = -1;
  int64_t consumer_ttl = options.consumer_expiration_ms();
  if (consumer_ttl >= 0) o.consumer_expire_millis = NowMillis() - consumer_ttl;
  return o;
}

Result<ExpireResult> ExpireSnapshots(const std::shared_ptr<TableContext>& ctx, const ExpireOptions& options) {
  SnapshotManager snapshots(ctx->path());
  ManifestIO io(ctx->paths().ManifestDir(), ctx->schema().PartitionType(), ctx->options().manifest_compression(),
                ctx->schema().id);
  ExpireResult result;
  ConsumerManager consumers(ctx->path());
  if (options.consumer_expire_millis >= 0) {
    KL_ASSIGN_OR_RETURN(result.expired_consumers, consumers.ExpireRecordedBefore(options.consumer_expire_millis));
  }
  // Snapshot ids run without gaps from the earliest to the latest, so the hints
  // (checked against the files) give them without listing the directory, whose
  // size would make every commit's expiry cost grow with the snapshots kept.
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> earliest, snapshots.EarliestId());
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> latest, snapshots.LatestId());
  if (!earliest || !latest) return result;
  std::vector<int64_t> ids;
  for (int64_t id = *earliest; id <= *latest; ++id) ids.push_back(id);
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> consumer_min, consumers.MinNextSnapshot());
  int64_t now = options.now_millis >= 0 ? options.now_millis : NowMillis();
  int64_t cutoff =
      options.older_than_millis >= 0 ? options.older_than_millis : now - ctx->options().snapshot_time_retained_ms();
  size_t retain_min = static_cast<size_t>(std::max(1, options.retain_min));
  size_t retain_max = static_cast<size_t>(std::max(options.retain_min, options.retain_max));
  size_t limit = static_cast<size_t>(std::max(0, options.max_expire));
  // Each snapshot is read once, by its position in `ids`.
  std::map<size_t, Snapshot> read;
  auto snapshot_at = [&](size_t i) -> Result<const Snapshot*> {
    auto it = read.find(i);
    if (it == read.end()) {
      KL_ASSIGN_OR_RETURN(Snapshot s, snapshots.Read(ids[i]));
      it = read.emplace(i, std::move(s)).first;
    }
    return &it->second;
  };
  // Expire from the oldest while: more than retain_max remain, or (more than
  // retain_min remain and the snapshot is older than the cutoff); never a
  // snapshot a consumer has yet to read, never more than the limit.
  size_t expire_count = 0;
  for (size_t i = 0; i < ids.size() && expire_count < limit; ++i) {
    size_t remaining = ids.size() - i;
    if (remaining <= retain_min) break;
    if (consumer_min && ids[i] >= *consumer_min) break;
    if (remaining > retain_max) {
      ++expire_count;
      continue;
    }
    KL_ASSIGN_OR_RETURN(const Snapshot* s, snapshot_at(i));
    if (s->time_millis >= cutoff) break;
    ++expire_count;
  }
  if (expire_count == 0) return result;

  // What the first retained snapshot still needs of the metadata: its manifest
  // lists and manifests (later snapshots only ever add to these). Its live data
  // files are not read (that would cost as much as the table is large): a data
  // file a delta removes is never live again, unless the same delta adds it back
  // (a file moved up a level), which is checked below.
  KL_ASSIGN_OR_RETURN(const Snapshot* kept, snapshot_at(expire_count));
  const Snapshot& first_kept = *kept;
  std::set<std::string> kept_meta;
  std::set<std::string> kept_index;  // index files the first retained snapshot lists
  {
    for (const auto& list : {first_kept.base_manifest_list, first_kept.delta_manifest_list}) {
      kept_meta.insert(JoinPath(io.dir(), list));
      KL_ASSIGN_OR_RETURN(std::vector<ManifestFileMeta> metas, io.ReadManifestList(list));
      for (const auto& m : metas) kept_meta.insert(JoinPath(io.dir(), m.file_name));
    }
    if (first_kept.index_manifest) {
      kept_meta.insert(JoinPath(io.dir(), *first_kept.index_manifest));
      KL_ASSIGN_OR_RETURN(std::vector<std::string> index_files,
                          IndexFilesOf(ctx, io.dir(), *first_kept.index_manifest));
      kept_index.insert(index_files.begin(), index_files.end());
    }
  }

  // An interrupted run may have deleted some metadata of the snapshots it was
  // expiring (never of retained ones): what is gone was dealt with then.
  auto entries_of_expiring = [](Result<std::vector<ManifestEntry>> r) -> Result<std::vector<ManifestEntry>> {
    if (!r.ok() && r.status().IsNotFound()) return std::vector<ManifestEntry>();
    return r;
  };
  std::vector<std::string> doomed;
  // Data files: those the deltas of the snapshots after each expired one
  // removed (a file moved up a level is removed and added by the same delta).
  for (size_t i = 1; i <= expire_count; ++i) {
    KL_ASSIGN_OR_RETURN(const Snapshot* s, snapshot_at(i));
    auto read_delta = ReadDeltaEntries(io, *s);
    KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> delta,
                        i == expire_count ? std::move(read_delta) : entries_of_expiring(std::move(read_delta)));
    std::set<std::string> removed;
    for (const auto& e : delta) {
      if (e.kind == FileKind::kDelete) removed.insert(ctx->paths().DataFilePath(e.partition, e.bucket, e.file));
    }
    for (const auto& e : delta) {
      if (e.kind == FileKind::kAdd) removed.erase(ctx->paths().DataFilePath(e.partition, e.bucket, e.file));
    }
    for (const auto& path : removed) doomed.push_back(path);
  }
  // Changelog files, manifest lists and manifests of the expired snapshots.
  std::set<std::string> expired_index_manifests;
  for (size_t i = 0; i < expire_count; ++i) {
    KL_ASSIGN_OR_RETURN(const Snapshot* expiring, snapshot_at(i));
    const Snapshot& s = *expiring;
    if (s.changelog_manifest_list) {
      KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> changelog, entries_of_expiring(ReadChangelogEntries(io, s)));
      for (const auto& e : changelog) doomed.push_back(ctx->paths().DataFilePath(e.partition, e.bucket, e.file));
    }
    std::vector<std::string> lists = {s.base_manifest_list, s.delta_manifest_list};
    if (s.changelog_manifest_list) lists.push_back(*s.changelog_manifest_list);
    for (const auto& list : lists) {
      std::string list_path = JoinPath(io.dir(), list);
      if (kept_meta.count(list_path) != 0 || !FileExists(list_path)) continue;
      auto metas = io.ReadManifestList(list);
      if (!metas.ok() && !metas.status().IsNotFound()) return metas.status();
      for (const auto& m : metas.ok() ? *metas : std::vector<ManifestFileMeta>()) {
        std::string path = JoinPath(io.dir(), m.file_name);
        if (kept_meta.count(path) == 0) doomed.push_back(path);
      }
      doomed.push_back(list_path);  // after its manifests: a rerun still finds them through it
    }
    // Index manifests are whole lists, shared by the snapshots between two index changes:
    // each expired one is read once, and its index files go unless the first kept
    // snapshot still lists them (index files, like data files, never come back).
    if (s.index_manifest) {
      std::string path = JoinPath(io.dir(), *s.index_manifest);
      if (kept_meta.count(path) == 0 && expired_index_manifests.insert(path).second && FileExists(path)) {
        auto index_files = IndexFilesOf(ctx, io.dir(), *s.index_manifest);
        if (!index_files.ok() && !index_files.status().IsNotFound()) return index_files.status();
        for (const auto& f : index_files.ok() ? *index_files : std::vector<std::string>()) {
          if (kept_index.count(f) == 0) doomed.push_back(f);
        }
        doomed.push_back(path);  // after its index files, for the same reason as manifest lists
      }
    }
  }
  std::set<std::string> deleted;
  for (const auto& path : doomed) {
    if (!deleted.insert(path).second || !FileExists(path)) continue;
    KL_RETURN_IF_ERROR(RemoveFile(path));
    ++result.deleted_files;
  }
  // Snapshot files last, oldest first, then the hint.
  for (size_t i = 0; i < expire_count; ++i) {
    KL_RETURN_IF_ERROR(RemoveFile(snapshots.SnapshotPath(ids[i])));
    result.expired_snapshots.push_back(ids[i]);
  }
  KL_RETURN_IF_ERROR(snapshots.WriteEarliestHint(ids[expire_count]));
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
