#include "pipeline/runtime/operator.h"

#include <gtest/gtest.h>

#include <map>

#include "common/file/file_util.h"
#include "common/testing/test_util.h"
#include "log/segment/segment_log.h"
#include "pipeline/runtime/job.h"
#include "pipeline/runtime/log_source.h"
#include "pipeline/runtime/lookup_join.h"
#include "pipeline/runtime/source.h"
#include "pipeline/warehouse/k8s_event.h"

namespace kl::pipeline {
namespace {

using format::DataType;
using format::Datum;
using format::Row;
using format::RowKind;
using format::RowType;

TEST(JsonExtractTest, FollowsJsonValuePaths) {
  RowType in({{0, "doc", DataType::String(), ""}});
  auto op = MakeJsonExtract(in, "doc",
                            {{"name", "$.obj.metadata.name", DataType::String()},
                             {"user", "$.obj.metadata.labels['kubelake.io/user']", DataType::String()},
                             {"port", "$.obj.spec.ports[1].port", DataType::BigInt()},
                             {"ready", "$.obj.status.ready", DataType::Boolean()},
                             {"ratio", "$.obj.status.ratio", DataType::Double()},
                             {"rv_num", "$.resourceversion", DataType::BigInt()},
                             {"labels", "$.obj.metadata.labels", DataType::String(), true},
                             {"labels_scalar", "$.obj.metadata.labels", DataType::String()},
                             {"missing", "$.obj.nope.deeper", DataType::String()}});
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  Changes in_rows = {
      {RowKind::kInsert,
       {Datum::Bytes(R"({"resourceversion":"42","obj":{"metadata":{"name":"web","labels":{"kubelake.io/user":"u7"}},)"
                     R"("spec":{"ports":[{"port":80},{"port":443}]},"status":{"ready":true,"ratio":0.5}}})")}},
      {RowKind::kDelete, {Datum::Bytes("not json")}},
      {RowKind::kInsert, {Datum()}}};
  Changes out;
  KL_ASSERT_OK((*op)->Process(in_rows, &out));
  ASSERT_EQ(out.size(), 3u);
  const Row& r = out[0].row;
  EXPECT_EQ(r[1].as_bytes(), "web");
  EXPECT_EQ(r[2].as_bytes(), "u7");
  EXPECT_EQ(r[3].as_int(), 443);
  EXPECT_TRUE(r[4].as_bool());
  EXPECT_DOUBLE_EQ(r[5].as_double(), 0.5);
  EXPECT_EQ(r[6].as_int(), 42) << "numeric strings convert to numbers";
  EXPECT_EQ(r[7].as_bytes(), R"({"kubelake.io/user":"u7"})");
  EXPECT_TRUE(r[8].is_null()) << "JSON_VALUE of an object is NULL";
  EXPECT_TRUE(r[9].is_null());
  EXPECT_EQ(out[1].kind, RowKind::kDelete);
  for (size_t i = 1; i < out[1].row.size(); ++i) EXPECT_TRUE(out[1].row[i].is_null());
  EXPECT_FALSE(MakeJsonExtract(in, "doc", {{"x", "obj.name", DataType::String()}}).ok()) << "paths start with $";
  EXPECT_FALSE(MakeJsonExtract(in, "nope", {}).ok());
}

TEST(DeltaAggregateTest, SumsSignedDeltasPerKey) {
  RowType out({{0, "k", DataType::String(), ""}, {1, "n", DataType::BigInt(), ""}, {2, "v", DataType::BigInt(), ""}});
  DeltaAggregateSpec spec;
  spec.output = out;
  spec.key_columns = 1;
  spec.extract = [](const Row& row, Row* key, std::vector<int64_t>* values) {
    if (row[0].is_null()) return false;
    key->push_back(row[0]);
    values->push_back(1);
    values->push_back(row[1].as_int());
    return true;
  };
  auto op = MakeDeltaAggregate(spec);
  Changes in = {{RowKind::kInsert, {Datum::Bytes("a"), Datum::Int(5)}},
                {RowKind::kUpdateBefore, {Datum::Bytes("a"), Datum::Int(5)}},
                {RowKind::kUpdateAfter, {Datum::Bytes("a"), Datum::Int(7)}},
                {RowKind::kInsert, {Datum::Bytes("b"), Datum::Int(1)}},
                {RowKind::kDelete, {Datum::Bytes("b"), Datum::Int(1)}},
                {RowKind::kInsert, {Datum(), Datum::Int(1)}}};
  Changes processed, finished;
  KL_ASSERT_OK(op->Process(in, &processed));
  EXPECT_TRUE(processed.empty()) << "deltas are held until a checkpoint";
  KL_ASSERT_OK(op->Finish(&finished));
  ASSERT_EQ(finished.size(), 1u) << "b nets to zero and is dropped";
  EXPECT_EQ(finished[0].row[0].as_bytes(), "a");
  EXPECT_EQ(finished[0].row[1].as_int(), 1);
  EXPECT_EQ(finished[0].row[2].as_int(), 7);
  Changes again;
  KL_ASSERT_OK(op->Finish(&again));
  EXPECT_TRUE(again.empty());
}

// Keys equal by CompareRows meet in one group whatever their Datum kinds (an integer
// and the equal double, NULLs), and a checkpoint emits its groups in key order
// against a reference kept in a std::map.
// The batch form that finds groups from the key's cells (key_at) against the row form on
// the same changes: random batches over a string column (plain or dictionary-encoded, some
// nulls), an integer column and a boolean column as the key, in several checkpoints.
TEST(DeltaAggregateTest, GroupsFoundFromCellsMatchGroupsOfKeyRows) {
  RowType in_type({{0, "s", DataType::String(), ""},
                   {1, "i", DataType::BigInt(), ""},
                   {2, "b", DataType::Boolean(), ""},
                   {3, "v", DataType::BigInt(), ""}});
  RowType out({{0, "s", DataType::String(), ""},
               {1, "i", DataType::BigInt(), ""},
               {2, "b", DataType::Boolean(), ""},
               {3, "n", DataType::BigInt(), ""},
               {4, "v", DataType::BigInt(), ""}});
  auto make = [&](bool by_cells) {
    DeltaAggregateSpec spec;
    spec.output = out;
    spec.key_columns = 3;
    spec.extract = [](const Row& row, Row* key, std::vector<int64_t>* values) {
      if (!row[3].is_null() && row[3].as_int() < 0) return false;
      for (size_t c = 0; c < 3; ++c) key->push_back(row[c]);
      values->push_back(1);
      values->push_back(row[3].is_null() ? 0 : row[3].as_int());
      return true;
    };
    spec.extract_at = [](const format::ColumnBatch& batch, size_t r, Row* key, std::vector<int64_t>* values) {
      const format::Column& v = batch.column(3);
      if (!v.IsNull(r) && v.GetInt(r) < 0) return false;
      if (key != nullptr) {
        for (size_t c = 0; c < 3; ++c) key->push_back(batch.column(c).Get(r));
      }
      values->push_back(1);
      values->push_back(v.IsNull(r) ? 0 : v.GetInt(r));
      return true;
    };
    if (by_cells) spec.key_at = {0, 1, 2};
    return MakeDeltaAggregate(spec);
  };
  auto by_rows = make(false), by_cells = make(true), to_batch = make(true);
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back(i % 5 == 0 ? "" : "namespace-with-a-long-name-" + std::to_string(i));
  std::vector<std::string_view> views(names.begin(), names.end());
  views.push_back("");  // the dictionary's null code
  auto dict = format::Column::MakeDictionary(DataType::String(), views.data(), views.size());
  uint64_t seed = 42;
  auto next = [&](uint64_t n) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % n;
  };
  for (int checkpoint = 0; checkpoint < 6; ++checkpoint) {
    ChangeBatch batch;
    batch.rows = format::ColumnBatch(in_type);
    const bool dictionary = checkpoint % 2 == 1;
    const size_t n = 500 + next(1500);
    std::vector<uint32_t> codes;
    for (size_t r = 0; r < n; ++r) {
      size_t s = next(names.size());
      if (dictionary) {
        codes.push_back(static_cast<uint32_t>(s));
      } else if (next(10) == 0) {
        batch.rows.mutable_column(0).AppendNull();
      } else {
        batch.rows.mutable_column(0).AppendBytes(names[s]);
      }
      if (next(8) == 0)
        batch.rows.mutable_column(1).AppendNull();
      else
        batch.rows.mutable_column(1).AppendInt(static_cast<int64_t>(next(4)) - 1);
      batch.rows.mutable_column(2).AppendInt(static_cast<int64_t>(next(2)));
      batch.rows.mutable_column(3).AppendInt(static_cast<int64_t>(next(100)) - 5);
      batch.kinds.push_back(next(3) == 0 ? RowKind::kDelete : RowKind::kInsert);
    }
    if (dictionary) batch.rows.mutable_column(0).AppendCodes(dict, codes.data(), codes.size());
    batch.rows.SetNumRows(n);
    ASSERT_TRUE(batch.rows.column(0).is_dictionary() == dictionary);
    ChangeBatch copy = batch, copy2 = batch, ignored;
    KL_ASSERT_OK(by_rows->Operator::ProcessBatch(batch, &ignored));
    KL_ASSERT_OK(by_cells->ProcessBatch(copy, &ignored));
    KL_ASSERT_OK(to_batch->ProcessBatch(copy2, &ignored));
    Changes want, got;
    KL_ASSERT_OK(by_rows->Finish(&want));
    KL_ASSERT_OK(by_cells->Finish(&got));
    ASSERT_GT(want.size(), 20u);
    ASSERT_EQ(got.size(), want.size()) << "checkpoint " << checkpoint;
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_EQ(format::CompareRows(got[k].row, want[k].row), 0) << "checkpoint " << checkpoint << " group " << k;
      EXPECT_EQ(got[k].kind, want[k].kind);
    }
    // FinishBatch emits the same groups straight into columns, after what the batch holds.
    ChangeBatch finished;
    const size_t before = checkpoint % 3 == 2 ? 1 : 0;
    if (before > 0) {
      finished.rows = format::ColumnBatch(out);
      finished.rows.AppendRow({Datum::Bytes("held"), Datum::Int(7), Datum::Bool(true), Datum::Int(1), Datum::Int(2)});
      finished.kinds.push_back(RowKind::kDelete);
    }
    KL_ASSERT_OK(to_batch->FinishBatch(&finished));
    ASSERT_EQ(finished.size(), before + want.size()) << "checkpoint " << checkpoint;
    ASSERT_EQ(finished.rows.num_rows(), finished.size());
    for (size_t c = 0; c < out.size(); ++c) EXPECT_EQ(finished.rows.column(c).size(), finished.size());
    if (before > 0) {
      EXPECT_EQ(finished.kinds[0], RowKind::kDelete);
    }
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_EQ(format::CompareRows(finished.rows.GetRow(before + k), want[k].row), 0)
          << "checkpoint " << checkpoint << " group " << k;
      EXPECT_EQ(finished.kinds[before + k], want[k].kind);
    }
    ChangeBatch again;
    KL_ASSERT_OK(to_batch->FinishBatch(&again));
    EXPECT_TRUE(again.empty()) << "a checkpoint's groups are emitted once";
  }
}

