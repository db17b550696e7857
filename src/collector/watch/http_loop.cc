#include "collector/watch/http_loop.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/clock.h"

namespace kl::collector {
namespace {
int64_t NowMs() { return MonotonicMicros() / 1000; }

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};
}  // namespace

struct HttpLoop::Transfer {
  HttpLoop* loop = nullptr;
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpRequest request;
  bool aborted = false;
  bool cancelled = false;
  char error[CURL_ERROR_SIZE] = {0};
  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }
};

HttpLoop::HttpLoop() {
  static CurlGlobal global;  // curl_global_init is not thread-safe: do it once
  multi_ = curl_multi_init();
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) setup_errno_ = errno;
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0 && setup_errno_ == 0) setup_errno_ = errno;
  if (epoll_fd_ >= 0 && wake_fd_ >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd_;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  }
  if (multi_ != nullptr) {
    CURLM* multi = static_cast<CURLM*>(multi_);
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &HttpLoop::OnSocket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &HttpLoop::OnTimer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  }
}

HttpLoop::~HttpLoop() {
  Stop();
  // Removing the handles calls OnSocket, which needs epoll_fd_ still open.
  for (auto& [id, t] : transfers_) curl_multi_remove_handle(static_cast<CURLM*>(multi_), t->easy);
  transfers_.clear();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

int HttpLoop::OnSocket(void* /*easy*/, int socket, int what, void* loop_ptr, void* socket_data) {
  auto* loop = static_cast<HttpLoop*>(loop_ptr);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(loop->epoll_fd_, EPOLL_CTL_DEL, socket, nullptr);  // fails harmlessly if closed already
    curl_multi_assign(static_cast<CURLM*>(loop->multi_), socket, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.events = ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
  ev.data.fd = socket;
  // A socket libcurl has not announced yet is added, a known one modified; a
  // descriptor number reused after a close may be in either state.
  int op = socket_data == nullptr ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(loop->epoll_fd_, op, socket, &ev) != 0) {
    epoll_ctl(loop->epoll_fd_, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, socket, &ev);
  }
  if (socket_data == nullptr) curl_multi_assign(static_cast<CURLM*>(loop->multi_), socket, loop);
  return 0;
}

int HttpLoop::OnTimer(void* /*multi*/, long timeout_ms, void* loop_ptr) {
  auto* loop = static_cast<HttpLoop*>(loop_ptr);
  loop->curl_deadline_ms_ = timeout_ms < 0 ? -1 : NowMs() + timeout_ms;
  return 0;
}

void HttpLoop::Wake() {
  uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
}

Status HttpLoop::Start() {
  if (multi_ == nullptr) return Status::Internal("curl_multi_init failed");
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    return Status::IOError("epoll/eventfd for the HTTP loop: " + std::string(std::strerror(setup_errno_)));
  if (thread_.joinable()) return Status::OK();
  stop_ = false;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "kl-collect");  // a name for top, perf and per-thread CPU
    Run();
  });
  return Status::OK();
}

void HttpLoop::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    stop_ = true;
  }
  posted_cv_.notify_all();
  Wake();
  thread_.join();
  ApplyDeferred();
  for (auto& [id, t] : transfers_) curl_multi_remove_handle(static_cast<CURLM*>(multi_), t->easy);
  transfers_.clear();
  timers_.clear();
  std::lock_guard<std::mutex> lock(posted_mu_);
  posted_.clear();
}

void HttpLoop::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.push_back(std::move(task));
  }
  posted_cv_.notify_all();
  Wake();
}

void HttpLoop::RunAfter(int64_t delay_ms, std::function<void()> task) {
  timers_.emplace(NowMs() + std::max<int64_t>(0, delay_ms), std::move(task));
}

size_t HttpLoop::OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t bytes = size * n;
  t->loop->round_bytes_ += bytes;
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  if (t->cancelled) return 0;
  t->loop->in_callback_ = true;
  bool keep = !t->request.on_data || t->request.on_data(status, std::string_view(data, bytes));
  t->loop->in_callback_ = false;
  if (!keep) {
    t->aborted = true;
    return 0;  // makes libcurl fail the transfer with CURLE_WRITE_ERROR
  }
  return bytes;
}

