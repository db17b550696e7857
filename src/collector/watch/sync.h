// ResourceSync: the list/watch protocol for one watch target (a cluster, a
// resource, optionally one namespace), without any networking. The HTTP
// side feeds it list pages and watch events; it decides what to emit, keeps
// the ObjectTracker, and says when to relist. Keeping it transport-free lets
// tests drive it with recorded API responses.
//
// Emission rules (what makes the folded output equal the live set):
//  * list: an object not tracked is ADDED, one tracked at an older version
//    MODIFIED, one tracked at this version nothing; after the last page every
//    tracked object the list did not return gets an inferred DELETED at the
//    list's resourceVersion;
//  * watch: events at or below the resume version are replays and dropped;
//    an ADDED/MODIFIED not newer than the tracked version is dropped; a
//    DELETED of an untracked object is dropped; BOOKMARKs move the resume
//    version; ERROR 410 (Expired/Gone) asks for a relist.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collector/event.h"
#include "collector/watch/api_objects.h"
#include "collector/watch/tracker.h"

namespace kl::collector {

// What to watch on one cluster.
struct WatchTarget {
  std::string cluster;
  std::string group;     // "" for the core API group
  std::string version;   // "v1"
  std::string resource;  // "pods"
  std::string kind;      // "Pod"
  bool namespaced = true;
  std::string namespace_;  // "" watches all namespaces
  std::string label_selector;
  std::string field_selector;
  std::string watch_name;  // unique per cluster; names the watch in events

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "/api/v1/namespaces/ns/pods" or "/apis/apps/v1/deployments".
  std::string CollectionPath() const;
  // Query strings (without '?') for a list page and a watch.
  std::string ListQuery(size_t limit, std::string_view continue_token) const;
  std::string WatchQuery(std::string_view resource_version, int timeout_seconds) const;
};

// Percent-encodes a query parameter value.
std::string UrlEncode(std::string_view value);

class ResourceSync {
 public:
  enum class WatchOutcome { kContinue, kExpired, kFailed };

  explicit ResourceSync(WatchTarget target, ObjectTracker tracker = ObjectTracker());

  const WatchTarget& target() const { return target_; }
  const ObjectTracker& tracker() const { return tracker_; }
  ObjectTracker& mutable_tracker() { return tracker_; }

  // --- list / relist ---
  // Starts a (re)list: every tracked object must show up in it or be inferred deleted.
  void BeginList(int64_t now_ms);
  // Consumes one page. `padded_capacity` as for ApiParser. Sets *continue_token
  // (empty on the last page).
  Status OnListPage(std::string_view body, size_t padded_capacity, int64_t now_ms, std::string* continue_token,
                    std::vector<CollectedEvent>* out);
  // After the last page: emits inferred deletions and sets the resume version
  // to the list's resourceVersion.
  void FinishList(int64_t now_ms, std::vector<CollectedEvent>* out);
  // Takes back events a sink has finished with (and empties *events): the next
  // events reuse their strings' buffers instead of allocating them afresh.
  // Keeps a page's worth while listing, a few while watching.
  void Recycle(std::vector<CollectedEvent>* events);
  bool listing() const { return listing_; }

  // --- watch ---
  // Starts a watch from tracker().resume_rv(). Events at or below that version
  // are replays (a watch returns only later changes) and are dropped.
  void BeginWatch(int64_t now_ms);
  // One framed watch event. On kFailed, *error says why.
  WatchOutcome OnWatchEvent(std::string_view text, size_t padded_capacity, int64_t now_ms,
                            std::vector<CollectedEvent>* out, Status* error);

  uint64_t events_emitted() const { return events_emitted_; }
  uint64_t bookmarks() const { return bookmarks_; }

 private:
  void Emit(EventType type, EventOrigin origin, std::string_view object_json, const ObjectMeta& meta,
            std::string_view rv, int64_t now_ms, std::vector<CollectedEvent>* out);

  WatchTarget target_;
  ObjectTracker tracker_;
  ListPage page_;
  WatchEvent event_;
  std::string list_rv_;
  bool listing_ = false;
  size_t list_items_ = 0;  // items of the current list's pages so far
  int64_t watch_setup_ms_ = 0;
  uint64_t watch_start_key_ = 0;  // numeric version the watch started from; 0: none
  uint64_t events_emitted_ = 0;
  uint64_t bookmarks_ = 0;
  std::vector<CollectedEvent> spare_events_;  // emitted and done with; reused by Emit
  std::string object_head_;                   // `{"apiVersion":..,"kind":..,` of list items, made once
};

}  // namespace kl::collector
