#include "table/mergetree/merge_function.h"

#include <algorithm>
#include <map>

#include "common/string_util.h"
#include "table/mergetree/aggregator.h"

namespace kl::table {

using format::Datum;
using format::Row;
using format::RowKind;
using format::RowType;

namespace {

// Paimon calls a function's retract only when a merge combines a retraction with another
// record of the key (a lone record passes unmerged); a function without retraction fails
// there, and only there.
Status UnretractableError(const std::string& column, std::string_view function) {
  return Status::NotSupported("column " + column + ": aggregate function " + std::string(function) +
                              " cannot take back a retracted (-U/-D) value that meets other records of its key; set "
                              "fields." + column + ".ignore-retract = true to drop retractions");
}

// Engines that keep one of a key's records as it is: the result refers to it.
class PickOneMerge : public MergeFunction {
 public:
  explicit PickOneMerge(bool ignore_delete) : ignore_delete_(ignore_delete) {}
  bool picks_input() const override { return true; }
  void Reset() override { has_ = false; }
  Status GetResult(MergeResult* out) override {
    out->present = has_;
    if (has_) {
      out->by_ref = true;
      out->ref = picked_;
      out->kind = picked_.kind();
      out->seq = picked_.seq();
    }
    return Status::OK();
  }

 protected:
  void Pick(const KvRef& kv) {
    picked_ = kv;
    has_ = true;
  }

  bool ignore_delete_;
  bool has_ = false;
  KvRef picked_;
};

class DeduplicateMerge : public PickOneMerge {
 public:
  using PickOneMerge::PickOneMerge;
  Status Add(const KvRef& kv) override {
    if (ignore_delete_ && format::IsRetract(kv.kind())) return Status::OK();
    Pick(kv);
    return Status::OK();
  }
};

class FirstRowMerge : public PickOneMerge {
 public:
  using PickOneMerge::PickOneMerge;
  Status Add(const KvRef& kv) override {
    if (format::IsRetract(kv.kind())) {
      if (ignore_delete_) return Status::OK();
      return Status::InvalidArgument(
          "the first-row merge engine does not accept -U/-D records; set ignore-delete = true to drop them");
    }
    if (!has_) Pick(kv);
    return Status::OK();
  }
};

// A sequence group: the columns `members` change only with a newer value of `sequence_columns`.
struct SequenceGroup {
  std::vector<int> sequence_columns;
  std::vector<int> members;
};

class PartialUpdateMerge : public MergeFunction {
 public:
  PartialUpdateMerge(MergeMode mode, size_t arity, std::vector<int> key_columns, bool ignore_delete,
                     bool remove_record_on_delete, std::vector<SequenceGroup> groups,
                     std::vector<std::unique_ptr<FieldAggregator>> aggregators)
      : mode_(mode),
        arity_(arity),
        key_columns_(std::move(key_columns)),
        ignore_delete_(ignore_delete),
        remove_on_delete_(remove_record_on_delete),
        groups_(std::move(groups)),
        aggregators_(std::move(aggregators)) {
    group_of_.assign(arity_, -1);
    is_sequence_column_.assign(arity_, -1);
    for (size_t g = 0; g < groups_.size(); ++g) {
      for (int m : groups_[g].members) group_of_[static_cast<size_t>(m)] = static_cast<int>(g);
      for (int s : groups_[g].sequence_columns) is_sequence_column_[static_cast<size_t>(s)] = static_cast<int>(g);
    }
  }

  void Reset() override {
    row_.assign(arity_, Datum());
    empty_ = true;
    deleted_ = false;
    retracted_ = false;
    records_ = 0;
    unretractable_ = -1;
    for (auto& a : aggregators_) {
      if (a) a->Reset();
    }
  }

  Status Add(const KvRef& kv) override {
    latest_seq_ = kv.seq();
    if (format::IsRetract(kv.kind()) && ignore_delete_) return Status::OK();
    ++records_;
    KL_RETURN_IF_ERROR(AddRecord(kv));
    if (unretractable_ >= 0 && records_ > 1) {
      return UnretractableError(kv.batch->values.schema().field(static_cast<size_t>(unretractable_)).name,
                                aggregators_[static_cast<size_t>(unretractable_)]->name());
    }
    return Status::OK();
  }

