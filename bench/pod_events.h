// The events the ingest benchmarks send: simulator pods rendered as the
// collector's ODS content, the i-th of a fleet of 50 users on 40 nodes.
#pragma once

#include <cstdint>
#include <string>

#include "collector/event.h"
#include "common/clock.h"
#include "common/random.h"
#include "simulator/models.h"

namespace kl::bench {

struct PodEvent {
  std::string content;  // the ODS content the collector would send
  std::string uid, resource_version;
};

inline PodEvent MakePodEvent(int i) {
  simulator::PodModel pod;
  pod.ns = "tenant-u" + std::to_string(i % 50);
  pod.name = "web-" + std::to_string(i);
  pod.uid = RandomUuid();
  pod.node = "node-" + std::to_string(i % 40);
  pod.owner_kind = "ReplicaSet";
  pod.owner_name = "web-abc";
  pod.owner_uid = "rs-uid";
  pod.user = "u" + std::to_string(i % 50);
  pod.instance = pod.user + "-web";
  pod.app = "web";
  pod.image = "registry.example.com/web:1.2.3";
  pod.pod_ip = "10.0.0.1";
  pod.host_ip = "192.168.0.1";
  simulator::StoredObject obj;
  simulator::RenderPod(pod, 1000 + static_cast<uint64_t>(i), 0, &obj);
  PodEvent e;
  e.uid = pod.uid;
  e.resource_version = std::to_string(1000 + i);
  collector::OdsFields f;
  f.type = collector::EventType::kAdded;
  f.object_json = obj.json;
  f.version = "v1";
  f.kind = "Pod";
  f.namespace_ = pod.ns;
  f.name = pod.name;
  f.resource_version = e.resource_version;
  f.uid = e.uid;
  f.watch_name = "core/pods";
  f.watch_setup_ms = NowMillis();
  f.event_time_ms = NowMillis();
  collector::AppendOdsContent(f, &e.content);
  return e;
}

}  // namespace kl::bench
