// End to end: a simulated fleet with churn and faults, `kubelake collect`
// and `kubelake pipeline` as separate processes killed with SIGKILL at
// random moments and restarted, over many rounds. At the end the warehouse
// must equal the simulator's truth exactly: ADS counts, DWD rows, and ODS
// holding every event the collector emitted exactly once. Runs on the
// embedded log and on Kafka (librdkafka's mock cluster in its own process).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "common/string_util.h"
#include "common/testing/test_util.h"
#include "log/event_log.h"
#include "pipeline/warehouse/k8s_event.h"
#include "pipeline/warehouse/warehouse.h"
#include "simulator/fleet.h"
#include "table/table.h"

namespace kl::pipeline {
namespace {

using std::chrono::milliseconds;

// A child process with its output in a file.
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  ~Child() { Kill(); }

  bool Start(const std::vector<std::string>& args, const std::string& log_path) {
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      FILE* out = std::fopen(log_path.c_str(), "a");
      if (out != nullptr) {
        dup2(fileno(out), 1);
        dup2(fileno(out), 2);
      }
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return true;
  }
  void Kill() { Signal(SIGKILL); }
  void Terminate() { Signal(SIGTERM); }
  bool running() const { return pid_ > 0; }

 private:
  void Signal(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  pid_t pid_ = -1;
};

std::string Kubelake() { return JoinPath(testing::BinaryDir(), "src/cli/kubelake"); }

struct Counts {
  std::map<std::pair<std::string, std::string>, int64_t> by_cluster_kind;
  std::set<std::tuple<std::string, std::string, int64_t>> objects;  // (cluster, uid, rv)
};

Counts TruthCounts(simulator::Fleet* fleet) {
  Counts c;
  for (size_t i = 0; i < fleet->size(); ++i) {
    simulator::GroundTruth t = fleet->Truth(i);
    for (const auto& o : t.objects) {
      c.by_cluster_kind[{t.cluster, o.kind}]++;
      c.objects.insert({t.cluster, o.uid, static_cast<int64_t>(o.rv)});
    }
  }
  return c;
}

Result<Counts> WarehouseCounts(const WarehouseOptions& o, std::optional<int64_t> dwd_snapshot = std::nullopt) {
  table::Catalog catalog(o.warehouse);
  Counts c;
  KL_ASSIGN_OR_RETURN(auto dwd, catalog.GetTable(o.database, kDwdTable));
  KL_ASSIGN_OR_RETURN(auto rows, dwd->ReadAll(dwd_snapshot, {"cluster", "uid", "rv", "kind", "deleted"}));
  for (size_t i = 0; i < rows.size(); ++i) {
    format::Row r = rows.rows.GetRow(i);
    if (r[4].as_int() != 0) continue;
    c.objects.insert({r[0].as_bytes(), r[1].as_bytes(), r[2].as_int()});
    c.by_cluster_kind[{r[0].as_bytes(), r[3].as_bytes()}]++;
  }
  return c;
}

Result<std::map<std::pair<std::string, std::string>, int64_t>> AdsCounts(
    const WarehouseOptions& o, std::optional<int64_t> snapshot = std::nullopt) {
  KL_ASSIGN_OR_RETURN(auto ads, table::Catalog(o.warehouse).GetTable(o.database, kAdsKindCountTable));
  KL_ASSIGN_OR_RETURN(auto rows, ads->ReadAll(snapshot));
  std::map<std::pair<std::string, std::string>, int64_t> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    format::Row r = rows.rows.GetRow(i);
    if (r[2].as_int() < 0) out[{"NEGATIVE", r[0].as_bytes() + "/" + r[1].as_bytes()}] = r[2].as_int();
    if (r[2].as_int() != 0) out[{r[0].as_bytes(), r[1].as_bytes()}] = r[2].as_int();
  }
  return out;
}

// Rows of DWD and of the topology whose region is not their cluster's (the simulator's truth):
// "table cluster uid region" lines, empty when every row is right. Rows joined before the
// cluster's region was known must have been updated since.
Result<std::vector<std::string>> WrongRegions(const WarehouseOptions& o, simulator::Fleet* fleet) {
  std::map<std::string, std::string> region;
  for (size_t i = 0; i < fleet->size(); ++i) region[fleet->Truth(i).cluster] = fleet->region(i);
  std::vector<std::string> wrong;
  table::Catalog catalog(o.warehouse);
  for (auto [table, uid] : {std::pair{kDwdTable, "uid"}, std::pair{kTopologyTable, "pod_uid"}}) {
    KL_ASSIGN_OR_RETURN(auto t, catalog.GetTable(o.database, table));
    KL_ASSIGN_OR_RETURN(auto rows, t->ReadAll(std::nullopt, {"cluster", uid, "region"}));
    for (size_t i = 0; i < rows.size(); ++i) {
      format::Row r = rows.rows.GetRow(i);
      std::string got = r[2].is_null() ? "NULL" : r[2].as_bytes();
      if (got != region[r[0].as_bytes()])
        wrong.push_back(std::string(table) + " " + r[0].as_bytes() + " " + r[1].as_bytes() + " " + got);
    }
  }
  return wrong;
}

class PipelineE2ETest : public ::testing::TestWithParam<std::string> {};

TEST_P(PipelineE2ETest, KilledProcessesStillGiveExactWarehouse) {
  if (!FileExists(Kubelake())) GTEST_SKIP() << "kubelake binary not built at " << Kubelake();
  testing::TempDir dir;
  const bool kafka = GetParam() == "kafka";
  Random rng(kafka ? 4242 : 1717);

  Child broker;
  std::string log_uri = "dir:" + dir.Sub("log") + "?partitions=4&fsync=200ms&required_groups=kubelake-dwd";
  if (kafka) {
    // The mock cluster lives in its own process and prints its URI.
    std::string uri_file = dir.Sub("broker.out");
    ASSERT_TRUE(broker.Start({Kubelake(), "log", "mock-kafka", "--topic", "events", "--partitions", "4"}, uri_file));
    for (int i = 0; i < 100 && log_uri.rfind("kafka://", 0) != 0; ++i) {
      std::this_thread::sleep_for(milliseconds(100));
      auto text = ReadFile(uri_file);
      if (text.ok() && text->rfind("kafka://", 0) == 0 && text->find('\n') != std::string::npos) {
        log_uri = std::string(Trim(text->substr(0, text->find('\n'))));
      }
    }
    ASSERT_EQ(log_uri.rfind("kafka://", 0), 0u) << "mock broker did not start";
  }

  simulator::FleetOptions fo;
  fo.clusters = 3;
  fo.shape.nodes = 6;
  fo.shape.pods = 150;
  fo.churn.pod_replacements = 6;
  fo.churn.pod_updates = 10;
  fo.churn.scales = 0.5;
  fo.churn.node_changes = 0.1;
  fo.churn.cordons = 0.2;
  fo.seed = kafka ? 11 : 5;
  fo.dir = dir.Sub("fleet");
  fo.history_limit = 3000;  // small history: expired watches and relists happen
  fo.faults = simulator::FaultSchedule::Random(fo.seed, 3, 25000, 6000);
  auto fleet = simulator::Fleet::Create(fo);
  ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
  KL_ASSERT_OK((*fleet)->Start());

  WarehouseOptions wo;
  wo.warehouse = dir.Sub("warehouse");
  auto start_collector = [&](Child* c) {
    ASSERT_TRUE(c->Start(
        {Kubelake(), "--log-level", "warn", "collect", "--kubeconfig", (*fleet)->kubeconfig_path(), "--sink",
         "log:" + log_uri, "--state-dir", dir.Sub("collector"), "--checkpoint-interval", "2", "--stats-interval", "0"},
        dir.Sub("collector.out")));
  };
  auto start_pipeline = [&](Child* c) {
    ASSERT_TRUE(c->Start({Kubelake(), "--log-level", "warn", "pipeline", "--log", log_uri, "--warehouse", wo.warehouse,
                          "--commit-interval-ms", "300", "--trend-interval", "5", "--status-interval", "0",
                          "--listen-http", "off", "--listen-pg", "off"},
                         dir.Sub("pipeline.out")));
  };
  Child collector, pipeline;
  start_collector(&collector);
  start_pipeline(&pipeline);

  // Rounds of random SIGKILLs while the fleet churns and faults fire.
  int kills = 0;
  for (int round = 0; round < 10; ++round) {
    std::this_thread::sleep_for(milliseconds(rng.Range(600, 2500)));
    uint64_t victim = rng.Uniform(3);
    if (victim != 1) collector.Kill();
    if (victim != 0) pipeline.Kill();
    ++kills;
    std::this_thread::sleep_for(milliseconds(rng.Range(50, 800)));
    if (!collector.running()) start_collector(&collector);
    if (!pipeline.running()) start_pipeline(&pipeline);
  }

  // Quiesce: no more churn; wait for the faults (downtime) to end; let everything catch up.
  (*fleet)->SetChurn(false);
  for (int i = 0; i < 600 && !(*fleet)->FaultsDone(); ++i) std::this_thread::sleep_for(milliseconds(100));
  Counts truth = TruthCounts(fleet->get());
  bool equal = false;
  for (int i = 0; i < 240 && !equal; ++i) {
    std::this_thread::sleep_for(milliseconds(500));
    auto w = WarehouseCounts(wo);
    auto ads = AdsCounts(wo);
    auto regions = WrongRegions(wo, fleet->get());
    equal = w.ok() && ads.ok() && w->objects == truth.objects && *ads == truth.by_cluster_kind && regions.ok() &&
            regions->empty();
  }
  auto wrong_regions = WrongRegions(wo, fleet->get());
  collector.Terminate();
  pipeline.Terminate();
  (*fleet)->Stop();

  // DWD: exactly the live objects at their current versions.
  auto w = WarehouseCounts(wo);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->objects.size(), truth.objects.size());
  std::vector<std::tuple<std::string, std::string, int64_t>> missing, extra;
  std::set_difference(truth.objects.begin(), truth.objects.end(), w->objects.begin(), w->objects.end(),
                      std::back_inserter(missing));
  std::set_difference(w->objects.begin(), w->objects.end(), truth.objects.begin(), truth.objects.end(),
                      std::back_inserter(extra));
  EXPECT_TRUE(missing.empty() && extra.empty())
      << missing.size() << " objects missing from DWD, " << extra.size()
      << " extra (first missing: " << (missing.empty() ? "-" : std::get<1>(missing[0])) << ")";
  // DWD and topology: every row carries its cluster's region.
  ASSERT_TRUE(wrong_regions.ok()) << wrong_regions.status().ToString();
  EXPECT_TRUE(wrong_regions->empty()) << wrong_regions->size()
                                      << " rows without their cluster's region, first: " << wrong_regions->front();
  // ADS: exact counts, none negative.
  auto ads = AdsCounts(wo);
  ASSERT_TRUE(ads.ok()) << ads.status().ToString();
  EXPECT_EQ(*ads, truth.by_cluster_kind);

