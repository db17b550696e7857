// Property tests of primary-key tables: random sequences of writes (inserts,
// updates, deletes, out-of-order sequence values), commits, compactions and
// writer restarts, for each merge engine and changelog producer. After every
// commit the table's reads and changelog must equal what a plain in-memory
// model, written here from Paimon's documented semantics, computes by
// folding each key's records in sequence order.
#include <gtest/gtest.h>
#include <roaring/roaring.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "common/random.h"
#include "common/testing/test_util.h"
#include "table/table.h"

namespace kl::table {
namespace {

using format::DataType;
using format::Datum;
using format::Row;
using format::RowKind;

// Columns: p (partition), k (key), s, v1, v2, v3, b.
enum Col { kP = 0, kK, kS, kV1, kV2, kV3, kB, kNumCols };

struct Record {
  Row values;
  RowKind kind;
  int64_t seq;  // global write order
};

struct ModelValue {
  Row values;
  int64_t source_seq = -1;  // for engines that pick one input: which one
};

using Key = std::pair<std::string, int64_t>;

struct EngineConfig {
  std::string name;
  std::map<std::string, std::string> options;
  bool retracts = true;         // generate -U / -D records
  bool non_null = false;        // generate values without nulls
  bool sequence_field = false;  // records are ordered by column s first
  bool picks_input = false;     // changelog "unchanged" is by identity of the winning record
  bool insert_only_changelog = false;
  // Folds a key's records (already in merge order) into its value.
  std::function<std::optional<ModelValue>(const std::vector<Record>&)> fold;
  // A column's aggregate function has no retraction (and no ignore-retract): as in
  // Paimon, a retraction is an error once a merge brings it together with another
  // record of its key, and never before.
  bool unretractable = false;
  // Columns whose value after retractions depends on how records were grouped into
  // flushes and compactions, in Paimon as here (product, last_non_null_value: a
  // retraction leaves "no value", which a later merge cannot tell from a missing
  // one); the comparison masks them.
  std::vector<int> inexact_columns;
  // partial-update with remove-record-on-delete, as Paimon: a deleted row restarts from the
  // delete's values, but a delete and a later insert folded in one flush or compaction become
  // one insert that partial-updates older values, and a compaction into the last level drops a
  // delete. So a column an insert after a delete leaves null may hold the delete's value, an
  // older value or null, depending on grouping: from then on the comparison masks that column
  // of that key (TableTest.PartialUpdateDeleteThenInsertMatchesPaimon pins each grouping).
  bool grouping_dependent_after_delete = false;
};

bool Retract(RowKind k) { return k == RowKind::kUpdateBefore || k == RowKind::kDelete; }

// ---- model aggregate functions (Paimon semantics, written independently) ----
Datum SumAgg(const Datum& acc, const Datum& in) {
  if (in.is_null()) return acc;
  if (acc.is_null()) return in;
  if (in.kind() == Datum::Kind::kDouble) return Datum::Double(acc.as_double() + in.as_double());
  return Datum::Int(acc.as_int() + in.as_int());
}
Datum SumRetract(const Datum& acc, const Datum& in) {
  if (in.is_null()) return acc;
  if (in.kind() == Datum::Kind::kDouble) return Datum::Double((acc.is_null() ? 0.0 : acc.as_double()) - in.as_double());
  return Datum::Int((acc.is_null() ? 0 : acc.as_int()) - in.as_int());
}

std::optional<ModelValue> FoldDedup(const std::vector<Record>& recs, bool ignore_delete) {
  const Record* last = nullptr;
  for (const auto& r : recs) {
    if (ignore_delete && Retract(r.kind)) continue;
    last = &r;
  }
  if (last == nullptr || Retract(last->kind)) return std::nullopt;
  return ModelValue{last->values, last->seq};
}

std::optional<ModelValue> FoldFirstRow(const std::vector<Record>& recs) {
  for (const auto& r : recs) {
    if (!Retract(r.kind)) return ModelValue{r.values, r.seq};
  }
  return std::nullopt;
}

std::optional<ModelValue> FoldPartialUpdate(const std::vector<Record>& recs) {
  Row row(kNumCols);
  bool any = false;
  for (const auto& r : recs) {
    if (Retract(r.kind)) continue;  // ignore-delete
    any = true;
    for (int c = 0; c < kNumCols; ++c) {
      if (!r.values[c].is_null()) row[c] = r.values[c];
    }
  }
  if (!any) return std::nullopt;
  return ModelValue{row, -1};
}

// Paimon's PartialUpdateMergeFunction with remove-record-on-delete: a -D removes the row and
// restarts it from the values the delete carries; a later insert updates its non-null fields
// on top; -U records are ignored.
std::optional<ModelValue> FoldPartialUpdateRemoveOnDelete(const std::vector<Record>& recs) {
  Row row(kNumCols);
  bool any = false, deleted = false;
  for (const auto& r : recs) {
    if (r.kind == RowKind::kDelete) {
      row = r.values;
      any = true;
      deleted = true;
      continue;
    }
    if (r.kind == RowKind::kUpdateBefore) continue;
    any = true;
    deleted = false;
    for (int c = 0; c < kNumCols; ++c) {
      if (!r.values[c].is_null()) row[c] = r.values[c];
    }
  }
  if (!any || deleted) return std::nullopt;
  return ModelValue{row, -1};
}

// Sequence group: s orders (v1, v2); v3 and b are plain partial updates.
std::optional<ModelValue> FoldSequenceGroup(const std::vector<Record>& recs) {
  Row row(kNumCols);
  bool any = false;
  for (const auto& r : recs) {
    std::optional<int> cmp;
    if (!r.values[kS].is_null()) {
      cmp = row[kS].is_null() ? 1 : format::CompareDatum(r.values[kS], row[kS]);
    }
    if (Retract(r.kind)) {
      if (cmp && *cmp > 0) row[kS] = r.values[kS];
      if (cmp && *cmp >= 0) {
        row[kV1] = Datum();
        row[kV2] = Datum();
      }
      continue;
    }
    any = true;
    if (cmp && *cmp > 0) row[kS] = r.values[kS];
    if (cmp && *cmp >= 0) {
      row[kV1] = r.values[kV1];
      row[kV2] = r.values[kV2];
    }
    for (int c : {kP, kK, kV3, kB}) {
      if (!r.values[c].is_null()) row[c] = r.values[c];
    }
  }
  if (!any) return std::nullopt;
  return ModelValue{row, -1};
}

// s count, v1 sum, v2 listagg, v3 product, b bool_or (the last three ignore retractions: Paimon's
// product drops a retraction that meets no value, so its result depends on how records were grouped).
std::optional<ModelValue> FoldAggregationA(const std::vector<Record>& recs) {
  if (recs.empty()) return std::nullopt;
  Row row(kNumCols);
  for (const auto& r : recs) {
    bool retract = Retract(r.kind);
    row[kP] = r.values[kP];
    row[kK] = r.values[kK];
    int64_t count = row[kS].is_null() ? 0 : row[kS].as_int();
    if (!r.values[kS].is_null()) count += retract ? -1 : 1;
    row[kS] = Datum::Int(count);
    row[kV1] = retract ? SumRetract(row[kV1], r.values[kV1]) : SumAgg(row[kV1], r.values[kV1]);
    if (!retract && !r.values[kV2].is_null()) {
      row[kV2] =
          row[kV2].is_null() ? r.values[kV2] : Datum::Bytes(row[kV2].as_bytes() + "," + r.values[kV2].as_bytes());
    }
    const Datum& p = r.values[kV3];
    if (!p.is_null() && !retract) {
      row[kV3] = row[kV3].is_null() ? p : Datum::Double(row[kV3].as_double() * p.as_double());
    }
    if (!retract && !r.values[kB].is_null()) {
      row[kB] = row[kB].is_null() ? r.values[kB] : Datum::Bool(row[kB].as_int() != 0 || r.values[kB].as_int() != 0);
    }
  }
  return ModelValue{row, -1};
}

// s max, v1 min, v2 last_non_null_value, b bool_and (all ignore-retract); v3 last_value (retract -> null).
std::optional<ModelValue> FoldAggregationB(const std::vector<Record>& recs) {
  if (recs.empty()) return std::nullopt;
  Row row(kNumCols);
  for (const auto& r : recs) {
    bool retract = Retract(r.kind);
    row[kP] = r.values[kP];
    row[kK] = r.values[kK];
    row[kV3] = retract ? Datum() : r.values[kV3];
    if (retract) continue;
    const Datum& s = r.values[kS];
    if (!s.is_null() && (row[kS].is_null() || s.as_int() > row[kS].as_int())) row[kS] = s;
    const Datum& v1 = r.values[kV1];
    if (!v1.is_null() && (row[kV1].is_null() || v1.as_int() < row[kV1].as_int())) row[kV1] = v1;
    if (!r.values[kV2].is_null()) row[kV2] = r.values[kV2];
    if (!r.values[kB].is_null()) {
      row[kB] = row[kB].is_null() ? r.values[kB] : Datum::Bool(row[kB].as_int() != 0 && r.values[kB].as_int() != 0);
    }
  }
  return ModelValue{row, -1};
}

// s first_value, v1 first_non_null_value, b last_non_null_value (ignore-retract); v2 last_value; v3 sum.
std::optional<ModelValue> FoldAggregationC(const std::vector<Record>& recs) {
  if (recs.empty()) return std::nullopt;
  Row row(kNumCols);
  bool s_set = false;
  for (const auto& r : recs) {
    bool retract = Retract(r.kind);
    row[kP] = r.values[kP];
    row[kK] = r.values[kK];
    row[kV2] = retract ? Datum() : r.values[kV2];
    row[kV3] = retract ? SumRetract(row[kV3], r.values[kV3]) : SumAgg(row[kV3], r.values[kV3]);
    if (retract) continue;
    if (!s_set) {
      row[kS] = r.values[kS];
      s_set = true;
    }
    if (row[kV1].is_null()) row[kV1] = r.values[kV1];
    if (!r.values[kB].is_null()) row[kB] = r.values[kB];
  }
  return ModelValue{row, -1};
}

// One column of the aggregation engine, as Paimon's FieldAggregator classes define it
// (written here from their documented behaviour): `agg` folds an input in, `retract`
// takes it back out (only for functions that have retraction).
struct ModelColumnAgg {
  std::string function;
  bool first_seen = false;  // first_value / first_non_null_value: a value was taken

