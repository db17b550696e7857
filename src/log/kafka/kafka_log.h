// KafkaLog: the event log on an Apache Kafka topic through librdkafka, for
// fleets that outgrow one machine. Partitions are the topic's partitions;
// records are produced to the partition PartitionForKey chooses (never to
// librdkafka's partitioner), so both backends place a cluster's events alike.
//
// Producer: idempotent (enable.idempotence=true, hence acks=all), so retries
// inside librdkafka never duplicate or reorder; Flush() waits for every
// delivery report. Consumer: manual assignment (no group rebalancing; the
// pipeline decides what it reads), group id only for committed offsets,
// auto.offset.reset=error so a lost position is an error, never a silent jump.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "log/event_log.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace kl::log {

struct KafkaLogOptions {
  std::string brokers;  // bootstrap servers, "host:port,host:port"
  std::string topic;
  // Creates the topic with this many partitions when it does not exist;
  // 0: the topic must exist.
  int32_t partitions = 0;
  int32_t replication = 0;  // for topic creation; 0: min(3, brokers)
  int64_t flush_timeout_ms = 60'000;
  int64_t request_timeout_ms = 15'000;  // metadata, offsets, commits
  int64_t linger_ms = 5;
  // Extra librdkafka properties for every client (URI: rdkafka.<name>=<value>).
  std::map<std::string, std::string> rdkafka;
};

Status ApplyKafkaLogParams(const std::map<std::string, std::string>& params, KafkaLogOptions* options);

class KafkaLog final : public EventLog {
 public:
  static Result<std::unique_ptr<KafkaLog>> Open(KafkaLogOptions options);
  ~KafkaLog() override;

  std::string Describe() const override;
  int32_t NumPartitions() const override { return partitions_; }
  Result<std::unique_ptr<Producer>> NewProducer() override;
  Result<std::unique_ptr<Consumer>> NewConsumer(const std::string& group) override;
  Result<int64_t> StartOffset(int32_t partition) override;
  Result<int64_t> EndOffset(int32_t partition) override;
  Result<std::map<int32_t, int64_t>> CommittedOffsets(const std::string& group) override;

  const KafkaLogOptions& options() const { return options_; }

 private:
  explicit KafkaLog(KafkaLogOptions options) : options_(std::move(options)) {}
  Status Connect();
  Result<int32_t> TopicPartitions();  // -1 when the topic does not exist
  Status CreateTopic();

  KafkaLogOptions options_;
  int32_t partitions_ = 0;
  rd_kafka_t* admin_ = nullptr;  // metadata, watermarks, topic creation
};

}  // namespace kl::log
