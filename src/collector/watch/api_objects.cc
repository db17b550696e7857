#include "collector/watch/api_objects.h"

#include <simdjson.h>

#include <cstring>

namespace kl::collector {
namespace od = simdjson::ondemand;

namespace {

Status JsonError(std::string_view what, simdjson::error_code error) {
  return Status::Corruption(std::string(what) + ": " + simdjson::error_message(error));
}

// Copies a string member's value; wrong types are reported, nulls read as "".
simdjson::error_code ReadString(od::value value, std::string* out) {
  od::json_type type;
  if (auto e = value.type().get(type)) return e;
  if (type == od::json_type::null) {
    out->clear();
    return simdjson::SUCCESS;
  }
  std::string_view s;
  if (auto e = value.get_string().get(s)) return e;
  out->assign(s);
  return simdjson::SUCCESS;
}

// Calls fn(key, value) for each field of `object` in one pass; stops at the first error.
template <typename Fn>
simdjson::error_code ForEachField(od::object object, Fn&& fn) {
  for (auto field : object) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    od::value v;
    if (auto e = field.value().get(v)) return e;
    if (auto e = fn(key, v)) return e;
  }
  return simdjson::SUCCESS;
}

simdjson::error_code ReadMetadata(od::value value, ObjectMeta* meta) {
  od::object metadata;
  if (auto e = value.get_object().get(metadata)) return e;
  return ForEachField(metadata, [meta](std::string_view key, od::value v) {
    if (key == "uid") return ReadString(v, &meta->uid);
    if (key == "name") return ReadString(v, &meta->name);
    if (key == "namespace") return ReadString(v, &meta->namespace_);
    if (key == "resourceVersion") return ReadString(v, &meta->resource_version);
    return simdjson::SUCCESS;
  });
}

// Empties `meta` keeping its strings' buffers.
void ClearMeta(ObjectMeta* meta) {
  meta->api_version.clear();
  meta->kind.clear();
  meta->uid.clear();
  meta->name.clear();
  meta->namespace_.clear();
  meta->resource_version.clear();
}

// Reads kind, apiVersion and metadata of an object, skipping everything else.
simdjson::error_code ReadObjectMeta(od::object object, ObjectMeta* meta) {
  return ForEachField(object, [meta](std::string_view key, od::value v) {
    if (key == "metadata") return ReadMetadata(v, meta);
    if (key == "kind") return ReadString(v, &meta->kind);
    if (key == "apiVersion") return ReadString(v, &meta->api_version);
    return simdjson::SUCCESS;
  });
}

simdjson::error_code ReadStatus(od::object object, ApiStatus* status) {
  return ForEachField(object, [status](std::string_view key, od::value v) {
    if (key == "code") {
      int64_t code = 0;
      simdjson::error_code e = v.get_int64().get(code);
      status->code = static_cast<int>(code);
      return e;
    }
    if (key == "reason") return ReadString(v, &status->reason);
    if (key == "message") return ReadString(v, &status->message);
    return simdjson::SUCCESS;
  });
}

// An event's object is either an API object or, for ERROR, a Status; read
// both kinds of fields in the one pass (Status fields leniently: an object
// may have a field of the same name and another type).
simdjson::error_code ReadObjectOrStatus(od::object object, ObjectMeta* meta, ApiStatus* status) {
  return ForEachField(object, [meta, status](std::string_view key, od::value v) {
    if (key == "metadata") return ReadMetadata(v, meta);
    if (key == "kind") return ReadString(v, &meta->kind);
    if (key == "apiVersion") return ReadString(v, &meta->api_version);
    if (key == "code") {
      int64_t code = 0;
      if (!v.get_int64().get(code)) status->code = static_cast<int>(code);
    } else if (key == "reason") {
      (void)ReadString(v, &status->reason);
    } else if (key == "message") {
      (void)ReadString(v, &status->message);
    }
    return simdjson::SUCCESS;
  });
}

}  // namespace

std::string_view WatchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
    case WatchEventType::kBookmark: return "BOOKMARK";
    case WatchEventType::kError: return "ERROR";
  }
  return "UNKNOWN";
}

