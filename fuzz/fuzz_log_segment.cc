// Fuzzes the embedded log's record decoder and crash recovery with arbitrary
// segment bytes. Checks, beyond "no crash":
// * a record the decoder accepts is canonical: encoding it again gives the same bytes;
// * the writer's recovery and a reader agree on how many records the segment holds,
//   and recovery only ever shortens the file.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/file/file_util.h"
#include "log/segment/partition_reader.h"
#include "log/segment/partition_writer.h"
#include "log/segment/record_format.h"
#include "log/segment/segment_file.h"

namespace {

void CheckDecoder(std::string_view data) {
  size_t pos = 0;
  while (pos < data.size()) {
    kl::log::DecodedRecord r;
    std::string problem;
    if (kl::log::DecodeRecord(data.substr(pos), &r, &problem) != kl::log::DecodeState::kOk) break;
    std::string again;
    kl::log::AppendRecord(&again, r.offset, r.timestamp_ms, r.key, r.value);
    if (again != data.substr(pos, r.encoded_size)) std::abort();
    pos += r.encoded_size;
  }
  size_t found = kl::log::FindValidRecord(data, 0, 0);
  if (found != std::string_view::npos && found >= data.size()) std::abort();
}

void CheckRecovery(std::string_view body) {
  // Never destroyed, so the exit handler that removes the directory can still name it.
  static const std::string& dir = *[] {
    const char* base = std::getenv("TMPDIR");
    auto* d = new std::string(std::string(base != nullptr ? base : "/tmp") + "/kubelake-fuzz-log-" +
                              std::to_string(::getpid()));
    std::atexit([] { (void)kl::RemoveAll(dir); });
    return d;
  }();
  (void)kl::RemoveAll(dir);
  if (!kl::CreateDirs(dir).ok()) return;
  std::string path = kl::JoinPath(dir, kl::log::SegmentFileName(0));
  std::string file = kl::log::EncodeSegmentHeader(0) + std::string(body);
  if (!kl::WriteFile(path, file).ok()) return;

  kl::log::PartitionReader reader(dir, 0);
  reader.Seek(0);
  auto read_end = reader.ReadToEnd();

  kl::log::PartitionWriterOptions options;
  options.segment_bytes = 1 << 20;
  auto writer = kl::log::PartitionWriter::Open(dir, 0, options);
  if (!writer.ok()) return;  // damage with valid records after it: refused, file untouched
  auto size = kl::FileSize(path);
  if (!size.ok() || *size > file.size()) std::abort();
  // Whatever the reader could read before recovery is exactly what recovery keeps.
  if (read_end.ok() && *read_end != (*writer)->end_offset()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);  // recovery warns about every torn tail
    return true;
  }();
  (void)quiet;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckDecoder(bytes);
  if (size <= 64 << 10) CheckRecovery(bytes);
  return 0;
}
