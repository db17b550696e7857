// Operator trees over several sources, streaming LIMIT and the sink adapter.
#include <algorithm>
#include <unordered_map>

#include "common/coding.h"
#include "pipeline/runtime/state.h"
#include "sql/binder/types.h"
#include "sql/functions/cast.h"
#include "sql/streaming/operators.h"
#include "table/schema/options.h"

namespace kl::sql::streaming {

using format::Datum;
using format::Row;
using format::RowKind;
using format::RowType;

namespace {

class TreeOp : public pipeline::Operator {
 public:
  TreeOp(std::vector<TreeNode> nodes, int root, RowType output)
      : nodes_(std::move(nodes)), root_(root), output_(std::move(output)) {}

  std::string name() const override {
    std::string s = "tree(";
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (i > 0) s += ", ";
      s += nodes_[i].op ? nodes_[i].op->name() : "union";
    }
    return s + ")";
  }
  const RowType& output_type() const override { return output_; }

  Status Process(Changes& in, Changes* out) override {
    std::unordered_map<int, Changes> by_source;
    for (auto& c : in) by_source[c.input].push_back(std::move(c));
    Changes result;
    KL_RETURN_IF_ERROR(Run(root_, &by_source, &result, false));
    for (auto& c : result) out->push_back(std::move(c));
    return Status::OK();
  }

  Status Finish(Changes* out) override {
    std::unordered_map<int, Changes> none;
    Changes result;
    KL_RETURN_IF_ERROR(Run(root_, &none, &result, true));
    for (auto& c : result) out->push_back(std::move(c));
    return Status::OK();
  }

  bool WantsCheckpoint() override {
    bool want = false;
    for (auto& n : nodes_) {
      if (n.op) want = n.op->WantsCheckpoint() || want;
    }
    return want;
  }

  bool stateful() const override {
    for (const auto& n : nodes_) {
      if (n.op && n.op->stateful()) return true;
    }
    return false;
  }

  // Each node's entries go under a prefix naming the node.
  Status SaveState(bool full, pipeline::StateWriter* out) override {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].op || !nodes_[i].op->stateful()) continue;
      pipeline::StateWriter w;
      KL_RETURN_IF_ERROR(nodes_[i].op->SaveState(full, &w));
      // Re-read the node's entries and put them under its prefix.
      ByteReader r(w.data());
      std::string prefix;
      PutVarint64(&prefix, i);
      while (r.ok() && r.remaining() > 0) {
        uint8_t tag = r.Byte();
        std::string_view key = r.Bytes(r.Varint());
        if (tag == 1) {
          std::string_view value = r.Bytes(r.Varint());
          out->Put(prefix + std::string(key), value);
        } else {
          out->Erase(prefix + std::string(key));
        }
      }
    }
    return Status::OK();
  }
  void StateCommitted() override {
    for (auto& n : nodes_) {
      if (n.op) n.op->StateCommitted();
    }
  }
  Status LoadState(const pipeline::OperatorState& state) override {
    std::vector<pipeline::OperatorState> per(nodes_.size());
    for (const auto& [k, v] : state) {
      ByteReader r(k);
      uint64_t node = r.Varint();
      if (!r.ok() || node >= nodes_.size()) return Status::Corruption("operator tree state: bad key");
      per[node][std::string(k.substr(k.size() - r.remaining()))] = v;
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].op && nodes_[i].op->stateful()) KL_RETURN_IF_ERROR(nodes_[i].op->LoadState(per[i]));
    }
    return Status::OK();
  }

 private:
  // The output of node `n` for this batch (or, `finish`, what its operators release).
  Status Run(int n, std::unordered_map<int, Changes>* by_source, Changes* out, bool finish) {
    TreeNode& node = nodes_[static_cast<size_t>(n)];
    Changes input;
    if (node.source >= 0) {
      auto it = by_source->find(node.source);
      if (it != by_source->end()) input = std::move(it->second);
      for (auto& c : input) c.input = 0;
    } else {
      for (size_t k = 0; k < node.children.size(); ++k) {
        Changes part;
        KL_RETURN_IF_ERROR(Run(node.children[k], by_source, &part, finish));
        for (auto& c : part) {
          c.input = static_cast<uint8_t>(k);
          input.push_back(std::move(c));
        }
      }
    }
    if (!node.op) {
      for (auto& c : input) out->push_back(std::move(c));
      return Status::OK();
    }
    if (!input.empty()) KL_RETURN_IF_ERROR(node.op->Process(input, out));
    if (finish) KL_RETURN_IF_ERROR(node.op->Finish(out));
    return Status::OK();
  }

  std::vector<TreeNode> nodes_;
  int root_;
  RowType output_;
};

