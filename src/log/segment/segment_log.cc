#include "log/segment/segment_log.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/json.h"
#include "log/segment/segment_file.h"
#include "log/segment/segment_log_internal.h"
#include "log/segment/writer_lock.h"

namespace kl::log {

static_assert(SegmentCursor::kReadPadding >= SegmentLog::kValuePadding, "consumers' records view the cursor's buffers");
namespace {

constexpr int32_t kDefaultPartitions = 8;
constexpr int32_t kMaxPartitions = 4096;
constexpr int64_t kFormatVersion = 1;

Result<int32_t> ReadMeta(const std::string& path) {
  KL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  KL_ASSIGN_OR_RETURN(JsonValue doc, ParseJson(text, path));
  KL_ASSIGN_OR_RETURN(int64_t version, doc.GetInt("version"));
  if (version != kFormatVersion) {
    return Status::NotSupported(path + ": log format version " + std::to_string(version) + " (this build reads " +
                                std::to_string(kFormatVersion) + ")");
  }
  KL_ASSIGN_OR_RETURN(int64_t partitions, doc.GetInt("partitions"));
  if (partitions < 1 || partitions > kMaxPartitions) {
    return Status::Corruption(path + ": bad partition count " + std::to_string(partitions));
  }
  return static_cast<int32_t>(partitions);
}

// Creates log.json, or reads the one there. Two processes creating the same
// log at once agree: the loser of WriteFileIfAbsent reads the winner's file.
Result<int32_t> OpenOrCreateMeta(const std::string& dir, int32_t wanted, bool create) {
  std::string path = JoinPath(dir, "log.json");
  if (!FileExists(path)) {
    if (!create) return Status::NotFound("no kubelake log at " + dir + " (" + path + " is missing)");
    if (wanted < 0 || wanted > kMaxPartitions) {
      return Status::InvalidArgument("partitions must be 1-" + std::to_string(kMaxPartitions) + ", got " +
                                     std::to_string(wanted));
    }
    KL_RETURN_IF_ERROR(CreateDirs(dir));
    int32_t partitions = wanted == 0 ? kDefaultPartitions : wanted;
    JsonWriter w;
    w.BeginObject().Key("format").String("kubelake-log").Key("version").Int(kFormatVersion);
    w.Key("partitions").Int(partitions).EndObject();
    Status s = WriteFileIfAbsent(path, w.str(), /*sync=*/true);
    if (!s.ok() && !s.IsAlreadyExists()) return s.WithContext("creating log " + dir);
  }
  KL_ASSIGN_OR_RETURN(int32_t partitions, ReadMeta(path));
  if (wanted != 0 && wanted != partitions) {
    return Status::InvalidArgument("the log at " + dir + " has " + std::to_string(partitions) + " partitions, not " +
                                   std::to_string(wanted) + " (the count is fixed when a log is created)");
  }
  return partitions;
}

}  // namespace

// ---- LogWriter ----

Result<std::unique_ptr<LogWriter>> LogWriter::Open(LogState* state) {
  std::unique_ptr<LogWriter> writer(new LogWriter(state));
  KL_ASSIGN_OR_RETURN(writer->lock_, WriterLock::Acquire(state->dir));
  PartitionWriterOptions options;
  options.segment_bytes = state->options.segment_bytes;
  options.segment_max_age_ms = state->options.segment_max_age_ms;
  options.index_interval_bytes = state->options.index_interval_bytes;
  for (int32_t p = 0; p < state->partitions; ++p) {
    auto slot = std::make_unique<Slot>();
    auto opened = PartitionWriter::Open(state->PartitionDir(p), p, options);
    if (!opened.ok()) return opened.status().WithContext("opening the log at " + state->dir + " for writing");
    slot->writer = std::move(*opened);
    writer->slots_.push_back(std::move(slot));
  }
  bool periodic_sync = state->options.fsync == FsyncPolicy::kInterval;
  bool periodic_retention = state->options.retention.max_bytes >= 0 || state->options.retention.max_age_ms >= 0;
  if (periodic_sync || periodic_retention) {
    writer->background_ = std::thread([w = writer.get()] {
      pthread_setname_np(pthread_self(), "kl-log-sync");
      w->BackgroundLoop();
    });
  }
  return writer;
}

LogWriter::~LogWriter() {
  {
    std::lock_guard<std::mutex> lock(background_mu_);
    stopping_ = true;
  }
  background_cv_.notify_all();
  if (background_.joinable()) background_.join();
  Status s = SyncAll();
  if (!s.ok()) spdlog::warn("closing the log at {}: {}", state_->dir, s.ToString());
  lock_.reset();  // after the last sync: the next writer sees everything
}

void LogWriter::BackgroundLoop() {
  const SegmentLogOptions& o = state_->options;
  bool periodic_sync = o.fsync == FsyncPolicy::kInterval;
  bool periodic_retention = o.retention.max_bytes >= 0 || o.retention.max_age_ms >= 0;
  int64_t sync_every = std::max<int64_t>(1, o.fsync_interval_ms);
  int64_t retention_every = std::max<int64_t>(10, o.retention_check_interval_ms);
  int64_t next_sync = MonotonicMicros() / 1000 + sync_every;
  int64_t next_retention = MonotonicMicros() / 1000 + retention_every;
  std::unique_lock<std::mutex> lock(background_mu_);
  while (!stopping_) {
    int64_t now = MonotonicMicros() / 1000;
    int64_t wake = std::min(periodic_sync ? next_sync : INT64_MAX, periodic_retention ? next_retention : INT64_MAX);
    if (now < wake) {
      background_cv_.wait_for(lock, std::chrono::milliseconds(wake - now));
      continue;
    }
    lock.unlock();
    if (periodic_sync && now >= next_sync) {
      Status s = SyncAll();
      if (!s.ok()) spdlog::error("log {}: periodic fsync: {}", state_->dir, s.ToString());
      next_sync = now + sync_every;
    }
    if (periodic_retention && now >= next_retention) {
      Status s = EnforceRetention();
      if (!s.ok()) spdlog::error("log {}: retention: {}", state_->dir, s.ToString());
      next_retention = now + retention_every;
    }
    lock.lock();
  }
}

Status LogWriter::FinishWriteLocked(Slot& slot, size_t written, Status status) {
  if (written == 0) return status;
  Status published = PublishLocked(slot);
  return status.ok() ? published : status;
}

Status LogWriter::PublishLocked(Slot& slot) {
  // Records that made it (all, or those before a failure) become visible
  // once they are as durable as the policy promises; the interval policy
  // publishes from its periodic sync.
  if (state_->options.fsync == FsyncPolicy::kEveryBatch) {
    KL_RETURN_IF_ERROR(slot.writer->Sync());
    return slot.writer->Publish();
  }
  if (state_->options.fsync == FsyncPolicy::kNever) return slot.writer->Publish();
  return Status::OK();
}

Status LogWriter::Write(int32_t partition, PendingRecords* pending) {
  Slot& slot = *slots_[partition];
  Status s;
  size_t written = 0;
  {
    std::lock_guard<std::mutex> lock(slot.mu);
    size_t before = pending->count;
    s = slot.writer->Write(pending);
    written = before - pending->count;
    s = FinishWriteLocked(slot, written, s);
  }
  if (written > 0) state_->NotifyAppended();
  return s;
}

Status LogWriter::WriteRecords(int32_t partition, char* data, size_t size) {
  Slot& slot = *slots_[partition];
  Status s;
  size_t written = 0;
  {
    std::lock_guard<std::mutex> lock(slot.mu);
    size_t written_bytes = 0;
    s = slot.writer->WriteRecords(data, size, &written_bytes, &written);
    s = FinishWriteLocked(slot, written, s);
  }
  if (written > 0) state_->NotifyAppended();
  return s;
}

Status LogWriter::WriteGathered(int32_t partition, const GatheredRecord* records, size_t count, size_t* written) {
  Slot& slot = *slots_[partition];
  std::lock_guard<std::mutex> lock(slot.mu);
  return slot.writer->WriteGathered(records, count, written);
}

Status LogWriter::Finish(int32_t partition) {
  Status s;
  {
    Slot& slot = *slots_[partition];
    std::lock_guard<std::mutex> lock(slot.mu);
    s = PublishLocked(slot);
  }
  state_->NotifyAppended();
  return s;
}

Status LogWriter::SyncAll() {
  Status first;
  for (auto& slot : slots_) {
    Status s;
    {
      std::lock_guard<std::mutex> lock(slot->mu);
      s = slot->writer->Sync();
      if (s.ok()) s = slot->writer->Publish();
    }
    if (first.ok() && !s.ok()) first = s;
  }
  state_->NotifyAppended();
  return first;
}

int64_t LogWriter::EndOffset(int32_t partition) {
  std::lock_guard<std::mutex> lock(slots_[partition]->mu);
  return slots_[partition]->writer->visible_end_offset();
}

int64_t LogWriter::StartOffset(int32_t partition) {
  std::lock_guard<std::mutex> lock(slots_[partition]->mu);
  return slots_[partition]->writer->start_offset();
}

Status LogWriter::EnforceRetention() {
  const SegmentLogOptions& o = state_->options;
  // The lowest offset each partition must keep for the required groups.
  std::vector<std::optional<int64_t>> protect(state_->partitions);
  for (const auto& group : o.required_groups) {
    KL_ASSIGN_OR_RETURN(auto committed, state_->offsets.Load(group));
    for (int32_t p = 0; p < state_->partitions; ++p) {
      auto it = committed.find(p);
      int64_t keep = it == committed.end() ? 0 : it->second;
      protect[p] = protect[p] ? std::min(*protect[p], keep) : keep;
    }
  }
  int64_t now = NowMillis();
  for (int32_t p = 0; p < state_->partitions; ++p) {
    Slot& slot = *slots_[p];
    std::lock_guard<std::mutex> lock(slot.mu);
    std::vector<RetentionSegment> segments;
    for (const auto& s : slot.writer->segments()) {
      RetentionSegment r{s.base_offset, s.size, now};
      if (&s != &slot.writer->segments().back()) {
        KL_ASSIGN_OR_RETURN(r.modified_ms, FileModifiedMillis(slot.writer->SegmentPath(s.base_offset)));
      }
      segments.push_back(r);
    }
    size_t n = SegmentsToDelete(segments, o.retention, now, protect[p]);
    for (size_t i = 0; i < n; ++i) {
      spdlog::info("log {}: retention deletes partition {} {}", state_->dir, p,
                   SegmentFileName(slot.writer->segments().front().base_offset));
      KL_RETURN_IF_ERROR(slot.writer->DeleteOldestSegment());
    }
  }
  return Status::OK();
}

Result<LogWriter*> LogState::EnsureWriter() {
  std::lock_guard<std::mutex> lock(writer_mu);
  if (!writer) {
    KL_ASSIGN_OR_RETURN(writer, LogWriter::Open(this));
    NotifyAppended();  // a torn tail may have been cut: let waiting readers look again
  }
  return writer.get();
}

Result<int64_t> LogState::StartOffset(int32_t partition) {
  KL_RETURN_IF_ERROR(CheckPartition(partition));
  if (LogWriter* writer = WriterOrNull()) return writer->StartOffset(partition);
  KL_ASSIGN_OR_RETURN(auto bases, ListSegments(PartitionDir(partition)));
  return bases.empty() ? int64_t{0} : bases.front();
}

Result<int64_t> LogState::EndOffset(int32_t partition) {
  KL_RETURN_IF_ERROR(CheckPartition(partition));
  if (LogWriter* writer = WriterOrNull()) return writer->EndOffset(partition);
  // Another process writes: read to the end of the files, from where we were
  // last time (or from the newest segment).
  std::lock_guard<std::mutex> lock(tails_mu);
  auto& tail = tails[partition];
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!tail) {
      KL_ASSIGN_OR_RETURN(auto bases, ListSegments(PartitionDir(partition)));
      tail = std::make_unique<PartitionReader>(PartitionDir(partition), partition);
      tail->Seek(bases.empty() ? 0 : bases.back());
    }
    auto end = tail->ReadToEnd();
    if (end.ok()) return end;
    if (!end.status().IsExpired())
      return end.status().WithContext("finding the end of partition " + std::to_string(partition) + " of the log at " +
                                      dir);
    tail.reset();  // retention removed what we were following: start again from the newest segment
  }
  return Status::Unavailable("finding the end of partition " + std::to_string(partition) + " of " + "the log at " +
                             dir + ": segments keep disappearing");
}

