// The PostgreSQL server's QueryEngine over kubelake's SQL engine: every
// connection gets a SqlSession in PostgreSQL mode, whose unqualified names
// resolve in its database (a Paimon database) and then in search_path, with
// pg_catalog and information_schema generated from the warehouse. Results
// stream batch by batch; kubelake's types map to PostgreSQL's; errors carry
// the SQLSTATE PostgreSQL would give and the position in the statement.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "server/pgwire/query_engine.h"

namespace kl::sql {
class SqlEngine;
}

namespace kl::server::pg {

class WarehouseCatalog;

struct PgEngineOptions {
  std::string warehouse;              // the Paimon warehouse directory
  std::string database = "kubelake";  // the default database (schema)
  bool allow_writes = false;          // CREATE / INSERT / DROP through the PostgreSQL port
};

class PgSqlEngine : public QueryEngine {
 public:
  static Result<std::unique_ptr<PgSqlEngine>> Create(const PgEngineOptions& options);
  ~PgSqlEngine() override;

  std::unique_ptr<QuerySession> NewSession(const SessionInfo& info) override;
  // A Paimon database; the default database also answers to "postgres" and to the user's own
  // name (libpq's default database), so `psql -h host -U me` connects.
  bool HasDatabase(const std::string& name, const std::string& user) const override;

  sql::SqlEngine& sql_engine() { return *engine_; }
  std::shared_ptr<sql::SqlEngine> shared_sql_engine() { return engine_; }

 private:
  PgSqlEngine() = default;
  std::string DatabaseFor(const std::string& requested, const std::string& user) const;

  PgEngineOptions options_;
  std::shared_ptr<sql::SqlEngine> engine_;
  std::shared_ptr<WarehouseCatalog> catalog_;
  friend class PgSqlSession;
};

// An engine error as PostgreSQL reports it: SQLSTATE from the error's kind and
// message, the message without its "line L, column C: " prefix, and that place
// as a 1-based character position in `statement`.
SqlError EngineError(const Status& status, std::string_view statement);

}  // namespace kl::server::pg
