// kubelake and what a team might use instead, side by side on the same events.
//
// The event stream: a simulated fleet (--clusters × --pods real-size pods, in
// a child process) listed by the collector, listed again in full (a relist, as
// after an API-server upgrade), then deletions of every tenth object (by uid)
// with newer resourceVersions. The stream is written to a file once (a line per
// event: the collector's ODS content with the cluster added) and loaded into:
//
//   * kubelake: appended to an embedded log, then the warehouse `kubelake run`
//     runs (its SQL jobs) takes the backlog until ADS is complete;
//   * PostgreSQL (Debian's server, started here on loopback, fsync off): the
//     CMDB a team would build, a table keyed by (cluster, uid) kept at the
//     newest resourceVersion by `INSERT … ON CONFLICT … DO UPDATE … WHERE rv <`
//     in batches of --batch events (a batch's repeated keys folded first, as a
//     loader must), deletions kept as tombstones; then the count per
//     (cluster, kind);
//   * DuckDB (npm @duckdb/node-api, in node, a database file): the raw events
//     loaded and the current state recomputed in batch (`QUALIFY row_number()
//     … = 1`), and incrementally, `INSERT … ON CONFLICT DO UPDATE … WHERE`
//     per batch of --batch events.
//
// Per system: wall seconds, CPU seconds (this process's loader and every
// server process: PostgreSQL's postmaster and backends, node with DuckDB's
// threads), events per CPU-second, bytes on disk and what it keeps; then
// kubelake's events per CPU-second over each peer's. Every system's live
// count per (cluster, kind) is checked against a model of the stream; a
// mismatch fails the run. A peer that is not installed is skipped and said so.
//
//   build/bench/peers_bench [--pods 150000] [--clusters 1] [--batch 5000] [--dir /tmp/kubelake-peers-bench]
//       [--only kubelake,postgres,duckdb]
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench_util.h"
#include "collector/event.h"
#include "common/clock.h"
#include "common/string_util.h"
#include "sql/streaming/postgres_test_util.h"
#include "sql/warehouse/warehouse.h"

using namespace kl;

namespace {

struct Args {
  size_t pods = 150000;
  int clusters = 1;
  size_t batch = 5000;
  std::string dir = "/tmp/kubelake-peers-bench";
  std::string only = "kubelake,postgres,duckdb";
};

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "peers_bench: %s\n", why.c_str());
  std::exit(1);
}

// One event of the stream, as a loader sees it.
struct Event {
  std::string cluster;
  std::string content;  // the collector's ODS content JSON
  collector::EventType type;
  std::string uid, kind;
  int64_t rv = 0;
};

// Collects what a collector emits, in order.
class MemorySink : public collector::EventSink {
 public:
  Status Emit(std::vector<collector::CollectedEvent> events) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& e : events) events_.push_back(std::move(e));
    return Status::OK();
  }
  Status Flush() override { return Status::OK(); }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.size();
  }
  std::vector<collector::CollectedEvent> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(events_);
  }

 private:
  std::mutex mu_;
  std::vector<collector::CollectedEvent> events_;
};

