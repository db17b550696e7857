#include "ingest/event_validator.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

// The first bytes of a string, number or literal.
constexpr std::array<bool, 256> MakeScalarStarts() {
  std::array<bool, 256> t{};
  for (unsigned char c : {'"', 't', 'f', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'}) t[c] = true;
  return t;
}
constexpr std::array<bool, 256> kScalarStart = MakeScalarStarts();

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
  switch (key.size()) {
    case 3: return key == "uid" ? kUid : key == "obj" ? kObj : -1;
    case 4: return key == "type" ? kType : key == "kind" ? kKind : -1;
    case 15: return key == "resourceversion" ? kResourceVersion : -1;
    default: return -1;
  }
}

uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
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
  // The first backslash at or after the strings checked so far (len if
  // none): a string that ends before it has no escapes to check, so most
  // strings cost one comparison.
  uint32_t backslash = 0;
  // The document's first backslash (len if none): strings that end before it
  // are taken as they are.
  uint32_t first_backslash = 0;
  // Event mode: the structural of the value of each field's first occurrence
  // at the top level.
  bool fields_wanted = false;
  // Event mode: how many fields still lack their first occurrence; the keys
  // after the last one found are not looked at.
  uint32_t fields_missing = 0;
  uint32_t field_value[kFieldCount];
  const char* what = nullptr;
  uint32_t at = 0;

  bool Fail(const char* why, uint32_t where) {
    what = why;
    at = where;
    return false;
  }

  // The closing quote of the string opened at structural k: stage 1 makes
  // whatever follows a string's end a structural, so only white space lies
  // between the quote and structural k + 1.
  uint32_t StringEnd(uint32_t k) const {
    uint32_t e = idx[k + 1];
    while (e > idx[k] + 1 && buf[e - 1] != '"') --e;
    return e - 1;
  }

  // Points at a copy of [pos, len) followed by padding when fewer than
  // `need` bytes follow `from`, else at buf + pos.
  const uint8_t* Readable(uint32_t pos, uint32_t from, size_t need) {
    if (static_cast<size_t>(len) - from >= need) return buf + pos;
    v.padded_.assign(reinterpret_cast<const char*>(buf) + pos, len - pos);
    v.padded_.append(kPadding + need, ' ');
    return reinterpret_cast<const uint8_t*>(v.padded_.data());
  }

  // A string (key or value) opened at structural k whose bytes hold a
  // backslash: its escapes, by simdjson's own stage 2 string parser (which
  // reads a SIMD block past the string, hence the padded copy near the end).
  [[gnu::noinline]] bool EscapedString(uint32_t k) {
    uint32_t open = idx[k];
    uint32_t bound = idx[k + 1];
    if (backslash < open) {  // never after a successful walk so far; kept exact anyway
      const void* hit = std::memchr(buf + open, '\\', len - open);
      backslash = hit == nullptr ? len : static_cast<uint32_t>(static_cast<const uint8_t*>(hit) - buf);
      if (backslash >= bound) return true;
    }
    size_t raw = bound - open;
    if (v.scratch_.size() < raw + 2 * kPadding) v.scratch_.resize(raw + 2 * kPadding);
    const uint8_t* src = Readable(open, bound, 2 * kPadding);
    if (v.stage1_->parse_string(src + 1, reinterpret_cast<uint8_t*>(v.scratch_.data())) == nullptr) {
      return Fail("invalid escape in the string starting", open);
    }
    const void* hit = std::memchr(buf + bound, '\\', len - bound);
    backslash = hit == nullptr ? len : static_cast<uint32_t>(static_cast<const uint8_t*>(hit) - buf);
    return true;
  }

  bool String(uint32_t k) { return idx[k + 1] <= backslash || EscapedString(k); }

  // Most numbers of an event are small integers: at most 18 digits, no
  // fraction or exponent, then a terminator. simdjson accepts all of those
  // (no range to check); the rest go to its parser.
  [[gnu::always_inline]] bool Number(uint32_t k, bool root) {
    const uint8_t* p = buf + idx[k];
    const uint8_t* const end = buf + len;
    p += *p == '-';
    const uint8_t* const digits = p;
#ifdef __SSE2__
    // The digits counted 16 bytes at a time: a loop per digit mispredicts
    // its exit at every number.
    if (end - p >= 16) {
      __m128i from_zero = _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), _mm_set1_epi8('0'));
      __m128i is_digit = _mm_cmpeq_epi8(_mm_min_epu8(from_zero, _mm_set1_epi8(9)), from_zero);
      uint32_t count = static_cast<uint32_t>(__builtin_ctz(~static_cast<uint32_t>(_mm_movemask_epi8(is_digit))));
      if (count > 0 && count < 16 && (count == 1 || *digits != '0') && kTerminator[p[count]]) return true;
      return SimdjsonNumber(k, root);
    }
