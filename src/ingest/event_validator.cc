#include "ingest/event_validator.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace kl::ingest {
namespace {

using simdjson::internal::dom_parser_implementation;

// What simdjson lets follow a number or a literal (its structural_or_whitespace
// table): the four JSON white spaces and the six structural characters.
constexpr std::array<bool, 256> MakeTerminators() {
  std::array<bool, 256> t{};
  for (unsigned char c : {'\t', '\n', '\r', ' ', ',', ':', '[', ']', '{', '}'}) t[c] = true;
  return t;
}
constexpr std::array<bool, 256> kTerminator = MakeTerminators();

// simdjson reads up to a SIMD block past a string and eight bytes past a
// number; a token closer than this to the end is checked from a padded copy.
constexpr size_t kPadding = simdjson::SIMDJSON_PADDING;

// Receives the value simdjson's number parser produces; only its verdict counts.
struct NumberSink {
  void append_s64(int64_t) {}
  void append_u64(uint64_t) {}
  void append_double(double) {}
  void skip_double() {}
};

// The fields of an event, in the order of their checks.
enum Field : int { kType, kUid, kKind, kResourceVersion, kObj, kFieldCount };
constexpr std::string_view kFieldNames[kFieldCount] = {"type", "uid", "kind", "resourceversion", "obj"};

int FieldOf(std::string_view key) {
  for (int f = 0; f < kFieldCount; ++f) {
    if (key == kFieldNames[f]) return f;
  }
  return -1;
}

}  // namespace

// One document's walk over its structural indexes: simdjson 3.0's
// json_iterator::walk_document with tape_builder's checks and no tape. Every
// read is inside [buf, buf + len); a walk that would read past the last
// structural fails (where simdjson reads its padding and then fails too).
struct EventValidator::Walk {
  EventValidator& v;
  const uint8_t* buf;
  uint32_t len;
  const uint32_t* idx;  // n structural indexes, then len
  uint32_t n;
  uint32_t next = 0;   // the next structural to visit
  uint32_t depth = 0;  // non-empty arrays and objects open
  // The first backslash at or after `backslash_from` (len if none): strings
  // before it have no escapes to check, so most strings cost nothing here.
  uint32_t backslash = 0;
  uint32_t backslash_from = UINT32_MAX;
  // Event mode: the structural of the value of each field's first occurrence
  // at the top level, and of the pending top-level key's field.
  bool fields_wanted = false;
  uint32_t field_value[kFieldCount];
  int pending_field = -1;
  const char* what = nullptr;
  uint32_t at = 0;
  std::string padded;  // a token near the end, with padding
  std::string scratch;

  bool Fail(const char* why, uint32_t where) {
    what = why;
    at = where;
    return false;
  }

  // The byte offset of the k-th structural.
  uint32_t Pos(uint32_t k) const { return idx[k]; }

  // The closing quote of the string opened at structural k: stage 1 makes
  // whatever follows a string's end a structural, so only white space lies
  // between the quote and structural k + 1.
  uint32_t StringEnd(uint32_t k) const {
    uint32_t e = idx[k + 1];
    while (e > idx[k] + 1 && buf[e - 1] != '"') --e;
    return e - 1;
  }

  // Points `src` at a copy of [pos, len) followed by padding when fewer than
  // `need` bytes follow `from`; returns the position of `pos` in it.
  const uint8_t* Readable(uint32_t pos, uint32_t from, size_t need) {
    if (static_cast<size_t>(len) - from >= need) return buf + pos;
    padded.assign(reinterpret_cast<const char*>(buf) + pos, len - pos);
    padded.append(kPadding + need, ' ');
    return reinterpret_cast<const uint8_t*>(padded.data());
  }

  // A string (key or value) opened at structural k: its escapes, by
  // simdjson's own stage 2 string parser, when it has any.
  bool String(uint32_t k) {
    uint32_t open = idx[k];
    uint32_t bound = idx[k + 1];
    if (backslash_from == UINT32_MAX || backslash < open) {
      const void* hit = std::memchr(buf + open, '\\', len - open);
      backslash = hit == nullptr ? len : static_cast<uint32_t>(static_cast<const uint8_t*>(hit) - buf);
      backslash_from = open;
    }
    if (backslash >= bound) return true;
    backslash_from = UINT32_MAX;  // found again from the next string on
    size_t raw = bound - open;
    if (scratch.size() < raw + 2 * kPadding) scratch.resize(raw + 2 * kPadding);
    const uint8_t* src = Readable(open, bound, 2 * kPadding);
    if (v.stage1_->parse_string(src + 1, reinterpret_cast<uint8_t*>(scratch.data())) == nullptr) {
      return Fail("invalid escape in a string", backslash);
    }
    return true;
  }

