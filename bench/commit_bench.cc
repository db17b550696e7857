// Per-commit cost of a streaming primary-key table, as the warehouse's DWD
// table sees it in steady state: a table of N rows (string key + 20 STRING
// columns, deduplicate with a sequence field, lookup changelog producer, Avro
// or Parquet) preloaded in one commit, then C commits that each update K
// random keys (half of them new versions, some deletes). Prints CPU per
// commit (this thread) split into the writer's phases — flush (sort, merge,
// lookup changelog, data and changelog files), compaction, commit (manifests,
// snapshot), expiry — and the table's files and snapshots at the end. Run it
// at two sizes to see whether the per-commit cost depends on the table size:
//
//   build/bench/commit_bench [--rows 200000] [--commits 200] [--keys-per-commit 400]
//                            [--buckets 1] [--level0-files 1] [--format avro|parquet] [--dir PATH]
//                            [--load-commits 1] [--option key=value]...
//
// The load is --load-commits commits of equal parts (the warehouse's DWD loads a relist in a
// commit per interval); its line gives the CPU of its flushes alone (workers' included): the
// table engine's part of a load, without the bench making its rows.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "common/clock.h"
#include "common/random.h"
#include "table/manifest/commit_signal.h"
#include "table/table.h"

using namespace kl;
using format::DataType;
using format::Datum;