#endif
    while (p < end && p - digits < 19 && static_cast<uint8_t>(*p - '0') <= 9) ++p;
    ptrdiff_t count = p - digits;
    if (count > 0 && count < 19 && (count == 1 || *digits != '0') && (p == end ? root : kTerminator[*p])) {
      return true;
    }
    return SimdjsonNumber(k, root);
  }

  // By simdjson's number parser; the number ends by the next structural
  // (simdjson reads at most eight bytes past a decimal point), and the
  // root's is copied with padding, as simdjson copies it.
  [[gnu::noinline]] bool SimdjsonNumber(uint32_t k, bool root) {
    uint32_t pos = idx[k];
    const uint8_t* src = root ? Readable(pos, len, kPadding) : Readable(pos, idx[k + 1], kPadding);
    NumberSink sink;
    if (simdjson::builtin::numberparsing::parse_number(src, sink) != simdjson::SUCCESS) {
      return Fail("invalid number (its grammar, or out of range: integers take 64 bits, doubles must be finite)", pos);
    }
    return true;
  }

  // true, false, null: the letters and then a terminator (or, at the root,
  // the end of the document).
  [[gnu::always_inline]] bool Literal(uint32_t k, bool root) {
    uint32_t pos = idx[k];
    size_t rest = len - pos;
    bool is_false = buf[pos] == 'f';
    size_t size = is_false ? 5 : 4;
    bool ok = false;
    if (rest >= size) {
      uint32_t want = Load32(reinterpret_cast<const uint8_t*>(buf[pos] == 't' ? "true" : is_false ? "alse" : "null"));
      ok = Load32(buf + pos + (is_false ? 1 : 0)) == want && (rest == size ? root : kTerminator[buf[pos + size]]);
    }
    return ok || Fail("invalid literal (true, false or null expected)", pos);
  }

  bool Primitive(uint32_t k, bool root) {
    switch (buf[idx[k]]) {
      case '"': return String(k);
      case 't':
      case 'f':
      case 'n': return Literal(k, root);
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
      case '9': return Number(k, root);
      default: return Fail(root ? "the document does not start with a value" : "a value expected", idx[k]);
    }
  }

  // A key of the top-level object: remembers the structural of the value of
  // the first of each event field.
  // `maybe_escaped`: a backslash lies before the structural after the key
  // (the walk's `backslash` before the key was checked); when false, the key
  // has no escape and is compared as it is.
  [[gnu::noinline]] void TopLevelKey(uint32_t k, bool maybe_escaped) {
    uint32_t open = idx[k];
    uint32_t close = StringEnd(k);
    std::string_view raw(reinterpret_cast<const char*>(buf) + open + 1, close - open - 1);
    int f = -1;
    if (!maybe_escaped || raw.find('\\') == std::string_view::npos) {
      f = FieldOf(raw);
    } else if (raw.size() < 6 * 16) {  // the longest name, each letter \u-escaped
      std::string key(raw.size() + 2 * kPadding, '\0');
      std::string copy(raw.data(), raw.size() + 1);  // with its closing quote
      copy.append(2 * kPadding, ' ');
      uint8_t* end = v.stage1_->parse_string(reinterpret_cast<const uint8_t*>(copy.data()),
                                             reinterpret_cast<uint8_t*>(key.data()));
      if (end != nullptr) f = FieldOf(std::string_view(key.data(), end - reinterpret_cast<uint8_t*>(key.data())));
    }
    // The value follows the key and its colon.
    if (f >= 0 && field_value[f] == UINT32_MAX) {
      field_value[f] = k + 2;
      --fields_missing;
    }
  }

  // json_iterator::walk_document, label for label, with `next` (the next
  // structural to visit) and `depth` (non-empty arrays and objects open) in
  // registers.
  bool Document() {
    if (n == 0) return Fail("empty", 0);
    const uint8_t* const b = buf;
    const uint32_t* const ix = idx;
    const uint32_t count = n;
    uint8_t* const is_array = v.is_array_;
    uint32_t next = 1;
    uint32_t depth = 0;
    const void* hit = std::memchr(b, '\\', len);
    backslash = hit == nullptr ? len : static_cast<uint32_t>(static_cast<const uint8_t*>(hit) - b);
    first_backslash = backslash;
#define KL_AT(k) ((k) < count ? ix[k] : len)
#define KL_PEEK() (next < count ? b[ix[next]] : 0)

    uint8_t first = b[ix[0]];
    if (first == '{' && b[ix[count - 1]] != '}') return Fail("the object is not closed", ix[count - 1]);
    if (first == '[' && b[ix[count - 1]] != ']') return Fail("the array is not closed", ix[count - 1]);
    switch (first) {
      case '{':
        if (KL_PEEK() == '}') {
          ++next;
          goto document_end;
        }
        goto object_begin;
      case '[':
        if (KL_PEEK() == ']') {
          ++next;
          goto document_end;
        }
        goto array_begin;
      default:
        if (!Primitive(0, true)) return false;
        goto document_end;
    }

  object_begin:
    if (++depth >= kMaxDepth) return Fail("nested too deep", ix[next - 1]);
    is_array[depth] = 0;
    if (next >= count || b[ix[next]] != '"') return Fail("an object does not start with a key", KL_AT(next));
    goto key;

  object_field:
    // Values are dispatched here and in array_value by one switch each; calling
    // Primitive from a default case instead (a second switch) cost ~5 % of the walk.
    if (next >= count || b[ix[next]] != ':') return Fail("a colon expected after a key", KL_AT(next));
    if (++next >= count) return Fail("a value expected", len);
    switch (b[ix[next++]]) {
      case '{':
        if (KL_PEEK() == '}') {
          ++next;
          break;
        }
        goto object_begin;
      case '[':
        if (KL_PEEK() == ']') {
          ++next;
          break;
        }
        goto array_begin;
      case '"':
        if (ix[next] > backslash && !EscapedString(next - 1)) return false;
        break;
      case 't':
      case 'f':
      case 'n':
        if (!Literal(next - 1, false)) return false;
        break;
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
        if (!Number(next - 1, false)) return false;
        break;
      default: return Fail("a value expected", ix[next - 1]);
    }

  object_continue:
    if (next >= count) return Fail("a comma or } expected", len);
    switch (b[ix[next++]]) {
      case ',':
        if (next >= count || b[ix[next]] != '"') return Fail("a key expected after a comma", KL_AT(next));
        goto key;
      case '}': goto scope_end;
      default: return Fail("a comma or } expected between fields", ix[next - 1]);
    }

  key:  // structural `next` is a key's opening quote
    // Most fields are a key, its colon, a string, number or literal, and a
    // comma or the object's end: checked together, with the same checks the
    // labels below make one structural at a time.
    if (next + 3 < count) {
      const uint8_t colon = b[ix[next + 1]], value = b[ix[next + 2]], after = b[ix[next + 3]];
      if (colon == ':' && (after == ',' || after == '}') && kScalarStart[value]) {
        const bool key_escaped = ix[next + 1] > backslash;
        if (ix[next + 3] > backslash) {  // an escape in the key or the value
          if (key_escaped && !EscapedString(next)) return false;
          if (value == '"' && ix[next + 3] > backslash && !EscapedString(next + 2)) return false;
        }
        if (depth == 1 && fields_missing != 0) TopLevelKey(next, key_escaped);
        if (value != '"') {
          if (value == 't' || value == 'f' || value == 'n' ? !Literal(next + 2, false) : !Number(next + 2, false)) {
            return false;
          }
        }
        next += 4;
        if (after == '}') goto scope_end;
        if (next >= count || b[ix[next]] != '"') return Fail("a key expected after a comma", KL_AT(next));
        goto key;
      }
    }
    {
      const bool key_escaped = ix[next + 1] > backslash;
      if (key_escaped && !EscapedString(next)) return false;
      if (depth == 1 && fields_missing != 0) TopLevelKey(next, key_escaped);
    }
    ++next;
    goto object_field;

  scope_end:
    if (--depth == 0) goto document_end;
    if (is_array[depth]) goto array_continue;
    goto object_continue;

  array_begin:
    if (++depth >= kMaxDepth) return Fail("nested too deep", ix[next - 1]);
    is_array[depth] = 1;

  array_value:
    if (next >= count) return Fail("a value expected", len);
    switch (b[ix[next++]]) {
      case '{':
        if (KL_PEEK() == '}') {
          ++next;
          break;
        }
        goto object_begin;
      case '[':
        if (KL_PEEK() == ']') {
          ++next;
          break;
        }
        goto array_begin;
      case '"':
        if (ix[next] > backslash && !EscapedString(next - 1)) return false;
        break;
      case 't':
      case 'f':
      case 'n':
        if (!Literal(next - 1, false)) return false;
        break;
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
        if (!Number(next - 1, false)) return false;
        break;
      default: return Fail("a value expected", ix[next - 1]);
    }

  array_continue:
    if (next >= count) return Fail("a comma or ] expected", len);
    switch (b[ix[next++]]) {
      case ',': goto array_value;
      case ']': goto scope_end;
      default: return Fail("a comma or ] expected between values", ix[next - 1]);
    }

  document_end:
    if (next != count) return Fail("more after the end of the document", KL_AT(next));
    return true;
#undef KL_AT
#undef KL_PEEK
  }

  // Whether the document's structural characters are those of `shape`,
  // those of its numbers and literals aside: the walk's grammar checks treat
  // every number and literal alike, and KnownShape refuses anything else
  // there.
  bool SameShape(const EventValidator::Shape& shape) const {
    if (shape.chars.size() != n) return false;
    const uint8_t* const c = reinterpret_cast<const uint8_t*>(shape.chars.data());
    const uint8_t* const m = reinterpret_cast<const uint8_t*>(shape.mask.data());
    uint32_t k = 0;
    for (; std::endian::native == std::endian::little && k + 8 <= n; k += 8) {
      // Eight characters gathered into a word, compared at once.
      const uint32_t* const at = idx + k;
      uint64_t got = uint64_t{buf[at[0]]} | uint64_t{buf[at[1]]} << 8 | uint64_t{buf[at[2]]} << 16 |
                     uint64_t{buf[at[3]]} << 24 | uint64_t{buf[at[4]]} << 32 | uint64_t{buf[at[5]]} << 40 |
                     uint64_t{buf[at[6]]} << 48 | uint64_t{buf[at[7]]} << 56;
      uint64_t want, mask;
      std::memcpy(&want, c + k, 8);
      std::memcpy(&mask, m + k, 8);
      if (((got ^ want) & mask) != 0) return false;
    }
    for (; k < n; ++k) {
      if (((buf[idx[k]] ^ c[k]) & m[k]) != 0) return false;
    }
    return true;
  }

  // The checks of the walk that depend on more than the structural
  // characters, for a document of a shape that passed the walk: each
  // number, literal and escaped string, and the top-level keys' names.
  // false if one fails (what and where as the walk would report them only
  // when it is the first failure in document order: the caller walks the
  // document again for its message).
  bool KnownShape(const EventValidator::Shape& shape) {
    const void* hit = std::memchr(buf, '\\', len);
    backslash = hit == nullptr ? len : static_cast<uint32_t>(static_cast<const uint8_t*>(hit) - buf);
    first_backslash = backslash;
    for (uint32_t k : shape.scalars) {
      const uint8_t c = buf[idx[k]];
      if (c == 't' || c == 'f' || c == 'n' ? !Literal(k, false) : !Number(k, false)) return false;
    }
    if (backslash < len) {
      for (uint32_t k : shape.strings) {
        if (idx[k + 1] > backslash && !EscapedString(k)) return false;
      }
    }
    for (uint32_t k : shape.top_keys) {
      if (fields_missing == 0) break;
      TopLevelKey(k, idx[k + 1] > first_backslash);
    }
    return true;
  }

  // A top-level string field's value, unescaped.
  std::string_view FieldString(uint32_t k, std::string* storage) {
    uint32_t open = idx[k];
    uint32_t close = StringEnd(k);
    std::string_view raw(reinterpret_cast<const char*>(buf) + open + 1, close - open - 1);
    if (close < first_backslash || raw.find('\\') == std::string_view::npos) return raw;
    storage->resize(raw.size() + 2 * kPadding);
    const uint8_t* src = Readable(open, idx[k + 1], 2 * kPadding);
    uint8_t* out = reinterpret_cast<uint8_t*>(storage->data());
    uint8_t* end = v.stage1_->parse_string(src + 1, out);  // checked by the walk already
    storage->resize(end == nullptr ? 0 : static_cast<size_t>(end - out));
    return *storage;
  }
};

