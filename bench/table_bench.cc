// Paimon's own micro-benchmark shape: a primary-key table (INT key + 20
// STRING columns of 10 characters, 1 bucket, deduplicate) written with N
// rows in random key order, then read back merged. Prints write rows/s
// (including flushes, compactions, fdatasync of data files and commits),
// merge-on-read rows/s of all 21 columns, and of a projection of 2 columns
// (the key and one value column), each on one thread. Reads consume the rows
// in chunks of 16384, as a job does, rather than gathering them in one batch.
// The figures of merit are rows per CPU-second (the machine is shared); each
// format ends with one line of the two: write and full merge-on-read.
//
//   build/bench/table_bench [--rows N] [--format parquet|avro|parquet,avro] [--compression zstd|snappy|lz4|none]
//                           [--dir PATH] [--commit-every N] [--write-only] [--keep]
//                           [--batch-rows N] [--dynamic-bucket [--target-row-num N]] [--floor]
//                           [--read-rounds N]
//
// --floor also measures what no table code can beat on this machine: the same values laid out
// as the format lays them out (Parquet PLAIN pages of 20,000 rows per column; Avro blocks of
// 64 KiB of rows), compressed, decompressed, and decompressed + decoded into columns, alone.
//
// --read-rounds N repeats the full merge-on-read N times and reports the round of least CPU
// (steadier on a shared machine; a profile of such a run is mostly the read).
// --write-only skips compaction, so the read merges every flush's overlapping run.
// --dynamic-bucket writes the table in dynamic bucket mode (bucket = -1): every key
// goes through the bucket assigner and its hash into the HASH index, which each
// commit writes; dynamic-bucket.target-row-num is Paimon's 2,000,000 unless given.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/coding.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "format/parquet/column/compression.h"
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

struct Config {
  int64_t rows = 3'000'000;
  int64_t commit_every = 1'000'000;
  std::string compression = "zstd";
  std::string dir = "/tmp/kubelake-table-bench";
  bool keep = false;
  bool write_only = false;
  bool dynamic_bucket = false;
  bool floor = false;
  int64_t target_row_num = 2'000'000;
  int64_t batch_rows = 65536;  // rows per Write() call
  int read_rounds = 1;         // full merge-on-reads; the figures are the fastest round's
};

// Rows per CPU-second in millions.
double MPerCpu(int64_t rows, double cpu) { return cpu > 0 ? static_cast<double>(rows) / cpu / 1e6 : 0; }

