// The 'paimon' catalog over a filesystem warehouse, and scans of Paimon tables.
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/json.h"
#include "common/string_util.h"
#include "sql/catalog/catalog.h"
#include "sql/functions/cast.h"
#include "table/data/binary_row.h"
#include "table/tag/tag.h"

namespace kl::sql {

namespace {

constexpr char kViewDir[] = ".kubelake-views";

// Snapshot a read sees: scan.tag-name, scan.version (FOR SYSTEM_VERSION AS OF), scan.snapshot-id,
// scan.timestamp-millis, scan.timestamp, FOR SYSTEM_TIME AS OF; latest otherwise.
Result<table::ScanPlan> PlanFor(const table::Table& t, const ReadOptions& read, const table::PartitionFilter& filter,
                                table::BucketFilter buckets) {
  table::TableScan scan = t.NewScan();
  scan.SetBucketFilter(std::move(buckets));
  const auto& o = read.dynamic_options;
  auto get = [&](const char* k) -> std::optional<std::string> {
    auto it = o.find(k);
    if (it == o.end()) return std::nullopt;
    return it->second;
  };
  std::vector<std::string> travel;
  for (const char* k :
       {"scan.tag-name", "scan.version", "scan.snapshot-id", "scan.timestamp-millis", "scan.timestamp"}) {
    if (get(k)) travel.push_back("'" + std::string(k) + "'");
  }
  if (read.as_of_millis) travel.push_back("FOR SYSTEM_TIME AS OF");
  if (travel.size() > 1 && (get("scan.tag-name") || get("scan.version"))) {
    return Status::InvalidArgument("a read of " + t.path() + " travels to one version: " + travel[0] + " and " +
                                   travel[1] + " are both given");
  }
  if (auto tag = get("scan.tag-name")) return scan.PlanTag(std::string(Trim(*tag)), filter);
  if (auto version = get("scan.version")) {
    // Paimon's order: a tag of that name, else a snapshot number.
    std::string v(Trim(*version));
    if (!v.empty() && table::TagManager(t.path()).Exists(v)) return scan.PlanTag(v, filter);
    auto id = ParseInt64(v);
    if (!id) {
      return Status::NotFound("version '" + v + "' of " + t.path() +
                              ": no tag has that name, and it is not a snapshot number");
    }
    return scan.PlanSnapshot(*id, filter);
  }
  if (auto id = get("scan.snapshot-id")) {
    auto v = ParseInt64(Trim(*id));
    if (!v) return Status::InvalidArgument("'scan.snapshot-id' = '" + *id + "' is not a snapshot number");
    return scan.PlanSnapshot(*v, filter);
  }
  std::optional<int64_t> at = read.as_of_millis;
  if (auto ms = get("scan.timestamp-millis")) {
    auto v = ParseInt64(Trim(*ms));
    if (!v) return Status::InvalidArgument("'scan.timestamp-millis' = '" + *ms + "' is not a number of milliseconds");
    at = *v;
  }
  if (auto ts = get("scan.timestamp")) {
    auto v = ParseTimestampText(*ts);
    if (!v.ok()) return Status::InvalidArgument("'scan.timestamp' = '" + *ts + "': " + v.status().message());
    at = v->millis;
  }
  if (at) {
    auto plan = scan.PlanAsOfTime(*at, filter);
    if (!plan.ok() && plan.status().IsNotFound()) {
      return Status::NotFound("table " + t.path() + " has no snapshot at or before " + TimestampText({*at, 0}, 3) +
                              " UTC (the oldest may have expired)");
    }
    return plan;
  }
  return scan.PlanLatest(filter);
}

class PaimonReader : public RowReader {
 public:
  PaimonReader(std::unique_ptr<table::TableRead> read, table::ScanPlan plan, std::optional<int64_t> limit,
               size_t num_columns)
      : read_(std::move(read)), plan_(std::move(plan)), limit_(limit), num_columns_(num_columns) {}

