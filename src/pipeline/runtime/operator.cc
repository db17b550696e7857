#include "pipeline/runtime/operator.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>

#include "common/json.h"
#include "common/string_util.h"

namespace kl::pipeline {

using format::DataType;
using format::Datum;
using format::Row;
using format::RowKind;
using format::RowType;

void AppendBatch(ChangeBatch& from, ChangeBatch* to) {
  if (from.empty()) return;
  if (to->empty()) {
    *to = std::move(from);
    from = ChangeBatch{};
    return;
  }
  size_t n = from.size();
  for (size_t c = 0; c < to->rows.num_columns(); ++c) {
    to->rows.mutable_column(c).AppendRange(from.rows.column(c), 0, n);
  }
  to->rows.SetNumRows(to->rows.num_rows() + n);
  to->kinds.insert(to->kinds.end(), from.kinds.begin(), from.kinds.end());
  from = ChangeBatch{};
}

void AppendChangesToBatch(const RowType& type, Changes& changes, ChangeBatch* out) {
  if (out->empty()) *out = ChangeBatch{format::ColumnBatch(type), {}};
  out->rows.Reserve(out->size() + changes.size());
  for (auto& c : changes) {
    out->rows.AppendRow(c.row);
    out->kinds.push_back(c.kind);
    c.row.clear();
  }
}

void AppendBatchToChanges(const ChangeBatch& batch, Changes* out) {
  // Geometric growth: a source appends one batch per plan it reads into the same vector.
  if (out->capacity() < out->size() + batch.size())
    out->reserve(std::max(out->size() + batch.size(), 2 * out->capacity()));
  for (size_t i = 0; i < batch.size(); ++i) out->push_back({batch.kinds[i], batch.rows.GetRow(i)});
}

Status Operator::ProcessIntoBatch(Changes& in, ChangeBatch* out) {
  Changes rows;
  KL_RETURN_IF_ERROR(Process(in, &rows));
  AppendChangesToBatch(output_type(), rows, out);
  return Status::OK();
}

Status Operator::ProcessBatch(ChangeBatch& in, ChangeBatch* out) {
  Changes rows;
  AppendBatchToChanges(in, &rows);
  return ProcessIntoBatch(rows, out);
}

Status Operator::FinishBatches(std::vector<ChangeBatch>* out) {
  ChangeBatch batch;
  KL_RETURN_IF_ERROR(FinishBatch(&batch));
  if (!batch.empty()) out->push_back(std::move(batch));
  return Status::OK();
}

Status Operator::FinishBatch(ChangeBatch* out) {
  Changes rows;
  KL_RETURN_IF_ERROR(Finish(&rows));
  if (!rows.empty()) AppendChangesToBatch(output_type(), rows, out);
  return Status::OK();
}

namespace {

// A hash of a row consistent with CompareRows' equality, which compares integers,
// booleans and doubles by value across kinds: an integral double hashes as the integer.
struct RowHash {
  static uint64_t Mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ULL + (h >> 29); }
  static uint64_t OfDatum(const Datum& d) {
    switch (d.kind()) {
      case Datum::Kind::kNull: return 0x9e3779b97f4a7c15ULL;
      case Datum::Kind::kBool:
      case Datum::Kind::kInt: return std::hash<int64_t>()(d.as_int()) * 0xff51afd7ed558ccdULL;
      case Datum::Kind::kDouble: {
        double x = d.as_double();
        if (std::isnan(x)) return 0x7ff8;
        if (x == std::trunc(x) && x >= -9.2e18 && x <= 9.2e18) {
          return std::hash<int64_t>()(static_cast<int64_t>(x)) * 0xff51afd7ed558ccdULL;
        }
        return std::hash<double>()(x);
      }
      case Datum::Kind::kBytes: return std::hash<std::string>()(d.as_bytes());
      case Datum::Kind::kDecimal: {
        auto v = static_cast<unsigned __int128>(d.as_decimal());
        return Mix(static_cast<uint64_t>(v), static_cast<uint64_t>(v >> 64));
      }
      case Datum::Kind::kTimestamp: {
        format::Timestamp t = d.as_timestamp();
        return Mix(static_cast<uint64_t>(t.millis), static_cast<uint64_t>(t.nanos));
      }
      case Datum::Kind::kList: return 0x11;  // rare as a group key: equality decides
    }
    return 0;
  }
  size_t operator()(const Row& row) const {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const Datum& d : row) h = Mix(h, OfDatum(d));
    return static_cast<size_t>(h);
  }
};