// The group table against a std::map of sums, over checkpoints whose group counts rise and
// fall (the table grows, its groups are reused, and a burst's surplus is given back): each
// checkpoint emits exactly the model's non-zero groups, in key order, and nothing after.
TEST(DeltaAggregateTest, GroupsOfManyCheckpointsMatchAMapOfSums) {
  RowType in_type({{0, "s", DataType::String(), ""}, {1, "i", DataType::BigInt(), ""}});
  RowType out({{0, "s", DataType::String(), ""}, {1, "i", DataType::BigInt(), ""}, {2, "n", DataType::BigInt(), ""}});
  DeltaAggregateSpec spec;
  spec.output = out;
  spec.key_columns = 2;
  spec.extract_at = [](const format::ColumnBatch& batch, size_t r, Row* key, std::vector<int64_t>* values) {
    if (key != nullptr) {
      for (size_t c = 0; c < 2; ++c) key->push_back(batch.column(c).Get(r));
    }
    values->push_back(1);
    return true;
  };
  spec.key_at = {0, 1};
  auto op = MakeDeltaAggregate(spec);
  uint64_t seed = 7;
  auto next = [&](uint64_t n) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % n;
  };
  for (size_t groups : {3u, 700u, 9000u, 40u, 1u, 5000u, 200u}) {
    ChangeBatch batch;
    batch.rows = format::ColumnBatch(in_type);
    std::map<std::pair<std::string, int64_t>, int64_t> model;
    const size_t n = 3 * groups + next(50);
    for (size_t r = 0; r < n; ++r) {
      std::string s = next(7) == 0 ? "" : "group-with-a-longer-name-" + std::to_string(next(groups));
      int64_t i = static_cast<int64_t>(next(3));
      RowKind kind = next(3) == 0 ? RowKind::kDelete : RowKind::kInsert;
      batch.rows.mutable_column(0).AppendBytes(s);
      batch.rows.mutable_column(1).AppendInt(i);
      batch.kinds.push_back(kind);
      model[{s, i}] += format::IsRetract(kind) ? -1 : 1;
    }
    batch.rows.SetNumRows(n);
    ChangeBatch ignored, finished;
    KL_ASSERT_OK(op->ProcessBatch(batch, &ignored));
    KL_ASSERT_OK(op->FinishBatch(&finished));
    size_t k = 0;
    for (const auto& [key, sum] : model) {
      if (sum == 0) continue;
      ASSERT_LT(k, finished.size()) << groups << " groups";
      EXPECT_EQ(finished.rows.column(0).GetBytes(k), key.first);
      EXPECT_EQ(finished.rows.column(1).GetInt(k), key.second);
      EXPECT_EQ(finished.rows.column(2).GetInt(k), sum);
      ++k;
    }
    EXPECT_EQ(finished.size(), k) << groups << " groups";
    ChangeBatch again;
    KL_ASSERT_OK(op->FinishBatch(&again));
    EXPECT_TRUE(again.empty());
  }
}

