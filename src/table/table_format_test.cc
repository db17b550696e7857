// The table engine on Parquet files: Paimon's key-value layout and field ids,
// schema evolution by field id, filters (exact, and statistics skipping),
// deletion vectors in batch, full and compaction reads, and the level-0 rule
// of deletion-vector and first-row tables.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/file/file_util.h"
#include "common/random.h"
#include "common/testing/test_util.h"
#include "format/compression.h"
#include "format/parquet/parquet.h"
#include "table/data/binary_row.h"
#include "table/table.h"
#include "table/table_test_util.h"

namespace kl::table {
namespace {

using format::DataType;
using format::Datum;
using format::Row;
using format::RowKind;

std::shared_ptr<Table> MakeTable(const std::string& path, std::vector<std::string> pk,
                                 std::map<std::string, std::string> options) {
  options.emplace("kubelake.data-file.sync", "false");
  return test_util::MakeTestTable(path, std::move(pk), std::move(options), {}, DataType::Int());
}

using test_util::R;
using test_util::Rows;

std::vector<std::string> DataFiles(const Table& t) {
  std::vector<std::string> out;
  auto plan = t.NewScan().PlanLatest();
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  for (const auto& split : plan->splits) {
    for (const auto& f : split.files)
      out.push_back(t.context()->paths().DataFilePath(split.partition, split.bucket, f));
  }
  return out;
}

TEST(TableParquetTest, ParquetIsTheDefaultWithPaimonsKeyValueLayoutAndFieldIds) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}});
  auto w = t->NewWriter("w");
  KL_ASSERT_OK(w->WriteRow(R(2, "eu", "b", 20)));
  KL_ASSERT_OK(w->WriteRow(R(1, "us", "a", 10)));
  KL_ASSERT_OK(w->WriteRow(R(1, "us", "a2", 11), RowKind::kUpdateAfter));
  ASSERT_TRUE(w->Commit(1).ok());
  auto files = DataFiles(*t);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].substr(files[0].size() - 8), ".parquet");
  auto reader = format::parquet::ParquetReader::Open(files[0]);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ASSERT_TRUE((*reader)->has_field_ids());
  const format::RowType& schema = (*reader)->schema();
  // _KEY_ fields, _SEQUENCE_NUMBER, _VALUE_KIND, then the values, with Java Paimon's ids.
  std::vector<std::pair<std::string, int32_t>> want = {{"_KEY_id", 1073741823},
                                                       {"_SEQUENCE_NUMBER", 2147483646},
                                                       {"_VALUE_KIND", 2147483645},
                                                       {"id", 0},
                                                       {"region", 1},
                                                       {"name", 2},
                                                       {"n", 3}};
  ASSERT_EQ(schema.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(schema.field(i).name, want[i].first);
    EXPECT_EQ(schema.field(i).id, want[i].second) << want[i].first;
  }
  auto raw = (*reader)->ReadAll();
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->num_rows(), 2u) << "one merged record per key";
  EXPECT_EQ(raw->column(0).GetInt(0), 1);
  EXPECT_EQ(raw->column(2).GetInt(0), static_cast<int64_t>(RowKind::kUpdateAfter)) << "stored kind kept in the file";
  auto rows = t->ReadAll();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I 1 \"us\" \"a2\" 11", "+I 2 \"eu\" \"b\" 20"}))
      << "merged batch rows read as inserts";
}

TEST(TableParquetTest, SchemaEvolutionMapsParquetColumnsByFieldId) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}});
  auto w = t->NewWriter("w");
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "old", 5)));
  ASSERT_TRUE(w->Commit(1).ok());
  // Schema 1: name renamed to title and moved first, region dropped, n widened to
  // BIGINT, id kept; a new column `note` appended; then `region` re-added under a new
  // id, which must not pick up the old column's values.
  TableSchema next = t->schema();
  next.id = 1;
  next.fields = format::RowType({{2, "title", DataType::String(), ""},
                                 {0, "id", DataType::BigInt().NotNull(), ""},
                                 {3, "n", DataType::BigInt(), ""},
                                 {4, "note", DataType::String(), ""},
                                 {5, "region", DataType::String(), ""}});
  next.highest_field_id = 5;
  KL_ASSERT_OK(SchemaManager(t->path()).Commit(next));
  auto evolved = Table::Open(t->path());
  ASSERT_TRUE(evolved.ok());
  auto w2 = (*evolved)->NewWriter("w");
  KL_ASSERT_OK(w2->WriteRow({Datum::Bytes("new"), Datum::Int(2), Datum::Int(1), Datum::Bytes("x"), Datum::Bytes("r")}));
  ASSERT_TRUE(w2->Commit(2).ok());
  auto rows = (*evolved)->ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I \"new\" 2 1 \"x\" \"r\"", "+I \"old\" 1 5 null null"}));
  // Reading through the old schema maps the new file back by id too.
  auto old = Table::OpenWithSchema(t->path(), *SchemaManager(t->path()).Read(0));
  ASSERT_TRUE(old.ok());
  auto old_rows = (*old)->ReadAll();
  ASSERT_TRUE(old_rows.ok()) << old_rows.status().ToString();
  EXPECT_EQ(Rows(*old_rows), (std::vector<std::string>{"+I 1 \"eu\" \"old\" 5", "+I 2 null \"new\" 1"}));
}

