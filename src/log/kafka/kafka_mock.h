// A Kafka cluster inside this process, from librdkafka's mock broker: it
// speaks the real protocol on local sockets, so KafkaLog is tested (and can be
// demonstrated with `kubelake log mock-kafka`) without an external broker.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace kl::log {

class KafkaMockCluster {
 public:
  static Result<std::unique_ptr<KafkaMockCluster>> Start(int brokers);
  ~KafkaMockCluster();
  KafkaMockCluster(const KafkaMockCluster&) = delete;
  KafkaMockCluster& operator=(const KafkaMockCluster&) = delete;

  // "127.0.0.1:34567,127.0.0.1:34568,..."
  const std::string& bootstrap_servers() const { return bootstraps_; }
  Status CreateTopic(const std::string& topic, int partitions, int replication);
  rd_kafka_mock_cluster_t* raw() const { return cluster_; }

 private:
  KafkaMockCluster() = default;
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstraps_;
};

}  // namespace kl::log
