// Read conformance with tables written by Java Paimon: walks every expectation
// under ../shared/paimon-compat/expected (see its INDEX.md) and checks it against
// kubelake's reads — batch scans of the latest snapshot or a given one, streaming
// scans step by step, and raw data-file reads — with the expectation's options,
// read schema, projection, partition/bucket filters and row filters.
//
// Expectations marked implementation_specific (they encode one reader's pruning or
// limit strategy) are listed but not counted. An expectation kubelake cannot run
// (a NotSupported read) is reported as skipped with the reason; every other one
// must pass. The test prints one line per expectation and the count passed out of
// the total.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "common/json.h"
#include "common/string_util.h"
#include "common/testing/test_util.h"
#include "table/data/binary_row.h"
#include "table/table.h"

namespace kl::table {
namespace {

using format::DataType;
using format::Datum;
using format::RowKind;
using format::TypeRoot;

// ---- values ----

// Compares a value read by kubelake with the expected JSON value (INDEX.md conventions).
bool Matches(const JsonValue& expected, const Datum& d, const DataType& type, std::string* why) {
  auto fail = [&](const std::string& what) {
    *why =
        what + ": expected " + expected.ToJson() + ", read " + (d.is_null() ? "null" : format::DatumToString(d, type));
    return false;
  };
  if (expected.is_null() || d.is_null()) return expected.is_null() == d.is_null() ? true : fail("null");
  switch (type.root()) {
    case TypeRoot::kBoolean:
      return expected.is_bool() && d.as_int() == (expected.as_bool() ? 1 : 0) ? true : fail("boolean");
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kBigInt:
    case TypeRoot::kDate:
    case TypeRoot::kTime: return expected.is_int() && d.as_int() == expected.as_int() ? true : fail("integer");
    case TypeRoot::kFloat: {
      // FLOAT values travel as JSON doubles of the float: compare at float precision.
      if (!expected.is_number()) return fail("float");
      return static_cast<float>(d.as_double()) == static_cast<float>(expected.as_double()) ? true : fail("float");
    }
    case TypeRoot::kDouble: {
      // Sums may differ in the last bit with the order they were added in.
      if (!expected.is_number()) return fail("double");
      double want = expected.as_double();
      return std::fabs(d.as_double() - want) <= 1e-12 * std::max(1.0, std::fabs(want)) ? true : fail("double");
    }
    case TypeRoot::kDecimal:
      return expected.is_string() && format::FormatDecimal(d.as_decimal(), type.scale()) == expected.as_string()
                 ? true
                 : fail("decimal");
    case TypeRoot::kChar:
    case TypeRoot::kVarChar:
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary:
      return expected.is_string() && d.as_bytes() == expected.as_string() ? true : fail("string");
    case TypeRoot::kTimestamp:
    case TypeRoot::kTimestampLtz: {
      if (!expected.is_string()) return fail("timestamp");
      auto ts = format::ParseTimestamp(expected.as_string());
      return ts.ok() && *ts == d.as_timestamp() ? true : fail("timestamp");
    }
    case TypeRoot::kArray:
    case TypeRoot::kMultiset: {
      const auto& items = d.as_list();
      if (!expected.is_array() || items.size() != expected.items().size()) return fail("array length");
      for (size_t i = 0; i < items.size(); ++i) {
        if (!Matches(expected.items()[i], items[i], type.element(), why)) return false;
      }
      return true;
    }
    case TypeRoot::kMap: {
      const auto& items = d.as_list();
      if (!expected.is_array() || items.size() != 2 * expected.items().size()) return fail("map size");
      for (size_t i = 0; i < expected.items().size(); ++i) {
        const auto& pair = expected.items()[i].items();
        if (pair.size() != 2 || !Matches(pair[0], items[2 * i], type.key(), why) ||
            !Matches(pair[1], items[2 * i + 1], type.value(), why)) {
          return false;
        }
      }
      return true;
    }
    case TypeRoot::kRow: {
      const auto& items = d.as_list();
      if (!expected.is_array() || items.size() != expected.items().size()) return fail("row arity");
      for (size_t i = 0; i < items.size(); ++i) {
        if (!Matches(expected.items()[i], items[i], type.fields()[i].type, why)) return false;
      }
      return true;
    }
    default: return fail("type " + type.ToString());
  }
}

std::string RowDebug(const format::ColumnBatch& rows, size_t r, const std::vector<std::optional<RowKind>>& kinds) {
  std::string s = kinds[r] ? std::string(format::RowKindShortString(*kinds[r])) + " " : "";
  for (size_t c = 0; c < rows.num_columns(); ++c) {
    Datum d = rows.column(c).Get(r);
    s += (c ? ", " : "") + (d.is_null() ? std::string("null") : format::DatumToString(d, rows.schema().type(c)));
  }
  return s;
}

// Expected rows against read rows, as multisets (INDEX.md: order does not matter).
Status CompareRows(const JsonValue& expected, const format::ColumnBatch& rows,
                   const std::vector<std::optional<RowKind>>& kinds) {
  const auto& want = expected.Find("rows")->items();
  const auto& columns = expected.Find("columns")->items();
  if (rows.num_columns() != columns.size()) {
    return Status::Internal("read " + std::to_string(rows.num_columns()) + " columns, expected " +
                            std::to_string(columns.size()));
  }
  for (size_t c = 0; c < columns.size(); ++c) {
    if (rows.schema().field(c).name != columns[c].as_string()) {
      return Status::Internal("column " + std::to_string(c) + " is " + rows.schema().field(c).name + ", expected " +
                              columns[c].as_string());
    }
  }
  std::vector<bool> used(rows.num_rows(), false);
  for (size_t e = 0; e < want.size(); ++e) {
    const JsonValue& kind = *want[e].Find("row_kind");
    const auto& values = want[e].Find("values")->items();
    std::string closest;
    bool found = false;
    for (size_t r = 0; r < rows.num_rows() && !found; ++r) {
      if (used[r]) continue;
      if (!kind.is_null() && (!kinds[r] || format::RowKindShortString(*kinds[r]) != kind.as_string())) continue;
      bool all = values.size() == rows.num_columns();
      std::string why;
      for (size_t c = 0; all && c < values.size(); ++c) {
        all = Matches(values[c], rows.column(c).Get(r), rows.schema().type(c), &why);
      }
      if (all) {
        used[r] = found = true;
      } else if (closest.empty()) {
        closest = why;
      }
    }
    if (!found) {
      std::string read;
      for (size_t r = 0; r < rows.num_rows(); ++r) read += "\n      " + RowDebug(rows, r, kinds);
      return Status::Internal("expected row " + want[e].ToJson() + " not read (" + closest + "); read " +
                              std::to_string(rows.num_rows()) + " rows:" + read);
    }
  }
  if (rows.num_rows() != want.size()) {
    std::string extra;
    for (size_t r = 0; r < rows.num_rows(); ++r) {
      if (!used[r]) extra += "\n      " + RowDebug(rows, r, kinds);
    }
    return Status::Internal("read " + std::to_string(rows.num_rows()) + " rows, expected " +
                            std::to_string(want.size()) + "; unexpected:" + extra);
  }
  return Status::OK();
}

// ---- the scan an expectation describes ----

// Options whose meaning is the merge: the unit tests behind some expectations build
// their read context from the test's options alone (INDEX.md), so these table options
// give way there.
bool IsMergeOption(const std::string& key) {
  static const char* kPrefixes[] = {"merge-engine",    "ignore-delete", "sequence.field",
                                    "partial-update.", "aggregation.",  "fields.",
                                    "first-row.",      "deduplicate.",  "changelog-producer"};
  for (const char* p : kPrefixes) {
    if (key.rfind(p, 0) == 0) return true;
  }
  return false;
}

struct Filters {
  PartitionFilter partition;      // nullptr: all partitions
  std::optional<int32_t> bucket;  // only this bucket
  Predicate rows;                 // exact row filter
};

std::string Unquote(std::string s) {
  s = std::string(Trim(s));
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

// Equality of a partition value with the text a partition spec gives (the default
// partition name stands for null).
bool PartitionValueIs(const Datum& v, const DataType& type, const std::string& text, const std::string& default_name) {
  if (text == default_name) return v.is_null();
  if (v.is_null()) return false;
  if (type.is_string()) return v.as_bytes() == text;
  return format::DatumToString(v, type) == text;
}

// Interprets the expectation's filter text. The forms are the ones INDEX.md uses; an
// unknown form is an error, never silently ignored.
Result<Filters> ParseFilters(const std::string& text, const Table& table) {
  Filters f;
  if (text.empty()) return f;
  const TableSchema& schema = table.schema();
  format::RowType part_type = schema.PartitionType();
  std::string default_name = table.context()->options().partition_default_name();
  std::smatch m;
  // partition filter [{f0: "2025"}, {f0: "__DEFAULT_PARTITION__"}]
  static const std::regex kSpecList(R"(^partition filter \[(.*)\]$)");
  // partition filter f1=10 AND bucket filter bucket=1 | partition f1=10 AND bucket=1; ...
  // | only split partition f1=20, bucket 0
  static const std::regex kPartBucket(
      R"(^(?:only split )?partition (?:filter )?(\w+)=(\w+)(?: AND bucket filter bucket=| AND bucket=|, bucket )(\d+)(.*)$)");
  static const std::regex kExact(R"(^(?:predicate )?(.*) with EnablePredicateFilter\(true\) \(exact row filter\)$)");
  static const std::regex kPushdownOnly(R"(^predicate .* on scan and read context$)");
  auto spec_filter = [&](std::vector<std::map<std::string, std::string>> specs) -> PartitionFilter {
    return [specs, part_type, default_name](const format::Row& partition) {
      for (const auto& spec : specs) {
        bool all = true;
        for (const auto& [name, value] : spec) {
          int i = part_type.IndexOf(name);
          all = all && i >= 0 &&
                PartitionValueIs(partition[static_cast<size_t>(i)], part_type.type(static_cast<size_t>(i)), value,
                                 default_name);
        }
        if (all) return true;
      }
      return false;
    };
  };
  if (std::regex_match(text, m, kSpecList)) {
    std::vector<std::map<std::string, std::string>> specs;
    static const std::regex kSpec(R"(\{(\w+): ("[^"]*")\})");
    std::string list = m[1];
    for (auto it = std::sregex_iterator(list.begin(), list.end(), kSpec); it != std::sregex_iterator(); ++it) {
      specs.push_back({{(*it)[1], Unquote((*it)[2])}});
    }
    if (specs.empty()) return Status::InvalidArgument("no partition spec in \"" + text + "\"");
    f.partition = spec_filter(specs);
    return f;
  }
  if (std::regex_match(text, m, kPartBucket)) {
    f.partition = spec_filter({{{m[1], m[2]}}});
    f.bucket = static_cast<int32_t>(std::stoi(m[3]));
    std::string rest = m[4];
    // "; predicate ... set on scan only (NOT applied because ...)": the read returns
    // merged rows regardless, so no row filter.
    if (!rest.empty() && rest.find("NOT applied") == std::string::npos) {
      return Status::InvalidArgument("unrecognised filter tail \"" + rest + "\"");
    }
    return f;
  }
  if (std::regex_match(text, m, kExact)) {
    KL_ASSIGN_OR_RETURN(f.rows, Predicate::Parse(std::string(m[1]), schema.fields));
    return f;
  }
  // A predicate used only to prune: a reader that prunes nothing returns every row,
  // which is what the expectations that are not implementation specific hold.
  if (std::regex_match(text, m, kPushdownOnly)) return f;
  return Status::InvalidArgument("unrecognised filter \"" + text + "\"");
}

// The session time zone an expectation was produced in, as a fixed offset: its notes
// name the zone ("local time zone Asia/Shanghai"); kubelake takes fixed offsets, so the
// zones the expectations use are listed with their offset (valid for the dates held).
std::optional<std::string> SessionTimeZone(const JsonValue& e) {
  static const std::map<std::string, std::string> kOffsets = {{"Asia/Shanghai", "+08:00"}, {"UTC", "+00:00"}};
  const JsonValue* notes = e.Find("notes");
  if (notes == nullptr || !notes->is_string()) return std::nullopt;
  static const std::regex kZone(R"(local time zone ([A-Za-z_]+(?:/[A-Za-z_]+)?))");
  std::smatch m;
  if (!std::regex_search(notes->as_string(), m, kZone)) return std::nullopt;
  auto it = kOffsets.find(m[1]);
  if (it == kOffsets.end()) return std::nullopt;
  return it->second;
}

struct Outcome {
  enum Kind { kPass, kFail, kSkip, kNotCounted } kind;
  std::string reason;
};

class Conformance {
 public:
  Conformance(std::string root) : root_(std::move(root)) {}