TEST(TableParquetTest, FiltersAreExactAndSkipRowGroupsByStatistics) {
  testing::TempDir dir;
  // Small row groups and pages, so that statistics have something to skip.
  auto t = MakeTable(dir.Sub("t"), {}, {{"bucket", "1"}, {"parquet.block.size", "4kb"}, {"parquet.page.size", "1kb"}});
  auto w = t->NewWriter("w");
  format::ColumnBatch batch(t->schema().fields);
  for (int i = 0; i < 5000; ++i) batch.AppendRow(R(i, i % 2 ? "eu" : "us", "name" + std::to_string(i), i / 10));
  KL_ASSERT_OK(w->Write(batch));
  ASSERT_TRUE(w->Commit(1).ok());
  auto filter = Predicate::Parse("n >= 490 AND region = 'eu'", t->schema().fields);
  ASSERT_TRUE(filter.ok());
  auto read = t->NewRead({"id", "n"}, *filter);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  auto plan = t->NewScan().PlanLatest();
  auto rows = (*read)->ReadAll(*plan);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 50u);
  for (size_t i = 0; i < rows->size(); ++i) {
    EXPECT_GE(rows->rows.column(1).GetInt(i), 490);
    EXPECT_EQ(rows->rows.column(0).GetInt(i) % 2, 1);
  }
  // The same condition skips the row groups and pages whose n range lies below 490.
  auto extras = std::make_shared<SplitReadExtras>();
  extras->skip_by_stats = filter->leaves();
  const DataSplit& split = plan->splits[0];
  FileOpener opener = t->context()->OpenerFor(split.partition, split.bucket, t->schema().fields, extras);
  auto reader = opener(split.files[0]);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  size_t read_rows = 0;
  while (true) {
    KvBatch chunk;
    auto n = (*reader)->Next(1024, &chunk);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    read_rows += *n;
  }
  EXPECT_GT((*reader)->rows_skipped(), 4000);
  EXPECT_EQ(read_rows + static_cast<size_t>((*reader)->rows_skipped()), 5000u);
}

