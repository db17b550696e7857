// sql — kubelake's Flink SQL dialect over the warehouse. A SqlEngine holds
// the catalogs (the default one is the warehouse of --data-dir) and the
// function registry; a SqlSession runs statements one at a time with its own
// settings (SET), current catalog and database, and the hooks a server needs:
// a cancel flag, a time limit and a row limit. Queries go lexer -> parser ->
// binder (names, types) -> logical plan -> optimiser -> vectorised executor.
// Extra catalogs and databases of virtual tables (pg_catalog for the
// PostgreSQL wire protocol) and extra functions plug in through the engine.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "format/column.h"
#include "log/event_log.h"
#include "pipeline/runtime/job.h"
#include "sql/catalog/catalog.h"
#include "sql/functions/function.h"
#include "sql/parser/lexer.h"

namespace kl::sql {

struct EngineOptions {
  std::string warehouse;  // the default catalog's warehouse
  std::string default_catalog = "default_catalog";
  std::string default_database = "kubelake";
};

// What one statement produced: rows (queries, SHOW, DESCRIBE, EXPLAIN) or a message.
struct StatementResult {
  bool has_rows = false;
  format::RowType columns;
  std::vector<format::ColumnBatch> batches;
  std::string message;                // "OK", "Table created", ...
  std::vector<std::string> warnings;  // statements accepted but ignored, ...
  bool truncated = false;             // the session's row limit cut the result
  std::string statement_kind;         // "SELECT", "CREATE TABLE", ... (command tags for servers)
  int64_t rows_affected = -1;         // INSERT: rows written

  size_t num_rows() const;
  std::vector<format::Row> Rows() const;
};

// Pulls a query's rows batch by batch (a server streams them to its client).
class ResultStream {
 public:
  virtual ~ResultStream() = default;
  virtual const format::RowType& columns() const = 0;
  // The next batch; false at the end.
  virtual Result<bool> Next(format::ColumnBatch* out) = 0;
};

// What a statement would return, without running it (a server's Describe).
struct StatementDescription {
  bool returns_rows = false;
  format::RowType columns;
  std::vector<format::DataType> parameters;  // types of $1, $2, ... (declared, else from their use; text)
  std::string statement_kind;                // "SELECT", "SHOW", "CREATE TABLE", ...
};

// The setting that picks the dialect a session parses: 'flink' (the default) or 'postgresql'.
inline constexpr char kDialectSetting[] = "sql.dialect";

class SqlSession;

// A streaming job started by an INSERT (streaming runtime mode).
struct SqlJobInfo {
  std::string name;
  std::string statement;
  std::string explain;  // its operators, one per line
  pipeline::JobStatus status;
  bool running = false;  // false once stopped or failed (status.failed, status.last_error)
};

class SqlEngine : public std::enable_shared_from_this<SqlEngine> {
 public:
  static Result<std::shared_ptr<SqlEngine>> Create(EngineOptions options);

  std::unique_ptr<SqlSession> NewSession();
  const EngineOptions& options() const { return options_; }

  // Hooks for other parts: a named catalog (CREATE CATALOG does the same for
  // 'paimon' catalogs); a database visible from every catalog as `name.table`
  // (and, when `searched`, by bare table names after the current database's own);
  // and scalar functions.
  Status RegisterCatalog(const std::string& name, std::shared_ptr<Catalog> catalog);
  void RegisterGlobalDatabase(const std::string& name, std::shared_ptr<Catalog> catalog,
                              std::string database_in_catalog, bool searched);
  void RegisterScalarFunction(const std::string& name, ScalarBinder binder, std::string signature);
  // The functions sessions may call (built-in and registered), as of now.
  std::shared_ptr<const FunctionRegistry> functions() const;
  // An event log this process has open (not owned; must outlive the engine's
  // jobs): 'kubelake-log' tables naming its URI read it instead of opening it again.
  void RegisterLog(const std::string& uri, log::EventLog* log);
  // The log of `uri`: a registered one, or opened now and kept.
  Result<std::shared_ptr<log::EventLog>> OpenLog(const std::string& uri);

  // Streaming jobs: each streaming INSERT runs as a job until stopped.
  std::vector<SqlJobInfo> Jobs() const;
  Status StopJob(const std::string& name);  // commits once more, then stops
  void StopJobs();
  ~SqlEngine();

  // Internal to the sessions.
  struct Shared;
  std::shared_ptr<Shared> shared() const { return shared_; }

 private:
  explicit SqlEngine(EngineOptions options);
  EngineOptions options_;
  std::shared_ptr<Shared> shared_;
};

class SqlSession {
 public:
  ~SqlSession();

