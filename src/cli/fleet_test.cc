// Fleet deployment end to end, as processes: `kubelake simulate` (4 clusters
// with churn), one `kubelake collect --watchsets-from-cluster --sink https://`
// per cluster, and one central `kubelake run --listen-ingest`. WatchSets are
// applied with kubectl; during the run the WatchSets are edited (services
// added, replicasets dropped), collectors and the central process are
// SIGKILLed at random moments, the central side is cut off for a while and
// frozen once. At the end the central DWD equals the simulators' truth for
// every watched kind, no (cluster, uid, resourceVersion) is twice in ODS, and
// the dropped kind received nothing after the edit.
//
// KUBELAKE_FLEET_SECONDS (default 16) sets the length of the chaos phase and
// KUBELAKE_FLEET_SEED its schedule; a longer run: KUBELAKE_FLEET_SECONDS=300.
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "collector/api_get_test_util.h"
#include "collector/watchset/kubeconfig.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/random.h"
#include "common/string_util.h"
#include "common/testing/test_system_util.h"
#include "common/testing/test_util.h"
#include "ingest/clusters.h"
#include "ingest/wire.h"
#include "log/event_log.h"
#include "pipeline/warehouse/warehouse.h"
#include "simulator/tls.h"
#include "table/table.h"

namespace kl::cli {
namespace {

using testing::KillProcess;
using testing::SleepMs;
using testing::SpawnLogged;

using collector::ClusterCredentials;

std::string Kubelake() { return JoinPath(testing::BinaryDir(), "src/cli/kubelake"); }

using kl::testing::FreePort;

int Shell(const std::string& command, std::string* out) {
  out->clear();
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out->append(buf, n);
  return pclose(pipe);
}

// POSTs a raw body to the ingest endpoint; returns the HTTP status.
long PostBatch(const std::string& url, const std::string& ca_pem, const std::string& cluster, const std::string& token,
               const std::string& body, std::string* answer) {
  CURL* curl = curl_easy_init();
  std::string u = url + std::string(ingest::kBatchPath);
  curl_easy_setopt(curl, CURLOPT_URL, u.c_str());
  curl_blob blob{const_cast<char*>(ca_pem.data()), ca_pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
  curl_slist* headers = curl_slist_append(nullptr, ("Authorization: Bearer " + token).c_str());
  headers = curl_slist_append(headers, ("X-Kubelake-Cluster: " + cluster).c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* ud) {
        static_cast<std::string*>(ud)->append(p, s * n);
        return s * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
}

struct OdsEvent {
  std::string cluster, uid, rv, kind;
  int64_t ingest_time = 0;
};

// Every ODS row (content parsed), read from the central warehouse.
Result<std::vector<OdsEvent>> ReadOds(const std::string& warehouse) {
  table::Catalog catalog(warehouse);
  KL_ASSIGN_OR_RETURN(auto ods, catalog.GetTable("kubelake", pipeline::kOdsTable));
  KL_ASSIGN_OR_RETURN(auto rows, ods->ReadAll(std::nullopt, {"ingest_time", "cluster", "content"}));
  std::vector<OdsEvent> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    format::Row r = rows.rows.GetRow(i);
    KL_ASSIGN_OR_RETURN(JsonValue content, ParseJson(r[2].as_bytes(), "ODS content"));
    out.push_back({r[1].as_bytes(), content.GetStringOr("uid", ""), content.GetStringOr("resourceversion", ""),
                   content.GetStringOr("kind", ""), r[0].as_int()});
  }
  return out;
}

// (key, uid, resourceversion) triples that a log holds more than once: tells
// whether a duplicate in ODS came from the collectors and ingest (then the
// central log has it too) or from the pipeline (then it does not).
std::string LogDuplicates(const std::string& uri) {
  auto log = log::OpenEventLog(uri + (uri.find('?') == std::string::npos ? "?create=false" : "&create=false"));
  if (!log.ok()) return log.status().ToString();
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  size_t records = 0, dups = 0;
  std::string example;
  for (int32_t p = 0; p < (*log)->NumPartitions(); ++p) {
    auto consumer = (*log)->NewConsumer("fleet-test-check");
    if (!consumer.ok()) return consumer.status().ToString();
    if (!(*consumer)->Seek(p, log::kOffsetBeginning).ok()) continue;
    int64_t end = (*log)->EndOffset(p).value_or(0), pos = (*log)->StartOffset(p).value_or(0);
    while (pos < end) {
      auto batch = (*consumer)->Poll({});
      if (!batch.ok()) return batch.status().ToString();
      for (const auto& r : *batch) {
        pos = r.offset + 1;
        ++records;
        auto v = ParseJson(r.value, "record");
        if (!v.ok()) continue;
        if (!seen.insert({std::string(r.key), v->GetStringOr("uid", ""), v->GetStringOr("resourceversion", "")})
                 .second) {
          if (++dups == 1)
            example = std::string(r.key) + " " + v->GetStringOr("uid", "") + "@" +
                      v->GetStringOr("resourceversion", "") + " at " + std::to_string(p) + ":" +
                      std::to_string(r.offset);
        }
      }
    }
  }
  return std::to_string(records) + " records, " + std::to_string(dups) + " duplicates" +
         (dups ? " (" + example + ")" : "");
}

// cluster -> uid -> "Kind@rv" of the live DWD rows of `kinds`.
Result<std::map<std::string, std::map<std::string, std::string>>> ReadDwd(const std::string& warehouse,
                                                                          const std::set<std::string>& kinds) {
  table::Catalog catalog(warehouse);
  KL_ASSIGN_OR_RETURN(auto dwd, catalog.GetTable("kubelake", pipeline::kDwdTable));
  KL_ASSIGN_OR_RETURN(auto rows, dwd->ReadAll(std::nullopt, {"cluster", "uid", "rv", "kind", "deleted"}));
  std::map<std::string, std::map<std::string, std::string>> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    format::Row r = rows.rows.GetRow(i);
    if (r[4].as_int() != 0 || kinds.count(r[3].as_bytes()) == 0) continue;
    out[r[0].as_bytes()][r[1].as_bytes()] = r[3].as_bytes() + "@" + std::to_string(r[2].as_int());
  }
  return out;
}

Result<std::map<std::string, std::map<std::string, std::string>>> ReadTruth(
    const std::vector<ClusterCredentials>& clusters, const std::set<std::string>& kinds) {
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const auto& c : clusters) {
    KL_ASSIGN_OR_RETURN(std::string text, kl::testing::GetFromApiServer(c, "/kubelake/truth"));
    KL_ASSIGN_OR_RETURN(JsonValue truth, ParseJson(text, "truth"));
    auto& m = out[c.name];
    for (const JsonValue& o : truth.Find("objects")->items()) {
      std::string kind = o.GetStringOr("kind", "");
      if (kinds.count(kind) != 0) m[o.GetStringOr("uid", "")] = kind + "@" + o.GetStringOr("resourceVersion", "");
    }
  }
  return out;
}

std::string Diff(const std::map<std::string, std::map<std::string, std::string>>& want,
                 const std::map<std::string, std::map<std::string, std::string>>& got) {
  std::string out;
  for (const auto& [cluster, objects] : want) {
    auto it = got.find(cluster);
    size_t missing = 0, wrong = 0, extra = 0;
    std::string example;
    for (const auto& [uid, v] : objects) {
      if (it == got.end() || it->second.count(uid) == 0) {
        ++missing;
        if (example.empty()) example = "missing " + v;
      } else if (it->second.at(uid) != v) {
        ++wrong;
        if (example.empty()) example = v + " is " + it->second.at(uid);
      }
    }
    if (it != got.end()) {
      for (const auto& [uid, v] : it->second) {
        if (objects.count(uid) == 0) {
          ++extra;
          if (example.empty()) example = "extra " + v;
        }
      }
    }
    if (missing + wrong + extra > 0) {
      out += cluster + ": " + std::to_string(missing) + " missing, " + std::to_string(wrong) + " at another version, " +
             std::to_string(extra) + " extra (" + example + "); ";
    }
  }
  return out;
}

constexpr const char* kWatchSetV1 =
    "apiVersion: kubelake.io/v1alpha1\nkind: WatchSet\nmetadata: {name: fleet}\nspec:\n  resources:\n"
    "  - {version: v1, resource: namespaces}\n  - {version: v1, resource: nodes}\n  - {version: v1, resource: pods}\n"
    "  - {group: apps, version: v1, resource: deployments}\n  - {group: apps, version: v1, resource: replicasets}\n";
constexpr const char* kWatchSetV2 =
    "apiVersion: kubelake.io/v1alpha1\nkind: WatchSet\nmetadata: {name: fleet}\nspec:\n  resources:\n"
    "  - {version: v1, resource: namespaces}\n  - {version: v1, resource: nodes}\n  - {version: v1, resource: pods}\n"
    "  - {group: apps, version: v1, resource: deployments}\n  - {version: v1, resource: services}\n";

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v kubectl > /dev/null 2>&1") != 0) {
      GTEST_SKIP() << "kubectl not installed (Debian package kubernetes-client)";
    }
    ASSERT_TRUE(FileExists(Kubelake())) << Kubelake();
    auto tls = simulator::GenerateTlsMaterial("kubelake-central-ca");
    ASSERT_TRUE(tls.ok());
    tls_ = *tls;
    KL_ASSERT_OK(WriteFile(dir_.Sub("ca.crt"), tls_.ca_cert_pem));
    KL_ASSERT_OK(WriteFile(dir_.Sub("ingest.crt"), tls_.server_cert_pem));
    KL_ASSERT_OK(WriteFile(dir_.Sub("ingest.key"), tls_.server_key_pem));
    port_ = FreePort();
    url_ = "https://127.0.0.1:" + std::to_string(port_);
  }

  void TearDown() override {
    for (pid_t& p : collectors_) KillProcess(&p, SIGKILL);
    KillProcess(&central_, SIGKILL);
    KillProcess(&simulator_, SIGKILL);
  }

  void StartSimulator(int clusters, int churn_for_s) {
    simulator_ = SpawnLogged({Kubelake(),
                              "simulate",
                              "--clusters",
                              std::to_string(clusters),
                              "--nodes",
                              "3",
                              "--pods",
                              "30",
                              "--pods-per-deployment",
                              "3",
                              "--churn-pods",
                              "4",
                              "--churn-updates",
                              "8",
                              "--churn-scales",
                              "2",
                              "--churn-for",
                              std::to_string(churn_for_s),
                              "--bookmark-interval-ms",
                              "200",
                              "--seed",
                              "11",
                              "--dir",
                              dir_.Sub("sim")},
                             dir_.Sub("simulate.log"));
    ASSERT_GT(simulator_, 0);
    std::string kubeconfig = dir_.Sub("sim/kubeconfig");
    for (int i = 0; i < 100 && !FileExists(kubeconfig); ++i) SleepMs(50);
    KL_ASSERT_OK_AND_ASSIGN(clusters_, collector::LoadKubeconfig(kubeconfig));
    kubectl_ = "kubectl --cache-dir " + dir_.Sub("kube-cache") + " --kubeconfig " + kubeconfig + " ";
  }

  void WriteClusters(const std::string& yaml) { KL_ASSERT_OK(WriteFile(dir_.Sub("clusters.yaml"), yaml)); }

  void StartCentral() {
    central_ = SpawnLogged({Kubelake(),
                            "run",
                            "--data-dir",
                            dir_.Sub("central"),
                            "--listen-ingest",
                            "127.0.0.1:" + std::to_string(port_),
                            "--ingest-tls-cert",
                            dir_.Sub("ingest.crt"),
                            "--ingest-tls-key",
                            dir_.Sub("ingest.key"),
                            "--ingest-clusters",
                            dir_.Sub("clusters.yaml"),
                            "--commit-interval-ms",
                            "200",
                            "--ods-commit-interval-ms",
                            "200",
                            "--status-interval",
                            "2",
                            "--listen-http",
                            "off",
                            "--listen-pg",
                            "off"},
                           dir_.Sub("central.log"));
    ASSERT_GT(central_, 0);
  }

  pid_t StartCollector(const std::string& context, const std::vector<std::string>& credentials) {
    std::vector<std::string> args = {Kubelake(),
                                     "collect",
                                     "--kubeconfig",
                                     dir_.Sub("sim/kubeconfig"),
                                     "--context",
                                     context,
                                     "--watchsets-from-cluster",
                                     "--sink",
                                     url_,
                                     "--sink-ca",
                                     dir_.Sub("ca.crt"),
                                     "--state-dir",
                                     dir_.Sub("collector-" + context),
                                     "--checkpoint-interval",
                                     "1",
                                     "--status-interval",
                                     "0.5",
                                     "--stats-interval",
                                     "2"};
    args.insert(args.end(), credentials.begin(), credentials.end());
    return SpawnLogged(args, dir_.Sub("collector-" + context + ".log"));
  }

  void ApplyWatchSet(const std::string& context, const std::string& yaml) {
    std::string path = dir_.Sub("ws-" + context + ".yaml");
    KL_ASSERT_OK(WriteFile(path, yaml));
    std::string out;
    ASSERT_EQ(Shell(kubectl_ + "--context " + context + " apply -f " + path, &out), 0) << out;
  }

  std::string Log(const std::string& name) { return ReadFile(dir_.Sub(name)).value_or(""); }

  testing::TempDir dir_;
  simulator::TlsMaterial tls_;
  int port_ = 0;
  std::string url_;
  std::string kubectl_;
  std::vector<ClusterCredentials> clusters_;
  pid_t simulator_ = -1, central_ = -1;
  std::vector<pid_t> collectors_;
};

