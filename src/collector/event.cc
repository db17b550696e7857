#include "collector/event.h"

#include <simdjson.h>

#include <charconv>
#include <cstdio>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/json.h"
#include "log/crc32c.h"

namespace kl::collector {

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kAdded: return "ADDED";
    case EventType::kModified: return "MODIFIED";
    case EventType::kDeleted: return "DELETED";
  }
  return "UNKNOWN";
}

Result<EventType> ParseEventType(std::string_view name) {
  if (name == "ADDED") return EventType::kAdded;
  if (name == "MODIFIED") return EventType::kModified;
  if (name == "DELETED") return EventType::kDeleted;
  return Status::InvalidArgument("unknown event type \"" + std::string(name) + "\"");
}

std::string_view EventOriginName(EventOrigin origin) {
  switch (origin) {
    case EventOrigin::kWatch: return "watch";
    case EventOrigin::kList: return "list";
    case EventOrigin::kInferred: return "relist";
  }
  return "unknown";
}

Result<EventOrigin> ParseEventOrigin(std::string_view name) {
  if (name == "watch") return EventOrigin::kWatch;
  if (name == "list") return EventOrigin::kList;
  if (name == "relist") return EventOrigin::kInferred;
  return Status::InvalidArgument("unknown event origin \"" + std::string(name) + "\"");
}

namespace {

// Whether `s` holds a byte JSON escapes: below 0x20, '"' or '\\'. Checked 16
// bytes at a time: every event checks eight names, uids and versions.
bool NeedsJsonEscape(std::string_view s) {
  const char* p = s.data();
  const char* end = p + s.size();
#if defined(__SSE2__)
  const __m128i below_space = _mm_set1_epi8(0x1f);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Unsigned v <= 0x1f exactly where min(v, 0x1f) == v.
    __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, below_space), v);
    __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
    if (_mm_movemask_epi8(_mm_or_si128(control, special)) != 0) return true;
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == '"' || c == '\\') return true;
  }
  return false;
}

// The fields after the object, in their order: `text(key, value)` for a string,
// `number(key, value)` for an integer. Both writers below go through this list.
template <typename Text, typename Number>
void ForEachTailField(const OdsFields& f, Text&& text, Number&& number) {
  text("group", f.group);
  text("version", f.version);
  text("kind", f.kind);
  text("namespace", f.namespace_);
  text("name", f.name);
  text("resourceversion", f.resource_version);
  text("uid", f.uid);
  text("watchname", f.watch_name);
  number("watchsetuptimestamp", f.watch_setup_ms);
  number("__time_milli__", f.event_time_ms);
  text("origin", EventOriginName(f.origin));
}

// Writes the fields after the object into `p` (room for all of them checked by
// the caller); strings need no escaping.
char* WritePlainTail(const OdsFields& f, char* p) {
  auto put = [&p](std::string_view s) {
    if (s.empty()) return;  // an empty view may have no data pointer, which memcpy must not get
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  ForEachTailField(
      f,
      [&](std::string_view key, std::string_view value) {
        put(",\"");
        put(key);
        put("\":\"");
        put(value);
        *p++ = '"';
      },
      [&](std::string_view key, int64_t value) {
        put(",\"");
        put(key);
        put("\":");
        p = std::to_chars(p, p + 20, value).ptr;
      });
  if (f.origin == EventOrigin::kInferred) put(",\"inferred\":true");
  *p++ = '}';
  return p;
}

}  // namespace

void CollectedEvent::SetOdsContent(const OdsFields& fields) {
  content.clear();
  AppendOdsContent(fields, &content);
  content_crc32c = log::Crc32c(content);
}

void AppendOdsContent(const OdsFields& f, std::string* out) {
  const std::string_view strings[] = {f.group, f.version,          f.kind, f.namespace_,
                                      f.name,  f.resource_version, f.uid,  f.watch_name};
  size_t string_bytes = 0;
  bool plain = true;
  for (std::string_view s : strings) {
    string_bytes += s.size();
    plain = plain && !NeedsJsonEscape(s);
  }
  out->reserve(out->size() + f.object_head.size() + f.object_json.size() + string_bytes + 320);
  out->append("{\"type\":\"");
  out->append(EventTypeName(f.type));
  out->append("\",\"obj\":");
  out->append(f.object_head);
  out->append(f.object_json);
  // The usual case, names and versions without quotes or control characters:
  // the rest in one piece from the stack.
  constexpr size_t kTailBuffer = 1024;
  constexpr size_t kTailFixedBytes = 260;  // keys, quotes, two int64s, origin, "inferred"
  if (plain && string_bytes + kTailFixedBytes <= kTailBuffer) {
    char tail[kTailBuffer];
    char* end = WritePlainTail(f, tail);
    out->append(tail, static_cast<size_t>(end - tail));
    return;
  }
  ForEachTailField(
      f,
      [out](std::string_view key, std::string_view value) {
        out->append(",\"");
        out->append(key);
        out->append("\":");
        AppendJsonString(out, value);
      },
      [out](std::string_view key, int64_t value) {
        out->append(",\"");
        out->append(key);
        out->append("\":");
        out->append(std::to_string(value));
      });
  if (f.origin == EventOrigin::kInferred) out->append(",\"inferred\":true");
  out->push_back('}');
}