  // Runs one statement (a trailing ';' is fine). `params` are the values of $1, $2, ...;
  // `param_types`, where given, their types (as DescribeStatement reported them).
  Result<StatementResult> Execute(std::string_view statement, const std::vector<format::Datum>& params = {},
                                  const std::vector<std::optional<format::DataType>>& param_types = {});
  // Runs a script's statements in order and stops at the first error, which names
  // the line and column in the script. `on_result` sees each statement's result.
  Status ExecuteScript(std::string_view script,
                       const std::function<Status(const ScriptStatement&, const StatementResult&)>& on_result);
  // Runs one statement: a query's rows come as a stream, pulled as they are computed; any other
  // statement runs now and its whole result (rows included) comes back.
  struct Execution {
    std::unique_ptr<ResultStream> stream;  // queries
    StatementResult result;                // other statements
  };
  Result<Execution> Run(std::string_view statement, const std::vector<format::Datum>& params = {},
                        const std::vector<std::optional<format::DataType>>& param_types = {});
  // Plans a query (SELECT, VALUES, WITH, SHOW, DESCRIBE, EXPLAIN) and returns a stream of its rows.
  Result<std::unique_ptr<ResultStream>> Query(std::string_view statement, const std::vector<format::Datum>& params = {},
                                              const std::vector<std::optional<format::DataType>>& param_types = {});
  // The result columns of a query without running it (for a server's Describe).
  Result<format::RowType> Describe(std::string_view statement, const std::vector<format::Datum>& params = {});
  // Describes any statement without running it: whether it returns rows, their columns, and
  // the types of its parameters — `declared` where a client gave them, else inferred from
  // where each $n is used (`x = $1` takes x's type, `LIMIT $1` BIGINT; text when nothing says).
  Result<StatementDescription> DescribeStatement(std::string_view statement,
                                                 const std::vector<std::optional<format::DataType>>& declared = {});

  // SET 'key' = 'value' from code; errors for invalid values of known keys.
  Status Set(const std::string& key, const std::string& value);
  std::optional<std::string> Get(const std::string& key) const;
  const std::map<std::string, std::string>& settings() const { return settings_; }
  const std::string& current_catalog() const { return catalog_; }
  const std::string& current_database() const { return database_; }

  // Stop hooks: a flag checked between batches (set from any thread), a time
  // limit per statement (0 = none) and a cap on rows a query returns (-1 = none).
  void set_cancel_flag(const std::atomic<bool>* flag) { cancel_ = flag; }
  void set_timeout_millis(int64_t ms) { timeout_ms_ = ms; }
  void set_row_limit(int64_t rows) { row_limit_ = rows; }
  // A read-only session refuses statements that write (INSERT, CREATE, DROP, ALTER, CREATE
  // CATALOG) with an error saying so.
  void set_read_only(bool read_only) { read_only_ = read_only; }
  bool read_only() const { return read_only_; }
  // A server's per-session variables and user, readable by functions (not owned; may be null).
  void set_variables(SessionVariables* variables) { variables_ = variables; }
  SessionVariables* variables() const { return variables_; }
  // Streaming INSERTs hand their jobs (opened, not started) to `handler`
  // instead of starting them on the engine: a program that runs jobs itself
  // (the warehouse's runner) collects them. The jobs keep the engine alive.
  void set_job_handler(std::function<Status(std::unique_ptr<pipeline::Job>)> handler) {
    job_handler_ = std::move(handler);
  }
  const std::function<Status(std::unique_ptr<pipeline::Job>)>& job_handler() const { return job_handler_; }

  SqlEngine& engine() { return *engine_; }
  // Executions of queries with parameters that reused the plan of an earlier execution of the
  // same statement, with their own values (sql/planner/plan_cache.h).
  int64_t plans_reused() const;
  // Executions of such reused plans that took a hash join's table of its right input kept
  // from an earlier one, made at the same snapshots of the tables that input reads
  // (ExecContext::kept_results).
  int64_t join_tables_reused() const;

  class Impl;  // internal: name resolution and temporary views

 private:
  friend class SqlEngine;
  explicit SqlSession(std::shared_ptr<SqlEngine> engine);
  Result<std::unique_ptr<ResultStream>> QueryInner(std::string_view statement, const std::vector<format::Datum>& params,
                                                   const std::vector<std::optional<format::DataType>>& param_types);

  std::shared_ptr<SqlEngine> engine_;
  std::unique_ptr<Impl> impl_;
  std::map<std::string, std::string> settings_;
  std::string catalog_, database_;
  const std::atomic<bool>* cancel_ = nullptr;
  int64_t timeout_ms_ = 0;
  int64_t row_limit_ = -1;
  SessionVariables* variables_ = nullptr;
  bool read_only_ = false;
  std::function<Status(std::unique_ptr<pipeline::Job>)> job_handler_;
};

}  // namespace kl::sql