// Lists every cluster of `clusters` once with a fresh collector (no checkpoint):
// an initial list the first time, a full relist the next.
std::vector<collector::CollectedEvent> ListOnce(const std::vector<collector::ClusterCredentials>& clusters,
                                                size_t objects) {
  MemorySink sink;
  collector::CollectorOptions co;
  co.clusters = clusters;
  co.sink = &sink;
  auto c = collector::Collector::Create(co);
  if (!c.ok() || !(*c)->Start().ok()) Die("the collector did not start");
  int64_t t0 = MonotonicMicros();
  while (sink.size() < objects && MonotonicMicros() - t0 < 900'000'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  (*c)->Stop();
  if (sink.size() < objects)
    Die("the collector listed " + std::to_string(sink.size()) + " of " + std::to_string(objects) + " objects");
  return sink.Take();
}

// The content of a deletion of the object `content` describes, at `rv`.
std::string DeletionOf(const std::string& content, int64_t rv) {
  constexpr std::string_view kHead = "{\"type\":\"";
  size_t type_end = content.find('"', kHead.size());
  std::string out = "{\"type\":\"DELETED" + content.substr(type_end);
  size_t at = out.rfind(",\"resourceversion\":\"");
  size_t value = at + std::string_view(",\"resourceversion\":\"").size();
  out.replace(value, out.find('"', value) - value, std::to_string(rv));
  size_t origin = out.rfind(",\"origin\":\"list\"");
  if (origin != std::string::npos) out.replace(origin, 16, ",\"origin\":\"watch\"");
  return out;
}

struct Stream {
  std::vector<Event> events;
  // The model: live objects per (cluster, kind) after the whole stream.
  std::map<std::pair<std::string, std::string>, int64_t> live;
  int64_t live_pods = 0;
  std::string file;  // a JSON line per event: the content with "cluster" first
};

Stream BuildStream(const std::string& kubelake, const Args& a) {
  std::string sim_dir = a.dir + "/simulator";
  (void)CreateDirs(sim_dir);
  auto sim =
      bench::StartSimulator(kubelake, sim_dir,
                            {"--clusters", std::to_string(a.clusters), "--pods", std::to_string(a.pods), "--nodes",
                             std::to_string(std::max<size_t>(3, a.pods / 100)), "--duration", "3600"});
  if (!sim.ok()) Die(sim.status().ToString());
  size_t objects = 0;
  for (const auto& c : (*sim)->clusters) {
    for (const auto& [kind, n] : bench::TruthCounts(c)) objects += static_cast<size_t>(n);
  }
  if (objects == 0) Die("the simulator's truth is empty");
  std::vector<collector::CollectedEvent> listed = ListOnce((*sim)->clusters, objects);
  std::vector<collector::CollectedEvent> relisted = ListOnce((*sim)->clusters, objects);
  (*sim)->Stop();

  Stream s;
  std::unordered_map<std::string, int64_t> max_rv;  // per cluster
  auto add = [&](const std::string& cluster, std::string content) {
    auto e = collector::EventFromContent(cluster, 0, content);
    if (!e.ok()) Die("an event the collector wrote does not parse: " + e.status().ToString());
    int64_t rv = std::atoll(e->resource_version.c_str());
    max_rv[cluster] = std::max(max_rv[cluster], rv);
    s.events.push_back(Event{cluster, std::move(content), e->type, e->uid, e->kind, rv});
  };
  for (auto& e : listed) add(e.cluster, std::move(e.content));
  for (auto& e : relisted) add(e.cluster, std::move(e.content));
  // Every tenth object of the relist, by uid, is deleted at a newer version.
  for (const auto& e : relisted) {
    if (std::hash<std::string>()(e.uid) % 10 != 0) continue;
    int64_t rv = ++max_rv[e.cluster];
    add(e.cluster, DeletionOf(s.events[listed.size() + static_cast<size_t>(&e - relisted.data())].content, rv));
  }
  // The model: the newest version of each (cluster, uid), live unless deleted.
  std::map<std::pair<std::string, std::string>, const Event*> newest;
  for (const auto& e : s.events) {
    const Event*& n = newest[{e.cluster, e.uid}];
    if (n == nullptr || n->rv < e.rv) n = &e;
  }
  for (const auto& [key, e] : newest) {
    if (e->type == collector::EventType::kDeleted) continue;
    ++s.live[{e->cluster, e->kind}];
    if (e->kind == "Pod") ++s.live_pods;
  }
  int64_t live = 0;
  for (const auto& [key, n] : s.live) live += n;
  s.file = a.dir + "/events.ndjson";
  std::ofstream out(s.file, std::ios::binary | std::ios::trunc);
  for (const auto& e : s.events) {
    out << "{\"cluster\":";
    std::string quoted;
    AppendJsonString(&quoted, e.cluster);
    out << quoted << ',' << std::string_view(e.content).substr(1) << '\n';
  }
  out.close();
  if (!out) Die("cannot write " + s.file);
  std::printf(
      "event stream: %zu events (%zu listed, %zu relisted, %zu deletions) of %d cluster(s) x %zu pods, "
      "%.0f MB as JSON lines; live objects at the end: %lld\n",
      s.events.size(), listed.size(), relisted.size(), s.events.size() - listed.size() - relisted.size(), a.clusters,
      a.pods, static_cast<double>(FileSize(s.file).value_or(0)) / 1e6, static_cast<long long>(live));
  return s;
}

struct PeerFigures {
  std::string system;
  double wall = 0, cpu = 0, events = 0;
  int64_t bytes = 0;
  std::string keeps;
  bool counts_match = false;
};

std::string CountsProblem(const std::map<std::pair<std::string, std::string>, int64_t>& want,
                          const std::map<std::pair<std::string, std::string>, int64_t>& got) {
  if (want == got) return "";
  for (const auto& [key, n] : want) {
    auto it = got.find(key);
    int64_t g = it == got.end() ? 0 : it->second;
    if (g != n) {
      return key.first + "/" + key.second + ": " + std::to_string(g) + " live, the stream leaves " + std::to_string(n);
    }
  }
  return "rows for a (cluster, kind) the stream leaves empty";
}

// ---- kubelake -----------------------------------------------------------------------------------------------

PeerFigures RunKubelake(const Args& a, const Stream& s) {
  PeerFigures r{"kubelake: embedded log + the SQL warehouse"};
  std::string dir = a.dir + "/kubelake";
  (void)RemoveAll(dir);
  (void)CreateDirs(dir);
  std::string log_uri = "dir:" + dir + "/log?partitions=4&fsync=200ms";
  auto log = log::OpenEventLog(log_uri);
  if (!log.ok()) Die(log.status().ToString());
  double cpu0 = bench::CpuSeconds();
  int64_t t0 = MonotonicMicros();
  {
    // As the collector's log sink appends: key = cluster, value = the content, a flush per batch.
    auto producer = (*log)->NewProducer();
    if (!producer.ok()) Die(producer.status().ToString());
    for (size_t i = 0; i < s.events.size(); ++i) {
      log::ProducerRecord record;
      record.key = s.events[i].cluster;
      record.value = s.events[i].content;
      Status st = (*producer)->Send(record);
      if (st.ok() && ((i + 1) % a.batch == 0 || i + 1 == s.events.size())) st = (*producer)->Flush();
      if (!st.ok()) Die("appending to the log: " + st.ToString());
    }
  }
  double append_cpu = bench::CpuSeconds() - cpu0;
  int64_t logged = 0;
  for (int i = 0; i < 100 && logged < static_cast<int64_t>(s.events.size()); ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    logged = 0;
    for (int32_t p = 0; p < (*log)->NumPartitions(); ++p) logged += (*log)->EndOffset(p).value_or(0);
  }
  bench::Warehouse w;
  w.log = std::move(log).value();
  pipeline::WarehouseOptions o;
  o.follow_interval_ms = 50;
  o.warehouse = dir + "/warehouse";
  w.options = o;
  auto jobs = sql::BuildWarehouseJobs(w.log.get(), o, log_uri);
  if (!jobs.ok()) Die(jobs.status().ToString());
  w.runner = std::make_unique<pipeline::JobRunner>(std::move(jobs).value());
  w.runner->Start();
  std::vector<uint64_t> last_in;
  int still = 0;
  while (!bench::CaughtUp(&w, logged, s.live_pods, &last_in, &still) && MonotonicMicros() - t0 < 1800'000'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  r.wall = static_cast<double>(MonotonicMicros() - t0) / 1e6 - 1.0;  // the quiet second CaughtUp waits out
  r.cpu = bench::CpuSeconds() - cpu0;
  std::string per_job;
  for (const auto& j : w.runner->Status()) {
    char part[96];
    std::snprintf(part, sizeof(part), " %s %.2f", j.name.c_str(), j.cpu_seconds);
    if (j.cpu_seconds >= 0.005) per_job += part;
  }
  w.Stop();
  r.events = static_cast<double>(s.events.size());
  std::printf("  kubelake: appending to the log %.2f CPU s, the jobs %.2f CPU s (%s)\n", append_cpu, r.cpu - append_cpu,
              per_job.c_str() + 1);
  // The live count per (cluster, kind), as ADS answers it.
  std::map<std::pair<std::string, std::string>, int64_t> got;
  auto t = table::Catalog(o.warehouse).GetTable(o.database, pipeline::kAdsKindCountTable);
  if (t.ok()) {
    auto rows = (*t)->ReadAll();
    if (rows.ok()) {
      for (size_t i = 0; i < rows->size(); ++i) {
        format::Row row = rows->rows.GetRow(i);
        if (row[2].as_int() != 0)
          got[{std::string(row[0].as_bytes()), std::string(row[1].as_bytes())}] = row[2].as_int();
      }
    }
  }
  std::string problem = CountsProblem(s.live, got);
  if (!problem.empty()) std::printf("  kubelake: ADS differs from the stream: %s\n", problem.c_str());
  r.counts_match = problem.empty();
  bench::TreeSize size;
  bench::AddTree(dir, &size);
  r.bytes = size.bytes;
  r.keeps = "raw history (log + ODS), one row per object with exact changelog, 8 derived tables, snapshots";
  return r;
}

// ---- PostgreSQL ---------------------------------------------------------------------------------------------

// The fields of /proc/PID/stat after the process name: state(0) ppid(1) … utime(11) stime(12)
// cutime(13) cstime(14); empty when the process is gone.
std::vector<std::string> ProcStat(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) return {};
  std::vector<std::string> f = Split(std::string_view(text).substr(close + 2), ' ');
  if (f.size() < 15) return {};
  return f;
}

// CPU seconds of a process (with its waited-for children) and of its live children.
double ProcessTreeCpu(pid_t root) {
  double ticks = 0;
  std::vector<std::string> f = ProcStat(std::to_string(root));
  for (size_t k = 11; k < 15 && !f.empty(); ++k) ticks += std::atof(f[k].c_str());
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      if (std::atol(e->d_name) <= 0 || std::atol(e->d_name) == root) continue;
      f = ProcStat(e->d_name);
      if (!f.empty() && std::atol(f[1].c_str()) == root) ticks += std::atof(f[11].c_str()) + std::atof(f[12].c_str());
    }
    closedir(d);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

PGresult* Exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) Die("PostgreSQL: " + std::string(PQresultErrorMessage(r)));
  return r;
}