// A key's cells hash as the key row Get makes of them, and equal exactly the rows
// CompareRows calls equal: strings plain and dictionary-encoded, empty and null,
// integers, booleans, doubles and a timestamp.
TEST(DeltaAggregateTest, KeyCellsHashAndCompareAsTheirRows) {
  RowType type({{0, "s", DataType::String(), ""},
                {1, "d", DataType::String(), ""},
                {2, "i", DataType::BigInt(), ""},
                {3, "b", DataType::Boolean(), ""},
                {4, "x", DataType::Double(), ""},
                {5, "t", DataType::Timestamp(3), ""}});
  std::vector<std::string> names = {"", "a", "b", "a-much-longer-namespace-name"};
  std::vector<std::string_view> views(names.begin(), names.end());
  views.push_back("");  // the null code
  auto dict = format::Column::MakeDictionary(DataType::String(), views.data(), views.size());
  format::ColumnBatch batch(type);
  std::vector<uint32_t> codes;
  const size_t n = 5 * 3 * 3 * 3;
  for (size_t r = 0; r < n; ++r) {
    size_t s = r % 5, i = (r / 5) % 3, b = (r / 15) % 3, x = (r / 45) % 3;
    if (s == 4)
      batch.mutable_column(0).AppendNull();
    else
      batch.mutable_column(0).AppendBytes(names[s]);
    codes.push_back(static_cast<uint32_t>(r % names.size()));
    if (i == 2)
      batch.mutable_column(2).AppendNull();
    else
      batch.mutable_column(2).AppendInt(static_cast<int64_t>(i) - 1);
    if (b == 2)
      batch.mutable_column(3).AppendNull();
    else
      batch.mutable_column(3).AppendInt(static_cast<int64_t>(2 * b));  // true stored as 2: reads as true
    batch.mutable_column(4).AppendDouble(x == 2 ? 0.5 : static_cast<double>(x));
    batch.mutable_column(5).AppendTimestamp(format::Timestamp{static_cast<int64_t>(r % 2), 0});
  }
  batch.mutable_column(1).AppendCodes(dict, codes.data(), codes.size());
  batch.SetNumRows(n);
  ASSERT_TRUE(batch.column(1).is_dictionary());
  for (const std::vector<size_t>& at :
       std::vector<std::vector<size_t>>{{0}, {1}, {0, 2}, {1, 3, 4}, {0, 1, 2, 3, 4, 5}}) {
    std::vector<Row> rows(n);
    for (size_t r = 0; r < n; ++r) {
      for (size_t c : at) rows[r].push_back(batch.column(c).Get(r));
    }
    for (size_t r = 0; r < n; ++r) {
      EXPECT_EQ(HashKeyCells(batch, at, r), HashKeyRow(rows[r])) << "row " << r;
      for (size_t q = 0; q < n; ++q) {
        ASSERT_EQ(KeyCellsEqual(batch, at, r, rows[q]), format::CompareRows(rows[r], rows[q]) == 0)
            << "rows " << r << " and " << q << " of " << at.size() << " columns";
      }
    }
  }
  // A row of other values (an equal double for an integer) and of another arity.
  std::vector<size_t> at = {2};
  EXPECT_TRUE(KeyCellsEqual(batch, at, 5, {Datum::Double(0.0)}));
  EXPECT_FALSE(KeyCellsEqual(batch, at, 5, {Datum::Int(0), Datum::Int(0)}));
}