  Result<bool> Next(format::ColumnBatch* out) override {
    while (true) {
      if (limit_ && emitted_ >= *limit_) return false;
      if (!split_) {
        if (next_split_ >= plan_.splits.size()) return false;
        KL_ASSIGN_OR_RETURN(split_, read_->Open(plan_.splits[next_split_]));
        ++next_split_;
      }
      table::RowsWithKinds rows = read_->NewOutput();
      KL_ASSIGN_OR_RETURN(size_t n, split_->Next(kBatchSize, &rows));
      if (n == 0) {
        split_.reset();
        continue;
      }
      if (rows.size() == 0) continue;
      // Merged and append reads hold only inserts; retractions never reach a batch query.
      bool all_adds = true;
      for (auto k : rows.kinds) all_adds = all_adds && format::IsAdd(k);
      format::ColumnBatch batch;
      if (all_adds) {
        batch = std::move(rows.rows);
      } else {
        batch = format::ColumnBatch(rows.rows.schema());
        for (size_t i = 0; i < rows.size(); ++i) {
          if (format::IsAdd(rows.kinds[i])) batch.AppendRowFrom(rows.rows, i);
        }
      }
      size_t count = batch.num_rows();
      if (num_columns_ == 0) {
        // No column needed (COUNT(*)): rows without columns.
        batch = format::ColumnBatch();
        batch.SetNumRows(count);
      }
      if (count == 0) continue;
      emitted_ += static_cast<int64_t>(count);
      *out = std::move(batch);
      return true;
    }
  }

 private:
  std::unique_ptr<table::TableRead> read_;
  table::ScanPlan plan_;
  std::optional<int64_t> limit_;
  size_t num_columns_;
  size_t next_split_ = 0;
  std::unique_ptr<table::SplitReader> split_;
  int64_t emitted_ = 0;
};

bool DatumPasses(const format::Datum& v, const ScanFilter& f) {
  if (f.op == table::CompareOp::kIsNull) return v.is_null();
  if (f.op == table::CompareOp::kIsNotNull) return !v.is_null();
  if (f.op == table::CompareOp::kIn) {
    if (v.is_null()) return false;
    for (const auto& x : f.literals) {
      if (format::CompareDatum(v, x) == 0) return true;
    }
    return false;
  }
  if (v.is_null() || f.literal.is_null()) return false;
  int c = format::CompareDatum(v, f.literal);
  switch (f.op) {
    case table::CompareOp::kEq: return c == 0;
    case table::CompareOp::kNe: return c != 0;
    case table::CompareOp::kLt: return c < 0;
    case table::CompareOp::kLe: return c <= 0;
    case table::CompareOp::kGt: return c > 0;
    case table::CompareOp::kGe: return c >= 0;
    default: return true;
  }
}

class PaimonSource : public TableSource {
 public:
  PaimonSource(std::shared_ptr<table::Table> table, ReadOptions read)
      : table_(std::move(table)), read_(std::move(read)) {
    // Fixed for the source (its table is opened at one schema): worked out once.
    const table::TableSchema& schema = table_->schema();
    bucket_keys_.buckets = schema.table_options().bucket();
    if (bucket_keys_.buckets > 1) bucket_keys_.columns = schema.BucketKeyIndexes();
    for (int k : bucket_keys_.columns)
      bucket_keys_.types.push_back(schema.fields.type(static_cast<size_t>(k)).NotNull());
  }
  const format::RowType& schema() const override { return table_->schema().fields; }
  bool AppliesFilters() const override { return true; }

