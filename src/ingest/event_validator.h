// The central side's check of each ingested event: the verdict simdjson's
// DOM parser (the parser the pipeline's DWD job reads events with) gives on
// the document, and the top-level fields the pipeline keys on, without
// building the DOM. simdjson's stage 1 validates UTF-8, closes every string,
// refuses unescaped control characters and indexes the structural
// characters; a walk over those indexes then checks what the DOM parser's
// stage 2 checks — the grammar, each string's escapes (\u surrogate pairs as
// simdjson pairs them), each number's grammar and range (integers in 64 bits,
// doubles finite), the literals, the nesting depth, nothing after the root —
// writing no tape and copying no string. The walk mirrors simdjson 3.0's
// stage 2 (json_iterator.h, tape_builder.h, numberparsing.h) check for check;
// the fuzz target fuzz_ingest_json holds the two to the same verdict.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace simdjson::internal {
class dom_parser_implementation;
}

namespace kl::ingest {

// The fields of an event document the pipeline needs, as the DOM's
// object::at_key finds them (the first field of a name counts), unescaped.
// Views into the document, or into the validator for an escaped value; valid
// until the validator's next call.
struct EventFields {
  std::string_view type;  // ADDED, MODIFIED or DELETED
  std::string_view uid;
  std::string_view kind;
  std::string_view resource_version;
};

class EventValidator {
 public:
  // simdjson's dom::parser default: DEPTH_ERROR once this many non-empty
  // arrays and objects are open.
  static constexpr uint32_t kMaxDepth = 1024;

  // `remember_shapes` false: every document is walked whole (the reference
  // the shapes are tested against).
  explicit EventValidator(bool remember_shapes = true);
  ~EventValidator();
  EventValidator(const EventValidator&) = delete;
  EventValidator& operator=(const EventValidator&) = delete;

  // OK when simdjson's DOM parser accepts `json` (any root), else
  // InvalidArgument "not valid JSON: <what> at byte N". Reads only
  // [json.data(), json.data() + json.size()): no padding needed.
  Status ValidateJson(std::string_view json);

  // ValidateJson, then: a JSON object with string `type` ADDED, MODIFIED or
  // DELETED, non-empty strings `uid`, `kind` and `resourceversion`, and an
  // object `obj`. Fills `fields` (if given) when OK.
  Status ValidateEvent(std::string_view json, EventFields* fields = nullptr);

  // How many documents so far were of a shape known from an earlier one (see
  // Shape below), and how many events were checked: for benchmarks.
  uint64_t known_shapes() const { return known_shapes_; }
  uint64_t events() const { return events_; }

 private:
  struct Walk;
  Status Run(std::string_view json, bool event, EventFields* fields);
  Status Stage1(std::string_view json);

  // Objects of the same shape (the same structural characters in the same
  // order, as events of one kind from one source mostly are) get the same
  // verdict from the walk's grammar checks; only their strings' escapes,
  // numbers, literals and key names differ. The shapes of recent objects
  // that passed the walk, so that a document of one of them is checked for
  // those alone. Never trusted for a refusal: a document that fails those
  // checks is walked whole for the message.
  struct Shape {
    std::string chars;               // the character at each structural
    std::string mask;                // 0 where a number or literal starts, else 0xff
    bool indexed = false;            // the three below found (IndexShape)
    std::vector<uint32_t> scalars;   // structurals of numbers and literals
    std::vector<uint32_t> strings;   // of strings, keys included
    std::vector<uint32_t> top_keys;  // of the keys of the top-level object
    // Up by one for each document of this shape (to at most kShapeScore),
    // down by one each time another shape could take its slot: replaced
    // below -kShapeMisses.
    int score = 0;
  };
  static constexpr int kShapes = 8;
  static constexpr int kShapeScore = 16;
  static constexpr int kShapeMisses = 32;
  static constexpr uint32_t kMaxShapeStructurals = 8192;  // at most ~100 KB a shape
  static void RecordShape(Shape* shape, const uint8_t* json, const uint32_t* idx, uint32_t n);
  static void IndexShape(Shape* shape);
  Shape* NoteNewShape(uint32_t n, Shape* same_count);

  std::unique_ptr<simdjson::internal::dom_parser_implementation> stage1_;
  bool remember_shapes_;
  Shape shapes_[kShapes];
  int next_shape_ = 0;
  uint32_t recent_counts_[8] = {};  // structural counts of recent objects of no known shape
  int next_recent_ = 0;
  uint64_t known_shapes_ = 0;
  uint64_t events_ = 0;
  std::string unescaped_[4];  // escaped field values, unescaped
  std::string padded_;        // a token near the end, followed by padding
  std::string scratch_;       // where simdjson's string parser writes
  uint8_t is_array_[kMaxDepth + 1] = {};
};

// The same checks done by simdjson's DOM parser itself, with the same
// messages for the event's fields: the reference EventValidator is tested
// against (fuzz_ingest_json, the unit tests) and measured against
// (ingest_bench's floor phase). `fields` views into the parser.
Status ValidateEventWithDom(std::string_view json, EventFields* fields = nullptr);
// simdjson's DOM verdict alone (any root).
bool IsValidJsonForDom(std::string_view json);

}  // namespace kl::ingest