  static bool CanRetract(const std::string& f) {
    return f == "sum" || f == "count" || f == "product" || f == "last_value" || f == "last_non_null_value";
  }
  static Datum Arith(const Datum& a, const Datum& b, char op) {
    if (a.kind() == Datum::Kind::kDouble) {
      double x = a.as_double(), y = b.as_double();
      return Datum::Double(op == '+' ? x + y : op == '*' ? x * y : x / y);
    }
    int64_t x = a.as_int(), y = b.as_int();
    return Datum::Int(op == '+' ? x + y : op == '*' ? x * y : x / y);
  }
  void Agg(Datum* acc, const Datum& in) {
    const std::string& f = function;
    if (f == "last_value") {
      *acc = in;
    } else if (f == "last_non_null_value") {
      if (!in.is_null()) *acc = in;
    } else if (f == "first_value") {
      if (!first_seen) *acc = in;
      first_seen = true;
    } else if (f == "first_non_null_value" || f == "first_not_null_value") {
      if (!first_seen && !in.is_null()) {
        *acc = in;
        first_seen = true;
      }
    } else if (in.is_null()) {
      if (f == "count" && acc->is_null()) *acc = Datum::Int(0);
    } else if (f == "count") {
      *acc = Datum::Int((acc->is_null() ? 0 : acc->as_int()) + 1);
    } else if (acc->is_null()) {
      *acc = in;
    } else if (f == "sum") {
      *acc = Arith(*acc, in, '+');
    } else if (f == "product") {
      *acc = Arith(*acc, in, '*');
    } else if (f == "max" || f == "min") {
      int c = format::CompareDatum(in, *acc);
      if (f == "max" ? c > 0 : c < 0) *acc = in;
    } else if (f == "listagg") {
      *acc = Datum::Bytes(acc->as_bytes() + "," + in.as_bytes());
    } else if (f == "bool_and") {
      *acc = Datum::Bool(acc->as_int() != 0 && in.as_int() != 0);
    } else if (f == "bool_or") {
      *acc = Datum::Bool(acc->as_int() != 0 || in.as_int() != 0);
    } else {
      ADD_FAILURE() << "model has no aggregate function " << f;
    }
  }
  // Only reached for a key's lone retraction, or for functions with retraction.
  void Retract(Datum* acc, const Datum& in) {
    const std::string& f = function;
    if (!CanRetract(f)) return;  // a lone retraction leaves the column empty
    if (f == "last_value") {
      *acc = Datum();
    } else if (f == "last_non_null_value") {
      if (!in.is_null()) *acc = Datum();
    } else if (f == "count") {
      *acc = Datum::Int((acc->is_null() ? 0 : acc->as_int()) - (in.is_null() ? 0 : 1));
    } else if (f == "sum") {
      *acc = SumRetract(*acc, in);
    } else if (f == "product") {
      if (!in.is_null() && !acc->is_null()) *acc = Arith(*acc, in, '/');
    }
  }
};

// The aggregation engine over columns s, v1, v2, v3, b with the given functions (no
// ignore-retract). The error case (a retraction merged with another record of a
// key whose functions lack retraction) is decided by ModelExpectsError instead.
std::function<std::optional<ModelValue>(const std::vector<Record>&)> FoldAggregation(
    std::vector<std::string> functions) {
  return [functions](const std::vector<Record>& recs) -> std::optional<ModelValue> {
    if (recs.empty()) return std::nullopt;
    std::vector<ModelColumnAgg> cols;
    for (const auto& f : functions) cols.push_back(ModelColumnAgg{f});
    Row row(kNumCols);
    for (const auto& r : recs) {
      row[kP] = r.values[kP];
      row[kK] = r.values[kK];
      for (int c = kS; c < kNumCols; ++c) {
        auto& agg = cols[static_cast<size_t>(c - kS)];
        if (Retract(r.kind)) {
          agg.Retract(&row[c], r.values[c]);
        } else {
          agg.Agg(&row[c], r.values[c]);
        }
      }
    }
    return ModelValue{row, -1};
  };
}

EngineConfig AggregationConfig(std::string name, const std::vector<std::string>& functions, bool retracts) {
  EngineConfig c;
  c.name = std::move(name);
  c.options["merge-engine"] = "aggregation";
  static const char* kColumns[] = {"s", "v1", "v2", "v3", "b"};
  bool unretractable = false;
  for (size_t i = 0; i < functions.size(); ++i) {
    c.options["fields." + std::string(kColumns[i]) + ".aggregate-function"] = functions[i];
    unretractable = unretractable || !ModelColumnAgg::CanRetract(functions[i]);
    if (retracts && (functions[i] == "product" || functions[i] == "last_non_null_value")) {
      c.inexact_columns.push_back(kS + static_cast<int>(i));
    }
  }
  c.retracts = retracts;
  c.unretractable = unretractable;
  c.fold = FoldAggregation(functions);
  return c;
}

std::vector<EngineConfig> Configs() {
  std::vector<EngineConfig> out;
  auto add = [&](EngineConfig c) { out.push_back(std::move(c)); };
  add({"dedup", {}, true, false, false, true, false, [](auto& r) { return FoldDedup(r, false); }});
  add({"dedup_ignore_delete", {{"ignore-delete", "true"}}, true, false, false, true, false, [](auto& r) {
         return FoldDedup(r, true);
       }});
  add({"dedup_sequence_field", {{"sequence.field", "s"}}, true, true, true, true, false, [](auto& r) {
         return FoldDedup(r, false);
       }});
  add({"first_row",
       {{"merge-engine", "first-row"}, {"ignore-delete", "true"}},
       true,
       false,
       false,
       true,
       true,
       FoldFirstRow});
  add({"partial_update",
       {{"merge-engine", "partial-update"}, {"ignore-delete", "true"}},
       true,
       false,
       false,
       false,
       false,
       FoldPartialUpdate});
  {
    // Inserts with nulls (partial updates), also after deletes (see grouping_dependent_after_delete).
    EngineConfig c{"partial_update_remove_on_delete",
                   {{"merge-engine", "partial-update"}, {"partial-update.remove-record-on-delete", "true"}},
                   true,
                   false,
                   false,
                   false,
                   false,
                   [](auto& r) { return FoldPartialUpdateRemoveOnDelete(r); }};
    c.grouping_dependent_after_delete = true;
    add(std::move(c));
  }
  add({"partial_update_sequence_group",
       {{"merge-engine", "partial-update"}, {"fields.s.sequence-group", "v1,v2"}},
       true,
       false,
       false,
       false,
       false,
       FoldSequenceGroup});
  add({"aggregation_a",
       {{"merge-engine", "aggregation"},
        {"fields.s.aggregate-function", "count"},
        {"fields.v1.aggregate-function", "sum"},
        {"fields.v2.aggregate-function", "listagg"},
        {"fields.v2.ignore-retract", "true"},
        {"fields.v3.aggregate-function", "product"},
        {"fields.v3.ignore-retract", "true"},
        {"fields.b.aggregate-function", "bool_or"},
        {"fields.b.ignore-retract", "true"}},
       true,
       false,
       false,
       false,
       false,
       FoldAggregationA});
  add({"aggregation_b",
       {{"merge-engine", "aggregation"},
        {"fields.s.aggregate-function", "max"},
        {"fields.s.ignore-retract", "true"},
        {"fields.v1.aggregate-function", "min"},
        {"fields.v1.ignore-retract", "true"},
        {"fields.v2.aggregate-function", "last_non_null_value"},
        {"fields.v2.ignore-retract", "true"},
        {"fields.v3.aggregate-function", "last_value"},
        {"fields.b.aggregate-function", "bool_and"},
        {"fields.b.ignore-retract", "true"}},
       true,
       false,
       false,
       false,
       false,
       FoldAggregationB});
  add({"aggregation_c",
       {{"merge-engine", "aggregation"},
        {"fields.s.aggregate-function", "first_value"},
        {"fields.s.ignore-retract", "true"},
        {"fields.v1.aggregate-function", "first_non_null_value"},
        {"fields.v1.ignore-retract", "true"},
        {"fields.v2.aggregate-function", "last_value"},
        {"fields.v3.aggregate-function", "sum"},
        {"fields.b.aggregate-function", "last_non_null_value"},
        {"fields.b.ignore-retract", "true"}},
       true,
       false,
       false,
       false,
       false,
       FoldAggregationC});
  // Every aggregate function without ignore-retract, on inserts only (must never
  // fail) and with retractions (must fail exactly where Paimon does; product and
  // last_non_null_value are then only checked not to fail, see inexact_columns).
  add(AggregationConfig("aggregation_no_retract_inserts_a", {"max", "min", "listagg", "product", "bool_and"}, false));
  add(AggregationConfig("aggregation_no_retract_inserts_b",
                        {"first_value", "first_non_null_value", "first_not_null_value", "max", "bool_or"}, false));
  add(AggregationConfig("aggregation_retract_functions",
                        {"count", "sum", "last_value", "product", "last_non_null_value"}, true));
  add(AggregationConfig("aggregation_no_retract_retractions_a", {"max", "sum", "listagg", "last_value", "bool_and"},
                        true));
  add(AggregationConfig("aggregation_no_retract_retractions_b",
                        {"first_value", "min", "first_non_null_value", "last_non_null_value", "bool_or"}, true));
  return out;
}

struct Producer {
  std::string name;
  bool large_buffer;  // one flush per commit: the changelog is checked record for record
};

// "missing: ... extra: ..." between two multisets, for readable failures.
std::string Diff(const std::multiset<std::string>& got, const std::multiset<std::string>& want) {
  std::vector<std::string> missing, extra;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(), std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(extra));
  std::string out = "\n  missing:";
  for (const auto& m : missing) out += "\n    " + m;
  out += "\n  unexpected:";
  for (const auto& e : extra) out += "\n    " + e;
  return out;
}

#define ASSERT_SAME_ROWS(got, want, what)          \
  do {                                             \
    auto g_ = (got);                               \
    auto w_ = (want);                              \
    ASSERT_TRUE(g_ == w_) << what << Diff(g_, w_); \
  } while (0)

std::string RowText(const Row& row) {
  std::string s;
  for (const auto& d : row) s += format::DatumDebugString(d) + "|";
  return s;
}

class PropertyRun {
 public:
  PropertyRun(const EngineConfig& config, const std::string& producer, bool large_buffer, const std::string& format,
              uint64_t seed, const std::string& dir)
      : config_(config), producer_(producer), large_buffer_(large_buffer), format_(format), rng_(seed), dir_(dir) {}

