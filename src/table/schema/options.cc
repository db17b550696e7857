#include "table/schema/options.h"

#include <charconv>

#include "common/string_util.h"
#include "format/compression.h"
#include "table/data/file_format.h"
#include "table/schema/cast.h"

namespace kl::table {

std::optional<std::string> TableOptions::Get(const std::string& key) const {
  auto it = options_.find(key);
  if (it == options_.end()) return std::nullopt;
  return it->second;
}

std::string TableOptions::GetString(const std::string& key, const std::string& fallback) const {
  auto v = Get(key);
  return v ? *v : fallback;
}

int64_t TableOptions::GetInt(const std::string& key, int64_t fallback) const {
  auto v = Get(key);
  if (!v) return fallback;
  auto parsed = ParseInt64(Trim(*v));
  return parsed ? *parsed : fallback;
}

bool TableOptions::GetBool(const std::string& key, bool fallback) const {
  auto v = Get(key);
  if (!v) return fallback;
  return EqualsIgnoreCase(Trim(*v), "true");
}

namespace {

// Paimon's MemorySize and Duration spellings.
std::optional<int64_t> ParseMemorySize(std::string_view text) {
  constexpr int64_t kKiB = 1LL << 10, kMiB = 1LL << 20, kGiB = 1LL << 30, kTiB = 1LL << 40;
  return ParseScaledInt(text, {{"", 1},
                               {"b", 1},
                               {"bytes", 1},
                               {"k", kKiB},
                               {"kb", kKiB},
                               {"kibibytes", kKiB},
                               {"m", kMiB},
                               {"mb", kMiB},
                               {"mebibytes", kMiB},
                               {"g", kGiB},
                               {"gb", kGiB},
                               {"gibibytes", kGiB},
                               {"t", kTiB},
                               {"tb", kTiB}});
}

std::optional<int64_t> ParseDuration(std::string_view text) {
  return ParseScaledInt(text, {{"", 1},
                               {"ms", 1},
                               {"milli", 1},
                               {"millis", 1},
                               {"s", 1000},
                               {"sec", 1000},
                               {"secs", 1000},
                               {"second", 1000},
                               {"seconds", 1000},
                               {"min", 60000},
                               {"m", 60000},
                               {"minute", 60000},
                               {"minutes", 60000},
                               {"h", 3600000},
                               {"hour", 3600000},
                               {"hours", 3600000},
                               {"d", 86400000},
                               {"day", 86400000},
                               {"days", 86400000}});
}

// A `level:value, level:value` option (file.compression.per.level, metadata.stats-mode.per.level):
// the value by level, or an error naming the option and the entry that is not `level:<noun>`.
Result<std::map<int, std::string>> ParseLevelMap(const std::string& option, const std::string& value,
                                                 const std::string& noun) {
  std::map<int, std::string> out;
  for (const std::string& entry : Split(value, ',', /*skip_empty=*/true)) {
    std::string_view item = Trim(entry);
    if (item.empty()) continue;
    size_t colon = item.find(':');
    std::string level_text(Trim(item.substr(0, colon)));
    std::string setting(colon == std::string_view::npos ? "" : Trim(item.substr(colon + 1)));
    int level = -1;
    auto [end, ec] = std::from_chars(level_text.data(), level_text.data() + level_text.size(), level);
    if (colon == std::string_view::npos || ec != std::errc() || end != level_text.data() + level_text.size() ||
        level < 0 || setting.empty()) {
      return Status::InvalidArgument("option " + option + " = \"" + value + "\": \"" + std::string(item) +
                                     "\" is not level:" + noun);
    }
    out[level] = setting;
  }
  return out;
}

}  // namespace

int64_t TableOptions::GetMemorySize(const std::string& key, int64_t fallback) const {
  auto v = Get(key);
  if (!v) return fallback;
  auto parsed = ParseMemorySize(*v);
  return parsed ? *parsed : fallback;
}

int64_t TableOptions::GetDurationMillis(const std::string& key, int64_t fallback) const {
  auto v = Get(key);
  if (!v) return fallback;
  auto parsed = ParseDuration(*v);
  return parsed ? *parsed : fallback;
}

Result<std::map<int, std::string>> TableOptions::file_compression_per_level() const {
  auto value = Get("file.compression.per.level");
  if (!value) return std::map<int, std::string>();
  return ParseLevelMap("file.compression.per.level", *value, "compression");
}

// The compressions the table writes with: file.compression for data files, each level of
// file.compression.per.level, and the changelog's (its own format and compression where set).
Status TableOptions::ValidateFileCompressions() const {
  const TableOptions& opts = *this;
  std::string format = opts.file_format();
  std::string compression = opts.file_compression();
  KL_RETURN_IF_ERROR(
      CheckWriteCompression(format, compression).WithContext("option file.compression = \"" + compression + "\""));
  KL_ASSIGN_OR_RETURN(auto per_level, opts.file_compression_per_level());
  for (const auto& [level, level_compression] : per_level) {
    KL_RETURN_IF_ERROR(
        CheckWriteCompression(format, level_compression)
            .WithContext("option file.compression.per.level = \"" + *opts.Get("file.compression.per.level") + "\""));
  }
  auto changelog_format = opts.Get("changelog-file.format");
  auto changelog_compression = opts.Get("changelog-file.compression");
  if (changelog_format || changelog_compression) {
    std::string key = changelog_compression ? "changelog-file.compression" : "file.compression";
    std::string value = changelog_compression ? *changelog_compression : compression;
    std::string in = changelog_format ? " (changelog-file.format = \"" + *changelog_format + "\")" : "";
    KL_RETURN_IF_ERROR(CheckWriteCompression(changelog_format.value_or(format), value)
                           .WithContext("option " + key + " = \"" + value + "\"" + in));
  }
  if (auto v = opts.Get("file.compression.zstd-level")) {
    auto level = ParseInt64(Trim(*v));
    if (!level || *level < format::ZstdMinLevel() || *level > format::ZstdMaxLevel()) {
      return Status::InvalidArgument("option file.compression.zstd-level = \"" + *v +
                                     "\" is not a zstd level: " + std::to_string(format::ZstdMinLevel()) +
                                     " (fastest) to " + std::to_string(format::ZstdMaxLevel()));
    }
  }
  return Status::OK();
}

Status TableOptions::Validate() const {
  auto check = [&](const std::string& key, std::initializer_list<const char*> allowed) -> Status {
    auto v = Get(key);
    if (!v) return Status::OK();
    for (const char* a : allowed) {
      if (*v == a) return Status::OK();
    }
    std::string list;
    for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
    return Status::InvalidArgument("option " + key + " = \"" + *v + "\" is not one of: " + list);
  };
  KL_RETURN_IF_ERROR(check("merge-engine", {"deduplicate", "partial-update", "aggregation", "first-row"}));
  KL_RETURN_IF_ERROR(check("changelog-producer", {"none", "input", "lookup", "full-compaction"}));
  KL_RETURN_IF_ERROR(check("file.format", {"avro", "parquet"}));
  KL_RETURN_IF_ERROR(check("changelog-file.format", {"avro", "parquet"}));
  KL_RETURN_IF_ERROR(check("manifest.format", {"avro"}));
  KL_RETURN_IF_ERROR(check("sequence.field.sort-order", {"ascending", "descending"}));
  KL_RETURN_IF_ERROR(check("tag.automatic-creation", {"none", "process-time", "watermark", "batch"}));
  KL_RETURN_IF_ERROR(check("tag.creation-period", {"daily", "hourly", "two-hours"}));
  KL_RETURN_IF_ERROR(check("tag.period-formatter", {"with_dashes", "without_dashes", "without_dashes_and_spaces"}));
  for (const char* key : {"write-buffer-size", "target-file-size", "manifest.target-file-size",
                          "manifest.full-compaction-threshold-size", TableOptions::kAvroBlockSizeKey}) {
    if (auto v = Get(key); v && !ParseMemorySize(*v)) {
      return Status::InvalidArgument("option " + std::string(key) + " = \"" + *v + "\" is not a memory size");
    }
  }
  for (const char* key : {"snapshot.time-retained", "tag.creation-delay", "tag.default-time-retained",
                          "tag.creation-period-duration", "record-level.expire-time"}) {
    if (auto v = Get(key); v && !ParseDuration(*v)) {
      return Status::InvalidArgument("option " + std::string(key) + " = \"" + *v + "\" is not a duration");
    }
  }
  for (const char* key : {"sink.process-time-zone", "sink.watermark-time-zone"}) {
    if (auto v = Get(key); v) {
      auto offset = ParseTimeZoneOffset(*v);
      if (!offset.ok()) return offset.status().WithContext("option " + std::string(key));
    }
  }
  for (const char* key : {"dynamic-bucket.target-row-num", "dynamic-bucket.initial-buckets", "manifest.merge-min-count",
                          "tag.num-retained-max"}) {
    if (auto v = Get(key); v) {
      auto n = ParseInt64(Trim(*v));
      if (!n || *n <= 0)
        return Status::InvalidArgument("option " + std::string(key) + " = \"" + *v + "\" must be positive");
    }
  }
  if (auto v = Get(TableOptions::kAvroBlockSizeKey); v) {
    int64_t n = *ParseMemorySize(*v);  // a memory size: checked above
    if (n <= 0 || n > TableOptions::kMaxAvroBlockSize) {
      return Status::InvalidArgument("option " + std::string(TableOptions::kAvroBlockSizeKey) + " = \"" + *v +
                                     "\" must be positive and at most 64 mb");
    }
  }
  if (auto v = Get("dynamic-bucket.max-buckets"); v) {
    auto n = ParseInt64(Trim(*v));
    if (!n || *n == 0 || *n < -1) {
      return Status::InvalidArgument("option dynamic-bucket.max-buckets = \"" + *v +
                                     "\" must be -1 (no limit) or positive");
    }
  }
  if (auto v = Get("bucket"); v) {
    auto b = ParseInt64(Trim(*v));
    if (!b || *b == 0 || *b < -2)
      return Status::InvalidArgument("option bucket = \"" + *v + "\" must be -1 or positive");
  }
  KL_RETURN_IF_ERROR(stats_mode_per_level().status());
  return ValidateFileCompressions();
}

std::vector<std::string> TableOptions::bucket_keys() const {
  std::vector<std::string> out;
  for (auto& k : Split(GetString("bucket-key", ""), ',', true)) out.emplace_back(Trim(k));
  return out;
}

MergeEngine TableOptions::merge_engine() const {
  std::string v = GetString("merge-engine", "deduplicate");
  if (v == "partial-update") return MergeEngine::kPartialUpdate;
  if (v == "aggregation") return MergeEngine::kAggregation;
  if (v == "first-row") return MergeEngine::kFirstRow;
  return MergeEngine::kDeduplicate;
}

ChangelogProducer TableOptions::changelog_producer() const {
  std::string v = GetString("changelog-producer", "none");
  if (v == "input") return ChangelogProducer::kInput;
  if (v == "lookup") return ChangelogProducer::kLookup;
  if (v == "full-compaction") return ChangelogProducer::kFullCompaction;
  return ChangelogProducer::kNone;
}

std::vector<std::string> TableOptions::sequence_fields() const {
  std::vector<std::string> out;
  for (auto& k : Split(GetString("sequence.field", ""), ',', true)) out.emplace_back(Trim(k));
  return out;
}

bool TableOptions::ignore_delete() const {
  return GetBool("ignore-delete", false) || GetBool("first-row.ignore-delete", false) ||
         GetBool("deduplicate.ignore-delete", false) || GetBool("partial-update.ignore-delete", false);
}

int64_t TableOptions::target_file_size(bool primary_key_table) const {
  return GetMemorySize("target-file-size", primary_key_table ? 128LL << 20 : 256LL << 20);
}

int TableOptions::num_sorted_run_stop_trigger() const {
  int64_t v = GetInt("num-sorted-run.stop-trigger", -1);
  return v > 0 ? static_cast<int>(v) : num_sorted_run_compaction_trigger() + 3;
}

int TableOptions::num_levels() const {
  int64_t v = GetInt("num-levels", -1);
  return v > 0 ? static_cast<int>(v) : num_sorted_run_compaction_trigger() + 1;
}

int TableOptions::StatsTruncateLength(const std::string& mode) {
  if (mode == "full") return -1;
  if (mode == "none" || mode == "counts") return 0;
  if (mode.rfind("truncate(", 0) == 0 && mode.back() == ')') {
    auto n = ParseInt64(mode.substr(9, mode.size() - 10));
    if (n && *n > 0) return static_cast<int>(*n);
  }
  return 16;
}

int TableOptions::stats_truncate_length() const {
  return StatsTruncateLength(GetString("metadata.stats-mode", "truncate(16)"));
}

int TableOptions::changelog_stats_truncate_length() const {
  return StatsTruncateLength(GetString("changelog-file.stats-mode", GetString("metadata.stats-mode", "truncate(16)")));
}

Result<std::map<int, std::string>> TableOptions::stats_mode_per_level() const {
  auto value = Get("metadata.stats-mode.per.level");
  if (!value) return std::map<int, std::string>();
  KL_ASSIGN_OR_RETURN(auto out, ParseLevelMap("metadata.stats-mode.per.level", *value, "mode"));
  for (const auto& [level, mode] : out) {
    // truncate(N) with N a positive count of characters; the other modes by name.
    bool known = mode == "none" || mode == "counts" || mode == "full";
    if (!known && mode.rfind("truncate(", 0) == 0 && mode.back() == ')') {
      auto n = ParseInt64(mode.substr(9, mode.size() - 10));
      known = n && *n > 0 && *n <= INT32_MAX;
    }
    if (!known) {
      return Status::InvalidArgument("option metadata.stats-mode.per.level = \"" + *value + "\": level " +
                                     std::to_string(level) + "'s mode \"" + mode +
                                     "\" is not one of: none, counts, truncate(N), full");
    }
  }
  return out;
}

std::string TableOptions::key_value_stats_mode(int level, bool changelog) const {
  if (changelog) {
    if (auto mode = Get("changelog-file.stats-mode")) return *mode;
  }
  auto per_level = stats_mode_per_level();
  if (per_level.ok()) {
    auto it = per_level->find(level);
    if (it != per_level->end()) return it->second;
  }
  return GetString("metadata.stats-mode", "truncate(16)");
}

bool TableOptions::value_stats_none(bool changelog) const {
  std::string mode = GetString("metadata.stats-mode", "truncate(16)");
  if (changelog) mode = GetString("changelog-file.stats-mode", mode);
  return mode == "none";
}

}  // namespace kl::table