format::parquet::Codec CodecNamed(const std::string& name) {
  using format::parquet::Codec;
  if (name == "zstd") return Codec::kZstd;
  if (name == "snappy") return Codec::kSnappy;
  if (name == "lz4") return Codec::kLz4Raw;
  return Codec::kUncompressed;
}

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// The floor: the codec and the decode into columns alone, on the benchmark's values laid out
// as `format` lays them out. Parquet: per column, PLAIN pages of 20,000 rows (4-byte length +
// bytes; the key as INT32). Avro: rows back to back (zigzag key, then length + bytes per
// string) in blocks of 64 KiB. Each block is compressed on its own, as the files do.
void RunFloor(const Config& cfg, const std::string& fmt, const std::vector<format::ColumnBatch>& batches,
              const format::RowType& type) {
  using format::parquet::Codec;
  const Codec codec = CodecNamed(cfg.compression);
  const bool parquet = fmt == "parquet";
  std::vector<std::string> blocks;
  if (parquet) {
    constexpr size_t kPageRows = 20000;
    for (size_t c = 0; c < 21; ++c) {
      std::string page;
      size_t in_page = 0;
      for (const auto& b : batches) {
        const format::Column& col = b.column(c);
        for (size_t i = 0; i < b.num_rows(); ++i) {
          if (c == 0) {
            char v[4];
            StoreLE32(v, static_cast<uint32_t>(col.GetInt(i)));
            page.append(v, 4);
          } else {
            std::string_view s = col.GetBytes(i);
            char len[4];
            StoreLE32(len, static_cast<uint32_t>(s.size()));
            page.append(len, 4);
            page.append(s);
          }
          if (++in_page == kPageRows) {
            blocks.push_back(std::move(page));
            page.clear();
            in_page = 0;
          }
        }
      }
      if (!page.empty()) blocks.push_back(std::move(page));
    }
  } else {
    std::string block;
    for (const auto& b : batches) {
      for (size_t i = 0; i < b.num_rows(); ++i) {
        int64_t k = b.column(0).GetInt(i);
        PutVarint(&block, static_cast<uint64_t>((k << 1) ^ (k >> 63)));
        for (size_t c = 1; c < 21; ++c) {
          std::string_view s = b.column(c).GetBytes(i);
          PutVarint(&block, static_cast<uint64_t>(s.size()) << 1);
          block.append(s);
        }
        if (block.size() >= 64 * 1024) {
          blocks.push_back(std::move(block));
          block.clear();
        }
      }
    }
    if (!block.empty()) blocks.push_back(std::move(block));
  }
  size_t raw_bytes = 0;
  for (const auto& b : blocks) raw_bytes += b.size();
  // Compress every block into memory already faulted in, as a writer's reused buffers are (a
  // fresh string per block made the kernel zero its pages inside the timing, about half of it).
  size_t capacity = 0;
  for (const auto& b : blocks) capacity += format::parquet::MaxCompressedLength(codec, b.size()) + 64;
  std::string out_bytes(capacity, '\0');
  std::vector<std::string_view> compressed(blocks.size());
  double c0 = CpuSeconds();
  size_t at = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    size_t n = 0;
    if (!format::parquet::CompressTo(codec, 1, blocks[i], out_bytes.data() + at, capacity - at, &n).ok()) {
      std::fprintf(stderr, "floor: compression failed\n");
      return;
    }
    compressed[i] = std::string_view(out_bytes.data() + at, n);
    at += n;
  }
  double compress_cpu = CpuSeconds() - c0;
  size_t packed_bytes = at;
  // Decompress alone, into one reused buffer.
  format::parquet::ByteBuffer buf;
  c0 = CpuSeconds();
  uint64_t checksum = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    char* out = buf.Reserve(blocks[i].size());
    if (codec == Codec::kUncompressed) {
      std::memcpy(out, compressed[i].data(), blocks[i].size());
    } else if (!format::parquet::Decompress(codec, compressed[i], out, blocks[i].size()).ok()) {
      std::fprintf(stderr, "floor: decompression failed\n");
      return;
    }
    checksum += static_cast<uint8_t>(out[blocks[i].size() / 2]);
  }
  double decompress_cpu = CpuSeconds() - c0;
  // Decompress and decode into columns, 16,384 rows at a time (columns reused), as a read does.
  format::ColumnBatch out(type);
  std::vector<std::vector<std::string_view>> views(21);
  c0 = CpuSeconds();
  size_t decoded = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    char* p = buf.Reserve(blocks[i].size());
    if (codec == Codec::kUncompressed)
      std::memcpy(p, compressed[i].data(), blocks[i].size());
    else
      (void)format::parquet::Decompress(codec, compressed[i], p, blocks[i].size());
    const char* end = p + blocks[i].size();
    if (parquet) {
      // One page is one column's values: which column does not matter for the cost.
      format::Column& col = out.mutable_column(i * 21 / blocks.size() == 0 ? 0 : 1);
      if (col.kind() == format::PhysicalKind::kInt) {
        size_t n = static_cast<size_t>(end - p) / 4;
        std::vector<int64_t> ints(n);
        for (size_t k = 0; k < n; ++k) ints[k] = static_cast<int32_t>(LoadLE32(p + 4 * k));
        col.AppendInts(ints.data(), n);
      } else {
        auto& v = views[1];
        v.clear();
        while (p < end) {
          uint32_t len = LoadLE32(p);
          v.emplace_back(p + 4, len);
          p += 4 + len;
        }
        col.AppendBytesBatch(v.data(), v.size());
      }
      decoded += col.size();
      if (col.size() >= 16384) col.Clear();
    } else {
      size_t rows_in_block = 0;
      for (auto& v : views) v.clear();
      while (p < end) {
        uint64_t zz = 0;
        for (int shift = 0;; shift += 7) {
          uint8_t byte = static_cast<uint8_t>(*p++);
          zz |= static_cast<uint64_t>(byte & 0x7f) << shift;
          if (!(byte & 0x80)) break;
        }
        checksum += zz;
        for (size_t c = 1; c < 21; ++c) {
          uint64_t len = 0;
          for (int shift = 0;; shift += 7) {
            uint8_t byte = static_cast<uint8_t>(*p++);
            len |= static_cast<uint64_t>(byte & 0x7f) << shift;
            if (!(byte & 0x80)) break;
          }
          len >>= 1;
          views[c].emplace_back(p, len);
          p += len;
        }
        ++rows_in_block;
      }
      for (size_t c = 1; c < 21; ++c) out.mutable_column(c).AppendBytesBatch(views[c].data(), views[c].size());
      decoded += rows_in_block;
      if (out.column(1).size() >= 16384) out.Clear();
    }
  }
  double decode_cpu = CpuSeconds() - c0;
  const int64_t rows = cfg.rows;
  std::printf("  floor, %s layout, %s (level 1 where it has levels): %.0f MB raw -> %.0f MB, %zu blocks%s\n",
              fmt.c_str(), cfg.compression.c_str(), raw_bytes / 1e6, packed_bytes / 1e6, blocks.size(),
              checksum == 1 ? " " : "");
  std::printf("    compress alone:             %6.2f M rows per cpu-s  (%.2f s cpu)\n", MPerCpu(rows, compress_cpu),
              compress_cpu);
  std::printf("    decompress alone:           %6.2f M rows per cpu-s  (%.2f s cpu)\n", MPerCpu(rows, decompress_cpu),
              decompress_cpu);
  std::printf("    decompress + decode:        %6.2f M rows per cpu-s  (%.2f s cpu, %zu values)\n",
              MPerCpu(rows, decode_cpu), decode_cpu, decoded);
}

