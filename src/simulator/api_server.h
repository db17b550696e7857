// ApiServer: one simulated cluster's Kubernetes API endpoint over HTTP or
// HTTPS (libmicrohttpd with GnuTLS), bearer-token authenticated. It serves
// discovery (/api, /apis, resource lists, /version), list with limit and
// continue, watch with resourceVersion, allowWatchBookmarks and
// timeoutSeconds as chunked newline-delimited events, label and field
// selectors, get of single objects, and /kubelake/truth (ground truth).
//
// Faults are switched on from outside: DropWatches() cuts every open watch
// mid-stream, StallWatches() makes them go silent, Stop()/Start() takes the
// endpoint down and brings it back on the same port.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/result.h"
#include "simulator/models.h"
#include "simulator/store.h"
#include "simulator/tls.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace kl::simulator {

struct ApiServerOptions {
  bool tls = true;
  TlsMaterial tls_material;   // used when tls
  std::string token;          // required bearer token; empty: no authentication
  int port = 0;               // 0: pick a free port
  int64_t bookmark_interval_ms = 1000;
  int64_t default_watch_timeout_s = 1800;  // when the client gives no timeoutSeconds
};

class ApiServer {
 public:
  ApiServer(ClusterStore* store, ClusterIdentity identity, ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Starts listening (on the same port as before when restarted).
  Status Start();
  // Stops listening and ends every connection.
  void Stop();
  bool running() const { return daemon_ != nullptr; }
  int port() const { return port_; }
  std::string url() const;

  // Answers list and watch of `resource` (plural, e.g. "services") with 403
  // Forbidden, as the API server does for a service account without RBAC
  // permission; an empty name lifts every refusal.
  void Forbid(const std::string& resource, bool forbidden);

  void DropWatches();
  // Open and new watches send nothing (no events, no bookmarks) for `duration_ms`.
  void StallWatches(int64_t duration_ms);

  uint64_t requests() const { return requests_.load(); }
  uint64_t watches_started() const { return watches_started_.load(); }
  int open_watches() const { return open_watches_.load(); }

 private:
  friend struct WatchStream;
  friend struct RequestHandler;
  int HandleRequest(MHD_Connection* connection, const char* url, const char* method, const char* upload_data,
                    size_t* upload_data_size, void** con_cls);
  int Dispatch(MHD_Connection* connection, const std::string& path, const std::string& method, const std::string& body);
  bool Forbidden(int resource);
  int ServeCollection(MHD_Connection* connection, int resource, const std::string& ns, const std::string& name);
  int ServeWatch(MHD_Connection* connection, Filter filter);

  ClusterStore* store_;
  ClusterIdentity identity_;
  ApiServerOptions options_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  std::mutex mu_;  // Start/Stop
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> drop_generation_{0};
  std::atomic<int64_t> stall_until_us_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> watches_started_{0};
  std::atomic<int> open_watches_{0};
  std::mutex forbidden_mu_;
  std::set<std::string> forbidden_;
};

}  // namespace kl::simulator