Result<CollectedEvent> EventFromContent(std::string cluster, int64_t ingest_time_ms, std::string content) {
  KL_ASSIGN_OR_RETURN(JsonValue doc, ParseJson(content, "event content"));
  CollectedEvent event;
  event.cluster = std::move(cluster);
  event.ingest_time_ms = ingest_time_ms;
  KL_ASSIGN_OR_RETURN(std::string type, doc.GetString("type"));
  KL_ASSIGN_OR_RETURN(event.type, ParseEventType(type));
  KL_ASSIGN_OR_RETURN(event.uid, doc.GetString("uid"));
  KL_ASSIGN_OR_RETURN(event.resource_version, doc.GetString("resourceversion"));
  event.kind = doc.GetStringOr("kind", "");
  event.namespace_ = doc.GetStringOr("namespace", "");
  event.name = doc.GetStringOr("name", "");
  event.watch_name = doc.GetStringOr("watchname", "");
  std::string origin = doc.GetStringOr("origin", "watch");
  KL_ASSIGN_OR_RETURN(event.origin, ParseEventOrigin(origin));
  if (const JsonValue* inferred = doc.Find("inferred"); inferred != nullptr && inferred->as_bool()) {
    event.origin = EventOrigin::kInferred;
  }
  event.content = std::move(content);
  return event;
}

Result<std::unique_ptr<JsonlSink>> JsonlSink::Open(const std::string& path) {
  if (path == "-") return std::unique_ptr<JsonlSink>(new JsonlSink(path, nullptr));
  KL_ASSIGN_OR_RETURN(auto file, AppendFile::Open(path, /*truncate=*/false));
  return std::unique_ptr<JsonlSink>(new JsonlSink(path, std::move(file)));
}

JsonlSink::~JsonlSink() { (void)Flush(); }

Status JsonlSink::Emit(std::vector<CollectedEvent> events) {
  for (const CollectedEvent& e : events) {
    buffer_.append("{\"cluster\":");
    AppendJsonString(&buffer_, e.cluster);
    buffer_.append(",\"ingest_time\":");
    buffer_.append(std::to_string(e.ingest_time_ms));
    buffer_.append(",\"content\":");
    buffer_.append(e.content);
    buffer_.append("}\n");
  }
  events_written_ += events.size();
  if (buffer_.size() >= (1u << 20)) return Flush();
  return Status::OK();
}

Status JsonlSink::Flush() {
  if (buffer_.empty()) return Status::OK();
  if (file_ == nullptr) {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), stdout) != buffer_.size() || std::fflush(stdout) != 0) {
      return Status::IOError("writing events to stdout");
    }
  } else {
    KL_RETURN_IF_ERROR(file_->Append(buffer_).WithContext("writing events to " + path_));
  }
  buffer_.clear();
  return Status::OK();
}

Result<CollectedEvent> ParseJsonlEvent(std::string_view line) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto e = parser.parse(line.data(), line.size()).get(root)) {
    return Status::Corruption(std::string("event line: ") + simdjson::error_message(e));
  }
  std::string_view cluster;
  int64_t ingest = 0;
  simdjson::dom::element content;
  if (root["cluster"].get(cluster) || root["ingest_time"].get(ingest) || root["content"].get(content)) {
    return Status::Corruption("event line: missing cluster, ingest_time or content");
  }
  return EventFromContent(std::string(cluster), ingest, simdjson::minify(content));
}

Status MemorySink::Emit(std::vector<CollectedEvent> events) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& e : events) events_.push_back(std::move(e));
  return Status::OK();
}

std::vector<CollectedEvent> MemorySink::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

size_t MemorySink::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_.size();
}

Status CountingSink::EmitBorrowed(std::vector<CollectedEvent>* events) {
  uint64_t bytes = 0;
  for (const auto& e : *events) bytes += e.content.size();
  events_ += events->size();
  bytes_ += bytes;
  return Status::OK();
}

}  // namespace kl::collector
