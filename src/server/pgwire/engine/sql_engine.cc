#include "server/pgwire/engine/sql_engine.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/string_util.h"
#include "server/pgwire/engine/catalog_snapshot.h"
#include "server/pgwire/engine/pg_catalog.h"
#include "sql/sql.h"

namespace kl::server::pg {

using format::DataType;
using format::Datum;

namespace {

bool Contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

// The SQLSTATE of an engine error, from its kind and what its message says.
const char* SqlStateOf(const Status& s, const std::string& m) {
  switch (s.code()) {
    case StatusCode::kNotFound:
      if (Contains(m, "configuration parameter")) return sqlstate::kUndefinedObject;
      if (Contains(m, "type \"") || Contains(m, "role \"") || Contains(m, "operator \""))
        return sqlstate::kUndefinedObject;
      if (Contains(m, "function \"")) return sqlstate::kUndefinedFunction;
      if (m.rfind("table ", 0) == 0 || m.rfind("relation ", 0) == 0 || m.rfind("view ", 0) == 0) {
        return sqlstate::kUndefinedTable;
      }
      if (Contains(m, "schema \"") || (Contains(m, "database") && !Contains(m, "table"))) return "3F000";
      if (Contains(m, "catalog")) return sqlstate::kInvalidCatalogName;
      return sqlstate::kUndefinedTable;
    case StatusCode::kAlreadyExists: return Contains(m, "database") ? "42P06" : "42P07";
    case StatusCode::kNotSupported: return sqlstate::kFeatureNotSupported;
    case StatusCode::kAborted:
      if (Contains(m, "out of memory") || Contains(m, "memory limit") || Contains(m, "sql.memory-limit"))
        return "53200";
      return sqlstate::kQueryCanceled;
    case StatusCode::kCorruption: return "XX001";
    case StatusCode::kIOError: return "58030";
    case StatusCode::kInternal: return sqlstate::kInternalError;
    case StatusCode::kUnavailable: return "08006";
    case StatusCode::kConflict: return "40001";
    default: break;
  }
  if (Contains(m, "read-only session")) return sqlstate::kReadOnlySqlTransaction;
  if (m.rfind("syntax error", 0) == 0 || Contains(m, "unterminated") || Contains(m, "unexpected character") ||
      Contains(m, "a number runs into a name")) {
    return sqlstate::kSyntaxError;
  }
  if (m.rfind("unknown column", 0) == 0 || Contains(m, "has no column") || Contains(m, "has no field")) {
    return sqlstate::kUndefinedColumn;
  }
  if (m.rfind("unknown table", 0) == 0 || m.rfind("no table ", 0) == 0) return sqlstate::kUndefinedTable;
  if (m.rfind("unknown function", 0) == 0 || m.rfind("unknown window function", 0) == 0 ||
      m.rfind("operator", 0) == 0) {
    return sqlstate::kUndefinedFunction;
  }
  if (Contains(m, "is ambiguous")) return "42702";
  if (Contains(m, "must be in GROUP BY")) return "42803";
  if (Contains(m, "aggregate function") && Contains(m, "not allowed")) return "42803";
  if (Contains(m, "unknown data type") || (Contains(m, "type ") && Contains(m, "is known only"))) {
    return sqlstate::kUndefinedObject;
  }
  if (Contains(m, "division by zero") || Contains(m, "divided by zero")) return "22012";
  // invalid_datetime_format and datetime_field_overflow, as PostgreSQL reports them.
  if (Contains(m, "invalid input syntax for type interval")) return "22007";
  if (Contains(m, "interval field value out of range")) return "22015";
  if (Contains(m, "interval out of range") || Contains(m, "timestamp out of range")) return "22008";
  if (Contains(m, "more than one row")) return "21000";
  if (m.rfind("CAST of", 0) == 0 || Contains(m, "invalid input syntax") || Contains(m, "malformed array literal") ||
      Contains(m, "bad number")) {
    return sqlstate::kInvalidTextRepresentation;
  }
  if (Contains(m, "out of range") || Contains(m, "too large")) return "22003";
  if (Contains(m, "regular expression")) return "2201B";
  if (Contains(m, "cannot compare") || Contains(m, "needs a BOOLEAN") || Contains(m, "cannot cast") ||
      Contains(m, "must be a") || Contains(m, "needs a number") || Contains(m, "needs an integer") ||
      Contains(m, "needs an array") || Contains(m, "needs strings") || Contains(m, "do not share a type") ||
      Contains(m, "needs an ARRAY") || Contains(m, "the two sides have")) {
    return sqlstate::kDatatypeMismatch;
  }
  if (Contains(m, "no value given for parameter")) return "42P02";
  if (Contains(m, "not supported") || Contains(m, "are not supported")) return sqlstate::kFeatureNotSupported;
  if (Contains(m, "nested too deeply")) return "54001";
  return "42000";  // syntax_error_or_access_rule_violation: the statement cannot run as written
}

// "line L, column C: message" -> (L, C, message); L = 0 when absent.
void SplitPosition(const std::string& text, int* line, int* column, std::string* message) {
  *line = 0;
  *column = 0;
  *message = text;
  int l = 0, c = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "line %d, column %d: %n", &l, &c, &consumed) == 2 && consumed > 0) {
    *line = l;
    *column = c;
    *message = text.substr(static_cast<size_t>(consumed));
  }
}

