// The event log interface: the durable hand-off between the collector (which
// appends Kubernetes watch events) and the pipeline (which reads them in
// batches from offsets it keeps in its own table commits). Two backends
// implement it: SegmentLog (embedded, files on local disk) and KafkaLog.
//
// Contract shared by both (checked by conformance_test.cc):
// * A log has a fixed number of partitions. Offsets within a partition are
//   dense: 0, 1, 2, ... with no gaps; StartOffset..EndOffset-1 are readable.
// * Producer::Send buffers; after Flush() returns OK every record sent before
//   it is in the log, in send order per partition, exactly once, visible to
//   readers, and EndOffset() counts it. (One exception: the embedded log with
//   an fsync interval shows records to readers, and counts them, once the
//   next periodic sync has made them durable.)
// * Readers never see a record that a crash could still take back, so an
//   offset the pipeline commits always stays valid. If Flush() fails, records sent since
//   the last successful Flush may or may not be in the log: read the end of
//   the partition to find out. Records never flushed are lost with the
//   producer (destroying it does not flush).
// * Consumer::Poll returns records from the positions set by Seek, in offset
//   order per partition, and waits up to the timeout for new data.
// * Committed consumer-group offsets are the next offset to read. They serve
//   lag reporting and retention safety; exactly-once lives in the pipeline.
// * An EventLog may be shared by threads; a Producer or Consumer is used by
//   one thread at a time (make one per thread). Both may outlive nothing:
//   destroy them before the EventLog that made them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kl::log {

// Seek targets besides a concrete offset (same values as librdkafka's).
inline constexpr int64_t kOffsetEnd = -1;
inline constexpr int64_t kOffsetBeginning = -2;
inline constexpr int64_t kOffsetCommitted = -1000;  // the group's committed offset, else the beginning

// One record as read back. key/value point into memory owned by the RecordBatch.
struct Record {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::string_view key;
  std::string_view value;
  // The embedded log only: the record as its segment file frames it
  // (log/segment/record_format.h), CRC included; empty for Kafka. A
  // collector ships its spool's records this way without framing them again.
  std::string_view encoded;
};

// Records returned by one Poll, with the buffers their views point into.
class RecordBatch {
 public:
  RecordBatch() = default;
  RecordBatch(RecordBatch&&) = default;
  RecordBatch& operator=(RecordBatch&&) = default;
  RecordBatch(const RecordBatch&) = delete;
  RecordBatch& operator=(const RecordBatch&) = delete;

  const std::vector<Record>& records() const { return records_; }
  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  const Record& operator[](size_t i) const { return records_[i]; }
  std::vector<Record>::const_iterator begin() const { return records_.begin(); }
  std::vector<Record>::const_iterator end() const { return records_.end(); }
  // Sum of key and value sizes.
  size_t payload_bytes() const { return payload_bytes_; }
  // True when the poll stopped at max_records or max_bytes with more records
  // readable (a reader behind the log polls again at once rather than wait).
  bool more_waiting() const { return more_waiting_; }
  void set_more_waiting() { more_waiting_ = true; }

  // For backends: keeps `owner` (whatever holds the bytes records view) alive
  // as long as the batch, then adds records viewing it.
  void Retain(std::shared_ptr<const void> owner);
  void Add(const Record& record) {
    records_.push_back(record);
    payload_bytes_ += record.key.size() + record.value.size();
  }

 private:
  std::vector<std::shared_ptr<const void>> owners_;
  std::vector<Record> records_;
  size_t payload_bytes_ = 0;
  bool more_waiting_ = false;
};

struct ProducerRecord {
  std::string_view key;      // the cluster name; picks the partition unless `partition` is set
  std::string_view value;    // the event JSON
  int64_t timestamp_ms = 0;  // 0: now
  int32_t partition = -1;    // -1: PartitionForKey(key)
  // Optional: this same record (key, value, timestamp) already framed as the
  // embedded log frames it, under any offset, its CRC checked by the caller
  // (DecodeRecord). The embedded log then appends these bytes, renumbered,
  // instead of framing key and value again; Kafka ignores it.
  std::string_view encoded;
  // Optional: the CRC-32C of `value` (log/crc32c.h), taken by a caller that
  // had the value in hand anyway; the embedded log's SendBatch then frames
  // the record without a pass over the value. It must be right: a wrong one
  // makes the record read as damaged.
  std::optional<uint32_t> value_crc32c;
};

