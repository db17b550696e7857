#include "collector/watch/sync.h"

#include <algorithm>

#include "common/json.h"

namespace kl::collector {

namespace {

// One parser per thread for all watches it serves: a parser keeps buffers sized for the
// largest document it parsed (a list page is megabytes, several times that in the parser),
// and a fleet's watches list side by side on one thread. Results it returns are used before
// the next parse.
ApiParser& ThreadParser() {
  static thread_local ApiParser parser;
  return parser;
}

}  // namespace

std::string UrlEncode(std::string_view value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string WatchTarget::CollectionPath() const {
  std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !namespace_.empty()) path += "/namespaces/" + namespace_;
  path += "/" + resource;
  return path;
}

namespace {
void AppendSelectors(const WatchTarget& t, std::string* q) {
  if (!t.label_selector.empty()) *q += "&labelSelector=" + UrlEncode(t.label_selector);
  if (!t.field_selector.empty()) *q += "&fieldSelector=" + UrlEncode(t.field_selector);
}
}  // namespace

std::string WatchTarget::ListQuery(size_t limit, std::string_view continue_token) const {
  std::string q = "limit=" + std::to_string(limit);
  if (!continue_token.empty()) q += "&continue=" + UrlEncode(continue_token);
  AppendSelectors(*this, &q);
  return q;
}

std::string WatchTarget::WatchQuery(std::string_view resource_version, int timeout_seconds) const {
  std::string q = "watch=true&allowWatchBookmarks=true&resourceVersion=" + UrlEncode(resource_version) +
                  "&timeoutSeconds=" + std::to_string(timeout_seconds);
  AppendSelectors(*this, &q);
  return q;
}

ResourceSync::ResourceSync(WatchTarget target, ObjectTracker tracker)
    : target_(std::move(target)), tracker_(std::move(tracker)) {}

void ResourceSync::Emit(EventType type, EventOrigin origin, std::string_view object_json, const ObjectMeta& meta,
                        std::string_view rv, int64_t now_ms, std::vector<CollectedEvent>* out) {
  // List items come without apiVersion/kind; events carry self-describing objects:
  // both are spliced in ahead of the item's fields.
  std::string_view object_head;
  if (meta.kind.empty() && !object_json.empty() && object_json.front() == '{') {
    std::string_view rest = object_json.substr(1);
    size_t i = 0;
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\n' || rest[i] == '\r' || rest[i] == '\t')) ++i;
    if (object_head_.empty()) {
      object_head_.assign("{\"apiVersion\":");
      AppendJsonString(&object_head_, target_.ApiVersion());
      object_head_.append(",\"kind\":");
      AppendJsonString(&object_head_, target_.kind);
      object_head_.push_back(',');
    }
    object_head = object_head_;
    if (i >= rest.size() || rest[i] == '}') object_head.remove_suffix(1);  // an empty object: no comma
    object_json = rest;
  }
  CollectedEvent& e = out->emplace_back();
  if (!spare_events_.empty()) {
    e = std::move(spare_events_.back());
    spare_events_.pop_back();
  }
  e.cluster = target_.cluster;
  e.ingest_time_ms = now_ms;
  e.type = type;
  e.origin = origin;
  e.uid = meta.uid;
  e.resource_version.assign(rv);
  e.kind = target_.kind;
  e.namespace_ = meta.namespace_;
  e.name = meta.name;
  e.watch_name = target_.watch_name;
  OdsFields f;
  f.type = type;
  f.origin = origin;
  f.object_head = object_head;
  f.object_json = object_json;
  f.group = target_.group;
  f.version = target_.version;
  f.kind = target_.kind;
  f.namespace_ = meta.namespace_;
  f.name = meta.name;
  f.resource_version = rv;
  f.uid = meta.uid;
  f.watch_name = target_.watch_name;
  f.watch_setup_ms = watch_setup_ms_;
  f.event_time_ms = now_ms;
  // Content and its CRC together (the spare's old CRC must not survive): the
  // log frames the record with the CRC instead of reading the content again.
  e.SetOdsContent(f);
  ++events_emitted_;
}

void ResourceSync::Recycle(std::vector<CollectedEvent>* events) {
  // A list page's events while listing; while watching a few small ones, so
  // that a thousand idle watches hold next to nothing. Bounded in bytes too:
  // hundreds of watches may relist at once (a restart, expired watches), each
  // holding its spares between pages.
  size_t keep = listing_ ? 1024 : 16;
  size_t max_content = listing_ ? (1u << 20) : (16u << 10);
  size_t max_bytes = listing_ ? (4u << 20) : (256u << 10);
  size_t bytes = 0;
  for (const CollectedEvent& e : spare_events_) bytes += e.content.capacity();
  for (CollectedEvent& e : *events) {
    if (spare_events_.size() >= keep) break;
    size_t size = e.content.capacity();
    if (size > max_content || bytes + size > max_bytes) continue;
    bytes += size;
    e.content_crc32c.reset();  // of the old content: SetOdsContent sets a new one
    spare_events_.push_back(std::move(e));
  }
  events->clear();
}

void ResourceSync::BeginWatch(int64_t now_ms) {
  watch_setup_ms_ = now_ms;
  uint64_t key = tracker_.resume_rv().empty() ? 0 : ResourceVersionKey(tracker_.resume_rv());
  watch_start_key_ = IsNumericKey(key) ? key : 0;
}

void ResourceSync::BeginList(int64_t now_ms) {
  tracker_.BeginSweep();
  listing_ = true;
  list_items_ = 0;
  list_rv_.clear();
  watch_setup_ms_ = now_ms;
}

Status ResourceSync::OnListPage(std::string_view body, size_t padded_capacity, int64_t now_ms,
                                std::string* continue_token, std::vector<CollectedEvent>* out) {
  KL_RETURN_IF_ERROR(
      ThreadParser().ParseListPage(body, padded_capacity, &page_).WithContext("listing " + target_.watch_name));
  if (page_.kind == "Status") return Status::Corruption("listing " + target_.watch_name + ": got a Status, not a list");
  // Every page of one list is served from the same snapshot; the first page's version names it.
  if (list_rv_.empty()) list_rv_ = page_.resource_version;
  // Check the whole page first: a page is applied entirely or not at all, so
  // the tracker never holds what was not emitted.
  for (const ListItem& item : page_.items) {
    if (item.meta.uid.empty()) {
      return Status::Corruption("listing " + target_.watch_name + ": item " + item.meta.name + " has no uid");
    }
  }
  // The first page says how many items follow: room for the whole list in the tracker at
  // once, its strings estimated from this page's (with an eighth to spare).
  if (list_items_ == 0 && page_.remaining_item_count > 0 && !page_.items.empty()) {
    size_t text = 0;
    for (const ListItem& item : page_.items) {
      text += item.meta.uid.size() + item.meta.namespace_.size() + item.meta.name.size();
    }
    size_t remaining = static_cast<size_t>(
        std::min<int64_t>(page_.remaining_item_count, static_cast<int64_t>(ObjectTracker::kMaxReservedObjects)));
    size_t objects = page_.items.size() + remaining;
    size_t per_item = text / page_.items.size() + 1;
    // A relist of tracked objects adds text only for those it finds new.
    size_t added = objects > tracker_.size() ? objects - tracker_.size() : 0;
    tracker_.Reserve(std::max(objects, tracker_.size()), tracker_.arena_bytes() + added * per_item / 8 * 9);
  }
  list_items_ += page_.items.size();
  // The tracker's index slots are random reads: start loading a few items ahead.
  constexpr size_t kPrefetchAhead = 4;
  const std::vector<ListItem>& items = page_.items;
  for (size_t i = 0; i < std::min(kPrefetchAhead, items.size()); ++i) tracker_.Prefetch(items[i].meta.uid);
  out->reserve(out->size() + items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (i + kPrefetchAhead < items.size()) tracker_.Prefetch(items[i + kPrefetchAhead].meta.uid);
    const ListItem& item = items[i];
    auto seen = tracker_.Observe(item.meta.uid, item.meta.namespace_, item.meta.name, item.meta.resource_version);
    if (seen == ObjectTracker::Observation::kStale) continue;
    Emit(seen == ObjectTracker::Observation::kNew ? EventType::kAdded : EventType::kModified, EventOrigin::kList,
         item.object, item.meta, item.meta.resource_version, now_ms, out);
  }
  *continue_token = page_.continue_token;
  return Status::OK();
}

void ResourceSync::FinishList(int64_t now_ms, std::vector<CollectedEvent>* out) {
  std::vector<ObjectTracker::Gone> gone = tracker_.EndSweep();
  std::string apiv = target_.ApiVersion();
  for (const auto& g : gone) {
    // A minimal object that names the deletion; its version is the list's,
    // which orders it after every version the object had.
    std::string obj = "{\"apiVersion\":";
    AppendJsonString(&obj, apiv);
    obj += ",\"kind\":";
    AppendJsonString(&obj, target_.kind);
    obj += ",\"metadata\":{\"name\":";
    AppendJsonString(&obj, g.name);
    if (!g.namespace_.empty()) {
      obj += ",\"namespace\":";
      AppendJsonString(&obj, g.namespace_);
    }
    obj += ",\"uid\":";
    AppendJsonString(&obj, g.uid);
    obj += ",\"resourceVersion\":";
    AppendJsonString(&obj, list_rv_);
    obj += "}}";
    ObjectMeta meta;
    meta.uid = g.uid;
    meta.name = g.name;
    meta.namespace_ = g.namespace_;
    meta.kind = target_.kind;  // already in obj
    Emit(EventType::kDeleted, EventOrigin::kInferred, obj, meta, list_rv_, now_ms, out);
  }
  tracker_.set_resume_rv(list_rv_);
  listing_ = false;
  std::vector<CollectedEvent>().swap(spare_events_);  // a page's worth; watching needs a few
  // The list's pages are parsed; watch events are small.
  ThreadParser().ReleaseMemory();
  page_ = ListPage();
}

ResourceSync::WatchOutcome ResourceSync::OnWatchEvent(std::string_view text, size_t padded_capacity, int64_t now_ms,
                                                      std::vector<CollectedEvent>* out, Status* error) {
  Status s = ThreadParser().ParseWatchEvent(text, padded_capacity, &event_);
  if (!s.ok()) {
    *error = s.WithContext("watch " + target_.watch_name);
    return WatchOutcome::kFailed;
  }
  const ObjectMeta& meta = event_.meta;
  switch (event_.type) {
    case WatchEventType::kError:
      if (event_.status.IsExpired()) return WatchOutcome::kExpired;
      *error =
          Status::Unavailable("watch " + target_.watch_name + ": ERROR event " + std::to_string(event_.status.code) +
                              " " + event_.status.reason + ": " + event_.status.message);
      return WatchOutcome::kFailed;
    case WatchEventType::kBookmark:
      ++bookmarks_;
      tracker_.AdvanceResumeRv(meta.resource_version);
      return WatchOutcome::kContinue;
    default: break;
  }
  if (meta.uid.empty() || meta.resource_version.empty()) {
    *error = Status::Corruption("watch " + target_.watch_name + ": " + std::string(WatchEventTypeName(event_.type)) +
                                " event without uid or resourceVersion");
    return WatchOutcome::kFailed;
  }
  // A watch only returns changes after its starting version; anything at or
  // below it was handled before. (Not the running maximum: the synthetic
  // initial events of a watch started without a version come in any order.)
  uint64_t key = ResourceVersionKey(meta.resource_version);
  if (watch_start_key_ != 0 && IsNumericKey(key) && key <= watch_start_key_) return WatchOutcome::kContinue;
  if (event_.type == WatchEventType::kDeleted) {
    if (tracker_.Forget(meta.uid)) {
      Emit(EventType::kDeleted, EventOrigin::kWatch, event_.object, meta, meta.resource_version, now_ms, out);
    }
  } else {
    auto seen = tracker_.Observe(meta.uid, meta.namespace_, meta.name, meta.resource_version);
    if (seen != ObjectTracker::Observation::kStale) {
      Emit(event_.type == WatchEventType::kAdded ? EventType::kAdded : EventType::kModified, EventOrigin::kWatch,
           event_.object, meta, meta.resource_version, now_ms, out);
    }
  }
  tracker_.AdvanceResumeRv(meta.resource_version);
  return WatchOutcome::kContinue;
}

}  // namespace kl::collector
