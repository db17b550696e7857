// collector — lists and watches any resource kind on many Kubernetes API
// servers and emits every object change as an ODS event: paginated lists,
// watches with bookmarks, relist with inferred deletions on 410, resume after
// dropped connections, backoff with jitter, no (uid, resourceVersion) twice,
// and about a hundred bytes of memory per tracked object.
//
//   CollectorOptions options;
//   options.clusters = LoadKubeconfig(path).value();
//   options.watch_sets = {DefaultWatchSet()};
//   options.sink = &sink;
//   auto collector = Collector::Create(std::move(options)).value();
//   collector->Start(); ... collector->Stop();
//
// Layout: watch/ (the list/watch protocol, HTTP and parsing), watchset/
// (what to watch and where: WatchSets, kubeconfig, RBAC), sink/ (where events
// go: the local log or a remote kubelake).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collector/event.h"
#include "collector/watch/http_loop.h"
#include "collector/watch/sync.h"
#include "collector/watch/tracker.h"
#include "collector/watchset/kubeconfig.h"
#include "collector/watchset/watch_spec.h"
#include "common/result.h"

namespace kl::collector {

struct CollectorOptions {
  std::vector<ClusterCredentials> clusters;
  std::vector<WatchSet> watch_sets;  // empty: DefaultWatchSet()
  EventSink* sink = nullptr;         // not owned; called from loop threads, serialized
  size_t page_size = 500;
  int64_t backoff_base_ms = 200;
  int64_t backoff_max_ms = 30000;
  int64_t stall_timeout_s = 90;        // no byte (not even a bookmark) for this long: reconnect
  int64_t watch_timeout_min_s = 300;   // each watch asks the server to end it after a random
  int64_t watch_timeout_max_s = 600;   // time in [min, max], like client-go's reflector
  int64_t request_timeout_ms = 60000;  // one list page
  int loop_threads = 1;
  uint64_t seed = 0;  // jitter; 0 = from the clock
  // Watches follow SetTargets() (WatchSets read from the cluster): an empty
  // watch_sets then means "nothing yet", not the default kinds.
  bool dynamic_targets = false;
};

enum class WatchState : uint8_t { kIdle, kListing, kWatching, kBackoff, kStopped };
std::string_view WatchStateName(WatchState state);

struct WatchStats {
  std::string cluster;
  std::string watch_name;
  WatchState state = WatchState::kIdle;
  std::string resume_rv;
  size_t tracked = 0;
  size_t tracker_bytes = 0;
  uint64_t events = 0;
  uint64_t lists = 0;       // completed lists (the first one and relists)
  uint64_t expired = 0;     // 410s seen (watch or continue)
  uint64_t reconnects = 0;  // watches re-established after a drop, stall or timeout
  uint64_t errors = 0;
  std::string last_error;  // the full text of the last failure
  // Why the watch fails, for status lines and metrics: the cause ("connection refused",
  // "TLS: ...", "HTTP 403 Forbidden: ..."), the URL, when, and how many failures in a
  // row (0 once the watch works again).
  std::string last_error_cause;
  std::string last_error_url;
  int64_t last_error_ms = 0;
  uint64_t consecutive_failures = 0;
  long last_http_status = 0;  // of the last failed request (403: RBAC refusal, 404: unknown resource)
};

// What is wrong with each cluster that has failing watches (its newest failure):
// "prod-1: connection refused (https://10.0.0.1:6443/api/v1/pods; 8/8 watches
// failing, 41 errors in a row)", or with `brief` "prod-1: connection refused (8/8)".
// Empty when every watch works.
std::vector<std::string> DescribeFailingClusters(const std::vector<WatchStats>& stats, bool brief = false);

class Collector {
 public:
  static Result<std::unique_ptr<Collector>> Create(CollectorOptions options);
  ~Collector();

  // Restart recovery, before Start(): replay events this collector emitted
  // before (for example from the event log), or restore checkpoints.
  // Events of unknown watches are ignored (the spec may have changed).
  void RestoreFromEvents(const std::vector<CollectedEvent>& events);
  Status RestoreCheckpoint(const std::string& cluster, const std::string& watch_name, std::string_view checkpoint);

  Status Start();
  void Stop();

  // Flushes the sink (serialized with the emitting loop threads).
  Status Flush();
  // OK while running; the first fatal error (the sink refused events) otherwise.
  Status status() const;
  std::vector<WatchStats> Stats() const;
  // True when every watch is watching and has reached `rv_by_cluster`.
  bool CaughtUp(const std::map<std::string, uint64_t>& rv_by_cluster) const;
  // Checkpoints of every watch: (cluster, watch name) -> checkpoint bytes.
  // Taken on the loop threads, consistent with what was emitted.
  std::map<std::pair<std::string, std::string>, std::string> ExportCheckpoints();
  // CPU time used by the event-loop threads, in microseconds.
  int64_t LoopCpuMicros() const;

  // Changes what is watched while running: watches
  // not in `targets` stop (their tracker is kept, so a kind that comes back
  // relists and emits only differences), new ones start, and a watch whose
  // definition changed (selectors, namespace) relists with its tracker.
  // Watches that stay are not touched: no event lost or repeated.
  Status SetTargets(std::vector<WatchTarget> targets);
  std::vector<WatchTarget> Targets() const;

 private:
  class Watcher;
  explicit Collector(CollectorOptions options);
  Status EmitBatch(std::vector<CollectedEvent>* batch);
  void Fail(const Status& status);

  CollectorOptions options_;
  std::unique_ptr<Watcher> NewWatcher(WatchTarget target, ObjectTracker tracker, bool relist);
  std::vector<std::unique_ptr<HttpLoop>> loops_;
  mutable std::mutex watchers_mu_;  // the list (SetTargets against Stats and friends)
  std::vector<std::unique_ptr<Watcher>> watchers_;
  std::vector<std::unique_ptr<Watcher>> retired_;  // halted; kept for their trackers and pending timers
  std::map<std::string, std::shared_ptr<const TlsSettings>> tls_by_cluster_;
  size_t next_loop_ = 0;
  uint64_t seed_ = 0;
  std::mutex sink_mu_;
  bool unflushed_ = false;     // emitted since the last Flush (guarded by sink_mu_)
  int64_t last_flush_ms_ = 0;  // monotonic (guarded by sink_mu_)
  static constexpr int64_t kFlushIntervalMs = 20;
  mutable std::mutex status_mu_;
  Status status_;
  bool started_ = false;
};

}  // namespace kl::collector