// 'parquet.page.row.count.limit' (parquet-mr's setting, which Paimon passes through)
// caps the rows of a page; a read by key then decodes only the page that holds it.
TEST(TableParquetTest, PageRowLimitLetsAKeyReadDecodeOnePage) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}, {"parquet.page.row.count.limit", "100"}});
  auto w = t->NewWriter("w");
  format::ColumnBatch batch(t->schema().fields);
  for (int i = 0; i < 5000; ++i) batch.AppendRow(R(i, "eu", "name" + std::to_string(i), i));
  KL_ASSERT_OK(w->Write(batch));
  ASSERT_TRUE(w->Commit(1).ok());
  auto files = DataFiles(*t);
  ASSERT_EQ(files.size(), 1u);
  auto file = format::parquet::ParquetReader::Open(files[0]);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_EQ((*file)->num_row_groups(), 1u);
  // Pages hold 100 rows (no other page-cutting limit is near): a condition on the key
  // column skips exactly the pages that start above 4321 (4400 .. 4999).
  int64_t skipped = 0;
  {
    format::parquet::ParquetReadOptions all;
    all.columns = {0};
    all.predicate = [](const format::parquet::StatsLookup& stats) {
      const auto* s = stats(0);
      return s == nullptr || !s->has_min_max || s->min.as_int() <= 4321;
    };
    auto b = (*file)->NewBatchReader(all);
    ASSERT_TRUE(b.ok());
    format::ColumnBatch out;
    while (*(*b)->Next(&out)) {
    }
    skipped = (*b)->rows_skipped();
  }
  EXPECT_EQ(skipped, 600);
  auto filter = Predicate::Parse("id = 4321", t->schema().fields);
  ASSERT_TRUE(filter.ok());
  auto read = t->NewRead({"id", "name"}, *filter);
  ASSERT_TRUE(read.ok());
  auto plan = t->NewScan().PlanLatest();
  auto rows = (*read)->ReadAll(*plan);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I 4321 \"name4321\""}));
  auto extras = std::make_shared<SplitReadExtras>();
  extras->skip_by_stats = filter->leaves();
  const DataSplit& split = plan->splits[0];
  FileOpener opener = t->context()->OpenerFor(split.partition, split.bucket, t->schema().fields, extras);
  auto reader = opener(split.files[0]);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  size_t read_rows = 0;
  while (true) {
    KvBatch chunk;
    auto n = (*reader)->Next(1024, &chunk);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    read_rows += *n;
  }
  EXPECT_EQ(read_rows, 100u);
  EXPECT_EQ((*reader)->rows_skipped(), 4900);

  auto bad = MakeTable(dir.Sub("bad"), {"id"}, {{"bucket", "1"}, {"parquet.page.row.count.limit", "0"}});
  auto bw = bad->NewWriter("w");
  Status s = bw->WriteRow(R(1, "eu", "a", 1));
  if (s.ok()) s = bw->Commit(1).status();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("parquet.page.row.count.limit"), std::string::npos) << s.ToString();
}

TEST(TableParquetTest, PrimaryKeyFiltersApplyAfterTheMerge) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}, {"write-only", "true"}});
  auto w = t->NewWriter("w");
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "v1", 100)));
  KL_ASSERT_OK(w->WriteRow(R(2, "eu", "v1", 100)));
  ASSERT_TRUE(w->Commit(1).ok());
  // Newer versions of both keys, now with n below the filter: the old files still
  // match n >= 100, but the merged rows do not.
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "v2", 5)));
  KL_ASSERT_OK(w->WriteRow(R(2, "eu", "v2", 500)));
  ASSERT_TRUE(w->Commit(2).ok());
  auto filter = Predicate::Parse("n >= 100 AND id >= 1", t->schema().fields);
  ASSERT_TRUE(filter.ok());
  auto read = t->NewRead({}, *filter);
  ASSERT_TRUE(read.ok());
  auto rows = (*read)->ReadAll(*t->NewScan().PlanLatest());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Rows(*rows), (std::vector<std::string>{"+I 2 \"eu\" \"v2\" 500"}));
}

// Publishes a snapshot that keeps the latest one's files and adds a deletion vector for
// `file` (what a Java Paimon compaction of a deletion-vector table commits).
void AddDeletionVector(const Table& t, const DataSplit& split, const DataFileMeta& file,
                       const std::vector<int64_t>& positions) {
  auto latest = t.snapshots().Latest();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  std::string body = *DeletionVector::FromPositions(positions).Serialize();
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::string index_name = "index-" + RandomUuid() + "-0";
  KL_ASSERT_OK(CreateDirs(t.context()->paths().IndexDir()));
  KL_ASSERT_OK(
      WriteFile(JoinPath(t.context()->paths().IndexDir(), index_name), BuildDeletionVectorIndexFile({body}, &ranges)));
  IndexManifestEntry entry;
  entry.partition = split.partition;
  entry.bucket = split.bucket;
  entry.file = {kDeletionVectorsIndex,
                index_name,
                0,
                1,
                {{file.file_name, static_cast<int32_t>(ranges[0].first), static_cast<int32_t>(ranges[0].second),
                  static_cast<int64_t>(positions.size())}},
                std::nullopt};
  std::string manifest = "index-manifest-" + RandomUuid() + "-0";
  ASSERT_TRUE(WriteIndexManifest(JoinPath(t.context()->paths().ManifestDir(), manifest), {entry}).ok());
  Snapshot s = **latest;
  s.id += 1;
  s.index_manifest = manifest;
  s.commit_kind = CommitKind::kCompact;
  s.delta_manifest_list = (*latest)->delta_manifest_list;
  KL_ASSERT_OK(t.snapshots().Commit(s));
}