  Outcome Check(const std::string& json_path) {
    auto text = ReadFile(json_path);
    if (!text.ok()) return {Outcome::kFail, text.status().ToString()};
    auto json = ParseJson(*text, json_path);
    if (!json.ok()) return {Outcome::kFail, json.status().ToString()};
    const JsonValue& e = *json;
    if (const JsonValue* impl = e.Find("implementation_specific");
        impl != nullptr && impl->is_bool() && impl->as_bool()) {
      const JsonValue* filter = e.Find("scan")->Find("filter");
      return {Outcome::kNotCounted, "implementation specific (" +
                                        (filter && filter->is_string() ? filter->as_string() : std::string("limit")) +
                                        ")"};
    }
    Status s = Run(e);
    if (s.ok()) return {Outcome::kPass, ""};
    if (s.code() == StatusCode::kNotSupported) return {Outcome::kSkip, s.message()};
    return {Outcome::kFail, s.ToString()};
  }

 private:
  std::string TablePath(const JsonValue& e) const {
    return JoinPath(JoinPath(root_, "tables"), e.Find("table")->as_string());
  }

  Result<std::shared_ptr<Table>> OpenTable(const JsonValue& e) {
    std::string path = TablePath(e);
    const JsonValue& scan = *e.Find("scan");
    SchemaManager schemas(path);
    // The read schema: read_schema_id when given, else the schema the expected column
    // types come from (the unit tests behind some expectations read with an older one).
    std::optional<int64_t> schema_id;
    if (const JsonValue* id = scan.Find("read_schema_id"); id != nullptr && id->is_int()) {
      schema_id = id->as_int();
    } else if (const JsonValue* types = e.Find("schema_id_for_types"); types != nullptr && types->is_int()) {
      schema_id = types->as_int();
    }
    KL_ASSIGN_OR_RETURN(TableSchema schema, schema_id ? schemas.Read(*schema_id) : schemas.Latest());
    std::string source = e.Find("source") ? e.Find("source")->as_string() : "";
    if (const JsonValue* options = scan.Find("options"); options != nullptr && options->is_object()) {
      if (source.find("merge_file_split_read_test") != std::string::npos) {
        for (auto it = schema.options.begin(); it != schema.options.end();) {
          it = IsMergeOption(it->first) ? schema.options.erase(it) : std::next(it);
        }
      }
      for (const auto& [k, v] : options->members()) schema.options[k] = v.as_string();
    }
    // Casts between zoned and unzoned times use the session zone the test ran in.
    if (auto zone = SessionTimeZone(e)) schema.options["kubelake.local-time-zone"] = *zone;
    // Files under external paths were written to another machine's directory; the
    // test data keeps them in <db>/external.
    if (auto external = schema.table_options().Get("data-file.external-paths")) {
      schema.options["kubelake.external-path.rewrite.from"] = *external;
      schema.options["kubelake.external-path.rewrite.to"] = JoinPath(DirName(path), "external");
    }
    return Table::OpenWithSchema(path, std::move(schema));
  }

