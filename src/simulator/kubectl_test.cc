// An independent client: the real kubectl against the simulated fleet over
// HTTPS with the kubeconfig the fleet wrote (chunked lists, watch, JSON output).
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <thread>

#include "common/json.h"
#include "common/string_util.h"
#include "common/testing/test_util.h"
#include "simulator/fleet.h"

namespace kl::simulator {
namespace {

std::string SourceDirFile(const std::string& rel) { return JoinPath(testing::SourceDir(), rel); }

bool HaveKubectl() { return std::system("command -v kubectl > /dev/null 2>&1") == 0; }

// Runs a shell command; returns its exit status and fills stdout.
int RunShell(const std::string& command, std::string* out) {
  out->clear();
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out->append(buf, n);
  return pclose(pipe);
}

class KubectlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveKubectl()) GTEST_SKIP() << "kubectl not installed (Debian package kubernetes-client)";
    FleetOptions options;
    options.clusters = 2;
    options.shape.nodes = 4;
    options.shape.pods = 40;
    options.dir = dir_.Sub("fleet");
    options.churn = {};
    auto fleet = Fleet::Create(options);
    ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
    fleet_ = std::move(*fleet);
    KL_ASSERT_OK(fleet_->Start());
    kubectl_ = "kubectl --cache-dir " + dir_.Sub("kube-cache") + " --kubeconfig " + fleet_->kubeconfig_path() + " ";
  }

  std::set<std::string> TruthNames(size_t cluster, const std::string& kind, const std::string& prefix) {
    std::set<std::string> names;
    for (const auto& o : fleet_->Truth(cluster).objects) {
      if (o.kind == kind) names.insert(prefix + o.name);
    }
    return names;
  }

  testing::TempDir dir_;
  std::unique_ptr<Fleet> fleet_;
  std::string kubectl_;
};

TEST_F(KubectlTest, ChunkedListSeesEveryPod) {
  std::string out;
  std::string log = dir_.Sub("kubectl.log");
  ASSERT_EQ(RunShell(kubectl_ + "--context sim-1 get pods -A --chunk-size=7 -o name -v=6 2>" + log, &out), 0) << out;
  std::set<std::string> names;
  for (const auto& line : Split(out, '\n', true)) names.insert(line);
  EXPECT_EQ(names, TruthNames(0, "Pod", "pod/"));
  KL_ASSERT_OK_AND_ASSIGN(std::string requests, ReadFile(log));
  size_t pages = 0;
  for (size_t pos = 0; (pos = requests.find("continue=", pos)) != std::string::npos; ++pos) ++pages;
  EXPECT_GE(pages, 5u) << "kubectl must have followed continue tokens:\n" << requests;
}

TEST_F(KubectlTest, JsonOutputOfNodesAndDeployments) {
  std::string out;
  ASSERT_EQ(RunShell(kubectl_ + "--context sim-2 get nodes -o json 2>&1", &out), 0) << out;
  KL_ASSERT_OK_AND_ASSIGN(JsonValue list, ParseJson(out, "kubectl output"));
  ASSERT_EQ(list.Find("items")->items().size(), 4u);
  const JsonValue* labels = list.Find("items")->items()[0].Find("metadata")->Find("labels");
  EXPECT_EQ(labels->GetStringOr("topology.kubernetes.io/region", ""), fleet_->region(1));
  ASSERT_EQ(RunShell(kubectl_ + "--context sim-2 get deployments -A -o name 2>&1", &out), 0) << out;
  std::set<std::string> names;
  for (const auto& line : Split(out, '\n', true)) names.insert(line);
  EXPECT_EQ(names, TruthNames(1, "Deployment", "deployment.apps/"));
  ASSERT_EQ(RunShell(kubectl_ + "--context sim-1 api-resources -o name 2>&1", &out), 0) << out;
  EXPECT_NE(out.find("statefulsets.apps"), std::string::npos) << out;
}

