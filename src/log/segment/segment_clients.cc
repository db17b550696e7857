// Producer and consumer of the embedded log.
#include <algorithm>
#include <chrono>
#include <cstdint>

#include "common/clock.h"
#include "log/crc32c.h"
#include "log/segment/segment_log_internal.h"

namespace kl::log {
namespace {

class SegmentProducer final : public Producer {
 public:
  SegmentProducer(std::shared_ptr<LogState> state, LogWriter* writer)
      : state_(std::move(state)), writer_(writer), pending_(state_->partitions), unpublished_(state_->partitions) {}

  Status Send(const ProducerRecord& record) override {
    KL_ASSIGN_OR_RETURN(int32_t partition, Check(record));
    PendingRecords& pending = pending_[partition];
    if (!record.encoded.empty()) {
      if (record.encoded.size() != EncodedRecordSize(record.key.size(), record.value.size())) {
        return Status::InvalidArgument("an encoded record of " + std::to_string(record.encoded.size()) +
                                       " bytes does not frame its key and value");
      }
      AppendPendingEncoded(&pending, record.encoded);
    } else {
      AppendPending(&pending, record.timestamp_ms != 0 ? record.timestamp_ms : NowMillis(), record.key, record.value);
    }
    if (pending.bytes.size() >= state_->options.producer_batch_bytes) return writer_->Write(partition, &pending);
    return Status::OK();
  }

  Status Flush() override {
    for (int32_t p = 0; p < state_->partitions; ++p) {
      if (!pending_[p].empty()) {
        KL_RETURN_IF_ERROR(writer_->Write(p, &pending_[p]));  // publishes what SendBatch wrote too
      } else if (unpublished_[p]) {
        KL_RETURN_IF_ERROR(writer_->Finish(p));
      }
      unpublished_[p] = false;
    }
    return Status::OK();
  }

  Status SendBatch(std::span<const ProducerRecord> records) override {
    partitions_.clear();
    for (const ProducerRecord& record : records) {
      KL_ASSIGN_OR_RETURN(int32_t partition, Check(record));
      if (state_->options.check_value_crcs && record.value_crc32c && *record.value_crc32c != Crc32c(record.value)) {
        return Status::InvalidArgument("record of " + std::to_string(record.value.size()) + " bytes for partition " +
                                       std::to_string(partition) + " carries a value_crc32c that is not its value's");
      }
      partitions_.push_back(partition);
    }
    int64_t now = 0;
    auto stamp = [&now](const ProducerRecord& record) {
      if (record.timestamp_ms != 0) return record.timestamp_ms;
      if (now == 0) now = NowMillis();
      return now;
    };
    size_t bytes = 0;
    for (const ProducerRecord& record : records) bytes += record.key.size() + record.value.size();
    if (bytes < state_->options.batch_gather_min_bytes) {
      // Small: copied, as Send would, and written with the rest (a partition
      // whose buffer reached producer_batch_bytes now, as Send writes it).
      for (size_t i = 0; i < records.size(); ++i) {
        AppendPending(&pending_[partitions_[i]], stamp(records[i]), records[i].key, records[i].value);
      }
      Status first;
      for (int32_t p = 0; p < state_->partitions; ++p) {
        if (pending_[p].bytes.size() < state_->options.producer_batch_bytes) continue;
        Status s = writer_->Write(p, &pending_[p]);
        if (first.ok()) first = s;
      }
      return first;
    }
    // Each run of records for one partition in one gathered write, after
    // what Send left pending there.
    Status status;
    size_t i = 0;
    while (i < records.size()) {
      int32_t partition = partitions_[i];
      size_t begin = i;
      gathered_.clear();
      for (; i < records.size() && partitions_[i] == partition; ++i) {
        gathered_.push_back({stamp(records[i]), records[i].key, records[i].value, records[i].value_crc32c});
      }
      PendingRecords& pending = pending_[partition];
      if (!pending.empty()) {
        status = writer_->Write(partition, &pending);
        if (!status.ok()) {
          i = begin;
          break;
        }
      }
      size_t written = 0;
      status = writer_->WriteGathered(partition, gathered_.data(), gathered_.size(), &written);
      if (written > 0) unpublished_[partition] = true;
      if (!status.ok()) {
        i = begin + written;
        break;
      }
    }
    // What was not written stays with the producer for the next Flush.
    for (; i < records.size(); ++i) {
      AppendPending(&pending_[partitions_[i]], stamp(records[i]), records[i].key, records[i].value);
    }
    return status;
  }

