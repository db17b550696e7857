#include "log/segment/record_format.h"

#include <algorithm>
#include <cstring>

#include "common/coding.h"
#include "log/crc32c.h"

namespace kl::log {

std::string EncodeSegmentHeader(int64_t base_offset) {
  std::string out(kSegmentMagic);
  PutFixed64LE(&out, static_cast<uint64_t>(base_offset));
  return out;
}

HeaderState CheckSegmentHeader(std::string_view data, int64_t base_offset, std::string* problem) {
  size_t n = std::min(data.size(), kSegmentMagic.size());
  if (data.substr(0, n) != kSegmentMagic.substr(0, n)) {
    *problem = "bad segment magic";
    return HeaderState::kBad;
  }
  if (data.size() < kSegmentHeaderSize) return HeaderState::kIncomplete;
  auto stored = static_cast<int64_t>(LoadLE64(data.data() + 8));
  if (stored != base_offset) {
    *problem = "header names base offset " + std::to_string(stored) + ", file name says " + std::to_string(base_offset);
    return HeaderState::kBad;
  }
  return HeaderState::kOk;
}

void AppendRecord(std::string* dst, int64_t offset, int64_t timestamp_ms, std::string_view key,
                  std::string_view value) {
  size_t start = dst->size();
  size_t body = kRecordFixedBodySize + key.size() + value.size();
  // Appended piece by piece rather than resized and filled: resizing would
  // zero the bytes (kilobytes per event) only to overwrite them.
  char header[kRecordOverhead] = {};
  StoreLE32(header + 4, static_cast<uint32_t>(body));
  StoreLE64(header + 8, static_cast<uint64_t>(offset));
  StoreLE64(header + 16, static_cast<uint64_t>(timestamp_ms));
  StoreLE32(header + 24, static_cast<uint32_t>(key.size()));
  dst->append(header, kRecordOverhead);
  dst->append(key);
  dst->append(value);
  char* p = dst->data() + start;
  StoreLE32(p, Crc32c(p + 4, 4 + body));
}

void SealRecord(char* record, int64_t offset) {
  uint32_t body = LoadLE32(record + 4);
  uint64_t change = LoadLE64(record + 8) ^ static_cast<uint64_t>(offset);
  if (change == 0) return;
  StoreLE64(record + 8, static_cast<uint64_t>(offset));
  // The CRC covers the length field and the body; the offset is bytes 4..12 of that.
  char delta[8];
  StoreLE64(delta, change);
  StoreLE32(record, Crc32cPatch(LoadLE32(record), 4 + body, 4, delta, 8));
}

size_t RecordSizeAt(std::string_view data) {
  if (data.size() < kRecordPrefixSize) return 0;
  return kRecordPrefixSize + LoadLE32(data.data() + 4);
}

DecodeState DecodeRecord(std::string_view data, DecodedRecord* out, std::string* problem, bool verify_crc) {
  if (data.size() < kRecordPrefixSize) return DecodeState::kIncomplete;
  const char* p = data.data();
  uint32_t body = LoadLE32(p + 4);
  if (body < kRecordFixedBodySize || body > kMaxRecordBodySize) {
    *problem = "impossible record length " + std::to_string(body);
    return DecodeState::kBad;
  }
  size_t total = kRecordPrefixSize + body;
  if (data.size() < total) return DecodeState::kIncomplete;
  if (verify_crc) {
    uint32_t stored = LoadLE32(p);
    uint32_t actual = Crc32c(p + 4, 4 + body);
    if (stored != actual) {
      *problem = "bad CRC";
      return DecodeState::kBad;
    }
  }
  uint32_t key_size = LoadLE32(p + 24);
  if (key_size > body - kRecordFixedBodySize) {
    *problem = "key length " + std::to_string(key_size) + " exceeds record length " + std::to_string(body);
    return DecodeState::kBad;
  }
  out->offset = static_cast<int64_t>(LoadLE64(p + 8));
  out->timestamp_ms = static_cast<int64_t>(LoadLE64(p + 16));
  out->key = std::string_view(p + kRecordOverhead, key_size);
  out->value = std::string_view(p + kRecordOverhead + key_size, body - kRecordFixedBodySize - key_size);
  out->encoded_size = total;
  return DecodeState::kOk;
}

size_t FindValidRecord(std::string_view data, size_t from, int64_t min_offset) {
  if (min_offset < 0) min_offset = 0;
  for (size_t pos = from; pos + kRecordOverhead <= data.size(); ++pos) {
    const char* p = data.data() + pos;
    uint32_t body = LoadLE32(p + 4);
    if (body < kRecordFixedBodySize || body > data.size() - pos - kRecordPrefixSize) continue;
    auto offset = static_cast<int64_t>(LoadLE64(p + 8));
    // Offsets grow by one per record, so a record further on cannot claim an
    // offset far beyond what the remaining bytes could hold: a cheap filter
    // before the CRC.
    if (offset < min_offset || static_cast<uint64_t>(offset - min_offset) > data.size() / kRecordOverhead + 1) continue;
    DecodedRecord record;
    std::string problem;
    if (DecodeRecord(data.substr(pos), &record, &problem) == DecodeState::kOk) return pos;
  }
  return std::string_view::npos;
}

}  // namespace kl::log
