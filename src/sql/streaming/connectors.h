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

// Record values a log table's source hands the operator after it straight from the log's
// read buffers rather than copied into its batch's column: for a column that operator reads
// only as JSON documents (the DWD job's Calc over the events' content). The planner sets it
// up on both sides (TapLogValues, TapCalcDocuments) or on neither.
struct LogValueTap {
  int column = -1;  // the source's output column whose values the tap carries
  // Set by a PollBatch that left the values here (its column then holds empty strings),
  // cleared by the operator that read them.
  bool filled = false;
  log::RecordBatch records;  // those values' records, in the batch's row order
  size_t padding = 0;        // bytes readable past each value's end (the log's)
};

// Makes `source` (of MakeLogTableSource) hand its output column `tap->column` over `tap` when
// it polls a batch; false, and nothing changed, when that column is not a record's value.
bool TapLogValues(pipeline::Source* source, std::shared_ptr<LogValueTap> tap);

// The batch reader of a kubelake-log table (from its startup position to the log's end when a query starts).
std::shared_ptr<TableSource> MakeLogBatchSource(const CatalogObject& table, LogOpener opener);

// 'scan.startup.mode' as a log seek target (log::kOffsetBeginning, ...).
Result<int64_t> LogStartOffset(const std::map<std::string, std::string>& options);

}  // namespace kl::sql::streaming
