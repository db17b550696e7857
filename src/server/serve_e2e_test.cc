// The servers inside a running `kubelake demo` (a small simulated fleet,
// no churn): /metrics checked by Prometheus's promtool, the JSON API equal
// to `kubelake query`, probes and errors, the dashboard in headless Chromium
// driven by puppeteer-core (npm, installed into the build directory), and
// psql on the PostgreSQL port. Screenshots land in <build>/test-artifacts.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <thread>

#include "common/file/file_util.h"
#include "common/json.h"
#include "common/string_util.h"
#include "common/testing/test_system_util.h"
#include "common/testing/test_util.h"

namespace kl::server {
namespace {

using kl::testing::RunCommand;

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// GET url (POST `post` when given) -> (status, body).
std::pair<long, std::string> Get(const std::string& url, const std::string* post = nullptr) {
  CURL* curl = curl_easy_init();
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_slist* headers = nullptr;
  if (post != nullptr) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post->c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(post->size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  long code = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  return {code, body};
}

std::pair<long, std::string> Post(const std::string& url, const std::string& body) { return Get(url, &body); }

class ServeE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new kl::testing::TempDir();
    std::string bin = JoinPath(kl::testing::BinaryDir(), "src/cli/kubelake");
    std::string out = dir_->Sub("demo.out");
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = freopen(out.c_str(), "w", stdout);
      (void)f;
      freopen(dir_->Sub("demo.err").c_str(), "w", stderr);
      execl(bin.c_str(), bin.c_str(), "demo", "--data-dir", dir_->Sub("data").c_str(), "--duration", "0",
            "--listen-http", "127.0.0.1:0", "--listen-pg", "127.0.0.1:0", "--clusters", "2", "--nodes", "4", "--pods",
            "60", "--churn", "0", "--no-faults", "--trend-interval", "1", "--status-interval", "1000", nullptr);
      _exit(127);
    }
    // The demo prints the servers' addresses when it starts them.
    std::regex http_re("dashboard (http://127\\.0\\.0\\.1:[0-9]+)/"),
        pg_re("PostgreSQL protocol 127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 600 && (base_.empty() || pg_port_.empty()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto text = ReadFile(out);
      std::smatch m;
      if (text.ok() && std::regex_search(*text, m, http_re)) base_ = m[1];
      if (text.ok() && std::regex_search(*text, m, pg_re)) pg_port_ = m[1];
    }
    // Ready, with every object collected and two trend samples.
    for (int i = 0; i < 900; ++i) {
      auto ready = Get(base_ + "/readyz");
      auto trend = Get(base_ + "/api/v1/trend?minutes=10");
      auto parsed = ParseJson(trend.second);
      if (ready.first == 200 && parsed.ok() && parsed->Find("rows") != nullptr &&
          parsed->Find("rows")->items().size() >= 4) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  static void TearDownTestSuite() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status;
      waitpid(pid_, &status, 0);
    }
    delete dir_;
  }
  void SetUp() override { ASSERT_FALSE(base_.empty()) << "the demo did not print its dashboard address"; }

  static kl::testing::TempDir* dir_;
  static pid_t pid_;
  static std::string base_;
  static std::string pg_port_;
};
kl::testing::TempDir* ServeE2eTest::dir_ = nullptr;
pid_t ServeE2eTest::pid_ = 0;
std::string ServeE2eTest::base_;
std::string ServeE2eTest::pg_port_;

