#include "collector/collector.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <future>

#include "collector/watch/framer.h"
#include "collector/watch/watch_errors.h"
#include "common/clock.h"
#include "common/random.h"

namespace kl::collector {

std::string_view WatchStateName(WatchState state) {
  switch (state) {
    case WatchState::kIdle: return "idle";
    case WatchState::kListing: return "listing";
    case WatchState::kWatching: return "watching";
    case WatchState::kBackoff: return "backoff";
    case WatchState::kStopped: return "stopped";
  }
  return "unknown";
}

std::vector<std::string> DescribeFailingClusters(const std::vector<WatchStats>& stats, bool brief) {
  struct Cluster {
    const WatchStats* newest = nullptr;
    size_t watches = 0, failing = 0;
    uint64_t errors = 0;
  };
  std::map<std::string, Cluster> clusters;
  for (const auto& s : stats) {
    Cluster& c = clusters[s.cluster];
    ++c.watches;
    if (s.consecutive_failures == 0) continue;
    ++c.failing;
    c.errors += s.consecutive_failures;
    if (c.newest == nullptr || s.last_error_ms > c.newest->last_error_ms) c.newest = &s;
  }
  std::vector<std::string> out;
  for (const auto& [name, c] : clusters) {
    if (c.newest == nullptr) continue;
    if (brief) {
      out.push_back(name + ": " + c.newest->last_error_cause + " (" + std::to_string(c.failing) + "/" +
                    std::to_string(c.watches) + ")");
      continue;
    }
    out.push_back(name + ": " + c.newest->last_error_cause + " (" + c.newest->last_error_url + "; " +
                  std::to_string(c.failing) + "/" + std::to_string(c.watches) + " watches failing, " +
                  std::to_string(c.errors) + " errors in a row)");
  }
  return out;
}

// One (cluster, resource[, namespace]) watch driven on an HttpLoop: list
// pages, then a watch, then again on drops, stalls, timeouts and 410s.
class Collector::Watcher {
 public:
  Watcher(Collector* owner, HttpLoop* loop, const ClusterCredentials* cluster, std::shared_ptr<const TlsSettings> tls,
          WatchTarget target, uint64_t seed, ObjectTracker tracker = ObjectTracker(), bool relist = false)
      : owner_(owner),
        loop_(loop),
        cluster_(cluster),
        tls_(std::move(tls)),
        sync_(std::move(target), std::move(tracker)),
        rng_(seed),
        force_list_(relist) {
    stats_.cluster = sync_.target().cluster;
    stats_.watch_name = sync_.target().watch_name;
  }

  const WatchTarget& target() const { return sync_.target(); }
  ObjectTracker& tracker() { return sync_.mutable_tracker(); }

  // Loop thread.
  void Begin() {
    // A restored tracker knows where to resume; a 410 there leads to a relist.
    if (!sync_.tracker().resume_rv().empty() && !force_list_)
      StartWatch();
    else
      StartList();
  }

  void Halt() {
    stopped_ = true;
    CancelFetches();
    if (transfer_ != 0) loop_->Cancel(transfer_);
    transfer_ = 0;
    SetState(WatchState::kStopped);
  }

  WatchStats Stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  const CollectorOptions& options() const { return owner_->options_; }

  void SetState(WatchState state) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.state = state;
    stats_.resume_rv = sync_.tracker().resume_rv();
    stats_.tracked = sync_.tracker().size();
    stats_.tracker_bytes = sync_.tracker().MemoryBytes();
    stats_.events = sync_.events_emitted();
  }