  void Run(int steps) {
    std::map<std::string, std::string> options = config_.options;
    options["bucket"] = "2";
    options["file.format"] = format_;
    options["kubelake.data-file.sync"] = "false";  // throwaway tables: skip fdatasync per file
    options["changelog-producer"] = producer_;
    options["write-buffer-size"] = large_buffer_ ? "64mb" : "3kb";
    options["num-sorted-run.compaction-trigger"] = "3";
    options["target-file-size"] = "8kb";
    std::vector<format::DataField> fields = {{0, "p", DataType::String(), ""},  {1, "k", DataType::Int(), ""},
                                             {2, "s", DataType::BigInt(), ""},  {3, "v1", DataType::BigInt(), ""},
                                             {4, "v2", DataType::String(), ""}, {5, "v3", DataType::Double(), ""},
                                             {6, "b", DataType::Boolean(), ""}};
    auto schema = NewTableSchema(fields, {"p"}, {"p", "k"}, options);
    ASSERT_TRUE(schema.ok()) << schema.status().ToString();
    auto table = Table::Create(dir_, *schema);
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    table_ = *table;
    writer_ = table_->NewWriter("property-test");
    for (int step = 0; step < steps && !failed_ && !::testing::Test::HasFatalFailure(); ++step) {
      uint64_t op = rng_.Uniform(100);
      if (op < 60) {
        WriteRandom(1 + rng_.Uniform(25));
      } else if (op < 88) {
        Commit();
      } else if (op < 94) {
        Status compacted = writer_->Compact(rng_.OneIn(2));
        if (!compacted.ok()) {
          std::vector<Record> all = committed_;
          all.insert(all.end(), pending_.begin(), pending_.end());
          ExpectFailure(compacted, all, "compaction");
          break;
        }
        // Sometimes more writes and compactions join the same commit (a compaction flushes, so
        // not where the changelog is checked as one flush per commit).
        if (large_buffer_ || !rng_.OneIn(3)) Commit();
      } else {
        // Restart: commit what is pending, then continue with a fresh writer.
        Commit();
        writer_ = table_->NewWriter("property-test");
      }
    }
    if (!failed_) Commit();
    if (config_.unretractable && config_.retracts) {
      // The run must have reached the error (the histories are long enough to).
      ASSERT_TRUE(failed_) << config_.name << ": no retraction met another record" << History();
    }
  }