TEST(TableParquetTest, DeletionVectorsHideRowsInBatchFullAndCompactionReads) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}, {"deletion-vectors.enabled", "true"}});
  auto w = t->NewWriter("w");
  for (int i = 0; i < 6; ++i) KL_ASSERT_OK(w->WriteRow(R(i, "eu", "v" + std::to_string(i), i)));
  auto committed = w->Commit(1);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  // The writer lifted level 0 at once (APPEND, then COMPACT): batch reads see it all.
  EXPECT_EQ(committed->snapshot_ids.size(), 2u);
  auto plan = t->NewScan().PlanLatest();
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->splits.size(), 1u);
  ASSERT_EQ(plan->splits[0].files.size(), 1u);
  EXPECT_GT(plan->splits[0].files[0].level, 0);
  // Rows are stored in key order: positions 1 and 4 hold keys 1 and 4.
  AddDeletionVector(*t, plan->splits[0], plan->splits[0].files[0], {1, 4});
  auto rows = t->ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 4u);
  for (size_t i = 0; i < rows->size(); ++i) {
    int64_t id = rows->rows.column(0).GetInt(i);
    EXPECT_TRUE(id != 1 && id != 4) << id;
  }
  auto latest_id = t->snapshots().LatestId();
  auto full = t->NewScan().PlanSnapshotFull(**latest_id);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->splits[0].deletion_files.size(), 1u);
  auto read = t->NewRead();
  auto full_rows = (*read)->ReadAll(*full);
  ASSERT_TRUE(full_rows.ok());
  EXPECT_EQ(full_rows->size(), 4u);
  // A new writer compacts the file with its deletion vector applied: the rows stay gone.
  auto reopened = Table::Open(t->path());
  ASSERT_TRUE(reopened.ok());
  auto w2 = (*reopened)->NewWriter("w2");
  KL_ASSERT_OK(w2->WriteRow(R(9, "eu", "v9", 9)));
  KL_ASSERT_OK(w2->Compact(/*full=*/true));
  ASSERT_TRUE(w2->Commit(2).ok());
  auto after = (*reopened)->ReadAll();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(Rows(*after),
            (std::vector<std::string>{"+I 0 \"eu\" \"v0\" 0", "+I 2 \"eu\" \"v2\" 2", "+I 3 \"eu\" \"v3\" 3",
                                      "+I 5 \"eu\" \"v5\" 5", "+I 9 \"eu\" \"v9\" 9"}));
  // A corrupt vector fails the read with the index file's name.
  auto snap = (*reopened)->snapshots().Latest();
  auto entries = ReadIndexManifest(JoinPath((*reopened)->context()->paths().ManifestDir(), *(*snap)->index_manifest));
  ASSERT_TRUE(entries.ok() && !entries->empty());
  std::string index_path = JoinPath((*reopened)->context()->paths().IndexDir(), (*entries)[0].file.file_name);
  KL_ASSERT_OK(WriteFile(index_path, std::string(40, '\x01')));
  auto old_snapshot = (*reopened)->ReadAll(**latest_id);
  ASSERT_FALSE(old_snapshot.ok());
  EXPECT_NE(old_snapshot.status().message().find((*entries)[0].file.file_name), std::string::npos)
      << old_snapshot.status().ToString();
}

TEST(TableParquetTest, BatchReadsOfFirstRowTablesSkipLevelZero) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {"id"}, {{"bucket", "1"}, {"merge-engine", "first-row"}, {"write-only", "true"}});
  auto w = t->NewWriter("w");
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "first", 1)));
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "second", 2)));
  auto committed = w->Commit(1);
  ASSERT_TRUE(committed.ok());
  // Write-only: nothing compacted, the data sits in level 0.
  auto batch = t->ReadAll();
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->size(), 0u);
  StreamScan stream = t->NewStreamScan(StreamStart::kLatestFull);
  auto full = stream.Next();
  ASSERT_TRUE(full.ok());
  auto read = t->NewRead();
  auto full_rows = (*read)->ReadAll(*full);
  ASSERT_TRUE(full_rows.ok());
  EXPECT_EQ(Rows(*full_rows), (std::vector<std::string>{"+I 1 \"eu\" \"first\" 1"}));
  // A writer that may compact lifts level 0 at its next commit.
  auto compacting = Table::Open(t->path(), {{"write-only", "false"}});
  ASSERT_TRUE(compacting.ok());
  auto w2 = (*compacting)->NewWriter("w2");
  KL_ASSERT_OK(w2->WriteRow(R(2, "eu", "other", 3)));
  ASSERT_TRUE(w2->Commit(2).ok());
  auto after = (*compacting)->ReadAll();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Rows(*after), (std::vector<std::string>{"+I 1 \"eu\" \"first\" 1", "+I 2 \"eu\" \"other\" 3"}));
}

