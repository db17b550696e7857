// WatchSets followed live against the simulated API server: the collector's
// watches follow creates, edits and deletes of WatchSet objects without a
// restart, kinds that stay lose and repeat nothing, a dropped kind stops, and
// each WatchSet's status tells what happens (RBAC refusals, unknown
// resources, invalid edits).
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "collector/collector.h"
#include "collector/fold.h"
#include "collector/watchset/watchset_controller.h"
#include "common/json.h"
#include "common/testing/test_util.h"
#include "simulator/custom_resources.h"
#include "simulator/fleet.h"

namespace kl::collector {
namespace {

bool WaitUntil(const std::function<bool()>& done, int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

constexpr const char* kCrd =
    R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"watchsets.kubelake.io"},)"
    R"("spec":{"group":"kubelake.io","scope":"Cluster","names":{"plural":"watchsets","kind":"WatchSet"},)"
    R"("versions":[{"name":"v1alpha1","served":true,"storage":true}]}})";

std::string WatchSetJson(const std::string& name, const std::string& resources) {
  return R"({"apiVersion":"kubelake.io/v1alpha1","kind":"WatchSet","metadata":{"name":")" + name +
         R"("},"spec":{"resources":[)" + resources + "]}}";
}

class WatchSetE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    simulator::FleetOptions o;
    o.clusters = 1;
    o.seed = 5;
    o.shape.nodes = 3;
    o.shape.pods = 30;
    o.shape.pods_per_deployment = 3;
    o.churn.pod_replacements = 20;
    o.churn.pod_updates = 30;
    o.churn.scales = 8;
    o.bookmark_interval_ms = 100;
    o.dir = dir_.Sub("fleet");
    fleet_ = simulator::Fleet::Create(o).value();
    KL_ASSERT_OK(fleet_->Start());
    ASSERT_EQ(Write("POST", simulator::kCustomResourceDefinitions, "", kCrd).code, 201);
    clusters_ = LoadKubeconfig(fleet_->kubeconfig_path()).value();
  }

  void TearDown() override {
    if (controller_) controller_->Stop();
    if (collector_) collector_->Stop();
    fleet_->Stop();
  }

  simulator::WriteResponse Write(const std::string& method, int resource, const std::string& name,
                                 const std::string& body,
                                 const std::string& content_type = "application/merge-patch+json") {
    simulator::WriteRequest r;
    r.method = method;
    r.resource = resource;
    r.name = name;
    r.body = body;
    r.content_type = content_type;
    return simulator::HandleWrite(fleet_->store(0), r);
  }

  void StartCollector() {
    WatchSetControllerOptions wo;
    wo.status_interval_ms = 100;
    wo.retry_ms = 200;
    controller_ = std::make_unique<WatchSetController>(clusters_[0], wo);
    KL_ASSERT_OK_AND_ASSIGN(auto initial, controller_->LoadInitial());
    initial_ = initial.size();
    CollectorOptions co;
    co.clusters = clusters_;
    co.sink = &sink_;
    co.dynamic_targets = true;
    co.backoff_base_ms = 20;
    co.backoff_max_ms = 300;
    co.seed = 9;
    collector_ = Collector::Create(co).value();
    KL_ASSERT_OK(collector_->SetTargets(initial));
    KL_ASSERT_OK(collector_->Start());
    KL_ASSERT_OK(controller_->Start(collector_.get()));
  }

  // The status the collector wrote to a WatchSet.
  JsonValue Status(const std::string& name) {
    auto obj = fleet_->store(0)->Get(simulator::kWatchSets, "", name);
    if (obj == nullptr) return JsonValue();
    auto v = ParseJson(obj->json).value();
    const JsonValue* s = v.Find("status");
    return s != nullptr ? *s : JsonValue();
  }
  std::string Reason(const std::string& name) {
    JsonValue s = Status(name);
    const JsonValue* c = s.Find("conditions");
    if (c == nullptr || c->items().empty()) return "";
    return c->items()[0].GetStringOr("reason", "");
  }
  std::set<std::string> WatchNames() {
    std::set<std::string> out;
    for (const auto& t : collector_->Targets()) out.insert(t.watch_name);
    return out;
  }
  size_t Count(const std::string& kind) {
    size_t n = 0;
    for (const auto& e : sink_.Snapshot()) n += e.kind == kind;
    return n;
  }

  testing::TempDir dir_;
  std::unique_ptr<simulator::Fleet> fleet_;
  std::vector<ClusterCredentials> clusters_;
  MemorySink sink_;
  std::unique_ptr<WatchSetController> controller_;
  std::unique_ptr<Collector> collector_;
  size_t initial_ = 0;
};