  Status GetResult(MergeResult* out) override {
    out->by_ref = false;
    out->row = row_;
    out->seq = latest_seq_;
    if (empty_ && retracted_ && mode_ == MergeMode::kStore) {
      // Only retractions so far: pass them on as one retraction, so that a
      // later merge with older records still takes those group values back
      // (dropping them would resurrect the values).
      out->present = true;
      out->kind = RowKind::kUpdateBefore;
      return Status::OK();
    }
    out->present = !empty_;
    out->kind = deleted_ ? RowKind::kDelete : RowKind::kInsert;
    return Status::OK();
  }

 private:
  Status AddRecord(const KvRef& kv) {
    if (format::IsRetract(kv.kind())) {
      if (remove_on_delete_) {
        if (kv.kind() == RowKind::kDelete) {
          // As Paimon: the row goes, and restarts from the values the delete record
          // carries (a later insert of the key updates its non-null fields on top).
          for (size_t i = 0; i < arity_; ++i) row_[i] = kv.column(i).Get(kv.row);
          deleted_ = true;
          empty_ = false;
        }
        return Status::OK();
      }
      if (!groups_.empty()) {
        retracted_ = true;
        for (int k : key_columns_) row_[static_cast<size_t>(k)] = kv.column(static_cast<size_t>(k)).Get(kv.row);
        return RetractWithGroups(kv);
      }
      return Status::InvalidArgument(
          "the partial-update merge engine cannot accept -U/-D records by default; set ignore-delete, "
          "partial-update.remove-record-on-delete or sequence groups (fields.<seq>.sequence-group)");
    }
    empty_ = false;
    deleted_ = false;
    if (groups_.empty()) {
      for (size_t i = 0; i < arity_; ++i) {
        const format::Column& c = kv.column(i);
        if (!c.IsNull(kv.row)) row_[i] = c.Get(kv.row);
      }
      return Status::OK();
    }
    return UpdateWithGroups(kv);
  }

  // Compares the group's sequence value in the incoming record against the current row.
  // Returns nullopt when the incoming record has no sequence value.
  std::optional<int> CompareGroupSequence(const SequenceGroup& g, const KvRef& kv) const {
    Row incoming;
    Row current;
    for (int s : g.sequence_columns) {
      incoming.push_back(kv.column(static_cast<size_t>(s)).Get(kv.row));
      current.push_back(row_[static_cast<size_t>(s)]);
    }
    for (const auto& d : incoming) {
      if (d.is_null()) return std::nullopt;
    }
    for (const auto& d : current) {
      if (d.is_null()) return 1;  // no previous sequence: the incoming one is newer
    }
    return format::CompareRows(incoming, current);
  }

  Status UpdateWithGroups(const KvRef& kv) {
    std::vector<std::optional<int>> cmp(groups_.size());
    for (size_t g = 0; g < groups_.size(); ++g) cmp[g] = CompareGroupSequence(groups_[g], kv);
    for (size_t i = 0; i < arity_; ++i) {
      Datum field = kv.column(i).Get(kv.row);
      int seq_group = is_sequence_column_[i];
      if (seq_group >= 0) {
        if (cmp[static_cast<size_t>(seq_group)] && *cmp[static_cast<size_t>(seq_group)] > 0) row_[i] = field;
        continue;
      }
      int g = group_of_[i];
      FieldAggregator* agg = aggregators_[i].get();
      if (g < 0) {
        if (agg != nullptr)
          KL_RETURN_IF_ERROR(agg->Agg(&row_[i], field, kv.batch->merged));
        else if (!field.is_null())
          row_[i] = field;
        continue;
      }
      const auto& c = cmp[static_cast<size_t>(g)];
      if (!c) continue;
      if (*c >= 0) {
        if (agg != nullptr)
          KL_RETURN_IF_ERROR(agg->Agg(&row_[i], field, kv.batch->merged));
        else
          row_[i] = field;
      } else if (agg != nullptr) {
        // An older record still contributes to aggregates of its group, as if it had
        // come first (first_value takes it, last_value keeps the newer value).
        KL_RETURN_IF_ERROR(agg->AggReversed(&row_[i], field, kv.batch->merged));
      }
    }
    return Status::OK();
  }

