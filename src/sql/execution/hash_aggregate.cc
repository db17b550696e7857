// Hash aggregation: group keys hashed a batch at a time into an
// open-addressing table of group ids; aggregate states live in flat vectors
// indexed by group id. When every key is a dictionary-encoded column with few
// entries (a Parquet row group's strings), a direct-mapped table from the
// combination of codes to the group id answers most rows without hashing.
#include "sql/execution/operators.h"

namespace kl::sql {

using format::Column;
using format::ColumnBatch;

namespace {

class HashAggregateOp : public Operator {
 public:
  HashAggregateOp(const LogicalOp& op, OperatorPtr child, ExecContext& ctx)
      : Operator(op.schema), op_(op), child_(std::move(child)), ctx_(ctx) {}

  Result<bool> Next(ColumnBatch* out) override {
    if (!done_) {
      KL_RETURN_IF_ERROR(Consume());
      done_ = true;
    }
    if (emitted_ >= num_groups_) return false;
    size_t end = std::min(num_groups_, emitted_ + kBatchSize);
    ColumnBatch result(schema_);
    size_t ng = op_.groups.size();
    for (size_t k = 0; k < ng; ++k) result.mutable_column(k).AppendRange(keys_[k], emitted_, end);
    for (size_t a = 0; a < states_.size(); ++a) {
      Column& c = result.mutable_column(ng + a);
      for (size_t g = emitted_; g < end; ++g) KL_RETURN_IF_ERROR(states_[a]->Finish(g, &c));
    }
    result.SetNumRows(end - emitted_);
    emitted_ = end;
    *out = std::move(result);
    return true;
  }

  // A consumer that keeps some values of a grouping column needs only their groups, and
  // a group is aggregated from its own input rows alone: the narrowing goes below.
  bool NarrowTo(int column, const std::vector<format::Datum>& values) override {
    if (done_ || column < 0 || static_cast<size_t>(column) >= op_.groups.size()) return false;
    const BoundExpr& g = *op_.groups[static_cast<size_t>(column)];
    if (g.kind != BoundKind::kColumn) return false;
    return child_->NarrowTo(g.column, values);
  }

 private:
  Status Consume() {
    for (const auto& a : op_.aggregates) states_.push_back(a.aggregate.make());
    for (const auto& g : op_.groups) keys_.emplace_back(g->type);
    if (op_.groups.empty()) {
      // A global aggregate has one group, even over no rows.
      num_groups_ = 1;
      for (auto& s : states_) s->Resize(1);
    } else {
      slots_.assign(1024, -1);
    }
    ColumnBatch in;
    std::vector<Column> key_cols;
    std::vector<const Column*> key_ptrs, stored_ptrs;
    std::vector<uint64_t> hashes;
    std::vector<uint32_t> group_of;
    int batches = 0;
    while (true) {
      KL_RETURN_IF_ERROR(ctx_.CheckInterrupt());
      KL_ASSIGN_OR_RETURN(bool more, child_->Next(&in));
      if (!more) break;
      size_t n = in.num_rows();
      group_of.assign(n, 0);
      if (!op_.groups.empty()) {
        // Group keys: borrowed when they are plain columns of the input.
        std::vector<ColumnValue> values(op_.groups.size());
        key_ptrs.clear();
        for (size_t k = 0; k < op_.groups.size(); ++k) {
          KL_RETURN_IF_ERROR(Evaluate(*op_.groups[k], in, n, ctx_, &values[k]));
          key_ptrs.push_back(&values[k].get());
        }
        stored_ptrs.clear();
        for (auto& k : keys_) stored_ptrs.push_back(&k);
        if (!GroupByCodes(key_ptrs, n, stored_ptrs, &hashes, group_of.data())) {
          HashRows(key_ptrs, n, &hashes);
          for (size_t i = 0; i < n; ++i) group_of[i] = FindOrInsert(key_ptrs, i, hashes[i], stored_ptrs);
        }
        for (auto& s : states_) s->Resize(num_groups_);
      }
      for (size_t a = 0; a < states_.size(); ++a) {
        const AggregateCall& call = op_.aggregates[a];
        std::vector<ColumnValue> values(call.args.size());
        std::vector<const Column*> args;
        for (size_t k = 0; k < call.args.size(); ++k) {
          KL_RETURN_IF_ERROR(Evaluate(*call.args[k], in, n, ctx_, &values[k]));
          args.push_back(&values[k].get());
        }
        if (call.filter) {
          std::vector<uint32_t> sel;
          KL_RETURN_IF_ERROR(EvaluateFilter(*call.filter, in, ctx_, &sel));
          std::vector<Column> sub;
          std::vector<const Column*> sub_ptrs;
          std::vector<size_t> idx(sel.begin(), sel.end());
          for (const Column* c : args) {
            sub.emplace_back(c->type());
            sub.back().AppendGather(*c, idx.data(), idx.size());
          }
          for (auto& c : sub) sub_ptrs.push_back(&c);
          std::vector<uint32_t> g(sel.size());
          for (size_t i = 0; i < sel.size(); ++i) g[i] = group_of[sel[i]];
          KL_RETURN_IF_ERROR(states_[a]->Update(sub_ptrs, g.data(), g.size()));
        } else {
          KL_RETURN_IF_ERROR(states_[a]->Update(args, group_of.data(), n));
        }
      }
      if (++batches % 8 == 0 || num_groups_ > 100000) KL_RETURN_IF_ERROR(CheckMemory());
    }
    return CheckMemory();
  }

