// Steady state and soak of the whole warehouse in one process (collector,
// embedded log, every job), fed by a simulated fleet that churns at a fixed
// rate (simulator in a child process, so only kubelake's CPU counts):
//
//   1. initial load of the fleet, until the warehouse has caught up;
//   2. a warm-up, then every --report-seconds: events and events per
//      CPU-second, cores used, resident memory, per job its CPU, commits per
//      second and CPU per commit, per table its files (of them manifests and
//      manifest lists), bytes, snapshots and tags;
//   3. at the end, the first and last report's files side by side (a
//      warehouse whose file count and size depend on its uptime shows here).
//
//   build/bench/soak_bench [--minutes 30] [--report-seconds 60] [--warmup-seconds 30]
//       [--clusters 2] [--pods 60000] [--nodes 1000] [--churn-pods 100] [--churn-updates 200]
//       [--churn-scales 1] [--churn-cordons 0.2] [--commit-interval-ms 500] [--file-format avro|parquet]
//       [--ads-tag-period daily|hourly|1min|...] [--ads-tags-retained 30] [--deleted-retention "1 h"] [--dir DIR]
//
// Without --dir the warehouse, log and simulator live in /tmp/kubelake-soak-bench-<pid>,
// removed at the end (runs side by side do not share it); a --dir given is kept.
//
// A short --ads-tag-period (a minute or more) plays the ADS tables' daily tags
// at a faster clock: with 1min, the 30 tags they keep exist after 30 minutes.
//
// The defaults are the fleet of the steady-state figures in docs/pipeline.md
// (2 clusters of ~100 K objects, ~800 events/s).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "bench_util.h"
#include "common/clock.h"
#include "table/schema/options.h"

using namespace kl;

