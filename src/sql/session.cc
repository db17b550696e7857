// SqlEngine and SqlSession: statement dispatch, name resolution, settings.
#include <algorithm>
#include <mutex>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "common/string_util.h"
#include "sql/binder/binder.h"
#include "sql/binder/types.h"
#include "sql/execution/executor.h"
#include "sql/functions/cast.h"
#include "sql/functions/datetime/time_zone.h"
#include "sql/parser/parser.h"
#include "sql/planner/optimizer.h"
#include "sql/planner/plan_cache.h"
#include "sql/sql.h"
#include "sql/streaming/connectors.h"
#include "sql/streaming/jdbc_sink.h"
#include "sql/streaming/jobs.h"
#include "sql/streaming/print_sink.h"
#include "sql/streaming/streaming.h"
#include "table/operation/commit.h"
#include "table/schema/cast.h"
#include "table/schema/options.h"
#include "table/table.h"
#include "table/tag/tag.h"

namespace kl::sql {

using format::ColumnBatch;
using format::DataField;
using format::Datum;
using format::RowType;

size_t StatementResult::num_rows() const {
  size_t n = 0;
  for (const auto& b : batches) n += b.num_rows();
  return n;
}

std::vector<format::Row> StatementResult::Rows() const {
  std::vector<format::Row> out;
  for (const auto& b : batches) {
    for (size_t i = 0; i < b.num_rows(); ++i) out.push_back(b.GetRow(i));
  }
  return out;
}

struct GlobalDatabase {
  std::shared_ptr<Catalog> catalog;
  std::string database;
  bool searched = false;
};

struct SqlEngine::Shared {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<Catalog>> catalogs;
  std::map<std::string, GlobalDatabase> globals;
  std::shared_ptr<FunctionRegistry> functions;
  // Event logs opened by connector tables (or registered by the process), by URI.
  std::mutex logs_mu;
  std::map<std::string, std::shared_ptr<log::EventLog>> logs;
  // Streaming INSERT jobs.
  streaming::JobHost jobs;
};

namespace {

// The key under which a log URI is registered: dir: logs by their directory.
std::string LogKey(const std::string& uri) {
  std::string u = uri;
  if (u.rfind("dir:", 0) == 0) u = u.substr(4);
  if (u.find("://") == std::string::npos) {
    u = u.substr(0, u.find('?'));
    while (u.size() > 1 && u.back() == '/') u.pop_back();
    return "dir:" + u;
  }
  return u;
}

}  // namespace

void SqlEngine::RegisterLog(const std::string& uri, log::EventLog* log) {
  std::lock_guard<std::mutex> l(shared_->logs_mu);
  shared_->logs[LogKey(uri)] = std::shared_ptr<log::EventLog>(log, [](log::EventLog*) {});
}

Result<std::shared_ptr<log::EventLog>> SqlEngine::OpenLog(const std::string& uri) {
  std::lock_guard<std::mutex> l(shared_->logs_mu);
  auto it = shared_->logs.find(LogKey(uri));
  if (it != shared_->logs.end()) return it->second;
  auto opened = log::OpenEventLog(uri);
  if (!opened.ok()) return opened.status().WithContext("opening the log " + uri);
  std::shared_ptr<log::EventLog> log(std::move(*opened));
  shared_->logs[LogKey(uri)] = log;
  return log;
}

std::vector<SqlJobInfo> SqlEngine::Jobs() const {
  std::vector<SqlJobInfo> out;
  for (auto& j : shared_->jobs.List()) {
    out.push_back({j.name, j.statement, j.explain, std::move(j.status), j.running});
  }
  return out;
}

Status SqlEngine::StopJob(const std::string& name) { return shared_->jobs.Stop(name); }

void SqlEngine::StopJobs() { shared_->jobs.StopAll(); }

SqlEngine::~SqlEngine() { shared_->jobs.StopAll(); }

SqlEngine::SqlEngine(EngineOptions options) : options_(std::move(options)), shared_(std::make_shared<Shared>()) {}

Result<std::shared_ptr<SqlEngine>> SqlEngine::Create(EngineOptions options) {
  std::shared_ptr<SqlEngine> e(new SqlEngine(std::move(options)));
  e->shared_->functions = std::make_shared<FunctionRegistry>(*FunctionRegistry::Builtins());
  e->shared_->catalogs[e->options_.default_catalog] = NewPaimonCatalog(e->options_.warehouse);
  return e;
}

Status SqlEngine::RegisterCatalog(const std::string& name, std::shared_ptr<Catalog> catalog) {
  std::lock_guard<std::mutex> l(shared_->mu);
  if (shared_->catalogs.count(name)) return Status::AlreadyExists("catalog " + name + " already exists");
  shared_->catalogs[name] = std::move(catalog);
  return Status::OK();
}

void SqlEngine::RegisterGlobalDatabase(const std::string& name, std::shared_ptr<Catalog> catalog,
                                       std::string database_in_catalog, bool searched) {
  std::lock_guard<std::mutex> l(shared_->mu);
  shared_->globals[name] = {std::move(catalog), std::move(database_in_catalog), searched};
}

void SqlEngine::RegisterScalarFunction(const std::string& name, ScalarBinder binder, std::string signature) {
  std::lock_guard<std::mutex> l(shared_->mu);
  auto copy = std::make_shared<FunctionRegistry>(*shared_->functions);
  copy->AddScalar(ToUpper(name), std::move(binder), std::move(signature));
  shared_->functions = copy;
}

std::shared_ptr<const FunctionRegistry> SqlEngine::functions() const {
  std::lock_guard<std::mutex> l(shared_->mu);
  return shared_->functions;
}

std::unique_ptr<SqlSession> SqlEngine::NewSession() {
  return std::unique_ptr<SqlSession>(new SqlSession(shared_from_this()));
}

namespace {

// Session keys kubelake reads; any other key is kept (Flink accepts any key).
const char kMemoryLimit[] = "sql.memory-limit";
const char kQueryTimeout[] = "sql.query-timeout";
const char kTimeZone[] = "table.local-time-zone";
const char kRuntimeMode[] = "execution.runtime-mode";
const char kPipelineName[] = "pipeline.name";
const char kCheckpointInterval[] = "execution.checkpointing.interval";
const char kNotNullEnforcer[] = "table.exec.sink.not-null-enforcer";
const char kUpsertMaterialize[] = "table.exec.sink.upsert-materialize";

bool IsPostgres(const std::map<std::string, std::string>& settings) {
  auto it = settings.find(kDialectSetting);
  return it != settings.end() &&
         (EqualsIgnoreCase(it->second, "postgresql") || EqualsIgnoreCase(it->second, "postgres"));
}

ParseOptions ParseOptionsOf(const std::map<std::string, std::string>& settings) {
  ParseOptions o;
  o.dialect = IsPostgres(settings) ? Dialect::kPostgres : Dialect::kFlink;
  return o;
}

// Statements parsed lately, by dialect and text: a prepared statement that clients run
// over and over (a look-up with its parameters) is parsed once. Binding and planning
// read the tree and never change it, so one tree serves many runs at once. Bounded by
// entries (cleared when full); failed parses are not kept.
Result<StatementPtr> ParseStatementReused(std::string_view text, const ParseOptions& options) {
  static std::mutex mu;
  static std::map<std::pair<int, std::string>, StatementPtr, std::less<>>* parsed =
      new std::map<std::pair<int, std::string>, StatementPtr, std::less<>>();
  if (text.size() > 65536) return ParseStatement(text, {1, 1}, options);
  std::pair<int, std::string> key{static_cast<int>(options.dialect), std::string(text)};
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = parsed->find(key);
    if (it != parsed->end()) return it->second;
  }
  KL_ASSIGN_OR_RETURN(StatementPtr st, ParseStatement(text, {1, 1}, options));
  std::lock_guard<std::mutex> lock(mu);
  if (parsed->size() >= 512) parsed->clear();
  parsed->emplace(std::move(key), st);
  return st;
}

ColumnBatch StringRows(const std::vector<std::string>& names, const std::vector<std::vector<std::string>>& rows,
                       const std::vector<bool>& nullable_cols = {}) {
  std::vector<DataField> fields;
  for (size_t i = 0; i < names.size(); ++i) {
    bool nullable = i < nullable_cols.size() && nullable_cols[i];
    fields.push_back({static_cast<int32_t>(i), names[i], DataType::String().WithNullable(nullable), ""});
  }
  ColumnBatch b{RowType(fields)};
  for (const auto& r : rows) {
    format::Row row;
    for (const auto& v : r) row.push_back(Datum::Bytes(v));
    b.AppendRow(row);
  }
  return b;
}

StatementResult RowsResult(ColumnBatch b, const std::string& kind) {
  StatementResult r;
  r.has_rows = true;
  r.columns = b.schema();
  r.batches.push_back(std::move(b));
  r.statement_kind = kind;
  return r;
}

StatementResult Message(const std::string& msg, const std::string& kind) {
  StatementResult r;
  r.message = msg;
  r.statement_kind = kind;
  return r;
}

bool LikeMatch(const std::string& s, const std::string& pattern) {
  // SHOW TABLES LIKE: % and _ wildcards.
  size_t si = 0, pi = 0, star = std::string::npos, mark = 0;
  while (si < s.size()) {
    if (pi < pattern.size() && (pattern[pi] == '_' || pattern[pi] == s[si])) {
      ++si;
      ++pi;
    } else if (pi < pattern.size() && pattern[pi] == '%') {
      star = pi++;
      mark = si;
    } else if (star != std::string::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < pattern.size() && pattern[pi] == '%') ++pi;
  return pi == pattern.size();
}

std::string QuoteString(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'";
    out.push_back(c);
  }
  return out + "'";
}

// Flink spells STRING for VARCHAR(max) and BYTES for VARBINARY(max).
std::string FlinkTypeName(const DataType& t) { return t.ToString(); }

}  // namespace

class SqlSession::Impl : public NameResolver {
 public:
  explicit Impl(SqlSession* s) : s_(s) {}

  struct TempView {
    std::string query;
    std::vector<std::string> columns;
  };
  std::map<std::string, TempView> temp_views;  // key: catalog.db.name
  // Connector tables (CREATE TEMPORARY TABLE ... WITH ('connector' = ...)), key: catalog.db.name.
  std::map<std::string, std::shared_ptr<CatalogObject>> temp_tables;
  // BEGIN STATEMENT SET ... END: the INSERTs collected so far.
  bool in_statement_set = false;
  std::vector<std::shared_ptr<Statement>> statement_set;
  // Plans of queries with parameters, by statement text, for their next executions.
  PlanCache plan_cache;

  std::shared_ptr<SqlEngine::Shared> shared() { return s_->engine_->shared(); }

