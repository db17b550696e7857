#include "sql/streaming/jdbc_sink.h"

#include <libpq-fe.h>

#include <map>
#include <unordered_map>

#include "common/string_util.h"
#include "pipeline/runtime/state.h"
#include "sql/binder/types.h"
#include "sql/functions/cast.h"
#include "sql/functions/postgres_text.h"

namespace kl::sql::streaming {

using format::Datum;
using format::Row;
using format::RowKind;
using format::RowType;
using format::TypeRoot;

namespace {

std::string Opt(const std::map<std::string, std::string>& o, const std::string& k, const std::string& fallback = "") {
  auto it = o.find(k);
  return it == o.end() ? fallback : it->second;
}

std::string ConnValue(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

// "a.b" -> "a"."b" (each part quoted as PostgreSQL identifiers).
std::string QuoteQualified(const std::string& name) {
  std::string out;
  for (const auto& part : Split(name, '.', true)) {
    if (!out.empty()) out += ".";
    out += "\"";
    for (char c : part) {
      if (c == '"') out += "\"";
      out.push_back(c);
    }
    out += "\"";
  }
  return out;
}

std::string QuoteIdent(const std::string& name) { return QuoteQualified(name); }

class Connection {
 public:
  Connection() = default;
  ~Connection() {
    if (conn_ != nullptr) PQfinish(conn_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status Open(const std::string& conninfo, const std::string& what) {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return Status::OK();
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string err = PQerrorMessage(conn_);
      PQfinish(conn_);
      conn_ = nullptr;
      return Status::Unavailable("connecting to PostgreSQL for " + what + ": " + std::string(Trim(err)));
    }
    return Status::OK();
  }
  void Close() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  // Runs `sql` with text parameters (nullptr = NULL); rows come back as text.
  Result<std::vector<std::vector<std::optional<std::string>>>> Exec(
      const std::string& sql, const std::vector<const std::string*>& params = {}) {
    if (conn_ == nullptr) return Status::Unavailable("not connected to PostgreSQL");
    std::vector<const char*> values;
    for (const auto* p : params) values.push_back(p == nullptr ? nullptr : p->c_str());
    PGresult* r =
        PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string err = PQresultErrorMessage(r);
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      std::string code = state != nullptr ? state : "";
      PQclear(r);
      bool lost = PQstatus(conn_) != CONNECTION_OK;
      if (lost) Close();
      std::string msg = "PostgreSQL: " + std::string(Trim(err)) + (code.empty() ? "" : " (SQLSTATE " + code + ")");
      // Class 08 (connection), 40 (rollback: serialization, deadlock), 53 (resources), 57 (shutdown) may pass.
      bool transient = lost || code.rfind("08", 0) == 0 || code.rfind("40", 0) == 0 || code.rfind("53", 0) == 0 ||
                       code.rfind("57", 0) == 0;
      return transient ? Status::Unavailable(msg) : Status::InvalidArgument(msg);
    }
    std::vector<std::vector<std::optional<std::string>>> rows;
    for (int i = 0; i < PQntuples(r); ++i) {
      std::vector<std::optional<std::string>> row;
      for (int j = 0; j < PQnfields(r); ++j) {
        if (PQgetisnull(r, i, j)) {
          row.push_back(std::nullopt);
        } else {
          row.push_back(std::string(PQgetvalue(r, i, j), static_cast<size_t>(PQgetlength(r, i, j))));
        }
      }
      rows.push_back(std::move(row));
    }
    PQclear(r);
    return rows;
  }

 private:
  PGconn* conn_ = nullptr;
};

class JdbcSink : public pipeline::Sink {
 public:
  JdbcSink(std::string conninfo, std::string table, RowType columns, std::vector<int> keys, std::string position_table,
           std::string job)
      : conninfo_(std::move(conninfo)),
        table_(std::move(table)),
        columns_(std::move(columns)),
        keys_(std::move(keys)),
        position_table_(std::move(position_table)),
        job_(std::move(job)) {}

  std::string name() const override { return "postgresql table " + table_; }

  Result<std::optional<pipeline::SourcePosition>> RestorePosition() override {
    KL_RETURN_IF_ERROR(Connect());
    KL_ASSIGN_OR_RETURN(
        auto rows,
        conn_.Exec("SELECT identifier, position FROM " + QuoteQualified(position_table_) + " WHERE job = $1", {&job_}));
    last_identifier_ = 0;
    if (rows.empty() || !rows[0][0] || !rows[0][1]) return std::optional<pipeline::SourcePosition>();
    auto id = ParseInt64(*rows[0][0]);
    auto bytes = HexDecode(*rows[0][1]);
    if (!id || !bytes)
      return Status::Corruption("the position of job " + job_ + " in " + position_table_ + " is unreadable");
    last_identifier_ = *id;
    std::string_view view(*bytes);
    KL_ASSIGN_OR_RETURN(pipeline::SourcePosition p, pipeline::DecodePosition(&view));
    return std::optional<pipeline::SourcePosition>(std::move(p));
  }

  Status Write(const pipeline::Changes& changes) override {
    for (const auto& c : changes) {
      if (c.kind == RowKind::kUpdateBefore) continue;  // upserts: the +U that follows replaces the row
      if (keys_.empty()) {
        if (c.kind != RowKind::kInsert) {
          return Status::InvalidArgument("the PostgreSQL table " + table_ +
                                         " has no declared PRIMARY KEY, so it takes inserts only");
        }
        appends_.push_back(c.row);
        continue;
      }
      Row key;
      for (int k : keys_) key.push_back(c.row[static_cast<size_t>(k)]);
      std::string encoded = pipeline::EncodeRow(key);
      auto it = index_.find(encoded);
      bool remove = c.kind == RowKind::kDelete;
      if (it == index_.end()) {
        index_[encoded] = upserts_.size();
        upserts_.push_back({remove, c.row});
      } else {
        upserts_[it->second] = {remove, c.row};  // the last change of a key in a commit wins
      }
    }
    return Status::OK();
  }

  bool has_pending() const override { return !appends_.empty() || !upserts_.empty(); }
  int64_t NextIdentifier(const pipeline::SourcePosition&) const override { return last_identifier_ + 1; }
  int64_t last_identifier() const override { return last_identifier_; }

  Result<table::CommitResult> Commit(const pipeline::SourcePosition& position, bool allow_empty) override {
    table::CommitResult result;
    if (!has_pending() && !allow_empty) return result;
    int64_t identifier = last_identifier_ + 1;
    Status s = CommitTransaction(identifier, position, &result);
    if (!s.ok()) {
      (void)conn_.Exec("ROLLBACK");
      conn_.Close();
      return s;
    }
    last_identifier_ = identifier;
    appends_.clear();
    upserts_.clear();
    index_.clear();
    return result;
  }

  void Reset() override {
    appends_.clear();
    upserts_.clear();
    index_.clear();
    conn_.Close();
  }

 private:
  Status Connect() {
    KL_RETURN_IF_ERROR(conn_.Open(conninfo_, "table " + table_));
    if (!position_table_ready_) {
      KL_RETURN_IF_ERROR(conn_
                             .Exec("CREATE TABLE IF NOT EXISTS " + QuoteQualified(position_table_) +
                                   " (job TEXT PRIMARY KEY, identifier BIGINT NOT NULL, position BYTEA NOT NULL, "
                                   "committed_at TIMESTAMPTZ NOT NULL DEFAULT now())")
                             .status());
      position_table_ready_ = true;
    }
    return Status::OK();
  }

  static std::optional<std::string> HexDecode(const std::string& text) {
    // bytea in hex output: \x0a1b...
    if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) return std::nullopt;
    std::string out;
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    for (size_t i = 2; i < text.size(); i += 2) {
      int a = nibble(text[i]), b = nibble(text[i + 1]);
      if (a < 0 || b < 0) return std::nullopt;
      out.push_back(static_cast<char>(a * 16 + b));
    }
    return out;
  }

  std::optional<std::string> Text(const Datum& d, const format::DataType& type) {
    if (d.is_null()) return std::nullopt;
    switch (type.root()) {
      case TypeRoot::kBoolean: return std::string(d.as_bool() ? "true" : "false");
      case TypeRoot::kBinary:
      case TypeRoot::kVarBinary: return PostgresByteaHex(d.as_bytes());
      default: return ValueToText(ctx_, d, type);
    }
  }

  Status CommitTransaction(int64_t identifier, const pipeline::SourcePosition& position, table::CommitResult* result) {
    KL_RETURN_IF_ERROR(Connect());
    KL_RETURN_IF_ERROR(conn_.Exec("BEGIN").status());
    // The row lock on the job's position serialises commits and tells whether this one already landed.
    KL_ASSIGN_OR_RETURN(auto rows, conn_.Exec("SELECT identifier FROM " + QuoteQualified(position_table_) +
                                                  " WHERE job = $1 FOR UPDATE",
                                              {&job_}));
    if (!rows.empty() && rows[0][0]) {
      auto done = ParseInt64(*rows[0][0]);
      if (done && *done >= identifier) {
        KL_RETURN_IF_ERROR(conn_.Exec("ROLLBACK").status());
        result->already_committed = true;
        return Status::OK();
      }
    }
    std::vector<std::string> cols;
    for (const auto& f : columns_.fields()) cols.push_back(QuoteIdent(f.name));
    std::string target = QuoteQualified(table_);
    // Deletes first, then inserts/upserts, in chunks.
    std::vector<const Row*> deletes, writes;
    for (const auto& r : appends_) writes.push_back(&r);
    for (const auto& [remove, r] : upserts_) (remove ? deletes : writes).push_back(&r);
    constexpr size_t kChunk = 500;
    for (size_t i = 0; i < deletes.size(); i += kChunk) {
      std::vector<std::string> values;
      std::string where;
      for (size_t j = i; j < std::min(deletes.size(), i + kChunk); ++j) {
        std::string cond;
        for (size_t k = 0; k < keys_.size(); ++k) {
          size_t c = static_cast<size_t>(keys_[k]);
          auto v = Text((*deletes[j])[c], columns_.type(c));
          if (!cond.empty()) cond += " AND ";
          if (!v) {
            cond += cols[c] + " IS NULL";
          } else {
            values.push_back(*v);
            cond += cols[c] + " = $" + std::to_string(values.size());
          }
        }
        where += (where.empty() ? "(" : " OR (") + cond + ")";
      }
      std::vector<const std::string*> params;
      for (const auto& v : values) params.push_back(&v);
      KL_RETURN_IF_ERROR(conn_.Exec("DELETE FROM " + target + " WHERE " + where, params).status());
    }
    std::string conflict;
    if (!keys_.empty()) {
      std::vector<std::string> key_cols, updates;
      for (int k : keys_) key_cols.push_back(cols[static_cast<size_t>(k)]);
      for (size_t c = 0; c < cols.size(); ++c) {
        if (std::find(keys_.begin(), keys_.end(), static_cast<int>(c)) == keys_.end()) {
          updates.push_back(cols[c] + " = EXCLUDED." + cols[c]);
        }
      }
      conflict = " ON CONFLICT (" + Join(key_cols, ", ") + ") DO " +
                 (updates.empty() ? std::string("NOTHING") : "UPDATE SET " + Join(updates, ", "));
    }
    size_t per_chunk = std::max<size_t>(1, std::min(kChunk, 60000 / std::max<size_t>(1, cols.size())));
    for (size_t i = 0; i < writes.size(); i += per_chunk) {
      std::vector<std::optional<std::string>> values;
      std::string sql = "INSERT INTO " + target + " (" + Join(cols, ", ") + ") VALUES ";
      for (size_t j = i; j < std::min(writes.size(), i + per_chunk); ++j) {
        sql += j == i ? "(" : ", (";
        for (size_t c = 0; c < cols.size(); ++c) {
          values.push_back(Text((*writes[j])[c], columns_.type(c)));
          sql += (c ? ", $" : "$") + std::to_string(values.size());
        }
        sql += ")";
      }
      std::vector<const std::string*> params;
      for (const auto& v : values) params.push_back(v ? &*v : nullptr);
      KL_RETURN_IF_ERROR(conn_.Exec(sql + conflict, params).status());
    }
    std::string encoded;
    pipeline::EncodePosition(position, &encoded);
    std::string id_text = std::to_string(identifier), pos_text = PostgresByteaHex(encoded);
    KL_RETURN_IF_ERROR(
        conn_
            .Exec("INSERT INTO " + QuoteQualified(position_table_) +
                      " (job, identifier, position) VALUES ($1, $2, $3) ON CONFLICT (job) DO UPDATE SET "
                      "identifier = EXCLUDED.identifier, position = EXCLUDED.position, committed_at = now()",
                  {&job_, &id_text, &pos_text})
            .status());
    KL_RETURN_IF_ERROR(conn_.Exec("COMMIT").status());
    result->snapshot_ids.push_back(identifier);
    return Status::OK();
  }

  std::string conninfo_;
  std::string table_;
  RowType columns_;
  std::vector<int> keys_;
  std::string position_table_;
  std::string job_;
  Connection conn_;
  bool position_table_ready_ = false;
  int64_t last_identifier_ = 0;
  ExecContext ctx_;
  std::vector<Row> appends_;
  std::vector<std::pair<bool, Row>> upserts_;  // (delete, row), one per key
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace

Result<std::string> PostgresConnInfo(const std::map<std::string, std::string>& options) {
  std::string url = Opt(options, "url");
  const std::string prefix = "jdbc:postgresql://";
  if (url.rfind(prefix, 0) != 0) {
    return Status::InvalidArgument("'url' = '" + url + "': expected jdbc:postgresql://host:port/database");
  }
  std::string rest = url.substr(prefix.size());
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  std::string hosts = rest.substr(0, slash);
  std::string db = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (hosts.empty()) return Status::InvalidArgument("'url' = '" + url + "' names no host");
  std::vector<std::string> host_list, port_list;
  for (const auto& h : Split(hosts, ',', true)) {
    size_t colon = h.rfind(':');
    if (colon != std::string::npos && h.find(']') == std::string::npos) {
      host_list.push_back(h.substr(0, colon));
      port_list.push_back(h.substr(colon + 1));
    } else {
      host_list.push_back(h);
      port_list.push_back("5432");
    }
  }
  std::string info = "host=" + ConnValue(Join(host_list, ",")) + " port=" + ConnValue(Join(port_list, ","));
  if (!db.empty()) info += " dbname=" + ConnValue(db);
  std::map<std::string, std::string> params;
  for (const auto& kv : Split(query, '&', true)) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    params[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  static const std::map<std::string, std::string> kNames = {{"user", "user"},
                                                            {"password", "password"},
                                                            {"sslmode", "sslmode"},
                                                            {"sslrootcert", "sslrootcert"},
                                                            {"sslcert", "sslcert"},
                                                            {"sslkey", "sslkey"},
                                                            {"connectTimeout", "connect_timeout"},
                                                            {"ApplicationName", "application_name"},
                                                            {"applicationName", "application_name"}};
  for (const auto& [k, v] : params) {
    auto it = kNames.find(k);
    if (it != kNames.end()) info += " " + it->second + "=" + ConnValue(v);
    if (k == "currentSchema") info += " options=" + ConnValue("-c search_path=" + v);
  }
  if (!Opt(options, "username").empty()) info += " user=" + ConnValue(Opt(options, "username"));
  if (!Opt(options, "password").empty()) info += " password=" + ConnValue(Opt(options, "password"));
  if (!params.count("connectTimeout")) info += " connect_timeout='10'";
  return info;
}

Result<std::unique_ptr<pipeline::Sink>> MakeJdbcSink(const CatalogObject& table, const std::string& job) {
  KL_ASSIGN_OR_RETURN(std::string conninfo, PostgresConnInfo(table.connector_options));
  for (const auto& f : table.schema.fields()) {
    TypeRoot r = f.type.root();
    if (r == TypeRoot::kArray || r == TypeRoot::kMap || r == TypeRoot::kMultiset || r == TypeRoot::kRow) {
      return Status::NotSupported("column " + f.name + " of " + table.name + ": the jdbc sink writes scalar types");
    }
  }
  std::vector<int> keys;
  for (const auto& k : table.primary_key) keys.push_back(table.schema.IndexOf(k));
  return std::unique_ptr<pipeline::Sink>(
      new JdbcSink(conninfo, Opt(table.connector_options, "table-name"), table.schema, keys,
                   Opt(table.connector_options, "kubelake.position-table", "kubelake_sink_positions"), job));
}

}  // namespace kl::sql::streaming