class FilterOp : public Operator {
 public:
  FilterOp(RowType type, std::function<bool(const Change&)> pred, std::string name)
      : type_(std::move(type)), pred_(std::move(pred)), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  const RowType& output_type() const override { return type_; }
  Status Process(Changes& in, Changes* out) override {
    for (auto& c : in) {
      if (pred_(c)) out->push_back(std::move(c));
    }
    return Status::OK();
  }

 private:
  RowType type_;
  std::function<bool(const Change&)> pred_;
  std::string name_;
};

class MapOp : public Operator {
 public:
  MapOp(RowType type, MapFn fn, std::string name)
      : type_(std::move(type)), fn_(std::move(fn)), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  const RowType& output_type() const override { return type_; }
  Status Process(Changes& in, Changes* out) override {
    for (auto& c : in) KL_RETURN_IF_ERROR(fn_(c, out));
    return Status::OK();
  }

 private:
  RowType type_;
  MapFn fn_;
  std::string name_;
};

// One step of a JSON_VALUE path: an object key or an array index.
struct PathStep {
  bool is_index = false;
  std::string key;
  size_t index = 0;
};

Result<std::vector<PathStep>> ParseJsonPath(std::string_view path) {
  std::vector<PathStep> steps;
  std::string_view p = Trim(path);
  if (p.empty() || p[0] != '$') return Status::InvalidArgument("JSON path must start with $: " + std::string(path));
  size_t i = 1;
  while (i < p.size()) {
    if (p[i] == '.') {
      size_t start = ++i;
      while (i < p.size() && p[i] != '.' && p[i] != '[') ++i;
      if (i == start) return Status::InvalidArgument("empty key in JSON path " + std::string(path));
      steps.push_back({false, std::string(p.substr(start, i - start)), 0});
    } else if (p[i] == '[') {
      ++i;
      if (i < p.size() && (p[i] == '\'' || p[i] == '"')) {
        char quote = p[i++];
        size_t start = i;
        while (i < p.size() && p[i] != quote) ++i;
        if (i + 1 >= p.size() || p[i + 1] != ']')
          return Status::InvalidArgument("bad quoted key in JSON path " + std::string(path));
        steps.push_back({false, std::string(p.substr(start, i - start)), 0});
        i += 2;
      } else {
        size_t start = i;
        while (i < p.size() && p[i] != ']') ++i;
        auto idx = ParseUint64(p.substr(start, i - start));
        if (!idx || i >= p.size()) return Status::InvalidArgument("bad index in JSON path " + std::string(path));
        steps.push_back({true, "", static_cast<size_t>(*idx)});
        ++i;
      }
    } else {
      return Status::InvalidArgument("unexpected '" + std::string(1, p[i]) + "' in JSON path " + std::string(path));
    }
  }
  return steps;
}

class JsonExtractOp : public Operator {
 public:
  JsonExtractOp(RowType output, int json_column, std::vector<JsonField> fields,
                std::vector<std::vector<PathStep>> paths)
      : output_(std::move(output)), json_column_(json_column), fields_(std::move(fields)), paths_(std::move(paths)) {}
  std::string name() const override { return "json-extract"; }
  const RowType& output_type() const override { return output_; }

  Status Process(Changes& in, Changes* out) override {
    for (auto& c : in) {
      Change o{c.kind, std::move(c.row)};
      const Datum& text = o.row[static_cast<size_t>(json_column_)];
      simdjson::dom::element root;
      bool parsed = false;
      if (!text.is_null()) {
        const std::string& s = text.as_bytes();
        parsed = !parser_.parse(s.data(), s.size()).get(root);
      }
      for (size_t f = 0; f < fields_.size(); ++f) o.row.push_back(parsed ? Extract(root, f) : Datum());
      out->push_back(std::move(o));
    }
    return Status::OK();
  }