TEST(DeltaAggregateTest, GroupsEqualKeysAcrossKindsAndEmitsInKeyOrder) {
  RowType out({{0, "k1", DataType::String(), ""}, {1, "k2", DataType::BigInt(), ""}, {2, "n", DataType::BigInt(), ""}});
  DeltaAggregateSpec spec;
  spec.output = out;
  spec.key_columns = 2;
  spec.extract = [](const Row& row, Row* key, std::vector<int64_t>* values) {
    key->push_back(row[0]);
    key->push_back(row[1]);
    values->push_back(1);
    return true;
  };
  auto op = MakeDeltaAggregate(spec);
  Changes in = {{RowKind::kInsert, {Datum::Bytes("a"), Datum::Int(2)}},
                {RowKind::kInsert, {Datum::Bytes("a"), Datum::Double(2.0)}},
                {RowKind::kInsert, {Datum(), Datum()}},
                {RowKind::kInsert, {Datum(), Datum()}},
                {RowKind::kDelete, {Datum::Bytes("a"), Datum::Double(0.5)}}};
  struct Less {
    bool operator()(const Row& a, const Row& b) const { return format::CompareRows(a, b) < 0; }
  };
  std::map<Row, int64_t, Less> expected = {
      {{Datum::Bytes("a"), Datum::Int(2)}, 2}, {{Datum(), Datum()}, 2}, {{Datum::Bytes("a"), Datum::Double(0.5)}, -1}};
  // Many keys, each inserted three times and retracted once.
  for (int i = 0; i < 3000; ++i) {
    Row key = {Datum::Bytes("ns-" + std::to_string(i % 1000)), Datum::Int(i % 7)};
    in.push_back({i % 4 == 3 ? RowKind::kUpdateBefore : RowKind::kInsert, key});
    expected[key] += i % 4 == 3 ? -1 : 1;
  }
  Changes processed, finished;
  KL_ASSERT_OK(op->Process(in, &processed));
  KL_ASSERT_OK(op->Finish(&finished));
  std::vector<std::pair<Row, int64_t>> want;
  for (const auto& [key, n] : expected) {
    if (n != 0) want.push_back({key, n});
  }
  ASSERT_EQ(finished.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    Row key(finished[i].row.begin(), finished[i].row.begin() + 2);
    EXPECT_EQ(format::CompareRows(key, want[i].first), 0) << i;
    EXPECT_EQ(finished[i].row[2].as_int(), want[i].second) << i;
  }
  EXPECT_EQ(finished[0].row[2].as_int(), 2) << "the NULL key sorts first";
}

TEST(DedupLatestTest, EmitsChangelogOfNewestRowPerKey) {
  RowType type({{0, "k", DataType::String(), ""}, {1, "version", DataType::BigInt(), ""}});
  DedupSpec spec{type, {0}, [](const Row& a, const Row& b) { return a[1].as_int() > b[1].as_int(); }};
  auto op = MakeDedupLatest(spec);
  Changes out;
  Changes in = {{RowKind::kInsert, {Datum::Bytes("x"), Datum::Int(2)}},
                {RowKind::kInsert, {Datum::Bytes("x"), Datum::Int(1)}},
                {RowKind::kInsert, {Datum::Bytes("x"), Datum::Int(3)}},
                {RowKind::kDelete, {Datum::Bytes("x"), Datum::Int(3)}}};
  KL_ASSERT_OK(op->Process(in, &out));
  std::vector<std::string> got;
  for (const auto& c : out)
    got.push_back(std::string(format::RowKindShortString(c.kind)) + std::to_string(c.row[1].as_int()));
  EXPECT_EQ(got, (std::vector<std::string>{"+I2", "-U2", "+U3", "-D3"}));
}

TEST(LookupJoinTest, EnrichesFromTableAndSeesUpdates) {
  testing::TempDir dir;
  auto schema = table::NewTableSchema({{0, "cluster", DataType::String(), ""}, {1, "region", DataType::String(), ""}},
                                      {}, {"cluster"}, {{"bucket", "1"}, {"file.format", "avro"}});
  auto dim = table::Table::Create(dir.Sub("dim"), *schema);
  ASSERT_TRUE(dim.ok());
  auto w = (*dim)->NewWriter("u");
  KL_ASSERT_OK(w->WriteRow({Datum::Bytes("c1"), Datum::Bytes("eu")}));
  ASSERT_TRUE(w->Commit(1).ok());
  RowType in({{0, "cluster", DataType::String(), ""}, {1, "n", DataType::Int(), ""}});
  LookupJoinSpec spec;
  spec.table = *dim;
  spec.input_keys = {"cluster"};
  spec.table_keys = {"cluster"};
  spec.columns = {"region"};
  spec.refresh_ms = 0;
  auto op = MakeLookupJoin(in, spec);
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  Changes out;
  Changes first = {{RowKind::kInsert, {Datum::Bytes("c1"), Datum::Int(1)}},
                   {RowKind::kInsert, {Datum::Bytes("c2"), Datum::Int(2)}}};
  KL_ASSERT_OK((*op)->Process(first, &out));
  EXPECT_EQ(out[0].row[2].as_bytes(), "eu");
  EXPECT_TRUE(out[1].row[2].is_null());
  KL_ASSERT_OK(w->WriteRow({Datum::Bytes("c2"), Datum::Bytes("us")}));
  ASSERT_TRUE(w->Commit(2).ok());
  out.clear();
  Changes second = {{RowKind::kInsert, {Datum::Bytes("c2"), Datum::Int(3)}}};
  KL_ASSERT_OK((*op)->Process(second, &out));
  EXPECT_EQ(out[0].row[2].as_bytes(), "us") << "a new dimension snapshot is picked up";
}

// A source of prepared batches; its position counts the batches read. Polls
// before batch `more_until` say more input is waiting.
class ListSource : public Source {
 public:
  explicit ListSource(std::vector<Changes> batches, size_t more_until = 0)
      : batches_(std::move(batches)), type_(Type()), more_until_(more_until) {}
  static RowType Type() {
    return RowType({{0, "k", DataType::BigInt().NotNull(), ""}, {1, "v", DataType::BigInt(), ""}});
  }
  std::string name() const override { return "list"; }
  const RowType& output_type() const override { return type_; }
  Status Restore(const std::optional<SourcePosition>& position) override {
    next_ = position ? static_cast<size_t>(position->table_snapshot) : 0;
    return Status::OK();
  }
  Status Poll(size_t, int64_t, Changes* out) override {
    if (next_ < batches_.size()) *out = batches_[next_++];
    return Status::OK();
  }
  SourcePosition position() const override {
    SourcePosition p;
    p.table_snapshot = static_cast<int64_t>(next_);
    return p;
  }
  bool more_waiting() const override { return next_ < more_until_; }

 private:
  std::vector<Changes> batches_;
  RowType type_;
  size_t more_until_;
  size_t next_ = 0;
};

