#include <gtest/gtest.h>

#include "collector/watchset/kubeconfig.h"
#include "collector/watchset/watch_spec.h"
#include "common/testing/test_util.h"

namespace kl::collector {
namespace {

TEST(KubeconfigTest, ReadsContextsTokensCertificatesAndFiles) {
  testing::TempDir dir;
  KL_ASSERT_OK(WriteFile(dir.Sub("ca.pem"), "CA FROM FILE"));
  KL_ASSERT_OK(WriteFile(dir.Sub("token"), "file-token\n"));
  std::string yaml = R"(
apiVersion: v1
kind: Config
current-context: a
clusters:
- name: ca
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: SU5MSU5FIENB
- name: cb
  cluster:
    server: https://10.0.0.2:6443
    certificate-authority: ca.pem
    insecure-skip-tls-verify: true
users:
- name: ua
  user:
    token: abc
- name: ub
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
    tokenFile: token
contexts:
- name: a
  context: {cluster: ca, user: ua}
- name: b
  context: {cluster: cb, user: ub}
)";
  KL_ASSERT_OK_AND_ASSIGN(auto all, ParseKubeconfig(yaml, dir.path()));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a");
  EXPECT_EQ(all[0].server, "https://10.0.0.1:6443");
  EXPECT_EQ(all[0].ca_pem, "INLINE CA");
  EXPECT_EQ(all[0].token, "abc");
  EXPECT_FALSE(all[0].insecure_skip_tls_verify);
  EXPECT_EQ(all[1].ca_pem, "CA FROM FILE");
  EXPECT_TRUE(all[1].insecure_skip_tls_verify);
  EXPECT_EQ(all[1].client_cert_pem, "CERT");
  EXPECT_EQ(all[1].client_key_pem, "KEY");
  KL_ASSERT_OK_AND_ASSIGN(std::string token, CurrentToken(all[1]));
  EXPECT_EQ(token, "file-token");
  KL_ASSERT_OK_AND_ASSIGN(auto only_b, ParseKubeconfig(yaml, dir.path(), {"b"}));
  ASSERT_EQ(only_b.size(), 1u);
  EXPECT_EQ(only_b[0].name, "b");
  EXPECT_TRUE(ParseKubeconfig(yaml, dir.path(), {"zzz"}).status().IsNotFound());
  EXPECT_FALSE(ParseKubeconfig("clusters: [", dir.path()).ok());
}

TEST(KubeconfigTest, InClusterServiceAccount) {
  testing::TempDir dir;
  KL_ASSERT_OK(WriteFile(dir.Sub("ca.crt"), "SA CA"));
  KL_ASSERT_OK(WriteFile(dir.Sub("token"), "sa-token"));
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  KL_ASSERT_OK_AND_ASSIGN(auto cred, InClusterCredentials("here", dir.path()));
  EXPECT_EQ(cred.server, "https://10.96.0.1:443");
  EXPECT_EQ(cred.ca_pem, "SA CA");
  KL_ASSERT_OK_AND_ASSIGN(std::string token, CurrentToken(cred));
  EXPECT_EQ(token, "sa-token");
  unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_TRUE(InClusterCredentials("here", dir.path()).status().IsNotFound());
}

TEST(WatchSpecTest, ParsesWatchSetsAndExpandsTargets) {
  std::string yaml = R"(
apiVersion: kubelake.io/v1alpha1
kind: WatchSet
metadata: {name: core}
spec:
  clusters: ["*"]
  resources:
  - {version: v1, resource: pods, namespaces: [a, b], labelSelector: "kubelake.io/user"}
  - {version: v1, resource: nodes}
---
apiVersion: kubelake.io/v1alpha1
kind: WatchSet
metadata: {name: apps}
spec:
  clusters: [c2]
  resources:
  - {group: apps, version: v1, resource: deployments, fieldSelector: "metadata.namespace!=kube-system"}
  - {group: example.com, version: v1, resource: widgets, kind: Widget, namespaced: false}
)";
  KL_ASSERT_OK_AND_ASSIGN(auto sets, ParseWatchSets(yaml));
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[0].resources[0].kind, "Pod");
  EXPECT_FALSE(sets[0].resources[1].namespaced);
  std::vector<ClusterCredentials> clusters(2);
  clusters[0].name = "c1";
  clusters[1].name = "c2";
  KL_ASSERT_OK_AND_ASSIGN(auto targets, ExpandTargets(sets, clusters));
  // core: 2 clusters x (2 pod namespaces + nodes); apps: c2 x 2.
  ASSERT_EQ(targets.size(), 8u);
  EXPECT_EQ(targets[0].watch_name, "core/pods@a");
  EXPECT_EQ(targets[0].CollectionPath(), "/api/v1/namespaces/a/pods");
  EXPECT_EQ(targets[0].ListQuery(500, ""), "limit=500&labelSelector=kubelake.io%2Fuser");
  EXPECT_EQ(targets[2].CollectionPath(), "/api/v1/nodes");
  EXPECT_EQ(targets[6].watch_name, "apps/apps/deployments");
  EXPECT_EQ(targets[6].CollectionPath(), "/apis/apps/v1/deployments");
  EXPECT_EQ(targets[7].kind, "Widget");
  EXPECT_NE(targets[6].WatchQuery("42", 300).find("resourceVersion=42"), std::string::npos);

  EXPECT_FALSE(ParseWatchSets("kind: Other\nmetadata: {name: x}\n").ok());
  EXPECT_FALSE(ParseWatchSets("kind: WatchSet\nmetadata: {name: x}\nspec: {resources: [{resource: pods}]}\n").ok());
  EXPECT_FALSE(
      ParseWatchSets(
          "kind: WatchSet\nmetadata: {name: x}\nspec: {resources: [{version: v1, resource: nodes, namespaces: [a]}]}\n")
          .ok());
  sets[1].clusters = {"nope"};
  EXPECT_TRUE(ExpandTargets(sets, clusters).status().IsNotFound());
  EXPECT_EQ(DefaultWatchSet().resources.size(), 8u);
}

}  // namespace
}  // namespace kl::collector