 private:
  Datum Extract(simdjson::dom::element root, size_t f) const {
    simdjson::dom::element e = root;
    for (const auto& step : paths_[f]) {
      simdjson::dom::element next;
      if (step.is_index) {
        simdjson::dom::array arr;
        if (e.get_array().get(arr) || arr.at(step.index).get(next)) return Datum();
      } else {
        simdjson::dom::object obj;
        if (e.get_object().get(obj) || obj.at_key(step.key).get(next)) return Datum();
      }
      e = next;
    }
    const DataType& t = fields_[f].type;
    switch (e.type()) {
      case simdjson::dom::element_type::STRING: {
        std::string_view sv = e.get_string().value_unsafe();
        if (t.is_string()) return Datum::Bytes(std::string(sv));
        auto d = format::DatumFromJson(JsonValue::String(std::string(sv)), t);
        return d.ok() ? *d : Datum();
      }
      case simdjson::dom::element_type::INT64:
      case simdjson::dom::element_type::UINT64: {
        int64_t v = e.type() == simdjson::dom::element_type::INT64
                        ? int64_t(e.get_int64().value_unsafe())
                        : static_cast<int64_t>(uint64_t(e.get_uint64().value_unsafe()));
        if (t.is_string()) return Datum::Bytes(std::to_string(v));
        if (t.physical() == format::PhysicalKind::kDouble) return Datum::Double(static_cast<double>(v));
        if (t.physical() == format::PhysicalKind::kInt) return Datum::Int(v);
        return Datum();
      }
      case simdjson::dom::element_type::DOUBLE: {
        double v = e.get_double().value_unsafe();
        if (t.is_string()) return Datum::Bytes(FormatDouble(v));
        if (t.physical() == format::PhysicalKind::kDouble) return Datum::Double(v);
        if (t.physical() == format::PhysicalKind::kInt) return Datum::Int(static_cast<int64_t>(v));
        return Datum();
      }
      case simdjson::dom::element_type::BOOL: {
        bool v = e.get_bool().value_unsafe();
        if (t.is_string()) return Datum::Bytes(v ? "true" : "false");
        if (t.root() == format::TypeRoot::kBoolean) return Datum::Bool(v);
        return Datum();
      }
      case simdjson::dom::element_type::ARRAY:
      case simdjson::dom::element_type::OBJECT:
        // JSON_VALUE returns scalars only; JSON_QUERY-style fields ask for the text.
        if (!fields_[f].as_json || !t.is_string()) return Datum();
        return Datum::Bytes(simdjson::minify(e));
      case simdjson::dom::element_type::NULL_VALUE: return Datum();
    }
    return Datum();
  }

  RowType output_;
  int json_column_;
  std::vector<JsonField> fields_;
  std::vector<std::vector<PathStep>> paths_;
  simdjson::dom::parser parser_;
};

class DeltaAggregateOp : public Operator {
 public:
  DeltaAggregateOp(DeltaAggregateSpec spec, std::string name) : spec_(std::move(spec)), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  const RowType& output_type() const override { return spec_.output; }

  Status Process(Changes& in, Changes* out) override {
    Row key;
    std::vector<int64_t> values;
    for (const auto& c : in) {
      key.clear();
      values.clear();
      if (!spec_.extract(c.row, &key, &values)) continue;
      Add(c.kind, key, values);
    }
    return Status::OK();
  }

  bool takes_batches() const override { return static_cast<bool>(spec_.extract_at); }