int64_t NumericResourceVersion(std::string_view rv) {
  if (rv.empty() || rv.size() > 18) return -1;
  int64_t v = 0;
  for (char c : rv) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

struct ApiParser::Impl {
  od::parser parser;
  std::string scratch;  // padded copy when the caller's text has no padding
  od::document doc;

  // Points `out` at padded bytes holding `text`.
  simdjson::padded_string_view Padded(std::string_view text, size_t capacity) {
    if (capacity >= text.size() + simdjson::SIMDJSON_PADDING) {
      return simdjson::padded_string_view(text.data(), text.size(), capacity);
    }
    scratch.assign(text);
    scratch.resize(text.size() + simdjson::SIMDJSON_PADDING);
    return simdjson::padded_string_view(scratch.data(), text.size(), scratch.size());
  }
};

namespace {

// The raw text of an object the iterator read, from where it started (`begin`) to where
// the iterator stands after it (`end`), both in the padded copy at `base` of `text`; trailing
// blanks dropped. A malformed document can leave the iterator anywhere: bounds are checked.
Result<std::string_view> ObjectText(std::string_view text, const char* base, const char* begin, const char* end,
                                    const char* error) {
  if (begin == nullptr || end == nullptr || begin < base || end < begin || end > base + text.size()) {
    return Status::Corruption(error);
  }
  std::string_view raw(begin, static_cast<size_t>(end - begin));
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t')) {
    raw.remove_suffix(1);
  }
  if (raw.empty() || raw.front() != '{' || raw.back() != '}') return Status::Corruption(error);
  return std::string_view(text.data() + (begin - base), raw.size());
}

}  // namespace

ApiParser::ApiParser() : impl_(std::make_unique<Impl>()) {}
ApiParser::~ApiParser() = default;

void ApiParser::ReleaseMemory(size_t keep_bytes) {
  if (impl_->parser.capacity() > keep_bytes || impl_->scratch.capacity() > keep_bytes) {
    impl_ = std::make_unique<Impl>();
  }
}

Status ApiParser::ParseObjectMeta(std::string_view text, size_t padded_capacity, ObjectMeta* meta) {
  *meta = ObjectMeta();
  auto padded = impl_->Padded(text, padded_capacity);
  if (auto e = impl_->parser.iterate(padded).get(impl_->doc)) return JsonError("parsing object", e);
  od::object object;
  if (auto e = impl_->doc.get_object().get(object)) return JsonError("parsing object", e);
  if (auto e = ReadObjectMeta(object, meta)) return JsonError("parsing object metadata", e);
  return Status::OK();
}

Status ApiParser::ParseStatus(std::string_view text, ApiStatus* status) {
  *status = ApiStatus();
  auto padded = impl_->Padded(text, 0);
  if (auto e = impl_->parser.iterate(padded).get(impl_->doc)) return JsonError("parsing Status", e);
  od::object object;
  if (auto e = impl_->doc.get_object().get(object)) return JsonError("parsing Status", e);
  if (auto e = ReadStatus(object, status)) return JsonError("parsing Status", e);
  return Status::OK();
}

Status ApiParser::ParseWatchEvent(std::string_view text, size_t padded_capacity, WatchEvent* event) {
  event->object = {};
  event->meta = ObjectMeta();
  event->status = ApiStatus();
  auto padded = impl_->Padded(text, padded_capacity);
  const char* base = padded.data();
  if (auto e = impl_->parser.iterate(padded).get(impl_->doc)) return JsonError("parsing watch event", e);
  od::object root;
  if (auto e = impl_->doc.get_object().get(root)) return JsonError("parsing watch event", e);
  std::string type;
  bool have_object = false;
  for (auto field : root) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return JsonError("parsing watch event", e);
    od::value v;
    if (auto e = field.value().get(v)) return JsonError("parsing watch event", e);
    if (key == "type") {
      if (auto e = ReadString(v, &type)) return JsonError("parsing watch event type", e);
    } else if (key == "object") {
      // One pass, as for list items: read the fields while iterating, take
      // the raw text from the object's start to where the iterator stops.
      const char* begin = nullptr;
      if (auto e = v.current_location().get(begin)) return JsonError("parsing watch event object", e);
      od::object object;
      if (auto e = v.get_object().get(object)) return JsonError("parsing watch event object", e);
      if (auto e = ReadObjectOrStatus(object, &event->meta, &event->status)) {
        return JsonError("parsing watch event object", e);
      }
      const char* end = nullptr;
      if (auto e = impl_->doc.current_location().get(end)) return JsonError("parsing watch event object", e);
      KL_ASSIGN_OR_RETURN(event->object, ObjectText(text, base, begin, end, "watch event: bad object bounds"));
      have_object = true;
    }
  }
  if (type == "ADDED")
    event->type = WatchEventType::kAdded;
  else if (type == "MODIFIED")
    event->type = WatchEventType::kModified;
  else if (type == "DELETED")
    event->type = WatchEventType::kDeleted;
  else if (type == "BOOKMARK")
    event->type = WatchEventType::kBookmark;
  else if (type == "ERROR")
    event->type = WatchEventType::kError;
  else
    return Status::Corruption("watch event: unknown type \"" + type + "\"");
  if (!have_object) return Status::Corruption("watch event " + type + ": missing object");
  return Status::OK();
}

