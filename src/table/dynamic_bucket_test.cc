// Dynamic bucket mode (primary-key tables with bucket = -1) and whole-row
// bucketing of append tables. The property test runs random histories of
// inserts, updates and deletes over many keys — buckets fill up and new ones
// open — with commits, compactions, writer restarts and snapshot expiry, and
// checks after every commit: reads and changelog equal a model, every key
// stays in the bucket it first landed in (a restarted writer finds it in the
// index and never writes it to a second bucket), and the HASH index files
// hold exactly the keys of their buckets within the target row count.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "common/testing/test_util.h"
#include "fmt/format.h"
#include "format/avro/avro_file.h"
#include "table/data/binary_row.h"
#include "table/index/hash_index.h"
#include "table/index/index_manifest.h"
#include "table/table.h"

namespace kl::table {
namespace {

using format::DataType;
using format::Datum;
using format::Row;
using format::RowKind;

std::map<std::string, std::string> Quiet(std::map<std::string, std::string> o) {
  o["kubelake.data-file.sync"] = "false";
  return o;
}

// (p STRING partition, k INT, v BIGINT), primary key (p, k).
std::shared_ptr<Table> MakeTable(const std::string& path, std::map<std::string, std::string> options,
                                 bool partitioned = true) {
  std::vector<format::DataField> fields = {
      {0, "p", DataType::String(), ""}, {1, "k", DataType::Int(), ""}, {2, "v", DataType::BigInt(), ""}};
  auto schema = NewTableSchema(fields, partitioned ? std::vector<std::string>{"p"} : std::vector<std::string>{},
                               {"p", "k"}, Quiet(std::move(options)));
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  auto t = Table::Create(path, *schema);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return *t;
}

Row R(const std::string& p, int64_t k, int64_t v) { return {Datum::Bytes(p), Datum::Int(k), Datum::Int(v)}; }

// The live HASH index of the latest snapshot: (partition, bucket) -> hashes, read straight
// from the index manifest and files.
std::map<std::pair<std::string, int32_t>, std::vector<int32_t>> LiveHashIndex(const Table& t) {
  std::map<std::pair<std::string, int32_t>, std::vector<int32_t>> out;
  auto latest = t.snapshots().Latest();
  EXPECT_TRUE(latest.ok());
  if (!latest.ok() || !*latest || !(*latest)->index_manifest) return out;
  auto entries = ReadIndexManifest(JoinPath(t.context()->paths().ManifestDir(), *(*latest)->index_manifest));
  EXPECT_TRUE(entries.ok()) << entries.status().ToString();
  if (!entries.ok()) return out;
  for (const auto& e : *entries) {
    EXPECT_EQ(e.kind, FileKind::kAdd);
    EXPECT_EQ(e.file.index_type, kHashIndex);
    auto hashes = ReadHashIndexFile(t.context()->paths().IndexFilePath(e.partition, e.bucket, e.file, false), e.file);
    EXPECT_TRUE(hashes.ok()) << hashes.status().ToString();
    EXPECT_TRUE(out.count({e.partition, e.bucket}) == 0) << "two HASH files for one bucket";
    if (hashes.ok()) out[{e.partition, e.bucket}] = *hashes;
  }
  return out;
}

// Paimon's hash of a key (p, k): Murmur3 over the BinaryRow of the trimmed key (k).
int32_t HashOfKey(int64_t k) { return HashBytesByWords(EncodeBinaryRow({Datum::Int(k)}, {DataType::Int().NotNull()})); }

std::string PartitionRow(const std::string& p) { return SerializeBinaryRow({Datum::Bytes(p)}, {DataType::String()}); }

// Key -> bucket of every record stored in live data files (retractions included).
std::map<std::pair<std::string, int64_t>, std::set<int32_t>> StoredBuckets(const Table& t) {
  std::map<std::pair<std::string, int64_t>, std::set<int32_t>> out;
  auto plan = t.NewScan().PlanLatest();
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (!plan.ok()) return out;
  auto read = t.NewRead();
  EXPECT_TRUE(read.ok());
  for (auto split : plan->splits) {
    split.raw_changes = true;  // every stored record, unmerged
    ScanPlan one;
    one.snapshot_id = plan->snapshot_id;
    one.splits.push_back(split);
    auto rows = (*read)->ReadAll(one);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok()) continue;
    for (size_t i = 0; i < rows->size(); ++i) {
      Row r = rows->rows.GetRow(i);
      out[{r[0].as_bytes(), r[1].as_int()}].insert(split.bucket);
    }
  }
  return out;
}

TEST(DynamicBucketTest, NewKeysFillBucketsUpToTheTargetAndKeepTheirBucket) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {{"dynamic-bucket.target-row-num", "10"}}, /*partitioned=*/false);
  EXPECT_EQ(t->schema().table_options().bucket(), -1);
  auto w = t->NewWriter("u");
  for (int64_t k = 0; k < 35; ++k) KL_ASSERT_OK(w->WriteRow(R("a", k, k)));
  auto c = w->Commit(1);
  KL_ASSERT_OK(c.status());
  auto index = LiveHashIndex(*t);
  ASSERT_EQ(index.size(), 4u);
  std::vector<size_t> sizes;
  for (const auto& [key, hashes] : index) sizes.push_back(hashes.size());
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 10, 5}));
  // Every stored key is in the HASH file of its own bucket.
  for (const auto& [key, buckets] : StoredBuckets(*t)) {
    ASSERT_EQ(buckets.size(), 1u);
    const auto& hashes = index[{SerializeBinaryRow({}, {}), *buckets.begin()}];
    // Unpartitioned: the trimmed key is (p, k).
    int32_t h = HashBytesByWords(EncodeBinaryRow({Datum::Bytes(key.first), Datum::Int(key.second)},
                                                 {DataType::String().NotNull(), DataType::Int().NotNull()}));
    EXPECT_NE(std::find(hashes.begin(), hashes.end(), h), hashes.end()) << key.second;
  }
  // Manifest entries carry Paimon's total bucket count for dynamic mode: -1.
  auto plan = t->NewScan().PlanLatest();
  KL_ASSERT_OK(plan.status());
  for (const auto& s : plan->splits) EXPECT_EQ(s.total_buckets, -1);

  // A new writer (a restart) updates every key in place and adds new keys after the full buckets.
  w = t->NewWriter("u");
  for (int64_t k = 0; k < 40; ++k) KL_ASSERT_OK(w->WriteRow(R("a", k, 100 + k)));
  KL_ASSERT_OK(w->Commit(2).status());
  auto stored = StoredBuckets(*t);
  ASSERT_EQ(stored.size(), 40u);
  for (const auto& [key, buckets] : stored) EXPECT_EQ(buckets.size(), 1u) << "key " << key.second;
  auto rows = t->ReadAll();
  KL_ASSERT_OK(rows.status());
  ASSERT_EQ(rows->size(), 40u);
  for (size_t i = 0; i < rows->size(); ++i)
    EXPECT_EQ(rows->rows.GetRow(i)[2].as_int(), 100 + rows->rows.GetRow(i)[1].as_int());
  index = LiveHashIndex(*t);
  ASSERT_EQ(index.size(), 4u);
  EXPECT_EQ(index.rbegin()->second.size(), 10u);  // bucket 3 took the 5 new keys
}

