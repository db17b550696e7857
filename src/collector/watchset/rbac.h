// The read-only ClusterRole a collector needs for a set of WatchSets: get,
// list and watch of every resource they name, grouped by API group. The
// collector manifests carry it generated (`kubelake collect
// --print-clusterrole`), so RBAC grants exactly what is watched.
#pragma once

#include <string>
#include <vector>

#include "collector/watchset/watch_spec.h"

namespace kl::collector {

std::string ReadClusterRoleYaml(const std::vector<WatchSet>& sets, const std::string& name = "kubelake-collector-read");

}  // namespace kl::collector
