#include "pipeline/runtime/log_source.h"

namespace kl::pipeline {

using format::DataType;
using format::Datum;

format::RowType LogSource::RecordType() {
  return format::RowType({{0, "partition", DataType::Int().NotNull(), ""},
                          {1, "offset", DataType::BigInt().NotNull(), ""},
                          {2, "timestamp", DataType::BigInt().NotNull(), ""},
                          {3, "key", DataType::String(), ""},
                          {4, "value", DataType::String(), ""}});
}

LogSource::LogSource(log::EventLog* log, std::unique_ptr<log::Consumer> consumer, int64_t start_offset)
    : log_(log), start_offset_(start_offset), consumer_(std::move(consumer)), type_(RecordType()) {}

Result<std::unique_ptr<LogSource>> LogSource::Create(log::EventLog* log, const std::string& group,
                                                     int64_t start_offset) {
  KL_ASSIGN_OR_RETURN(auto consumer, log->NewConsumer(group));
  return std::unique_ptr<LogSource>(new LogSource(log, std::move(consumer), start_offset));
}

Status LogSource::Restore(const std::optional<SourcePosition>& position) {
  position_ = SourcePosition();
  for (int32_t p = 0; p < log_->NumPartitions(); ++p) {
    // A partition the committed position lacks (added since) is read from its start.
    int64_t offset = position ? log::kOffsetBeginning : start_offset_;
    if (position) {
      auto it = position->log_offsets.find(p);
      if (it != position->log_offsets.end()) offset = it->second;
    }
    KL_RETURN_IF_ERROR(consumer_->Seek(p, offset));
    KL_ASSIGN_OR_RETURN(int64_t at, consumer_->Position(p));
    position_.log_offsets[p] = at;
  }
  return Status::OK();
}

Status LogSource::PollRecords(size_t max_records, int64_t timeout_ms, log::RecordBatch* out, size_t max_bytes) {
  log::PollOptions opts;
  opts.max_records = max_records;
  opts.max_bytes = max_bytes;
  opts.timeout_ms = timeout_ms;
  KL_ASSIGN_OR_RETURN(*out, consumer_->Poll(opts));
  more_waiting_ = out->more_waiting();
  for (const auto& r : *out) position_.log_offsets[r.partition] = r.offset + 1;
  return Status::OK();
}

Status LogSource::Poll(size_t max_changes, int64_t timeout_ms, Changes* out) {
  log::RecordBatch batch;
  KL_RETURN_IF_ERROR(PollRecords(max_changes, timeout_ms, &batch));
  out->reserve(out->size() + batch.size());
  for (const auto& r : batch) {
    // Built in place: a braced list of Datums would copy each of them (the value twice).
    Change& c = out->emplace_back();
    c.row.reserve(5);
    c.row.push_back(Datum::Int(r.partition));
    c.row.push_back(Datum::Int(r.offset));
    c.row.push_back(Datum::Int(r.timestamp_ms));
    c.row.push_back(Datum::Bytes(std::string(r.key)));
    std::string value;
    value.reserve(r.value.size() + kValuePadding);
    value.assign(r.value);
    c.row.push_back(Datum::Bytes(std::move(value)));
  }
  return Status::OK();
}

}  // namespace kl::pipeline
