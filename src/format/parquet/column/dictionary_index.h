// Finds a column chunk's dictionary entries by value while the chunk is
// written. Open addressing over 64-bit keys (an integer's bits, or a byte
// string's hash) with the entry number beside each: no allocation per entry,
// and byte strings are compared where the dictionary page already holds them,
// so no value is kept twice. A value equal to the last one looked up (runs in
// sorted or clustered columns) is answered without hashing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kl::format::parquet {

class DictionaryIndex {
 public:
  // The entry holding integer `key`; when absent it becomes the next entry
  // (second: true).
  std::pair<uint32_t, bool> FindOrAdd(uint64_t key);
  // The entry holding byte string `v`, entries being held in `storage`; when
  // absent it becomes the next entry, which the caller then stores in `storage`
  // at `position` (second: true).
  std::pair<uint32_t, bool> FindOrAdd(std::string_view v, const std::string& storage, size_t position);

  uint32_t size() const { return count_; }
  void Clear();

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t entry_plus_one = 0;  // 0: empty
  };
  struct Span {
    size_t position;
    size_t size;
  };

  // The slot of `key` (or the empty one where it would go) among slots whose
  // entries `same(entry)` accepts.
  template <typename Same>
  Slot* Probe(uint64_t key, Same same);
  uint32_t Add(Slot* slot, uint64_t key);
  void Grow();

  std::vector<Slot> slots_;  // size a power of two, at most half full
  std::vector<Span> spans_;  // per entry of byte strings: where `storage` holds it
  uint32_t count_ = 0;
  uint32_t last_ = 0;      // entry + 1 of the last lookup; 0: none
  uint64_t last_key_ = 0;  // its key (Grow rehashes from the slots, which hold every key)
};

// A 64-bit hash of a byte string (not seeded: a dictionary is no defence
// against chosen collisions, which only slow it down).
uint64_t HashBytes(std::string_view v);

}  // namespace kl::format::parquet