// A checkpoint with nothing to write commits no snapshot (idle tables cost
// nothing); the position is still recorded after the idle commit interval and
// when the job stops.
TEST(JobTest, CommitsOnlyWhatItWritesAndRecordsProgressWhenIdle) {
  testing::TempDir dir;
  auto schema = table::NewTableSchema(ListSource::Type().fields(), {}, {"k"},
                                      {{"bucket", "1"}, {"file.format", "avro"}, {"kubelake.data-file.sync", "false"}});
  auto t = table::Table::Create(dir.Sub("t"), *schema);
  ASSERT_TRUE(t.ok());
  auto row = [](int64_t k) { return Change{RowKind::kInsert, {Datum::Int(k), Datum::Int(k)}}; };
  // Batches 1-3 are filtered away entirely; batch 4 writes a row.
  std::vector<Changes> batches = {{row(-1)}, {row(-2)}, {row(-3)}, {row(4)}, {row(-5)}};
  JobOptions options;
  options.commit_interval_ms = 0;
  options.idle_commit_ms = 1000000;
  auto factory = [&]() -> Result<JobParts> {
    JobParts parts;
    parts.source = std::make_unique<ListSource>(batches);
    parts.operators.push_back(MakeFilter(ListSource::Type(), [](const Change& c) { return c.row[0].as_int() >= 0; }));
    parts.sink = std::make_unique<TableSink>(*t, "job");
    return parts;
  };
  auto snapshots = [&] { return (*t)->snapshots().LatestId()->value_or(0); };
  Job job("job", factory, options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(job.Step().ok());
  EXPECT_EQ(snapshots(), 0) << "nothing was written: no snapshot";
  ASSERT_TRUE(job.Step().ok());
  EXPECT_EQ(snapshots(), 1);
  EXPECT_EQ(job.status().position.table_snapshot, 4);
  ASSERT_TRUE(job.Step().ok());
  EXPECT_EQ(snapshots(), 1);
  EXPECT_EQ(job.status().position.table_snapshot, 4) << "the position is recorded with commits only";
  // Stopping records the position in an empty snapshot, so a restart does not re-read.
  std::atomic<bool> stop{true};
  job.Run(stop);
  EXPECT_EQ(snapshots(), 2);
  Job restarted("job", factory, options);
  KL_ASSERT_OK(restarted.Open());
  EXPECT_EQ(restarted.status().position.table_snapshot, 5);
  // With an idle commit interval of zero, progress is recorded at every step that moved.
  options.idle_commit_ms = 0;
  batches.push_back({row(-6)});
  Job idle("job", factory, options);
  ASSERT_TRUE(idle.Step().ok());
  EXPECT_EQ(snapshots(), 3);
  EXPECT_EQ(idle.status().position.table_snapshot, 6);
}

// A job behind its source (a poll cut short by the source's own limits, such
// as the log's bytes per poll) reads on at once; caught up, it waits for the
// commit interval to batch what arrives.
TEST(JobTest, ReadsOnWhileTheSourceHasMoreWaiting) {
  testing::TempDir dir;
  auto schema = table::NewTableSchema(ListSource::Type().fields(), {}, {"k"},
                                      {{"bucket", "1"}, {"file.format", "avro"}, {"kubelake.data-file.sync", "false"}});
  auto t = table::Table::Create(dir.Sub("t"), *schema);
  ASSERT_TRUE(t.ok());
  auto row = [](int64_t k) { return Change{RowKind::kInsert, {Datum::Int(k), Datum::Int(k)}}; };
  std::vector<Changes> batches = {{row(1)}, {row(2)}, {row(3)}, {row(4)}};
  JobOptions options;
  options.commit_interval_ms = 3'600'000;
  options.poll_timeout_ms = 10;
  auto factory = [&]() -> Result<JobParts> {
    JobParts parts;
    parts.source = std::make_unique<ListSource>(batches, /*more_until=*/3);
    parts.sink = std::make_unique<TableSink>(*t, "job");
    return parts;
  };
  Job job("job", factory, options);
  for (int i = 1; i <= 3; ++i) {
    auto read = job.Step();
    KL_ASSERT_OK(read.status());
    EXPECT_TRUE(*read) << "step " << i << ": more was waiting, the job must read on";
  }
  // The third batch left nothing waiting: the job now waits to batch until its commit.
  auto read = job.Step();
  KL_ASSERT_OK(read.status());
  EXPECT_FALSE(*read);
  EXPECT_EQ(job.status().changes_in, 3u);
}

TEST(ChangeBatchTest, RowsAndBatchesConvertBothWays) {
  RowType type({{0, "k", DataType::BigInt().NotNull(), ""}, {1, "s", DataType::String(), ""}});
  Changes rows = {{RowKind::kInsert, {Datum::Int(1), Datum::Bytes("a long enough string to live on the heap")}},
                  {RowKind::kUpdateBefore, {Datum::Int(2), Datum()}},
                  {RowKind::kDelete, {Datum::Int(3), Datum::Bytes("c")}}};
  Changes copy = rows;
  ChangeBatch batch;
  AppendChangesToBatch(type, copy, &batch);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch.rows.num_rows(), 3u);
  EXPECT_EQ(batch.rows.column(1).GetBytes(0), "a long enough string to live on the heap");
  EXPECT_TRUE(batch.rows.column(1).IsNull(1));
  // Appending keeps the order; an empty target takes the batch whole.
  ChangeBatch more;
  Changes tail = {{RowKind::kUpdateAfter, {Datum::Int(4), Datum::Bytes("d")}}};
  AppendChangesToBatch(type, tail, &more);
  AppendBatch(more, &batch);
  EXPECT_TRUE(more.empty());
  ChangeBatch whole;
  AppendBatch(batch, &whole);
  EXPECT_TRUE(batch.empty());
  Changes back;
  AppendBatchToChanges(whole, &back);
  ASSERT_EQ(back.size(), 4u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(back[i].kind, rows[i].kind) << i;
    EXPECT_EQ(back[i].row, rows[i].row) << i;
  }
  EXPECT_EQ(back[3].kind, RowKind::kUpdateAfter);
  EXPECT_EQ(back[3].row, (Row{Datum::Int(4), Datum::Bytes("d")}));
}