TEST(DynamicBucketTest, InitialBucketsSpreadNewKeysAndMaxBucketsCapsThem) {
  testing::TempDir dir;
  {
    auto t = MakeTable(dir.Sub("spread"), {{"dynamic-bucket.initial-buckets", "4"}});
    auto w = t->NewWriter("u");
    for (int64_t k = 0; k < 200; ++k) KL_ASSERT_OK(w->WriteRow(R("a", k, k)));
    KL_ASSERT_OK(w->Commit(1).status());
    auto index = LiveHashIndex(*t);
    ASSERT_EQ(index.size(), 4u);
    int32_t expect = 0;
    for (const auto& [key, hashes] : index) {
      EXPECT_EQ(key.second, expect++);
      EXPECT_GT(hashes.size(), 20u);
    }
    // A key's bucket is its assigner's: (|partition hash % 4| + |key hash % 4|) % 4.
    int32_t part_hash = HashBytesByWords(EncodeBinaryRow({Datum::Bytes("a")}, {DataType::String()}));
    for (const auto& [key, buckets] : StoredBuckets(*t)) {
      int32_t h = HashOfKey(key.second);
      int32_t assigner = (std::abs(part_hash % 4) + std::abs(h % 4)) % 4;
      EXPECT_EQ(*buckets.begin(), assigner) << key.second;
    }
  }
  {
    auto t =
        MakeTable(dir.Sub("capped"), {{"dynamic-bucket.target-row-num", "5"}, {"dynamic-bucket.max-buckets", "3"}});
    auto w = t->NewWriter("u");
    for (int64_t k = 0; k < 60; ++k) KL_ASSERT_OK(w->WriteRow(R("a", k, k)));
    KL_ASSERT_OK(w->Commit(1).status());
    auto stored = StoredBuckets(*t);
    ASSERT_EQ(stored.size(), 60u);
    std::set<int32_t> used;
    for (const auto& [key, buckets] : stored) used.insert(buckets.begin(), buckets.end());
    EXPECT_EQ(used, (std::set<int32_t>{0, 1, 2}));
    size_t indexed = 0;
    for (const auto& [key, hashes] : LiveHashIndex(*t)) indexed += hashes.size();
    EXPECT_EQ(indexed, 60u);
  }
}

TEST(DynamicBucketTest, PartitionsHaveTheirOwnBuckets) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {{"dynamic-bucket.target-row-num", "3"}});
  auto w = t->NewWriter("u");
  for (int64_t k = 0; k < 7; ++k) KL_ASSERT_OK(w->WriteRow(R("a", k, k)));
  for (int64_t k = 0; k < 2; ++k) KL_ASSERT_OK(w->WriteRow(R("b", k, k)));
  KL_ASSERT_OK(w->Commit(1).status());
  auto index = LiveHashIndex(*t);
  std::map<std::string, std::vector<size_t>> per_partition;
  for (const auto& [key, hashes] : index) per_partition[key.first].push_back(hashes.size());
  EXPECT_EQ(per_partition[PartitionRow("a")], (std::vector<size_t>{3, 3, 1}));
  EXPECT_EQ(per_partition[PartitionRow("b")], (std::vector<size_t>{2}));
  // The same key in two partitions is two keys.
  auto rows = t->ReadAll();
  KL_ASSERT_OK(rows.status());
  EXPECT_EQ(rows->size(), 9u);
  // Files sit in the partition's bucket directories.
  EXPECT_TRUE(IsDirectory(JoinPath(t->path(), "p=a/bucket-2")));
  EXPECT_TRUE(IsDirectory(JoinPath(t->path(), "p=b/bucket-0")));
  EXPECT_FALSE(IsDirectory(JoinPath(t->path(), "p=b/bucket-1")));
}