  Result<std::shared_ptr<Catalog>> CatalogNamed(const std::string& name, SourcePos pos) {
    auto sh = shared();
    std::lock_guard<std::mutex> l(sh->mu);
    auto it = sh->catalogs.find(name);
    if (it != sh->catalogs.end()) return it->second;
    std::vector<std::string> names;
    for (const auto& [n, _] : sh->catalogs) names.push_back(n);
    return ErrorAt(pos, "catalog " + QuoteIdentifier(name) + " does not exist" + DidYouMean(name, names));
  }

  // catalog, database, object of a name (1 to 3 parts), current ones filled in.
  struct Target {
    std::string catalog, database, name;
    std::shared_ptr<Catalog> cat;
    bool global = false;
  };

  Result<Target> Split(const QualifiedName& n, bool object = true) {
    Target t;
    std::vector<std::string> parts = n.parts;
    if (!object) parts.push_back("");
    if (parts.size() == 3) {
      t.catalog = parts[0];
      t.database = parts[1];
    } else if (parts.size() == 2) {
      t.catalog = s_->catalog_;
      t.database = parts[0];
    } else {
      t.catalog = s_->catalog_;
      t.database = s_->database_;
    }
    t.name = parts.back();
    if (parts.size() == 2 && object) {
      // A database name that is not in the current catalog may be a global one (pg_catalog).
      auto sh = shared();
      std::shared_ptr<Catalog> current;
      {
        std::lock_guard<std::mutex> l(sh->mu);
        auto it = sh->catalogs.find(t.catalog);
        if (it != sh->catalogs.end()) current = it->second;
        auto g = sh->globals.find(t.database);
        if (g != sh->globals.end()) {
          bool local = false;
          if (current) {
            auto exists = current->DatabaseExists(t.database);
            local = exists.ok() && *exists;
          }
          if (!local) {
            t.cat = g->second.catalog;
            t.database = g->second.database;
            t.global = true;
            return t;
          }
        }
      }
    }
    KL_ASSIGN_OR_RETURN(t.cat, CatalogNamed(t.catalog, n.pos));
    return t;
  }

  Result<std::shared_ptr<CatalogObject>> ResolveTable(const QualifiedName& name, const ReadOptions& read) override {
    KL_ASSIGN_OR_RETURN(Target t, Split(name));
    std::string key = t.catalog + "." + t.database + "." + t.name;
    if (auto tt = temp_tables.find(key); tt != temp_tables.end() && !t.global) {
      if (!read.dynamic_options.empty() && tt->second->connector() != "kubelake-log") {
        return Status::InvalidArgument("hints apply to Paimon and log tables, not to " + t.name);
      }
      if (read.as_of_millis)
        return Status::InvalidArgument("FOR SYSTEM_TIME AS OF a time reads Paimon tables, not " + t.name);
      if (read.dynamic_options.empty()) return tt->second;
      // Hints on a log table override its options for this read.
      auto copy = std::make_shared<CatalogObject>(*tt->second);
      for (const auto& [k, v] : read.dynamic_options) copy->connector_options[k] = v;
      copy->source = streaming::MakeLogBatchSource(*copy, LogOpener());
      return copy;
    }
    auto tv = temp_views.find(key);
    if (tv != temp_views.end() && !t.global) {
      auto obj = std::make_shared<CatalogObject>();
      obj->kind = ObjectKind::kView;
      obj->catalog = t.catalog;
      obj->database = t.database;
      obj->name = t.name;
      obj->view_query = tv->second.query;
      obj->view_columns = tv->second.columns;
      return obj;
    }
    auto obj = t.cat->GetObject(t.database, t.name, read);
    if (obj.ok()) {
      (*obj)->catalog = t.global ? name.parts[0] : t.catalog;
      return obj;
    }
    if (!obj.status().IsNotFound()) return obj.status();
    // Bare names also look in searched global databases.
    if (name.parts.size() == 1) {
      auto sh = shared();
      std::vector<GlobalDatabase> searched;
      {
        std::lock_guard<std::mutex> l(sh->mu);
        for (const auto& [n, g] : sh->globals) {
          if (g.searched) searched.push_back(g);
        }
      }
      for (const auto& g : searched) {
        auto o = g.catalog->GetObject(g.database, t.name, read);
        if (o.ok()) return o;
      }
    }
    return NotFound(t, obj.status());
  }

  // As ResolveTable, which it follows to the catalog's table without building the catalog
  // object; any other way through ResolveTable (a temporary table or view, a global
  // database, a name found only in a searched one) takes ResolveTable itself.
  Result<std::shared_ptr<table::Table>> ResolvePaimonTable(const QualifiedName& name,
                                                           const ReadOptions& read) override {
    KL_ASSIGN_OR_RETURN(Target t, Split(name));
    if (!t.global) {
      std::string key = t.catalog + "." + t.database + "." + t.name;
      if (temp_tables.count(key) == 0 && temp_views.count(key) == 0) {
        auto table = t.cat->GetPaimonTable(t.database, t.name, read);
        if (table.ok()) return table;
      }
    }
    return NameResolver::ResolvePaimonTable(name, read);
  }

  Status NotFound(const Target& t, const Status& why) {
    auto exists = t.cat->DatabaseExists(t.database);
    if (exists.ok() && !*exists) {
      auto dbs = t.cat->ListDatabases();
      std::vector<std::string> names = dbs.ok() ? *dbs : std::vector<std::string>{};
      return Status::NotFound("database " + QuoteIdentifier(t.database) + " does not exist in catalog " +
                              QuoteIdentifier(t.catalog) + DidYouMean(t.database, names));
    }
    std::vector<std::string> names;
    if (auto tables = t.cat->ListTables(t.database); tables.ok()) names = *tables;
    if (auto views = t.cat->ListViews(t.database); views.ok()) {
      for (const auto& v : *views) names.push_back(v);
    }
    std::string prefix = t.catalog + "." + t.database + ".";
    for (const auto& [k, _] : temp_views) {
      if (k.rfind(prefix, 0) == 0) names.push_back(k.substr(prefix.size()));
    }
    size_t dollar = t.name.find('$');
    if (dollar != std::string::npos && why.message().find("no system table") != std::string::npos) return why;
    if (dollar != std::string::npos) {
      std::string base = t.name.substr(0, dollar);
      return Status::NotFound("table " + QuoteIdentifier(base) + " does not exist in " + t.catalog + "." + t.database +
                              DidYouMean(base, names));
    }
    return Status::NotFound("table " + QuoteIdentifier(t.name) + " does not exist in " + t.catalog + "." + t.database +
                            DidYouMean(t.name, names));
  }

  // Opens logs through the engine, holding it: for jobs the engine does not own.
  streaming::LogOpener StrongLogOpener() {
    std::shared_ptr<SqlEngine> engine = s_->engine().shared_from_this();
    return [engine](const std::string& uri) { return engine->OpenLog(uri); };
  }

  // Opens logs through the engine (weakly: jobs the engine owns hold this).
  streaming::LogOpener LogOpener() {
    std::weak_ptr<SqlEngine> weak = s_->engine().shared_from_this();
    return [weak](const std::string& uri) -> Result<std::shared_ptr<log::EventLog>> {
      auto engine = weak.lock();
      if (!engine) return Status::Aborted("the SQL engine is gone");
      return engine->OpenLog(uri);
    };
  }

  SqlSession* s_;
};

SqlSession::SqlSession(std::shared_ptr<SqlEngine> engine)
    : engine_(std::move(engine)), impl_(std::make_unique<Impl>(this)) {
  catalog_ = engine_->options().default_catalog;
  database_ = engine_->options().default_database;
}

SqlSession::~SqlSession() = default;

std::optional<std::string> SqlSession::Get(const std::string& key) const {
  auto it = settings_.find(key);
  if (it == settings_.end()) return std::nullopt;
  return it->second;
}

Status SqlSession::Set(const std::string& key, const std::string& value) {
  if (key == kMemoryLimit) {
    int64_t v = table::TableOptions({{"m", value}}).GetMemorySize("m", -1);
    if (v <= 0)
      return Status::InvalidArgument("'" + key + "' = '" + value + "': expected a size such as '512mb' or '4gb'");
  } else if (key == kQueryTimeout) {
    table::TableOptions o({{"t", value}});
    if (o.GetDurationMillis("t", -7) == -7) {
      return Status::InvalidArgument("'" + key + "' = '" + value + "': expected a duration such as '30 s' or '5 min'");
    }
  } else if (key == kTimeZone) {
    if (!EqualsIgnoreCase(value, "default")) {
      auto v = table::ParseTimeZoneOffset(value);
      if (!v.ok()) {
        return Status::InvalidArgument("'" + key + "' = '" + value +
                                       "': kubelake takes 'UTC' or a fixed offset such as '+08:00' (named zones "
                                       "such as 'Asia/Shanghai' are not supported yet)");
      }
    }
  } else if (key == kDialectSetting) {
    std::string v = ToLower(value);
    if (v != "flink" && v != "postgresql" && v != "postgres") {
      return Status::InvalidArgument("'" + key + "' must be 'flink' or 'postgresql', not '" + value + "'");
    }
  } else if (key == kRuntimeMode) {
    if (value != "batch" && value != "streaming" && value != "BATCH" && value != "STREAMING") {
      return Status::InvalidArgument("'" + key + "' must be 'batch' or 'streaming', not '" + value + "'");
    }
  } else if (key == kCheckpointInterval) {
    table::TableOptions o({{"i", value}});
    if (o.GetDurationMillis("i", -7) <= 0) {
      return Status::InvalidArgument("'" + key + "' = '" + value + "': expected a duration such as '500 ms' or '10 s'");
    }
  } else if (key == kNotNullEnforcer) {
    if (!EqualsIgnoreCase(value, "ERROR") && !EqualsIgnoreCase(value, "DROP")) {
      return Status::InvalidArgument("'" + key + "' must be 'ERROR' or 'DROP', not '" + value + "'");
    }
  } else if (key == kUpsertMaterialize) {
    // kubelake's upsert sinks never need Flink's materializer; the values are accepted as Flink's.
    if (!EqualsIgnoreCase(value, "NONE") && !EqualsIgnoreCase(value, "AUTO") && !EqualsIgnoreCase(value, "FORCE")) {
      return Status::InvalidArgument("'" + key + "' must be 'NONE', 'AUTO' or 'FORCE', not '" + value + "'");
    }
  }
  settings_[key] = value;
  return Status::OK();
}

namespace {

Status Positioned(const Status& s, SourcePos pos) {
  if (s.ok()) return s;
  if (s.message().rfind("line ", 0) == 0) return s;
  return Status(s.code(), ErrorAt(pos, s.message()).message());
}

}  // namespace

// ---- statement execution ----

namespace {

struct Prepared {
  LogicalOpPtr plan;
  std::unique_ptr<ExecContext> ctx;
};

}  // namespace