  // Groups of rows whose keys are all dictionary-encoded with few entries in all: the
  // codes index code_groups_, which caches group ids while the dictionaries stay the same
  // (a row group). Misses go through the hash table. False when the keys do not qualify.
  bool GroupByCodes(const std::vector<const Column*>& keys, size_t n, const std::vector<const Column*>& stored,
                    std::vector<uint64_t>* hashes, uint32_t* group_of) {
    constexpr size_t kMaxCombinations = size_t{1} << 16;
    size_t combinations = 1;
    for (const Column* k : keys) {
      if (!k->is_dictionary()) return false;
      combinations *= k->dictionary().size();
      if (combinations > kMaxCombinations) return false;
    }
    bool same = code_dicts_.size() == keys.size();
    for (size_t k = 0; same && k < keys.size(); ++k) same = code_dicts_[k] == keys[k]->shared_dictionary();
    if (!same) {
      code_dicts_.clear();
      for (const Column* k : keys) code_dicts_.push_back(k->shared_dictionary());  // kept alive: pointers stay unique
      code_groups_.assign(combinations, -1);
    }
    // Null rows carry the dictionary's null code, so a code combination identifies the key.
    combo_.assign(n, 0);
    uint32_t* combo = combo_.data();
    uint32_t stride = 1;
    for (const Column* k : keys) {
      const uint32_t* codes = k->codes();
      for (size_t i = 0; i < n; ++i) combo[i] += codes[i] * stride;
      stride *= static_cast<uint32_t>(k->dictionary().size());
    }
    bool hashed = false;
    int32_t* cache = code_groups_.data();
    for (size_t i = 0; i < n; ++i) {
      int32_t g = cache[combo[i]];
      if (g < 0) [[unlikely]] {
        if (!hashed) {
          HashRows(keys, n, hashes);
          hashed = true;
        }
        g = static_cast<int32_t>(FindOrInsert(keys, i, (*hashes)[i], stored));
        cache[combo[i]] = g;
      }
      group_of[i] = static_cast<uint32_t>(g);
    }
    return true;
  }

  Status CheckMemory() {
    int64_t bytes = static_cast<int64_t>(slots_.capacity() * 4 + hashes_.capacity() * 8 + code_groups_.capacity() * 4);
    for (const auto& k : keys_) bytes += static_cast<int64_t>(k.MemoryBytes());
    for (const auto& s : states_) bytes += s->MemoryBytes();
    if (bytes > ctx_.memory_limit_bytes) {
      return ctx_.MemoryExceeded("GROUP BY (hash aggregate of " + std::to_string(num_groups_) + " groups)", bytes);
    }
    return Status::OK();
  }

  uint32_t FindOrInsert(const std::vector<const Column*>& keys, size_t row, uint64_t hash,
                        const std::vector<const Column*>& stored) {
    size_t mask = slots_.size() - 1;
    size_t slot = hash & mask;
    while (true) {
      int32_t g = slots_[slot];
      if (g < 0) break;
      if (hashes_[g] == hash && KeysEqual(keys, row, stored, static_cast<size_t>(g))) return static_cast<uint32_t>(g);
      slot = (slot + 1) & mask;
    }
    uint32_t g = static_cast<uint32_t>(num_groups_++);
    for (size_t k = 0; k < keys.size(); ++k) keys_[k].AppendFrom(*keys[k], row);
    hashes_.push_back(hash);
    slots_[slot] = static_cast<int32_t>(g);
    if (num_groups_ * 2 > slots_.size()) Grow();
    return g;
  }

  void Grow() {
    std::vector<int32_t> bigger(slots_.size() * 2, -1);
    size_t mask = bigger.size() - 1;
    for (size_t g = 0; g < num_groups_; ++g) {
      size_t slot = hashes_[g] & mask;
      while (bigger[slot] >= 0) slot = (slot + 1) & mask;
      bigger[slot] = static_cast<int32_t>(g);
    }
    slots_.swap(bigger);
  }

  const LogicalOp& op_;
  OperatorPtr child_;
  ExecContext& ctx_;
  bool done_ = false;
  std::vector<std::unique_ptr<AggregateState>> states_;
  std::vector<Column> keys_;  // one column per group key, one row per group
  std::vector<uint64_t> hashes_;
  std::vector<int32_t> slots_;
  std::vector<std::shared_ptr<const Column>> code_dicts_;  // dictionaries code_groups_ is for
  std::vector<int32_t> code_groups_;                       // code combination -> group id, or -1
  std::vector<uint32_t> combo_;
  size_t num_groups_ = 0;
  size_t emitted_ = 0;
};

}  // namespace

OperatorPtr NewHashAggregate(const LogicalOp& op, OperatorPtr child, ExecContext& ctx) {
  return OperatorPtr(new HashAggregateOp(op, std::move(child), ctx));
}

}  // namespace kl::sql