class LimitOp : public pipeline::Operator {
 public:
  LimitOp(RowType type, int64_t limit, int64_t offset) : type_(std::move(type)), limit_(limit), offset_(offset) {}
  std::string name() const override { return "limit"; }
  const RowType& output_type() const override { return type_; }
  bool stateful() const override { return true; }
  Status Process(Changes& in, Changes* out) override {
    for (auto& c : in) {
      if (format::IsRetract(c.kind)) return Status::NotSupported("LIMIT over a stream with retractions");
      int64_t i = seen_++;
      if (i >= offset_ && (limit_ < 0 || i < offset_ + limit_)) out->push_back(std::move(c));
    }
    return Status::OK();
  }
  Status SaveState(bool, pipeline::StateWriter* out) override {
    std::string v;
    PutVarint64(&v, static_cast<uint64_t>(seen_));
    out->Put("seen", v);
    return Status::OK();
  }
  Status LoadState(const pipeline::OperatorState& state) override {
    auto it = state.find("seen");
    if (it != state.end()) {
      ByteReader r(it->second);
      seen_ = static_cast<int64_t>(r.Varint());
    }
    return Status::OK();
  }

 private:
  RowType type_;
  int64_t limit_, offset_;
  int64_t seen_ = 0;
};

class SinkAdapterOp : public pipeline::Operator {
 public:
  SinkAdapterOp(SinkAdapterSpec spec, const ExecContext& ctx) : spec_(std::move(spec)), ctx_(ctx) {
    // What can be decided once instead of per row: which columns need a cast,
    // which must not be NULL, and whether the query's row already is the target's.
    const RowType& t = spec_.target;
    bool identity = spec_.into.size() == t.size();
    for (size_t i = 0; i < spec_.into.size(); ++i) {
      size_t to = static_cast<size_t>(spec_.into[i]);
      bool agree = TypesAgree(spec_.query.type(i), t.type(to));
      needs_cast_.push_back(!agree);
      identity = identity && to == i && agree;
    }
    for (size_t col = 0; col < t.size(); ++col) {
      if (!t.type(col).nullable()) not_null_.push_back(col);
    }
    rows_as_they_are_ = identity;
  }
  std::string name() const override { return std::string("sink (") + std::string(SinkModeName(spec_.mode)) + ")"; }
  const RowType& output_type() const override { return spec_.target; }