  Result<std::unique_ptr<RowReader>> Open(const ScanRequest& request, ExecContext& ctx) override {
    const auto& fields = schema();
    // Partition pruning: conditions on partition columns decide which partitions to list.
    std::vector<int> part_idx = table_->schema().PartitionIndexes();
    std::vector<std::pair<size_t, ScanFilter>> part_filters;
    for (const auto& f : request.filters) {
      auto it = std::find(part_idx.begin(), part_idx.end(), f.column);
      if (it != part_idx.end()) part_filters.push_back({static_cast<size_t>(it - part_idx.begin()), f});
    }
    table::PartitionFilter pfilter;
    if (!part_filters.empty()) {
      pfilter = [part_filters](const format::Row& partition) {
        for (const auto& [i, f] : part_filters) {
          if (i >= partition.size() || !DatumPasses(partition[i], f)) return false;
        }
        return true;
      };
    }
    // Buckets are pruned before the plan copies any file's description out of the
    // snapshot's kept live files: a look-up by key copies one bucket's, not every one's.
    table::BucketFilter bfilter;
    if (std::optional<std::set<int32_t>> keep = BucketsFor(request)) {
      // Buckets were worked out for the schema's count; a file written under another count
      // (before the table was rescaled) is kept and filtered by its rows.
      bfilter = [keep = std::move(*keep), buckets = bucket_keys_.buckets](int32_t bucket, int32_t total_buckets) {
        return total_buckets != buckets || keep.count(bucket) != 0;
      };
    }
    table::ScanPlan plan;
    if (request.snapshot) {
      table::TableScan scan = table_->NewScan();
      scan.SetBucketFilter(std::move(bfilter));
      KL_ASSIGN_OR_RETURN(plan, scan.PlanAt(*request.snapshot, pfilter));
    } else {
      KL_ASSIGN_OR_RETURN(plan, PlanFor(*table_, read_, pfilter, std::move(bfilter)));
    }
    std::vector<std::string> names;
    for (int c : request.columns) names.push_back(fields.field(c).name);
    if (names.empty() && fields.size() > 0) {
      // COUNT(*): read the narrowest column (a key column when there is one).
      int pick = 0;
      auto keys = table_->schema().TrimmedKeyIndexes();
      if (!keys.empty()) pick = keys[0];
      names.push_back(fields.field(pick).name);
    }
    table::Predicate predicate;
    for (const auto& f : request.filters) predicate.And({fields.field(f.column).name, f.op, f.literal, f.literals});
    KL_ASSIGN_OR_RETURN(auto read, table_->NewRead(names, predicate));
    if (!request.key_columns.empty()) {
      std::vector<std::string> key_fields;
      for (int c : request.key_columns) key_fields.push_back(fields.field(c).name);
      read->NarrowToKeys(std::move(key_fields), request.key_rows);
    }
    return std::unique_ptr<RowReader>(
        new PaimonReader(std::move(read), std::move(plan), request.limit, request.columns.size()));
  }

  // The latest snapshot, for reads of the latest (no time travel, no options).
  Result<std::shared_ptr<const table::Snapshot>> CurrentSnapshot() override {
    if (read_.as_of_millis || !read_.dynamic_options.empty()) return std::shared_ptr<const table::Snapshot>();
    KL_ASSIGN_OR_RETURN(std::optional<table::Snapshot> latest, table_->snapshots().Latest());
    if (!latest) return std::shared_ptr<const table::Snapshot>();
    return std::make_shared<const table::Snapshot>(std::move(*latest));
  }

  std::string Describe(const ScanRequest& request) const override {
    const auto& fields = schema();
    std::string s = "paimon " + table_->path().substr(table_->path().find_last_of('/') + 1);
    std::vector<std::string> cols;
    for (int c : request.columns) cols.push_back(fields.field(c).name);
    s += " columns=[" + Join(cols, ", ") + "]";
    if (!request.filters.empty()) {
      std::vector<std::string> fs;
      auto parts = table_->schema().partition_keys;
      for (const auto& f : request.filters) {
        const std::string& n = fields.field(f.column).name;
        bool is_part = std::find(parts.begin(), parts.end(), n) != parts.end();
        std::string lit = f.literal.is_null() ? "" : " " + format::DatumDebugString(f.literal);
        if (f.op == table::CompareOp::kIn) {
          lit = " (";
          for (size_t i = 0; i < f.literals.size() && i < 8; ++i) {
            lit += (i ? ", " : "") + format::DatumDebugString(f.literals[i]);
          }
          if (f.literals.size() > 8) lit += ", ... " + std::to_string(f.literals.size()) + " values";
          lit += ")";
        }
        fs.push_back(n + " " + std::string(table::CompareOpText(f.op)) + lit + (is_part ? " (partition)" : ""));
      }
      s += " filters=[" + Join(fs, ", ") + "]";
    }
    if (request.limit) s += " limit=" + std::to_string(*request.limit);
    for (const auto& [k, v] : read_.dynamic_options) s += " " + k + "=" + v;
    if (read_.as_of_millis) s += " as-of=" + TimestampText({*read_.as_of_millis, 0}, 3);
    return s;
  }

