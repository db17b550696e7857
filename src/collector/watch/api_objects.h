// Parsers for what a Kubernetes API server sends: single objects (the
// metadata a collector needs), watch events, list pages and Status bodies.
// They read with simdjson's on-demand API and keep the object's raw JSON
// text instead of a tree, because the collector forwards objects verbatim.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kl::collector {

// The identifying fields of an object (copied out of the JSON).
struct ObjectMeta {
  std::string api_version;  // "v1", "apps/v1"; empty in list items
  std::string kind;         // empty in list items
  std::string uid;
  std::string name;
  std::string namespace_;
  std::string resource_version;
};

enum class WatchEventType : uint8_t { kAdded, kModified, kDeleted, kBookmark, kError };
std::string_view WatchEventTypeName(WatchEventType type);

// A Kubernetes Status body (errors): {"kind":"Status","code":410,"reason":"Expired",...}.
struct ApiStatus {
  int code = 0;
  std::string reason;
  std::string message;
  // 410 with reason Expired or Gone: the resourceVersion or continue token is too old.
  bool IsExpired() const { return code == 410 || reason == "Expired" || reason == "Gone"; }
};

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  std::string_view object;  // raw JSON of "object"; a view into the parsed text
  ObjectMeta meta;          // for ADDED/MODIFIED/DELETED/BOOKMARK
  ApiStatus status;         // for ERROR
};

// One item of a list page: raw JSON and its metadata.
struct ListItem {
  std::string_view object;
  ObjectMeta meta;
};

struct ListPage {
  std::string kind;              // "PodList"
  std::string resource_version;  // metadata.resourceVersion of the list
  std::string continue_token;    // metadata.continue; empty on the last page
  int64_t remaining_item_count = -1;
  std::vector<ListItem> items;
};

// Reusable parser (one per thread): keeps simdjson buffers warm. Views in
// its results point into the text given to it and stay valid as long as it.
class ApiParser {
 public:
  ApiParser();
  ~ApiParser();
  ApiParser(const ApiParser&) = delete;
  ApiParser& operator=(const ApiParser&) = delete;

  // `padded_capacity` is how many bytes from text.data() may be read
  // (>= text.size() + 64 allows parsing in place; otherwise the text is copied).
  Status ParseObjectMeta(std::string_view text, size_t padded_capacity, ObjectMeta* meta);
  Status ParseWatchEvent(std::string_view text, size_t padded_capacity, WatchEvent* event);
  Status ParseListPage(std::string_view text, size_t padded_capacity, ListPage* page);
  Status ParseStatus(std::string_view text, ApiStatus* status);
  // Frees the buffers a large document (a list page) grew, when they exceed `keep_bytes`:
  // a watcher that has listed keeps parsing small watch events only, and its parser would
  // otherwise hold several times the largest page for as long as it runs.
  void ReleaseMemory(size_t keep_bytes = 1 << 20);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a numeric resourceVersion ("12345"); nullopt-like -1 when it is not a
// plain unsigned decimal (the API treats it as opaque, etcd makes it numeric).
int64_t NumericResourceVersion(std::string_view rv);

}  // namespace kl::collector
