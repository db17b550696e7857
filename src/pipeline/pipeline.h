// pipeline — kubelake's streaming runtime and its warehouse. A job reads a
// source (the event log, a table's snapshots), runs changes (+I, -U, +U, -D)
// through operators and writes them to a sink; its checkpoint is the sink's
// Paimon commit, which records the source positions it covers, so a job
// restarted after a crash resumes exactly once. sql plans its streaming
// INSERT jobs onto this runtime; pipeline never includes sql.
//
// Layout: runtime/ (jobs, operators, sources and sinks, operator state, the
// log source, lookup joins), warehouse/ (the warehouse's tables, decoding of
// Kubernetes events into rows, cluster dimensions, its queries, and the
// hand-wired jobs kept for comparison with the SQL-defined warehouse).
#pragma once

#include "pipeline/runtime/change.h"
#include "pipeline/runtime/job.h"
#include "pipeline/runtime/log_source.h"
#include "pipeline/runtime/lookup_join.h"
#include "pipeline/runtime/operator.h"
#include "pipeline/runtime/sink.h"
#include "pipeline/runtime/source.h"
#include "pipeline/runtime/state.h"
#include "pipeline/warehouse/queries.h"
#include "pipeline/warehouse/warehouse.h"
