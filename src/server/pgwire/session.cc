#include "server/pgwire/session.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "common/string_util.h"
#include "server/pgwire/copy.h"
#include "server/pgwire/types.h"

namespace kl::server::pg {
namespace {

using format::DataType;
using format::Datum;

SqlError Protocol(const std::string& message) { return SqlError{sqlstate::kProtocolViolation, message, "", "", 0}; }

SqlError FromStatus(const Status& s, const char* code) { return SqlError{code, s.message(), "", "", 0}; }

constexpr size_t kFlushBytes = 256 << 10;

// Characters (UTF-8 code points) in the first `bytes` bytes of `sql`: error positions count them.
int CharsBefore(std::string_view sql, size_t bytes) {
  int chars = 0;
  for (size_t i = 0; i < bytes && i < sql.size(); ++i) {
    if ((static_cast<unsigned char>(sql[i]) & 0xC0) != 0x80) ++chars;
  }
  return chars;
}

}  // namespace

SqlError SqlErrorFromStatus(const Status& s) {
  const char* code = sqlstate::kInternalError;
  switch (s.code()) {
    case StatusCode::kOk: code = sqlstate::kSuccessfulCompletion; break;
    case StatusCode::kInvalidArgument: code = sqlstate::kSyntaxError; break;
    case StatusCode::kNotFound: code = sqlstate::kUndefinedTable; break;
    case StatusCode::kAlreadyExists: code = "42P07"; break;
    case StatusCode::kNotSupported: code = sqlstate::kFeatureNotSupported; break;
    case StatusCode::kCorruption: code = "XX001"; break;
    case StatusCode::kIOError: code = "58030"; break;
    case StatusCode::kConflict: code = "40001"; break;
    case StatusCode::kUnavailable: code = "08006"; break;
    case StatusCode::kExpired: code = "22000"; break;
    case StatusCode::kAborted: code = sqlstate::kQueryCanceled; break;
    case StatusCode::kInternal: code = sqlstate::kInternalError; break;
  }
  return SqlError{code, s.message(), "", "", 0};
}

Session::Session(Transport* transport, QueryEngine* engine, const SessionConfig& config, CancelRegistry* cancels,
                 PgCounters* counters, int32_t pid)
    : transport_(transport),
      engine_(engine),
      config_(config),
      cancels_(cancels),
      counters_(counters),
      pid_(pid),
      turn_(config.gate) {
  std::string key = RandomBytes(4);
  std::memcpy(&secret_, key.data(), 4);
}

Session::~Session() {
  if (registered_ && cancels_ != nullptr) cancels_->Unregister(pid_);
}

// ---- reading ----

Result<std::string> Session::ReadExact(size_t n) {
  while (in_.size() - in_pos_ < n) {
    if (in_pos_ > 0 && in_pos_ == in_.size()) {
      in_.clear();
      in_pos_ = 0;
    }
    size_t want = std::max<size_t>(64 << 10, n - (in_.size() - in_pos_));
    size_t old = in_.size();
    in_.resize(old + want);
    turn_.Leave();  // never wait for the client in a turn
    auto got = transport_->Read(in_.data() + old, want);
    if (!got.ok()) {
      in_.resize(old);
      return got.status();
    }
    in_.resize(old + *got);
    if (*got == 0) return Status::Aborted("the client closed the connection");
  }
  std::string out = in_.substr(in_pos_, n);
  in_pos_ += n;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
  return out;
}

Result<std::optional<std::pair<char, std::string>>> Session::ReadMessage() {
  auto header = ReadExact(5);
  if (!header.ok()) {
    if (header.status().code() == StatusCode::kAborted) return std::optional<std::pair<char, std::string>>();
    return header.status();
  }
  char type = (*header)[0];
  MessageReader r(std::string_view(*header).substr(1));
  KL_ASSIGN_OR_RETURN(int32_t len, r.Int32());
  if (len < 4) return Status::InvalidArgument("invalid message length " + std::to_string(len));
  if (static_cast<size_t>(len) - 4 > kMaxMessageBytes) {
    return Status::InvalidArgument("message of " + std::to_string(len) +
                                   " bytes is larger than the server's limit of " + std::to_string(kMaxMessageBytes));
  }
  KL_ASSIGN_OR_RETURN(std::string body, ReadExact(static_cast<size_t>(len) - 4));
  return std::optional<std::pair<char, std::string>>(std::make_pair(type, std::move(body)));
}

bool Session::ReadPasswordMessage(std::string* body) {
  if (!Flush()) return false;
  auto m = ReadMessage();
  if (!m.ok() || !m->has_value()) return false;
  if ((*m)->first != 'p') {
    SendError(Protocol("expected a password response, got message type " + std::string(1, (*m)->first)), true);
    return false;
  }
  *body = std::move((*m)->second);
  return true;
}

// ---- writing ----

bool Session::Flush() {
  if (broken_) return false;
  if (out_.size() == 0) return true;
  turn_.Leave();  // a write may wait for the client
  Status s = transport_->Write(out_.buffer());
  out_.buffer().clear();
  if (!s.ok()) {
    broken_ = true;
    return false;
  }
  return true;
}

void Session::SendError(const SqlError& e, bool fatal) {
  out_.Begin('E');
  const char* severity = fatal ? "FATAL" : "ERROR";
  out_.Byte('S');
  out_.CString(severity);
  out_.Byte('V');
  out_.CString(severity);
  out_.Byte('C');
  out_.CString(e.sqlstate.size() == 5 ? e.sqlstate : sqlstate::kInternalError);
  out_.Byte('M');
  out_.CString(e.message);
  if (!e.detail.empty()) {
    out_.Byte('D');
    out_.CString(e.detail);
  }
  if (!e.hint.empty()) {
    out_.Byte('H');
    out_.CString(e.hint);
  }
  if (e.position > 0) {
    out_.Byte('P');
    out_.CString(std::to_string(e.position));
  }
  out_.Byte(0);
  out_.End();
}

void Session::SendNotice(const std::string& message) {
  out_.Begin('N');
  out_.Byte('S');
  out_.CString("WARNING");
  out_.Byte('V');
  out_.CString("WARNING");
  out_.Byte('C');
  out_.CString("25001");
  out_.Byte('M');
  out_.CString(message);
  out_.Byte(0);
  out_.End();
}

void Session::SendParameterStatus(const std::string& name, const std::string& value) {
  out_.Begin('S');
  out_.CString(name);
  out_.CString(value);
  out_.End();
}

void Session::SendReadyForQuery() {
  out_.Begin('Z');
  out_.Byte(static_cast<uint8_t>(tx_));
  out_.End();
}

void Session::SendCommandComplete(const std::string& tag) {
  out_.Begin('C');
  out_.CString(tag);
  out_.End();
}

void Session::SendRowDescription(const format::RowType& columns, const std::vector<int16_t>& formats) {
  out_.Begin('T');
  out_.Int16(static_cast<int16_t>(columns.size()));
  for (size_t i = 0; i < columns.size(); ++i) {
    PgType t = PgTypeOf(columns.type(i));
    out_.CString(columns.field(i).name);
    out_.Int32(0);  // table OID
    out_.Int16(0);  // column number
    out_.Int32(static_cast<int32_t>(t.oid));
    out_.Int16(t.size);
    out_.Int32(t.typmod);
    out_.Int16(i < formats.size() ? formats[i] : 0);
  }
  out_.End();
}

// ---- startup ----

bool Session::Startup() {
  bool negotiated_tls = false;
  while (true) {
    auto len_bytes = ReadExact(4);
    if (!len_bytes.ok()) return false;
    MessageReader lr(*len_bytes);
    int32_t len = *lr.Int32();
    if (len < 8 || static_cast<size_t>(len) > kMaxStartupBytes) {
      counters_->protocol_errors++;
      SendError(Protocol("invalid length of startup packet: " + std::to_string(len)), true);
      return false;
    }
    auto body = ReadExact(static_cast<size_t>(len) - 4);
    if (!body.ok()) return false;
    auto packet = ParseStartupPacket(*body);
    if (!packet.ok()) {
      counters_->protocol_errors++;
      SendError(FromStatus(packet.status(), packet.status().code() == StatusCode::kNotSupported
                                                ? sqlstate::kFeatureNotSupported
                                                : sqlstate::kProtocolViolation),
                true);
      return false;
    }
    using Kind = StartupPacket::Kind;
    if (packet->kind == Kind::kSslRequest) {
      if (negotiated_tls || transport_->tls()) {
        SendError(Protocol("SSLRequest after TLS was negotiated"), true);
        return false;
      }
      negotiated_tls = true;
      if (transport_->TlsAvailable()) {
        if (!transport_->Write("S").ok()) return false;
        Status s = transport_->StartTls();
        if (!s.ok()) {
          spdlog::debug("pg: TLS handshake with {} failed: {}", transport_->peer(), s.ToString());
          return false;
        }
      } else if (!transport_->Write("N").ok()) {
        return false;
      }
      continue;
    }
    if (packet->kind == Kind::kGssEncRequest) {
      if (!transport_->Write("N").ok()) return false;
      continue;
    }
    if (packet->kind == Kind::kCancel) {
      if (cancels_ != nullptr) cancels_->Cancel(packet->cancel_pid, packet->cancel_key);
      return false;  // a cancel connection gets no answer
    }
    // StartupMessage.
    std::vector<std::string> unknown_protocol_options;
    std::map<std::string, std::string> params;
    for (const auto& [k, v] : packet->parameters) {
      if (k.rfind("_pq_.", 0) == 0) {
        unknown_protocol_options.push_back(k);
      } else {
        params[k] = v;
      }
    }
    if ((packet->protocol & 0xffff) != 0 || !unknown_protocol_options.empty()) {
      out_.Begin('v');
      out_.Int32(kProtocolVersion3);
      out_.Int32(static_cast<int32_t>(unknown_protocol_options.size()));
      for (const auto& o : unknown_protocol_options) out_.CString(o);
      out_.End();
    }
    if (config_.require_tls && !transport_->tls()) {
      SendError({sqlstate::kInvalidAuthorization, "this server accepts only TLS connections", "",
                 "Connect with sslmode=require.", 0},
                true);
      return false;
    }
    user_ = params["user"];
    if (user_.empty()) {
      SendError({sqlstate::kInvalidAuthorization, "no PostgreSQL user name specified in startup packet", "", "", 0},
                true);
      return false;
    }
    database_ = params.count("database") != 0 && !params["database"].empty() ? params["database"] : user_;
    if (params.count("replication") != 0 && params["replication"] != "false" && params["replication"] != "0") {
      SendError({sqlstate::kFeatureNotSupported, "kubelake does not support replication connections", "", "", 0}, true);
      return false;
    }
    if (!Authenticate()) return false;
    if (engine_ != nullptr && !engine_->HasDatabase(database_, user_)) {
      SendError({sqlstate::kInvalidCatalogName, "database \"" + database_ + "\" does not exist", "", "", 0}, true);
      return false;
    }
    settings_ = std::make_unique<Settings>(user_);
    // Settings from the packet, and "-c name=value" / "--name=value" in options.
    std::vector<std::pair<std::string, std::string>> to_set;
    for (const auto& [k, v] : params) {
      if (k == "user" || k == "database" || k == "options" || k == "replication") continue;
      to_set.emplace_back(ToLower(k), v);
    }
    if (params.count("options") != 0) {
      auto words = Split(params["options"], ' ', true);
      for (size_t i = 0; i < words.size(); ++i) {
        std::string w = words[i];
        if (w == "-c" && i + 1 < words.size())
          w = words[++i];
        else if (w.rfind("-c", 0) == 0)
          w = w.substr(2);
        else if (w.rfind("--", 0) == 0)
          w = w.substr(2);
        size_t eq = w.find('=');
        if (eq == std::string::npos) continue;
        std::string name = ToLower(w.substr(0, eq));
        for (char& c : name) {
          if (c == '-') c = '_';
        }
        to_set.emplace_back(name, w.substr(eq + 1));
      }
    }
    for (const auto& [name, value] : to_set) {
      if (!IsKnownSetting(name)) continue;  // unknown startup parameters are ignored
      auto set = settings_->Set(name, value);
      if (!set.ok()) {
        SendError(set.error(), true);
        return false;
      }
      // As PostgreSQL: what the client asked for at the start is what RESET and DEFAULT return to.
      settings_->SetDefault(name, *set);
    }
    if (engine_ != nullptr) {
      SessionInfo info{user_, database_, settings_->Get("application_name").value_or(""), settings_.get(), pid_};
      engine_session_ = engine_->NewSession(info);
      if (engine_session_ == nullptr) {
        SendError({sqlstate::kInvalidCatalogName, "database \"" + database_ + "\" does not exist", "", "", 0}, true);
        return false;
      }
    }
    out_.Begin('R');
    out_.Int32(0);  // AuthenticationOk
    out_.End();
    for (const auto& [name, value] : settings_->Reported()) SendParameterStatus(name, value);
    out_.Begin('K');
    out_.Int32(pid_);
    out_.Int32(secret_);
    out_.End();
    if (cancels_ != nullptr) {
      cancels_->Register(pid_, secret_, &cancel_);
      registered_ = true;
    }
    SendReadyForQuery();
    transport_->StartupDone();
    return Flush();
  }
}

bool Session::Authenticate() {
  if (config_.users == nullptr) {
    if (transport_->peer_is_loopback()) return true;  // trust on loopback
    counters_->auth_failures++;
    SendError({sqlstate::kInvalidAuthorization,
               "connection from " + transport_->peer() +
                   " refused: without a users file (--pg-users) only "
                   "loopback connections are accepted",
               "", "", 0},
              true);
    return false;
  }
  auto it = config_.users->find(user_);
  const UserEntry* entry = it == config_.users->end() ? nullptr : &it->second;
  auto fail = [&] {
    counters_->auth_failures++;
    SendError({sqlstate::kInvalidPassword, "password authentication failed for user \"" + user_ + "\"", "", "", 0},
              true);
    return false;
  };
  std::string body;
  if (config_.password_method == PasswordMethod::kCleartext) {
    out_.Begin('R');
    out_.Int32(3);
    out_.End();
    if (!ReadPasswordMessage(&body)) return false;
    MessageReader r(body);
    auto password = r.CString();
    if (!password.ok() || entry == nullptr || !CheckCleartext(*entry, *password)) return fail();
    return true;
  }
  if (entry != nullptr && !entry->scram && entry->md5) {
    std::string salt = RandomBytes(4);
    out_.Begin('R');
    out_.Int32(5);
    out_.Bytes(salt);
    out_.End();
    if (!ReadPasswordMessage(&body)) return false;
    MessageReader r(body);
    auto response = r.CString();
    if (!response.ok() || !CheckMd5Response(*entry, salt, *response)) return fail();
    return true;
  }
  // SCRAM-SHA-256; an unknown user goes through the exchange and fails at its end.
  out_.Begin('R');
  out_.Int32(10);
  out_.CString("SCRAM-SHA-256");
  out_.Byte(0);
  out_.End();
  if (!ReadPasswordMessage(&body)) return false;
  auto initial = ParseSaslInitial(body);
  if (!initial.ok() || initial->mechanism != "SCRAM-SHA-256") {
    counters_->auth_failures++;
    SendError(Protocol(initial.ok() ? "client selected an invalid SASL authentication mechanism"
                                    : initial.status().message()),
              true);
    return false;
  }
  ScramVerifier verifier;
  if (entry != nullptr && entry->scram) {
    verifier = *entry->scram;
  } else {
    verifier.iterations = 4096;  // a made-up verifier: the exchange runs and fails like a wrong password
    verifier.salt = RandomBytes(16);
    verifier.stored_key = RandomBytes(32);
    verifier.server_key = RandomBytes(32);
  }
  ScramExchange scram(verifier);
  auto server_first = scram.First(initial->data);
  if (!server_first.ok()) {
    counters_->auth_failures++;
    SendError(Protocol(server_first.status().message()), true);
    return false;
  }
  out_.Begin('R');
  out_.Int32(11);
  out_.Bytes(*server_first);
  out_.End();
  if (!ReadPasswordMessage(&body)) return false;
  auto server_final = scram.Final(body);
  if (!server_final.ok() || entry == nullptr) return fail();
  out_.Begin('R');
  out_.Int32(12);
  out_.Bytes(*server_final);
  out_.End();
  return true;
}

// ---- query phase ----

void Session::Run() {
  if (!Startup()) {
    Flush();
    return;
  }
  while (!broken_) {
    auto m = ReadMessage();
    if (!m.ok()) {
      // The framing is lost (bad length): say why, then close.
      counters_->protocol_errors++;
      SendError(Protocol(m.status().message()), true);
      Flush();
      return;
    }
    if (!m->has_value()) return;  // the client went away
    if (!Handle((*m)->first, (*m)->second)) break;
  }
  Flush();
}

bool Session::Handle(char type, const std::string& body) {
  if (skip_until_sync_ && type != 'S' && type != 'X') return true;
  if (type == 'Q' || type == 'P' || type == 'B' || type == 'D' || type == 'E') turn_.Enter();
  switch (type) {
    case 'Q': {
      auto sql = ParseQuery(body);
      if (!sql.ok()) {
        counters_->protocol_errors++;
        SendError(Protocol(sql.status().message()));
      } else {
        SimpleQuery(*sql);
      }
      SendReadyForQuery();
      return Flush();
    }
    case 'P': HandleParse(body); return !broken_;
    case 'B': HandleBind(body); return !broken_;
    case 'D': HandleDescribe(body); return !broken_;
    case 'E': HandleExecute(body); return !broken_;
    case 'C': HandleClose(body); return !broken_;
    case 'H': return Flush();
    case 'S': HandleSync(); return Flush();
    case 'X': return false;
    case 'd':
    case 'c':
    case 'f': return true;  // COPY messages outside COPY are ignored, as PostgreSQL does
    case 'F':
      SendError({sqlstate::kFeatureNotSupported, "the function call protocol is not supported", "", "", 0});
      SendReadyForQuery();
      return Flush();
    default:
      counters_->protocol_errors++;
      SendError(Protocol("invalid frontend message type " + std::to_string(static_cast<unsigned char>(type))));
      SendReadyForQuery();
      return Flush();
  }
}

QueryContext Session::MakeContext() {
  int64_t ms = config_.max_statement_ms;
  int64_t session = settings_->statement_timeout_ms();
  if (session > 0 && (ms <= 0 || session < ms)) ms = session;
  QueryContext ctx;
  ctx.deadline_us = ms > 0 ? MonotonicMicros() + ms * 1000 : 0;
  ctx.cancel = &cancel_;
  return ctx;
}

SqlResult<StatementResult> Session::RunSessionCommand(const SessionCommand& cmd) {
  using Kind = SessionCommand::Kind;
  StatementResult r;
  switch (cmd.kind) {
    case Kind::kBegin:
      if (tx_ != 'I') SendNotice("there is already a transaction in progress");
      if (tx_ == 'I') tx_ = 'T';
      r.command_tag = "BEGIN";
      return r;
    case Kind::kCommit:
      if (tx_ == 'I') SendNotice("there is no transaction in progress");
      r.command_tag = tx_ == 'E' ? "ROLLBACK" : "COMMIT";
      tx_ = 'I';
      return r;
    case Kind::kRollback:
      if (tx_ == 'I') SendNotice("there is no transaction in progress");
      r.command_tag = "ROLLBACK";
      tx_ = 'I';
      return r;
    case Kind::kSetNoop: r.command_tag = "SET"; return r;
    case Kind::kSet: {
      auto set = settings_->Set(cmd.name, cmd.value);
      if (!set.ok()) return set.error();
      r.command_tag = "SET";
      return r;
    }
    case Kind::kReset:
      if (cmd.name == "all") {
        settings_->ResetAll();
      } else {
        settings_->Reset(cmd.name);
      }
      r.command_tag = "RESET";
      return r;
    case Kind::kShow: {
      r.returns_rows = true;
      std::vector<format::Row> rows;
      if (cmd.name == "all") {
        r.columns = format::RowType({{0, "name", DataType::String(), ""},
                                     {1, "setting", DataType::String(), ""},
                                     {2, "description", DataType::String(), ""}});
        for (auto& s : settings_->All()) {
          rows.push_back({Datum::Bytes(s[0]), Datum::Bytes(s[1]), Datum::Bytes(s[2])});
        }
      } else {
        std::string display = Settings::ReportedName(cmd.name);
        r.columns = format::RowType({{0, display.empty() ? cmd.name : display, DataType::String(), ""}});
        rows.push_back({Datum::Bytes(settings_->Get(cmd.name).value_or(""))});
      }
      r.rows = std::make_unique<VectorRowStream>(std::move(rows));
      r.command_tag = "SHOW";
      return r;
    }
    case Kind::kDiscardAll:
      if (tx_ != 'I') {
        return SqlError{"25001", "DISCARD ALL cannot run inside a transaction block", "", "", 0};
      }
      settings_->ResetAll();
      statements_.clear();
      r.command_tag = "DISCARD ALL";
      return r;
    case Kind::kDeallocate:
      if (cmd.name == "all") {
        statements_.clear();
        r.command_tag = "DEALLOCATE ALL";
        return r;
      }
      if (statements_.erase(cmd.name) == 0) {
        return SqlError{sqlstate::kInvalidSqlStatementName, "prepared statement \"" + cmd.name + "\" does not exist",
                        "", "", 0};
      }
      r.command_tag = "DEALLOCATE";
      return r;
    case Kind::kCopy:
      return SqlError{sqlstate::kFeatureNotSupported,
                      "COPY runs in a simple Query message (psql's \\copy, psycopg's cursor.copy), not through "
                      "Parse/Bind/Execute",
                      "", "", 0};
    case Kind::kEngine: break;
  }
  return SqlError{sqlstate::kInternalError, "not a session command", "", "", 0};
}

SqlResult<StatementResult> Session::Execute(const std::string& sql, const SessionCommand& cmd,
                                            const std::vector<Datum>& params,
                                            const std::vector<DataType>* param_types) {
  if (cmd.kind != SessionCommand::Kind::kEngine) {
    // Reported settings go to the client again after a change.
    std::vector<std::pair<std::string, std::string>> before = settings_->Reported();
    auto r = RunSessionCommand(cmd);
    if (r.ok()) {
      std::vector<std::pair<std::string, std::string>> after = settings_->Reported();
      pending_status_.clear();
      for (size_t i = 0; i < after.size(); ++i) {
        if (i >= before.size() || before[i].second != after[i].second) pending_status_.push_back(after[i]);
      }
    }
    return r;
  }
  if (engine_session_ == nullptr) {
    return SqlError{sqlstate::kFeatureNotSupported,
                    "this server has no SQL engine: it answers only SET, SHOW, RESET, BEGIN, COMMIT and ROLLBACK", "",
                    "", 0};
  }
  // Functions may change reported settings too (set_config): they go to the client again.
  std::vector<std::pair<std::string, std::string>> before = settings_->Reported();
  QueryContext context = MakeContext();
  context.parameter_types = param_types;
  auto r = engine_session_->Execute(sql, params, context);
  std::vector<std::pair<std::string, std::string>> after = settings_->Reported();
  pending_status_.clear();
  for (size_t i = 0; i < after.size(); ++i) {
    if (i >= before.size() || before[i].second != after[i].second) pending_status_.push_back(after[i]);
  }
  return r;
}

SqlResult<StatementDescription> Session::Describe(const std::string& sql, const SessionCommand& cmd,
                                                  const std::vector<uint32_t>& declared) {
  StatementDescription d;
  if (cmd.kind != SessionCommand::Kind::kEngine) {
    if (cmd.kind == SessionCommand::Kind::kShow) {
      d.returns_rows = true;
      if (cmd.name == "all") {
        d.columns = format::RowType({{0, "name", DataType::String(), ""},
                                     {1, "setting", DataType::String(), ""},
                                     {2, "description", DataType::String(), ""}});
      } else {
        std::string display = Settings::ReportedName(cmd.name);
        d.columns = format::RowType({{0, display.empty() ? cmd.name : display, DataType::String(), ""}});
      }
    }
    for (uint32_t o : declared) d.parameters.push_back(DataTypeOfOid(o).value_or(DataType::String()));
    return d;
  }
  if (engine_session_ == nullptr) {
    return SqlError{sqlstate::kFeatureNotSupported,
                    "this server has no SQL engine: it answers only SET, SHOW, RESET, BEGIN, COMMIT and ROLLBACK", "",
                    "", 0};
  }
  std::vector<std::optional<DataType>> hints;
  for (uint32_t o : declared) hints.push_back(o == 0 ? std::nullopt : DataTypeOfOid(o));
  return engine_session_->Describe(sql, hints);
}

bool Session::OverRowLimit(const Portal& p) {
  if (p.sent < config_.max_rows) return false;
  ExtendedError(
      {sqlstate::kProgramLimitExceeded,
       "the result has more than " + std::to_string(config_.max_rows) + " rows, the server's limit for one statement",
       "", "Add a LIMIT, or ask for fewer rows.", 0});
  return true;
}

Session::Outcome Session::SendBatchRows(Portal* p, size_t max_rows) {
  QueryContext ctx = MakeContext();
  size_t sent_now = 0;
  const format::RowType& columns = p->result.columns;
  size_t width = columns.size();
  std::string value;
  char digits[24];
  std::shared_ptr<const sql::TimeZone> zone = settings_->time_zone();
  while (true) {
    if (p->batch_at >= p->batch.num_rows()) {
      p->batch_at = 0;
      if (auto stop = ctx.Interrupted()) {
        ExtendedError(*stop);
        return Outcome::kError;
      }
      auto more = p->result.rows->NextBatch(&p->batch, ctx);
      if (!more.ok()) {
        ExtendedError(more.error());
        return Outcome::kError;
      }
      if (!*more) {
        p->batch = format::ColumnBatch();
        p->finished = true;
        return Outcome::kDone;
      }
      if (p->batch.num_columns() != width) {
        ExtendedError({sqlstate::kInternalError,
                       "the engine returned a row of " + std::to_string(p->batch.num_columns()) + " values for " +
                           std::to_string(width) + " columns",
                       "", "", 0});
        return Outcome::kError;
      }
      continue;
    }
    if (max_rows > 0 && sent_now == max_rows) return Outcome::kSuspended;
    if (OverRowLimit(*p)) return Outcome::kError;
    size_t row = p->batch_at++;
    out_.Begin('D');
    out_.Int16(static_cast<int16_t>(width));
    for (size_t i = 0; i < width; ++i) {
      const format::Column& column = p->batch.column(i);
      if (column.IsNull(row)) {
        out_.Int32(-1);
        continue;
      }
      bool binary = p->formats.size() > i && p->formats[i] == 1;
      if (!binary) {
        if (std::optional<std::string_view> text = PlainTextOf(column, row, columns.type(i), digits)) {
          out_.Int32(static_cast<int32_t>(text->size()));
          out_.Bytes(*text);
          continue;
        }
      }
      if (!SendValue(column.Get(row), columns.type(i), binary, zone.get(), &value)) return Outcome::kError;
    }
    ++sent_now;
    if (!EndDataRow(p)) return Outcome::kError;
  }
}

Session::Outcome Session::SendRows(Portal* p, size_t max_rows) {
  if (p->result.rows && p->result.rows->batched()) return SendBatchRows(p, max_rows);
  QueryContext ctx = MakeContext();
  size_t sent_now = 0;
  size_t width = p->result.columns.size();
  std::string value;
  std::shared_ptr<const sql::TimeZone> zone = settings_->time_zone();
  while (true) {
    if (p->buffered_at == p->buffered.size()) {
      p->buffered.clear();
      p->buffered_at = 0;
      if (auto stop = ctx.Interrupted()) {
        ExtendedError(*stop);
        return Outcome::kError;
      }
      auto n = p->result.rows->Next(config_.batch_rows, &p->buffered, ctx);
      if (!n.ok()) {
        ExtendedError(n.error());
        return Outcome::kError;
      }
      if (*n == 0) {
        p->finished = true;
        return Outcome::kDone;
      }
    }
    if (max_rows > 0 && sent_now == max_rows) return Outcome::kSuspended;
    const format::Row& row = p->buffered[p->buffered_at++];
    if (OverRowLimit(*p)) return Outcome::kError;
    if (row.size() != width) {
      ExtendedError({sqlstate::kInternalError,
                     "the engine returned a row of " + std::to_string(row.size()) + " values for " +
                         std::to_string(width) + " columns",
                     "", "", 0});
      return Outcome::kError;
    }
    out_.Begin('D');
    out_.Int16(static_cast<int16_t>(width));
    for (size_t i = 0; i < width; ++i) {
      if (row[i].is_null()) {
        out_.Int32(-1);
        continue;
      }
      bool binary = p->formats.size() > i && p->formats[i] == 1;
      if (!SendValue(row[i], p->result.columns.type(i), binary, zone.get(), &value)) return Outcome::kError;
    }
    ++sent_now;
    if (!EndDataRow(p)) return Outcome::kError;
  }
}

bool Session::SendValue(const format::Datum& v, const format::DataType& type, bool binary, const sql::TimeZone* zone,
                        std::string* scratch) {
  scratch->clear();
  Status s = EncodeValue(v, type, binary, scratch, zone);
  if (!s.ok()) {
    out_.End();
    ExtendedError(FromStatus(s, sqlstate::kFeatureNotSupported));
    return false;
  }
  out_.Int32(static_cast<int32_t>(scratch->size()));
  out_.Bytes(*scratch);
  return true;
}

bool Session::EndDataRow(Portal* p) {
  out_.End();
  ++p->sent;
  counters_->rows_sent++;
  return out_.size() < kFlushBytes || Flush();
}

bool Session::CopyOut(const std::string& sql, int chars_before) {
  CopyParse parsed = ParseCopy(sql);
  if (!parsed.ok()) {
    ExtendedError({parsed.sqlstate, parsed.message, "", "", 0});
    skip_until_sync_ = false;
    return false;
  }
  const CopyCommand& copy = parsed.command;
  auto r = Execute(copy.query, SessionCommand{}, {});
  if (!r.ok() || !r->returns_rows) {
    SqlError error = r.ok()
                         ? SqlError{sqlstate::kSyntaxError, "COPY (query) needs a query that returns rows", "", "", 0}
                         : r.error();
    // Positions point into the query as the user wrote it inside the COPY.
    size_t in_copy = sql.find(copy.query);
    if (error.position > 0 && in_copy != std::string::npos) {
      error.position += chars_before + CharsBefore(sql, in_copy);
    } else {
      error.position = 0;
    }
    ExtendedError(error);
    skip_until_sync_ = false;
    return false;
  }
  auto encoder = CopyEncoder::Make(copy, r->columns);
  std::shared_ptr<const sql::TimeZone> zone = settings_->time_zone();
  if (!encoder.ok()) {
    ExtendedError(encoder.error());
    skip_until_sync_ = false;
    return false;
  }
  int16_t format = static_cast<int16_t>(encoder->format_code());
  out_.Begin('H');  // CopyOutResponse
  out_.Byte(static_cast<uint8_t>(format));
  out_.Int16(static_cast<int16_t>(r->columns.size()));
  for (size_t i = 0; i < r->columns.size(); ++i) out_.Int16(format);
  out_.End();
  // The binary signature travels in the first row's CopyData (or the trailer's), as
  // PostgreSQL sends it and psycopg expects; a header line is a CopyData of its own.
  std::string piece, pending = encoder->Start();
  if (encoder->format_code() == 0 && !pending.empty()) {
    out_.Begin('d');
    out_.Bytes(pending);
    out_.End();
    pending.clear();
  }
  QueryContext ctx = MakeContext();
  std::vector<format::Row> batch;
  uint64_t sent = 0;
  auto fail = [&](const SqlError& error) {
    ExtendedError(error);
    skip_until_sync_ = false;
    return false;
  };
  while (true) {
    if (auto stop = ctx.Interrupted()) return fail(*stop);
    batch.clear();
    auto n = r->rows->Next(config_.batch_rows, &batch, ctx);
    if (!n.ok()) return fail(n.error());
    if (*n == 0) break;
    for (const format::Row& row : batch) {
      if (sent >= config_.max_rows) {
        return fail({sqlstate::kProgramLimitExceeded,
                     "the COPY has more than " + std::to_string(config_.max_rows) +
                         " rows, the server's limit for one statement",
                     "", "Add a WHERE or LIMIT to the COPY's query.", 0});
      }
      piece.swap(pending);
      pending.clear();
      Status s = encoder->AppendRow(row, &piece, zone.get());
      if (!s.ok()) return fail(FromStatus(s, sqlstate::kInternalError));
      out_.Begin('d');
      out_.Bytes(piece);
      out_.End();
      ++sent;
      counters_->rows_sent++;
      if (out_.size() >= kFlushBytes && !Flush()) return false;
    }
  }
  piece = pending + encoder->Finish();
  if (!piece.empty()) {
    out_.Begin('d');
    out_.Bytes(piece);
    out_.End();
  }
  out_.Begin('c');  // CopyDone
  out_.End();
  SendCommandComplete("COPY " + std::to_string(sent));
  return true;
}

void Session::ExtendedError(const SqlError& error) {
  counters_->query_errors++;
  SendError(error);
  skip_until_sync_ = true;
  if (tx_ == 'T') tx_ = 'E';
}

void Session::SimpleQuery(const std::string& sql) {
  counters_->queries++;
  std::vector<std::string> statements = SplitStatements(sql);
  if (statements.empty()) {
    out_.Begin('I');  // EmptyQueryResponse
    out_.End();
    return;
  }
  size_t search_from = 0;
  for (const std::string& statement : statements) {
    // Where the statement starts in the query string: error positions count from there.
    size_t offset = sql.find(statement, search_from);
    if (offset == std::string::npos) offset = search_from;
    search_from = offset + statement.size();
    int chars_before = CharsBefore(sql, offset);
    SessionCommand cmd = ClassifyStatement(statement, &IsKnownSetting);
    bool ends_tx = cmd.kind == SessionCommand::Kind::kCommit || cmd.kind == SessionCommand::Kind::kRollback;
    if (tx_ == 'E' && !ends_tx) {
      counters_->query_errors++;
      SendError({sqlstate::kInFailedSqlTransaction,
                 "current transaction is aborted, commands ignored until end of transaction block", "", "", 0});
      return;
    }
    cancel_ = false;
    if (cmd.kind == SessionCommand::Kind::kCopy) {
      if (!CopyOut(statement, chars_before)) return;
      continue;
    }
    auto r = Execute(statement, cmd, {});
    if (!r.ok()) {
      SqlError error = r.error();
      if (error.position > 0) error.position += chars_before;
      ExtendedError(error);
      skip_until_sync_ = false;
      return;
    }
    if (r->returns_rows) {
      Portal portal;
      portal.result = std::move(r.value());
      portal.formats.assign(portal.result.columns.size(), 0);
      SendRowDescription(portal.result.columns, portal.formats);
      Outcome o = SendRows(&portal, 0);
      skip_until_sync_ = false;
      if (o == Outcome::kError) return;
      SendCommandComplete(portal.result.command_tag == "SHOW" ? "SHOW" : "SELECT " + std::to_string(portal.sent));
    } else {
      SendCommandComplete(r->command_tag);
      for (const auto& [name, value] : pending_status_) SendParameterStatus(name, value);
      pending_status_.clear();
    }
  }
}

void Session::HandleParse(const std::string& body) {
  auto m = ParseParse(body);
  if (!m.ok()) {
    counters_->protocol_errors++;
    return ExtendedError(Protocol(m.status().message()));
  }
  if (!m->statement.empty() && statements_.count(m->statement) != 0) {
    return ExtendedError({sqlstate::kDuplicatePreparedStatement,
                          "prepared statement \"" + m->statement + "\" already exists", "", "", 0});
  }
  std::vector<std::string> parts = SplitStatements(m->query);
  if (parts.size() > 1) {
    return ExtendedError(
        {sqlstate::kSyntaxError, "cannot insert multiple commands into a prepared statement", "", "", 0});
  }
  auto prepared = std::make_shared<Prepared>();
  prepared->query = parts.empty() ? "" : parts[0];
  prepared->declared = m->param_types;
  prepared->command = ClassifyStatement(prepared->query, &IsKnownSetting);
  bool ends_tx = prepared->command.kind == SessionCommand::Kind::kCommit ||
                 prepared->command.kind == SessionCommand::Kind::kRollback;
  if (tx_ == 'E' && !ends_tx) {
    return ExtendedError({sqlstate::kInFailedSqlTransaction,
                          "current transaction is aborted, commands ignored until end of transaction block", "", "",
                          0});
  }
  if (!prepared->query.empty()) {
    auto d = Describe(prepared->query, prepared->command, prepared->declared);
    if (!d.ok()) return ExtendedError(d.error());
    prepared->description = std::move(d.value());
  }
  statements_[m->statement] = prepared;
  out_.Begin('1');
  out_.End();
}

void Session::HandleBind(const std::string& body) {
  auto m = ParseBind(body);
  if (!m.ok()) {
    counters_->protocol_errors++;
    return ExtendedError(Protocol(m.status().message()));
  }
  auto st = statements_.find(m->statement);
  if (st == statements_.end()) {
    return ExtendedError({sqlstate::kInvalidSqlStatementName,
                          m->statement.empty() ? "unnamed prepared statement does not exist"
                                               : "prepared statement \"" + m->statement + "\" does not exist",
                          "", "", 0});
  }
  if (!m->portal.empty() && portals_.count(m->portal) != 0) {
    return ExtendedError({"42P03", "portal \"" + m->portal + "\" already exists", "", "", 0});
  }
  const Prepared& prepared = *st->second;
  bool ends_tx = prepared.command.kind == SessionCommand::Kind::kCommit ||
                 prepared.command.kind == SessionCommand::Kind::kRollback;
  if (tx_ == 'E' && !ends_tx) {
    return ExtendedError({sqlstate::kInFailedSqlTransaction,
                          "current transaction is aborted, commands ignored until end of transaction block", "", "",
                          0});
  }
  size_t expected = std::max(prepared.description.parameters.size(), prepared.declared.size());
  if (m->params.size() != expected) {
    return ExtendedError(Protocol("bind message supplies " + std::to_string(m->params.size()) +
                                  " parameters, but prepared statement \"" + m->statement + "\" requires " +
                                  std::to_string(expected)));
  }
  auto portal = std::make_unique<Portal>();
  portal->statement = st->second;
  for (size_t i = 0; i < m->params.size(); ++i) {
    if (!m->params[i]) {
      portal->params.emplace_back();
      continue;
    }
    bool binary = m->param_formats.empty()       ? false
                  : m->param_formats.size() == 1 ? m->param_formats[0] == 1
                                                 : m->param_formats[i] == 1;
    uint32_t wire = i < prepared.declared.size() ? prepared.declared[i] : 0;
    DataType type = i < prepared.description.parameters.size() ? prepared.description.parameters[i]
                                                               : DataTypeOfOid(wire).value_or(DataType::String());
    auto v = DecodeValue(*m->params[i], type, wire, binary, settings_->time_zone().get());
    if (!v.ok()) {
      return ExtendedError({binary ? sqlstate::kInvalidBinaryRepresentation : sqlstate::kInvalidTextRepresentation,
                            v.status().message(), "parameter $" + std::to_string(i + 1), "", 0});
    }
    portal->params.push_back(std::move(*v));
  }
  size_t ncols = prepared.description.returns_rows ? prepared.description.columns.size() : 0;
  if (m->result_formats.size() > 1 && m->result_formats.size() != ncols) {
    return ExtendedError(Protocol("bind message has " + std::to_string(m->result_formats.size()) +
                                  " result formats but query has " + std::to_string(ncols) + " columns"));
  }
  for (size_t i = 0; i < ncols; ++i) {
    portal->formats.push_back(m->result_formats.empty()       ? 0
                              : m->result_formats.size() == 1 ? m->result_formats[0]
                                                              : m->result_formats[i]);
  }
  portals_[m->portal] = std::move(portal);
  out_.Begin('2');
  out_.End();
}

void Session::HandleDescribe(const std::string& body) {
  auto m = ParseTarget(body, "Describe");
  if (!m.ok()) {
    counters_->protocol_errors++;
    return ExtendedError(Protocol(m.status().message()));
  }
  if (m->kind == 'S') {
    auto st = statements_.find(m->name);
    if (st == statements_.end()) {
      return ExtendedError(
          {sqlstate::kInvalidSqlStatementName, "prepared statement \"" + m->name + "\" does not exist", "", "", 0});
    }
    const Prepared& p = *st->second;
    size_t n = std::max(p.description.parameters.size(), p.declared.size());
    out_.Begin('t');
    out_.Int16(static_cast<int16_t>(n));
    for (size_t i = 0; i < n; ++i) {
      uint32_t o = i < p.declared.size() && p.declared[i] != 0 ? p.declared[i]
                   : i < p.description.parameters.size()       ? PgTypeOf(p.description.parameters[i]).oid
                                                               : oid::kText;
      out_.Int32(static_cast<int32_t>(o));
    }
    out_.End();
    if (p.description.returns_rows) {
      SendRowDescription(p.description.columns, {});
    } else {
      out_.Begin('n');
      out_.End();
    }
    return;
  }
  auto portal = portals_.find(m->name);
  if (portal == portals_.end()) {
    return ExtendedError({sqlstate::kInvalidCursorName, "portal \"" + m->name + "\" does not exist", "", "", 0});
  }
  const Prepared& p = *portal->second->statement;
  if (p.description.returns_rows) {
    SendRowDescription(p.description.columns, portal->second->formats);
  } else {
    out_.Begin('n');
    out_.End();
  }
}

void Session::HandleExecute(const std::string& body) {
  auto m = ParseExecute(body);
  if (!m.ok()) {
    counters_->protocol_errors++;
    return ExtendedError(Protocol(m.status().message()));
  }
  auto it = portals_.find(m->portal);
  if (it == portals_.end()) {
    return ExtendedError({sqlstate::kInvalidCursorName, "portal \"" + m->portal + "\" does not exist", "", "", 0});
  }
  Portal* p = it->second.get();
  const Prepared& prepared = *p->statement;
  if (prepared.query.empty()) {
    out_.Begin('I');
    out_.End();
    return;
  }
  if (p->finished) {
    SendCommandComplete(prepared.description.returns_rows ? "SELECT 0" : "");
    return;
  }
  if (!p->started) {
    counters_->queries++;
    cancel_ = false;
    auto r = Execute(prepared.query, prepared.command, p->params, &prepared.description.parameters);
    if (!r.ok()) return ExtendedError(r.error());
    p->started = true;
    if (!r->returns_rows) {
      p->finished = true;
      SendCommandComplete(r->command_tag);
      for (const auto& [name, value] : pending_status_) SendParameterStatus(name, value);
      pending_status_.clear();
      return;
    }
    p->result = std::move(r.value());
    if (p->result.columns.size() != prepared.description.columns.size()) {
      return ExtendedError(
          {sqlstate::kInternalError, "the statement's columns changed between Describe and Execute", "", "", 0});
    }
  }
  Outcome o = SendRows(p, static_cast<size_t>(m->max_rows));
  if (o == Outcome::kSuspended) {
    out_.Begin('s');
    out_.End();
  } else if (o == Outcome::kDone) {
    SendCommandComplete(p->result.command_tag == "SHOW" ? "SHOW" : "SELECT " + std::to_string(p->sent));
  }
}

void Session::HandleClose(const std::string& body) {
  auto m = ParseTarget(body, "Close");
  if (!m.ok()) {
    counters_->protocol_errors++;
    return ExtendedError(Protocol(m.status().message()));
  }
  if (m->kind == 'S') {
    statements_.erase(m->name);
  } else {
    portals_.erase(m->name);
  }
  out_.Begin('3');
  out_.End();
}

void Session::HandleSync() {
  skip_until_sync_ = false;
  if (tx_ == 'I') portals_.clear();  // the implicit transaction ends: its portals go
  SendReadyForQuery();
}

}  // namespace kl::server::pg