  Status Process(Changes& in, Changes* out) override {
    const RowType& t = spec_.target;
    // The kept changes are compacted to the front of `in`, rows in the target's shape.
    size_t kept = 0;
    for (auto& c : in) {
      if (!rows_as_they_are_) {
        Row r(t.size());
        for (size_t i = 0; i < spec_.into.size(); ++i) {
          size_t to = static_cast<size_t>(spec_.into[i]);
          Datum& v = c.row[i];
          if (v.is_null() || !needs_cast_[i]) {
            r[to] = std::move(v);
          } else {
            auto cast = CastValue(ctx_, v, spec_.query.type(i), t.type(to), "column " + t.field(to).name);
            if (!cast.ok()) {
              return Status::InvalidArgument("writing " + spec_.target_name + ": " + cast.status().message());
            }
            r[to] = std::move(*cast);
          }
        }
        c.row = std::move(r);
      }
      bool violates = false;
      for (size_t col : not_null_) {
        if (!c.row[col].is_null()) continue;
        if (!spec_.drop_null_violations) return NullViolation(col);
        violates = true;
        break;
      }
      if (violates) continue;
      c.input = 0;
      if (&in[kept] != &c) in[kept] = std::move(c);
      ++kept;
    }
    in.resize(kept);
    switch (spec_.mode) {
      case SinkMode::kAppend:
        for (auto& c : in) {
          if (c.kind != RowKind::kInsert) return AppendOnly(c.kind);
          out->push_back(std::move(c));
        }
        return Status::OK();
      case SinkMode::kRetract:
        for (auto& c : in) out->push_back(std::move(c));
        return Status::OK();
      case SinkMode::kIgnoreDelete:
        for (auto& c : in) {
          if (!format::IsRetract(c.kind)) out->push_back(std::move(c));
        }
        return Status::OK();
      case SinkMode::kUpsertDropUpdateBefore:
        for (auto& c : in) {
          if (c.kind != RowKind::kUpdateBefore) out->push_back(std::move(c));
        }
        return Status::OK();
      case SinkMode::kUpsert: {
        // -U is dropped when an insertion of its key follows in the batch (the +U of the
        // pair replaces the row); a -U whose key does not come back retracts the row.
        // Only the keys of -U rows are looked for (an insert-only batch needs none).
        std::unordered_map<std::string, size_t> last_add;  // key of a -U -> its last insertion's index + 1
        std::string key;
        for (const auto& c : in) {
          if (c.kind != RowKind::kUpdateBefore) continue;
          KeyOf(c.row, &key);
          last_add.emplace(key, 0);
        }
        if (!last_add.empty()) {
          for (size_t i = 0; i < in.size(); ++i) {
            if (!format::IsAdd(in[i].kind)) continue;
            KeyOf(in[i].row, &key);
            auto it = last_add.find(key);
            if (it != last_add.end()) it->second = i + 1;
          }
        }
        for (size_t i = 0; i < in.size(); ++i) {
          Change& c = in[i];
          if (c.kind == RowKind::kUpdateBefore) {
            KeyOf(c.row, &key);
            if (last_add.at(key) > i + 1) continue;
            c.kind = RowKind::kDelete;
          }
          out->push_back(std::move(c));
        }
        return Status::OK();
      }
    }
    return Status::OK();
  }

  // Rows already in the target's shape need no per-row work but the checks.
  bool takes_batches() const override { return rows_as_they_are_; }

  Status ProcessBatch(pipeline::ChangeBatch& in, pipeline::ChangeBatch* out) override {
    if (in.empty()) return Status::OK();  // a batch with nothing kept may have no columns
    if (!rows_as_they_are_ || (spec_.mode == SinkMode::kUpsert &&
                               std::find(in.kinds.begin(), in.kinds.end(), RowKind::kUpdateBefore) != in.kinds.end())) {
      return Operator::ProcessBatch(in, out);  // casts, or -U rows to pair with their +U: row by row
    }
    const RowType& t = spec_.target;
    const size_t n = in.size();
    // Rows kept: those without a NULL in a NOT NULL column (or an error), of the kinds the mode passes.
    std::vector<bool> drop(n, false);
    size_t dropped = 0;
    for (size_t col : not_null_) {
      const format::Column& c = in.rows.column(col);
      if (!c.has_nulls()) continue;
      if (!spec_.drop_null_violations) return NullViolation(col);
      for (size_t i = 0; i < n; ++i) {
        if (!drop[i] && c.IsNull(i)) {
          drop[i] = true;
          ++dropped;
        }
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (drop[i]) continue;
      RowKind kind = in.kinds[i];
      switch (spec_.mode) {
        case SinkMode::kAppend:
          if (kind != RowKind::kInsert) return AppendOnly(kind);
          break;
        case SinkMode::kRetract:
        case SinkMode::kUpsert: break;
        case SinkMode::kIgnoreDelete:
          if (format::IsRetract(kind)) drop[i] = true;
          break;
        case SinkMode::kUpsertDropUpdateBefore:
          if (kind == RowKind::kUpdateBefore) drop[i] = true;
          break;
      }
      dropped += drop[i] ? 1 : 0;
    }
    if (dropped == 0) {
      pipeline::AppendBatch(in, out);
      return Status::OK();
    }
    std::vector<size_t> keep;
    keep.reserve(n - dropped);
    for (size_t i = 0; i < n; ++i) {
      if (!drop[i]) keep.push_back(i);
    }
    pipeline::ChangeBatch kept{format::ColumnBatch(t), {}};
    for (size_t c = 0; c < t.size(); ++c) {
      kept.rows.mutable_column(c).AppendGather(in.rows.column(c), keep.data(), keep.size());
    }
    kept.rows.SetNumRows(keep.size());
    for (size_t i : keep) kept.kinds.push_back(in.kinds[i]);
    pipeline::AppendBatch(kept, out);
    return Status::OK();
  }

 private:
  Status NullViolation(size_t col) const {
    return Status::InvalidArgument(
        "column " + QuoteIdentifier(spec_.target.field(col).name) + " of " + spec_.target_name +
        " is NOT NULL but the query gives NULL for it; set 'table.exec.sink.not-null-enforcer' = 'DROP' to drop "
        "such rows");
  }
  Status AppendOnly(RowKind kind) const {
    return Status::InvalidArgument(spec_.target_name + " is an append table and cannot take the " +
                                   std::string(format::RowKindShortString(kind)) +
                                   " changes of this query; give it a primary key");
  }

  static bool TypesAgree(const format::DataType& a, const format::DataType& b) {
    return a.WithNullable(true) == b.WithNullable(true);
  }
  void KeyOf(const Row& row, std::string* key) const {
    key->clear();
    for (int k : spec_.key_columns) pipeline::EncodeDatum(row[static_cast<size_t>(k)], key);
  }
  SinkAdapterSpec spec_;
  ExecContext ctx_;
  std::vector<bool> needs_cast_;   // per query column
  std::vector<size_t> not_null_;   // target columns declared NOT NULL
  bool rows_as_they_are_ = false;  // the query's columns are the target's, in order, of its types
};

}  // namespace

