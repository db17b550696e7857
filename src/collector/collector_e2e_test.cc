// The collector against the simulated fleet over real HTTPS: whatever the
// faults, folding the collector's events reproduces the simulator's ground
// truth once it has caught up, and no (uid, resourceVersion) is emitted twice.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <thread>

#include "collector/collector.h"
#include "collector/fold.h"
#include "common/testing/test_util.h"
#include "simulator/fleet.h"

namespace kl::collector {
namespace {

using simulator::Fleet;
using simulator::FleetOptions;

FleetOptions SmallFleet(uint64_t seed, size_t clusters = 2) {
  FleetOptions o;
  o.clusters = clusters;
  o.seed = seed;
  o.shape.nodes = 4;
  o.shape.pods = 40;
  o.shape.pods_per_deployment = 4;
  o.churn.pod_replacements = 40;
  o.churn.pod_updates = 60;
  o.churn.scales = 10;
  o.churn.node_changes = 2;
  o.churn.cordons = 3;
  o.bookmark_interval_ms = 100;
  o.history_limit = 2000;
  return o;
}

CollectorOptions FastCollector(const Fleet& fleet, EventSink* sink, uint64_t seed) {
  CollectorOptions o;
  auto clusters = LoadKubeconfig(fleet.kubeconfig_path());
  EXPECT_TRUE(clusters.ok()) << clusters.status().ToString();
  if (clusters.ok()) o.clusters = *clusters;
  o.sink = sink;
  o.page_size = 17;  // many pages, so continue tokens and their expiry are exercised
  o.backoff_base_ms = 20;
  o.backoff_max_ms = 400;
  o.stall_timeout_s = 1;
  o.watch_timeout_min_s = 2;
  o.watch_timeout_max_s = 4;
  o.seed = seed;
  return o;
}

bool WaitUntil(const std::function<bool()>& done, int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

std::map<std::string, uint64_t> TruthVersions(Fleet& fleet) {
  std::map<std::string, uint64_t> rv;
  for (size_t i = 0; i < fleet.size(); ++i) rv[fleet.cluster_name(i)] = fleet.Truth(i).resource_version;
  return rv;
}

// Folds `events` and compares every cluster with the fleet's ground truth.
void ExpectFoldEqualsTruth(Fleet& fleet, const std::vector<CollectedEvent>& events, const std::string& context) {
  EventFolder folder;
  for (const auto& e : events) folder.Apply(e);
  for (size_t i = 0; i < fleet.size(); ++i) {
    simulator::GroundTruth truth = fleet.Truth(i);
    auto live = folder.Live(truth.cluster);
    std::map<std::string, const simulator::TruthObject*> want;
    for (const auto& o : truth.objects) want[o.uid] = &o;
    size_t missing = 0, wrong = 0, extra = 0;
    for (const auto& [uid, o] : want) {
      auto it = live.find(uid);
      if (it == live.end()) {
        if (++missing <= 3)
          ADD_FAILURE() << context << ": " << truth.cluster << " missing " << o->kind << " " << o->namespace_ << "/"
                        << o->name;
      } else if (it->second.resource_version != std::to_string(o->rv) || it->second.kind != o->kind ||
                 it->second.name != o->name || it->second.namespace_ != o->namespace_) {
        if (++wrong <= 3)
          ADD_FAILURE() << context << ": " << o->name << " at " << it->second.resource_version << " want " << o->rv;
      }
    }
    for (const auto& [uid, o] : live) {
      if (want.count(uid) == 0 && ++extra <= 3)
        ADD_FAILURE() << context << ": " << truth.cluster << " has deleted " << o.kind << " " << o.name;
    }
    EXPECT_EQ(missing + wrong + extra, 0u)
        << context << " cluster " << truth.cluster << " (" << truth.objects.size() << " live objects)";
  }
}

void ExpectNoDuplicates(const std::vector<CollectedEvent>& events, const std::string& context) {
  std::set<std::pair<std::string, std::string>> seen;
  size_t dups = 0;
  for (const auto& e : events) {
    if (!seen.insert({e.cluster + "/" + e.uid, e.resource_version}).second && ++dups <= 3) {
      ADD_FAILURE() << context << ": (" << e.uid << ", " << e.resource_version << ") emitted twice, type "
                    << EventTypeName(e.type) << " origin " << EventOriginName(e.origin);
    }
  }
  EXPECT_EQ(dups, 0u) << context;
}

TEST(CollectorE2eTest, CollectsAChurningFleetAndFoldsToTruth) {
  testing::TempDir dir;
  FleetOptions fo = SmallFleet(11);
  fo.dir = dir.Sub("fleet");
  KL_ASSERT_OK_AND_ASSIGN(auto fleet, Fleet::Create(fo));
  KL_ASSERT_OK(fleet->Start());
  MemorySink sink;
  KL_ASSERT_OK_AND_ASSIGN(auto collector, Collector::Create(FastCollector(*fleet, &sink, 1)));
  KL_ASSERT_OK(collector->Start());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  fleet->SetChurn(false);
  ASSERT_TRUE(WaitUntil([&] { return collector->CaughtUp(TruthVersions(*fleet)); }, 20000));
  KL_ASSERT_OK(collector->status());
  auto events = sink.Snapshot();
  collector->Stop();
  ExpectFoldEqualsTruth(*fleet, events, "churn");
  ExpectNoDuplicates(events, "churn");
  std::set<std::string> kinds;
  for (const auto& e : events) kinds.insert(e.kind);
  EXPECT_EQ(kinds.size(), 8u);
  size_t watch_events = 0;
  for (const auto& e : events) watch_events += e.origin == EventOrigin::kWatch;
  EXPECT_GT(watch_events, 50u) << "churn must reach the collector through watches";
  for (const auto& s : collector->Stats()) {
    EXPECT_GE(s.lists, 1u);
    EXPECT_LE(s.tracker_bytes / std::max<size_t>(1, s.tracked), 4096u);  // small maps carry fixed overhead
  }
}

// The property: many seeded fault schedules, each folded against the truth.
TEST(CollectorE2eTest, FaultSchedulesFoldToTruth) {
  // KUBELAKE_FAULT_SEEDS=first:count runs other seeds (soak runs); CI runs 1:20.
  int first = 1, seeds = 20;
  if (const char* env = std::getenv("KUBELAKE_FAULT_SEEDS")) std::sscanf(env, "%d:%d", &first, &seeds);
  uint64_t expired = 0, inferred = 0, reconnects = 0;
  for (int seed = first; seed < first + seeds; ++seed) {
    testing::TempDir dir;
    FleetOptions fo = SmallFleet(100 + seed);
    fo.dir = dir.Sub("fleet");
    fo.faults = simulator::FaultSchedule::Random(seed, static_cast<int>(fo.clusters), 2500, 600);
    std::string context = "seed " + std::to_string(seed) + " faults " + fo.faults.ToString();
    KL_ASSERT_OK_AND_ASSIGN(auto fleet, Fleet::Create(fo));
    KL_ASSERT_OK(fleet->Start());
    MemorySink sink;
    KL_ASSERT_OK_AND_ASSIGN(auto collector, Collector::Create(FastCollector(*fleet, &sink, seed)));
    KL_ASSERT_OK(collector->Start());
    ASSERT_TRUE(WaitUntil([&] { return fleet->FaultsDone(); }, 20000)) << context;
    fleet->SetChurn(false);
    ASSERT_TRUE(WaitUntil([&] { return collector->CaughtUp(TruthVersions(*fleet)); }, 30000)) << context;
    KL_ASSERT_OK(collector->status());
    auto events = sink.Snapshot();
    for (const auto& s : collector->Stats()) {
      expired += s.expired;
      reconnects += s.reconnects;
    }
    collector->Stop();
    for (const auto& e : events) inferred += e.inferred();
    ExpectFoldEqualsTruth(*fleet, events, context);
    ExpectNoDuplicates(events, context);
    if (HasFailure()) break;
  }
  // The schedules did what they are for.
  EXPECT_GT(expired, 0u);
  EXPECT_GT(inferred, 0u);
  EXPECT_GT(reconnects, 0u);
}

// Restart safety: a second collector rebuilt from the first one's events (as
// the event log would replay them) or from its checkpoints, started after
// deletions the first never saw, emits nothing twice and ends at the truth.
void RestartScenario(bool from_checkpoints) {
  testing::TempDir dir;
  FleetOptions fo = SmallFleet(7);
  fo.dir = dir.Sub("fleet");
  KL_ASSERT_OK_AND_ASSIGN(auto fleet, Fleet::Create(fo));
  KL_ASSERT_OK(fleet->Start());
  MemorySink first_sink;
  std::map<std::pair<std::string, std::string>, std::string> checkpoints;
  {
    KL_ASSERT_OK_AND_ASSIGN(auto first, Collector::Create(FastCollector(*fleet, &first_sink, 3)));
    KL_ASSERT_OK(first->Start());
    // Churn keeps going: stop it at an arbitrary point mid-stream.
    ASSERT_TRUE(WaitUntil([&] { return first->Stats()[0].state == WatchState::kWatching; }, 20000));
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    first->Stop();  // as if killed: what it emitted is all that is left of it
    // Checkpoints as of the last emitted event (a checkpoint taken earlier
    // would need the events after it replayed on top).
    checkpoints = first->ExportCheckpoints();
  }
  std::vector<CollectedEvent> before = first_sink.Snapshot();
  // While no collector runs: churn, deletions, and a compaction that forces a relist.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  fleet->InjectFault(simulator::Fault{0, -1, simulator::FaultKind::kDeleteWhileAway, 200, 8});
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  MemorySink second_sink;
  KL_ASSERT_OK_AND_ASSIGN(auto second, Collector::Create(FastCollector(*fleet, &second_sink, 4)));
  if (from_checkpoints) {
    for (const auto& [key, cp] : checkpoints) KL_ASSERT_OK(second->RestoreCheckpoint(key.first, key.second, cp));
  } else {
    second->RestoreFromEvents(before);
  }
  KL_ASSERT_OK(second->Start());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  fleet->SetChurn(false);
  ASSERT_TRUE(WaitUntil([&] { return second->CaughtUp(TruthVersions(*fleet)); }, 20000));
  std::vector<CollectedEvent> after = second_sink.Snapshot();
  second->Stop();
  std::vector<CollectedEvent> all = before;
  all.insert(all.end(), after.begin(), after.end());
  ExpectFoldEqualsTruth(*fleet, all, from_checkpoints ? "restart from checkpoints" : "restart from events");
  ExpectNoDuplicates(all, from_checkpoints ? "restart from checkpoints" : "restart from events");
  size_t inferred = 0, listed = 0;
  for (const auto& e : after) {
    inferred += e.inferred();
    listed += e.origin == EventOrigin::kList;
  }
  EXPECT_GT(inferred, 0u) << "deletions made while no collector ran must be inferred";
  EXPECT_LT(listed, before.size() / 2) << "a restart must not re-emit what was already emitted";
}

TEST(CollectorE2eTest, RestartFromEmittedEvents) { RestartScenario(false); }
TEST(CollectorE2eTest, RestartFromCheckpoints) { RestartScenario(true); }

TEST(CollectorE2eTest, NamespaceAndSelectorScopedWatches) {
  testing::TempDir dir;
  FleetOptions fo = SmallFleet(5, 1);
  fo.dir = dir.Sub("fleet");
  fo.tls = false;  // plain HTTP works too
  KL_ASSERT_OK_AND_ASSIGN(auto fleet, Fleet::Create(fo));
  KL_ASSERT_OK(fleet->Start());
  MemorySink sink;
  CollectorOptions co = FastCollector(*fleet, &sink, 9);
  KL_ASSERT_OK_AND_ASSIGN(co.watch_sets, ParseWatchSets(R"y(
kind: WatchSet
metadata: {name: scoped}
spec:
  resources:
  - {version: v1, resource: pods, namespaces: [tenant-u00001], labelSelector: "app in (web,api,worker,cache,gateway,search,billing,auth)"}
  - {version: v1, resource: pods, fieldSelector: "metadata.namespace=kube-system"}
)y"));
  KL_ASSERT_OK_AND_ASSIGN(auto collector, Collector::Create(std::move(co)));
  KL_ASSERT_OK(collector->Start());
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  fleet->SetChurn(false);
  ASSERT_TRUE(WaitUntil([&] { return collector->CaughtUp(TruthVersions(*fleet)); }, 20000));
  auto events = sink.Snapshot();
  collector->Stop();
  EventFolder folder;
  for (const auto& e : events) folder.Apply(e);
  std::set<std::string> want, got;
  for (const auto& o : fleet->Truth(0).objects) {
    if (o.kind == "Pod" && (o.namespace_ == "tenant-u00001" || o.namespace_ == "kube-system")) want.insert(o.uid);
  }
  for (const auto& [uid, o] : folder.Live(fleet->cluster_name(0))) got.insert(uid);
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(got, want);
}

TEST(CollectorE2eTest, ManyWatchesOnOneLoopThread) {
  testing::TempDir dir;
  FleetOptions fo = SmallFleet(21, 12);
  fo.dir = dir.Sub("fleet");
  fo.shape.pods = 12;
  fo.churn.pod_updates = 10;
  KL_ASSERT_OK_AND_ASSIGN(auto fleet, Fleet::Create(fo));
  KL_ASSERT_OK(fleet->Start());
  MemorySink sink;
  CollectorOptions co = FastCollector(*fleet, &sink, 5);
  co.loop_threads = 1;  // 12 clusters x 8 kinds = 96 watches on one thread
  KL_ASSERT_OK_AND_ASSIGN(auto collector, Collector::Create(std::move(co)));
  KL_ASSERT_OK(collector->Start());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  fleet->SetChurn(false);
  ASSERT_TRUE(WaitUntil([&] { return collector->CaughtUp(TruthVersions(*fleet)); }, 30000));
  EXPECT_EQ(collector->Stats().size(), 96u);
  auto events = sink.Snapshot();
  collector->Stop();
  ExpectFoldEqualsTruth(*fleet, events, "96 watches");
}

// An unreachable or refusing cluster says why: each watch logs its first failure with the
// cause and URL (once, not at every retry), the watch stats carry the cause for status lines
// and metrics, and DescribeFailingClusters names it per cluster. Connection refused (a port
// nothing listens on), TLS (a CA that did not sign the server) and 401 (a wrong token) against
// the simulator's real HTTPS servers. (Changes of cause and recovery: watch_errors_test.)
TEST(CollectorE2eTest, FailingClustersSayWhy) {
  testing::TempDir dir;
  FleetOptions fo = SmallFleet(5, 2);
  fo.dir = dir.Sub("fleet");
  KL_ASSERT_OK_AND_ASSIGN(auto fleet, Fleet::Create(fo));
  KL_ASSERT_OK(fleet->Start());
  // A port that refuses: bound, never listened on, closed.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int refused_port = ntohs(addr.sin_port);
  ::close(fd);

  MemorySink sink;
  CollectorOptions o = FastCollector(*fleet, &sink, 3);
  ASSERT_EQ(o.clusters.size(), 2u);
  ClusterCredentials refused = o.clusters[0];
  refused.name = "refused";
  refused.server = "https://127.0.0.1:" + std::to_string(refused_port);
  ClusterCredentials untrusted = o.clusters[0];
  untrusted.name = "untrusted";
  untrusted.ca_pem.clear();  // the system trust store does not know the simulator's CA
  ClusterCredentials unauthorized = o.clusters[1];
  unauthorized.name = "unauthorized";
  unauthorized.token = "wrong-token";
  unauthorized.token_file.clear();
  o.clusters = {refused, untrusted, unauthorized};
  o.watch_sets = {DefaultWatchSet()};
  o.backoff_base_ms = 10;
  o.backoff_max_ms = 50;

  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(2000);
  spdlog::default_logger()->sinks().push_back(ring);
  KL_ASSERT_OK_AND_ASSIGN(auto collector, Collector::Create(o));
  KL_ASSERT_OK(collector->Start());
  const std::map<std::string, std::string> want = {
      {"refused", "connection refused"}, {"untrusted", "TLS: "}, {"unauthorized", "HTTP 401 Unauthorized"}};
  auto all_failing = [&] {
    for (const auto& s : collector->Stats()) {
      if (s.consecutive_failures < 5) return false;
    }
    return true;
  };
  ASSERT_TRUE(WaitUntil(all_failing, 20000));
  std::vector<WatchStats> stats = collector->Stats();
  size_t watches_per_cluster = stats.size() / 3;
  for (const auto& s : stats) {
    EXPECT_EQ(s.last_error_cause.rfind(want.at(s.cluster), 0), 0u) << s.cluster << ": " << s.last_error_cause;
    EXPECT_NE(s.last_error_url.find("/api"), std::string::npos) << s.last_error_url;
    EXPECT_GT(s.last_error_ms, 0);
  }
  std::vector<std::string> described = DescribeFailingClusters(stats);
  ASSERT_EQ(described.size(), 3u);
  for (const auto& line : described) {
    std::string cluster = line.substr(0, line.find(':'));
    EXPECT_NE(line.find(want.at(cluster)), std::string::npos) << line;
    EXPECT_NE(
        line.find(std::to_string(watches_per_cluster) + "/" + std::to_string(watches_per_cluster) + " watches failing"),
        std::string::npos)
        << line;
  }
  // The log: one line per watch for its first failure (not one per retry), naming cause and URL.
  auto lines = ring->last_formatted();
  std::map<std::string, int> failing_lines;
  for (const auto& l : lines) {
    if (l.find("collector: cluster ") == std::string::npos || l.find(" failing: ") == std::string::npos) continue;
    std::string cluster = l.substr(l.find("collector: cluster ") + 19);
    cluster = cluster.substr(0, cluster.find(' '));
    ++failing_lines[cluster];
    EXPECT_NE(l.find(want.at(cluster)), std::string::npos) << l;
    EXPECT_NE(l.find(" at https://"), std::string::npos) << l;
  }
  for (const auto& [cluster, cause] : want) {
    EXPECT_EQ(failing_lines[cluster], static_cast<int>(watches_per_cluster)) << cluster;
  }
  collector->Stop();

  // With good credentials nothing is described as failing.
  fleet->SetChurn(false);
  CollectorOptions good = FastCollector(*fleet, &sink, 4);
  KL_ASSERT_OK_AND_ASSIGN(auto healthy, Collector::Create(good));
  KL_ASSERT_OK(healthy->Start());
  ASSERT_TRUE(WaitUntil([&] { return healthy->CaughtUp(TruthVersions(*fleet)); }, 20000));
  EXPECT_TRUE(DescribeFailingClusters(healthy->Stats()).empty());
  healthy->Stop();
  spdlog::default_logger()->sinks().pop_back();
}

}  // namespace
}  // namespace kl::collector
