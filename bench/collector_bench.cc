// Collector figures:
//  1. resident bytes per tracked object (a tracker filled like a 150k-pod relist);
//  2. parse-only events/s: list pages through ResourceSync on one thread, no HTTP;
//  3. a relist of a 150,000-pod cluster served by the simulator running in a
//     separate process (so the collector's process, pinned to one core with
//     one event-loop thread, is measured alone):
//     events/s wall and per CPU-second, and its RSS growth.
//
//   build/bench/collector_bench [--pods N] [--tls] [--page-size N]
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
#include "collector/watch/framer.h"
#include "collector/watch/sync.h"
#include "collector/watch/tracker.h"
#include "common/clock.h"
#include "common/random.h"
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

// The child process: serves the simulated cluster until the parent closes the pipe.
int ServeSimulator(size_t pods, bool tls, const std::string& dir, int ready_fd, int stop_fd) {
  simulator::FleetOptions fo;
  fo.clusters = 1;
  fo.shape = Shape(pods);
  fo.tls = tls;
  fo.dir = dir;
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

Status Relist(const std::string& kubeconfig, size_t page_size, bool tls) {
  collector::CountingSink sink;
  collector::CollectorOptions co;
  KL_ASSIGN_OR_RETURN(co.clusters, collector::LoadKubeconfig(kubeconfig));
  collector::WatchSet set;
  set.name = "bench";
  set.resources.push_back({"", "v1", "pods", "Pod", true, {}, "", ""});
  co.watch_sets.push_back(set);
  co.sink = &sink;
  co.page_size = page_size;
  co.loop_threads = 1;
  KL_ASSIGN_OR_RETURN(auto collector, collector::Collector::Create(co));
  malloc_trim(0);  // a clean baseline: earlier phases freed a lot
  size_t rss_before = ResidentBytes();
  int64_t start = MonotonicMicros();
  KL_RETURN_IF_ERROR(collector->Start());
  while (collector->Stats()[0].lists == 0) {
    KL_RETURN_IF_ERROR(collector->status());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  double seconds = static_cast<double>(MonotonicMicros() - start) / 1e6;
  double cpu = static_cast<double>(collector->LoopCpuMicros()) / 1e6;
  collector::WatchStats stats = collector->Stats()[0];
  size_t rss_after = ResidentBytes();
  malloc_trim(0);  // hand freed page buffers and events back: what stays is what the collector keeps
  size_t rss_kept = ResidentBytes();
  std::printf(
      "relist via %s (page size %zu, simulator in another process): %llu events in %.3f s wall = %.0f "
      "events/s; loop thread CPU %.3f s = %.0f events per CPU-second\n",
      tls ? "HTTPS" : "HTTP", page_size, static_cast<unsigned long long>(sink.events()), seconds,
      static_cast<double>(sink.events()) / seconds, cpu, static_cast<double>(sink.events()) / cpu);
  std::printf(
      "collector process: %zu objects tracked, %.1f B/object accounted; RSS grew %.1f B/object at the end "
      "of the relist, %.1f B/object kept after malloc_trim\n",
      stats.tracked, static_cast<double>(stats.tracker_bytes) / static_cast<double>(stats.tracked),
      static_cast<double>(rss_after - rss_before) / static_cast<double>(stats.tracked),
      static_cast<double>(rss_kept - rss_before) / static_cast<double>(stats.tracked));
  collector->Stop();
  return Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  size_t pods = 150000;
  size_t page_size = 500;
  bool tls = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--pods") && i + 1 < argc)
      pods = std::stoul(argv[++i]);
    else if (!std::strcmp(argv[i], "--page-size") && i + 1 < argc)
      page_size = std::stoul(argv[++i]);
    else if (!std::strcmp(argv[i], "--tls"))
      tls = true;
  }
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
    _exit(ServeSimulator(pods, tls, dir, ready[1], stop[0]));
  }
  close(ready[1]);
  close(stop[0]);
  pin(0);

  TrackerMemory(pods);
  if (Status s = ParseOnly(pods, page_size); !s.ok()) return Fail(s);

  std::string kubeconfig;
  char buf[512];
  ssize_t n;
  while ((n = read(ready[0], buf, sizeof(buf))) > 0) kubeconfig.append(buf, static_cast<size_t>(n));
  while (!kubeconfig.empty() && kubeconfig.back() == '\n') kubeconfig.pop_back();
  int rc = 0;
  if (kubeconfig.empty()) {
    rc = Fail(Status::Internal("the simulator process did not start"));
  } else if (Status s = Relist(kubeconfig, page_size, tls); !s.ok()) {
    rc = Fail(s);
  }
  close(stop[1]);
  int status = 0;
  waitpid(child, &status, 0);
  std::string rm = "rm -rf " + dir;
  (void)std::system(rm.c_str());
  return rc;
}
