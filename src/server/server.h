// server — how people and tools reach the warehouse: an HTTP server with
// Prometheus /metrics, health probes, a JSON API and the web dashboard, and
// a PostgreSQL wire-protocol server (psql, BI tools, drivers) that runs SQL
// through a QueryEngine. It sits at the top of the data flow: it reads the
// tables, the jobs' and the collector's status and the log; nothing below
// includes it. `kubelake serve` runs it alone; `run`, `pipeline` and `demo`
// start it beside their jobs.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "pipeline/warehouse/warehouse.h"
#include "server/pgwire/pg_server.h"
#include "server/status.h"

namespace kl::server {

class HttpServer;
namespace pg {
class PgSqlEngine;
}

inline constexpr char kKubelakeVersion[] = "0.1.0";

struct ServeOptions {
  pipeline::WarehouseOptions warehouse;
  bool sql = true;  // answer SQL (PostgreSQL protocol, /api/v1/sql) with kubelake's SQL engine
  std::string listen_http = "127.0.0.1:8080";  // "off" disables
  std::string listen_pg = "127.0.0.1:5433";    // "off" disables
  PgServerOptions pg;
  int64_t ready_max_age_ms = 60000;  // /readyz: every job committed (or was caught up) this recently
  bool pg_allow_writes = false;      // CREATE / INSERT / DROP through the PostgreSQL port
  int64_t http_sql_timeout_ms = 30000;
  size_t http_sql_max_rows = 10000;
  bool any_port_if_busy = false;  // the demo: a taken port falls back to a free one
};

class Server {
 public:
  // Starts the enabled servers. `engine` runs SQL for the PostgreSQL server (not owned); when
  // null, the server builds kubelake's SQL engine over the warehouse (unless options.sql is
  // off: then only session statements are answered).
  static Result<std::unique_ptr<Server>> Start(ServeOptions options, LiveSources live, QueryEngine* engine = nullptr);
  ~Server();
  void Stop();

  std::string http_url() const;    // "http://127.0.0.1:8080", "" when off
  std::string pg_address() const;  // "127.0.0.1:5433", "" when off
  int http_port() const;
  int pg_port() const;
  // The /metrics text as it would be served now.
  std::string MetricsText() const;

 private:
  Server() = default;
  ServeOptions options_;
  LiveSources live_;
  std::unique_ptr<pg::PgSqlEngine> sql_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<PgServer> pg_;
  std::string pg_address_;
};

}  // namespace kl::server