namespace {

// The engine reports errors as values; an exception escaping a library call
// (allocation failure, a broken invariant) still must not take the process down.
template <typename F>
auto Guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return Status::Aborted("out of memory while running the statement; lower 'sql.memory-limit' or narrow the query");
  } catch (const std::exception& e) {
    return Status::Internal(std::string("unexpected failure inside the SQL engine: ") + e.what());
  }
}

}  // namespace

class QueryStream : public ResultStream {
 public:
  QueryStream(LogicalOpPtr plan, std::unique_ptr<ExecContext> ctx, std::unique_ptr<Operator> root, int64_t row_limit)
      : plan_(std::move(plan)), ctx_(std::move(ctx)), root_(std::move(root)), row_limit_(row_limit) {}
  const RowType& columns() const override { return plan_->schema; }
  Result<bool> Next(ColumnBatch* out) override {
    return Guarded([&]() -> Result<bool> { return NextInner(out); });
  }
  Result<bool> NextInner(ColumnBatch* out) {
    if (row_limit_ >= 0 && rows_ >= row_limit_) {
      truncated_ = true;
      return false;
    }
    KL_RETURN_IF_ERROR(ctx_->CheckInterrupt());
    ColumnBatch b;
    KL_ASSIGN_OR_RETURN(bool more, root_->Next(&b));
    if (!more) return false;
    if (row_limit_ >= 0 && rows_ + static_cast<int64_t>(b.num_rows()) > row_limit_) {
      size_t keep = static_cast<size_t>(row_limit_ - rows_);
      ColumnBatch cut(b.schema());
      for (size_t c = 0; c < b.num_columns(); ++c) cut.mutable_column(c).AppendRange(b.column(c), 0, keep);
      cut.SetNumRows(keep);
      b = std::move(cut);
      truncated_ = true;
    }
    rows_ += static_cast<int64_t>(b.num_rows());
    // Results carry the plan's column names.
    ColumnBatch named(plan_->schema);
    for (size_t c = 0; c < b.num_columns() && c < named.num_columns(); ++c)
      named.mutable_column(c) = std::move(b.mutable_column(c));
    named.SetNumRows(b.num_rows());
    *out = std::move(named);
    return true;
  }
  bool truncated() const { return truncated_; }

 private:
  LogicalOpPtr plan_;
  std::unique_ptr<ExecContext> ctx_;
  std::unique_ptr<Operator> root_;
  int64_t row_limit_;
  int64_t rows_ = 0;
  bool truncated_ = false;
};

namespace {

class Runner {
 public:
  Runner(SqlSession* s, SqlSession::Impl* impl, std::map<std::string, std::string>* settings, std::string* catalog,
         std::string* database, const std::atomic<bool>* cancel, int64_t timeout_ms)
      : s_(s),
        impl_(impl),
        settings_(settings),
        catalog_(catalog),
        database_(database),
        cancel_(cancel),
        timeout_ms_(timeout_ms) {}

  std::unique_ptr<ExecContext> NewContext() {
    auto ctx = std::make_unique<ExecContext>();
    ctx->statement_time_millis = NowMillis();
    ctx->cancel = cancel_;
    ctx->current_catalog = *catalog_;
    ctx->current_database = *database_;
    ctx->variables = s_->variables();
    auto get = [&](const char* k) -> std::optional<std::string> {
      auto it = settings_->find(k);
      if (it == settings_->end()) return std::nullopt;
      return it->second;
    };
    if (auto m = get(kMemoryLimit)) {
      int64_t v = table::TableOptions({{"m", *m}}).GetMemorySize("m", -1);
      if (v > 0) ctx->memory_limit_bytes = v;
    }
    int64_t timeout = timeout_ms_;
    if (auto t = get(kQueryTimeout)) {
      table::TableOptions o({{"t", *t}});
      int64_t ms = o.GetDurationMillis("t", 0);
      if (ms > 0 && (timeout <= 0 || ms < timeout)) timeout = ms;
    }
    if (timeout > 0) ctx->deadline_micros = MonotonicMicros() + timeout * 1000;
    if (auto z = get(kTimeZone)) {
      if (!EqualsIgnoreCase(*z, "default")) {
        auto off = table::ParseTimeZoneOffset(*z);
        if (off.ok()) {
          ctx->time_zone_offset_millis = *off;
          ctx->time_zone = *z;
        }
      }
    }
    // A PostgreSQL session's zone is the server's TimeZone setting (the server refuses
    // names it cannot read, so one that fails here is left at UTC).
    if (IsPostgres(*settings_) && ctx->variables != nullptr) {
      if (auto z = ctx->variables->Get("timezone")) {
        auto zone = TimeZone::FromPostgresName(*z);
        if (zone.ok()) {
          ctx->zone = *zone;
          ctx->time_zone = *z;
        }
      }
    }
    return ctx;
  }

  BindOptions Bind(ExecContext* ctx, const std::vector<Datum>* params) {
    BindOptions o;
    o.functions = impl_->shared()->functions.get();
    o.resolver = impl_;
    o.exec = ctx;
    o.params = params;
    o.postgres = IsPostgres(*settings_);
    o.parameter_types = &param_types_;
    o.describe = describe_;
    return o;
  }

  // Types of the statement's parameters ($1, ...); `describe`: their values are not known.
  void SetParameters(const std::vector<std::optional<DataType>>& types, bool describe) {
    param_types_ = types;
    describe_ = describe;
  }
  const std::vector<std::optional<DataType>>& parameter_types() const { return param_types_; }

  Result<Prepared> Plan(const Query& q, const std::vector<Datum>* params) {
    Prepared p;
    p.ctx = NewContext();
    KL_ASSIGN_OR_RETURN(LogicalOpPtr plan, BindQuery(q, Bind(p.ctx.get(), params)));
    p.plan = Optimize(plan);
    return p;
  }

  // Plans the query of statement `text` (a whole statement, not a part of one). A query with
  // parameters reuses the plan of its previous execution, with these values, while that plan
  // holds (planner/plan_cache.h); otherwise it is planned and kept when it may be reused.
  Result<Prepared> PlanStatement(std::string_view text, const Query& q, const std::vector<Datum>* params) {
    if (params == nullptr || !PlanCache::Applies(*params)) return Plan(q, params);
    PlanCache& cache = impl_->plan_cache;
    // The functions a plan is kept under are those it was bound with.
    PlanCache::Context context{*settings_, *catalog_, *database_, s_->engine().functions()};
    Prepared p;
    p.ctx = NewContext();
    // Constants folded while binding read the session zone (a PostgreSQL server's TimeZone,
    // kept outside these settings): a plan holds for the zone it was made in.
    if (p.ctx->zone != nullptr) context.settings["timezone"] = p.ctx->time_zone;
    p.plan = cache.Find(text, context, *params, param_types_, impl_, &p.ctx->kept_results);
    if (p.plan) return p;
    RecordingResolver resolver(impl_);
    bool value_dependent = false;
    BindOptions o = Bind(p.ctx.get(), params);
    o.functions = context.functions.get();
    o.resolver = &resolver;
    o.value_dependent = &value_dependent;
    KL_ASSIGN_OR_RETURN(LogicalOpPtr plan, BindQuery(q, o));
    p.plan = Optimize(plan, &value_dependent);
    if (!value_dependent) cache.Keep(text, std::move(context), *params, param_types_, p.plan, resolver.resolved());
    return p;
  }

  // The text of the statement being run, for PlanStatement.
  void SetStatementText(std::string_view text, const Statement* statement) {
    text_ = text;
    statement_ = statement;
  }

  Result<StatementResult> RunQuery(const Statement& st, const std::vector<Datum>* params, int64_t row_limit) {
    const Query& q = *st.query;
    KL_ASSIGN_OR_RETURN(Prepared p, &st == statement_ ? PlanStatement(text_, q, params) : Plan(q, params));
    StatementResult r;
    r.has_rows = true;
    r.columns = p.plan->schema;
    r.statement_kind = "SELECT";
    KL_ASSIGN_OR_RETURN(auto root, BuildOperators(p.plan, *p.ctx));
    QueryStream stream(p.plan, std::move(p.ctx), std::move(root), row_limit);
    while (true) {
      ColumnBatch b;
      KL_ASSIGN_OR_RETURN(bool more, stream.Next(&b));
      if (!more) break;
      r.batches.push_back(std::move(b));
    }
    r.truncated = stream.truncated();
    return r;
  }