TEST_F(WatchSetE2eTest, FollowsEditsWithoutLosingOrRepeatingEvents) {
  ASSERT_EQ(Write("POST", simulator::kWatchSets, "",
                  WatchSetJson(
                      "core",
                      R"({"version":"v1","resource":"pods"},{"group":"apps","version":"v1","resource":"replicasets"})"))
                .code,
            201);
  StartCollector();
  EXPECT_EQ(initial_, 2u);
  ASSERT_TRUE(WaitUntil([&] { return Reason("core") == "Watching"; }, 10000)) << Status("core").ToJson();
  ASSERT_TRUE(WaitUntil([&] { return Count("ReplicaSet") > 0 && Count("Pod") > 0; }, 10000));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  // Add services, drop replicasets (what `kubectl apply` of the edited WatchSet does).
  auto r =
      Write("PATCH", simulator::kWatchSets, "core",
            R"({"spec":{"resources":[{"version":"v1","resource":"pods"},{"version":"v1","resource":"services"}]}})");
  ASSERT_EQ(r.code, 200) << r.body;
  ASSERT_TRUE(WaitUntil([&] { return WatchNames() == std::set<std::string>{"core/pods", "core/services"}; }, 10000));
  size_t replicasets_at_drop = Count("ReplicaSet");
  ASSERT_TRUE(WaitUntil([&] { return Count("Service") > 0; }, 10000));
  // Scales keep changing replica sets: none of it may arrive any more.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(Count("ReplicaSet"), replicasets_at_drop);
  ASSERT_TRUE(WaitUntil(
      [&] {
        JsonValue s = Status("core");
        return Reason("core") == "Watching" && s.GetIntOr("observedGeneration", 0) == 2 &&
               s.Find("watchedResources")->items().size() == 2;
      },
      10000))
      << Status("core").ToJson();

  // Pods stayed: folding them (and the new services) gives the truth, no version twice.
  fleet_->SetChurn(false);
  uint64_t rv = fleet_->Truth(0).resource_version;
  ASSERT_TRUE(WaitUntil([&] { return collector_->CaughtUp({{fleet_->cluster_name(0), rv}}); }, 10000));
  auto events = sink_.Snapshot();
  EventFolder folder;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& e : events) {
    folder.Apply(e);
    EXPECT_TRUE(seen.insert({e.uid, e.resource_version}).second) << e.kind << " " << e.name << " twice";
  }
  auto live = folder.Live(fleet_->cluster_name(0));
  std::map<std::string, std::string> want, got;
  for (const auto& o : fleet_->Truth(0).objects) {
    if (o.kind == "Pod" || o.kind == "Service") want[o.uid] = o.kind + "@" + std::to_string(o.rv);
  }
  for (const auto& [uid, o] : live) {
    if (o.kind == "Pod" || o.kind == "Service") got[uid] = o.kind + "@" + o.resource_version;
  }
  EXPECT_EQ(got, want);

  // Deleting the WatchSet stops its watches.
  ASSERT_EQ(Write("DELETE", simulator::kWatchSets, "core", "").code, 200);
  ASSERT_TRUE(WaitUntil([&] { return WatchNames().empty(); }, 10000));
}

TEST_F(WatchSetE2eTest, StatusReportsRefusalsUnknownResourcesAndBadEdits) {
  fleet_->server(0)->Forbid("nodes", true);
  ASSERT_EQ(
      Write("POST", simulator::kWatchSets, "", WatchSetJson("infra", R"({"version":"v1","resource":"nodes"})")).code,
      201);
  ASSERT_EQ(
      Write("POST", simulator::kWatchSets, "",
            WatchSetJson(
                "widgets",
                R"({"group":"example.com","version":"v1","resource":"widgets","kind":"Widget","namespaced":false})"))
          .code,
      201);
  ASSERT_EQ(Write("POST", simulator::kWatchSets, "",
                  WatchSetJson("apps", R"({"group":"apps","version":"v1","resource":"deployments"})"))
                .code,
            201);
  StartCollector();
  ASSERT_TRUE(WaitUntil([&] { return Reason("infra") == "Forbidden"; }, 10000)) << Status("infra").ToJson();
  EXPECT_NE(Status("infra").GetStringOr("lastError", "").find("forbidden"), std::string::npos)
      << Status("infra").ToJson();
  ASSERT_TRUE(WaitUntil([&] { return Reason("widgets") == "ResourceNotFound"; }, 10000)) << Status("widgets").ToJson();
  ASSERT_TRUE(WaitUntil([&] { return Reason("apps") == "Watching"; }, 10000)) << Status("apps").ToJson();

  // RBAC fixed: the watch recovers by itself.
  fleet_->server(0)->Forbid("nodes", false);
  ASSERT_TRUE(WaitUntil([&] { return Reason("infra") == "Watching"; }, 15000)) << Status("infra").ToJson();
  EXPECT_GT(Count("Node"), 0u);

  // An edit the collector cannot use keeps the last good watches and says why.
  auto r = Write("PATCH", simulator::kWatchSets, "apps",
                 R"({"spec":{"resources":[{"group":"x.io","version":"v1","resource":"things"}]}})");
  ASSERT_EQ(r.code, 200) << r.body;
  ASSERT_TRUE(WaitUntil([&] { return Reason("apps") == "InvalidSpec"; }, 10000)) << Status("apps").ToJson();
  EXPECT_NE(Status("apps").GetStringOr("lastError", "").find("needs a kind"), std::string::npos);
  EXPECT_EQ(WatchNames().count("apps/apps/deployments"), 1u);
}

}  // namespace
}  // namespace kl::collector