 private:
  // With a fixed number of buckets, equality (or IN) on every bucket-key column names the
  // buckets that can hold the rows (those the writer put such rows in); nullopt: any bucket.
  std::optional<std::set<int32_t>> BucketsFor(const ScanRequest& request) const {
    int buckets = bucket_keys_.buckets;
    const std::vector<int>& keys = bucket_keys_.columns;
    if (buckets <= 1 || keys.empty()) return std::nullopt;
    // Per bucket-key column, the values it may hold; their combinations name the buckets.
    std::vector<std::vector<format::Datum>> choices;
    const std::vector<format::DataType>& types = bucket_keys_.types;
    size_t combinations = 1;
    for (int k : keys) {
      const ScanFilter* point = nullptr;
      for (const auto& f : request.filters) {
        if (f.column != k) continue;
        if ((f.op == table::CompareOp::kEq && !f.literal.is_null()) ||
            (f.op == table::CompareOp::kIn && (point == nullptr || point->op == table::CompareOp::kIn))) {
          point = &f;
        }
      }
      if (point == nullptr) return std::nullopt;
      choices.push_back(point->op == table::CompareOp::kEq ? std::vector<format::Datum>{point->literal}
                                                           : point->literals);
      combinations *= std::max<size_t>(choices.back().size(), 1);
      if (combinations > 4096) return std::nullopt;
    }
    std::set<int32_t> keep;
    std::vector<size_t> pick(choices.size(), 0);
    bool empty = false;
    for (const auto& c : choices) empty = empty || c.empty();
    while (!empty) {
      format::Row values;
      for (size_t i = 0; i < choices.size(); ++i) values.push_back(choices[i][pick[i]]);
      keep.insert(table::BucketOf(table::EncodeBinaryRow(values, types), buckets));
      size_t i = 0;
      while (i < pick.size() && ++pick[i] == choices[i].size()) pick[i++] = 0;
      if (i == pick.size()) break;
    }
    return keep;
  }

  struct BucketKeys {
    int32_t buckets = 0;
    std::vector<int> columns;
    std::vector<format::DataType> types;
  };

  std::shared_ptr<table::Table> table_;
  ReadOptions read_;
  BucketKeys bucket_keys_;
};

class PaimonCatalog : public Catalog {
 public:
  explicit PaimonCatalog(std::string warehouse) : catalog_(std::move(warehouse)) {}
  std::string type() const override { return "paimon"; }
  std::map<std::string, std::string> options() const override {
    return {{"type", "paimon"}, {"warehouse", catalog_.warehouse()}};
  }

