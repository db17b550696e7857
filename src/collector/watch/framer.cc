#include "collector/watch/framer.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kl::collector {
namespace {

// The first '"' or '\\' in [p, end), or end: inside a JSON string nothing else
// matters, and most of a Kubernetes object's bytes are inside strings.
const char* FindQuoteOrBackslash(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  while (end - p >= 16) {
    __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash)));
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p < end && *p != '"' && *p != '\\') ++p;
  return p;
}

}  // namespace

void JsonStreamFramer::Reset() {
  buf_.clear();
  consumed_ = scan_ = value_start_ = 0;
  depth_ = 0;
  in_string_ = escape_ = false;
  stream_offset_ = 0;
  failed_ = false;
}

Status JsonStreamFramer::Fail(std::string what) {
  failed_ = true;
  return Status::Corruption("watch stream at offset " + std::to_string(stream_offset_ + scan_) + ": " + what);
}

Status JsonStreamFramer::Feed(std::string_view bytes, const ValueCallback& on_value) {
  if (failed_) return Status::Corruption("watch stream: feeding a framer that already failed");
  // A watch idles most of the time: after a big object do not keep megabytes per watch.
  if (consumed_ == buf_.size() && buf_.capacity() > (1u << 20)) {
    stream_offset_ += consumed_;
    std::string().swap(buf_);
    consumed_ = scan_ = value_start_ = 0;
  }
  // Drop what earlier calls consumed before growing the buffer.
  if (consumed_ > 0 && (consumed_ == buf_.size() || consumed_ > (1u << 16))) {
    buf_.erase(0, consumed_);
    stream_offset_ += consumed_;
    scan_ -= consumed_;
    value_start_ = value_start_ >= consumed_ ? value_start_ - consumed_ : 0;
    consumed_ = 0;
  }
  buf_.append(bytes);
  // Keep padding readable past any value for in-place parsing.
  if (buf_.capacity() < buf_.size() + kFramerPadding) buf_.reserve(buf_.size() + kFramerPadding + buf_.size() / 2);

  const char* data = buf_.data();
  const size_t size = buf_.size();
  size_t i = scan_;
  while (i < size) {
    if (depth_ == 0) {
      char c = data[i];
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        ++i;
        consumed_ = i;
        continue;
      }
      if (c != '{' && c != '[') {
        scan_ = i;
        return Fail(std::string("unexpected byte 0x") + "0123456789abcdef"[(c >> 4) & 15] + "0123456789abcdef"[c & 15] +
                    " between values");
      }
      value_start_ = i;
      stack_[0] = c == '{' ? '}' : ']';
      depth_ = 1;
      ++i;
      continue;
    }
    if (in_string_) {
      // Skip ordinary string bytes quickly: only '"' and '\\' matter here.
      while (i < size) {
        if (escape_) {
          escape_ = false;
          ++i;
          continue;
        }
        i = static_cast<size_t>(FindQuoteOrBackslash(data + i, data + size) - data);
        if (i >= size) break;
        if (data[i] == '\\') {
          escape_ = true;
          ++i;
          continue;
        }
        in_string_ = false;  // the closing quote
        ++i;
        break;
      }
      continue;
    }
    char c = data[i];
    switch (c) {
      case '"': in_string_ = true; break;
      case '{':
      case '[':
        if (depth_ >= static_cast<int>(sizeof(stack_))) {
          scan_ = i;
          return Fail("JSON nested deeper than " + std::to_string(sizeof(stack_)) + " levels");
        }
        stack_[depth_++] = c == '{' ? '}' : ']';
        break;
      case '}':
      case ']':
        if (stack_[depth_ - 1] != c) {
          scan_ = i;
          return Fail(std::string("mismatched '") + c + "'");
        }
        if (--depth_ == 0) {
          size_t end = i + 1;
          scan_ = end;
          consumed_ = end;
          Status s = on_value(std::string_view(data + value_start_, end - value_start_));
          if (!s.ok()) {
            failed_ = true;
            return s;
          }
        }
        break;
      default: break;
    }
    ++i;
    if (depth_ > 0 && i - value_start_ > max_value_bytes_) {
      scan_ = i;
      return Fail("value larger than " + std::to_string(max_value_bytes_) + " bytes");
    }
  }
  scan_ = i;
  if (depth_ > 0 && size - value_start_ > max_value_bytes_)
    return Fail("value larger than " + std::to_string(max_value_bytes_) + " bytes");
  return Status::OK();
}

}  // namespace kl::collector
