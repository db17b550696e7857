#include "collector/watchset/watch_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "common/file/file_util.h"

namespace kl::collector {
namespace {

struct KnownKind {
  const char* group;
  const char* resource;
  const char* kind;
  bool namespaced;
};
// Kinds (and scope) of common resources, so a spec can name just the resource.
const KnownKind kKnown[] = {
    {"", "namespaces", "Namespace", false},
    {"", "nodes", "Node", false},
    {"", "pods", "Pod", true},
    {"", "services", "Service", true},
    {"", "configmaps", "ConfigMap", true},
    {"", "persistentvolumes", "PersistentVolume", false},
    {"", "persistentvolumeclaims", "PersistentVolumeClaim", true},
    {"", "events", "Event", true},
    {"", "serviceaccounts", "ServiceAccount", true},
    {"apps", "deployments", "Deployment", true},
    {"apps", "replicasets", "ReplicaSet", true},
    {"apps", "statefulsets", "StatefulSet", true},
    {"apps", "daemonsets", "DaemonSet", true},
    {"batch", "jobs", "Job", true},
    {"batch", "cronjobs", "CronJob", true},
};

std::string Str(const YAML::Node& n, const char* key) {
  YAML::Node v = n[key];
  return v && v.IsScalar() ? v.as<std::string>() : "";
}

std::vector<std::string> Strings(const YAML::Node& n, const char* key) {
  std::vector<std::string> out;
  YAML::Node v = n[key];
  if (v && v.IsSequence()) {
    for (const auto& item : v) out.push_back(item.as<std::string>());
  }
  return out;
}

Result<WatchSet> ParseOne(const YAML::Node& doc) {
  if (Str(doc, "kind") != "WatchSet")
    return Status::InvalidArgument("expected kind: WatchSet, got \"" + Str(doc, "kind") + "\"");
  WatchSet set;
  set.name = doc["metadata"] ? Str(doc["metadata"], "name") : "";
  if (set.name.empty()) return Status::InvalidArgument("WatchSet without metadata.name");
  YAML::Node spec = doc["spec"];
  if (!spec || !spec.IsMap()) return Status::InvalidArgument("WatchSet " + set.name + ": missing spec");
  for (const std::string& c : Strings(spec, "clusters")) {
    if (c != "*") set.clusters.push_back(c);
  }
  YAML::Node resources = spec["resources"];
  if (!resources || !resources.IsSequence() || resources.size() == 0) {
    return Status::InvalidArgument("WatchSet " + set.name + ": spec.resources must list at least one resource");
  }
  for (const YAML::Node& r : resources) {
    ResourceWatchSpec w;
    w.group = Str(r, "group");
    w.version = Str(r, "version");
    w.resource = Str(r, "resource");
    w.kind = Str(r, "kind");
    w.namespaces = Strings(r, "namespaces");
    w.label_selector = Str(r, "labelSelector");
    w.field_selector = Str(r, "fieldSelector");
    if (w.version.empty() || w.resource.empty()) {
      return Status::InvalidArgument("WatchSet " + set.name + ": a resource needs version and resource");
    }
    bool known = false;
    for (const KnownKind& k : kKnown) {
      if (w.group == k.group && w.resource == k.resource) {
        if (w.kind.empty()) w.kind = k.kind;
        w.namespaced = k.namespaced;
        known = true;
      }
    }
    if (r["namespaced"]) w.namespaced = r["namespaced"].as<bool>();
    if (!known && w.kind.empty()) {
      return Status::InvalidArgument("WatchSet " + set.name + ": resource " + w.resource + " needs a kind");
    }
    if (!w.namespaced && !w.namespaces.empty()) {
      return Status::InvalidArgument("WatchSet " + set.name + ": " + w.resource +
                                     " is cluster-scoped; drop namespaces");
    }
    set.resources.push_back(std::move(w));
  }
  return set;
}

}  // namespace

Result<std::vector<WatchSet>> ParseWatchSets(const std::string& yaml) {
  std::vector<WatchSet> out;
  try {
    for (const YAML::Node& doc : YAML::LoadAll(yaml)) {
      if (!doc || doc.IsNull()) continue;
      KL_ASSIGN_OR_RETURN(WatchSet set, ParseOne(doc));
      out.push_back(std::move(set));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("watch spec: ") + e.what());
  }
  if (out.empty()) return Status::InvalidArgument("watch spec: no WatchSet documents");
  return out;
}

Result<std::vector<WatchSet>> LoadWatchSets(const std::string& path) {
  KL_ASSIGN_OR_RETURN(std::string yaml, ReadFile(path));
  auto sets = ParseWatchSets(yaml);
  if (!sets.ok()) return sets.status().WithContext(path);
  return sets;
}

WatchSet DefaultWatchSet() {
  WatchSet set;
  set.name = "default";
  for (const KnownKind& k : kKnown) {
    std::string_view r = k.resource;
    if (r == "namespaces" || r == "nodes" || r == "pods" || r == "services" || r == "deployments" ||
        r == "replicasets" || r == "statefulsets" || r == "daemonsets") {
      set.resources.push_back(ResourceWatchSpec{k.group, "v1", k.resource, k.kind, k.namespaced, {}, "", ""});
    }
  }
  return set;
}

Result<std::vector<WatchTarget>> ExpandTargets(const std::vector<WatchSet>& sets,
                                               const std::vector<ClusterCredentials>& clusters) {
  std::vector<WatchTarget> out;
  std::set<std::string> names;
  for (const WatchSet& set : sets) {
    for (const std::string& c : set.clusters) {
      bool found = false;
      for (const auto& cred : clusters) found = found || cred.name == c;
      if (!found) return Status::NotFound("WatchSet " + set.name + ": no cluster (context) named \"" + c + "\"");
    }
    for (const ClusterCredentials& cred : clusters) {
      if (!set.clusters.empty() &&
          std::find(set.clusters.begin(), set.clusters.end(), cred.name) == set.clusters.end()) {
        continue;
      }
      for (const ResourceWatchSpec& r : set.resources) {
        std::vector<std::string> namespaces = r.namespaces.empty() ? std::vector<std::string>{""} : r.namespaces;
        for (const std::string& ns : namespaces) {
          WatchTarget t;
          t.cluster = cred.name;
          t.group = r.group;
          t.version = r.version;
          t.resource = r.resource;
          t.kind = r.kind;
          t.namespaced = r.namespaced;
          t.namespace_ = ns;
          t.label_selector = r.label_selector;
          t.field_selector = r.field_selector;
          t.watch_name =
              set.name + "/" + (r.group.empty() ? "" : r.group + "/") + r.resource + (ns.empty() ? "" : "@" + ns);
          if (!names.insert(t.cluster + "\n" + t.watch_name).second) {
            return Status::InvalidArgument("watch " + t.watch_name + " appears twice for cluster " + t.cluster);
          }
          out.push_back(std::move(t));
        }
      }
    }
  }
  return out;
}

}  // namespace kl::collector