 private:
  Datum MaybeNull(Datum d) { return (!config_.non_null && rng_.OneIn(7)) ? Datum() : d; }

  void WriteRandom(size_t n) {
    format::ColumnBatch batch(table_->schema().fields);
    std::vector<RowKind> kinds;
    for (size_t i = 0; i < n; ++i) {
      Row row(kNumCols);
      row[kP] = Datum::Bytes(rng_.OneIn(2) ? "east" : "west");
      row[kK] = Datum::Int(static_cast<int64_t>(rng_.Uniform(12)));
      row[kS] = MaybeNull(Datum::Int(static_cast<int64_t>(rng_.Uniform(40))));
      row[kV1] = MaybeNull(Datum::Int(rng_.Range(-100, 100)));
      row[kV2] = MaybeNull(Datum::Bytes(rng_.Alnum(1 + rng_.Uniform(3))));
      static const double kFactors[] = {0.5, 1.0, 2.0};
      row[kV3] = MaybeNull(Datum::Double(kFactors[rng_.Uniform(3)]));
      row[kB] = MaybeNull(Datum::Bool(rng_.OneIn(2)));
      if (config_.sequence_field && row[kS].is_null()) row[kS] = Datum::Int(0);
      RowKind kind = RowKind::kInsert;
      if (config_.retracts) {
        uint64_t k = rng_.Uniform(100);
        kind = k < 55   ? RowKind::kInsert
               : k < 75 ? RowKind::kUpdateAfter
               : k < 85 ? RowKind::kUpdateBefore
                        : RowKind::kDelete;
      } else if (rng_.OneIn(4)) {
        kind = RowKind::kUpdateAfter;
      }
      batch.AppendRow(row);
      kinds.push_back(kind);
      pending_.push_back(Record{row, kind, next_seq_++});
    }
    Status written = writer_->Write(batch, &kinds);
    if (!written.ok()) {
      std::vector<Record> all = committed_;
      all.insert(all.end(), pending_.begin(), pending_.end());
      ExpectFailure(written, all, "write (a flush)");
      return;
    }
  }

