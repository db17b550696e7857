#include "simulator/store.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "common/json.h"
#include "common/testing/test_util.h"
#include "simulator/cluster_sim.h"
#include "simulator/custom_resources.h"
#include "simulator/faults.h"
#include "simulator/selectors.h"

namespace kl::simulator {
namespace {

ClusterStore::Render Simple(const std::string& uid, Labels labels = {}) {
  return [uid, labels](uint64_t rv, StoredObject* o) {
    o->uid = uid;
    o->labels = labels;
    o->json = "{\"metadata\":{\"name\":\"" + o->name + "\",\"uid\":\"" + uid + "\",\"resourceVersion\":\"" +
              std::to_string(rv) + "\"}}";
  };
}

TEST(StoreTest, VersionsIncreaseAndListPagesComeFromOneSnapshot) {
  ClusterStore store("c", {});
  for (int i = 0; i < 10; ++i) store.Put(kPods, "ns", "p" + std::to_string(i), Simple("u" + std::to_string(i)));
  EXPECT_EQ(store.resource_version(), 10u);
  Filter f;
  f.resource = kPods;
  KL_ASSERT_OK_AND_ASSIGN(ListResult page, store.List(f, 4, "", 0));
  EXPECT_EQ(page.items.size(), 4u);
  EXPECT_EQ(page.rv, 10u);
  EXPECT_EQ(page.remaining, 6);
  ASSERT_FALSE(page.continue_token.empty());
  // Changes after the first page do not show up in later pages.
  store.Delete(kPods, "ns", "p9", Simple("u9"));
  store.Put(kPods, "ns", "p99", Simple("u99"));
  std::set<std::string> names;
  for (auto& o : page.items) names.insert(o->name);
  std::string token = page.continue_token;
  while (!token.empty()) {
    KL_ASSERT_OK_AND_ASSIGN(ListResult next, store.List(f, 4, token, 1));
    EXPECT_EQ(next.rv, 10u);
    for (auto& o : next.items) names.insert(o->name);
    token = next.continue_token;
  }
  EXPECT_EQ(names.size(), 10u);
  EXPECT_TRUE(names.count("p9"));
  EXPECT_FALSE(names.count("p99"));
}

TEST(StoreTest, ContinueTokensExpireByAgeAndByCompaction) {
  ClusterStore::Options options;
  options.continue_ttl_ms = 1000;
  ClusterStore store("c", options);
  for (int i = 0; i < 5; ++i) store.Put(kPods, "ns", "p" + std::to_string(i), Simple("u" + std::to_string(i)));
  Filter f;
  f.resource = kPods;
  KL_ASSERT_OK_AND_ASSIGN(ListResult page, store.List(f, 2, "", 0));
  EXPECT_TRUE(store.List(f, 2, page.continue_token, 500).ok());
  EXPECT_TRUE(store.List(f, 2, page.continue_token, 5000).status().IsExpired());
  KL_ASSERT_OK_AND_ASSIGN(ListResult again, store.List(f, 2, "", 6000));
  store.Put(kPods, "ns", "late", Simple("late"));
  store.CompactAll();
  EXPECT_TRUE(store.List(f, 2, again.continue_token, 6001).status().IsExpired());
  EXPECT_TRUE(store.List(f, 2, "garbage", 6001).status().code() == StatusCode::kInvalidArgument);
}

TEST(StoreTest, WatchSeesChangesInOrderAndExpiresAfterCompaction) {
  ClusterStore store("c", {});
  store.Put(kPods, "ns", "a", Simple("ua"));
  uint64_t start = store.resource_version();
  store.Put(kPods, "ns", "b", Simple("ub"));
  store.Put(kNodes, "", "n", Simple("un"));  // another resource: skipped but advances the cursor
  store.Put(kPods, "ns", "a", Simple("ua"));
  store.Delete(kPods, "ns", "b", Simple("ub"));
  Filter f;
  f.resource = kPods;
  uint64_t cursor = start;
  std::vector<Change> changes;
  KL_ASSERT_OK(store.WaitChanges(f, &cursor, 100, 0, &changes));
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].type, ChangeType::kAdded);
  EXPECT_EQ(changes[1].type, ChangeType::kModified);
  EXPECT_EQ(changes[2].type, ChangeType::kDeleted);
  EXPECT_EQ(changes[2].object->name, "b");
  EXPECT_LT(changes[0].rv, changes[1].rv);
  EXPECT_EQ(cursor, store.resource_version());
  // Nothing new: a bounded wait returns empty.
  changes.clear();
  KL_ASSERT_OK(store.WaitChanges(f, &cursor, 100, 10, &changes));
  EXPECT_TRUE(changes.empty());
  // A cursor older than the history is 410.
  store.Put(kPods, "ns", "c", Simple("uc"));
  store.CompactAll();
  uint64_t old = start;
  EXPECT_TRUE(store.WaitChanges(f, &old, 100, 0, &changes).IsExpired());
  // One at the newest version is still fine.
  uint64_t fresh = store.resource_version();
  KL_EXPECT_OK(store.WaitChanges(f, &fresh, 100, 0, &changes));
}

