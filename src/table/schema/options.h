// Table options (Paimon's CoreOptions): typed getters over the option map
// stored in the table schema, with Paimon's names and defaults.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace kl::table {

enum class MergeEngine : unsigned char { kDeduplicate, kPartialUpdate, kAggregation, kFirstRow };
enum class ChangelogProducer : unsigned char { kNone, kInput, kLookup, kFullCompaction };

class TableOptions {
 public:
  TableOptions() = default;
  explicit TableOptions(std::map<std::string, std::string> options) : options_(std::move(options)) {}

  const std::map<std::string, std::string>& map() const { return options_; }
  std::optional<std::string> Get(const std::string& key) const;
  std::string GetString(const std::string& key, const std::string& fallback) const;
  int64_t GetInt(const std::string& key, int64_t fallback) const;
  bool GetBool(const std::string& key, bool fallback) const;
  // "128 mb", "64kb", "1 gb", "1024" (bytes)
  int64_t GetMemorySize(const std::string& key, int64_t fallback) const;
  // "1 h", "30 min", "10 s", "500 ms", "2 d"
  int64_t GetDurationMillis(const std::string& key, int64_t fallback) const;

  // Validates values that have a fixed vocabulary, and that every format the table writes
  // (data files, levels, changelog files) can be written with the compression asked of it;
  // errors name the option, its value and the accepted values.
  Status Validate() const;
  // The part of Validate() about the formats and compressions data and changelog files are
  // written with (file.format, file.compression*, changelog-file.*).
  Status ValidateFileCompressions() const;

