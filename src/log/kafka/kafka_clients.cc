// Producer and consumer of the Kafka backend.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "common/clock.h"
#include "log/kafka/kafka_util.h"

namespace kl::log {
namespace {

// Delivery reports arrive on librdkafka's threads via rd_kafka_poll/flush;
// the first failure since the last Flush is kept for Flush to return.
struct DeliveryState {
  std::mutex mu;
  Status first_error;
  uint64_t failed = 0;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* state = static_cast<DeliveryState*>(opaque);
  std::lock_guard<std::mutex> lock(state->mu);
  ++state->failed;
  if (state->first_error.ok()) {
    state->first_error =
        KafkaStatus(message->err, "delivering a record to partition " + std::to_string(message->partition));
  }
}

class KafkaProducer final : public Producer {
 public:
  KafkaProducer(const KafkaLogOptions& options, int32_t partitions, rd_kafka_t* rk,
                std::unique_ptr<DeliveryState> state)
      : options_(options), partitions_(partitions), rk_(rk), state_(std::move(state)) {}

  ~KafkaProducer() override {
    // Unflushed records are dropped, as the contract says; purge so destroy does not wait for them.
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_destroy(rk_);
  }

  Status Send(const ProducerRecord& record) override {
    int32_t partition = record.partition;
    if (partition < 0) {
      partition = PartitionForKey(record.key, partitions_);
    } else if (partition >= partitions_) {
      return Status::InvalidArgument("partition " + std::to_string(partition) + " out of range for kafka topic " +
                                     options_.topic + " with " + std::to_string(partitions_));
    }
    int64_t timestamp = record.timestamp_ms != 0 ? record.timestamp_ms : NowMillis();
    while (true) {
      rd_kafka_resp_err_t err =
          rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(options_.topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                            RD_KAFKA_V_KEY(const_cast<char*>(record.key.data()), record.key.size()),
                            RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
                            RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return KafkaStatus(err,
                           "producing to kafka topic " + options_.topic + " partition " + std::to_string(partition));
      }
      // Back-pressure: let deliveries drain, then try again.
      rd_kafka_poll(rk_, 20);
    }
    rd_kafka_poll(rk_, 0);  // serve delivery reports
    return FatalError();
  }

  Status Flush() override {
    rd_kafka_resp_err_t err = rd_kafka_flush(rk_, static_cast<int>(options_.flush_timeout_ms));
    KL_RETURN_IF_ERROR(FatalError());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaStatus(err, "flushing to kafka topic " + options_.topic + " (" +
                                  std::to_string(rd_kafka_outq_len(rk_)) + " records still in flight)");
    }
    std::lock_guard<std::mutex> lock(state_->mu);
    Status s = state_->first_error;
    if (!s.ok()) {
      s = s.WithContext(std::to_string(state_->failed) + " records failed since the last flush");
      state_->first_error = Status::OK();
      state_->failed = 0;
    }
    return s;
  }

 private:
  Status FatalError() {
    char err[512];
    rd_kafka_resp_err_t code = rd_kafka_fatal_error(rk_, err, sizeof(err));
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
    return Status::IOError("kafka producer for topic " + options_.topic + " failed fatally: " + err);
  }

  KafkaLogOptions options_;
  int32_t partitions_;
  rd_kafka_t* rk_;
  std::unique_ptr<DeliveryState> state_;
};

rd_kafka_topic_partition_list_t* PartitionList(const std::string& topic, const std::map<int32_t, int64_t>& offsets) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
  for (const auto& [partition, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
  }
  return list;
}

Result<std::map<int32_t, int64_t>> Committed(rd_kafka_t* rk, const KafkaLogOptions& options, int32_t partitions) {
  std::map<int32_t, int64_t> all;
  for (int32_t p = 0; p < partitions; ++p) all[p] = RD_KAFKA_OFFSET_INVALID;
  rd_kafka_topic_partition_list_t* list = PartitionList(options.topic, all);
  rd_kafka_resp_err_t err = rd_kafka_committed(rk, list, static_cast<int>(options.request_timeout_ms));
  std::map<int32_t, int64_t> out;
  Status status;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = KafkaStatus(err, "reading committed offsets for kafka topic " + options.topic);
  } else {
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = list->elems[i];
      if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        status = KafkaStatus(tp.err, "reading committed offset of partition " + std::to_string(tp.partition));
        break;
      }
      if (tp.offset >= 0) out[tp.partition] = tp.offset;
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (!status.ok()) return status;
  return out;
}