TEST(StoreTest, HistoryIsBounded) {
  ClusterStore::Options options;
  options.history_limit = 5;
  ClusterStore store("c", options);
  for (int i = 0; i < 20; ++i) store.Put(kPods, "ns", "p", Simple("u"));
  EXPECT_EQ(store.compacted_rv(), 15u);
  Filter f;
  f.resource = kPods;
  uint64_t cursor = 14;
  std::vector<Change> changes;
  EXPECT_TRUE(store.WaitChanges(f, &cursor, 100, 0, &changes).IsExpired());
  cursor = 15;
  KL_ASSERT_OK(store.WaitChanges(f, &cursor, 100, 0, &changes));
  EXPECT_EQ(changes.size(), 5u);
}

TEST(StoreTest, SelectorChangesBecomeAddedAndDeletedForTheWatch) {
  ClusterStore store("c", {});
  store.Put(kPods, "ns", "a", Simple("ua", {{"tier", "web"}}));
  uint64_t cursor = store.resource_version();
  store.Put(kPods, "ns", "a", Simple("ua", {{"tier", "db"}}));   // leaves the selection
  store.Put(kPods, "ns", "a", Simple("ua", {{"tier", "web"}}));  // comes back
  Filter f;
  f.resource = kPods;
  KL_ASSERT_OK_AND_ASSIGN(f.labels, LabelSelector::Parse("tier=web"));
  std::vector<Change> changes;
  KL_ASSERT_OK(store.WaitChanges(f, &cursor, 100, 0, &changes));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].type, ChangeType::kDeleted);
  EXPECT_EQ(changes[1].type, ChangeType::kAdded);
}

TEST(SelectorTest, LabelAndFieldSelectors) {
  Labels labels = {{"app", "web"}, {"kubelake.io/user", "u1"}};
  auto sel = [&](const char* text) {
    auto s = LabelSelector::Parse(text);
    EXPECT_TRUE(s.ok()) << text;
    return s.ok() && s->Matches(labels);
  };
  EXPECT_TRUE(sel("app=web"));
  EXPECT_TRUE(sel("app==web,kubelake.io/user"));
  EXPECT_FALSE(sel("app!=web"));
  EXPECT_TRUE(sel("app in (api, web)"));
  EXPECT_FALSE(sel("app notin (api,web)"));
  EXPECT_TRUE(sel("!missing"));
  EXPECT_FALSE(sel("missing"));
  EXPECT_TRUE(sel(""));
  EXPECT_FALSE(LabelSelector::Parse("app in web").ok());
  auto f = FieldSelector::Parse("spec.nodeName=n1,status.phase!=Failed");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Matches({"p", "ns", "n1", "Running"}));
  EXPECT_FALSE(f->Matches({"p", "ns", "n2", "Running"}));
  EXPECT_FALSE(f->Matches({"p", "ns", "n1", "Failed"}));
  EXPECT_FALSE(FieldSelector::Parse("spec.bogus=1").ok());
}