TEST_F(ServeE2eTest, MetricsPassPromtool) {
  auto [code, body] = Get(base_ + "/metrics");
  ASSERT_EQ(code, 200);
  for (const char* want :
       {"kubelake_objects{cluster=\"sim-1\",region=", "kind=\"Pod\"}", "kubelake_namespace_objects{",
        "kubelake_node_pods{cluster=", "kubelake_node_cpu_requests_cores{",
        "kubelake_job_commit_duration_seconds_bucket{job=\"dwd\",le=\"0.005\"}",
        "kubelake_job_log_lag_records{job=\"dwd\"}", "kubelake_job_freshness_seconds{job=\"ods\"}",
        "kubelake_collector_watch_state{cluster=\"sim-1\",watch=", "kubelake_collector_relists_total{",
        "kubelake_log_size_bytes ", "kubelake_table_snapshots{table=\"dwd_objects\"}",
        "kubelake_warehouse_freshness_seconds ", "kubelake_pg_connections "}) {
    EXPECT_NE(body.find(want), std::string::npos) << want;
  }
  EXPECT_EQ(body.find("pod=\""), std::string::npos);
  EXPECT_EQ(body.find("user=\""), std::string::npos);
  if (std::system("promtool --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "promtool (Debian prometheus) absent";
  ASSERT_TRUE(WriteFile(dir_->Sub("metrics.txt"), body).ok());
  int rc = 0;
  std::string out = RunCommand("promtool check metrics < '" + dir_->Sub("metrics.txt") + "' 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "") << out;  // promtool prints lint problems; none expected
}

TEST_F(ServeE2eTest, ApiEqualsQueryCommands) {
  std::string bin = JoinPath(kl::testing::BinaryDir(), "src/cli/kubelake");
  int rc = 0;
  std::string cli = RunCommand(bin + " query audit --format jsonl --data-dir '" + dir_->Sub("data") + "'", &rc);
  ASSERT_EQ(rc, 0) << cli;
  auto [code, body] = Get(base_ + "/api/v1/audit");
  ASSERT_EQ(code, 200) << body;
  auto api = ParseJson(body);
  ASSERT_TRUE(api.ok());
  std::vector<std::string> from_api, from_cli;
  for (const auto& r : api->Find("rows")->items()) {
    from_api.push_back(r.items()[0].as_string() + "/" + r.items()[2].as_string() + "=" +
                       std::to_string(r.items()[3].as_int()));
  }
  for (const auto& line : Split(cli, '\n', true)) {
    auto j = ParseJson(line);
    ASSERT_TRUE(j.ok()) << line;
    from_cli.push_back(j->GetStringOr("cluster", "") + "/" + j->GetStringOr("kind", "") + "=" +
                       std::to_string(j->GetIntOr("live", -1)));
  }
  EXPECT_FALSE(from_api.empty());
  EXPECT_EQ(from_api, from_cli);
  auto users = ParseJson(Get(base_ + "/api/v1/users?limit=1").second);
  ASSERT_TRUE(users.ok());
  ASSERT_FALSE(users->Find("rows")->items().empty());
  std::string user = users->Find("rows")->items()[0].items()[0].as_string();
  auto topo = ParseJson(Get(base_ + "/api/v1/topology?user=" + user).second);
  std::string cli_topo = RunCommand(
      bin + " query topology --format jsonl --user " + user + " --data-dir '" + dir_->Sub("data") + "'", &rc);
  EXPECT_EQ(topo->Find("rows")->items().size(), Split(cli_topo, '\n', true).size());
  // As of a minute ago there was nothing (the fleet is younger): an honest empty answer or "no snapshot".
  auto past = Get(base_ + "/api/v1/topology?user=" + user + "&at=2001-01-01T00:00:00Z");
  EXPECT_TRUE(past.first == 200 || past.first == 503 || past.first == 500) << past.second;
}

TEST_F(ServeE2eTest, ProbesAndErrors) {
  EXPECT_EQ(Get(base_ + "/healthz").first, 200);
  EXPECT_EQ(Get(base_ + "/readyz").first, 200);
  EXPECT_EQ(Get(base_ + "/nope").first, 404);
  auto bad = Get(base_ + "/api/v1/trend?minutes=-3");
  EXPECT_EQ(bad.first, 400);
  EXPECT_NE(bad.second.find("minutes"), std::string::npos);
  EXPECT_EQ(Get(base_ + "/api/v1/topology").first, 400);
  EXPECT_EQ(Get(base_ + "/api/v1/sql").first, 405);  // statements are POSTed
  auto status = ParseJson(Get(base_ + "/api/v1/status").second);
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->Find("ready")->as_bool());
  EXPECT_GE(status->Find("jobs")->items().size(), 8u);
  auto page = Get(base_ + "/");
  EXPECT_EQ(page.first, 200);
  EXPECT_NE(page.second.find("uPlot.iife.min.js"), std::string::npos);
  auto lib = Get(base_ + "/assets/uPlot.iife.min.js");
  EXPECT_EQ(lib.first, 200);
  EXPECT_GT(lib.second.size(), 20000u);
}

TEST_F(ServeE2eTest, SqlOverHttp) {
  // The audit API and the same question over /api/v1/sql agree.
  auto audit = ParseJson(Get(base_ + "/api/v1/audit").second);
  ASSERT_TRUE(audit.ok());
  auto [code, body] = Post(base_ + "/api/v1/sql",
                           R"({"sql": "SELECT cluster, kind, live_count FROM ads_kind_count WHERE live_count <> 0 )"
                           R"(ORDER BY cluster, kind", "max_rows": 1000})");
  ASSERT_EQ(code, 200) << body;
  auto sql = ParseJson(body);
  ASSERT_TRUE(sql.ok()) << body;
  ASSERT_EQ(sql->Find("rows")->items().size(), audit->Find("rows")->items().size()) << body;
  for (size_t i = 0; i < audit->Find("rows")->items().size(); ++i) {
    const auto& a = audit->Find("rows")->items()[i].items();
    const auto& s = sql->Find("rows")->items()[i].items();
    EXPECT_EQ(s[0].as_string(), a[0].as_string());
    EXPECT_EQ(s[1].as_string(), a[2].as_string());
    EXPECT_EQ(s[2].as_int(), a[3].as_int());
  }
  EXPECT_EQ(sql->GetStringOr("statement_kind", ""), "SELECT");
  // Row limit, errors with their place, read-only.
  auto limited =
      ParseJson(Post(base_ + "/api/v1/sql", R"({"sql": "SELECT * FROM dwd_objects", "max_rows": 2})").second);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->Find("rows")->items().size(), 2u);
  EXPECT_TRUE(limited->Find("truncated")->as_bool());
  auto bad = Post(base_ + "/api/v1/sql", R"({"sql": "SELECT kind\nFROM dwd_objects\nWHERE nope = 1"})");
  EXPECT_EQ(bad.first, 400) << bad.second;
  auto err = ParseJson(bad.second);
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->GetIntOr("line", 0), 3) << bad.second;
  EXPECT_EQ(err->GetIntOr("column", 0), 7);
  EXPECT_NE(err->GetStringOr("error", "").find("nope"), std::string::npos);
  EXPECT_EQ(Post(base_ + "/api/v1/sql", R"({"sql": "DROP TABLE dwd_objects"})").first, 400);
  EXPECT_EQ(Post(base_ + "/api/v1/sql", "{not json").first, 400);
}

