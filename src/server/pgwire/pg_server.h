// The PostgreSQL wire-protocol server: a listening socket, a thread per
// connection (a slow or stuck client holds only its own thread), bounded
// connections, optional TLS (OpenSSL), cancel keys across connections, and
// counters for /metrics. Sessions (session.h) do the protocol.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "server/listen.h"
#include "server/metrics/exposition.h"
#include "server/pgwire/query_engine.h"
#include "server/pgwire/session.h"

namespace kl::server {

using QueryEngine = ::kl::server::QueryEngine;

struct PgServerOptions {
  std::string tls_cert;  // PEM files; both set: TLS offered (SSLRequest answered 'S')
  std::string tls_key;
  bool require_tls = false;          // with TLS: refuse clients that do not use it
  std::string users_file;            // "": trust loopback clients, refuse others
  bool cleartext_passwords = false;  // ask for the password itself instead of md5/SCRAM
  int64_t statement_timeout_ms = 60000;
  size_t max_rows = 1000000;
  int max_connections = 256;
  int64_t write_timeout_ms = 30000;    // a client that takes no data for this long is dropped
  int64_t startup_timeout_ms = 30000;  // to finish startup and authentication
  int query_slots = 0;                 // queries worked on at once (query_gate.h); 0: one per core, < 0: no limit
};

class PgServer {
 public:
  // `engine` may be null (then only session statements are answered).
  static Result<std::unique_ptr<PgServer>> Start(const ListenAddress& address, const PgServerOptions& options,
                                                 QueryEngine* engine);
  ~PgServer();
  void Stop();
  int port() const { return port_; }
  int connections() const { return active_.load(); }
  void WriteMetrics(MetricsWriter* out) const;

 private:
  class Cancels;
  struct Connection;
  PgServer() = default;
  void AcceptLoop();
  void Serve(std::shared_ptr<Connection> c);

  PgServerOptions options_;
  QueryEngine* engine_ = nullptr;
  std::map<std::string, pg::UserEntry> users_;
  bool have_users_ = false;
  void* tls_ctx_ = nullptr;  // SSL_CTX
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
  std::atomic<int32_t> next_pid_{1000};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> rejected_{0};
  std::unique_ptr<Cancels> cancels_;
  std::unique_ptr<pg::QueryGate> gate_;
  pg::PgCounters counters_;
  std::mutex mu_;
  std::map<int, std::shared_ptr<Connection>> live_;  // fd -> connection
  std::vector<std::thread> threads_;
  std::vector<std::thread::id> finished_;
};

}  // namespace kl::server