  // True when some key has a retraction and another record while a function without
  // retraction aggregates it: Paimon's merge raises there (a key's lone record passes
  // every merge unchanged).
  bool ModelExpectsError(const std::vector<Record>& records) const {
    if (!config_.unretractable) return false;
    std::map<Key, std::pair<int, bool>> by_key;  // records, any retraction
    for (const auto& r : records) {
      auto& [n, retracted] = by_key[{r.values[kP].as_bytes(), r.values[kK].as_int()}];
      ++n;
      retracted = retracted || Retract(r.kind);
    }
    for (const auto& [key, v] : by_key) {
      if (v.first > 1 && v.second) return true;
    }
    return false;
  }

  // A failure is right only where the model expects one, and must say why.
  void ExpectFailure(const Status& status, const std::vector<Record>& records, const std::string& what) {
    failed_ = true;
    ASSERT_TRUE(ModelExpectsError(records))
        << config_.name << ": unexpected failure of " << what << ": " << status.ToString() << History();
    EXPECT_NE(status.ToString().find("cannot take back a retracted"), std::string::npos) << status.ToString();
    EXPECT_NE(status.ToString().find("ignore-retract"), std::string::npos) << status.ToString();
  }

  std::map<Key, ModelValue> ModelState(const std::vector<Record>& records) const {
    std::map<Key, std::vector<Record>> by_key;
    for (const auto& r : records) by_key[{r.values[kP].as_bytes(), r.values[kK].as_int()}].push_back(r);
    std::map<Key, ModelValue> out;
    for (auto& [key, recs] : by_key) {
      std::stable_sort(recs.begin(), recs.end(), [&](const Record& a, const Record& b) {
        if (config_.sequence_field) {
          int c = format::CompareDatum(a.values[kS], b.values[kS]);
          if (c != 0) return c < 0;
        }
        return a.seq < b.seq;
      });
      auto v = config_.fold(recs);
      if (v) out[key] = *v;
    }
    return out;
  }

  std::multiset<std::string> TableRows(std::optional<int64_t> snapshot) {
    auto rows = table_->ReadAll(snapshot);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::multiset<std::string> out;
    if (!rows.ok()) return out;
    for (size_t i = 0; i < rows->size(); ++i) out.insert(Text(rows->rows.GetRow(i)));
    return out;
  }

  // A row as compared: columns the model cannot predict exactly are masked.
  std::string Text(const Row& row) const {
    if (config_.inexact_columns.empty() && masked_.empty()) return RowText(row);
    Row masked = row;
    for (int c : config_.inexact_columns) masked[static_cast<size_t>(c)] = Datum::Bytes("*");
    auto it = masked_.find({row[kP].as_bytes(), row[kK].as_int()});
    if (it != masked_.end()) {
      for (int c : it->second) masked[static_cast<size_t>(c)] = Datum::Bytes("*");
    }
    return RowText(masked);
  }

  // Marks the columns whose value depends on grouping (grouping_dependent_after_delete).
  void MaskGroupingDependent(const std::vector<Record>& records) {
    if (!config_.grouping_dependent_after_delete) return;
    std::map<Key, bool> deleted_before;
    for (const auto& r : records) {
      Key key{r.values[kP].as_bytes(), r.values[kK].as_int()};
      if (r.kind == RowKind::kDelete) {
        deleted_before[key] = true;
      } else if (format::IsAdd(r.kind) && deleted_before[key]) {
        for (int c = kS; c < kNumCols; ++c) {
          if (r.values[c].is_null()) masked_[key].insert(c);
        }
      }
    }
  }

  std::multiset<std::string> ModelRows(const std::map<Key, ModelValue>& state) const {
    std::multiset<std::string> out;
    for (const auto& [k, v] : state) out.insert(Text(v.values));
    return out;
  }