  Status SendEncoded(std::string_view key, char* records, size_t size, size_t count) override {
    size_t limit = std::min<size_t>(state_->options.max_record_bytes, kMaxRecordBodySize - kRecordFixedBodySize);
    KL_RETURN_IF_ERROR(CheckEncodedRecords(key, std::string_view(records, size), count, limit));
    int32_t partition = PartitionForKey(key, state_->partitions);
    PendingRecords& pending = pending_[partition];
    if (!pending.empty()) KL_RETURN_IF_ERROR(writer_->Write(partition, &pending));
    if (count == 0) return Status::OK();
    return writer_->WriteRecords(partition, records, size);
  }

 private:
  // The partition of `record`, when it may be sent.
  Result<int32_t> Check(const ProducerRecord& record) const {
    int32_t partition = record.partition;
    if (partition < 0) {
      partition = PartitionForKey(record.key, state_->partitions);
    } else {
      KL_RETURN_IF_ERROR(state_->CheckPartition(partition));
    }
    size_t size = record.key.size() + record.value.size();
    if (size > state_->options.max_record_bytes || size > kMaxRecordBodySize - kRecordFixedBodySize) {
      return Status::InvalidArgument("record of " + std::to_string(size) + " bytes for partition " +
                                     std::to_string(partition) + " exceeds max_record_bytes " +
                                     std::to_string(state_->options.max_record_bytes));
    }
    return partition;
  }

  std::shared_ptr<LogState> state_;
  LogWriter* writer_;  // owned by state_, lives as long as it
  std::vector<PendingRecords> pending_;
  // Per partition, 0 or 1: SendBatch wrote records Flush has yet to publish
  // (bytes rather than std::vector<bool>'s packed bits, read once a Flush).
  std::vector<uint8_t> unpublished_;
  std::vector<int32_t> partitions_;
  std::vector<GatheredRecord> gathered_;
};

class SegmentConsumer final : public Consumer {
 public:
  SegmentConsumer(std::shared_ptr<LogState> state, std::string group)
      : state_(std::move(state)), group_(std::move(group)) {}

  Status Seek(int32_t partition, int64_t offset) override {
    KL_RETURN_IF_ERROR(state_->CheckPartition(partition));
    KL_ASSIGN_OR_RETURN(int64_t resolved, Resolve(partition, offset));
    auto& reader = readers_[partition];
    if (!reader) reader = std::make_unique<PartitionReader>(state_->PartitionDir(partition), partition);
    reader->Seek(resolved);
    return Status::OK();
  }

  Status Unassign(int32_t partition) override {
    readers_.erase(partition);
    return Status::OK();
  }

  Result<int64_t> Position(int32_t partition) const override {
    auto it = readers_.find(partition);
    if (it == readers_.end()) return Status::NotFound("partition " + std::to_string(partition) + " is not assigned");
    return it->second->position();
  }

