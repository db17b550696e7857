// The cost of shipping events to a central kubelake, side by side with
// appending the same events to the embedded log directly (what `kubelake run`
// does with its own collector):
//
//   local         16 collector threads append to one embedded log through the
//                 collector's LogSink (Emit + Flush per batch of 500 events,
//                 fsync=batch): what a collector pays when the warehouse is local
//   https         the ingest path alone: 16 clients encode the same batches,
//                 send them over HTTPS (one TLS connection each) to one
//                 IngestServer that decodes, checks, deduplicates and appends
//                 them to its log (fsync=batch), acknowledging each after the
//                 flush; nothing is spooled on the collector's side
//   spool+https   the whole remote path of a collector: 16 LogSinks write their
//                 spools (an embedded log each, fsync=200ms, what makes the
//                 collector survive restarts and outages), 16 Shippers read the
//                 spools and ship to the IngestServer until all is acknowledged
//
//   floor         (only when asked: --only local,https,floor) the CPU per event of
//                 each step the remote path adds to a local append, one thread,
//                 no sockets: encoding a batch (a copy and a CRC-32C), zstd,
//                 TLS's record cipher (the suite the https phase negotiated,
//                 sealed by OpenSSL and opened again), inflating, decoding (a
//                 CRC-32C) and validating every event. Their sum is what no
//                 implementation of this design avoids. Beside it: simdjson's
//                 stage 1 alone (the least a validator built on it spends) and
//                 the same verdict from simdjson's DOM parser.
//
//   build/bench/ingest_bench [--collectors 16] [--events 8000] [--batch 500] [--dir /tmp]
//       [--no-compress | --level N] [--batch-version 2] [--central-threads N] [--local-batch-bytes N]
//       [--only local,https,spool,floor] [--rounds 1]
//
// --central-threads: the central IngestServer's loop threads (default as
// `kubelake run`: the cores, at least 2); 0 serves each connection on a
// thread of its own.
// --local-batch-bytes N: the local path's producer buffer (the log's
// batch_bytes, default 1 MiB, so a flush of 500 pods is two writes and two
// fdatasyncs); 4m makes each flush one, as the ingest path's batches are.
//
// --batch-version (ingest/wire.h): 2 (what collectors send) ships records
// framed as the embedded log frames them — the https clients frame them as a
// spool would, the Shippers send their spool's records as they are, and the
// central side appends them as they came; 1 encodes events into a batch of
// its own and the central side frames them again.
//
// Events are simulator pods (~2.5 KB of JSON) wrapped as collector events.
// Each phase starts from batches built beforehand (untimed) and owns them:
// every path frees its events as a collector does.
//
// The two sides of the remote paths run in two processes, as in a fleet
// (collectors in their clusters, one central kubelake): the central
// IngestServer and its log in a child process of this one (the same binary,
// started with --central-process), the collectors (and their spools and
// Shippers) in this one. Each process measures its own CPU (getrusage) over
// the same interval, so a remote path prints three figures: the whole path
// (both), the central side (what must scale with the fleet) and the
// collector side (spread over the clusters), each per event and as a ratio
// to the local path. Over loopback the kernel runs part of TCP's receive
// processing in the sender's context (softirq), which a real NIC would
// charge to the receiving machine: the central figure is a little low and
// the collector figure a little high by that amount (docs/deploy.md).
// With --rounds N the phases run N times in turn and a summary gives the
// median and the lowest CPU per event of each, and the medians of its user
// and kernel CPU apart.
#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <simdjson.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "collector/event.h"
#include "collector/sink/log_sink.h"
#include "collector/sink/remote_sink.h"
#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "common/string_util.h"
#include "format/compression.h"
#include "ingest/event_validator.h"
#include "ingest/ingest_server.h"
#include "ingest/wire.h"
#include "log/crc32c.h"
#include "log/segment/record_format.h"
#include "pod_events.h"
#include "simulator/models.h"
#include "simulator/tls.h"