Status ApiParser::ParseListPage(std::string_view text, size_t padded_capacity, ListPage* page) {
  page->kind.clear();
  page->resource_version.clear();
  page->continue_token.clear();
  page->remaining_item_count = -1;
  // Items are overwritten in place and the surplus cut at the end: a page's
  // items keep their strings' buffers for the next page (no allocation per item).
  size_t used = 0;
  struct CutSurplus {
    std::vector<ListItem>* items;
    size_t* used;
    ~CutSurplus() { items->resize(*used); }
  } cut{&page->items, &used};
  auto padded = impl_->Padded(text, padded_capacity);
  const char* base = padded.data();
  if (auto e = impl_->parser.iterate(padded).get(impl_->doc)) return JsonError("parsing list", e);
  od::object root;
  if (auto e = impl_->doc.get_object().get(root)) return JsonError("parsing list", e);
  for (auto field : root) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return JsonError("parsing list", e);
    od::value v;
    if (auto e = field.value().get(v)) return JsonError("parsing list", e);
    if (key == "kind") {
      if (auto e = ReadString(v, &page->kind)) return JsonError("parsing list kind", e);
    } else if (key == "metadata") {
      od::object metadata;
      if (auto e = v.get_object().get(metadata)) return JsonError("parsing list metadata", e);
      for (auto m : metadata) {
        std::string_view mkey;
        if (auto e = m.unescaped_key().get(mkey)) return JsonError("parsing list metadata", e);
        od::value mv;
        if (auto e = m.value().get(mv)) return JsonError("parsing list metadata", e);
        simdjson::error_code e = simdjson::SUCCESS;
        if (mkey == "resourceVersion")
          e = ReadString(mv, &page->resource_version);
        else if (mkey == "continue")
          e = ReadString(mv, &page->continue_token);
        else if (mkey == "remainingItemCount")
          e = mv.get_int64().get(page->remaining_item_count);
        if (e) return JsonError("parsing list metadata", e);
      }
    } else if (key == "items") {
      od::json_type type;
      if (auto e = v.type().get(type)) return JsonError("parsing list items", e);
      if (type == od::json_type::null) continue;
      od::array items;
      if (auto e = v.get_array().get(items)) return JsonError("parsing list items", e);
      for (auto item : items) {
        // One pass: read the item's metadata while iterating it, and take its
        // raw text from where it starts to where the iterator stands after it.
        od::value iv;
        if (auto e = item.get(iv)) return JsonError("parsing list item", e);
        const char* begin = nullptr;
        if (auto e = iv.current_location().get(begin)) return JsonError("parsing list item", e);
        od::object object;
        if (auto e = iv.get_object().get(object)) return JsonError("parsing list item", e);
        if (used == page->items.size()) page->items.emplace_back();
        ListItem& out = page->items[used++];
        out.object = {};
        ClearMeta(&out.meta);
        if (auto e = ReadObjectMeta(object, &out.meta)) {
          return JsonError("parsing list item " + std::to_string(used - 1) + " metadata", e);
        }
        const char* end = nullptr;
        if (auto e = impl_->doc.current_location().get(end)) return JsonError("parsing list item", e);
        KL_ASSIGN_OR_RETURN(out.object, ObjectText(text, base, begin, end, "parsing list item: bad bounds"));
      }
    }
  }
  return Status::OK();
}

}  // namespace kl::collector
