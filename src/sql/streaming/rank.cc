// Streaming Top-N per partition (the ROW_NUMBER dedup and ORDER BY ... LIMIT).
#include <algorithm>

#include "common/coding.h"
#include "sql/streaming/keyed_state.h"
#include "sql/streaming/operators.h"

namespace kl::sql::streaming {

using format::DataField;
using format::Datum;
using format::Row;
using format::RowKind;
using format::RowType;

namespace {

struct Entry {
  Row sort;         // the sort key values
  int64_t seq = 0;  // arrival order: among equal sort keys the earlier row ranks first
  int64_t count = 1;
  Row row;
};

struct Partition {
  std::vector<Entry> entries;  // best first
};

constexpr char kMetaKey[] = "";  // the arrival counter (partition keys never encode empty)

class RankOp : public pipeline::Operator {
 public:
  RankOp(const LogicalOp& op, RankOptions options, const ExecContext& ctx)
      : op_(op), options_(options), output_(op.schema) {
    const RowType& in = op.children[0]->schema;
    std::vector<BoundExprPtr> exprs = op.partition_keys;
    for (const auto& k : op.sort_keys) exprs.push_back(k.expr);
    std::vector<DataField> fields;
    for (const auto& e : exprs) fields.push_back({static_cast<int32_t>(fields.size()), "k", e->type, ""});
    // The input columns travel along after the keys.
    for (size_t i = 0; i < in.size(); ++i) {
      exprs.push_back(MakeColumn(static_cast<int>(i), in.type(i), in.field(i).name));
      fields.push_back({static_cast<int32_t>(fields.size()), in.field(i).name, in.type(i), ""});
    }
    pre_ = MakeCalc(in, nullptr, exprs, RowType(fields), ctx, "rank-keys");
    num_partition_ = op.partition_keys.size();
    num_sort_ = op.sort_keys.size();
    limit_ = op.limit < 0 ? INT64_MAX / 4 : op.limit;
    offset_ = op.offset;
  }

  std::string name() const override { return "rank"; }
  const RowType& output_type() const override { return output_; }
  bool stateful() const override { return true; }

  Status Process(Changes& in, Changes* out) override {
    Changes keyed;
    KL_RETURN_IF_ERROR(pre_->Process(in, &keyed));
    for (auto& c : keyed) {
      Row& v = c.row;
      Row part(v.begin(), v.begin() + static_cast<ptrdiff_t>(num_partition_));
      Row sort(v.begin() + static_cast<ptrdiff_t>(num_partition_),
               v.begin() + static_cast<ptrdiff_t>(num_partition_ + num_sort_));
      Row row(std::make_move_iterator(v.begin() + static_cast<ptrdiff_t>(num_partition_ + num_sort_)),
              std::make_move_iterator(v.end()));
      std::string key = pipeline::EncodeRow(part);
      Partition* p = parts_.Find(key);
      bool add = !format::IsRetract(c.kind);
      if (p == nullptr) {
        if (!add) continue;
        p = &parts_.Touch(key);
      }
      // The visible window before the change.
      std::vector<const Entry*> before = Window(*p);
      std::vector<Entry> old_rows;
      old_rows.reserve(before.size());
      for (const Entry* e : before) old_rows.push_back(*e);
      bool changed = add ? Add(p, std::move(sort), std::move(row)) : Retract(p, sort, row);
      if (!changed) continue;
      parts_.Touch(key);
      Diff(old_rows, *p, out);
      if (p->entries.empty()) parts_.Erase(key);
    }
    return Status::OK();
  }

  Status SaveState(bool full, pipeline::StateWriter* out) override {
    parts_.Save(full, out, [](const Partition& p) {
      std::string s;
      PutVarint64(&s, p.entries.size());
      for (const auto& e : p.entries) {
        pipeline::EncodeRow(e.sort, &s);
        PutVarint64(&s, ZigZagEncode(e.seq));
        PutVarint64(&s, ZigZagEncode(e.count));
        pipeline::EncodeRow(e.row, &s);
      }
      return s;
    });
    std::string meta;
    PutVarint64(&meta, static_cast<uint64_t>(next_seq_));
    out->Put(kMetaKey, meta);
    return Status::OK();
  }
  void StateCommitted() override { parts_.Committed(); }
  Status LoadState(const pipeline::OperatorState& state) override {
    pipeline::OperatorState entries = state;
    auto meta = entries.find(kMetaKey);
    if (meta != entries.end()) {
      ByteReader r(meta->second);
      next_seq_ = static_cast<int64_t>(r.Varint());
      entries.erase(meta);
    }
    return parts_.Load(entries, [](std::string_view v) -> Result<Partition> {
      Partition p;
      ByteReader r(v);
      uint64_t n = r.Varint();
      if (!r.ok() || n > v.size()) return Status::Corruption("rank state: bad entry");
      std::string_view rest(reinterpret_cast<const char*>(r.position()), r.remaining());
      for (uint64_t i = 0; i < n; ++i) {
        Entry e;
        KL_ASSIGN_OR_RETURN(e.sort, pipeline::DecodeRow(&rest));
        ByteReader nums(rest);
        e.seq = nums.ZigZag();
        e.count = nums.ZigZag();
        if (!nums.ok()) return Status::Corruption("rank state: truncated entry");
        rest = std::string_view(reinterpret_cast<const char*>(nums.position()), nums.remaining());
        KL_ASSIGN_OR_RETURN(e.row, pipeline::DecodeRow(&rest));
        p.entries.push_back(std::move(e));
      }
      return p;
    });
  }

