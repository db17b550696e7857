#include "table/index/bucket_assigner.h"

#include <cstdlib>

#include "common/file/file_util.h"
#include "table/data/binary_row.h"

namespace kl::table {

namespace {

constexpr int32_t kMaxBucketId = 32766;  // bucket ids are Java shorts; Paimon uses up to Short.MAX_VALUE - 1
// A partition not written for this many commits leaves memory (Paimon drops one after a single
// idle commit; a warehouse that commits twice a second would reload a quiet partition often).
constexpr int64_t kIdleCommitsBeforeUnload = 20;

int32_t JavaAbsMod(int32_t a, int32_t n) {
  int32_t r = a % n;
  return r < 0 ? -r : r;
}

}  // namespace

DynamicBucketAssigner::DynamicBucketAssigner(std::shared_ptr<TableContext> ctx)
    : ctx_(std::move(ctx)), rng_(static_cast<uint64_t>(std::hash<std::string>()(ctx_->path()))) {
  const TableOptions& o = ctx_->options();
  target_rows_ = std::max<int64_t>(1, o.GetInt("dynamic-bucket.target-row-num", 2'000'000));
  max_buckets_ = static_cast<int32_t>(o.GetInt("dynamic-bucket.max-buckets", -1));
  if (max_buckets_ <= 0 || max_buckets_ > kMaxBucketId + 1) max_buckets_ = -1;
  assigners_ = static_cast<int32_t>(std::max<int64_t>(1, o.GetInt("dynamic-bucket.initial-buckets", 1)));
  // An assigner owns the buckets b with b % N == its id: with a cap below N some would own none.
  if (max_buckets_ > 0) assigners_ = std::min(assigners_, max_buckets_);
  assigners_ = std::min(assigners_, kMaxBucketId + 1);
}

DynamicBucketAssigner::~DynamicBucketAssigner() = default;

size_t DynamicBucketAssigner::loaded_keys() const {
  size_t n = 0;
  for (const auto& [name, p] : partitions_) n += p->map.size();
  return n;
}

std::string DynamicBucketAssigner::FilePath(const std::string& partition, int32_t bucket,
                                            const IndexFileMeta& file) const {
  return ctx_->paths().IndexFilePath(partition, bucket, file, ctx_->options().index_file_in_data_file_dir());
}

Status DynamicBucketAssigner::Restore(const std::optional<Snapshot>& snapshot,
                                      const std::set<std::pair<std::string, int32_t>>& buckets_with_files) {
  live_files_.clear();
  partitions_.clear();
  last_name_ = nullptr;
  last_ = nullptr;
  buckets_with_files_ = buckets_with_files;
  if (!snapshot || !snapshot->index_manifest) return Status::OK();
  std::string path = JoinPath(ctx_->paths().ManifestDir(), *snapshot->index_manifest);
  auto entries = ReadIndexManifest(path);
  if (!entries.ok()) {
    return entries.status().WithContext("loading the dynamic-bucket index of snapshot " + std::to_string(snapshot->id));
  }
  for (auto& e : *entries) {
    if (e.file.index_type != kHashIndex) continue;
    if (e.kind != FileKind::kAdd) continue;
    if (e.bucket < 0 || e.bucket > kMaxBucketId) {
      return Status::Corruption(path + ": HASH index file " + e.file.file_name + " is for bucket " +
                                std::to_string(e.bucket));
    }
    live_files_[e.partition][e.bucket] = std::move(e.file);
  }
  return Status::OK();
}

Result<DynamicBucketAssigner::Partition*> DynamicBucketAssigner::Load(const std::string& partition) {
  auto p = std::make_unique<Partition>();
  // The partition's hash as Paimon computes it: over the BinaryRow, without the arity prefix.
  p->partition_hash = HashBytesByWords(std::string_view(partition).substr(std::min<size_t>(4, partition.size())));
  p->non_full.resize(static_cast<size_t>(assigners_));
  p->upper_bound_reached.assign(static_cast<size_t>(assigners_), false);
  auto files = live_files_.find(partition);
  if (files != live_files_.end()) {
    size_t total = 0;
    for (const auto& [bucket, meta] : files->second) total += static_cast<size_t>(std::max<int64_t>(0, meta.row_count));
    p->map.Reserve(total);
    for (const auto& [bucket, meta] : files->second) {
      KL_ASSIGN_OR_RETURN(std::vector<int32_t> hashes, ReadHashIndexFile(FilePath(partition, bucket, meta), meta));
      Bucket& b = p->buckets[bucket];
      for (int32_t h : hashes) p->map.Insert(h, static_cast<int16_t>(bucket));
      b.hashes = std::move(hashes);
      b.live = meta;
    }
  }
  // A bucket with data but no key hashes would let its keys be written again elsewhere.
  for (auto it = buckets_with_files_.lower_bound({partition, INT32_MIN});
       it != buckets_with_files_.end() && it->first == partition; ++it) {
    if (p->buckets.count(it->second) == 0) {
      return Status::Corruption("table " + ctx_->path() + ": bucket " + std::to_string(it->second) +
                                " has data files but no HASH index file in the dynamic-bucket index; its keys "
                                "cannot be found (was the table written in another bucket mode?)");
    }
  }
  for (const auto& [id, b] : p->buckets) {
    if (static_cast<int64_t>(b.hashes.size()) < target_rows_) {
      p->non_full[static_cast<size_t>(id % assigners_)].insert(id);
    }
  }
  Partition* raw = p.get();
  partitions_[partition] = std::move(p);
  return raw;
}

int32_t DynamicBucketAssigner::AssignerOf(const Partition& p, int32_t key_hash) const {
  if (assigners_ == 1) return 0;
  return (JavaAbsMod(p.partition_hash, assigners_) + JavaAbsMod(key_hash, assigners_)) % assigners_;
}

Result<int32_t> DynamicBucketAssigner::Assign(const std::string& partition, int32_t key_hash) {
  Partition* p = last_;
  if (p == nullptr || *last_name_ != partition) {
    auto it = partitions_.find(partition);
    if (it == partitions_.end()) {
      auto loaded = Load(partition);
      if (!loaded.ok()) return loaded.status();
      it = partitions_.find(partition);
    }
    last_name_ = &it->first;
    last_ = p = it->second.get();
  }
  p->accessed = true;
  // 1. A key seen before keeps its bucket.
  int32_t known = p->map.Find(key_hash);
  if (known >= 0) return known;

  int32_t assigner = AssignerOf(*p, key_hash);
  auto take = [&](int32_t bucket) {
    p->map.Insert(key_hash, static_cast<int16_t>(bucket));
    Bucket& b = p->buckets[bucket];
    b.hashes.push_back(key_hash);
    b.modified = true;
    if (static_cast<int64_t>(b.hashes.size()) >= target_rows_) {
      p->non_full[static_cast<size_t>(bucket % assigners_)].erase(bucket);
    }
    return bucket;
  };
  // 2. The first of this assigner's buckets that has room.
  auto& non_full = p->non_full[static_cast<size_t>(assigner)];
  if (!non_full.empty()) return take(*non_full.begin());
  // 3. A new bucket: the smallest id this assigner owns that is not taken.
  int32_t max_id = max_buckets_ < 0 ? kMaxBucketId : max_buckets_ - 1;
  if (!p->upper_bound_reached[static_cast<size_t>(assigner)]) {
    for (int32_t id = assigner; id <= max_id; id += assigners_) {
      if (p->buckets.count(id) == 0) {
        non_full.insert(id);
        return take(id);
      }
    }
    if (max_buckets_ < 0) {
      return Status::InvalidArgument(
          "table " + ctx_->path() + ": a partition reached " + std::to_string(kMaxBucketId + 1) +
          " dynamic buckets; raise 'dynamic-bucket.target-row-num' (now " + std::to_string(target_rows_) + ")");
    }
    p->upper_bound_reached[static_cast<size_t>(assigner)] = true;
  }
  // 4. All buckets full and no more allowed: a random one of this assigner's.
  std::vector<int32_t> own;
  for (const auto& [id, b] : p->buckets) {
    if (id % assigners_ == assigner) own.push_back(id);
  }
  if (own.empty()) {
    for (const auto& [id, b] : p->buckets) own.push_back(id);
  }
  if (own.empty()) own.push_back(assigner % (max_id + 1));
  return take(own[rng_.Uniform(own.size())]);
}

Result<std::vector<IndexManifestEntry>> DynamicBucketAssigner::PrepareCommit() {
  std::vector<IndexManifestEntry> changes;
  bool in_bucket_dir = ctx_->options().index_file_in_data_file_dir();
  bool sync = ctx_->options().data_file_sync();
  bool dir_made = false;
  for (auto& [name, p] : partitions_) {
    for (auto& [id, b] : p->buckets) {
      if (!b.modified) continue;
      IndexFileMeta meta;
      meta.index_type = kHashIndex;
      meta.file_name = ctx_->paths().NewFileName("index-", "");
      meta.row_count = static_cast<int64_t>(b.hashes.size());
      std::string bytes = EncodeHashIndex(b.hashes);
      meta.file_size = static_cast<int64_t>(bytes.size());
      std::string path = FilePath(name, id, meta);
      if (!dir_made || in_bucket_dir) {
        KL_RETURN_IF_ERROR(CreateDirs(DirName(path)));
        dir_made = true;
      }
      // Synced like data files: a snapshot must never name a file a crash cut short.
      KL_RETURN_IF_ERROR(WriteFile(path, bytes, sync));
      if (b.live) changes.push_back(IndexManifestEntry{FileKind::kDelete, name, id, *b.live});
      changes.push_back(IndexManifestEntry{FileKind::kAdd, name, id, meta});
      b.written = std::move(meta);
      b.modified = false;
    }
  }
  return changes;
}

void DynamicBucketAssigner::Committed(bool landed) {
  for (auto it = partitions_.begin(); it != partitions_.end();) {
    Partition& p = *it->second;
    for (auto& [id, b] : p.buckets) {
      if (!b.written) continue;
      if (landed) {
        b.live = std::move(b.written);
        live_files_[it->first][id] = *b.live;
        buckets_with_files_.insert({it->first, id});
      } else {
        b.modified = true;
      }
      b.written.reset();
    }
    p.idle_commits = p.accessed ? 0 : p.idle_commits + 1;
    p.accessed = false;
    bool pending = false;
    for (const auto& [id, b] : p.buckets) pending = pending || b.modified;
    if (!pending && p.idle_commits >= kIdleCommitsBeforeUnload) {
      if (last_ == &p) {
        last_ = nullptr;
        last_name_ = nullptr;
      }
      it = partitions_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace kl::table
