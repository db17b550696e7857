// ObjectTracker: what the collector remembers about one (cluster, resource)
// watch, and nothing more: for every live object its uid, the newest
// resourceVersion emitted, and the namespace and name needed to describe its
// deletion, plus the resourceVersion to resume watching from.
//
// client-go informers cache whole objects (~13 KB per pod); this keeps about
// a hundred bytes: entries of fixed size in one vector, their strings packed
// in one arena, and an open-addressing index of 8-byte slots.
//
// The state can be exported as a compact checkpoint and restored, or rebuilt
// by folding the events the collector emitted earlier (ApplyEmitted), which
// is how a restarted collector avoids emitting a (uid, resourceVersion) twice.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collector/event.h"
#include "common/result.h"

namespace kl::collector {

// resourceVersion as a comparable key: the number for numeric versions (what
// etcd-backed servers send); a hash with the top bit set otherwise, which
// supports equality only.
uint64_t ResourceVersionKey(std::string_view rv);
inline bool IsNumericKey(uint64_t key) { return (key >> 63) == 0; }

class ObjectTracker {
 public:
  enum class Observation : uint8_t {
    kNew,    // not tracked before: emit ADDED
    kNewer,  // tracked at another (older) version: emit MODIFIED
    kStale,  // tracked at this or a newer version: emit nothing
  };

  struct Gone {
    std::string uid;
    std::string namespace_;
    std::string name;
  };

  ObjectTracker();

  // Records that the object is at `rv`, unless a version at least as new is
  // tracked. During a sweep it also marks the object as seen.
  Observation Observe(std::string_view uid, std::string_view ns, std::string_view name, std::string_view rv);
  // A hint that `uid` is looked up soon: starts loading its index slot (a
  // list page observes hundreds of objects whose slots are random reads in
  // megabytes; asking a few items ahead hides those cache misses).
  void Prefetch(std::string_view uid) const;
  // Makes room for `objects` entries whose uid, namespace and name take `text_bytes` in all
  // (each capped: the figures come from the server), so that a list announcing its size fills
  // the tracker without regrowing its entries, index and arena, each doubling of which copied
  // them into fresh pages. Never shrinks during a sweep; the EndSweep after a Reserve gives
  // back what the list did not fill (the count is the server's estimate).
  void Reserve(size_t objects, size_t text_bytes);
  static constexpr size_t kMaxReservedObjects = size_t{1} << 20;
  static constexpr size_t kMaxReservedTextBytes = size_t{64} << 20;
  size_t arena_bytes() const { return arena_.size(); }  // strings held, forgotten ones too
  // Forgets `uid`; false when it was not tracked.
  bool Forget(std::string_view uid);
  bool Contains(std::string_view uid) const;
  // The version key tracked for uid, or nullopt-like: returns false when absent.
  bool Lookup(std::string_view uid, uint64_t* rv_key, std::string* ns = nullptr, std::string* name = nullptr) const;

  // Relist support: BeginSweep, then Observe every listed object, then
  // EndSweep returns (and forgets) every object the list did not contain.
  void BeginSweep();
  std::vector<Gone> EndSweep();

  // Where the watch resumes: the newest resourceVersion known to be covered.
  const std::string& resume_rv() const { return resume_rv_; }
  void set_resume_rv(std::string rv) { resume_rv_ = std::move(rv); }
  // Advances resume_rv to `rv` when that is newer (numerically).
  void AdvanceResumeRv(std::string_view rv);

  // Replays an event this watch emitted before (restart recovery). Only
  // watch-origin events advance resume_rv: list and inferred events can be
  // cut off by a crash midway through a relist, so they prove nothing about
  // earlier deletions.
  void ApplyEmitted(const CollectedEvent& event);

  std::string ExportCheckpoint() const;
  static Result<ObjectTracker> RestoreCheckpoint(std::string_view data);

  size_t size() const { return live_; }
  // Heap bytes held (entries, index, arena), for the memory budget.
  size_t MemoryBytes() const;
  template <typename Fn>
  void ForEach(Fn&& fn) const {  // fn(uid, ns, name, rv_key)
    for (const Entry& e : entries_) {
      if (e.text_off == kFree) continue;
      fn(Uid(e), Namespace(e), Name(e), e.rv_key);
    }
  }

 private:
  static constexpr uint32_t kFree = 0xffffffffu;
  struct Entry {
    uint64_t rv_key;
    uint32_t text_off;  // uid, namespace, name packed in arena_; kFree for a free entry
    uint16_t uid_len;
    uint16_t ns_len;
    uint16_t name_len;
    uint16_t epoch;  // sweep generation that last saw it
  };
  struct Slot {
    uint32_t entry_plus_one;  // 0: empty
    uint32_t hash;
  };

  std::string_view Uid(const Entry& e) const { return {arena_.data() + e.text_off, e.uid_len}; }
  std::string_view Namespace(const Entry& e) const { return {arena_.data() + e.text_off + e.uid_len, e.ns_len}; }
  std::string_view Name(const Entry& e) const {
    return {arena_.data() + e.text_off + e.uid_len + e.ns_len, e.name_len};
  }
  // Index slot holding uid, or the empty slot where it would go.
  size_t FindSlot(std::string_view uid, uint32_t hash) const;
  void Insert(std::string_view uid, std::string_view ns, std::string_view name, uint64_t rv_key);
  // Insert into the empty `slot` FindSlot(uid, hash) returned (no growth needed).
  void InsertAt(size_t slot, uint32_t hash, std::string_view uid, std::string_view ns, std::string_view name,
                uint64_t rv_key);
  // The index is kept at most 70 % full: probes stay short.
  static bool Overfull(size_t objects, size_t slot_count) { return objects * 10 > slot_count * 7; }
  bool NeedsGrowth() const { return Overfull(live_ + 1, slots_.size()); }
  void RemoveSlot(size_t slot);
  void Grow() { Rehash(slots_.size() * 2); }
  void Rehash(size_t slot_count);  // a power of two holding every live slot
  void MaybeCompactArena();
  void ReleaseUnusedReserve();
  uint32_t AppendText(std::string_view uid, std::string_view ns, std::string_view name);

  std::vector<Entry> entries_;
  std::vector<uint32_t> free_entries_;
  std::vector<Slot> slots_;  // power-of-two size, linear probing
  std::string arena_;
  size_t garbage_bytes_ = 0;
  size_t live_ = 0;
  uint16_t epoch_ = 0;
  bool sweeping_ = false;
  bool reserved_in_sweep_ = false;  // Reserve ran since BeginSweep: EndSweep trims what it over-reserved
  std::string resume_rv_;
};

}  // namespace kl::collector
