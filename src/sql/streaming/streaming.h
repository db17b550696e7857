// Streaming INSERT jobs: a bound, optimised query and its target become a
// pipeline::Job (pipeline/runtime/job.h) — sources for the tables it reads (Paimon
// tables followed snapshot by snapshot, the event log), the operators of
// operators.h and the pipeline's own, and a sink that commits with the source
// positions. Flink's changelog semantics throughout; see docs/sql.md.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/runtime/job.h"
#include "sql/catalog/catalog.h"
#include "sql/planner/plan.h"
#include "sql/streaming/connectors.h"

namespace kl::sql::streaming {

struct InsertTarget {
  std::shared_ptr<CatalogObject> table;      // a Paimon table or a 'jdbc' connector table
  std::vector<std::string> columns;          // INSERT INTO t (a, b): the columns written
  std::map<std::string, std::string> hints;  // INSERT INTO t /*+ OPTIONS(...) */
};

struct JobSettings {
  std::string name;  // the job's name: its commit user and state directory
  int64_t checkpoint_interval_ms = 1000;
  bool drop_null_violations = false;  // 'table.exec.sink.not-null-enforcer' = 'DROP'
  std::string state_dir;              // where stateful jobs keep their checkpoints
  LogOpener log_opener;
  ExecContext exec;  // time zone and the like
};

struct PlannedJob {
  std::unique_ptr<pipeline::Job> job;
  std::string explain;  // the job's operators, one per line
};

// Plans `plan` (bound and optimised) into `target` as a streaming job; errors
// name what a streaming job cannot do (ORDER BY without LIMIT, OVER windows, ...).
Result<PlannedJob> PlanInsertJob(LogicalOpPtr plan, const InsertTarget& target, const JobSettings& settings);

}  // namespace kl::sql::streaming
