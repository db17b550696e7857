#include "table/operation/maintenance.h"

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_set>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "spdlog/spdlog.h"
#include "table/index/index_manifest.h"
#include "table/manifest/snapshot.h"
#include "table/operation/commit.h"
#include "table/operation/consumer.h"
#include "table/tag/tag.h"

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

// What a snapshot (or tag) needs to be read as a whole: its base and delta
// manifest lists, their manifests and its index manifest (paths into `meta`),
// and the index files that lists (into `index`).
Status CollectReadMetadata(const std::shared_ptr<TableContext>& ctx, const ManifestIO& io, const Snapshot& s,
                           std::set<std::string>* meta, std::set<std::string>* index) {
  for (const auto& list : {s.base_manifest_list, s.delta_manifest_list}) {
    meta->insert(JoinPath(io.dir(), list));
    KL_ASSIGN_OR_RETURN(std::vector<ManifestFileMeta> metas, io.ReadManifestList(list));
    for (const auto& m : metas) meta->insert(JoinPath(io.dir(), m.file_name));
  }
  if (s.index_manifest) {
    meta->insert(JoinPath(io.dir(), *s.index_manifest));
    KL_ASSIGN_OR_RETURN(std::vector<std::string> index_files, IndexFilesOf(ctx, io.dir(), *s.index_manifest));
    index->insert(index_files.begin(), index_files.end());
  }
  return Status::OK();
}

// A data file as tags hold it: partition, bucket and name (a file moved up a
// level without a rewrite is the same file).
std::string DataFileKey(const ManifestEntry& e) {
  std::string key = e.partition;
  key += '\x1f';
  key += std::to_string(e.bucket);
  key += '\x1f';
  key += e.file.file_name;
  return key;
}

using FileKeys = std::unordered_set<std::string>;

// The data files live in a tagged snapshot. Every expiry after a tag asks for
// the same set, so a few are kept per process (tags never change).
Result<std::shared_ptr<const FileKeys>> LiveFileKeys(const ManifestIO& io, const Snapshot& s) {
  static std::mutex mu;
  static auto* cache = new std::map<std::string, std::shared_ptr<const FileKeys>>();
  std::string key = io.dir() + '\n' + s.base_manifest_list + '\n' + s.delta_manifest_list;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache->find(key);
    if (it != cache->end()) return it->second;
  }
  KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> live, ReadLiveEntries(io, s));
  auto keys = std::make_shared<FileKeys>();
  for (const auto& e : live) keys->insert(DataFileKey(e));
  std::lock_guard<std::mutex> lock(mu);
  if (cache->size() >= 32) cache->erase(cache->begin());
  (*cache)[key] = keys;
  return std::shared_ptr<const FileKeys>(keys);
}

// The snapshots the table's tags name, by id, each once.
Result<std::vector<Snapshot>> TaggedSnapshots(const std::string& table_path) {
  KL_ASSIGN_OR_RETURN(std::vector<Tag> tags, TagManager(table_path).ReadAll());
  std::vector<Snapshot> out;
  for (auto& t : tags) {
    if (out.empty() || out.back().id != t.snapshot.id) out.push_back(std::move(t.snapshot));
  }
  return out;
}