// Doubles v; gives its output as a batch when asked (and counts how it was asked).
class DoubleOp : public Operator {
 public:
  explicit DoubleOp(int* batches) : type_(ListSource::Type()), batches_(batches) {}
  std::string name() const override { return "double"; }
  const RowType& output_type() const override { return type_; }
  Status Process(Changes& in, Changes* out) override {
    for (auto& c : in) {
      c.row[1] = Datum::Int(c.row[1].as_int() * 2);
      out->push_back(std::move(c));
    }
    return Status::OK();
  }
  bool emits_batches() const override { return true; }
  Status ProcessIntoBatch(Changes& in, ChangeBatch* out) override {
    ++*batches_;
    ChangeBatch b{format::ColumnBatch(type_), {}};
    for (auto& c : in) {
      b.rows.mutable_column(0).AppendInt(c.row[0].as_int());
      b.rows.mutable_column(1).AppendInt(c.row[1].as_int() * 2);
      b.kinds.push_back(c.kind);
    }
    b.rows.SetNumRows(in.size());
    AppendBatch(b, out);
    return Status::OK();
  }

 private:
  RowType type_;
  int* batches_;
};

// Holds everything until the checkpoint, as batches (natively) or rows.
class HoldOp : public Operator {
 public:
  HoldOp() : type_(ListSource::Type()) {}
  std::string name() const override { return "hold"; }
  const RowType& output_type() const override { return type_; }
  Status Process(Changes& in, Changes*) override {
    for (auto& c : in) rows_.push_back(std::move(c));
    return Status::OK();
  }
  Status Finish(Changes* out) override {
    for (auto& c : rows_) out->push_back(std::move(c));
    rows_.clear();
    return Status::OK();
  }
  bool takes_batches() const override { return true; }
  Status ProcessBatch(ChangeBatch& in, ChangeBatch*) override {
    AppendBatch(in, &held_);
    return Status::OK();
  }
  Status FinishBatch(ChangeBatch* out) override {
    AppendBatch(held_, out);
    return Status::OK();
  }

 private:
  RowType type_;
  Changes rows_;
  ChangeBatch held_;
};

// An operator that emits batches, followed by operators that take them, hands the
// table sink batches (held ones too, at the checkpoint); an operator after it that
// takes rows only keeps the job on rows. The table is the same either way.
TEST(JobTest, BatchesGoFromTheLastEmitterToTheSink) {
  auto row = [](int64_t k) { return Change{RowKind::kInsert, {Datum::Int(k), Datum::Int(k + 10)}}; };
  std::vector<Changes> batches = {{row(1), row(2)}, {row(3)}};
  for (bool rows_only : {false, true}) {
    SCOPED_TRACE(rows_only ? "rows" : "batches");
    testing::TempDir dir;
    auto schema =
        table::NewTableSchema(ListSource::Type().fields(), {}, {"k"},
                              {{"bucket", "1"}, {"file.format", "avro"}, {"kubelake.data-file.sync", "false"}});
    auto t = table::Table::Create(dir.Sub("t"), *schema);
    ASSERT_TRUE(t.ok());
    int batch_calls = 0;
    auto factory = [&]() -> Result<JobParts> {
      JobParts parts;
      parts.source = std::make_unique<ListSource>(batches, /*more_until=*/2);
      parts.operators.push_back(std::make_unique<DoubleOp>(&batch_calls));
      parts.operators.push_back(std::make_unique<HoldOp>());
      if (rows_only) parts.operators.push_back(MakeFilter(ListSource::Type(), [](const Change&) { return true; }));
      parts.sink = std::make_unique<TableSink>(*t, "job");
      return parts;
    };
    JobOptions options;
    options.commit_interval_ms = 3'600'000;
    Job job("job", factory, options);
    for (int i = 0; i < 2; ++i) KL_ASSERT_OK(job.Step().status());
    KL_ASSERT_OK(job.Checkpoint());
    EXPECT_EQ(batch_calls, rows_only ? 0 : 2);
    EXPECT_EQ(job.status().changes_out, 3u);
    auto read = (*t)->ReadAll();
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    ASSERT_EQ(read->size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      Row r = read->rows.GetRow(i);
      int64_t k = static_cast<int64_t>(i) + 1;
      EXPECT_EQ(r, (Row{Datum::Int(k), Datum::Int((k + 10) * 2)}));
    }
  }
}

// Counts the polls a job makes of a source by batch, passing everything else through.
class CountingSource : public Source {
 public:
  CountingSource(std::unique_ptr<Source> in, int* batch_polls) : in_(std::move(in)), batch_polls_(batch_polls) {}
  std::string name() const override { return in_->name(); }
  const RowType& output_type() const override { return in_->output_type(); }
  Status Restore(const std::optional<SourcePosition>& position) override { return in_->Restore(position); }
  Status Poll(size_t max, int64_t timeout_ms, Changes* out) override { return in_->Poll(max, timeout_ms, out); }
  bool emits_batches() const override { return in_->emits_batches(); }
  Status PollBatch(size_t max, int64_t timeout_ms, ChangeBatch* out) override {
    ++*batch_polls_;
    return in_->PollBatch(max, timeout_ms, out);
  }
  SourcePosition position() const override { return in_->position(); }
  Status Committed(const SourcePosition& position) override { return in_->Committed(position); }

 private:
  std::unique_ptr<Source> in_;
  int* batch_polls_;
};