EventValidator::EventValidator(bool remember_shapes) : remember_shapes_(remember_shapes) {}
EventValidator::~EventValidator() = default;

Status EventValidator::Stage1(std::string_view json) {
  auto fail = [](std::string what) { return Status::InvalidArgument("not valid JSON: " + what); };
  if (json.empty()) return fail("empty");
  if (json.size() > simdjson::SIMDJSON_MAXSIZE_BYTES) return fail("larger than 4 GB");
  // About four bytes of structural indexes per byte of the largest document;
  // given back after a rare huge one.
  size_t want = std::max<size_t>(json.size(), 64 << 10);
  if (stage1_ == nullptr || stage1_->capacity() < json.size() ||
      stage1_->capacity() > std::max<size_t>(want, 4 << 20)) {
    stage1_.reset();
    if (simdjson::get_active_implementation()->create_dom_parser_implementation(want, kMaxDepth, stage1_) !=
        simdjson::SUCCESS) {
      stage1_.reset();
      return Status::Internal("no memory to validate a " + std::to_string(json.size()) + " byte event");
    }
  }
  simdjson::error_code error =
      stage1_->stage1(reinterpret_cast<const uint8_t*>(json.data()), json.size(), simdjson::stage1_mode::regular);
  if (error != simdjson::SUCCESS) return fail(simdjson::error_message(error));
  return Status::OK();
}

