// Operator state beside the commits. A job whose operators keep state (group
// aggregates, Top-N, joins) or that reads several sources checkpoints, before
// each table commit, a file named by the commit's identifier: the positions of
// its sources and each stateful operator's key-value state — all of it, or
// only what changed since the previous checkpoint. After a crash the job reads
// the identifier of its sink's last commit and loads that checkpoint (the last
// full one plus the changes after it), so state, positions and table always
// agree: the checkpoint of an identifier is written before the commit that
// names it, and checkpoints newer than the last commit are discarded.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "format/datum.h"
#include "pipeline/runtime/change.h"

namespace kl::pipeline {

// Self-describing binary encodings of values and rows (state keys and values).
void EncodeDatum(const format::Datum& d, std::string* out);
void EncodeRow(const format::Row& row, std::string* out);
std::string EncodeRow(const format::Row& row);
// Decodes one row from the front of `*in` and advances it; Corruption on bad bytes.
Result<format::Row> DecodeRow(std::string_view* in);
void EncodePosition(const SourcePosition& p, std::string* out);
Result<SourcePosition> DecodePosition(std::string_view* in);

// What an operator writes at a checkpoint: entries set and entries removed.
class StateWriter {
 public:
  void Put(std::string_view key, std::string_view value);
  void Erase(std::string_view key);
  const std::string& data() const { return data_; }
  size_t entries() const { return entries_; }

 private:
  std::string data_;
  size_t entries_ = 0;
};

// The operator states as restored: key -> value per stateful operator.
using OperatorState = std::map<std::string, std::string>;

class StateStore {
 public:
  // `dir` holds the checkpoints of one job; `fingerprint` identifies the
  // job's plan, so a changed query does not load state of another shape.
  StateStore(std::string dir, std::string fingerprint);

  const std::string& dir() const { return dir_; }

  struct Restored {
    SourcePosition position;
    std::vector<OperatorState> operators;  // by the operator's index in the job
  };
  // Loads the checkpoint of commit `identifier` for `num_operators` operators and
  // removes checkpoints newer than it (they belong to commits that never landed).
  Result<Restored> Load(int64_t identifier, size_t num_operators);
  // Removes every checkpoint (a job starting without any commit).
  Status Clear();

  // Whether the next checkpoint should hold everything (the changes written
  // since the last full one outgrew it).
  bool WantFull() const;
  // Writes the checkpoint of `identifier` (replacing an earlier attempt at it).
  // `states[i]` is operator i's writer (nullptr for stateless operators).
  Status Save(int64_t identifier, const SourcePosition& position, bool full,
              const std::vector<const StateWriter*>& states);
  // The commit of `identifier` landed: after a full checkpoint, older files go.
  void Committed(int64_t identifier);
  // The commit of `identifier` did not produce a snapshot: its checkpoint goes.
  void Abandon(int64_t identifier);

 private:
  struct FileId {
    int64_t identifier;
    bool full;
  };
  Result<std::vector<FileId>> List() const;
  std::string PathOf(int64_t identifier, bool full) const;

  std::string dir_;
  std::string fingerprint_;
  int64_t last_full_bytes_ = 0;
  int64_t delta_bytes_since_full_ = 0;
  bool have_full_ = false;
  std::map<int64_t, bool> pending_;  // saved, not yet committed: identifier -> full
};

}  // namespace kl::pipeline