TEST(DynamicBucketTest, APartitionLeftIdleIsReloadedFromTheIndex) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {{"dynamic-bucket.target-row-num", "4"}});
  auto w = t->NewWriter("u");
  for (int64_t k = 0; k < 10; ++k) KL_ASSERT_OK(w->WriteRow(R("a", k, k)));
  KL_ASSERT_OK(w->Commit(1).status());
  // Partition a goes unwritten for more commits than the writer keeps an idle partition.
  for (int64_t c = 2; c < 40; ++c) {
    KL_ASSERT_OK(w->WriteRow(R("b", c, c)));
    KL_ASSERT_OK(w->Commit(c).status());
  }
  for (int64_t k = 0; k < 14; ++k) KL_ASSERT_OK(w->WriteRow(R("a", k, 100 + k)));
  KL_ASSERT_OK(w->Commit(40).status());
  for (const auto& [key, buckets] : StoredBuckets(*t)) EXPECT_EQ(buckets.size(), 1u) << key.first << "/" << key.second;
  std::vector<size_t> sizes;
  for (const auto& [key, hashes] : LiveHashIndex(*t)) {
    if (key.first == PartitionRow("a")) sizes.push_back(hashes.size());
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{4, 4, 4, 2}));  // bucket 2 filled up, then bucket 3
}

TEST(DynamicBucketTest, HashToBucketAgreesWithAStandardMap) {
  HashToBucket map;
  std::unordered_map<int32_t, int16_t> model;
  Random rng(5);
  for (int i = 0; i < 300000; ++i) {
    int32_t h = i % 7 == 0 ? static_cast<int32_t>(rng.Uniform(64)) - 32 : static_cast<int32_t>(rng.Next());
    if (i == 1) h = INT32_MIN;
    auto b = static_cast<int16_t>(rng.Uniform(32767));
    bool added = model.emplace(h, b).second;
    ASSERT_EQ(map.Insert(h, b), added);
  }
  ASSERT_EQ(map.size(), model.size());
  for (const auto& [h, b] : model) ASSERT_EQ(map.Find(h), b);
  for (int i = 0; i < 1000; ++i) {
    auto h = static_cast<int32_t>(rng.Next());
    ASSERT_EQ(map.Find(h), model.count(h) ? model[h] : -1);
  }
}

TEST(DynamicBucketTest, IndexManifestIsPaimonsAvroRecord) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {});
  auto w = t->NewWriter("u");
  KL_ASSERT_OK(w->WriteRow(R("a", 1, 1)));
  KL_ASSERT_OK(w->Commit(1).status());
  auto latest = t->snapshots().Latest();
  KL_ASSERT_OK(latest.status());
  ASSERT_TRUE((*latest)->index_manifest.has_value());
  EXPECT_EQ((*latest)->index_manifest->rfind("index-manifest-", 0), 0u);
  std::string path = JoinPath(t->context()->paths().ManifestDir(), *(*latest)->index_manifest);
  auto reader = format::avro::AvroReader::Open(path);
  KL_ASSERT_OK(reader.status());
  // The same Avro schema Java Paimon writes (the index manifest of a Java-written table).
  EXPECT_EQ((*reader)->metadata().at("avro.schema"),
            R"({"type":"record","name":"record","namespace":"org.apache.paimon.avro.generated","fields":[)"
            R"({"name":"_VERSION","type":"int"},{"name":"_KIND","type":"int"},{"name":"_PARTITION","type":"bytes"},)"
            R"({"name":"_BUCKET","type":"int"},{"name":"_INDEX_TYPE","type":"string"},)"
            R"({"name":"_FILE_NAME","type":"string"},{"name":"_FILE_SIZE","type":"long"},)"
            R"({"name":"_ROW_COUNT","type":"long"},{"name":"_DELETIONS_VECTORS_RANGES","type":["null",)"
            R"({"type":"array","items":["null",{"type":"record","name":"record__DELETIONS_VECTORS_RANGES",)"
            R"("fields":[{"name":"f0","type":"string"},{"name":"f1","type":"int"},{"name":"f2","type":"int"},)"
            R"({"name":"_CARDINALITY","type":["null","long"],"default":null}]}]}],"default":null},)"
            R"({"name":"_EXTERNAL_PATH","type":["null","string"],"default":null}]})");
  auto entries = ReadIndexManifest(path);
  KL_ASSERT_OK(entries.status());
  ASSERT_EQ(entries->size(), 1u);
  const auto& e = (*entries)[0];
  EXPECT_EQ(e.file.index_type, "HASH");
  EXPECT_EQ(e.file.row_count, 1);
  EXPECT_EQ(e.file.file_size, 4);
  EXPECT_TRUE(e.file.dv_ranges.empty());
  EXPECT_EQ(e.file.file_name.rfind("index-", 0), 0u);
  // The file: the key's hash as one big-endian int32.
  auto bytes = ReadFile(JoinPath(t->path(), "index/" + e.file.file_name));
  KL_ASSERT_OK(bytes.status());
  EXPECT_EQ(*bytes, EncodeHashIndex({HashOfKey(1)}));
  auto h = static_cast<uint32_t>(HashOfKey(1));
  EXPECT_EQ(static_cast<unsigned char>((*bytes)[0]), h >> 24);
}