  Status ProcessBatch(ChangeBatch& in, ChangeBatch* out) override {
    if (!spec_.extract_at) return Operator::ProcessBatch(in, out);
    Row key;
    std::vector<int64_t> values;
    if (!spec_.key_at.empty()) {
      // A checkpoint's rows hit few groups many times: the group is found from the key's
      // cells, and a key row (its strings copied) is built only for a group not seen yet.
      for (size_t i = 0; i < in.size(); ++i) {
        values.clear();
        if (!spec_.extract_at(in.rows, i, nullptr, &values)) continue;
        const uint64_t hash = HashKeyCells(in.rows, spec_.key_at, i);
        Group& group = FindOrAdd(
            hash, [&](const Row& k) { return KeyCellsEqual(in.rows, spec_.key_at, i, k); },
            [&](Row* k) {
              for (size_t c : spec_.key_at) k->push_back(in.rows.column(c).Get(i));
            },
            values.size());
        AddTo(in.kinds[i], values, &group.sums);
      }
      return Status::OK();
    }
    for (size_t i = 0; i < in.size(); ++i) {
      key.clear();
      values.clear();
      if (!spec_.extract_at(in.rows, i, &key, &values)) continue;
      Add(in.kinds[i], key, values);
    }
    return Status::OK();
  }

  Status Finish(Changes* out) override {
    for (const Group* group : SortedNonZero()) {
      Row row;
      row.reserve(group->key.size() + group->sums.size());
      row.insert(row.end(), group->key.begin(), group->key.end());
      for (int64_t v : group->sums) row.push_back(Datum::Int(v));
      out->push_back({RowKind::kInsert, std::move(row)});
    }
    ClearGroups();
    return Status::OK();
  }

  // As Finish, straight into the batch's columns: no row of Datums is copied per group.
  Status FinishBatch(ChangeBatch* out) override {
    std::vector<const Group*> keyed = SortedNonZero();
    if (!keyed.empty()) {
      if (out->empty()) *out = ChangeBatch{format::ColumnBatch(spec_.output), {}};
      format::ColumnBatch& rows = out->rows;
      rows.Reserve(rows.num_rows() + keyed.size());
      const size_t columns = rows.num_columns();
      for (const Group* group : keyed) {
        const Row& key = group->key;
        const std::vector<int64_t>& sums = group->sums;
        for (size_t c = 0; c < columns; ++c) {
          format::Column& col = rows.mutable_column(c);
          if (c < key.size()) {
            col.Append(key[c]);
          } else if (c - key.size() < sums.size()) {
            // A sum column of another kind (DOUBLE) takes the value converted, as Finish's row.
            if (col.kind() == format::PhysicalKind::kInt) {
              col.AppendInt(sums[c - key.size()]);
            } else {
              col.Append(Datum::Int(sums[c - key.size()]));
            }
          } else {
            col.AppendNull();
          }
        }
        rows.SetNumRows(rows.num_rows() + 1);
        out->kinds.push_back(RowKind::kInsert);
      }
    }
    ClearGroups();
    return Status::OK();
  }

 private:
  // One group of the checkpoint: its key and the sums of its changes.
  struct Group {
    Row key;
    std::vector<int64_t> sums;
    uint64_t hash = 0;
  };

  // The groups whose sums are not all zero, in key order, as before the deltas were
  // hashed: what a checkpoint emits does not depend on the hash table's layout.
  std::vector<const Group*> SortedNonZero() const {
    std::vector<const Group*> keyed;
    keyed.reserve(used_);
    for (size_t g = 0; g < used_; ++g) {
      bool all_zero = true;
      for (int64_t v : groups_[g].sums) all_zero &= v == 0;
      if (!all_zero) keyed.push_back(&groups_[g]);
    }
    std::sort(keyed.begin(), keyed.end(),
              [](const Group* a, const Group* b) { return format::CompareRows(a->key, b->key) < 0; });
    return keyed;
  }

  void Add(RowKind kind, const Row& key, const std::vector<int64_t>& values) {
    Group& group = FindOrAdd(
        HashKeyRow(key), [&](const Row& k) { return format::CompareRows(k, key) == 0; },
        [&](Row* k) { k->insert(k->end(), key.begin(), key.end()); }, values.size());
    AddTo(kind, values, &group.sums);
  }
  static void AddTo(RowKind kind, const std::vector<int64_t>& values, std::vector<int64_t>* sums) {
    int64_t sign = format::IsRetract(kind) ? -1 : 1;
    for (size_t i = 0; i < values.size(); ++i) (*sums)[i] += sign * values[i];
  }