TEST_F(FleetTest, FourClustersShipExactlyOnceThroughKillsCutsAndWatchSetEdits) {
  const char* env_seconds = std::getenv("KUBELAKE_FLEET_SECONDS");
  int chaos_s = env_seconds != nullptr ? std::atoi(env_seconds) : 16;
  const char* env_seed = std::getenv("KUBELAKE_FLEET_SEED");
  uint64_t seed = env_seed != nullptr ? std::strtoull(env_seed, nullptr, 10) : 3;
  Random rng(seed);
  const int kClusters = 4;
  StartSimulator(kClusters, chaos_s + 2);
  // The chaos clock starts with the simulator's churn, so the WatchSet edit (at half of it)
  // leaves churn after it even when the setup below is slow on a loaded machine.
  auto start = std::chrono::steady_clock::now();
  std::string clusters_yaml = "clusters:\n";
  for (int i = 0; i < kClusters; ++i) {
    std::string name = clusters_[i].name;
    clusters_yaml += "- name: " + name + "\n  tokenSha256: " + ingest::Sha256Hex("token-of-" + name) + "\n";
    KL_ASSERT_OK(WriteFile(dir_.Sub("token-" + name), "token-of-" + name + "\n"));
    std::string out;
    ASSERT_EQ(Shell(kubectl_ + "--context " + name + " apply -f " +
                        JoinPath(testing::SourceDir(), "deploy/base/collector/watchset-crd.yaml"),
                    &out),
              0)
        << out;
    ApplyWatchSet(name, kWatchSetV1);
  }
  WriteClusters(clusters_yaml);
  StartCentral();
  auto credentials = [&](int i) {
    return std::vector<std::string>{"--sink-token-file", dir_.Sub("token-" + clusters_[i].name)};
  };
  for (int i = 0; i < kClusters; ++i) collectors_.push_back(StartCollector(clusters_[i].name, credentials(i)));

  // Chaos: a random kill every 0.6-1.8 s; a cut at 30%, the WatchSet edit at
  // 50%, a freeze at 75% of the time.
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  };
  bool edited = false, cut = false, frozen = false;
  int64_t edit_wall_ms = 0;
  int kills = 0, central_kills = 0;
  while (elapsed_ms() < chaos_s * 1000) {
    SleepMs(600 + static_cast<int>(rng.Uniform(1200)));
    if (!edited && elapsed_ms() >= chaos_s * 500) {
      edit_wall_ms = NowMillis();
      for (int i = 0; i < kClusters; ++i) ApplyWatchSet(clusters_[i].name, kWatchSetV2);
      edited = true;
      continue;
    }
    if (!cut && elapsed_ms() >= chaos_s * 300) {  // network cut: the central side is unreachable for a while
      KillProcess(&central_, SIGKILL);
      ++central_kills;
      SleepMs(3000);
      StartCentral();
      cut = true;
      continue;
    }
    if (!frozen && elapsed_ms() >= chaos_s * 750) {  // the central side hangs (slow), then goes on
      ::kill(central_, SIGSTOP);
      SleepMs(1500);
      ::kill(central_, SIGCONT);
      frozen = true;
      continue;
    }
    if (rng.Uniform(10) < 6) {  // a collector dies and comes back
      int i = static_cast<int>(rng.Uniform(kClusters));
      KillProcess(&collectors_[i], SIGKILL);
      ++kills;
      SleepMs(100 + static_cast<int>(rng.Uniform(700)));
      collectors_[i] = StartCollector(clusters_[i].name, credentials(i));
    } else {  // the central process dies and comes back
      KillProcess(&central_, SIGKILL);
      ++central_kills;
      SleepMs(100 + static_cast<int>(rng.Uniform(500)));
      StartCentral();
    }
  }
  if (!frozen) {  // the last actions ran long: freeze once now
    ::kill(central_, SIGSTOP);
    SleepMs(1500);
    ::kill(central_, SIGCONT);
    frozen = true;
  }
  ASSERT_TRUE(edited && cut && frozen);
  std::printf("chaos: %d collector kills, %d central kills, cut %d, frozen %d over %d s\n", kills, central_kills, cut,
              frozen, chaos_s);

  // Churn has stopped: the central warehouse must converge to the truth.
  const std::set<std::string> watched = {"Namespace", "Node", "Pod", "Deployment", "Service"};
  std::string warehouse = dir_.Sub("central/warehouse");
  std::string diff = "not compared yet";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    SleepMs(1000);
    auto truth = ReadTruth(clusters_, watched);
    auto dwd = ReadDwd(warehouse, watched);
    if (!truth.ok() || !dwd.ok()) {
      diff = !truth.ok() ? truth.status().ToString() : dwd.status().ToString();
      continue;
    }
    diff = Diff(*truth, *dwd);
    if (diff.empty()) break;
  }
  EXPECT_EQ(diff, "")
      << "central log tail:\n"
      << Log("central.log").substr(Log("central.log").size() > 3000 ? Log("central.log").size() - 3000 : 0);

  // ODS: no (cluster, uid, resourceVersion) twice; services arrived; replica
  // sets stopped at the edit although churn kept changing them.
  // ODS commits on its own interval, so DWD may reach the truth first (a central killed late in the chaos
  // starts ODS's interval afresh): wait until the services, listed only after the edit, are in ODS too.
  std::vector<OdsEvent> ods;
  for (auto ods_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);;) {
    KL_ASSERT_OK_AND_ASSIGN(ods, ReadOds(warehouse));
    bool has_service = std::any_of(ods.begin(), ods.end(), [](const OdsEvent& e) { return e.kind == "Service"; });
    if (has_service || std::chrono::steady_clock::now() > ods_deadline) break;
    SleepMs(500);
  }
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  size_t dups = 0, services = 0, late_replicasets = 0;
  for (const OdsEvent& e : ods) {
    if (!seen.insert({e.cluster, e.uid, e.rv}).second && ++dups <= 3) {
      ADD_FAILURE() << e.cluster << " " << e.kind << " " << e.uid << "@" << e.rv << " twice in ODS";
    }
    services += e.kind == "Service";
    // The collectors pick the edit up at once (their watch of WatchSets); 3 s of slack for loaded machines.
    if (e.kind == "ReplicaSet" && e.ingest_time > edit_wall_ms + 3000) ++late_replicasets;
  }
  if (dups > 0) {
    std::string where = "central log: " + LogDuplicates("dir:" + dir_.Sub("central/log"));
    for (const auto& c : clusters_) {
      where += "; spool of " + c.name + ": " + LogDuplicates("dir:" + dir_.Sub("collector-" + c.name + "/spool/log"));
    }
    ADD_FAILURE() << "where the duplicates are: " << where;
  }
  EXPECT_EQ(dups, 0u) << ods.size() << " ODS events";
  EXPECT_GT(services, 0u);
  EXPECT_EQ(late_replicasets, 0u);
  // ...and churn did change replica sets after the edit: DWD misses those changes.
  auto rs_truth = ReadTruth(clusters_, {"ReplicaSet"});
  auto rs_dwd = ReadDwd(warehouse, {"ReplicaSet"});
  ASSERT_TRUE(rs_truth.ok() && rs_dwd.ok());
  EXPECT_NE(Diff(*rs_truth, *rs_dwd), "") << "replica sets did not change after the edit: the check proves nothing";

  // The WatchSets' status says what is watched now.
  std::string out;
  ASSERT_EQ(Shell(kubectl_ + "--context " + clusters_[0].name +
                      " get ws fleet -o jsonpath='{.status.conditions[0].reason} {.status.observedGeneration} "
                      "{.status.watchedResources[*].resource}'",
                  &out),
            0)
      << out;
  EXPECT_EQ(out, "Watching 2 namespaces nodes pods deployments services");
}

