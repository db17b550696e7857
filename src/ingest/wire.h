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
//   version 1:
//   body  "KLBATCH1" | varint len, cluster | varint len, stream id
//         | varint first sequence | u32 LE count
//         | count x (varint timestamp ms | varint len, event JSON)
//         | crc32c u32 LE of everything before it
//
//   version 2 (what collectors send; the server takes both): the records of
//   the collector's spool as they are, so neither side frames events again
//   body  "KLBATCH2" | varint len, cluster | varint len, stream id
//         | varint first sequence | u32 LE count
//         | crc32c u32 LE of the header before it
//         | count x record, framed as the embedded log frames it
//           (log/segment/record_format.h): crc32c u32 LE | body length u32 LE
//           | offset u64 LE (= the event's sequence: first, first+1, ...)
//           | timestamp ms i64 LE | key length u32 LE | key (= the cluster)
//           | event JSON
//     Each record carries its own CRC-32C; the central log appends the
//     record as it came, renumbered (log::ProducerRecord::encoded).
//
// A batch of zero events is a handshake: the answer says where the central
// side wants the stream to continue. Answers are JSON:
//   200 {"cluster":..,"stream":..,"next":N,"appended":k,"duplicates":d}
//   4xx/5xx {"error":"...","next":N?}
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kl::ingest {

inline constexpr std::string_view kBatchPath = "/ingest/v1/batches";
inline constexpr std::string_view kBatchContentType = "application/x-kubelake-batch";
inline constexpr std::string_view kBatchMagic = "KLBATCH1";
inline constexpr std::string_view kBatchMagicV2 = "KLBATCH2";

struct BatchEvent {
  int64_t timestamp_ms = 0;  // the collector's ingest time
  std::string_view content;  // the event JSON (ODS content)
  std::string_view record;   // version 2: the whole framed record (CRC checked)
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
  // Version 1: events framed here.
  void Begin(std::string_view cluster, std::string_view stream, uint64_t first_sequence);
  void Add(int64_t timestamp_ms, std::string_view content);
  // Version 2: records of the embedded log. The n-th record added must carry
  // offset first_sequence + n and key `cluster`.
  void BeginRecords(std::string_view cluster, std::string_view stream, uint64_t first_sequence);
  void AddRecord(std::string_view encoded);  // as the log framed it (its CRC right)
  void AddRecord(int64_t offset, int64_t timestamp_ms, std::string_view key, std::string_view content);
  // Finishes the body and returns it; the encoder can Begin again afterwards.
  std::string& Finish();
  uint64_t count() const { return count_; }
  size_t bytes() const { return body_.size(); }

 private:
  std::string body_;     // built in place: one copy of each event
  size_t count_at_ = 0;  // where the fixed-width count goes
  uint32_t count_ = 0;
  int version_ = 1;
};

// A decoded batch; event contents view into the body it was decoded from.
struct DecodedBatch {
  BatchHeader header;
  std::vector<BatchEvent> events;
};

// Checks the whole body (framing, checksums, lengths; in version 2 each
// record's CRC, sequence and key) before returning any event; a body that
// fails any check is rejected whole, naming what and where. Both versions.
// `check`, if given, is called on each event as soon as it is decoded (while
// its bytes are still in the CPU's cache); a non-OK answer is returned as it
// is and ends the decoding.
using EventCheck = std::function<Status(const BatchHeader& header, uint64_t index, std::string_view content)>;
Result<DecodedBatch> DecodeBatch(std::string_view body, const EventCheck& check = nullptr);

// Checks that `content` is an event document the pipeline can read: a JSON
// object with string fields type (ADDED/MODIFIED/DELETED), uid, kind and
// resourceversion, and an object `obj` — every byte judged as simdjson's DOM
// parser judges it (ingest/event_validator.h). Reads only the content.
Status ValidateEventContent(std::string_view content);

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
