// Helpers shared by the warehouse benchmarks: CPU and memory of this process,
// a simulated fleet in a child process (so its CPU is not counted), the
// warehouse (embedded log, collector, jobs) started in this process, when its
// jobs have caught up, the size of a directory tree, and DuckDB from npm.
#pragma once

#include <curl/curl.h>
#include <dirent.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "collector/collector.h"
#include "collector/sink/log_sink.h"
#include "collector/watchset/kubeconfig.h"
#include "common/file/file_util.h"
#include "common/json.h"
#include "log/event_log.h"
#include "pipeline/warehouse/warehouse.h"
#include "sql/warehouse/warehouse.h"

namespace kl::bench {

inline double CpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// User and system CPU of this process in seconds: system time is page faults,
// writes, syncs and socket reads, which a profile of user code does not show.
struct CpuSplit {
  double user = 0;
  double sys = 0;
};
inline CpuSplit ProcessCpuSplit() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return {static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6,
          static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6};
}

// Per live thread of this process: name and user/system CPU seconds so far
// (from /proc/self/task/*/stat; threads that ended are not listed).
struct ThreadCpu {
  std::string name;
  CpuSplit cpu;
};
inline std::map<int, ThreadCpu> ThreadCpuSeconds() {
  std::map<int, ThreadCpu> out;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    ThreadCpu t;
    t.name = stat.substr(open + 1, close - open - 1);
    // Fields after the name: state is field 3; utime and stime are fields 14 and 15.
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 13 && rest >> field; ++i) {
    }
    unsigned long long utime = 0, stime = 0;
    rest >> utime >> stime;
    t.cpu = {static_cast<double>(utime) / tick, static_cast<double>(stime) / tick};
    out[std::atoi(e->d_name)] = t;
  }
  closedir(d);
  return out;
}

// "name user/sys, ..." for the threads that used at least 10 ms between two
// ThreadCpuSeconds() reads, busiest first.
inline std::string ThreadCpuLine(const std::map<int, ThreadCpu>& before, const std::map<int, ThreadCpu>& after) {
  std::vector<std::pair<double, std::string>> rows;
  for (const auto& [tid, t] : after) {
    CpuSplit b;
    if (auto it = before.find(tid); it != before.end()) b = it->second.cpu;
    double u = t.cpu.user - b.user, s = t.cpu.sys - b.sys;
    if (u + s < 0.01) continue;
    char line[120];
    std::snprintf(line, sizeof(line), "%s %.2f/%.2f", t.name.c_str(), u, s);
    rows.emplace_back(u + s, line);
  }
  std::sort(rows.rbegin(), rows.rend());
  std::string out;
  for (const auto& [cpu, line] : rows) out += (out.empty() ? "" : ", ") + line;
  return out;
}

// VmRSS / VmHWM of this process in bytes.
inline int64_t StatusBytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::atoll(line.c_str() + std::string(field).size()) * 1024;
  }
  return 0;
}
inline int64_t RssBytes() { return StatusBytes("VmRSS:"); }
inline int64_t PeakRssBytes() { return StatusBytes("VmHWM:"); }

// A scratch directory of this process, /tmp/kubelake-<name>-<pid>: empty at the start and
// removed when it goes out of scope, so runs of a benchmark side by side never share one.
// Declare it before what writes into it (the warehouse, the simulator), so it goes last.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_("/tmp/kubelake-" + name + "-" + std::to_string(static_cast<long long>(getpid()))) {
    (void)RemoveAll(path_);
    (void)CreateDirs(path_);
  }
  ~ScratchDir() { (void)RemoveAll(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct TreeSize {
  int64_t files = 0;
  int64_t bytes = 0;
};

inline void AddTree(const std::string& dir, TreeSize* out) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      AddTree(path, out);
    } else {
      ++out->files;
      out->bytes += st.st_size;
    }
  }
  closedir(d);
}

inline TreeSize SizeOf(const std::string& dir) {
  TreeSize t;
  AddTree(dir, &t);
  return t;
}

