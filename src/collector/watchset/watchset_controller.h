// WatchSetController: makes a collector follow the WatchSet custom resources
// of the cluster it runs in (`kubelake collect --watchsets-from-cluster`, the
// default in cluster), as an operator would. It lists and watches
// /apis/kubelake.io/v1alpha1/watchsets, turns the WatchSets into watch
// targets and hands them to Collector::SetTargets whenever one is created,
// edited or deleted (no restart; watches that stay are untouched), and
// writes each WatchSet's status back through its status subresource:
//
//   status:
//     observedGeneration: 3
//     conditions: [{type: Ready, status: "False", reason: Forbidden, message: "...", lastTransitionTime: ...}]
//     watchedResources: [{resource: pods, version: v1, state: watching, events: 120, tracked: 40, lastError: ""}]
//     lastError: "..."             # the newest error of any of its watches
//     shipping: {...}             # the remote sink's spool, when there is one
//
// Reasons: Watching (Ready), Listing, Forbidden (RBAC refused list/watch),
// ResourceNotFound (the API server does not serve the resource), WatchFailing,
// InvalidSpec (the edit cannot be used; the watches of the last good spec go on).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collector/collector.h"
#include "collector/watch/http_loop.h"
#include "collector/watchset/kubeconfig.h"
#include "common/json.h"
#include "common/result.h"

namespace kl::collector {

struct WatchSetControllerOptions {
  int64_t status_interval_ms = 5000;  // how often status is brought up to date (written only when it changed)
  int64_t retry_ms = 5000;            // after a failed list
  // Adds members to every status object (the remote sink's spool figures).
  std::function<void(JsonWriter*)> extra_status;
};

class WatchSetController {
 public:
  WatchSetController(ClusterCredentials cluster, WatchSetControllerOptions options = {});
  ~WatchSetController();

  // Lists the cluster's WatchSets once, before the collector exists; their
  // targets are what the collector starts with. A cluster without the CRD
  // gives no targets (and the controller keeps looking for it).
  Result<std::vector<WatchTarget>> LoadInitial(int64_t timeout_ms = 30000);
  // Follows changes from now on, applying them to `collector` and writing status.
  Status Start(Collector* collector);
  void Stop();

  struct SetState {
    std::string name;
    int64_t generation = 0;
    std::string spec_json;
    bool valid = false;
    std::string error;  // why it cannot be used
    std::vector<WatchTarget> targets;
    std::string last_status;    // the status last written (to write only changes)
    std::string condition_key;  // status/reason of the Ready condition, for lastTransitionTime
    int64_t transition_ms = 0;
  };
  // What the controller knows (tests, status lines).
  std::vector<SetState> Sets() const;
  std::string last_error() const;

 private:
  std::string CollectionUrl() const;
  std::vector<std::string> Headers() const;
  void List();
  void Watch();
  void OnEvent(std::string_view text);
  void Upsert(const JsonValue& object);
  void Apply();
  void WriteStatuses();
  std::string StatusFor(SetState* set, const std::vector<WatchStats>& stats);
  void Fail(const std::string& error, bool relist);

  ClusterCredentials cluster_;
  WatchSetControllerOptions options_;
  std::shared_ptr<const TlsSettings> tls_;
  HttpLoop loop_;
  Collector* collector_ = nullptr;
  bool started_ = false;
  // Loop thread (and LoadInitial before Start).
  std::string resource_version_;
  std::string body_;
  std::unique_ptr<class JsonStreamFramer> framer_;
  uint64_t watch_transfer_ = 0;
  bool crd_missing_ = false;
  mutable std::mutex mu_;
  std::map<std::string, SetState> sets_;
  std::string last_error_;
};

}  // namespace kl::collector
