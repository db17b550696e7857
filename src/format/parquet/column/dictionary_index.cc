#include "format/parquet/column/dictionary_index.h"

#include <cstring>

#include "common/coding.h"

namespace kl::format::parquet {
namespace {

inline uint64_t Mix(uint64_t a, uint64_t b) {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

constexpr uint64_t kK0 = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kK1 = 0xbf58476d1ce4e5b9ull;
constexpr uint64_t kK2 = 0x94d049bb133111ebull;

// Where key `key` starts probing (integer keys spread first: sequential values
// would otherwise fill neighbouring slots).
inline size_t Home(uint64_t key, size_t mask) { return static_cast<size_t>(Mix(key ^ kK2, kK0)) & mask; }

}  // namespace

uint64_t HashBytes(std::string_view v) {
  const char* p = v.data();
  size_t n = v.size();
  uint64_t h = kK0 ^ (n * kK1);
  while (n >= 16) {
    h = Mix(LoadLE64(p) ^ kK1, LoadLE64(p + 8) ^ h);
    p += 16;
    n -= 16;
  }
  if (n >= 8) {
    h = Mix(LoadLE64(p) ^ kK2, h ^ kK1);
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t t = 0;
    std::memcpy(&t, p, n);
    h = Mix(t ^ kK1, h ^ kK2);
  }
  return h;
}

void DictionaryIndex::Clear() {
  slots_.clear();
  spans_.clear();
  count_ = 0;
  last_ = 0;
}

template <typename Same>
DictionaryIndex::Slot* DictionaryIndex::Probe(uint64_t key, Same same) {
  if (slots_.empty()) slots_.resize(64);
  size_t mask = slots_.size() - 1;
  for (size_t i = Home(key, mask);; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.entry_plus_one == 0 || (s.key == key && same(s.entry_plus_one - 1))) return &s;
  }
}

uint32_t DictionaryIndex::Add(Slot* slot, uint64_t key) {
  uint32_t entry = count_++;
  slot->key = key;
  slot->entry_plus_one = entry + 1;
  last_ = entry + 1;
  last_key_ = key;
  if (static_cast<size_t>(count_) * 2 > slots_.size()) Grow();
  return entry;
}

void DictionaryIndex::Grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.resize(old.size() * 2);
  size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.entry_plus_one == 0) continue;
    size_t i = Home(s.key, mask);
    while (slots_[i].entry_plus_one != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

std::pair<uint32_t, bool> DictionaryIndex::FindOrAdd(uint64_t key) {
  if (last_ != 0 && last_key_ == key) return {last_ - 1, false};
  Slot* s = Probe(key, [](uint32_t) { return true; });
  if (s->entry_plus_one != 0) {
    last_ = s->entry_plus_one;
    last_key_ = key;
    return {last_ - 1, false};
  }
  return {Add(s, key), true};
}

std::pair<uint32_t, bool> DictionaryIndex::FindOrAdd(std::string_view v, const std::string& storage, size_t position) {
  auto holds = [&](uint32_t entry) {
    const Span& span = spans_[entry];
    return span.size == v.size() && std::memcmp(storage.data() + span.position, v.data(), v.size()) == 0;
  };
  if (last_ != 0 && holds(last_ - 1)) return {last_ - 1, false};
  uint64_t key = HashBytes(v);
  Slot* s = Probe(key, holds);
  if (s->entry_plus_one != 0) {
    last_ = s->entry_plus_one;
    last_key_ = key;
    return {last_ - 1, false};
  }
  spans_.push_back(Span{position, v.size()});
  return {Add(s, key), true};
}

}  // namespace kl::format::parquet