  Result<StatementResult> Run(const Statement& st, const std::vector<Datum>* params, int64_t row_limit) {
    if (s_->read_only() && Writes(st)) {
      return ErrorAt(st.pos, "cannot execute " + WriteName(st) + " in a read-only session");
    }
    switch (st.kind) {
      case StatementKind::kQuery: return RunQuery(st, params, row_limit);
      case StatementKind::kExplain: {
        if (!st.statements.empty()) {
          const Statement& inner = *st.statements[0];
          KL_ASSIGN_OR_RETURN(Prepared p, Plan(*inner.query, params));
          if (!BatchMode() && ReadsTables(*p.plan)) {
            KL_ASSIGN_OR_RETURN(auto obj, InsertTarget(inner));
            KL_ASSIGN_OR_RETURN(streaming::PlannedJob planned, PlanStreaming(inner, obj, p));
            return ExplainResult("Streaming job '" + planned.job->name() + "'\n" + planned.explain);
          }
          std::string text = "Insert into " + inner.name.ToString() + "\n" + p.plan->Explain(1);
          return ExplainResult(text);
        }
        KL_ASSIGN_OR_RETURN(Prepared p, Plan(*st.query, params));
        return ExplainResult(p.plan->Explain());
      }
      case StatementKind::kInsert: return Insert(st, params);
      case StatementKind::kCreateCatalog: {
        std::string type = st.options.count("type") ? st.options.at("type") : "";
        if (type != "paimon") {
          return ErrorAt(st.pos, "CREATE CATALOG needs 'type' = 'paimon' (kubelake has no other catalog type)");
        }
        if (!st.options.count("warehouse")) return ErrorAt(st.pos, "CREATE CATALOG needs 'warehouse' = '<directory>'");
        Status s = s_->engine().RegisterCatalog(st.name.last(), NewPaimonCatalog(st.options.at("warehouse")));
        if (s.IsAlreadyExists() && st.if_not_exists) return Message("OK", "CREATE CATALOG");
        KL_RETURN_IF_ERROR(Positioned(s, st.name.pos));
        return Message("OK", "CREATE CATALOG");
      }
      case StatementKind::kUseCatalog: {
        KL_RETURN_IF_ERROR(impl_->CatalogNamed(st.name.last(), st.name.pos).status());
        *catalog_ = st.name.last();
        // The new catalog's default database, if it has one by that name, else its first.
        auto cat = *impl_->CatalogNamed(*catalog_, st.name.pos);
        auto exists = cat->DatabaseExists("default");
        if (exists.ok() && *exists) {
          *database_ = "default";
        } else if (auto dbs = cat->ListDatabases(); dbs.ok() && !dbs->empty()) {
          *database_ = (*dbs)[0];
        } else {
          *database_ = "default";
        }
        return Message("OK", "USE CATALOG");
      }
      case StatementKind::kUseDatabase: {
        QualifiedName n = st.name;
        std::string cat_name = n.parts.size() > 1 ? n.parts[0] : *catalog_;
        KL_ASSIGN_OR_RETURN(auto cat, impl_->CatalogNamed(cat_name, n.pos));
        KL_ASSIGN_OR_RETURN(bool exists, cat->DatabaseExists(n.last()));
        if (!exists) {
          auto dbs = cat->ListDatabases();
          return ErrorAt(n.pos, "database " + QuoteIdentifier(n.last()) + " does not exist in catalog " + cat_name +
                                    DidYouMean(n.last(), dbs.ok() ? *dbs : std::vector<std::string>{}));
        }
        *catalog_ = cat_name;
        *database_ = n.last();
        return Message("OK", "USE");
      }
      case StatementKind::kShowCatalogs: {
        std::vector<std::vector<std::string>> rows;
        auto sh = impl_->shared();
        std::lock_guard<std::mutex> l(sh->mu);
        for (const auto& [n, _] : sh->catalogs) rows.push_back({n});
        return RowsResult(StringRows({"catalog name"}, rows), "SHOW");
      }
      case StatementKind::kShowCurrentCatalog:
        return RowsResult(StringRows({"current catalog name"}, {{*catalog_}}), "SHOW");
      case StatementKind::kShowCurrentDatabase:
        return RowsResult(StringRows({"current database name"}, {{*database_}}), "SHOW");
      case StatementKind::kShowDatabases: {
        KL_ASSIGN_OR_RETURN(auto cat, impl_->CatalogNamed(*catalog_, st.pos));
        KL_ASSIGN_OR_RETURN(auto dbs, cat->ListDatabases());
        std::vector<std::vector<std::string>> rows;
        for (const auto& d : dbs) rows.push_back({d});
        return RowsResult(StringRows({"database name"}, rows), "SHOW");
      }
      case StatementKind::kShowTables:
      case StatementKind::kShowViews: {
        QualifiedName db = st.name;
        SqlSession::Impl::Target t;
        if (db.parts.empty()) {
          KL_ASSIGN_OR_RETURN(t.cat, impl_->CatalogNamed(*catalog_, st.pos));
          t.catalog = *catalog_;
          t.database = *database_;
        } else {
          KL_ASSIGN_OR_RETURN(t, impl_->Split(db, false));
        }
        bool views = st.kind == StatementKind::kShowViews;
        auto names_or = views ? t.cat->ListViews(t.database) : t.cat->ListTables(t.database);
        if (!names_or.ok()) return Positioned(names_or.status(), st.pos);
        std::vector<std::string> names = *names_or;
        std::string prefix = t.catalog + "." + t.database + ".";
        if (views) {
          for (const auto& [k, _] : impl_->temp_views) {
            if (k.rfind(prefix, 0) == 0) names.push_back(k.substr(prefix.size()));
          }
        }
        std::sort(names.begin(), names.end());
        std::vector<std::vector<std::string>> rows;
        for (const auto& n : names) {
          if (!st.like_pattern.empty() && LikeMatch(n, st.like_pattern) == st.extended) continue;
          rows.push_back({n});
        }
        return RowsResult(StringRows({views ? "view name" : "table name"}, rows), "SHOW");
      }
      case StatementKind::kShowFunctions: {
        std::vector<std::vector<std::string>> rows;
        for (const auto& n : impl_->shared()->functions->Names()) {
          if (n.rfind("__", 0) == 0) continue;
          rows.push_back({n});
        }
        return RowsResult(StringRows({"function name"}, rows), "SHOW");
      }
      case StatementKind::kShowJobs: return ShowJobs();
      case StatementKind::kStatementSet: return StatementSet(st.statements, params);
      case StatementKind::kBeginStatementSet:
        if (impl_->in_statement_set) return ErrorAt(st.pos, "a statement set is already open (END it first)");
        impl_->in_statement_set = true;
        impl_->statement_set.clear();
        return Message("OK", "BEGIN");
      case StatementKind::kEndStatementSet: {
        if (!impl_->in_statement_set) return ErrorAt(st.pos, "END without BEGIN STATEMENT SET");
        impl_->in_statement_set = false;
        auto inserts = std::move(impl_->statement_set);
        impl_->statement_set.clear();
        return StatementSet(inserts, params);
      }
      case StatementKind::kStopJob: {
        Status stopped = s_->engine().StopJob(st.value);
        if (!stopped.ok()) return ErrorAt(st.pos, stopped.message());
        return Message("Job '" + st.value + "' stopped", "STOP JOB");
      }
      case StatementKind::kCall: return Call(st, params);
      case StatementKind::kDescribe: return Describe(st);
      case StatementKind::kShowCreateTable: return ShowCreate(st);
      case StatementKind::kCreateDatabase: {
        KL_ASSIGN_OR_RETURN(auto t, impl_->Split(st.name, false));
        KL_RETURN_IF_ERROR(Positioned(t.cat->CreateDatabase(st.name.last(), st.if_not_exists), st.name.pos));
        return Message("OK", "CREATE DATABASE");
      }
      case StatementKind::kDropDatabase: {
        KL_ASSIGN_OR_RETURN(auto t, impl_->Split(st.name, false));
        if (st.name.last() == *database_ && t.catalog == *catalog_) {
          return ErrorAt(st.name.pos, "cannot drop the current database " + st.name.last() + "; USE another first");
        }
        KL_RETURN_IF_ERROR(Positioned(t.cat->DropDatabase(st.name.last(), st.if_exists, st.extended), st.name.pos));
        return Message("OK", "DROP DATABASE");
      }
      case StatementKind::kCreateTable:
      case StatementKind::kCreateTableLike: return CreateTable(st, params);
      case StatementKind::kDropTable: {
        KL_ASSIGN_OR_RETURN(auto t, impl_->Split(st.name));
        std::string key = t.catalog + "." + t.database + "." + t.name;
        if (impl_->temp_tables.erase(key) > 0) return Message("OK", "DROP TABLE");
        if (st.temporary) {
          if (st.if_exists) return Message("OK", "DROP TABLE");
          return ErrorAt(st.name.pos, "temporary table " + st.name.ToString() + " does not exist");
        }
        KL_RETURN_IF_ERROR(Positioned(t.cat->DropTable(t.database, t.name, st.if_exists), st.name.pos));
        return Message("OK", "DROP TABLE");
      }
      case StatementKind::kAlterTableSet:
      case StatementKind::kAlterTableReset:
      case StatementKind::kAlterTableAddColumns:
      case StatementKind::kAlterTableRename: return Alter(st);
      case StatementKind::kCreateView: {
        KL_ASSIGN_OR_RETURN(auto t, impl_->Split(st.name));
        // The query must bind now, so a broken view is refused when it is created.
        KL_ASSIGN_OR_RETURN(Prepared p, Plan(*st.query, params));
        if (!st.view_columns.empty() && st.view_columns.size() != p.plan->schema.size()) {
          return ErrorAt(st.name.pos, "the view names " + std::to_string(st.view_columns.size()) +
                                          " columns but its query has " + std::to_string(p.plan->schema.size()));
        }
        if (st.temporary) {
          std::string key = t.catalog + "." + t.database + "." + t.name;
          if (impl_->temp_views.count(key)) {
            if (st.if_not_exists) return Message("OK", "CREATE VIEW");
            return ErrorAt(st.name.pos, "temporary view " + st.name.ToString() + " already exists");
          }
          impl_->temp_views[key] = {st.query_text, st.view_columns};
          return Message("OK", "CREATE VIEW");
        }
        KL_RETURN_IF_ERROR(Positioned(
            t.cat->CreateView(t.database, t.name, st.query_text, st.view_columns, st.if_not_exists), st.name.pos));
        return Message("OK", "CREATE VIEW");
      }
      case StatementKind::kDropView: {
        KL_ASSIGN_OR_RETURN(auto t, impl_->Split(st.name));
        std::string key = t.catalog + "." + t.database + "." + t.name;
        if (impl_->temp_views.erase(key) > 0) return Message("OK", "DROP VIEW");
        if (st.temporary) {
          if (st.if_exists) return Message("OK", "DROP VIEW");
          return ErrorAt(st.name.pos, "temporary view " + st.name.ToString() + " does not exist");
        }
        KL_RETURN_IF_ERROR(Positioned(t.cat->DropView(t.database, t.name, st.if_exists), st.name.pos));
        return Message("OK", "DROP VIEW");
      }
      case StatementKind::kSet: {
        if (st.key.empty()) {
          std::vector<std::vector<std::string>> rows;
          for (const auto& [k, v] : *settings_) rows.push_back({k, v});
          return RowsResult(StringRows({"key", "value"}, rows), "SET");
        }
        KL_RETURN_IF_ERROR(Positioned(s_->Set(st.key, st.value), st.pos));
        return Message("OK", "SET");
      }
      case StatementKind::kReset:
        if (st.key.empty()) {
          settings_->clear();
        } else {
          settings_->erase(st.key);
        }
        return Message("OK", "RESET");
      case StatementKind::kIgnoredSessionLine: {
        StatementResult r = Message("OK", "SET");
        r.warnings.push_back("ignored MaxCompute session setting " + st.key + " (line " + std::to_string(st.pos.line) +
                             ")");
        return r;
      }
    }
    return ErrorAt(st.pos, "statement not supported");
  }

  static bool Writes(const Statement& st) {
    switch (st.kind) {
      case StatementKind::kInsert:
      case StatementKind::kCreateCatalog:
      case StatementKind::kCreateDatabase:
      case StatementKind::kDropDatabase:
      case StatementKind::kCreateTable:
      case StatementKind::kCreateTableLike:
      case StatementKind::kDropTable:
      case StatementKind::kAlterTableSet:
      case StatementKind::kAlterTableReset:
      case StatementKind::kAlterTableAddColumns:
      case StatementKind::kAlterTableRename:
      case StatementKind::kCall: return true;
      case StatementKind::kCreateView:
      case StatementKind::kDropView: return !st.temporary;
      default: return false;
    }
  }
  static std::string WriteName(const Statement& st) {
    std::string text = Trim(st.text).empty() ? "this statement" : std::string(Trim(st.text));
    auto words = Split(text, ' ', true);
    std::string out;
    for (size_t i = 0; i < words.size() && i < 2; ++i) out += (i ? " " : "") + ToUpper(words[i]);
    return out;
  }

  StatementResult ExplainResult(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& line : Split(text, '\n', true)) rows.push_back({line});
    return RowsResult(StringRows({"plan"}, rows), "EXPLAIN");
  }