TEST_F(KubectlTest, WatchPrintsChangesAsTheyHappen) {
  std::string out_path = dir_.Sub("watch.out");
  std::thread watcher([&] {
    std::string ignored;
    RunShell("timeout 4 " + kubectl_ + "--context sim-1 get pods -n default -w -o name > " + out_path + " 2>&1",
             &ignored);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto render = [](const std::string& name) {
    return [name](uint64_t rv, StoredObject* o) {
      o->uid = "uid-" + name;
      o->json = "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" + name +
                "\",\"namespace\":\"default\",\"uid\":\"uid-" + name + "\",\"resourceVersion\":\"" +
                std::to_string(rv) + "\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{},\"status\":{}}";
    };
  };
  fleet_->store(0)->Put(kPods, "default", "watched-1", render("watched-1"));
  fleet_->store(0)->Put(kPods, "default", "watched-2", render("watched-2"));
  watcher.join();
  KL_ASSERT_OK_AND_ASSIGN(std::string out, ReadFile(out_path));
  EXPECT_NE(out.find("pod/watched-1"), std::string::npos) << out;
  EXPECT_NE(out.find("pod/watched-2"), std::string::npos) << out;
}

TEST_F(KubectlTest, AppliesEditsAndDeletesWatchSets) {
  std::string out;
  std::string crd = SourceDirFile("deploy/base/collector/watchset-crd.yaml");
  // No CRD yet: WatchSets are not served.
  EXPECT_NE(RunShell(kubectl_ + "--context sim-1 get watchsets 2>&1", &out), 0) << out;
  ASSERT_EQ(RunShell(kubectl_ + "--context sim-1 apply -f " + crd + " 2>&1", &out), 0) << out;
  std::string ws = dir_.Sub("ws.yaml");
  KL_ASSERT_OK(
      WriteFile(ws,
                "apiVersion: kubelake.io/v1alpha1\nkind: WatchSet\nmetadata: {name: core}\nspec:\n  resources:\n"
                "  - {version: v1, resource: pods}\n  - {group: apps, version: v1, resource: replicasets}\n"));
  // A server-side dry run changes nothing.
  ASSERT_EQ(RunShell(kubectl_ + "--context sim-1 apply --dry-run=server -f " + ws + " 2>&1", &out), 0) << out;
  EXPECT_EQ(fleet_->store(0)->Get(kWatchSets, "", "core"), nullptr);
  ASSERT_EQ(RunShell(kubectl_ + "--context sim-1 apply -f " + ws + " 2>&1", &out), 0) << out;
  EXPECT_NE(out.find("watchset.kubelake.io/core created"), std::string::npos) << out;
  // Edit: drop replicasets, add services; generation moves.
  KL_ASSERT_OK(
      WriteFile(ws,
                "apiVersion: kubelake.io/v1alpha1\nkind: WatchSet\nmetadata: {name: core}\nspec:\n  resources:\n"
                "  - {version: v1, resource: pods}\n  - {version: v1, resource: services}\n"));
  ASSERT_EQ(RunShell(kubectl_ + "--context sim-1 apply -f " + ws + " 2>&1", &out), 0) << out;
  EXPECT_NE(out.find("configured"), std::string::npos) << out;
  ASSERT_EQ(RunShell(kubectl_ + "--context sim-1 get ws core -o json 2>&1", &out), 0) << out;
  KL_ASSERT_OK_AND_ASSIGN(JsonValue obj, ParseJson(out, "kubectl output"));
  EXPECT_EQ(obj.Find("metadata")->GetIntOr("generation", 0), 2);
  const auto& resources = obj.Find("spec")->Find("resources")->items();
  ASSERT_EQ(resources.size(), 2u);
  EXPECT_EQ(resources[1].GetStringOr("resource", ""), "services");
  // Status goes through the subresource only.
  ASSERT_EQ(RunShell(kubectl_ + "--context sim-1 patch ws core --subresource=status --type=merge -p "
                                "'{\"status\":{\"lastError\":\"x\"}}' 2>&1",
                     &out),
            0)
      << out;
  ASSERT_EQ(
      RunShell(kubectl_ + "--context sim-1 get ws core -o jsonpath='{.status.lastError}/{.metadata.generation}' 2>&1",
               &out),
      0);
  EXPECT_EQ(out, "x/2");
  // The CRD's schema is enforced, also for server-side dry runs.
  std::string bad = dir_.Sub("bad.yaml");
  KL_ASSERT_OK(WriteFile(
      bad, "apiVersion: kubelake.io/v1alpha1\nkind: WatchSet\nmetadata: {name: bad}\nspec:\n  resources: []\n"));
  EXPECT_NE(RunShell(kubectl_ + "--context sim-1 apply --dry-run=server -f " + bad + " 2>&1", &out), 0);
  EXPECT_NE(out.find("at least 1 items"), std::string::npos) << out;
  ASSERT_EQ(RunShell(kubectl_ + "--context sim-1 delete ws core 2>&1", &out), 0) << out;
  EXPECT_EQ(fleet_->store(0)->Get(kWatchSets, "", "core"), nullptr);
}

// The deploy/ overlays render with kubectl's own kustomize, and the custom
// resources among them pass the simulated API server's checks in a
// server-side dry run (the other kinds are checked by deploy_test).
TEST_F(KubectlTest, DeployOverlaysRenderAndTheirWatchSetsPassServerDryRun) {
  std::string out;
  for (const char* overlay : {"deploy/overlays/collector-example", "deploy/overlays/central-example"}) {
    ASSERT_EQ(RunShell("kubectl kustomize " + SourceDirFile(overlay) + " 2>&1", &out), 0) << overlay << ": " << out;
    EXPECT_NE(out.find("kind: "), std::string::npos);
  }
  ASSERT_EQ(RunShell("kubectl kustomize " + SourceDirFile("deploy/overlays/collector-example") + " > " +
                         dir_.Sub("collector.yaml") + " 2>&1",
                     &out),
            0);
  KL_ASSERT_OK_AND_ASSIGN(std::string rendered, ReadFile(dir_.Sub("collector.yaml")));
  std::string crd, watchsets;
  // Split the rendered stream into its documents and keep the custom ones.
  size_t pos = 0;
  while (pos < rendered.size()) {
    size_t end = rendered.find("\n---\n", pos);
    std::string doc = rendered.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? rendered.size() : end + 5;
    if (doc.find("kind: CustomResourceDefinition") != std::string::npos) crd = doc;
    if (doc.find("kind: WatchSet\n") != std::string::npos) watchsets += "---\n" + doc + "\n";
  }
  ASSERT_FALSE(crd.empty());
  ASSERT_FALSE(watchsets.empty());
  KL_ASSERT_OK(WriteFile(dir_.Sub("crd.yaml"), crd));
  KL_ASSERT_OK(WriteFile(dir_.Sub("watchsets.yaml"), watchsets));
  ASSERT_EQ(RunShell(kubectl_ + "--context sim-1 apply -f " + dir_.Sub("crd.yaml") + " 2>&1", &out), 0) << out;
  ASSERT_EQ(
      RunShell(kubectl_ + "--context sim-1 apply --dry-run=server -f " + dir_.Sub("watchsets.yaml") + " 2>&1", &out), 0)
      << out;
  EXPECT_NE(out.find("watchset.kubelake.io/core created (server dry run)"), std::string::npos) << out;
  EXPECT_EQ(fleet_->store(0)->Get(kWatchSets, "", "core"), nullptr);
}

}  // namespace
}  // namespace kl::simulator