int RunFormat(const Config& cfg, const std::string& format) {
  const int64_t rows = cfg.rows;
  const std::string& dir = cfg.dir;
  (void)RemoveAll(dir);
  std::vector<format::DataField> fields = {{0, "k", DataType::Int(), ""}};
  for (int c = 1; c <= 20; ++c) fields.push_back({c, "f" + std::to_string(c), DataType::String(), ""});
  std::map<std::string, std::string> options = {{"bucket", "1"},
                                                {"file.format", format},
                                                {"file.compression", cfg.compression},
                                                {"write-only", cfg.write_only ? "true" : "false"}};
  if (cfg.dynamic_bucket) {
    options["bucket"] = "-1";
    options["dynamic-bucket.target-row-num"] = std::to_string(cfg.target_row_num);
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
  const size_t kBatch = static_cast<size_t>(std::max<int64_t>(1, cfg.batch_rows));
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
  int64_t written = 0, commit_id = 0, next_commit = cfg.commit_every;
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
      next_commit += cfg.commit_every;
    }
  }
  auto r = writer->Commit(++commit_id);
  if (!r.ok()) {
    std::fprintf(stderr, "commit: %s\n", r.status().ToString().c_str());
    return 1;
  }
  double write_s = Seconds(start);
  double write_cpu = CpuSeconds() - cpu0;
  const table::BucketWork work = writer->cpu().work;

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
  for (int round = 0; round < cfg.read_rounds; ++round) {
    ReadFigure fig;
    if (!timed_read({}, &fig)) return 1;
    if (round == 0 || fig.cpu < full.cpu) full = fig;
  }
  if (!timed_read({"k", "f1"}, &projected)) return 1;
  std::string bucket_mode = cfg.dynamic_bucket ? "dynamic bucket mode (target " + std::to_string(cfg.target_row_num) +
                                                     " rows): " + std::to_string(buckets.size()) + " buckets"
                                               : "1 bucket";
  std::printf("table_bench: %lld rows, INT key + 20 STRING(10), %s, deduplicate, %s/%s\n", static_cast<long long>(rows),
              bucket_mode.c_str(), format.c_str(), cfg.compression.c_str());
  std::printf("  write:                %10.0f rows/s  (%.2f s wall, %.2f s cpu, %lld commits)\n",
              static_cast<double>(rows) / write_s, write_s, write_cpu, static_cast<long long>(commit_id));
  // Write amplification: every row is written once by a flush, then again by each compaction
  // that takes its file in.
  std::printf(
      "  write work:           %lld flushes of %lld records, %lld compactions of %lld rows (%.0f MB);"
      " rows written %.2f times each\n",
      static_cast<long long>(work.flushes), static_cast<long long>(work.flushed_records),
      static_cast<long long>(work.compactions), static_cast<long long>(work.compacted_rows),
      static_cast<double>(work.compacted_bytes) / 1e6,
      static_cast<double>(work.flushed_records + work.compacted_rows) / static_cast<double>(rows));
  std::printf("  merge-on-read:        %10.0f rows/s  (%.2f s wall, %.2f s cpu, %zu files in %zu levels)\n",
              rows / full.wall, full.wall, full.cpu, files, levels.size());
  std::printf("  projected (2 of 21):  %10.0f rows/s  (%.2f s wall, %.2f s cpu)\n", rows / projected.wall,
              projected.wall, projected.cpu);
  std::printf("  %s/%s figures: write %.2f M rows per cpu-s, merge-on-read %.2f M rows per cpu-s\n", format.c_str(),
              cfg.compression.c_str(), MPerCpu(rows, write_cpu), MPerCpu(rows, full.cpu));
  if (cfg.floor) RunFloor(cfg, format, batches, (*t)->schema().fields);
  if (!cfg.keep) (void)RemoveAll(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  std::string formats = "parquet";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--keep" || a == "--write-only" || a == "--dynamic-bucket" || a == "--floor") {
      (a == "--keep"         ? cfg.keep
       : a == "--write-only" ? cfg.write_only
       : a == "--floor"      ? cfg.floor
                             : cfg.dynamic_bucket) = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", a.c_str());
      return 2;
    }
    std::string v = argv[++i];
    if (a == "--rows")
      cfg.rows = std::atoll(v.c_str());
    else if (a == "--format")
      formats = v;
    else if (a == "--compression")
      cfg.compression = v;
    else if (a == "--dir")
      cfg.dir = v;
    else if (a == "--commit-every")
      cfg.commit_every = std::atoll(v.c_str());
    else if (a == "--batch-rows")
      cfg.batch_rows = std::atoll(v.c_str());
    else if (a == "--target-row-num")
      cfg.target_row_num = std::atoll(v.c_str());
    else if (a == "--read-rounds")
      cfg.read_rounds = std::max(1, std::atoi(v.c_str()));
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  size_t pos = 0;
  while (pos <= formats.size()) {
    size_t comma = formats.find(',', pos);
    if (comma == std::string::npos) comma = formats.size();
    std::string f = formats.substr(pos, comma - pos);
    if (f != "parquet" && f != "avro" && f != "orc") {
      std::fprintf(stderr, "unknown format %s\n", f.c_str());
      return 2;
    }
    if (int rc = RunFormat(cfg, f); rc != 0) return rc;
    pos = comma + 1;
  }
  return 0;
}
