#include "table/operation/commit.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "common/worker_pool.h"
#include "spdlog/spdlog.h"
#include "table/data/binary_row.h"
#include "table/data/file_format.h"
#include "table/manifest/manifest_merge.h"

namespace kl::table {
namespace {

Result<std::vector<ManifestEntry>> ReadList(const ManifestIO& io, const std::string& list) {
  KL_ASSIGN_OR_RETURN(std::vector<ManifestFileMeta> metas, io.ReadManifestList(list));
  std::vector<ManifestEntry> entries;
  for (const auto& m : metas) {
    KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> e, io.ReadManifest(m.file_name));
    entries.insert(entries.end(), std::make_move_iterator(e.begin()), std::make_move_iterator(e.end()));
  }
  return entries;
}

// Threads that wait for syncs: apart from the workers that take the CPU's tasks, so a
// sync never queues behind a compaction. A merge of many manifests shares a few of them.
constexpr size_t kMaxParallelManifestSyncs = 8;
WorkerPool& SyncPool() {
  // Never destroyed: helpers block idle at exit.
  static WorkerPool* pool = new WorkerPool(0, "kl-sync");
  return *pool;
}

int64_t RowCountDelta(const std::vector<ManifestEntry>& entries) {
  int64_t n = 0;
  for (const auto& e : entries) n += e.kind == FileKind::kAdd ? e.file.row_count : -e.file.row_count;
  return n;
}

}  // namespace

Result<std::vector<ManifestEntry>> ReadLiveEntries(const ManifestIO& io, const Snapshot& snapshot) {
  KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> entries, ReadList(io, snapshot.base_manifest_list));
  KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> delta, ReadList(io, snapshot.delta_manifest_list));
  entries.insert(entries.end(), std::make_move_iterator(delta.begin()), std::make_move_iterator(delta.end()));
  auto merged = MergeEntries(entries);
  if (!merged.ok()) return merged.status().WithContext("snapshot " + std::to_string(snapshot.id));
  return merged;
}

Result<std::vector<ManifestEntry>> ReadDeltaEntries(const ManifestIO& io, const Snapshot& snapshot) {
  return ReadList(io, snapshot.delta_manifest_list);
}

Result<std::vector<ManifestEntry>> ReadChangelogEntries(const ManifestIO& io, const Snapshot& snapshot) {
  if (!snapshot.changelog_manifest_list) return std::vector<ManifestEntry>{};
  return ReadList(io, *snapshot.changelog_manifest_list);
}

FileStoreCommit::FileStoreCommit(std::shared_ptr<TableContext> ctx)
    : ctx_(ctx),
      snapshots_(ctx->path()),
      manifests_(ctx->paths().ManifestDir(), ctx->schema().PartitionType(), ctx->options().manifest_compression(),
                 ctx->schema().id) {}

Result<std::optional<Snapshot>> FileStoreCommit::LatestSnapshotOf(const std::string& commit_user) const {
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> latest, snapshots_.LatestId());
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> earliest, snapshots_.EarliestId());
  if (!latest || !earliest) return std::optional<Snapshot>();
  for (int64_t id = *latest; id >= *earliest; --id) {
    auto s = snapshots_.Read(id);
    if (!s.ok()) {
      if (s.status().IsNotFound()) continue;  // expired while we looked
      return s.status();
    }
    if (s->commit_user == commit_user) return std::optional<Snapshot>(std::move(s).value());
  }
  return std::optional<Snapshot>();
}

Result<std::optional<int64_t>> FileStoreCommit::LatestCommitIdentifier(const std::string& commit_user) const {
  KL_ASSIGN_OR_RETURN(std::optional<Snapshot> s, LatestSnapshotOf(commit_user));
  if (!s) return std::optional<int64_t>();
  return std::optional<int64_t>(s->commit_identifier);
}