Status EventValidator::ValidateJson(std::string_view json) { return Run(json, false, nullptr); }

Status EventValidator::ValidateEvent(std::string_view json, EventFields* fields) { return Run(json, true, fields); }

void EventValidator::RecordShape(Shape* shape, const uint8_t* json, const uint32_t* idx, uint32_t n) {
  shape->chars.resize(n);
  shape->mask.resize(n);
  for (uint32_t k = 0; k < n; ++k) {
    const uint8_t c = json[idx[k]];
    shape->chars[k] = static_cast<char>(c);
    shape->mask[k] = static_cast<char>(c == '"' || !kScalarStart[c] ? 0xff : 0);  // numbers and literals not compared
  }
  shape->indexed = false;
  shape->score = 0;
}

// Where a recorded shape's numbers, literals, strings and top-level keys
// are: found when an object first meets the shape, so a shape no object
// meets again costs only its recording.
void EventValidator::IndexShape(Shape* shape) {
  shape->scalars.clear();
  shape->strings.clear();
  shape->top_keys.clear();
  const uint32_t n = static_cast<uint32_t>(shape->chars.size());
  uint32_t depth = 0;
  for (uint32_t k = 0; k < n; ++k) {
    switch (shape->chars[k]) {
      case '{':
      case '[': ++depth; break;
      case '}':
      case ']': --depth; break;
      case ':':
      case ',': break;
      case '"':
        shape->strings.push_back(k);
        // A string followed by a colon is a key (the walk passed).
        if (depth == 1 && k + 1 < n && shape->chars[k + 1] == ':') shape->top_keys.push_back(k);
        break;
      default: shape->scalars.push_back(k);  // a number or a literal, the walk passed
    }
  }
  shape->indexed = true;
}

