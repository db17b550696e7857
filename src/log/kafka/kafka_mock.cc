#include "log/kafka/kafka_mock.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "log/kafka/kafka_util.h"

namespace kl::log {

Result<std::unique_ptr<KafkaMockCluster>> KafkaMockCluster::Start(int brokers) {
  if (brokers < 1) return Status::InvalidArgument("a mock kafka cluster needs at least one broker");
  std::unique_ptr<KafkaMockCluster> mock(new KafkaMockCluster());
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "client.id", "kubelake-mock-cluster", err, sizeof(err));
  // This handle only hosts the brokers; its "no bootstrap.servers" notice is noise.
  rd_kafka_conf_set(conf, "log_level", "4", err, sizeof(err));
  KL_ASSIGN_OR_RETURN(mock->handle_, NewKafkaClient(RD_KAFKA_PRODUCER, conf));
  mock->cluster_ = rd_kafka_mock_cluster_new(mock->handle_, brokers);
  if (mock->cluster_ == nullptr) return Status::Internal("librdkafka could not start a mock cluster");
  mock->bootstraps_ = rd_kafka_mock_cluster_bootstraps(mock->cluster_);
  return mock;
}

KafkaMockCluster::~KafkaMockCluster() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

Status KafkaMockCluster::CreateTopic(const std::string& topic, int partitions, int replication) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, replication);
  return KafkaStatus(err, "creating mock kafka topic " + topic);
}

}  // namespace kl::log
