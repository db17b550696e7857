#include "table/mergetree/lookup_state.h"

#include <gtest/gtest.h>

#include <map>

#include "common/random.h"
#include "common/testing/test_util.h"
#include "table/data/binary_row.h"

namespace kl::table {
namespace {

using format::DataField;
using format::DataType;
using format::Datum;
using format::Row;
using format::RowKind;
using format::RowType;

RowType AllTypes() {
  std::vector<DataType> types = {DataType::String(),
                                 DataType::BigInt(),
                                 DataType::Boolean(),
                                 DataType::Int(),
                                 DataType::Double(),
                                 DataType::String(),
                                 DataType::Bytes(),
                                 DataType::Decimal(10, 2),
                                 DataType::Decimal(30, 5),
                                 DataType::Timestamp(9),
                                 DataType::Array(DataType::BigInt())};
  std::vector<DataField> fields;
  for (size_t i = 0; i < types.size(); ++i)
    fields.push_back(DataField{static_cast<int32_t>(i), "f" + std::to_string(i), types[i], ""});
  return RowType(std::move(fields));
}

Row RandomRow(Random& rng, const std::string& key) {
  Row row;
  row.push_back(Datum::Bytes(key));
  row.push_back(rng.OneIn(5) ? Datum() : Datum::Int(static_cast<int64_t>(rng.Next())));
  row.push_back(rng.OneIn(5) ? Datum() : Datum::Bool(rng.OneIn(2)));
  row.push_back(rng.OneIn(5) ? Datum() : Datum::Int(rng.Range(INT32_MIN, INT32_MAX)));
  row.push_back(rng.OneIn(5) ? Datum() : Datum::Double(rng.NextDouble() * 1e6 - 5e5));
  row.push_back(rng.OneIn(5) ? Datum() : Datum::Bytes(rng.Alnum(rng.Uniform(3000))));
  row.push_back(rng.OneIn(5) ? Datum() : Datum::Bytes(std::string(rng.Uniform(40), '\0') + "\xff\x01"));
  row.push_back(rng.OneIn(5) ? Datum() : Datum::Decimal(rng.Range(-999999, 999999)));
  row.push_back(rng.OneIn(5)
                    ? Datum()
                    : Datum::Decimal(static_cast<format::Int128>(static_cast<int64_t>(rng.Next())) * 1000000007));
  row.push_back(rng.OneIn(5) ? Datum()
                             : Datum::Time({rng.Range(-1000000, 1000000), static_cast<int32_t>(rng.Uniform(1000000))}));
  if (rng.OneIn(5)) {
    row.push_back(Datum());
  } else {
    format::DatumList items;
    for (uint64_t i = rng.Uniform(4); i > 0; --i)
      items.push_back(rng.OneIn(4) ? Datum() : Datum::Int(rng.Range(-9, 9)));
    row.push_back(Datum::List(std::move(items)));
  }
  return row;
}

std::string KeyOf(const std::string& k) { return EncodeBinaryRow({Datum::Bytes(k)}, {DataType::String()}); }

struct Stored {
  Row values;
  int64_t seq = 0;
  RowKind kind = RowKind::kInsert;
};

// Get, which must succeed.
std::optional<KvRef> Got(LookupState& state, const std::string& key) {
  auto got = state.Get(key);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  return got.ok() ? *got : std::nullopt;
}

void ExpectRecord(const KvRef& got, const Stored& want, const std::string& what) {
  ASSERT_EQ(got.seq(), want.seq) << what;
  ASSERT_EQ(got.kind(), want.kind) << what;
  ASSERT_EQ(format::CompareRows(got.batch->values.GetRow(got.row), want.values), 0) << what;
}

// Random puts (copied and merged), erasures, rewrites and look-ups against a map of the
// records last stored: every record reads back exactly, values, sequence and kind.
TEST(LookupStateTest, ReadsBackWhatWasStoredAcrossBlocksAndRewrites) {
  Random rng(15);
  RowType type = AllTypes();
  // Column 0 is the key (KeyOf): records leave it out and look-ups decode it from the key.
  LookupState state(type, {}, /*key_columns=*/{0});
  std::map<std::string, Stored> model;
  KvBatch input(type);
  for (int step = 0; step < 6000; ++step) {
    std::string name = "k" + std::to_string(rng.Uniform(700));
    std::string key = KeyOf(name);
    uint64_t op = rng.Uniform(10);
    if (op < 5) {
      Stored s{RandomRow(rng, name), step, rng.OneIn(3) ? RowKind::kUpdateAfter : RowKind::kInsert};
      if (rng.OneIn(2)) {
        input.Clear();
        input.AppendRow(s.values, s.seq, s.kind);
        KvRef now = state.Put(key, input, 0);
        ExpectRecord(now, s, "put " + name);
      } else {
        KvRef now = state.PutMerged(key, s.values, s.seq, s.kind);
        ExpectRecord(now, s, "put merged " + name);
      }
      model[key] = std::move(s);
    } else if (op < 6) {
      state.Erase(key);
      model.erase(key);
    } else if (op < 7) {
      KL_ASSERT_OK(state.MaybeShrink());
    } else {
      auto got = Got(state, key);
      auto it = model.find(key);
      ASSERT_EQ(got.has_value(), it != model.end()) << name << " at step " << step;
      if (got) ExpectRecord(*got, it->second, name + " at step " + std::to_string(step));
    }
  }
  ASSERT_EQ(state.size(), model.size());
  KL_ASSERT_OK(state.MaybeShrink());
  for (const auto& [key, s] : model) {
    auto got = Got(state, key);
    ASSERT_TRUE(got.has_value());
    ExpectRecord(*got, s, "final");
  }
}

// Many keys (the index grows from 16 slots to 64 K), half erased in random order and some
// put back, with no rewrite in between: erasures move later keys of a probe up, and every
// key is still found, and none erased is. Keys of many lengths, some longer than a chunk.
// (With Prefetch hints before puts and look-ups, which change no answer.)
TEST(LookupStateTest, IndexFindsEveryKeyThroughGrowthAndErasures) {
  Random rng(3);
  RowType type({DataField{0, "k", DataType::String(), ""}, DataField{1, "v", DataType::BigInt(), ""}});
  LookupState state(type, {}, /*key_columns=*/{0});
  state.Prefetch(KeyOf("absent"));  // a hint only, also on an empty index
  KvBatch batch(type);
  std::map<std::string, int64_t> model;
  auto put = [&](const std::string& name, int64_t seq) {
    state.Prefetch(KeyOf(name));  // as a flush does ahead of its keys
    batch.Clear();
    batch.AppendRow({Datum::Bytes(name), Datum::Int(seq)}, seq, RowKind::kInsert);
    state.Put(KeyOf(name), batch, 0);
    model[name] = seq;
  };
  std::vector<std::string> names;
  for (int i = 0; i < 30000; ++i) {
    std::string name = std::to_string(i) + std::string(rng.Uniform(i % 1000 == 0 ? 3000 : 60), 'x');
    names.push_back(name);
    put(name, i);
  }
  for (int round = 0; round < 3; ++round) {
    for (const auto& name : names) {
      if (rng.OneIn(2)) {
        state.Erase(KeyOf(name));
        model.erase(name);
      } else if (rng.OneIn(4)) {
        put(name, 100000 * (round + 1) + static_cast<int64_t>(name.size()));
      }
    }
    ASSERT_EQ(state.size(), model.size()) << "round " << round;
    for (const auto& name : names) {
      state.Prefetch(KeyOf(name));
      auto got = Got(state, KeyOf(name));
      auto it = model.find(name);
      ASSERT_EQ(got.has_value(), it != model.end()) << name.substr(0, 8) << " in round " << round;
      if (got) {
        ASSERT_EQ(got->seq(), it->second) << name.substr(0, 8);
        ASSERT_EQ(got->batch->values.GetRow(got->row)[0].as_bytes(), name);
      }
    }
  }
}

// A retraction keeps the key and the sequence fields only, when asked to.
TEST(LookupStateTest, RetractionKeepsOnlyTheColumnsAsked) {
  Random rng(7);
  RowType type = AllTypes();
  LookupState state(type, /*retraction_columns=*/{0, 3}, /*key_columns=*/{0});
  Row row = RandomRow(rng, "gone");
  row[3] = Datum::Int(42);
  row[5] = Datum::Bytes(std::string(2000, 'x'));
  state.PutMerged(KeyOf("gone"), row, 9, RowKind::kDelete);
  auto got = Got(state, KeyOf("gone"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->kind(), RowKind::kDelete);
  EXPECT_EQ(got->seq(), 9);
  Row back = got->batch->values.GetRow(got->row);
  EXPECT_EQ(back[0].as_bytes(), "gone");
  EXPECT_EQ(back[3].as_int(), 42);
  for (size_t c : {1, 2, 4, 5, 6, 7, 8, 9, 10}) EXPECT_TRUE(back[c].is_null()) << c;
  EXPECT_LT(state.live_record_bytes(), 40u);
  // A +I keeps every column.
  state.PutMerged(KeyOf("gone"), row, 10, RowKind::kInsert);
  got = Got(state, KeyOf("gone"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(format::CompareRows(got->batch->values.GetRow(got->row), row), 0);
}

// Key columns come back from the key in the key's order (here the second column first); a key
// with a column of another kind (a double) keeps every column in the records.
TEST(LookupStateTest, KeyColumnsReadBackFromTheKey) {
  RowType type({DataField{0, "n", DataType::Int(), ""}, DataField{1, "s", DataType::String(), ""},
                DataField{2, "d", DataType::Double(), ""}, DataField{3, "b", DataType::Boolean(), ""}});
  Row row = {Datum::Int(-7), Datum::Bytes("a longer string than a slot"), Datum::Double(2.5), Datum::Bool(true)};
  for (bool doubles : {false, true}) {
    std::vector<int> key_columns = doubles ? std::vector<int>{2, 0} : std::vector<int>{1, 0, 3};
    std::vector<DataType> key_types;
    Row key_row;
    for (int c : key_columns) {
      key_types.push_back(type.fields()[static_cast<size_t>(c)].type);
      key_row.push_back(row[static_cast<size_t>(c)]);
    }
    LookupState state(type, {}, key_columns);
    const std::string key = EncodeBinaryRow(key_row, key_types);
    state.PutMerged(key, row, 3, RowKind::kInsert);
    auto got = Got(state, key);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(format::CompareRows(got->batch->values.GetRow(got->row), row), 0) << doubles;
    EXPECT_EQ(got->seq(), 3);
  }
}

// Rows shaped like an object table's (a uid, names, a label set, a few numbers; ~1 KB each
// in columns): the state holds them in well under their size, and gives the memory of
// erased keys back.
TEST(LookupStateTest, BoundsBytesPerKeyAndForgetsErasedKeys) {
  std::vector<DataField> fields;
  const char* strings[] = {"cluster", "uid", "kind", "namespace", "name", "resource_version", "labels", "node"};
  int32_t id = 0;
  for (const char* s : strings) fields.push_back(DataField{id++, s, DataType::String(), ""});
  for (const char* n : {"rv", "event_time", "cpu", "memory"})
    fields.push_back(DataField{id++, n, DataType::BigInt(), ""});
  fields.push_back(DataField{id++, "deleted", DataType::Boolean(), ""});
  RowType type(std::move(fields));
  LookupState state(type, {}, /*key_columns=*/{0, 1});  // (cluster, uid), as DWD's
  Random rng(99);
  constexpr int kKeys = 40000;
  KvBatch batch(type);
  size_t column_bytes = 0;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) {
    std::string uid;
    for (int j = 0; j < 32; ++j) uid.push_back("0123456789abcdef"[rng.Uniform(16)]);
    std::string app = "app-" + std::to_string(i % 97);
    std::string labels = "{\"app\":\"" + app + "\",\"pod-template-hash\":\"" + rng.Alnum(10) + "\",\"team\":\"team-" +
                         std::to_string(i % 13) +
                         "\",\"app.kubernetes.io/managed-by\":\"helm\",\"app.kubernetes.io/part-of\":\"platform\","
                         "\"tier\":\"backend\",\"environment\":\"production\",\"version\":\"v1." +
                         std::to_string(i % 7) + ".0\"," + std::string(400, ' ') + "}";
    Row row = {Datum::Bytes("cluster-a"),
               Datum::Bytes(uid),
               Datum::Bytes("Pod"),
               Datum::Bytes("ns-" + std::to_string(i % 40)),
               Datum::Bytes(app + "-" + rng.Alnum(5)),
               Datum::Bytes(std::to_string(1000000 + i)),
               Datum::Bytes(labels),
               Datum::Bytes("node-" + std::to_string(i % 500)),
               Datum::Int(1000000 + i),
               Datum::Int(1700000000000 + i),
               Datum::Int(250),
               Datum::Int(536870912),
               Datum::Bool(false)};
    batch.Clear();
    batch.AppendRow(row, i, RowKind::kInsert);
    column_bytes += batch.values.UsedBytes();
    keys.push_back(
        EncodeBinaryRow({Datum::Bytes("cluster-a"), Datum::Bytes(uid)}, {DataType::String(), DataType::String()}));
    state.Put(keys.back(), batch, 0);
  }
  ASSERT_EQ(state.size(), static_cast<size_t>(kKeys));
  const double per_key = static_cast<double>(state.MemoryBytes()) / kKeys;
  const double row_bytes = static_cast<double>(column_bytes) / kKeys;
  EXPECT_GT(row_bytes, 700);
  // The index (~40 B a key and the key's ~56 B here) and ~100-200 B of compressed record.
  EXPECT_LT(per_key, 300) << "row of " << row_bytes << " B in columns";
  // Erase nine keys in ten: once rewritten, the state keeps about a tenth.
  const size_t full = state.MemoryBytes();
  for (int i = 0; i < kKeys; ++i) {
    if (i % 10 != 0) state.Erase(keys[static_cast<size_t>(i)]);
  }
  KL_ASSERT_OK(state.MaybeShrink());
  EXPECT_EQ(state.size(), static_cast<size_t>(kKeys / 10));
  EXPECT_LT(state.MemoryBytes(), full / 5);
  auto got = Got(state, keys[10]);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->seq(), 10);
  Row back = got->batch->values.GetRow(got->row);
  EXPECT_EQ(back[0].as_bytes(), "cluster-a");
  EXPECT_EQ(back[1].as_bytes().size(), 32u);
  EXPECT_EQ(back[8].as_int(), 1000010);
  EXPECT_FALSE(Got(state, keys[11]).has_value());
}

// block_reads() counts the compressed blocks a look-up had to decompress: none for records in
// the block being filled or among the plain blocks, one for an old record, none when read again.
TEST(LookupStateTest, CountsBlocksDecompressedForLookups) {
  RowType type({DataField{0, "k", DataType::String(), ""}, DataField{1, "v", DataType::String(), ""}});
  LookupState state(type);
  Random rng(7);
  KvBatch batch(type);
  constexpr int kKeys = 4000;  // ~1 KB each: ~250 blocks, far more than are kept plain
  for (int i = 0; i < kKeys; ++i) {
    batch.Clear();
    batch.AppendRow({Datum::Bytes("k" + std::to_string(i)), Datum::Bytes(rng.Alnum(1000))}, i, RowKind::kInsert);
    state.Put(KeyOf("k" + std::to_string(i)), batch, 0);
  }
  EXPECT_EQ(state.block_reads(), 0u);
  ASSERT_TRUE(Got(state, KeyOf("k" + std::to_string(kKeys - 1))).has_value());   // the block being filled
  ASSERT_TRUE(Got(state, KeyOf("k" + std::to_string(kKeys - 40))).has_value());  // a block sealed lately
  EXPECT_EQ(state.block_reads(), 0u);
  EXPECT_FALSE(Got(state, KeyOf("absent")).has_value());
  EXPECT_EQ(state.block_reads(), 0u);
  auto first = Got(state, KeyOf("k0"));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->seq(), 0);
  EXPECT_EQ(state.block_reads(), 1u);
  ASSERT_TRUE(Got(state, KeyOf("k1")).has_value());  // the same block, plain now
  EXPECT_EQ(state.block_reads(), 1u);
  ASSERT_TRUE(Got(state, KeyOf("k2000")).has_value());
  EXPECT_EQ(state.block_reads(), 2u);
}

// A damaged block (as a memory error would leave it) that fails to decode reads as an error,
// not as nulls; other blocks still read; a rewrite that meets it fails, and the state
// then refuses every look-up.
TEST(LookupStateTest, DamagedBlockIsAnErrorNotNulls) {
  RowType type({DataField{0, "k", DataType::String(), ""}, DataField{1, "v", DataType::String(), ""}});
  LookupState state(type);
  Random rng(5);
  KvBatch batch(type);
  constexpr int kKeys = 2000;  // ~600 B each: ~75 blocks, more than are kept plain
  for (int i = 0; i < kKeys; ++i) {
    batch.Clear();
    batch.AppendRow({Datum::Bytes("k" + std::to_string(i)), Datum::Bytes("v" + std::string(300, 'a') + rng.Alnum(300))},
                    i, RowKind::kInsert);
    state.Put(KeyOf("k" + std::to_string(i)), batch, 0);
  }
  ASSERT_GT(state.block_count(), 20u);
  state.DamageBlockForTest(0);
  auto bad = state.Get(KeyOf("k0"));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsCorruption()) << bad.status().ToString();
  auto good = Got(state, KeyOf("k" + std::to_string(kKeys / 2)));
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->seq(), kKeys / 2);
  EXPECT_FALSE(state.Get(KeyOf("k1")).ok());  // still damaged: no plain copy was kept
  for (int i = 0; i < kKeys; ++i) {
    if (i % 4 != 0) state.Erase(KeyOf("k" + std::to_string(i)));
  }
  Status shrink = state.MaybeShrink();
  EXPECT_TRUE(shrink.IsCorruption()) << shrink.ToString();
  EXPECT_FALSE(state.Get(KeyOf("k" + std::to_string(kKeys - 4))).ok());
}

}  // namespace
}  // namespace kl::table
