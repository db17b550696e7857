// The optimiser: rewrites of the logical plan that keep its results and cut
// its work. Filters move down (through projections and into the inputs of
// inner joins) and into scans, where the Paimon reader prunes partitions and
// skips files, row groups and pages by their statistics; scans read only the
// columns some operator uses; ORDER BY ... LIMIT becomes a Top-N, and
// ROW_NUMBER() ... WHERE rn <= n a Top-N per partition.
#pragma once

#include "sql/planner/plan.h"

namespace kl::sql {

LogicalOpPtr Optimize(LogicalOpPtr plan);

}  // namespace kl::sql
