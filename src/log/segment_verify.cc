#include "log/segment_verify.h"

#include "common/file_util.h"
#include "log/partition_reader.h"
#include "log/segment_file.h"
#include "log/segment_log.h"

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
    reader.Seek(pr.start_offset);
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

}  // namespace kl::log
