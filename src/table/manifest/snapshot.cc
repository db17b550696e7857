#include "table/manifest/snapshot.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "common/file/file_util.h"
#include "common/file/parsed_file_cache.h"
#include "common/json.h"
#include "common/string_util.h"
#include "table/manifest/commit_signal.h"

namespace kl::table {

std::string_view CommitKindName(CommitKind kind) {
  switch (kind) {
    case CommitKind::kAppend: return "APPEND";
    case CommitKind::kCompact: return "COMPACT";
    case CommitKind::kOverwrite: return "OVERWRITE";
    case CommitKind::kAnalyze: return "ANALYZE";
  }
  return "APPEND";
}

std::string Snapshot::ToJson() const {
  JsonWriter w(/*pretty=*/true);
  auto opt_int = [&](const char* key, const std::optional<int64_t>& v) {
    if (v) w.Key(key).Int(*v);
  };
  w.BeginObject();
  w.Key("version").Int(kVersion);
  w.Key("id").Int(id);
  w.Key("schemaId").Int(schema_id);
  w.Key("baseManifestList").String(base_manifest_list);
  opt_int("baseManifestListSize", base_manifest_list_size);
  w.Key("deltaManifestList").String(delta_manifest_list);
  opt_int("deltaManifestListSize", delta_manifest_list_size);
  w.Key("changelogManifestList");
  if (changelog_manifest_list)
    w.String(*changelog_manifest_list);
  else
    w.Null();
  opt_int("changelogManifestListSize", changelog_manifest_list_size);
  if (index_manifest) w.Key("indexManifest").String(*index_manifest);
  w.Key("commitUser").String(commit_user);
  w.Key("commitIdentifier").Int(commit_identifier);
  w.Key("commitKind").String(CommitKindName(commit_kind));
  w.Key("timeMillis").Int(time_millis);
  w.Key("logOffsets").BeginObject();
  for (const auto& [partition, offset] : log_offsets) w.Key(std::to_string(partition)).Int(offset);
  w.EndObject();
  opt_int("totalRecordCount", total_record_count);
  opt_int("deltaRecordCount", delta_record_count);
  opt_int("changelogRecordCount", changelog_record_count);
  opt_int("watermark", watermark);
  opt_int("nextRowId", next_row_id);
  w.EndObject();
  return w.Release();
}

Result<Snapshot> Snapshot::FromJson(std::string_view json, std::string_view what) {
  KL_ASSIGN_OR_RETURN(JsonValue root, ParseJson(json, what));
  auto fail = [&](const Status& s) { return s.WithContext(what); };
  Snapshot s;
  auto get_int = [&](const char* key, int64_t* dst) -> Status {
    auto v = root.GetInt(key);
    if (!v.ok()) return v.status();
    *dst = *v;
    return Status::OK();
  };
  auto opt_int = [&](const char* key) -> std::optional<int64_t> {
    const JsonValue* v = root.Find(key);
    if (v == nullptr || !v->is_number()) return std::nullopt;
    return v->as_int();
  };
  Status st = get_int("id", &s.id);
  if (st.ok()) st = get_int("schemaId", &s.schema_id);
  if (st.ok()) st = get_int("commitIdentifier", &s.commit_identifier);
  if (st.ok()) st = get_int("timeMillis", &s.time_millis);
  if (!st.ok()) return fail(st);
  auto base = root.GetString("baseManifestList");
  if (!base.ok()) return fail(base.status());
  s.base_manifest_list = *base;
  auto delta = root.GetString("deltaManifestList");
  if (!delta.ok()) return fail(delta.status());
  s.delta_manifest_list = *delta;
  s.base_manifest_list_size = opt_int("baseManifestListSize");
  s.delta_manifest_list_size = opt_int("deltaManifestListSize");
  if (const JsonValue* c = root.Find("changelogManifestList"); c != nullptr && c->is_string()) {
    s.changelog_manifest_list = c->as_string();
  }
  s.changelog_manifest_list_size = opt_int("changelogManifestListSize");
  if (const JsonValue* i = root.Find("indexManifest"); i != nullptr && i->is_string())
    s.index_manifest = i->as_string();
  s.commit_user = root.GetStringOr("commitUser", "");
  std::string kind = root.GetStringOr("commitKind", "APPEND");
  if (kind == "APPEND")
    s.commit_kind = CommitKind::kAppend;
  else if (kind == "COMPACT")
    s.commit_kind = CommitKind::kCompact;
  else if (kind == "OVERWRITE")
    s.commit_kind = CommitKind::kOverwrite;
  else if (kind == "ANALYZE")
    s.commit_kind = CommitKind::kAnalyze;
  else
    return fail(Status::Corruption("unknown commitKind \"" + kind + "\""));
  if (const JsonValue* offsets = root.Find("logOffsets"); offsets != nullptr && offsets->is_object()) {
    for (const auto& [k, v] : offsets->members()) {
      auto partition = ParseInt64(k);
      if (!partition || !v.is_number()) return fail(Status::Corruption("bad logOffsets entry \"" + k + "\""));
      s.log_offsets[static_cast<int32_t>(*partition)] = v.as_int();
    }
  }
  s.total_record_count = opt_int("totalRecordCount");
  s.delta_record_count = opt_int("deltaRecordCount");
  s.changelog_record_count = opt_int("changelogRecordCount");
  s.watermark = opt_int("watermark");
  s.next_row_id = opt_int("nextRowId");
  return s;
}

namespace {

// Parsed snapshot files and the latest id last found per table: a snapshot file never
// changes once written (it is created only if absent), yet every query reads its table's
// latest one.
ParsedFileCache<Snapshot>& ParsedSnapshots() {
  static auto* cache = new ParsedFileCache<Snapshot>(&Snapshot::FromJson, 4096);
  return *cache;
}

}  // namespace

SnapshotManager::SnapshotManager(std::string table_path) : table_path_(std::move(table_path)) {}

std::string SnapshotManager::SnapshotDir() const { return JoinPath(table_path_, "snapshot"); }

std::string SnapshotManager::SnapshotPath(int64_t id) const {
  return JoinPath(SnapshotDir(), "snapshot-" + std::to_string(id));
}

bool SnapshotManager::Exists(int64_t id) const { return FileExists(SnapshotPath(id)); }

Result<Snapshot> SnapshotManager::Read(int64_t id) const { return ParsedSnapshots().Read(SnapshotPath(id)); }

Result<std::vector<int64_t>> SnapshotManager::ListIds() const {
  auto names = ListDir(SnapshotDir());
  if (!names.ok()) {
    if (names.status().IsNotFound()) return std::vector<int64_t>{};
    return names.status();
  }
  std::vector<int64_t> ids;
  for (const auto& n : *names) {
    if (n.rfind("snapshot-", 0) != 0) continue;
    if (auto id = ParseInt64(n.substr(9))) ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::optional<int64_t>> SnapshotManager::ReadHint(const std::string& name) const {
  auto text = ReadFile(JoinPath(SnapshotDir(), name));
  if (!text.ok()) return std::optional<int64_t>();
  auto id = ParseInt64(Trim(*text));
  if (!id) return std::optional<int64_t>();
  return std::optional<int64_t>(*id);
}

Result<std::optional<int64_t>> SnapshotManager::LatestId() const {
  // Snapshot ids are contiguous (commits take the next one, expiry removes the oldest), so
  // the id found last time in this process is still the latest while its file is there and
  // the next one's is not, as the LATEST hint would tell after a read of it: two stat() calls.
  ParsedFileCache<Snapshot>& parsed = ParsedSnapshots();
  std::string dir = SnapshotDir();
  if (auto last = parsed.LatestHint(dir); last && Exists(*last)) {
    int64_t id = *last;
    while (Exists(id + 1)) ++id;
    if (id != *last) parsed.SetLatestHint(dir, id);
    return std::optional<int64_t>(id);
  }
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> hint, ReadHint("LATEST"));
  std::optional<int64_t> latest;
  if (hint && Exists(*hint)) {
    // The hint may lag behind: step forward while newer snapshots exist.
    int64_t id = *hint;
    while (Exists(id + 1)) ++id;
    latest = id;
  } else {
    KL_ASSIGN_OR_RETURN(std::vector<int64_t> ids, ListIds());
    if (!ids.empty()) latest = ids.back();
  }
  if (latest) parsed.SetLatestHint(dir, *latest);
  return latest;
}

Result<std::optional<int64_t>> SnapshotManager::EarliestId() const {
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> hint, ReadHint("EARLIEST"));
  if (hint && Exists(*hint) && !Exists(*hint - 1)) return hint;
  KL_ASSIGN_OR_RETURN(std::vector<int64_t> ids, ListIds());
  if (ids.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(ids.front());
}

Result<std::optional<Snapshot>> SnapshotManager::Latest() const {
  // The latest id found before, read first: its stat() (reading a parsed snapshot) shows
  // the file is still there, so only the next one's absence is left to check, as LatestId
  // would: two system calls, not three.
  if (auto last = ParsedSnapshots().LatestHint(SnapshotDir())) {
    auto s = Read(*last);
    if (s.ok() && !Exists(*last + 1)) return std::optional<Snapshot>(std::move(s).value());
  }
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> id, LatestId());
  if (!id) return std::optional<Snapshot>();
  KL_ASSIGN_OR_RETURN(Snapshot s, Read(*id));
  return std::optional<Snapshot>(std::move(s));
}

Result<std::optional<Snapshot>> SnapshotManager::AtOrBefore(int64_t time_millis) const {
  // Snapshot times increase with ids: a binary search reads O(log n) snapshots.
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> earliest, EarliestId());
  KL_ASSIGN_OR_RETURN(std::optional<int64_t> latest, LatestId());
  if (!earliest || !latest) return std::optional<Snapshot>();
  int64_t lo = *earliest, hi = *latest;
  std::optional<Snapshot> best;
  while (lo <= hi) {
    int64_t mid = lo + (hi - lo) / 2;
    auto s = Read(mid);
    if (!s.ok()) {
      if (!s.status().IsNotFound()) return s.status();
      lo = mid + 1;  // expired meanwhile: only later ones can qualify
      continue;
    }
    if (s->time_millis <= time_millis) {
      best = std::move(s).value();
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}

namespace {

struct CommitSignal {
  std::mutex mu;
  std::condition_variable committed;
  std::map<std::string, uint64_t> counts;  // by table path
};

CommitSignal& Signal() {
  static CommitSignal* signal = new CommitSignal();  // never destroyed: jobs may wait at exit
  return *signal;
}

}  // namespace

uint64_t SnapshotsCommittedHere(const std::string& table_path) {
  CommitSignal& s = Signal();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.counts.find(table_path);
  return it == s.counts.end() ? 0 : it->second;
}

void WaitForSnapshotCommittedHere(const std::string& table_path, uint64_t seen, int64_t timeout_ms) {
  CommitSignal& s = Signal();
  std::unique_lock<std::mutex> lock(s.mu);
  s.committed.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(0, timeout_ms)), [&] {
    auto it = s.counts.find(table_path);
    return (it == s.counts.end() ? 0 : it->second) != seen;
  });
}

