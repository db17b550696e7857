// Parsing of event-log URIs:
//   dir:/var/lib/kubelake/log?partitions=16&fsync=batch&retention=7d&retention_bytes=50G&required_groups=pipeline
//   /var/lib/kubelake/log                               (a plain path means dir:)
//   kafka://broker1:9092,broker2:9092/events?partitions=16&rdkafka.security.protocol=SSL
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"
#include "log/segment/segment_log.h"

namespace kl::log {

struct LogUri {
  enum class Kind { kDir, kKafka } kind = Kind::kDir;
  std::string path;     // dir: the directory
  std::string brokers;  // kafka: "host:port,host:port"
  std::string topic;    // kafka
  std::map<std::string, std::string> params;
};

Result<LogUri> ParseLogUri(std::string_view uri);

// "64M", "1G", "4096", "512KiB" -> bytes.
Result<int64_t> ParseByteSize(std::string_view text);
// "500ms", "30s", "15m", "12h", "7d", "1000" (ms) -> milliseconds.
Result<int64_t> ParseDurationMs(std::string_view text);

// Applies dir: parameters to options; unknown parameters are an error.
Status ApplySegmentLogParams(const std::map<std::string, std::string>& params, SegmentLogOptions* options);

}  // namespace kl::log