  // The group of the key hashed to `hash` that `equal` accepts, or a new one whose key
  // `make_key` appends (to an empty row) and whose `values` sums start at zero. Open
  // addressing over groups_ by index: a checkpoint's thousands of groups are found with a
  // shift and a probe or two, not a division and a walk down a list of nodes, and the
  // groups (their rows and sums) are reused by the checkpoints after.
  template <typename Equal, typename MakeKey>
  Group& FindOrAdd(uint64_t hash, const Equal& equal, const MakeKey& make_key, size_t values) {
    if (2 * (used_ + 1) > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    for (size_t s = Slot(hash);; s = (s + 1) & mask) {
      uint32_t g = slots_[s];
      if (g == 0) {
        if (used_ == groups_.size()) groups_.emplace_back();
        Group& group = groups_[used_];
        group.key.clear();
        make_key(&group.key);
        group.sums.assign(values, 0);
        group.hash = hash;
        slots_[s] = static_cast<uint32_t>(++used_);
        return group;
      }
      Group& group = groups_[g - 1];
      if (group.hash == hash && equal(group.key)) return group;
    }
  }
  size_t Slot(uint64_t hash) const { return static_cast<size_t>((hash * 0x9e3779b97f4a7c15ULL) >> slot_shift_); }
  void Grow() {
    size_t size = std::max<size_t>(64, 2 * slots_.size());
    slots_.assign(size, 0);
    slot_shift_ = 64 - std::countr_zero(size);
    const size_t mask = size - 1;
    for (size_t g = 0; g < used_; ++g) {
      size_t s = Slot(groups_[g].hash);
      while (slots_[s] != 0) s = (s + 1) & mask;
      slots_[s] = static_cast<uint32_t>(g + 1);
    }
  }
  // Ends the checkpoint's groups. Their rows stay for the next checkpoint's groups, unless far
  // more than it used were kept (a burst of groups gone by).
  void ClearGroups() {
    std::fill(slots_.begin(), slots_.end(), 0);
    if (groups_.size() > 4 * std::max<size_t>(used_, 1024)) {
      groups_.resize(used_);
      groups_.shrink_to_fit();
      slots_.clear();
      slot_shift_ = 64;
    }
    used_ = 0;
  }

  DeltaAggregateSpec spec_;
  std::string name_;
  std::vector<Group> groups_;  // [0, used_): this checkpoint's; the rest kept for reuse
  size_t used_ = 0;
  std::vector<uint32_t> slots_;  // a power of two of them: 0 empty, else a group's index + 1
  int slot_shift_ = 64;          // 64 - log2(slots_.size())
};

class DedupLatestOp : public Operator {
 public:
  DedupLatestOp(DedupSpec spec, std::string name) : spec_(std::move(spec)), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  const RowType& output_type() const override { return spec_.type; }

  Status Process(Changes& in, Changes* out) override {
    for (const auto& c : in) {
      Row key;
      for (int k : spec_.key_columns) key.push_back(c.row[static_cast<size_t>(k)]);
      auto it = latest_.find(key);
      if (format::IsRetract(c.kind)) {
        // A retraction of the current row removes the key.
        if (it != latest_.end() && format::CompareRows(it->second, c.row) == 0) {
          out->push_back({RowKind::kDelete, it->second});
          latest_.erase(it);
        }
        continue;
      }
      if (it == latest_.end()) {
        out->push_back({RowKind::kInsert, c.row});
        latest_.emplace(std::move(key), c.row);
      } else if (spec_.newer(c.row, it->second)) {
        out->push_back({RowKind::kUpdateBefore, it->second});
        out->push_back({RowKind::kUpdateAfter, c.row});
        it->second = c.row;
      }
    }
    return Status::OK();
  }

 private:
  struct RowLess {
    bool operator()(const Row& a, const Row& b) const { return format::CompareRows(a, b) < 0; }
  };
  DedupSpec spec_;
  std::string name_;
  std::map<Row, Row, RowLess> latest_;
};

}  // namespace

