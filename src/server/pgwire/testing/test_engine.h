// A QueryEngine for testing the PostgreSQL server before the SQL engine
// exists: a fixed table `items` with one column of each common type (NULLs
// and non-ASCII text included), and a few statement shapes:
//   SELECT * FROM items [WHERE id = <value>] [LIMIT n]
//   SELECT <value> [AS name], ...      values: 1, 2.5, 'text', NULL, TRUE, $1, $1::int8, '…'::date
//   SELECT * FROM generate_series(n)   n rows of BIGINT
//   SELECT sleep(ms)                   waits, honouring timeout and cancel
//   SELECT fail_after(n)               n rows, then an error (22012)
// Anything else is a syntax error (42601); another table is 42P01.
#pragma once

#include "server/pgwire/query_engine.h"

namespace kl::server::testing {

class TestEngine : public QueryEngine {
 public:
  std::unique_ptr<QuerySession> NewSession(const SessionInfo& info) override;
  bool HasDatabase(const std::string& name, const std::string&) const override { return name != "nosuchdb"; }
  // The rows of `items`, as the engine returns them.
  static std::vector<format::Row> Items();
  static format::RowType ItemsType();
};

}  // namespace kl::server::testing
