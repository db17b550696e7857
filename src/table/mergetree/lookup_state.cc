#include "table/mergetree/lookup_state.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "common/coding.h"
#include "format/compression.h"
#include "table/data/binary_row.h"

namespace kl::table {

using format::Column;
using format::PhysicalKind;
using format::Row;
using format::RowKind;

namespace {

// Large enough for LZ4 to find the repetition between records of one table (a ratio of ~2.4
// on an object table's rows), small enough that decompressing one for a look-up stays in
// the microseconds.
constexpr size_t kBlockBytes = 16 << 10;
// Below this the state is not worth rewriting.
constexpr size_t kMinShrinkBytes = 1 << 20;
// Blocks kept plain (128 KB): all of a small state's, a few of a large one's.
constexpr size_t kPlainBlocks = 8;

// The index grows past three quarters full (short probes), and a rebuild leaves it at most
// half full.
constexpr size_t kMinSlots = 16;
// Key chunks start small (a state of a few keys stays small) and double up to 1 MB.
constexpr size_t kFirstKeyChunk = 1 << 10;
constexpr size_t kMaxKeyChunk = 1 << 20;

size_t SlotsFor(size_t keys) {
  size_t n = kMinSlots;
  while (n < keys * 2) n *= 2;
  return n;
}

}  // namespace

LookupState::LookupState(format::RowType type, std::vector<int> retraction_columns, std::vector<int> key_columns)
    : type_(std::move(type)), got_(type_), merged_(type_) {
  for (const auto& f : type_.fields()) kinds_.push_back(f.type.physical());
  keep_in_retraction_.assign(kinds_.size(), retraction_columns.empty() ? 1 : 0);
  for (int c : retraction_columns) {
    if (c >= 0 && static_cast<size_t>(c) < kinds_.size()) keep_in_retraction_[static_cast<size_t>(c)] = 1;
  }
  // Integers and strings come back from a BinaryRow exactly as they went in; other kinds
  // (and keys naming a column twice) keep every column in the records.
  in_key_.assign(kinds_.size(), 0);
  bool drop = !key_columns.empty();
  for (int c : key_columns) {
    const bool ok = c >= 0 && static_cast<size_t>(c) < kinds_.size() && !in_key_[static_cast<size_t>(c)] &&
                    (kinds_[static_cast<size_t>(c)] == PhysicalKind::kInt ||
                     kinds_[static_cast<size_t>(c)] == PhysicalKind::kBytes);
    if (!ok) {
      drop = false;
      break;
    }
    in_key_[static_cast<size_t>(c)] = 1;
    key_types_.push_back(type_.fields()[static_cast<size_t>(c)].type);
  }
  if (drop) {
    key_columns_ = std::move(key_columns);
  } else {
    in_key_.assign(kinds_.size(), 0);
    key_types_.clear();
  }
}

void LookupState::Encode(const KvBatch& batch, size_t row, std::string* out) const {
  const RowKind kind = batch.kinds[row];
  const bool retraction = format::IsRetract(kind);
  const size_t ncols = kinds_.size();
  const size_t bitmap_bytes = (ncols + 7) / 8;
  auto stored = [&](const Column& col, size_t c) {
    return !in_key_[c] && !col.IsNull(row) && !(retraction && !keep_in_retraction_[c]);
  };
  // The record's most bytes first: its values are then stored through a pointer, not
  // appended one by one (the appends were about half of encoding a record).
  size_t bound = kMaxVarint64Bytes + 1 + bitmap_bytes;
  std::vector<std::string> nested;  // nested values' binary forms, in column order
  for (size_t c = 0; c < ncols; ++c) {
    const Column& col = batch.values.column(c);
    if (!stored(col, c)) continue;
    switch (kinds_[c]) {
      case PhysicalKind::kInt: bound += kMaxVarint64Bytes; break;
      case PhysicalKind::kDouble: bound += 8; break;
      case PhysicalKind::kBytes: bound += kMaxVarint64Bytes + col.GetBytes(row).size(); break;
      case PhysicalKind::kDecimal: bound += sizeof(format::Int128); break;
      case PhysicalKind::kTimestamp: bound += 2 * kMaxVarint64Bytes; break;
      case PhysicalKind::kNested:
        nested.push_back(SerializeBinaryRow(Row{col.GetNested(row)}, {type_.fields()[c].type}));
        bound += kMaxVarint64Bytes + nested.back().size();
        break;
    }
  }
  const size_t start = out->size();
  out->resize(start + bound);  // zero-filled: the null bitmap starts clear
  char* p = out->data() + start;
  p = EncodeVarint64(p, static_cast<uint64_t>(batch.seq[row]));
  *p++ = static_cast<char>(kind);
  char* bitmap = p;
  p += bitmap_bytes;
  size_t next_nested = 0;
  for (size_t c = 0; c < ncols; ++c) {
    if (in_key_[c]) continue;  // read back from the key
    const Column& col = batch.values.column(c);
    if (!stored(col, c)) {
      bitmap[c / 8] = static_cast<char>(bitmap[c / 8] | (1 << (c % 8)));
      continue;
    }
    switch (kinds_[c]) {
      case PhysicalKind::kInt: p = EncodeVarint64(p, ZigZagEncode(col.GetInt(row))); break;
      case PhysicalKind::kDouble: {
        double v = col.GetDouble(row);
        std::memcpy(p, &v, 8);
        p += 8;
        break;
      }
      case PhysicalKind::kBytes: {
        std::string_view v = col.GetBytes(row);
        p = EncodeVarint64(p, v.size());
        CopyShortValue(p, v.data(), v.size());
        p += v.size();
        break;
      }
      case PhysicalKind::kDecimal: {
        format::Int128 v = col.GetDecimal(row);
        std::memcpy(p, &v, sizeof(v));
        p += sizeof(v);
        break;
      }
      case PhysicalKind::kTimestamp: {
        format::Timestamp t = col.GetTimestamp(row);
        p = EncodeVarint64(p, ZigZagEncode(t.millis));
        p = EncodeVarint64(p, ZigZagEncode(t.nanos));
        break;
      }
      case PhysicalKind::kNested: {
        // Nested values are rare in primary-key tables; Paimon's binary form round-trips them.
        const std::string& bytes = nested[next_nested++];
        p = EncodeVarint64(p, bytes.size());
        std::memcpy(p, bytes.data(), bytes.size());
        p += bytes.size();
        break;
      }
    }
  }
  out->resize(static_cast<size_t>(p - out->data()));
}

Status LookupState::Decode(std::string_view record, const std::string& key, KvBatch* out) const {
  // Records are the state's own, written by Encode above, so a failed bound means the memory
  // holding them was damaged: an error (damage that still decodes is not caught).
  const auto* p = reinterpret_cast<const uint8_t*>(record.data());
  const auto* end = p + record.size();
  const Status bad = Status::Corruption("lookup state: a stored record does not decode");
  uint64_t seq = 0;
  if (!GetVarint64(&p, end, &seq) || p == end || *p > static_cast<uint8_t>(RowKind::kDelete)) return bad;
  const RowKind kind = static_cast<RowKind>(*p++);
  const size_t ncols = kinds_.size();
  const uint8_t* bitmap = p;
  if (static_cast<size_t>(end - p) < (ncols + 7) / 8) return bad;
  p += (ncols + 7) / 8;
  auto has = [&](size_t n) { return static_cast<size_t>(end - p) >= n; };
  format::Row key_values;
  if (!key_columns_.empty()) {
    std::string serialized(4, '\0');  // the arity prefix DeserializeBinaryRow reads
    const auto arity = static_cast<uint32_t>(key_columns_.size());
    for (int i = 0; i < 4; ++i) serialized[static_cast<size_t>(i)] = static_cast<char>(arity >> (24 - 8 * i));
    serialized += key;
    auto row = DeserializeBinaryRow(serialized, key_types_);
    if (!row.ok() || row->size() != key_columns_.size())
      return Status::Corruption("lookup state: a key does not decode as the table's key columns");
    key_values = std::move(*row);
    for (size_t i = 0; i < key_columns_.size(); ++i)
      out->values.mutable_column(static_cast<size_t>(key_columns_[i])).Append(key_values[i]);
  }
  for (size_t c = 0; c < ncols; ++c) {
    if (in_key_[c]) continue;
    Column& col = out->values.mutable_column(c);
    if ((bitmap[c / 8] >> (c % 8)) & 1) {
      col.AppendNull();
      continue;
    }
    switch (kinds_[c]) {
      case PhysicalKind::kInt: {
        uint64_t v = 0;
        if (!GetVarint64(&p, end, &v)) return bad;
        col.AppendInt(ZigZagDecode(v));
        break;
      }
      case PhysicalKind::kDouble: {
        if (!has(8)) return bad;
        double v = 0;
        std::memcpy(&v, p, 8);
        p += 8;
        col.AppendDouble(v);
        break;
      }
      case PhysicalKind::kBytes: {
        uint64_t n = 0;
        if (!GetVarint64(&p, end, &n) || !has(n)) return bad;
        col.AppendBytes(std::string_view(reinterpret_cast<const char*>(p), n));
        p += n;
        break;
      }
      case PhysicalKind::kDecimal: {
        format::Int128 v = 0;
        if (!has(sizeof(v))) return bad;
        std::memcpy(&v, p, sizeof(v));
        p += sizeof(v);
        col.AppendDecimal(v);
        break;
      }
      case PhysicalKind::kTimestamp: {
        uint64_t millis = 0, nanos = 0;
        if (!GetVarint64(&p, end, &millis) || !GetVarint64(&p, end, &nanos)) return bad;
        col.AppendTimestamp(format::Timestamp{ZigZagDecode(millis), static_cast<int32_t>(ZigZagDecode(nanos))});
        break;
      }
      case PhysicalKind::kNested: {
        uint64_t n = 0;
        if (!GetVarint64(&p, end, &n) || !has(n)) return bad;
        auto row =
            DeserializeBinaryRow(std::string_view(reinterpret_cast<const char*>(p), n), {type_.fields()[c].type});
        p += n;
        if (!row.ok() || row->size() != 1) return bad;
        col.Append((*row)[0]);
        break;
      }
    }
  }
  if (p != end) return bad;
  out->values.SetNumRows(out->values.num_rows() + 1);
  out->seq.push_back(static_cast<int64_t>(seq));
  out->kinds.push_back(kind);
  return Status::OK();
}

void LookupState::SealBlock() {
  if (filling_.empty()) return;
  Block b;
  b.plain_size = static_cast<uint32_t>(filling_.size());
  // Incompressible data (or a failing compressor) is kept plain: plain_size == compressed size.
  // Compressed into a reused buffer, then copied at its size: one allocation a block.
  std::string_view compressed;
  if (!format::Lz4CompressInto(filling_, &compress_buffer_, &compressed).ok() || compressed.size() >= filling_.size()) {
    compressed = filling_;
  }
  b.compressed.assign(compressed.data(), compressed.size());
  blocks_.push_back(std::move(b));
  // The block's plain bytes stay among the plain blocks; the slot they leave is the next filling.
  PlainBlock* slot = EvictForBlock(static_cast<uint32_t>(blocks_.size() - 1));
  slot->plain.swap(filling_);
  filling_.clear();
}

LookupState::PlainBlock* LookupState::EvictForBlock(uint32_t block) {
  PlainBlock* slot = nullptr;
  if (plain_blocks_.size() < kPlainBlocks) {
    slot = &plain_blocks_.emplace_back();
  } else {
    slot = &plain_blocks_[0];
    for (auto& p : plain_blocks_) {
      if (p.last_use < slot->last_use) slot = &p;
    }
  }
  slot->block = block;
  slot->last_use = ++use_clock_;
  return slot;
}

void LookupState::Store(const std::string& key, const KvBatch& batch, size_t row) {
  // The record is encoded straight onto the block being filled; one that overflows a
  // non-empty block moves to the next.
  if (filling_.capacity() < kBlockBytes) filling_.reserve(kBlockBytes);
  const size_t start = filling_.size();
  Encode(batch, row, &filling_);
  const size_t size = filling_.size() - start;
  if (start > 0 && filling_.size() > kBlockBytes) {
    scratch_.assign(filling_, start, size);
    filling_.resize(start);
    SealBlock();
    if (filling_.capacity() < kBlockBytes) filling_.reserve(kBlockBytes);
    filling_ += scratch_;
  }
  Location loc{static_cast<uint32_t>(blocks_.size()), static_cast<uint32_t>(filling_.size() - size),
               static_cast<uint32_t>(size)};
  total_bytes_ += size;
  if ((live_keys_ + 1) * 4 > slots_.size() * 3) Rebuild(std::max(kMinSlots, slots_.size() * 2), false);
  const uint32_t tag = TagOf(key);
  Slot& slot = slots_[SlotOf(key, tag)];
  if (slot.key_chunk == kNoKey) {
    slot.tag = tag;
    AddKey(key, &slot);
    ++live_keys_;
  } else {
    Forget(slot.loc);
  }
  slot.loc = loc;
  // A record larger than a block gets one of its own.
  if (filling_.size() >= kBlockBytes) SealBlock();
}

Status LookupState::Decompress(const Block& b, size_t index, std::string* plain) {
  plain->resize(b.plain_size);
  if (b.compressed.size() == b.plain_size) {
    std::memcpy(plain->data(), b.compressed.data(), b.plain_size);
    return Status::OK();
  }
  Status s = format::Lz4DecompressExact(b.compressed, plain->data(), b.plain_size);
  if (!s.ok()) return Status::Corruption("lookup state: block " + std::to_string(index) + ": " + s.message());
  return Status::OK();
}

Status LookupState::RecordBytes(const Location& loc, std::string_view* record) {
  const std::string* plain = nullptr;
  if (loc.block == blocks_.size()) {
    plain = &filling_;
  } else {
    for (auto& p : plain_blocks_) {
      if (p.block == loc.block) {
        p.last_use = ++use_clock_;
        plain = &p.plain;
        break;
      }
    }
  }
  if (plain == nullptr) {
    ++block_reads_;
    PlainBlock* slot = EvictForBlock(loc.block);
    Status s = Decompress(blocks_[loc.block], loc.block, &slot->plain);
    if (!s.ok()) {
      slot->block = UINT32_MAX;
      return s;
    }
    plain = &slot->plain;
  }
  if (static_cast<size_t>(loc.offset) + loc.size > plain->size())
    return Status::Corruption("lookup state: a record lies outside its block");
  *record = std::string_view(*plain).substr(loc.offset, loc.size);
  return Status::OK();
}

void LookupState::DamageBlockForTest(size_t block) {
  std::string& bytes = blocks_[block].compressed;
  for (size_t i = 0; i < bytes.size(); i += 3) bytes[i] = static_cast<char>(bytes[i] ^ 0xa5);
  for (auto& p : plain_blocks_) {
    if (p.block == block) p.block = UINT32_MAX;
  }
}

uint32_t LookupState::TagOf(std::string_view key) {
  const uint64_t h = std::hash<std::string_view>{}(key);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

std::string_view LookupState::KeyIn(const std::vector<std::string>& chunks, const Slot& slot) {
  const std::string& chunk = chunks[slot.key_chunk];
  const auto* p = reinterpret_cast<const uint8_t*>(chunk.data()) + slot.key_offset;
  const auto* end = reinterpret_cast<const uint8_t*>(chunk.data()) + chunk.size();
  uint64_t n = 0;
  (void)GetVarint64(&p, end, &n);
  return std::string_view(reinterpret_cast<const char*>(p), std::min<uint64_t>(n, static_cast<uint64_t>(end - p)));
}

size_t LookupState::SlotOf(std::string_view key, uint32_t tag) const {
  // Never full (at most three quarters), so a probe always reaches an empty slot.
  const size_t mask = slots_.size() - 1;
  for (size_t i = tag & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.key_chunk == kNoKey || (s.tag == tag && KeyIn(key_chunks_, s) == key)) return i;
  }
}

void LookupState::Prefetch(std::string_view key) const {
  if (slots_.empty()) return;
  __builtin_prefetch(&slots_[TagOf(key) & (slots_.size() - 1)]);
}

LookupState::Slot* LookupState::Find(std::string_view key) {
  if (slots_.empty()) return nullptr;
  Slot& s = slots_[SlotOf(key, TagOf(key))];
  return s.key_chunk == kNoKey ? nullptr : &s;
}

void LookupState::AddKey(std::string_view key, Slot* slot) {
  std::string prefix;
  PutVarint64(&prefix, key.size());
  const size_t need = prefix.size() + key.size();
  if (key_chunks_.empty() || key_chunks_.back().capacity() - key_chunks_.back().size() < need) {
    size_t cap = key_chunks_.empty() ? kFirstKeyChunk : std::min(kMaxKeyChunk, key_chunks_.back().capacity() * 2);
    key_chunks_.emplace_back().reserve(std::max(cap, need));
  }
  std::string& chunk = key_chunks_.back();
  slot->key_chunk = static_cast<uint32_t>(key_chunks_.size() - 1);
  slot->key_offset = static_cast<uint32_t>(chunk.size());
  chunk += prefix;  // within the reserved capacity: earlier keys do not move
  chunk += key;
}

void LookupState::Rebuild(size_t slot_count, bool compact_keys) {
  std::vector<Slot> old = std::move(slots_);
  std::vector<std::string> old_keys;
  if (compact_keys) {
    old_keys = std::move(key_chunks_);
    key_chunks_.clear();
  }
  slots_.assign(slot_count, Slot{});
  const size_t mask = slot_count - 1;
  for (const Slot& s : old) {
    if (s.key_chunk == kNoKey) continue;
    size_t i = s.tag & mask;
    while (slots_[i].key_chunk != kNoKey) i = (i + 1) & mask;
    slots_[i] = s;
    if (compact_keys) AddKey(KeyIn(old_keys, s), &slots_[i]);
  }
}

Result<std::optional<KvRef>> LookupState::Get(const std::string& key) {
  KL_RETURN_IF_ERROR(broken_);
  Slot* slot = Find(key);
  if (slot == nullptr) return std::optional<KvRef>();
  got_.Clear();
  std::string_view record;
  KL_RETURN_IF_ERROR(RecordBytes(slot->loc, &record));
  KL_RETURN_IF_ERROR(Decode(record, key, &got_));
  return std::optional<KvRef>(KvRef{&got_, 0});
}

KvRef LookupState::Put(const std::string& key, const KvBatch& batch, size_t row) {
  Store(key, batch, row);
  return KvRef{&batch, row};
}

KvRef LookupState::PutMerged(const std::string& key, const Row& values, int64_t seq, RowKind kind) {
  merged_.Clear();
  merged_.AppendRow(values, seq, kind);
  Store(key, merged_, 0);
  return KvRef{&merged_, 0};
}

void LookupState::Erase(const std::string& key) {
  Slot* slot = Find(key);
  if (slot == nullptr) return;
  Forget(slot->loc);
  --live_keys_;
  // Backward-shift deletion: later slots of the probe move up, so no probe crosses a hole.
  // The key's bytes stay in their chunk until the next rewrite.
  const size_t mask = slots_.size() - 1;
  size_t hole = static_cast<size_t>(slot - slots_.data());
  for (size_t j = (hole + 1) & mask; slots_[j].key_chunk != kNoKey; j = (j + 1) & mask) {
    const size_t home = slots_[j].tag & mask;
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{};
}

Status LookupState::MaybeShrink() {
  KL_RETURN_IF_ERROR(broken_);
  if (total_bytes_ < kMinShrinkBytes || dead_bytes_ * 2 < total_bytes_) return Status::OK();
  // Live records in storage order, so each old block is decompressed once.
  std::vector<std::pair<Location, Location*>> live;
  live.reserve(live_keys_);
  for (Slot& s : slots_) {
    if (s.key_chunk != kNoKey) live.emplace_back(s.loc, &s.loc);
  }
  std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) {
    return a.first.block != b.first.block ? a.first.block < b.first.block : a.first.offset < b.first.offset;
  });
  std::vector<Block> old_blocks = std::move(blocks_);
  std::string old_filling = std::move(filling_);
  blocks_.clear();
  filling_.clear();
  total_bytes_ = 0;
  dead_bytes_ = 0;
  plain_blocks_.clear();
  std::string plain;
  uint32_t plain_block = UINT32_MAX;
  for (auto& [loc, target] : live) {
    std::string_view record;
    if (loc.block == old_blocks.size()) {
      record = std::string_view(old_filling).substr(loc.offset, loc.size);
    } else {
      if (loc.block != plain_block) {
        Status s = Decompress(old_blocks[loc.block], loc.block, &plain);
        if (!s.ok()) {
          // Half the records have moved and the rest are lost: the state can no longer answer.
          broken_ = s;
          return s;
        }
        plain_block = loc.block;
        old_blocks[loc.block] = Block();  // its memory goes as soon as it has been read
      }
      record = std::string_view(plain).substr(loc.offset, loc.size);
    }
    if (!filling_.empty() && filling_.size() + record.size() > kBlockBytes) SealBlock();
    *target = Location{static_cast<uint32_t>(blocks_.size()), static_cast<uint32_t>(filling_.size()),
                       static_cast<uint32_t>(record.size())};
    filling_ += record;
    total_bytes_ += record.size();
    if (filling_.size() >= kBlockBytes) SealBlock();
  }
  blocks_.shrink_to_fit();
  // Erased keys went with their records: the index and the keys are rewritten too.
  Rebuild(SlotsFor(live_keys_), true);
  return Status::OK();
}

size_t LookupState::MemoryBytes() const {
  size_t n = filling_.capacity() + scratch_.capacity() + compress_buffer_.capacity();
  for (const auto& p : plain_blocks_) n += p.plain.capacity();
  n += blocks_.capacity() * sizeof(Block);
  for (const auto& b : blocks_) n += b.compressed.capacity();
  n += slots_.capacity() * sizeof(Slot);
  for (const auto& c : key_chunks_) n += c.capacity();
  return n;
}

}  // namespace kl::table
