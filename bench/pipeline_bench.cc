// End-to-end figures of the warehouse on one machine (the simulator runs in a
// child process, so only kubelake's CPU counts):
//
//  1. initial load, live: a simulated fleet of --clusters clusters of --pods
//     real-size pods collected, logged and processed until ADS shows every
//     pod; events/s of wall time and per CPU-second of this process
//     (collector + log + all jobs), per job CPU, peak RSS and bytes per object;
//  2. initial load, staged: the collector alone fills the log, then the jobs
//     process the whole backlog (a relist of a fleet arriving faster than the
//     jobs keep up), each stage timed on its own: CPU per event of the
//     collector and of every job, and end to end, independent of which side
//     happened to be the bottleneck of a live run;
//  3. freshness under steady churn: probe pods created and deleted in the
//     simulator's store; time until an ADS read shows the change; p50/p99 —
//     once under light churn (300 changes/s) and once under a background load
//     of --background-events-per-s (20,000; 0 skips it) spread over the fleet.
//
// Each runs the warehouse `kubelake run` runs — its SQL (sql/warehouse/warehouse.sql)
// — and, for comparison, the hand-wired jobs of pipeline/warehouse/warehouse.cc, one
// after the other in one run (--jobs sql|hand|both); with both, a table at the
// end puts their figures side by side. --rounds N repeats every phase N times,
// alternating the two warehouses (so neither always runs on the warmer
// process), and the table shows each figure's median.
//
// --threads 1,2 runs everything once per count N: the process (and the
// simulator it starts) is confined to N of its cores and table commits use N
// threads (kubelake run --threads); a table at the end shows wall and CPU
// seconds at each N and the speed-up over the first.
//
//   build/bench/pipeline_bench [--pods 150000] [--clusters 1] [--probes 100] [--commit-interval-ms 500]
//       [--file-format avro|parquet] [--jobs sql|hand|both] [--rounds 1] [--threads N[,N...]]
//       [--background-events-per-s 20000] [--load-only | --staged-only | --freshness-only]
#include <dirent.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>

#include "bench_util.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/string_util.h"
#include "common/worker_pool.h"
#include "simulator/fleet.h"
#include "simulator/models.h"
#include "simulator/resources.h"
#include "sql/warehouse/warehouse.h"

using namespace kl;