// 1-based character position of (line, column) in `text`.
int CharacterPosition(std::string_view text, int line, int column) {
  int pos = 0, l = 1;
  size_t i = 0;
  while (i < text.size() && l < line) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++pos;
    if (text[i] == '\n') ++l;
    ++i;
  }
  return pos + column;
}

}  // namespace

SqlError EngineError(const Status& status, std::string_view statement) {
  int line, column;
  std::string message;
  SplitPosition(status.message(), &line, &column, &message);
  // A script file name may precede the position ("f.sql: line 3, ...") in other callers; not here.
  SqlError e;
  e.sqlstate = SqlStateOf(status, message);
  e.message = message;
  if (line > 0 && column > 0) e.position = CharacterPosition(statement, line, column);
  return e;
}

namespace {

// The connection's settings and user as the SQL engine reads them.
class Variables : public sql::SessionVariables {
 public:
  Variables(SessionSettings* settings, std::string user, int32_t pid)
      : settings_(settings), user_(std::move(user)), pid_(pid) {}
  std::optional<std::string> Get(const std::string& name) const override {
    std::string n = ToLower(name);
    if (n == "kubelake.backend_pid") return std::to_string(pid_);
    if (settings_ == nullptr) return std::nullopt;
    return settings_->Get(n);
  }
  Status Set(const std::string& name, const std::string& value) override {
    if (settings_ == nullptr) return Status::NotSupported("this session has no settings");
    auto r = settings_->Set(ToLower(name), value);
    if (!r.ok()) return Status::InvalidArgument(r.error().message);
    return Status::OK();
  }
  std::vector<std::vector<std::string>> All() const override {
    return settings_ == nullptr ? std::vector<std::vector<std::string>>{} : settings_->All();
  }
  std::string user() const override { return user_; }

 private:
  SessionSettings* settings_;
  std::string user_;
  int32_t pid_;
};

// A query's batches handed out as rows.
class BatchRowStream : public RowStream {
 public:
  BatchRowStream(std::unique_ptr<sql::ResultStream> stream, std::string statement)
      : stream_(std::move(stream)), statement_(std::move(statement)) {}
  SqlResult<size_t> Next(size_t max, std::vector<format::Row>* rows, const QueryContext& context) override {
    size_t n = 0;
    while (n < max) {
      if (at_ >= batch_.num_rows()) {
        if (done_) break;
        if (auto stop = context.Interrupted()) return *stop;
        batch_ = format::ColumnBatch();
        at_ = 0;
        auto more = stream_->Next(&batch_);
        if (!more.ok()) return EngineError(more.status(), statement_);
        if (!*more) {
          done_ = true;
          break;
        }
        continue;
      }
      rows->push_back(batch_.GetRow(at_++));
      ++n;
    }
    return n;
  }
  bool batched() const override { return true; }
  SqlResult<bool> NextBatch(format::ColumnBatch* batch, const QueryContext& context) override {
    if (at_ < batch_.num_rows()) {
      // Rows already taken by Next come first (a stream is read one way, but be exact).
      *batch = format::ColumnBatch(batch_.schema());
      for (; at_ < batch_.num_rows(); ++at_) batch->AppendRowFrom(batch_, at_);
      return true;
    }
    while (!done_) {
      if (auto stop = context.Interrupted()) return *stop;
      *batch = format::ColumnBatch();
      auto more = stream_->Next(batch);
      if (!more.ok()) return EngineError(more.status(), statement_);
      if (!*more) break;
      if (batch->num_rows() > 0) return true;
    }
    done_ = true;
    return false;
  }