// A table source hands its reads on as batches when every operator and the sink take
// them (no row per change); an operator taking rows only keeps the job on rows. Either
// way the follower's table ends as the followed one, across a restart, each change once.
TEST(JobTest, TableSourcesHandTheirBatchesOnWhenEverythingTakesThem) {
  auto change = [](RowKind kind, int64_t k, int64_t v) { return Change{kind, {Datum::Int(k), Datum::Int(v)}}; };
  for (bool rows_only : {false, true}) {
    SCOPED_TRACE(rows_only ? "rows" : "batches");
    testing::TempDir dir;
    std::map<std::string, std::string> options = {{"bucket", "1"},
                                                  {"file.format", "avro"},
                                                  {"kubelake.data-file.sync", "false"},
                                                  {"changelog-producer", "lookup"}};
    auto schema = table::NewTableSchema(ListSource::Type().fields(), {}, {"k"}, options);
    auto up = table::Table::Create(dir.Sub("up"), *schema);
    auto down = table::Table::Create(dir.Sub("down"), *schema);
    ASSERT_TRUE(up.ok() && down.ok());
    TableSink upstream(*up, "upstream");
    int64_t upstream_commits = 0;
    auto commit_upstream = [&](Changes changes) {
      KL_ASSERT_OK(upstream.Write(changes));
      SourcePosition p;
      p.table_snapshot = ++upstream_commits;
      KL_ASSERT_OK(upstream.Commit(p).status());
    };
    commit_upstream(
        {change(RowKind::kInsert, 1, 10), change(RowKind::kInsert, 2, 20), change(RowKind::kInsert, 3, 30)});
    int batch_polls = 0;
    auto factory = [&]() -> Result<JobParts> {
      JobParts parts;
      KL_ASSIGN_OR_RETURN(auto source, TableChangeSource::Create(*up, {}, "follower"));
      parts.source = std::make_unique<CountingSource>(std::move(source), &batch_polls);
      parts.operators.push_back(std::make_unique<HoldOp>());
      if (rows_only) parts.operators.push_back(MakeFilter(ListSource::Type(), [](const Change&) { return true; }));
      parts.sink = std::make_unique<TableSink>(*down, "job");
      return parts;
    };
    JobOptions job_options;
    job_options.commit_interval_ms = 0;
    job_options.poll_timeout_ms = 10;
    {
      Job job("job", factory, job_options);
      for (int i = 0; i < 2; ++i) KL_ASSERT_OK(job.Step().status());
      KL_ASSERT_OK(job.Checkpoint());
    }
    // An update, a deletion and an insertion: -U/+U, -D and +I in the changelog.
    commit_upstream(
        {change(RowKind::kInsert, 2, 21), change(RowKind::kDelete, 3, 30), change(RowKind::kInsert, 4, 40)});
    {
      Job restarted("job", factory, job_options);
      for (int i = 0; i < 3; ++i) KL_ASSERT_OK(restarted.Step().status());
      KL_ASSERT_OK(restarted.Checkpoint());
      EXPECT_EQ(restarted.status().changes_in, 4u) << "the second snapshot's changelog only";
    }
    EXPECT_EQ(batch_polls > 0, !rows_only);
    auto want = (*up)->ReadAll();
    auto got = (*down)->ReadAll();
    ASSERT_TRUE(want.ok() && got.ok());
    ASSERT_EQ(got->size(), 3u);
    ASSERT_EQ(got->size(), want->size());
    for (size_t i = 0; i < got->size(); ++i) EXPECT_EQ(got->rows.GetRow(i), want->rows.GetRow(i)) << i;
  }
}

// A batch whose columns are the table's goes to the writer as it is; one with a column
// of another type of the same values goes row by row; a malformed one is refused.
TEST(TableSinkTest, WritesBatchesOfItsTypesOrOfOthersRowByRow) {
  testing::TempDir dir;
  auto schema = table::NewTableSchema(ListSource::Type().fields(), {}, {"k"},
                                      {{"bucket", "1"}, {"file.format", "avro"}, {"kubelake.data-file.sync", "false"}});
  auto t = table::Table::Create(dir.Sub("t"), *schema);
  ASSERT_TRUE(t.ok());
  TableSink sink(*t, "job");
  EXPECT_TRUE(sink.takes_batches());
  Changes same = {{RowKind::kInsert, {Datum::Int(1), Datum::Int(10)}}, {RowKind::kInsert, {Datum::Int(2), Datum()}}};
  ChangeBatch a;
  AppendChangesToBatch(ListSource::Type(), same, &a);
  KL_ASSERT_OK(sink.WriteBatch(a));
  RowType narrower({{0, "k", DataType::BigInt().NotNull(), ""}, {1, "v", DataType::Int(), ""}});
  Changes other = {{RowKind::kInsert, {Datum::Int(3), Datum::Int(30)}}};
  ChangeBatch b;
  AppendChangesToBatch(narrower, other, &b);
  KL_ASSERT_OK(sink.WriteBatch(b));
  ChangeBatch bad = b;
  bad.kinds.push_back(RowKind::kInsert);  // two kinds for one row
  EXPECT_FALSE(sink.WriteBatch(bad).ok());
  EXPECT_TRUE(sink.has_pending());
  SourcePosition position;
  position.table_snapshot = 1;
  ASSERT_TRUE(sink.Commit(position).ok());
  auto read = (*t)->ReadAll();
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ(read->rows.GetRow(0), (Row{Datum::Int(1), Datum::Int(10)}));
  EXPECT_EQ(read->rows.GetRow(1), (Row{Datum::Int(2), Datum()}));
  EXPECT_EQ(read->rows.GetRow(2), (Row{Datum::Int(3), Datum::Int(30)}));
}

// The sink keeps its batch's columns from one Write to the next: each Write still writes
// exactly its own rows, whatever the sizes of the ones before (large strings, then small
// ones, then none), and a batch of huge rows gives its memory back.
TEST(TableSinkTest, WritesEachBatchsRowsOnlyWhileReusingItsColumns) {
  testing::TempDir dir;
  RowType type({{0, "cluster", DataType::String(), ""},
                {1, "seq", DataType::BigInt(), ""},
                {2, "content", DataType::String(), ""}});
  auto schema = table::NewTableSchema(
      type.fields(), {"cluster"}, {},
      {{"bucket", "2"}, {"bucket-key", "seq"}, {"file.format", "avro"}, {"kubelake.data-file.sync", "false"}});
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  auto t = table::Table::Create(dir.Sub("t"), *schema);
  ASSERT_TRUE(t.ok());
  TableSink sink(*t, "job");
  std::map<int64_t, std::string> expected;
  int64_t seq = 0;
  auto batch = [&](size_t rows, size_t bytes) {
    Changes changes;
    for (size_t i = 0; i < rows; ++i, ++seq) {
      std::string content(bytes + static_cast<size_t>(seq) % 7, static_cast<char>('a' + seq % 26));
      expected[seq] = content;
      changes.push_back(
          {RowKind::kInsert, {Datum::Bytes(seq % 3 ? "c1" : "c2"), Datum::Int(seq), Datum::Bytes(content)}});
    }
    return changes;
  };
  KL_ASSERT_OK(sink.Write(batch(40, 3000)));
  KL_ASSERT_OK(sink.Write(batch(5, 10)));
  KL_ASSERT_OK(sink.Write(Changes{}));
  KL_ASSERT_OK(sink.Write(batch(2, 20 << 20)));  // past what the sink keeps between writes
  KL_ASSERT_OK(sink.Write(batch(30, 500)));
  SourcePosition position;
  position.log_offsets[0] = seq;
  auto committed = sink.Commit(position);
  KL_ASSERT_OK(committed.status());
  auto all = (*t)->ReadAll();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), expected.size());
  for (size_t i = 0; i < all->size(); ++i) {
    int64_t s = all->rows.column(1).GetInt(i);
    ASSERT_EQ(expected.count(s), 1u) << "row " << s << " written twice or never";
    EXPECT_EQ(all->rows.column(0).GetBytes(i), s % 3 ? "c1" : "c2");
    EXPECT_EQ(all->rows.column(2).GetBytes(i), expected[s]) << "row " << s;
    expected.erase(s);
  }
  EXPECT_TRUE(expected.empty());
}

