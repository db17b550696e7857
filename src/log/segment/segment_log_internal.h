// Internals of SegmentLog shared by the log, its producers and its consumers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "log/segment/offset_store.h"
#include "log/segment/partition_reader.h"
#include "log/segment/partition_writer.h"
#include "log/segment/segment_log.h"
#include "log/segment/writer_lock.h"

namespace kl::log {

// The writer side, present only in the process holding the lock.
class LogWriter {
 public:
  static Result<std::unique_ptr<LogWriter>> Open(LogState* state);
  ~LogWriter();

  // Writes `pending` to `partition` (applying the fsync policy).
  Status Write(int32_t partition, PendingRecords* pending);
  // Writes the framed records in data[0, size) from that buffer, sealing
  // each with its offset in place (applying the fsync policy).
  Status WriteRecords(int32_t partition, char* data, size_t size);
  // Writes `records` to `partition` from the caller's memory (gathered) but
  // leaves them unpublished, for Finish: `written` says how many made it.
  Status WriteGathered(int32_t partition, const GatheredRecord* records, size_t count, size_t* written);
  // Syncs and publishes `partition` as the fsync policy says after a write.
  Status Finish(int32_t partition);
  Status SyncAll();
  int64_t EndOffset(int32_t partition);
  int64_t StartOffset(int32_t partition);
  Status EnforceRetention();

 private:
  explicit LogWriter(LogState* state) : state_(state) {}
  void BackgroundLoop();

  struct Slot {
    std::mutex mu;
    std::unique_ptr<PartitionWriter> writer;
  };
  // After a write of `written` records to the slot's partition (lock held):
  // syncs and publishes as the fsync policy says.
  Status FinishWriteLocked(Slot& slot, size_t written, Status status);
  Status PublishLocked(Slot& slot);
  LogState* state_;
  std::unique_ptr<WriterLock> lock_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::mutex background_mu_;
  std::condition_variable background_cv_;
  bool stopping_ = false;
  std::thread background_;
};

struct LogState {
  std::string dir;
  SegmentLogOptions options;
  int32_t partitions = 0;
  OffsetStore offsets;

  std::mutex writer_mu;  // guards creating `writer`
  std::unique_ptr<LogWriter> writer;
  LogWriter* WriterOrNull() {
    std::lock_guard<std::mutex> lock(writer_mu);
    return writer.get();
  }
  Result<LogWriter*> EnsureWriter();

  // Wakes in-process consumers when the writer appended something.
  std::mutex notify_mu;
  std::condition_variable notify_cv;
  uint64_t generation = 0;
  void NotifyAppended() {
    {
      std::lock_guard<std::mutex> lock(notify_mu);
      ++generation;
    }
    notify_cv.notify_all();
  }

  // EndOffset for processes that are not the writer: a reader kept at the tail.
  std::mutex tails_mu;
  std::vector<std::unique_ptr<PartitionReader>> tails;

  Result<int64_t> StartOffset(int32_t partition);
  Result<int64_t> EndOffset(int32_t partition);

  explicit LogState(std::string d) : dir(d), offsets(d + "/consumers") {}
  std::string PartitionDir(int32_t partition) const { return dir + "/partition-" + std::to_string(partition); }
  Status CheckPartition(int32_t partition) const {
    if (partition < 0 || partition >= partitions) {
      return Status::InvalidArgument("partition " + std::to_string(partition) + " out of range: the log at " + dir +
                                     " has " + std::to_string(partitions));
    }
    return Status::OK();
  }
};

Result<std::unique_ptr<Producer>> NewSegmentProducer(std::shared_ptr<LogState> state);
Result<std::unique_ptr<Consumer>> NewSegmentConsumer(std::shared_ptr<LogState> state, const std::string& group);

}  // namespace kl::log
