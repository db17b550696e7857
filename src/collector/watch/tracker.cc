#include "collector/watch/tracker.h"

#include <algorithm>

#include "common/coding.h"

namespace kl::collector {
namespace {

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The index's hash (in memory only; checkpoints do not store it): eight bytes
// per multiply, where FNV-1a takes one, since every event hashes a 36-byte uid.
uint32_t HashUid(std::string_view uid) {
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
  uint64_t h = uid.size() * kMul;
  const char* p = uid.data();
  size_t n = uid.size();
  auto mix = [&h](uint64_t word) {
    h = (h ^ word) * kMul;
    h ^= h >> 29;
  };
  for (; n >= 8; p += 8, n -= 8) mix(LoadLE64(p));
  if (n > 0) {
    uint64_t tail = 0;
    for (size_t i = 0; i < n; ++i) tail |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    mix(tail);
  }
  h *= kMul;
  return static_cast<uint32_t>(h >> 32);
}

constexpr std::string_view kCheckpointMagic = "KLTRACK1";

}  // namespace

uint64_t ResourceVersionKey(std::string_view rv) {
  if (!rv.empty() && rv.size() <= 18 &&
      std::all_of(rv.begin(), rv.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    uint64_t v = 0;
    for (char c : rv) v = v * 10 + static_cast<uint64_t>(c - '0');
    return v;
  }
  return Fnv1a(rv) | (1ull << 63);
}

ObjectTracker::ObjectTracker() : slots_(16) {}

size_t ObjectTracker::FindSlot(std::string_view uid, uint32_t hash) const {
  size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.entry_plus_one == 0) return i;
    if (s.hash == hash && Uid(entries_[s.entry_plus_one - 1]) == uid) return i;
  }
}

uint32_t ObjectTracker::AppendText(std::string_view uid, std::string_view ns, std::string_view name) {
  uint32_t off = static_cast<uint32_t>(arena_.size());
  arena_.append(uid);
  arena_.append(ns);
  arena_.append(name);
  return off;
}

void ObjectTracker::Prefetch(std::string_view uid) const {
  __builtin_prefetch(&slots_[HashUid(uid) & (slots_.size() - 1)]);
}

void ObjectTracker::Insert(std::string_view uid, std::string_view ns, std::string_view name, uint64_t rv_key) {
  if (NeedsGrowth()) Grow();
  uint32_t hash = HashUid(uid);
  InsertAt(FindSlot(uid, hash), hash, uid, ns, name, rv_key);
}

void ObjectTracker::InsertAt(size_t slot, uint32_t hash, std::string_view uid, std::string_view ns,
                             std::string_view name, uint64_t rv_key) {
  uint32_t index;
  if (!free_entries_.empty()) {
    index = free_entries_.back();
    free_entries_.pop_back();
  } else {
    index = static_cast<uint32_t>(entries_.size());
    entries_.push_back(Entry{});
  }
  Entry& e = entries_[index];
  e.rv_key = rv_key;
  e.text_off = AppendText(uid, ns, name);
  e.uid_len = static_cast<uint16_t>(uid.size());
  e.ns_len = static_cast<uint16_t>(ns.size());
  e.name_len = static_cast<uint16_t>(name.size());
  e.epoch = epoch_;
  slots_[slot] = Slot{index + 1, hash};
  ++live_;
}

void ObjectTracker::Reserve(size_t objects, size_t text_bytes) {
  objects = std::min(objects, kMaxReservedObjects);
  text_bytes = std::min(text_bytes, kMaxReservedTextBytes);
  if (entries_.capacity() < objects) entries_.reserve(objects);
  if (arena_.capacity() < text_bytes) arena_.reserve(text_bytes);
  size_t slot_count = slots_.size();
  while (Overfull(objects, slot_count)) slot_count *= 2;
  if (slot_count > slots_.size()) Rehash(slot_count);
  reserved_in_sweep_ = true;
}

