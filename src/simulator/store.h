// ClusterStore: the state of one simulated API server, shaped like etcd
// behind kube-apiserver: one resourceVersion counter per cluster, objects
// kept as rendered JSON, a bounded history of changes for watches, and list
// snapshots so every page of a paginated list comes from one version.
//
// Thread-safe: the churn thread mutates, server threads list and watch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "simulator/resources.h"
#include "simulator/selectors.h"

namespace kl::simulator {

struct StoredObject {
  int resource = 0;
  std::string namespace_;
  std::string name;
  std::string uid;
  uint64_t rv = 0;
  std::string json;  // rendered at rv
  Labels labels;
  std::string node_name;
  std::string phase;

  SelectableFields Fields() const { return {name, namespace_, node_name, phase}; }
};
using ObjectPtr = std::shared_ptr<const StoredObject>;

enum class ChangeType : uint8_t { kAdded, kModified, kDeleted };

struct Change {
  uint64_t rv;
  ChangeType type;
  ObjectPtr object;  // the new state (for DELETED: the object at its deletion version)
  ObjectPtr before;  // the previous state, for MODIFIED (selectors can start or stop matching)
};

// What a list or watch looks at.
struct Filter {
  int resource = 0;
  std::string namespace_;  // "" = all
  LabelSelector labels;
  FieldSelector fields;
  bool Matches(const StoredObject& o) const;
};

struct TruthObject {
  std::string uid;
  std::string kind;
  std::string namespace_;
  std::string name;
  uint64_t rv = 0;
};

// Live objects and the cluster version, taken under one lock.
struct GroundTruth {
  std::string cluster;
  uint64_t resource_version = 0;
  std::vector<TruthObject> objects;
  std::string ToJson() const;
};

struct ListResult {
  uint64_t rv = 0;
  std::vector<ObjectPtr> items;
  std::string continue_token;  // empty on the last page
  int64_t remaining = 0;
};

class ClusterStore {
 public:
  struct Options {
    size_t history_limit = 20000;        // changes kept for watches
    int64_t continue_ttl_ms = 5 * 60 * 1000;
    size_t max_snapshots = 64;
  };
  ClusterStore(std::string cluster, Options options);

  // Renders the object at the version it is given. Mutations hold the lock
  // while rendering so versions and JSON stay in step.
  using Render = std::function<void(uint64_t rv, StoredObject* object)>;
  // Creates or replaces the object (ADDED or MODIFIED). Returns its version.
  uint64_t Put(int resource, const std::string& ns, const std::string& name, const Render& render);
  // Deletes it (DELETED at a new version, rendered by `render`); false when absent.
  bool Delete(int resource, const std::string& ns, const std::string& name, const Render& render);
  ObjectPtr Get(int resource, const std::string& ns, const std::string& name) const;
  size_t Count(int resource) const;
  std::vector<ObjectPtr> All(int resource) const;

  uint64_t resource_version() const;
  uint64_t compacted_rv() const;

  // A page of a consistent list. An expired or unknown continue token is
  // kExpired (HTTP 410).
  Result<ListResult> List(const Filter& filter, size_t limit, const std::string& continue_token, int64_t now_ms);

  // Changes after `*cursor` that match `filter`, up to `max`, waiting up to
  // `wait_ms` for one. Advances *cursor past everything examined. kExpired
  // when *cursor is older than the retained history.
  Status WaitChanges(const Filter& filter, uint64_t* cursor, size_t max, int64_t wait_ms, std::vector<Change>* out);

  // Drops history so that only changes after version `keep_after` remain
  // (all of it when keep_after >= the current version). Watches behind it
  // get 410 Expired; so do continue tokens of older lists.
  void Compact(uint64_t keep_after);
  void CompactAll() { Compact(resource_version()); }
  // Wakes every waiting watch (shutdown, dropped connections).
  void WakeAll();

  GroundTruth Truth() const;
  const std::string& cluster() const { return cluster_; }

 private:
  struct Snapshot {
    uint64_t rv;
    int64_t created_ms;
    std::vector<ObjectPtr> items;  // sorted by key, already filtered
  };
  static std::string Key(const std::string& ns, const std::string& name) { return ns + "/" + name; }
  void Record(Change change);

  const std::string cluster_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  uint64_t rv_ = 0;
  uint64_t compacted_rv_ = 0;  // history holds every change with rv > compacted_rv_
  std::map<std::string, ObjectPtr> objects_[kNumResources];
  std::deque<Change> history_;
  std::map<uint64_t, Snapshot> snapshots_;  // by snapshot id
  uint64_t next_snapshot_id_ = 1;
  uint64_t wake_generation_ = 0;
};

}  // namespace kl::simulator
