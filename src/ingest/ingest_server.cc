#include "ingest/ingest_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/json.h"
#include "common/string_util.h"
#include "common/worker_pool.h"
#include "format/compression.h"
#include "ingest/wire.h"

namespace kl::ingest {
namespace {

uint64_t HashContent(std::string_view value) {  // FNV-1a, stable across builds
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : value) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

HttpResponse Answer(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

struct IngestServer::ClusterState {
  std::mutex mu;  // held while a batch of this cluster is checked and appended
  std::string name;
  int32_t partition = 0;
  std::string stream;
  uint64_t next = 0;
  bool has_last = false;
  uint64_t last_hash = 0;          // of the last event of this cluster appended to the log
  int64_t scan_from = 0;           // recovery: the log offset below which everything was counted
  std::atomic<bool> dirty{false};  // changed since the state file was written
  IngestClusterStats stats;
};

struct IngestServer::ProducerSlot {
  std::unique_ptr<log::Producer> producer;
};

HttpServerOptions DefaultIngestHttpOptions() {
  HttpServerOptions o;
  o.threads = std::max(2, WorkerPool::AvailableCores());
  return o;
}

IngestServer::IngestServer(log::EventLog* log, IngestOptions options) : log_(log), options_(std::move(options)) {}

IngestServer::~IngestServer() { Stop(); }

Result<std::unique_ptr<IngestServer>> IngestServer::Start(log::EventLog* log, IngestOptions options) {
  if (options.state_path.empty()) return Status::InvalidArgument("ingest: no state file path");
  if (options.clusters_file.empty()) {
    return Status::InvalidArgument(
        "ingest: no accepted clusters (--ingest-clusters FILE); refusing to accept any cluster");
  }
  if (options.max_concurrent_appends < 1) options.max_concurrent_appends = 1;
  std::unique_ptr<IngestServer> s(new IngestServer(log, std::move(options)));
  KL_ASSIGN_OR_RETURN(auto accepted, AcceptedClusters::Load(s->options_.clusters_file));
  s->accepted_ = std::make_shared<AcceptedClusters>(std::move(accepted));
  s->clusters_mtime_ = FileModifiedMillis(s->options_.clusters_file).value_or(0);
  for (const std::string& local : s->options_.local_clusters) {
    if (s->accepted_->Find(local) != nullptr) {
      spdlog::warn("ingest: cluster {} is collected by this process; remote batches for it will be refused", local);
    }
  }
  KL_RETURN_IF_ERROR(CreateDirs(DirName(s->options_.state_path)));
  // Producers first: opening the log's writer recovers its files and makes
  // everything a killed predecessor wrote visible. Counting before that
  // could stop at a stale visible end and miss appended events, which the
  // collector would then send, and we append, again.
  for (int i = 0; i < s->options_.max_concurrent_appends; ++i) {
    auto slot = std::make_unique<ProducerSlot>();
    KL_ASSIGN_OR_RETURN(slot->producer, log->NewProducer());
    s->free_slots_.push_back(slot.get());
    s->slots_.push_back(std::move(slot));
  }
  KL_RETURN_IF_ERROR(s->Recover());
  IngestServer* self = s.get();
  s->http_ = std::make_unique<HttpServer>(s->options_.http, [self](HttpRequest& r) { return self->Handle(r); });
  KL_RETURN_IF_ERROR(s->http_->Start().WithContext("ingest endpoint"));
  s->thread_ = std::thread([self] { self->Background(); });
  spdlog::info("ingest: listening on {} for {} accepted clusters, appending to {}", s->http_->url(),
               s->accepted_->size(), log->Describe());
  return s;
}

void IngestServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (http_) http_->Stop();
  if (thread_.joinable()) thread_.join();
  Status s = WriteState();
  if (!s.ok()) spdlog::warn("ingest: writing state at stop: {}", s.ToString());
}

IngestServer::ClusterState* IngestServer::GetCluster(const std::string& name) {
  std::lock_guard<std::mutex> lock(clusters_mu_);
  auto& slot = clusters_[name];
  if (!slot) {
    slot = std::make_unique<ClusterState>();
    slot->name = name;
    slot->partition = log_->PartitionFor(name);
    slot->stats.cluster = name;
  }
  return slot.get();
}

// ---- state file ----
// {"clusters":{"<name>":{"stream":..,"next":N,"partition":P,"scan_from":X,"last_hash":"hex"|""}}}

// One cluster's entry, with its appends held (caller holds c->mu): every
// event of this cluster below the visible end is counted in `next`, and the
// last one counted is `last_hash`, wherever it lies.
Result<std::string> IngestServer::EntryLocked(ClusterState* c) {
  KL_ASSIGN_OR_RETURN(int64_t end, log_->EndOffset(c->partition));
  c->scan_from = end;
  c->dirty = false;
  JsonWriter w;
  w.BeginObject().Key("stream").String(c->stream).Key("next").Uint(c->next);
  w.Key("partition").Int(c->partition).Key("scan_from").Int(end);
  w.Key("last_hash").String(c->has_last ? std::to_string(c->last_hash) : "").EndObject();
  return w.Release();
}

// Writes the cached entries. An entry stays valid however old it is (it
// only makes recovery read more), so clusters are never held for another's.
Status IngestServer::PersistEntries() {
  std::lock_guard<std::mutex> lock(state_file_mu_);
  JsonWriter w(true);
  w.BeginObject().Key("format").String("kubelake-ingest-state").Key("version").Int(1).Key("clusters").BeginObject();
  for (const auto& [name, entry] : entries_) w.Key(name).Raw(entry);
  w.EndObject().EndObject();
  return WriteFileAtomic(options_.state_path, w.Release());
}

Status IngestServer::WriteState() {
  std::vector<ClusterState*> all;
  {
    std::lock_guard<std::mutex> lock(clusters_mu_);
    for (auto& [name, c] : clusters_) all.push_back(c.get());
  }
  for (ClusterState* c : all) {
    std::lock_guard<std::mutex> lock(c->mu);
    if (c->stream.empty()) continue;
    bool cached;
    {
      std::lock_guard<std::mutex> l(state_file_mu_);
      cached = entries_.count(c->name) != 0;
    }
    if (cached && !c->dirty) continue;
    KL_ASSIGN_OR_RETURN(std::string entry, EntryLocked(c));
    std::lock_guard<std::mutex> l(state_file_mu_);
    entries_[c->name] = std::move(entry);
  }
  return PersistEntries();
}

Status IngestServer::Recover() {
  if (!FileExists(options_.state_path)) return Status::OK();
  KL_ASSIGN_OR_RETURN(std::string text, ReadFile(options_.state_path));
  KL_ASSIGN_OR_RETURN(JsonValue root, ParseJson(text, options_.state_path));
  const JsonValue* clusters = root.Find("clusters");
  if (clusters == nullptr || !clusters->is_object()) {
    return Status::Corruption("ingest state " + options_.state_path + ": no clusters object");
  }
  for (const auto& [name, v] : clusters->members()) {
    ClusterState* c = GetCluster(name);
    c->stream = v.GetStringOr("stream", "");
    c->next = static_cast<uint64_t>(v.GetIntOr("next", 0));
    c->scan_from = v.GetIntOr("scan_from", 0);
    std::string last = v.GetStringOr("last_hash", "");
    c->has_last = !last.empty();
    c->last_hash = c->has_last ? ParseUint64(last).value_or(0) : 0;
    if (v.GetIntOr("partition", c->partition) != c->partition) {
      return Status::Corruption("ingest state " + options_.state_path + ": cluster " + name +
                                " was in another partition (the log's partition count changed?)");
    }
    KL_RETURN_IF_ERROR(RecountCluster(c).WithContext("ingest: recovering cluster " + name));
    c->stats.stream = c->stream;
    c->stats.next = c->next;
  }
  return WriteState();
}

// Counts the events of `cluster` the log holds beyond what `next` accounts
// for: those after the last counted one (found by its hash) at or above
// scan_from. Caller holds cluster->mu or runs before serving.
Status IngestServer::RecountCluster(ClusterState* c) {
  KL_ASSIGN_OR_RETURN(int64_t start, log_->StartOffset(c->partition));
  KL_ASSIGN_OR_RETURN(int64_t end, log_->EndOffset(c->partition));
  if (c->scan_from < start) {
    return Status::Expired("the log no longer holds offset " + std::to_string(c->scan_from) + " of partition " +
                           std::to_string(c->partition) + " (starts at " + std::to_string(start) + ")");
  }
  if (c->scan_from >= end) return Status::OK();
  KL_ASSIGN_OR_RETURN(auto consumer, log_->NewConsumer("kubelake-ingest-recovery"));
  KL_RETURN_IF_ERROR(consumer->Seek(c->partition, c->scan_from));
  int64_t position = c->scan_from;
  uint64_t after_last = 0;  // events of this cluster after the last counted one
  bool found = !c->has_last;
  uint64_t total = 0;
  uint64_t newest_hash = c->last_hash;
  bool have_newest = c->has_last;
  while (position < end) {
    log::PollOptions opts;
    opts.max_records = 10000;
    opts.timeout_ms = 200;
    KL_ASSIGN_OR_RETURN(log::RecordBatch batch, consumer->Poll(opts));
    for (const log::Record& r : batch) {
      if (r.offset >= end) break;
      position = r.offset + 1;
      if (r.key != c->name) continue;
      uint64_t h = HashContent(r.value);
      ++total;
      newest_hash = h;
      have_newest = true;
      if (!found && h == c->last_hash) {
        found = true;
        after_last = 0;
        continue;
      }
      ++after_last;
    }
  }
  uint64_t counted = found ? after_last : total;
  if (counted > 0) {
    spdlog::info("ingest: cluster {}: {} events appended after the last state write; continuing at {}", c->name,
                 counted, c->next + counted);
  }
  c->next += counted;
  c->has_last = have_newest;
  c->last_hash = newest_hash;
  c->scan_from = end;
  c->dirty = true;
  return Status::OK();
}

// ---- requests ----

HttpResponse IngestServer::Handle(HttpRequest& request) {
  ++requests_;
  if (request.path == "/healthz" || request.path == "/readyz") return Answer(200, "{\"status\":\"ok\"}");
  if (request.path != kBatchPath) return Answer(404, ErrorJson("no such endpoint: " + request.path));
  if (request.method != "POST") return Answer(405, ErrorJson("use POST for " + std::string(kBatchPath)));
  return HandleBatch(request);
}

IngestServer::ProducerSlot* IngestServer::AcquireSlot() {
  std::unique_lock<std::mutex> lock(slots_mu_);
  if (!slot_free_.wait_for(lock, std::chrono::milliseconds(options_.busy_wait_ms),
                           [&] { return !free_slots_.empty(); })) {
    return nullptr;
  }
  ProducerSlot* slot = free_slots_.back();
  free_slots_.pop_back();
  return slot;
}

void IngestServer::ReleaseSlot(ProducerSlot* slot) {
  {
    std::lock_guard<std::mutex> lock(slots_mu_);
    free_slots_.push_back(slot);
  }
  slot_free_.notify_one();
}

HttpResponse IngestServer::HandleBatch(HttpRequest& request) {
  std::string claimed = request.Header("x-kubelake-cluster");
  if (claimed.empty()) {
    ++rejected_malformed_;
    return Answer(400, ErrorJson("missing X-Kubelake-Cluster header"));
  }
  // Who is it? Refuse before spending anything on the body.
  std::string token;
  std::string auth = request.Header("authorization");
  if (auth.rfind("Bearer ", 0) == 0) token = std::string(Trim(auth.substr(7)));
  std::shared_ptr<const AcceptedClusters> accepted;
  {
    std::lock_guard<std::mutex> lock(clusters_mu_);
    accepted = accepted_;
  }
  std::string auth_error;
  int auth_status = accepted->Authenticate(claimed, token, request.client_cert_cn, &auth_error);
  if (auth_status == 0 && options_.local_clusters.count(claimed) != 0) {
    auth_status = 403;
    auth_error = "cluster \"" + claimed + "\" is collected by this kubelake itself";
  }
  if (auth_status != 0) {
    ++rejected_auth_;
    if (!request.client_cert_error.empty()) auth_error += " (" + request.client_cert_error + ")";
    spdlog::warn("ingest: refused a batch from {} for cluster {}: {}", request.peer, claimed, auth_error);
    HttpResponse r = Answer(auth_status, ErrorJson(auth_error));
    if (auth_status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }

  std::string_view body = request.body;
  char* body_data = request.body.data();  // the same bytes, to append records from in place
  // Reused by the connection's thread: it only grows, so inflating a
  // megabyte neither zero-fills it nor faults in fresh pages.
  thread_local std::string inflated_buffer;
  std::string encoding = ToLower(request.Header("content-encoding"));
  if (encoding == "zstd") {
    std::string_view inflated;
    Status s = format::ZstdInflateInto(body, options_.http.max_body_bytes * 8, HttpServer::kBodyPadding,
                                       &inflated_buffer, &inflated);
    if (!s.ok()) {
      ++rejected_malformed_;
      return Answer(400, ErrorJson("malformed batch: zstd: " + s.message()));
    }
    body = inflated;
    body_data = inflated_buffer.data() + (inflated.data() - inflated_buffer.data());
  } else if (!encoding.empty() && encoding != "identity") {
    ++rejected_malformed_;
    return Answer(415, ErrorJson("unsupported Content-Encoding " + encoding + " (zstd or none)"));
  }
  // Every event is validated as it is decoded, while its bytes are in the
  // cache; one bad event refuses the whole batch before anything is appended.
  auto validate = [&](const BatchHeader& header, uint64_t i, std::string_view content) {
    Status s = ValidateEventContent(content);
    if (s.ok()) return s;
    return Status::InvalidArgument("malformed batch: event " + std::to_string(i) + " (sequence " +
                                   std::to_string(header.first_sequence + i) + "): " + s.message() +
                                   "; nothing of this batch was appended");
  };
  auto decoded = DecodeBatch(body, validate);
  if (!decoded.ok()) {
    ++rejected_malformed_;
    spdlog::warn("ingest: rejected a batch of cluster {}: {}", claimed, decoded.status().message());
    return Answer(400, ErrorJson(decoded.status().message()));
  }
  DecodedBatch& batch = *decoded;
  if (batch.header.cluster != claimed) {
    ++rejected_malformed_;
    return Answer(400, ErrorJson("malformed batch: it names cluster \"" + batch.header.cluster +
                                 "\" but the request is for \"" + claimed + "\""));
  }

  ClusterState* c = GetCluster(claimed);
  std::unique_lock<std::mutex> lock(c->mu);
  if (c->stream != batch.header.stream) {
    // A new collector stream (first contact, or a collector whose spool was
    // replaced): it continues from where it says. Recorded before appending,
    // so recovery never counts its events under the old stream.
    if (!c->stream.empty()) {
      spdlog::warn("ingest: cluster {}: collector stream {} replaces {} (at sequence {}, was at {})", claimed,
                   batch.header.stream, c->stream, batch.header.first_sequence, c->next);
    } else {
      spdlog::info("ingest: cluster {}: new collector stream {} from sequence {}", claimed, batch.header.stream,
                   batch.header.first_sequence);
    }
    c->stream = batch.header.stream;
    c->next = batch.header.first_sequence;
    c->stats.stream = c->stream;
    c->stats.next = c->next;
    c->dirty = true;
    auto entry = EntryLocked(c);
    Status s = entry.status();
    if (s.ok()) {
      {
        std::lock_guard<std::mutex> l(state_file_mu_);
        entries_[c->name] = std::move(*entry);
      }
      s = PersistEntries();
    }
    if (!s.ok()) {
      ++append_errors_;
      c->dirty = true;
      return Answer(500, ErrorJson("writing the ingest state: " + s.message()));
    }
  }
  uint64_t first = batch.header.first_sequence;
  if (first > c->next) {
    ++gaps_;
    return Answer(409, ErrorJson("batch starts at sequence " + std::to_string(first) + " but the next expected is " +
                                     std::to_string(c->next) + "; resend from there",
                                 static_cast<int64_t>(c->next)));
  }
  uint64_t skip = std::min<uint64_t>(c->next - first, batch.events.size());
  uint64_t appended = batch.events.size() - skip;
  if (appended > 0) {
    ProducerSlot* slot = AcquireSlot();
    if (slot == nullptr) {
      ++busy_;
      HttpResponse r =
          Answer(503, ErrorJson("busy: too many batches being appended; retry", static_cast<int64_t>(c->next)));
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    Status s;
    if (!batch.events[skip].record.empty()) {
      // Version 2: the records lie back to back in the body, checked; the log
      // renumbers them where they are and writes them from there (no copy,
      // one sync for the batch).
      std::string_view from = batch.events[skip].record, last = batch.events.back().record;
      size_t size = static_cast<size_t>(last.data() + last.size() - from.data());
      s = slot->producer->SendEncoded(claimed, body_data + (from.data() - body.data()), size, appended);
    } else {
      for (size_t i = skip; i < batch.events.size() && s.ok(); ++i) {
        log::ProducerRecord rec;
        rec.key = claimed;
        rec.value = batch.events[i].content;
        rec.timestamp_ms = batch.events[i].timestamp_ms;
        s = slot->producer->Send(rec);
      }
    }
    if (s.ok()) s = slot->producer->Flush();
    if (!s.ok()) {
      // Some of the events may be in the log: a fresh producer drops what
      // was not written, and the log itself says how far this cluster got.
      ++append_errors_;
      auto fresh = log_->NewProducer();
      if (fresh.ok()) slot->producer = std::move(*fresh);
      Status recount = RecountCluster(c);
      if (!recount.ok())
        spdlog::error("ingest: cluster {}: recount after a failed append: {}", claimed, recount.ToString());
      ReleaseSlot(slot);
      spdlog::error("ingest: cluster {}: appending to the log failed: {}", claimed, s.ToString());
      return Answer(500, ErrorJson("appending to the event log failed: " + s.message(), static_cast<int64_t>(c->next)));
    }
    ReleaseSlot(slot);
    c->next = first + batch.events.size();
    c->has_last = true;
    c->last_hash = HashContent(batch.events.back().content);
    c->dirty = true;
  }
  c->stats.next = c->next;
  c->stats.batches += batch.events.empty() ? 0 : 1;
  c->stats.events += appended;
  c->stats.duplicates += skip;
  if (!batch.events.empty()) c->stats.last_batch_ms = NowMillis();
  uint64_t next = c->next;
  lock.unlock();
  if (!batch.events.empty()) ++batches_;
  events_ += appended;
  duplicates_ += skip;
  return Answer(200, AckJson(claimed, batch.header.stream, next, appended, skip));
}

// ---- background: state file, accepted clusters ----

void IngestServer::ReloadClusters(bool initial) {
  auto mtime = FileModifiedMillis(options_.clusters_file);
  if (!mtime.ok() || *mtime == clusters_mtime_) return;
  auto fresh = AcceptedClusters::Load(options_.clusters_file);
  if (!fresh.ok()) {
    spdlog::error("ingest: keeping the previous accepted clusters: {}", fresh.status().ToString());
    clusters_mtime_ = *mtime;
    return;
  }
  std::lock_guard<std::mutex> lock(clusters_mu_);
  accepted_ = std::make_shared<AcceptedClusters>(std::move(*fresh));
  clusters_mtime_ = *mtime;
  if (!initial)
    spdlog::info("ingest: reloaded {} accepted clusters from {}", accepted_->size(), options_.clusters_file);
}

void IngestServer::Background() {
  int64_t last_state = MonotonicMicros() / 1000, last_clusters = last_state;
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, std::chrono::milliseconds(100));
    if (stopping_) break;
    lock.unlock();
    int64_t now = MonotonicMicros() / 1000;
    if (now - last_state >= options_.state_interval_ms) {
      last_state = now;
      bool dirty = false;
      {
        std::lock_guard<std::mutex> l(clusters_mu_);
        for (auto& [name, c] : clusters_) dirty = dirty || c->dirty;
      }
      if (dirty) {
        Status s = WriteState();
        if (!s.ok()) spdlog::warn("ingest: writing state: {}", s.ToString());
      }
    }
    if (now - last_clusters >= options_.clusters_check_interval_ms) {
      last_clusters = now;
      ReloadClusters(false);
    }
    lock.lock();
  }
}

IngestStats IngestServer::Stats() const {
  IngestStats s;
  s.requests = requests_;
  s.batches = batches_;
  s.events = events_;
  s.duplicates = duplicates_;
  s.rejected_auth = rejected_auth_;
  s.rejected_malformed = rejected_malformed_;
  s.gaps = gaps_;
  s.busy = busy_;
  s.append_errors = append_errors_;
  std::lock_guard<std::mutex> lock(clusters_mu_);
  for (const auto& [name, c] : clusters_) {
    std::lock_guard<std::mutex> l(c->mu);
    s.clusters.push_back(c->stats);
  }
  return s;
}

}  // namespace kl::ingest