inline int64_t CountSnapshots(const std::string& table_dir) {
  int64_t n = 0;
  DIR* d = opendir((table_dir + "/snapshot").c_str());
  if (d == nullptr) return 0;
  while (dirent* e = readdir(d)) n += std::string(e->d_name).rfind("snapshot-", 0) == 0;
  closedir(d);
  return n;
}

inline size_t CollectBody(char* ptr, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(ptr, size * n);
  return size * n;
}

inline Result<std::string> HttpGet(const std::string& url) {
  CURL* curl = curl_easy_init();
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return Status::Unavailable(url + ": " + curl_easy_strerror(rc));
  return body;
}

// A `kubelake simulate` child process serving plain HTTP without auth.
struct SimulatorProcess {
  pid_t pid = -1;
  std::string kubeconfig;
  std::vector<collector::ClusterCredentials> clusters;

  ~SimulatorProcess() { Stop(); }
  void Stop() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

// Starts `kubelake simulate` with `args` (besides --plain-http --no-auth --dir) and waits for its kubeconfig.
inline Result<std::unique_ptr<SimulatorProcess>> StartSimulator(const std::string& kubelake, const std::string& dir,
                                                                std::vector<std::string> args) {
  auto sim = std::make_unique<SimulatorProcess>();
  std::string fleet_dir = dir + "/fleet";
  args.insert(args.begin(),
              {kubelake, "simulate", "--plain-http", "--no-auth", "--dir", fleet_dir, "--stats-interval", "0"});
  sim->pid = fork();
  if (sim->pid == 0) {
    FILE* out = std::fopen((dir + "/simulator.log").c_str(), "w");
    if (out != nullptr) {
      dup2(fileno(out), 1);
      dup2(fileno(out), 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(kubelake.c_str(), argv.data());
    _exit(127);
  }
  sim->kubeconfig = fleet_dir + "/kubeconfig";
  // A fleet of a million objects takes minutes to generate on a busy machine: wait as long as the
  // simulator runs (up to 15 minutes), not a fixed two.
  for (int i = 0; i < 9000 && !FileExists(sim->kubeconfig); ++i) {
    if (waitpid(sim->pid, nullptr, WNOHANG) == sim->pid) {
      sim->pid = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto clusters = collector::LoadKubeconfig(sim->kubeconfig, {});
  if (!clusters.ok()) return clusters.status().WithContext("simulator did not start (see " + dir + "/simulator.log)");
  sim->clusters = std::move(clusters).value();
  return sim;
}

// Kinds and counts of the objects a simulated cluster holds right now.
inline std::map<std::string, int64_t> TruthCounts(const collector::ClusterCredentials& cluster) {
  std::map<std::string, int64_t> counts;
  auto truth = HttpGet(cluster.server + "/kubelake/truth");
  if (!truth.ok()) return counts;
  // Read on demand: the truth holds every object whole (tens of MB for a large cluster), and a
  // tree of it would weigh ten times that and stay in the peak RSS the benchmarks report.
  simdjson::ondemand::parser parser;
  simdjson::padded_string body(*truth);
  simdjson::ondemand::document doc;
  simdjson::ondemand::array objects;
  if (parser.iterate(body).get(doc) || doc["objects"].get_array().get(objects)) return counts;
  for (auto o : objects) {
    simdjson::ondemand::object obj;
    std::string_view kind;
    if (o.get_object().get(obj)) return {};
    if (obj["kind"].get_string().get(kind)) kind = "";
    ++counts[std::string(kind)];
  }
  return counts;
}

// The warehouse in this process: embedded log, jobs, collector writing to the log.
struct Warehouse {
  std::unique_ptr<log::EventLog> log;
  std::unique_ptr<pipeline::JobRunner> runner;
  std::unique_ptr<collector::LogSink> sink;
  std::unique_ptr<collector::Collector> collector;
  pipeline::WarehouseOptions options;

  void Stop() {
    if (collector) collector->Stop();
    if (runner) runner->Stop();
  }
};

// `sql`: the warehouse's SQL jobs (what `kubelake run` runs); else the hand-wired jobs.
inline Result<std::unique_ptr<Warehouse>> StartWarehouse(const std::string& dir, const std::string& kubeconfig,
                                                         pipeline::WarehouseOptions o, bool sql = true) {
  auto w = std::make_unique<Warehouse>();
  std::string log_uri = "dir:" + dir + "/log?partitions=4&fsync=200ms";
  KL_ASSIGN_OR_RETURN(w->log, log::OpenEventLog(log_uri));
  o.warehouse = dir + "/warehouse";
  w->options = o;
  std::vector<std::unique_ptr<pipeline::Job>> jobs;
  if (sql) {
    KL_ASSIGN_OR_RETURN(jobs, sql::BuildWarehouseJobs(w->log.get(), o, log_uri));
  } else {
    KL_ASSIGN_OR_RETURN(jobs, pipeline::BuildWarehouseJobs(w->log.get(), o));
  }
  w->runner = std::make_unique<pipeline::JobRunner>(std::move(jobs));
  w->runner->Start();
  KL_ASSIGN_OR_RETURN(w->sink, collector::LogSink::Create(w->log.get()));
  collector::CollectorOptions co;
  KL_ASSIGN_OR_RETURN(co.clusters, collector::LoadKubeconfig(kubeconfig, {}));
  co.sink = w->sink.get();
  KL_ASSIGN_OR_RETURN(w->collector, collector::Collector::Create(co));
  KL_RETURN_IF_ERROR(w->collector->Start());
  return w;
}

// Live objects of `kind` in ADS (ads_kind_count), over all clusters.
inline Result<int64_t> AdsLiveCount(const pipeline::WarehouseOptions& o, const std::string& kind) {
  KL_ASSIGN_OR_RETURN(auto t, table::Catalog(o.warehouse).GetTable(o.database, pipeline::kAdsKindCountTable));
  KL_ASSIGN_OR_RETURN(auto rows, t->ReadAll());
  int64_t total = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    format::Row r = rows.rows.GetRow(i);
    if (r[1].as_bytes() == kind) total += r[2].as_int();
  }
  return total;
}

// Every job caught up: DWD and ODS committed every logged event, ADS shows
// every pod, and no job has read anything for a second.
inline bool CaughtUp(bench::Warehouse* w, int64_t logged, int64_t pods, std::vector<uint64_t>* last_in, int* still) {
  int64_t committed_dwd = -1, committed_ods = -1;
  std::vector<uint64_t> in;
  for (const auto& j : w->runner->Status()) {
    int64_t sum = 0;
    for (const auto& [p, o] : j.position.log_offsets) sum += o;
    if (j.name == "dwd") committed_dwd = sum;
    if (j.name == "ods") committed_ods = sum;
    in.push_back(j.changes_in);
  }
  bool moved = in != *last_in;
  *last_in = in;
  *still = moved ? 0 : *still + 1;
  if (committed_dwd != logged || (committed_ods >= 0 && committed_ods != logged)) return false;
  auto c = bench::AdsLiveCount(w->options, "Pod");
  return c.ok() && *c == pods && *still >= 10;
}

// node_modules under `dir` with npm's @duckdb/node-api (installed there on first use), or ""
// when node or npm is missing or the install failed.
inline std::string EnsureDuckDb(const std::string& dir) {
  if (std::system("node --version > /dev/null 2>&1") != 0) return "";
  std::string modules = JoinPath(dir, "node_modules");
  if (FileExists(JoinPath(modules, "@duckdb/node-api/package.json"))) return modules;
  (void)CreateDirs(dir);
  std::string cmd = "npm install --prefix '" + dir +
                    "' --no-audit --no-fund --no-save --loglevel=error @duckdb/node-api > '" + dir +
                    "/install.log' 2>&1";
  if (std::system(cmd.c_str()) != 0) return "";
  return FileExists(JoinPath(modules, "@duckdb/node-api/package.json")) ? modules : "";
}

// The kubelake binary next to a benchmark in the build tree.
inline std::string KubelakeBinary(const char* argv0) { return JoinPath(DirName(DirName(argv0)), "src/cli/kubelake"); }

}  // namespace kl::bench