// Independent readers (Debian's python3-avro, Python's struct) see Paimon's records and hashes.
TEST(DynamicBucketTest, IndependentReadersDecodeTheIndex) {
  if (std::system("/usr/bin/python3 -c 'import avro, zstandard' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-avro / python3-zstandard not installed";
  }
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {{"dynamic-bucket.target-row-num", "2"}});
  auto w = t->NewWriter("u");
  for (int64_t k = 0; k < 3; ++k) KL_ASSERT_OK(w->WriteRow(R("a", k, k)));
  KL_ASSERT_OK(w->Commit(1).status());
  auto latest = t->snapshots().Latest();
  KL_ASSERT_OK(latest.status());
  std::string script = dir.Sub("dump.py");
  KL_ASSERT_OK(WriteFile(script,
                         "import avro.datafile, avro.io, struct, sys\n"
                         "r = avro.datafile.DataFileReader(open(sys.argv[1], 'rb'), avro.io.DatumReader())\n"
                         "for e in sorted(r, key=lambda e: e['_BUCKET']):\n"
                         "    data = open(sys.argv[2] + '/' + e['_FILE_NAME'], 'rb').read()\n"
                         "    assert len(data) == e['_FILE_SIZE'] == 4 * e['_ROW_COUNT']\n"
                         "    hashes = sorted(struct.unpack('>%di' % e['_ROW_COUNT'], data))\n"
                         "    print(e['_VERSION'], e['_KIND'], e['_PARTITION'].hex(), e['_BUCKET'], e['_INDEX_TYPE'],\n"
                         "          e['_DELETIONS_VECTORS_RANGES'], e['_EXTERNAL_PATH'], *hashes)\n"));
  std::string out_path = dir.Sub("out.txt");
  std::string cmd = "/usr/bin/python3 " + script + " " +
                    JoinPath(t->context()->paths().ManifestDir(), *(*latest)->index_manifest) + " " +
                    JoinPath(t->path(), "index") + " > " + out_path + " 2>&1";
  int rc = std::system(cmd.c_str());
  auto out = ReadFile(out_path);
  ASSERT_EQ(rc, 0) << (out.ok() ? *out : "");
  std::string hex;
  for (unsigned char ch : PartitionRow("a")) hex += fmt::format("{:02x}", ch);
  std::vector<int32_t> first = {HashOfKey(0), HashOfKey(1)};
  std::sort(first.begin(), first.end());
  EXPECT_EQ(*out, fmt::format("1 0 {} 0 HASH None None {} {}\n1 0 {} 1 HASH None None {}\n", hex, first[0], first[1],
                              hex, HashOfKey(2)));
}

TEST(DynamicBucketTest, CorruptOrTruncatedIndexFilesNameTheFile) {
  for (int variant = 0; variant < 4; ++variant) {
    SCOPED_TRACE(variant);
    testing::TempDir dir;
    auto t = MakeTable(dir.Sub("t"), {});
    auto w = t->NewWriter("u");
    for (int64_t k = 0; k < 10; ++k) KL_ASSERT_OK(w->WriteRow(R("a", k, k)));
    KL_ASSERT_OK(w->Commit(1).status());
    auto names = ListDir(JoinPath(t->path(), "index"));
    KL_ASSERT_OK(names.status());
    ASSERT_EQ(names->size(), 1u);
    std::string file = JoinPath(t->path(), "index/" + (*names)[0]);
    auto bytes = ReadFile(file);
    KL_ASSERT_OK(bytes.status());
    if (variant == 0) KL_ASSERT_OK(WriteFile(file, bytes->substr(0, 38)));  // cut mid-hash
    if (variant == 1) KL_ASSERT_OK(WriteFile(file, bytes->substr(0, 36)));  // a whole hash short
    if (variant == 2) KL_ASSERT_OK(RemoveFile(file));
    if (variant == 3) KL_ASSERT_OK(WriteFile(file, *bytes + std::string(4, 'x')));  // grown
    auto again = t->NewWriter("u");
    Status s = again->WriteRow(R("a", 1, 1));
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find((*names)[0]), std::string::npos) << s.ToString();
    // Reads do not need the index.
    auto rows = t->ReadAll();
    KL_ASSERT_OK(rows.status());
    EXPECT_EQ(rows->size(), 10u);
  }
  // The parser alone: not a whole number of hashes, a count that is not the manifest's.
  EXPECT_FALSE(ParseHashIndex("abcde", "f", -1).ok());
  EXPECT_FALSE(ParseHashIndex("abcdefgh", "f", 3).ok());
  auto two = ParseHashIndex(std::string("\x80\0\0\1\0\0\0\2", 8), "f", 2);
  KL_ASSERT_OK(two.status());
  EXPECT_EQ(*two, (std::vector<int32_t>{INT32_MIN + 1, 2}));
}