PeerFigures RunPostgres(const Args& a, const Stream& s, bool* ran) {
  PeerFigures r{"PostgreSQL: upsert CMDB"};
  testing::PostgresServer pg;
  std::string why = pg.Start();
  if (!why.empty()) {
    std::printf("  PostgreSQL skipped: %s\n", why.c_str());
    *ran = false;
    return r;
  }
  *ran = true;
  PGconn* c = PQconnectdb(pg.ConnInfo().c_str());
  if (PQstatus(c) != CONNECTION_OK) Die("PostgreSQL: " + std::string(PQerrorMessage(c)));
  PQclear(Exec(c,
               "CREATE TABLE objects (cluster text NOT NULL, uid text NOT NULL, kind text NOT NULL, namespace text, "
               "name text NOT NULL, rv bigint NOT NULL, deleted boolean NOT NULL, object jsonb NOT NULL, "
               "PRIMARY KEY (cluster, uid))"));
  const std::string upsert_head =
      "INSERT INTO objects AS o (cluster, uid, kind, namespace, name, rv, deleted, object) VALUES ";
  const std::string upsert_tail =
      " ON CONFLICT (cluster, uid) DO UPDATE SET kind = EXCLUDED.kind, namespace = EXCLUDED.namespace, "
      "name = EXCLUDED.name, rv = EXCLUDED.rv, deleted = EXCLUDED.deleted, object = EXCLUDED.object "
      "WHERE o.rv < EXCLUDED.rv";
  double server0 = ProcessTreeCpu(pg.pid());
  double cpu0 = bench::CpuSeconds();
  int64_t t0 = MonotonicMicros();
  std::vector<std::string> params;
  std::vector<const char*> values;
  for (size_t begin = 0; begin < s.events.size(); begin += a.batch) {
    size_t end = std::min(s.events.size(), begin + a.batch);
    // The loader parses each event and folds a batch's repeated keys to their newest version.
    std::unordered_map<std::string, collector::CollectedEvent> newest;
    for (size_t i = begin; i < end; ++i) {
      auto e = collector::EventFromContent(s.events[i].cluster, 0, s.events[i].content);
      if (!e.ok()) Die(e.status().ToString());
      std::string key = e->cluster + '\n' + e->uid;
      auto it = newest.find(key);
      if (it == newest.end() ||
          std::atoll(it->second.resource_version.c_str()) < std::atoll(e->resource_version.c_str())) {
        newest[key] = std::move(e).value();
      }
    }
    params.clear();
    std::string sql = upsert_head;
    int n = 0;
    for (auto& [key, e] : newest) {
      // The object, verbatim: between "obj": and the fields after it (strings, so
      // the last ,"group": of the content is the top-level one).
      size_t obj_begin = e.content.find("\"obj\":") + 6;
      size_t obj_end = e.content.rfind(",\"group\":");
      if (obj_begin < 6 || obj_end == std::string::npos || obj_end <= obj_begin) Die("an event without its object");
      if (n > 0) sql += ',';
      sql += "($" + std::to_string(n * 8 + 1);
      for (int k = 2; k <= 8; ++k) sql += ",$" + std::to_string(n * 8 + k);
      sql += ")";
      params.push_back(e.cluster);
      params.push_back(e.uid);
      params.push_back(e.kind);
      params.push_back(e.namespace_);
      params.push_back(e.name);
      params.push_back(e.resource_version);
      params.push_back(e.type == collector::EventType::kDeleted ? "true" : "false");
      params.push_back(e.content.substr(obj_begin, obj_end - obj_begin));
      ++n;
    }
    sql += upsert_tail;
    values.clear();
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* res =
        PQexecParams(c, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) Die("PostgreSQL upsert: " + std::string(PQresultErrorMessage(res)));
    PQclear(res);
  }
  PGresult* counts = Exec(c, "SELECT cluster, kind, count(*) FROM objects WHERE NOT deleted GROUP BY cluster, kind");
  r.wall = static_cast<double>(MonotonicMicros() - t0) / 1e6;
  double loader = bench::CpuSeconds() - cpu0;
  double server = ProcessTreeCpu(pg.pid()) - server0;
  r.cpu = loader + server;
  r.events = static_cast<double>(s.events.size());
  std::printf("  PostgreSQL: loader %.2f CPU s, server %.2f CPU s\n", loader, server);
  std::map<std::pair<std::string, std::string>, int64_t> got;
  for (int i = 0; i < PQntuples(counts); ++i) {
    got[{PQgetvalue(counts, i, 0), PQgetvalue(counts, i, 1)}] = std::atoll(PQgetvalue(counts, i, 2));
  }
  PQclear(counts);
  std::string problem = CountsProblem(s.live, got);
  if (!problem.empty()) std::printf("  PostgreSQL: the table differs from the stream: %s\n", problem.c_str());
  r.counts_match = problem.empty();
  PQclear(Exec(c, "CHECKPOINT"));
  PQfinish(c);
  bench::TreeSize size;
  bench::AddTree(pg.data_dir() + "/base", &size);
  bench::AddTree(pg.data_dir() + "/pg_wal", &size);
  r.bytes = size.bytes;
  r.keeps = "the newest version of each object (tombstones for deletions); no history, no changelog";
  return r;
}