TEST(LogSourceTest, ReadsRecordsWithRoomForTheJsonParser) {
  testing::TempDir dir;
  auto log = log::SegmentLog::Open(dir.Sub("log"));
  KL_ASSERT_OK(log.status());
  auto producer = (*log)->NewProducer();
  KL_ASSERT_OK(producer.status());
  std::vector<std::string> values = {"{}", std::string(5000, 'x'), ""};
  for (const auto& v : values) {
    log::ProducerRecord r;
    r.key = "c1";
    r.value = v;
    r.timestamp_ms = 7;
    r.partition = 0;
    KL_ASSERT_OK((*producer)->Send(r));
  }
  KL_ASSERT_OK((*producer)->Flush());
  auto source = LogSource::Create(log->get(), "test");
  KL_ASSERT_OK(source.status());
  KL_ASSERT_OK((*source)->Restore(std::nullopt));
  Changes changes;
  KL_ASSERT_OK((*source)->Poll(100, 1000, &changes));
  ASSERT_EQ(changes.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const Row& row = changes[i].row;
    EXPECT_EQ(row[1].as_int(), static_cast<int64_t>(i));
    EXPECT_EQ(row[2].as_int(), 7);
    EXPECT_EQ(row[3].as_bytes(), "c1");
    const std::string& value = row[4].as_bytes();
    EXPECT_EQ(value, values[i]);
    // Spare capacity lets the JSON functions parse the value in place.
    EXPECT_GE(value.capacity() - value.size(), LogSource::kValuePadding) << "record " << i;
  }
}

TEST(K8sEventTest, QuantitiesParseLikeKubernetes) {
  EXPECT_EQ(ParseCpuMillis("250m"), 250);
  EXPECT_EQ(ParseCpuMillis("2"), 2000);
  EXPECT_EQ(ParseCpuMillis("0.5"), 500);
  EXPECT_EQ(ParseMemoryBytes("128Mi"), 134217728);
  EXPECT_EQ(ParseMemoryBytes("1G"), 1000000000);
  EXPECT_EQ(ParseMemoryBytes("1.5Gi"), 1610612736);
  EXPECT_EQ(ParseMemoryBytes("1e3"), 1000);
  EXPECT_FALSE(ParseMemoryBytes("lots").has_value());
  EXPECT_FALSE(ParseCpuMillis("").has_value());
}

TEST(K8sEventTest, ParsesEventAndObjectFields) {
  K8sEventParser parser({});
  std::string content = R"({"type":"MODIFIED","origin":"watch","uid":"u-1","kind":"Pod","group":"","version":"v1",)"
                        R"("namespace":"tenant-a","name":"web-1","resourceversion":"1234","watchname":"core/v1/pods",)"
                        R"("watchsetuptimestamp":1000,"__time_milli__":2000,"obj":{"metadata":{"name":"web-1",)"
                        R"("creationTimestamp":"2024-01-01T00:00:00Z","labels":{"kubelake.io/user":"u9",)"
                        R"("kubelake.io/instance":"i3"},"ownerReferences":[{"kind":"ReplicaSet","name":"web-abc"}]},)"
                        R"("spec":{"nodeName":"node-7","containers":[{"resources":{"requests":{"cpu":"250m",)"
                        R"("memory":"64Mi"}}},{"resources":{"requests":{"cpu":"1"}}},{"name":"no-requests"}]},)"
                        R"("status":{"phase":"Running"}}})";
  auto e = parser.Parse(content);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->type, "MODIFIED");
  EXPECT_EQ(e->rv, 1234);
  EXPECT_EQ(e->user_id, "u9");
  EXPECT_EQ(e->instance_id, "i3");
  EXPECT_EQ(e->owner_kind, "ReplicaSet");
  EXPECT_EQ(e->node_name, "node-7");
  EXPECT_EQ(e->phase, "Running");
  EXPECT_EQ(e->cpu_request_milli, 1250);
  EXPECT_EQ(e->memory_request_bytes, 64 << 20);
  EXPECT_EQ(e->created_ms, 1704067200000);
  EXPECT_EQ(e->event_time_ms, 2000);
  EXPECT_FALSE(parser.Parse("{\"type\":\"BOOKMARK\",\"uid\":\"x\"}").ok());
  EXPECT_FALSE(parser.Parse("{\"type\":\"ADDED\"}").ok()) << "an event needs a uid";
  EXPECT_FALSE(parser.Parse("[1,2").ok());
}

// The real objects in the shared fixtures parse as watch-event objects.
TEST(K8sEventTest, ParsesFixtureObjects) {
  KL_REQUIRE_SHARED("k8s-fixtures/k9s/render", dir);
  K8sEventParser parser({});
  for (const char* f : {"po.json", "no.json", "dp.json", "p1.json", "po_init.json"}) {
    auto obj = ReadFile(JoinPath(dir, f));
    ASSERT_TRUE(obj.ok());
    std::string content = R"({"type":"ADDED","uid":"x","kind":"Pod","resourceversion":"7","obj":)" + *obj + "}";
    auto e = parser.Parse(content);
    ASSERT_TRUE(e.ok()) << f << ": " << e.status().ToString();
    EXPECT_NE(e->labels_json, "") << f;
  }
}

}  // namespace
}  // namespace kl::pipeline