TEST(DynamicBucketTest, BucketWithDataButNoHashFileIsRefused) {
  testing::TempDir dir;
  // Written with a fixed bucket, then switched to dynamic mode: the keys have no index.
  auto t = MakeTable(dir.Sub("t"), {{"bucket", "2"}});
  auto w = t->NewWriter("u");
  for (int64_t k = 0; k < 10; ++k) KL_ASSERT_OK(w->WriteRow(R("a", k, k)));
  KL_ASSERT_OK(w->Commit(1).status());
  auto dynamic = Table::Open(t->path(), {{"bucket", "-1"}});
  KL_ASSERT_OK(dynamic.status());
  Status s = (*dynamic)->NewWriter("u")->WriteRow(R("a", 1, 2));
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("no HASH index file"), std::string::npos) << s.ToString();
}

TEST(DynamicBucketTest, TwoWritersAtOnceConflictInsteadOfLosingKeys) {
  testing::TempDir dir;
  auto t = MakeTable(dir.Sub("t"), {});
  auto first = t->NewWriter("one");
  KL_ASSERT_OK(first->WriteRow(R("a", 1, 1)));
  KL_ASSERT_OK(first->Commit(1).status());
  auto a = t->NewWriter("one");
  auto b = t->NewWriter("two");
  KL_ASSERT_OK(a->WriteRow(R("a", 2, 2)));
  KL_ASSERT_OK(b->WriteRow(R("a", 3, 3)));
  KL_ASSERT_OK(a->Commit(2).status());
  auto lost = b->Commit(1);
  ASSERT_FALSE(lost.ok());
  EXPECT_TRUE(lost.status().IsConflict()) << lost.status().ToString();
  // Nothing of the loser landed; the winner's keys are indexed.
  size_t indexed = 0;
  for (const auto& [key, hashes] : LiveHashIndex(*t)) indexed += hashes.size();
  EXPECT_EQ(indexed, 2u);
}

TEST(DynamicBucketTest, CrossPartitionUpsertIsRefusedClearly) {
  testing::TempDir dir;
  std::vector<format::DataField> fields = {
      {0, "p", DataType::String(), ""}, {1, "k", DataType::Int().NotNull(), ""}, {2, "v", DataType::BigInt(), ""}};
  auto schema = NewTableSchema(fields, {"p"}, {"k"}, {});
  ASSERT_FALSE(schema.ok());
  EXPECT_NE(schema.status().message().find("cross-partition"), std::string::npos) << schema.status().ToString();
  auto bucket_key = NewTableSchema(fields, {}, {"k"}, {{"bucket-key", "k"}});
  ASSERT_FALSE(bucket_key.ok());
  EXPECT_NE(bucket_key.status().message().find("bucket-key"), std::string::npos);
  // A table another engine created that way reads, but kubelake does not write it.
  TableSchema raw;
  raw.fields = format::RowType(fields);
  raw.partition_keys = {"p"};
  raw.primary_keys = {"k"};
  raw.options = Quiet({});
  KL_ASSERT_OK(CreateDirs(dir.Sub("t/schema")));
  KL_ASSERT_OK(WriteFile(dir.Sub("t/schema/schema-0"), raw.ToJson()));
  auto t = Table::Open(dir.Sub("t"));
  KL_ASSERT_OK(t.status());
  Status s = (*t)->NewWriter("u")->WriteRow(R("a", 1, 1));
  ASSERT_EQ(s.code(), StatusCode::kNotSupported) << s.ToString();
  EXPECT_NE(s.message().find("cross-partition"), std::string::npos);
  KL_ASSERT_OK((*t)->ReadAll().status());
}