// Index of the last tagged snapshot before `id` (at or before, with `or_equal`); -1 if none.
int PreviousTag(const std::vector<Snapshot>& tagged, int64_t id, bool or_equal = false) {
  int found = -1;
  for (size_t i = 0; i < tagged.size(); ++i) {
    if (tagged[i].id < id || (or_equal && tagged[i].id == id)) found = static_cast<int>(i);
  }
  return found;
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
  std::set<std::string> kept_index;  // index files the first retained snapshot (or a tag) lists
  KL_RETURN_IF_ERROR(CollectReadMetadata(ctx, io, first_kept, &kept_meta, &kept_index));
  // Tags keep what they need to be read: the manifests of the tags among the
  // expired snapshots, and of the last tag before them (a manifest lives over a
  // contiguous run of snapshots, so an older tag's are either that one's too or
  // no expiring snapshot's), as Paimon's findSkippingTags.
  KL_ASSIGN_OR_RETURN(std::vector<Snapshot> tagged, TaggedSnapshots(ctx->path()));
  bool skip_metadata = false;
  if (int right = PreviousTag(tagged, ids[expire_count]); right >= 0) {
    int left = std::max(PreviousTag(tagged, ids[0], /*or_equal=*/true), 0);
    for (int t = left; t <= right; ++t) {
      Status st = CollectReadMetadata(ctx, io, tagged[static_cast<size_t>(t)], &kept_meta, &kept_index);
      if (!st.ok()) {
        // Better to leave manifests behind (remove-orphans finds them) than to break a tag.
        spdlog::warn(
            "expiring snapshots of {}: reading the manifests of the tag of snapshot {}: {}; "
            "manifests of the expired snapshots are left in place",
            ctx->path(), tagged[static_cast<size_t>(t)].id, st.ToString());
        skip_metadata = true;
      }
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
  // removed (a file moved up a level is removed and added by the same delta),
  // unless the last tag before that delta still holds them (a file is live
  // over a contiguous run of snapshots, so an older tag holding it means this
  // one does too).
  for (size_t i = 1; i <= expire_count; ++i) {
    KL_ASSIGN_OR_RETURN(const Snapshot* s, snapshot_at(i));
    auto read_delta = ReadDeltaEntries(io, *s);
    KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> delta,
                        i == expire_count ? std::move(read_delta) : entries_of_expiring(std::move(read_delta)));
    std::map<std::string, const ManifestEntry*> removed;  // path -> its DELETE entry
    for (const auto& e : delta) {
      if (e.kind == FileKind::kDelete) removed[ctx->paths().DataFilePath(e.partition, e.bucket, e.file)] = &e;
    }
    for (const auto& e : delta) {
      if (e.kind == FileKind::kAdd) removed.erase(ctx->paths().DataFilePath(e.partition, e.bucket, e.file));
    }
    if (removed.empty()) continue;
    std::shared_ptr<const FileKeys> tag_files;
    if (int t = PreviousTag(tagged, ids[i]); t >= 0) {
      auto keys = LiveFileKeys(io, tagged[static_cast<size_t>(t)]);
      if (!keys.ok()) {
        spdlog::warn(
            "expiring snapshots of {}: reading the files of the tag of snapshot {}: {}; the files "
            "snapshot {} removed are left in place",
            ctx->path(), tagged[static_cast<size_t>(t)].id, keys.status().ToString(), ids[i]);
        continue;
      }
      tag_files = *keys;
    }
    for (const auto& [path, entry] : removed) {
      if (tag_files && tag_files->count(DataFileKey(*entry)) != 0) continue;
      doomed.push_back(path);
    }
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
    if (skip_metadata) continue;
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

Result<DeleteTagResult> DeleteTag(const std::shared_ptr<TableContext>& ctx, const std::string& name) {
  TagManager tags(ctx->path());
  SnapshotManager snapshots(ctx->path());
  KL_ASSIGN_OR_RETURN(Tag tag, tags.Read(name));
  DeleteTagResult result;
  // While its snapshot is live, the snapshot's own expiry deals with its files.
  if (snapshots.Exists(tag.snapshot.id)) {
    KL_RETURN_IF_ERROR(tags.RemoveTagFile(name));
    return result;
  }
  KL_ASSIGN_OR_RETURN(std::vector<Tag> all, tags.ReadAll());
  KL_RETURN_IF_ERROR(tags.RemoveTagFile(name));
  std::vector<Snapshot> tagged;
  for (auto& t : all) {
    if (t.snapshot.id == tag.snapshot.id && t.name != name) return result;  // another tag still names it
    if (tagged.empty() || tagged.back().id != t.snapshot.id) tagged.push_back(std::move(t.snapshot));
  }
  // What stays needed: the tag before it, and the nearer of the tag after it and
  // the earliest snapshot (files and manifests live over contiguous runs of
  // snapshots, so these two neighbours cover every other holder).
  std::vector<Snapshot> neighbours;
  int at = PreviousTag(tagged, tag.snapshot.id);
  if (at >= 0) neighbours.push_back(tagged[static_cast<size_t>(at)]);
  std::optional<Snapshot> right;
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> earliest, snapshots.EarliestId());
  size_t next = static_cast<size_t>(at + 2);  // tagged[at + 1] is this tag's snapshot
  if (next < tagged.size() && (!earliest || tagged[next].id < *earliest)) {
    right = tagged[next];
  } else if (earliest) {
    auto s = snapshots.Read(*earliest);
    if (s.ok()) right = std::move(s).value();
  }
  if (right) neighbours.push_back(std::move(*right));

  ManifestIO io(ctx->paths().ManifestDir(), ctx->schema().PartitionType(), ctx->options().manifest_compression(),
                ctx->schema().id);
  auto plan = [&]() -> Result<std::vector<std::string>> {
    FileKeys keep_data;
    std::set<std::string> keep_meta, keep_index;
    for (const auto& n : neighbours) {
      KL_ASSIGN_OR_RETURN(std::shared_ptr<const FileKeys> keys, LiveFileKeys(io, n));
      keep_data.insert(keys->begin(), keys->end());
      KL_RETURN_IF_ERROR(CollectReadMetadata(ctx, io, n, &keep_meta, &keep_index));
    }
    std::vector<std::string> doomed;
    KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> live, ReadLiveEntries(io, tag.snapshot));
    for (const auto& e : live) {
      if (keep_data.count(DataFileKey(e)) == 0)
        doomed.push_back(ctx->paths().DataFilePath(e.partition, e.bucket, e.file));
    }
    std::set<std::string> meta, index;
    KL_RETURN_IF_ERROR(CollectReadMetadata(ctx, io, tag.snapshot, &meta, &index));
    for (const auto& f : index) {
      if (keep_index.count(f) == 0) doomed.push_back(f);
    }
    // Manifests before the lists that name them.
    std::vector<std::string> lists;
    for (const auto& f : meta) {
      if (keep_meta.count(f) != 0) continue;
      if (BaseName(f).rfind("manifest-list-", 0) == 0 || BaseName(f).rfind("index-manifest-", 0) == 0) {
        lists.push_back(f);
      } else {
        doomed.push_back(f);
      }
    }
    doomed.insert(doomed.end(), lists.begin(), lists.end());
    return doomed;
  };
  auto doomed = plan();
  if (!doomed.ok()) {
    // The tag is gone either way; what it held is left for remove-orphans.
    spdlog::warn("deleted tag '{}' of {}, but could not work out which files only it held: {}", name, ctx->path(),
                 doomed.status().ToString());
    return result;
  }
  for (const auto& path : *doomed) {
    if (!FileExists(path)) continue;
    KL_RETURN_IF_ERROR(RemoveFile(path));
    ++result.deleted_files;
  }
  return result;
}

Result<std::vector<std::string>> ExpireTagsByTime(const std::shared_ptr<TableContext>& ctx, int64_t now_wall) {
  KL_ASSIGN_OR_RETURN(std::vector<Tag> tags, TagManager(ctx->path()).ReadAll());
  std::vector<std::string> expired;
  for (const auto& t : tags) {
    if (!t.create_time || !t.time_retained_millis || now_wall <= *t.create_time + *t.time_retained_millis) continue;
    auto deleted = DeleteTag(ctx, t.name);
    if (!deleted.ok() && !deleted.status().IsNotFound()) return deleted.status();
    expired.push_back(t.name);
  }
  return expired;
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
  // Tags: what they are read with (not their changelog, which went with their snapshot).
  KL_ASSIGN_OR_RETURN(std::vector<Snapshot> tagged, TaggedSnapshots(ctx->path()));
  for (const auto& s : tagged) {
    KL_RETURN_IF_ERROR(CollectReadMetadata(ctx, io, s, &referenced, &referenced));
    KL_ASSIGN_OR_RETURN(std::vector<ManifestEntry> live, ReadLiveEntries(io, s));
    for (const auto& e : live) referenced.insert(ctx->paths().DataFilePath(e.partition, e.bucket, e.file));
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
