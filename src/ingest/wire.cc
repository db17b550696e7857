#include "ingest/wire.h"

#include <simdjson.h>

#include <cstring>

#include "common/coding.h"
#include "common/json.h"
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

Status ValidateEventContent(std::string_view content, size_t readable_after) {
  // A full parse (simdjson's DOM, the parser the pipeline reads events
  // with): every byte of the document is checked — UTF-8, strings and their
  // escapes, numbers, literals, nesting, nothing after the object — so what
  // the log accepts, the pipeline can read. A lazy walk that skips values it
  // does not look at would let "tru" or "[}" inside obj into the log.
  thread_local simdjson::dom::parser parser;
  thread_local std::string scratch;
  auto fail = [](std::string_view what) { return Status::InvalidArgument(std::string(what)); };
  simdjson::dom::element root;
  simdjson::error_code error;
  if (readable_after >= simdjson::SIMDJSON_PADDING) {
    error = parser.parse(content.data(), content.size(), /*realloc_if_needed=*/false).get(root);
  } else {
    scratch.assign(content);
    scratch.resize(content.size() + simdjson::SIMDJSON_PADDING);
    error = parser.parse(scratch.data(), content.size(), false).get(root);
  }
  // The parser keeps its buffers (about ten times the largest document) for
  // the next event; after a rare huge one they are given back.
  struct Shrink {
    ~Shrink() {
      if (parser.capacity() > (4u << 20)) parser = simdjson::dom::parser();
    }
  } shrink;
  if (error != simdjson::SUCCESS) return fail(std::string("not valid JSON: ") + simdjson::error_message(error));
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return fail("not a JSON object");
  // Looked up as the pipeline does (the first field of a name counts).
  std::string_view type;
  if (simdjson::dom::element v; object.at_key("type").get(v) != simdjson::SUCCESS) {
    return fail("no type");
  } else if (v.get_string().get(type) != simdjson::SUCCESS) {
    return fail("type is not a string");
  }
  if (type != "ADDED" && type != "MODIFIED" && type != "DELETED") return fail("type is not ADDED, MODIFIED or DELETED");
  for (const char* key : {"uid", "kind", "resourceversion"}) {
    simdjson::dom::element v;
    if (object.at_key(key).get(v) != simdjson::SUCCESS) return fail(std::string("no ") + key);
    std::string_view s;
    if (v.get_string().get(s) != simdjson::SUCCESS || s.empty()) {
      return fail(std::string(key) + " is not a non-empty string");
    }
  }
  simdjson::dom::element obj;
  if (object.at_key("obj").get(obj) != simdjson::SUCCESS) return fail("no obj");
  if (!obj.is_object()) return fail("obj is not an object");
  return Status::OK();
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