  int bucket() const { return static_cast<int>(GetInt("bucket", -1)); }
  std::vector<std::string> bucket_keys() const;
  MergeEngine merge_engine() const;
  ChangelogProducer changelog_producer() const;
  bool changelog_row_deduplicate() const { return GetBool("changelog-producer.row-deduplicate", false); }
  std::vector<std::string> sequence_fields() const;
  bool sequence_descending() const { return GetString("sequence.field.sort-order", "ascending") == "descending"; }
  bool ignore_delete() const;
  bool partial_update_remove_record_on_delete() const {
    return GetBool("partial-update.remove-record-on-delete", false);
  }
  bool aggregation_remove_record_on_delete() const { return GetBool("aggregation.remove-record-on-delete", false); }
  // Parquet, as in Paimon; tables of large rows (raw events) ask for avro, which
  // writes row by row instead of buffering a row group.
  std::string file_format() const { return GetString("file.format", "parquet"); }
  std::string file_compression() const { return GetString("file.compression", "zstd"); }
  // file.compression.per.level ('0:none,5:zstd'): LSM level -> compression; an error naming the
  // option for a value that is not level:compression pairs.
  Result<std::map<int, std::string>> file_compression_per_level() const;
  // Data files reach the disk (fdatasync) before the commit that names them: a
  // machine crash then cannot leave a snapshot pointing at a truncated file.
  // kubelake's own option; tests of throwaway tables turn it off.
  bool data_file_sync() const { return GetBool("kubelake.data-file.sync", true); }
  int file_compression_level() const { return static_cast<int>(GetInt("file.compression.zstd-level", 1)); }
  // Uncompressed bytes per block of Avro data files (kubelake's option; Avro's writers make
  // ~64 KB blocks): larger blocks compress better and faster, and any reader takes them up to
  // what it decompresses whole. Validate bounds it; a schema that bypassed that check is held
  // to the same bounds here.
  static constexpr char kAvroBlockSizeKey[] = "kubelake.avro.block-size";
  static constexpr int64_t kMaxAvroBlockSize = 64 << 20;
  int64_t avro_block_size() const {
    return std::clamp<int64_t>(GetMemorySize(kAvroBlockSizeKey, 64 << 10), 1, kMaxAvroBlockSize);
  }
  std::string manifest_format() const { return GetString("manifest.format", "avro"); }
  std::string manifest_compression() const { return GetString("manifest.compression", "zstd"); }
  int64_t target_file_size(bool primary_key_table) const;
  int64_t write_buffer_size() const { return GetMemorySize("write-buffer-size", 256LL << 20); }
  int64_t manifest_target_size() const { return GetMemorySize("manifest.target-file-size", 8LL << 20); }
  int manifest_merge_min_count() const { return static_cast<int>(GetInt("manifest.merge-min-count", 30)); }
  // Small manifests (and ones with DELETE entries) adding up to this trigger a full merge at commit.
  int64_t manifest_full_compaction_threshold_size() const {
    return GetMemorySize("manifest.full-compaction-threshold-size", 16LL << 20);
  }
  int num_sorted_run_compaction_trigger() const {
    return static_cast<int>(GetInt("num-sorted-run.compaction-trigger", 5));
  }
  int num_sorted_run_stop_trigger() const;
  int num_levels() const;
  int max_size_amplification_percent() const {
    return static_cast<int>(GetInt("compaction.max-size-amplification-percent", 200));
  }
  int size_ratio() const { return static_cast<int>(GetInt("compaction.size-ratio", 1)); }
  int compaction_min_file_num() const { return static_cast<int>(GetInt("compaction.min.file-num", 5)); }
  int compaction_max_file_num() const { return static_cast<int>(GetInt("compaction.max.file-num", 50)); }
  // kubelake's option: universal compaction of a primary-key bucket waits until level 0
  // holds this many files (1: after every flush, as Paimon). Streaming tables that commit
  // several times a second batch the compactions (and their COMPACT snapshots and files)
  // of several commits; batch reads merge those level-0 files meanwhile.
  int compaction_level0_file_num() const { return static_cast<int>(GetInt("kubelake.compaction.level0-file-num", 1)); }
  bool write_only() const { return GetBool("write-only", false); }
  int snapshot_num_retained_min() const { return static_cast<int>(GetInt("snapshot.num-retained.min", 10)); }
  int snapshot_num_retained_max() const { return static_cast<int>(GetInt("snapshot.num-retained.max", 2147483647)); }
  int64_t snapshot_time_retained_ms() const { return GetDurationMillis("snapshot.time-retained", 3600 * 1000); }
  int snapshot_expire_limit() const { return static_cast<int>(GetInt("snapshot.expire.limit", 50)); }
  // -1: consumers never expire.
  int64_t consumer_expiration_ms() const { return GetDurationMillis("consumer.expiration-time", -1); }
  std::string partition_default_name() const { return GetString("partition.default-name", "__DEFAULT_PARTITION__"); }
  bool deletion_vectors_enabled() const { return GetBool("deletion-vectors.enabled", false); }
  // DV index files in the bucket directories instead of <table>/index/.
  bool index_file_in_data_file_dir() const { return GetBool("index-file-in-data-file-dir", false); }
  // Primary-key tables whose batch reads see only levels > 0 (Paimon: deletion vectors,
  // first-row); their writers compact level 0 away at every commit.
  bool batch_scan_skips_level0() const {
    return deletion_vectors_enabled() || merge_engine() == MergeEngine::kFirstRow;
  }
  int commit_max_retries() const { return static_cast<int>(GetInt("commit.max-retries", 10)); }
  int64_t commit_min_retry_wait_ms() const { return GetDurationMillis("commit.min-retry-wait", 10); }
  int64_t commit_max_retry_wait_ms() const { return GetDurationMillis("commit.max-retry-wait", 10000); }
  // Stats of string columns are cut to this many characters ("truncate(16)"); 0 = none; -1 = full.
  int stats_truncate_length() const;
  // metadata.stats-mode (or changelog-file.stats-mode for changelog files) is "none":
  // no value statistics are collected at all.
  bool value_stats_none(bool changelog) const;
  int changelog_stats_truncate_length() const;
  // metadata.stats-mode.per.level ('0:none,1:truncate(16)'): LSM level -> stats mode; an error
  // naming the option for a value that is not level:mode pairs of known modes.
  Result<std::map<int, std::string>> stats_mode_per_level() const;
  // The stats mode of a key-value file written at `level` (a flush writes level 0, a compaction
  // its output level): changelog-file.stats-mode for changelog files where set, else the
  // level's in metadata.stats-mode.per.level, else metadata.stats-mode.
  std::string key_value_stats_mode(int level, bool changelog) const;
  // A stats mode's string bound length, as stats_truncate_length() (0 for "none" and "counts").
  static int StatsTruncateLength(const std::string& mode);

  // fields.<name>.<suffix>
  std::optional<std::string> FieldOption(const std::string& field, const std::string& suffix) const {
    return Get("fields." + field + "." + suffix);
  }

 private:
  std::map<std::string, std::string> options_;
};

}  // namespace kl::table
