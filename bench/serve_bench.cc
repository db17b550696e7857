// Serving latency over the PostgreSQL protocol: a warehouse made with the
// pipeline's own table definitions (DWD with --objects objects over 10
// clusters: 500 nodes each, the rest 60% pods; the topology of --users users;
// ADS counts; the cluster and node dimensions), kubelake's PostgreSQL server on it in this process,
// and --clients libpq connections (threads) asking as fast as they can for
//   point:  the topology of one random user, as `kubelake query topology --user`
//           asks it (a parameter $1 through the extended protocol)
//   audit:  the live counts per cluster and kind, as `kubelake query audit` asks it
// for --seconds each. Prints per query the number answered, queries per second,
// p50 / p90 / p99 / max latency in milliseconds, and the server's CPU seconds
// (this process's, clients included) per query.
//
//   build/bench/serve_bench [--objects N (1000000)] [--users N (10000)] [--clients N (16)]
//                           [--seconds S (10)] [--dir PATH] [--file-format avro|parquet]
//                           [--only point|audit] [--sql TEXT] [--query-slots N]
// --sql runs TEXT instead (as `sql`; $1, when it appears, is a random user id).
// --query-slots is the server's PgServerOptions::query_slots (0: one per core, -1: no gate).
// The warehouse is built once per (objects, users, format) in --dir and reused.
#include <libpq-fe.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "common/string_util.h"
#include "format/parquet/file_cache.h"
#include "pipeline/warehouse/warehouse.h"
#include "server/listen.h"
#include "server/pgwire/engine/sql_engine.h"
#include "server/pgwire/pg_server.h"
#include "sql/warehouse_queries.h"
#include "table/data/decoded_files.h"
#include "table/table.h"

using namespace kl;
using format::ColumnBatch;
using format::DataType;
using format::Datum;

namespace {

double CpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string User(int64_t i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "u%05lld", static_cast<long long>(i));
  return buf;
}

// Rows into a warehouse table through its own writer, `batch` rows a time, one commit.
Status Write(const pipeline::WarehouseOptions& o, const char* name, int64_t rows,
             const std::function<format::Row(int64_t)>& row) {
  KL_ASSIGN_OR_RETURN(auto t, table::Catalog(o.warehouse).GetTable(o.database, name));
  auto w = t->NewWriter("serve-bench");
  const format::RowType& type = t->schema().fields;
  ColumnBatch batch(type);
  for (int64_t i = 0; i < rows; ++i) {
    batch.AppendRow(row(i));
    if (batch.num_rows() == 65536 || i + 1 == rows) {
      KL_RETURN_IF_ERROR(w->Write(batch));
      batch = ColumnBatch(type);
    }
  }
  return w->Commit(1).status();
}