namespace {

struct Args {
  double minutes = 30;
  double report_s = 60;
  double warmup_s = 30;
  int clusters = 2;
  int pods = 60000;
  int nodes = 1000;
  double churn_pods = 100, churn_updates = 200, churn_scales = 1, churn_cordons = 0.2;
  int64_t commit_ms = pipeline::WarehouseOptions{}.commit_interval_ms;
  std::string file_format = pipeline::WarehouseOptions{}.file_format;
  std::string ads_tag_period = pipeline::WarehouseOptions{}.ads_tag_period;
  int ads_tags_retained = pipeline::WarehouseOptions{}.ads_tags_retained;
  std::string deleted_retention = pipeline::WarehouseOptions{}.deleted_retention;
  std::string dir;  // empty: a scratch directory of this process
};

struct Sample {
  double wall = 0;
  double cpu = 0;
  double collector_cpu = 0;
  uint64_t events = 0;
  std::vector<pipeline::JobStatus> jobs;
  std::map<std::string, bench::TreeSize> tables;
  std::map<std::string, int64_t> snapshots;
  std::map<std::string, int64_t> manifests;  // files under manifest/
  std::map<std::string, int64_t> tags;
  bench::TreeSize warehouse, log;
  int64_t rss = 0;
};

Sample Take(bench::Warehouse* w, const std::string& dir, int64_t t0) {
  Sample s;
  s.wall = static_cast<double>(MonotonicMicros() - t0) / 1e6;
  s.cpu = bench::CpuSeconds();
  s.collector_cpu = static_cast<double>(w->collector->LoopCpuMicros()) / 1e6;
  s.events = w->sink->events_written();
  s.jobs = w->runner->Status();
  std::string db = dir + "/warehouse/" + w->options.database + ".db";
  auto names = ListDir(db);
  if (names.ok()) {
    for (const auto& t : *names) {
      s.tables[t] = bench::SizeOf(db + "/" + t);
      s.snapshots[t] = bench::CountSnapshots(db + "/" + t);
      s.manifests[t] = bench::SizeOf(db + "/" + t + "/manifest").files;
      s.tags[t] = bench::SizeOf(db + "/" + t + "/tag").files;
    }
  }
  s.warehouse = bench::SizeOf(dir + "/warehouse");
  s.log = bench::SizeOf(dir + "/log");
  s.rss = bench::RssBytes();
  return s;
}

// `objects`: the fleet's objects at the start (churn keeps their number about steady).
void Report(const char* title, const Sample& a, const Sample& b, int64_t objects) {
  double wall = b.wall - a.wall, cpu = b.cpu - a.cpu;
  double events = static_cast<double>(b.events - a.events);
  std::printf(
      "%s (t=%.0fs, %.0fs window): %.0f events (%.0f/s), %.2f cores (%.1f CPU s), %.0f events per CPU-second, "
      "RSS %.0f MB (%.0f B per object)\n",
      title, b.wall, wall, events, events / wall, cpu / wall, cpu, events / std::max(cpu, 1e-9),
      static_cast<double>(b.rss) / 1e6,
      static_cast<double>(b.rss) / static_cast<double>(std::max<int64_t>(1, objects)));
  std::printf("  %-22s %7s %9s %10s %9s   %s\n", "thread", "CPU s", "commits/s", "ms/commit", "us/event",
              "ms/commit: flush, compact, commit, expire");
  double collector = b.collector_cpu - a.collector_cpu;
  std::printf("  %-22s %7.2f %9s %10s %9.1f\n", "collector", collector, "", "", collector / events * 1e6);
  double jobs_cpu = 0;
  for (size_t i = 0; i < b.jobs.size() && i < a.jobs.size(); ++i) {
    const auto& x = a.jobs[i];
    const auto& y = b.jobs[i];
    double c = y.cpu_seconds - x.cpu_seconds;
    jobs_cpu += c;
    double commits = static_cast<double>(y.commits - x.commits);
    auto per = [&](double a, double b) { return commits > 0 ? (b - a) / commits * 1e3 : 0.0; };
    std::printf("  %-22s %7.2f %9.2f %10.1f %9.1f   %.1f, %.1f, %.1f, %.1f\n", y.name.c_str(), c, commits / wall,
                commits > 0 ? c / commits * 1e3 : 0.0, c / events * 1e6, per(x.table_cpu.flush, y.table_cpu.flush),
                per(x.table_cpu.compact, y.table_cpu.compact), per(x.table_cpu.commit, y.table_cpu.commit),
                per(x.table_cpu.expire, y.table_cpu.expire));
  }
  std::printf("  %-22s %7.2f\n", "other (log, main)", cpu - collector - jobs_cpu);
  std::printf("  %-22s %7s %9s %9s %9s %5s\n", "table", "files", "manifests", "MB", "snapshots", "tags");
  for (const auto& [name, size] : b.tables) {
    std::printf("  %-22s %7lld %9lld %9.1f %9lld %5lld\n", name.c_str(), static_cast<long long>(size.files),
                static_cast<long long>(b.manifests.at(name)), static_cast<double>(size.bytes) / 1e6,
                static_cast<long long>(b.snapshots.at(name)), static_cast<long long>(b.tags.at(name)));
  }
  std::printf("  %-22s %7lld %9.1f\n", "warehouse", static_cast<long long>(b.warehouse.files),
              static_cast<double>(b.warehouse.bytes) / 1e6);
  std::printf("  %-22s %7lld %9.1f\n", "log", static_cast<long long>(b.log.files),
              static_cast<double>(b.log.bytes) / 1e6);
  std::fflush(stdout);
}

bool Flag(int argc, char** argv, int* i, const char* name, std::string* out) {
  if (std::string(argv[*i]) != name || *i + 1 >= argc) return false;
  *out = argv[++*i];
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (Flag(argc, argv, &i, "--minutes", &v))
      a.minutes = std::atof(v.c_str());
    else if (Flag(argc, argv, &i, "--report-seconds", &v))
      a.report_s = std::atof(v.c_str());
    else if (Flag(argc, argv, &i, "--warmup-seconds", &v))
      a.warmup_s = std::atof(v.c_str());
    else if (Flag(argc, argv, &i, "--clusters", &v))
      a.clusters = std::atoi(v.c_str());
    else if (Flag(argc, argv, &i, "--pods", &v))
      a.pods = std::atoi(v.c_str());
    else if (Flag(argc, argv, &i, "--nodes", &v))
      a.nodes = std::atoi(v.c_str());
    else if (Flag(argc, argv, &i, "--churn-pods", &v))
      a.churn_pods = std::atof(v.c_str());
    else if (Flag(argc, argv, &i, "--churn-updates", &v))
      a.churn_updates = std::atof(v.c_str());
    else if (Flag(argc, argv, &i, "--churn-scales", &v))
      a.churn_scales = std::atof(v.c_str());
    else if (Flag(argc, argv, &i, "--churn-cordons", &v))
      a.churn_cordons = std::atof(v.c_str());
    else if (Flag(argc, argv, &i, "--commit-interval-ms", &v))
      a.commit_ms = std::atoll(v.c_str());
    else if (Flag(argc, argv, &i, "--file-format", &v))
      a.file_format = v;
    else if (Flag(argc, argv, &i, "--ads-tag-period", &v))
      a.ads_tag_period = v;
    else if (Flag(argc, argv, &i, "--ads-tags-retained", &v))
      a.ads_tags_retained = std::atoi(v.c_str());
    else if (Flag(argc, argv, &i, "--deleted-retention", &v)) {
      // Checked here, as `kubelake run` checks it: the value goes into dwd_objects' options.
      if (!table::TableOptions({{"record-level.expire-time", v}}).Validate().ok()) {
        std::fprintf(stderr, "--deleted-retention takes a duration such as \"1 h\" or \"30 min\", not \"%s\"\n",
                     v.c_str());
        return 2;
      }
      a.deleted_retention = v;
    } else if (Flag(argc, argv, &i, "--dir", &v))
      a.dir = v;
    else {
      std::fprintf(stderr, "unknown argument %s (see the header of bench/soak_bench.cc)\n", argv[i]);
      return 2;
    }
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::optional<bench::ScratchDir> scratch;
  if (a.dir.empty()) {
    scratch.emplace("soak-bench");
    a.dir = scratch->path();
  } else {
    (void)RemoveAll(a.dir);
    (void)CreateDirs(a.dir);
  }
  auto num = [](double d) {
    char b[32];
    std::snprintf(b, sizeof(b), "%g", d);
    return std::string(b);
  };
  double total_s = a.minutes * 60 + a.warmup_s;
  auto sim = bench::StartSimulator(
      bench::KubelakeBinary(argv[0]), a.dir,
      {"--clusters", std::to_string(a.clusters), "--pods", std::to_string(a.pods), "--nodes", std::to_string(a.nodes),
       "--churn-pods", num(a.churn_pods), "--churn-updates", num(a.churn_updates), "--churn-scales",
       num(a.churn_scales), "--churn-cordons", num(a.churn_cordons), "--duration", num(total_s + 1200)});
  if (!sim.ok()) {
    std::fprintf(stderr, "%s\n", sim.status().ToString().c_str());
    return 1;
  }
  pipeline::WarehouseOptions o;
  o.commit_interval_ms = a.commit_ms;
  o.file_format = a.file_format;
  o.ads_tag_period = a.ads_tag_period;
  o.ads_tags_retained = a.ads_tags_retained;
  o.deleted_retention = a.deleted_retention;
  int64_t objects = 0;
  for (const auto& c : (*sim)->clusters) {
    for (const auto& [kind, n] : bench::TruthCounts(c)) objects += n;
  }
  int64_t t0 = MonotonicMicros();
  auto w = bench::StartWarehouse(a.dir, (*sim)->kubeconfig, o);
  if (!w.ok()) {
    std::fprintf(stderr, "%s\n", w.status().ToString().c_str());
    return 1;
  }
  bench::Warehouse* wh = w->get();
  std::printf(
      "soak: %d clusters x %d pods, %d nodes; churn per cluster and second: %g pod replacements, %g updates, "
      "%g scales, %g cordons; %lld objects at the start; commit interval %lld ms, %s files; ADS tags every %s, %d "
      "kept; deleted objects kept %s\n",
      a.clusters, a.pods, a.nodes, a.churn_pods, a.churn_updates, a.churn_scales, a.churn_cordons,
      static_cast<long long>(objects), static_cast<long long>(a.commit_ms), a.file_format.c_str(),
      a.ads_tag_period.c_str(), a.ads_tags_retained,
      a.deleted_retention.empty() ? "for ever" : a.deleted_retention.c_str());
  // Caught up: every watch is watching and DWD has read what the collector
  // had written a second earlier.
  uint64_t written_before = 0;
  while (true) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    bool watching = true;
    for (const auto& s : wh->collector->Stats()) watching &= s.state == collector::WatchState::kWatching;
    uint64_t dwd_in = 0;
    for (const auto& j : wh->runner->Status()) {
      if (j.name == "dwd") dwd_in = j.changes_in;
    }
    if (watching && written_before > 0 && dwd_in >= written_before) break;
    written_before = wh->sink->events_written();
    if (MonotonicMicros() - t0 > 900'000'000) {
      std::fprintf(stderr, "the warehouse did not catch up with the initial load in 15 minutes\n");
      return 1;
    }
  }
  Sample loaded = Take(wh, a.dir, t0);
  std::printf("initial load caught up after %.1f s: %llu events, %.1f CPU s, RSS %.0f MB, peak %.0f MB\n", loaded.wall,
              static_cast<unsigned long long>(loaded.events), loaded.cpu, static_cast<double>(loaded.rss) / 1e6,
              static_cast<double>(bench::PeakRssBytes()) / 1e6);
  std::this_thread::sleep_for(std::chrono::duration<double>(a.warmup_s));
  Sample start = Take(wh, a.dir, t0);
  Sample first, prev = start;
  std::map<std::string, int64_t> most_files;
  int n = 0;
  int reports = std::max(1, static_cast<int>(a.minutes * 60 / a.report_s + 0.5));
  for (n = 1; n <= reports; ++n) {
    std::this_thread::sleep_for(std::chrono::duration<double>(a.report_s));
    Sample s = Take(wh, a.dir, t0);
    if (!wh->collector->status().ok()) {
      std::fprintf(stderr, "collector failed: %s\n", wh->collector->status().ToString().c_str());
      return 1;
    }
    char title[64];
    std::snprintf(title, sizeof(title), "report %d", n);
    Report(title, prev, s, objects);
    if (n == 1) first = s;
    for (const auto& [name, size] : s.tables) most_files[name] = std::max(most_files[name], size.files);
    prev = s;
  }
  Report("whole steady state", start, prev, objects);
  std::printf("files and bytes, first report -> last report (most files of any report):\n");
  for (const auto& [name, size] : prev.tables) {
    auto f = first.tables.find(name);
    std::printf("  %-22s %7lld -> %7lld files (%lld), %8.1f -> %8.1f MB\n", name.c_str(),
                static_cast<long long>(f == first.tables.end() ? 0 : f->second.files),
                static_cast<long long>(size.files), static_cast<long long>(most_files[name]),
                static_cast<double>(f == first.tables.end() ? 0 : f->second.bytes) / 1e6,
                static_cast<double>(size.bytes) / 1e6);
  }
  wh->Stop();
  (*sim)->Stop();
  return 0;
}
