// The batch format between a collector's remote sink and the central
// ingest endpoint. A batch carries a contiguous run of one collector
// stream's events, numbered by the stream's own dense sequence (the offsets
// of the collector's spool), so the central side can tell a retry from new
// data and append every event exactly once.
//
//   POST /ingest/v1/batches
//   Authorization: Bearer <token>         (or a client certificate)
//   Content-Type: application/x-kubelake-batch
//   Content-Encoding: zstd                (optional)
//
//   body  "KLBATCH1" | varint len, cluster | varint len, stream id
//         | varint first sequence | u32 LE count
//         | count x (varint timestamp ms | varint len, event JSON)
//         | crc32c u32 LE of everything before it
//
// A batch of zero events is a handshake: the answer says where the central
// side wants the stream to continue. Answers are JSON:
//   200 {"cluster":..,"stream":..,"next":N,"appended":k,"duplicates":d}
//   4xx/5xx {"error":"...","next":N?}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kl::ingest {

inline constexpr std::string_view kBatchPath = "/ingest/v1/batches";
inline constexpr std::string_view kBatchContentType = "application/x-kubelake-batch";
inline constexpr std::string_view kBatchMagic = "KLBATCH1";

struct BatchEvent {
  int64_t timestamp_ms = 0;  // the collector's ingest time
  std::string_view content;  // the event JSON (ODS content)
};

struct BatchHeader {
  std::string cluster;
  std::string stream;
  uint64_t first_sequence = 0;
  uint64_t count = 0;
};

// Builds a batch body incrementally (the remote sink reuses one).
class BatchEncoder {
 public:
  void Begin(std::string_view cluster, std::string_view stream, uint64_t first_sequence);
  void Add(int64_t timestamp_ms, std::string_view content);
  // Finishes the body and returns it; the encoder can Begin again afterwards.
  std::string& Finish();
  uint64_t count() const { return count_; }
  size_t bytes() const { return body_.size(); }

 private:
  std::string body_;     // built in place: one copy of each event
  size_t count_at_ = 0;  // where the fixed-width count goes
  uint32_t count_ = 0;
};

// A decoded batch; event contents view into the body it was decoded from.
struct DecodedBatch {
  BatchHeader header;
  std::vector<BatchEvent> events;
};

// Checks the whole body (framing, checksum, lengths) before returning any
// event; a body that fails any check is rejected whole, naming what and where.
Result<DecodedBatch> DecodeBatch(std::string_view body);

// Checks that `content` is an event document the pipeline can read: a JSON
// object with string fields type (ADDED/MODIFIED/DELETED), uid, kind and
// resourceversion, and an object `obj`. When `readable_after` bytes after
// the content may be read (64 or more), it is parsed in place, else copied.
Status ValidateEventContent(std::string_view content, size_t readable_after = 0);

// The JSON answers.
std::string AckJson(std::string_view cluster, std::string_view stream, uint64_t next, uint64_t appended,
                    uint64_t duplicates);
std::string ErrorJson(std::string_view message, int64_t next = -1);

struct BatchAnswer {
  uint64_t next = 0;
  bool has_next = false;
  std::string error;
};
// Parses either answer ("next" and/or "error").
BatchAnswer ParseBatchAnswer(std::string_view body);

}  // namespace kl::ingest
