// The CPU per event of the ingest event check, side by side with the same
// verdict from simdjson's DOM parser and with simdjson's stage 1 alone (the
// least a validator built on it spends), on the events ingest_bench ships
// (simulator pods wrapped as collector events, ~2.5 KB) and, when at hand, on
// the real Kubernetes objects of ../shared/k8s-fixtures wrapped as events.
//
//   build/bench/event_validator_bench [--events 2000] [--rounds 7] [--fixtures DIR]
//
// Each round runs the four over all events in turn (one thread, thread CPU
// time); the summary gives the median and lowest per event over the rounds.
// "hot" repeats each event 8 times in a row (its bytes in L1), "stream" goes
// through all events once per pass (as the central side meets them). "walk,
// no shapes" is the validator walking every event whole, without the shapes
// it remembers (EventValidator::Shape).
// KL_BENCH_ONLY="EventValidator" (or "walk, no shapes", "simdjson DOM",
// "stage 1 alone") runs only that check, 200 passes over the simulator pods,
// for `perf record`.
#include <simdjson.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "collector/event.h"
#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "ingest/event_validator.h"
#include "pod_events.h"
#include "simulator/models.h"

namespace {

using namespace kl;

double ThreadCpu() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "event_validator_bench: %s\n", what.c_str());
  std::exit(1);
}

std::vector<std::string> SimulatorEvents(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(bench::MakePodEvent(i).content);
  return out;
}

// Each JSON object of the fixtures (whole files, else NDJSON lines) as an event's obj.
std::vector<std::string> FixtureEvents(const std::string& dir) {
  std::vector<std::string> out;
  if (dir.empty() || !std::filesystem::exists(dir)) return out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    auto text = ReadFile(entry.path().string());
    if (!text.ok()) continue;
    std::vector<std::string> docs;
    if (ingest::IsValidJsonForDom(*text)) {
      docs.push_back(*text);
    } else {
      size_t from = 0;
      while (from < text->size()) {
        size_t nl = text->find('\n', from);
        if (nl == std::string::npos) nl = text->size();
        std::string line = text->substr(from, nl - from);
        if (ingest::IsValidJsonForDom(line) && !line.empty() && line[0] == '{') docs.push_back(line);
        from = nl + 1;
      }
    }
    for (const std::string& d : docs) {
      if (d.find_first_not_of(" \t\r\n") == std::string::npos || d[d.find_first_not_of(" \t\r\n")] != '{') continue;
      out.push_back(R"({"type":"ADDED","obj":)" + d + R"(,"kind":"Pod","uid":"u","resourceversion":"1"})");
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 2000, rounds = 7;
  std::string fixtures = "../shared/k8s-fixtures";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--events") {
      n = std::atoi(next().c_str());
    } else if (a == "--rounds") {
      rounds = std::atoi(next().c_str());
    } else if (a == "--fixtures") {
      fixtures = next();
    } else {
      Die("unknown argument " + a);
    }
  }
  std::map<std::string, std::vector<std::string>> sets;
  sets["simulator pods"] = SimulatorEvents(n);
  if (auto f = FixtureEvents(fixtures); !f.empty()) sets["k8s-fixtures objects"] = std::move(f);

  ingest::EventValidator validator;
  ingest::EventValidator walk_only(/*remember_shapes=*/false);
  simdjson::dom::parser stage1_parser;
  using Check = std::function<bool(const std::string&)>;
  const std::vector<std::pair<std::string, Check>> checks = {
      {"EventValidator", [&](const std::string& e) { return validator.ValidateEvent(e).ok(); }},
      {"walk, no shapes", [&](const std::string& e) { return walk_only.ValidateEvent(e).ok(); }},
      {"simdjson DOM", [&](const std::string& e) { return ingest::ValidateEventWithDom(e).ok(); }},
      {"stage 1 alone",
       [&](const std::string& e) {
         if (stage1_parser.capacity() < e.size() && stage1_parser.allocate(e.size()) != simdjson::SUCCESS) return false;
         return stage1_parser.implementation->stage1(reinterpret_cast<const uint8_t*>(e.data()), e.size(),
                                                     simdjson::stage1_mode::regular) == simdjson::SUCCESS;
       }},
  };
  if (const char* only = std::getenv("KL_BENCH_ONLY")) {
    for (const auto& [name, check] : checks) {
      if (name != only) continue;
      for (int r = 0; r < 200; ++r) {
        for (const auto& e : sets["simulator pods"]) {
          if (!check(e)) Die(name + " refused an event");
        }
      }
    }
    return 0;
  }
  for (const auto& [set_name, events] : sets) {
    size_t bytes = 0;
    for (const auto& e : events) bytes += e.size();
    std::printf("%s: %zu events, %.0f bytes each on average\n", set_name.c_str(), events.size(),
                static_cast<double>(bytes) / static_cast<double>(events.size()));
    for (const char* mode : {"hot", "stream"}) {
      int repeat = std::string(mode) == "hot" ? 8 : 1;
      uint64_t known_before = validator.known_shapes(), events_before = validator.events();
      std::map<std::string, std::vector<double>> us;
      for (int r = 0; r < rounds; ++r) {
        for (const auto& [name, check] : checks) {
          double t0 = ThreadCpu();
          for (const auto& e : events) {
            for (int k = 0; k < repeat; ++k) {
              if (!check(e)) Die(name + " refused an event");
            }
          }
          us[name].push_back((ThreadCpu() - t0) / static_cast<double>(events.size() * repeat) * 1e6);
        }
      }
      for (const auto& [name, check] : checks) {
        std::vector<double>& x = us[name];
        std::sort(x.begin(), x.end());
        std::printf("  %-6s %-16s %6.3f us/event (lowest %6.3f)", mode, name.c_str(), x[x.size() / 2], x.front());
        if (name == "EventValidator") {
          std::vector<double>& d = us["simdjson DOM"];
          std::sort(d.begin(), d.end());
          std::printf("  = %.2fx the DOM's", x[x.size() / 2] / d[d.size() / 2]);
        }
        std::printf("\n");
      }
      std::printf("  %-6s EventValidator met a known shape in %.1f %% of the events\n", mode,
                  100.0 * static_cast<double>(validator.known_shapes() - known_before) /
                      static_cast<double>(std::max<uint64_t>(1, validator.events() - events_before)));
    }
  }
  return 0;
}
