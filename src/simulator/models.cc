#include "simulator/models.h"

#include "common/clock.h"
#include "common/json.h"

namespace kl::simulator {
namespace {

void Metadata(JsonWriter& w, const std::string& name, const std::string& ns, const std::string& uid, uint64_t rv,
              int64_t created_ms, int64_t generation, const Labels& labels) {
  w.Key("metadata").BeginObject();
  w.Key("name").String(name);
  if (!ns.empty()) w.Key("namespace").String(ns);
  w.Key("uid").String(uid);
  w.Key("resourceVersion").String(std::to_string(rv));
  if (generation > 0) w.Key("generation").Int(generation);
  w.Key("creationTimestamp").String(FormatRfc3339(created_ms));
  if (!labels.empty()) {
    w.Key("labels").BeginObject();
    for (const auto& [k, v] : labels) w.Key(k).String(v);
    w.EndObject();
  }
}

void OwnerReference(JsonWriter& w, std::string_view api_version, std::string_view kind, const std::string& name,
                    const std::string& uid) {
  w.Key("ownerReferences").BeginArray().BeginObject();
  w.Key("apiVersion").String(api_version).Key("kind").String(kind).Key("name").String(name).Key("uid").String(uid);
  w.Key("controller").Bool(true).Key("blockOwnerDeletion").Bool(true);
  w.EndObject().EndArray();
}

void Condition(JsonWriter& w, std::string_view type, bool status, int64_t probe_ms, int64_t transition_ms,
               std::string_view reason = {}, std::string_view message = {}) {
  w.BeginObject().Key("type").String(type).Key("status").String(status ? "True" : "False");
  if (probe_ms > 0) w.Key("lastProbeTime").Null();
  w.Key("lastTransitionTime").String(FormatRfc3339(transition_ms));
  if (!reason.empty()) w.Key("reason").String(reason);
  if (!message.empty()) w.Key("message").String(message);
  w.EndObject();
}

std::string Millicores(int m) { return m % 1000 == 0 ? std::to_string(m / 1000) : std::to_string(m) + "m"; }

void Finish(JsonWriter& w, StoredObject* object) {
  w.EndObject();
  object->json = w.Release();
}

}  // namespace

void RenderNamespace(const std::string& name, const std::string& uid, int64_t created_ms, const Labels& labels,
                     uint64_t rv, StoredObject* object) {
  object->uid = uid;
  object->labels = labels;
  object->labels.emplace_back("kubernetes.io/metadata.name", name);
  JsonWriter w;
  w.BeginObject().Key("kind").String("Namespace").Key("apiVersion").String("v1");
  Metadata(w, name, "", uid, rv, created_ms, 0, object->labels);
  w.EndObject();
  w.Key("spec").BeginObject().Key("finalizers").BeginArray().String("kubernetes").EndArray().EndObject();
  w.Key("status").BeginObject().Key("phase").String("Active").EndObject();
  Finish(w, object);
}

void RenderNode(const NodeModel& n, const ClusterIdentity& cluster, uint64_t rv, StoredObject* object) {
  object->uid = n.uid;
  object->labels = {{"beta.kubernetes.io/arch", "amd64"},
                    {"beta.kubernetes.io/os", "linux"},
                    {"kubernetes.io/arch", "amd64"},
                    {"kubernetes.io/hostname", n.name},
                    {"kubernetes.io/os", "linux"},
                    {"node.kubernetes.io/instance-type", "m6i.8xlarge"},
                    {std::string(kRegionLabel), cluster.region},
                    {std::string(kZoneLabel), n.zone}};
  JsonWriter w;
  w.BeginObject().Key("kind").String("Node").Key("apiVersion").String("v1");
  Metadata(w, n.name, "", n.uid, rv, n.created_ms, 0, object->labels);
  w.Key("annotations").BeginObject();
  w.Key("node.alpha.kubernetes.io/ttl").String("0");
  w.Key("volumes.kubernetes.io/controller-managed-attach-detach").String("true");
  w.EndObject().EndObject();
  w.Key("spec").BeginObject().Key("providerID").String("kubelake-sim://" + cluster.name + "/" + n.name);
  if (n.unschedulable) {
    w.Key("unschedulable").Bool(true);
    w.Key("taints").BeginArray().BeginObject().Key("key").String("node.kubernetes.io/unschedulable");
    w.Key("effect").String("NoSchedule").Key("timeAdded").String(FormatRfc3339(n.created_ms)).EndObject().EndArray();
  }
  w.EndObject();
  auto resources = [&](std::string_view key, int cpu, int64_t mem_ki) {
    w.Key(key).BeginObject().Key("cpu").String(std::to_string(cpu)).Key("ephemeral-storage").String("203056560Ki");
    w.Key("hugepages-2Mi").String("0").Key("memory").String(std::to_string(mem_ki) + "Ki").Key("pods").String("110");
    w.EndObject();
  };
  w.Key("status").BeginObject();
  resources("capacity", n.cpu_cores, n.memory_ki);
  resources("allocatable", n.cpu_cores - 1, n.memory_ki - 1048576);
  w.Key("conditions").BeginArray();
  Condition(w, "MemoryPressure", false, 0, n.created_ms, "KubeletHasSufficientMemory", "kubelet has sufficient memory available");
  Condition(w, "DiskPressure", false, 0, n.created_ms, "KubeletHasNoDiskPressure", "kubelet has no disk pressure");
  Condition(w, "PIDPressure", false, 0, n.created_ms, "KubeletHasSufficientPID", "kubelet has sufficient PID available");
  Condition(w, "Ready", true, 0, n.created_ms, "KubeletReady", "kubelet is posting ready status");
  w.EndArray();
  w.Key("addresses").BeginArray();
  w.BeginObject().Key("type").String("Hostname").Key("address").String(n.name).EndObject();
  w.EndArray();
  w.Key("nodeInfo").BeginObject().Key("architecture").String("amd64").Key("containerRuntimeVersion").String("containerd://1.7.13");
  w.Key("kernelVersion").String("6.1.0-18-cloud-amd64").Key("kubeletVersion").String(cluster.version);
  w.Key("operatingSystem").String("linux").Key("osImage").String("Debian GNU/Linux 12 (bookworm)").EndObject();
  w.EndObject();
  Finish(w, object);
}

void RenderPod(const PodModel& p, uint64_t rv, int64_t deletion_ms, StoredObject* object) {
  object->uid = p.uid;
  object->node_name = p.node;
  object->phase = p.phase;
  object->labels.clear();
  object->labels.emplace_back("app", p.app);
  if (!p.template_hash.empty()) object->labels.emplace_back("pod-template-hash", p.template_hash);
  if (!p.user.empty()) object->labels.emplace_back(std::string(kUserLabel), p.user);
  if (!p.instance.empty()) object->labels.emplace_back(std::string(kInstanceLabel), p.instance);
  JsonWriter w;
  w.BeginObject().Key("kind").String("Pod").Key("apiVersion").String("v1");
  Metadata(w, p.name, p.ns, p.uid, rv, p.created_ms, 0, object->labels);
  if (deletion_ms > 0) {
    w.Key("deletionTimestamp").String(FormatRfc3339(deletion_ms)).Key("deletionGracePeriodSeconds").Int(0);
  }
  std::string_view owner_api = p.owner_kind == "ReplicaSet" || p.owner_kind == "StatefulSet" || p.owner_kind == "DaemonSet" ? "apps/v1" : "v1";
  OwnerReference(w, owner_api, p.owner_kind, p.owner_name, p.owner_uid);
  w.EndObject();

  w.Key("spec").BeginObject();
  w.Key("containers").BeginArray().BeginObject();
  w.Key("name").String(p.app).Key("image").String(p.image);
  w.Key("ports").BeginArray().BeginObject().Key("containerPort").Int(8080).Key("protocol").String("TCP").EndObject().EndArray();
  w.Key("resources").BeginObject();
  w.Key("limits").BeginObject().Key("cpu").String(Millicores(p.cpu_millis * 2)).Key("memory").String(std::to_string(p.memory_mi * 2) + "Mi").EndObject();
  w.Key("requests").BeginObject().Key("cpu").String(Millicores(p.cpu_millis)).Key("memory").String(std::to_string(p.memory_mi) + "Mi").EndObject();
  w.EndObject();
  w.Key("volumeMounts").BeginArray().BeginObject().Key("name").String("kube-api-access");
  w.Key("readOnly").Bool(true).Key("mountPath").String("/var/run/secrets/kubernetes.io/serviceaccount").EndObject().EndArray();
  w.Key("terminationMessagePath").String("/dev/termination-log").Key("terminationMessagePolicy").String("File");
  w.Key("imagePullPolicy").String("IfNotPresent");
  w.EndObject().EndArray();
  w.Key("restartPolicy").String("Always").Key("terminationGracePeriodSeconds").Int(30);
  w.Key("dnsPolicy").String("ClusterFirst").Key("serviceAccountName").String("default");
  if (!p.node.empty()) w.Key("nodeName").String(p.node);
  w.Key("schedulerName").String("default-scheduler");
  w.Key("tolerations").BeginArray();
  w.BeginObject().Key("key").String("node.kubernetes.io/not-ready").Key("operator").String("Exists");
  w.Key("effect").String("NoExecute").Key("tolerationSeconds").Int(300).EndObject();
  w.EndArray();
  w.Key("priority").Int(0).Key("enableServiceLinks").Bool(true).Key("preemptionPolicy").String("PreemptLowerPriority");
  w.EndObject();

  w.Key("status").BeginObject().Key("phase").String(p.phase);
  w.Key("conditions").BeginArray();
  Condition(w, "Initialized", true, 1, p.created_ms);
  Condition(w, "Ready", p.ready, 1, p.transition_ms, p.ready ? "" : "ContainersNotReady",
            p.ready ? "" : "containers with unready status: [" + p.app + "]");
  Condition(w, "ContainersReady", p.ready, 1, p.transition_ms);
  Condition(w, "PodScheduled", !p.node.empty(), 1, p.created_ms);
  w.EndArray();
  if (!p.host_ip.empty()) w.Key("hostIP").String(p.host_ip);
  if (!p.pod_ip.empty()) {
    w.Key("podIP").String(p.pod_ip);
    w.Key("podIPs").BeginArray().BeginObject().Key("ip").String(p.pod_ip).EndObject().EndArray();
  }
  w.Key("startTime").String(FormatRfc3339(p.created_ms));
  w.Key("containerStatuses").BeginArray().BeginObject();
  w.Key("name").String(p.app).Key("state").BeginObject();
  if (p.phase == "Running") {
    w.Key("running").BeginObject().Key("startedAt").String(FormatRfc3339(p.transition_ms)).EndObject();
  } else {
    w.Key("waiting").BeginObject().Key("reason").String("ContainerCreating").EndObject();
  }
  w.EndObject();
  w.Key("ready").Bool(p.ready).Key("restartCount").Int(p.restarts).Key("image").String(p.image);
  w.Key("imageID").String(p.image + "@sha256:" + p.uid.substr(0, 8) + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  w.Key("containerID").String("containerd://" + p.uid.substr(0, 8) + p.uid.substr(9, 4) + "7f3ac5d1c0b5e29a6b1f0c3d4e5f60718293a4b5c6d7e8f9");
  w.Key("started").Bool(p.phase == "Running").EndObject().EndArray();
  w.Key("qosClass").String("Burstable");
  w.EndObject();
  Finish(w, object);
}

namespace {
Labels WorkloadLabels(const WorkloadModel& wl) {
  Labels labels = {{"app", wl.app}};
  labels.emplace_back(std::string(kUserLabel), wl.user);
  labels.emplace_back(std::string(kInstanceLabel), wl.instance);
  return labels;
}

void PodTemplate(JsonWriter& w, const WorkloadModel& wl, bool with_hash) {
  w.Key("template").BeginObject().Key("metadata").BeginObject().Key("creationTimestamp").Null();
  w.Key("labels").BeginObject().Key("app").String(wl.app);
  if (with_hash) w.Key("pod-template-hash").String(wl.template_hash);
  w.Key(kUserLabel).String(wl.user).Key(kInstanceLabel).String(wl.instance).EndObject().EndObject();
  w.Key("spec").BeginObject().Key("containers").BeginArray().BeginObject();
  w.Key("name").String(wl.app).Key("image").String(wl.image);
  w.Key("resources").BeginObject().Key("requests").BeginObject().Key("cpu").String(Millicores(wl.cpu_millis));
  w.Key("memory").String(std::to_string(wl.memory_mi) + "Mi").EndObject().EndObject();
  w.EndObject().EndArray().Key("restartPolicy").String("Always").EndObject().EndObject();
}

void Selector(JsonWriter& w, const WorkloadModel& wl, bool with_hash) {
  w.Key("selector").BeginObject().Key("matchLabels").BeginObject().Key("app").String(wl.app);
  if (with_hash) w.Key("pod-template-hash").String(wl.template_hash);
  w.Key(kInstanceLabel).String(wl.instance).EndObject().EndObject();
}

void WorkloadStatus(JsonWriter& w, int replicas, int64_t generation) {
  w.Key("status").BeginObject().Key("observedGeneration").Int(generation).Key("replicas").Int(replicas);
  w.Key("readyReplicas").Int(replicas).Key("availableReplicas").Int(replicas);
}
}  // namespace

void RenderDeployment(const WorkloadModel& wl, uint64_t rv, StoredObject* object) {
  object->uid = wl.uid;
  object->labels = WorkloadLabels(wl);
  JsonWriter w;
  w.BeginObject().Key("kind").String("Deployment").Key("apiVersion").String("apps/v1");
  Metadata(w, wl.name, wl.ns, wl.uid, rv, wl.created_ms, wl.generation, object->labels);
  w.Key("annotations").BeginObject().Key("deployment.kubernetes.io/revision").String("1").EndObject().EndObject();
  w.Key("spec").BeginObject().Key("replicas").Int(wl.replicas);
  Selector(w, wl, false);
  PodTemplate(w, wl, false);
  w.Key("strategy").BeginObject().Key("type").String("RollingUpdate").Key("rollingUpdate").BeginObject();
  w.Key("maxUnavailable").String("25%").Key("maxSurge").String("25%").EndObject().EndObject();
  w.Key("revisionHistoryLimit").Int(10).Key("progressDeadlineSeconds").Int(600).EndObject();
  WorkloadStatus(w, wl.replicas, wl.generation);
  w.Key("updatedReplicas").Int(wl.replicas);
  w.Key("conditions").BeginArray();
  Condition(w, "Available", true, 0, wl.created_ms, "MinimumReplicasAvailable", "Deployment has minimum availability.");
  Condition(w, "Progressing", true, 0, wl.created_ms, "NewReplicaSetAvailable",
            "ReplicaSet \"" + wl.rs_name + "\" has successfully progressed.");
  w.EndArray().EndObject();
  Finish(w, object);
}

void RenderReplicaSet(const WorkloadModel& wl, uint64_t rv, StoredObject* object) {
  object->uid = wl.rs_uid;
  object->labels = WorkloadLabels(wl);
  object->labels.emplace_back("pod-template-hash", wl.template_hash);
  JsonWriter w;
  w.BeginObject().Key("kind").String("ReplicaSet").Key("apiVersion").String("apps/v1");
  Metadata(w, wl.rs_name, wl.ns, wl.rs_uid, rv, wl.created_ms, wl.generation, object->labels);
  w.Key("annotations").BeginObject().Key("deployment.kubernetes.io/desired-replicas").String(std::to_string(wl.replicas));
  w.Key("deployment.kubernetes.io/revision").String("1").EndObject();
  OwnerReference(w, "apps/v1", "Deployment", wl.name, wl.uid);
  w.EndObject();
  w.Key("spec").BeginObject().Key("replicas").Int(wl.replicas);
  Selector(w, wl, true);
  PodTemplate(w, wl, true);
  w.EndObject();
  WorkloadStatus(w, wl.replicas, wl.generation);
  w.Key("fullyLabeledReplicas").Int(wl.replicas).EndObject();
  Finish(w, object);
}

void RenderStatefulSet(const WorkloadModel& wl, uint64_t rv, StoredObject* object) {
  object->uid = wl.uid;
  object->labels = WorkloadLabels(wl);
  JsonWriter w;
  w.BeginObject().Key("kind").String("StatefulSet").Key("apiVersion").String("apps/v1");
  Metadata(w, wl.name, wl.ns, wl.uid, rv, wl.created_ms, wl.generation, object->labels);
  w.EndObject();
  w.Key("spec").BeginObject().Key("replicas").Int(wl.replicas).Key("serviceName").String(wl.name);
  Selector(w, wl, false);
  PodTemplate(w, wl, false);
  w.Key("podManagementPolicy").String("OrderedReady");
  w.Key("updateStrategy").BeginObject().Key("type").String("RollingUpdate").EndObject().EndObject();
  WorkloadStatus(w, wl.replicas, wl.generation);
  w.Key("currentReplicas").Int(wl.replicas).Key("updatedReplicas").Int(wl.replicas).EndObject();
  Finish(w, object);
}

void RenderDaemonSet(const DaemonSetModel& ds, int desired, uint64_t rv, StoredObject* object) {
  object->uid = ds.uid;
  object->labels = {{"k8s-app", ds.name}};
  JsonWriter w;
  w.BeginObject().Key("kind").String("DaemonSet").Key("apiVersion").String("apps/v1");
  Metadata(w, ds.name, ds.ns, ds.uid, rv, ds.created_ms, ds.generation, object->labels);
  w.EndObject();
  w.Key("spec").BeginObject().Key("selector").BeginObject().Key("matchLabels").BeginObject();
  w.Key("k8s-app").String(ds.name).EndObject().EndObject();
  w.Key("template").BeginObject().Key("metadata").BeginObject().Key("labels").BeginObject().Key("k8s-app").String(ds.name);
  w.EndObject().EndObject().Key("spec").BeginObject().Key("containers").BeginArray().BeginObject();
  w.Key("name").String(ds.name).Key("image").String("registry.k8s.io/" + ds.name + ":v1.29.4").EndObject().EndArray();
  w.Key("hostNetwork").Bool(true).EndObject().EndObject();
  w.Key("updateStrategy").BeginObject().Key("type").String("RollingUpdate").EndObject().EndObject();
  w.Key("status").BeginObject().Key("currentNumberScheduled").Int(desired).Key("desiredNumberScheduled").Int(desired);
  w.Key("numberMisscheduled").Int(0).Key("numberReady").Int(desired).Key("numberAvailable").Int(desired);
  w.Key("observedGeneration").Int(ds.generation).EndObject();
  Finish(w, object);
}

void RenderService(const WorkloadModel& wl, const std::string& cluster_ip, uint64_t rv, StoredObject* object) {
  object->uid = wl.service_uid;
  object->labels = WorkloadLabels(wl);
  JsonWriter w;
  w.BeginObject().Key("kind").String("Service").Key("apiVersion").String("v1");
  Metadata(w, wl.name, wl.ns, wl.service_uid, rv, wl.created_ms, 0, object->labels);
  w.EndObject();
  w.Key("spec").BeginObject();
  w.Key("ports").BeginArray().BeginObject().Key("name").String("http").Key("protocol").String("TCP");
  w.Key("port").Int(80).Key("targetPort").Int(8080).EndObject().EndArray();
  w.Key("selector").BeginObject().Key("app").String(wl.app).Key(kInstanceLabel).String(wl.instance).EndObject();
  w.Key("clusterIP").String(cluster_ip).Key("clusterIPs").BeginArray().String(cluster_ip).EndArray();
  w.Key("type").String("ClusterIP").Key("sessionAffinity").String("None");
  w.Key("ipFamilies").BeginArray().String("IPv4").EndArray().Key("ipFamilyPolicy").String("SingleStack");
  w.EndObject();
  w.Key("status").BeginObject().Key("loadBalancer").BeginObject().EndObject().EndObject();
  Finish(w, object);
}

}  // namespace kl::simulator
