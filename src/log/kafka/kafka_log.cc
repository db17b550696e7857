#include "log/kafka/kafka_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "common/clock.h"
#include "common/string_util.h"
#include "log/kafka/kafka_util.h"
#include "log/log_uri.h"
#include "log/segment/offset_store.h"

namespace kl::log {
namespace {

void LogToSpdlog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  // syslog levels: 0-3 errors, 4 warning, 5-6 info, 7 debug.
  if (level <= 3) {
    spdlog::error("kafka {} {}: {}", rd_kafka_name(rk), facility, message);
  } else if (level == 4) {
    spdlog::warn("kafka {} {}: {}", rd_kafka_name(rk), facility, message);
  } else if (level <= 6) {
    spdlog::info("kafka {} {}: {}", rd_kafka_name(rk), facility, message);
  } else {
    spdlog::debug("kafka {} {}: {}", rd_kafka_name(rk), facility, message);
  }
}

}  // namespace

Status KafkaStatus(rd_kafka_resp_err_t err, const std::string& what) {
  std::string msg = what + ": " + rd_kafka_err2str(err);
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return Status::OK();
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
      return Status::Unavailable(std::move(msg));
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return Status::NotFound(std::move(msg));
    default:
      return Status::IOError(std::move(msg));
  }
}

Result<rd_kafka_conf_t*> NewKafkaConf(const KafkaLogOptions& options,
                                      const std::map<std::string, std::string>& extra) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& name, const std::string& value) -> Status {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument("kafka property " + name + "=" + value + ": " + err);
    }
    return Status::OK();
  };
  std::map<std::string, std::string> all = {{"bootstrap.servers", options.brokers},
                                            {"socket.timeout.ms", std::to_string(options.request_timeout_ms)},
                                            {"log.connection.close", "false"}};
  for (const auto& [k, v] : extra) all[k] = v;
  for (const auto& [k, v] : options.rdkafka) all[k] = v;  // the user has the last word
  for (const auto& [k, v] : all) {
    Status s = set(k, v);
    if (!s.ok()) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
  }
  rd_kafka_conf_set_log_cb(conf, LogToSpdlog);
  return conf;
}

Result<rd_kafka_t*> NewKafkaClient(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("creating kafka client: ") + err);
  }
  return rk;
}

Status ApplyKafkaLogParams(const std::map<std::string, std::string>& params, KafkaLogOptions* o) {
  for (const auto& param : params) {
    const std::string& name = param.first;  // named, not bound: clang 14 lambdas cannot capture bindings
    const std::string& value = param.second;
    auto number = [&](int64_t lo, int64_t hi) -> Result<int64_t> {
      auto n = ParseInt64(value);
      if (!n || *n < lo || *n > hi) return Status::InvalidArgument("kafka log parameter " + name + "='" + value + "'");
      return *n;
    };
    if (name == "partitions") {
      KL_ASSIGN_OR_RETURN(int64_t n, number(1, 100000));
      o->partitions = static_cast<int32_t>(n);
    } else if (name == "replication") {
      KL_ASSIGN_OR_RETURN(int64_t n, number(1, 100));
      o->replication = static_cast<int32_t>(n);
    } else if (name == "flush_timeout") {
      KL_ASSIGN_OR_RETURN(o->flush_timeout_ms, ParseDurationMs(value));
    } else if (name == "request_timeout") {
      KL_ASSIGN_OR_RETURN(o->request_timeout_ms, ParseDurationMs(value));
    } else if (name == "linger") {
      KL_ASSIGN_OR_RETURN(o->linger_ms, ParseDurationMs(value));
    } else if (name.rfind("rdkafka.", 0) == 0 && name.size() > 8) {
      o->rdkafka[name.substr(8)] = value;
    } else {
      return Status::InvalidArgument("unknown kafka log parameter '" + name +
                                     "' (known: partitions, replication, flush_timeout, request_timeout, linger, "
                                     "rdkafka.<librdkafka property>)");
    }
  }
  return Status::OK();
}

Result<std::unique_ptr<KafkaLog>> KafkaLog::Open(KafkaLogOptions options) {
  if (options.brokers.empty() || options.topic.empty()) {
    return Status::InvalidArgument("the kafka log needs brokers and a topic");
  }
  std::unique_ptr<KafkaLog> log(new KafkaLog(std::move(options)));
  KL_RETURN_IF_ERROR(log->Connect());
  return log;
}

KafkaLog::~KafkaLog() {
  if (admin_ != nullptr) rd_kafka_destroy(admin_);
}

std::string KafkaLog::Describe() const {
  return "kafka://" + options_.brokers + "/" + options_.topic + " (" + std::to_string(partitions_) + " partitions)";
}

