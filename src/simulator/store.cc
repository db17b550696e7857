#include "simulator/store.h"

#include <algorithm>
#include <chrono>

#include "common/json.h"
#include "common/string_util.h"

namespace kl::simulator {
namespace {

// Continue tokens are opaque to clients; this one is "<snapshot id>.<version>.<offset>".
std::string MakeToken(uint64_t id, uint64_t rv, size_t offset) {
  return std::to_string(id) + "." + std::to_string(rv) + "." + std::to_string(offset);
}

bool ParseToken(const std::string& token, uint64_t* id, uint64_t* rv, size_t* offset) {
  auto parts = Split(token, '.');
  if (parts.size() != 3) return false;
  auto a = ParseUint64(parts[0]), b = ParseUint64(parts[1]), c = ParseUint64(parts[2]);
  if (!a || !b || !c) return false;
  *id = *a;
  *rv = *b;
  *offset = static_cast<size_t>(*c);
  return true;
}

}  // namespace

bool Filter::Matches(const StoredObject& o) const {
  if (o.resource != resource) return false;
  if (!namespace_.empty() && o.namespace_ != namespace_) return false;
  if (!labels.empty() && !labels.Matches(o.labels)) return false;
  if (!fields.empty() && !fields.Matches(o.Fields())) return false;
  return true;
}

std::string GroundTruth::ToJson() const {
  JsonWriter w;
  w.BeginObject().Key("cluster").String(cluster).Key("resourceVersion").String(std::to_string(resource_version));
  w.Key("objects").BeginArray();
  for (const TruthObject& o : objects) {
    w.BeginObject().Key("uid").String(o.uid).Key("kind").String(o.kind).Key("namespace").String(o.namespace_);
    w.Key("name").String(o.name).Key("resourceVersion").String(std::to_string(o.rv)).EndObject();
  }
  w.EndArray().EndObject();
  return w.Release();
}

ClusterStore::ClusterStore(std::string cluster, Options options) : cluster_(std::move(cluster)), options_(options) {}

void ClusterStore::Record(Change change) {
  history_.push_back(std::move(change));
  while (history_.size() > options_.history_limit) {
    compacted_rv_ = history_.front().rv;
    history_.pop_front();
  }
  changed_.notify_all();
}

uint64_t ClusterStore::Put(int resource, const std::string& ns, const std::string& name, const Render& render) {
  std::lock_guard<std::mutex> lock(mu_);
  auto obj = std::make_shared<StoredObject>();
  obj->resource = resource;
  obj->namespace_ = ns;
  obj->name = name;
  obj->rv = ++rv_;
  render(obj->rv, obj.get());
  auto& slot = objects_[resource][Key(ns, name)];
  ObjectPtr before = slot;
  slot = obj;
  Record(Change{obj->rv, before ? ChangeType::kModified : ChangeType::kAdded, obj, before});
  return obj->rv;
}

bool ClusterStore::Delete(int resource, const std::string& ns, const std::string& name, const Render& render) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_[resource].find(Key(ns, name));
  if (it == objects_[resource].end()) return false;
  auto obj = std::make_shared<StoredObject>(*it->second);
  obj->rv = ++rv_;
  render(obj->rv, obj.get());
  objects_[resource].erase(it);
  Record(Change{obj->rv, ChangeType::kDeleted, obj, nullptr});
  return true;
}

ObjectPtr ClusterStore::Get(int resource, const std::string& ns, const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_[resource].find(Key(ns, name));
  return it == objects_[resource].end() ? nullptr : it->second;
}

size_t ClusterStore::Count(int resource) const {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_[resource].size();
}

std::vector<ObjectPtr> ClusterStore::All(int resource) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_[resource].size());
  for (const auto& [key, obj] : objects_[resource]) out.push_back(obj);
  return out;
}

uint64_t ClusterStore::resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rv_;
}

uint64_t ClusterStore::compacted_rv() const {
  std::lock_guard<std::mutex> lock(mu_);
  return compacted_rv_;
}