namespace {

format::Row MakeRow(int64_t key, int64_t version, Random& rng) {
  format::Row r;
  r.push_back(Datum::Bytes("uid-" + std::to_string(key)));
  r.push_back(Datum::Int(version));
  for (int c = 0; c < 20; ++c) {
    std::string v(10, 'a');
    for (auto& ch : v) ch = static_cast<char>('a' + rng.Uniform(26));
    r.push_back(Datum::Bytes(std::move(v)));
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 200000, commits = 200, keys_per_commit = 400, load_commits = 1;
  int buckets = 1;
  std::string level0 = "1";
  std::map<std::string, std::string> extra;
  std::string format = "avro", dir = "/tmp/kubelake-commit-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--rows")
      rows = std::atoll(v.c_str());
    else if (a == "--commits")
      commits = std::atoll(v.c_str());
    else if (a == "--load-commits")
      load_commits = std::max<int64_t>(1, std::atoll(v.c_str()));
    else if (a == "--keys-per-commit")
      keys_per_commit = std::atoll(v.c_str());
    else if (a == "--buckets")
      buckets = std::atoi(v.c_str());
    else if (a == "--level0-files")
      level0 = v;
    else if (a == "--option" && v.find('=') != std::string::npos)
      extra[v.substr(0, v.find('='))] = v.substr(v.find('=') + 1);
    else if (a == "--format")
      format = v;
    else if (a == "--dir")
      dir = v;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  (void)RemoveAll(dir);
  std::vector<format::DataField> fields = {{0, "uid", DataType::String().NotNull(), ""},
                                           {1, "rv", DataType::BigInt(), ""}};
  for (int c = 0; c < 20; ++c) fields.push_back({2 + c, "s" + std::to_string(c), DataType::String(), ""});
  std::map<std::string, std::string> options = {{"bucket", std::to_string(buckets)},
                                                {"file.format", format},
                                                {"changelog-producer", "lookup"},
                                                {"sequence.field", "rv"},
                                                {"kubelake.compaction.level0-file-num", level0},
                                                {"snapshot.num-retained.min", "10"},
                                                {"snapshot.num-retained.max", "100"}};
  for (const auto& [k, v] : extra) options[k] = v;
  auto schema = table::NewTableSchema(fields, {}, {"uid"}, options);
  if (!schema.ok()) {
    std::fprintf(stderr, "%s\n", schema.status().ToString().c_str());
    return 1;
  }
  auto t = table::Table::Create(dir, *schema);
  if (!t.ok()) {
    std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
    return 1;
  }
  Random rng(42);
  auto writer = (*t)->NewWriter("bench");
  std::vector<int64_t> versions(static_cast<size_t>(rows), 1);
  double load0 = ThreadCpuSeconds();
  const format::RowType& type = (*t)->schema().fields;
  const int64_t per_load_commit = (rows + load_commits - 1) / load_commits;
  int64_t load_commit_id = 0;
  for (int64_t k = 0; k < rows;) {
    const int64_t part_end = std::min(rows, k + per_load_commit);
    while (k < part_end) {
      format::ColumnBatch batch(type);
      for (int i = 0; i < 4096 && k < part_end; ++i, ++k) batch.AppendRow(MakeRow(k, 1, rng));
      if (!writer->Write(batch).ok()) return 1;
    }
    auto loaded = writer->Commit(++load_commit_id);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      return 1;
    }
  }
  const table::WriterCpu load_writer = writer->cpu();
  double load_cpu = ThreadCpuSeconds() - load0;
  // A fresh writer, as a job has after a restart: its first commit loads the lookup state.
  writer = (*t)->NewWriter("bench");
  table::WriterCpu before = writer->cpu();
  double c0 = ThreadCpuSeconds(), first_commit = 0;
  std::vector<double> visible, returned;  // wall ms per later commit that wrote a snapshot
  for (int64_t c = 0; c < commits; ++c) {
    format::ColumnBatch batch(type);
    std::vector<format::RowKind> kinds;
    for (int64_t i = 0; i < keys_per_commit; ++i) {
      int64_t k = static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(rows)));
      int64_t v = ++versions[static_cast<size_t>(k)];
      batch.AppendRow(MakeRow(k, v, rng));
      kinds.push_back(rng.Uniform(50) == 0 ? format::RowKind::kDelete : format::RowKind::kInsert);
    }
    if (!writer->Write(batch, &kinds).ok()) return 1;
    double mark = ThreadCpuSeconds();
    // Wall time until the commit's first snapshot is there for readers (what a job following
    // the table waits for), and until the commit returns.
    const uint64_t seen = table::SnapshotsCommittedHere((*t)->path());
    const int64_t w0 = MonotonicMicros();
    int64_t visible_us = -1;
    std::thread watcher([&] {
      table::WaitForSnapshotCommittedHere((*t)->path(), seen, 60000);
      if (table::SnapshotsCommittedHere((*t)->path()) != seen) visible_us = MonotonicMicros() - w0;
    });
    auto r = writer->Commit(load_commit_id + c + 1);
    const int64_t returned_us = MonotonicMicros() - w0;
    watcher.join();
    if (c > 0 && visible_us >= 0) {
      visible.push_back(static_cast<double>(visible_us) / 1e3);
      returned.push_back(static_cast<double>(returned_us) / 1e3);
    }
    if (!r.ok()) {
      std::fprintf(stderr, "commit %lld: %s\n", static_cast<long long>(c), r.status().ToString().c_str());
      return 1;
    }
    if (c == 0) {
      first_commit = ThreadCpuSeconds() - mark;
      before = writer->cpu();
    }
  }
  double cpu = ThreadCpuSeconds() - c0 - first_commit;
  auto pct = [](std::vector<double> v, double q) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
  };
  const table::WriterCpu& after = writer->cpu();
  double n = static_cast<double>(commits - 1);
  auto size = bench::SizeOf(dir);
  std::printf("commit_bench: %lld rows (%s, %d bucket%s) loaded in %.2f CPU s; %lld commits of %lld keys\n",
              static_cast<long long>(rows), format.c_str(), buckets, buckets == 1 ? "" : "s", load_cpu,
              static_cast<long long>(commits), static_cast<long long>(keys_per_commit));
  std::printf("  load: flushes %.3f CPU s (of which on worker threads %.3f), %lld flushes, %lld lookups\n",
              load_writer.flush, load_writer.workers, static_cast<long long>(load_writer.work.flushes),
              static_cast<long long>(load_writer.work.lookups));
  std::printf("  first commit of a fresh writer (loads the lookup state): %.1f ms CPU\n", first_commit * 1e3);
  std::printf("  per later commit: %.2f ms CPU (writing the rows included) = %.1f us per key\n", cpu / n * 1e3,
              cpu / n / static_cast<double>(keys_per_commit) * 1e6);
  std::printf("  writer phases, ms per later commit: flush %.2f, compact %.2f, commit %.2f, expire %.2f\n",
              (after.flush - before.flush) / n * 1e3, (after.compact - before.compact) / n * 1e3,
              (after.commit - before.commit) / n * 1e3, (after.expire - before.expire) / n * 1e3);
  std::printf(
      "  wall ms per later commit: first snapshot visible p50 %.1f, p99 %.1f; commit returned p50 %.1f, p99 %.1f\n",
      pct(visible, 0.5), pct(visible, 0.99), pct(returned, 0.5), pct(returned, 0.99));
  std::printf("  table at the end: %lld files, %.1f MB, %lld snapshots\n", static_cast<long long>(size.files),
              static_cast<double>(size.bytes) / 1e6, static_cast<long long>(bench::CountSnapshots(dir)));
  return 0;
}