// ---- SegmentLog ----

Result<std::unique_ptr<SegmentLog>> SegmentLog::Open(const std::string& dir, SegmentLogOptions options) {
  if (dir.empty()) return Status::InvalidArgument("the embedded log needs a directory");
  if (options.segment_bytes < 4096) return Status::InvalidArgument("segment_bytes must be at least 4096");
  for (const auto& group : options.required_groups) KL_RETURN_IF_ERROR(ValidateGroupName(group));
  KL_ASSIGN_OR_RETURN(int32_t partitions, OpenOrCreateMeta(dir, options.partitions, options.create_if_missing));
  for (int32_t p = 0; p < partitions; ++p) KL_RETURN_IF_ERROR(CreateDirs(dir + "/partition-" + std::to_string(p)));
  auto state = std::make_shared<LogState>(dir);
  state->options = std::move(options);
  state->partitions = partitions;
  for (int32_t p = 0; p < partitions; ++p) state->tails.push_back(nullptr);
  return std::unique_ptr<SegmentLog>(new SegmentLog(std::move(state)));
}

SegmentLog::~SegmentLog() = default;

const std::string& SegmentLog::dir() const { return state_->dir; }

std::string SegmentLog::Describe() const {
  return "dir:" + state_->dir + " (" + std::to_string(state_->partitions) + " partitions)";
}