namespace {

struct Args {
  size_t pods = 150000;
  int clusters = 1;
  int probes = 100;
  int64_t commit_ms = pipeline::WarehouseOptions{}.commit_interval_ms;
  std::string file_format = pipeline::WarehouseOptions{}.file_format;
  std::string jobs = "both";  // sql, hand or both
  int rounds = 1;
  std::vector<int> threads;   // empty: as configured (all cores, default parallelism)
  double background = 20000;  // events/s of the second freshness run; 0: light churn only
};

constexpr char kUsage[] =
    "usage: pipeline_bench [--pods N (150000)] [--clusters N (1)] [--probes N (100)] [--commit-interval-ms MS (500)]\n"
    "                      [--file-format avro|parquet] [--jobs sql|hand|both] [--rounds N (1)]\n"
    "                      [--threads N[,N...]] [--background-events-per-s N (20000; 0 = off)]\n"
    "                      [--load-only | --staged-only | --freshness-only]\n"
    "  initial load live (simulator -> collector -> log -> jobs -> ADS), initial load staged (the jobs on a\n"
    "  backlog), and freshness probes under churn, for the SQL warehouse and/or the hand-wired jobs.\n"
    "  --threads 1,2: everything once per N, on N cores with N commit threads, and a table of wall and CPU\n"
    "  seconds at each N.\n";

// The figures of one warehouse (NaN: not measured), for the side-by-side table.
struct Figures {
  std::vector<double> live_events_per_cpu, live_cpu, live_wall, live_dwd, live_dwd_operators, live_dwd_commit,
      live_dwd_flush, live_dwd_compact, live_followers;
  std::vector<double> staged_visible, staged_wall;
  std::vector<double> staged_cpu, staged_events_per_cpu, staged_dwd, staged_dwd_operators, staged_dwd_commit,
      staged_dwd_flush, staged_dwd_compact, staged_followers;
  std::vector<double> fresh_p50, fresh_p99, fresh_max;
  std::vector<double> loaded_rate, loaded_p50, loaded_p99, loaded_max;  // freshness under the background load
};

double Median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// DWD's CPU, its operators' and its commits' shares (and the commits' flushes and
// compactions); the jobs following DWD, together.
struct JobSplit {
  double dwd = 0, dwd_operators = 0, dwd_commit = 0, dwd_flush = 0, dwd_compact = 0, followers = 0;
};

JobSplit SplitJobs(const std::vector<pipeline::JobStatus>& jobs) {
  JobSplit s;
  for (const auto& j : jobs) {
    if (j.name == "dwd") {
      s.dwd = j.cpu_seconds;
      s.dwd_operators = j.cpu_operators_seconds;
      s.dwd_commit = j.cpu_commit_seconds;
      s.dwd_flush = j.table_cpu.flush;
      s.dwd_compact = j.table_cpu.compact;
    } else if (j.name != "ods") {
      s.followers += j.cpu_seconds;
    }
  }
  return s;
}

void PrintSideBySide(const Figures& sql, const Figures& hand, int rounds) {
  std::printf("\nside by side%s: SQL warehouse | hand-wired jobs | SQL / hand-wired\n",
              rounds > 1 ? (" (median of " + std::to_string(rounds) + " rounds)").c_str() : "");
  auto row = [](const char* what, const std::vector<double>& a, const std::vector<double>& b, const char* fmt) {
    double x = Median(a), y = Median(b);
    if (std::isnan(x) && std::isnan(y)) return;
    char xs[32], ys[32];
    std::snprintf(xs, sizeof(xs), fmt, x);
    std::snprintf(ys, sizeof(ys), fmt, y);
    std::printf("  %-58s %10s | %10s | %5.2f\n", what, xs, ys, x / y);
  };
  row("initial load, live: events per CPU-second", sql.live_events_per_cpu, hand.live_events_per_cpu, "%.0f");
  row("initial load, live: CPU s (collector + log + jobs)", sql.live_cpu, hand.live_cpu, "%.2f");
  row("initial load, live: wall s until ADS shows every pod", sql.live_wall, hand.live_wall, "%.1f");
  row("initial load, live: DWD job CPU s", sql.live_dwd, hand.live_dwd, "%.2f");
  row("initial load, live: DWD operators CPU s", sql.live_dwd_operators, hand.live_dwd_operators, "%.2f");
  row("initial load, live: DWD commits CPU s (flush, compaction)", sql.live_dwd_commit, hand.live_dwd_commit, "%.2f");
  row("initial load, live: ... of which flushes", sql.live_dwd_flush, hand.live_dwd_flush, "%.2f");
  row("initial load, live: ... of which compactions", sql.live_dwd_compact, hand.live_dwd_compact, "%.2f");
  row("initial load, live: jobs following DWD, CPU s", sql.live_followers, hand.live_followers, "%.2f");
  row("initial load, staged: jobs CPU s", sql.staged_cpu, hand.staged_cpu, "%.2f");
  row("initial load, staged: events per CPU-second (end to end)", sql.staged_events_per_cpu, hand.staged_events_per_cpu,
      "%.0f");
  row("initial load, staged: DWD job CPU s", sql.staged_dwd, hand.staged_dwd, "%.2f");
  row("initial load, staged: DWD operators CPU s", sql.staged_dwd_operators, hand.staged_dwd_operators, "%.2f");
  row("initial load, staged: DWD commits CPU s (flush, compaction)", sql.staged_dwd_commit, hand.staged_dwd_commit,
      "%.2f");
  row("initial load, staged: ... of which flushes", sql.staged_dwd_flush, hand.staged_dwd_flush, "%.2f");
  row("initial load, staged: ... of which compactions", sql.staged_dwd_compact, hand.staged_dwd_compact, "%.2f");
  row("initial load, staged: jobs following DWD, CPU s", sql.staged_followers, hand.staged_followers, "%.2f");
  row("freshness: p50 ms", sql.fresh_p50, hand.fresh_p50, "%.0f");
  row("freshness: p99 ms", sql.fresh_p99, hand.fresh_p99, "%.0f");
  row("freshness: max ms", sql.fresh_max, hand.fresh_max, "%.0f");
  row("freshness under load: events/s", sql.loaded_rate, hand.loaded_rate, "%.0f");
  row("freshness under load: p50 ms", sql.loaded_p50, hand.loaded_p50, "%.0f");
  row("freshness under load: p99 ms", sql.loaded_p99, hand.loaded_p99, "%.0f");
  row("freshness under load: max ms", sql.loaded_max, hand.loaded_max, "%.0f");
}

// Confines every thread of this process (and children started later) to the
// first `n` of the cores it may use now, and table commits to `n` threads.
Status UseCores(int n, const cpu_set_t& allowed) {
  cpu_set_t set;
  CPU_ZERO(&set);
  int taken = 0;
  for (int c = 0; c < CPU_SETSIZE && taken < n; ++c) {
    if (CPU_ISSET(c, &allowed)) {
      CPU_SET(c, &set);
      ++taken;
    }
  }
  if (taken < n) {
    return Status::InvalidArgument("--threads " + std::to_string(n) + ": this process may use " +
                                   std::to_string(taken) + " cores");
  }
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return Status::IOError("opening /proc/self/task");
  while (dirent* e = readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    if (sched_setaffinity(static_cast<pid_t>(std::atoi(e->d_name)), sizeof(set), &set) != 0) {
      closedir(tasks);
      return Status::IOError(std::string("setting the CPU affinity of thread ") + e->d_name);
    }
  }
  closedir(tasks);
  WorkerPool::SetDefaultParallelism(n);
  return Status::OK();
}

// Wall and CPU seconds at each thread count, and the speed-up of wall time over the first count.
void PrintThreads(const std::vector<int>& threads, const std::vector<Figures>& figures, const char* label) {
  std::printf("\nthreads, %s:\n", label);
  std::printf("  %-58s", "threads (cores, commit threads)");
  for (int n : threads) std::printf(" %9d", n);
  std::printf("\n");
  auto row = [&](const char* what, std::vector<double> Figures::*field, const char* fmt, bool speedup) {
    if (std::all_of(figures.begin(), figures.end(), [&](const Figures& f) { return (f.*field).empty(); })) return;
    std::printf("  %-58s", what);
    for (const auto& f : figures) std::printf(fmt, Median(f.*field));
    std::printf("\n");
    if (!speedup) return;
    std::printf("  %-58s", "  speed-up over the first");
    double base = Median(figures.front().*field);
    for (const auto& f : figures) std::printf(" %8.2fx", base / Median(f.*field));
    std::printf("\n");
  };
  row("initial load, live: wall s until ADS shows every pod", &Figures::live_wall, " %9.2f", true);
  row("initial load, live: CPU s (collector + log + jobs)", &Figures::live_cpu, " %9.2f", false);
  row("initial load, live: DWD job CPU s", &Figures::live_dwd, " %9.2f", false);
  row("initial load, staged: jobs wall s until ADS complete", &Figures::staged_visible, " %9.2f", true);
  row("initial load, staged: jobs wall s until all caught up", &Figures::staged_wall, " %9.2f", true);
  row("initial load, staged: jobs CPU s", &Figures::staged_cpu, " %9.2f", false);
  row("initial load, staged: DWD job CPU s", &Figures::staged_dwd, " %9.2f", false);
  row("freshness: p99 ms", &Figures::fresh_p99, " %9.0f", false);
  row("freshness under background load: p99 ms", &Figures::loaded_p99, " %9.0f", false);
}

const char* Label(bool sql) { return sql ? "SQL warehouse (kubelake run)" : "hand-wired jobs"; }

Result<int64_t> AdsCount(const pipeline::WarehouseOptions& o, const std::string& kind, const std::string& ns) {
  const char* name = ns.empty() ? pipeline::kAdsKindCountTable : pipeline::kAdsNamespaceCountTable;
  KL_ASSIGN_OR_RETURN(auto t, table::Catalog(o.warehouse).GetTable(o.database, name));
  KL_ASSIGN_OR_RETURN(auto rows, t->ReadAll());
  int64_t total = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    format::Row r = rows.rows.GetRow(i);
    if (r[1].as_bytes() != kind) continue;
    if (!ns.empty() && (r[2].is_null() || r[2].as_bytes() != ns)) continue;
    total += r[ns.empty() ? 2 : 3].as_int();
  }
  return total;
}

