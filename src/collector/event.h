// The collector's output: one CollectedEvent per object change, carrying the
// ODS `content` JSON (the shape the warehouse's raw-event table stores) and
// the routing fields already parsed out of it, handed in batches to an
// EventSink (JSON lines now, the event log later).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/file/file_util.h"
#include "common/result.h"

namespace kl::collector {

enum class EventType : uint8_t { kAdded, kModified, kDeleted };
std::string_view EventTypeName(EventType type);
Result<EventType> ParseEventType(std::string_view name);

// Where an event came from. Restart recovery treats them differently: only
// watch events prove that everything before their resourceVersion was seen.
enum class EventOrigin : uint8_t {
  kWatch,     // a watch stream event
  kList,      // an object found (new or changed) by a list/relist
  kInferred,  // a deletion inferred because a relist no longer returned the object
};
std::string_view EventOriginName(EventOrigin origin);
Result<EventOrigin> ParseEventOrigin(std::string_view name);

struct OdsFields;

struct CollectedEvent {
  std::string cluster;
  int64_t ingest_time_ms = 0;
  // {"type","obj","group","version","kind","namespace","name","resourceversion","uid",
  //  "watchname","watchsetuptimestamp","__time_milli__","origin"[,"inferred":true]}
  std::string content;
  // The CRC-32C of `content` when its maker took it (saves the log a pass
  // over the content). A wrong one makes the log record read as damaged, so
  // it is set only by SetOdsContent, together with the content; whoever
  // changes `content` otherwise resets it (or leaves it unset).
  std::optional<uint32_t> content_crc32c;

  // Routing fields (equal to the ones inside `content`).
  EventType type = EventType::kAdded;
  EventOrigin origin = EventOrigin::kWatch;
  std::string uid;
  std::string resource_version;
  std::string kind;
  std::string namespace_;
  std::string name;
  std::string watch_name;  // which watch emitted it (routes replayed events at restart)

  bool inferred() const { return origin == EventOrigin::kInferred; }
  // Replaces `content` (keeping its capacity) with the content JSON for
  // `fields` and takes its CRC-32C while it is still in the cache.
  void SetOdsContent(const OdsFields& fields);
};

// The fields that make up an ODS content document.
struct OdsFields {
  EventType type = EventType::kAdded;
  EventOrigin origin = EventOrigin::kWatch;
  std::string_view object_json;  // the object, verbatim
  // Text the object starts with ahead of object_json (empty: none): list items
  // lack apiVersion and kind, which are spliced in here as `{"apiVersion":..,"kind":..,`
  // followed by the item's text after its `{`, instead of building the object apart first.
  std::string_view object_head;
  std::string_view group;  // "" for the core group
  std::string_view version;
  std::string_view kind;
  std::string_view namespace_;
  std::string_view name;
  std::string_view resource_version;
  std::string_view uid;
  std::string_view watch_name;
  int64_t watch_setup_ms = 0;
  int64_t event_time_ms = 0;
};

// Appends the content JSON for `fields` to `out`.
void AppendOdsContent(const OdsFields& fields, std::string* out);

// Rebuilds the routing fields of an event from its content (log replay).
Result<CollectedEvent> EventFromContent(std::string cluster, int64_t ingest_time_ms, std::string content);

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Takes a batch in order. An error means the batch was not accepted; the
  // collector stops rather than drop events.
  virtual Status Emit(std::vector<CollectedEvent> events) = 0;
  // The same for a sink that copies what it keeps: it leaves the events in
  // *events, whose strings' buffers the caller reuses for the next events (a
  // relist makes hundreds of thousands). By default Emit takes them and
  // *events is left empty.
  virtual Status EmitBorrowed(std::vector<CollectedEvent>* events) {
    Status s = Emit(std::move(*events));
    events->clear();
    return s;
  }
  // Makes everything emitted so far durable (or at least visible). The
  // collector calls it after each round of its event loop that emitted.
  virtual Status Flush() = 0;
};

// One JSON document per line: {"cluster":..,"ingest_time":..,"content":{...}}.
class JsonlSink : public EventSink {
 public:
  static Result<std::unique_ptr<JsonlSink>> Open(const std::string& path);  // "-" is stdout
  ~JsonlSink() override;
  Status Emit(std::vector<CollectedEvent> events) override;
  Status Flush() override;
  uint64_t events_written() const { return events_written_; }

 private:
  JsonlSink(std::string path, std::unique_ptr<AppendFile> file) : path_(std::move(path)), file_(std::move(file)) {}
  std::string path_;
  std::unique_ptr<AppendFile> file_;  // null for stdout
  std::string buffer_;
  uint64_t events_written_ = 0;
};

// Parses a JsonlSink line back into an event.
Result<CollectedEvent> ParseJsonlEvent(std::string_view line);

// Keeps every event in memory (tests, the demo). Thread-safe.
class MemorySink : public EventSink {
 public:
  Status Emit(std::vector<CollectedEvent> events) override;
  Status Flush() override { return Status::OK(); }
  std::vector<CollectedEvent> Snapshot() const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::vector<CollectedEvent> events_;
};

// Counts events and bytes, keeps nothing (benchmarks).
class CountingSink : public EventSink {
 public:
  Status Emit(std::vector<CollectedEvent> events) override { return EmitBorrowed(&events); }
  Status EmitBorrowed(std::vector<CollectedEvent>* events) override;
  Status Flush() override { return Status::OK(); }
  uint64_t events() const { return events_; }
  uint64_t content_bytes() const { return bytes_; }

 private:
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> bytes_{0};
};

}  // namespace kl::collector