Result<rd_kafka_t*> NewConsumerHandle(const KafkaLogOptions& options, const std::string& group) {
  KL_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, NewKafkaConf(options, {{"group.id", group},
                                                                     {"client.id", "kubelake-" + group},
                                                                     {"enable.auto.commit", "false"},
                                                                     {"enable.auto.offset.store", "false"},
                                                                     {"auto.offset.reset", "error"},
                                                                     {"enable.partition.eof", "false"},
                                                                     {"fetch.wait.max.ms", "50"},
                                                                     {"queued.max.messages.kbytes", "32768"}}));
  KL_ASSIGN_OR_RETURN(rd_kafka_t * rk, NewKafkaClient(RD_KAFKA_CONSUMER, conf));
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

class KafkaConsumer final : public Consumer {
 public:
  KafkaConsumer(const KafkaLogOptions& options, int32_t partitions, rd_kafka_t* admin, rd_kafka_t* rk)
      : options_(options), partitions_(partitions), admin_(admin), rk_(rk) {}

  ~KafkaConsumer() override {
    if (held_ != nullptr) rd_kafka_message_destroy(held_);
    rd_kafka_assign(rk_, nullptr);
    // Manual assignment, no group membership: nothing for close to leave.
    rd_kafka_destroy_flags(rk_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }

  Status Seek(int32_t partition, int64_t offset) override {
    if (partition < 0 || partition >= partitions_) {
      return Status::InvalidArgument("partition " + std::to_string(partition) + " out of range for kafka topic " +
                                     options_.topic);
    }
    if (offset == kOffsetCommitted) {
      KL_ASSIGN_OR_RETURN(auto committed, Committed(rk_, options_, partitions_));
      auto it = committed.find(partition);
      offset = it != committed.end() ? it->second : kOffsetBeginning;
    }
    if (offset == kOffsetBeginning || offset == kOffsetEnd) {
      KL_ASSIGN_OR_RETURN(auto marks, Watermarks(partition));
      offset = offset == kOffsetBeginning ? marks.first : marks.second;
    }
    if (offset < 0)
      return Status::InvalidArgument("seeking partition " + std::to_string(partition) + " to " +
                                     std::to_string(offset));
    positions_[partition] = offset;
    deferred_ = Status::OK();
    DropHeld(partition);
    assignment_dirty_ = true;
    return Status::OK();
  }

  Status Unassign(int32_t partition) override {
    if (positions_.erase(partition) > 0) assignment_dirty_ = true;
    DropHeld(partition);
    return Status::OK();
  }

  Result<int64_t> Position(int32_t partition) const override {
    auto it = positions_.find(partition);
    if (it == positions_.end()) return Status::NotFound("partition " + std::to_string(partition) + " is not assigned");
    return it->second;
  }

  Result<RecordBatch> Poll(const PollOptions& options) override {
    if (positions_.empty()) return Status::InvalidArgument("poll without assigned partitions: Seek first");
    KL_RETURN_IF_ERROR(CheckPollOptions(options));
    if (!deferred_.ok()) {
      Status s = deferred_;
      deferred_ = Status::OK();
      return s;
    }
    if (assignment_dirty_) KL_RETURN_IF_ERROR(Reassign());
    std::vector<rd_kafka_message_t*> taken;
    size_t bytes = 0;
    Status status;
    int64_t deadline = MonotonicMicros() + options.timeout_ms * 1000;
    while (taken.size() < options.max_records) {
      rd_kafka_message_t* m = held_;
      held_ = nullptr;
      if (m == nullptr) {
        int64_t left_ms = taken.empty() ? std::max<int64_t>(0, (deadline - MonotonicMicros()) / 1000) : 0;
        m = rd_kafka_consumer_poll(rk_, static_cast<int>(left_ms));
      }
      if (m == nullptr) {
        if (!taken.empty() || MonotonicMicros() >= deadline) break;
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        status = MessageError(m);
        rd_kafka_message_destroy(m);
        if (!status.ok()) break;
        continue;
      }
      auto pos = positions_.find(m->partition);
      // Messages of partitions no longer assigned, or before the position
      // (left over from an earlier assignment), are not ours to return.
      if (pos == positions_.end() || m->offset < pos->second) {
        rd_kafka_message_destroy(m);
        continue;
      }
      if (m->offset > pos->second) {
        // Offsets are dense in a topic kubelake writes: a jump means records
        // we never saw, which exactly-once cannot paper over.
        status = GapError(m->partition, pos->second, m->offset);
        rd_kafka_message_destroy(m);
        break;
      }
      size_t size = m->len + m->key_len;
      if (!taken.empty() && bytes + size > options.max_bytes) {
        held_ = m;  // the next Poll returns it first
        break;
      }
      pos->second = m->offset + 1;
      bytes += size;
      taken.push_back(m);
    }
    RecordBatch batch;
    auto buffer = std::make_shared<std::string>();
    buffer->reserve(bytes);
    for (rd_kafka_message_t* m : taken) {
      buffer->append(static_cast<const char*>(m->key), m->key_len);
      buffer->append(static_cast<const char*>(m->payload), m->len);
    }
    size_t at = 0;
    std::string_view all(*buffer);
    for (rd_kafka_message_t* m : taken) {
      Record r;
      r.partition = m->partition;
      r.offset = m->offset;
      rd_kafka_timestamp_type_t type;
      r.timestamp_ms = rd_kafka_message_timestamp(m, &type);
      r.key = all.substr(at, m->key_len);
      r.value = all.substr(at + m->key_len, m->len);
      at += m->key_len + m->len;
      batch.Add(r);
      rd_kafka_message_destroy(m);
    }
    batch.Retain(std::move(buffer));
    if (held_ != nullptr || taken.size() >= options.max_records) batch.set_more_waiting();
    if (!status.ok()) {
      if (batch.empty()) return status;
      deferred_ = status;  // return the records first; the error comes with the next Poll
    }
    return batch;
  }

  Status Commit(const std::map<int32_t, int64_t>& offsets) override {
    for (const auto& [partition, offset] : offsets) {
      if (partition < 0 || partition >= partitions_ || offset < 0) {
        return Status::InvalidArgument("committing offset " + std::to_string(offset) + " for partition " +
                                       std::to_string(partition));
      }
    }
    if (offsets.empty()) return Status::OK();
    rd_kafka_topic_partition_list_t* list = PartitionList(options_.topic, offsets);
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list, /*async=*/0);
    Status status = KafkaStatus(err, "committing offsets to kafka topic " + options_.topic);
    for (int i = 0; status.ok() && i < list->cnt; ++i) {
      if (list->elems[i].err) {
        status = KafkaStatus(list->elems[i].err,
                             "committing offset of partition " + std::to_string(list->elems[i].partition));
      }
    }
    rd_kafka_topic_partition_list_destroy(list);
    return status;
  }