// Java Paimon's append_table_alter_table_with_cast: every column's type changed, renamed
// and moved after snapshot 1; its README lists what schema 1 reads.
TEST(TableParquetTest, ReadsJavaWrittenFilesThroughChangedTypes) {
  KL_REQUIRE_SHARED(
      "paimon-compat/tables/parquet/append_table_alter_table_with_cast.db/append_table_alter_table_with_cast", path);
  auto t = Table::Open(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto rows = (*t)->ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  std::map<int64_t, std::string> by_f3;  // f3 (was f0) -> the row
  for (size_t i = 0; i < rows->size(); ++i) {
    std::string s;
    for (size_t c = 0; c < rows->rows.num_columns(); ++c) {
      Datum d = rows->rows.column(c).Get(i);
      s += (c ? "|" : "") + (d.is_null() ? std::string("null") : format::DatumToString(d, rows->rows.schema().type(c)));
    }
    by_f3[rows->rows.column(3).GetInt(i)] = s;
  }
  // f4 DATE -> TIMESTAMP(9), f0 STRING "100" -> INT, f1 TIMESTAMP(9) -> STRING, f2 DECIMAL(5,2)
  // -> DECIMAL(6,3), f3 STRING "True"/"nO" -> BOOLEAN, f6 added.
  EXPECT_EQ(by_f3[100], "1970-01-05T00:00:00|0|1|100|2024-11-26 06:38:56.001000001|0.020|true|null");
  EXPECT_EQ(by_f3[120], "1971-03-21T00:00:00|0|1|120|2024-11-26 06:38:56.021000021|22.220|false|null");
  EXPECT_EQ(by_f3[130], "1957-11-01T00:00:00|1|1|130|2024-11-26 06:38:56.031000031|333.320|false|null");
  EXPECT_EQ(by_f3[160], "2024-11-26T06:38:56.064000064|0|1|160|2024-11-26 15:28:41|666.012|false|66");
}

TEST(TableParquetTest, AvroStaysAvailableForTablesThatAskForIt) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {}, {{"bucket", "1"}, {"file.format", "avro"}});
  auto w = t->NewWriter("w");
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", std::string(100000, 'x'), 1)));
  ASSERT_TRUE(w->Commit(1).ok());
  auto files = DataFiles(*t);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].substr(files[0].size() - 5), ".avro");
  auto rows = t->ReadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->rows.column(2).GetBytes(0).size(), 100000u);
}

// Table::Create of the test table with `options` (valid ones first, so that NewTableSchema's own
// check does not answer before the table's).
Status CreateStatus(const std::string& path, const std::map<std::string, std::string>& options) {
  auto schema = NewTableSchema({{0, "id", DataType::BigInt(), ""},
                                {1, "region", DataType::String(), ""},
                                {2, "name", DataType::String(), ""},
                                {3, "n", DataType::Int(), ""}},
                               {}, {"id"}, {{"bucket", "1"}, {"kubelake.data-file.sync", "false"}});
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  for (const auto& [k, v] : options) schema->options[k] = v;
  return Table::Create(path, *schema).status();
}

constexpr const char* kAvroCompressions = "null, none, deflate, snappy, zstd, zstandard";
constexpr const char* kParquetCompressions = "none, uncompressed, snappy, gzip, lz4, zstd";