  bool Number(uint32_t k, bool root) {
    uint32_t pos = idx[k];
    // The number ends by the next structural (simdjson reads at most eight
    // bytes past a decimal point); the root's is copied with padding, as
    // simdjson copies it.
    const uint8_t* src = root ? Readable(pos, len, kPadding) : Readable(pos, idx[k + 1], kPadding);
    NumberSink sink;
    if (simdjson::builtin::numberparsing::parse_number(src, sink) != simdjson::SUCCESS) {
      return Fail("invalid number (its grammar, or out of range: integers take 64 bits, doubles must be finite)",
                  pos);
    }
    return true;
  }

  // true, false, null: the letters and then a terminator (or, at the root,
  // the end of the document).
  bool Literal(uint32_t k, bool root) {
    uint32_t pos = idx[k];
    std::string_view word = buf[pos] == 't' ? "true" : buf[pos] == 'f' ? "false" : "null";
    size_t rest = len - pos;
    bool ok = rest >= word.size() && std::memcmp(buf + pos, word.data(), word.size()) == 0 &&
              (rest == word.size() ? root : kTerminator[buf[pos + word.size()]]);
    return ok || Fail("invalid literal (true, false or null expected)", pos);
  }

  bool Primitive(uint32_t k, bool root) {
    switch (buf[idx[k]]) {
      case '"':
        return String(k);
      case 't':
      case 'f':
      case 'n':
        return Literal(k, root);
      case '-':
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
      case '8':
      case '9':
        return Number(k, root);
      default:
        return Fail(root ? "the document does not start with a value" : "a value expected", idx[k]);
    }
  }

  // A key of the top-level object: remembers the first of each event field.
  void TopLevelKey(uint32_t k) {
    uint32_t open = idx[k];
    uint32_t close = StringEnd(k);
    std::string_view raw(reinterpret_cast<const char*>(buf) + open + 1, close - open - 1);
    int f = -1;
    if (raw.find('\\') == std::string_view::npos) {
      f = FieldOf(raw);
    } else if (raw.size() < 6 * 16) {  // the longest name, each letter \u-escaped
      std::string key;
      key.resize(raw.size() + 2 * kPadding);
      std::string copy(raw.data(), raw.size() + 1);
      copy.append(2 * kPadding, ' ');
      uint8_t* end = v.stage1_->parse_string(reinterpret_cast<const uint8_t*>(copy.data()),
                                             reinterpret_cast<uint8_t*>(key.data()));
      if (end != nullptr) f = FieldOf(std::string_view(key.data(), end - reinterpret_cast<uint8_t*>(key.data())));
    }
    pending_field = f >= 0 && field_value[f] == UINT32_MAX ? f : -1;
  }

  bool Key(uint32_t k) {
    if (!String(k)) return false;
    if (fields_wanted && depth == 1) TopLevelKey(k);
    return true;
  }

  // Where the value at structural k belongs to a pending top-level field.
  void Value(uint32_t k) {
    if (pending_field >= 0 && depth == 1) field_value[pending_field] = k;
    pending_field = -1;
  }