// An object that passed the walk and matched no shape: the slot to record
// its shape in, or null. A structural count seen for the first time is only
// noted, so a stream of objects that never repeat a shape records nothing.
// The slot is the one of a shape of the same count, else the slots in turn;
// a shape in a slot gives way once it has been passed over more often than
// it was used (by kShapeMisses), so a stream of ever new shapes records at
// most one in kShapeMisses + 1 and shapes in use stay.
EventValidator::Shape* EventValidator::NoteNewShape(uint32_t n, Shape* same_count) {
  uint32_t* recent = nullptr;
  Shape* victim = same_count;
  if (victim == nullptr) {
    for (uint32_t& count : recent_counts_) {
      if (count == n) recent = &count;
    }
    if (recent == nullptr) {
      recent_counts_[next_recent_] = n;
      next_recent_ = (next_recent_ + 1) % static_cast<int>(std::size(recent_counts_));
      return nullptr;
    }
    victim = &shapes_[next_shape_];
    next_shape_ = (next_shape_ + 1) % kShapes;
  }
  if (!victim->chars.empty() && --victim->score >= -kShapeMisses) return nullptr;
  if (recent != nullptr) *recent = 0;
  return victim;
}

Status EventValidator::Run(std::string_view json, bool event, EventFields* fields) {
  KL_RETURN_IF_ERROR(Stage1(json));
  Walk w{*this, reinterpret_cast<const uint8_t*>(json.data()), static_cast<uint32_t>(json.size()),
         stage1_->structural_indexes.get(), stage1_->n_structural_indexes};
  w.fields_wanted = event && json[w.idx[0]] == '{';
  auto reset_fields = [&] {
    w.fields_missing = w.fields_wanted ? kFieldCount : 0;
    for (uint32_t& f : w.field_value) f = UINT32_MAX;
  };
  reset_fields();
  bool shapes = remember_shapes_ && w.fields_wanted && w.n <= kMaxShapeStructurals;
  Shape* matched = nullptr;
  Shape* same_count = nullptr;
  if (shapes) {
    for (Shape& shape : shapes_) {
      if (shape.chars.size() != w.n) continue;
      same_count = &shape;
      if (w.SameShape(shape)) {
        matched = &shape;
        break;
      }
    }
  }
  events_ += event;
  if (matched != nullptr) {
    matched->score += matched->score < kShapeScore;
    ++known_shapes_;
    if (!matched->indexed) IndexShape(matched);
  }
  if (matched == nullptr || !w.KnownShape(*matched)) {
    reset_fields();
    if (!w.Document()) {
      return Status::InvalidArgument(std::string("not valid JSON: ") + w.what + " at byte " + std::to_string(w.at));
    }
    if (shapes && matched == nullptr) {
      if (Shape* shape = NoteNewShape(w.n, same_count); shape != nullptr) RecordShape(shape, w.buf, w.idx, w.n);
    }
  }
  if (!event) return Status::OK();
  auto fail = [](std::string_view what) { return Status::InvalidArgument(std::string(what)); };
  if (!w.fields_wanted) return fail("not a JSON object");
  // The checks and messages of the DOM-based check (ValidateEventWithDom).
  EventFields got;
  std::string_view* values[] = {&got.type, &got.uid, &got.kind, &got.resource_version};
  for (int f = kType; f <= kResourceVersion; ++f) {
    uint32_t k = w.field_value[f];
    if (k == UINT32_MAX) return fail("no " + std::string(kFieldNames[f]));
    if (w.buf[w.idx[k]] != '"') {
      return fail(f == kType ? "type is not a string" : std::string(kFieldNames[f]) + " is not a non-empty string");
    }
    *values[f] = w.FieldString(k, &unescaped_[f]);
    if (f == kType) {
      if (got.type != "ADDED" && got.type != "MODIFIED" && got.type != "DELETED") {
        return fail("type is not ADDED, MODIFIED or DELETED");
      }
    } else if (values[f]->empty()) {
      return fail(std::string(kFieldNames[f]) + " is not a non-empty string");
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
