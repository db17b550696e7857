// Collector figures: events/s for a relist of a 150,000-pod cluster served by
// the simulator (one event-loop thread), the same parse work without HTTP,
// and resident bytes per tracked object.
//
//   build/bench/collector_bench [--pods N] [--tls] [--page-size N]
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "collector/collector.h"
#include "collector/framer.h"
#include "collector/sync.h"
#include "collector/tracker.h"
#include "common/clock.h"
#include "common/random.h"
#include "simulator/fleet.h"

namespace {

using namespace kl;

// Resident set size from /proc/self/statm, in bytes.
size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// CPU time of the calling thread in seconds: robust to other work on a shared machine.
double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "collector_bench: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  size_t pods = 150000;
  size_t page_size = 500;
  bool tls = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--pods") && i + 1 < argc) pods = std::stoul(argv[++i]);
    else if (!std::strcmp(argv[i], "--page-size") && i + 1 < argc) page_size = std::stoul(argv[++i]);
    else if (!std::strcmp(argv[i], "--tls")) tls = true;
  }

  // 1. Resident bytes per tracked object: a tracker filled like a 150k-pod relist.
  {
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

  // 2. The simulator with one cluster of `pods` pods.
  simulator::FleetOptions fo;
  fo.clusters = 1;
  fo.shape.nodes = std::max<size_t>(3, pods / 50);
  fo.shape.pods = pods;
  fo.shape.pods_per_deployment = 10;
  fo.shape.statefulsets = pods / 100;
  fo.shape.daemonset = false;
  fo.tls = tls;
  int64_t t0 = MonotonicMicros();
  auto fleet = simulator::Fleet::Create(fo);
  if (!fleet.ok()) return Fail(fleet.status());
  if (Status s = (*fleet)->Start(); !s.ok()) return Fail(s);
  size_t pod_count = (*fleet)->store(0)->Count(simulator::kPods);
  size_t json_bytes = 0;
  for (const auto& p : (*fleet)->store(0)->All(simulator::kPods)) json_bytes += p->json.size();
  std::printf("simulator: %zu pods (%.0f B JSON each) on %zu nodes built in %.1f s, %s\n", pod_count,
              static_cast<double>(json_bytes) / static_cast<double>(pod_count), fo.shape.nodes,
              static_cast<double>(MonotonicMicros() - t0) / 1e6, tls ? "HTTPS" : "HTTP");

  // 3. Parse-only: the list pages the server would send, through ResourceSync on this thread.
  {
    std::vector<std::string> bodies;
    std::string token;
    simulator::Filter filter;
    filter.resource = simulator::kPods;
    do {
      auto page = (*fleet)->store(0)->List(filter, page_size, token, NowMillis());
      if (!page.ok()) return Fail(page.status());
      std::string body = "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" +
                         std::to_string(page->rv) + "\"},\"items\":[";
      for (size_t i = 0; i < page->items.size(); ++i) body += (i ? "," : "") + page->items[i]->json;
      body += "]}";
      bodies.push_back(std::move(body));
      token = page->continue_token;
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
      if (Status s = sync.OnListPage(body, body.capacity(), NowMillis(), &cont, &batch); !s.ok()) return Fail(s);
      (void)sink.Emit(std::move(batch));
      batch.clear();
    }
    sync.FinishList(NowMillis(), &batch);
    double seconds = static_cast<double>(MonotonicMicros() - start) / 1e6;
    double cpu = ThreadCpuSeconds() - cpu_start;
    std::printf("parse only (one thread, no HTTP): %llu events in %.3f s wall = %.0f events/s; CPU %.3f s = %.0f events per CPU-second, %.0f MB/s of content\n",
                static_cast<unsigned long long>(sink.events()), seconds, static_cast<double>(sink.events()) / seconds,
                cpu, static_cast<double>(sink.events()) / cpu, static_cast<double>(sink.content_bytes()) / cpu / 1e6);
  }

  // 4. The collector itself, over the network from the simulator: one loop thread.
  collector::CountingSink sink;
  collector::CollectorOptions co;
  collector::ClusterCredentials cred;
  cred.name = (*fleet)->cluster_name(0);
  cred.server = (*fleet)->url(0);
  cred.ca_pem = (*fleet)->ca_pem();
  cred.token = (*fleet)->token(0);
  co.clusters.push_back(cred);
  collector::WatchSet set;
  set.name = "bench";
  set.resources.push_back({"", "v1", "pods", "Pod", true, {}, "", ""});
  co.watch_sets.push_back(set);
  co.sink = &sink;
  co.page_size = page_size;
  co.loop_threads = 1;
  auto collector = collector::Collector::Create(co);
  if (!collector.ok()) return Fail(collector.status());
  size_t rss_before = ResidentBytes();
  int64_t start = MonotonicMicros();
  if (Status s = (*collector)->Start(); !s.ok()) return Fail(s);
  while ((*collector)->Stats()[0].lists == 0) {
    if (!(*collector)->status().ok()) return Fail((*collector)->status());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  double seconds = static_cast<double>(MonotonicMicros() - start) / 1e6;
  double cpu = static_cast<double>((*collector)->LoopCpuMicros()) / 1e6;
  collector::WatchStats stats = (*collector)->Stats()[0];
  size_t rss_after = ResidentBytes();
  std::printf("relist via %s (page size %zu): %llu events in %.3f s wall = %.0f events/s; loop thread CPU %.3f s = %.0f events per CPU-second\n",
              tls ? "HTTPS" : "HTTP", page_size, static_cast<unsigned long long>(sink.events()), seconds,
              static_cast<double>(sink.events()) / seconds, cpu, static_cast<double>(sink.events()) / cpu);
  std::printf("collector memory: %zu tracked, %.1f B/object accounted, RSS grew %.1f B/object during the relist\n",
              stats.tracked, static_cast<double>(stats.tracker_bytes) / static_cast<double>(stats.tracked),
              static_cast<double>(rss_after - rss_before) / static_cast<double>(stats.tracked));
  (*collector)->Stop();
  (*fleet)->Stop();
  return 0;
}
