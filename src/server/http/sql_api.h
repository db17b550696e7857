// POST /api/v1/sql: runs SQL over the warehouse for the dashboard's console and
// for scripts. The body is the statement text (text/plain) or a JSON object
// {"sql": "...", "dialect": "flink"|"postgresql", "max_rows": n, "timeout_ms": n};
// several statements run in order and the last one's result comes back:
// {"columns":[{"name","type"}],"rows":[[...]],"row_count":n,"truncated":b,
// "statement_kind":"SELECT","statements":k,"elapsed_ms":t}. Errors are 400s
// {"error": "...", "line": L, "column": C} naming where in the text. Sessions
// are read-only, rows are capped and statements time out.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "server/http/http_server.h"

namespace kl::sql {
class SqlEngine;
}

namespace kl::server {

struct SqlApiOptions {
  size_t max_rows = 10000;       // a request may ask for fewer, not more
  int64_t timeout_ms = 30000;    // likewise
};

void AddSqlApiRoute(std::shared_ptr<sql::SqlEngine> engine, const SqlApiOptions& options,
                    std::map<std::string, HttpHandler>* routes, HttpServerOptions* http_options);

}  // namespace kl::server
