// Paimon's own micro-benchmark shape: a primary-key table (INT key + 20
// STRING columns of 10 characters, 1 bucket, deduplicate) written with N
// rows in random key order, then read back merged. Prints write rows/s
// (including flushes, compactions, fdatasync of data files and commits),
// merge-on-read rows/s of all 21 columns, and of a projection of 2 columns
// (the key and one value column), each on one thread. Reads consume the rows
// in chunks of 16384, as a job does, rather than gathering them in one batch.
//
//   build/bench/table_bench [--rows N] [--format parquet|avro] [--compression zstd|snappy|lz4|none]
//                           [--dir PATH] [--commit-every N] [--write-only] [--keep]
//                           [--batch-rows N] [--dynamic-bucket [--target-row-num N]]
//
// --write-only skips compaction, so the read merges every flush's overlapping run.
// --dynamic-bucket writes the table in dynamic bucket mode (bucket = -1): every key
// goes through the bucket assigner and its hash into the HASH index, which each
// commit writes; dynamic-bucket.target-row-num is Paimon's 2,000,000 unless given.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/file_util.h"
#include "common/random.h"
#include "table/table.h"

using namespace kl;
using format::DataType;

namespace {

double Seconds(int64_t since_micros) { return static_cast<double>(MonotonicMicros() - since_micros) / 1e6; }

double CpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 3'000'000;
  int64_t commit_every = 1'000'000;
  std::string format = "parquet";
  std::string compression = "zstd";
  std::string dir = "/tmp/kubelake-table-bench";
  bool keep = false;
  bool write_only = false;
  bool dynamic_bucket = false;
  int64_t target_row_num = 2'000'000;
  int64_t batch_rows = 65536;  // rows per Write() call
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--keep" || a == "--write-only" || a == "--dynamic-bucket") {
      (a == "--keep" ? keep : a == "--write-only" ? write_only : dynamic_bucket) = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", a.c_str());
      return 2;
    }
    std::string v = argv[++i];
    if (a == "--rows")
      rows = std::atoll(v.c_str());
    else if (a == "--format")
      format = v;
    else if (a == "--compression")
      compression = v;
    else if (a == "--dir")
      dir = v;
    else if (a == "--commit-every")
      commit_every = std::atoll(v.c_str());
    else if (a == "--batch-rows")
      batch_rows = std::atoll(v.c_str());
    else if (a == "--target-row-num")
      target_row_num = std::atoll(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  (void)RemoveAll(dir);
  std::vector<format::DataField> fields = {{0, "k", DataType::Int(), ""}};
  for (int c = 1; c <= 20; ++c) fields.push_back({c, "f" + std::to_string(c), DataType::String(), ""});
  std::map<std::string, std::string> options = {{"bucket", "1"},
                                                {"file.format", format},
                                                {"file.compression", compression},
                                                {"write-only", write_only ? "true" : "false"}};
  if (dynamic_bucket) {
    options["bucket"] = "-1";
    options["dynamic-bucket.target-row-num"] = std::to_string(target_row_num);
  }
  auto schema = table::NewTableSchema(fields, {}, {"k"}, options);
  if (!schema.ok()) {
    std::fprintf(stderr, "%s\n", schema.status().ToString().c_str());
    return 1;
  }
  auto t = table::Table::Create(dir, *schema);
  if (!t.ok()) {
    std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
    return 1;
  }

  // Keys: a random permutation (each key once, in random order); values: random 10-character strings.
  std::vector<int32_t> keys(static_cast<size_t>(rows));
  std::iota(keys.begin(), keys.end(), 0);
  Random rng(42);
  for (size_t i = keys.size(); i > 1; --i) std::swap(keys[i - 1], keys[rng.Uniform(i)]);
  const size_t kBatch = static_cast<size_t>(std::max<int64_t>(1, batch_rows));
  std::vector<format::ColumnBatch> batches;
  for (size_t start = 0; start < keys.size(); start += kBatch) {
    format::ColumnBatch b((*t)->schema().fields);
    size_t end = std::min(keys.size(), start + kBatch);
    for (size_t i = start; i < end; ++i) b.mutable_column(0).AppendInt(keys[i]);
    for (int c = 1; c <= 20; ++c) {
      for (size_t i = start; i < end; ++i) b.mutable_column(static_cast<size_t>(c)).AppendBytes(rng.Alnum(10));
    }
    b.SetNumRows(end - start);
    batches.push_back(std::move(b));
  }

  auto writer = (*t)->NewWriter("bench");
  int64_t start = MonotonicMicros();
  double cpu0 = CpuSeconds();
  int64_t written = 0, commit_id = 0, next_commit = commit_every;
  for (const auto& b : batches) {
    Status s = writer->Write(b);
    if (!s.ok()) {
      std::fprintf(stderr, "write: %s\n", s.ToString().c_str());
      return 1;
    }
    written += static_cast<int64_t>(b.num_rows());
    if (written >= next_commit) {
      auto r = writer->Commit(++commit_id);
      if (!r.ok()) {
        std::fprintf(stderr, "commit: %s\n", r.status().ToString().c_str());
        return 1;
      }
      next_commit += commit_every;
    }
  }
  auto r = writer->Commit(++commit_id);
  if (!r.ok()) {
    std::fprintf(stderr, "commit: %s\n", r.status().ToString().c_str());
    return 1;
  }
  double write_s = Seconds(start);
  double write_cpu = CpuSeconds() - cpu0;

  auto plan = (*t)->NewScan().PlanLatest();
  size_t files = 0;
  std::set<int32_t> levels;
  std::set<int32_t> buckets;
  for (const auto& split : plan->splits) {
    buckets.insert(split.bucket);
    for (const auto& f : split.files) {
      ++files;
      levels.insert(f.level);
    }
  }
  // Merge-on-read of every column, then of the key and one value column.
  struct ReadFigure {
    double wall = 0, cpu = 0;
  };
  auto timed_read = [&](std::vector<std::string> projection, ReadFigure* fig) -> bool {
    auto read = (*t)->NewRead(std::move(projection));
    if (!read.ok()) {
      std::fprintf(stderr, "read: %s\n", read.status().ToString().c_str());
      return false;
    }
    int64_t t0 = MonotonicMicros();
    double c0 = CpuSeconds();
    // Rows are consumed chunk by chunk, as a job reads a table; the chunk is reused.
    table::RowsWithKinds out = (*read)->NewOutput();
    int64_t total = 0;
    for (const auto& split : plan->splits) {
      auto reader = (*read)->Open(split);
      if (!reader.ok()) {
        std::fprintf(stderr, "read: %s\n", reader.status().ToString().c_str());
        return false;
      }
      while (true) {
        out.rows.Clear();
        out.kinds.clear();
        auto n = (*reader)->Next(16384, &out);
        if (!n.ok()) {
          std::fprintf(stderr, "read: %s\n", n.status().ToString().c_str());
          return false;
        }
        if (*n == 0) break;
        total += static_cast<int64_t>(out.size());
      }
    }
    fig->wall = Seconds(t0);
    fig->cpu = CpuSeconds() - c0;
    if (total != rows) {
      std::fprintf(stderr, "read %lld rows, expected %lld\n", static_cast<long long>(total),
                   static_cast<long long>(rows));
      return false;
    }
    return true;
  };
  ReadFigure full, projected;
  if (!timed_read({}, &full) || !timed_read({"k", "f1"}, &projected)) return 1;
  std::string bucket_mode = dynamic_bucket ? "dynamic bucket mode (target " + std::to_string(target_row_num) +
                                                 " rows): " + std::to_string(buckets.size()) + " buckets"
                                           : "1 bucket";
  std::printf("table_bench: %lld rows, INT key + 20 STRING(10), %s, deduplicate, %s/%s\n", static_cast<long long>(rows),
              bucket_mode.c_str(), format.c_str(), compression.c_str());
  std::printf("  write:                %10.0f rows/s  (%.2f s wall, %.2f s cpu, %lld commits)\n", rows / write_s,
              write_s, write_cpu, static_cast<long long>(commit_id));
  std::printf("  merge-on-read:        %10.0f rows/s  (%.2f s wall, %.2f s cpu, %zu files in %zu levels)\n",
              rows / full.wall, full.wall, full.cpu, files, levels.size());
  std::printf("  projected (2 of 21):  %10.0f rows/s  (%.2f s wall, %.2f s cpu)\n", rows / projected.wall,
              projected.wall, projected.cpu);
  if (!keep) (void)RemoveAll(dir);
  return 0;
}