  Status RetractWithGroups(const KvRef& kv) {
    std::vector<std::optional<int>> cmp(groups_.size());
    for (size_t g = 0; g < groups_.size(); ++g) cmp[g] = CompareGroupSequence(groups_[g], kv);
    for (size_t i = 0; i < arity_; ++i) {
      int seq_group = is_sequence_column_[i];
      if (seq_group >= 0) {
        if (cmp[static_cast<size_t>(seq_group)] && *cmp[static_cast<size_t>(seq_group)] > 0) {
          row_[i] = kv.column(i).Get(kv.row);
        }
        continue;
      }
      int g = group_of_[i];
      if (g < 0) continue;  // columns outside every group keep their value
      const auto& c = cmp[static_cast<size_t>(g)];
      if (!c) continue;
      FieldAggregator* agg = aggregators_[i].get();
      if (agg != nullptr && !agg->can_retract()) {
        // A lone retraction leaves the column empty; one that meets another record of
        // the key fails in Add, as in Paimon.
        if (unretractable_ < 0) unretractable_ = static_cast<int>(i);
      } else if (agg != nullptr) {
        KL_RETURN_IF_ERROR(agg->Retract(&row_[i], kv.column(i).Get(kv.row), kv.batch->merged));
      } else if (*c >= 0) {
        row_[i] = Datum();
      }
    }
    return Status::OK();
  }

  MergeMode mode_;
  size_t arity_;
  std::vector<int> key_columns_;
  bool ignore_delete_;
  bool remove_on_delete_;
  std::vector<SequenceGroup> groups_;
  std::vector<std::unique_ptr<FieldAggregator>> aggregators_;
  std::vector<int> group_of_;
  std::vector<int> is_sequence_column_;
  Row row_;
  bool empty_ = true;
  bool deleted_ = false;
  bool retracted_ = false;
  int64_t records_ = 0;
  int unretractable_ = -1;  // a column whose function has no retraction that a retraction reached, or -1
  int64_t latest_seq_ = 0;
};

class AggregateMerge : public MergeFunction {
 public:
  AggregateMerge(MergeMode mode, std::vector<std::unique_ptr<FieldAggregator>> aggregators,
                 std::vector<int> key_columns, bool remove_record_on_delete, bool ignore_delete)
      : mode_(mode),
        aggregators_(std::move(aggregators)),
        key_columns_(std::move(key_columns)),
        remove_on_delete_(remove_record_on_delete),
        ignore_delete_(ignore_delete) {
    for (size_t i = 0; i < aggregators_.size(); ++i) {
      if (!aggregators_[i]->can_retract() && first_unretractable_ < 0) first_unretractable_ = static_cast<int>(i);
    }
  }

  void Reset() override {
    row_.assign(aggregators_.size(), Datum());
    empty_ = true;
    deleted_ = false;
    only_retracts_ = true;
    retract_kind_ = RowKind::kUpdateBefore;
    records_ = 0;
    retraction_seen_ = false;
    for (auto& a : aggregators_) a->Reset();
  }