  Result<std::shared_ptr<CatalogObject>> Table(const QualifiedName& n) { return impl_->ResolveTable(n, {}); }

  Result<StatementResult> Describe(const Statement& st) {
    auto obj = Table(st.name);
    if (!obj.ok()) return Positioned(obj.status(), st.name.pos);
    RowType schema = (*obj)->schema;
    std::vector<std::string> pk;
    if ((*obj)->kind == ObjectKind::kView) {
      auto ctx = NewContext();
      Query q;
      auto parsed = ParseStatement((*obj)->view_query, {1, 1}, ParseOptionsOf(*settings_));
      if (!parsed.ok()) return Positioned(parsed.status(), st.name.pos);
      KL_ASSIGN_OR_RETURN(LogicalOpPtr plan, BindQuery(*(*parsed)->query, Bind(ctx.get(), nullptr)));
      schema = plan->schema;
      for (size_t i = 0; i < (*obj)->view_columns.size() && i < schema.size(); ++i) {
        schema.mutable_fields()[i].name = (*obj)->view_columns[i];
      }
    }
    if ((*obj)->paimon && (*obj)->kind == ObjectKind::kTable) pk = (*obj)->paimon->schema().primary_keys;
    std::vector<std::string> parts = (*obj)->paimon && (*obj)->kind == ObjectKind::kTable
                                         ? (*obj)->paimon->schema().partition_keys
                                         : std::vector<std::string>{};
    std::vector<DataField> fields = {
        {0, "name", DataType::String().NotNull(), ""},  {1, "type", DataType::String().NotNull(), ""},
        {2, "null", DataType::Boolean().NotNull(), ""}, {3, "key", DataType::String(), ""},
        {4, "extras", DataType::String(), ""},          {5, "watermark", DataType::String(), ""}};
    if (st.extended) fields.push_back({6, "comment", DataType::String(), ""});
    ColumnBatch b{RowType(fields)};
    for (const auto& f : schema.fields()) {
      bool is_pk = std::find(pk.begin(), pk.end(), f.name) != pk.end();
      bool is_part = std::find(parts.begin(), parts.end(), f.name) != parts.end();
      std::string key = is_pk ? "PRI(" + Join(pk, ", ") + ")" : "";
      format::Row row = {Datum::Bytes(f.name),
                         Datum::Bytes(FlinkTypeName(f.type.WithNullable(true))),
                         Datum::Bool(f.type.nullable()),
                         key.empty() ? Datum() : Datum::Bytes(key),
                         is_part ? Datum::Bytes("PARTITION KEY") : Datum(),
                         Datum()};
      if (st.extended) row.push_back(f.description.empty() ? Datum() : Datum::Bytes(f.description));
      b.AppendRow(row);
    }
    return RowsResult(std::move(b), "DESCRIBE");
  }

  Result<StatementResult> ShowCreate(const Statement& st) {
    auto obj_or = Table(st.name);
    if (!obj_or.ok()) return Positioned(obj_or.status(), st.name.pos);
    const CatalogObject& obj = **obj_or;
    std::string ddl;
    if (obj.kind == ObjectKind::kView) {
      ddl = "CREATE VIEW " + obj.FullName();
      if (!obj.view_columns.empty()) {
        std::vector<std::string> cols;
        for (const auto& c : obj.view_columns) cols.push_back(QuoteIdentifier(c));
        ddl += " (" + Join(cols, ", ") + ")";
      }
      ddl += " AS\n" + obj.view_query + "\n";
    } else if (obj.paimon) {
      const table::TableSchema& s = obj.paimon->schema();
      ddl = "CREATE TABLE `" + obj.catalog + "`.`" + obj.database + "`.`" + obj.name + "` (\n";
      std::vector<std::string> lines;
      for (const auto& f : s.fields.fields()) {
        std::string line = "  `" + f.name + "` " + f.type.ToString();
        if (!f.description.empty()) line += " COMMENT " + QuoteString(f.description);
        lines.push_back(line);
      }
      if (!s.primary_keys.empty()) {
        std::vector<std::string> pk;
        for (const auto& k : s.primary_keys) pk.push_back("`" + k + "`");
        lines.push_back("  PRIMARY KEY (" + Join(pk, ", ") + ") NOT ENFORCED");
      }
      ddl += Join(lines, ",\n") + "\n)";
      if (!s.comment.empty()) ddl += " COMMENT " + QuoteString(s.comment);
      if (!s.partition_keys.empty()) {
        std::vector<std::string> pt;
        for (const auto& k : s.partition_keys) pt.push_back("`" + k + "`");
        ddl += "\nPARTITIONED BY (" + Join(pt, ", ") + ")";
      }
      if (!s.options.empty()) {
        std::vector<std::string> opts;
        for (const auto& [k, v] : s.options) opts.push_back("  " + QuoteString(k) + " = " + QuoteString(v));
        ddl += " WITH (\n" + Join(opts, ",\n") + "\n)";
      }
      ddl += "\n";
    } else {
      return ErrorAt(st.name.pos, st.name.ToString() + " is not a table or view that has DDL");
    }
    return RowsResult(StringRows({"result"}, {{ddl}}), "SHOW");
  }

  Result<StatementResult> CreateConnectorTable(const Statement& st) {
    if (st.kind == StatementKind::kCreateTableLike || st.query) {
      return ErrorAt(st.pos, "a connector table (CREATE TEMPORARY TABLE) is defined by its columns and WITH options");
    }
    KL_ASSIGN_OR_RETURN(auto t, impl_->Split(st.name));
    std::string key = t.catalog + "." + t.database + "." + t.name;
    if (impl_->temp_tables.count(key)) {
      if (st.if_not_exists) return Message("OK", "CREATE TABLE");
      return ErrorAt(st.name.pos, "temporary table " + st.name.ToString() + " already exists");
    }
    KL_ASSIGN_OR_RETURN(auto obj, streaming::MakeConnectorTable(st, t.catalog, t.database, impl_->LogOpener()));
    impl_->temp_tables[key] = obj;
    // Computed columns must bind now, so a broken definition is refused when it is created.
    auto ctx = NewContext();
    auto probe = ParseStatement("SELECT * FROM " + QuoteIdentifier(t.catalog) + "." + QuoteIdentifier(t.database) +
                                "." + QuoteIdentifier(t.name));
    if (probe.ok()) {
      auto bound = BindQuery(*(*probe)->query, Bind(ctx.get(), nullptr));
      if (!bound.ok()) {
        impl_->temp_tables.erase(key);
        return bound.status();
      }
    }
    return Message("OK", "CREATE TABLE");
  }

  Result<StatementResult> CreateTable(const Statement& st, const std::vector<Datum>* params) {
    if (st.temporary) return CreateConnectorTable(st);
    if (st.options.count("connector") && st.options.at("connector") != "paimon") {
      return ErrorAt(st.pos, "'connector' = '" + st.options.at("connector") +
                                 "': tables in a Paimon catalog are Paimon tables; a connector table is created "
                                 "with CREATE TEMPORARY TABLE");
    }
    for (const auto& c : st.columns) {
      if (c.metadata || c.computed) {
        return ErrorAt(c.pos, "column " + QuoteIdentifier(c.name) +
                                  ": METADATA and computed columns belong to connector tables (CREATE TEMPORARY "
                                  "TABLE ... WITH ('connector' = ...))");
      }
    }
    KL_ASSIGN_OR_RETURN(auto t, impl_->Split(st.name));
    std::vector<DataField> fields;
    std::vector<std::string> pk = st.primary_key, parts = st.partition_keys;
    std::map<std::string, std::string> options;
    std::string comment = st.comment;
    if (st.kind == StatementKind::kCreateTableLike) {
      auto src = Table(st.like_name);
      if (!src.ok()) return Positioned(src.status(), st.like_name.pos);
      if (!(*src)->paimon || (*src)->kind != ObjectKind::kTable) {
        return ErrorAt(st.like_name.pos, "CREATE TABLE ... LIKE needs a Paimon table, not " + st.like_name.ToString());
      }
      const table::TableSchema& s = (*src)->paimon->schema();
      for (const auto& f : s.fields.fields()) fields.push_back({0, f.name, f.type, f.description});
      if (pk.empty()) pk = s.primary_keys;
      if (parts.empty()) parts = s.partition_keys;
      options = s.options;
      if (comment.empty()) comment = s.comment;
    }
    std::vector<std::string> seen;
    for (const auto& f : fields) seen.push_back(f.name);
    for (const auto& c : st.columns) {
      if (std::find(seen.begin(), seen.end(), c.name) != seen.end()) {
        return ErrorAt(c.pos, "column " + QuoteIdentifier(c.name) + " is defined twice");
      }
      seen.push_back(c.name);
      fields.push_back({0, c.name, c.type, c.comment});
    }
    std::optional<Prepared> ctas;
    if (st.query) {
      KL_ASSIGN_OR_RETURN(Prepared p, Plan(*st.query, params));
      for (const auto& f : p.plan->schema.fields()) {
        if (f.name.rfind("EXPR$", 0) == 0) {
          return ErrorAt(st.query->pos,
                         "CREATE TABLE ... AS SELECT: name every computed column with AS (" + f.name + ")");
        }
        fields.push_back({0, f.name, f.type, ""});
      }
      ctas = std::move(p);
    }
    for (const auto& [k, v] : st.options) options[k] = v;
    options.erase("connector");
    auto check = [&](const std::vector<std::string>& names, const char* what) -> Status {
      for (const auto& n : names) {
        bool found = false;
        for (const auto& f : fields) found = found || f.name == n;
        if (!found) {
          std::vector<std::string> cols;
          for (const auto& f : fields) cols.push_back(f.name);
          return ErrorAt(st.pos, std::string(what) + " column " + QuoteIdentifier(n) + " is not a column of the table" +
                                     DidYouMean(n, cols));
        }
      }
      return Status::OK();
    };
    KL_RETURN_IF_ERROR(check(pk, "PRIMARY KEY"));
    KL_RETURN_IF_ERROR(check(parts, "PARTITIONED BY"));
    for (const auto& f : fields) {
      if (f.type.root() == format::TypeRoot::kInterval) {
        return ErrorAt(st.pos, "column " + QuoteIdentifier(f.name) +
                                   ": an interval cannot be stored in a Paimon table (store its text, or "
                                   "extract(epoch from ...) as a number)");
      }
    }
    auto schema = table::NewTableSchema(fields, parts, pk, options, comment);
    if (!schema.ok()) return ErrorAt(st.pos, "table " + t.database + "." + t.name + ": " + schema.status().message());
    Status s = t.cat->CreateTable(t.database, t.name, *schema, st.if_not_exists);
    if (!s.ok()) return Positioned(s, st.name.pos);
    if (!ctas) return Message("OK", "CREATE TABLE");
    KL_ASSIGN_OR_RETURN(auto obj, Table(st.name));
    KL_ASSIGN_OR_RETURN(int64_t written, Write(*obj, *ctas, {}, st.pos));
    StatementResult r = Message("OK", "CREATE TABLE");
    r.rows_affected = written;
    return r;
  }