  void UpdateProgress() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.resume_rv = sync_.tracker().resume_rv();
    stats_.tracked = sync_.tracker().size();
    stats_.events = sync_.events_emitted();
  }

  // A failure of this watch: counted, kept for status and metrics, and logged when it is
  // the first or its cause changed (FailureLog).
  void NoteError(const std::string& error, const std::string& cause) {
    std::string url = cluster_->server + target().CollectionPath();
    int64_t now = NowMillis();
    std::optional<std::string> line = failure_log_.OnFailure(cause, now);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.errors;
      stats_.last_error = error;
      stats_.last_error_cause = cause;
      stats_.last_error_url = url;
      stats_.last_error_ms = now;
      stats_.consecutive_failures = failure_log_.consecutive_failures();
    }
    if (line) {
      spdlog::warn("collector: cluster {} watch {} {}: {} at {} ({})", target().cluster, target().watch_name, *line,
                   cause, url, error);
    }
  }

  // The watch got a good response: failures in a row end.
  void NoteHealthy() {
    if (failure_log_.consecutive_failures() == 0) return;
    std::optional<std::string> line = failure_log_.OnSuccess();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.consecutive_failures = 0;
    }
    if (line) spdlog::info("collector: cluster {} watch {} {}", target().cluster, target().watch_name, *line);
  }

  void NoteHttpStatus(long status) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.last_http_status = status;
  }

  std::vector<std::string> Headers() {
    std::vector<std::string> headers;
    auto token = CurrentToken(*cluster_);
    if (!token.ok()) {
      NoteError(token.status().ToString(), "credentials: cannot get a token");
    } else if (!token->empty()) {
      headers.push_back("Authorization: Bearer " + *token);
    }
    return headers;
  }

  bool Emit() {
    if (batch_.empty()) return true;
    Status s = owner_->EmitBatch(&batch_);
    sync_.Recycle(&batch_);  // what the sink left: buffers for the next events
    if (!s.ok()) {
      owner_->Fail(s);
      return false;
    }
    UpdateProgress();
    return true;
  }

  // --- list ---
  // One list page request. While page N is parsed, page N+1 is already on
  // its way: its continue token sits in the list metadata, which the API
  // server writes before the items, so the server's work overlaps ours.
  struct PageFetch {
    std::string token;
    std::string body;
    uint64_t transfer = 0;
    bool done = false;
    bool scanned = false;  // looked for the next token already
    HttpOutcome outcome;
  };

  void StartList() {
    if (stopped_) return;
    CancelFetches();
    SetState(WatchState::kListing);
    sync_.BeginList(NowMillis());
    current_ = Fetch("");
  }

  void CancelFetches() {
    for (auto* f : {&current_, &next_}) {
      if (*f != nullptr && (*f)->transfer != 0) loop_->Cancel((*f)->transfer);
      f->reset();
    }
  }

  std::unique_ptr<PageFetch> Fetch(const std::string& continue_token) {
    auto fetch = std::make_unique<PageFetch>();
    fetch->token = continue_token;
    PageFetch* f = fetch.get();
    HttpRequest req;
    req.url =
        cluster_->server + target().CollectionPath() + "?" + target().ListQuery(options().page_size, continue_token);
    req.headers = Headers();
    req.tls = tls_;
    req.timeout_ms = options().request_timeout_ms;
    req.receive_buffer = 256 * 1024;  // fewer, larger callbacks for megabyte pages
    req.accept_compressed = true;     // remote clusters: megabyte pages compress ~10x
    // A finished page's buffer, already grown and touched, takes the next page
    // (a fresh megabyte buffer costs a page fault per 4 KB, a too small one a copy when it grows).
    if (!spare_bodies_.empty()) {
      fetch->body = std::move(spare_bodies_.back());
      spare_bodies_.pop_back();
      fetch->body.clear();
    }
    fetch->body.reserve(last_page_bytes_ + last_page_bytes_ / 8 + kFramerPadding);
    req.on_data = [this, f](long status, std::string_view bytes) {
      f->body.append(bytes);
      if (status == 200 && f == current_.get()) MaybePrefetch();
      return true;
    };
    req.on_done = [this, f](const HttpOutcome& outcome) {
      f->transfer = 0;
      f->done = true;
      f->outcome = outcome;
      if (f == current_.get()) OnPage();
    };
    f->transfer = loop_->Submit(std::move(req));
    return fetch;
  }

  void MaybePrefetch() {
    PageFetch* f = current_.get();
    if (f->scanned || next_ != nullptr) return;
    size_t items = f->body.find("\"items\"");
    if (items == std::string::npos && f->body.size() < 65536) return;  // metadata not complete yet
    f->scanned = true;
    std::string_view head = std::string_view(f->body).substr(0, items);
    size_t key = head.find("\"continue\":\"");
    if (key == std::string_view::npos) return;
    size_t start = key + 12;
    size_t end = head.find('"', start);
    if (end == std::string_view::npos || head.substr(start, end - start).find('\\') != std::string_view::npos) return;
    next_ = Fetch(std::string(head.substr(start, end - start)));
  }

  void OnPage() {
    std::unique_ptr<PageFetch> page = std::move(current_);
    if (stopped_) return;
    const HttpOutcome& outcome = page->outcome;
    if (!outcome.transport_ok) {
      return Retry("listing " + target().watch_name + ": " + outcome.error, TransferFailureCause(outcome));
    }
    if (outcome.http_status == 410) {
      // The continue token expired (the snapshot was compacted): list again from the start.
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.expired;
      }
      return StartList();
    }
    if (outcome.http_status != 200) {
      NoteHttpStatus(outcome.http_status);
      return Retry("listing " + target().watch_name + ": HTTP " + std::to_string(outcome.http_status) + ": " +
                       page->body.substr(0, 300),
                   HttpStatusCause(outcome.http_status));
    }
    last_page_bytes_ = page->body.size();
    page->body.reserve(page->body.size() + kFramerPadding);
    std::string continue_token;
    Status s = sync_.OnListPage(page->body, page->body.capacity(), NowMillis(), &continue_token, &batch_);
    if (!s.ok()) return Retry(s.ToString(), "bad list response");  // a bad page changed nothing
    NoteHealthy();
    if (!Emit()) return;
    if (!continue_token.empty()) {
      if (spare_bodies_.size() < 2) spare_bodies_.push_back(std::move(page->body));
      if (next_ != nullptr && next_->token == continue_token) {
        current_ = std::move(next_);
        if (current_->outcome.http_status == 200 || !current_->done) MaybePrefetch();
        // Already complete: handle it from the loop, not by recursion.
        if (current_->done)
          loop_->RunAfter(0, [this] {
            if (current_ != nullptr && current_->done) OnPage();
          });
      } else {
        CancelFetches();
        current_ = Fetch(continue_token);
      }
      return;
    }
    CancelFetches();
    std::vector<std::string>().swap(spare_bodies_);  // watch events are small
    sync_.FinishList(NowMillis(), &batch_);
    if (!Emit()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.lists;
    }
    failures_ = 0;
    StartWatch();
  }

  // --- watch ---
  void StartWatch() {
    if (stopped_) return;
    SetState(WatchState::kWatching);
    framer_.Reset();
    error_body_.clear();
    watch_result_ = ResourceSync::WatchOutcome::kContinue;
    watch_error_ = Status::OK();
    watch_answered_ = false;
    sync_.BeginWatch(NowMillis());
    int64_t span = std::max<int64_t>(0, options().watch_timeout_max_s - options().watch_timeout_min_s);
    int64_t timeout_s =
        options().watch_timeout_min_s + static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(span) + 1));
    HttpRequest req;
    req.url = cluster_->server + target().CollectionPath() + "?" +
              target().WatchQuery(sync_.tracker().resume_rv(), static_cast<int>(timeout_s));
    req.headers = Headers();
    req.tls = tls_;
    req.low_speed_time_s = options().stall_timeout_s;
    req.on_data = [this](long status, std::string_view bytes) { return OnWatchData(status, bytes); };
    req.on_done = [this](const HttpOutcome& outcome) { OnWatchDone(outcome); };
    transfer_ = loop_->Submit(std::move(req));
  }

  bool OnWatchData(long status, std::string_view bytes) {
    if (status != 200) {
      error_body_.append(bytes.substr(0, 4096));
      return true;
    }
    if (!watch_answered_) {
      watch_answered_ = true;
      NoteHealthy();
    }
    Status s = framer_.Feed(bytes, [this](std::string_view event) {
      Status error;
      auto result = sync_.OnWatchEvent(event, event.size() + kFramerPadding, NowMillis(), &batch_, &error);
      if (result == ResourceSync::WatchOutcome::kContinue) return Status::OK();
      watch_result_ = result;
      return result == ResourceSync::WatchOutcome::kExpired ? Status::Expired("watch expired") : error;
    });
    if (!Emit()) return false;
    UpdateProgress();  // bookmarks move the resume version without emitting anything
    if (!s.ok()) {
      if (watch_result_ == ResourceSync::WatchOutcome::kContinue) watch_result_ = ResourceSync::WatchOutcome::kFailed;
      watch_error_ = s;
      return false;  // stop this stream
    }
    return true;
  }

  void OnWatchDone(const HttpOutcome& outcome) {
    transfer_ = 0;
    if (stopped_) return;
    if (watch_result_ == ResourceSync::WatchOutcome::kExpired || outcome.http_status == 410) {
      // The resume version is gone from the server's history: relist, and
      // infer the deletions that happened meanwhile.
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.expired;
      }
      return StartList();
    }
    if (watch_result_ == ResourceSync::WatchOutcome::kFailed) {
      return Retry(watch_error_.ToString(), "bad watch event");
    }
    if (outcome.http_status != 0 && outcome.http_status != 200) {
      NoteHttpStatus(outcome.http_status);
      return Retry("watch " + target().watch_name + ": HTTP " + std::to_string(outcome.http_status) + ": " +
                       error_body_.substr(0, 300),
                   HttpStatusCause(outcome.http_status));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.reconnects;
    }
    if (outcome.transport_ok) {
      // The server ended the watch at timeoutSeconds: resume right away.
      failures_ = 0;
      return StartWatch();
    }
    // Dropped or stalled: resume from the last bookmark/event after a short, jittered pause.
    // A watch that never got an answer (refused, DNS, TLS) is a failure, not a drop.
    std::string error = "watch " + target().watch_name + ": " + outcome.error;
    if (watch_answered_ || outcome.http_status == 200) return Retry(error, std::nullopt);
    Retry(error, TransferFailureCause(outcome));
  }

  // Waits (exponential backoff with jitter), then lists or watches again. `cause`: a
  // failure (noted and maybe logged); none: an expected drop (a reconnect).
  void Retry(const std::string& error, const std::optional<std::string>& cause) {
    if (cause) NoteError(error, *cause);
    spdlog::debug("collector: {} {}: {}", target().cluster, target().watch_name, error);
    int64_t delay = options().backoff_base_ms << std::min(failures_, 16);
    delay = std::min(delay, options().backoff_max_ms);
    delay = delay / 2 + static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(delay / 2) + 1));
    ++failures_;
    SetState(WatchState::kBackoff);
    CancelFetches();
    bool relist = sync_.listing() || sync_.tracker().resume_rv().empty();
    loop_->RunAfter(delay, [this, relist] {
      if (stopped_) return;
      if (relist)
        StartList();
      else
        StartWatch();
    });
  }

  Collector* owner_;
  HttpLoop* loop_;
  const ClusterCredentials* cluster_;
  std::shared_ptr<const TlsSettings> tls_;
  ResourceSync sync_;
  Random rng_;
  JsonStreamFramer framer_;
  std::unique_ptr<PageFetch> current_;     // the list page being received
  std::unique_ptr<PageFetch> next_;        // the page after it, requested early
  size_t last_page_bytes_ = 0;             // to size the next page's buffer
  std::vector<std::string> spare_bodies_;  // buffers of pages handled, for the next pages of the list
  std::string error_body_;
  std::vector<CollectedEvent> batch_;
  uint64_t transfer_ = 0;
  int failures_ = 0;
  bool stopped_ = false;
  bool force_list_ = false;  // begin with a list even with a resume version (the definition changed)
  ResourceSync::WatchOutcome watch_result_ = ResourceSync::WatchOutcome::kContinue;
  Status watch_error_;
  bool watch_answered_ = false;  // the current watch got a 200 response
  FailureLog failure_log_;
  mutable std::mutex mu_;
  WatchStats stats_;

  friend class Collector;
};