  Result<RecordBatch> Poll(const PollOptions& options) override {
    RecordBatch batch;
    if (readers_.empty()) return Status::InvalidArgument("poll without assigned partitions: Seek first");
    KL_RETURN_IF_ERROR(CheckPollOptions(options));
    int64_t deadline = MonotonicMicros() + options.timeout_ms * 1000;
    while (true) {
      uint64_t generation;
      {
        std::lock_guard<std::mutex> lock(state_->notify_mu);
        generation = state_->generation;
      }
      KL_RETURN_IF_ERROR(ReadRound(options, &batch));
      if (!batch.empty()) return batch;
      int64_t now = MonotonicMicros();
      if (now >= deadline) return batch;
      // The writer in this process wakes us at once; one in another process
      // is noticed at the next look at the files. While this process holds the
      // writer lock no other can append, so an idle reader sleeps until woken
      // or the deadline rather than looking at every partition each few ms.
      int64_t wait_us = deadline - now;
      if (state_->WriterOrNull() == nullptr) {
        wait_us = std::min<int64_t>(wait_us, state_->options.reader_poll_interval_ms * 1000);
      }
      std::unique_lock<std::mutex> lock(state_->notify_mu);
      state_->notify_cv.wait_for(lock, std::chrono::microseconds(wait_us),
                                 [&] { return state_->generation != generation; });
    }
  }

  Status Commit(const std::map<int32_t, int64_t>& offsets) override {
    for (const auto& [partition, offset] : offsets) {
      KL_RETURN_IF_ERROR(state_->CheckPartition(partition));
      if (offset < 0) {
        return Status::InvalidArgument("committing offset " + std::to_string(offset) + " for partition " +
                                       std::to_string(partition));
      }
    }
    return state_->offsets.Commit(group_, offsets, state_->options.fsync != FsyncPolicy::kNever);
  }

 private:
  Result<int64_t> Resolve(int32_t partition, int64_t offset) {
    if (offset == kOffsetCommitted) {
      KL_ASSIGN_OR_RETURN(auto committed, state_->offsets.Load(group_));
      auto it = committed.find(partition);
      if (it != committed.end()) return it->second;
      offset = kOffsetBeginning;
    }
    if (offset == kOffsetBeginning) return state_->StartOffset(partition);
    if (offset == kOffsetEnd) return state_->EndOffset(partition);
    if (offset < 0)
      return Status::InvalidArgument("seeking partition " + std::to_string(partition) + " to offset " +
                                     std::to_string(offset));
    return offset;
  }

  // One pass over the assigned partitions, starting after the one served
  // first last time so that a busy partition cannot starve the others.
  Status ReadRound(const PollOptions& options, RecordBatch* batch) {
    std::vector<int32_t> order;
    for (const auto& entry : readers_) order.push_back(entry.first);
    auto first = std::upper_bound(order.begin(), order.end(), last_served_);
    std::rotate(order.begin(), first, order.end());
    for (int32_t partition : order) {
      if (batch->size() >= options.max_records || batch->payload_bytes() >= options.max_bytes) {
        batch->set_more_waiting();  // partitions left unread this round
        break;
      }
      size_t max_bytes = options.max_bytes - batch->payload_bytes();
      auto read = readers_[partition]->Read(options.max_records - batch->size(), max_bytes, batch);
      if (!read.ok()) {
        if (!batch->empty()) break;  // return what we have; the error comes back next time
        return read.status().WithContext("polling the log at " + state_->dir);
      }
      if (*read > 0) last_served_ = partition;
    }
    return Status::OK();
  }

  std::shared_ptr<LogState> state_;
  std::string group_;
  std::map<int32_t, std::unique_ptr<PartitionReader>> readers_;
  int32_t last_served_ = -1;
};

}  // namespace

Result<std::unique_ptr<Producer>> NewSegmentProducer(std::shared_ptr<LogState> state) {
  KL_ASSIGN_OR_RETURN(LogWriter * writer, state->EnsureWriter());
  return std::unique_ptr<Producer>(new SegmentProducer(std::move(state), writer));
}

Result<std::unique_ptr<Consumer>> NewSegmentConsumer(std::shared_ptr<LogState> state, const std::string& group) {
  KL_RETURN_IF_ERROR(ValidateGroupName(group));
  return std::unique_ptr<Consumer>(new SegmentConsumer(std::move(state), group));
}

}  // namespace kl::log
