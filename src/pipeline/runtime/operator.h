// Operators: the reusable steps of a streaming job (and what SQL queries
// compile to). Each takes changes in its input row type and appends changes
// in its output row type; it may move rows out of its input (contents of
// several kilobytes travel the chain without copies). Finish() releases
// anything held back before a checkpoint, so a commit covers all input read
// so far.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "format/types.h"
#include "pipeline/runtime/change.h"
#include "pipeline/runtime/state.h"

namespace kl::pipeline {

class Operator {
 public:
  virtual ~Operator() = default;
  virtual std::string name() const = 0;
  virtual const format::RowType& output_type() const = 0;
  virtual Status Process(Changes& in, Changes* out) = 0;
  virtual Status Finish(Changes* out) { return Status::OK(); }
  // True when the operator has output for a checkpoint although no input came
  // (a dimension table it joins changed); asked once per step.
  virtual bool WantsCheckpoint() { return false; }
  // Column batches (ChangeBatch, change.h). An operator whose output is naturally
  // columnar (a vectorised Calc) says emits_batches(); one that works on batches
  // natively says takes_batches(). When a job's sink takes batches too, the job
  // hands the output of the last such emitter to the operators after it, all of
  // which take batches, and on to the sink as batches: no Datum per value and no
  // Change per row on the way. The defaults go through rows (Process, Finish).
  virtual bool emits_batches() const { return false; }
  virtual bool takes_batches() const { return false; }
  // Appends the output for row input `in` to `out` as a batch.
  virtual Status ProcessIntoBatch(Changes& in, ChangeBatch* out);
  // Appends the output for the batch `in` (which it may move from) to `out`.
  virtual Status ProcessBatch(ChangeBatch& in, ChangeBatch* out);
  // Finish() as a batch.
  virtual Status FinishBatch(ChangeBatch* out);
  // FinishBatch() as batches appended to `out`, in order: an operator holding many input
  // batches hands them on as they are rather than copying them into one.
  virtual Status FinishBatches(std::vector<ChangeBatch>* out);
  // CPU the operator's work spent on worker threads so far (an operator that
  // splits a batch across the WorkerPool), beside the calling thread's own.
  virtual double worker_cpu_seconds() const { return 0; }

  // State kept across checkpoints (state.h). A stateful operator writes, at a
  // checkpoint, what changed since the last committed one (everything when
  // `full`); StateCommitted() tells it that checkpoint's commit landed. After a
  // restart LoadState() gets the restored entries before any input.
  virtual bool stateful() const { return false; }
  virtual Status SaveState(bool full, StateWriter* out) { return Status::OK(); }
  virtual void StateCommitted() {}
  virtual Status LoadState(const OperatorState& state) { return Status::OK(); }
};

// Keeps the changes `predicate` accepts.
std::unique_ptr<Operator> MakeFilter(format::RowType type, std::function<bool(const Change&)> predicate,
                                     std::string name = "filter");

// Maps each change to zero or more output changes (projection, expressions, reshaping).
using MapFn = std::function<Status(Change& in, Changes* out)>;
std::unique_ptr<Operator> MakeMap(format::RowType output_type, MapFn fn, std::string name = "map");

// JSON extraction: for each row, parses the JSON text in `json_column` once
// and appends one output column per path (JSON_VALUE semantics: a scalar at
// the path as text or number, NULL when absent, not a scalar, or not
// convertible). Paths are JSON_VALUE paths: $.a.b, $.a[0].c, $.a['k.e/y'].
// The output row is the input columns followed by the extracted ones.
struct JsonField {
  std::string name;
  std::string path;
  format::DataType type;
  bool as_json = false;  // JSON_QUERY: objects and arrays come back as JSON text
};
Result<std::unique_ptr<Operator>> MakeJsonExtract(const format::RowType& input, const std::string& json_column,
                                                  std::vector<JsonField> fields);

// Keyed aggregate with retraction, kept as deltas: each change adds (+I, +U)
// or subtracts (-U, -D) weight(row) times each value of `values(row)` into
// its key's running deltas; Finish() emits one +I row per key with the
// summed deltas (keys whose deltas are all zero are dropped). A sink table
// with the aggregation merge engine (sum) turns the deltas into exact totals.
struct DeltaAggregateSpec {
  format::RowType output;  // key columns then value columns (BIGINT)
  size_t key_columns = 0;
  // Fills `key` and `values` for a row; returns false to skip the row.
  std::function<bool(const format::Row& row, format::Row* key, std::vector<int64_t>* values)> extract;
  // The same for row `i` of a batch (optional): with it the aggregate takes batches, and a
  // job reading a table builds no row per change for it.
  std::function<bool(const format::ColumnBatch& batch, size_t i, format::Row* key, std::vector<int64_t>* values)>
      extract_at;
  // With extract_at (optional): the batch columns the key is, in key order. The aggregate
  // then finds a row's group from those columns and builds a key row only for a group new
  // to the checkpoint; extract_at is called with a null `key` and must fill only `values`.
  std::vector<size_t> key_at;
};
std::unique_ptr<Operator> MakeDeltaAggregate(DeltaAggregateSpec spec, std::string name = "delta-aggregate");
// How the delta aggregate groups (exposed for tests): the hash of a key row, the same hash
// of the cells of columns `at` of row `row` of a batch (the hash of the row Get would make
// of them), and whether those cells equal a key row as CompareRows says.
uint64_t HashKeyRow(const format::Row& key);
uint64_t HashKeyCells(const format::ColumnBatch& batch, const std::vector<size_t>& at, size_t row);
bool KeyCellsEqual(const format::ColumnBatch& batch, const std::vector<size_t>& at, size_t row, const format::Row& key);

// Keyed dedup-latest: keeps the newest row per key in memory (by `newer`)
// and emits its changelog (+I first, -U old / +U new on replacement, nothing
// when an older row arrives). State lives in memory: on restart it is
// rebuilt from the sink table, where the same rule is the merge engine's.
struct DedupSpec {
  format::RowType type;
  std::vector<int> key_columns;
  // True when `candidate` replaces `current`.
  std::function<bool(const format::Row& candidate, const format::Row& current)> newer;
};
std::unique_ptr<Operator> MakeDedupLatest(DedupSpec spec, std::string name = "dedup-latest");

}  // namespace kl::pipeline