std::unique_ptr<Operator> MakeFilter(RowType type, std::function<bool(const Change&)> predicate, std::string name) {
  return std::make_unique<FilterOp>(std::move(type), std::move(predicate), std::move(name));
}

std::unique_ptr<Operator> MakeMap(RowType output_type, MapFn fn, std::string name) {
  return std::make_unique<MapOp>(std::move(output_type), std::move(fn), std::move(name));
}

Result<std::unique_ptr<Operator>> MakeJsonExtract(const RowType& input, const std::string& json_column,
                                                  std::vector<JsonField> fields) {
  int col = input.IndexOf(json_column);
  if (col < 0) return Status::InvalidArgument("JSON extraction: no input column \"" + json_column + "\"");
  std::vector<std::vector<PathStep>> paths;
  std::vector<format::DataField> out = input.fields();
  int32_t next_id = 0;
  for (const auto& f : out) next_id = std::max(next_id, f.id + 1);
  for (const auto& f : fields) {
    KL_ASSIGN_OR_RETURN(auto steps, ParseJsonPath(f.path));
    paths.push_back(std::move(steps));
    out.push_back({next_id++, f.name, f.type, ""});
  }
  return std::unique_ptr<Operator>(
      new JsonExtractOp(RowType(std::move(out)), col, std::move(fields), std::move(paths)));
}

uint64_t HashKeyRow(const Row& key) { return RowHash()(key); }

namespace {

// A boolean cell reads as Get's Bool(value != 0): the stored integer is not compared as it is.
bool IsBooleanColumn(const format::Column& col) { return col.type().root() == format::TypeRoot::kBoolean; }

// RowHash::OfDatum of the Datum Get(r) would return (an integer; bytes; the rest through Get).
uint64_t HashCell(const format::Column& col, size_t r) {
  if (col.IsNull(r)) return RowHash::OfDatum(Datum());
  if (IsBooleanColumn(col)) return RowHash::OfDatum(col.Get(r));
  switch (col.kind()) {
    case format::PhysicalKind::kInt: return std::hash<int64_t>()(col.GetInt(r)) * 0xff51afd7ed558ccdULL;
    case format::PhysicalKind::kBytes: return std::hash<std::string_view>()(col.GetBytes(r));
    default: return RowHash::OfDatum(col.Get(r));
  }
}

// CompareDatum(col.Get(r), d) == 0, without the Datum for the common kinds.
bool CellEquals(const format::Column& col, size_t r, const Datum& d) {
  if (col.IsNull(r) || d.is_null()) return col.IsNull(r) && d.is_null();
  if (col.kind() == format::PhysicalKind::kInt && !IsBooleanColumn(col) && d.kind() == Datum::Kind::kInt) {
    return col.GetInt(r) == d.as_int();
  }
  if (col.kind() == format::PhysicalKind::kBytes && d.kind() == Datum::Kind::kBytes) {
    return col.GetBytes(r) == std::string_view(d.as_bytes());
  }
  return format::CompareDatum(col.Get(r), d) == 0;
}

}  // namespace

uint64_t HashKeyCells(const format::ColumnBatch& batch, const std::vector<size_t>& at, size_t row) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t c : at) h = RowHash::Mix(h, HashCell(batch.column(c), row));
  return h;
}

bool KeyCellsEqual(const format::ColumnBatch& batch, const std::vector<size_t>& at, size_t row, const Row& key) {
  if (key.size() != at.size()) return false;
  for (size_t i = 0; i < key.size(); ++i) {
    if (!CellEquals(batch.column(at[i]), row, key[i])) return false;
  }
  return true;
}

std::unique_ptr<Operator> MakeDeltaAggregate(DeltaAggregateSpec spec, std::string name) {
  return std::make_unique<DeltaAggregateOp>(std::move(spec), std::move(name));
}

std::unique_ptr<Operator> MakeDedupLatest(DedupSpec spec, std::string name) {
  return std::make_unique<DedupLatestOp>(std::move(spec), std::move(name));
}

}  // namespace kl::pipeline
