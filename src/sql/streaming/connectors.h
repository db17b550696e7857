// Connector tables: CREATE TEMPORARY TABLE ... WITH ('connector' = ...).
//   'kubelake-log'  kubelake's event log as a source (any log URI: dir:..., kafka://...),
//                   value = the physical column(s) ('format' raw or json), METADATA FROM
//                   'timestamp' | 'key' | 'partition' | 'offset'; readable in batch (from the
//                   startup position to the log's end when the query starts) and by streaming jobs.
//   'jdbc'          a PostgreSQL table as a sink (Flink's JDBC connector options).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "log/event_log.h"
#include "pipeline/runtime/operator.h"
#include "pipeline/runtime/source.h"
#include "sql/catalog/catalog.h"
#include "sql/parser/ast.h"

namespace kl::sql::streaming {

// Opens (or finds an already open) event log by URI.
using LogOpener = std::function<Result<std::shared_ptr<log::EventLog>>(const std::string& uri)>;

// The catalog object of a CREATE TEMPORARY TABLE with a connector; errors name
// what is wrong (unknown connector, missing or invalid options, bad columns).
Result<std::shared_ptr<CatalogObject>> MakeConnectorTable(const Statement& create, const std::string& catalog,
                                                          const std::string& database, LogOpener opener);

// A streaming source of a kubelake-log table: the log's records as rows of
// `columns` (indexes into the table's schema). `job` names the default consumer group.
Result<std::unique_ptr<pipeline::Source>> MakeLogTableSource(const CatalogObject& table,
                                                             const std::vector<int>& columns, const std::string& job,
                                                             const LogOpener& opener);

// The batch reader of a kubelake-log table (from its startup position to the log's end when a query starts).
std::shared_ptr<TableSource> MakeLogBatchSource(const CatalogObject& table, LogOpener opener);

// 'scan.startup.mode' as a log seek target (log::kOffsetBeginning, ...).
Result<int64_t> LogStartOffset(const std::map<std::string, std::string>& options);

}  // namespace kl::sql::streaming
