// The serving flags shared by `serve`, `run`, `pipeline` and `demo`
// (--listen-http, --listen-pg, --pg-*), and starting the servers from them.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "server/server.h"

namespace kl::cli {

struct ServeArgs {
  std::string listen_http = "127.0.0.1:8080";
  std::string listen_pg = "127.0.0.1:5433";
  std::string pg_tls_cert;
  std::string pg_tls_key;
  bool pg_require_tls = false;
  std::string pg_users;
  bool pg_cleartext = false;
  double pg_statement_timeout_s = 60;
  size_t pg_max_rows = 1000000;
  int pg_max_connections = 256;
  int pg_query_slots = 0;  // 0: one per core, -1: no limit
  double ready_max_age_s = 60;
  bool pg_allow_writes = false;
  uint64_t read_cache_mb = 256;   // decoded data files kept for reads by key (table::DecodedFiles)
  bool any_port_if_busy = false;  // set by the demo
};

void AddServeOptions(CLI::App* cmd, ServeArgs* args);

// Starts the servers the flags ask for; SQL (the PostgreSQL port, /api/v1/sql) runs on
// kubelake's SQL engine over the warehouse.
Result<std::unique_ptr<server::Server>> StartServers(const ServeArgs& args, const pipeline::WarehouseOptions& warehouse,
                                                     server::LiveSources live);

// "kubelake: dashboard http://127.0.0.1:8080/ · PostgreSQL 127.0.0.1:5433 · metrics …/metrics"
std::string DescribeServers(const server::Server& server);

}  // namespace kl::cli