Status Build(const pipeline::WarehouseOptions& o, int64_t objects, int64_t users) {
  KL_RETURN_IF_ERROR(pipeline::CreateWarehouseTables(table::Catalog(o.warehouse), o));
  KL_ASSIGN_OR_RETURN(auto dwd_table, table::Catalog(o.warehouse).GetTable(o.database, pipeline::kDwdTable));
  const format::RowType dwd = dwd_table->schema().fields;
  const char* kinds[] = {"Pod", "Pod", "Pod", "Pod", "Pod", "Pod", "Service", "Deployment", "ReplicaSet", "ConfigMap"};
  const char* phases[] = {"Running", "Running", "Running", "Pending", "Succeeded"};
  constexpr int kClusters = 10;
  constexpr int kNodesPerCluster = 500;  // one Node object per name, as in a cluster
  std::vector<format::Row> nodes;        // dim_node rows
  Random r(7);
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  std::vector<format::Row> pods;  // topology rows
  int64_t t0 = 1700000000000LL;
  KL_RETURN_IF_ERROR(Write(o, pipeline::kDwdTable, objects, [&](int64_t i) {
    std::string cluster = "prod-" + std::to_string(i % kClusters);
    bool is_node = i < static_cast<int64_t>(kClusters) * kNodesPerCluster;
    std::string kind = is_node ? "Node" : kinds[r.Uniform(10)];
    std::string uid = r.Uuid();
    int64_t node_index = is_node ? i / kClusters : static_cast<int64_t>(r.Uniform(uint64_t{kNodesPerCluster}));
    std::string node = "node-" + std::to_string(node_index);
    bool pod = kind == "Pod";
    std::string user = User(static_cast<int64_t>(r.Uniform(static_cast<uint64_t>(users))));
    std::string ns = pod ? "team-" + user : "ns-" + std::to_string(r.Uniform(100));
    std::string name = (kind == "Node" ? node : ToLower(kind) + "-" + std::to_string(i));
    int64_t cpu = static_cast<int64_t>(r.Uniform(4000)), mem = static_cast<int64_t>(r.Uniform(1ULL << 33));
    ++counts[{cluster, kind}];
    format::Row row(dwd.size());
    auto set = [&](const char* col, Datum v) { row[static_cast<size_t>(dwd.IndexOf(col))] = std::move(v); };
    set("cluster", Datum::Bytes(cluster));
    set("uid", Datum::Bytes(uid));
    set("kind", Datum::Bytes(kind));
    set("api_version", Datum::Bytes("v1"));
    set("namespace", Datum::Bytes(ns));
    set("name", Datum::Bytes(name));
    set("resource_version", Datum::Bytes(std::to_string(1000 + i)));
    set("rv", Datum::Int(1000 + i));
    set("event_type", Datum::Bytes("ADDED"));
    set("origin", Datum::Bytes("watch"));
    set("deleted", Datum::Bool(false));
    set("event_time", Datum::Int(t0 + i));
    set("collect_time", Datum::Int(t0 + i));
    set("created_time", Datum::Int(t0 + i - 1000));
    if (pod) {
      set("node_name", Datum::Bytes(node));
      set("phase", Datum::Bytes(phases[r.Uniform(5)]));
      set("user_id", Datum::Bytes(user));
      set("instance_id", Datum::Bytes(user + "-i" + std::to_string(r.Uniform(3))));
      set("cpu_request_milli", Datum::Int(cpu));
      set("memory_request_bytes", Datum::Int(mem));
      pods.push_back({Datum::Bytes(user), Datum::Bytes(cluster), Datum::Bytes(uid),
                      Datum::Bytes(user + "-i" + std::to_string(r.Uniform(3))), Datum::Bytes(ns), Datum::Bytes(name),
                      Datum::Bytes(node), Datum::Bytes("Running"), Datum::Int(cpu), Datum::Int(mem),
                      Datum::Bytes("region-" + std::to_string(i % kClusters % 3)), Datum::Bytes("zone-a"),
                      Datum::Int(t0 + i)});
    }
    if (is_node) {
      std::string zone = "zone-" + std::to_string(r.Uniform(3));
      set("topology_zone", Datum::Bytes(zone));
      set("unschedulable", Datum::Bool(false));
      nodes.push_back({Datum::Bytes(cluster), Datum::Bytes(node), Datum::Bytes(uid), Datum(), Datum::Bytes(zone),
                       Datum::Bool(false)});
    }
    set("region", Datum::Bytes("region-" + std::to_string(i % kClusters % 3)));
    return row;
  }));
  KL_RETURN_IF_ERROR(Write(o, pipeline::kNodeDimTable, static_cast<int64_t>(nodes.size()),
                           [&](int64_t i) { return nodes[static_cast<size_t>(i)]; }));
  KL_RETURN_IF_ERROR(Write(o, pipeline::kTopologyTable, static_cast<int64_t>(pods.size()),
                           [&](int64_t i) { return pods[static_cast<size_t>(i)]; }));
  std::vector<std::pair<std::pair<std::string, std::string>, int64_t>> ads(counts.begin(), counts.end());
  KL_RETURN_IF_ERROR(Write(o, pipeline::kAdsKindCountTable, static_cast<int64_t>(ads.size()), [&](int64_t i) {
    const auto& [key, n] = ads[static_cast<size_t>(i)];
    return format::Row{Datum::Bytes(key.first), Datum::Bytes(key.second), Datum::Int(n)};
  }));
  return Write(o, pipeline::kClusterDimTable, kClusters, [&](int64_t i) {
    std::string c = "prod-" + std::to_string(i);
    return format::Row{Datum::Bytes(c),
                       Datum::Bytes("id-" + c),
                       Datum::Bytes("r" + std::to_string(i % 3)),
                       Datum::Bytes("region-" + std::to_string(i % 3)),
                       Datum::Bytes("zone-a"),
                       Datum(),
                       Datum()};
  });
}