namespace {

using namespace kl;
using Batches = std::vector<std::vector<std::vector<collector::CollectedEvent>>>;  // [collector][batch]

struct Cpu {
  double user = 0, sys = 0;
};

Cpu CpuNow() {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  Cpu c;
  c.user = static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
  c.sys = static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
  return c;
}

void Die(const std::string& what) {
  std::fprintf(stderr, "ingest_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Figures {
  double wall = 0, user = 0, sys = 0;
  double cpu() const { return user + sys; }
};

// Measures what `run` costs this process.
template <typename F>
Figures Measure(F&& run) {
  int64_t wall0 = MonotonicMicros();
  Cpu cpu0 = CpuNow();
  run();
  Cpu cpu1 = CpuNow();
  Figures f;
  f.wall = static_cast<double>(MonotonicMicros() - wall0) / 1e6;
  f.user = cpu1.user - cpu0.user;
  f.sys = cpu1.sys - cpu0.sys;
  return f;
}

// A path's figures: the whole path, and for the remote paths its two sides
// (each measured by its own process over the same interval).
struct PathFigures {
  Figures whole;
  bool split = false;
  Figures central, collectors;
};

Figures Sum(const Figures& a, const Figures& b) {
  Figures f;
  f.wall = std::max(a.wall, b.wall);
  f.user = a.user + b.user;
  f.sys = a.sys + b.sys;
  return f;
}

void PrintLine(const std::string& what, const Figures& f, uint64_t events, uint64_t bytes, const Figures* local,
               bool rates) {
  double n = static_cast<double>(events);
  char head[128];
  std::snprintf(head, sizeof(head), "%-12s %9.0f events/s %7.1f MB/s  ", what.c_str(), n / f.wall,
                static_cast<double>(bytes) / f.wall / 1e6);
  if (rates) {
    std::printf("%s", head);
  } else {  // a side of a path: indented, aligned with the path's CPU
    std::printf("  %-*s", static_cast<int>(std::strlen(head)) - 2, what.c_str());
  }
  std::printf("CPU %6.2f s (user %5.2f us, kernel %5.2f us) = %5.2f us/event", f.cpu(), f.user / n * 1e6,
              f.sys / n * 1e6, f.cpu() / n * 1e6);
  if (local != nullptr) std::printf("  (%.2fx the local CPU per event)", f.cpu() / local->cpu());
  std::printf("\n");
}

void Print(const std::string& what, const PathFigures& f, uint64_t events, uint64_t bytes, const Figures* local) {
  PrintLine(what, f.whole, events, bytes, local, true);
  if (f.split) {
    PrintLine("central", f.central, events, bytes, local, false);
    PrintLine("collectors", f.collectors, events, bytes, local, false);
  }
  std::fflush(stdout);
}

std::string ReadLine(FILE* in, const std::string& what) {
  char line[512];
  if (std::fgets(line, sizeof(line), in) == nullptr) Die("the central process ended early (" + what + ")");
  std::string s(line);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// The central side in a child process: this binary with --central-process.
// It starts an IngestServer on a fresh embedded log (fsync=batch), prints
// "ready URL", and answers "begin" (CPU from now on), "end" (CPU since
// begin, and the events it appended) and "quit" on its stdin/stdout.
class CentralProcess {
 public:
  CentralProcess(const std::string& dir, const std::string& name, int max_appends, int threads) {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) Die("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    std::string exe = "/proc/self/exe";
    std::string appends = std::to_string(max_appends);
    std::string thread_count = std::to_string(threads);
    std::vector<char*> argv = {exe.data(),
                               const_cast<char*>("--central-process"),
                               const_cast<char*>(dir.c_str()),
                               const_cast<char*>(name.c_str()),
                               appends.data(),
                               thread_count.data(),
                               nullptr};
    if (posix_spawn(&pid_, exe.c_str(), &actions, nullptr, argv.data(), environ) != 0) Die("spawning " + exe);
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_ = ::fdopen(to_child[1], "w");
    from_ = ::fdopen(from_child[0], "r");
    std::string ready = ReadLine(from_, "starting");
    if (ready.rfind("ready ", 0) != 0) Die("the central process said: " + ready);
    url_ = ready.substr(6);
  }
  ~CentralProcess() {
    std::fputs("quit\n", to_);
    std::fflush(to_);
    std::fclose(to_);
    std::fclose(from_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("the central process failed");
  }
  const std::string& url() const { return url_; }
  void Begin() { Ask("begin"); }
  // The central process's CPU since Begin, and the events its server appended.
  Figures End(uint64_t* events) {
    std::string answer = Ask("end");
    Figures f;
    unsigned long long n = 0;
    if (std::sscanf(answer.c_str(), "cpu %lf %lf %llu", &f.user, &f.sys, &n) != 3) Die("central: " + answer);
    *events = n;
    return f;
  }

 private:
  std::string Ask(const char* command) {
    std::fprintf(to_, "%s\n", command);
    std::fflush(to_);
    return ReadLine(from_, command);
  }
  pid_t pid_ = 0;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
  std::string url_;
};

int CentralProcessMain(const std::string& dir, const std::string& name, int max_appends, int threads) {
  spdlog::set_level(spdlog::level::warn);
  auto cert = ReadFile(JoinPath(dir, "tls.crt"));
  auto key = ReadFile(JoinPath(dir, "tls.key"));
  if (!cert.ok() || !key.ok()) Die("central: no TLS material in " + dir);
  auto log = log::OpenEventLog("dir:" + JoinPath(dir, name) + "?partitions=8&fsync=batch");
  if (!log.ok()) Die(log.status().ToString());
  ingest::IngestOptions o;
  o.http.tls_cert_pem = *cert;
  o.http.tls_key_pem = *key;
  o.clusters_file = JoinPath(dir, "clusters.yaml");
  o.state_path = JoinPath(dir, name + "-state.json");
  o.max_concurrent_appends = max_appends;
  o.http.threads = static_cast<unsigned>(threads);
  auto server = ingest::IngestServer::Start(log->get(), o);
  if (!server.ok()) Die(server.status().ToString());
  std::printf("ready %s\n", (*server)->url().c_str());
  std::fflush(stdout);
  Cpu begin = CpuNow();
  char line[64];
  while (std::fgets(line, sizeof(line), stdin) != nullptr) {
    std::string command(line);
    if (command == "begin\n") {
      begin = CpuNow();
      std::printf("ok\n");
    } else if (command == "end\n") {
      Cpu now = CpuNow();
      std::printf("cpu %.6f %.6f %llu\n", now.user - begin.user, now.sys - begin.sys,
                  static_cast<unsigned long long>((*server)->Stats().events));
    } else {
      break;
    }
    std::fflush(stdout);
  }
  (*server)->Stop();
  server->reset();
  log->reset();
  (void)RemoveAll(JoinPath(dir, name));
  (void)RemoveAll(JoinPath(dir, name + "-state.json"));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 6 && std::string(argv[1]) == "--central-process") {
    return CentralProcessMain(argv[2], argv[3], std::atoi(argv[4]), std::atoi(argv[5]));
  }
  int collectors = 16;
  int events_per = 8000;
  int batch = 500;
  int rounds = 1;
  int central_threads = static_cast<int>(ingest::IngestOptions().http.threads);
  std::string local_batch_bytes;  // the local log's producer_batch_bytes (URI batch_bytes); empty: its default
  std::string base_dir = "/tmp";
  bool compress = true;
  int level = collector::RemoteSinkOptions().compression_level;
  int batch_version = collector::RemoteSinkOptions().batch_version;
  std::vector<std::string> only = {"local", "https", "spool"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--collectors")
      collectors = std::atoi(next().c_str());
    else if (a == "--events")
      events_per = std::atoi(next().c_str());
    else if (a == "--batch")
      batch = std::atoi(next().c_str());
    else if (a == "--rounds")
      rounds = std::max(1, std::atoi(next().c_str()));
    else if (a == "--local-batch-bytes")
      local_batch_bytes = next();
    else if (a == "--central-threads")
      central_threads = std::atoi(next().c_str());
    else if (a == "--dir")
      base_dir = next();
    else if (a == "--level")
      level = std::atoi(next().c_str());
    else if (a == "--batch-version")
      batch_version = std::atoi(next().c_str());
    else if (a == "--no-compress")
      compress = false;
    else if (a == "--skip-spool")
      only.erase(std::remove(only.begin(), only.end(), "spool"), only.end());
    else if (a == "--only")
      only = Split(next(), ',');
    else
      Die("unknown argument " + a + " (see the comment at the top of bench/ingest_bench.cc)");
  }
  for (const std::string& path : only) {
    if (path != "local" && path != "https" && path != "spool" && path != "floor")
      Die("--only takes local, https, spool and floor");
  }
  if (collectors < 1 || events_per < 1 || batch < 1) Die("--collectors, --events and --batch must be positive");
  if (batch_version != 1 && batch_version != 2) Die("--batch-version is 1 or 2");
  spdlog::set_level(spdlog::level::warn);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::string dir = JoinPath(base_dir, "kubelake-ingest-bench-" + RandomUuid());
  if (!CreateDirs(dir).ok()) Die("cannot create " + dir);

  // The events: one cluster per collector, simulator pods as ODS content.
  std::vector<std::vector<collector::CollectedEvent>> events(collectors);
  uint64_t total_bytes = 0;
  for (int c = 0; c < collectors; ++c) {
    for (int i = 0; i < events_per; ++i) {
      bench::PodEvent pod = bench::MakePodEvent(i);
      collector::CollectedEvent e;
      e.cluster = "bench-" + std::to_string(c);
      e.ingest_time_ms = NowMillis();
      e.content = std::move(pod.content);
      e.uid = pod.uid;
      e.resource_version = pod.resource_version;
      e.kind = "Pod";
      total_bytes += e.content.size();
      events[c].push_back(std::move(e));
    }
  }
  uint64_t total = static_cast<uint64_t>(collectors) * static_cast<uint64_t>(events_per);
  std::printf(
      "ingest_bench: %d collectors x %d events = %llu events, %.1f MB of JSON (%.0f B/event), batches of %d, %s "
      "bodies, batch version %d, %d round(s) of %s\n",
      collectors, events_per, static_cast<unsigned long long>(total), static_cast<double>(total_bytes) / 1e6,
      static_cast<double>(total_bytes) / static_cast<double>(total), batch,
      compress ? ("zstd level " + std::to_string(level)).c_str() : "uncompressed", batch_version, rounds,
      Join(only, ", ").c_str());

  // Each phase gets its own copies of the batches, made before it is timed.
  auto make_batches = [&] {
    Batches b(collectors);
    for (int c = 0; c < collectors; ++c) {
      for (size_t i = 0; i < events[c].size(); i += static_cast<size_t>(batch)) {
        size_t end = std::min(events[c].size(), i + static_cast<size_t>(batch));
        b[c].emplace_back(events[c].begin() + static_cast<ptrdiff_t>(i),
                          events[c].begin() + static_cast<ptrdiff_t>(end));
      }
    }
    return b;
  };

  // The central side of the remote paths.
  auto tls = simulator::GenerateTlsMaterial("bench-ca");
  if (!tls.ok()) Die(tls.status().ToString());
  std::string clusters_yaml = "clusters:\n";
  for (int c = 0; c < collectors; ++c)
    clusters_yaml += "- name: bench-" + std::to_string(c) + "\n  token: t" + std::to_string(c) + "\n";
  if (!WriteFile(JoinPath(dir, "clusters.yaml"), clusters_yaml).ok()) Die("writing clusters.yaml");
  if (!WriteFile(JoinPath(dir, "tls.crt"), tls->server_cert_pem).ok() ||
      !WriteFile(JoinPath(dir, "tls.key"), tls->server_key_pem).ok()) {
    Die("writing the TLS material");
  }
  constexpr int kCentralAppends = 8;

  // local: the embedded log directly, through the collector's sink.
  auto run_local = [&](Batches batches) {
    auto log = log::OpenEventLog("dir:" + JoinPath(dir, "local") + "?partitions=8&fsync=batch" +
                                 (local_batch_bytes.empty() ? "" : "&batch_bytes=" + local_batch_bytes));
    if (!log.ok()) Die(log.status().ToString());
    PathFigures f;
    f.whole = Measure([&] {
      std::vector<std::thread> threads;
      for (int c = 0; c < collectors; ++c) {
        threads.emplace_back([&, c] {
          auto sink = collector::LogSink::Create(log->get());
          if (!sink.ok()) Die(sink.status().ToString());
          for (auto& b : batches[c]) {
            Status s = (*sink)->Emit(std::move(b));
            if (s.ok()) s = (*sink)->Flush();
            if (!s.ok()) Die(s.ToString());
          }
        });
      }
      for (auto& t : threads) t.join();
    });
    log->reset();
    (void)RemoveAll(JoinPath(dir, "local"));
    return f;
  };

  std::string negotiated_cipher;  // set by the https phase

  // https: batches straight to the ingest endpoint.
  auto run_https = [&](Batches batches) {
    CentralProcess central(dir, "central-https", kCentralAppends, central_threads);
    std::string url = central.url() + std::string(ingest::kBatchPath);
    std::atomic<int> failures{0};
    PathFigures f;
    f.split = true;
    central.Begin();
    f.collectors = Measure([&] {
      std::vector<std::thread> threads;
      for (int c = 0; c < collectors; ++c) {
        threads.emplace_back([&, c] {
          CURL* e = curl_easy_init();
          std::string cluster = "bench-" + std::to_string(c);
          curl_slist* headers = nullptr;
          headers = curl_slist_append(headers, ("Authorization: Bearer t" + std::to_string(c)).c_str());
          headers = curl_slist_append(headers, ("X-Kubelake-Cluster: " + cluster).c_str());
          headers = curl_slist_append(headers, ("Content-Type: " + std::string(ingest::kBatchContentType)).c_str());
          headers = curl_slist_append(headers, "Expect:");
          if (compress) headers = curl_slist_append(headers, "Content-Encoding: zstd");
          ingest::BatchEncoder enc;
          std::string compressed, answer;
          uint64_t sequence = 0;
          bool first_request = true;
          for (auto& b : batches[c]) {
            if (batch_version == 2) {  // framed as a spool frames them
              enc.BeginRecords(cluster, "stream-" + cluster, sequence);
              int64_t offset = static_cast<int64_t>(sequence);
              for (const auto& ev : b) enc.AddRecord(offset++, ev.ingest_time_ms, cluster, ev.content);
            } else {
              enc.Begin(cluster, "stream-" + cluster, sequence);
              for (const auto& ev : b) enc.Add(ev.ingest_time_ms, ev.content);
            }
            sequence += b.size();
            std::vector<collector::CollectedEvent>().swap(b);  // sent: a collector frees them
            std::string& raw = enc.Finish();
            std::string_view body = raw;
            if (compress) (void)format::ZstdCompressInto(level, raw, &compressed, &body);
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
            if (c == 0 && first_request) {  // the first answer: which cipher suite TLS chose
              first_request = false;
              curl_tlssessioninfo* info = nullptr;
              if (curl_easy_getinfo(e, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info != nullptr &&
                  info->backend == CURLSSLBACKEND_OPENSSL && info->internals != nullptr) {
                const SSL_CIPHER* cipher = SSL_get_current_cipher(static_cast<SSL*>(info->internals));
                if (cipher != nullptr) negotiated_cipher = SSL_CIPHER_get_name(cipher);
              }
            }
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
    });
    uint64_t appended = 0;
    f.central = central.End(&appended);
    f.whole = Sum(f.collectors, f.central);
    if (failures > 0) Die("batches failed");
    if (appended != total) Die("the central side appended " + std::to_string(appended));
    return f;
  };

  // spool+https: the collectors' real path.
  auto run_spool = [&](Batches batches) {
    CentralProcess central(dir, "central-spool", kCentralAppends, central_threads);
    std::vector<std::unique_ptr<log::EventLog>> spools(collectors);
    std::vector<std::unique_ptr<collector::Shipper>> shippers(collectors);
    PathFigures f;
    f.split = true;
    central.Begin();
    f.collectors = Measure([&] {
      for (int c = 0; c < collectors; ++c) {
        std::string spool_dir = JoinPath(dir, "spool-" + std::to_string(c));
        auto spool = collector::OpenSpool(spool_dir);
        if (!spool.ok()) Die(spool.status().ToString());
        spools[c] = std::move(*spool);
        collector::RemoteSinkOptions r;
        r.url = central.url();
        r.cluster = "bench-" + std::to_string(c);
        r.token = "t" + std::to_string(c);
        r.ca_pem = tls->ca_cert_pem;
        r.compress = compress;
        r.compression_level = level;
        r.batch_version = batch_version;
        auto shipper = collector::Shipper::Start(spools[c].get(), spool_dir, "spool-stream-" + std::to_string(c), r);
        if (!shipper.ok()) Die(shipper.status().ToString());
        shippers[c] = std::move(*shipper);
      }
      std::vector<std::thread> threads;
      for (int c = 0; c < collectors; ++c) {
        threads.emplace_back([&, c] {
          auto sink = collector::LogSink::Create(spools[c].get());
          if (!sink.ok()) Die(sink.status().ToString());
          for (auto& b : batches[c]) {
            Status s = (*sink)->Emit(std::move(b));
            if (s.ok()) s = (*sink)->Flush();
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
    });
    uint64_t appended = 0;
    f.central = central.End(&appended);
    f.whole = Sum(f.collectors, f.central);
    if (appended != total) Die("the central side appended " + std::to_string(appended));
    for (auto& s : shippers) s->Stop();
    shippers.clear();
    spools.clear();
    for (int c = 0; c < collectors; ++c) (void)RemoveAll(JoinPath(dir, "spool-" + std::to_string(c)));
    return f;
  };

  // floor: the steps the remote path adds, each timed on its own (thread CPU).
  auto thread_cpu = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  };
  auto run_floor = [&](Batches batches) {
    // TLS 1.3's record protection is an AEAD over records of at most 16 KB.
    std::string cipher_name = negotiated_cipher.empty() ? "TLS_AES_256_GCM_SHA384" : negotiated_cipher;
    const EVP_CIPHER* aead =
        cipher_name.find("CHACHA20") != std::string::npos ? EVP_chacha20_poly1305()
        : cipher_name.find("AES_128") != std::string::npos || cipher_name.find("AES128") != std::string::npos
            ? EVP_aes_128_gcm()
            : EVP_aes_256_gcm();
    unsigned char key[32] = {1, 2, 3}, iv[12] = {4, 5, 6}, tag[16];
    EVP_CIPHER_CTX* seal = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX* open = EVP_CIPHER_CTX_new();
    std::string sealed(16384 + 64, '\0'), opened(16384 + 64, '\0');
    auto tls_round_trip = [&](std::string_view body) {
      for (size_t at = 0; at < body.size(); at += 16384) {
        size_t n = std::min<size_t>(16384, body.size() - at);
        int len = 0;
        EVP_EncryptInit_ex(seal, aead, nullptr, key, iv);
        EVP_EncryptUpdate(seal, reinterpret_cast<unsigned char*>(sealed.data()), &len,
                          reinterpret_cast<const unsigned char*>(body.data() + at), static_cast<int>(n));
        EVP_EncryptFinal_ex(seal, reinterpret_cast<unsigned char*>(sealed.data()) + len, &len);
        EVP_CIPHER_CTX_ctrl(seal, EVP_CTRL_AEAD_GET_TAG, 16, tag);
        EVP_DecryptInit_ex(open, aead, nullptr, key, iv);
        EVP_DecryptUpdate(open, reinterpret_cast<unsigned char*>(opened.data()), &len,
                          reinterpret_cast<const unsigned char*>(sealed.data()), static_cast<int>(n));
        EVP_CIPHER_CTX_ctrl(open, EVP_CTRL_AEAD_SET_TAG, 16, tag);
        if (EVP_DecryptFinal_ex(open, reinterpret_cast<unsigned char*>(opened.data()) + len, &len) != 1)
          Die("the TLS record cipher did not round-trip");
      }
    };
    double encode = 0, compress_s = 0, tls_s = 0, inflate = 0, decode = 0, validate = 0, crc_only = 0, stage1 = 0,
           dom = 0;
    simdjson::dom::parser stage1_parser;
    if (stage1_parser.allocate(1 << 20) != simdjson::SUCCESS) Die("simdjson: no memory");
    uint64_t raw_bytes = 0, wire_bytes = 0;
    ingest::BatchEncoder enc;
    std::string compressed, inflated_buffer;
    std::vector<std::string> framed;  // version 2: the records as a spool holds them (framed untimed)
    for (int c = 0; c < collectors; ++c) {
      uint64_t sequence = 0;
      for (auto& b : batches[c]) {
        if (batch_version == 2) {
          framed.assign(b.size(), std::string());
          for (size_t k = 0; k < b.size(); ++k) {
            log::AppendRecord(&framed[k], static_cast<int64_t>(sequence + k), b[k].ingest_time_ms, b[k].cluster,
                              b[k].content);
          }
        }
        double t0 = thread_cpu();
        if (batch_version == 2) {
          enc.BeginRecords(b.front().cluster, "stream", sequence);
          for (const std::string& record : framed) enc.AddRecord(record);
        } else {
          enc.Begin(b.front().cluster, "stream", sequence);
          for (const auto& ev : b) enc.Add(ev.ingest_time_ms, ev.content);
        }
        std::string& raw = enc.Finish();
        double t1 = thread_cpu();
        std::string_view body = raw;
        if (compress) (void)format::ZstdCompressInto(level, raw, &compressed, &body);
        double t2 = thread_cpu();
        tls_round_trip(body);
        double t3 = thread_cpu();
        std::string_view plain = body;
        if (compress) {
          if (!format::ZstdInflateInto(body, raw.size(), 64, &inflated_buffer, &plain).ok()) Die("inflate failed");
        }
        double t4 = thread_cpu();
        auto decoded = ingest::DecodeBatch(plain);
        if (!decoded.ok()) Die(decoded.status().ToString());
        double t5 = thread_cpu();
        for (const auto& ev : decoded->events) {
          if (!ingest::ValidateEventContent(ev.content).ok()) Die("an event does not validate");
        }
        double t6 = thread_cpu();
        uint32_t sink = 0;
        for (const auto& ev : b) sink ^= log::Crc32c(ev.content);
        double t7 = thread_cpu();
        // The least a validator built on simdjson could spend: its stage 1
        // alone (UTF-8, strings, the structural characters; no grammar, no values).
        for (const auto& ev : decoded->events) {
          if (stage1_parser.implementation->stage1(reinterpret_cast<const uint8_t*>(ev.content.data()),
                                                   ev.content.size(),
                                                   simdjson::stage1_mode::regular) != simdjson::SUCCESS) {
            Die("simdjson's stage 1 refused an event");
          }
        }
        double t8 = thread_cpu();
        // What the same verdict costs from simdjson's DOM parser (the
        // validator's reference, and what the central side used before it).
        for (const auto& ev : decoded->events) {
          if (!ingest::ValidateEventWithDom(ev.content).ok()) Die("simdjson's DOM refused an event");
        }
        double t9 = thread_cpu();
        if (sink == 0x12345678u) std::printf(" ");  // keeps the loop
        encode += t1 - t0;
        compress_s += t2 - t1;
        tls_s += t3 - t2;
        inflate += t4 - t3;
        decode += t5 - t4;
        validate += t6 - t5;
        crc_only += t7 - t6;
        stage1 += t8 - t7;
        dom += t9 - t8;
        raw_bytes += raw.size();
        wire_bytes += body.size();
        sequence += b.size();
      }
    }
    EVP_CIPHER_CTX_free(seal);
    EVP_CIPHER_CTX_free(open);
    double n = static_cast<double>(total) / 1e6;
    double sum = encode + compress_s + tls_s + inflate + decode + validate;
    std::printf(
        "floor        per event, one thread: encode %.2f us (%s), zstd %.2f us (%.1fx smaller), %s %.2f us,"
        " inflate %.2f us, decode %.2f us (%s), validate %.2f us = %.2f us added"
        " (a CRC-32C of one event alone: %.2f us; simdjson's stage 1 alone: %.2f us; the same verdict from"
        " simdjson's DOM parser: %.2f us)\n",
        encode / n, batch_version == 2 ? "v2: a copy of the spool's records" : "v1: copy + CRC", compress_s / n,
        static_cast<double>(raw_bytes) / static_cast<double>(wire_bytes), cipher_name.c_str(), tls_s / n, inflate / n,
        decode / n,
        batch_version == 2 ? "v2: each record's CRC, not computed again by the append" : "v1: the batch's CRC",
        validate / n, sum / n, crc_only / n, stage1 / n, dom / n);
    std::fflush(stdout);
    PathFigures f;
    f.whole.user = sum;
    return f;
  };

  const std::map<std::string, std::string> label = {
      {"local", "local"}, {"https", "https"}, {"spool", "spool+https"}, {"floor", "floor"}};
  std::map<std::string, std::vector<PathFigures>> results;
  for (int round = 0; round < rounds; ++round) {
    const Figures* local = nullptr;
    for (const std::string& path : only) {
      Batches batches = make_batches();
      PathFigures f = path == "local"   ? run_local(std::move(batches))
                      : path == "https" ? run_https(std::move(batches))
                      : path == "spool" ? run_spool(std::move(batches))
                                        : run_floor(std::move(batches));
      results[path].push_back(f);
      if (path != "floor") Print(label.at(path), f, total, total_bytes, local);
      if (path == "local") local = &results[path].back().whole;
    }
  }
  if (rounds > 1) {
    std::printf("over %d rounds: CPU per event, median (lowest)\n", rounds);
    auto cpu_us = [&](const std::string& path, Figures PathFigures::*part, bool lowest) {
      std::vector<double> x;
      for (const PathFigures& f : results[path]) x.push_back((f.*part).cpu() / static_cast<double>(total) * 1e6);
      std::sort(x.begin(), x.end());
      return lowest ? x.front() : x[x.size() / 2];
    };
    bool have_local = results.count("local") != 0;
    // The medians of user and kernel CPU apart: the kernel's share of an
    // append (the copy into the page cache above all) varies from round to
    // round with which pages the kernel hands out (docs/deploy.md), the user
    // share is the code's own.
    auto split_us = [&](const std::string& path, Figures PathFigures::*part, double Figures::*which) {
      std::vector<double> x;
      for (const PathFigures& f : results[path]) x.push_back((f.*part).*which / static_cast<double>(total) * 1e6);
      std::sort(x.begin(), x.end());
      return x[x.size() / 2];
    };
    auto line = [&](const std::string& what, const std::string& path, Figures PathFigures::*part) {
      double med = cpu_us(path, part, false), low = cpu_us(path, part, true);
      std::printf("%-24s %5.2f us (%5.2f us)", what.c_str(), med, low);
      if (path != "floor") {
        std::printf("  [user %.2f us, kernel %.2f us]", split_us(path, part, &Figures::user),
                    split_us(path, part, &Figures::sys));
      }
      if (path == "floor" && have_local) {
        std::printf("  added to the local path: %.2fx (%.2fx) its CPU per event",
                    1 + med / cpu_us("local", &PathFigures::whole, false),
                    1 + low / cpu_us("local", &PathFigures::whole, true));
      } else if (path != "local" && have_local) {
        std::printf("  = %.2fx (%.2fx) the local path", med / cpu_us("local", &PathFigures::whole, false),
                    low / cpu_us("local", &PathFigures::whole, true));
      }
      std::printf("\n");
    };
    for (const std::string& path : only) {
      line(label.at(path), path, &PathFigures::whole);
      if (results[path].front().split) {
        line("  central side", path, &PathFigures::central);
        line("  collector side", path, &PathFigures::collectors);
      }
    }
  }
  (void)RemoveAll(dir);
  return 0;
}