TEST_F(ServeE2eTest, PsqlOnThePostgresPort) {
  if (std::system("psql --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "psql is not installed";
  int rc = 0;
  std::string out =
      RunCommand("psql -X -A -t -h 127.0.0.1 -p " + pg_port_ + " -U ops -c 'SHOW server_version' 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("kubelake"), std::string::npos) << out;
  // The warehouse's counts over the PostgreSQL protocol equal the audit API's.
  auto audit = ParseJson(Get(base_ + "/api/v1/audit").second);
  ASSERT_TRUE(audit.ok());
  int64_t want = 0;
  for (const auto& r : audit->Find("rows")->items()) want += r.items()[3].as_int();
  out = RunCommand("psql -X -A -t -h 127.0.0.1 -p " + pg_port_ +
                       " -U ops -d kubelake -c "
                       "'SELECT sum(live_count) FROM ads_kind_count' 2>&1",
                   &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(Trim(out), std::to_string(want)) << out;
  out = RunCommand("psql -X -h 127.0.0.1 -p " + pg_port_ + " -U ops -c '\\dt' 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("dwd_objects"), std::string::npos) << out;
}

// Installs puppeteer-core into the build directory once; "" when npm cannot.
std::string PuppeteerModules() {
  std::string dir = JoinPath(kl::testing::BinaryDir(), "npm-puppeteer");
  std::string modules = JoinPath(dir, "node_modules");
  if (IsDirectory(JoinPath(modules, "puppeteer-core"))) return modules;
  (void)CreateDirs(dir);
  std::string cmd = "cd '" + dir +
                    "' && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error "
                    "puppeteer-core@24 > npm.log 2>&1";
  if (std::system(cmd.c_str()) != 0) return "";
  return IsDirectory(JoinPath(modules, "puppeteer-core")) ? modules : "";
}

TEST_F(ServeE2eTest, DashboardInHeadlessChromium) {
  if (std::system("node --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "node is not installed";
  std::string chromium = "/usr/bin/chromium";
  if (!FileExists(chromium)) GTEST_SKIP() << "Debian's chromium is not installed";
  std::string modules = PuppeteerModules();
  if (modules.empty()) GTEST_SKIP() << "npm could not install puppeteer-core";
  std::string artifacts = JoinPath(kl::testing::BinaryDir(), "test-artifacts");
  ASSERT_TRUE(CreateDirs(artifacts).ok());
  std::string script = JoinPath(kl::testing::SourceDir(), "src/server/dashboard/testing/dashboard_check.js");
  int rc = 0;
  std::string out = RunCommand(
      "node '" + script + "' '" + modules + "' '" + base_ + "' " + chromium + " '" + artifacts + "' 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("dashboard ok"), std::string::npos) << out;
  EXPECT_TRUE(FileExists(JoinPath(artifacts, "dashboard-overview.png")));
  std::printf("%s", out.c_str());
}

}  // namespace
}  // namespace kl::server
