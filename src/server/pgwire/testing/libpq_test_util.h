// libpq handles for tests of the PostgreSQL server: a connection and a result
// that free themselves, with the accessors the tests assert on.
#pragma once

#include <libpq-fe.h>

#include <string>

namespace kl::server::testing {

struct Conn {
  PGconn* c = nullptr;
  explicit Conn(const std::string& conninfo) : c(PQconnectdb(conninfo.c_str())) {}
  ~Conn() { PQfinish(c); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  bool ok() const { return PQstatus(c) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(c); }
};

struct Res {
  PGresult* r;
  explicit Res(PGresult* r) : r(r) {}
  ~Res() { PQclear(r); }
  Res(const Res&) = delete;
  Res& operator=(const Res&) = delete;
  ExecStatusType status() const { return PQresultStatus(r); }
  // An error field (PG_DIAG_*), "" when absent.
  std::string field(int code) const {
    const char* s = PQresultErrorField(r, code);
    return s != nullptr ? s : "";
  }
  std::string sqlstate() const { return field(PG_DIAG_SQLSTATE); }
  std::string error() const { return PQresultErrorMessage(r); }
  std::string get(int row, int col) const { return PQgetvalue(r, row, col); }
  bool null(int row, int col) const { return PQgetisnull(r, row, col) != 0; }
  int rows() const { return PQntuples(r); }
};

}  // namespace kl::server::testing