  // CALL sys.create_tag(table, tag[, snapshot_id[, time_retained]]) and
  // CALL sys.delete_tag(table, tag[,tag...]): Paimon's procedures, by position or by name.
  Result<StatementResult> Call(const Statement& st, const std::vector<Datum>* params) {
    const auto& parts = st.name.parts;
    std::string proc = ToLower(parts.back());
    static const std::map<std::string, std::vector<std::string>> kProcedures = {
        {"create_tag", {"table", "tag", "snapshot_id", "time_retained"}},
        {"delete_tag", {"table", "tag"}},
    };
    auto known = kProcedures.find(proc);
    if (parts.size() < 2 || !EqualsIgnoreCase(parts[parts.size() - 2], "sys") || known == kProcedures.end()) {
      return ErrorAt(st.name.pos, "no procedure " + Join(parts, ".") + " (there are: sys.create_tag, sys.delete_tag)");
    }
    const std::vector<std::string>& names = known->second;
    std::string signature = "sys." + proc + "(" + Join(names, ", ") + ")";
    auto ctx = NewContext();
    BindOptions o = Bind(ctx.get(), params);
    std::map<std::string, std::string> args;
    for (size_t i = 0; i < st.call_args.size(); ++i) {
      const auto& [given, expr] = st.call_args[i];
      std::string name = given;
      if (name.empty()) {
        if (i >= names.size())
          return ErrorAt(expr->pos, signature + " takes " + std::to_string(names.size()) + " arguments");
        name = names[i];
      } else if (std::find(names.begin(), names.end(), name) == names.end()) {
        return ErrorAt(expr->pos, signature + " has no argument " + QuoteIdentifier(name));
      }
      if (args.count(name) != 0) return ErrorAt(expr->pos, "argument " + name + " of " + signature + " is given twice");
      DataType type;
      KL_ASSIGN_OR_RETURN(Datum v, BindConstant(*expr, o, &type));
      if (!v.is_null()) args[name] = format::DatumToString(v, type);
    }
    for (const char* required : {"table", "tag"}) {
      if (args.count(required) == 0) return ErrorAt(st.pos, signature + " needs " + required);
    }
    QualifiedName table_name;
    table_name.pos = st.pos;
    for (auto& part : kl::Split(args["table"], '.', false)) table_name.parts.emplace_back(Trim(part));
    KL_ASSIGN_OR_RETURN(auto t, impl_->Split(table_name));
    KL_ASSIGN_OR_RETURN(auto obj, t.cat->GetObject(t.database, t.name, ReadOptions{}));
    if (!obj || !obj->paimon) return ErrorAt(st.pos, args["table"] + " is not a Paimon table");
    const auto& paimon = obj->paimon;
    if (proc == "create_tag") {
      std::optional<int64_t> id;
      if (args.count("snapshot_id") != 0) {
        id = ParseInt64(Trim(args["snapshot_id"]));
        if (!id) return ErrorAt(st.pos, "snapshot_id '" + args["snapshot_id"] + "' is not a snapshot number");
      } else {
        KL_ASSIGN_OR_RETURN(id, paimon->snapshots().LatestId());
        if (!id) return ErrorAt(st.pos, args["table"] + " has no snapshot to tag yet");
      }
      // As Paimon: time_retained, else the table's tag.default-time-retained.
      std::string retention = args.count("time_retained") != 0
                                  ? args["time_retained"]
                                  : paimon->context()->options().GetString("tag.default-time-retained", "");
      std::optional<int64_t> retained;
      if (!retention.empty()) {
        int64_t ms = table::TableOptions({{"d", retention}}).GetDurationMillis("d", -1);
        if (ms < 0) return ErrorAt(st.pos, "time_retained '" + retention + "' is not a duration (e.g. '1 d')");
        retained = ms;
      }
      KL_RETURN_IF_ERROR(Positioned(
          table::TagManager(paimon->path()).Create(args["tag"], *id, retained, table::WallClock{}.At(NowMillis())),
          st.pos));
    } else {
      for (auto& name : kl::Split(args["tag"], ',', true)) {
        KL_RETURN_IF_ERROR(Positioned(table::DeleteTag(paimon->context(), std::string(Trim(name))).status(), st.pos));
      }
    }
    return RowsResult(StringRows({"result"}, {{"Success"}}), "CALL");
  }

  Result<StatementResult> Alter(const Statement& st) {
    KL_ASSIGN_OR_RETURN(auto t, impl_->Split(st.name));
    if (st.kind == StatementKind::kAlterTableRename) {
      if (st.like_name.parts.size() > 1)
        return ErrorAt(st.like_name.pos, "RENAME TO takes a table name in the same database");
      Status s = t.cat->RenameTable(t.database, t.name, st.like_name.last());
      if (s.IsNotFound() && st.if_exists) return Message("OK", "ALTER TABLE");
      KL_RETURN_IF_ERROR(Positioned(s, st.name.pos));
      return Message("OK", "ALTER TABLE");
    }
    Status s = t.cat->AlterTable(t.database, t.name, [&](const table::TableSchema& cur) -> Result<table::TableSchema> {
      table::TableSchema next = cur;
      if (st.kind == StatementKind::kAlterTableSet) {
        for (const auto& [k, v] : st.options) {
          next.options[k] = v;
        }
      } else if (st.kind == StatementKind::kAlterTableReset) {
        for (const auto& k : st.reset_keys) next.options.erase(k);
      } else {
        for (const auto& c : st.columns) {
          if (next.fields.IndexOf(c.name) >= 0) {
            return ErrorAt(c.pos, "column " + QuoteIdentifier(c.name) + " already exists");
          }
          if (!c.type.nullable()) {
            return ErrorAt(c.pos,
                           "a column added to a table must be nullable (old rows have no value for " + c.name + ")");
          }
          next.highest_field_id += 1;
          next.fields.mutable_fields().push_back({next.highest_field_id, c.name, c.type, c.comment});
        }
      }
      // Absent means Paimon's default, -1 (dynamic or unaware bucket mode).
      if (cur.table_options().bucket() != next.table_options().bucket()) {
        return ErrorAt(st.pos, "changing 'bucket' needs the data rewritten (rescale), which kubelake does not do");
      }
      KL_RETURN_IF_ERROR(
          table::TableOptions(next.options).Validate().WithContext("table " + t.database + "." + t.name));
      return next;
    });
    if (s.IsNotFound() && st.if_exists) return Message("OK", "ALTER TABLE");
    KL_RETURN_IF_ERROR(Positioned(s, st.name.pos));
    return Message("OK", "ALTER TABLE");
  }

  // What an INSERT OVERWRITE into `obj` replaces (Paimon's rules): an unpartitioned table
  // whole; a static PARTITION (...) those partitions; otherwise the partitions the query
  // writes ('dynamic-partition-overwrite', default true), or the whole table when false.
  Result<table::OverwriteScope> OverwriteScopeFor(const Statement& st, const CatalogObject& obj,
                                                  const std::map<int, Datum>& fixed) {
    const table::TableSchema& schema = obj.paimon->schema();
    table::OverwriteScope scope;
    if (schema.partition_keys.empty()) return scope;
    if (!fixed.empty()) {
      scope.kind = table::OverwriteScope::Kind::kPartitionSpec;
      for (const auto& [idx, value] : fixed) scope.spec[schema.fields.field(static_cast<size_t>(idx)).name] = value;
      return scope;
    }
    std::string dynamic = "true";
    if (auto o = schema.options.find("dynamic-partition-overwrite"); o != schema.options.end()) dynamic = o->second;
    if (auto h = st.options.find("dynamic-partition-overwrite"); h != st.options.end()) dynamic = h->second;
    if (EqualsIgnoreCase(dynamic, "true")) {
      scope.kind = table::OverwriteScope::Kind::kWrittenPartitions;
    } else if (!EqualsIgnoreCase(dynamic, "false")) {
      return ErrorAt(st.pos, "'dynamic-partition-overwrite' must be 'true' or 'false', not '" + dynamic + "'");
    }
    return scope;
  }

  // The static PARTITION (...) values of an INSERT, cast to their columns: target column -> value.
  Result<std::map<int, Datum>> StaticPartitionValues(const Statement& st, const CatalogObject& obj) {
    std::map<int, Datum> fixed;
    if (st.static_partition.empty()) return fixed;
    if (!obj.paimon) {
      return ErrorAt(st.static_partition.front().pos, obj.FullName() + " is not a partitioned Paimon table");
    }
    const table::TableSchema& schema = obj.paimon->schema();
    const RowType& fields = schema.fields;
    ExecContext ctx = *NewContext();
    for (const auto& v : st.static_partition) {
      bool is_partition = std::find(schema.partition_keys.begin(), schema.partition_keys.end(), v.column) !=
                          schema.partition_keys.end();
      if (!is_partition) {
        return ErrorAt(
            v.pos, QuoteIdentifier(v.column) + " is not a partition column of " + obj.name +
                       (schema.partition_keys.empty() ? " (it is not partitioned)"
                                                      : " (partitioned by " + Join(schema.partition_keys, ", ") + ")"));
      }
      int idx = fields.IndexOf(v.column);
      const DataType& type = fields.type(static_cast<size_t>(idx));
      auto value = CastValue(ctx, Datum::Bytes(v.value), DataType::String(), type,
                             "partition column " + QuoteIdentifier(v.column));
      if (!value.ok()) return Positioned(value.status(), v.pos);
      fixed[idx] = std::move(value).value();
    }
    for (const auto& c : st.insert_columns) {
      int idx = fields.IndexOf(c);
      if (idx >= 0 && fixed.count(idx)) {
        return ErrorAt(st.name.pos, "column " + QuoteIdentifier(c) +
                                        " has a static value in PARTITION (...); "
                                        "leave it out of the column list");
      }
    }
    return fixed;
  }

