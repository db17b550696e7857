// The cluster dimension of DWD rows (cluster_id, region_id, region, zone): what
// users set in dim_cluster, else the region and zone node labels say (as the
// dim-from-nodes job keeps them in dim_cluster, or as seen in this stream
// before that job caught up). dim_cluster is read whole and re-read when it
// has a newer snapshot (at most every `refresh_ms`).
#pragma once

#include <memory>

#include "common/result.h"
#include "pipeline/operator.h"
#include "table/table.h"

namespace kl::pipeline {

struct ClusterDimensionSpec {
  std::shared_ptr<table::Table> dimension;  // dim_cluster: cluster, cluster_id, region_id, region, zone, node_region, node_zone
  std::shared_ptr<table::Table> target;     // dwd_objects: the input's columns, then the four dimension columns
  int64_t refresh_ms = 2000;
};

// Input: DWD rows without the four dimension columns (cluster first;
// topology_region and topology_zone by name). Output: the target's rows.
Result<std::unique_ptr<Operator>> MakeClusterDimensions(const format::RowType& input, ClusterDimensionSpec spec);

}  // namespace kl::pipeline
