#include "log/event_log.h"

#include <cstdint>

#include "common/coding.h"
#include "log/kafka/kafka_log.h"
#include "log/log_uri.h"
#include "log/segment/record_format.h"
#include "log/segment/segment_log.h"

namespace kl::log {

void RecordBatch::Retain(std::shared_ptr<const void> owner) {
  if (!owners_.empty() && owners_.back() == owner) return;
  owners_.push_back(std::move(owner));
}

Status CheckPollOptions(const PollOptions& options) {
  if (options.max_records == 0 || options.max_bytes == 0 || options.timeout_ms < 0) {
    return Status::InvalidArgument("poll options need max_records >= 1, max_bytes >= 1 and timeout_ms >= 0");
  }
  return Status::OK();
}

Status CheckEncodedRecords(std::string_view key, std::string_view records, size_t count, size_t max_record_bytes) {
  size_t n = 0;
  while (!records.empty()) {
    DecodedRecord r;
    std::string problem;
    auto where = [&] { return "encoded record " + std::to_string(n) + " of " + std::to_string(count); };
    DecodeState state = DecodeRecord(records, &r, &problem, /*verify_crc=*/false);
    if (state == DecodeState::kIncomplete) return Status::InvalidArgument(where() + " is cut short");
    if (state != DecodeState::kOk) return Status::InvalidArgument(where() + ": " + problem);
    if (r.key != key) return Status::InvalidArgument(where() + " does not carry the key it is sent under");
    if (r.key.size() + r.value.size() > max_record_bytes) {
      return Status::InvalidArgument(where() + " of " + std::to_string(r.key.size() + r.value.size()) +
                                     " bytes exceeds max_record_bytes " + std::to_string(max_record_bytes));
    }
    records.remove_prefix(r.encoded_size);
    ++n;
  }
  if (n != count) {
    return Status::InvalidArgument("expected " + std::to_string(count) + " encoded records, found " +
                                   std::to_string(n));
  }
  return Status::OK();
}

Status Producer::SendEncoded(std::string_view key, char* records, size_t size, size_t count) {
  std::string_view rest(records, size);
  KL_RETURN_IF_ERROR(CheckEncodedRecords(key, rest, count, SIZE_MAX));
  while (!rest.empty()) {
    DecodedRecord r;
    std::string problem;
    (void)DecodeRecord(rest, &r, &problem, /*verify_crc=*/false);
    ProducerRecord record;
    record.key = key;
    record.value = r.value;
    record.timestamp_ms = r.timestamp_ms;
    record.encoded = rest.substr(0, r.encoded_size);
    KL_RETURN_IF_ERROR(Send(record));
    rest.remove_prefix(r.encoded_size);
  }
  return Flush();
}

Status Producer::SendBatch(std::span<const ProducerRecord> records) {
  for (const ProducerRecord& record : records) {
    // A batch's records are framed by the producer: `encoded` is not sent.
    ProducerRecord copy = record;
    copy.encoded = {};
    KL_RETURN_IF_ERROR(Send(copy));
  }
  return Status::OK();
}

int32_t EventLog::PartitionFor(std::string_view key) const { return PartitionForKey(key, NumPartitions()); }

namespace {

// MurmurHash2 as Kafka's Java client computes it (seed 0x9747b28c).
uint32_t Murmur2(std::string_view data) {
  constexpr uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t length = data.size();
  uint32_t h = 0x9747b28cu ^ static_cast<uint32_t>(length);
  size_t words = length / 4;
  for (size_t i = 0; i < words; ++i) {
    uint32_t k = LoadLE32(p + 4 * i);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint8_t* tail = p + 4 * words;
  switch (length % 4) {
    case 3: h ^= static_cast<uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1: h ^= tail[0]; h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

}  // namespace

int32_t PartitionForKey(std::string_view key, int32_t num_partitions) {
  if (num_partitions <= 0) return 0;
  return static_cast<int32_t>((Murmur2(key) & 0x7fffffffu) % static_cast<uint32_t>(num_partitions));
}

Result<std::unique_ptr<EventLog>> OpenEventLog(std::string_view uri) {
  KL_ASSIGN_OR_RETURN(LogUri parsed, ParseLogUri(uri));
  if (parsed.kind == LogUri::Kind::kKafka) {
    KafkaLogOptions options;
    options.brokers = parsed.brokers;
    options.topic = parsed.topic;
    KL_RETURN_IF_ERROR(ApplyKafkaLogParams(parsed.params, &options));
    KL_ASSIGN_OR_RETURN(auto log, KafkaLog::Open(options));
    return std::unique_ptr<EventLog>(std::move(log));
  }
  SegmentLogOptions options;
  KL_RETURN_IF_ERROR(ApplySegmentLogParams(parsed.params, &options));
  KL_ASSIGN_OR_RETURN(auto log, SegmentLog::Open(parsed.path, options));
  return std::unique_ptr<EventLog>(std::move(log));
}

}  // namespace kl::log