 private:
  std::unique_ptr<sql::ResultStream> stream_;
  std::string statement_;
  format::ColumnBatch batch_;
  size_t at_ = 0;
  bool done_ = false;
};

std::vector<format::Row> AllRows(const sql::StatementResult& r) { return r.Rows(); }

bool ChangesCatalog(const std::string& kind) {
  return kind.rfind("CREATE", 0) == 0 || kind.rfind("DROP", 0) == 0 || kind.rfind("ALTER", 0) == 0 || kind == "INSERT";
}

}  // namespace

class PgSqlSession : public QuerySession {
 public:
  PgSqlSession(PgSqlEngine* engine, const SessionInfo& info, std::string database)
      : engine_(engine), variables_(info.settings, info.user, info.backend_pid), database_(std::move(database)) {
    session_ = engine_->engine_->NewSession();
    (void)session_->Set(sql::kDialectSetting, "postgresql");
    session_->set_variables(&variables_);
    session_->set_read_only(!engine_->options_.allow_writes);
    if (database_ != session_->current_database()) {
      auto use = session_->Execute("USE `" + EscapeBackticks(database_) + "`");
      if (!use.ok()) spdlog::warn("pg: USE {}: {}", database_, use.status().ToString());
    }
    if (info.settings != nullptr) {
      // The connection's database is searched after "$user", as PostgreSQL searches public.
      info.settings->SetDefault("search_path", "\"$user\", " + QuoteIfNeeded(database_) + ", public");
      settings_ = info.settings;
    }
  }

  SqlResult<StatementDescription> Describe(std::string_view sql,
                                           const std::vector<std::optional<DataType>>& hints) override {
    SyncSearchPath();
    auto d = session_->DescribeStatement(sql, hints);
    if (!d.ok()) return EngineError(d.status(), sql);
    StatementDescription out;
    out.parameters = d->parameters;
    out.returns_rows = d->returns_rows;
    out.columns = d->columns;
    return out;
  }

  SqlResult<StatementResult> Execute(std::string_view sql, const std::vector<Datum>& params,
                                     const QueryContext& context) override {
    SyncSearchPath();
    session_->set_cancel_flag(context.cancel);
    int64_t timeout_ms = 0;
    if (context.deadline_us > 0) timeout_ms = std::max<int64_t>(1, (context.deadline_us - MonotonicMicros()) / 1000);
    session_->set_timeout_millis(timeout_ms);
    std::vector<std::optional<DataType>> types;
    if (context.parameter_types != nullptr) {
      for (const auto& t : *context.parameter_types) types.emplace_back(t);
    }
    auto run = session_->Run(sql, params, types);
    if (!run.ok()) return EngineError(run.status(), sql);
    StatementResult r;
    if (run->stream) {
      r.returns_rows = true;
      r.columns = run->stream->columns();
      r.rows = std::make_unique<BatchRowStream>(std::move(run->stream), std::string(sql));
      r.command_tag = "SELECT";
      return r;
    }
    sql::StatementResult& res = run->result;
    if (ChangesCatalog(res.statement_kind)) engine_->catalog_->Invalidate();
    if (res.has_rows) {
      r.returns_rows = true;
      r.columns = res.columns;
      r.rows = std::make_unique<VectorRowStream>(AllRows(res));
      r.command_tag = res.statement_kind == "SHOW" || res.statement_kind == "SET" ? "SHOW" : "SELECT";
      return r;
    }
    if (res.statement_kind == "INSERT") {
      r.command_tag = "INSERT 0 " + std::to_string(std::max<int64_t>(0, res.rows_affected));
    } else if (res.statement_kind == "CREATE TABLE" && res.rows_affected >= 0) {
      r.command_tag = "SELECT " + std::to_string(res.rows_affected);
    } else {
      r.command_tag = res.statement_kind.empty() ? "OK" : res.statement_kind;
    }
    return r;
  }