struct Stats {
  std::vector<double> ms;
  int64_t errors = 0;
  std::string first_error;
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// `clients` connections each sending `sql` (with a random user as $1 when `param`) for `seconds`.
void Run(const char* name, int port, int clients, double seconds, const std::string& sql, bool param, int64_t users) {
  std::vector<Stats> per(static_cast<size_t>(clients));
  std::atomic<bool> stop{false};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  double cpu0 = CpuSeconds();
  int64_t start = 0;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Stats& s = per[static_cast<size_t>(c)];
      PGconn* conn =
          PQconnectdb(("host=127.0.0.1 port=" + std::to_string(port) + " user=bench dbname=kubelake").c_str());
      if (PQstatus(conn) != CONNECTION_OK) {
        s.first_error = PQerrorMessage(conn);
        ++s.errors;
        ++ready;
        PQfinish(conn);
        return;
      }
      PGresult* prep = PQprepare(conn, "q", sql.c_str(), param ? 1 : 0, nullptr);
      if (PQresultStatus(prep) != PGRES_COMMAND_OK) s.first_error = PQresultErrorMessage(prep);
      PQclear(prep);
      Random r(static_cast<uint64_t>(c) + 100);
      ++ready;
      while (ready.load() < clients) std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        std::string user = User(static_cast<int64_t>(r.Uniform(static_cast<uint64_t>(users))));
        const char* values[] = {user.c_str()};
        int64_t t = MonotonicMicros();
        PGresult* res = PQexecPrepared(conn, "q", param ? 1 : 0, values, nullptr, nullptr, 0);
        double ms = static_cast<double>(MonotonicMicros() - t) / 1000.0;
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {
          s.ms.push_back(ms);
        } else {
          if (s.first_error.empty()) s.first_error = PQresultErrorMessage(res);
          ++s.errors;
        }
        PQclear(res);
      }
      PQfinish(conn);
    });
  }
  while (ready.load() < clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  start = MonotonicMicros();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  stop = true;
  for (auto& t : threads) t.join();
  double wall = static_cast<double>(MonotonicMicros() - start) / 1e6;
  double cpu = CpuSeconds() - cpu0;
  std::vector<double> all;
  int64_t errors = 0;
  std::string error;
  for (auto& s : per) {
    all.insert(all.end(), s.ms.begin(), s.ms.end());
    errors += s.errors;
    if (error.empty()) error = s.first_error;
  }
  size_t n = all.size();
  double p50 = Percentile(all, 0.50), p90 = Percentile(all, 0.90), p99 = Percentile(all, 0.99);
  double max = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  std::printf(
      "%-6s %8zu answered %6lld errors %9.1f q/s   p50 %7.2f  p90 %7.2f  p99 %7.2f  max %8.2f ms   %6.3f ms CPU/q\n",
      name, n, static_cast<long long>(errors), static_cast<double>(n) / wall, p50, p90, p99, max,
      n > 0 ? cpu * 1000.0 / static_cast<double>(n) : 0.0);
  if (!error.empty()) std::printf("       first error: %s\n", error.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t objects = 1000000, users = 10000;
  int clients = 16;
  int query_slots = 0;
  double seconds = 10;
  std::string dir = "/tmp/kubelake-serve-bench", format = "avro", only, custom_sql;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--objects")
      objects = std::stoll(next());
    else if (a == "--users")
      users = std::stoll(next());
    else if (a == "--clients")
      clients = std::stoi(next());
    else if (a == "--seconds")
      seconds = std::stod(next());
    else if (a == "--dir")
      dir = next();
    else if (a == "--file-format")
      format = next();
    else if (a == "--only")
      only = next();
    else if (a == "--sql")
      custom_sql = next();
    else if (a == "--query-slots")
      query_slots = std::stoi(next());
    else {
      std::fprintf(stderr,
                   "usage: serve_bench [--objects N] [--users N] [--clients N] [--seconds S] [--dir PATH] "
                   "[--file-format avro|parquet] [--only point|audit] [--sql TEXT] [--query-slots N]\n");
      return 2;
    }
  }
  pipeline::WarehouseOptions o;
  o.file_format = format;
  o.warehouse = JoinPath(dir, std::to_string(objects) + "-" + std::to_string(users) + "-" + format);
  // Versioned: a warehouse built by an older serve_bench (no dim_node; Avro look-up
  // tables) is rebuilt.
  std::string done = JoinPath(o.warehouse, ".built-3");
  if (!FileExists(done)) {
    (void)RemoveAll(o.warehouse);
    std::printf("building a warehouse of %lld objects, %lld users (%s) in %s ...\n", static_cast<long long>(objects),
                static_cast<long long>(users), format.c_str(), o.warehouse.c_str());
    std::fflush(stdout);
    int64_t t = MonotonicMicros();
    Status s = Build(o, objects, users);
    if (!s.ok()) {
      std::fprintf(stderr, "build failed: %s\n", s.ToString().c_str());
      return 1;
    }
    (void)WriteFile(done, "");
    std::printf("built in %.1f s\n", static_cast<double>(MonotonicMicros() - t) / 1e6);
  }
  server::pg::PgEngineOptions eo;
  eo.warehouse = o.warehouse;
  auto engine = server::pg::PgSqlEngine::Create(eo);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
    return 1;
  }
  auto addr = server::ParseListenAddress("127.0.0.1:0", "bench");
  server::PgServerOptions po;
  po.max_connections = clients + 8;
  po.query_slots = query_slots;
  auto srv = server::PgServer::Start(**addr, po, engine->get());
  if (!srv.ok()) {
    std::fprintf(stderr, "%s\n", srv.status().ToString().c_str());
    return 1;
  }
  int port = (*srv)->port();
  sql::TopologyQuery tq;
  tq.user_id = "$USER$";
  std::string topology = sql::TopologySql(o, tq);
  topology = topology.replace(topology.find("'$USER$'"), 8, "$1");
  std::string audit = sql::AuditSql(o, {});
  std::printf("%lld objects in DWD, %lld users; %d clients, %.0f s each; %s data files\n",
              static_cast<long long>(objects), static_cast<long long>(users), clients, seconds, format.c_str());
  if (!custom_sql.empty()) {
    Run("sql", port, clients, seconds, custom_sql, custom_sql.find("$1") != std::string::npos, users);
    only = "none";
  }
  if (only.empty() || only == "point") Run("point", port, clients, seconds, topology, true, users);
  if (only.empty() || only == "audit") Run("audit", port, clients, seconds, audit, false, users);
  // What the look-ups kept in memory: decoded data files and open Parquet files.
  auto decoded = table::DecodedFiles::Global().stats();
  auto open_files = format::parquet::ParquetFileCache::Global().stats();
  std::printf("decoded files kept: %zu (%.1f MiB, %lld hits, %lld decoded); open Parquet files: %zu (%lld hits)\n",
              decoded.files, static_cast<double>(decoded.bytes) / (1 << 20), static_cast<long long>(decoded.hits),
              static_cast<long long>(decoded.decoded), open_files.files, static_cast<long long>(open_files.hits));
  (*srv)->Stop();
  return 0;
}
