#include "log/log_uri.h"

#include "common/string_util.h"

namespace kl::log {
namespace {

// Splits "a=1&b=2" (no percent-decoding: values are plain words and numbers).
Status ParseQuery(std::string_view query, std::map<std::string, std::string>* params) {
  for (const auto& item : Split(query, '&', /*skip_empty=*/true)) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::InvalidArgument("log URI parameter '" + item + "' needs name=value");
    (*params)[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return Status::OK();
}

Result<int64_t> ParseScaled(std::string_view text, std::string_view what, ScaledUnits units) {
  if (auto v = ParseScaledInt(text, units)) return *v;
  return Status::InvalidArgument("bad " + std::string(what) + " '" + std::string(text) + "'");
}

}  // namespace

Result<int64_t> ParseByteSize(std::string_view text) {
  return ParseScaled(text, "size",
                     {{"", 1},
                      {"b", 1},
                      {"k", 1 << 10},
                      {"kb", 1 << 10},
                      {"kib", 1 << 10},
                      {"m", 1 << 20},
                      {"mb", 1 << 20},
                      {"mib", 1 << 20},
                      {"g", 1LL << 30},
                      {"gb", 1LL << 30},
                      {"gib", 1LL << 30},
                      {"t", 1LL << 40},
                      {"tb", 1LL << 40},
                      {"tib", 1LL << 40}});
}

Result<int64_t> ParseDurationMs(std::string_view text) {
  return ParseScaled(
      text, "duration",
      {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"min", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}});
}

Result<LogUri> ParseLogUri(std::string_view uri) {
  LogUri out;
  std::string_view rest = Trim(uri);
  if (rest.empty()) return Status::InvalidArgument("empty log URI");
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  KL_RETURN_IF_ERROR(ParseQuery(query, &out.params));
  if (rest.substr(0, 8) == "kafka://") {
    out.kind = LogUri::Kind::kKafka;
    rest.remove_prefix(8);
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size()) {
      return Status::InvalidArgument("kafka log URI '" + std::string(uri) + "' needs kafka://<brokers>/<topic>");
    }
    out.brokers = std::string(rest.substr(0, slash));
    out.topic = std::string(rest.substr(slash + 1));
    for (char c : out.topic) {
      bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                   c == '-';
      if (!legal) return Status::InvalidArgument("kafka topic '" + out.topic + "' has an illegal character");
    }
    return out;
  }
  if (rest.substr(0, 4) == "dir:") rest.remove_prefix(4);
  if (rest.substr(0, 7) == "file://") rest.remove_prefix(7);
  if (rest.find("://") != std::string_view::npos) {
    return Status::InvalidArgument("log URI '" + std::string(uri) + "': unknown scheme (use dir: or kafka://)");
  }
  if (rest.empty()) return Status::InvalidArgument("log URI '" + std::string(uri) + "' names no directory");
  out.kind = LogUri::Kind::kDir;
  out.path = std::string(rest);
  return out;
}

Status ApplySegmentLogParams(const std::map<std::string, std::string>& params, SegmentLogOptions* o) {
  for (const auto& [name, value] : params) {
    if (name == "partitions") {
      auto n = ParseInt64(value);
      if (!n || *n < 1 || *n > 4096) return Status::InvalidArgument("partitions must be 1-4096, got '" + value + "'");
      o->partitions = static_cast<int32_t>(*n);
    } else if (name == "create") {
      if (value != "true" && value != "false") return Status::InvalidArgument("create must be true or false");
      o->create_if_missing = value == "true";
    } else if (name == "segment_bytes") {
      KL_ASSIGN_OR_RETURN(int64_t n, ParseByteSize(value));
      o->segment_bytes = static_cast<uint64_t>(n);
    } else if (name == "segment_age") {
      KL_ASSIGN_OR_RETURN(o->segment_max_age_ms, ParseDurationMs(value));
    } else if (name == "fsync") {
      if (value == "batch") {
        o->fsync = FsyncPolicy::kEveryBatch;
      } else if (value == "never") {
        o->fsync = FsyncPolicy::kNever;
      } else {
        KL_ASSIGN_OR_RETURN(o->fsync_interval_ms, ParseDurationMs(value));
        if (o->fsync_interval_ms <= 0) return Status::InvalidArgument("fsync interval must be positive");
        o->fsync = FsyncPolicy::kInterval;
      }
    } else if (name == "retention" || name == "retention_ms") {
      KL_ASSIGN_OR_RETURN(o->retention.max_age_ms, ParseDurationMs(value));
    } else if (name == "retention_bytes") {
      KL_ASSIGN_OR_RETURN(o->retention.max_bytes, ParseByteSize(value));
    } else if (name == "retention_check") {
      KL_ASSIGN_OR_RETURN(o->retention_check_interval_ms, ParseDurationMs(value));
    } else if (name == "required_groups") {
      o->required_groups = Split(value, ',', /*skip_empty=*/true);
    } else if (name == "batch_bytes") {
      KL_ASSIGN_OR_RETURN(int64_t n, ParseByteSize(value));
      o->producer_batch_bytes = static_cast<uint64_t>(n);
    } else if (name == "max_record_bytes") {
      KL_ASSIGN_OR_RETURN(int64_t n, ParseByteSize(value));
      o->max_record_bytes = static_cast<uint64_t>(n);
    } else if (name == "poll_interval") {
      KL_ASSIGN_OR_RETURN(o->reader_poll_interval_ms, ParseDurationMs(value));
    } else {
      return Status::InvalidArgument(
          "unknown dir: log parameter '" + name +
          "' (known: partitions, create, segment_bytes, segment_age, fsync, retention, retention_bytes, "
          "retention_check, required_groups, batch_bytes, max_record_bytes, "
          "poll_interval)");
    }
  }
  return Status::OK();
}

}  // namespace kl::log