  // json_iterator::walk_document, label for label.
  bool Document() {
    if (n == 0) return Fail("empty", 0);
    uint8_t first = buf[idx[0]];
    if (first == '{' && buf[idx[n - 1]] != '}') return Fail("the object is not closed", idx[n - 1]);
    if (first == '[' && buf[idx[n - 1]] != ']') return Fail("the array is not closed", idx[n - 1]);
    next = 1;
    switch (first) {
      case '{':
        if (Peek() == '}') {
          ++next;
          goto document_end;
        }
        goto object_begin;
      case '[':
        if (Peek() == ']') {
          ++next;
          goto document_end;
        }
        goto array_begin;
      default:
        if (!Primitive(0, true)) return false;
        goto document_end;
    }

  object_begin:
    if (++depth >= kMaxDepth) return Fail("nested too deep", idx[next - 1]);
    v.is_array_[depth] = 0;
    if (next >= n || buf[idx[next]] != '"') return Fail("an object does not start with a key", At(next));
    if (!Key(next++)) return false;

  object_field:
    if (next >= n || buf[idx[next]] != ':') return Fail("a colon expected after a key", At(next));
    ++next;
    if (next >= n) return Fail("a value expected", len);
    Value(next);
    switch (buf[idx[next++]]) {
      case '{':
        if (Peek() == '}') {
          ++next;
          break;
        }
        goto object_begin;
      case '[':
        if (Peek() == ']') {
          ++next;
          break;
        }
        goto array_begin;
      default:
        if (!Primitive(next - 1, false)) return false;
        break;
    }

  object_continue:
    if (next >= n) return Fail("a comma or } expected", len);
    switch (buf[idx[next++]]) {
      case ',':
        if (next >= n || buf[idx[next]] != '"') return Fail("a key expected after a comma", At(next));
        if (!Key(next++)) return false;
        goto object_field;
      case '}':
        goto scope_end;
      default:
        return Fail("a comma or } expected between fields", idx[next - 1]);
    }

  scope_end:
    if (--depth == 0) goto document_end;
    if (v.is_array_[depth]) goto array_continue;
    goto object_continue;

  array_begin:
    if (++depth >= kMaxDepth) return Fail("nested too deep", idx[next - 1]);
    v.is_array_[depth] = 1;

  array_value:
    if (next >= n) return Fail("a value expected", len);
    switch (buf[idx[next++]]) {
      case '{':
        if (Peek() == '}') {
          ++next;
          break;
        }
        goto object_begin;
      case '[':
        if (Peek() == ']') {
          ++next;
          break;
        }
        goto array_begin;
      default:
        if (!Primitive(next - 1, false)) return false;
        break;
    }

  array_continue:
    if (next >= n) return Fail("a comma or ] expected", len);
    switch (buf[idx[next++]]) {
      case ',':
        goto array_value;
      case ']':
        goto scope_end;
      default:
        return Fail("a comma or ] expected between values", idx[next - 1]);
    }

  document_end:
    if (next != n) return Fail("more after the end of the document", At(next));
    return true;
  }

  // The next structural's character, or none past the last.
  uint8_t Peek() const { return next < n ? buf[idx[next]] : 0; }
  uint32_t At(uint32_t k) const { return k < n ? idx[k] : len; }

  // A top-level string field's value, unescaped.
  std::string_view FieldString(uint32_t k, std::string* storage) {
    uint32_t open = idx[k];
    uint32_t close = StringEnd(k);
    std::string_view raw(reinterpret_cast<const char*>(buf) + open + 1, close - open - 1);
    if (raw.find('\\') == std::string_view::npos) return raw;
    storage->resize(raw.size() + 2 * kPadding);
    const uint8_t* src = Readable(open, idx[k + 1], 2 * kPadding);
    uint8_t* out = reinterpret_cast<uint8_t*>(storage->data());
    uint8_t* end = v.stage1_->parse_string(src + 1, out);  // checked by the walk already
    storage->resize(end == nullptr ? 0 : static_cast<size_t>(end - out));
    return *storage;
  }
};

EventValidator::EventValidator() = default;
EventValidator::~EventValidator() = default;

Status EventValidator::Stage1(std::string_view json) {
  auto fail = [](std::string what) { return Status::InvalidArgument("not valid JSON: " + what); };
  if (json.empty()) return fail("empty");
  if (json.size() > simdjson::SIMDJSON_MAXSIZE_BYTES) return fail("larger than 4 GB");
  // About four bytes of structural indexes per byte of the largest document;
  // given back after a rare huge one.
  size_t want = std::max<size_t>(json.size(), 64 << 10);
  if (stage1_ == nullptr || stage1_->capacity() < json.size() || stage1_->capacity() > std::max<size_t>(want, 4 << 20)) {
    stage1_.reset();
    if (simdjson::get_active_implementation()->create_dom_parser_implementation(want, kMaxDepth, stage1_) !=
        simdjson::SUCCESS) {
      stage1_.reset();
      return Status::Internal("no memory to validate a " + std::to_string(json.size()) + " byte event");
    }
  }
  simdjson::error_code error = stage1_->stage1(reinterpret_cast<const uint8_t*>(json.data()), json.size(),
                                               simdjson::stage1_mode::regular);
  if (error != simdjson::SUCCESS) return fail(simdjson::error_message(error));
  return Status::OK();
}

