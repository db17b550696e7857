// The cost of shipping events to a central kubelake, side by side with
// appending the same events to the embedded log directly (what `kubelake run`
// does with its own collector):
//
//   local         16 collector threads append to one embedded log (LogSink:
//                 Send + Flush per batch of 500 events, fsync=batch)
//   https         16 clients send the same batches over HTTPS (one TLS
//                 connection each, zstd bodies) to one IngestServer that
//                 decodes, validates, deduplicates and appends them to its log
//                 (fsync=batch), acknowledging each after the flush
//   spool+https   the whole remote path: 16 collectors write their spools
//                 (LogSink on an embedded log each) and 16 Shippers read the
//                 spools and ship to the IngestServer until all is acknowledged
//
//   build/bench/ingest_bench [--collectors 16] [--events 8000] [--batch 500] [--dir /tmp] [--no-compress]
//   [--skip-spool]
//
// Events are simulator pods (~2.4 KB of JSON) wrapped as collector events.
// CPU is process CPU (clients and server run in this process), so "CPU per
// event" counts both sides of the remote paths.
#include <curl/curl.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "collector/event.h"
#include "collector/log_sink.h"
#include "collector/remote_sink.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/random.h"
#include "format/compression.h"
#include "ingest/ingest_server.h"
#include "ingest/wire.h"
#include "simulator/models.h"
#include "simulator/tls.h"