  static std::vector<std::string> Projection(const JsonValue& scan) {
    std::vector<std::string> out;
    const JsonValue* p = scan.Find("projection");
    if (p != nullptr && p->is_array()) {
      for (const auto& c : p->items()) out.push_back(c.as_string());
    }
    return out;
  }

  // Reads a plan's splits (those the bucket filter keeps) with kinds.
  static Status ReadPlan(Table& table, const ScanPlan& plan, const JsonValue& e, const Filters& filters,
                         format::ColumnBatch* rows, std::vector<std::optional<RowKind>>* kinds) {
    KL_ASSIGN_OR_RETURN(auto read, table.NewRead(Projection(*e.Find("scan")), filters.rows));
    ScanPlan kept = plan;
    if (filters.bucket) {
      kept.splits.clear();
      for (const auto& s : plan.splits) {
        if (s.bucket == *filters.bucket) kept.splits.push_back(s);
      }
    }
    KL_ASSIGN_OR_RETURN(RowsWithKinds out, read->ReadAll(kept));
    *rows = std::move(out.rows);
    kinds->assign(out.kinds.begin(), out.kinds.end());
    return Status::OK();
  }

  Status Run(const JsonValue& e) {
    const JsonValue& scan = *e.Find("scan");
    std::string mode = scan.Find("mode")->as_string();
    if (mode == "data_file") return RunDataFile(e);
    KL_ASSIGN_OR_RETURN(auto table, OpenTable(e));
    const JsonValue* filter_text = scan.Find("filter");
    KL_ASSIGN_OR_RETURN(Filters filters,
                        ParseFilters(filter_text && filter_text->is_string() ? filter_text->as_string() : "", *table));
    format::ColumnBatch rows;
    std::vector<std::optional<RowKind>> kinds;
    if (mode == "batch") {
      const JsonValue* snapshot = scan.Find("snapshot");
      TableScan planner = table->NewScan();
      ScanPlan plan;
      if (snapshot != nullptr && snapshot->is_int()) {
        KL_ASSIGN_OR_RETURN(plan, planner.PlanSnapshot(snapshot->as_int(), filters.partition));
      } else {
        KL_ASSIGN_OR_RETURN(plan, planner.PlanLatest(filters.partition));
        const JsonValue* resolved = scan.Find("resolved_snapshot");
        if (resolved != nullptr && resolved->is_int() && plan.snapshot_id != resolved->as_int()) {
          return Status::Internal("latest scan resolved to snapshot " +
                                  (plan.snapshot_id ? std::to_string(*plan.snapshot_id) : std::string("none")) +
                                  ", expected " + std::to_string(resolved->as_int()));
        }
      }
      KL_RETURN_IF_ERROR(ReadPlan(*table, plan, e, filters, &rows, &kinds));
      return CompareRows(e, rows, kinds);
    }
    if (mode == "streaming") return RunStreaming(e, *table, filters);
    return Status::InvalidArgument("unknown scan mode " + mode);
  }