  // ADS = aggregate(DWD) at every committed ADS snapshot (its identifier is the DWD snapshot it covers).
  auto ads_table = table::Catalog(wo.warehouse).GetTable(wo.database, kAdsKindCountTable);
  ASSERT_TRUE(ads_table.ok());
  auto ids = (*ads_table)->snapshots().ListIds();
  ASSERT_TRUE(ids.ok());
  int checked = 0;
  for (int64_t id : *ids) {
    auto s = (*ads_table)->snapshots().Read(id);
    ASSERT_TRUE(s.ok());
    if (s->commit_user != "kubelake-job-ads-kind-count" || s->commit_kind != table::CommitKind::kAppend) continue;
    auto at = AdsCounts(wo, id);
    auto dwd_at = WarehouseCounts(wo, s->commit_identifier);
    if (!dwd_at.ok()) continue;  // that DWD snapshot expired
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(*at, dwd_at->by_cluster_kind) << "ADS snapshot " << id << " vs DWD snapshot " << s->commit_identifier;
    ++checked;
  }
  EXPECT_GT(checked, 3);

  // Log and ODS: the collector never emitted a (uid, resourceVersion) twice,
  // and ODS holds every log record exactly once.
  auto log = log::OpenEventLog(log_uri);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::multiset<std::pair<std::string, std::string>> log_records;
  std::set<std::pair<std::string, std::string>> versions;
  int duplicates = 0;
  {
    auto consumer = (*log)->NewConsumer("e2e-check");
    ASSERT_TRUE(consumer.ok());
    std::map<int32_t, int64_t> end;
    for (int32_t p = 0; p < (*log)->NumPartitions(); ++p) {
      end[p] = *(*log)->EndOffset(p);
      KL_ASSERT_OK((*consumer)->Seek(p, log::kOffsetBeginning));
    }
    K8sEventParser parser({});
    size_t total = 0;
    for (const auto& [p, e] : end) total += static_cast<size_t>(e);
    // A Kafka consumer may poll empty while it fetches metadata: wait, up to a deadline.
    int64_t deadline = MonotonicMicros() + 60'000'000;
    while (log_records.size() < total && MonotonicMicros() < deadline) {
      auto batch = (*consumer)->Poll({10000, 16 << 20, 1000});
      ASSERT_TRUE(batch.ok()) << batch.status().ToString();
      for (const auto& r : *batch) {
        log_records.insert({std::string(r.key), std::string(r.value)});
        auto e = parser.Parse(r.value);
        ASSERT_TRUE(e.ok());
        if (!versions.insert({e->uid, e->resource_version}).second) ++duplicates;
      }
    }
    EXPECT_EQ(log_records.size(), total);
  }
  EXPECT_EQ(duplicates, 0) << "(uid, resourceVersion) emitted more than once";
  auto ods = table::Catalog(wo.warehouse).GetTable(wo.database, kOdsTable);
  ASSERT_TRUE(ods.ok());
  auto ods_rows = (*ods)->ReadAll(std::nullopt, {"cluster", "content"});
  ASSERT_TRUE(ods_rows.ok());
  std::multiset<std::pair<std::string, std::string>> ods_records;
  for (size_t i = 0; i < ods_rows->size(); ++i) {
    ods_records.insert(
        {std::string(ods_rows->rows.column(0).GetBytes(i)), std::string(ods_rows->rows.column(1).GetBytes(i))});
  }
  EXPECT_EQ(ods_records.size(), log_records.size());
  EXPECT_TRUE(ods_records == log_records) << "ODS must hold each emitted event exactly once";
  std::printf("%s: %d kill rounds, %zu events, %zu live objects, %d ADS snapshots checked\n", GetParam().c_str(), kills,
              log_records.size(), truth.objects.size(), checked);
  if (kafka) broker.Terminate();
}

INSTANTIATE_TEST_SUITE_P(Logs, PipelineE2ETest, ::testing::Values("dir", "kafka"));

}  // namespace
}  // namespace kl::pipeline
