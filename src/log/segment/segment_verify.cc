#include "log/segment/segment_verify.h"

#include <algorithm>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "log/segment/partition_reader.h"
#include "log/segment/segment_file.h"
#include "log/segment/segment_log.h"
#include "log/segment/watermark.h"
#include "log/segment/writer_lock.h"

namespace kl::log {

bool LogReport::ok() const {
  for (const auto& p : partition_reports) {
    if (!p.problem.empty()) return false;
  }
  return true;
}

Result<LogReport> VerifySegmentLog(const std::string& dir) {
  SegmentLogOptions options;
  options.create_if_missing = false;
  KL_ASSIGN_OR_RETURN(auto log, SegmentLog::Open(dir, options));  // reads log.json; takes no lock
  LogReport report;
  report.partitions = log->NumPartitions();
  for (int32_t p = 0; p < report.partitions; ++p) {
    PartitionReport pr;
    pr.partition = p;
    std::string pdir = JoinPath(dir, "partition-" + std::to_string(p));
    KL_ASSIGN_OR_RETURN(auto bases, ListSegments(pdir));
    pr.segments = bases.size();
    for (int64_t base : bases) {
      auto size = FileSize(JoinPath(pdir, SegmentFileName(base)));
      if (size.ok()) pr.bytes += *size;
    }
    pr.start_offset = bases.empty() ? 0 : bases.front();
    PartitionReader reader(pdir, p);
    reader.IgnoreWatermark();
    reader.Seek(pr.start_offset);
    if (FileExists(JoinPath(pdir, kWatermarkFileName))) pr.watermark = WatermarkReader(pdir).Read();
    auto end = reader.ReadToEnd();
    pr.end_offset = reader.position();
    if (!end.ok()) {
      pr.problem = end.status().ToString();
    } else if (!bases.empty()) {
      // Where the last good record ends in the newest segment.
      std::string newest = JoinPath(pdir, SegmentFileName(bases.back()));
      KL_ASSIGN_OR_RETURN(auto file, SegmentFile::Open(newest, bases.back()));
      KL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
      KL_ASSIGN_OR_RETURN(auto hint, SeekHint(JoinPath(pdir, IndexFileName(bases.back())), *file, pr.end_offset));
      SegmentCursor cursor(file.get(), hint.first, hint.second, 1 << 20);
      while (cursor.next_offset() < pr.end_offset) {
        KL_ASSIGN_OR_RETURN(auto state, cursor.Peek(false));
        if (state != SegmentCursor::State::kRecord) break;
        cursor.Advance();
      }
      if (size > cursor.position()) pr.tail_bytes = size - cursor.position();
    }
    report.partition_reports.push_back(std::move(pr));
  }
  return report;
}

Result<std::string> RepairPartition(const std::string& dir, int32_t partition) {
  SegmentLogOptions options;
  options.create_if_missing = false;
  KL_ASSIGN_OR_RETURN(auto log, SegmentLog::Open(dir, options));
  if (partition < 0 || partition >= log->NumPartitions()) {
    return Status::InvalidArgument("partition " + std::to_string(partition) + " out of range");
  }
  KL_ASSIGN_OR_RETURN(auto lock, WriterLock::Acquire(dir));
  std::string pdir = JoinPath(dir, "partition-" + std::to_string(partition));
  KL_ASSIGN_OR_RETURN(auto bases, ListSegments(pdir));
  if (bases.empty()) return std::string("partition " + std::to_string(partition) + ": empty, nothing to repair");
  PartitionReader reader(pdir, partition);
  reader.IgnoreWatermark();
  reader.Seek(bases.front());
  auto end = reader.ReadToEnd();
  if (end.ok() || !end.status().IsCorruption()) {
    if (!end.ok()) return end.status();
    return "partition " + std::to_string(partition) + ": no damage (offsets " + std::to_string(bases.front()) + ".." +
           std::to_string(*end) + "); a torn tail, if any, is cut by the next writer";
  }
  int64_t cut = reader.position();  // the first offset that cannot be read
  size_t first_moved = static_cast<size_t>(std::upper_bound(bases.begin(), bases.end(), cut) - bases.begin() - 1);
  int64_t base = bases[first_moved];
  std::string damaged_path = JoinPath(pdir, SegmentFileName(base));
  // Where `cut` starts in its segment: walk the framing up to it.
  KL_ASSIGN_OR_RETURN(auto file, SegmentFile::Open(damaged_path, base));
  SegmentCursor cursor(file.get(), kSegmentHeaderSize, base, 1 << 20);
  while (cursor.next_offset() < cut) {
    KL_ASSIGN_OR_RETURN(auto state, cursor.Peek(/*verify_crc=*/true));
    if (state != SegmentCursor::State::kRecord) break;
    cursor.Advance();
  }
  if (cursor.next_offset() != cut) {
    return Status::Internal("repair: could not find offset " + std::to_string(cut) + " in " + damaged_path);
  }
  std::string prefix;
  KL_RETURN_IF_ERROR(file->ReadAt(0, cursor.position(), &prefix));
  file.reset();
  std::string aside = JoinPath(pdir, "damaged-" + std::to_string(NowMillis()));
  KL_RETURN_IF_ERROR(CreateDirs(aside));
  for (size_t i = first_moved; i < bases.size(); ++i) {
    KL_RETURN_IF_ERROR(
        RenameFile(JoinPath(pdir, SegmentFileName(bases[i])), JoinPath(aside, SegmentFileName(bases[i]))));
    std::string index = JoinPath(pdir, IndexFileName(bases[i]));
    if (FileExists(index)) KL_RETURN_IF_ERROR(RenameFile(index, JoinPath(aside, IndexFileName(bases[i]))));
  }
  KL_RETURN_IF_ERROR(WriteFileAtomic(damaged_path, prefix, /*sync=*/true));
  KL_RETURN_IF_ERROR(SyncDir(pdir));
  KL_RETURN_IF_ERROR(WriteWatermark(pdir, cut));
  return "partition " + std::to_string(partition) + ": cut at offset " + std::to_string(cut) + " (" +
         end.status().message() + "); moved " + std::to_string(bases.size() - first_moved) + " segment(s) to " + aside +
         "; the partition now ends at offset " + std::to_string(cut);
}

}  // namespace kl::log