Status KafkaLog::Connect() {
  KL_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, NewKafkaConf(options_, {{"client.id", "kubelake-admin"}}));
  KL_ASSIGN_OR_RETURN(admin_, NewKafkaClient(RD_KAFKA_PRODUCER, conf));
  KL_ASSIGN_OR_RETURN(int32_t existing, TopicPartitions());
  if (existing < 0) {
    if (options_.partitions <= 0) {
      return Status::NotFound("kafka topic " + options_.topic + " does not exist on " + options_.brokers +
                              " (give partitions=N to create it)");
    }
    KL_RETURN_IF_ERROR(CreateTopic());
    // Metadata follows topic creation with a delay: wait until it shows.
    int64_t deadline = MonotonicMicros() / 1000 + options_.request_timeout_ms;
    while ((existing = TopicPartitions().value_or(-1)) < options_.partitions) {
      if (MonotonicMicros() / 1000 > deadline) {
        return Status::Unavailable("kafka topic " + options_.topic + " was created but does not show in metadata");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (options_.partitions > 0 && existing != options_.partitions) {
    return Status::InvalidArgument("kafka topic " + options_.topic + " has " + std::to_string(existing) +
                                   " partitions, not " + std::to_string(options_.partitions));
  }
  partitions_ = existing;
  return Status::OK();
}

Result<int32_t> KafkaLog::TopicPartitions() {
  // Ask for all topics: a metadata request naming the topic lets brokers with
  // auto.create.topics.enable (and the mock cluster) create it with their
  // default partition count instead of the one asked for.
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(admin_, /*all_topics=*/1, nullptr, &md, static_cast<int>(options_.request_timeout_ms));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaStatus(err, "reading metadata of kafka topic " + options_.topic + " from " + options_.brokers);
  }
  int32_t partitions = -1;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (options_.topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt > 0) partitions = t.partition_cnt;
  }
  int brokers = md->broker_cnt;
  rd_kafka_metadata_destroy(md);
  if (options_.replication == 0) options_.replication = std::max(1, std::min(3, brokers));
  return partitions;
}

Status KafkaLog::CreateTopic() {
  char err[512];
  rd_kafka_NewTopic_t* topic =
      rd_kafka_NewTopic_new(options_.topic.c_str(), options_.partitions, options_.replication, err, sizeof(err));
  if (topic == nullptr) return Status::InvalidArgument("creating kafka topic " + options_.topic + ": " + err);
  // Kubernetes objects reach 1.5 MB; the broker's default limit is 1 MB per batch.
  rd_kafka_NewTopic_set_config(topic, "max.message.bytes", "67108864");
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin_);
  rd_kafka_CreateTopics(admin_, &topic, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, static_cast<int>(options_.request_timeout_ms));
  Status status;
  if (event == nullptr) {
    status = Status::Unavailable("creating kafka topic " + options_.topic + ": no answer from " + options_.brokers);
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = KafkaStatus(rd_kafka_event_error(event), "creating kafka topic " + options_.topic);
  } else if (const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event)) {
    size_t n = 0;
    const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(result, &n);
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(topics[i]);
      // Another client creating it at the same time is fine.
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char* detail = rd_kafka_topic_result_error_string(topics[i]);
        status = KafkaStatus(e, "creating kafka topic " + options_.topic + (detail ? std::string(" (") + detail + ")" : ""));
      }
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
  if (status.ok()) spdlog::info("created kafka topic {} with {} partitions", options_.topic, options_.partitions);
  return status;
}

Result<std::unique_ptr<Producer>> KafkaLog::NewProducer() { return NewKafkaProducer(options_, partitions_); }

Result<std::unique_ptr<Consumer>> KafkaLog::NewConsumer(const std::string& group) {
  KL_RETURN_IF_ERROR(ValidateGroupName(group));
  return NewKafkaConsumer(options_, partitions_, admin_, group);
}

Result<int64_t> KafkaLog::StartOffset(int32_t partition) {
  if (partition < 0 || partition >= partitions_) return Status::InvalidArgument("partition " + std::to_string(partition) + " out of range for " + Describe());
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(admin_, options_.topic.c_str(), partition, &low, &high,
                                                             static_cast<int>(options_.request_timeout_ms));
  if (err) return KafkaStatus(err, "reading offsets of " + options_.topic + " partition " + std::to_string(partition));
  return low;
}

Result<int64_t> KafkaLog::EndOffset(int32_t partition) {
  if (partition < 0 || partition >= partitions_) return Status::InvalidArgument("partition " + std::to_string(partition) + " out of range for " + Describe());
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(admin_, options_.topic.c_str(), partition, &low, &high,
                                                             static_cast<int>(options_.request_timeout_ms));
  if (err) return KafkaStatus(err, "reading offsets of " + options_.topic + " partition " + std::to_string(partition));
  return high;
}

Result<std::map<int32_t, int64_t>> KafkaLog::CommittedOffsets(const std::string& group) {
  KL_RETURN_IF_ERROR(ValidateGroupName(group));
  return KafkaCommitted(options_, partitions_, group);
}

}  // namespace kl::log
