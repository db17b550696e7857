// Collector figures:
//  1. resident bytes per tracked object (a tracker filled like a 150k-pod relist);
//  2. parse-only events/s: list pages through ResourceSync on one thread, no HTTP;
//  3. a relist of a 150,000-pod cluster served by the simulator running in a
//     separate process (so the collector's process, pinned to one core with
//     one event-loop thread, is measured alone):
//     events/s wall and per CPU-second, and its RSS growth; with --log the
//     events go into an embedded event log (fsync=200ms, as the warehouse
//     writes them) instead of being counted only, and the CPU of the whole
//     collector process (loop thread, log sync) is printed as well;
//  4. with --watch-seconds S, only the steady state instead: a churning fleet
//     (the soak_bench fleet by default: 2 clusters of ~100 K objects, ~800
//     events/s) served from the child process, the collector watching the
//     eight default kinds into an embedded event log as the warehouse does;
//     after the initial list and a warm-up, CPU of the collector's event-loop
//     thread per watch event over S seconds, the other threads of the
//     collector's process (the log's sync thread, main) apart.
//
//   build/bench/collector_bench [--pods N] [--tls] [--page-size N] [--log]
//   build/bench/collector_bench --watch-seconds 60 [--warmup-seconds 10] [--clusters 2] [--pods 60000]
//       [--nodes 1000] [--churn-pods 100] [--churn-updates 200] [--churn-scales 1] [--churn-cordons 0.2] [--tls]
#include <malloc.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "collector/collector.h"
#include "collector/sink/log_sink.h"
#include "collector/watch/framer.h"
#include "collector/watch/sync.h"
#include "collector/watch/tracker.h"
#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "log/event_log.h"
#include "simulator/cluster_sim.h"
#include "simulator/fleet.h"

namespace {

using namespace kl;

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// CPU seconds of the whole process.
double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// CPU time of the calling thread: robust to other work on a shared machine.
double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "collector_bench: %s\n", s.ToString().c_str());
  return 1;
}

simulator::ClusterShape Shape(size_t pods) {
  simulator::ClusterShape shape;
  shape.nodes = std::max<size_t>(3, pods / 50);
  shape.pods = pods;
  shape.pods_per_deployment = 10;
  shape.statefulsets = pods / 100;
  shape.daemonset = false;
  return shape;
}

// The child process: serves the simulated fleet until the parent closes the pipe.
int ServeSimulator(simulator::FleetOptions fo, int ready_fd, int stop_fd) {
  auto fleet = simulator::Fleet::Create(fo);
  if (!fleet.ok()) return Fail(fleet.status());
  if (Status s = (*fleet)->Start(); !s.ok()) return Fail(s);
  std::string path = (*fleet)->kubeconfig_path() + "\n";
  if (write(ready_fd, path.data(), path.size()) < 0) return 1;
  close(ready_fd);
  char c;
  while (read(stop_fd, &c, 1) > 0) {
  }
  (*fleet)->Stop();
  return 0;
}

void TrackerMemory(size_t pods) {
  Random rng(1);
  std::vector<std::string> uids, names, namespaces;
  for (size_t i = 0; i < pods; ++i) {
    uids.push_back(rng.Uuid());
    namespaces.push_back("tenant-u" + std::to_string(10000 + i / 40));
    names.push_back("worker-" + std::to_string(i / 10) + "-" + rng.Alnum(10) + "-" + rng.Alnum(5));
  }
  size_t before = ResidentBytes();
  auto tracker = std::make_unique<collector::ObjectTracker>();
  for (size_t i = 0; i < pods; ++i) tracker->Observe(uids[i], namespaces[i], names[i], std::to_string(1000000 + i));
  size_t after = ResidentBytes();
  std::printf("tracker: %zu objects, %.1f B/object accounted, %.1f B/object resident (RSS delta)\n", tracker->size(),
              static_cast<double>(tracker->MemoryBytes()) / static_cast<double>(pods),
              static_cast<double>(after - before) / static_cast<double>(pods));
}