  Result<std::map<int32_t, int64_t>> CommittedOffsets() { return Committed(rk_, options_, partitions_); }

 private:
  Result<std::pair<int64_t, int64_t>> Watermarks(int32_t partition) {
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(admin_, options_.topic.c_str(), partition, &low, &high,
                                                               static_cast<int>(options_.request_timeout_ms));
    if (err) return KafkaStatus(err, "reading offsets of partition " + std::to_string(partition));
    return std::make_pair(low, high);
  }

  Status Reassign() {
    rd_kafka_topic_partition_list_t* list = PartitionList(options_.topic, positions_);
    rd_kafka_resp_err_t err = rd_kafka_assign(rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) return KafkaStatus(err, "assigning partitions of kafka topic " + options_.topic);
    assignment_dirty_ = false;
    return Status::OK();
  }

  void DropHeld(int32_t partition) {
    if (held_ != nullptr && held_->partition == partition) {
      rd_kafka_message_destroy(held_);
      held_ = nullptr;
    }
  }

  Status GapError(int32_t partition, int64_t expected, int64_t got) {
    std::string where = "reading kafka topic " + options_.topic + " partition " + std::to_string(partition);
    auto marks = Watermarks(partition);
    if (marks.ok() && marks->first > expected) {
      return Status::Expired(where + ": offset " + std::to_string(expected) + " is below the start offset " +
                             std::to_string(marks->first) + " (deleted by retention)");
    }
    return Status::Corruption(where + ": expected offset " + std::to_string(expected) + ", the broker sent " +
                              std::to_string(got) +
                              " (offsets with gaps: a compacted or transactional topic, which the event log does "
                              "not support)");
  }