TEST(ClusterSimTest, SameSeedSameObjectsAndChurn) {
  ClusterShape shape;
  shape.nodes = 4;
  shape.pods = 40;
  ChurnRates churn;
  churn.pod_replacements = 50;
  churn.pod_updates = 50;
  churn.scales = 20;
  churn.node_changes = 5;
  churn.cordons = 5;
  auto run = [&](uint64_t seed) {
    ClusterStore store("c", {});
    ClusterSim sim({"c", "us-east-1"}, shape, seed, 1700000000000, &store);
    sim.Populate();
    for (int i = 0; i < 200; ++i) sim.Step(churn, 10);
    GroundTruth t = store.Truth();
    std::string digest = std::to_string(t.resource_version);
    for (const auto& o : t.objects) digest += "|" + o.uid + o.name + std::to_string(o.rv);
    return digest;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(ClusterSimTest, TopologyIsConsistent) {
  ClusterShape shape;
  shape.nodes = 5;
  shape.pods = 60;
  shape.pods_per_deployment = 4;
  ClusterStore store("c", {});
  ClusterSim sim({"c", "eu-west-1"}, shape, 3, 1700000000000, &store);
  sim.Populate();
  ChurnRates churn;
  churn.pod_replacements = 100;
  churn.scales = 50;
  churn.node_changes = 20;
  for (int i = 0; i < 100; ++i) sim.Step(churn, 10);
  std::set<std::string> nodes, owners;
  for (auto& n : store.All(kNodes)) nodes.insert(n->name);
  for (auto& rs : store.All(kReplicaSets)) owners.insert(rs->uid);
  for (auto& s : store.All(kStatefulSets)) owners.insert(s->uid);
  for (auto& d : store.All(kDaemonSets)) owners.insert(d->uid);
  size_t pods = 0;
  for (auto& p : store.All(kPods)) {
    ++pods;
    EXPECT_TRUE(nodes.count(p->node_name)) << p->name << " on vanished node " << p->node_name;
    EXPECT_NE(p->json.find("\"requests\":{\"cpu\""), std::string::npos);
    bool has_owner = false;
    for (const auto& uid : owners) has_owner = has_owner || p->json.find(uid) != std::string::npos;
    EXPECT_TRUE(has_owner) << p->name;
    if (p->json.find("\"DaemonSet\"") == std::string::npos) {
      bool has_user = false;
      for (auto& [k, v] : p->labels) has_user = has_user || k == kUserLabel;
      EXPECT_TRUE(has_user) << p->name;
    }
  }
  EXPECT_GT(pods, 30u);
  for (auto& n : store.All(kNodes)) {
    EXPECT_NE(n->json.find("\"topology.kubernetes.io/region\":\"eu-west-1\""), std::string::npos);
    EXPECT_NE(n->json.find("\"topology.kubernetes.io/zone\":\"eu-west-1"), std::string::npos);
  }
}

TEST(FaultScheduleTest, ParsesAndPrintsBack) {
  KL_ASSERT_OK_AND_ASSIGN(FaultSchedule s, FaultSchedule::Parse("down@3000+1000#1, drop@1500,deletes@4000+500x20"));
  ASSERT_EQ(s.faults.size(), 3u);
  EXPECT_EQ(s.faults[0].kind, FaultKind::kDropWatches);
  EXPECT_EQ(s.faults[1].kind, FaultKind::kDown);
  EXPECT_EQ(s.faults[1].cluster, 1);
  EXPECT_EQ(s.faults[1].duration_ms, 1000);
  EXPECT_EQ(s.faults[2].count, 20);
  EXPECT_EQ(s.ToString(), "drop@1500,down@3000+1000#1,deletes@4000+500x20");
  EXPECT_EQ(s.Summary(), "3 faults (1 drop, 1 down, 1 deletes)");
  EXPECT_EQ(FaultSchedule().Summary(), "no faults");
  EXPECT_FALSE(FaultSchedule::Parse("down@100").ok()) << "downtime needs a duration";
  EXPECT_FALSE(FaultSchedule::Parse("explode@1").ok());
  FaultSchedule r = FaultSchedule::Random(9, 2, 10000, 1000);
  EXPECT_GT(r.faults.size(), 4u);
  EXPECT_EQ(r.ToString(), FaultSchedule::Random(9, 2, 10000, 1000).ToString());
  KL_ASSERT_OK_AND_ASSIGN(FaultSchedule back, FaultSchedule::Parse(r.ToString()));
  EXPECT_EQ(back.ToString(), r.ToString());
}

}  // namespace
}  // namespace kl::simulator

namespace kl::simulator {
namespace {

// A custom resource write reads the stored object, changes it and stores it:
// two at once must not lose one (a WatchSet status update stored over a spec
// edit it never saw would undo the edit).
TEST(CustomResourceTest, ConcurrentStatusAndSpecWritesLoseNothing) {
  ClusterStore store("c", {});
  auto spec_of = [](int i) {
    return std::string(R"({"spec":{"resources":[{"version":"v1","resource":")") + (i % 2 ? "pods" : "services") +
           R"("}]}})";
  };
  WriteRequest create{"POST",
                      kWatchSets,
                      "",
                      false,
                      "",
                      R"({"apiVersion":"kubelake.io/v1alpha1","kind":"WatchSet","metadata":{"name":"core"},)"
                      R"("spec":{"resources":[{"version":"v1","resource":"nodes"}]}})"};
  ASSERT_EQ(HandleWrite(&store, create).code, 201);
  const int rounds = 5000;
  std::thread status_writer([&] {
    for (int i = 0; i < rounds; ++i) {
      WriteRequest put{"PUT",
                       kWatchSets,
                       "core",
                       true,
                       "",
                       R"({"apiVersion":"kubelake.io/v1alpha1","kind":"WatchSet","metadata":{"name":"core"},)"
                       R"("status":{"observedGeneration":)" +
                           std::to_string(i) + "}}"};
      EXPECT_EQ(HandleWrite(&store, put).code, 200);
    }
  });
  for (int i = 0; i < rounds; ++i) {
    WriteRequest patch{"PATCH", kWatchSets, "core", false, "application/merge-patch+json", spec_of(i)};
    ASSERT_EQ(HandleWrite(&store, patch).code, 200);
  }
  status_writer.join();
  auto stored = ParseJson(store.Get(kWatchSets, "", "core")->json);
  ASSERT_TRUE(stored.ok());
  const JsonValue* spec = stored->Find("spec");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->ToJson(), ParseJson(spec_of(rounds - 1))->Find("spec")->ToJson())
      << "the last spec edit was undone by a concurrent status write";
  const JsonValue* status = stored->Find("status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->GetIntOr("observedGeneration", -1), rounds - 1) << "the last status write was lost";
}

}  // namespace
}  // namespace kl::simulator
