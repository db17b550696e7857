#include "simulator/resources.h"

namespace kl::simulator {
namespace {
const ResourceInfo kResources[kNumResources] = {
    {"", "v1", "namespaces", "namespace", "Namespace", "NamespaceList", "\"ns\"", false},
    {"", "v1", "nodes", "node", "Node", "NodeList", "\"no\"", false},
    {"", "v1", "pods", "pod", "Pod", "PodList", "\"po\"", true},
    {"", "v1", "services", "service", "Service", "ServiceList", "\"svc\"", true},
    {"apps", "v1", "deployments", "deployment", "Deployment", "DeploymentList", "\"deploy\"", true},
    {"apps", "v1", "replicasets", "replicaset", "ReplicaSet", "ReplicaSetList", "\"rs\"", true},
    {"apps", "v1", "statefulsets", "statefulset", "StatefulSet", "StatefulSetList", "\"sts\"", true},
    {"apps", "v1", "daemonsets", "daemonset", "DaemonSet", "DaemonSetList", "\"ds\"", true},
    {"apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition", "CustomResourceDefinition",
     "CustomResourceDefinitionList", "\"crd\",\"crds\"", false, true},
    {"kubelake.io", "v1alpha1", "watchsets", "watchset", "WatchSet", "WatchSetList", "\"ws\"", false, true},
};
}  // namespace

const ResourceInfo& Resource(int id) { return kResources[id]; }

int FindResource(std::string_view group, std::string_view version, std::string_view resource) {
  for (int i = 0; i < kNumResources; ++i) {
    const ResourceInfo& r = kResources[i];
    if (r.group == group && r.version == version && r.resource == resource) return i;
  }
  return -1;
}

}  // namespace kl::simulator