uint64_t HttpLoop::Submit(HttpRequest request) {
  auto t = std::make_unique<Transfer>();
  t->loop = this;
  t->id = next_id_++;
  t->request = std::move(request);
  CURL* e = curl_easy_init();
  t->easy = e;
  const HttpRequest& r = t->request;
  curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  if (!r.method.empty()) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  if (!r.body.empty() || r.method == "POST" || r.method == "PATCH" || r.method == "PUT") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  }
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &HttpLoop::OnWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout_ms));
  if (r.timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout_ms));
  if (r.low_speed_time_s > 0) {
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(r.low_speed_time_s));
  }
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  if (r.receive_buffer > 0) curl_easy_setopt(e, CURLOPT_BUFFERSIZE, r.receive_buffer);
  if (r.accept_compressed) curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  for (const std::string& h : r.headers) t->headers = curl_slist_append(t->headers, h.c_str());
  t->headers = curl_slist_append(t->headers, "Accept: application/json");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "kubelake-collector/0.1");
  if (r.tls) {
    const TlsSettings& tls = *r.tls;
    if (!tls.ca_pem.empty()) {
      curl_blob blob{const_cast<char*>(tls.ca_pem.data()), tls.ca_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (!tls.client_cert_pem.empty()) {
      curl_blob cert{const_cast<char*>(tls.client_cert_pem.data()), tls.client_cert_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (!tls.client_key_pem.empty()) {
      curl_blob key{const_cast<char*>(tls.client_key_pem.data()), tls.client_key_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
      curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (tls.insecure_skip_verify) {
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  }
  uint64_t id = t->id;
  if (in_callback_)
    deferred_add_.push_back(id);
  else
    curl_multi_add_handle(static_cast<CURLM*>(multi_), e);
  transfers_.emplace(id, std::move(t));
  return id;
}

void HttpLoop::Cancel(uint64_t id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  auto pending = std::find(deferred_add_.begin(), deferred_add_.end(), id);
  if (pending != deferred_add_.end()) {
    deferred_add_.erase(pending);  // never added to the multi handle
  } else if (in_callback_) {
    it->second->cancelled = true;  // removed once libcurl returns
    deferred_remove_.push_back(std::move(it->second));
  } else {
    curl_multi_remove_handle(static_cast<CURLM*>(multi_), it->second->easy);
  }
  transfers_.erase(it);
}

void HttpLoop::ApplyDeferred() {
  CURLM* multi = static_cast<CURLM*>(multi_);
  for (auto& t : deferred_remove_) curl_multi_remove_handle(multi, t->easy);
  deferred_remove_.clear();
  for (uint64_t id : deferred_add_) {
    auto it = transfers_.find(id);
    if (it != transfers_.end()) curl_multi_add_handle(multi, it->second->easy);
  }
  deferred_add_.clear();
}

void HttpLoop::Finish(Transfer* t, int curl_code) {
  HttpOutcome outcome;
  auto code = static_cast<CURLcode>(curl_code);
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &outcome.http_status);
  outcome.transport_ok = code == CURLE_OK;
  outcome.curl_code = curl_code;
  if (code != CURLE_OK) curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &outcome.os_errno);
  outcome.aborted = t->aborted;
  outcome.timed_out = code == CURLE_OPERATION_TIMEDOUT;
  if (!outcome.transport_ok) {
    outcome.error = t->error[0] != '\0' ? std::string(t->error) : std::string(curl_easy_strerror(code));
  }
  // Detach before the callback: it may submit the next request.
  auto node = transfers_.extract(t->id);
  curl_multi_remove_handle(static_cast<CURLM*>(multi_), t->easy);
  if (node.mapped()->request.on_done) node.mapped()->request.on_done(outcome);
}

void HttpLoop::Run() {
  CURLM* multi = static_cast<CURLM*>(multi_);
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  while (!stop_) {
    int64_t now = NowMs();
    int64_t wait_ms = 1000;
    if (!timers_.empty()) wait_ms = std::clamp<int64_t>(timers_.begin()->first - now, 0, wait_ms);
    if (curl_deadline_ms_ >= 0) wait_ms = std::clamp<int64_t>(curl_deadline_ms_ - now, 0, wait_ms);
    int ready = epoll_wait(epoll_fd_, events, kMaxEvents, static_cast<int>(wait_ms));
    if (stop_) break;
    int64_t round_start = NowMs();
    round_bytes_ = 0;
    int running = 0;
    for (int i = 0; i < ready; ++i) {
      int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count;
        (void)!read(wake_fd_, &count, sizeof(count));
        continue;
      }
      uint32_t e = events[i].events;
      int mask = ((e & EPOLLIN) != 0 ? CURL_CSELECT_IN : 0) | ((e & EPOLLOUT) != 0 ? CURL_CSELECT_OUT : 0) |
                 ((e & (EPOLLERR | EPOLLHUP)) != 0 ? CURL_CSELECT_ERR : 0);
      curl_multi_socket_action(multi, fd, mask, &running);
    }
    if (curl_deadline_ms_ >= 0 && NowMs() >= curl_deadline_ms_) {
      curl_deadline_ms_ = -1;
      curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    ApplyDeferred();
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      int code = msg->data.result;
      if (t != nullptr && transfers_.count(t->id) != 0) Finish(t, code);
    }
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(posted_mu_);
      tasks.swap(posted_);
    }
    for (auto& task : tasks) task();
    now = NowMs();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      auto task = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      task();
    }
    if (round_hook_) round_hook_();
    if (min_round_ms_ > 0 && round_bytes_ > 0 && round_bytes_ < light_round_bytes_) {
      int64_t rest = round_start + min_round_ms_ - NowMs();
      if (!timers_.empty()) rest = std::min(rest, timers_.begin()->first - NowMs());
      if (rest > 0) {
        // Received data waits; posted tasks (stops, checkpoints, target changes) do not.
        std::unique_lock<std::mutex> lock(posted_mu_);
        posted_cv_.wait_for(lock, std::chrono::milliseconds(rest), [this] { return stop_ || !posted_.empty(); });
      }
    }
    timespec cpu{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    cpu_micros_ = static_cast<int64_t>(cpu.tv_sec) * 1000000 + cpu.tv_nsec / 1000;
  }
}

}  // namespace kl::collector