// A compression the file format cannot write fails the table's creation, naming the table, the
// option, its value and the accepted names; it never falls back to another codec.
TEST(TableFormatOptionsTest, CompressionsAFormatCannotWriteFailAtCreation) {
  testing::TempDir dir;
  struct Case {
    std::map<std::string, std::string> options;
    std::string error;  // after "table <path>: "
  };
  std::vector<Case> cases = {
      {{{"file.format", "avro"}, {"file.compression", "lz4"}},
       std::string("option file.compression = \"lz4\": \"lz4\" is not one of the avro compressions: ") +
           kAvroCompressions},
      {{{"file.format", "avro"}, {"file.compression", "zstdd"}},
       std::string("option file.compression = \"zstdd\": \"zstdd\" is not one of the avro compressions: ") +
           kAvroCompressions},
      {{{"file.compression", "lzo"}},
       std::string("option file.compression = \"lzo\": \"lzo\" is not one of the parquet compressions: ") +
           kParquetCompressions},
      {{{"file.format", "avro"}, {"file.compression.per.level", "0:none,3:lz4"}},
       std::string("option file.compression.per.level = \"0:none,3:lz4\": \"lz4\" is not one of the avro "
                   "compressions: ") +
           kAvroCompressions},
      {{{"file.format", "avro"}, {"changelog-file.compression", "lz4"}},
       std::string("option changelog-file.compression = \"lz4\": \"lz4\" is not one of the avro compressions: ") +
           kAvroCompressions},
      // Parquet data files with lz4 are fine; Avro changelog files with it are not.
      {{{"file.compression", "lz4"}, {"changelog-file.format", "avro"}},
       std::string("option file.compression = \"lz4\" (changelog-file.format = \"avro\"): \"lz4\" is not one of "
                   "the avro compressions: ") +
           kAvroCompressions},
      {{{"changelog-file.format", "orc"}}, "option changelog-file.format = \"orc\" is not one of: avro, parquet"},
  };
  int i = 0;
  for (const auto& c : cases) {
    std::string path = dir.Sub("t" + std::to_string(i++));
    Status st = CreateStatus(path, c.options);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_EQ(st.message(), "table " + path + ": " + c.error);
    EXPECT_FALSE(IsDirectory(JoinPath(path, "schema"))) << "nothing is created";
  }
}

// Writes 3,000 rows of random pod names into `t` (one bucket, empty) in one commit, checks
// they read back, and gives the size of the one data file written.
void WriteNamesAndReadBack(Table& t, uint64_t* file_size) {
  auto w = t.NewWriter("w");
  Random rng(7);
  std::vector<std::string> expected;
  for (int k = 0; k < 3000; ++k) {
    std::string name = "pod-" + std::to_string(rng.Uniform(500)) + "-" + std::string(rng.Uniform(40), 'x');
    KL_ASSERT_OK(w->WriteRow(R(k, "eu", name, k)));
    expected.push_back("+I " + std::to_string(k) + " \"eu\" \"" + name + "\" " + std::to_string(k));
  }
  ASSERT_TRUE(w->Commit(1).ok());
  auto rows = t.ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Rows(*rows), expected);
  auto files = DataFiles(t);
  ASSERT_EQ(files.size(), 1u);
  *file_size = FileSize(files[0]).value();
}

// file.compression.zstd-level takes every zstd level, Paimon's fast negative ones too, and
// refuses others at creation, naming the table, the option, its value and the range.
TEST(TableFormatOptionsTest, ZstdLevelsAreHonouredAndCheckedAtCreation) {
  testing::TempDir dir;
  std::string range =
      std::to_string(format::ZstdMinLevel()) + " (fastest) to " + std::to_string(format::ZstdMaxLevel());
  for (const std::string& bad :
       {std::to_string(format::ZstdMaxLevel() + 1), std::to_string(static_cast<int64_t>(format::ZstdMinLevel()) - 1),
        std::string("fast"), std::string("99999999999")}) {
    SCOPED_TRACE(bad);
    std::string path = dir.Sub("bad" + bad);
    Status st = CreateStatus(path, {{"file.compression.zstd-level", bad}});
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_EQ(st.message(),
              "table " + path + ": option file.compression.zstd-level = \"" + bad + "\" is not a zstd level: " + range);
  }
  // The same rows at level -3, 1 and 3: each round-trips, and -3 is not level 1 in disguise.
  for (const char* format : {"avro", "parquet"}) {
    std::map<std::string, uint64_t> size;
    for (const char* level : {"-3", "1", "3"}) {
      SCOPED_TRACE(std::string(format) + " level " + level);
      auto t = MakeTable(dir.Sub(std::string(format) + level), {},
                         {{"bucket", "1"}, {"file.format", format}, {"file.compression.zstd-level", level}});
      ASSERT_TRUE(t);
      ASSERT_NO_FATAL_FAILURE(WriteNamesAndReadBack(*t, &size[level]));
    }
    EXPECT_NE(size["-3"], size["1"]) << format;
  }
}