  // One step of a streaming read: replays the scan from its start up to this step,
  // checking every plan's snapshot id against plan_sequence; after the last step the
  // next plan must be empty.
  Status RunStreaming(const JsonValue& e, Table& table, const Filters& filters) {
    const JsonValue& scan = *e.Find("scan");
    std::string scan_mode = scan.Find("scan_mode")->as_string();
    const JsonValue* snapshot = scan.Find("snapshot");
    std::optional<int64_t> start;
    if (snapshot != nullptr && snapshot->is_int()) start = snapshot->as_int();
    StreamStart kind;
    if (scan_mode == "latest-full")
      kind = StreamStart::kLatestFull;
    else if (scan_mode == "from-snapshot-full")
      kind = StreamStart::kFromSnapshotFull;
    // Paimon's default mode with scan.snapshot-id set is from-snapshot.
    else if (scan_mode == "from-snapshot" || scan_mode.rfind("default", 0) == 0)
      kind = StreamStart::kFromSnapshot;
    else
      return Status::InvalidArgument("unknown streaming scan mode " + scan_mode);
    StreamScan stream = table.NewStreamScan(kind, start, filters.partition);
    const auto& sequence = scan.Find("plan_sequence")->items();
    int64_t step = scan.Find("step")->as_int();
    ScanPlan plan;
    for (int64_t i = 0; i <= step; ++i) {
      KL_ASSIGN_OR_RETURN(plan, stream.Next());
      const JsonValue& want = sequence[static_cast<size_t>(i)];
      bool same = want.is_null() ? !plan.snapshot_id.has_value() : plan.snapshot_id == want.as_int();
      if (!same) {
        return Status::Internal("plan " + std::to_string(i) + " is for snapshot " +
                                (plan.snapshot_id ? std::to_string(*plan.snapshot_id) : std::string("none")) +
                                ", expected " + want.ToJson());
      }
    }
    format::ColumnBatch rows;
    std::vector<std::optional<RowKind>> kinds;
    KL_RETURN_IF_ERROR(ReadPlan(table, plan, e, filters, &rows, &kinds));
    KL_RETURN_IF_ERROR(CompareRows(e, rows, kinds));
    if (static_cast<size_t>(step) + 1 == sequence.size()) {
      KL_ASSIGN_OR_RETURN(ScanPlan after, stream.Next());
      if (after.snapshot_id || !after.splits.empty()) {
        return Status::Internal("after the last step the scan planned snapshot " +
                                (after.snapshot_id ? std::to_string(*after.snapshot_id) : std::string("none")) +
                                " with " + std::to_string(after.splits.size()) + " splits; expected nothing");
      }
    }
    return Status::OK();
  }