pipeline::WarehouseOptions Options(const Args& a) {
  pipeline::WarehouseOptions o;
  o.commit_interval_ms = a.commit_ms;
  o.follow_interval_ms = 50;
  o.file_format = a.file_format;
  return o;
}

struct Fleet {
  std::unique_ptr<bench::SimulatorProcess> sim;
  int64_t pods = 0, objects = 0;
};

Result<Fleet> StartFleet(const std::string& kubelake, const std::string& dir, const Args& a) {
  Fleet f;
  KL_ASSIGN_OR_RETURN(f.sim, bench::StartSimulator(
                                 kubelake, dir,
                                 {"--clusters", std::to_string(a.clusters), "--pods", std::to_string(a.pods), "--nodes",
                                  std::to_string(std::max<size_t>(3, a.pods / 100)), "--duration", "1800"}));
  for (const auto& c : f.sim->clusters) {
    auto counts = bench::TruthCounts(c);
    for (const auto& [kind, n] : counts) {
      f.objects += n;
      if (kind == "Pod") f.pods += n;
    }
  }
  if (f.objects == 0) return Status::Unavailable("the simulator's truth is empty");
  return f;
}

std::string JobLines(const std::vector<pipeline::JobStatus>& jobs, double events) {
  std::string out;
  for (const auto& j : jobs) {
    if (j.cpu_seconds < 0.005) continue;
    char line[400];
    std::snprintf(line, sizeof(line),
                  "\n    %-20s %5.2fs %5.1f us/event (source %.2f, operators %.2f, write %.2f, commit %.2f; writer: "
                  "flush %.2f, compact %.2f, of which on worker threads %.2f)",
                  j.name.c_str(), j.cpu_seconds, j.cpu_seconds / events * 1e6, j.cpu_poll_seconds,
                  j.cpu_operators_seconds, j.cpu_write_seconds, j.cpu_commit_seconds, j.table_cpu.flush,
                  j.table_cpu.compact, j.table_cpu.workers);
    out += line;
    const table::BucketWork& w = j.table_cpu.work;
    if (w.flushes > 0) {
      std::snprintf(
          line, sizeof(line),
          "\n    %-20s %lld flushes of %.0f records, %lld compactions rewriting %.2f rows per flushed "
          "record (%.0f MB), %lld lookups: %lld hits, %lld block reads, %lld changelog files copied",
          "", static_cast<long long>(w.flushes),
          static_cast<double>(w.flushed_records) / static_cast<double>(w.flushes),
          static_cast<long long>(w.compactions),
          static_cast<double>(w.compacted_rows) / static_cast<double>(std::max<int64_t>(1, w.flushed_records)),
          static_cast<double>(w.compacted_bytes) / 1e6, static_cast<long long>(w.lookups),
          static_cast<long long>(w.lookup_hits), static_cast<long long>(w.lookup_block_reads),
          static_cast<long long>(w.changelog_copies));
      out += line;
    }
  }
  return out;
}