void ObjectTracker::ReleaseUnusedReserve() {
  // Capacity past an eighth over what is held goes back (a copy each, once per list).
  auto over = [](size_t capacity, size_t used) { return capacity > used + used / 8 + 4096; };
  if (over(entries_.capacity() * sizeof(Entry), entries_.size() * sizeof(Entry))) entries_.shrink_to_fit();
  if (over(arena_.capacity(), arena_.size())) arena_.shrink_to_fit();
  size_t slot_count = 16;
  while (Overfull(live_, slot_count)) slot_count *= 2;
  if (slot_count * 2 <= slots_.size()) Rehash(slot_count * 2);
}

void ObjectTracker::Rehash(size_t slot_count) {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(slot_count, Slot{0, 0});
  size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.entry_plus_one == 0) continue;
    size_t i = s.hash & mask;
    while (slots_[i].entry_plus_one != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

// Backward-shift deletion keeps linear probing free of tombstones.
void ObjectTracker::RemoveSlot(size_t slot) {
  size_t mask = slots_.size() - 1;
  size_t hole = slot;
  for (size_t i = (slot + 1) & mask; slots_[i].entry_plus_one != 0; i = (i + 1) & mask) {
    size_t home = slots_[i].hash & mask;
    // Move slot i into the hole when its home position is not in (hole, i].
    bool home_in_range = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (!home_in_range) {
      slots_[hole] = slots_[i];
      hole = i;
    }
  }
  slots_[hole] = Slot{0, 0};
}

ObjectTracker::Observation ObjectTracker::Observe(std::string_view uid, std::string_view ns, std::string_view name,
                                                  std::string_view rv) {
  uint64_t key = ResourceVersionKey(rv);
  // Longer strings cannot come from a valid object; truncating keeps the entry small.
  uid = uid.substr(0, 0xffff);
  ns = ns.substr(0, 0xffff);
  name = name.substr(0, 0xffff);
  uint32_t hash = HashUid(uid);
  size_t slot = FindSlot(uid, hash);
  if (slots_[slot].entry_plus_one == 0) {
    if (NeedsGrowth()) {
      Grow();
      slot = FindSlot(uid, hash);
    }
    InsertAt(slot, hash, uid, ns, name, key);
    return Observation::kNew;
  }
  Entry& e = entries_[slots_[slot].entry_plus_one - 1];
  e.epoch = epoch_;
  bool newer = IsNumericKey(key) && IsNumericKey(e.rv_key) ? key > e.rv_key : key != e.rv_key;
  if (!newer) return Observation::kStale;
  e.rv_key = key;
  return Observation::kNewer;
}

bool ObjectTracker::Contains(std::string_view uid) const {
  return slots_[FindSlot(uid, HashUid(uid))].entry_plus_one != 0;
}

bool ObjectTracker::Lookup(std::string_view uid, uint64_t* rv_key, std::string* ns, std::string* name) const {
  const Slot& s = slots_[FindSlot(uid, HashUid(uid))];
  if (s.entry_plus_one == 0) return false;
  const Entry& e = entries_[s.entry_plus_one - 1];
  if (rv_key != nullptr) *rv_key = e.rv_key;
  if (ns != nullptr) ns->assign(Namespace(e));
  if (name != nullptr) name->assign(Name(e));
  return true;
}

bool ObjectTracker::Forget(std::string_view uid) {
  size_t slot = FindSlot(uid, HashUid(uid));
  if (slots_[slot].entry_plus_one == 0) return false;
  uint32_t index = slots_[slot].entry_plus_one - 1;
  Entry& e = entries_[index];
  garbage_bytes_ += size_t{e.uid_len} + e.ns_len + e.name_len;
  e.text_off = kFree;
  free_entries_.push_back(index);
  RemoveSlot(slot);
  --live_;
  MaybeCompactArena();
  return true;
}

void ObjectTracker::MaybeCompactArena() {
  if (garbage_bytes_ < (1u << 16) || garbage_bytes_ * 2 < arena_.size()) return;
  std::string packed;
  packed.reserve(arena_.size() - garbage_bytes_);
  for (Entry& e : entries_) {
    if (e.text_off == kFree) continue;
    uint32_t off = static_cast<uint32_t>(packed.size());
    packed.append(arena_, e.text_off, size_t{e.uid_len} + e.ns_len + e.name_len);
    e.text_off = off;
  }
  arena_.swap(packed);
  garbage_bytes_ = 0;
}

void ObjectTracker::BeginSweep() {
  ++epoch_;
  sweeping_ = true;
}

std::vector<ObjectTracker::Gone> ObjectTracker::EndSweep() {
  std::vector<Gone> gone;
  for (const Entry& e : entries_) {
    if (e.text_off == kFree || e.epoch == epoch_) continue;
    gone.push_back(Gone{std::string(Uid(e)), std::string(Namespace(e)), std::string(Name(e))});
  }
  for (const Gone& g : gone) Forget(g.uid);
  sweeping_ = false;
  // A list's size is the server's estimate (Kubernetes promises no exact remainingItemCount):
  // what a reserve from it held beyond the objects the list brought goes back.
  if (reserved_in_sweep_) ReleaseUnusedReserve();
  reserved_in_sweep_ = false;
  return gone;
}

void ObjectTracker::AdvanceResumeRv(std::string_view rv) {
  if (rv.empty()) return;
  uint64_t key = ResourceVersionKey(rv);
  uint64_t current = resume_rv_.empty() ? 0 : ResourceVersionKey(resume_rv_);
  if (resume_rv_.empty() || !IsNumericKey(key) || !IsNumericKey(current) || key > current) resume_rv_.assign(rv);
}

void ObjectTracker::ApplyEmitted(const CollectedEvent& event) {
  if (event.type == EventType::kDeleted) {
    Forget(event.uid);
  } else {
    Observe(event.uid, event.namespace_, event.name, event.resource_version);
  }
  if (event.origin == EventOrigin::kWatch) AdvanceResumeRv(event.resource_version);
}

size_t ObjectTracker::MemoryBytes() const {
  return entries_.capacity() * sizeof(Entry) + free_entries_.capacity() * sizeof(uint32_t) +
         slots_.capacity() * sizeof(Slot) + arena_.capacity() + resume_rv_.capacity();
}

std::string ObjectTracker::ExportCheckpoint() const {
  std::string out(kCheckpointMagic);
  PutVarint64(&out, resume_rv_.size());
  out.append(resume_rv_);
  PutVarint64(&out, live_);
  for (const Entry& e : entries_) {
    if (e.text_off == kFree) continue;
    PutVarint64(&out, e.rv_key);
    PutVarint64(&out, e.uid_len);
    PutVarint64(&out, e.ns_len);
    PutVarint64(&out, e.name_len);
    out.append(arena_, e.text_off, size_t{e.uid_len} + e.ns_len + e.name_len);
  }
  PutFixed64LE(&out, Fnv1a(out));
  return out;
}

Result<ObjectTracker> ObjectTracker::RestoreCheckpoint(std::string_view data) {
  if (data.size() < kCheckpointMagic.size() + 8 || data.substr(0, kCheckpointMagic.size()) != kCheckpointMagic) {
    return Status::Corruption("tracker checkpoint: bad magic");
  }
  std::string_view body = data.substr(0, data.size() - 8);
  if (LoadLE64(data.data() + body.size()) != Fnv1a(body)) {
    return Status::Corruption("tracker checkpoint: checksum mismatch");
  }
  ByteReader reader(body.substr(kCheckpointMagic.size()));
  ObjectTracker tracker;
  uint64_t rv_len = reader.Varint();
  tracker.resume_rv_.assign(reader.Bytes(rv_len));
  uint64_t count = reader.Varint();
  for (uint64_t i = 0; i < count && reader.ok(); ++i) {
    uint64_t key = reader.Varint();
    uint64_t uid_len = reader.Varint(), ns_len = reader.Varint(), name_len = reader.Varint();
    if (uid_len > 0xffff || ns_len > 0xffff || name_len > 0xffff) reader.Fail();
    std::string_view uid = reader.Bytes(uid_len);
    std::string_view ns = reader.Bytes(ns_len);
    std::string_view name = reader.Bytes(name_len);
    if (!reader.ok()) break;
    if (tracker.Contains(uid)) return Status::Corruption("tracker checkpoint: uid " + std::string(uid) + " twice");
    tracker.Insert(uid, ns, name, key);
  }
  if (!reader.ok() || reader.remaining() != 0)
    return Status::Corruption("tracker checkpoint: truncated or trailing bytes");
  return tracker;
}

}  // namespace kl::collector
