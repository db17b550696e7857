#include "pipeline/runtime/lookup_join.h"

#include <map>

#include "common/clock.h"

namespace kl::pipeline {
namespace {

using format::Datum;
using format::Row;
using format::RowType;

class LookupJoinOp : public Operator {
 public:
  LookupJoinOp(RowType output, std::vector<int> input_keys, std::vector<int> table_keys, std::vector<int> columns,
               LookupJoinSpec spec)
      : output_(std::move(output)),
        input_keys_(std::move(input_keys)),
        table_keys_(std::move(table_keys)),
        columns_(std::move(columns)),
        spec_(std::move(spec)) {}

  std::string name() const override { return "lookup-join " + spec_.table->path(); }
  const RowType& output_type() const override { return output_; }

  Status Process(Changes& in, Changes* out) override {
    KL_RETURN_IF_ERROR(MaybeRefresh());
    Row key;
    for (auto& c : in) {
      key.clear();
      for (int k : input_keys_) key.push_back(c.row[static_cast<size_t>(k)]);
      Change o{c.kind, std::move(c.row)};
      bool null_key = false;
      for (const auto& k : key) null_key = null_key || k.is_null();
      auto it = null_key ? rows_.end() : rows_.find(key);  // NULL equals nothing
      if (it == rows_.end() && spec_.inner) continue;
      for (size_t i = 0; i < columns_.size(); ++i) o.row.push_back(it == rows_.end() ? Datum() : it->second[i]);
      out->push_back(std::move(o));
    }
    return Status::OK();
  }

 private:
  Status MaybeRefresh() {
    int64_t now = NowMillis();
    if (loaded_ && now - checked_ms_ < spec_.refresh_ms) return Status::OK();
    checked_ms_ = now;
    KL_ASSIGN_OR_RETURN(std::optional<int64_t> latest, spec_.table->snapshots().LatestId());
    if (loaded_ && latest == snapshot_) return Status::OK();
    std::map<Row, Row, RowLess> fresh;
    if (latest) {
      KL_ASSIGN_OR_RETURN(table::RowsWithKinds rows, spec_.table->ReadAll(*latest));
      for (size_t i = 0; i < rows.size(); ++i) {
        Row all = rows.rows.GetRow(i);
        if (spec_.table_filter && !spec_.table_filter(all)) continue;
        Row key, values;
        for (int k : table_keys_) key.push_back(all[static_cast<size_t>(k)]);
        for (int c : columns_) values.push_back(all[static_cast<size_t>(c)]);
        fresh[std::move(key)] = std::move(values);
      }
    }
    rows_ = std::move(fresh);
    snapshot_ = latest;
    loaded_ = true;
    return Status::OK();
  }

  struct RowLess {
    bool operator()(const Row& a, const Row& b) const { return format::CompareRows(a, b) < 0; }
  };
  RowType output_;
  std::vector<int> input_keys_, table_keys_, columns_;
  LookupJoinSpec spec_;
  std::map<Row, Row, RowLess> rows_;
  std::optional<int64_t> snapshot_;
  bool loaded_ = false;
  int64_t checked_ms_ = 0;
};

}  // namespace

Result<std::unique_ptr<Operator>> MakeLookupJoin(const RowType& input, LookupJoinSpec spec) {
  size_t num_input_keys = spec.input_key_indexes.empty() ? spec.input_keys.size() : spec.input_key_indexes.size();
  if (num_input_keys != spec.table_keys.size() || num_input_keys == 0) {
    return Status::InvalidArgument("lookup join needs matching, non-empty key lists");
  }
  const RowType& table_type = spec.table->schema().fields;
  std::vector<int> in_keys = spec.input_key_indexes, tab_keys, cols;
  for (int i : in_keys) {
    if (i < 0 || static_cast<size_t>(i) >= input.size()) return Status::InvalidArgument("lookup join: bad input key");
  }
  for (const auto& k : spec.input_keys) {
    if (!spec.input_key_indexes.empty()) break;
    int i = input.IndexOf(k);
    if (i < 0) return Status::InvalidArgument("lookup join: no input column \"" + k + "\"");
    in_keys.push_back(i);
  }
  for (const auto& k : spec.table_keys) {
    int i = table_type.IndexOf(k);
    if (i < 0)
      return Status::InvalidArgument("lookup join: table " + spec.table->path() + " has no column \"" + k + "\"");
    tab_keys.push_back(i);
  }
  std::vector<format::DataField> out = input.fields();
  int32_t next_id = 0;
  for (const auto& f : out) next_id = std::max(next_id, f.id + 1);
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    int c = table_type.IndexOf(spec.columns[i]);
    if (c < 0) {
      return Status::InvalidArgument("lookup join: table " + spec.table->path() + " has no column \"" +
                                     spec.columns[i] + "\"");
    }
    cols.push_back(c);
    std::string name = i < spec.output_names.size() ? spec.output_names[i] : spec.columns[i];
    out.push_back({next_id++, name, table_type.type(static_cast<size_t>(c)).WithNullable(true), ""});
  }
  return std::unique_ptr<Operator>(new LookupJoinOp(RowType(std::move(out)), std::move(in_keys), std::move(tab_keys),
                                                    std::move(cols), std::move(spec)));
}

}  // namespace kl::pipeline
