#include "collector/sink/log_sink.h"

#include <zlib.h>

#include "common/coding.h"
#include "common/file/file_util.h"

namespace kl::collector {
namespace {

constexpr std::string_view kMagic = "KLCOLCK1";

void PutString(std::string* out, std::string_view s) {
  PutVarint64(out, s.size());
  out->append(s);
}

struct Checkpoint {
  std::map<int32_t, int64_t> offsets;
  std::map<std::pair<std::string, std::string>, std::string> images;
};

std::string Encode(const Checkpoint& c) {
  std::string out(kMagic);
  PutVarint64(&out, c.offsets.size());
  for (const auto& [p, o] : c.offsets) {
    PutVarint64(&out, static_cast<uint64_t>(p));
    PutVarint64(&out, static_cast<uint64_t>(o));
  }
  PutVarint64(&out, c.images.size());
  for (const auto& [key, image] : c.images) {
    PutString(&out, key.first);
    PutString(&out, key.second);
    PutString(&out, image);
  }
  PutFixed32LE(
      &out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(out.data()), static_cast<uInt>(out.size()))));
  return out;
}

Result<Checkpoint> Decode(std::string_view data, const std::string& path) {
  auto bad = [&](const char* what) { return Status::Corruption("collector checkpoint " + path + ": " + what); };
  if (data.size() < kMagic.size() + 4 || data.substr(0, kMagic.size()) != kMagic) return bad("bad magic");
  std::string_view body = data.substr(0, data.size() - 4);
  uint32_t want = LoadLE32(data.data() + body.size());
  if (want !=
      static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())))) {
    return bad("checksum mismatch");
  }
  ByteReader r(body.substr(kMagic.size()));
  Checkpoint c;
  uint64_t n = r.Varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    int32_t p = static_cast<int32_t>(r.Varint());
    c.offsets[p] = static_cast<int64_t>(r.Varint());
  }
  uint64_t m = r.Varint();
  for (uint64_t i = 0; i < m && r.ok(); ++i) {
    std::string cluster(r.Bytes(r.Varint()));
    std::string watch(r.Bytes(r.Varint()));
    std::string image(r.Bytes(r.Varint()));
    c.images[{cluster, watch}] = std::move(image);
  }
  if (!r.ok() || r.remaining() != 0) return bad("truncated");
  return c;
}

}  // namespace

Result<std::unique_ptr<LogSink>> LogSink::Create(log::EventLog* log) {
  KL_ASSIGN_OR_RETURN(auto producer, log->NewProducer());
  return std::unique_ptr<LogSink>(new LogSink(std::move(producer)));
}

Status LogSink::EmitBorrowed(std::vector<CollectedEvent>* events) {
  std::lock_guard<std::mutex> lock(mu_);
  // Sent as one batch: the embedded log writes a large one (a list page)
  // from the events' own buffers (no copy of the content into its buffer)
  // before the collector reuses them, and copies a small one as Send would.
  // They are visible no later than the Flush that follows each round of the
  // collector's event loop, possibly earlier.
  records_.clear();
  for (const auto& e : *events) {
    log::ProducerRecord& r = records_.emplace_back();
    r.key = e.cluster;
    r.value = e.content;
    r.timestamp_ms = e.ingest_time_ms;
    r.value_crc32c = e.content_crc32c;
  }
  Status s = producer_->SendBatch(records_);
  records_.clear();
  if (!s.ok()) return s;
  events_ += events->size();
  return Status::OK();
}

Status LogSink::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  return producer_->Flush();
}

uint64_t LogSink::events_written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

Status WriteCollectorCheckpoint(Collector* collector, LogSink* sink, log::EventLog* log, const std::string& path) {
  Checkpoint c;
  // Offsets first: whatever the images reflect was emitted at or after them
  // or is already below them; replay from here covers every gap.
  KL_RETURN_IF_ERROR(sink->Flush());
  for (int32_t p = 0; p < log->NumPartitions(); ++p) {
    KL_ASSIGN_OR_RETURN(c.offsets[p], log->EndOffset(p));
  }
  c.images = collector->ExportCheckpoints();
  // Every event the images reflect must be in the log before the checkpoint exists.
  KL_RETURN_IF_ERROR(sink->Flush());
  KL_RETURN_IF_ERROR(CreateDirs(DirName(path)));
  return WriteFileAtomic(path, Encode(c));
}

Result<RecoveryStats> RecoverFromLog(Collector* collector, log::EventLog* log, const std::string& path,
                                     const std::set<std::string>& clusters) {
  RecoveryStats stats;
  std::map<int32_t, int64_t> from;
  if (!path.empty() && FileExists(path)) {
    KL_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
    KL_ASSIGN_OR_RETURN(Checkpoint c, Decode(data, path));
    for (const auto& [key, image] : c.images) {
      Status s = collector->RestoreCheckpoint(key.first, key.second, image);
      // A watch no longer in the spec has nothing to restore into.
      if (!s.ok() && !s.IsNotFound()) return s.WithContext("restoring " + key.first + "/" + key.second);
    }
    from = c.offsets;
    stats.from_checkpoint = true;
  }
  KL_ASSIGN_OR_RETURN(auto consumer, log->NewConsumer("kubelake-collector-recovery"));
  std::map<int32_t, int64_t> end, position;
  for (int32_t p = 0; p < log->NumPartitions(); ++p) {
    KL_ASSIGN_OR_RETURN(end[p], log->EndOffset(p));
    KL_ASSIGN_OR_RETURN(int64_t start, log->StartOffset(p));
    int64_t at = from.count(p) != 0 ? from[p] : start;
    if (at < start) {
      return Status::Expired("the log dropped records of partition " + std::to_string(p) + " (now starting at " +
                             std::to_string(start) + ") that the collector needs from " + std::to_string(at) +
                             "; checkpoint more often than the log's retention");
    }
    position[p] = std::min(at, end[p]);
    KL_RETURN_IF_ERROR(consumer->Seek(p, position[p]));
  }
  auto caught_up = [&] {
    for (const auto& [p, e] : end) {
      if (position[p] < e) return false;
    }
    return true;
  };
  while (!caught_up()) {
    log::PollOptions opts;
    opts.max_records = 10000;
    opts.timeout_ms = 200;
    KL_ASSIGN_OR_RETURN(log::RecordBatch batch, consumer->Poll(opts));
    std::vector<CollectedEvent> events;
    for (const auto& r : batch) {
      if (r.offset >= end[r.partition]) continue;  // written after recovery began: not ours to replay
      position[r.partition] = r.offset + 1;
      std::string cluster(r.key);
      if (clusters.count(cluster) == 0) continue;
      auto e = EventFromContent(cluster, r.timestamp_ms, std::string(r.value));
      if (!e.ok()) {
        return e.status().WithContext("log partition " + std::to_string(r.partition) + " offset " +
                                      std::to_string(r.offset));
      }
      events.push_back(std::move(e).value());
    }
    stats.events_replayed += events.size();
    collector->RestoreFromEvents(events);
    // Stop reading partitions that reached their end.
    for (const auto& [p, e] : end) {
      if (position[p] >= e) (void)consumer->Unassign(p);
    }
  }
  return stats;
}

}  // namespace kl::collector