  // A raw read of one data file (as an append-table file: no merge, no row kind).
  Status RunDataFile(const JsonValue& e) {
    std::string table_path = TablePath(e);
    const JsonValue& scan = *e.Find("scan");
    std::string file = JoinPath(table_path, scan.Find("file")->as_string());
    int64_t schema_id = e.Find("schema_id_for_types")->as_int();
    KL_ASSIGN_OR_RETURN(TableSchema schema, SchemaManager(table_path).Read(schema_id));
    DataFileMeta meta;
    meta.file_name = BaseName(file);
    meta.schema_id = schema_id;
    format::RowType read_type = schema.fields;
    std::vector<std::string> projection = Projection(scan);
    if (!projection.empty()) {
      KL_ASSIGN_OR_RETURN(std::vector<int> idx, schema.IndexesOf(projection));
      read_type = schema.fields.Project(idx);
    }
    KL_ASSIGN_OR_RETURN(
        auto reader, DataFileReader::Open(file, meta, schema, read_type, /*key_value=*/false, schema.table_options()));
    format::ColumnBatch rows(read_type);
    while (true) {
      KvBatch chunk;
      KL_ASSIGN_OR_RETURN(size_t n, reader->Next(1024, &chunk));
      if (n == 0) break;
      for (size_t r = 0; r < n; ++r) rows.AppendRowFrom(chunk.values, r);
    }
    std::vector<std::optional<RowKind>> kinds(rows.num_rows());
    return CompareRows(e, rows, kinds);
  }

