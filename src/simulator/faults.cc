#include "simulator/faults.h"

#include <algorithm>
#include <map>

#include "common/random.h"
#include "common/string_util.h"

namespace kl::simulator {

std::string FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kDropWatches: return "drop";
    case FaultKind::kStall: return "stall";
    case FaultKind::kCompact: return "compact";
    case FaultKind::kDown: return "down";
    case FaultKind::kDeleteWhileAway: return "deletes";
  }
  return "unknown";
}

Result<FaultSchedule> FaultSchedule::Parse(const std::string& text) {
  FaultSchedule schedule;
  for (const std::string& raw : Split(text, ',', /*skip_empty=*/true)) {
    std::string item(Trim(raw));
    auto bad = [&](const std::string& why) { return Status::InvalidArgument("fault \"" + item + "\": " + why); };
    size_t at = item.find('@');
    if (at == std::string::npos) return bad("expected kind@time_ms");
    std::string kind = item.substr(0, at);
    Fault f;
    if (kind == "drop")
      f.kind = FaultKind::kDropWatches;
    else if (kind == "stall")
      f.kind = FaultKind::kStall;
    else if (kind == "compact")
      f.kind = FaultKind::kCompact;
    else if (kind == "down")
      f.kind = FaultKind::kDown;
    else if (kind == "deletes")
      f.kind = FaultKind::kDeleteWhileAway;
    else
      return bad("unknown kind (drop, stall, compact, down, deletes)");
    std::string rest = item.substr(at + 1);
    auto take = [&](char marker, int64_t* out) -> bool {
      size_t pos = rest.find(marker);
      if (pos == std::string::npos) return true;
      size_t end = rest.find_first_of("+x#", pos + 1);
      auto v = ParseInt64(rest.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1));
      if (!v) return false;
      *out = *v;
      rest.erase(pos, end == std::string::npos ? std::string::npos : end - pos);
      return true;
    };
    int64_t cluster = -1, count = 0;
    if (!take('#', &cluster) || !take('x', &count) || !take('+', &f.duration_ms)) return bad("bad number");
    auto when = ParseInt64(rest);
    if (!when || *when < 0) return bad("bad time");
    f.at_ms = *when;
    f.cluster = static_cast<int>(cluster);
    f.count = static_cast<int>(count);
    if ((f.kind == FaultKind::kStall || f.kind == FaultKind::kDown || f.kind == FaultKind::kDeleteWhileAway) &&
        f.duration_ms <= 0) {
      return bad("needs +duration_ms");
    }
    if (f.kind == FaultKind::kDeleteWhileAway && f.count <= 0) f.count = 10;
    schedule.faults.push_back(f);
  }
  std::stable_sort(schedule.faults.begin(), schedule.faults.end(),
                   [](const Fault& a, const Fault& b) { return a.at_ms < b.at_ms; });
  return schedule;
}

FaultSchedule FaultSchedule::Random(uint64_t seed, int clusters, int64_t span_ms, int64_t mean_interval_ms) {
  kl::Random rng(seed * 0x9e3779b97f4a7c15ull + 17);
  FaultSchedule schedule;
  for (int c = 0; c < clusters; ++c) {
    int64_t t = static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(std::max<int64_t>(1, mean_interval_ms))));
    while (t < span_ms) {
      Fault f;
      f.at_ms = t;
      f.cluster = c;
      f.kind = static_cast<FaultKind>(rng.Uniform(5));
      switch (f.kind) {
        case FaultKind::kStall: f.duration_ms = rng.Range(200, 1500); break;
        case FaultKind::kDown: f.duration_ms = rng.Range(100, 800); break;
        case FaultKind::kDeleteWhileAway:
          f.duration_ms = rng.Range(100, 600);
          f.count = static_cast<int>(rng.Range(1, 25));
          break;
        default: break;
      }
      schedule.faults.push_back(f);
      t += mean_interval_ms / 2 +
           static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(std::max<int64_t>(1, mean_interval_ms))));
      t += f.duration_ms;
    }
  }
  std::stable_sort(schedule.faults.begin(), schedule.faults.end(),
                   [](const Fault& a, const Fault& b) { return a.at_ms < b.at_ms; });
  return schedule;
}

std::string FaultSchedule::ToString() const {
  std::string out;
  for (const Fault& f : faults) {
    if (!out.empty()) out += ",";
    out += FaultKindName(f.kind) + "@" + std::to_string(f.at_ms);
    if (f.duration_ms > 0) out += "+" + std::to_string(f.duration_ms);
    if (f.count > 0) out += "x" + std::to_string(f.count);
    if (f.cluster >= 0) out += "#" + std::to_string(f.cluster);
  }
  return out;
}

std::string FaultSchedule::Summary() const {
  std::map<FaultKind, int> counts;
  for (const Fault& f : faults) counts[f.kind]++;
  if (faults.empty()) return "no faults";
  std::string out = std::to_string(faults.size()) + (faults.size() == 1 ? " fault" : " faults");
  const char* sep = " (";
  for (FaultKind k : {FaultKind::kDropWatches, FaultKind::kStall, FaultKind::kCompact, FaultKind::kDown,
                      FaultKind::kDeleteWhileAway}) {
    if (counts[k] == 0) continue;
    out += sep + std::to_string(counts[k]) + " " + FaultKindName(k);
    sep = ", ";
  }
  return out + ")";
}

}  // namespace kl::simulator
