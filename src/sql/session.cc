// SqlEngine and SqlSession: statement dispatch, name resolution, settings.
#include <algorithm>
#include <mutex>

#include "common/clock.h"
#include "common/random.h"
#include "common/string_util.h"
#include "sql/binder/binder.h"
#include "sql/binder/types.h"
#include "sql/execution/executor.h"
#include "sql/functions/cast.h"
#include "sql/parser/parser.h"
#include "sql/planner/optimizer.h"
#include "sql/sql.h"
#include "table/cast.h"
#include "table/options.h"

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
};

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

std::unique_ptr<SqlSession> SqlEngine::NewSession() {
  return std::unique_ptr<SqlSession>(new SqlSession(shared_from_this()));
}

namespace {

// Session keys kubelake reads; any other key is kept (Flink accepts any key).
const char kMemoryLimit[] = "sql.memory-limit";
const char kQueryTimeout[] = "sql.query-timeout";
const char kTimeZone[] = "table.local-time-zone";
const char kRuntimeMode[] = "execution.runtime-mode";

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
  } else if (key == kRuntimeMode) {
    if (value != "batch" && value != "streaming" && value != "BATCH" && value != "STREAMING") {
      return Status::InvalidArgument("'" + key + "' must be 'batch' or 'streaming', not '" + value + "'");
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
    return ctx;
  }

  BindOptions Bind(ExecContext* ctx, const std::vector<Datum>* params) {
    BindOptions o;
    o.functions = impl_->shared()->functions.get();
    o.resolver = impl_;
    o.exec = ctx;
    o.params = params;
    return o;
  }

  Result<Prepared> Plan(const Query& q, const std::vector<Datum>* params) {
    Prepared p;
    p.ctx = NewContext();
    KL_ASSIGN_OR_RETURN(LogicalOpPtr plan, BindQuery(q, Bind(p.ctx.get(), params)));
    p.plan = Optimize(plan);
    return p;
  }

  Result<StatementResult> RunQuery(const Query& q, const std::vector<Datum>* params, int64_t row_limit) {
    KL_ASSIGN_OR_RETURN(Prepared p, Plan(q, params));
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
    switch (st.kind) {
      case StatementKind::kQuery: return RunQuery(*st.query, params, row_limit);
      case StatementKind::kExplain: {
        if (!st.statements.empty()) {
          const Statement& inner = *st.statements[0];
          KL_ASSIGN_OR_RETURN(Prepared p, Plan(*inner.query, params));
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
      case StatementKind::kShowJobs:
        return ErrorAt(st.pos, "SHOW JOBS: this build runs no SQL jobs (streaming INSERT jobs are not supported yet)");
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
        if (st.temporary) return ErrorAt(st.pos, "there are no temporary tables to drop");
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
      auto parsed = ParseStatement((*obj)->view_query);
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

  Result<StatementResult> CreateTable(const Statement& st, const std::vector<Datum>* params) {
    if (st.temporary) {
      return ErrorAt(st.pos,
                     "CREATE TEMPORARY TABLE defines a connector table ('connector' = ...), which kubelake "
                     "does not support yet; create a Paimon table without TEMPORARY");
    }
    if (st.options.count("connector") && st.options.at("connector") != "paimon") {
      return ErrorAt(st.pos, "'connector' = '" + st.options.at("connector") +
                                 "': tables in a Paimon catalog are Paimon tables (no connector option)");
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
    auto schema = table::NewTableSchema(fields, parts, pk, options, comment);
    if (!schema.ok()) return ErrorAt(st.pos, schema.status().message());
    Status s = t.cat->CreateTable(t.database, t.name, *schema, st.if_not_exists);
    if (!s.ok()) return Positioned(s, st.name.pos);
    if (!ctas) return Message("OK", "CREATE TABLE");
    KL_ASSIGN_OR_RETURN(auto obj, Table(st.name));
    KL_ASSIGN_OR_RETURN(int64_t written, Write(*obj, *ctas, {}, st.pos));
    StatementResult r = Message("OK", "CREATE TABLE");
    r.rows_affected = written;
    return r;
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
      KL_RETURN_IF_ERROR(table::TableOptions(next.options).Validate());
      return next;
    });
    if (s.IsNotFound() && st.if_exists) return Message("OK", "ALTER TABLE");
    KL_RETURN_IF_ERROR(Positioned(s, st.name.pos));
    return Message("OK", "ALTER TABLE");
  }

  // Runs a prepared query and writes its rows into a Paimon table in one commit.
  Result<int64_t> Write(const CatalogObject& obj, Prepared& p, const std::vector<std::string>& columns, SourcePos pos) {
    if (!obj.paimon || obj.kind != ObjectKind::kTable) {
      return ErrorAt(pos, obj.FullName() + " is not a Paimon table; INSERT writes Paimon tables");
    }
    const RowType& target = obj.paimon->schema().fields;
    // Which target column each query column fills.
    std::vector<int> into;
    if (columns.empty()) {
      for (size_t i = 0; i < target.size(); ++i) into.push_back(static_cast<int>(i));
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
    if (written > 0) KL_RETURN_IF_ERROR(writer->Commit(1).status());
    return written;
  }

  Result<StatementResult> Insert(const Statement& st, const std::vector<Datum>* params) {
    if (st.overwrite) {
      return ErrorAt(st.pos, "INSERT OVERWRITE is not supported yet; DELETE the rows' partitions or write a new table");
    }
    auto mode = settings_->find(kRuntimeMode);
    (void)mode;  // batch is the only mode until streaming jobs exist
    auto obj = impl_->ResolveTable(st.name, {});
    if (!obj.ok()) return Positioned(obj.status(), st.name.pos);
    KL_ASSIGN_OR_RETURN(Prepared p, Plan(*st.query, params));
    KL_ASSIGN_OR_RETURN(int64_t written, Write(**obj, p, st.insert_columns, st.name.pos));
    StatementResult r = Message("OK", "INSERT");
    r.rows_affected = written;
    if (auto m = settings_->find(kRuntimeMode); m == settings_->end() || ToLower(m->second) == "streaming") {
      r.warnings.push_back(
          "INSERT ran as a batch job over the current data (streaming INSERT jobs are not supported yet)");
    }
    return r;
  }

 private:
  SqlSession* s_;
  SqlSession::Impl* impl_;
  std::map<std::string, std::string>* settings_;
  std::string* catalog_;
  std::string* database_;
  const std::atomic<bool>* cancel_;
  int64_t timeout_ms_;
};

}  // namespace

Result<StatementResult> SqlSession::Execute(std::string_view statement, const std::vector<Datum>& params) {
  return Guarded([&]() -> Result<StatementResult> {
    KL_ASSIGN_OR_RETURN(StatementPtr st, ParseStatement(statement));
    Runner r(this, impl_.get(), &settings_, &catalog_, &database_, cancel_, timeout_ms_);
    return r.Run(*st, &params, row_limit_);
  });
}

Status SqlSession::ExecuteScript(
    std::string_view script, const std::function<Status(const ScriptStatement&, const StatementResult&)>& on_result) {
  for (const auto& piece : SplitStatements(script)) {
    auto st = ParseStatement(piece.text, piece.pos);
    if (!st.ok()) return st.status();
    Runner r(this, impl_.get(), &settings_, &catalog_, &database_, cancel_, timeout_ms_);
    auto result = Guarded([&]() -> Result<StatementResult> { return r.Run(**st, nullptr, row_limit_); });
    if (!result.ok()) return result.status();
    KL_RETURN_IF_ERROR(on_result(piece, *result));
  }
  return Status::OK();
}

Result<std::unique_ptr<ResultStream>> SqlSession::Query(std::string_view statement, const std::vector<Datum>& params) {
  return Guarded([&]() { return QueryInner(statement, params); });
}

Result<std::unique_ptr<ResultStream>> SqlSession::QueryInner(std::string_view statement,
                                                             const std::vector<Datum>& params) {
  KL_ASSIGN_OR_RETURN(StatementPtr st, ParseStatement(statement));
  Runner r(this, impl_.get(), &settings_, &catalog_, &database_, cancel_, timeout_ms_);
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
  KL_ASSIGN_OR_RETURN(Prepared p, r.Plan(*st->query, &params));
  KL_ASSIGN_OR_RETURN(auto root, BuildOperators(p.plan, *p.ctx));
  return std::unique_ptr<ResultStream>(new QueryStream(p.plan, std::move(p.ctx), std::move(root), row_limit_));
}

Result<RowType> SqlSession::Describe(std::string_view statement, const std::vector<Datum>& params) {
  KL_ASSIGN_OR_RETURN(StatementPtr st, ParseStatement(statement));
  if (st->kind != StatementKind::kQuery) return RowType();
  Runner r(this, impl_.get(), &settings_, &catalog_, &database_, cancel_, timeout_ms_);
  KL_ASSIGN_OR_RETURN(Prepared p, r.Plan(*st->query, &params));
  return p.plan->schema;
}

}  // namespace kl::sql
