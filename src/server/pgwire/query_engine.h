// The seam between the PostgreSQL server and the SQL engine. The server owns
// the protocol (messages, auth, sessions, SET/SHOW/BEGIN/COMMIT, formats);
// an engine owns statements: it describes one (parameter types, result
// columns) and runs one (rows pulled in batches, or a command tag). Values
// travel as kubelake's own types (format::DataType, format::Datum); the
// server maps them to PostgreSQL types and formats.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "format/column.h"
#include "format/datum.h"
#include "format/types.h"

namespace kl::server {

// An error as PostgreSQL reports it: SQLSTATE code and message, with
// optional detail, hint and 1-based position in the statement text.
struct SqlError {
  std::string sqlstate;
  std::string message;
  std::string detail;
  std::string hint;
  int position = 0;
};

// Common SQLSTATE codes (PostgreSQL's errcodes).
namespace sqlstate {
inline constexpr char kSuccessfulCompletion[] = "00000";
inline constexpr char kFeatureNotSupported[] = "0A000";
inline constexpr char kInvalidParameterValue[] = "22023";
inline constexpr char kInvalidTextRepresentation[] = "22P02";
inline constexpr char kInvalidBinaryRepresentation[] = "22P03";
inline constexpr char kDataException[] = "22000";
inline constexpr char kInvalidTransactionState[] = "25000";
inline constexpr char kReadOnlySqlTransaction[] = "25006";
inline constexpr char kInFailedSqlTransaction[] = "25P02";
inline constexpr char kInvalidAuthorization[] = "28000";
inline constexpr char kInvalidPassword[] = "28P01";
inline constexpr char kInvalidSqlStatementName[] = "26000";
inline constexpr char kInvalidCursorName[] = "34000";
inline constexpr char kSyntaxError[] = "42601";
inline constexpr char kUndefinedTable[] = "42P01";
inline constexpr char kUndefinedColumn[] = "42703";
inline constexpr char kUndefinedFunction[] = "42883";
inline constexpr char kUndefinedObject[] = "42704";
inline constexpr char kDuplicatePreparedStatement[] = "42P05";
inline constexpr char kDatatypeMismatch[] = "42804";
inline constexpr char kProtocolViolation[] = "08P01";
inline constexpr char kTooManyConnections[] = "53300";
inline constexpr char kProgramLimitExceeded[] = "54000";
inline constexpr char kQueryCanceled[] = "57014";
inline constexpr char kAdminShutdown[] = "57P01";
inline constexpr char kInternalError[] = "XX000";
inline constexpr char kInvalidCatalogName[] = "3D000";
}  // namespace sqlstate

// For engines that report kl::Status: the closest SQLSTATE for its code.
SqlError SqlErrorFromStatus(const Status& status);

// A value or a SqlError.
template <typename T>
class SqlResult {
 public:
  SqlResult(T value) : v_(std::move(value)) {}         // NOLINT: implicit like Result<T>
  SqlResult(SqlError error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const SqlError& error() const { return std::get<1>(v_); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, SqlError> v_;
};

// Limits a running statement: the engine checks Interrupted() between
// batches (and inside long loops) and stops with the error it names.
struct QueryContext {
  int64_t deadline_us = 0;                    // MonotonicMicros(); 0 = no timeout
  const std::atomic<bool>* cancel = nullptr;  // set by a CancelRequest
  // Execute: the types of the parameters' values, as Describe gave them (may be null).
  const std::vector<format::DataType>* parameter_types = nullptr;
  // nullopt while the statement may go on; else why it must stop (57014).
  std::optional<SqlError> Interrupted() const {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      return SqlError{sqlstate::kQueryCanceled, "canceling statement due to user request", "", "", 0};
    }
    if (deadline_us > 0 && MonotonicMicros() > deadline_us) {
      return SqlError{sqlstate::kQueryCanceled, "canceling statement due to statement timeout", "", "", 0};
    }
    return std::nullopt;
  }
};

struct StatementDescription {
  std::vector<format::DataType> parameters;  // types of $1..$n
  bool returns_rows = false;
  format::RowType columns;  // when it returns rows
};

// Rows of a running statement, pulled by the server as it sends them.
class RowStream {
 public:
  virtual ~RowStream() = default;
  // Appends up to `max` rows to `rows`; returns how many (0 = the end).
  virtual SqlResult<size_t> Next(size_t max, std::vector<format::Row>* rows, const QueryContext& context) = 0;
  // Streams whose rows come in column batches may hand over a batch whole instead, and
  // the server encodes values straight from its columns (no row of Datums per row):
  // batched() says a stream does; NextBatch then gives the next batch (false at the end).
  virtual bool batched() const { return false; }
  virtual SqlResult<bool> NextBatch(format::ColumnBatch* batch, const QueryContext& context) { return false; }
};

// Rows already in memory (SHOW, small answers, tests).
class VectorRowStream : public RowStream {
 public:
  explicit VectorRowStream(std::vector<format::Row> rows) : rows_(std::move(rows)) {}
  SqlResult<size_t> Next(size_t max, std::vector<format::Row>* rows, const QueryContext& context) override {
    size_t n = 0;
    while (n < max && at_ < rows_.size()) {
      rows->push_back(std::move(rows_[at_++]));
      ++n;
    }
    return n;
  }

 private:
  std::vector<format::Row> rows_;
  size_t at_ = 0;
};

struct StatementResult {
  bool returns_rows = false;
  format::RowType columns;          // when it returns rows
  std::unique_ptr<RowStream> rows;  // when it returns rows
  std::string command_tag;          // otherwise: "CREATE TABLE", "SET", "USE"…
};

// The server's per-session settings (search_path, application_name, ...), as
// SQL reads and changes them (current_setting, set_config, pg_settings).
class SessionSettings {
 public:
  virtual ~SessionSettings() = default;
  virtual std::optional<std::string> Get(const std::string& name) const = 0;
  virtual SqlResult<std::string> Set(const std::string& name, const std::string& value) = 0;
  // Every setting: (name, value, description).
  virtual std::vector<std::vector<std::string>> All() const = 0;
  // A setting's starting value for this session (what RESET returns to).
  virtual void SetDefault(const std::string& name, const std::string& value) = 0;
};

struct SessionInfo {
  std::string user;
  std::string database;
  std::string application_name;
  SessionSettings* settings = nullptr;  // the connection's; outlives the session
  int32_t backend_pid = 0;
};

// One client connection's view of the engine (its current catalog and
// database, its engine-level settings). Used by one thread at a time.
class QuerySession {
 public:
  virtual ~QuerySession() = default;
  // Without running it: parameter types ($n; `hints` holds the client's
  // declared types, nullopt where undeclared) and result columns.
  virtual SqlResult<StatementDescription> Describe(std::string_view sql,
                                                   const std::vector<std::optional<format::DataType>>& hints) = 0;
  // Runs one statement with its parameter values (typed as Describe said).
  virtual SqlResult<StatementResult> Execute(std::string_view sql, const std::vector<format::Datum>& params,
                                             const QueryContext& context) = 0;
};

class QueryEngine {
 public:
  virtual ~QueryEngine() = default;
  virtual std::unique_ptr<QuerySession> NewSession(const SessionInfo& info) = 0;
  // Databases a client (`user`) may name in its StartupMessage.
  virtual bool HasDatabase(const std::string& name, const std::string& user) const { return true; }
};

}  // namespace kl::server