TEST_F(FleetTest, WrongTokensUnknownClustersAndBadBatchesAreRefusedAndAppendNothing) {
  StartSimulator(3, 0);
  auto client = simulator::GenerateClientCertificate(tls_, clusters_[2].name);
  ASSERT_TRUE(client.ok());
  KL_ASSERT_OK(WriteFile(dir_.Sub("client.crt"), client->cert_pem));
  KL_ASSERT_OK(WriteFile(dir_.Sub("client.key"), client->key_pem));
  auto other = simulator::GenerateClientCertificate(tls_, "someone-else");
  KL_ASSERT_OK(WriteFile(dir_.Sub("other.crt"), other->cert_pem));
  KL_ASSERT_OK(WriteFile(dir_.Sub("other.key"), other->key_pem));
  // sim-1 by token, sim-3 by client certificate; sim-2 is not accepted.
  WriteClusters("clusters:\n- name: " + clusters_[0].name + "\n  token: right-token\n- name: " + clusters_[2].name +
                "\n  certificateCommonName: " + clusters_[2].name + "\n");
  // The central side asks for client certificates signed by this CA.
  central_ = SpawnLogged({Kubelake(),
                          "run",
                          "--data-dir",
                          dir_.Sub("central"),
                          "--listen-ingest",
                          "127.0.0.1:" + std::to_string(port_),
                          "--ingest-tls-cert",
                          dir_.Sub("ingest.crt"),
                          "--ingest-tls-key",
                          dir_.Sub("ingest.key"),
                          "--ingest-client-ca",
                          dir_.Sub("ca.crt"),
                          "--ingest-clusters",
                          dir_.Sub("clusters.yaml"),
                          "--commit-interval-ms",
                          "200",
                          "--ods-commit-interval-ms",
                          "200",
                          "--status-interval",
                          "1",
                          "--listen-http",
                          "off",
                          "--listen-pg",
                          "off"},
                         dir_.Sub("central.log"));
  KL_ASSERT_OK(WriteFile(dir_.Sub("wrong-token"), "not-the-token\n"));
  KL_ASSERT_OK(WriteFile(dir_.Sub("right-token"), "right-token\n"));
  auto collect = [&](const std::string& context, const std::string& state, std::vector<std::string> creds) {
    std::vector<std::string> args = {Kubelake(),         "collect",
                                     "--kubeconfig",     dir_.Sub("sim/kubeconfig"),
                                     "--context",        context,
                                     "--sink",           url_,
                                     "--sink-ca",        dir_.Sub("ca.crt"),
                                     "--state-dir",      dir_.Sub("state-" + state),
                                     "--stats-interval", "1"};
    args.insert(args.end(), creds.begin(), creds.end());
    return SpawnLogged(args, dir_.Sub(state + ".log"));
  };
  collectors_.push_back(collect(clusters_[0].name, "wrong-token", {"--sink-token-file", dir_.Sub("wrong-token")}));
  collectors_.push_back(collect(clusters_[1].name, "unknown", {"--sink-token-file", dir_.Sub("right-token")}));
  collectors_.push_back(collect(clusters_[2].name, "cert-ok",
                                {"--sink-cert", dir_.Sub("client.crt"), "--sink-key", dir_.Sub("client.key")}));
  collectors_.push_back(collect(clusters_[2].name, "cert-other",
                                {"--sink-cert", dir_.Sub("other.crt"), "--sink-key", dir_.Sub("other.key")}));

  auto wait_for = [&](const std::string& log, const std::string& text) {
    for (int i = 0; i < 200; ++i) {
      if (Log(log).find(text) != std::string::npos) return true;
      SleepMs(50);
    }
    return false;
  };
  // Clear errors on both sides.
  EXPECT_TRUE(wait_for("wrong-token.log", "HTTP 401: wrong token for cluster \"" + clusters_[0].name + "\""))
      << Log("wrong-token.log");
  EXPECT_TRUE(wait_for("unknown.log", "HTTP 403: cluster \"" + clusters_[1].name + "\" is not accepted"))
      << Log("unknown.log");
  EXPECT_TRUE(wait_for("cert-other.log", "HTTP 403: client certificate (CN \"someone-else\")"))
      << Log("cert-other.log");
  EXPECT_TRUE(wait_for("central.log", "wrong token for cluster")) << Log("central.log");
  EXPECT_TRUE(wait_for("central.log", "is not accepted by this kubelake")) << Log("central.log");
  // The certificate of sim-3 gets its events in.
  EXPECT_TRUE(wait_for("cert-ok.log", "central kubelake " + url_ + " continues stream")) << Log("cert-ok.log");

  // A malformed batch is refused whole: one good event, then a broken one.
  ingest::BatchEncoder enc;
  enc.Begin(clusters_[0].name, "hand-made", 0);
  enc.Add(1, R"({"type":"ADDED","obj":{"metadata":{"name":"x"}},"kind":"Pod","uid":"u-good","resourceversion":"1"})");
  enc.Add(1, R"({"type":"ADDED","obj":{"metadata":)");
  std::string answer;
  EXPECT_EQ(PostBatch(url_, tls_.ca_cert_pem, clusters_[0].name, "right-token", enc.Finish(), &answer), 400);
  EXPECT_NE(answer.find("event 1"), std::string::npos) << answer;
  answer.clear();
  EXPECT_EQ(PostBatch(url_, tls_.ca_cert_pem, clusters_[0].name, "right-token", "garbage", &answer), 400);
  EXPECT_NE(answer.find("malformed batch"), std::string::npos) << answer;

  // Give the warehouse time to commit whatever it got; only sim-3 may be there.
  SleepMs(2500);
  KL_ASSERT_OK_AND_ASSIGN(std::vector<OdsEvent> ods, ReadOds(dir_.Sub("central/warehouse")));
  std::set<std::string> clusters;
  for (const auto& e : ods) {
    clusters.insert(e.cluster);
    EXPECT_NE(e.uid, "u-good");
  }
  EXPECT_EQ(clusters, std::set<std::string>{clusters_[2].name});
}

}  // namespace
}  // namespace kl::cli