  // Runs a prepared query and writes its rows into a Paimon table in one commit. `fixed`:
  // columns with a static value (INSERT ... PARTITION), which the query does not give.
  // `overwrite`: the commit replaces that scope (INSERT OVERWRITE), even with no rows.
  Result<int64_t> Write(const CatalogObject& obj, Prepared& p, const std::vector<std::string>& columns, SourcePos pos,
                        const std::map<int, Datum>& fixed = {},
                        const std::optional<table::OverwriteScope>& overwrite = std::nullopt) {
    if (!obj.paimon || obj.kind != ObjectKind::kTable) {
      return ErrorAt(pos, obj.FullName() + " is not a Paimon table; INSERT writes Paimon tables");
    }
    const RowType& target = obj.paimon->schema().fields;
    // Which target column each query column fills.
    std::vector<int> into;
    if (columns.empty()) {
      for (size_t i = 0; i < target.size(); ++i) {
        if (!fixed.count(static_cast<int>(i))) into.push_back(static_cast<int>(i));
      }
    } else {
      for (const auto& c : columns) {
        int idx = target.IndexOf(c);
        if (idx < 0)
          return ErrorAt(pos,
                         "table " + obj.name + " has no column " + QuoteIdentifier(c) + DidYouMean(c, target.names()));
        into.push_back(idx);
      }
    }
    if (p.plan->schema.size() != into.size()) {
      return ErrorAt(pos, "INSERT into " + obj.name + ": the query gives " + std::to_string(p.plan->schema.size()) +
                              " columns but " + std::to_string(into.size()) + " are written");
    }
    for (size_t i = 0; i < into.size(); ++i) {
      const DataType& from = p.plan->schema.type(i);
      const DataType& to = target.type(into[i]);
      if (!CastSupported(from, to)) {
        return ErrorAt(pos, "column " + QuoteIdentifier(target.field(into[i]).name) + " of " + obj.name + " is " +
                                TypeName(to.WithNullable(true)) + " but the query gives " +
                                TypeName(from.WithNullable(true)));
      }
    }
    KL_ASSIGN_OR_RETURN(auto root, BuildOperators(p.plan, *p.ctx));
    auto writer = obj.paimon->NewWriter("kubelake-sql-" + RandomUuid());
    if (overwrite) KL_RETURN_IF_ERROR(Positioned(writer->Overwrite(*overwrite), pos));
    int64_t written = 0;
    while (true) {
      ColumnBatch in;
      KL_ASSIGN_OR_RETURN(bool more, root->Next(&in));
      if (!more) break;
      ColumnBatch out(target);
      size_t n = in.num_rows();
      std::vector<bool> filled(target.size(), false);
      for (size_t i = 0; i < into.size(); ++i) {
        const DataType& to = target.type(into[i]);
        format::Column& dst = out.mutable_column(into[i]);
        KL_RETURN_IF_ERROR(
            CastColumn(*p.ctx, in.column(i), n, to, false, "column " + target.field(into[i]).name, &dst));
        filled[into[i]] = true;
      }
      for (const auto& [c, value] : fixed) {
        for (size_t r = 0; r < n; ++r) out.mutable_column(static_cast<size_t>(c)).Append(value);
        filled[static_cast<size_t>(c)] = true;
      }
      for (size_t c = 0; c < target.size(); ++c) {
        if (!filled[c]) {
          for (size_t r = 0; r < n; ++r) out.mutable_column(c).AppendNull();
        }
        if (!target.type(c).nullable() && out.column(c).has_nulls()) {
          return ErrorAt(pos, "column " + QuoteIdentifier(target.field(c).name) + " of " + obj.name +
                                  " is NOT NULL but the query gives NULL for it (nothing was written)");
        }
      }
      out.SetNumRows(n);
      KL_RETURN_IF_ERROR(writer->Write(out));
      written += static_cast<int64_t>(n);
    }
    if (written > 0 || overwrite) KL_RETURN_IF_ERROR(Positioned(writer->Commit(1).status(), pos));
    return written;
  }

  static bool ReadsTables(const LogicalOp& op) {
    bool reads = op.kind == OpKind::kScan;
    auto check = [&](const BoundExprPtr& e) {
      if (!e) return;
      VisitExpr(*e, [&](const BoundExpr& x) { reads = reads || x.kind == BoundKind::kSubquery; });
    };
    check(op.predicate);
    for (const auto& e : op.exprs) check(e);
    for (const auto& c : op.children) reads = reads || ReadsTables(*c);
    return reads;
  }

  bool BatchMode() const {
    auto m = settings_->find(kRuntimeMode);
    return m != settings_->end() && ToLower(m->second) == "batch";
  }

  Result<std::shared_ptr<CatalogObject>> InsertTarget(const Statement& st) {
    auto obj = impl_->ResolveTable(st.name, {});
    if (!obj.ok()) return Positioned(obj.status(), st.name.pos);
    const CatalogObject& o = **obj;
    bool paimon = o.paimon && o.kind == ObjectKind::kTable;
    if (!paimon && o.connector() != "jdbc" && o.connector() != "print") {
      return ErrorAt(st.name.pos,
                     o.FullName() + " cannot be written: INSERT writes Paimon tables, 'jdbc' and 'print' tables");
    }
    return obj;
  }

  Result<StatementResult> Insert(const Statement& st, const std::vector<Datum>* params) {
    if (impl_->in_statement_set) {
      impl_->statement_set.push_back(std::make_shared<Statement>(st));
      return Message("added to the statement set (runs at END)", "INSERT");
    }
    if (st.overwrite && !BatchMode()) {
      return ErrorAt(st.pos, "INSERT OVERWRITE runs in batch mode only (SET 'execution.runtime-mode' = 'batch')");
    }
    KL_ASSIGN_OR_RETURN(auto obj, InsertTarget(st));
    if (st.overwrite && !obj->paimon) {
      return ErrorAt(st.name.pos, "INSERT OVERWRITE writes Paimon tables; " + obj->FullName() + " is a '" +
                                      obj->connector() + "' table");
    }
    KL_ASSIGN_OR_RETURN(auto fixed, StaticPartitionValues(st, *obj));
    KL_ASSIGN_OR_RETURN(Prepared p, Plan(*st.query, params));
    // A query over constants (VALUES, SELECT without FROM) is bounded: it runs to
    // completion now in either mode, as the job it would be finishes at once.
    if (!BatchMode() && ReadsTables(*p.plan)) {
      if (!fixed.empty()) {
        return ErrorAt(st.static_partition.front().pos,
                       "a streaming INSERT cannot take PARTITION (...); give the partition columns in the query or "
                       "SET 'execution.runtime-mode' = 'batch'");
      }
      return StartStreamingInsert(st, obj, p);
    }
    int64_t written = 0;
    if (obj->paimon) {
      std::optional<table::OverwriteScope> overwrite;
      if (st.overwrite) {
        KL_ASSIGN_OR_RETURN(overwrite, OverwriteScopeFor(st, *obj, fixed));
      }
      KL_ASSIGN_OR_RETURN(written, Write(*obj, p, st.insert_columns, st.name.pos, fixed, overwrite));
    } else {
      KL_ASSIGN_OR_RETURN(written, WriteConnector(*obj, p, st));
    }
    StatementResult r = Message("OK", "INSERT");
    r.rows_affected = written;
    return r;
  }

  // A batch INSERT into a connector table (PostgreSQL: one transaction).
  Result<int64_t> WriteConnector(const CatalogObject& obj, Prepared& p, const Statement& st) {
    std::vector<int> into;
    if (st.insert_columns.empty()) {
      for (size_t i = 0; i < obj.schema.size(); ++i) into.push_back(static_cast<int>(i));
    } else {
      for (const auto& c : st.insert_columns) {
        int idx = obj.schema.IndexOf(c);
        if (idx < 0) return ErrorAt(st.name.pos, "table " + obj.name + " has no column " + QuoteIdentifier(c));
        into.push_back(idx);
      }
    }
    if (p.plan->schema.size() != into.size()) {
      return ErrorAt(st.name.pos, "INSERT into " + obj.name + ": the query gives " +
                                      std::to_string(p.plan->schema.size()) + " columns but " +
                                      std::to_string(into.size()) + " are written");
    }
    std::unique_ptr<pipeline::Sink> sink;
    if (obj.connector() == "jdbc") {
      KL_ASSIGN_OR_RETURN(sink, streaming::MakeJdbcSink(obj, "kubelake-sql-batch"));
    } else {
      KL_ASSIGN_OR_RETURN(sink, streaming::MakePrintSink(obj));
    }
    KL_RETURN_IF_ERROR(sink->RestorePosition().status());
    KL_ASSIGN_OR_RETURN(auto root, BuildOperators(p.plan, *p.ctx));
    int64_t written = 0;
    while (true) {
      ColumnBatch in;
      KL_ASSIGN_OR_RETURN(bool more, root->Next(&in));
      if (!more) break;
      pipeline::Changes changes;
      for (size_t r = 0; r < in.num_rows(); ++r) {
        format::Row row(obj.schema.size());
        for (size_t i = 0; i < into.size(); ++i) {
          const DataType& to = obj.schema.type(static_cast<size_t>(into[i]));
          KL_ASSIGN_OR_RETURN(row[static_cast<size_t>(into[i])],
                              CastValue(*p.ctx, in.column(i).Get(r), p.plan->schema.type(i), to,
                                        "column " + obj.schema.field(static_cast<size_t>(into[i])).name));
        }
        for (size_t c = 0; c < row.size(); ++c) {
          if (row[c].is_null() && !obj.schema.type(c).nullable()) {
            return ErrorAt(st.name.pos, "column " + QuoteIdentifier(obj.schema.field(c).name) + " of " + obj.name +
                                            " is NOT NULL but the query gives NULL for it (nothing was written)");
          }
        }
        changes.push_back({format::RowKind::kInsert, std::move(row)});
      }
      written += static_cast<int64_t>(changes.size());
      KL_RETURN_IF_ERROR(sink->Write(changes));
    }
    if (written > 0) KL_RETURN_IF_ERROR(sink->Commit(pipeline::SourcePosition(), true).status());
    return written;
  }

  Result<streaming::JobSettings> JobSettingsFor(const Statement& st, const CatalogObject& target) {
    streaming::JobSettings js;
    auto get = [&](const char* k) -> std::optional<std::string> {
      auto it = settings_->find(k);
      if (it == settings_->end()) return std::nullopt;
      return it->second;
    };
    if (auto n = get(kPipelineName); n && !n->empty()) {
      js.name = *n;
    } else {
      std::string base = "insert-into-" + target.name;
      js.name = base;
      for (int i = 2; impl_->shared()->jobs.Running(js.name); ++i) js.name = base + "-" + std::to_string(i);
    }
    for (char c : js.name) {
      if (c == '/' || c == '\\' || c == 0) return ErrorAt(st.pos, "'pipeline.name' cannot hold '/'");
    }
    if (auto i = get(kCheckpointInterval)) {
      js.checkpoint_interval_ms = table::TableOptions({{"i", *i}}).GetDurationMillis("i", 1000);
    }
    if (auto e = get(kNotNullEnforcer)) js.drop_null_violations = EqualsIgnoreCase(*e, "DROP");
    std::string db_dir = target.paimon ? DirName(target.paimon->path())
                                       : table::Catalog(s_->engine().options().warehouse).DatabasePath(*database_);
    js.state_dir = JoinPath(JoinPath(db_dir, ".kubelake-jobs"), js.name);
    js.log_opener = s_->job_handler() ? impl_->StrongLogOpener() : impl_->LogOpener();
    js.exec = *NewContext();
    js.exec.cancel = nullptr;
    js.exec.deadline_micros = 0;
    return js;
  }