  // Turns a consumer error event into a Status; OK for the informational ones.
  Status MessageError(const rd_kafka_message_t* m) {
    std::string where = "reading kafka topic " + options_.topic + " partition " + std::to_string(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
      auto pos = positions_.find(m->partition);
      int64_t wanted = pos == positions_.end() ? -1 : pos->second;
      auto marks = Watermarks(m->partition);
      if (marks.ok() && wanted >= 0 && wanted < marks->first) {
        return Status::Expired(where + ": offset " + std::to_string(wanted) + " is below the start offset " +
                               std::to_string(marks->first) + " (deleted by retention)");
      }
      if (marks.ok() && wanted > marks->second) {
        return Status::InvalidArgument(where + ": offset " + std::to_string(wanted) + " is beyond the end offset " +
                                       std::to_string(marks->second));
      }
      return KafkaStatus(m->err, where);
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return Status::OK();
    if (rd_kafka_fatal_error(rk_, nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaStatus(m->err, where);
    // Broker hiccups are retried inside librdkafka: note them and go on.
    spdlog::warn("{}: {}", where, rd_kafka_message_errstr(m));
    return Status::OK();
  }

  KafkaLogOptions options_;
  int32_t partitions_;
  rd_kafka_t* admin_;  // owned by the KafkaLog
  rd_kafka_t* rk_;
  std::map<int32_t, int64_t> positions_;
  bool assignment_dirty_ = false;
  rd_kafka_message_t* held_ = nullptr;
  Status deferred_;  // an error met after records were taken, for the next Poll
};

}  // namespace

Result<std::unique_ptr<Producer>> NewKafkaProducer(const KafkaLogOptions& options, int32_t partitions) {
  auto state = std::make_unique<DeliveryState>();
  KL_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf,
                      NewKafkaConf(options, {{"enable.idempotence", "true"},
                                             {"client.id", "kubelake-producer"},
                                             {"linger.ms", std::to_string(options.linger_ms)},
                                             // Event JSON compresses several-fold; lz4 costs little CPU.
                                             {"compression.codec", "lz4"},
                                             {"message.max.bytes", "67108864"},
                                             {"queue.buffering.max.kbytes", "262144"},
                                             {"message.timeout.ms", std::to_string(options.flush_timeout_ms)}}));
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_conf_set_opaque(conf, state.get());
  KL_ASSIGN_OR_RETURN(rd_kafka_t * rk, NewKafkaClient(RD_KAFKA_PRODUCER, conf));
  return std::unique_ptr<Producer>(new KafkaProducer(options, partitions, rk, std::move(state)));
}

Result<std::unique_ptr<Consumer>> NewKafkaConsumer(const KafkaLogOptions& options, int32_t partitions,
                                                   rd_kafka_t* admin, const std::string& group) {
  KL_ASSIGN_OR_RETURN(rd_kafka_t * rk, NewConsumerHandle(options, group));
  return std::unique_ptr<Consumer>(new KafkaConsumer(options, partitions, admin, rk));
}

Result<std::map<int32_t, int64_t>> KafkaCommitted(const KafkaLogOptions& options, int32_t partitions,
                                                  const std::string& group) {
  KL_ASSIGN_OR_RETURN(rd_kafka_t * rk, NewConsumerHandle(options, group));
  auto out = Committed(rk, options, partitions);
  rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  return out;
}

}  // namespace kl::log
