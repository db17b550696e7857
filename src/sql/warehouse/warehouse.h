// kubelake's warehouse written in SQL (warehouse.sql, compiled into the
// binary): the tables of every layer and the streaming jobs that keep them —
// the same tables, job names and semantics as the jobs pipeline/warehouse/warehouse.h
// wires by hand, which stay for comparison (pipeline_bench) only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pipeline/runtime/job.h"
#include "pipeline/warehouse/warehouse.h"
#include "sql/sql.h"

namespace kl::sql {

// The file as shipped, with its ${...} placeholders.
const std::string& WarehouseSqlTemplate();

// The warehouse's statements with `options` and the log's URI filled in
// (without the ODS table and job when options.ods is false).
// `text`: a warehouse file of one's own with the same placeholders (default: the shipped one).
Result<std::string> WarehouseSql(const pipeline::WarehouseOptions& options, const std::string& log_uri,
                                 const std::string& text = WarehouseSqlTemplate());

// Plans `sql` in a session of `engine` and returns its streaming jobs, opened,
// not started (run them with pipeline::JobRunner).
Result<std::vector<std::unique_ptr<pipeline::Job>>> PlanJobs(const std::shared_ptr<SqlEngine>& engine,
                                                             const std::string& sql, const std::string& source);

// The warehouse's jobs over `log` (not owned; it must outlive them), planned
// from its SQL. `log_uri` names the log in the SQL (default: a name for `log`).
Result<std::vector<std::unique_ptr<pipeline::Job>>> BuildWarehouseJobs(log::EventLog* log,
                                                                       const pipeline::WarehouseOptions& options,
                                                                       std::string log_uri = "");

// What `kubelake run`, `pipeline` and `demo` run: the warehouse's SQL (or
// `warehouse_sql`, a file of one's own) and the statements of `extra_files`
// (a session each), planned in one engine over `log`. A job name used twice is an error.
Result<std::vector<std::unique_ptr<pipeline::Job>>> BuildWarehouseJobs(log::EventLog* log,
                                                                       const pipeline::WarehouseOptions& options,
                                                                       const std::string& log_uri,
                                                                       const std::string& warehouse_sql,
                                                                       const std::vector<std::string>& extra_files);

}  // namespace kl::sql