// Per job between two status reads: commits per second, their mean wall time
// and the job's share of a core — where a change's way to ADS spends its time.
std::string CommitLines(const std::vector<pipeline::JobStatus>& before, const std::vector<pipeline::JobStatus>& after,
                        double seconds) {
  std::string out;
  for (const auto& j : after) {
    const pipeline::JobStatus* b = nullptr;
    for (const auto& x : before) b = x.name == j.name ? &x : b;
    uint64_t commits = j.commit_seconds.count() - (b ? b->commit_seconds.count() : 0);
    if (commits == 0) continue;
    double commit_s = j.commit_seconds.sum() - (b ? b->commit_seconds.sum() : 0);
    double cpu = j.cpu_seconds - (b ? b->cpu_seconds : 0);
    char line[200];
    std::snprintf(line, sizeof(line), "\n    %-20s %4.1f commits/s, %5.1f ms each (wall), %.2f cores", j.name.c_str(),
                  static_cast<double>(commits) / seconds, commit_s / static_cast<double>(commits) * 1e3, cpu / seconds);
    out += line;
  }
  return out;
}

void PrintMemory(const Fleet& f) {
  int64_t peak = bench::PeakRssBytes(), rss = bench::RssBytes();
  std::printf("  memory: peak RSS %.0f MB = %.0f B per object; RSS at the end %.0f MB = %.0f B per object\n",
              static_cast<double>(peak) / 1e6, static_cast<double>(peak) / static_cast<double>(f.objects),
              static_cast<double>(rss) / 1e6, static_cast<double>(rss) / static_cast<double>(f.objects));
}

