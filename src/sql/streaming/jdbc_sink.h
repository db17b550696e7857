// The 'jdbc' connector's sink: a PostgreSQL table written with libpq, with
// Flink's JDBC options ('url' = 'jdbc:postgresql://host:port/db', 'table-name',
// 'username', 'password'). A table with a declared primary key is upserted
// (INSERT ... ON CONFLICT DO UPDATE) and its deletes applied; one without
// takes inserts. Exactly once: each commit is one PostgreSQL transaction that
// writes the rows and the job's source position (table
// 'kubelake.position-table', default kubelake_sink_positions); after a crash the
// job resumes from the position in PostgreSQL, and a commit whose identifier
// PostgreSQL already has is skipped.
#pragma once

#include <memory>
#include <string>

#include "pipeline/runtime/sink.h"
#include "sql/catalog/catalog.h"

namespace kl::sql::streaming {

// libpq connection parameters of a jdbc:postgresql:// URL plus the table's
// 'username' and 'password'; InvalidArgument for anything else.
Result<std::string> PostgresConnInfo(const std::map<std::string, std::string>& options);

Result<std::unique_ptr<pipeline::Sink>> MakeJdbcSink(const CatalogObject& table, const std::string& job);

}  // namespace kl::sql::streaming
