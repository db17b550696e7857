// SQL engine speed against DuckDB on the same Parquet files. Builds (once per
// --rows, kept in --dir) a DWD-shaped Paimon append table of N rows in Parquet
// (cluster, kind, namespace, name, uid, phase, node, requests, times), a
// topology table of 1,000,000 rows (N/10 when N < 10 M) and a node table of
// 10,000 rows, then runs:
//   (1) COUNT(*) GROUP BY cluster, kind
//   (2) a filter on string columns plus GROUP BY namespace
//   (3) top-100 by a computed value
//   (4) a join of the topology rows with the nodes, grouped by zone
// with kubelake (this process, one thread) and DuckDB (node + npm
// @duckdb/node-api, SET threads = 1) side by side, both warm (files in the page
// cache, each query run --repeat times, best kept), and prints for each CPU
// seconds (user + system of the whole process, so a busy machine does not
// inflate them) and wall seconds, the kubelake/DuckDB ratio of CPU seconds and
// kubelake's rows per CPU second. kubelake's time is the whole statement as a
// user waits for it: parse, plan, snapshot and manifest reads, scan, result
// batches; DuckDB's is runAndReadAll of the same SQL over read_parquet views of
// the table's data files, rows converted to JavaScript. DuckDB is skipped, and said so, when node or the
// npm package is unavailable.
//
//   build/bench/sql_bench [--rows N (10000000)] [--dir PATH] [--repeat N (3)] [--no-duckdb] [--query N]
//
// --query N runs only query N (1-4), for profiling one query (perf record ... --query 1).
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_util.h"
#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/json.h"
#include "common/random.h"
#include "common/string_util.h"
#include "sql/sql.h"
#include "table/table.h"

using namespace kl;
using format::ColumnBatch;
using format::DataField;
using format::DataType;
using format::RowType;

