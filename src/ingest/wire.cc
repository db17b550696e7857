#include "ingest/wire.h"

#include <simdjson.h>

#include <cstring>

#include "common/coding.h"
#include "common/json.h"
#include "log/crc32c.h"

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

std::string& BatchEncoder::Finish() {
  std::memcpy(&body_[count_at_], &count_, 4);
  PutFixed32LE(&body_, log::Crc32c(body_));
  return body_;
}

Result<DecodedBatch> DecodeBatch(std::string_view body) {
  auto bad = [](const std::string& what) { return Status::Corruption("malformed batch: " + what); };
  if (body.size() < kBatchMagic.size() + 4) return bad("only " + std::to_string(body.size()) + " bytes");
  if (body.substr(0, kBatchMagic.size()) != kBatchMagic) return bad("does not start with " + std::string(kBatchMagic));
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
    batch.events.push_back(e);
  }
  if (r.remaining() != 0) return bad(std::to_string(r.remaining()) + " bytes after the last event");
  return batch;
}

Status ValidateEventContent(std::string_view content, size_t readable_after) {
  namespace od = simdjson::ondemand;
  thread_local od::parser parser;
  thread_local std::string scratch;
  simdjson::padded_string_view padded;
  if (readable_after >= simdjson::SIMDJSON_PADDING) {
    padded = simdjson::padded_string_view(content.data(), content.size(), content.size() + readable_after);
  } else {
    scratch.assign(content);
    scratch.resize(content.size() + simdjson::SIMDJSON_PADDING);
    padded = simdjson::padded_string_view(scratch.data(), content.size(), scratch.size());
  }
  od::document doc;
  auto fail = [](std::string_view what) { return Status::InvalidArgument(std::string(what)); };
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return fail("not JSON");
  od::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return fail("not a JSON object");
  bool type = false, uid = false, kind = false, rv = false, obj = false;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return fail("bad field name");
    od::value value = field.value();
    if (key == "type") {
      std::string_view t;
      if (value.get_string().get(t) != simdjson::SUCCESS) return fail("type is not a string");
      if (t != "ADDED" && t != "MODIFIED" && t != "DELETED") return fail("type is not ADDED, MODIFIED or DELETED");
      type = true;
    } else if (key == "uid" || key == "kind" || key == "resourceversion") {
      std::string_view s;
      if (value.get_string().get(s) != simdjson::SUCCESS || s.empty()) {
        return fail(std::string(key) + " is not a non-empty string");
      }
      (key == "uid" ? uid : key == "kind" ? kind : rv) = true;
    } else if (key == "obj") {
      od::object o;
      if (value.get_object().get(o) != simdjson::SUCCESS) return fail("obj is not an object");
      // Walks the object so that malformed JSON inside it is caught here.
      std::string_view raw;
      if (o.raw_json().get(raw) != simdjson::SUCCESS) return fail("obj is not valid JSON");
      obj = true;
    }
  }
  std::string_view trimmed = content;
  while (!trimmed.empty() &&
         (trimmed.back() == ' ' || trimmed.back() == '\n' || trimmed.back() == '\r' || trimmed.back() == '\t')) {
    trimmed.remove_suffix(1);
  }
  if (trimmed.empty() || trimmed.back() != '}') return fail("trailing content after the JSON object");
  if (!type) return fail("no type");
  if (!uid) return fail("no uid");
  if (!kind) return fail("no kind");
  if (!rv) return fail("no resourceversion");
  if (!obj) return fail("no obj");
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