  std::string root_;
};

std::vector<std::string> ExpectationFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".json") out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(PaimonConformanceTest, EveryExpectationOfJavaWrittenTables) {
  KL_REQUIRE_SHARED("paimon-compat/expected", expected_dir);
  std::string root = DirName(expected_dir);
  Conformance conformance(root);
  std::vector<std::string> files = ExpectationFiles(expected_dir);
  ASSERT_FALSE(files.empty());
  int passed = 0, failed = 0, skipped = 0, not_counted = 0;
  std::map<std::string, int> skip_reasons;
  for (const auto& path : files) {
    std::string name = path.substr(expected_dir.size() + 1);
    Outcome o = conformance.Check(path);
    switch (o.kind) {
      case Outcome::kPass:
        ++passed;
        std::printf("PASS  %s\n", name.c_str());
        break;
      case Outcome::kFail:
        ++failed;
        std::printf("FAIL  %s\n      %s\n", name.c_str(), o.reason.c_str());
        ADD_FAILURE() << name << ": " << o.reason;
        break;
      case Outcome::kSkip:
        ++skipped;
        ++skip_reasons[o.reason];
        std::printf("SKIP  %s: %s\n", name.c_str(), o.reason.c_str());
        break;
      case Outcome::kNotCounted:
        ++not_counted;
        std::printf("N/A   %s: %s\n", name.c_str(), o.reason.c_str());
        break;
    }
  }
  int total = passed + failed + skipped;
  std::printf(
      "\nconformance: %d passed of %d expectations (%d failed, %d skipped); %d implementation-specific not counted\n",
      passed, total, failed, skipped, not_counted);
  for (const auto& [reason, n] : skip_reasons) std::printf("  skipped %d: %s\n", n, reason.c_str());
  RecordProperty("passed", passed);
  RecordProperty("total", total);
  EXPECT_GT(passed, 0);
}

}  // namespace
}  // namespace kl::table