std::unique_ptr<pipeline::Operator> MakeOperatorTree(std::vector<TreeNode> nodes, int root, RowType output) {
  return std::make_unique<TreeOp>(std::move(nodes), root, std::move(output));
}

std::unique_ptr<pipeline::Operator> MakeStreamLimit(RowType type, int64_t limit, int64_t offset) {
  return std::make_unique<LimitOp>(std::move(type), limit, offset);
}

SinkMode SinkModeFor(const table::TableSchema& schema) {
  if (schema.primary_keys.empty()) return SinkMode::kAppend;
  table::TableOptions o(schema.options);
  if (o.ignore_delete()) return SinkMode::kIgnoreDelete;
  if (o.changelog_producer() == table::ChangelogProducer::kInput) return SinkMode::kRetract;
  switch (o.merge_engine()) {
    case table::MergeEngine::kAggregation: return SinkMode::kRetract;
    case table::MergeEngine::kPartialUpdate: {
      // Partial-update with aggregate functions takes retractions, as Paimon's sink does.
      for (const auto& [k, v] : schema.options) {
        if (k.rfind("fields.", 0) == 0 && k.size() > 19 && k.compare(k.size() - 19, 19, ".aggregate-function") == 0) {
          return SinkMode::kRetract;
        }
      }
      return SinkMode::kUpsertDropUpdateBefore;
    }
    case table::MergeEngine::kFirstRow: return SinkMode::kUpsertDropUpdateBefore;
    case table::MergeEngine::kDeduplicate: return SinkMode::kUpsert;
  }
  return SinkMode::kUpsert;
}

std::string_view SinkModeName(SinkMode mode) {
  switch (mode) {
    case SinkMode::kAppend: return "append";
    case SinkMode::kRetract: return "retract";
    case SinkMode::kUpsert: return "upsert";
    case SinkMode::kUpsertDropUpdateBefore: return "upsert, -U dropped";
    case SinkMode::kIgnoreDelete: return "ignore-delete";
  }
  return "?";
}

std::unique_ptr<pipeline::Operator> MakeSinkAdapter(SinkAdapterSpec spec, const ExecContext& ctx) {
  return std::make_unique<SinkAdapterOp>(std::move(spec), ctx);
}

}  // namespace kl::sql::streaming