Result<ListResult> ClusterStore::List(const Filter& filter, size_t limit, const std::string& continue_token,
                                      int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  // Forget snapshots that expired by age or compaction.
  for (auto it = snapshots_.begin(); it != snapshots_.end();) {
    bool stale = now_ms - it->second.created_ms > options_.continue_ttl_ms || it->second.rv < compacted_rv_;
    it = stale ? snapshots_.erase(it) : std::next(it);
  }
  uint64_t id = 0, rv = 0;
  size_t offset = 0;
  const Snapshot* snapshot = nullptr;
  Snapshot fresh;
  if (!continue_token.empty()) {
    if (!ParseToken(continue_token, &id, &rv, &offset)) {
      return Status::InvalidArgument("continue key is not valid: " + continue_token);
    }
    auto it = snapshots_.find(id);
    if (it == snapshots_.end() || it->second.rv != rv) {
      return Status::Expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list "
          "without the continue parameter.");
    }
    snapshot = &it->second;
  } else {
    fresh.rv = rv_;
    fresh.created_ms = now_ms;
    for (const auto& [key, obj] : objects_[filter.resource]) {
      if (filter.Matches(*obj)) fresh.items.push_back(obj);
    }
    snapshot = &fresh;
  }
  ListResult result;
  result.rv = snapshot->rv;
  size_t end = limit == 0 ? snapshot->items.size() : std::min(snapshot->items.size(), offset + limit);
  if (offset > snapshot->items.size()) offset = snapshot->items.size();
  result.items.assign(snapshot->items.begin() + static_cast<ptrdiff_t>(offset),
                      snapshot->items.begin() + static_cast<ptrdiff_t>(end));
  result.remaining = static_cast<int64_t>(snapshot->items.size() - end);
  if (end < snapshot->items.size()) {
    if (snapshot == &fresh) {
      id = next_snapshot_id_++;
      rv = fresh.rv;
      snapshots_.emplace(id, std::move(fresh));
      while (snapshots_.size() > options_.max_snapshots) snapshots_.erase(snapshots_.begin());
    }
    result.continue_token = MakeToken(id, rv, end);
  }
  return result;
}

Status ClusterStore::WaitChanges(const Filter& filter, uint64_t* cursor, size_t max, int64_t wait_ms,
                                 std::vector<Change>* out) {
  std::unique_lock<std::mutex> lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  uint64_t generation = wake_generation_;
  while (true) {
    if (*cursor < compacted_rv_) {
      return Status::Expired("too old resource version: " + std::to_string(*cursor) + " (" +
                             std::to_string(compacted_rv_ + 1) + ")");
    }
    // History is ordered by version: find the first change after the cursor.
    auto it = std::upper_bound(history_.begin(), history_.end(), *cursor,
                               [](uint64_t v, const Change& c) { return v < c.rv; });
    for (; it != history_.end() && out->size() < max; ++it) {
      *cursor = it->rv;
      bool now = filter.Matches(*it->object);
      bool was = it->before != nullptr && filter.Matches(*it->before);
      if (it->type == ChangeType::kModified && now != was) {
        // The object entered or left the selection: that is an ADDED or DELETED for this watch.
        out->push_back(Change{it->rv, now ? ChangeType::kAdded : ChangeType::kDeleted, it->object, it->before});
      } else if (now) {
        out->push_back(*it);
      }
    }
    if (!out->empty() || it == history_.end()) {
      // Everything up to the newest version has been examined.
      if (it == history_.end() && rv_ > *cursor) *cursor = rv_;
    }
    if (!out->empty()) return Status::OK();
    if (wake_generation_ != generation) return Status::OK();
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) return Status::OK();
  }
}

void ClusterStore::Compact(uint64_t keep_after) {
  std::lock_guard<std::mutex> lock(mu_);
  while (!history_.empty() && history_.front().rv <= keep_after) {
    compacted_rv_ = history_.front().rv;
    history_.pop_front();
  }
  compacted_rv_ = std::max(compacted_rv_, std::min(keep_after, rv_));
  changed_.notify_all();
}

void ClusterStore::WakeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  ++wake_generation_;
  changed_.notify_all();
}

GroundTruth ClusterStore::Truth() const {
  std::lock_guard<std::mutex> lock(mu_);
  GroundTruth truth;
  truth.cluster = cluster_;
  truth.resource_version = rv_;
  for (int r = 0; r < kNumResources; ++r) {
    if (Resource(r).writable) continue;  // configuration, not workload truth
    for (const auto& [key, obj] : objects_[r]) {
      truth.objects.push_back(TruthObject{obj->uid, std::string(Resource(r).kind), obj->namespace_, obj->name, obj->rv});
    }
  }
  return truth;
}

}  // namespace kl::simulator
