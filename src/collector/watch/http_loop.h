// HttpLoop: many concurrent HTTP(S) transfers on one thread, through
// libcurl's multi interface. The collector runs every list and watch of
// its share of clusters on one loop instead of a thread per watch, so 800
// watches cost 800 sockets, not 800 threads. The loop waits in epoll and
// hands libcurl only the sockets that are ready (curl_multi_socket_action):
// curl_multi_perform would look at every transfer each round, a poll()
// system call per idle watch.
//
// Everything except Post() and Start()/Stop() must be called on the loop
// thread (from callbacks, timers or posted tasks); callbacks run there too.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"

namespace kl::collector {

struct TlsSettings {
  std::string ca_pem;  // empty: system trust store
  std::string client_cert_pem;
  std::string client_key_pem;
  bool insecure_skip_verify = false;
};

struct HttpOutcome {
  bool transport_ok = false;  // the transfer completed (any HTTP status)
  long http_status = 0;
  bool aborted = false;    // a data callback asked to stop
  bool timed_out = false;  // total or low-speed timeout
  std::string error;       // libcurl's explanation when !transport_ok
  int curl_code = 0;       // libcurl's CURLcode (0 when transport_ok)
  long os_errno = 0;       // the system error behind a failed connect (ECONNREFUSED...)
};

struct HttpRequest {
  std::string url;
  std::string method;                // empty: GET (or POST when body is set)
  std::string body;                  // request body (writes: PATCH of a WatchSet's status)
  std::vector<std::string> headers;  // "Name: value"
  std::shared_ptr<const TlsSettings> tls;
  int64_t connect_timeout_ms = 10000;
  int64_t timeout_ms = 0;          // whole transfer; 0: none (watches)
  int64_t low_speed_time_s = 0;    // abort when under 1 byte/s for this long; 0: never
  long receive_buffer = 0;         // libcurl's receive buffer; 0: its default (16 KB). Big for list pages.
  bool accept_compressed = false;  // offer gzip/deflate (API servers compress large list responses)
  // Body bytes as they arrive, with the response status. Return false to abort.
  std::function<bool(long http_status, std::string_view bytes)> on_data;
  std::function<void(const HttpOutcome&)> on_done;
};

class HttpLoop {
 public:
  HttpLoop();
  ~HttpLoop();
  HttpLoop(const HttpLoop&) = delete;
  HttpLoop& operator=(const HttpLoop&) = delete;

  Status Start();
  // Cancels every transfer (their on_done is not called) and joins the thread.
  void Stop();

  // Thread-safe: runs `task` on the loop thread soon.
  void Post(std::function<void()> task);
  // Loop thread only.
  uint64_t Submit(HttpRequest request);
  void Cancel(uint64_t id);  // no on_done for a cancelled transfer
  void RunAfter(int64_t delay_ms, std::function<void()> task);
  // Before Start(): runs on the loop thread after each round of transfers,
  // timers and posted tasks, before the loop waits again (e.g. to flush what
  // that round emitted in one write).
  void SetRoundHook(std::function<void()> hook) { round_hook_ = std::move(hook); }
  // Before Start(): after a round that received fewer than `light_bytes`, the
  // loop waits until `min_round_ms` have passed since the round began before
  // it polls again, so a trickle of small messages (watch events under steady
  // churn) is handled a few at a time instead of a wake-up each; heavy rounds
  // (lists) run back to back. Adds at most `min_round_ms` of latency to
  // received data; a posted task or Stop() ends the wait at once.
  void SetRoundPacing(int64_t min_round_ms, size_t light_bytes) {
    min_round_ms_ = min_round_ms;
    light_round_bytes_ = light_bytes;
  }
  size_t active_transfers() const { return transfers_.size(); }
  // CPU time the loop thread has used, in microseconds (any thread may ask).
  int64_t cpu_micros() const { return cpu_micros_.load(); }

 private:
  struct Transfer;
  void Run();
  void Finish(Transfer* t, int curl_code);
  static size_t OnWrite(char* data, size_t size, size_t n, void* user);
  // libcurl's socket and timer callbacks (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION).
  static int OnSocket(void* easy, int socket, int what, void* loop, void* socket_data);
  static int OnTimer(void* multi, long timeout_ms, void* loop);
  void Wake();

  void* multi_ = nullptr;  // CURLM*
  int epoll_fd_ = -1;
  int setup_errno_ = 0;            // why the constructor could not make them
  int wake_fd_ = -1;               // eventfd: posted tasks and Stop() end the wait
  int64_t curl_deadline_ms_ = -1;  // when libcurl wants its timeout action (monotonic ms); -1: none
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex posted_mu_;
  std::condition_variable posted_cv_;  // ends a paced wait when a task is posted or the loop stops
  std::vector<std::function<void()>> posted_;
  std::map<uint64_t, std::unique_ptr<Transfer>> transfers_;
  std::multimap<int64_t, std::function<void()>> timers_;  // by monotonic ms
  std::function<void()> round_hook_;
  int64_t min_round_ms_ = 0;
  size_t light_round_bytes_ = 0;
  size_t round_bytes_ = 0;  // received in the current round
  uint64_t next_id_ = 1;
  // libcurl refuses add/remove calls from inside its callbacks
  // (CURLM_RECURSIVE_API_CALL); those wait until curl_multi_perform returns.
  bool in_callback_ = false;
  std::vector<uint64_t> deferred_add_;
  std::vector<std::unique_ptr<Transfer>> deferred_remove_;
  void ApplyDeferred();
  std::atomic<int64_t> cpu_micros_{0};
};

}  // namespace kl::collector