// ---- DuckDB -------------------------------------------------------------------------------------------------

constexpr char kDuckDbScript[] = R"JS(
import path from 'node:path'
import { readdirSync, statSync, rmSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
const [modules, dir, eventsFile, batchesDir] = process.argv.slice(2)
const { DuckDBInstance } = await import(pathToFileURL(path.join(modules, '@duckdb/node-api/lib/index.js')).href)
const columns = `columns = {cluster: 'VARCHAR', type: 'VARCHAR', uid: 'VARCHAR', kind: 'VARCHAR',
  namespace: 'VARCHAR', name: 'VARCHAR', resourceversion: 'VARCHAR', obj: 'JSON'}`
const counts = `SELECT cluster, kind, count(*)::INTEGER AS n FROM objects WHERE type <> 'DELETED' GROUP BY ALL`
async function timed(file, body) {
  for (const f of [file, file + '.wal']) rmSync(f, { force: true })
  const instance = await DuckDBInstance.create(file)
  const conn = await instance.connect()
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  await body(conn)
  const rows = (await conn.runAndReadAll(counts)).getRowObjectsJson()
  await conn.run('CHECKPOINT')
  const c = process.cpuUsage(c0)
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  const bytes = statSync(file).size
  return { wall, cpu: (c.user + c.system) / 1e6, bytes, counts: rows }
}
const out = {}
out.batch = await timed(path.join(dir, 'batch.duckdb'), async (conn) => {
  await conn.run(`CREATE TABLE events AS SELECT * FROM read_json('${eventsFile}', format = 'newline_delimited', ${columns})`)
  await conn.run(`CREATE TABLE objects AS SELECT * FROM events
    QUALIFY row_number() OVER (PARTITION BY cluster, uid ORDER BY resourceversion::BIGINT DESC) = 1`)
})
out.incremental = await timed(path.join(dir, 'incremental.duckdb'), async (conn) => {
  await conn.run(`CREATE TABLE objects (cluster VARCHAR, uid VARCHAR, type VARCHAR, kind VARCHAR, namespace VARCHAR,
    name VARCHAR, rv BIGINT, obj JSON, PRIMARY KEY (cluster, uid))`)
  for (const f of readdirSync(batchesDir).sort()) {
    await conn.run(`INSERT INTO objects
      SELECT cluster, uid, type, kind, namespace, name, resourceversion::BIGINT, obj
      FROM read_json('${path.join(batchesDir, f)}', format = 'newline_delimited', ${columns})
      QUALIFY row_number() OVER (PARTITION BY cluster, uid ORDER BY resourceversion::BIGINT DESC) = 1
      ON CONFLICT (cluster, uid) DO UPDATE SET type = EXCLUDED.type, kind = EXCLUDED.kind,
        namespace = EXCLUDED.namespace, name = EXCLUDED.name, rv = EXCLUDED.rv, obj = EXCLUDED.obj
      WHERE objects.rv < EXCLUDED.rv`)
  }
})
console.log(JSON.stringify(out))
)JS";

