#include "collector/sink/remote_sink.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "collector/watchset/kubeconfig.h"
#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "common/string_util.h"
#include "format/compression.h"
#include "ingest/wire.h"

namespace kl::collector {
namespace {

size_t CollectBody(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() < (1 << 20)) out->append(data, size * n);
  return size * n;
}

}  // namespace

Result<std::unique_ptr<log::EventLog>> OpenSpool(const std::string& dir) {
  KL_RETURN_IF_ERROR(CreateDirs(dir));
  // One partition: the spool offsets are the batches' sequence numbers.
  // fsync=200ms as the central default; acknowledged segments (and those the
  // checkpoint no longer needs) go at the next retention check.
  return log::OpenEventLog("dir:" + JoinPath(dir, "log") +
                           "?partitions=1&fsync=200ms&segment_bytes=16M&retention_bytes=0&retention_check=2s"
                           "&required_groups=" +
                           std::string(kShipperGroup) + "," + kCheckpointGroup);
}

Result<std::string> SpoolStreamId(const std::string& dir) {
  std::string path = JoinPath(dir, "stream-id");
  if (!FileExists(path)) KL_RETURN_IF_ERROR(WriteFileIfAbsent(path, RandomUuid() + "\n"));
  KL_ASSIGN_OR_RETURN(std::string id, ReadFile(path));
  std::string trimmed(Trim(id));
  if (trimmed.empty()) return Status::Corruption(path + " is empty");
  return trimmed;
}

Shipper::Shipper(log::EventLog* spool, std::string spool_dir, std::string stream, RemoteSinkOptions options)
    : spool_(spool), spool_dir_(std::move(spool_dir)), stream_(std::move(stream)), options_(std::move(options)) {
  stats_.stream = stream_;
}

Shipper::~Shipper() {
  Stop();
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<std::unique_ptr<Shipper>> Shipper::Start(log::EventLog* spool, std::string spool_dir, std::string stream,
                                                RemoteSinkOptions options) {
  if (options.cluster.empty()) return Status::InvalidArgument("remote sink: no cluster name");
  if (options.url.rfind("https://", 0) != 0 && options.url.rfind("http://", 0) != 0) {
    return Status::InvalidArgument("remote sink: " + options.url + " is not an https:// URL");
  }
  while (!options.url.empty() && options.url.back() == '/') options.url.pop_back();
  std::unique_ptr<Shipper> s(new Shipper(spool, std::move(spool_dir), std::move(stream), std::move(options)));
  s->curl_ = curl_easy_init();
  if (s->curl_ == nullptr) return Status::Internal("remote sink: curl_easy_init failed");
  s->EstimatePending();
  Shipper* self = s.get();
  s->thread_ = std::thread([self] { self->Run(); });
  return s;
}

void Shipper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Shipper::SetError(const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stats_.last_error != error) spdlog::warn("collector: shipping to {}: {}", options_.url, error);
  stats_.last_error = error;
}

bool Shipper::Sleep(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_.load(); });
  return !stop_;
}

void Shipper::MeasureSpool() {
  uint64_t bytes = 0;
  std::string dir = JoinPath(JoinPath(spool_dir_, "log"), "partition-0");
  if (auto files = ListDir(dir); files.ok()) {
    for (const std::string& f : *files) {
      if (f.size() > 4 && f.compare(f.size() - 4, 4, ".log") == 0) bytes += FileSize(JoinPath(dir, f)).value_or(0);
    }
  }
  uint64_t end = static_cast<uint64_t>(spool_->EndOffset(0).value_or(0));
  std::lock_guard<std::mutex> lock(mu_);
  stats_.spool_bytes = bytes;
  spool_end_ = std::max(spool_end_, end);
  stats_.pending_events = spool_end_ > stats_.acked ? spool_end_ - stats_.acked : 0;
}

// From the files: the unacknowledged share of the spool at its average
// record size (at start, and when the central side moves the position).
void Shipper::EstimatePending() {
  MeasureSpool();
  uint64_t start = static_cast<uint64_t>(spool_->StartOffset(0).value_or(0));
  {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t records = spool_end_ > start ? spool_end_ - start : 0;
    double share = records == 0 ? 0.0 : static_cast<double>(stats_.pending_events) / static_cast<double>(records);
    pending_bytes_ = static_cast<int64_t>(static_cast<double>(stats_.spool_bytes) * share);
  }
  cv_.notify_all();
}

void Shipper::NoteSpooled(uint64_t bytes) { pending_bytes_ += static_cast<int64_t>(bytes); }

void Shipper::NoteAcked(uint64_t bytes) {
  int64_t now = pending_bytes_ -= static_cast<int64_t>(bytes);
  if (now < 0) pending_bytes_ = 0;
  cv_.notify_all();
}

