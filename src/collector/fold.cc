#include "collector/fold.h"

#include <tuple>

#include "collector/watch/tracker.h"

namespace kl::collector {

void EventFolder::Apply(const CollectedEvent& event, int64_t event_time_ms) {
  FoldedObject next;
  next.kind = event.kind;
  next.namespace_ = event.namespace_;
  next.name = event.name;
  next.resource_version = event.resource_version;
  next.rv_key = ResourceVersionKey(event.resource_version);
  next.time_ms = event_time_ms;
  next.deleted = event.type == EventType::kDeleted;
  auto& objects = clusters_[event.cluster];
  auto it = objects.find(event.uid);
  if (it == objects.end()) {
    objects.emplace(event.uid, std::move(next));
    return;
  }
  const FoldedObject& cur = it->second;
  // A deletion sorts after any other event of the same version.
  auto order = [](const FoldedObject& o) { return std::make_tuple(o.rv_key, o.deleted, o.time_ms); };
  if (order(next) > order(cur)) it->second = std::move(next);
}

std::map<std::string, FoldedObject> EventFolder::Live(const std::string& cluster) const {
  std::map<std::string, FoldedObject> live;
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return live;
  for (const auto& [uid, object] : it->second) {
    if (!object.deleted) live.emplace(uid, object);
  }
  return live;
}

}  // namespace kl::collector