int32_t SegmentLog::NumPartitions() const { return state_->partitions; }

Result<std::unique_ptr<Producer>> SegmentLog::NewProducer() {
  KL_RETURN_IF_ERROR(state_->EnsureWriter().status());
  return NewSegmentProducer(state_);
}

Result<std::unique_ptr<Consumer>> SegmentLog::NewConsumer(const std::string& group) {
  return NewSegmentConsumer(state_, group);
}

Result<int64_t> SegmentLog::StartOffset(int32_t partition) { return state_->StartOffset(partition); }

Result<int64_t> SegmentLog::EndOffset(int32_t partition) { return state_->EndOffset(partition); }

Result<std::map<int32_t, int64_t>> SegmentLog::CommittedOffsets(const std::string& group) {
  return state_->offsets.Load(group);
}

Status SegmentLog::EnforceRetention() {
  KL_ASSIGN_OR_RETURN(LogWriter * writer, state_->EnsureWriter());
  return writer->EnforceRetention();
}

Status SegmentLog::SyncAll() {
  LogWriter* writer = state_->WriterOrNull();
  return writer == nullptr ? Status::OK() : writer->SyncAll();
}

Result<std::vector<std::string>> SegmentLog::Groups() const { return state_->offsets.Groups(); }

}  // namespace kl::log