Result<CommitResult> FileStoreCommit::Commit(const CommitRequest& request) {
  // Readers of the table take manifest.format to read every manifest: Avro ones among
  // ORC ones would break them.
  if (ctx_->options().manifest_format() != "avro") {
    return Status::NotSupported("committing to " + ctx_->path() + ": its manifests are " +
                                ctx_->options().manifest_format() + "; kubelake writes Avro manifests only");
  }
  CommitResult result;
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> done, LatestCommitIdentifier(request.commit_user));
  if (done && *done >= request.commit_identifier) {
    result.already_committed = true;
    return result;
  }
  std::vector<ManifestEntry> append_delta, compact_delta, changelog;
  int64_t changelog_rows = 0;
  for (const auto& inc : request.increments) {
    auto entry = [&](FileKind kind, const DataFileMeta& f) {
      ManifestEntry e;
      e.kind = kind;
      e.partition = inc.partition;
      e.bucket = inc.bucket;
      e.total_buckets = inc.total_buckets;
      e.file = f;
      return e;
    };
    for (const auto& f : inc.new_files) append_delta.push_back(entry(FileKind::kAdd, f));
    for (const auto& f : inc.changelog_files) {
      changelog.push_back(entry(FileKind::kAdd, f));
      changelog_rows += f.row_count;
    }
    for (const auto& f : inc.compact_before) compact_delta.push_back(entry(FileKind::kDelete, f));
    for (const auto& f : inc.compact_after) compact_delta.push_back(entry(FileKind::kAdd, f));
  }
  if (request.overwrite) {
    std::set<std::string> written;
    for (const auto& e : append_delta) written.insert(e.partition);
    // Dynamic partition overwrite that writes nothing replaces nothing (as Paimon's).
    bool skip = request.overwrite->kind == OverwriteScope::Kind::kWrittenPartitions && written.empty();
    if (!skip) {
      KL_ASSIGN_OR_RETURN(auto replaced, ReplacedPartitions(*request.overwrite, written));
      for (const auto& p : written) {
        if (!replaced(p)) {
          return Status::InvalidArgument("overwriting " + ctx_->path() +
                                         ": new files lie outside the partitions being overwritten");
        }
      }
      if (!changelog.empty()) {
        spdlog::warn("overwrite of {} drops {} changelog files: an overwrite commits no changelog", ctx_->path(),
                     changelog.size());
      }
      KL_ASSIGN_OR_RETURN(int64_t id, CommitOnce(request, CommitKind::kOverwrite, append_delta, {}, 0, replaced));
      result.snapshot_ids.push_back(id);
    }
    if (!compact_delta.empty()) {
      KL_ASSIGN_OR_RETURN(int64_t id, CommitOnce(request, CommitKind::kCompact, compact_delta, {}, 0));
      result.snapshot_ids.push_back(id);
    }
    return result;
  }
  bool has_append = !append_delta.empty() || !changelog.empty() || !request.index_changes.empty();
  if (has_append || (request.allow_empty && compact_delta.empty())) {
    KL_ASSIGN_OR_RETURN(int64_t id, CommitOnce(request, CommitKind::kAppend, append_delta, changelog, changelog_rows));
    result.snapshot_ids.push_back(id);
  }
  if (!compact_delta.empty()) {
    KL_ASSIGN_OR_RETURN(int64_t id, CommitOnce(request, CommitKind::kCompact, compact_delta, {}, 0));
    result.snapshot_ids.push_back(id);
  }
  return result;
}

Result<std::function<bool(const std::string&)>> FileStoreCommit::ReplacedPartitions(
    const OverwriteScope& scope, const std::set<std::string>& written) const {
  switch (scope.kind) {
    case OverwriteScope::Kind::kTable:
      return std::function<bool(const std::string&)>([](const std::string&) { return true; });
    case OverwriteScope::Kind::kWrittenPartitions:
      return std::function<bool(const std::string&)>([written](const std::string& p) { return written.count(p) > 0; });
    case OverwriteScope::Kind::kPartitionSpec: break;
  }
  format::RowType partition_type = ctx_->schema().PartitionType();
  // Partition column index -> the value it must have.
  std::vector<std::pair<size_t, format::Datum>> wanted;
  for (const auto& [name, value] : scope.spec) {
    int idx = partition_type.IndexOf(name);
    if (idx < 0) {
      return Status::InvalidArgument("overwriting " + ctx_->path() + ": \"" + name + "\" is not a partition column");
    }
    wanted.emplace_back(static_cast<size_t>(idx), value);
  }
  std::vector<format::DataType> types = TypesOf(partition_type);
  std::string path = ctx_->path();
  return std::function<bool(const std::string&)>([wanted, types, path](const std::string& p) {
    auto row = DeserializeBinaryRow(p, types);
    if (!row.ok()) {
      spdlog::warn("{}: unreadable partition in a manifest: {}", path, row.status().ToString());
      return false;
    }
    for (const auto& [idx, value] : wanted) {
      const format::Datum& have = (*row)[idx];
      if (have.is_null() != value.is_null()) return false;
      if (!have.is_null() && format::CompareDatum(have, value) != 0) return false;
    }
    return true;
  });
}

