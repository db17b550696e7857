// One client connection of the PostgreSQL server, from the first packet to
// Terminate: SSL negotiation, startup and authentication, then the simple
// and extended query protocols, with session commands answered here and
// everything else run by the QueryEngine. It reads and writes through a
// Transport, so tests and the fuzzer drive it from memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "server/pgwire/auth.h"
#include "server/pgwire/protocol.h"
#include "server/pgwire/query_engine.h"
#include "server/pgwire/query_gate.h"
#include "server/pgwire/settings.h"
#include "server/pgwire/statement.h"

namespace kl::server::pg {

class Transport {
 public:
  virtual ~Transport() = default;
  // Reads up to `n` bytes; 0 when the peer closed.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  virtual Status Write(std::string_view data) = 0;
  virtual bool TlsAvailable() const { return false; }
  // Starts TLS as the server (after 'S' was sent).
  virtual Status StartTls() { return Status::NotSupported("TLS is not configured"); }
  virtual bool tls() const { return false; }
  // Startup and authentication are over (a socket lifts its startup read timeout).
  virtual void StartupDone() {}
  virtual bool peer_is_loopback() const = 0;
  virtual std::string peer() const = 0;
};

enum class PasswordMethod { kScramOrMd5, kCleartext };

struct SessionConfig {
  // nullptr: no users file; loopback clients are trusted, others refused.
  const std::map<std::string, UserEntry>* users = nullptr;
  PasswordMethod password_method = PasswordMethod::kScramOrMd5;
  bool require_tls = false;          // refuse clients that do not negotiate TLS (when TLS is configured)
  int64_t max_statement_ms = 60000;  // a statement's longest run (the session may ask less)
  size_t max_rows = 1000000;         // a statement's largest result
  size_t batch_rows = 1024;          // rows pulled from the engine at a time
  QueryGate* gate = nullptr;         // taken turns for query work (none: run at once)
};

// Cancel keys of live sessions (the server's), so a CancelRequest arriving
// on another connection can reach the session it names.
class CancelRegistry {
 public:
  virtual ~CancelRegistry() = default;
  virtual void Register(int32_t pid, int32_t key, std::atomic<bool>* flag) = 0;
  virtual void Unregister(int32_t pid) = 0;
  virtual void Cancel(int32_t pid, int32_t key) = 0;
};

// Counters the server reports on /metrics.
struct PgCounters {
  std::atomic<uint64_t> queries{0};
  std::atomic<uint64_t> query_errors{0};
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> protocol_errors{0};
  std::atomic<uint64_t> rows_sent{0};
};

class Session {
 public:
  Session(Transport* transport, QueryEngine* engine, const SessionConfig& config, CancelRegistry* cancels,
          PgCounters* counters, int32_t pid);
  ~Session();
  // Serves the connection until the client leaves or the connection fails.
  void Run();

 private:
  struct Prepared {
    std::string query;
    SessionCommand command;
    std::vector<uint32_t> declared;  // parameter OIDs from Parse (0 = unspecified)
    StatementDescription description;
  };
  struct Portal {
    std::shared_ptr<Prepared> statement;
    std::vector<format::Datum> params;
    std::vector<int16_t> formats;  // one per result column
    bool started = false;
    StatementResult result;
    std::vector<format::Row> buffered;  // pulled but not yet sent
    size_t buffered_at = 0;
    format::ColumnBatch batch;  // the same, from streams that hand over batches
    size_t batch_at = 0;
    uint64_t sent = 0;
    bool finished = false;
  };
  enum class Outcome { kDone, kSuspended, kError };

  // Startup phase; false when the connection should close.
  bool Startup();
  bool Authenticate();
  Result<std::optional<std::pair<char, std::string>>> ReadMessage();
  Result<std::string> ReadExact(size_t n);
  bool ReadPasswordMessage(std::string* body);

  // Query phase: one frontend message.
  bool Handle(char type, const std::string& body);
  void SimpleQuery(const std::string& sql);
  void HandleParse(const std::string& body);
  void HandleBind(const std::string& body);
  void HandleDescribe(const std::string& body);
  void HandleExecute(const std::string& body);
  void HandleClose(const std::string& body);
  void HandleSync();

  SqlResult<StatementDescription> Describe(const std::string& sql, const SessionCommand& command,
                                           const std::vector<uint32_t>& declared);
  SqlResult<StatementResult> Execute(const std::string& sql, const SessionCommand& command,
                                     const std::vector<format::Datum>& params,
                                     const std::vector<format::DataType>* param_types = nullptr);
  SqlResult<StatementResult> RunSessionCommand(const SessionCommand& command);
  // Sends up to `max_rows` rows of a started portal (0 = all).
  Outcome SendRows(Portal* portal, size_t max_rows);
  Outcome SendBatchRows(Portal* portal, size_t max_rows);  // SendRows of a batched stream
  // Writes one value of a DataRow; on an encoding error ends the row and sends the error (false).
  bool SendValue(const format::Datum& v, const format::DataType& type, bool binary, const sql::TimeZone* zone,
                 std::string* scratch);
  // Ends a DataRow and counts it, flushing when the output is large; false when the flush failed.
  bool EndDataRow(Portal* portal);
  // The row-count limit's error when the portal has sent config_.max_rows; false otherwise.
  bool OverRowLimit(const Portal& portal);
  // COPY ... TO STDOUT of a simple Query: CopyOutResponse, CopyData, CopyDone, "COPY n";
  // false after an error (sent). `chars_before` shifts error positions.
  bool CopyOut(const std::string& sql, int chars_before);
  void SendRowDescription(const format::RowType& columns, const std::vector<int16_t>& formats);
  void SendCommandComplete(const std::string& tag);
  void SendError(const SqlError& error, bool fatal = false);
  void SendNotice(const std::string& message);
  void SendParameterStatus(const std::string& name, const std::string& value);
  void SendReadyForQuery();
  void ExtendedError(const SqlError& error);
  bool Flush();
  QueryContext MakeContext();

  Transport* transport_;
  QueryEngine* engine_;
  SessionConfig config_;
  CancelRegistry* cancels_;
  PgCounters* counters_;
  int32_t pid_;
  int32_t secret_ = 0;
  std::atomic<bool> cancel_{false};
  bool registered_ = false;
  GateTurn turn_;  // held from a query message until the session next reads or writes the socket

  std::string in_;
  size_t in_pos_ = 0;
  MessageWriter out_;
  bool broken_ = false;  // the transport failed: stop

  std::string user_;
  std::string database_;
  std::unique_ptr<Settings> settings_;
  std::unique_ptr<QuerySession> engine_session_;
  char tx_ = 'I';                 // 'I' idle, 'T' in a transaction, 'E' failed transaction
  bool skip_until_sync_ = false;  // after an error in the extended protocol
  std::map<std::string, std::shared_ptr<Prepared>> statements_;
  std::map<std::string, std::unique_ptr<Portal>> portals_;
  std::vector<std::pair<std::string, std::string>> pending_status_;  // ParameterStatus after a SET
};

}  // namespace kl::server::pg
