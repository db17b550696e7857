// EventFolder: folds collected events into the newest state per object, the
// way the warehouse's one-row-per-object table does: per uid, order by
// numeric resourceVersion, then event time, and a deletion wins over every
// event at or before its version. Tests compare its live set with the
// simulator's ground truth; it also documents the ordering rule in code.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "collector/event.h"

namespace kl::collector {

struct FoldedObject {
  std::string kind;
  std::string namespace_;
  std::string name;
  std::string resource_version;
  uint64_t rv_key = 0;
  int64_t time_ms = 0;
  bool deleted = false;
};

class EventFolder {
 public:
  // `event_time_ms` orders events of equal version; pass the content's __time_milli__.
  void Apply(const CollectedEvent& event, int64_t event_time_ms);
  void Apply(const CollectedEvent& event) { Apply(event, event.ingest_time_ms); }

  // uid -> object, live ones only, for one cluster.
  std::map<std::string, FoldedObject> Live(const std::string& cluster) const;
  const std::map<std::string, std::map<std::string, FoldedObject>>& all() const { return clusters_; }

 private:
  std::map<std::string, std::map<std::string, FoldedObject>> clusters_;  // cluster -> uid -> state
};

}  // namespace kl::collector
