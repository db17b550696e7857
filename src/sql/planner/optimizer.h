// The optimiser: rewrites of the logical plan that keep its results and cut
// its work. Filters move down (through projections and into the inputs of
// inner joins) and into scans, where the Paimon reader prunes partitions and
// skips files, row groups and pages by their statistics; scans read only the
// columns some operator uses; ORDER BY ... LIMIT becomes a Top-N, and
// ROW_NUMBER() ... WHERE rn <= n a Top-N per partition.
#pragma once

#include "sql/planner/plan.h"

namespace kl::sql {

// `value_dependent` (as BindOptions::value_dependent) is set when a rewrite read a parameter's value.
LogicalOpPtr Optimize(LogicalOpPtr plan, bool* value_dependent = nullptr);

// A condition over `table`'s columns as its scan applies it ("column op literal", IN literals,
// IS [NOT] NULL), or false when the scan cannot.
bool ToScanFilter(const BoundExpr& e, const CatalogObject& table, ScanFilter* out);

}  // namespace kl::sql
