#include "ingest/wire.h"

#include <cstring>

#include "common/coding.h"
#include "common/json.h"
#include "ingest/event_validator.h"
#include "log/crc32c.h"
#include "log/segment/record_format.h"

namespace kl::ingest {
namespace {

void PutBytes(std::string* out, std::string_view s) {
  PutVarint64(out, s.size());
  out->append(s);
}

}  // namespace

void BatchEncoder::Begin(std::string_view cluster, std::string_view stream, uint64_t first_sequence) {
  body_.clear();
  count_ = 0;
  version_ = 1;
  body_.append(kBatchMagic);
  PutBytes(&body_, cluster);
  PutBytes(&body_, stream);
  PutVarint64(&body_, first_sequence);
  count_at_ = body_.size();
  PutFixed32LE(&body_, 0);
}

void BatchEncoder::Add(int64_t timestamp_ms, std::string_view content) {
  PutVarint64(&body_, static_cast<uint64_t>(timestamp_ms < 0 ? 0 : timestamp_ms));
  PutBytes(&body_, content);
  ++count_;
}

void BatchEncoder::BeginRecords(std::string_view cluster, std::string_view stream, uint64_t first_sequence) {
  Begin(cluster, stream, first_sequence);
  std::memcpy(body_.data(), kBatchMagicV2.data(), kBatchMagicV2.size());
  PutFixed32LE(&body_, 0);  // the header's CRC, at Finish
  version_ = 2;
}

void BatchEncoder::AddRecord(std::string_view encoded) {
  body_.append(encoded);
  ++count_;
}

void BatchEncoder::AddRecord(int64_t offset, int64_t timestamp_ms, std::string_view key, std::string_view content) {
  log::AppendRecord(&body_, offset, timestamp_ms < 0 ? 0 : timestamp_ms, key, content);
  ++count_;
}

std::string& BatchEncoder::Finish() {
  std::memcpy(&body_[count_at_], &count_, 4);
  if (version_ == 2) {
    uint32_t crc = log::Crc32c(body_.data(), count_at_ + 4);
    std::memcpy(&body_[count_at_ + 4], &crc, 4);
  } else {
    PutFixed32LE(&body_, log::Crc32c(body_));
  }
  return body_;
}

namespace {

Status Malformed(const std::string& what) { return Status::Corruption("malformed batch: " + what); }

// Version 2: a header with its CRC, then the spool's records.
Result<DecodedBatch> DecodeRecords(std::string_view body, const EventCheck& check) {
  auto bad = Malformed;
  ByteReader r(body.substr(kBatchMagicV2.size()));
  DecodedBatch batch;
  batch.header.cluster = std::string(r.Bytes(r.Varint()));
  batch.header.stream = std::string(r.Bytes(r.Varint()));
  batch.header.first_sequence = r.Varint();
  batch.header.count = r.Fixed32LE();
  size_t header_size = body.size() - r.remaining();
  uint32_t want = r.Fixed32LE();
  if (!r.ok()) return bad("truncated header");
  if (log::Crc32c(body.data(), header_size) != want) return bad("header checksum mismatch (damaged or cut)");
  // One spelling per header (varints at their shortest), as the encoder writes it.
  std::string canonical(kBatchMagicV2);
  PutBytes(&canonical, batch.header.cluster);
  PutBytes(&canonical, batch.header.stream);
  PutVarint64(&canonical, batch.header.first_sequence);
  if (canonical.size() + 4 != header_size || body.compare(0, canonical.size(), canonical) != 0) {
    return bad("header varints not in their shortest form");
  }
  if (batch.header.cluster.empty()) return bad("no cluster name");
  if (batch.header.stream.empty()) return bad("no stream id");
  if (batch.header.count > r.remaining() / log::kRecordOverhead) {
    return bad("record count " + std::to_string(batch.header.count) + " exceeds the body");
  }
  std::string_view rest = body.substr(body.size() - r.remaining());
  batch.events.reserve(batch.header.count);
  for (uint64_t i = 0; i < batch.header.count; ++i) {
    auto where = [&] { return "record " + std::to_string(i) + " of " + std::to_string(batch.header.count); };
    log::DecodedRecord rec;
    std::string problem;
    log::DecodeState state = log::DecodeRecord(rest, &rec, &problem);
    if (state == log::DecodeState::kIncomplete) return bad(where() + " truncated");
    if (state != log::DecodeState::kOk) return bad(where() + ": " + problem);
    uint64_t sequence = batch.header.first_sequence + i;
    if (static_cast<uint64_t>(rec.offset) != sequence) {
      return bad(where() + " carries sequence " + std::to_string(static_cast<uint64_t>(rec.offset)) + ", not " +
                 std::to_string(sequence));
    }
    if (rec.key != batch.header.cluster)
      return bad(where() + " is keyed \"" + std::string(rec.key.substr(0, 100)) + "\", not the batch's cluster");
    if (rec.timestamp_ms < 0) return bad(where() + ": negative timestamp");
    BatchEvent e;
    e.timestamp_ms = rec.timestamp_ms;
    e.content = rec.value;
    e.record = rest.substr(0, rec.encoded_size);
    if (check) KL_RETURN_IF_ERROR(check(batch.header, i, e.content));
    batch.events.push_back(e);
    rest.remove_prefix(rec.encoded_size);
  }
  if (!rest.empty()) return bad(std::to_string(rest.size()) + " bytes after the last record");
  return batch;
}

}  // namespace

Result<DecodedBatch> DecodeBatch(std::string_view body, const EventCheck& check) {
  auto bad = Malformed;
  if (body.size() < kBatchMagic.size() + 4) return bad("only " + std::to_string(body.size()) + " bytes");
  if (body.substr(0, kBatchMagicV2.size()) == kBatchMagicV2) return DecodeRecords(body, check);
  if (body.substr(0, kBatchMagic.size()) != kBatchMagic) {
    return bad("does not start with " + std::string(kBatchMagic) + " or " + std::string(kBatchMagicV2));
  }
  std::string_view covered = body.substr(0, body.size() - 4);
  uint32_t want = LoadLE32(body.data() + covered.size());
  if (log::Crc32c(covered) != want) return bad("checksum mismatch (the body was damaged or cut)");
  ByteReader r(covered.substr(kBatchMagic.size()));
  DecodedBatch batch;
  batch.header.cluster = std::string(r.Bytes(r.Varint()));
  batch.header.stream = std::string(r.Bytes(r.Varint()));
  batch.header.first_sequence = r.Varint();
  batch.header.count = r.Fixed32LE();
  if (!r.ok()) return bad("truncated header");
  if (batch.header.cluster.empty()) return bad("no cluster name");
  if (batch.header.stream.empty()) return bad("no stream id");
  // Every event takes at least two bytes: a count beyond that is a lie.
  if (batch.header.count > r.remaining() / 2 + 1)
    return bad("event count " + std::to_string(batch.header.count) + " exceeds the body");
  batch.events.reserve(batch.header.count);
  for (uint64_t i = 0; i < batch.header.count; ++i) {
    BatchEvent e;
    e.timestamp_ms = static_cast<int64_t>(r.Varint());
    uint64_t len = r.Varint();
    e.content = r.Bytes(len);
    if (!r.ok()) return bad("event " + std::to_string(i) + " of " + std::to_string(batch.header.count) + " truncated");
    if (e.timestamp_ms < 0) return bad("event " + std::to_string(i) + ": negative timestamp");
    if (check) KL_RETURN_IF_ERROR(check(batch.header, i, e.content));
    batch.events.push_back(e);
  }
  if (r.remaining() != 0) return bad(std::to_string(r.remaining()) + " bytes after the last event");
  return batch;
}

Status ValidateEventContent(std::string_view content) {
  // Every byte is checked as simdjson's DOM parser (the pipeline's) would
  // check it, so what the log accepts, the pipeline can read; a lazy walk that
  // skipped the values it does not look at would let "tru" or "[}" inside obj
  // into the log. EventValidator gives the DOM's verdict at half its cost.
  thread_local EventValidator validator;
  return validator.ValidateEvent(content);
}

std::string AckJson(std::string_view cluster, std::string_view stream, uint64_t next, uint64_t appended,
                    uint64_t duplicates) {
  JsonWriter w;
  w.BeginObject().Key("cluster").String(cluster).Key("stream").String(stream).Key("next").Uint(next);
  w.Key("appended").Uint(appended).Key("duplicates").Uint(duplicates).EndObject();
  return w.Release();
}

std::string ErrorJson(std::string_view message, int64_t next) {
  JsonWriter w;
  w.BeginObject().Key("error").String(message);
  if (next >= 0) w.Key("next").Int(next);
  w.EndObject();
  return w.Release();
}

BatchAnswer ParseBatchAnswer(std::string_view body) {
  BatchAnswer a;
  auto v = ParseJson(body, "ingest answer");
  if (!v.ok() || !v->is_object()) {
    a.error = std::string(body.substr(0, 300));
    return a;
  }
  if (const JsonValue* next = v->Find("next"); next != nullptr && next->is_int() && next->as_int() >= 0) {
    a.next = static_cast<uint64_t>(next->as_int());
    a.has_next = true;
  }
  a.error = v->GetStringOr("error", "");
  return a;
}

}  // namespace kl::ingest
