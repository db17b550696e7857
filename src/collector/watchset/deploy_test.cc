// The manifests in deploy/ (kustomize base + overlays): read-only RBAC
// generated from the WatchSets, the collector's WatchSet access, one
// collector per cluster that cannot run twice, non-root read-only
// containers, every referenced volume/secret/config key present, and a
// central StatefulSet whose Services and NetworkPolicy match its ports.
// kubectl_test renders the overlays with `kubectl kustomize` and applies the
// WatchSet resources to the simulator with --dry-run=server.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>

#include "collector/watchset/rbac.h"
#include "collector/watchset/watch_spec.h"
#include "common/testing/test_util.h"

namespace kl::collector {
namespace {

std::string Deploy(const std::string& rel) { return JoinPath(JoinPath(testing::SourceDir(), "deploy"), rel); }

// Every document of every resource file a kustomization lists.
std::vector<YAML::Node> LoadBase(const std::string& dir) {
  std::vector<YAML::Node> docs;
  YAML::Node k = YAML::LoadFile(Deploy(dir + "/kustomization.yaml"));
  for (const YAML::Node& r : k["resources"]) {
    for (const YAML::Node& d : YAML::LoadAllFromFile(Deploy(dir + "/" + r.as<std::string>()))) {
      if (d && !d.IsNull()) docs.push_back(d);
    }
  }
  return docs;
}

const YAML::Node* FindKind(const std::vector<YAML::Node>& docs, const std::string& kind, const std::string& name = "") {
  for (const YAML::Node& d : docs) {
    if (d["kind"].as<std::string>() == kind && (name.empty() || d["metadata"]["name"].as<std::string>() == name))
      return &d;
  }
  return nullptr;
}

void ExpectHardenedPod(const YAML::Node& pod_spec, const std::string& what) {
  EXPECT_TRUE(pod_spec["securityContext"]["runAsNonRoot"].as<bool>()) << what;
  for (const YAML::Node& c : pod_spec["containers"]) {
    EXPECT_TRUE(c["securityContext"]["readOnlyRootFilesystem"].as<bool>()) << what;
    EXPECT_FALSE(c["securityContext"]["allowPrivilegeEscalation"].as<bool>()) << what;
    std::set<std::string> volumes;
    for (const YAML::Node& v : pod_spec["volumes"]) volumes.insert(v["name"].as<std::string>());
    for (const YAML::Node& m : c["volumeMounts"]) {
      std::string name = m["name"].as<std::string>();
      EXPECT_TRUE(volumes.count(name) || name == "data") << what << ": mount of undeclared volume " << name;
    }
  }
}

TEST(DeployTest, CollectorBaseIsReadOnlyOneReplicaAndFollowsWatchSets) {
  if (!FileExists(Deploy("base/collector/kustomization.yaml"))) GTEST_SKIP() << "deploy/ not found";
  std::vector<YAML::Node> docs = LoadBase("base/collector");
  std::set<std::string> kinds;
  for (const auto& d : docs) kinds.insert(d["kind"].as<std::string>());
  EXPECT_EQ(kinds, (std::set<std::string>{"Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole",
                                          "ClusterRoleBinding", "PersistentVolumeClaim", "Deployment", "WatchSet"}));
  // The WatchSet parses, and the read role is exactly what it watches.
  const YAML::Node* ws = FindKind(docs, "WatchSet", "core");
  ASSERT_NE(ws, nullptr);
  YAML::Emitter emitter;
  emitter << *ws;
  KL_ASSERT_OK_AND_ASSIGN(auto sets, ParseWatchSets(emitter.c_str()));
  EXPECT_EQ(sets[0].resources.size(), 8u);
  KL_ASSERT_OK_AND_ASSIGN(std::string role_file, ReadFile(Deploy("base/collector/clusterrole-read.yaml")));
  EXPECT_EQ(role_file, ReadClusterRoleYaml(sets))
      << "regenerate: kubelake collect --print-clusterrole --spec deploy/base/collector/watchset-core.yaml";
  const YAML::Node* read = FindKind(docs, "ClusterRole", "kubelake-collector-read");
  ASSERT_NE(read, nullptr);
  for (const YAML::Node& rule : (*read)["rules"]) {
    for (const YAML::Node& verb : rule["verbs"]) {
      std::string v = verb.as<std::string>();
      EXPECT_TRUE(v == "get" || v == "list" || v == "watch") << "write verb " << v;
    }
  }
  // WatchSets: read them, write only their status.
  const YAML::Node* wsrole = FindKind(docs, "ClusterRole", "kubelake-collector-watchsets");
  ASSERT_NE(wsrole, nullptr);
  std::map<std::string, std::set<std::string>> verbs;
  for (const YAML::Node& rule : (*wsrole)["rules"]) {
    for (const YAML::Node& r : rule["resources"]) {
      for (const YAML::Node& v : rule["verbs"]) verbs[r.as<std::string>()].insert(v.as<std::string>());
    }
  }
  EXPECT_EQ(verbs["watchsets"], (std::set<std::string>{"get", "list", "watch"}));
  EXPECT_EQ(verbs["watchsets/status"], (std::set<std::string>{"get", "patch", "update"}));
  // Both roles are bound to the collector's service account.
  std::set<std::string> bound;
  for (const auto& d : docs) {
    if (d["kind"].as<std::string>() != "ClusterRoleBinding") continue;
    EXPECT_EQ(d["subjects"][0]["name"].as<std::string>(), "kubelake-collector");
    bound.insert(d["roleRef"]["name"].as<std::string>());
  }
  EXPECT_EQ(bound, (std::set<std::string>{"kubelake-collector-read", "kubelake-collector-watchsets"}));
  // The CRD has the status subresource the collector writes through.
  const YAML::Node* crd = FindKind(docs, "CustomResourceDefinition");
  ASSERT_NE(crd, nullptr);
  EXPECT_TRUE((*crd)["spec"]["versions"][0]["subresources"]["status"].IsMap());
  // One collector, never two at once, spool on a volume, secret-held token.
  const YAML::Node* dep = FindKind(docs, "Deployment");
  ASSERT_NE(dep, nullptr);
  EXPECT_EQ((*dep)["spec"]["replicas"].as<int>(), 1);
  EXPECT_EQ((*dep)["spec"]["strategy"]["type"].as<std::string>(), "Recreate");
  YAML::Node pod = (*dep)["spec"]["template"]["spec"];
  EXPECT_EQ(pod["serviceAccountName"].as<std::string>(), "kubelake-collector");
  ExpectHardenedPod(pod, "collector");
  std::string args;
  for (const YAML::Node& a : pod["containers"][0]["args"]) args += a.as<std::string>() + " ";
  for (const char* want : {"collect ", "--in-cluster ", "--watchsets-from-cluster ", "--sink=$(SINK_URL) ",
                           "--sink-token-file=/etc/kubelake/sink/token ", "--state-dir=/var/lib/kubelake/"}) {
    EXPECT_NE(args.find(want), std::string::npos) << want << " in " << args;
  }
  bool pvc = false;
  for (const YAML::Node& v : pod["volumes"])
    pvc = pvc || (v["persistentVolumeClaim"] &&
                  v["persistentVolumeClaim"]["claimName"].as<std::string>() == "kubelake-collector-state");
  EXPECT_TRUE(pvc);
  EXPECT_NE(FindKind(docs, "PersistentVolumeClaim", "kubelake-collector-state"), nullptr);

  // The example overlay provides what the base refers to.
  YAML::Node overlay = YAML::LoadFile(Deploy("overlays/collector-example/kustomization.yaml"));
  std::set<std::string> literals;
  for (const YAML::Node& l : overlay["configMapGenerator"][0]["literals"]) {
    std::string s = l.as<std::string>();
    literals.insert(s.substr(0, s.find('=')));
  }
  EXPECT_EQ(literals, (std::set<std::string>{"cluster-name", "sink-url"}));
  EXPECT_EQ(overlay["secretGenerator"][0]["name"].as<std::string>(), "kubelake-sink");
}

TEST(DeployTest, CentralBaseKeepsItsDataAndExposesOnlyItsPorts) {
  if (!FileExists(Deploy("base/central/kustomization.yaml"))) GTEST_SKIP() << "deploy/ not found";
  std::vector<YAML::Node> docs = LoadBase("base/central");
  const YAML::Node* sts = FindKind(docs, "StatefulSet");
  ASSERT_NE(sts, nullptr);
  EXPECT_EQ((*sts)["spec"]["replicas"].as<int>(), 1);
  EXPECT_EQ((*sts)["spec"]["volumeClaimTemplates"][0]["metadata"]["name"].as<std::string>(), "data");
  YAML::Node pod = (*sts)["spec"]["template"]["spec"];
  ExpectHardenedPod(pod, "central");
  std::map<std::string, int> ports;
  for (const YAML::Node& p : pod["containers"][0]["ports"])
    ports[p["name"].as<std::string>()] = p["containerPort"].as<int>();
  EXPECT_EQ(ports, (std::map<std::string, int>{{"ingest", 9443}, {"postgres", 5433}, {"http", 8080}}));
  std::string args;
  for (const YAML::Node& a : pod["containers"][0]["args"]) args += a.as<std::string>() + " ";
  EXPECT_NE(args.find("--listen-ingest=0.0.0.0:9443"), std::string::npos) << args;
  EXPECT_NE(args.find("--ingest-clusters="), std::string::npos) << args;
  std::set<std::string> secrets;
  for (const YAML::Node& v : pod["volumes"]) {
    if (v["secret"]) secrets.insert(v["secret"]["secretName"].as<std::string>());
  }
  // Services point at named container ports that exist.
  for (const auto& d : docs) {
    if (d["kind"].as<std::string>() != "Service") continue;
    for (const YAML::Node& p : d["spec"]["ports"]) {
      EXPECT_EQ(ports.count(p["targetPort"].as<std::string>()), 1u) << d["metadata"]["name"].as<std::string>();
    }
  }
  const YAML::Node* np = FindKind(docs, "NetworkPolicy");
  ASSERT_NE(np, nullptr);
  std::set<int> allowed;
  for (const YAML::Node& rule : (*np)["spec"]["ingress"]) {
    for (const YAML::Node& p : rule["ports"]) allowed.insert(p["port"].as<int>());
  }
  EXPECT_EQ(allowed, (std::set<int>{9443, 5433, 8080}));
  // The overlay makes the secrets the pod mounts.
  YAML::Node overlay = YAML::LoadFile(Deploy("overlays/central-example/kustomization.yaml"));
  std::set<std::string> generated;
  for (const YAML::Node& s : overlay["secretGenerator"]) generated.insert(s["name"].as<std::string>());
  EXPECT_EQ(generated, secrets);
}

}  // namespace
}  // namespace kl::collector
