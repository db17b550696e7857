// Field aggregators of the `aggregation` merge engine (and of partial-update
// sequence groups): how one column of all records with the same key folds
// into one value, and how a retraction (-U / -D) takes a value back out.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "format/datum.h"
#include "format/types.h"
#include "table/schema/options.h"

namespace kl::table {

class FieldAggregator {
 public:
  virtual ~FieldAggregator() = default;
  virtual std::string_view name() const = 0;
  // Called before the first record of each key.
  virtual void Reset() {}
  // Folds `input` into `acc`. `merged_input` is true when the input is itself
  // an aggregate (a stored record), false for a raw input record.
  virtual Status Agg(format::Datum* acc, const format::Datum& input, bool merged_input) = 0;
  // Folds an `input` that sorts before everything already in `acc` (partial-update
  // sequence groups meet older records after newer ones): Paimon's aggReversed.
  // Order-insensitive functions fold it as usual.
  virtual Status AggReversed(format::Datum* acc, const format::Datum& input, bool merged_input) {
    return Agg(acc, input, merged_input);
  }
  // Takes `input` back out of `acc`; NotSupported for functions without retraction.
  virtual Status Retract(format::Datum* acc, const format::Datum& input, bool merged_input);
  // True when Retract works (or drops retractions, with ignore-retract). For the
  // others, as in Paimon, a retraction is an error only once a merge brings it
  // together with another record of its key.
  virtual bool can_retract() const { return false; }
};

// Creates the aggregator named `function` (sum, product, count, min, max,
// last_value, last_non_null_value, first_value, first_non_null_value,
// listagg, bool_and, bool_or, primary-key) for a column. `ignore_retract`
// wraps it so retractions are dropped.
Result<std::unique_ptr<FieldAggregator>> CreateFieldAggregator(const std::string& function,
                                                               const format::DataType& type,
                                                               const std::string& field_name,
                                                               const TableOptions& options, bool ignore_retract);

}  // namespace kl::table