namespace {

using namespace kl;

double CpuSeconds(bool system_only = false) {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  double sys = static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
  if (system_only) return sys;
  return sys + static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
}

thread_local double g_sys0 = 0;  // system CPU at the start of the measured phase

void Die(const std::string& what) {
  std::fprintf(stderr, "ingest_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Figures {
  double wall = 0, cpu = 0;
};

Figures Report(const char* what, uint64_t events, uint64_t bytes, int64_t wall0, double cpu0, const Figures* base) {
  Figures f;
  f.wall = static_cast<double>(MonotonicMicros() - wall0) / 1e6;
  f.cpu = CpuSeconds() - cpu0;
  double per_event_us = f.cpu / static_cast<double>(events) * 1e6;
  double sys = CpuSeconds(true) - g_sys0;
  std::printf("%-12s %9.0f events/s %7.1f MB/s  CPU %6.2f s (%3.0f%% in the kernel) = %5.2f us/event", what,
              static_cast<double>(events) / f.wall, static_cast<double>(bytes) / f.wall / 1e6, f.cpu,
              100.0 * sys / f.cpu, per_event_us);
  if (base != nullptr) std::printf("  (%.2fx the local CPU per event)", f.cpu / base->cpu);
  std::printf("\n");
  std::fflush(stdout);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  int collectors = 16;
  int events_per = 8000;
  int batch = 500;
  std::string base_dir = "/tmp";
  bool compress = true;
  bool skip_spool = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--collectors")
      collectors = std::atoi(next().c_str());
    else if (a == "--events")
      events_per = std::atoi(next().c_str());
    else if (a == "--batch")
      batch = std::atoi(next().c_str());
    else if (a == "--dir")
      base_dir = next();
    else if (a == "--no-compress")
      compress = false;
    else if (a == "--skip-spool")
      skip_spool = true;
    else
      Die("unknown argument " + a);
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::string dir = JoinPath(base_dir, "kubelake-ingest-bench-" + RandomUuid());
  if (!CreateDirs(dir).ok()) Die("cannot create " + dir);

  // The events: one cluster per collector, simulator pods as ODS content.
  std::vector<std::vector<collector::CollectedEvent>> events(collectors);
  uint64_t total_bytes = 0;
  for (int c = 0; c < collectors; ++c) {
    for (int i = 0; i < events_per; ++i) {
      simulator::PodModel pod;
      pod.ns = "tenant-u" + std::to_string(i % 50);
      pod.name = "web-" + std::to_string(i);
      pod.uid = RandomUuid();
      pod.node = "node-" + std::to_string(i % 40);
      pod.owner_kind = "ReplicaSet";
      pod.owner_name = "web-abc";
      pod.owner_uid = "rs-uid";
      pod.user = "u" + std::to_string(i % 50);
      pod.instance = pod.user + "-web";
      pod.app = "web";
      pod.image = "registry.example.com/web:1.2.3";
      pod.pod_ip = "10.0.0.1";
      pod.host_ip = "192.168.0.1";
      simulator::StoredObject obj;
      simulator::RenderPod(pod, 1000 + static_cast<uint64_t>(i), 0, &obj);
      collector::OdsFields f;
      f.type = collector::EventType::kAdded;
      f.object_json = obj.json;
      f.version = "v1";
      f.kind = "Pod";
      f.namespace_ = pod.ns;
      f.name = pod.name;
      std::string rv = std::to_string(1000 + i);
      f.resource_version = rv;
      f.uid = pod.uid;
      f.watch_name = "core/pods";
      f.watch_setup_ms = NowMillis();
      f.event_time_ms = NowMillis();
      collector::CollectedEvent e;
      e.cluster = "bench-" + std::to_string(c);
      e.ingest_time_ms = NowMillis();
      collector::AppendOdsContent(f, &e.content);
      e.uid = pod.uid;
      e.resource_version = rv;
      e.kind = "Pod";
      total_bytes += e.content.size();
      events[c].push_back(std::move(e));
    }
  }
  uint64_t total = static_cast<uint64_t>(collectors) * static_cast<uint64_t>(events_per);
  std::printf(
      "ingest_bench: %d collectors x %d events = %llu events, %.1f MB of JSON (%.0f B/event), batches of %d, %s "
      "bodies\n",
      collectors, events_per, static_cast<unsigned long long>(total), static_cast<double>(total_bytes) / 1e6,
      static_cast<double>(total_bytes) / static_cast<double>(total), batch, compress ? "zstd" : "uncompressed");

  // --- local: the embedded log directly ---
  Figures local;
  {
    auto log = log::OpenEventLog("dir:" + JoinPath(dir, "local") + "?partitions=8&fsync=batch");
    if (!log.ok()) Die(log.status().ToString());
    int64_t wall0 = MonotonicMicros();
    double cpu0 = CpuSeconds();
    g_sys0 = CpuSeconds(true);
    std::vector<std::thread> threads;
    for (int c = 0; c < collectors; ++c) {
      threads.emplace_back([&, c] {
        auto sink = collector::LogSink::Create(log->get());
        if (!sink.ok()) Die(sink.status().ToString());
        for (size_t i = 0; i < events[c].size(); i += static_cast<size_t>(batch)) {
          size_t end = std::min(events[c].size(), i + static_cast<size_t>(batch));
          std::vector<collector::CollectedEvent> b(events[c].begin() + static_cast<ptrdiff_t>(i),
                                                   events[c].begin() + static_cast<ptrdiff_t>(end));
          Status s = (*sink)->Emit(std::move(b));
          if (!s.ok()) Die(s.ToString());
        }
      });
    }
    for (auto& t : threads) t.join();
    local = Report("local", total, total_bytes, wall0, cpu0, nullptr);
  }

  // The central side for both remote runs.
  auto tls = simulator::GenerateTlsMaterial("bench-ca");
  if (!tls.ok()) Die(tls.status().ToString());
  std::string clusters_yaml = "clusters:\n";
  for (int c = 0; c < collectors; ++c)
    clusters_yaml += "- name: bench-" + std::to_string(c) + "\n  token: t" + std::to_string(c) + "\n";
  if (!WriteFile(JoinPath(dir, "clusters.yaml"), clusters_yaml).ok()) Die("writing clusters.yaml");
  auto start_central = [&](const std::string& name, std::unique_ptr<log::EventLog>* log) {
    auto l = log::OpenEventLog("dir:" + JoinPath(dir, name) + "?partitions=8&fsync=batch");
    if (!l.ok()) Die(l.status().ToString());
    *log = std::move(*l);
    ingest::IngestOptions o;
    o.http.tls_cert_pem = tls->server_cert_pem;
    o.http.tls_key_pem = tls->server_key_pem;
    o.clusters_file = JoinPath(dir, "clusters.yaml");
    o.state_path = JoinPath(dir, name + "-state.json");
    o.max_concurrent_appends = 8;
    auto s = ingest::IngestServer::Start(log->get(), o);
    if (!s.ok()) Die(s.status().ToString());
    return std::move(*s);
  };

  // --- https: batches straight to the ingest endpoint ---
  {
    std::unique_ptr<log::EventLog> central_log;
    auto central = start_central("central-https", &central_log);
    std::string url = central->url() + std::string(ingest::kBatchPath);
    int64_t wall0 = MonotonicMicros();
    double cpu0 = CpuSeconds();
    g_sys0 = CpuSeconds(true);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int c = 0; c < collectors; ++c) {
      threads.emplace_back([&, c] {
        CURL* e = curl_easy_init();
        std::string cluster = "bench-" + std::to_string(c);
        curl_slist* headers = nullptr;
        headers = curl_slist_append(headers, ("Authorization: Bearer t" + std::to_string(c)).c_str());
        headers = curl_slist_append(headers, ("X-Kubelake-Cluster: " + cluster).c_str());
        headers = curl_slist_append(headers, "Expect:");
        if (compress) headers = curl_slist_append(headers, "Content-Encoding: zstd");
        ingest::BatchEncoder enc;
        std::string body, answer;
        for (size_t i = 0; i < events[c].size(); i += static_cast<size_t>(batch)) {
          size_t end = std::min(events[c].size(), i + static_cast<size_t>(batch));
          enc.Begin(cluster, "stream-" + cluster, i);
          for (size_t k = i; k < end; ++k) enc.Add(events[c][k].ingest_time_ms, events[c][k].content);
          std::string& raw = enc.Finish();
          body.clear();
          if (compress)
            (void)format::ZstdCompress(1, raw, &body);
          else
            body = raw;
          answer.clear();
          curl_easy_setopt(e, CURLOPT_URL, url.c_str());
          curl_blob blob{const_cast<char*>(tls->ca_cert_pem.data()), tls->ca_cert_pem.size(), CURL_BLOB_COPY};
          curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
          curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
          curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
          curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
          curl_easy_setopt(
              e, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* ud) {
                static_cast<std::string*>(ud)->append(p, s * n);
                return s * n;
              });
          curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer);
          long status = 0;
          if (curl_easy_perform(e) == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
          if (status != 200) {
            ++failures;
            std::fprintf(stderr, "batch refused: HTTP %ld %s\n", status, answer.c_str());
            break;
          }
        }
        curl_slist_free_all(headers);
        curl_easy_cleanup(e);
      });
    }
    for (auto& t : threads) t.join();
    if (failures > 0) Die("batches failed");
    Report("https", total, total_bytes, wall0, cpu0, &local);
    if (central->Stats().events != total) Die("the central side appended " + std::to_string(central->Stats().events));
    central->Stop();
  }

