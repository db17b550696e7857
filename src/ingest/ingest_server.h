// IngestServer: the central endpoint collectors ship to (`--listen-ingest`
// on `kubelake run`, `pipeline` and `serve`). For each batch it checks the
// cluster's credentials against the accepted list, decodes and validates the
// whole batch before appending anything, appends the events that follow the
// cluster's acknowledged sequence to the event log (key = cluster), flushes,
// and only then acknowledges with the next sequence it expects.
//
// Exactly once: the acknowledged position of each cluster's stream is kept
// in a state file written every second, together with the log offset that
// was visible then and a hash of the last event appended; at start the log
// tail after that offset is read to count the events appended since, so a
// crash between appending and writing the state neither loses nor repeats
// anything. A retried batch is appended only from the first event the log
// does not hold yet.
//
// Backpressure: at most `max_concurrent_appends` batches are appended at
// once; others wait up to `busy_wait_ms`, then get 503 with Retry-After.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "ingest/clusters.h"
#include "ingest/http_server.h"
#include "log/event_log.h"

namespace kl::ingest {

// The endpoint's HTTP server: an event loop per core (at least two), so
// that decoding, validating and appending batches runs on as many threads as
// there are cores to run them, each keeping its buffers warm in its cache.
HttpServerOptions DefaultIngestHttpOptions();

struct IngestOptions {
  HttpServerOptions http = DefaultIngestHttpOptions();
  std::string clusters_file;             // accepted clusters (YAML); re-read when it changes
  std::string state_path;                // acknowledged positions (required)
  std::set<std::string> local_clusters;  // collected by this process itself: refused remotely
  int max_concurrent_appends = 4;
  int64_t busy_wait_ms = 2000;
  int64_t state_interval_ms = 1000;
  int64_t clusters_check_interval_ms = 2000;
};

struct IngestClusterStats {
  std::string cluster;
  std::string stream;
  uint64_t next = 0;  // next sequence expected (everything before is in the log)
  uint64_t batches = 0;
  uint64_t events = 0;        // appended
  uint64_t duplicates = 0;    // events of retried batches already in the log
  int64_t last_batch_ms = 0;  // wall clock of the last accepted batch
};

// Counters for status lines and a /metrics endpoint.
struct IngestStats {
  uint64_t requests = 0;
  uint64_t batches = 0;
  uint64_t events = 0;
  uint64_t duplicates = 0;
  uint64_t rejected_auth = 0;       // 401/403
  uint64_t rejected_malformed = 0;  // 400/413
  uint64_t gaps = 0;                // 409
  uint64_t busy = 0;                // 503 (backpressure)
  uint64_t append_errors = 0;       // 500
  std::vector<IngestClusterStats> clusters;
};

class IngestServer {
 public:
  // Recovers the acknowledged positions from the state file and the log, then listens.
  static Result<std::unique_ptr<IngestServer>> Start(log::EventLog* log, IngestOptions options);
  ~IngestServer();
  // Stops listening and writes the state file.
  void Stop();

  std::string url() const { return http_->url(); }
  int port() const { return http_->port(); }
  IngestStats Stats() const;

  // The request handler (also used by tests without a socket).
  HttpResponse Handle(HttpRequest& request);

 private:
  struct ClusterState;
  struct ProducerSlot;
  IngestServer(log::EventLog* log, IngestOptions options);
  Status Recover();
  Status WriteState();
  Result<std::string> EntryLocked(ClusterState* cluster);
  Status PersistEntries();
  ClusterState* GetCluster(const std::string& name);
  HttpResponse HandleBatch(HttpRequest& request);
  ProducerSlot* AcquireSlot();
  void ReleaseSlot(ProducerSlot* slot);
  Status RecountCluster(ClusterState* cluster);  // after a failed append
  void Background();
  void ReloadClusters(bool initial);

  log::EventLog* log_;
  IngestOptions options_;
  std::unique_ptr<HttpServer> http_;

  mutable std::mutex clusters_mu_;  // the map and accepted_
  std::map<std::string, std::unique_ptr<ClusterState>> clusters_;
  std::shared_ptr<const AcceptedClusters> accepted_;
  int64_t clusters_mtime_ = 0;

  std::mutex state_file_mu_;                    // the file and entries_ (taken after a cluster's lock, never before)
  std::map<std::string, std::string> entries_;  // cluster -> its last state entry (JSON)

  std::mutex slots_mu_;
  std::condition_variable slot_free_;
  std::vector<std::unique_ptr<ProducerSlot>> slots_;
  std::vector<ProducerSlot*> free_slots_;

  std::thread thread_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool stopped_ = false;

  std::atomic<uint64_t> requests_{0}, batches_{0}, events_{0}, duplicates_{0}, rejected_auth_{0},
      rejected_malformed_{0}, gaps_{0}, busy_{0}, append_errors_{0};
};

}  // namespace kl::ingest