Result<std::string> FileStoreCommit::WriteNextIndexManifest(const std::optional<std::string>& previous,
                                                            const std::vector<IndexManifestEntry>& changes) const {
  std::vector<IndexManifestEntry> entries;
  if (previous) {
    auto read = ReadIndexManifest(JoinPath(manifests_.dir(), *previous));
    if (!read.ok()) return read.status().WithContext("reading the latest index manifest");
    entries = std::move(read).value();
  }
  KL_ASSIGN_OR_RETURN(entries, CombineIndexEntries(entries, changes));
  std::string name = "index-manifest-" + RandomUuid() + "-0";
  KL_RETURN_IF_ERROR(
      WriteIndexManifest(JoinPath(manifests_.dir(), name), entries, ctx_->options().manifest_compression()).status());
  return name;
}

Result<std::optional<std::string>> FileStoreCommit::WriteOverwriteIndexManifest(
    const std::optional<std::string>& previous, const std::vector<IndexManifestEntry>& changes,
    const std::function<bool(const std::string&)>& replaced) const {
  if (!previous && changes.empty()) return std::optional<std::string>();
  std::vector<IndexManifestEntry> kept;
  size_t dropped = 0;
  if (previous) {
    auto read = ReadIndexManifest(JoinPath(manifests_.dir(), *previous));
    if (!read.ok()) return read.status().WithContext("reading the latest index manifest");
    for (auto& e : *read) {
      if (replaced(e.partition)) {
        ++dropped;
      } else {
        kept.push_back(std::move(e));
      }
    }
  }
  if (dropped == 0 && changes.empty()) return std::optional<std::string>(previous);
  KL_ASSIGN_OR_RETURN(std::vector<IndexManifestEntry> entries, CombineIndexEntries(kept, changes));
  std::string name = "index-manifest-" + RandomUuid() + "-0";
  KL_RETURN_IF_ERROR(
      WriteIndexManifest(JoinPath(manifests_.dir(), name), entries, ctx_->options().manifest_compression()).status());
  return std::optional<std::string>(name);
}