Status EventValidator::ValidateJson(std::string_view json) { return Run(json, false, nullptr); }

Status EventValidator::ValidateEvent(std::string_view json, EventFields* fields) { return Run(json, true, fields); }

Status EventValidator::Run(std::string_view json, bool event, EventFields* fields) {
  KL_RETURN_IF_ERROR(Stage1(json));
  Walk w{*this, reinterpret_cast<const uint8_t*>(json.data()), static_cast<uint32_t>(json.size()),
         stage1_->structural_indexes.get(), stage1_->n_structural_indexes};
  w.fields_wanted = event && json[w.idx[0]] == '{';
  for (uint32_t& f : w.field_value) f = UINT32_MAX;
  if (!w.Document()) {
    return Status::InvalidArgument(std::string("not valid JSON: ") + w.what + " at byte " + std::to_string(w.at));
  }
  if (!event) return Status::OK();
  auto fail = [](std::string_view what) { return Status::InvalidArgument(std::string(what)); };
  if (!w.fields_wanted) return fail("not a JSON object");
  // The checks and messages of the DOM-based check (ValidateEventWithDom).
  EventFields got;
  std::string_view* values[] = {&got.type, &got.uid, &got.kind, &got.resource_version};
  for (int f = kType; f <= kResourceVersion; ++f) {
    uint32_t k = w.field_value[f];
    std::string name(kFieldNames[f]);
    if (k == UINT32_MAX) return fail("no " + name);
    if (w.buf[w.idx[k]] != '"') return fail(f == kType ? "type is not a string" : name + " is not a non-empty string");
    *values[f] = w.FieldString(k, &unescaped_[f]);
    if (f == kType) {
      if (got.type != "ADDED" && got.type != "MODIFIED" && got.type != "DELETED") {
        return fail("type is not ADDED, MODIFIED or DELETED");
      }
    } else if (values[f]->empty()) {
      return fail(name + " is not a non-empty string");
    }
  }
  if (w.field_value[kObj] == UINT32_MAX) return fail("no obj");
  if (w.buf[w.idx[w.field_value[kObj]]] != '{') return fail("obj is not an object");
  if (fields != nullptr) *fields = got;
  return Status::OK();
}

Status ValidateEventWithDom(std::string_view json, EventFields* fields) {
  thread_local simdjson::dom::parser parser;
  auto fail = [](std::string_view what) { return Status::InvalidArgument(std::string(what)); };
  simdjson::dom::element root;
  if (auto error = parser.parse(json.data(), json.size(), /*realloc_if_needed=*/true).get(root); error) {
    return fail(std::string("not valid JSON: ") + simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return fail("not a JSON object");
  EventFields got;
  std::string_view* values[] = {&got.type, &got.uid, &got.kind, &got.resource_version};
  for (int f = kType; f <= kResourceVersion; ++f) {
    std::string name(kFieldNames[f]);
    simdjson::dom::element v;
    if (object.at_key(kFieldNames[f]).get(v) != simdjson::SUCCESS) return fail("no " + name);
    if (v.get_string().get(*values[f]) != simdjson::SUCCESS) {
      return fail(f == kType ? "type is not a string" : name + " is not a non-empty string");
    }
    if (f == kType) {
      if (got.type != "ADDED" && got.type != "MODIFIED" && got.type != "DELETED") {
        return fail("type is not ADDED, MODIFIED or DELETED");
      }
    } else if (values[f]->empty()) {
      return fail(name + " is not a non-empty string");
    }
  }
  simdjson::dom::element obj;
  if (object.at_key("obj").get(obj) != simdjson::SUCCESS) return fail("no obj");
  if (!obj.is_object()) return fail("obj is not an object");
  if (fields != nullptr) *fields = got;
  return Status::OK();
}

bool IsValidJsonForDom(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  return parser.parse(json.data(), json.size(), /*realloc_if_needed=*/true).get(root) == simdjson::SUCCESS;
}

}  // namespace kl::ingest