Status SnapshotManager::Commit(const Snapshot& snapshot) const {
  KL_RETURN_IF_ERROR(CreateDirs(SnapshotDir()));
  Status s = WriteFileIfAbsent(SnapshotPath(snapshot.id), snapshot.ToJson());
  if (s.IsAlreadyExists()) {
    return Status::Conflict("snapshot " + std::to_string(snapshot.id) + " was committed by another writer");
  }
  if (s.ok()) {
    CommitSignal& signal = Signal();
    {
      std::lock_guard<std::mutex> lock(signal.mu);
      ++signal.counts[table_path_];
    }
    signal.committed.notify_all();
  }
  return s;
}

// Hints are rewritten in place, not through a new file renamed over the old
// one: a new inode per commit made file creation itself a cost (ext4 searches
// past recently freed inodes); nor truncated first, which cost as much again
// (freeing, discarding and at close writing out the block). A reader that catches a hint mid-write reads
// nothing or a wrong id, and every reader checks hints against the snapshot
// files (LatestId, EarliestId) and falls back to listing them.
Status SnapshotManager::WriteLatestHint(int64_t id) const {
  return OverwriteFile(JoinPath(SnapshotDir(), "LATEST"), std::to_string(id));
}

Status SnapshotManager::WriteEarliestHint(int64_t id) const {
  return OverwriteFile(JoinPath(SnapshotDir(), "EARLIEST"), std::to_string(id));
}

}  // namespace kl::table