  Status Add(const KvRef& kv) override {
    latest_seq_ = kv.seq();
    bool retract = format::IsRetract(kv.kind());
    if (retract && ignore_delete_) return Status::OK();
    bool delete_resets = kv.kind() == RowKind::kDelete && remove_on_delete_;
    bool retraction_before = retraction_seen_;
    ++records_;
    retraction_seen_ = retraction_seen_ || (retract && !delete_resets);
    if (retraction_seen_ && records_ > 1 && first_unretractable_ >= 0) {
      return UnretractableError(kv.batch->values.schema().field(static_cast<size_t>(first_unretractable_)).name,
                                aggregators_[static_cast<size_t>(first_unretractable_)]->name());
    }
    empty_ = false;
    if (mode_ == MergeMode::kStore && only_retracts_) {
      if (retract) {
        // A run of retractions is stored as one retraction: fold the
        // retracted values together (Agg), and retract them all later.
        retract_kind_ = kv.kind();
        if (delete_resets) return AddDeleteReset(kv);
        for (size_t i = 0; i < aggregators_.size(); ++i) {
          Status s = aggregators_[i]->Agg(&row_[i], kv.column(i).Get(kv.row), kv.batch->merged);
          if (!s.ok()) return s.WithContext("column " + kv.batch->values.schema().field(i).name);
        }
        return Status::OK();
      }
      only_retracts_ = false;
      if (retraction_before) {
        // The first addition after retractions: turn the folded retractions into
        // their effect on an empty accumulator, then go on normally.
        Row retracted = std::move(row_);
        row_.assign(aggregators_.size(), Datum());
        for (auto& a : aggregators_) a->Reset();
        if (!deleted_) {
          for (size_t i = 0; i < aggregators_.size(); ++i) {
            KL_RETURN_IF_ERROR(aggregators_[i]->Retract(&row_[i], retracted[i], /*merged_input=*/true));
          }
        }
      }
    }
    only_retracts_ = only_retracts_ && retract;
    if (delete_resets) return AddDeleteReset(kv);
    deleted_ = false;
    for (size_t i = 0; i < aggregators_.size(); ++i) {
      Datum in = kv.column(i).Get(kv.row);
      Status s;
      if (!retract) {
        s = aggregators_[i]->Agg(&row_[i], in, kv.batch->merged);
      } else if (aggregators_[i]->can_retract()) {
        s = aggregators_[i]->Retract(&row_[i], in, kv.batch->merged);
      }
      // else: a lone retraction (the key's only record) leaves the column empty.
      if (!s.ok()) return s.WithContext("column " + kv.batch->values.schema().field(i).name);
    }
    return Status::OK();
  }

  Status GetResult(MergeResult* out) override {
    out->present = !empty_;
    out->by_ref = false;
    out->row = row_;
    out->kind = deleted_ ? RowKind::kDelete : RowKind::kInsert;
    if (!empty_ && !deleted_ && mode_ == MergeMode::kStore && only_retracts_) out->kind = retract_kind_;
    out->seq = latest_seq_;
    return Status::OK();
  }

 private:
  Status AddDeleteReset(const KvRef& kv) {
    row_.assign(aggregators_.size(), Datum());
    for (int k : key_columns_) row_[static_cast<size_t>(k)] = kv.column(static_cast<size_t>(k)).Get(kv.row);
    for (auto& a : aggregators_) a->Reset();
    deleted_ = true;
    only_retracts_ = false;
    return Status::OK();
  }