void Shipper::WaitForRoom() {
  auto full = [&] { return pending_bytes_.load() >= static_cast<int64_t>(options_.spool_max_bytes) && !stop_; };
  if (!full()) return;
  std::unique_lock<std::mutex> lock(mu_);
  if (!full()) return;
  int64_t start = MonotonicMicros();
  spdlog::warn("collector: spool full ({} bytes not acknowledged by {}); holding the watches", pending_bytes_.load(),
               options_.url);
  cv_.wait(lock, [&] { return !full(); });
  stats_.blocked_ms += static_cast<uint64_t>((MonotonicMicros() - start) / 1000);
}

ShipperStats Shipper::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  ShipperStats s = stats_;
  s.pending_bytes = static_cast<uint64_t>(std::max<int64_t>(0, pending_bytes_.load()));
  if (s.pending_events == 0 && s.pending_bytes > 0 && s.acked >= spool_end_) s.pending_bytes = 0;
  return s;
}

Shipper::Answer Shipper::Post(std::string_view body) {
  Answer a;
  CURL* e = static_cast<CURL*>(curl_);
  curl_easy_reset(e);
  std::string url = options_.url + std::string(ingest::kBatchPath);
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CollectBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout_ms));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "kubelake-collector/0.1");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  if (!options_.ca_pem.empty()) {
    curl_blob blob{const_cast<char*>(options_.ca_pem.data()), options_.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!options_.client_cert_pem.empty()) {
    curl_blob cert{const_cast<char*>(options_.client_cert_pem.data()), options_.client_cert_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    curl_blob key{const_cast<char*>(options_.client_key_pem.data()), options_.client_key_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (options_.insecure_skip_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Content-Type: " + std::string(ingest::kBatchContentType)).c_str());
  headers = curl_slist_append(headers, ("X-Kubelake-Cluster: " + options_.cluster).c_str());
  if (options_.compress) headers = curl_slist_append(headers, "Content-Encoding: zstd");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  std::string token = options_.token;
  if (!options_.token_file.empty()) {
    auto t = ReadFile(options_.token_file);
    if (t.ok())
      token = std::string(Trim(*t));
    else
      a.error = "reading the token file: " + t.status().ToString();
  }
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(e);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    a.error = std::string(curl_easy_strerror(rc)) + (error[0] != 0 ? std::string(": ") + error : "");
    return a;
  }
  a.transport_ok = true;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &a.status);
  return a;
}

void Shipper::Run() {
  auto consumer_or = spool_->NewConsumer(kShipperGroup);
  if (!consumer_or.ok()) {
    SetError("opening the spool: " + consumer_or.status().ToString());
    return;
  }
  std::unique_ptr<log::Consumer> consumer = std::move(*consumer_or);
  ingest::BatchEncoder encoder;
  std::string compressed;
  int failures = 0;
  Random rng(static_cast<uint64_t>(MonotonicMicros()));
  auto backoff = [&](int64_t floor_ms) {
    int64_t delay = std::min(options_.backoff_max_ms, options_.backoff_base_ms << std::min(failures, 16));
    delay = std::max(floor_ms, delay / 2 + static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(delay / 2) + 1)));
    ++failures;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.retries;
    }
    return Sleep(delay);
  };
  // Where to start: the last acknowledged position we recorded, corrected by
  // the central side's answer to a handshake.
  uint64_t position = 0;
  {
    auto committed = spool_->CommittedOffsets(kShipperGroup);
    int64_t start = spool_->StartOffset(0).value_or(0);
    position = static_cast<uint64_t>(start);
    if (committed.ok() && committed->count(0) != 0) position = std::max<uint64_t>(position, (*committed)[0]);
  }
  int version = options_.batch_version == 1 ? 1 : 2;
  auto begin = [&](uint64_t first) {
    if (version == 2) {
      encoder.BeginRecords(options_.cluster, stream_, first);
    } else {
      encoder.Begin(options_.cluster, stream_, first);
    }
  };
  bool synced = false;      // the central side confirmed `position`
  bool positioned = false;  // the consumer reads from `position`
  uint64_t last_commit = position;
  int64_t last_commit_us = 0, last_measure_us = 0;
  std::string_view body;  // the batch being sent, in `compressed` or the encoder (kept for retries)
  uint64_t body_first = 0, body_count = 0, body_record_bytes = 0;
  bool have_body = false;

  while (!stop_) {
    int64_t now_us = MonotonicMicros();
    if (now_us - last_measure_us > 500 * 1000) {
      last_measure_us = now_us;
      MeasureSpool();
    }
    if (!have_body) {
      if (!synced) {
        begin(position);
        body_first = position;
        body_count = 0;
        body_record_bytes = 0;
      } else {
        if (!positioned) {
          int64_t start = spool_->StartOffset(0).value_or(0);
          if (position < static_cast<uint64_t>(start)) {
            SetError("the central side expects sequence " + std::to_string(position) + " but the spool starts at " +
                     std::to_string(start) +
                     ": those events were deleted after an acknowledgement; starting a new stream");
            stream_ = RandomUuid();
            (void)WriteFileAtomic(JoinPath(spool_dir_, "stream-id"), stream_ + "\n");
            {
              std::lock_guard<std::mutex> lock(mu_);
              stats_.stream = stream_;
            }
            position = static_cast<uint64_t>(start);
            synced = false;
            continue;
          }
          Status s = consumer->Seek(0, static_cast<int64_t>(position));
          if (!s.ok()) {
            SetError("reading the spool: " + s.ToString());
            if (!Sleep(1000)) break;
            continue;
          }
          positioned = true;
        }
        log::PollOptions opts;
        opts.max_records = options_.batch_max_events;
        opts.max_bytes = options_.batch_max_bytes;
        opts.timeout_ms = 100;
        auto polled = consumer->Poll(opts);
        if (!polled.ok()) {
          SetError("reading the spool: " + polled.status().ToString());
          positioned = false;
          if (!Sleep(1000)) break;
          continue;
        }
        if (polled->empty()) continue;
        begin(static_cast<uint64_t>((*polled)[0].offset));
        body_first = static_cast<uint64_t>((*polled)[0].offset);
        body_record_bytes = 0;
        for (const log::Record& r : *polled) {
          if (version == 1) {
            encoder.Add(r.timestamp_ms, r.value);
          } else if (!r.encoded.empty() && r.key == options_.cluster && r.timestamp_ms >= 0) {
            encoder.AddRecord(r.encoded);  // as the spool holds it
          } else {  // spooled under another cluster name (renamed collector): framed for this one
            encoder.AddRecord(r.offset, r.timestamp_ms, options_.cluster, r.value);
          }
          body_record_bytes += r.key.size() + r.value.size() + 28;
        }
        body_count = polled->size();
      }
      std::string& raw = encoder.Finish();
      if (options_.compress) {
        Status s = format::ZstdCompressInto(options_.compression_level, raw, &compressed, &body);
        if (!s.ok()) {
          SetError("compressing a batch: " + s.ToString());
          if (!Sleep(1000)) break;
          continue;
        }
      } else {
        body = raw;  // the encoder keeps it until the next batch begins
      }
      have_body = true;
    }

    Answer a = Post(body);
    if (!a.transport_ok) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.connected = false;
      }
      SetError("cannot reach " + options_.url + ": " + a.error);
      if (!backoff(0)) break;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.connected = true;
    }
    ingest::BatchAnswer answer = ingest::ParseBatchAnswer(a.body);
    if (a.status == 200 && answer.has_next) {
      failures = 0;
      have_body = false;
      uint64_t next = answer.next;
      bool expected = next == body_first + body_count;
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.acked = next;
        if (body_count > 0) {
          ++stats_.batches;
          stats_.events += body_count;
        }
        stats_.last_ack_ms = NowMillis();
        stats_.last_error.clear();
        stats_.pending_events = spool_end_ > next ? spool_end_ - next : 0;
      }
      if (!synced)
        spdlog::info("collector: central kubelake {} continues stream {} at {}", options_.url, stream_, next);
      if (synced && expected) NoteAcked(body_record_bytes);
      bool reestimate = !synced || !expected;
      // The consumer stands after the batch just sent; anything else needs a seek.
      positioned = synced && positioned && expected;
      synced = true;
      position = next;
      if (reestimate) EstimatePending();
      // Record the acknowledged position now and then (retention of the
      // spool follows it; after a restart the handshake corrects it anyway).
      if (position != last_commit && MonotonicMicros() - last_commit_us > 1000 * 1000) {
        if (consumer->Commit({{0, static_cast<int64_t>(position)}}).ok()) last_commit = position;
        last_commit_us = MonotonicMicros();
      }
      continue;
    }
    if (a.status == 409 && answer.has_next) {
      // The central side wants another position (its acknowledged one).
      have_body = false;
      synced = true;
      position = answer.next;
      positioned = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.acked = position;
      }
      EstimatePending();
      continue;
    }
    if (a.status == 400 && version == 2 && !synced) {
      // Only a central kubelake that does not know batch version 2 refuses
      // a handshake in it (no events to object to): speak version 1 to it.
      spdlog::info("collector: central kubelake {} refused a version 2 handshake ({}); sending version 1 batches",
                   options_.url, answer.error.empty() ? a.body.substr(0, 300) : answer.error);
      version = 1;
      have_body = false;
      continue;
    }
    std::string why =
        "HTTP " + std::to_string(a.status) + ": " + (answer.error.empty() ? a.body.substr(0, 300) : answer.error);
    if (a.status == 409) {  // another stream took over: start again with a handshake
      have_body = false;
      synced = false;
      positioned = false;
    }
    SetError("central kubelake " + options_.url + " refused a batch: " + why);
    // 401/403/400 will not heal by themselves; retry slowly until the configuration changes.
    int64_t floor = (a.status == 401 || a.status == 403 || a.status == 400 || a.status == 413) ? 5000 : 0;
    if (a.status == 503) floor = 1000;
    if (!backoff(floor)) break;
  }
  if (synced && position != last_commit) (void)consumer->Commit({{0, static_cast<int64_t>(position)}});
}

}  // namespace kl::collector
