// Fault schedules: when and where the simulated fleet misbehaves. A
// schedule is a list of timed faults, either written out ("drop@1500",
// "down@3000+1000#0") or drawn from a seed, so a failing property test
// names the exact schedule that broke it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace kl::simulator {

enum class FaultKind : uint8_t {
  kDropWatches,      // cut every open watch connection mid-stream
  kStall,            // watches go silent (no events, no bookmarks) for a while
  kCompact,          // drop the whole change history: resuming watches get 410
  kDown,             // the API server stops listening for a while
  kDeleteWhileAway,  // server down, pods deleted, history compacted, server back
};

struct Fault {
  int64_t at_ms = 0;        // since the fleet started
  int cluster = -1;         // index; -1: every cluster
  FaultKind kind = FaultKind::kDropWatches;
  int64_t duration_ms = 0;  // stall, down, delete-while-away
  int count = 0;            // delete-while-away: pods deleted
};

struct FaultSchedule {
  std::vector<Fault> faults;  // sorted by at_ms

  // "kind@at_ms[+duration_ms][xcount][#cluster]" items separated by commas;
  // kinds: drop, stall, compact, down, deletes.
  static Result<FaultSchedule> Parse(const std::string& text);
  // About one fault per `mean_interval_ms` per cluster over [0, span_ms).
  static FaultSchedule Random(uint64_t seed, int clusters, int64_t span_ms, int64_t mean_interval_ms);
  std::string ToString() const;
  // One line of counts per kind: "8 faults (2 drop, 1 stall, 2 compact, 2 down, 1 deletes)", or "no faults".
  std::string Summary() const;
};

std::string FaultKindName(FaultKind kind);

}  // namespace kl::simulator
