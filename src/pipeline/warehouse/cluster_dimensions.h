// The cluster dimension of DWD rows (cluster_id, region_id, region, zone), kept
// exact: a row joined before its cluster's region was known does not keep
// NULLs (a lookup join, Flink's included, would). The operator resolves each
// cluster's dimension from what users set in dim_cluster and, where they leave
// region/zone empty, from the labels of the cluster's live nodes (the smallest
// (region, zone) among them, so that the choice is stable). Rows are held until
// the checkpoint and go out with the dimension as of then; when a cluster's
// dimension differs from the one its committed rows carry, those rows are
// re-emitted with the new one, in the same commit, so DWD's changelog carries the
// change to topology and every other follower.
//
// Exactly once without state of its own: the first checkpoint after a (re)start
// compares every committed row with the dimension and re-emits the stale ones,
// so a crash between a change and its commit is repaired on replay.
#pragma once

#include <memory>

#include "common/result.h"
#include "pipeline/runtime/operator.h"
#include "table/table.h"

namespace kl::pipeline {

struct ClusterDimensionSpec {
  std::shared_ptr<table::Table> dimension;  // dim_cluster: cluster, cluster_id, region_id, region, zone, ...
  std::shared_ptr<table::Table> target;     // dwd_objects, partitioned by cluster, whose rows this operator writes
  int64_t refresh_ms = 2000;                // how often a newer dim_cluster snapshot is looked for
};

// Input: DWD rows without the four dimension columns, or with them (their values are
// replaced): cluster first; kind, uid, rv, deleted, event_time, topology_region and
// topology_zone by name. Output: the target's rows. It takes and gives column
// batches (Operator::takes_batches) as well as rows.
Result<std::unique_ptr<Operator>> MakeClusterDimensions(const format::RowType& input, ClusterDimensionSpec spec);

}  // namespace kl::pipeline