Status ParseOnly(size_t pods, size_t page_size) {
  simulator::ClusterStore store("sim-1", {});
  simulator::ClusterSim sim({"sim-1", "us-east-1"}, Shape(pods), 1, NowMillis(), &store);
  sim.Populate();
  std::vector<std::string> bodies;
  std::string token;
  simulator::Filter filter;
  filter.resource = simulator::kPods;
  size_t json_bytes = 0;
  do {
    KL_ASSIGN_OR_RETURN(simulator::ListResult page, store.List(filter, page_size, token, NowMillis()));
    std::string body = "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" +
                       std::to_string(page.rv) + "\"},\"items\":[";
    for (size_t i = 0; i < page.items.size(); ++i) {
      if (i > 0) body += ",";
      body += page.items[i]->json;
      json_bytes += page.items[i]->json.size();
    }
    body += "]}";
    bodies.push_back(std::move(body));
    token = page.continue_token;
  } while (!token.empty());
  collector::WatchTarget target;
  target.cluster = "sim-1";
  target.version = "v1";
  target.resource = "pods";
  target.kind = "Pod";
  target.watch_name = "bench/pods";
  collector::ResourceSync sync(target);
  collector::CountingSink sink;
  std::vector<collector::CollectedEvent> batch;
  int64_t start = MonotonicMicros();
  double cpu_start = ThreadCpuSeconds();
  sync.BeginList(NowMillis());
  for (std::string& body : bodies) {
    body.reserve(body.size() + collector::kFramerPadding);
    std::string cont;
    KL_RETURN_IF_ERROR(sync.OnListPage(body, body.capacity(), NowMillis(), &cont, &batch));
    (void)sink.Emit(std::move(batch));
    batch.clear();
  }
  sync.FinishList(NowMillis(), &batch);
  double seconds = static_cast<double>(MonotonicMicros() - start) / 1e6;
  double cpu = ThreadCpuSeconds() - cpu_start;
  std::printf(
      "parse only (one thread, no HTTP, %.0f B per pod): %llu events in %.3f s wall = %.0f events/s; "
      "CPU %.3f s = %.0f events per CPU-second\n",
      static_cast<double>(json_bytes) / static_cast<double>(sink.events()),
      static_cast<unsigned long long>(sink.events()), seconds, static_cast<double>(sink.events()) / seconds, cpu,
      static_cast<double>(sink.events()) / cpu);
  return Status::OK();
}

