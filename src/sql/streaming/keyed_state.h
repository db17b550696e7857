// Keyed operator state with change tracking: the entries changed since the
// last committed checkpoint are what the next (delta) checkpoint writes.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "pipeline/runtime/state.h"

namespace kl::sql::streaming {

template <typename V>
class KeyedState {
 public:
  V* Find(const std::string& key) {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  // The entry of `key`, created empty when absent; marked changed.
  V& Touch(const std::string& key) {
    dirty_.insert(key);
    return map_[key];
  }
  void Erase(const std::string& key) {
    map_.erase(key);
    dirty_.insert(key);
  }
  size_t size() const { return map_.size(); }
  std::unordered_map<std::string, V>& entries() { return map_; }

  // Writes the changed entries (all of them when `full`) with `encode`.
  void Save(bool full, pipeline::StateWriter* out, const std::function<std::string(const V&)>& encode) const {
    if (full) {
      for (const auto& [k, v] : map_) out->Put(k, encode(v));
      return;
    }
    for (const auto& k : dirty_) {
      auto it = map_.find(k);
      if (it == map_.end()) {
        out->Erase(k);
      } else {
        out->Put(k, encode(it->second));
      }
    }
  }
  void Committed() { dirty_.clear(); }
  // Replaces the state by the restored entries.
  Status Load(const pipeline::OperatorState& state, const std::function<Result<V>(std::string_view)>& decode) {
    map_.clear();
    dirty_.clear();
    for (const auto& [k, v] : state) {
      auto value = decode(v);
      if (!value.ok()) return value.status();
      map_.emplace(k, std::move(*value));
    }
    return Status::OK();
  }

 private:
  std::unordered_map<std::string, V> map_;
  std::unordered_set<std::string> dirty_;
};

}  // namespace kl::sql::streaming
