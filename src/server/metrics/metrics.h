// The families of kubelake's /metrics: inventory gauges read from the ADS
// tables, and the health of the system itself (collector, log, jobs,
// tables). Labels stay bounded: cluster, region, kind, namespace, node, job,
// table, watch, state — never a pod or a user.
#pragma once

#include "common/status.h"
#include "pipeline/warehouse/warehouse.h"
#include "server/metrics/exposition.h"
#include "server/status.h"

namespace kl::server {

// Whether the warehouse's tables have been created under its directory.
bool IsWarehouseCreated(const pipeline::WarehouseOptions& warehouse);

// kubelake_objects, kubelake_namespace_objects, kubelake_node_* from the
// latest ADS snapshots. A table that is missing (no warehouse yet) adds nothing.
Status WriteInventoryMetrics(const pipeline::WarehouseOptions& warehouse, MetricsWriter* out);

// Jobs, collector, log and table health from a gathered status.
void WriteSystemMetrics(const SystemStatus& status, MetricsWriter* out);

}  // namespace kl::server