 private:
  static std::string EscapeBackticks(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '`') out.push_back('`');
      out.push_back(c);
    }
    return out;
  }
  static std::string QuoteIfNeeded(const std::string& n) {
    bool plain = !n.empty();
    for (char c : n) plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    return plain ? n : "\"" + n + "\"";
  }

  // search_path's first schema that is a Paimon database becomes the session's current database.
  void SyncSearchPath() {
    if (settings_ == nullptr) return;
    std::string path = settings_->Get("search_path").value_or("");
    if (path == last_path_) return;
    last_path_ = path;
    std::string target = database_;
    for (const auto& raw : Split(path, ',', true)) {
      std::string n(Trim(raw));
      if (n.size() >= 2 && n.front() == '"' && n.back() == '"') {
        n = n.substr(1, n.size() - 2);
      } else {
        n = ToLower(n);
      }
      if (n == "$user") n = variables_.user();
      if (n.empty() || n == "pg_catalog" || n == "information_schema") continue;
      auto exists = engine_->catalog_->warehouse().DatabaseExists(n);
      if (exists.ok() && *exists) {
        target = n;
        break;
      }
    }
    if (target != session_->current_database()) {
      auto use = session_->Execute("USE `" + EscapeBackticks(target) + "`");
      if (!use.ok()) spdlog::debug("pg: search_path {}: {}", path, use.status().ToString());
    }
  }

  PgSqlEngine* engine_;
  Variables variables_;
  std::string database_;
  std::unique_ptr<sql::SqlSession> session_;
  SessionSettings* settings_ = nullptr;
  std::string last_path_;
};

Result<std::unique_ptr<PgSqlEngine>> PgSqlEngine::Create(const PgEngineOptions& options) {
  std::unique_ptr<PgSqlEngine> e(new PgSqlEngine());
  e->options_ = options;
  sql::EngineOptions eo;
  eo.warehouse = options.warehouse;
  eo.default_database = options.database;
  KL_ASSIGN_OR_RETURN(e->engine_, sql::SqlEngine::Create(eo));
  std::weak_ptr<sql::SqlEngine> weak = e->engine_;
  // A view's columns: bind `SELECT * FROM db.view` (in a session of its own).
  auto view_columns = [weak](const std::string& db, const std::string& view) -> Result<format::RowType> {
    auto engine = weak.lock();
    if (!engine) return Status::Unavailable("the engine is gone");
    auto session = engine->NewSession();
    return session->Describe("SELECT * FROM `" + db + "`.`" + view + "`");
  };
  e->catalog_ = std::make_shared<WarehouseCatalog>(sql::NewPaimonCatalog(options.warehouse), view_columns);
  PgCatalogOptions co;
  co.allow_writes = options.allow_writes;
  RegisterPgCatalog(*e->engine_, e->catalog_, co);
  return e;
}

PgSqlEngine::~PgSqlEngine() = default;

std::string PgSqlEngine::DatabaseFor(const std::string& requested, const std::string& user) const {
  auto exists = catalog_->warehouse().DatabaseExists(requested);
  if (exists.ok() && *exists) return requested;
  // The default database is there even before the pipeline has created it.
  if (requested.empty() || requested == options_.database || requested == "postgres" || requested == user) {
    return options_.database;
  }
  return "";
}

bool PgSqlEngine::HasDatabase(const std::string& name, const std::string& user) const {
  return !DatabaseFor(name, user).empty();
}

std::unique_ptr<QuerySession> PgSqlEngine::NewSession(const SessionInfo& info) {
  std::string db = DatabaseFor(info.database, info.user);
  if (db.empty()) return nullptr;
  return std::make_unique<PgSqlSession>(this, info, db);
}

}  // namespace kl::server::pg