int LiveLoad(const std::string& kubelake, const Args& a, bool sql, Figures* fig) {
  bench::ScratchDir scratch("pipeline-bench-load");
  const std::string& dir = scratch.path();
  auto fleet = StartFleet(kubelake, dir, a);
  if (!fleet.ok()) {
    std::fprintf(stderr, "%s\n", fleet.status().ToString().c_str());
    return 1;
  }
  double cpu0 = bench::CpuSeconds();
  int64_t t0 = MonotonicMicros();
  auto w = bench::StartWarehouse(dir, fleet->sim->kubeconfig, Options(a), sql);
  if (!w.ok()) {
    std::fprintf(stderr, "%s\n", w.status().ToString().c_str());
    return 1;
  }
  int64_t seen = 0;
  while (seen != fleet->pods && (MonotonicMicros() - t0) < 900'000'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto c = bench::AdsLiveCount((*w)->options, "Pod");
    if (c.ok()) seen = *c;
  }
  double wall = static_cast<double>(MonotonicMicros() - t0) / 1e6;
  double cpu = bench::CpuSeconds() - cpu0;
  double events = static_cast<double>((*w)->sink->events_written());
  auto jobs = (*w)->runner->Status();
  double collector_cpu = static_cast<double>((*w)->collector->LoopCpuMicros()) / 1e6;
  (*w)->Stop();
  fleet->sim->Stop();
  if (seen != fleet->pods) {
    std::fprintf(stderr, "ADS shows %lld pods, expected %lld\n", static_cast<long long>(seen),
                 static_cast<long long>(fleet->pods));
    return 1;
  }
  std::printf(
      "initial load, live, %s: %d cluster(s) x %zu workload pods (%lld objects, %.0f events) from "
      "simulator to ADS\n",
      Label(sql), a.clusters, a.pods, static_cast<long long>(fleet->objects), events);
  std::printf(
      "  visible in ADS after %.1f s wall: %.0f events/s; %.0f events per CPU-second of collector+log+jobs "
      "(%.1f CPU s, jobs still behind not counted)\n",
      wall, events / wall, events / cpu, cpu);
  std::printf("  CPU: collector %.2fs %.1f us/event; jobs:%s\n", collector_cpu, collector_cpu / events * 1e6,
              JobLines(jobs, events).c_str());
  PrintMemory(*fleet);
  JobSplit split = SplitJobs(jobs);
  fig->live_events_per_cpu.push_back(events / cpu);
  fig->live_cpu.push_back(cpu);
  fig->live_wall.push_back(wall);
  fig->live_dwd.push_back(split.dwd);
  fig->live_dwd_operators.push_back(split.dwd_operators);
  fig->live_dwd_commit.push_back(split.dwd_commit);
  fig->live_dwd_flush.push_back(split.dwd_flush);
  fig->live_dwd_compact.push_back(split.dwd_compact);
  fig->live_followers.push_back(split.followers);
  return 0;
}