  MergeMode mode_;
  std::vector<std::unique_ptr<FieldAggregator>> aggregators_;
  std::vector<int> key_columns_;
  bool remove_on_delete_;
  bool ignore_delete_;
  int first_unretractable_ = -1;  // a column whose function has no retraction, or -1
  Row row_;
  bool empty_ = true;
  bool deleted_ = false;
  bool only_retracts_ = true;
  RowKind retract_kind_ = RowKind::kUpdateBefore;
  int64_t records_ = 0;
  bool retraction_seen_ = false;
  int64_t latest_seq_ = 0;
};

Result<std::vector<SequenceGroup>> ParseSequenceGroups(const TableSchema& schema, const RowType& value_type) {
  std::vector<SequenceGroup> groups;
  const std::string suffix = ".sequence-group";
  for (const auto& [key, value] : schema.options) {
    if (key.rfind("fields.", 0) != 0 || key.size() <= suffix.size() + 7 ||
        key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    std::string seq_names = key.substr(7, key.size() - 7 - suffix.size());
    SequenceGroup g;
    for (const auto& n : Split(seq_names, ',', true)) {
      int i = value_type.IndexOf(std::string(Trim(n)));
      if (i < 0) return Status::InvalidArgument("option " + key + ": no column \"" + std::string(Trim(n)) + "\"");
      g.sequence_columns.push_back(i);
    }
    for (const auto& n : Split(value, ',', true)) {
      int i = value_type.IndexOf(std::string(Trim(n)));
      if (i < 0) return Status::InvalidArgument("option " + key + ": no column \"" + std::string(Trim(n)) + "\"");
      g.members.push_back(i);
    }
    groups.push_back(std::move(g));
  }
  return groups;
}

}  // namespace

bool HasSequenceGroups(const TableSchema& schema) {
  if (schema.table_options().merge_engine() != MergeEngine::kPartialUpdate) return false;
  const std::string suffix = ".sequence-group";
  for (const auto& [key, value] : schema.options) {
    if (key.rfind("fields.", 0) == 0 && key.size() > suffix.size() &&
        key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

bool MergeNeedsAllColumns(const TableSchema& schema) {
  MergeEngine e = schema.table_options().merge_engine();
  return e == MergeEngine::kPartialUpdate || e == MergeEngine::kAggregation;
}

Result<std::unique_ptr<MergeFunction>> CreateMergeFunction(const TableSchema& schema, const RowType& value_type,
                                                           MergeMode mode) {
  TableOptions opts = schema.table_options();
  bool ignore_delete = opts.ignore_delete();
  auto is_key = [&](const std::string& name) {
    return std::find(schema.primary_keys.begin(), schema.primary_keys.end(), name) != schema.primary_keys.end();
  };
  std::vector<int> key_columns;
  for (size_t i = 0; i < value_type.size(); ++i) {
    if (is_key(value_type.field(i).name)) key_columns.push_back(static_cast<int>(i));
  }
  switch (opts.merge_engine()) {
    case MergeEngine::kDeduplicate: return std::unique_ptr<MergeFunction>(new DeduplicateMerge(ignore_delete));
    case MergeEngine::kFirstRow: return std::unique_ptr<MergeFunction>(new FirstRowMerge(ignore_delete));
    case MergeEngine::kPartialUpdate: {
      KL_ASSIGN_OR_RETURN(std::vector<SequenceGroup> groups, ParseSequenceGroups(schema, value_type));
      std::vector<std::unique_ptr<FieldAggregator>> aggs(value_type.size());
      for (size_t i = 0; i < value_type.size(); ++i) {
        const auto& f = value_type.field(i);
        auto fn = opts.FieldOption(f.name, "aggregate-function");
        if (!fn) continue;
        bool ignore_retract = EqualsIgnoreCase(opts.FieldOption(f.name, "ignore-retract").value_or("false"), "true");
        KL_ASSIGN_OR_RETURN(aggs[i], CreateFieldAggregator(*fn, f.type, f.name, opts, ignore_retract));
      }
      if (groups.empty()) {
        for (const auto& a : aggs) {
          if (a) return Status::InvalidArgument("partial-update aggregate functions need sequence groups");
        }
      }
      // Refused as Paimon refuses them: the options contradict each other, or (the last) kubelake
      // does not implement it and ignoring it would keep rows its users expect gone.
      bool remove_on_delete = opts.partial_update_remove_record_on_delete();
      if (remove_on_delete && ignore_delete) {
        return Status::InvalidArgument(
            "ignore-delete and partial-update.remove-record-on-delete conflict; set only one");
      }
      if (remove_on_delete && !groups.empty()) {
        return Status::InvalidArgument(
            "sequence groups and partial-update.remove-record-on-delete conflict; sequence groups retract their "
            "columns on -U/-D");
      }
      if (!opts.GetString("partial-update.remove-record-on-sequence-group", "").empty()) {
        return Status::NotSupported("partial-update.remove-record-on-sequence-group is not supported");
      }
      return std::unique_ptr<MergeFunction>(new PartialUpdateMerge(mode, value_type.size(), key_columns, ignore_delete,
                                                                   opts.partial_update_remove_record_on_delete(),
                                                                   std::move(groups), std::move(aggs)));
    }
    case MergeEngine::kAggregation: {
      std::vector<std::unique_ptr<FieldAggregator>> aggs;
      std::string fallback = opts.GetString("fields.default-aggregate-function", "last_non_null_value");
      for (const auto& f : value_type.fields()) {
        bool ignore_retract = EqualsIgnoreCase(opts.FieldOption(f.name, "ignore-retract").value_or("false"), "true");
        std::string fn =
            is_key(f.name) ? "primary-key" : opts.FieldOption(f.name, "aggregate-function").value_or(fallback);
        KL_ASSIGN_OR_RETURN(auto agg, CreateFieldAggregator(fn, f.type, f.name, opts, ignore_retract));
        aggs.push_back(std::move(agg));
      }
      return std::unique_ptr<MergeFunction>(new AggregateMerge(
          mode, std::move(aggs), key_columns, opts.aggregation_remove_record_on_delete(), ignore_delete));
    }
  }
  return Status::Internal("unknown merge engine");
}

}  // namespace kl::table