  Result<std::vector<std::string>> ListDatabases() override {
    if (!IsDirectory(catalog_.warehouse())) return std::vector<std::string>{};
    KL_ASSIGN_OR_RETURN(auto dbs, catalog_.ListDatabases());
    std::sort(dbs.begin(), dbs.end());
    return dbs;
  }
  Result<bool> DatabaseExists(const std::string& db) override { return IsDirectory(catalog_.DatabasePath(db)); }
  Result<std::vector<std::string>> ListTables(const std::string& db) override {
    KL_RETURN_IF_ERROR(NeedDatabase(db));
    KL_ASSIGN_OR_RETURN(auto tables, catalog_.ListTables(db));
    std::sort(tables.begin(), tables.end());
    return tables;
  }
  Result<std::vector<std::string>> ListViews(const std::string& db) override {
    KL_RETURN_IF_ERROR(NeedDatabase(db));
    std::string dir = JoinPath(catalog_.DatabasePath(db), kViewDir);
    std::vector<std::string> out;
    if (!IsDirectory(dir)) return out;
    KL_ASSIGN_OR_RETURN(auto names, ListDir(dir));
    for (const auto& n : names) {
      if (n.size() > 5 && n.substr(n.size() - 5) == ".json") out.push_back(n.substr(0, n.size() - 5));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<std::shared_ptr<CatalogObject>> GetObject(const std::string& db, const std::string& name,
                                                   const ReadOptions& read) override {
    KL_RETURN_IF_ERROR(NeedDatabase(db));
    size_t dollar = name.find('$');
    std::string base = dollar == std::string::npos ? name : name.substr(0, dollar);
    std::string path = catalog_.TablePath(db, base);
    if (!IsDirectory(JoinPath(path, "schema"))) {
      if (dollar == std::string::npos) {
        std::string view = ViewPath(db, name);
        if (FileExists(view)) return LoadView(db, name, view);
      }
      return Status::NotFound("table " + db + "." + base + " does not exist");
    }
    Result<std::shared_ptr<table::Table>> t =
        read.dynamic_options.empty() ? OpenTable(path) : table::Table::Open(path, ScanIndependentOptions(read));
    if (!t.ok()) return t.status();
    if (dollar != std::string::npos) {
      KL_ASSIGN_OR_RETURN(auto obj, OpenSystemTable(*t, name.substr(dollar + 1)));
      obj->database = db;
      obj->name = name;
      return obj;
    }
    auto obj = std::make_shared<CatalogObject>();
    obj->kind = ObjectKind::kTable;
    obj->database = db;
    obj->name = name;
    obj->schema = (*t)->schema().fields;
    obj->paimon = *t;
    obj->comment = (*t)->schema().comment;
    obj->source = NewPaimonSource(*t, read);
    return obj;
  }
  // GetObject's table without the object: the same checks of the file system, the same
  // opened table (a name with '$' or hints goes the long way).
  Result<std::shared_ptr<table::Table>> GetPaimonTable(const std::string& db, const std::string& name,
                                                       const ReadOptions& read) override {
    if (name.find('$') != std::string::npos || !read.dynamic_options.empty()) {
      return Catalog::GetPaimonTable(db, name, read);
    }
    std::string path = catalog_.TablePath(db, name);
    if (auto same = StillLatest(path)) return same;
    KL_RETURN_IF_ERROR(NeedDatabase(db));
    if (!IsDirectory(JoinPath(path, "schema"))) return Catalog::GetPaimonTable(db, name, read);
    return OpenTable(path);
  }

  Status CreateDatabase(const std::string& db, bool ignore_if_exists) override {
    if (IsDirectory(catalog_.DatabasePath(db))) {
      if (ignore_if_exists) return Status::OK();
      return Status::AlreadyExists("database " + db + " already exists");
    }
    return catalog_.CreateDatabase(db, ignore_if_exists);
  }
  Status DropDatabase(const std::string& db, bool ignore_if_missing, bool cascade) override {
    std::string path = catalog_.DatabasePath(db);
    if (!IsDirectory(path)) {
      return ignore_if_missing ? Status::OK() : Status::NotFound("database " + db + " does not exist");
    }
    KL_ASSIGN_OR_RETURN(auto tables, catalog_.ListTables(db));
    KL_ASSIGN_OR_RETURN(auto views, ListViews(db));
    if (!cascade && (!tables.empty() || !views.empty())) {
      return Status::InvalidArgument("database " + db + " is not empty (" + std::to_string(tables.size()) +
                                     " tables); DROP DATABASE ... CASCADE drops them too");
    }
    return RemoveAll(path);
  }
  Status CreateTable(const std::string& db, const std::string& name, const table::TableSchema& schema,
                     bool ignore_if_exists) override {
    KL_RETURN_IF_ERROR(NeedDatabase(db));
    if (FileExists(ViewPath(db, name))) return Status::AlreadyExists("a view named " + db + "." + name + " exists");
    std::string path = catalog_.TablePath(db, name);
    if (IsDirectory(JoinPath(path, "schema"))) {
      if (ignore_if_exists) return Status::OK();
      return Status::AlreadyExists("table " + db + "." + name + " already exists");
    }
    return table::Table::Create(path, schema).status();
  }
  Status DropTable(const std::string& db, const std::string& name, bool ignore_if_missing) override {
    KL_RETURN_IF_ERROR(NeedDatabase(db));
    std::string path = catalog_.TablePath(db, name);
    if (!IsDirectory(JoinPath(path, "schema"))) {
      if (ignore_if_missing) return Status::OK();
      return Status::NotFound("table " + db + "." + name + " does not exist");
    }
    return RemoveAll(path);
  }
  Status RenameTable(const std::string& db, const std::string& from, const std::string& to) override {
    KL_RETURN_IF_ERROR(NeedDatabase(db));
    std::string a = catalog_.TablePath(db, from), b = catalog_.TablePath(db, to);
    if (!IsDirectory(JoinPath(a, "schema"))) return Status::NotFound("table " + db + "." + from + " does not exist");
    if (FileExists(b)) return Status::AlreadyExists("table " + db + "." + to + " already exists");
    return RenameFile(a, b);
  }
  Status AlterTable(const std::string& db, const std::string& name,
                    const std::function<Result<table::TableSchema>(const table::TableSchema&)>& change) override {
    KL_RETURN_IF_ERROR(NeedDatabase(db));
    std::string path = catalog_.TablePath(db, name);
    if (!IsDirectory(JoinPath(path, "schema"))) return Status::NotFound("table " + db + "." + name + " does not exist");
    table::SchemaManager schemas(path);
    KL_ASSIGN_OR_RETURN(table::TableSchema current, schemas.Latest());
    KL_ASSIGN_OR_RETURN(table::TableSchema next, change(current));
    next.id = current.id + 1;
    next.time_millis = NowMillisForSchema();
    KL_RETURN_IF_ERROR(next.Validate().WithContext("table " + db + "." + name));
    Status s = schemas.Commit(next);
    if (s.IsAlreadyExists()) return Status::Conflict("table " + db + "." + name + " changed meanwhile; run it again");
    return s;
  }
  Status CreateView(const std::string& db, const std::string& name, const std::string& query,
                    const std::vector<std::string>& columns, bool ignore_if_exists) override {
    KL_RETURN_IF_ERROR(NeedDatabase(db));
    if (IsDirectory(JoinPath(catalog_.TablePath(db, name), "schema"))) {
      return Status::AlreadyExists("a table named " + db + "." + name + " exists");
    }
    std::string path = ViewPath(db, name);
    if (FileExists(path)) {
      if (ignore_if_exists) return Status::OK();
      return Status::AlreadyExists("view " + db + "." + name + " already exists");
    }
    KL_RETURN_IF_ERROR(CreateDirs(DirName(path)));
    JsonWriter w(true);
    w.BeginObject().Key("query").String(query).Key("columns").BeginArray();
    for (const auto& c : columns) w.String(c);
    w.EndArray().EndObject();
    return WriteFileIfAbsent(path, w.str());
  }
  Status DropView(const std::string& db, const std::string& name, bool ignore_if_missing) override {
    KL_RETURN_IF_ERROR(NeedDatabase(db));
    std::string path = ViewPath(db, name);
    if (!FileExists(path)) {
      return ignore_if_missing ? Status::OK() : Status::NotFound("view " + db + "." + name + " does not exist");
    }
    return RemoveFile(path);
  }

 private:
  static int64_t NowMillisForSchema() { return NowMillis(); }

  // A table opened for its latest schema, shared by the queries that read it while that
  // schema stays the latest (same id, same file): opening it again each query listed its
  // schema directory and rebuilt its file formats, paths and comparators.
  Result<std::shared_ptr<table::Table>> OpenTable(const std::string& path) {
    table::SchemaManager schemas(path);
    auto id = schemas.LatestId();
    if (!id.ok()) return table::Table::Open(path);  // says what is wrong
    struct stat st;
    if (::stat(schemas.SchemaPath(*id).c_str(), &st) != 0) return table::Table::Open(path);
    OpenedTable stamp{*id, static_cast<uint64_t>(st.st_ino), static_cast<int64_t>(st.st_size),
                      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, nullptr};
    {
      std::lock_guard<std::mutex> lock(tables_mu_);
      auto it = tables_.find(path);
      if (it != tables_.end() && it->second.SameFile(stamp)) return it->second.table;
    }
    KL_ASSIGN_OR_RETURN(std::shared_ptr<table::Table> t, table::Table::Open(path));
    if (t->schema().id == *id) {
      stamp.table = t;
      std::lock_guard<std::mutex> lock(tables_mu_);
      if (tables_.size() >= 256) tables_.clear();
      tables_[path] = std::move(stamp);
    }
    return t;
  }
  // The table opened at `path` when its schema file is still the one it was opened with
  // and no newer schema exists (schema ids follow one another: ALTER TABLE writes the
  // next): what OpenTable would return, found in two system calls instead of five
  // (the database and schema folders exist when a file in them does). Null otherwise.
  std::shared_ptr<table::Table> StillLatest(const std::string& path) {
    OpenedTable kept;
    {
      std::lock_guard<std::mutex> lock(tables_mu_);
      auto it = tables_.find(path);
      if (it == tables_.end()) return nullptr;
      kept = it->second;
    }
    table::SchemaManager schemas(path);
    struct stat st;
    if (::stat(schemas.SchemaPath(kept.schema_id).c_str(), &st) != 0) return nullptr;
    OpenedTable now{kept.schema_id, static_cast<uint64_t>(st.st_ino), static_cast<int64_t>(st.st_size),
                    static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, nullptr};
    if (!kept.SameFile(now) || FileExists(schemas.SchemaPath(kept.schema_id + 1))) return nullptr;
    return kept.table;
  }
  // Options of a hint that change how the table reads, not which snapshot (those PlanFor handles).
  static std::map<std::string, std::string> ScanIndependentOptions(const ReadOptions& read) {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : read.dynamic_options) {
      if (k.rfind("scan.", 0) != 0) out[k] = v;
    }
    return out;
  }
  Status NeedDatabase(const std::string& db) const {
    if (!IsDirectory(catalog_.DatabasePath(db))) return Status::NotFound("database " + db + " does not exist");
    return Status::OK();
  }
  std::string ViewPath(const std::string& db, const std::string& name) const {
    return JoinPath(JoinPath(catalog_.DatabasePath(db), kViewDir), name + ".json");
  }
  Result<std::shared_ptr<CatalogObject>> LoadView(const std::string& db, const std::string& name,
                                                  const std::string& path) {
    KL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    KL_ASSIGN_OR_RETURN(JsonValue json, ParseJson(text, path));
    auto obj = std::make_shared<CatalogObject>();
    obj->kind = ObjectKind::kView;
    obj->database = db;
    obj->name = name;
    KL_ASSIGN_OR_RETURN(obj->view_query, json.GetString("query"));
    if (const JsonValue* cols = json.Find("columns"); cols != nullptr && cols->is_array()) {
      for (const auto& c : cols->items()) obj->view_columns.push_back(c.as_string());
    }
    return obj;
  }

  table::Catalog catalog_;
  struct OpenedTable {
    int64_t schema_id = 0;
    uint64_t inode = 0;
    int64_t size = 0, mtime_ns = 0;
    std::shared_ptr<table::Table> table;
    bool SameFile(const OpenedTable& o) const {
      return schema_id == o.schema_id && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns;
    }
  };
  std::mutex tables_mu_;
  std::map<std::string, OpenedTable> tables_;  // by table path
};

}  // namespace

std::shared_ptr<Catalog> NewPaimonCatalog(const std::string& warehouse) {
  return std::make_shared<PaimonCatalog>(warehouse);
}

std::shared_ptr<TableSource> NewPaimonSource(std::shared_ptr<table::Table> table, ReadOptions read) {
  return std::make_shared<PaimonSource>(std::move(table), std::move(read));
}

}  // namespace kl::sql