TEST(DynamicBucketTest, ExpiryAndOrphanRemovalKeepLiveIndexFilesOnly) {
  testing::TempDir dir;
  auto t = MakeTable(
      dir.Sub("t"),
      {{"snapshot.num-retained.min", "2"}, {"snapshot.num-retained.max", "2"}, {"dynamic-bucket.target-row-num", "4"}});
  auto w = t->NewWriter("u");
  for (int64_t c = 1; c <= 8; ++c) {
    for (int64_t k = 0; k < 3; ++k) KL_ASSERT_OK(w->WriteRow(R("a", c * 3 + k, c)));
    KL_ASSERT_OK(w->Commit(c).status());
  }
  // Every index file left is one a kept snapshot lists; those of expired snapshots are gone.
  auto kept = t->snapshots().ListIds();
  KL_ASSERT_OK(kept.status());
  ASSERT_EQ(kept->size(), 2u);
  std::set<std::string> referenced;
  for (int64_t id : *kept) {
    auto s = t->snapshots().Read(id);
    KL_ASSERT_OK(s.status());
    ASSERT_TRUE(s->index_manifest.has_value());
    auto entries = ReadIndexManifest(JoinPath(t->context()->paths().ManifestDir(), *s->index_manifest));
    KL_ASSERT_OK(entries.status());
    for (const auto& e : *entries) referenced.insert(e.file.file_name);
  }
  auto on_disk = ListDir(JoinPath(t->path(), "index"));
  KL_ASSERT_OK(on_disk.status());
  EXPECT_EQ(std::set<std::string>(on_disk->begin(), on_disk->end()), referenced);
  std::set<std::string> index_manifests;
  auto manifest_files = ListDir(t->context()->paths().ManifestDir());
  KL_ASSERT_OK(manifest_files.status());
  for (const auto& n : *manifest_files) {
    if (n.rfind("index-manifest-", 0) == 0) index_manifests.insert(n);
  }
  EXPECT_LE(index_manifests.size(), 2u);
  // Orphan removal keeps them, and takes an index file nothing lists.
  KL_ASSERT_OK(WriteFile(JoinPath(t->path(), "index/index-orphan-0"), "abcd"));
  auto orphans = RemoveOrphanFiles(t->context(), NowMillis() + 1000);
  KL_ASSERT_OK(orphans.status());
  EXPECT_EQ(orphans->deleted, (std::vector<std::string>{"index/index-orphan-0"}));
  // A restarted writer still finds every key.
  w = t->NewWriter("u");
  for (int64_t k = 3; k < 27; ++k) KL_ASSERT_OK(w->WriteRow(R("a", k, -k)));
  KL_ASSERT_OK(w->Commit(100).status());
  for (const auto& [key, buckets] : StoredBuckets(*t)) EXPECT_EQ(buckets.size(), 1u) << key.second;
  auto rows = t->ReadAll();
  KL_ASSERT_OK(rows.status());
  EXPECT_EQ(rows->size(), 24u);
}

// Orphan removal used to miss index files: on a Java-written deletion-vector table it must keep
// the vectors (reads depend on them) and expiry must not touch them while a snapshot lists them.
TEST(DynamicBucketTest, MaintenanceKeepsJavaDeletionVectorFiles) {
  KL_REQUIRE_SHARED("paimon-compat/tables/parquet/pk_table_with_dv_cardinality.db/pk_table_with_dv_cardinality", src);
  testing::TempDir dir;
  std::string copy = dir.Sub("t");
  std::filesystem::copy(src, copy, std::filesystem::copy_options::recursive);
  auto t = Table::Open(copy);
  KL_ASSERT_OK(t.status());
  auto before = (*t)->ReadAll();
  KL_ASSERT_OK(before.status());
  auto orphans = RemoveOrphanFiles((*t)->context(), NowMillis() + 3600 * 1000);
  KL_ASSERT_OK(orphans.status());
  for (const auto& f : orphans->deleted) EXPECT_NE(f.rfind("index/", 0), 0u) << f;
  EXPECT_EQ(ListDir(JoinPath(copy, "index"))->size(), 2u);
  auto after = (*t)->ReadAll();
  KL_ASSERT_OK(after.status());
  EXPECT_EQ(after->size(), before->size());
}

TEST(WholeRowBucketTest, AppendTableWithoutBucketKeyHashesEveryField) {
  testing::TempDir dir;
  std::vector<format::DataField> fields = {{0, "ingest_time", DataType::BigInt(), ""},
                                           {1, "cluster", DataType::String(), ""},
                                           {2, "content", DataType::String(), ""}};
  auto schema = NewTableSchema(fields, {"cluster"}, {}, Quiet({{"bucket", "8"}, {"file.format", "avro"}}));
  KL_ASSERT_OK(schema.status());
  auto t = Table::Create(dir.Sub("ods"), *schema);
  KL_ASSERT_OK(t.status());
  auto w = (*t)->NewWriter("u");
  std::vector<Row> rows;
  for (int64_t i = 0; i < 200; ++i) {
    rows.push_back(
        {Datum::Int(1000 + i), Datum::Bytes(i % 2 ? "c1" : "c2"), Datum::Bytes("{\"n\":" + std::to_string(i) + "}")});
    KL_ASSERT_OK(w->WriteRow(rows.back()));
  }
  KL_ASSERT_OK(w->Commit(1).status());
  std::vector<DataType> types = {DataType::BigInt(), DataType::String(), DataType::String()};
  std::map<std::pair<std::string, int64_t>, int32_t> want;  // (cluster, time) -> bucket
  std::set<int32_t> buckets_used;
  for (const auto& r : rows) {
    // The bucket key is the whole row, the partition column included (Paimon before 0.8).
    int32_t b = BucketOf(EncodeBinaryRow(r, types), 8);
    want[{r[1].as_bytes(), r[0].as_int()}] = b;
    buckets_used.insert(b);
  }
  EXPECT_EQ(buckets_used.size(), 8u);
  auto plan = (*t)->NewScan().PlanLatest();
  KL_ASSERT_OK(plan.status());
  auto read = (*t)->NewRead();
  KL_ASSERT_OK(read.status());
  size_t seen = 0;
  for (const auto& split : plan->splits) {
    EXPECT_EQ(split.total_buckets, 8);
    ScanPlan one;
    one.splits.push_back(split);
    auto got = (*read)->ReadAll(one);
    KL_ASSERT_OK(got.status());
    for (size_t i = 0; i < got->size(); ++i) {
      Row r = got->rows.GetRow(i);
      EXPECT_EQ(split.bucket, (want[{r[1].as_bytes(), r[0].as_int()}]));
      ++seen;
    }
  }
  EXPECT_EQ(seen, rows.size());
}

