#include "table/operation/consumer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/file/file_util.h"
#include "common/json.h"

namespace kl::table {
namespace {
constexpr std::string_view kPrefix = "consumer-";

// The in-place record: one JSON object of kRecordSize bytes in two halves,
//   {"nextSnapshot":N,"kubelakeCheck":"crc"     ,"kubelakeCopy":"N crc"}     \n
// The second half is rewritten first, then the first: a write torn in the
// second half leaves the first (the last complete position), a write torn in
// the first leaves the second (the new one). Each half checks its own number.
constexpr size_t kHalf = 64;
constexpr size_t kRecordSize = 2 * kHalf;
constexpr std::string_view kHeadPrefix = "{\"nextSnapshot\":";
constexpr std::string_view kHeadCheck = ",\"kubelakeCheck\":\"";
constexpr std::string_view kTailPrefix = ",\"kubelakeCopy\":\"";

std::string CheckOf(int64_t next) {
  std::string digits = std::to_string(next);
  uint32_t crc =
      static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(digits.data()), static_cast<uInt>(digits.size())));
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", crc);
  return hex;
}

std::string Pad(std::string s, size_t size, bool newline) {
  s.resize(size, ' ');
  if (newline) s.back() = '\n';
  return s;
}

std::string Head(int64_t next) {
  return Pad(std::string(kHeadPrefix) + std::to_string(next) + std::string(kHeadCheck) + CheckOf(next) + "\"", kHalf,
             false);
}

std::string Tail(int64_t next) {
  return Pad(std::string(kTailPrefix) + std::to_string(next) + " " + CheckOf(next) + "\"}", kHalf, true);
}

bool AllSpaces(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\n'; });
}

// Parses `s` as <number><sep><8 hex>"<rest>, checking the number against the hex.
std::optional<int64_t> CheckedNumber(std::string_view s, std::string_view sep, std::string_view rest_prefix,
                                     std::string_view* rest) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  std::string_view after(end, s.data() + s.size() - end);
  if (after.substr(0, sep.size()) != sep) return std::nullopt;
  after.remove_prefix(sep.size());
  if (after.size() < 9 || after.substr(0, 8) != CheckOf(n) || after.substr(8, rest_prefix.size()) != rest_prefix) {
    return std::nullopt;
  }
  *rest = after.substr(8 + rest_prefix.size());
  return n;
}

std::optional<int64_t> ParseHead(std::string_view half) {
  if (half.substr(0, kHeadPrefix.size()) != kHeadPrefix) return std::nullopt;
  std::string_view rest;
  auto n = CheckedNumber(half.substr(kHeadPrefix.size()), kHeadCheck, "\"", &rest);
  if (!n || !AllSpaces(rest)) return std::nullopt;
  return n;
}

std::optional<int64_t> ParseTail(std::string_view half) {
  if (half.substr(0, kTailPrefix.size()) != kTailPrefix || half.back() != '\n') return std::nullopt;
  std::string_view rest;
  auto n = CheckedNumber(half.substr(kTailPrefix.size()), " ", "\"}", &rest);
  if (!n || !AllSpaces(rest)) return std::nullopt;
  return n;
}

}  // namespace

// The in-place record (newer half first), else plain JSON as Paimon writes it.
Result<int64_t> ConsumerManager::ParseRecord(std::string_view text, const std::string& path) {
  if (text.size() == kRecordSize) {
    if (auto n = ParseTail(text.substr(kHalf))) return *n;
    if (auto n = ParseHead(text.substr(0, kHalf))) return *n;
    if (text.find("\"kubelake") != std::string_view::npos) {
      // Still JSON, perhaps, but no half's number matches its checksum.
      return Status::Corruption("consumer file " + path + ": neither copy of the position is intact");
    }
  }
  KL_ASSIGN_OR_RETURN(JsonValue root, ParseJson(text, path));
  auto next = root.GetInt("nextSnapshot");
  if (!next.ok()) return next.status().WithContext(path);
  return *next;
}

namespace {
Status PWriteAll(int fd, std::string_view data, off_t offset, const std::string& path) {
  ssize_t n = ::pwrite(fd, data.data(), data.size(), offset);
  if (n != static_cast<ssize_t>(data.size())) {
    return Status::IOError("cannot write consumer position to " + path + ": " +
                           (n < 0 ? std::strerror(errno) : std::string("short write")));
  }
  return Status::OK();
}
}  // namespace

