// Arbitrary bytes as an ingest batch body (either version): the decoder
// either refuses them or returns events that lie inside the body and
// re-encode to the same bytes; every event then goes through the event
// validator (in place and copied, which must agree).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ingest/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The server always parses with padding after the body.
  std::string body(reinterpret_cast<const char*>(data), size);
  body.reserve(size + 64);
  auto batch = kl::ingest::DecodeBatch(body);
  if (!batch.ok()) return 0;
  bool records = body.compare(0, kl::ingest::kBatchMagicV2.size(), kl::ingest::kBatchMagicV2) == 0;
  kl::ingest::BatchEncoder enc;
  if (records) {
    enc.BeginRecords(batch->header.cluster, batch->header.stream, batch->header.first_sequence);
  } else {
    enc.Begin(batch->header.cluster, batch->header.stream, batch->header.first_sequence);
  }
  auto inside = [&](std::string_view piece) {
    return piece.data() >= body.data() && piece.data() + piece.size() <= body.data() + body.size();
  };
  for (const auto& e : batch->events) {
    if (!inside(e.content)) std::abort();
    if (records) {
      if (!inside(e.record) || e.content.data() + e.content.size() != e.record.data() + e.record.size()) std::abort();
      enc.AddRecord(e.record);
    } else {
      if (!e.record.empty()) std::abort();
      enc.Add(e.timestamp_ms, e.content);
    }
    // The check reads only the event's bytes: one left inside the body is
    // judged as its copy is.
    bool in_place = kl::ingest::ValidateEventContent(e.content).ok();
    bool copied = kl::ingest::ValidateEventContent(std::string(e.content)).ok();
    if (in_place != copied) std::abort();
  }
  if (enc.Finish() != body) std::abort();
  return 0;
}