// ---- property test ----

enum class Engine { kDedup, kAggregationSum };

struct Config {
  std::string name;
  Engine engine;
  std::string producer;
};

struct Record {
  Row values;
  RowKind kind;
  int64_t seq;
};

using Key = std::pair<std::string, int64_t>;

class DynamicBucketRun {
 public:
  DynamicBucketRun(const Config& config, uint64_t seed, std::string dir)
      : config_(config), rng_(seed), dir_(std::move(dir)) {}

  void Run(int steps) {
    std::map<std::string, std::string> options = {
        {"dynamic-bucket.target-row-num", std::to_string(8 + rng_.Uniform(20))},
        {"changelog-producer", config_.producer},
        {"write-buffer-size", rng_.OneIn(2) ? "64mb" : "4kb"},
        {"num-sorted-run.compaction-trigger", "3"},
        {"snapshot.num-retained.min", "3"},
        {"snapshot.num-retained.max", std::to_string(3 + rng_.Uniform(6))},
        {"file.format", rng_.OneIn(2) ? "parquet" : "avro"}};
    if (rng_.OneIn(3)) options["dynamic-bucket.initial-buckets"] = std::to_string(2 + rng_.Uniform(3));
    if (rng_.OneIn(4)) options["dynamic-bucket.max-buckets"] = std::to_string(3 + rng_.Uniform(3));
    if (config_.engine == Engine::kAggregationSum) {
      options["merge-engine"] = "aggregation";
      options["fields.v.aggregate-function"] = "sum";
    }
    target_ = std::stoll(options["dynamic-bucket.target-row-num"]);
    capped_ = options.count("dynamic-bucket.max-buckets") != 0;
    table_ = MakeTable(dir_, options);
    ASSERT_NE(table_, nullptr);
    writer_ = table_->NewWriter("dyn");
    for (int step = 0; step < steps && !::testing::Test::HasFatalFailure(); ++step) {
      uint64_t op = rng_.Uniform(100);
      if (op < 60) {
        WriteRandom(1 + rng_.Uniform(60));
      } else if (op < 85) {
        Commit();
      } else if (op < 92) {
        KL_ASSERT_OK(writer_->Compact(rng_.OneIn(2)));
        Commit();
      } else {
        Commit();
        writer_ = table_->NewWriter("dyn");  // restart: the index comes from the table
      }
    }
    Commit();
    // The run must have exercised what it is about: buckets that filled up and new ones.
    size_t most = 0;
    std::map<std::string, std::set<int32_t>> buckets;
    for (const auto& [key, bucket] : bucket_of_) buckets[key.first].insert(bucket);
    for (const auto& [p, b] : buckets) most = std::max(most, b.size());
    EXPECT_GE(most, 3u) << "no partition grew past two buckets";
  }