  void Commit() {
    if (failed_) return;
    auto before = ModelState(committed_);
    auto result = writer_->Commit(++commit_id_);
    std::vector<Record> commit_records = std::move(pending_);
    pending_.clear();
    committed_.insert(committed_.end(), commit_records.begin(), commit_records.end());
    if (!result.ok()) {
      ExpectFailure(result.status(), committed_, "commit " + std::to_string(commit_id_));
      return;
    }
    MaskGroupingDependent(committed_);
    if (ModelExpectsError(committed_)) {
      // The records that must fail to merge are in the table now: a read merges them.
      auto rows = table_->ReadAll();
      ASSERT_FALSE(rows.ok()) << config_.name << ": a read merged a retraction a function cannot take back"
                              << History();
      ExpectFailure(rows.status(), committed_, "read after commit " + std::to_string(commit_id_));
      return;
    }
    auto after = ModelState(committed_);
    ASSERT_SAME_ROWS(TableRows(std::nullopt), ModelRows(after),
                     config_.name << " / " << producer_ << " after commit " << commit_id_ << History());
    // Tables whose batch reads see only levels > 0 (first-row) show a commit's new data
    // in the compaction snapshot that lifts it out of level 0; their APPEND snapshot
    // still reads as the state before the commit.
    bool skips_level0 = table_->context()->options().batch_scan_skips_level0();
    for (int64_t id : result->snapshot_ids) {
      auto snapshot = table_->snapshots().Read(id);
      ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
      bool before_compaction = skips_level0 && snapshot->commit_kind == CommitKind::kAppend;
      history_[id] = before_compaction ? before : after;
    }
    if (!result->snapshot_ids.empty()) CheckChangelog(result->snapshot_ids.front(), before, after, commit_records);
    // Time travel: an older snapshot still reads as it was.
    if (history_.size() > 1 && rng_.OneIn(3)) {
      auto it = history_.begin();
      std::advance(it, static_cast<long>(rng_.Uniform(history_.size())));
      ASSERT_SAME_ROWS(TableRows(it->first), ModelRows(it->second), config_.name << " snapshot " << it->first);
    }
  }

  void CheckChangelog(int64_t snapshot_id, const std::map<Key, ModelValue>& before,
                      const std::map<Key, ModelValue>& after, const std::vector<Record>& records) {
    if (producer_ == "none") return;
    auto scan = table_->NewScan();
    auto plan = scan.PlanChanges(snapshot_id);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    auto read = table_->NewRead();
    ASSERT_TRUE(read.ok());
    auto changes = (*read)->ReadAll(*plan);
    ASSERT_TRUE(changes.ok()) << changes.status().ToString();
    std::multiset<std::string> got;
    for (size_t i = 0; i < changes->size(); ++i) {
      got.insert(std::string(format::RowKindShortString(changes->kinds[i])) + Text(changes->rows.GetRow(i)));
    }
    if (producer_ == "input") {
      std::multiset<std::string> want;
      for (const auto& r : records) want.insert(std::string(format::RowKindShortString(r.kind)) + Text(r.values));
      ASSERT_SAME_ROWS(got, want, config_.name << " input changelog of commit " << commit_id_);
      return;
    }
    // lookup: applying the changelog to the state before must give the state after.
    std::multiset<std::string> state = ModelRows(before);
    for (size_t i = 0; i < changes->size(); ++i) {
      std::string row = Text(changes->rows.GetRow(i));
      if (format::IsRetract(changes->kinds[i])) {
        auto it = state.find(row);
        ASSERT_NE(it, state.end()) << config_.name << ": changelog retracts a row that is not there: " << row;
        state.erase(it);
      } else {
        state.insert(row);
      }
    }
    ASSERT_SAME_ROWS(state, ModelRows(after), config_.name << " lookup changelog (applied) of commit " << commit_id_);
    if (!large_buffer_) return;
    // One flush per commit: the changelog is exactly the per-key transition.
    std::multiset<std::string> want;
    std::set<Key> keys;
    for (const auto& r : records) keys.insert({r.values[kP].as_bytes(), r.values[kK].as_int()});
    for (const auto& key : keys) {
      auto b = before.find(key);
      auto a = after.find(key);
      bool had = b != before.end(), has = a != after.end();
      if (!had && has) want.insert("+I" + Text(a->second.values));
      if (config_.insert_only_changelog) continue;
      if (had && !has) want.insert("-D" + Text(b->second.values));
      if (had && has) {
        bool unchanged = config_.picks_input && a->second.source_seq == b->second.source_seq;
        if (!unchanged) {
          want.insert("-U" + Text(b->second.values));
          want.insert("+U" + Text(a->second.values));
        }
      }
    }
    ASSERT_SAME_ROWS(got, want, config_.name << " lookup changelog of commit " << commit_id_);
  }

  // Every committed record, for failure messages (the diff names the keys).
  std::string History() const {
    std::string out = "\n  history:";
    for (const auto& r : committed_) {
      out += "\n    seq " + std::to_string(r.seq) + " " + std::string(format::RowKindShortString(r.kind)) + " " +
             RowText(r.values);
    }
    return out;
  }

