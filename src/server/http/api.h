// The JSON API under /api/v1/ and the probes /healthz and /readyz: thin
// handlers over the warehouse's queries — audit, topology and trend in SQL
// (sql/warehouse_queries.h, the same as `kubelake query`), deleted objects,
// users and nodes from pipeline/warehouse/queries.h — and the system status. Every
// answer is JSON; bad arguments are 400s that say which.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "pipeline/warehouse/queries.h"
#include "server/http/http_server.h"
#include "server/status.h"
#include "sql/warehouse_queries.h"

namespace kl::server {

struct ApiContext {
  pipeline::WarehouseOptions warehouse;
  std::function<SystemStatus()> status;  // gathers the current status
  int64_t ready_max_age_ms = 60000;
};

// Adds /healthz, /readyz and /api/v1/{status,audit,topology,trend,deleted,users,nodes}.
void AddApiRoutes(const ApiContext& context, std::map<std::string, HttpHandler>* routes);

// A query result as {"columns":[{"name","type"}...],"rows":[[...]...]}.
std::string QueryResultJson(const pipeline::QueryResult& result);
std::string QueryResultJson(const sql::QueryResult& result);

}  // namespace kl::server