Collector::Collector(CollectorOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<Collector>> Collector::Create(CollectorOptions options) {
  if (options.sink == nullptr) return Status::InvalidArgument("collector: no event sink");
  if (options.clusters.empty()) return Status::InvalidArgument("collector: no clusters");
  if (options.watch_sets.empty() && !options.dynamic_targets) options.watch_sets.push_back(DefaultWatchSet());
  if (options.loop_threads < 1) options.loop_threads = 1;
  if (options.page_size == 0) options.page_size = 500;
  KL_ASSIGN_OR_RETURN(std::vector<WatchTarget> targets, ExpandTargets(options.watch_sets, options.clusters));
  std::unique_ptr<Collector> c(new Collector(std::move(options)));
  for (int i = 0; i < c->options_.loop_threads; ++i) {
    c->loops_.push_back(std::make_unique<HttpLoop>());
    // What a round of the loop emitted reaches the sink's storage in one flush,
    // and flushes are at least kFlushIntervalMs apart; light rounds (watch
    // events under steady churn) are paced as far apart. At 5 ms each round
    // held a few events and its wake-up, poll, socket reads and log write
    // cost more than parsing them (~30 us of loop CPU per watch event); at
    // 20 ms ~21 us. 20 ms is small next to the pipeline's 500 ms commit
    // interval and the 1 s freshness target.
    Collector* self = c.get();
    HttpLoop* loop = c->loops_.back().get();
    auto flush_if_due = std::make_shared<std::function<void()>>();
    auto timer_set = std::make_shared<bool>(false);
    *flush_if_due = [self, loop, flush_if_due, timer_set] {
      int64_t wait_ms = 0;
      {
        std::lock_guard<std::mutex> lock(self->sink_mu_);
        if (!self->unflushed_) return;
        wait_ms = self->last_flush_ms_ + kFlushIntervalMs - MonotonicMicros() / 1000;
      }
      if (wait_ms <= 0) {
        (void)self->Flush();
      } else if (!*timer_set) {
        *timer_set = true;
        std::weak_ptr<std::function<void()>> weak = flush_if_due;
        loop->RunAfter(wait_ms, [weak, timer_set] {
          *timer_set = false;
          if (auto f = weak.lock()) (*f)();
        });
      }
    };
    loop->SetRoundHook([flush_if_due] { (*flush_if_due)(); });
    loop->SetRoundPacing(/*min_round_ms=*/kFlushIntervalMs, /*light_bytes=*/64 * 1024);
  }
  for (const ClusterCredentials& cred : c->options_.clusters) {
    auto tls = std::make_shared<TlsSettings>();
    tls->ca_pem = cred.ca_pem;
    tls->client_cert_pem = cred.client_cert_pem;
    tls->client_key_pem = cred.client_key_pem;
    tls->insecure_skip_verify = cred.insecure_skip_tls_verify;
    c->tls_by_cluster_[cred.name] = tls;
  }
  c->seed_ = c->options_.seed != 0 ? c->options_.seed : static_cast<uint64_t>(MonotonicMicros());
  for (WatchTarget& t : targets) c->watchers_.push_back(c->NewWatcher(std::move(t), ObjectTracker(), false));
  return c;
}

std::unique_ptr<Collector::Watcher> Collector::NewWatcher(WatchTarget target, ObjectTracker tracker, bool relist) {
  const ClusterCredentials* cred = nullptr;
  for (const auto& cc : options_.clusters) {
    if (cc.name == target.cluster) cred = &cc;
  }
  size_t i = next_loop_++;
  HttpLoop* loop = loops_[i % loops_.size()].get();
  auto tls = tls_by_cluster_[target.cluster];
  return std::make_unique<Watcher>(this, loop, cred, tls, std::move(target), seed_ + i * 7919, std::move(tracker),
                                   relist);
}

Collector::~Collector() { Stop(); }

void Collector::RestoreFromEvents(const std::vector<CollectedEvent>& events) {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  std::map<std::pair<std::string, std::string>, Watcher*> by_key;
  for (auto& w : watchers_) by_key[{w->target().cluster, w->target().watch_name}] = w.get();
  for (const CollectedEvent& e : events) {
    auto it = by_key.find({e.cluster, e.watch_name});
    if (it != by_key.end()) it->second->tracker().ApplyEmitted(e);
  }
}

Status Collector::RestoreCheckpoint(const std::string& cluster, const std::string& watch_name,
                                    std::string_view checkpoint) {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  for (auto& w : watchers_) {
    if (w->target().cluster == cluster && w->target().watch_name == watch_name) {
      KL_ASSIGN_OR_RETURN(ObjectTracker tracker, ObjectTracker::RestoreCheckpoint(checkpoint));
      w->tracker() = std::move(tracker);
      return Status::OK();
    }
  }
  return Status::NotFound("no watch " + watch_name + " on cluster " + cluster);
}

Status Collector::Start() {
  if (started_) return Status::OK();
  std::lock_guard<std::mutex> lock(watchers_mu_);
  for (auto& loop : loops_) KL_RETURN_IF_ERROR(loop->Start());
  for (auto& w : watchers_) {
    Watcher* watcher = w.get();
    watcher->loop_->Post([watcher] { watcher->Begin(); });
  }
  started_ = true;
  return Status::OK();
}

void Collector::Stop() {
  std::unique_lock<std::mutex> watchers_lock(watchers_mu_);
  if (!started_) return;
  for (auto& w : watchers_) {
    Watcher* watcher = w.get();
    std::promise<void> done;
    watcher->loop_->Post([watcher, &done] {
      watcher->Halt();
      done.set_value();
    });
    done.get_future().wait();
  }
  for (auto& loop : loops_) loop->Stop();
  watchers_lock.unlock();
  std::lock_guard<std::mutex> lock(sink_mu_);
  Status s = options_.sink->Flush();
  if (!s.ok()) Fail(s);
  started_ = false;
}

Status Collector::Flush() {
  std::lock_guard<std::mutex> lock(sink_mu_);
  unflushed_ = false;
  last_flush_ms_ = MonotonicMicros() / 1000;
  Status s = options_.sink->Flush();
  if (!s.ok()) Fail(s);
  return s;
}

Status Collector::EmitBatch(std::vector<CollectedEvent>* batch) {
  std::lock_guard<std::mutex> lock(sink_mu_);
  if (!status().ok()) return status();
  unflushed_ = true;
  return options_.sink->EmitBorrowed(batch);
}

void Collector::Fail(const Status& status) {
  std::lock_guard<std::mutex> lock(status_mu_);
  if (status_.ok()) {
    spdlog::error("collector: stopping on error: {}", status.ToString());
    status_ = status;
  }
}

Status Collector::status() const {
  std::lock_guard<std::mutex> lock(status_mu_);
  return status_;
}

std::vector<WatchStats> Collector::Stats() const {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  std::vector<WatchStats> out;
  for (const auto& w : watchers_) out.push_back(w->Stats());
  return out;
}

bool Collector::CaughtUp(const std::map<std::string, uint64_t>& rv_by_cluster) const {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  for (const auto& w : watchers_) {
    WatchStats s = w->Stats();
    if (s.state != WatchState::kWatching) return false;
    auto it = rv_by_cluster.find(s.cluster);
    if (it == rv_by_cluster.end()) continue;
    uint64_t key = ResourceVersionKey(s.resume_rv);
    if (s.resume_rv.empty() || !IsNumericKey(key) || key < it->second) return false;
  }
  return true;
}

int64_t Collector::LoopCpuMicros() const {
  int64_t total = 0;
  for (const auto& loop : loops_) total += loop->cpu_micros();
  return total;
}

std::map<std::pair<std::string, std::string>, std::string> Collector::ExportCheckpoints() {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  std::map<std::pair<std::string, std::string>, std::string> out;
  for (auto& w : watchers_) {
    Watcher* watcher = w.get();
    std::string checkpoint;
    if (started_) {
      std::promise<void> done;
      watcher->loop_->Post([watcher, &checkpoint, &done] {
        checkpoint = watcher->sync_.tracker().ExportCheckpoint();
        done.set_value();
      });
      done.get_future().wait();
    } else {
      checkpoint = watcher->sync_.tracker().ExportCheckpoint();
    }
    out[{watcher->target().cluster, watcher->target().watch_name}] = std::move(checkpoint);
  }
  return out;
}

// ---- changing targets while running ----

namespace {
bool SameDefinition(const WatchTarget& a, const WatchTarget& b) {
  return a.group == b.group && a.version == b.version && a.resource == b.resource && a.kind == b.kind &&
         a.namespaced == b.namespaced && a.namespace_ == b.namespace_ && a.label_selector == b.label_selector &&
         a.field_selector == b.field_selector;
}
}  // namespace

std::vector<WatchTarget> Collector::Targets() const {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  std::vector<WatchTarget> out;
  for (const auto& w : watchers_) out.push_back(w->target());
  return out;
}

Status Collector::SetTargets(std::vector<WatchTarget> targets) {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  std::map<std::pair<std::string, std::string>, WatchTarget*> wanted;
  for (WatchTarget& t : targets) {
    bool known = false;
    for (const auto& c : options_.clusters) known = known || c.name == t.cluster;
    if (!known) return Status::NotFound("watch " + t.watch_name + ": no cluster named " + t.cluster);
    if (!wanted.emplace(std::make_pair(t.cluster, t.watch_name), &t).second) {
      return Status::InvalidArgument("watch " + t.watch_name + " appears twice for cluster " + t.cluster);
    }
  }
  // Halts a watcher on its loop thread (callbacks and timers check stopped_)
  // and keeps it: timers it armed may still fire.
  auto halt = [&](std::unique_ptr<Watcher> w) {
    if (started_) {
      Watcher* watcher = w.get();
      std::promise<void> done;
      watcher->loop_->Post([watcher, &done] {
        watcher->Halt();
        done.set_value();
      });
      done.get_future().wait();
    }
    retired_.push_back(std::move(w));
  };
  auto take_retired_tracker = [&](const WatchTarget& t, ObjectTracker* tracker) {
    for (auto it = retired_.rbegin(); it != retired_.rend(); ++it) {  // the newest holds the tracker
      auto& r = *it;
      if (r->target().cluster == t.cluster && r->target().watch_name == t.watch_name) {
        *tracker = std::move(r->tracker());
        r->tracker() = ObjectTracker();
        return true;
      }
    }
    return false;
  };
  std::vector<std::unique_ptr<Watcher>> keep;
  std::vector<Watcher*> to_begin;
  for (auto& w : watchers_) {
    auto it = wanted.find({w->target().cluster, w->target().watch_name});
    if (it == wanted.end()) {
      spdlog::info("collector: {} stops watching {}", w->target().cluster, w->target().watch_name);
      halt(std::move(w));
      continue;
    }
    if (SameDefinition(w->target(), *it->second)) {
      keep.push_back(std::move(w));
      wanted.erase(it);
      continue;
    }
    // Changed selection: relist with what was tracked, so objects that left
    // it are inferred deleted and the others are not emitted again.
    spdlog::info("collector: {} relists {} (its definition changed)", w->target().cluster, w->target().watch_name);
    WatchTarget target = *it->second;
    wanted.erase(it);
    Watcher* old = w.get();
    halt(std::move(w));
    ObjectTracker tracker = std::move(old->tracker());
    old->tracker() = ObjectTracker();
    keep.push_back(NewWatcher(std::move(target), std::move(tracker), true));
    to_begin.push_back(keep.back().get());
  }
  for (auto& [key, target] : wanted) {
    ObjectTracker tracker;
    bool reused = take_retired_tracker(*target, &tracker);
    spdlog::info("collector: {} starts watching {}{}", target->cluster, target->watch_name,
                 reused ? " (relisting against what it tracked before)" : "");
    keep.push_back(NewWatcher(std::move(*target), std::move(tracker), reused));
    to_begin.push_back(keep.back().get());
  }
  watchers_ = std::move(keep);
  if (started_) {
    for (Watcher* watcher : to_begin) watcher->loop_->Post([watcher] { watcher->Begin(); });
  }
  return Status::OK();
}

}  // namespace kl::collector