Result<int64_t> FileStoreCommit::CommitOnce(const CommitRequest& request, CommitKind kind,
                                            const std::vector<ManifestEntry>& delta,
                                            const std::vector<ManifestEntry>& changelog, int64_t changelog_rows,
                                            const std::function<bool(const std::string&)>& replaced) {
  const TableOptions& opts = ctx_->options();
  std::vector<std::string> written;  // manifest files of failed attempts are removed
  auto cleanup = [&]() {
    for (const auto& f : written) (void)RemoveFile(JoinPath(manifests_.dir(), f));
    written.clear();
  };
  int max_retries = std::max(1, opts.commit_max_retries());
  Random retry_rng(std::hash<std::string>()(request.commit_user) ^ static_cast<uint64_t>(NowMillis()));
  for (int attempt = 0; attempt <= max_retries; ++attempt) {
    KL_ASSIGN_OR_RETURN(std::optional<Snapshot> latest, snapshots_.Latest());
    // Base of the new snapshot: everything live in the latest one.
    std::vector<ManifestFileMeta> base_metas;
    int64_t total = 0;
    if (latest) {
      KL_ASSIGN_OR_RETURN(std::vector<ManifestFileMeta> base, manifests_.ReadManifestList(latest->base_manifest_list));
      KL_ASSIGN_OR_RETURN(std::vector<ManifestFileMeta> prev_delta,
                          manifests_.ReadManifestList(latest->delta_manifest_list));
      base_metas = std::move(base);
      base_metas.insert(base_metas.end(), prev_delta.begin(), prev_delta.end());
      total = latest->total_record_count.value_or(0);
    }
    // Conflict check: files this commit deletes must still be live. Not needed
    // while every snapshot since this committer's first is its own: nothing else
    // changed the table the deletes were planned on (reading every live entry made
    // each compaction's commit cost grow with the table). Once another committer's
    // snapshot has come between, even the latest being ours (an APPEND just before
    // this COMPACT) says nothing about the files planned on before it.
    if (latest && last_committed_ && latest->id != *last_committed_) others_committed_ = true;
    bool deletes = false;
    for (const auto& e : delta) deletes |= e.kind == FileKind::kDelete;
    bool check_deletes =
        deletes && (others_committed_ || !(latest && last_committed_ && latest->id == *last_committed_));
    // An overwrite deletes what is live in the replaced partitions at this attempt's base.
    std::vector<ManifestEntry> overwrite_delta;
    if (replaced && latest) {
      KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> live, ReadLiveEntries(manifests_, *latest));
      for (const auto& e : live) {
        if (!replaced(e.partition)) continue;
        ManifestEntry d = e;
        d.kind = FileKind::kDelete;
        overwrite_delta.push_back(std::move(d));
      }
    }
    if (replaced) overwrite_delta.insert(overwrite_delta.end(), delta.begin(), delta.end());
    const std::vector<ManifestEntry>& delta_now = replaced ? overwrite_delta : delta;
    if (!replaced && latest && check_deletes) {
      KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> live, ReadLiveEntries(manifests_, *latest));
      std::set<std::string> ids;
      for (const auto& e : live) ids.insert(e.Identifier());
      for (const auto& e : delta) {
        if (e.kind == FileKind::kDelete && ids.count(e.Identifier()) == 0) {
          cleanup();
          return Status::Conflict("file " + e.file.file_name + " (bucket " + std::to_string(e.bucket) +
                                  ") was already removed by another commit; redo the compaction");
        }
      }
    } else if (deletes && !latest) {
      cleanup();
      return Status::Conflict("compaction deletes files but the table has no snapshot");
    }
    // The inherited manifests, merged as Paimon merges them, become the new base.
    auto merged = MergeManifests(manifests_, base_metas, ManifestMergeOptions::FromTable(opts), &written);
    if (!merged.ok()) {
      cleanup();
      return merged.status().WithContext("merging the manifests of " + ctx_->path());
    }
    base_metas = std::move(merged).value();
    int64_t base_size = 0, delta_size = 0, changelog_size = 0;
    auto base_list = manifests_.WriteManifestList(base_metas, &base_size);
    if (!base_list.ok()) {
      cleanup();
      return base_list.status();
    }
    written.push_back(*base_list);
    auto delta_metas = manifests_.WriteManifests(delta_now, opts.manifest_target_size());
    if (!delta_metas.ok()) {
      cleanup();
      return delta_metas.status();
    }
    for (const auto& m : *delta_metas) written.push_back(m.file_name);
    auto delta_list = manifests_.WriteManifestList(*delta_metas, &delta_size);
    if (!delta_list.ok()) {
      cleanup();
      return delta_list.status();
    }
    written.push_back(*delta_list);
    std::optional<std::string> changelog_list;
    if (!changelog.empty()) {
      auto cl_metas = manifests_.WriteManifests(changelog, opts.manifest_target_size());
      if (!cl_metas.ok()) {
        cleanup();
        return cl_metas.status();
      }
      for (const auto& m : *cl_metas) written.push_back(m.file_name);
      auto cl_list = manifests_.WriteManifestList(*cl_metas, &changelog_size);
      if (!cl_list.ok()) {
        cleanup();
        return cl_list.status();
      }
      written.push_back(*cl_list);
      changelog_list = *cl_list;
    }

    Snapshot s;
    s.id = latest ? latest->id + 1 : 1;
    s.schema_id = ctx_->schema().id;
    s.base_manifest_list = *base_list;
    s.base_manifest_list_size = base_size;
    s.delta_manifest_list = *delta_list;
    s.delta_manifest_list_size = delta_size;
    if (changelog_list) {
      s.changelog_manifest_list = changelog_list;
      s.changelog_manifest_list_size = changelog_size;
    }
    if (latest && latest->index_manifest) s.index_manifest = latest->index_manifest;
    if (replaced) {
      // The replaced partitions' index files (HASH, deletion vectors) go with their data files.
      auto index_manifest =
          WriteOverwriteIndexManifest(latest ? latest->index_manifest : std::nullopt, request.index_changes, replaced);
      if (!index_manifest.ok()) {
        cleanup();
        return index_manifest.status();
      }
      if (index_manifest->has_value() && (!latest || *index_manifest != latest->index_manifest)) {
        written.push_back(**index_manifest);
      }
      s.index_manifest = *index_manifest;
    } else if (kind == CommitKind::kAppend && !request.index_changes.empty()) {
      auto index_manifest =
          WriteNextIndexManifest(latest ? latest->index_manifest : std::nullopt, request.index_changes);
      if (!index_manifest.ok()) {
        cleanup();
        return index_manifest.status();
      }
      written.push_back(*index_manifest);
      s.index_manifest = *index_manifest;
    }
    s.commit_user = request.commit_user;
    s.commit_identifier = request.commit_identifier;
    s.commit_kind = kind;
    s.time_millis = NowMillis();
    // Offsets accumulate: partitions this commit did not touch keep their last offset.
    if (latest) s.log_offsets = latest->log_offsets;
    for (const auto& [p, o] : request.log_offsets) s.log_offsets[p] = o;
    int64_t delta_rows = RowCountDelta(delta_now);
    s.delta_record_count = delta_rows;
    s.total_record_count = total + delta_rows;
    s.changelog_record_count = changelog_rows;
    s.next_row_id = 0;

    // The snapshot is synced, so the manifests it names must be on disk first:
    // otherwise a power cut could leave a durable snapshot naming a manifest
    // that was never written out (data files are synced as they close).
    // They are synced side by side: each sync waits for the device to flush its cache, and
    // the waits of one commit's 3-5 files, one after another, made up most of its wall time
    // on a loaded machine (what a change waits for on its way to ADS).
    if (opts.data_file_sync()) {
      double helper_cpu = 0;
      Status synced = SyncPool().Run(
          written.size(), static_cast<int>(std::min(written.size(), kMaxParallelManifestSyncs)),
          [&](size_t i) { return SyncFile(JoinPath(manifests_.dir(), written[i])); }, &helper_cpu);
      helper_cpu_ += helper_cpu;
      if (!synced.ok()) {
        cleanup();
        return synced.WithContext("committing to " + ctx_->path());
      }
    }
    Status st = snapshots_.Commit(s);
    if (st.ok()) {
      last_committed_ = s.id;
      (void)snapshots_.WriteLatestHint(s.id);
      if (s.id == 1) (void)snapshots_.WriteEarliestHint(1);
      return s.id;
    }
    cleanup();
    if (!st.IsConflict()) return st;
    spdlog::debug("commit of {} lost the race for snapshot {}; retrying", ctx_->path(), s.id);
    // Another writer took the id. If that was an earlier attempt of this very
    // commit (same user and identifier), it is done.
    KL_ASSIGN_OR_RETURN(std::optional<int64_t> done, LatestCommitIdentifier(request.commit_user));
    if (done && *done >= request.commit_identifier && kind != CommitKind::kCompact) {
      return Status::AlreadyExists("commit " + std::to_string(request.commit_identifier) + " already landed");
    }
    // Writers that lost the same race retry at random moments of a growing window,
    // so they do not collide again and again (Paimon's commit.min/max-retry-wait).
    int64_t window =
        std::min(opts.commit_max_retry_wait_ms(), opts.commit_min_retry_wait_ms() << std::min(attempt, 20));
    std::this_thread::sleep_for(std::chrono::milliseconds(
        opts.commit_min_retry_wait_ms() / 2 +
        static_cast<int64_t>(retry_rng.Uniform(static_cast<uint64_t>(std::max<int64_t>(window, 1))))));
  }
  return Status::Conflict("gave up committing to " + ctx_->path() + " after " + std::to_string(max_retries) +
                          " attempts lost to concurrent writers");
}

}  // namespace kl::table
