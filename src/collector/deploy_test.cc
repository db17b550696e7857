// The in-cluster manifests in deploy/: well-formed, read-only RBAC, and a
// WatchSet the collector accepts.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "collector/watch_spec.h"
#include "common/test_util.h"

namespace kl::collector {
namespace {

TEST(DeployTest, ManifestsAreReadOnlyAndCarryAValidWatchSet) {
  std::string path = JoinPath(testing::SourceDir(), "deploy/collector.yaml");
  if (!FileExists(path)) GTEST_SKIP() << path << " not found";
  KL_ASSERT_OK_AND_ASSIGN(std::string text, ReadFile(path));
  std::vector<YAML::Node> docs;
  ASSERT_NO_THROW(docs = YAML::LoadAll(text));
  std::set<std::string> kinds;
  for (const YAML::Node& doc : docs) {
    std::string kind = doc["kind"].as<std::string>();
    kinds.insert(kind);
    if (kind == "ClusterRole") {
      for (const YAML::Node& rule : doc["rules"]) {
        for (const YAML::Node& verb : rule["verbs"]) {
          std::string v = verb.as<std::string>();
          EXPECT_TRUE(v == "get" || v == "list" || v == "watch") << "write verb " << v;
        }
      }
    }
    if (kind == "ConfigMap") {
      auto sets = ParseWatchSets(doc["data"]["watchset.yaml"].as<std::string>());
      ASSERT_TRUE(sets.ok()) << sets.status().ToString();
      EXPECT_EQ((*sets)[0].resources.size(), 8u);
    }
    if (kind == "Deployment") {
      const YAML::Node spec = doc["spec"]["template"]["spec"];
      EXPECT_EQ(spec["serviceAccountName"].as<std::string>(), "kubelake-collector");
      std::string args;
      for (const YAML::Node& a : spec["containers"][0]["args"]) args += a.as<std::string>() + " ";
      EXPECT_NE(args.find("--in-cluster"), std::string::npos);
    }
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                                          "ConfigMap", "PersistentVolumeClaim", "Deployment"}));
  KL_ASSERT_OK_AND_ASSIGN(std::string crd, ReadFile(JoinPath(testing::SourceDir(), "deploy/watchset-crd.yaml")));
  EXPECT_NO_THROW(YAML::Load(crd));
}

}  // namespace
}  // namespace kl::collector