ConsumerManager::ConsumerManager(std::string table_path) : dir_(JoinPath(table_path, "consumer")) {}

std::string ConsumerManager::ConsumerPath(const std::string& id) const {
  return JoinPath(dir_, std::string(kPrefix) + id);
}

std::string ConsumerManager::RecordText(int64_t next_snapshot) { return Head(next_snapshot) + Tail(next_snapshot); }

Status ConsumerManager::Record(const std::string& id, int64_t next_snapshot) const {
  if (id.empty() || id.find('/') != std::string::npos) {
    return Status::InvalidArgument("consumer id '" + id + "' must be non-empty and hold no '/'");
  }
  std::string path = ConsumerPath(id);
  // Rewritten in place once it exists in the record's layout: a follower
  // records its position at every checkpoint, and a new file (temporary file
  // and rename) each time costs an inode. Not synced: a position lost in a
  // machine crash only lets expiry go further than the reader wanted, which
  // the reader reports as an expired snapshot; a job's own restart point is
  // its sink's snapshot, not this file.
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st;
    bool in_layout = ::fstat(fd, &st) == 0 && st.st_size == static_cast<off_t>(kRecordSize);
    Status s;
    if (in_layout) {
      s = PWriteAll(fd, Tail(next_snapshot), kHalf, path);
      if (s.ok()) s = PWriteAll(fd, Head(next_snapshot), 0, path);
    }
    ::close(fd);
    if (in_layout) return s;
  } else if (errno != ENOENT) {
    return Status::IOError("cannot open consumer file " + path + ": " + std::strerror(errno));
  } else {
    KL_RETURN_IF_ERROR(CreateDirs(dir_));
  }
  // First record, or a file in another layout (Paimon's JSON): replaced whole.
  return WriteFileAtomic(path, RecordText(next_snapshot), /*sync=*/false);
}

Result<std::optional<int64_t>> ConsumerManager::Read(const std::string& id) const {
  std::string path = ConsumerPath(id);
  // A file caught mid-rewrite (a torn half, or another writer's truncate and
  // write as Paimon's Java does) reads again, as Paimon's readers retry.
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!FileExists(path)) return std::optional<int64_t>();
    auto text = ReadFile(path);
    if (!text.ok()) {
      last = text.status();
      continue;
    }
    auto next = ParseRecord(*text, path);
    if (next.ok()) return std::optional<int64_t>(*next);
    last = next.status();
  }
  return last;
}
Result<std::map<std::string, int64_t>> ConsumerManager::ReadAll() const {
  std::map<std::string, int64_t> out;
  if (!IsDirectory(dir_)) return out;
  KL_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir_));
  for (const auto& name : names) {
    if (name.rfind(kPrefix, 0) != 0) continue;
    // A replace in flight writes consumer-<id>.tmp.<pid>.<n> first: not a consumer.
    if (name.find(".tmp.") != std::string::npos) continue;
    std::string id = name.substr(kPrefix.size());
    KL_ASSIGN_OR_RETURN(std::optional<int64_t> next, Read(id));
    if (next) out[id] = *next;
  }
  return out;
}

Result<std::vector<std::string>> ConsumerManager::ExpireRecordedBefore(int64_t millis) const {
  std::vector<std::string> expired;
  if (!IsDirectory(dir_)) return expired;
  KL_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir_));
  for (const auto& name : names) {
    if (name.rfind(kPrefix, 0) != 0 || name.find(".tmp.") != std::string::npos) continue;
    std::string path = JoinPath(dir_, name);
    auto modified = FileModifiedMillis(path);
    if (!modified.ok() || *modified >= millis) continue;
    KL_RETURN_IF_ERROR(RemoveFile(path));
    expired.push_back(name.substr(kPrefix.size()));
  }
  return expired;
}

Result<std::optional<int64_t>> ConsumerManager::MinNextSnapshot() const {
  KL_ASSIGN_OR_RETURN(auto all, ReadAll());
  std::optional<int64_t> min;
  for (const auto& [id, next] : all) min = min ? std::min(*min, next) : next;
  return min;
}

}  // namespace kl::table
