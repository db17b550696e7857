// An independent client: the real kubectl against the simulated fleet over
// HTTPS with the kubeconfig the fleet wrote (chunked lists, watch, JSON output).
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <thread>

#include "common/json.h"
#include "common/string_util.h"
#include "common/test_util.h"
#include "simulator/fleet.h"

namespace kl::simulator {
namespace {

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
    kubectl_ = "kubectl --kubeconfig " + fleet_->kubeconfig_path() + " ";
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
    RunShell("timeout 4 " + kubectl_ + "--context sim-1 get pods -n default -w -o name > " + out_path + " 2>&1", &ignored);
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

}  // namespace
}  // namespace kl::simulator