std::vector<PeerFigures> RunDuckDb(const Args& a, const Stream& s, bool* ran) {
  std::vector<PeerFigures> results;
  std::string dir = a.dir + "/duckdb";
  std::string modules = bench::EnsureDuckDb(a.dir + "/npm");
  if (modules.empty()) {
    std::printf("  DuckDB skipped: node, npm or @duckdb/node-api unavailable (see %s/npm/install.log)\n",
                a.dir.c_str());
    *ran = false;
    return results;
  }
  *ran = true;
  (void)RemoveAll(dir);
  std::string batches = dir + "/batches";
  (void)CreateDirs(batches);
  // The incremental loader's batches, cut before timing (a loader would receive them so).
  auto text = ReadFile(s.file);
  if (!text.ok()) Die(text.status().ToString());
  size_t pos = 0;
  for (int n = 0; pos < text->size(); ++n) {
    size_t end = pos;
    for (size_t lines = 0; lines < a.batch && end < text->size(); ++lines) {
      size_t nl = text->find('\n', end);
      end = nl == std::string::npos ? text->size() : nl + 1;
    }
    char name[32];
    std::snprintf(name, sizeof(name), "/%08d.ndjson", n);
    if (!WriteFile(batches + name, std::string_view(*text).substr(pos, end - pos)).ok()) Die("cannot write batches");
    pos = end;
  }
  std::string js = dir + "/peers.mjs";
  (void)WriteFile(js, kDuckDbScript);
  std::string out = dir + "/out.json";
  std::string cmd =
      "node '" + js + "' '" + modules + "' '" + dir + "' '" + s.file + "' '" + batches + "' > '" + out + "' 2>&1";
  int rc = std::system(cmd.c_str());
  auto answer = ReadFile(out);
  if (rc != 0 || !answer.ok()) Die("DuckDB failed: " + (answer.ok() ? *answer : answer.status().ToString()));
  auto json = ParseJson(*answer, "DuckDB's answer");
  if (!json.ok()) Die(json.status().ToString() + ": " + *answer);
  for (const char* mode : {"batch", "incremental"}) {
    const JsonValue* m = json->Find(mode);
    if (m == nullptr) Die("DuckDB's answer has no " + std::string(mode));
    PeerFigures r{std::string("DuckDB: ") +
                  (std::string(mode) == "batch" ? "recompute (QUALIFY row_number)" : "upsert per batch")};
    r.wall = m->Find("wall")->as_double();
    r.cpu = m->Find("cpu")->as_double();
    r.bytes = m->Find("bytes")->as_int();
    r.events = static_cast<double>(s.events.size());
    std::map<std::pair<std::string, std::string>, int64_t> got;
    for (const auto& row : m->Find("counts")->items()) {
      got[{row.GetStringOr("cluster", ""), row.GetStringOr("kind", "")}] =
          row.Find("n") != nullptr ? row.Find("n")->as_int() : 0;
    }
    std::string problem = CountsProblem(s.live, got);
    if (!problem.empty()) std::printf("  DuckDB %s: differs from the stream: %s\n", mode, problem.c_str());
    r.counts_match = problem.empty();
    r.keeps = std::string(mode) == "batch" ? "raw events + the newest version of each object (recomputed)"
                                           : "the newest version of each object; no history, no changelog";
    results.push_back(r);
  }
  return results;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(f + " needs a value");
      return argv[++i];
    };
    if (f == "--pods") {
      a.pods = std::stoul(next());
    } else if (f == "--clusters") {
      a.clusters = std::stoi(next());
    } else if (f == "--batch") {
      a.batch = std::max<size_t>(1, std::stoul(next()));
    } else if (f == "--dir") {
      a.dir = next();
    } else if (f == "--only") {
      a.only = next();
    } else {
      Die("unknown argument " + f + " (see the header of bench/peers_bench.cc)");
    }
  }
  auto wants = [&](const std::string& name) { return a.only.find(name) != std::string::npos; };
  (void)RemoveAll(a.dir + "/simulator");
  (void)CreateDirs(a.dir);
  Stream s = BuildStream(bench::KubelakeBinary(argv[0]), a);
  std::vector<PeerFigures> results;
  bool ran = false;
  if (wants("kubelake")) results.push_back(RunKubelake(a, s));
  if (wants("postgres")) {
    PeerFigures r = RunPostgres(a, s, &ran);
    if (ran) results.push_back(r);
  }
  if (wants("duckdb")) {
    for (auto& r : RunDuckDb(a, s, &ran)) results.push_back(r);
  }
  std::printf("\n%-46s %8s %8s %14s %10s  %s\n", "system", "wall s", "CPU s", "events/CPU-s", "MB on disk",
              "counts; keeps");
  bool all_match = true;
  for (const auto& r : results) {
    std::printf("%-46s %8.1f %8.2f %14.0f %10.1f  %s; %s\n", r.system.c_str(), r.wall, r.cpu, r.events / r.cpu,
                static_cast<double>(r.bytes) / 1e6, r.counts_match ? "exact" : "WRONG", r.keeps.c_str());
    all_match = all_match && r.counts_match;
  }
  if (!results.empty() && results[0].system.rfind("kubelake", 0) == 0) {
    for (size_t i = 1; i < results.size(); ++i) {
      std::printf("kubelake / %s: %.2fx events per CPU-second\n", results[i].system.c_str(),
                  (results[0].events / results[0].cpu) / (results[i].events / results[i].cpu));
    }
  }
  return all_match ? 0 : 1;
}