 private:
  // Orders entries by the sort keys (direction, NULL placement), then arrival.
  int CompareSort(const Row& a, const Row& b) const {
    for (size_t k = 0; k < num_sort_; ++k) {
      const SortKey& key = op_.sort_keys[k];
      bool an = a[k].is_null(), bn = b[k].is_null();
      if (an || bn) {
        if (an && bn) continue;
        return an == key.nulls_first ? -1 : 1;
      }
      int c = format::CompareDatum(a[k], b[k]);
      if (c != 0) return key.descending ? -c : c;
    }
    return 0;
  }

  std::vector<const Entry*> Window(const Partition& p) const {
    std::vector<const Entry*> w;
    for (size_t i = static_cast<size_t>(offset_); i < p.entries.size() && w.size() < static_cast<size_t>(limit_); ++i) {
      w.push_back(&p.entries[i]);
    }
    return w;
  }

  bool Add(Partition* p, Row sort, Row row) {
    auto& v = p->entries;
    // After every entry that sorts before or equal to it: ties keep arrival order.
    auto pos = std::upper_bound(v.begin(), v.end(), sort,
                                [this](const Row& s, const Entry& e) { return CompareSort(s, e.sort) < 0; });
    size_t keep = static_cast<size_t>(std::min<int64_t>(offset_ + limit_, INT64_MAX / 4));
    if (options_.insert_only && static_cast<size_t>(pos - v.begin()) >= keep) return false;
    Entry e;
    e.sort = std::move(sort);
    e.seq = next_seq_++;
    e.row = std::move(row);
    v.insert(pos, std::move(e));
    // Without retractions a row pushed out of the top never comes back.
    if (options_.insert_only && v.size() > keep) v.resize(keep);
    return true;
  }

  bool Retract(Partition* p, const Row& sort, const Row& row) {
    auto& v = p->entries;
    auto lo = std::lower_bound(v.begin(), v.end(), sort,
                               [this](const Entry& e, const Row& s) { return CompareSort(e.sort, s) < 0; });
    for (auto it = lo; it != v.end() && CompareSort(it->sort, sort) == 0; ++it) {
      if (format::CompareRows(it->row, row) != 0) continue;
      v.erase(it);
      return true;
    }
    return false;  // not held (beyond the kept top of an insert-only input, or never seen)
  }

  Row WithRank(const Row& row, size_t rank) const {
    Row r = row;
    if (op_.rank_column) r.push_back(Datum::Int(static_cast<int64_t>(rank)));
    return r;
  }

  void Diff(const std::vector<Entry>& before, const Partition& p, Changes* out) {
    std::vector<const Entry*> after = Window(p);
    size_t base = static_cast<size_t>(offset_) + 1;
    if (options_.output_rank) {
      for (size_t k = 0; k < std::max(before.size(), after.size()); ++k) {
        const Entry* o = k < before.size() ? &before[k] : nullptr;
        const Entry* n = k < after.size() ? after[k] : nullptr;
        if (o != nullptr && n != nullptr) {
          if (o->seq == n->seq) continue;
          out->push_back({RowKind::kUpdateBefore, WithRank(o->row, base + k)});
          out->push_back({RowKind::kUpdateAfter, WithRank(n->row, base + k)});
        } else if (n != nullptr) {
          out->push_back({RowKind::kInsert, WithRank(n->row, base + k)});
        } else {
          out->push_back({RowKind::kDelete, WithRank(o->row, base + k)});
        }
      }
      return;
    }
    std::vector<std::pair<const Entry*, size_t>> removed, added;
    for (size_t k = 0; k < before.size(); ++k) {
      bool kept = false;
      for (const Entry* n : after) kept = kept || n->seq == before[k].seq;
      if (!kept) removed.push_back({&before[k], k});
    }
    for (size_t k = 0; k < after.size(); ++k) {
      bool was = false;
      for (const auto& o : before) was = was || o.seq == after[k]->seq;
      if (!was) added.push_back({after[k], k});
    }
    if (limit_ == 1 && removed.size() == 1 && added.size() == 1) {
      // Top-1: the better row replaces the old one.
      out->push_back({RowKind::kUpdateBefore, WithRank(removed[0].first->row, base)});
      out->push_back({RowKind::kUpdateAfter, WithRank(added[0].first->row, base)});
      return;
    }
    for (const auto& [e, k] : removed) out->push_back({RowKind::kDelete, WithRank(e->row, base + k)});
    for (const auto& [e, k] : added) out->push_back({RowKind::kInsert, WithRank(e->row, base + k)});
  }

  LogicalOp op_;
  RankOptions options_;
  RowType output_;
  std::unique_ptr<pipeline::Operator> pre_;
  size_t num_partition_ = 0, num_sort_ = 0;
  int64_t limit_ = 1, offset_ = 0;
  int64_t next_seq_ = 0;
  KeyedState<Partition> parts_;
};

}  // namespace

Result<std::unique_ptr<pipeline::Operator>> MakeRank(const LogicalOp& topn, RankOptions options,
                                                     const ExecContext& ctx) {
  if (topn.kind != OpKind::kTopN || topn.children.size() != 1) return Status::Internal("rank over a non-Top-N node");
  if (topn.sort_keys.empty()) return Status::NotSupported("Top-N without ORDER BY in a streaming job");
  return std::unique_ptr<pipeline::Operator>(new RankOp(topn, options, ctx));
}

}  // namespace kl::sql::streaming