namespace {

double CpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::map<std::string, std::string> Options() {
  return {{"file.format", "parquet"},
          {"bucket", "-1"},
          {"kubelake.data-file.sync", "false"},
          {"target-file-size", "256 mb"}};
}

// Writes `rows` rows produced by `fill(batch, i)` into a new append table.
Status WriteTable(table::Catalog* catalog, const std::string& name, const std::vector<DataField>& fields, int64_t rows,
                  const std::function<void(ColumnBatch*, int64_t)>& fill) {
  KL_ASSIGN_OR_RETURN(auto schema, table::NewTableSchema(fields, {}, {}, Options()));
  KL_ASSIGN_OR_RETURN(auto t, catalog->CreateTable("bench", name, schema));
  auto w = t->NewWriter("bench");
  RowType type(fields);
  ColumnBatch batch(type);
  size_t n = 0;
  for (int64_t i = 0; i < rows; ++i) {
    fill(&batch, i);
    if (++n == 65536 || i + 1 == rows) {
      batch.SetNumRows(n);
      KL_RETURN_IF_ERROR(w->Write(batch));
      batch = ColumnBatch(type);
      n = 0;
    }
  }
  return w->Commit(1).status();
}

Status Build(const std::string& warehouse, int64_t rows, int64_t topo_rows) {
  table::Catalog catalog(warehouse);
  KL_RETURN_IF_ERROR(catalog.CreateDatabase("bench", true));
  auto S = DataType::String(), B = DataType::BigInt();
  const char* kinds[] = {"Pod", "Pod", "Pod", "Pod", "Node", "Service", "Deployment", "ReplicaSet"};
  const char* phases[] = {"Running", "Running", "Running", "Pending", "Succeeded", "Failed"};
  Random r(1);
  std::vector<DataField> dwd = {{0, "cluster", S, ""},
                                {1, "kind", S, ""},
                                {2, "namespace", S, ""},
                                {3, "name", S, ""},
                                {4, "uid", S, ""},
                                {5, "phase", S, ""},
                                {6, "node_name", S, ""},
                                {7, "cpu_request_milli", B, ""},
                                {8, "memory_request_bytes", B, ""},
                                {9, "event_time", B, ""},
                                {10, "deleted", DataType::Boolean(), ""}};
  KL_RETURN_IF_ERROR(WriteTable(&catalog, "dwd", dwd, rows, [&](ColumnBatch* b, int64_t i) {
    b->mutable_column(0).AppendBytes("cluster-" + std::to_string(r.Uniform(20)));
    b->mutable_column(1).AppendBytes(kinds[r.Uniform(8)]);
    b->mutable_column(2).AppendBytes("ns-" + std::to_string(r.Uniform(200)));
    b->mutable_column(3).AppendBytes("pod-" + std::to_string(i));
    b->mutable_column(4).AppendBytes(r.Uuid());
    b->mutable_column(5).AppendBytes(phases[r.Uniform(6)]);
    b->mutable_column(6).AppendBytes("node-" + std::to_string(r.Uniform(500)));
    b->mutable_column(7).AppendInt(static_cast<int64_t>(r.Uniform(4000)));
    b->mutable_column(8).AppendInt(static_cast<int64_t>(r.Uniform(1ULL << 33)));
    b->mutable_column(9).AppendInt(1700000000000LL + i);
    b->mutable_column(10).AppendInt(r.OneIn(20) ? 1 : 0);
  }));
  std::vector<DataField> topo = {{0, "user_id", S, ""},
                                 {1, "cluster", S, ""},
                                 {2, "pod", S, ""},
                                 {3, "node_name", S, ""},
                                 {4, "cpu_request_milli", B, ""}};
  KL_RETURN_IF_ERROR(WriteTable(&catalog, "topology", topo, topo_rows, [&](ColumnBatch* b, int64_t i) {
    b->mutable_column(0).AppendBytes("u" + std::to_string(r.Uniform(5000)));
    b->mutable_column(1).AppendBytes("cluster-" + std::to_string(r.Uniform(20)));
    b->mutable_column(2).AppendBytes("pod-" + std::to_string(i));
    b->mutable_column(3).AppendBytes("node-" + std::to_string(r.Uniform(500)));
    b->mutable_column(4).AppendInt(static_cast<int64_t>(r.Uniform(4000)));
  }));
  std::vector<DataField> nodes = {{0, "cluster", S, ""}, {1, "node_name", S, ""}, {2, "zone", S, ""}};
  return WriteTable(&catalog, "nodes", nodes, 10000, [&](ColumnBatch* b, int64_t i) {
    b->mutable_column(0).AppendBytes("cluster-" + std::to_string(i / 500));
    b->mutable_column(1).AppendBytes("node-" + std::to_string(i % 500));
    b->mutable_column(2).AppendBytes("zone-" + std::to_string(i % 7));
  });
}

struct Query {
  const char* name;
  std::string sql;
  const char* table;  // what its rows-per-second figure counts
};

struct Times {
  double cpu = 0, wall = 0;  // best of the runs, each
};

// DuckDB's best times per query (seconds), by a node script written next to the data.
std::vector<Times> RunDuckDb(const std::string& modules, const std::string& dir, const std::string& warehouse,
                             const std::vector<Query>& queries, int repeat, std::vector<int64_t>* rows) {
  std::string script = R"JS(
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
const [modules, db, queriesFile, repeat] = process.argv.slice(2)
const { DuckDBInstance } = await import(pathToFileURL(path.join(modules, '@duckdb/node-api/lib/index.js')).href)
const instance = await DuckDBInstance.create(':memory:')
const conn = await instance.connect()
await conn.run('SET threads = 1')
for (const t of ['dwd', 'topology', 'nodes']) {
  await conn.run(`CREATE VIEW ${t} AS SELECT * FROM read_parquet('${db}/${t}/**/*.parquet')`)
}
const out = []
for (const sql of JSON.parse(readFileSync(queriesFile, 'utf8'))) {
  let best = Infinity, best_cpu = Infinity, rows = 0
  for (let i = 0; i < Number(repeat); ++i) {
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    const r = await conn.runAndReadAll(sql)
    rows = r.getRows().length
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9)
    const c = process.cpuUsage(c0)
    best_cpu = Math.min(best_cpu, (c.user + c.system) / 1e6)
  }
  out.push({ best, best_cpu, rows })
}
console.log(JSON.stringify(out))
)JS";
  std::string js = JoinPath(dir, "duckdb_bench.mjs");
  (void)WriteFile(js, script);
  JsonWriter w;
  w.BeginArray();
  for (const auto& q : queries) w.String(q.sql);
  w.EndArray();
  std::string qf = JoinPath(dir, "queries.json");
  (void)WriteFile(qf, w.str());
  std::string out = JoinPath(dir, "duckdb_out.json");
  std::string cmd = "node '" + js + "' '" + modules + "' '" + JoinPath(warehouse, "bench.db") + "' '" + qf + "' " +
                    std::to_string(repeat) + " > '" + out + "' 2>&1";
  std::vector<Times> times;
  if (std::system(cmd.c_str()) != 0) {
    auto text = ReadFile(out);
    std::fprintf(stderr, "duckdb failed: %s\n", text.ok() ? text->c_str() : "");
    return times;
  }
  auto text = ReadFile(out);
  auto json = ParseJson(text.ok() ? *text : "", "duckdb output");
  if (!json.ok() || !json->is_array()) return times;
  for (const auto& item : json->items()) {
    times.push_back({item.Find("best_cpu")->as_double(), item.Find("best")->as_double()});
    rows->push_back(item.Find("rows")->as_int());
  }
  return times;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 10000000;
  int repeat = 3;
  bool duckdb = true;
  int only = 0;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--rows" && i + 1 < argc) {
      rows = std::atoll(argv[++i]);
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--no-duckdb") {
      duckdb = false;
    } else if (a == "--query" && i + 1 < argc) {
      only = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: sql_bench [--rows N] [--dir PATH] [--repeat N] [--no-duckdb] [--query N]\n");
      return 2;
    }
  }
  if (dir.empty()) dir = "/tmp/kubelake-sql-bench-" + std::to_string(rows);
  std::string warehouse = JoinPath(dir, "warehouse");
  int64_t topo_rows = rows >= 10000000 ? 1000000 : std::max<int64_t>(rows / 10, 1000);
  if (!FileExists(JoinPath(dir, "built"))) {
    (void)RemoveAll(warehouse);
    (void)CreateDirs(dir);
    std::printf("building %lld DWD rows, %lld topology rows, 10000 nodes in %s ...\n", static_cast<long long>(rows),
                static_cast<long long>(topo_rows), dir.c_str());
    std::fflush(stdout);
    int64_t t0 = MonotonicMicros();
    Status s = Build(warehouse, rows, topo_rows);
    if (!s.ok()) {
      std::fprintf(stderr, "sql_bench: %s\n", s.ToString().c_str());
      return 1;
    }
    (void)WriteFile(JoinPath(dir, "built"), "ok\n");
    std::printf("built in %.1f s\n", static_cast<double>(MonotonicMicros() - t0) / 1e6);
  }
  std::vector<Query> queries = {
      {"(1) count by cluster, kind", "SELECT cluster, kind, COUNT(*) AS n FROM dwd GROUP BY cluster, kind", "dwd"},
      {"(2) filter + group by ns",
       "SELECT namespace, COUNT(*) AS n, SUM(cpu_request_milli) AS cpu FROM dwd WHERE kind = 'Pod' AND phase = "
       "'Running' GROUP BY namespace",
       "dwd"},
      {"(3) top-100 computed",
       "SELECT name, cpu_request_milli * 1000 + memory_request_bytes / 1048576 AS score FROM dwd ORDER BY score DESC, "
       "name LIMIT 100",
       "dwd"},
      {"(4) join 1M x 10K",
       "SELECT n.zone, COUNT(*) AS pods, SUM(t.cpu_request_milli) AS cpu FROM topology t JOIN nodes n "
       "ON t.cluster = n.cluster AND t.node_name = n.node_name GROUP BY n.zone",
       "topology"},
  };
  if (only > 0) {
    if (only > static_cast<int>(queries.size())) {
      std::fprintf(stderr, "sql_bench: --query takes 1 to %zu\n", queries.size());
      return 2;
    }
    queries = {queries[static_cast<size_t>(only - 1)]};
  }
  sql::EngineOptions o;
  o.warehouse = warehouse;
  o.default_database = "bench";
  auto engine = sql::SqlEngine::Create(o);
  if (!engine.ok()) return 1;
  auto session = (*engine)->NewSession();
  std::vector<Times> mine;
  std::vector<int64_t> my_rows;
  for (const auto& q : queries) {
    Times best{1e9, 1e9};
    int64_t n = 0;
    for (int i = 0; i < repeat; ++i) {
      double c0 = CpuSeconds();
      int64_t w0 = MonotonicMicros();
      auto r = session->Execute(q.sql);
      double c = CpuSeconds() - c0;
      double w = static_cast<double>(MonotonicMicros() - w0) / 1e6;
      if (!r.ok()) {
        std::fprintf(stderr, "%s: %s\n", q.name, r.status().ToString().c_str());
        return 1;
      }
      n = static_cast<int64_t>(r->num_rows());
      best.cpu = std::min(best.cpu, c);
      best.wall = std::min(best.wall, w);
    }
    mine.push_back(best);
    my_rows.push_back(n);
  }
  std::vector<Times> theirs;
  std::vector<int64_t> their_rows;
  if (duckdb) {
    std::string modules = bench::EnsureDuckDb(JoinPath(dir, "npm"));
    if (modules.empty()) {
      std::printf("DuckDB: node or npm @duckdb/node-api unavailable; kubelake figures only\n");
    } else {
      theirs = RunDuckDb(modules, dir, warehouse, queries, repeat, &their_rows);
    }
  }
  std::printf("\nsql_bench: %lld DWD rows (Parquet, zstd), %lld topology rows, 10000 nodes; best of %d, one thread\n",
              static_cast<long long>(rows), static_cast<long long>(topo_rows), repeat);
  std::printf("%-28s %9s %9s %9s %9s %8s %10s %8s\n", "query", "kl cpu s", "kl wall s", "duck cpu", "duck wall",
              "ratio", "kl Mrow/s", "rows out");
  for (size_t i = 0; i < queries.size(); ++i) {
    int64_t in_rows = std::string(queries[i].table) == "dwd" ? rows : topo_rows;
    char ratio[32] = "-", dc[32] = "-", dw[32] = "-";
    if (i < theirs.size()) {
      std::snprintf(dc, sizeof(dc), "%.3f", theirs[i].cpu);
      std::snprintf(dw, sizeof(dw), "%.3f", theirs[i].wall);
      if (theirs[i].cpu > 0) std::snprintf(ratio, sizeof(ratio), "%.2fx", mine[i].cpu / theirs[i].cpu);
    }
    std::printf("%-28s %9.3f %9.3f %9s %9s %8s %10.1f %8lld%s\n", queries[i].name, mine[i].cpu, mine[i].wall, dc, dw,
                ratio, static_cast<double>(in_rows) / mine[i].cpu / 1e6, static_cast<long long>(my_rows[i]),
                (i < their_rows.size() && their_rows[i] != my_rows[i]) ? " (DuckDB returned a different count!)" : "");
  }
  std::printf("ratio: kubelake CPU s / DuckDB CPU s (each process's user + system time, best of %d)\n", repeat);
  return 0;
}