 private:
  void WriteRandom(size_t n) {
    format::ColumnBatch batch(table_->schema().fields);
    std::vector<RowKind> kinds;
    // Mostly keys seen before, some new ones: buckets fill and new ones open over the run.
    for (size_t i = 0; i < n; ++i) {
      std::string p = rng_.OneIn(3) ? "east" : "west";
      int64_t k =
          rng_.OneIn(3) ? next_key_++ : static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(next_key_ + 1)));
      Row row = R(p, k, rng_.Range(-50, 50));
      RowKind kind = RowKind::kInsert;
      if (config_.engine == Engine::kDedup) {
        uint64_t r = rng_.Uniform(100);
        kind = r < 60 ? RowKind::kInsert : r < 80 ? RowKind::kUpdateAfter : RowKind::kDelete;
      }
      batch.AppendRow(row);
      kinds.push_back(kind);
      pending_.push_back(Record{row, kind, next_seq_++});
    }
    KL_ASSERT_OK(writer_->Write(batch, &kinds));
  }

  std::map<Key, Row> Model(const std::vector<Record>& records) const {
    std::map<Key, Row> out;
    for (const auto& r : records) {
      Key key{r.values[0].as_bytes(), r.values[1].as_int()};
      if (config_.engine == Engine::kDedup) {
        if (format::IsRetract(r.kind)) {
          out.erase(key);
        } else {
          out[key] = r.values;
        }
      } else {
        auto it = out.find(key);
        if (it == out.end())
          out[key] = r.values;
        else
          it->second[2] = Datum::Int(it->second[2].as_int() + r.values[2].as_int());
      }
    }
    return out;
  }

  static std::multiset<std::string> Text(const std::map<Key, Row>& state) {
    std::multiset<std::string> out;
    for (const auto& [k, row] : state) out.insert(RowText(row));
    return out;
  }
  static std::string RowText(const Row& row) {
    std::string s;
    for (const auto& d : row) s += format::DatumDebugString(d) + "|";
    return s;
  }

  void Commit() {
    auto before = Model(committed_);
    auto result = writer_->Commit(++commit_id_);
    ASSERT_TRUE(result.ok()) << config_.name << ": " << result.status().ToString();
    committed_.insert(committed_.end(), pending_.begin(), pending_.end());
    pending_.clear();
    auto after = Model(committed_);
    auto rows = table_->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    std::multiset<std::string> got;
    for (size_t i = 0; i < rows->size(); ++i) got.insert(RowText(rows->rows.GetRow(i)));
    ASSERT_TRUE(got == Text(after)) << config_.name << ": reads differ from the model after commit " << commit_id_;

    // Each key lives in one bucket for ever: the one it first landed in.
    for (const auto& [key, buckets] : StoredBuckets(*table_)) {
      ASSERT_EQ(buckets.size(), 1u) << "key " << key.first << "/" << key.second << " is stored in two buckets";
      auto [it, first] = bucket_of_.emplace(key, *buckets.begin());
      ASSERT_EQ(it->second, *buckets.begin()) << "key " << key.first << "/" << key.second << " moved from bucket "
                                              << it->second << " to " << *buckets.begin();
    }
    // The HASH files hold exactly the keys each bucket ever received, within the target.
    std::map<std::pair<std::string, int32_t>, std::set<int32_t>> want;
    for (const auto& [key, bucket] : bucket_of_) want[{PartitionRow(key.first), bucket}].insert(HashOfKey(key.second));
    auto index = LiveHashIndex(*table_);
    std::map<std::pair<std::string, int32_t>, std::set<int32_t>> have;
    for (const auto& [key, hashes] : index) {
      have[key] = std::set<int32_t>(hashes.begin(), hashes.end());
      ASSERT_EQ(have[key].size(), hashes.size()) << "a HASH file repeats a hash";
      if (!capped_) {
        ASSERT_LE(static_cast<int64_t>(hashes.size()), target_) << "bucket " << key.second << " overfull";
      }
    }
    for (const auto& [key, hashes] : want) {
      for (int32_t h : hashes) ASSERT_TRUE(have[key].count(h)) << "bucket " << key.second << " lacks a key's hash";
    }
    CheckChangelog(result->snapshot_ids, before, after);
  }

  void CheckChangelog(const std::vector<int64_t>& snapshots, const std::map<Key, Row>& before,
                      const std::map<Key, Row>& after) {
    if (config_.producer != "lookup" || snapshots.empty()) return;
    auto plan = table_->NewScan().PlanChanges(snapshots.front());
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    auto read = table_->NewRead();
    ASSERT_TRUE(read.ok());
    auto changes = (*read)->ReadAll(*plan);
    ASSERT_TRUE(changes.ok()) << changes.status().ToString();
    std::multiset<std::string> state = Text(before);
    for (size_t i = 0; i < changes->size(); ++i) {
      std::string row = RowText(changes->rows.GetRow(i));
      if (format::IsRetract(changes->kinds[i])) {
        auto it = state.find(row);
        ASSERT_NE(it, state.end()) << config_.name << ": changelog retracts a row that is not there: " << row;
        state.erase(it);
      } else {
        state.insert(row);
      }
    }
    ASSERT_TRUE(state == Text(after)) << config_.name << ": changelog of commit " << commit_id_ << " does not apply";
  }

  const Config& config_;
  Random rng_;
  std::string dir_;
  std::shared_ptr<Table> table_;
  std::unique_ptr<TableWriter> writer_;
  std::vector<Record> pending_, committed_;
  std::map<Key, int32_t> bucket_of_;
  int64_t next_key_ = 0;
  int64_t next_seq_ = 0;
  int64_t commit_id_ = 0;
  int64_t target_ = 0;
  bool capped_ = false;
};

class DynamicBucketPropertyTest : public ::testing::TestWithParam<int> {};

const std::vector<Config>& Configs() {
  static const std::vector<Config> configs = {{"dedup", Engine::kDedup, "none"},
                                              {"dedup_lookup", Engine::kDedup, "lookup"},
                                              {"aggregation_lookup", Engine::kAggregationSum, "lookup"}};
  return configs;
}

TEST_P(DynamicBucketPropertyTest, ReadsChangelogAndIndexMatchModel) {
  const Config& config = Configs()[static_cast<size_t>(GetParam())];
  const char* env = std::getenv("KUBELAKE_PROPERTY_SEQUENCES");
  int sequences = env != nullptr ? std::max(1, std::atoi(env)) : 3;
  for (int i = 0; i < sequences && !HasFatalFailure(); ++i) {
    testing::TempDir dir;
    uint64_t seed = 7919ULL * static_cast<uint64_t>(i + 1) + static_cast<uint64_t>(GetParam());
    SCOPED_TRACE("seed " + std::to_string(seed));
    DynamicBucketRun run(config, seed, dir.Sub("t"));
    run.Run(60);
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, DynamicBucketPropertyTest, ::testing::Range(0, 3),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return Configs()[static_cast<size_t>(info.param)].name;
                         });

}  // namespace
}  // namespace kl::table