// kubelake.avro.block-size sets the uncompressed bytes per block of Avro data files (the ODS
// table writes 256 KB blocks); a value that is not a size from 1 byte to 64 MB fails at creation.
TEST(TableFormatOptionsTest, AvroBlockSizeIsHonouredAndCheckedAtCreation) {
  testing::TempDir dir;
  for (std::string bad : {"0", "65 mb", "big"}) {
    SCOPED_TRACE(bad);
    std::string path = dir.Sub("bad" + bad);
    Status st = CreateStatus(path, {{"file.format", "avro"}, {"kubelake.avro.block-size", bad}});
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    std::string why = bad == "big" ? "is not a memory size" : "must be positive and at most 64 mb";
    EXPECT_EQ(st.message(), "table " + path + ": option kubelake.avro.block-size = \"" + bad + "\" " + why);
  }
  std::map<std::string, uint64_t> size;
  for (const char* block : {"1kb", "1 mb"}) {
    SCOPED_TRACE(block);
    auto t = MakeTable(dir.Sub(std::string("t") + block), {},
                       {{"bucket", "1"},
                        {"file.format", "avro"},
                        {"file.compression.zstd-level", "-3"},
                        {"kubelake.avro.block-size", block}});
    ASSERT_TRUE(t);
    ASSERT_NO_FATAL_FAILURE(WriteNamesAndReadBack(*t, &size[block]));
  }
  // ~140 blocks of 1 KB, each with its header and sync marker and compressed alone, against one.
  EXPECT_GT(size["1kb"], size["1 mb"] + 140 * 16);
}

// Every name a format accepts writes files that read back, in either letter case.
TEST(TableFormatOptionsTest, EveryAcceptedCompressionWritesAndReads) {
  testing::TempDir dir;
  std::vector<std::pair<std::string, std::string>> cases;
  for (const char* c : {"null", "none", "deflate", "snappy", "zstd", "zstandard", "ZSTD"})
    cases.emplace_back("avro", c);
  for (const char* c : {"none", "uncompressed", "snappy", "gzip", "lz4", "zstd", "Snappy"})
    cases.emplace_back("parquet", c);
  int i = 0;
  for (const auto& [format, compression] : cases) {
    SCOPED_TRACE(format + " " + compression);
    auto t = MakeTable(dir.Sub("t" + std::to_string(i++)), {"id"},
                       {{"bucket", "1"},
                        {"file.format", format},
                        {"file.compression", compression},
                        {"changelog-producer", "lookup"},
                        {"file.compression.per.level", "0:" + compression},
                        {"changelog-file.compression", compression}});
    ASSERT_TRUE(t);
    auto w = t->NewWriter("w");
    for (int k = 0; k < 20; ++k) KL_ASSERT_OK(w->WriteRow(R(k, "eu", std::string(100, 'a' + k % 3), k)));
    auto committed = w->Commit(1);
    ASSERT_TRUE(committed.ok()) << committed.status().ToString();
    auto rows = t->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(rows->size(), 20u);
  }
}

// Options given when opening a table for a write are checked as at creation; a schema that
// bypassed the check (written by another tool) fails its writes, naming the option, and still reads.
TEST(TableFormatOptionsTest, CompressionsAreCheckedForWritesToo) {
  testing::TempDir dir;
  std::string path = dir.Sub("t");
  auto t = MakeTable(path, {"id"}, {{"bucket", "1"}, {"file.format", "avro"}});
  auto w = t->NewWriter("w");
  KL_ASSERT_OK(w->WriteRow(R(1, "eu", "a", 1)));
  ASSERT_TRUE(w->Commit(1).ok());

  auto dynamic = Table::Open(path, {{"file.compression", "lz4"}});
  ASSERT_FALSE(dynamic.ok());
  EXPECT_EQ(dynamic.status().message(),
            "table " + path + ": option file.compression = \"lz4\": \"lz4\" is not one of the avro compressions: " +
                kAvroCompressions);

  TableSchema schema = t->schema();
  schema.options["file.compression"] = "lz4";
  auto bypassed = Table::OpenWithSchema(path, schema);
  ASSERT_TRUE(bypassed.ok()) << bypassed.status().ToString();
  auto bw = (*bypassed)->NewWriter("w2");
  Status st = bw->WriteRow(R(2, "eu", "b", 2));
  if (st.ok()) st = bw->Commit(2).status();
  EXPECT_EQ(st.message(), "table " + path + ": option file.compression: \"lz4\" is not one of the avro compressions: " +
                              kAvroCompressions);
  auto rows = (*bypassed)->ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 1u);
}

}  // namespace
}  // namespace kl::table
