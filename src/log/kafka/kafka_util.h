// Small helpers around librdkafka's C API shared by the Kafka backend files.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <string>

#include "common/result.h"
#include "log/kafka/kafka_log.h"

namespace kl::log {

// Maps a librdkafka error to a Status: broker trouble is Unavailable
// (retrying may help), an unknown topic NotFound, the rest IOError.
Status KafkaStatus(rd_kafka_resp_err_t err, const std::string& what);

// A configuration with the brokers, the user's rdkafka.* properties and `extra`.
Result<rd_kafka_conf_t*> NewKafkaConf(const KafkaLogOptions& options,
                                      const std::map<std::string, std::string>& extra);

// Creates a client handle (takes ownership of conf in every case).
Result<rd_kafka_t*> NewKafkaClient(rd_kafka_type_t type, rd_kafka_conf_t* conf);

Result<std::unique_ptr<Producer>> NewKafkaProducer(const KafkaLogOptions& options, int32_t partitions);
Result<std::unique_ptr<Consumer>> NewKafkaConsumer(const KafkaLogOptions& options, int32_t partitions,
                                                   rd_kafka_t* admin, const std::string& group);
// Committed offsets of `group` read with a throwaway consumer handle.
Result<std::map<int32_t, int64_t>> KafkaCommitted(const KafkaLogOptions& options, int32_t partitions,
                                                  const std::string& group);

}  // namespace kl::log