int StagedLoad(const std::string& kubelake, const Args& a, bool sql, Figures* fig) {
  bench::ScratchDir scratch("pipeline-bench-staged");
  const std::string& dir = scratch.path();
  auto fleet = StartFleet(kubelake, dir, a);
  if (!fleet.ok()) {
    std::fprintf(stderr, "%s\n", fleet.status().ToString().c_str());
    return 1;
  }
  // Stage 1: the collector fills the log.
  auto w = std::make_unique<bench::Warehouse>();
  auto log = log::OpenEventLog("dir:" + dir + "/log?partitions=4&fsync=200ms");
  if (!log.ok()) return 1;
  w->log = std::move(log).value();
  auto threads0 = bench::ThreadCpuSeconds();
  bench::CpuSplit split0 = bench::ProcessCpuSplit();
  double cpu0 = bench::CpuSeconds();
  int64_t t0 = MonotonicMicros();
  auto sink = collector::LogSink::Create(w->log.get());
  collector::CollectorOptions co;
  co.clusters = fleet->sim->clusters;
  co.sink = sink->get();
  auto coll = collector::Collector::Create(co);
  if (!sink.ok() || !coll.ok() || !(*coll)->Start().ok()) return 1;
  while ((*sink)->events_written() < static_cast<uint64_t>(fleet->objects) && MonotonicMicros() - t0 < 900'000'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto threads1 = bench::ThreadCpuSeconds();  // before Stop() ends the collector's threads
  (*coll)->Stop();
  bench::CpuSplit split1 = bench::ProcessCpuSplit();
  double collect_wall = static_cast<double>(MonotonicMicros() - t0) / 1e6;
  double collect_cpu = bench::CpuSeconds() - cpu0;
  double events = static_cast<double>((*sink)->events_written());
  // The log shows records once they are synced (fsync=200ms): wait for the last ones.
  int64_t logged = 0;
  for (int i = 0; i < 100 && logged < static_cast<int64_t>(events); ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    logged = 0;
    for (int32_t p = 0; p < w->log->NumPartitions(); ++p) logged += w->log->EndOffset(p).value_or(0);
  }
  fleet->sim->Stop();
  // Stage 2: the jobs on the backlog.
  pipeline::WarehouseOptions o = Options(a);
  o.warehouse = dir + "/warehouse";
  w->options = o;
  double cpu1 = bench::CpuSeconds();
  int64_t t1 = MonotonicMicros();
  auto jobs = sql ? sql::BuildWarehouseJobs(w->log.get(), o) : pipeline::BuildWarehouseJobs(w->log.get(), o);
  if (!jobs.ok()) {
    std::fprintf(stderr, "%s\n", jobs.status().ToString().c_str());
    return 1;
  }
  w->runner = std::make_unique<pipeline::JobRunner>(std::move(jobs).value());
  w->runner->Start();
  std::vector<uint64_t> last_in;
  int still = 0;
  double visible = 0;
  int64_t report_at = t1 + 30'000'000;
  while (!bench::CaughtUp(w.get(), logged, fleet->pods, &last_in, &still) && MonotonicMicros() - t1 < 900'000'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (MonotonicMicros() > report_at) {
      report_at += 30'000'000;
      std::string state;
      for (const auto& j : w->runner->Status()) {
        int64_t sum = 0;
        for (const auto& [p, o] : j.position.log_offsets) sum += o;
        state += " " + j.name + "=" + std::to_string(j.changes_in) + "/" + std::to_string(sum);
      }
      std::fprintf(stderr, "still waiting for the jobs (%lld logged):%s\n", static_cast<long long>(logged),
                   state.c_str());
    }
    if (visible == 0) {
      auto c = bench::AdsLiveCount(o, "Pod");
      if (c.ok() && *c == fleet->pods) visible = static_cast<double>(MonotonicMicros() - t1) / 1e6;
    }
  }
  double jobs_wall = static_cast<double>(MonotonicMicros() - t1) / 1e6 - 1.0;  // the quiet second waited out
  double jobs_cpu = bench::CpuSeconds() - cpu1;
  auto status = w->runner->Status();
  w->Stop();
  std::printf("initial load, staged, %s: %d cluster(s) x %zu workload pods (%lld objects, %.0f events)\n", Label(sql),
              a.clusters, a.pods, static_cast<long long>(fleet->objects), events);
  std::printf(
      "  collector into the log: %.1f s wall, %.2f CPU s = %.1f us/event (user %.2f, sys %.2f; threads user/sys: %s)\n",
      collect_wall, collect_cpu, collect_cpu / events * 1e6, split1.user - split0.user, split1.sys - split0.sys,
      bench::ThreadCpuLine(threads0, threads1).c_str());
  std::printf(
      "  jobs on the backlog: ADS complete after %.1f s, all jobs after %.1f s wall; %.2f CPU s = %.1f "
      "us/event:%s\n",
      visible, jobs_wall, jobs_cpu, jobs_cpu / events * 1e6, JobLines(status, events).c_str());
  std::printf("  end to end: %.2f CPU s = %.0f events per CPU-second\n", collect_cpu + jobs_cpu,
              events / (collect_cpu + jobs_cpu));
  PrintMemory(*fleet);
  JobSplit split = SplitJobs(status);
  fig->staged_visible.push_back(visible);
  fig->staged_wall.push_back(jobs_wall);
  fig->staged_cpu.push_back(jobs_cpu);
  fig->staged_events_per_cpu.push_back(events / (collect_cpu + jobs_cpu));
  fig->staged_dwd.push_back(split.dwd);
  fig->staged_dwd_operators.push_back(split.dwd_operators);
  fig->staged_dwd_commit.push_back(split.dwd_commit);
  fig->staged_dwd_flush.push_back(split.dwd_flush);
  fig->staged_dwd_compact.push_back(split.dwd_compact);
  fig->staged_followers.push_back(split.followers);
  return 0;
}

// Sum of the fleet's resource versions: every write to a simulated store takes
// one, so its growth over time is the event rate the collectors see.
uint64_t FleetWrites(simulator::Fleet& fleet, size_t clusters) {
  uint64_t sum = 0;
  for (size_t c = 0; c < clusters; ++c) sum += fleet.store(c)->resource_version();
  return sum;
}

// Probes freshness under light churn (background_events_per_s == 0) or under
// a background load of about that many events/s across the fleet (mostly pod
// status updates, a tenth replacements).
int Freshness(const Args& a, bool sql, double background_events_per_s, Figures* fig) {
  bench::ScratchDir scratch("pipeline-bench-fresh");
  const std::string& dir = scratch.path();
  simulator::FleetOptions fo;
  fo.clusters = 3;
  fo.shape.nodes = 20;
  fo.shape.pods = 2000;
  fo.churn.pod_replacements = 20;
  fo.churn.pod_updates = 60;
  fo.churn.scales = 1;
  if (background_events_per_s > 0) {
    // A replacement is two events (delete, create), an update one.
    double per_cluster = background_events_per_s / fo.clusters;
    fo.churn.pod_replacements = per_cluster * 0.05;
    fo.churn.pod_updates = per_cluster * 0.9;
  }
  fo.tls = false;
  fo.auth = false;
  fo.dir = dir + "/fleet";
  auto fleet = simulator::Fleet::Create(fo);
  if (!fleet.ok() || !(*fleet)->Start().ok()) {
    std::fprintf(stderr, "fleet did not start\n");
    return 1;
  }
  auto running = bench::StartWarehouse(dir, (*fleet)->kubeconfig_path(), Options(a), sql);
  if (!running.ok()) {
    std::fprintf(stderr, "%s\n", running.status().ToString().c_str());
    return 1;
  }
  const pipeline::WarehouseOptions& o = (*running)->options;
  // Let the initial load finish before probing.
  for (int i = 0; i < 600; ++i) {
    auto c = AdsCount(o, "Pod", "");
    if (c.ok() && *c >= 6000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  simulator::ClusterStore* store = (*fleet)->store(0);
  const std::string ns = "kubelake-probe";
  std::vector<double> latencies;
  Random rng(3);
  uint64_t writes0 = FleetWrites(**fleet, fo.clusters);
  std::vector<pipeline::JobStatus> jobs0 = (*running)->runner->Status();
  int64_t probes_start_us = MonotonicMicros();
  double cpu0 = bench::CpuSeconds();
  simulator::PodModel pod;
  for (int p = 0; p < a.probes; ++p) {
    bool create = p % 2 == 0;
    if (create) {
      pod = simulator::PodModel();
      pod.ns = ns;
      pod.name = "probe-" + std::to_string(p / 2);
      pod.uid = rng.Uuid();
      pod.user = "probe";
      pod.instance = "probe";
      pod.created_ms = NowMillis();
    }
    int64_t expected = create ? 1 : 0;
    int64_t t0 = MonotonicMicros();
    if (create) {
      store->Put(simulator::kPods, ns, pod.name,
                 [&](uint64_t rv, simulator::StoredObject* obj) { simulator::RenderPod(pod, rv, 0, obj); });
    } else {
      int64_t when = NowMillis();
      store->Delete(simulator::kPods, ns, pod.name,
                    [&](uint64_t rv, simulator::StoredObject* obj) { simulator::RenderPod(pod, rv, when, obj); });
    }
    while (true) {
      auto c = AdsCount(o, "Pod", ns);
      if (c.ok() && *c == expected) break;
      if (MonotonicMicros() - t0 > 30'000'000) {
        std::fprintf(stderr, "probe %d not visible after 30 s\n", p);
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    latencies.push_back(static_cast<double>(MonotonicMicros() - t0) / 1000.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng.Range(100, 400)));
  }
  double seconds = static_cast<double>(MonotonicMicros() - probes_start_us) / 1e6;
  double rate = static_cast<double>(FleetWrites(**fleet, fo.clusters) - writes0) / seconds;
  double cpu = bench::CpuSeconds() - cpu0;
  std::vector<pipeline::JobStatus> jobs1 = (*running)->runner->Status();
  (*running)->Stop();
  (*fleet)->Stop();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double q) { return latencies[static_cast<size_t>(q * (latencies.size() - 1))]; };
  std::printf(
      "freshness, %s: %d probes (create/delete) under %s, %.0f events/s measured over %.0f s on %d clusters, "
      "commit interval %lld ms\n",
      Label(sql), a.probes, background_events_per_s > 0 ? "a background load" : "light churn", rate, seconds,
      static_cast<int>(fo.clusters), static_cast<long long>(a.commit_ms));
  std::printf("  simulator write -> visible in ADS: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", pct(0.5), pct(0.99),
              latencies.back());
  std::printf("  this process (simulator included) used %.2f cores meanwhile; jobs:%s\n", cpu / seconds,
              CommitLines(jobs0, jobs1, seconds).c_str());
  if (background_events_per_s > 0) {
    fig->loaded_rate.push_back(rate);
    fig->loaded_p50.push_back(pct(0.5));
    fig->loaded_p99.push_back(pct(0.99));
    fig->loaded_max.push_back(latencies.back());
  } else {
    fig->fresh_p50.push_back(pct(0.5));
    fig->fresh_p99.push_back(pct(0.99));
    fig->fresh_max.push_back(latencies.back());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  bool live = true, staged = true, fresh = true;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    bool has_value = i + 1 < argc;
    if (f == "--pods" && has_value)
      a.pods = static_cast<size_t>(std::atoll(argv[++i]));
    else if (f == "--clusters" && has_value)
      a.clusters = std::atoi(argv[++i]);
    else if (f == "--probes" && has_value)
      a.probes = std::atoi(argv[++i]);
    else if (f == "--commit-interval-ms" && has_value)
      a.commit_ms = std::atoll(argv[++i]);
    else if (f == "--file-format" && has_value)
      a.file_format = argv[++i];
    else if (f == "--jobs" && has_value)
      a.jobs = argv[++i];
    else if (f == "--background-events-per-s" && has_value)
      a.background = std::max(0.0, std::atof(argv[++i]));
    else if (f == "--rounds" && has_value)
      a.rounds = std::max(1, std::atoi(argv[++i]));
    else if (f == "--threads" && has_value) {
      for (const auto& n : Split(argv[++i], ',')) {
        int threads = std::atoi(n.c_str());
        if (threads < 1) {
          std::fprintf(stderr, "--threads takes counts of at least 1, such as 1,2\n");
          return 2;
        }
        a.threads.push_back(threads);
      }
    } else if (f == "--help" || f == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (f == "--load-only")
      staged = fresh = false;
    else if (f == "--staged-only")
      live = fresh = false;
    else if (f == "--freshness-only")
      live = staged = false;
    else {
      std::fprintf(stderr, "unknown argument %s\n%s", f.c_str(), kUsage);
      return 2;
    }
  }
  std::string kubelake = bench::KubelakeBinary(argv[0]);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = 0;
  std::vector<bool> runs;
  if (a.jobs == "sql" || a.jobs == "both") runs.push_back(true);
  if (a.jobs == "hand" || a.jobs == "both") runs.push_back(false);
  if (runs.empty()) {
    std::fprintf(stderr, "--jobs takes sql, hand or both\n");
    return 2;
  }
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
    std::fprintf(stderr, "reading this process's CPU affinity failed\n");
    return 1;
  }
  std::vector<int> counts = a.threads.empty() ? std::vector<int>{0} : a.threads;
  std::vector<std::array<Figures, 2>> by_count;  // [count][0] hand-wired, [count][1] SQL
  for (int threads : counts) {
    if (threads > 0) {
      Status used = UseCores(threads, allowed);
      if (!used.ok()) {
        std::fprintf(stderr, "%s\n", used.ToString().c_str());
        return 2;
      }
      std::printf("=== %d thread(s): %d core(s), table commits on %d thread(s)\n", threads, threads, threads);
    }
    Figures figures[2];  // [0] hand-wired, [1] SQL
    for (int round = 0; round < a.rounds; ++round) {
      // Alternate which warehouse runs first, so neither always gets the warmer process.
      std::vector<bool> order = runs;
      if (round % 2 == 1) std::reverse(order.begin(), order.end());
      for (bool sql : order) {
        if (live) rc |= LiveLoad(kubelake, a, sql, &figures[sql]);
        if (staged) rc |= StagedLoad(kubelake, a, sql, &figures[sql]);
        if (fresh) rc |= Freshness(a, sql, 0, &figures[sql]);
        if (fresh && a.background > 0) rc |= Freshness(a, sql, a.background, &figures[sql]);
      }
    }
    if (runs.size() == 2) PrintSideBySide(figures[1], figures[0], a.rounds);
    by_count.push_back({figures[0], figures[1]});
  }
  if (counts.size() > 1) {
    for (bool sql : runs) {
      std::vector<Figures> per_count;
      for (const auto& f : by_count) per_count.push_back(f[sql]);
      PrintThreads(counts, per_count, Label(sql));
    }
  }
  return rc;
}
