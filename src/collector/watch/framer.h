// JsonStreamFramer: cuts a byte stream of concatenated JSON values (a watch
// response body: one {"type","object"} document per line, arriving in HTTP
// chunks that do not line up with documents) into complete values.
//
// It only tracks nesting and string state, so it costs one pass over the
// bytes and never builds a tree; the parser that follows sees each value
// whole. Values may be pretty-printed over many lines.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kl::collector {

// The API server refuses objects above 1.5 MB; a watch event wraps one object,
// so allow room for the envelope and for JSON escaping growth.
inline constexpr size_t kDefaultMaxEventBytes = 3 * 1024 * 1024;

// Bytes that may be read past the end of a value handed to the callback
// (simdjson's padding requirement), so values can be parsed in place.
inline constexpr size_t kFramerPadding = 64;

class JsonStreamFramer {
 public:
  using ValueCallback = std::function<Status(std::string_view value)>;

  explicit JsonStreamFramer(size_t max_value_bytes = kDefaultMaxEventBytes) : max_value_bytes_(max_value_bytes) {}

  // Appends `bytes` and calls `on_value` for every value completed by them, in
  // order. The view is valid only during the call, and kFramerPadding bytes
  // after it are readable. A callback error stops feeding and is returned.
  // Corruption when bytes outside a value are not whitespace, when a value
  // closes with the wrong bracket, or when it grows beyond the maximum.
  Status Feed(std::string_view bytes, const ValueCallback& on_value);

  // True when a value has started but not yet ended (a stream cut here lost data).
  bool InValue() const { return depth_ > 0; }
  size_t buffered_bytes() const { return buf_.size() - consumed_; }
  size_t capacity_bytes() const { return buf_.capacity(); }
  // Stream offset of the next byte to be fed (for error messages).
  uint64_t stream_offset() const { return stream_offset_; }
  void Reset();

 private:
  Status Fail(std::string what);

  std::string buf_;
  size_t consumed_ = 0;  // bytes of buf_ already handed out or skipped
  size_t scan_ = 0;      // next byte of buf_ to classify
  size_t value_start_ = 0;
  int depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
  char stack_[256];             // expected closing brackets; deeper nesting is rejected
  uint64_t stream_offset_ = 0;  // offset of buf_[0] in the whole stream
  size_t max_value_bytes_;
  bool failed_ = false;
};

}  // namespace kl::collector