  const EngineConfig& config_;
  std::string producer_;
  bool large_buffer_;
  std::string format_;
  Random rng_;
  std::string dir_;
  std::shared_ptr<Table> table_;
  std::unique_ptr<TableWriter> writer_;
  std::vector<Record> pending_, committed_;
  std::map<int64_t, std::map<Key, ModelValue>> history_;
  int64_t next_seq_ = 0;
  int64_t commit_id_ = 0;
  bool failed_ = false;                  // an expected failure ended the run
  std::map<Key, std::set<int>> masked_;  // per key, columns compared as "*"
};

int SequencesPerConfig() {
  const char* env = std::getenv("KUBELAKE_PROPERTY_SEQUENCES");
  return env != nullptr ? std::max(1, std::atoi(env)) : 4;
}

// (engine config, changelog producer, data file format)
class MergeEnginePropertyTest : public ::testing::TestWithParam<std::tuple<int, int, const char*>> {};

TEST_P(MergeEnginePropertyTest, ReadsAndChangelogMatchModel) {
  static const std::vector<EngineConfig> configs = Configs();
  static const std::vector<Producer> producers = {
      {"none", false}, {"input", false}, {"lookup", true}, {"lookup", false}};
  const EngineConfig& config = configs[static_cast<size_t>(std::get<0>(GetParam()))];
  const Producer& producer = producers[static_cast<size_t>(std::get<1>(GetParam()))];
  std::string format = std::get<2>(GetParam());
  int sequences = SequencesPerConfig();
  for (int i = 0; i < sequences && !HasFatalFailure(); ++i) {
    testing::TempDir dir;
    uint64_t seed = 1000003ULL * static_cast<uint64_t>(i + 1) + static_cast<uint64_t>(std::get<0>(GetParam())) * 31 +
                    static_cast<uint64_t>(std::get<1>(GetParam()));
    SCOPED_TRACE("seed " + std::to_string(seed));
    PropertyRun run(config, producer.name, producer.large_buffer, format, seed, dir.Sub("t"));
    run.Run(40);
  }
}

std::string ParamName(const ::testing::TestParamInfo<std::tuple<int, int, const char*>>& info) {
  static const std::vector<EngineConfig> configs = Configs();
  static const char* producers[] = {"none", "input", "lookup_one_flush", "lookup_many_flushes"};
  return configs[static_cast<size_t>(std::get<0>(info.param))].name + "_" + producers[std::get<1>(info.param)] + "_" +
         std::get<2>(info.param);
}

// Every engine and producer on both data file formats: the same seeds give the same
// operations, so the formats are checked on identical histories.
INSTANTIATE_TEST_SUITE_P(AllEngines, MergeEnginePropertyTest,
                         ::testing::Combine(::testing::Range(0, 15), ::testing::Range(0, 4),
                                            ::testing::Values("parquet", "avro")),
                         ParamName);

// Paimon's aggregate functions over nested and binary values — collect, collect with
// distinct, merge_map, rbm32 — on inserts, merged in whatever grouping flushes, compactions and
// restarts produce, against a model that folds each key's records in write order.
class NestedAggregatesPropertyTest : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {};

std::string BitmapBytes(const std::set<uint32_t>& values) {
  roaring_bitmap_t* b = roaring_bitmap_create();
  for (uint32_t v : values) roaring_bitmap_add(b, v);
  std::string out(roaring_bitmap_portable_size_in_bytes(b), '\0');
  roaring_bitmap_portable_serialize(b, out.data());
  roaring_bitmap_free(b);
  return out;
}

std::string BitmapText(const Datum& d) {
  if (d.is_null()) return "null";
  roaring_bitmap_t* b = roaring_bitmap_portable_deserialize_safe(d.as_bytes().data(), d.as_bytes().size());
  if (b == nullptr) return "<not a bitmap>";
  std::string out = "{";
  roaring_uint32_iterator_t* it = roaring_create_iterator(b);
  for (bool first = true; it->has_value; roaring_advance_uint32_iterator(it), first = false) {
    out += (first ? "" : ",") + std::to_string(it->current_value);
  }
  roaring_free_uint32_iterator(it);
  roaring_bitmap_free(b);
  return out + "}";
}

TEST_P(NestedAggregatesPropertyTest, InsertsMatchModel) {
  const char* format = std::get<0>(GetParam());
  const char* producer = std::get<1>(GetParam());
  for (int seq = 0; seq < SequencesPerConfig() && !HasFatalFailure(); ++seq) {
    testing::TempDir dir;
    Random rng(77 + 1000 * static_cast<uint64_t>(seq));
    std::vector<format::DataField> fields = {
        {0, "k", DataType::Int().WithNullable(false), ""},
        {1, "a", DataType::Array(DataType::Int()), ""},
        {2, "d", DataType::Array(DataType::Int()), ""},
        {3, "m", DataType::Map(DataType::Int().WithNullable(false), DataType::String()), ""},
        {4, "r", DataType::Bytes(), ""}};
    std::map<std::string, std::string> options = {{"bucket", "1"},
                                                  {"file.format", format},
                                                  {"changelog-producer", producer},
                                                  {"kubelake.data-file.sync", "false"},
                                                  {"write-buffer-size", "2kb"},
                                                  {"target-file-size", "4kb"},
                                                  {"num-sorted-run.compaction-trigger", "3"},
                                                  {"merge-engine", "aggregation"},
                                                  {"fields.a.aggregate-function", "collect"},
                                                  {"fields.d.aggregate-function", "collect"},
                                                  {"fields.d.distinct", "true"},
                                                  {"fields.m.aggregate-function", "merge_map"},
                                                  {"fields.r.aggregate-function", "rbm32"}};
    auto schema = NewTableSchema(fields, {}, {"k"}, options);
    ASSERT_TRUE(schema.ok()) << schema.status().ToString();
    auto table = Table::Create(dir.Sub("t"), *schema);
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    auto writer = (*table)->NewWriter("nested");
    // The model: per key, the folded row (rbm32 as the set it holds).
    struct ModelRow {
      Datum a, d, m;
      std::optional<std::set<uint32_t>> r;
    };
    std::map<int64_t, ModelRow> model;
    auto render = [](int64_t k, const Datum& a, const Datum& d, const Datum& m, const std::string& r) {
      return std::to_string(k) + "|" + format::DatumDebugString(a) + "|" + format::DatumDebugString(d) + "|" +
             format::DatumDebugString(m) + "|" + r;
    };
    int64_t commit = 0;
    for (int step = 0; step < 40 && !HasFatalFailure(); ++step) {
      uint64_t op = rng.Uniform(100);
      if (op < 60) {
        format::ColumnBatch batch((*table)->schema().fields);
        for (uint64_t i = 0, n = 1 + rng.Uniform(20); i < n; ++i) {
          int64_t k = static_cast<int64_t>(rng.Uniform(8));
          auto list = [&](uint64_t max_len) {
            if (rng.OneIn(5)) return Datum();
            format::DatumList items;
            for (uint64_t j = 0, len = rng.Uniform(max_len + 1); j < len; ++j) {
              items.push_back(Datum::Int(static_cast<int64_t>(rng.Uniform(6))));
            }
            return Datum::List(std::move(items));
          };
          Datum a = list(3), d = list(3), m;
          if (!rng.OneIn(5)) {
            format::DatumList entries;
            std::set<int64_t> keys;
            for (uint64_t j = 0, len = rng.Uniform(3); j < len; ++j) {
              int64_t key = static_cast<int64_t>(rng.Uniform(5));
              if (!keys.insert(key).second) continue;
              entries.push_back(Datum::Int(key));
              entries.push_back(rng.OneIn(6) ? Datum() : Datum::Bytes(rng.Alnum(2)));
            }
            m = Datum::List(std::move(entries));
          }
          std::optional<std::set<uint32_t>> bits;
          if (!rng.OneIn(5)) {
            bits.emplace();
            for (uint64_t j = 0, len = rng.Uniform(4); j < len; ++j)
              bits->insert(static_cast<uint32_t>(rng.Uniform(100000)));
          }
          batch.AppendRow({Datum::Int(k), a, d, m, bits ? Datum::Bytes(BitmapBytes(*bits)) : Datum()});
          // Model, from Paimon's FieldCollectAgg, FieldMergeMapAgg and FieldRoaringBitmap32Agg.
          auto [it, fresh] = model.try_emplace(k);
          ModelRow& row = it->second;
          if (fresh) {
            row.a = a;
            row.m = m;
            row.r = bits;
            format::DatumList distinct;
            if (!d.is_null()) {
              for (const auto& e : d.as_list()) {
                if (std::find(distinct.begin(), distinct.end(), e) == distinct.end()) distinct.push_back(e);
              }
              row.d = Datum::List(distinct);
            }
            continue;
          }
          if (row.a.is_null()) {
            row.a = a;
          } else if (!a.is_null()) {
            format::DatumList all = row.a.as_list();
            all.insert(all.end(), a.as_list().begin(), a.as_list().end());
            row.a = Datum::List(all);
          }
          if (!d.is_null()) {
            format::DatumList all = row.d.is_null() ? format::DatumList{} : row.d.as_list();
            for (const auto& e : d.as_list()) {
              if (std::find(all.begin(), all.end(), e) == all.end()) all.push_back(e);
            }
            row.d = Datum::List(all);
          }
          if (row.m.is_null()) {
            row.m = m;
          } else if (!m.is_null()) {
            format::DatumList all = row.m.as_list();
            for (size_t j = 0; j + 1 < m.as_list().size(); j += 2) {
              size_t at = 0;
              while (at < all.size() && !(all[at] == m.as_list()[j])) at += 2;
              if (at < all.size()) {
                all[at + 1] = m.as_list()[j + 1];
              } else {
                all.push_back(m.as_list()[j]);
                all.push_back(m.as_list()[j + 1]);
              }
            }
            row.m = Datum::List(all);
          }
          if (!row.r) {
            row.r = bits;
          } else if (bits) {
            row.r->insert(bits->begin(), bits->end());
          }
        }
        KL_ASSERT_OK(writer->Write(batch));
      } else if (op < 85) {
        auto r = writer->Commit(++commit);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        auto rows = (*table)->ReadAll();
        ASSERT_TRUE(rows.ok()) << rows.status().ToString();
        std::multiset<std::string> got, want;
        for (size_t i = 0; i < rows->size(); ++i) {
          Row r = rows->rows.GetRow(i);
          got.insert(render(r[0].as_int(), r[1], r[2], r[3], BitmapText(r[4])));
        }
        for (const auto& [k, row] : model) {
          std::string bits = "null";
          if (row.r) bits = BitmapText(Datum::Bytes(BitmapBytes(*row.r)));
          want.insert(render(k, row.a, row.d, row.m, bits));
        }
        ASSERT_SAME_ROWS(got, want, format << " / " << producer << " after commit " << commit);
      } else if (op < 93) {
        KL_ASSERT_OK(writer->Compact(rng.OneIn(2)));
        if (rng.OneIn(3)) continue;  // more writes and compactions join the same commit
        auto r = writer->Commit(++commit);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
      } else {
        auto r = writer->Commit(++commit);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        writer = (*table)->NewWriter("nested");
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, NestedAggregatesPropertyTest,
                         ::testing::Combine(::testing::Values("parquet", "avro"), ::testing::Values("none", "lookup")));

TEST(AggregateFunctionsTest, PaimonFunctionsNotImplementedAreRefusedByName) {
  for (const char* fn :
       {"rbm64", "hll_sketch", "theta_sketch", "nested_update", "nested_partial_update", "merge_map_with_keytime"}) {
    testing::TempDir dir;
    auto schema =
        NewTableSchema({{0, "k", DataType::Int().WithNullable(false), ""}, {1, "v", DataType::Bytes(), ""}}, {}, {"k"},
                       {{"bucket", "1"}, {"merge-engine", "aggregation"}, {"fields.v.aggregate-function", fn}});
    ASSERT_TRUE(schema.ok());
    auto table = Table::Create(dir.Sub("t"), *schema);
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    // Two records of one key: the merge needs the function.
    auto writer = (*table)->NewWriter("w");
    Status s = writer->WriteRow({Datum::Int(1), Datum::Bytes("x")});
    if (s.ok()) s = writer->WriteRow({Datum::Int(1), Datum::Bytes("y")});
    if (s.ok()) s = writer->Commit(1).status();
    if (s.ok()) s = (*table)->ReadAll().status();
    ASSERT_FALSE(s.ok()) << fn;
    EXPECT_NE(s.ToString().find(std::string("aggregate function ") + fn), std::string::npos) << s.ToString();
    EXPECT_NE(s.ToString().find("not implemented"), std::string::npos) << s.ToString();
  }
}

}  // namespace
}  // namespace kl::table
