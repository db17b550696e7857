// SegmentLog: the embedded event log, a directory on local disk.
//
//   <dir>/log.json                 format version and partition count (fixed at creation)
//   <dir>/LOCK                     held (flock) by the one writer process
//   <dir>/partition-<n>/<base>.log segments of partition n, see segment_file.h
//   <dir>/consumers/<group>.offsets.json   committed offsets per consumer group
//
// One process writes (the first to create a producer takes the lock); any
// number of processes read, following the files as they grow. docs/log.md
// explains the durability of each fsync policy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "log/event_log.h"
#include "log/segment/retention.h"

namespace kl::log {

enum class FsyncPolicy {
  kEveryBatch,  // fdatasync after every batch written: a Flush that returned survives power loss
  kInterval,    // a background thread syncs every fsync_interval_ms: power loss may lose that much
  kNever,       // left to the OS: a process crash loses nothing flushed, power loss may lose more
};

struct SegmentLogOptions {
  // Partitions of a new log; 0 means "whatever the existing log has" (8 for a new one).
  int32_t partitions = 0;
  // false: opening a directory without a log is NotFound (inspection tools).
  bool create_if_missing = true;
  uint64_t segment_bytes = 128 << 20;
  // An active segment older than this rolls at the next write (0: only by size),
  // so that age retention also reaches quiet partitions.
  int64_t segment_max_age_ms = 86'400'000;
  uint64_t index_interval_bytes = 64 << 10;
  FsyncPolicy fsync = FsyncPolicy::kEveryBatch;
  int64_t fsync_interval_ms = 1000;
  RetentionPolicy retention;
  // Groups whose committed offsets retention must never pass.
  std::vector<std::string> required_groups;
  int64_t retention_check_interval_ms = 60'000;
  // A producer writes a partition's buffered records once they reach this size.
  uint64_t producer_batch_bytes = 1 << 20;
  // Producer::SendBatch writes a batch of at least this many key and value
  // bytes at once, from the caller's memory (gathered writes, no copy); a
  // smaller one is copied into the producer's buffer as Send does, so steady
  // small batches (watch events) still make one write per partition per
  // Flush rather than one each.
  uint64_t batch_gather_min_bytes = 64 << 10;
  uint64_t max_record_bytes = 64 << 20;
  // SendBatch checks every given ProducerRecord::value_crc32c against its
  // value (refusing the batch on a mismatch) instead of trusting it: a wrong
  // one would make the record read as damaged. On in debug builds and tests.
#ifdef NDEBUG
  bool check_value_crcs = false;
#else
  bool check_value_crcs = true;
#endif
  // Readers in other processes cannot be woken by the writer; they look at
  // the files this often while waiting in Poll.
  int64_t reader_poll_interval_ms = 5;
};

struct LogState;  // shared by the log and its producers and consumers

class SegmentLog final : public EventLog {
 public:
  // The values of the records its consumers return are readable this many bytes past their
  // end (SegmentCursor::kReadPadding): a JSON parser may read them where they lie.
  static constexpr size_t kValuePadding = 64;

  // Opens the log in `dir`, creating it when absent. Does not take the writer
  // lock: that happens on the first NewProducer() (or EnforceRetention()).
  static Result<std::unique_ptr<SegmentLog>> Open(const std::string& dir, SegmentLogOptions options = {});
  ~SegmentLog() override;
  size_t value_padding() const override { return kValuePadding; }

  std::string Describe() const override;
  int32_t NumPartitions() const override;
  Result<std::unique_ptr<Producer>> NewProducer() override;
  Result<std::unique_ptr<Consumer>> NewConsumer(const std::string& group) override;
  Result<int64_t> StartOffset(int32_t partition) override;
  Result<int64_t> EndOffset(int32_t partition) override;
  Result<std::map<int32_t, int64_t>> CommittedOffsets(const std::string& group) override;

  // Deletes what the retention policy allows now (also runs in the background
  // every retention_check_interval_ms in the writer process). Takes the
  // writer lock if this process does not hold it yet.
  Status EnforceRetention();
  // Syncs every partition now, whatever the policy.
  Status SyncAll();
  // Consumer groups with committed offsets.
  Result<std::vector<std::string>> Groups() const;
  const std::string& dir() const;

 private:
  explicit SegmentLog(std::shared_ptr<LogState> state) : state_(std::move(state)) {}
  std::shared_ptr<LogState> state_;
};

}  // namespace kl::log
