#include "cli/serve_options.h"

#include "table/data/decoded_files.h"

namespace kl::cli {

void AddServeOptions(CLI::App* cmd, ServeArgs* a) {
  cmd->add_option("--listen-http", a->listen_http, "dashboard, /metrics and the JSON API: HOST:PORT or off")
      ->capture_default_str();
  cmd->add_option("--listen-pg", a->listen_pg, "PostgreSQL wire protocol: HOST:PORT or off")->capture_default_str();
  cmd->add_option("--pg-tls-cert", a->pg_tls_cert, "PEM certificate (chain) for TLS on the PostgreSQL port");
  cmd->add_option("--pg-tls-key", a->pg_tls_key, "PEM private key for TLS on the PostgreSQL port");
  cmd->add_flag("--pg-require-tls", a->pg_require_tls, "refuse PostgreSQL clients that do not use TLS");
  cmd->add_option("--pg-users", a->pg_users,
                  "users file (NAME:md5... or NAME:SCRAM-SHA-256$... per line, see `kubelake pg-password`); "
                  "without it only loopback clients are accepted, without a password");
  cmd->add_flag("--pg-cleartext-passwords", a->pg_cleartext,
                "ask clients for the password itself (checked against the stored hash) instead of md5/SCRAM");
  cmd->add_option("--pg-statement-timeout", a->pg_statement_timeout_s, "seconds a statement may run (0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--pg-max-rows", a->pg_max_rows, "largest result of one statement, in rows")->capture_default_str();
  cmd->add_option("--pg-max-connections", a->pg_max_connections, "PostgreSQL connections served at once")
      ->capture_default_str();
  cmd->add_option("--pg-query-slots", a->pg_query_slots,
                  "PostgreSQL queries worked on at once; the others wait their turn, which keeps the latency "
                  "tail short under load (0 = one per core, -1 = no limit)")
      ->capture_default_str();
  cmd->add_flag("--pg-allow-writes", a->pg_allow_writes,
                "let PostgreSQL clients run statements that write (CREATE, INSERT, DROP, ALTER); off: read-only");
  cmd->add_option("--read-cache-mb", a->read_cache_mb,
                  "MiB of decoded data files kept for reads by key that come back to them (the topology look-up "
                  "by user and its node dimension); 0 = off")
      ->capture_default_str();
  cmd->add_option("--ready-max-age", a->ready_max_age_s,
                  "/readyz fails when a job has neither committed nor been caught up for this many seconds")
      ->capture_default_str();
}

Result<std::unique_ptr<server::Server>> StartServers(const ServeArgs& a, const pipeline::WarehouseOptions& warehouse,
                                                     server::LiveSources live) {
  table::DecodedFiles::Limits cache = table::DecodedFiles::Global().limits();
  cache.max_bytes = a.read_cache_mb << 20;
  table::DecodedFiles::Global().SetLimits(cache);
  server::ServeOptions o;
  o.warehouse = warehouse;
  o.listen_http = a.listen_http;
  o.listen_pg = a.listen_pg;
  o.pg.tls_cert = a.pg_tls_cert;
  o.pg.tls_key = a.pg_tls_key;
  o.pg.require_tls = a.pg_require_tls;
  o.pg.users_file = a.pg_users;
  o.pg.cleartext_passwords = a.pg_cleartext;
  o.pg.statement_timeout_ms = static_cast<int64_t>(a.pg_statement_timeout_s * 1000);
  o.pg.max_rows = a.pg_max_rows;
  o.pg.max_connections = a.pg_max_connections;
  o.pg.query_slots = a.pg_query_slots;
  o.ready_max_age_ms = static_cast<int64_t>(a.ready_max_age_s * 1000);
  o.any_port_if_busy = a.any_port_if_busy;
  o.pg_allow_writes = a.pg_allow_writes;
  return server::Server::Start(std::move(o), std::move(live));
}

std::string DescribeServers(const server::Server& s) {
  std::string out;
  if (!s.http_url().empty()) out += "dashboard " + s.http_url() + "/  (metrics " + s.http_url() + "/metrics)";
  if (!s.pg_address().empty()) {
    if (!out.empty()) out += "  ·  ";
    out += "PostgreSQL protocol " + s.pg_address();
  }
  return out.empty() ? "no servers (--listen-http off, --listen-pg off)" : out;
}

}  // namespace kl::cli