class Producer {
 public:
  virtual ~Producer() = default;
  // Buffers one record (copies key and value). May write or block when buffers fill.
  virtual Status Send(const ProducerRecord& record) = 0;
  // Returns once every record sent before is in the log (see the contract above).
  virtual Status Flush() = 0;
  // Appends `count` records of key `key` framed as the embedded log frames
  // them (log/segment/record_format.h, each CRC right for the offset it
  // carries, CRCs checked by the caller), lying back to back in
  // records[0, size), after everything sent before for their partition, and
  // returns once they are in the log as Flush would. The embedded log writes
  // them from this buffer, renumbering them in place (the buffer's offsets
  // and CRCs change): no copy, one write and one sync for the lot. The
  // default sends them one by one and flushes.
  virtual Status SendEncoded(std::string_view key, char* records, size_t size, size_t count);
  // Sends `records` in order as Send would (`encoded` is ignored: the
  // producer frames them), leaving their memory to the caller once it
  // returns. Every producer makes them visible no later than the next
  // successful Flush, possibly earlier. An error may leave the batch partly
  // sent: the caller must not send it again (that could duplicate records)
  // but treats it as a failed Send.
  //
  // The default (Kafka's producer) sends copies one by one and stops at the
  // first error: the records before it were sent, that one and the rest not.
  //
  // The embedded log checks every record first (an invalid one, or a
  // value_crc32c that is not its value's when it checks them, refuses the
  // batch before anything is sent). A batch under
  // SegmentLogOptions::batch_gather_min_bytes is copied as Send copies it;
  // a larger one is written at once from the caller's memory (gathered
  // writes, no copy), and a record it could not write stays with the
  // producer for the next Flush, as Send keeps it. Records it wrote may be
  // visible before the Flush (its syncs and publications are per partition);
  // a producer destroyed without a Flush does not take them back (they show
  // at the partition's next publication: another write, the interval sync,
  // reopening the log), while those it still held are dropped, as Send's.
  virtual Status SendBatch(std::span<const ProducerRecord> records);
};

struct PollOptions {
  size_t max_records = 10000;
  size_t max_bytes = 16 << 20;  // soft: a single larger record is still returned
  int64_t timeout_ms = 100;     // how long to wait when nothing is available
};

// InvalidArgument unless max_records, max_bytes >= 1 and timeout_ms >= 0.
Status CheckPollOptions(const PollOptions& options);

// InvalidArgument unless `records` holds exactly `count` whole records framed
// as the embedded log frames them, each of key `key` and no larger than
// max_record_bytes (key and value). Their CRCs are not checked here.
Status CheckEncodedRecords(std::string_view key, std::string_view records, size_t count, size_t max_record_bytes);

class Consumer {
 public:
  virtual ~Consumer() = default;
  // Reads `partition` from `offset` (or kOffsetBeginning / kOffsetEnd /
  // kOffsetCommitted) on the next Poll; adds the partition if not assigned.
  virtual Status Seek(int32_t partition, int64_t offset) = 0;
  // Stops reading `partition`.
  virtual Status Unassign(int32_t partition) = 0;
  // The next offset Poll will return for `partition`; NotFound if not assigned.
  virtual Result<int64_t> Position(int32_t partition) const = 0;
  // Up to max_records / max_bytes of records from the assigned partitions;
  // empty after timeout_ms without data. Reading below the start offset
  // (deleted by retention) fails with Expired; beyond the end with InvalidArgument.
  virtual Result<RecordBatch> Poll(const PollOptions& options) = 0;
  // Stores next-offsets-to-read for this consumer's group.
  virtual Status Commit(const std::map<int32_t, int64_t>& offsets) = 0;
};

class EventLog {
 public:
  virtual ~EventLog() = default;
  // "dir:/var/lib/kubelake/log (16 partitions)" for messages and status pages.
  virtual std::string Describe() const = 0;
  virtual int32_t NumPartitions() const = 0;
  int32_t PartitionFor(std::string_view key) const;
  virtual Result<std::unique_ptr<Producer>> NewProducer() = 0;
  // A consumer whose commits go to `group` (one consumer per group at a time).
  virtual Result<std::unique_ptr<Consumer>> NewConsumer(const std::string& group) = 0;
  // First readable offset, and one past the last record (exact, for restart logic).
  virtual Result<int64_t> StartOffset(int32_t partition) = 0;
  virtual Result<int64_t> EndOffset(int32_t partition) = 0;
  // partition -> committed offset; partitions without a commit are absent.
  virtual Result<std::map<int32_t, int64_t>> CommittedOffsets(const std::string& group) = 0;
  // How many bytes past its end each value its consumers return stays readable, so a JSON
  // parser may read it where it lies; 0: none (copy it first).
  virtual size_t value_padding() const { return 0; }
};

// The partition for a key: Kafka's default (Java client) partitioner,
// murmur2 of the key, positive, modulo the partition count. Stable across
// versions and backends, so a cluster's events always meet in one partition.
int32_t PartitionForKey(std::string_view key, int32_t num_partitions);

// Opens a log from its URI:
//   dir:/var/lib/kubelake/log?partitions=16&fsync=batch&retention=7d&required_groups=pipeline
//   /var/lib/kubelake/log                      (a plain path is a dir: URI)
//   kafka://broker1:9092,broker2:9092/topic?partitions=16
// docs/log.md lists every parameter.
Result<std::unique_ptr<EventLog>> OpenEventLog(std::string_view uri);

}  // namespace kl::log
