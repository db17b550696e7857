// Every key's current stored record in one bucket, for the lookup changelog producer: the
// record a flush merges a key's new records with, and whose view is the changelog's "before".
//
// Memory is what limits it (a bucket of a warehouse's object table holds hundreds of
// thousands of keys, each record up to a few KB), so records are kept serialized — null
// bits, varints, length-prefixed bytes — in blocks of ~16 KB compressed with LZ4 (each block
// once, when it is full); the block being filled and a few recently read or sealed ones stay
// plain. LZ4 rather than zstd: a load stores every record once and an update reads a block
// back per key, and LZ4 does both at about twice zstd's fastest level, for blocks ~1.5 times
// as large (an object table's rows: ratio ~2.4 against ~3.7). A record is decoded back
// when its key is looked up; a block or record that fails to decode is an error (Corruption).
// Blocks carry no checksum: damage that still decodes (a changed literal byte) goes unseen.
// The index is a flat hash table whose keys sit in arena chunks
// (~40 B a key besides the key's bytes, against ~180 B for a node-based map). A
// retraction of a table whose merge only picks records needs no values besides the key and
// the sequence fields, and keeps only those. Key columns (of integer or string types) are
// not stored in records at all: a look-up reads them back from the key it was given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "format/datum.h"
#include "table/data/kv.h"

namespace kl::table {

class LookupState {
 public:
  // `retraction_columns`: the columns a stored retraction keeps (the others read as null);
  // empty keeps every column. `key_columns`: the columns, in order, whose BinaryRow every key
  // given to Put, PutMerged and Get is; when all of them are of integer or string types,
  // records leave them out and look-ups decode them from the key. Empty: keys are opaque.
  explicit LookupState(format::RowType type, std::vector<int> retraction_columns = {},
                       std::vector<int> key_columns = {});

  // The key's current record, or nullopt; Corruption when its block or record does not
  // decode. The reference stays valid until the next Get.
  Result<std::optional<KvRef>> Get(const std::string& key);
  // A hint that `key` is looked up (or stored) soon: its home slot is fetched into the cache.
  // Keys of a flush come in key order while their slots are spread by hash, so a look-up that
  // waits for its slot's memory at every key (most of a large state's look-up time) can have
  // it fetched a few keys ahead instead.
  void Prefetch(std::string_view key) const;
  // Stores record `row` of `batch` as the key's and returns a reference to the record as it
  // now reads (into `batch` itself, or into the state until the next PutMerged).
  KvRef Put(const std::string& key, const KvBatch& batch, size_t row);
  KvRef PutMerged(const std::string& key, const format::Row& values, int64_t seq, format::RowKind kind);
  // Forgets the key, and its record with it.
  void Erase(const std::string& key);
  size_t size() const { return live_keys_; }
  // Rewrites the blocks once replaced and erased records outweigh live ones. Invalidates
  // every KvRef into the state. Corruption when a block does not decompress; the state then
  // answers every later Get with that error (drop it and build it anew).
  Status MaybeShrink();

  // Bytes the state holds on the heap (blocks, the block being filled, the index), estimated
  // for the index's nodes.
  size_t MemoryBytes() const;
  // Compressed blocks decompressed for look-ups so far (those not among the plain blocks).
  size_t block_reads() const { return block_reads_; }
  // Serialized bytes of the live records, before compression.
  size_t live_record_bytes() const { return total_bytes_ - dead_bytes_; }
  // Sealed blocks so far.
  size_t block_count() const { return blocks_.size(); }

  // For tests: damages sealed block `block` as a memory error would (and drops its plain copy).
  void DamageBlockForTest(size_t block);

 private:
  struct Location {
    uint32_t block = 0;  // == blocks_.size(): the block being filled
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  struct Block {
    std::string compressed;
    uint32_t plain_size = 0;
  };

  void Store(const std::string& key, const KvBatch& batch, size_t row);
  // Appends the record's serialized form to `out`.
  void Encode(const KvBatch& batch, size_t row, std::string* out) const;
  // The plain bytes of a record; decompresses its block unless it is among the plain ones.
  Status RecordBytes(const Location& loc, std::string_view* record);
  // Decompresses `b` (block number `index`, for the error) into `plain`.
  static Status Decompress(const Block& b, size_t index, std::string* plain);
  // Appends the record of `key` to `out`; Corruption when it does not decode to exactly its
  // bytes (or the key's columns do not decode).
  Status Decode(std::string_view record, const std::string& key, KvBatch* out) const;
  void SealBlock();
  void Forget(const Location& loc) { dead_bytes_ += loc.size; }

  // The index: open addressing with linear probing. A slot's key is in `key_chunks_`,
  // prefixed by its varint length; its home is `tag` masked by the table's size.
  static constexpr uint32_t kNoKey = UINT32_MAX;
  struct Slot {
    uint32_t tag = 0;             // the key's hash, folded to 32 bits
    uint32_t key_chunk = kNoKey;  // kNoKey: the slot is empty
    uint32_t key_offset = 0;
    Location loc;
  };
  static uint32_t TagOf(std::string_view key);
  static std::string_view KeyIn(const std::vector<std::string>& chunks, const Slot& slot);
  // The slot holding `key`, or the empty slot where its probe ends.
  size_t SlotOf(std::string_view key, uint32_t tag) const;
  Slot* Find(std::string_view key);
  // Copies `key` into the arena and points `slot` at it.
  void AddKey(std::string_view key, Slot* slot);
  // Moves every key to a table of `slot_count` slots (a power of two); `compact_keys` also
  // copies the live keys to new chunks, leaving erased keys' bytes behind.
  void Rebuild(size_t slot_count, bool compact_keys);

  format::RowType type_;
  std::vector<format::PhysicalKind> kinds_;
  std::vector<uint8_t> keep_in_retraction_;  // per column; all 1 when every column is kept
  std::vector<uint8_t> in_key_;              // per column: 1 when the key holds it (not stored)
  std::vector<int> key_columns_;             // non-empty when records leave the key out
  std::vector<format::DataType> key_types_;
  std::vector<Slot> slots_;
  size_t live_keys_ = 0;
  std::vector<std::string> key_chunks_;
  std::vector<Block> blocks_;
  std::string filling_;     // the block being filled, plain
  size_t total_bytes_ = 0;  // serialized bytes of every record stored since the last rewrite
  size_t dead_bytes_ = 0;   // of those, records replaced or erased since
  // Blocks kept plain, the least recently used replaced first: look-ups of one flush go in key
  // order, and records written by one flush are stored in key order, so neighbours share a
  // block; a state of a few blocks (an aggregate table's) is read without decompressing at all;
  // and a block just sealed enters plain, so records written lately are read back from it.
  struct PlainBlock {
    uint32_t block = UINT32_MAX;
    uint64_t last_use = 0;
    std::string plain;
  };
  // The slot for block `block`, its contents stale, after evicting the least recently used.
  PlainBlock* EvictForBlock(uint32_t block);
  std::vector<PlainBlock> plain_blocks_;
  uint64_t use_clock_ = 0;
  size_t block_reads_ = 0;
  std::string scratch_;          // a record moving to the next block
  std::string compress_buffer_;  // a block being compressed
  KvBatch got_;                  // the record Get returned
  KvBatch merged_;               // the record PutMerged stored
  Status broken_;                // set when a rewrite found a damaged block
};

}  // namespace kl::table
