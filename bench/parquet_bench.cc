// Parquet codec throughput on Paimon's micro-benchmark shape: an INT key and
// 20 STRING columns of 10 random characters, 3 M rows, one thread.
// Prints write rows/s (zstd and snappy), full read rows/s and projected read
// (2 of 21 columns) rows/s. Data generation is not timed.
//
//   parquet_bench [--rows N] [--dir DIR] [--phase all|write|read]
// (--phase read re-reads the files a previous "--phase write" left in DIR.)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/file/file_util.h"
#include "common/random.h"
#include "format/parquet/parquet.h"

namespace {

using kl::format::ColumnBatch;
using kl::format::DataField;
using kl::format::DataType;
using kl::format::RowType;
using namespace kl::format::parquet;  // NOLINT
using Clock = std::chrono::steady_clock;

constexpr size_t kBatchRows = 64 * 1024;

RowType Schema() {
  std::vector<DataField> fields;
  fields.push_back({0, "k", DataType::Int().NotNull(), ""});
  for (int i = 1; i <= 20; ++i) fields.push_back({i, "s" + std::to_string(i), DataType::String(), ""});
  return RowType(std::move(fields));
}

void Fill(ColumnBatch* batch, int64_t first_key, size_t rows, kl::Random* rng) {
  batch->Clear();
  for (size_t c = 0; c < batch->num_columns(); ++c) batch->mutable_column(c).Reserve(rows);
  char buf[10];
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (size_t r = 0; r < rows; ++r) {
    batch->mutable_column(0).AppendInt(first_key + static_cast<int64_t>(r));
    for (size_t c = 1; c < batch->num_columns(); ++c) {
      uint64_t bits = rng->Next();
      for (int i = 0; i < 10; ++i) {
        buf[i] = kAlphabet[bits % 62];
        bits /= 62;
        if (i == 9) break;
      }
      batch->mutable_column(c).AppendBytes(std::string_view(buf, 10));
    }
  }
  batch->SetNumRows(rows);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void Fail(const kl::Status& s) {
  std::fprintf(stderr, "parquet_bench: %s\n", s.ToString().c_str());
  std::exit(1);
}

double Write(const std::string& path, int64_t rows, Codec codec, uint64_t* size) {
  ParquetWriterOptions options;
  options.codec = codec;
  options.compression_level = codec == Codec::kZstd ? 1 : 0;  // Paimon's default zstd level
  auto writer = ParquetWriter::Open(path, Schema(), options);
  if (!writer.ok()) Fail(writer.status());
  ColumnBatch batch(Schema());
  kl::Random rng(1);
  Clock::duration timed{};
  for (int64_t done = 0; done < rows;) {
    size_t n = static_cast<size_t>(std::min<int64_t>(kBatchRows, rows - done));
    Fill(&batch, done, n, &rng);
    auto start = Clock::now();
    kl::Status s = (*writer)->Write(batch);
    timed += Clock::now() - start;
    if (!s.ok()) Fail(s);
    done += static_cast<int64_t>(n);
  }
  auto start = Clock::now();
  auto result = (*writer)->Close();
  timed += Clock::now() - start;
  if (!result.ok()) Fail(result.status());
  *size = result->file_size;
  return Seconds(timed);
}

double Read(const std::string& path, const std::vector<int>& columns, int64_t* rows_out, uint64_t* checksum) {
  auto start = Clock::now();
  auto reader = ParquetReader::Open(path);
  if (!reader.ok()) Fail(reader.status());
  ParquetReadOptions options;
  options.columns = columns;
  auto batches = (*reader)->NewBatchReader(options);
  if (!batches.ok()) Fail(batches.status());
  ColumnBatch batch;
  int64_t rows = 0;
  uint64_t sum = 0;
  while (true) {
    auto more = (*batches)->Next(&batch);
    if (!more.ok()) Fail(more.status());
    if (!*more) break;
    rows += static_cast<int64_t>(batch.num_rows());
    // Touch the data so the read cannot be optimised away.
    sum += static_cast<uint64_t>(batch.column(0).size());
    if (batch.num_columns() > 1) sum += static_cast<uint64_t>(batch.column(1).GetBytes(batch.num_rows() - 1)[0]);
  }
  *rows_out = rows;
  *checksum = sum;
  return Seconds(Clock::now() - start);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 3000000;
  std::string dir = "/tmp";
  std::string phase = "all";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--rows") == 0)
      rows = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--dir") == 0)
      dir = argv[i + 1];
    else if (std::strcmp(argv[i], "--phase") == 0)
      phase = argv[i + 1];
  }
  bool write = phase != "read", read = phase != "write";
  std::printf("Parquet codec, Paimon micro-benchmark shape: INT key + 20 STRING(10), %lld rows, 1 thread\n",
              static_cast<long long>(rows));
  std::vector<int> all;
  for (int i = 0; i <= 20; ++i) all.push_back(i);
  for (Codec codec : {Codec::kZstd, Codec::kSnappy}) {
    std::string path = kl::JoinPath(dir, std::string("kubelake-parquet-bench-") + CodecName(codec) + ".parquet");
    uint64_t size = 0;
    if (write) {
      double w = Write(path, rows, codec, &size);
      std::printf("%-7s write            %8.3f s  %10.0f rows/s  file %.1f MiB\n", CodecName(codec), w, rows / w,
                  static_cast<double>(size) / (1 << 20));
    }
    if (!read) continue;
    int64_t read_rows = 0;
    uint64_t checksum = 0;
    double r = Read(path, all, &read_rows, &checksum);
    std::printf("%-7s read all 21 cols %8.3f s  %10.0f rows/s\n", CodecName(codec), r, read_rows / r);
    double p = Read(path, {0, 7}, &read_rows, &checksum);
    std::printf("%-7s read 2 of 21     %8.3f s  %10.0f rows/s  (checksum %llu)\n", CodecName(codec), p, read_rows / p,
                static_cast<unsigned long long>(checksum));
    if (write) (void)kl::RemoveFile(path);
  }
  return 0;
}