Status Relist(const std::string& kubeconfig, const std::string& dir, size_t page_size, bool tls, bool to_log) {
  collector::CountingSink counting;
  std::unique_ptr<log::EventLog> log;
  std::unique_ptr<collector::LogSink> log_sink;
  if (to_log) {
    KL_ASSIGN_OR_RETURN(log, log::OpenEventLog("dir:" + dir + "/log?partitions=4&fsync=200ms"));
    KL_ASSIGN_OR_RETURN(log_sink, collector::LogSink::Create(log.get()));
  }
  auto events = [&] { return to_log ? log_sink->events_written() : counting.events(); };
  collector::CollectorOptions co;
  KL_ASSIGN_OR_RETURN(co.clusters, collector::LoadKubeconfig(kubeconfig));
  collector::WatchSet set;
  set.name = "bench";
  set.resources.push_back({"", "v1", "pods", "Pod", true, {}, "", ""});
  co.watch_sets.push_back(set);
  co.sink = to_log ? static_cast<collector::EventSink*>(log_sink.get()) : &counting;
  co.page_size = page_size;
  co.loop_threads = 1;
  KL_ASSIGN_OR_RETURN(auto collector, collector::Collector::Create(co));
  malloc_trim(0);  // a clean baseline: earlier phases freed a lot
  size_t rss_before = ResidentBytes();
  int64_t start = MonotonicMicros();
  double process_cpu_start = ProcessCpuSeconds();
  KL_RETURN_IF_ERROR(collector->Start());
  while (collector->Stats()[0].lists == 0) {
    KL_RETURN_IF_ERROR(collector->status());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  double seconds = static_cast<double>(MonotonicMicros() - start) / 1e6;
  double cpu = static_cast<double>(collector->LoopCpuMicros()) / 1e6;
  double process_cpu = ProcessCpuSeconds() - process_cpu_start;
  collector::WatchStats stats = collector->Stats()[0];
  size_t rss_after = ResidentBytes();
  malloc_trim(0);  // hand freed page buffers and events back: what stays is what the collector keeps
  size_t rss_kept = ResidentBytes();
  std::printf(
      "relist via %s (page size %zu, simulator in another process)%s: %llu events in %.3f s wall = %.0f "
      "events/s; loop thread CPU %.3f s = %.0f events per CPU-second\n",
      tls ? "HTTPS" : "HTTP", page_size, to_log ? " into an event log" : "", static_cast<unsigned long long>(events()),
      seconds, static_cast<double>(events()) / seconds, cpu, static_cast<double>(events()) / cpu);
  if (to_log) {
    std::printf("collector process CPU (loop, log sync, main) %.3f s = %.2f us per event\n", process_cpu,
                process_cpu / static_cast<double>(events()) * 1e6);
  }
  std::printf(
      "collector process: %zu objects tracked, %.1f B/object accounted; RSS grew %.1f B/object at the end "
      "of the relist, %.1f B/object kept after malloc_trim\n",
      stats.tracked, static_cast<double>(stats.tracker_bytes) / static_cast<double>(stats.tracked),
      static_cast<double>(rss_after - rss_before) / static_cast<double>(stats.tracked),
      static_cast<double>(rss_kept - rss_before) / static_cast<double>(stats.tracked));
  collector->Stop();
  return Status::OK();
}

struct SteadyArgs {
  double seconds = 0;  // 0: the list figures instead
  double warmup_s = 10;
  size_t clusters = 2;
  size_t pods = 60000;
  size_t nodes = 1000;
  simulator::ChurnRates churn{100, 200, 1, 0, 0.2};
};

// Watch churn: CPU of the event-loop thread per watch event, with the events
// going to an embedded log as in the warehouse (fsync every 200 ms).
Status SteadyState(const std::string& kubeconfig, const std::string& dir, const SteadyArgs& a) {
  KL_ASSIGN_OR_RETURN(auto log, log::OpenEventLog("dir:" + dir + "/log?partitions=4&fsync=200ms"));
  KL_ASSIGN_OR_RETURN(auto sink, collector::LogSink::Create(log.get()));
  collector::CollectorOptions co;
  KL_ASSIGN_OR_RETURN(co.clusters, collector::LoadKubeconfig(kubeconfig));
  co.sink = sink.get();
  co.loop_threads = 1;
  KL_ASSIGN_OR_RETURN(auto collector, collector::Collector::Create(co));
  int64_t start = MonotonicMicros();
  KL_RETURN_IF_ERROR(collector->Start());
  while (true) {
    KL_RETURN_IF_ERROR(collector->status());
    bool watching = true;
    for (const auto& s : collector->Stats()) watching &= s.state == collector::WatchState::kWatching && s.lists > 0;
    if (watching) break;
    if (MonotonicMicros() - start > 600'000'000) return Status::Internal("the initial list took over 10 minutes");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  double listed_s = static_cast<double>(MonotonicMicros() - start) / 1e6;
  uint64_t listed = sink->events_written();
  std::this_thread::sleep_for(std::chrono::duration<double>(a.warmup_s));
  auto sample = [&] {
    struct S {
      double wall, loop, process;
      uint64_t events;
      size_t tracked;
    } s{};
    s.wall = static_cast<double>(MonotonicMicros()) / 1e6;
    s.loop = static_cast<double>(collector->LoopCpuMicros()) / 1e6;
    s.process = ProcessCpuSeconds();
    s.events = sink->events_written();
    for (const auto& w : collector->Stats()) s.tracked += w.tracked;
    return s;
  };
  auto before = sample();
  std::this_thread::sleep_for(std::chrono::duration<double>(a.seconds));
  auto after = sample();
  KL_RETURN_IF_ERROR(collector->status());
  collector->Stop();
  double wall = after.wall - before.wall, loop = after.loop - before.loop;
  double other = after.process - before.process - loop;
  double events = static_cast<double>(after.events - before.events);
  std::printf("initial list: %llu events in %.1f s; %zu objects tracked in %zu watches\n",
              static_cast<unsigned long long>(listed), listed_s, after.tracked, collector->Stats().size());
  std::printf(
      "steady state (%zu clusters, churn per cluster and second: %g pod replacements, %g updates, %g scales, %g "
      "cordons): %.0f watch events in %.1f s (%.0f/s); event-loop thread CPU %.3f s = %.1f us per event (%.4f "
      "cores); other threads of the collector process (log sync, main) %.3f s\n",
      a.clusters, a.churn.pod_replacements, a.churn.pod_updates, a.churn.scales, a.churn.cordons, events, wall,
      events / wall, loop, events > 0 ? loop / events * 1e6 : 0.0, loop / wall, other);
  return Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  size_t pods = 150000;
  size_t page_size = 500;
  bool tls = false;
  bool to_log = false;
  bool pods_given = false;
  SteadyArgs steady;
  for (int i = 1; i < argc; ++i) {
    auto number = [&](const char* name, double* out) {
      if (std::strcmp(argv[i], name) != 0 || i + 1 >= argc) return false;
      *out = std::atof(argv[++i]);
      return true;
    };
    double v = 0;
    if (!std::strcmp(argv[i], "--pods") && i + 1 < argc) {
      pods = std::stoul(argv[++i]);
      pods_given = true;
    } else if (number("--watch-seconds", &steady.seconds) || number("--warmup-seconds", &steady.warmup_s) ||
               number("--churn-pods", &steady.churn.pod_replacements) ||
               number("--churn-updates", &steady.churn.pod_updates) || number("--churn-scales", &steady.churn.scales) ||
               number("--churn-cordons", &steady.churn.cordons)) {
    } else if (number("--clusters", &v)) {
      steady.clusters = static_cast<size_t>(v);
    } else if (number("--nodes", &v)) {
      steady.nodes = static_cast<size_t>(v);
    } else if (!std::strcmp(argv[i], "--page-size") && i + 1 < argc)
      page_size = std::stoul(argv[++i]);
    else if (!std::strcmp(argv[i], "--tls"))
      tls = true;
    else if (!std::strcmp(argv[i], "--log"))
      to_log = true;
    else {
      std::fprintf(stderr, "unknown argument %s (see the header of bench/collector_bench.cc)\n", argv[i]);
      return 2;
    }
  }
  if (pods_given) steady.pods = pods;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string dir = "/tmp/kubelake-bench-" + RandomUuid();

  // The simulator goes into a child process before this one starts any thread.
  int ready[2], stop[2];
  if (pipe(ready) != 0 || pipe(stop) != 0) return Fail(Status::IOError("pipe"));
  pid_t child = fork();
  if (child < 0) return Fail(Status::IOError("fork"));
  // The collector's process runs on one core (CPU 0); the simulator may use any.
  auto pin = [](int cpu) {
    if (static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) <= cpu) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof(set), &set);
  };
  if (child == 0) {
    close(ready[0]);
    close(stop[1]);
    simulator::FleetOptions fo;
    fo.tls = tls;
    fo.dir = dir;
    if (steady.seconds > 0) {
      // As `kubelake simulate` of the soak benchmark: plain defaults but for the sizes and churn.
      fo.clusters = steady.clusters;
      fo.shape.pods = steady.pods;
      fo.shape.nodes = steady.nodes;
      fo.churn = steady.churn;
      fo.auth = false;
    } else {
      fo.clusters = 1;
      fo.shape = Shape(pods);
    }
    _exit(ServeSimulator(std::move(fo), ready[1], stop[0]));
  }
  close(ready[1]);
  close(stop[0]);
  pin(0);

  if (steady.seconds <= 0) {
    TrackerMemory(pods);
    if (Status s = ParseOnly(pods, page_size); !s.ok()) return Fail(s);
  }

  std::string kubeconfig;
  char buf[512];
  ssize_t n;
  while ((n = read(ready[0], buf, sizeof(buf))) > 0) kubeconfig.append(buf, static_cast<size_t>(n));
  while (!kubeconfig.empty() && kubeconfig.back() == '\n') kubeconfig.pop_back();
  int rc = 0;
  if (kubeconfig.empty()) {
    rc = Fail(Status::Internal("the simulator process did not start"));
  } else if (steady.seconds > 0) {
    if (Status s = SteadyState(kubeconfig, dir, steady); !s.ok()) rc = Fail(s);
  } else if (Status s = Relist(kubeconfig, dir, page_size, tls, to_log); !s.ok()) {
    rc = Fail(s);
  }
  close(stop[1]);
  int status = 0;
  waitpid(child, &status, 0);
  std::string rm = "rm -rf " + dir;
  (void)std::system(rm.c_str());
  return rc;
}
