#include "table/operation/consumer.h"

#include <algorithm>

#include "common/file_util.h"
#include "common/json.h"

namespace kl::table {
namespace {
constexpr std::string_view kPrefix = "consumer-";
}  // namespace

ConsumerManager::ConsumerManager(std::string table_path) : dir_(JoinPath(table_path, "consumer")) {}

std::string ConsumerManager::ConsumerPath(const std::string& id) const {
  return JoinPath(dir_, std::string(kPrefix) + id);
}

Status ConsumerManager::Record(const std::string& id, int64_t next_snapshot) const {
  if (id.empty() || id.find('/') != std::string::npos) {
    return Status::InvalidArgument("consumer id '" + id + "' must be non-empty and hold no '/'");
  }
  KL_RETURN_IF_ERROR(CreateDirs(dir_));
  JsonWriter w;
  w.BeginObject().Key("nextSnapshot").Int(next_snapshot).EndObject();
  // Not synced: a consumer file lost in a crash only lets expiry go further
  // than the reader wanted, which the reader reports as an expired snapshot.
  return WriteFileAtomic(ConsumerPath(id), w.Release(), /*sync=*/false);
}

Result<std::optional<int64_t>> ConsumerManager::Read(const std::string& id) const {
  std::string path = ConsumerPath(id);
  if (!FileExists(path)) return std::optional<int64_t>();
  KL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  KL_ASSIGN_OR_RETURN(JsonValue root, ParseJson(text, path));
  auto next = root.GetInt("nextSnapshot");
  if (!next.ok()) return next.status().WithContext(path);
  return std::optional<int64_t>(*next);
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
