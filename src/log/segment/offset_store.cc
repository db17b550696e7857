#include "log/segment/offset_store.h"

#include "common/file/file_util.h"
#include "common/json.h"
#include "common/string_util.h"

namespace kl::log {

namespace {
constexpr std::string_view kSuffix = ".offsets.json";
}

Status ValidateGroupName(const std::string& group) {
  bool ok = !group.empty() && group.size() <= 200 && group[0] != '.';
  for (char c : group) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '-');
  }
  if (!ok) {
    return Status::InvalidArgument("consumer group name '" + group +
                                   "': use 1-200 letters, digits, '.', '_' or '-', not starting with '.'");
  }
  return Status::OK();
}

std::string OffsetStore::PathFor(const std::string& group) const {
  return JoinPath(dir_, group + std::string(kSuffix));
}

Result<std::map<int32_t, int64_t>> OffsetStore::Load(const std::string& group) const {
  KL_RETURN_IF_ERROR(ValidateGroupName(group));
  std::map<int32_t, int64_t> out;
  std::string path = PathFor(group);
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return out;
    return text.status();
  }
  KL_ASSIGN_OR_RETURN(JsonValue doc, ParseJson(*text, path));
  const JsonValue* offsets = doc.Find("offsets");
  if (offsets == nullptr || !offsets->is_object()) return Status::Corruption(path + ": no \"offsets\" object");
  for (const auto& [key, value] : offsets->members()) {
    auto partition = ParseInt64(key);
    if (!partition || *partition < 0 || !value.is_int() || value.as_int() < 0) {
      return Status::Corruption(path + ": bad entry \"" + key + "\"");
    }
    out[static_cast<int32_t>(*partition)] = value.as_int();
  }
  return out;
}

Status OffsetStore::Commit(const std::string& group, const std::map<int32_t, int64_t>& offsets, bool sync) {
  std::lock_guard<std::mutex> lock(mu_);
  KL_ASSIGN_OR_RETURN(auto merged, Load(group));
  for (const auto& [partition, offset] : offsets) merged[partition] = offset;
  JsonWriter w;
  w.BeginObject().Key("group").String(group).Key("offsets").BeginObject();
  for (const auto& [partition, offset] : merged) w.Key(std::to_string(partition)).Int(offset);
  w.EndObject().EndObject();
  KL_RETURN_IF_ERROR(CreateDirs(dir_));
  return WriteFileAtomic(PathFor(group), w.str(), sync).WithContext("committing offsets of group " + group);
}

Result<std::vector<std::string>> OffsetStore::Groups() const {
  std::vector<std::string> groups;
  auto names = ListDir(dir_);
  if (!names.ok()) {
    if (names.status().IsNotFound()) return groups;
    return names.status();
  }
  for (const auto& name : *names) {
    if (name.size() > kSuffix.size() && name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0) {
      groups.push_back(name.substr(0, name.size() - kSuffix.size()));
    }
  }
  return groups;
}

}  // namespace kl::log