  Result<streaming::PlannedJob> PlanStreaming(const Statement& st, const std::shared_ptr<CatalogObject>& obj,
                                              Prepared& p) {
    KL_ASSIGN_OR_RETURN(streaming::JobSettings js, JobSettingsFor(st, *obj));
    streaming::InsertTarget target;
    target.table = obj;
    target.columns = st.insert_columns;
    target.hints = st.options;
    auto planned = streaming::PlanInsertJob(p.plan, target, js);
    if (!planned.ok()) return Positioned(planned.status(), st.pos);
    return planned;
  }

  Result<StatementResult> StartStreamingInsert(const Statement& st, const std::shared_ptr<CatalogObject>& obj,
                                               Prepared& p) {
    KL_ASSIGN_OR_RETURN(streaming::PlannedJob planned, PlanStreaming(st, obj, p));
    std::string name = planned.job->name();
    if (s_->job_handler()) {
      Status opened = planned.job->Open();
      if (!opened.ok()) return Positioned(opened.WithContext("starting job '" + name + "'"), st.pos);
      KL_RETURN_IF_ERROR(s_->job_handler()(std::move(planned.job)));
      return Message("Job '" + name + "' planned", "INSERT");
    }
    if (impl_->shared()->jobs.Running(name)) {
      return ErrorAt(st.pos, "a job named '" + name + "' is running; SET 'pipeline.name' to another name");
    }
    // Opened here so that a job that cannot start says why at its INSERT.
    Status opened = planned.job->Open();
    if (!opened.ok()) return Positioned(opened.WithContext("starting job '" + name + "'"), st.pos);
    KL_RETURN_IF_ERROR(impl_->shared()->jobs.Start(std::move(planned.job), st.text, planned.explain));
    StatementResult r = Message("Job '" + name + "' started", "INSERT");
    return r;
  }

  Result<StatementResult> StatementSet(const std::vector<std::shared_ptr<Statement>>& inserts,
                                       const std::vector<Datum>* params) {
    StatementResult all = Message("", "INSERT");
    int64_t rows = 0;
    for (const auto& ins : inserts) {
      KL_ASSIGN_OR_RETURN(StatementResult r, Insert(*ins, params));
      all.message += (all.message.empty() ? "" : "\n") + r.message;
      if (r.rows_affected >= 0) rows += r.rows_affected;
      for (auto& w : r.warnings) all.warnings.push_back(std::move(w));
    }
    if (BatchMode()) all.rows_affected = rows;
    return all;
  }

  Result<StatementResult> ShowJobs() {
    std::vector<std::vector<std::string>> rows;
    for (const auto& j : s_->engine().Jobs()) {
      std::string state = j.running         ? (j.status.running ? "RUNNING" : "RESTARTING")
                          : j.status.failed ? "FAILED"
                                            : "STOPPED";
      rows.push_back({j.name, state, std::to_string(j.status.changes_in), std::to_string(j.status.changes_out),
                      std::to_string(j.status.commits), j.status.last_error, j.statement});
    }
    return RowsResult(
        StringRows({"job name", "status", "changes in", "changes out", "commits", "last error", "statement"}, rows),
        "SHOW");
  }

 private:
  SqlSession* s_;
  SqlSession::Impl* impl_;
  std::map<std::string, std::string>* settings_;
  std::string* catalog_;
  std::string* database_;
  const std::atomic<bool>* cancel_;
  int64_t timeout_ms_;
  std::vector<std::optional<DataType>> param_types_;
  bool describe_ = false;
  std::string_view text_;
  const Statement* statement_ = nullptr;
};

}  // namespace

int64_t SqlSession::plans_reused() const { return impl_->plan_cache.reused(); }
int64_t SqlSession::join_tables_reused() const { return impl_->plan_cache.join_tables_reused(); }

Result<StatementResult> SqlSession::Execute(std::string_view statement, const std::vector<Datum>& params,
                                            const std::vector<std::optional<DataType>>& param_types) {
  return Guarded([&]() -> Result<StatementResult> {
    KL_ASSIGN_OR_RETURN(StatementPtr st, ParseStatementReused(statement, ParseOptionsOf(settings_)));
    Runner r(this, impl_.get(), &settings_, &catalog_, &database_, cancel_, timeout_ms_);
    r.SetParameters(param_types, false);
    r.SetStatementText(statement, st.get());
    return r.Run(*st, &params, row_limit_);
  });
}

Status SqlSession::ExecuteScript(
    std::string_view script, const std::function<Status(const ScriptStatement&, const StatementResult&)>& on_result) {
  for (const auto& piece : SplitStatements(script)) {
    auto st = ParseStatement(piece.text, piece.pos, ParseOptionsOf(settings_));
    if (!st.ok()) return st.status();
    Runner r(this, impl_.get(), &settings_, &catalog_, &database_, cancel_, timeout_ms_);
    auto result = Guarded([&]() -> Result<StatementResult> { return r.Run(**st, nullptr, row_limit_); });
    if (!result.ok()) return result.status();
    KL_RETURN_IF_ERROR(on_result(piece, *result));
  }
  return Status::OK();
}

Result<SqlSession::Execution> SqlSession::Run(std::string_view statement, const std::vector<Datum>& params,
                                              const std::vector<std::optional<DataType>>& param_types) {
  return Guarded([&]() -> Result<Execution> {
    KL_ASSIGN_OR_RETURN(StatementPtr st, ParseStatementReused(statement, ParseOptionsOf(settings_)));
    Runner r(this, impl_.get(), &settings_, &catalog_, &database_, cancel_, timeout_ms_);
    r.SetParameters(param_types, false);
    Execution e;
    if (st->kind == StatementKind::kQuery) {
      KL_ASSIGN_OR_RETURN(Prepared p, r.PlanStatement(statement, *st->query, &params));
      KL_ASSIGN_OR_RETURN(auto root, BuildOperators(p.plan, *p.ctx));
      e.stream.reset(new QueryStream(p.plan, std::move(p.ctx), std::move(root), row_limit_));
      return e;
    }
    KL_ASSIGN_OR_RETURN(e.result, r.Run(*st, &params, row_limit_));
    return e;
  });
}

Result<std::unique_ptr<ResultStream>> SqlSession::Query(std::string_view statement, const std::vector<Datum>& params,
                                                        const std::vector<std::optional<DataType>>& param_types) {
  return Guarded([&]() { return QueryInner(statement, params, param_types); });
}

Result<std::unique_ptr<ResultStream>> SqlSession::QueryInner(std::string_view statement,
                                                             const std::vector<Datum>& params,
                                                             const std::vector<std::optional<DataType>>& param_types) {
  KL_ASSIGN_OR_RETURN(StatementPtr st, ParseStatementReused(statement, ParseOptionsOf(settings_)));
  Runner r(this, impl_.get(), &settings_, &catalog_, &database_, cancel_, timeout_ms_);
  r.SetParameters(param_types, false);
  if (st->kind != StatementKind::kQuery) {
    // Other statements that return rows run now; their rows are replayed.
    KL_ASSIGN_OR_RETURN(StatementResult res, r.Run(*st, &params, row_limit_));
    class Replay : public ResultStream {
     public:
      explicit Replay(StatementResult r) : r_(std::move(r)) {}
      const RowType& columns() const override { return r_.columns; }
      Result<bool> Next(ColumnBatch* out) override {
        if (i_ >= r_.batches.size()) return false;
        *out = std::move(r_.batches[i_++]);
        return true;
      }

     private:
      StatementResult r_;
      size_t i_ = 0;
    };
    return std::unique_ptr<ResultStream>(new Replay(std::move(res)));
  }
  KL_ASSIGN_OR_RETURN(Prepared p, r.PlanStatement(statement, *st->query, &params));
  KL_ASSIGN_OR_RETURN(auto root, BuildOperators(p.plan, *p.ctx));
  return std::unique_ptr<ResultStream>(new QueryStream(p.plan, std::move(p.ctx), std::move(root), row_limit_));
}

Result<RowType> SqlSession::Describe(std::string_view statement, const std::vector<Datum>& params) {
  KL_ASSIGN_OR_RETURN(StatementPtr st, ParseStatementReused(statement, ParseOptionsOf(settings_)));
  if (st->kind != StatementKind::kQuery) return RowType();
  Runner r(this, impl_.get(), &settings_, &catalog_, &database_, cancel_, timeout_ms_);
  KL_ASSIGN_OR_RETURN(Prepared p, r.Plan(*st->query, &params));
  return p.plan->schema;
}

Result<StatementDescription> SqlSession::DescribeStatement(std::string_view statement,
                                                           const std::vector<std::optional<DataType>>& declared) {
  return Guarded([&]() -> Result<StatementDescription> {
    KL_ASSIGN_OR_RETURN(StatementPtr st, ParseStatementReused(statement, ParseOptionsOf(settings_)));
    Runner r(this, impl_.get(), &settings_, &catalog_, &database_, cancel_, timeout_ms_);
    r.SetParameters(declared, true);
    StatementDescription d;
    switch (st->kind) {
      case StatementKind::kQuery: {
        KL_ASSIGN_OR_RETURN(Prepared p, r.Plan(*st->query, nullptr));
        d.returns_rows = true;
        d.columns = p.plan->schema;
        d.statement_kind = "SELECT";
        break;
      }
      case StatementKind::kExplain:
      case StatementKind::kShowCatalogs:
      case StatementKind::kShowCurrentCatalog:
      case StatementKind::kShowCurrentDatabase:
      case StatementKind::kShowDatabases:
      case StatementKind::kShowTables:
      case StatementKind::kShowViews:
      case StatementKind::kShowCreateTable:
      case StatementKind::kShowFunctions:
      case StatementKind::kDescribe: {
        // Reading statements: their columns are what running them gives (cheap, no side effects).
        KL_ASSIGN_OR_RETURN(StatementResult res, r.Run(*st, nullptr, 0));
        d.returns_rows = res.has_rows;
        d.columns = res.columns;
        d.statement_kind = res.statement_kind;
        break;
      }
      case StatementKind::kSet:
        d.returns_rows = st->key.empty();
        if (d.returns_rows) {
          d.columns = RowType({{0, "key", DataType::String(), ""}, {1, "value", DataType::String(), ""}});
        }
        d.statement_kind = "SET";
        break;
      case StatementKind::kInsert: {
        // The query's parameters get their types; the rows are not written.
        KL_RETURN_IF_ERROR(r.Plan(*st->query, nullptr).status());
        d.statement_kind = "INSERT";
        break;
      }
      default: d.statement_kind = "OK"; break;
    }
    for (const auto& t : r.parameter_types()) d.parameters.push_back(t ? t->WithNullable(true) : DataType::String());
    return d;
  });
}

}  // namespace kl::sql