  // --- spool+https: the collectors' real path ---
  if (!skip_spool) {
    std::unique_ptr<log::EventLog> central_log;
    auto central = start_central("central-spool", &central_log);
    std::vector<std::unique_ptr<log::EventLog>> spools(collectors);
    std::vector<std::unique_ptr<collector::Shipper>> shippers(collectors);
    int64_t wall0 = MonotonicMicros();
    double cpu0 = CpuSeconds();
    g_sys0 = CpuSeconds(true);
    for (int c = 0; c < collectors; ++c) {
      std::string spool_dir = JoinPath(dir, "spool-" + std::to_string(c));
      auto spool = collector::OpenSpool(spool_dir);
      if (!spool.ok()) Die(spool.status().ToString());
      spools[c] = std::move(*spool);
      collector::RemoteSinkOptions r;
      r.url = central->url();
      r.cluster = "bench-" + std::to_string(c);
      r.token = "t" + std::to_string(c);
      r.ca_pem = tls->ca_cert_pem;
      r.compress = compress;
      auto shipper = collector::Shipper::Start(spools[c].get(), spool_dir, "spool-stream-" + std::to_string(c), r);
      if (!shipper.ok()) Die(shipper.status().ToString());
      shippers[c] = std::move(*shipper);
    }
    std::vector<std::thread> threads;
    for (int c = 0; c < collectors; ++c) {
      threads.emplace_back([&, c] {
        auto sink = collector::LogSink::Create(spools[c].get());
        if (!sink.ok()) Die(sink.status().ToString());
        for (size_t i = 0; i < events[c].size(); i += static_cast<size_t>(batch)) {
          size_t end = std::min(events[c].size(), i + static_cast<size_t>(batch));
          std::vector<collector::CollectedEvent> b(events[c].begin() + static_cast<ptrdiff_t>(i),
                                                   events[c].begin() + static_cast<ptrdiff_t>(end));
          Status s = (*sink)->Emit(std::move(b));
          if (!s.ok()) Die(s.ToString());
        }
      });
    }
    for (auto& t : threads) t.join();
    for (int c = 0; c < collectors; ++c) {
      while (shippers[c]->Stats().acked < static_cast<uint64_t>(events_per)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    Report("spool+https", total, total_bytes, wall0, cpu0, &local);
    if (central->Stats().events != total) Die("the central side appended " + std::to_string(central->Stats().events));
    for (auto& s : shippers) s->Stop();
    central->Stop();
  }
  (void)RemoveAll(dir);
  return 0;
}
