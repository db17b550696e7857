// `kubelake simulate` and `kubelake collect` as separate processes: the
// collector is SIGKILLed twice mid-churn (once just before deletions it can
// only learn by relisting) and restarted with --resume each time. The JSON
// lines file must fold to the simulator's ground truth, read over HTTPS from
// /kubelake/truth, with no (uid, resourceVersion) twice. And a collector pointed at a server that
// refuses connections says so: cause and URL in its log and status line.
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "collector/api_get_test_util.h"
#include "collector/event.h"
#include "collector/fold.h"
#include "collector/watchset/kubeconfig.h"
#include "common/json.h"
#include "common/string_util.h"
#include "common/testing/test_system_util.h"
#include "common/testing/test_util.h"

namespace kl::collector {
namespace {

using testing::SleepMs;
using testing::SpawnLogged;

// Differences between the folded file and the truth of every cluster ("" when equal).
std::string Compare(const std::vector<ClusterCredentials>& clusters, const std::string& events_path) {
  auto text = ReadFile(events_path);
  if (!text.ok()) return text.status().ToString();
  EventFolder folder;
  for (const auto& line : Split(*text, '\n', true)) {
    auto e = ParseJsonlEvent(line);
    if (!e.ok()) continue;  // a line being written right now
    folder.Apply(*e);
  }
  for (const auto& c : clusters) {
    auto truth_text = kl::testing::GetFromApiServer(c, "/kubelake/truth");
    if (!truth_text.ok()) return truth_text.status().ToString();
    auto truth = ParseJson(*truth_text, "truth");
    if (!truth.ok()) return truth.status().ToString();
    std::map<std::string, std::string> want, got;
    for (const auto& o : truth->Find("objects")->items())
      want[o.GetStringOr("uid", "")] = o.GetStringOr("resourceVersion", "");
    for (const auto& [uid, o] : folder.Live(c.name)) got[uid] = o.resource_version;
    if (want != got) {
      return c.name + ": " + std::to_string(want.size()) + " live objects, fold has " + std::to_string(got.size());
    }
  }
  return "";
}

TEST(CollectCliTest, SigkilledCollectorResumesFromItsOwnOutput) {
  std::string binary = JoinPath(testing::BinaryDir(), "src/cli/kubelake");
  if (!FileExists(binary)) GTEST_SKIP() << binary << " not built";
  testing::TempDir dir;
  std::string kubeconfig = dir.Sub("fleet/kubeconfig");
  std::string events = dir.Sub("events.jsonl");
  auto t0 = std::chrono::steady_clock::now();
  auto until = [&](int ms) { std::this_thread::sleep_until(t0 + std::chrono::milliseconds(ms)); };
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  };
  pid_t sim = SpawnLogged({binary,
                           "simulate",
                           "--dir",
                           dir.Sub("fleet"),
                           "--clusters",
                           "2",
                           "--nodes",
                           "4",
                           "--pods",
                           "40",
                           "--pods-per-deployment",
                           "4",
                           "--churn-pods",
                           "20",
                           "--churn-updates",
                           "40",
                           "--churn-scales",
                           "5",
                           "--churn-for",
                           "6",
                           "--faults",
                           "deletes@3000+300x8",
                           "--history",
                           "400",
                           "--bookmark-interval-ms",
                           "100",
                           "--stats-interval",
                           "0",
                           "--seed",
                           "3"},
                          dir.Sub("simulate.log"));
  ASSERT_GT(sim, 0);
  for (int i = 0; i < 100 && !FileExists(kubeconfig); ++i) SleepMs(50);
  ASSERT_TRUE(FileExists(kubeconfig));
  std::vector<std::string> collect = {binary,
                                      "collect",
                                      "--kubeconfig",
                                      kubeconfig,
                                      "--sink",
                                      "jsonl:" + events,
                                      "--stall-timeout",
                                      "2",
                                      "--stats-interval",
                                      "0"};
  std::vector<std::string> resume = collect;
  resume.push_back("--resume");

  // First run: killed after it has written events, before the deletions at 3 s.
  pid_t c1 = SpawnLogged(collect, dir.Sub("collect.log"));
  until(1000);
  for (int i = 0; i < 100 && FileSize(events).value_or(0) == 0; ++i) SleepMs(20);
  kill(c1, SIGKILL);
  waitpid(c1, nullptr, 0);
  ASSERT_LT(elapsed_ms(), 2800) << "the first collector wrote nothing in time (machine overloaded?)";
  // Second run after the deletions (server down 3.0-3.3 s, history compacted): it must relist.
  until(3600);
  pid_t c2 = SpawnLogged(resume, dir.Sub("collect.log"));
  until(4800);
  kill(c2, SIGKILL);
  waitpid(c2, nullptr, 0);
  pid_t c3 = SpawnLogged(resume, dir.Sub("collect.log"));

  KL_ASSERT_OK_AND_ASSIGN(auto clusters, LoadKubeconfig(kubeconfig));
  std::string diff = "not compared yet";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  until(6200);  // churn runs until 6 s
  while (std::chrono::steady_clock::now() < deadline && !(diff = Compare(clusters, events)).empty()) SleepMs(300);
  kill(c3, SIGTERM);
  int status = 0;
  waitpid(c3, &status, 0);
  kill(sim, SIGTERM);
  waitpid(sim, nullptr, 0);
  EXPECT_EQ(diff, "") << "collector log:\n" << ReadFile(dir.Sub("collect.log")).value_or("");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  KL_ASSERT_OK_AND_ASSIGN(std::string text, ReadFile(events));
  std::set<std::pair<std::string, std::string>> seen;
  size_t inferred = 0, lines = 0;
  for (const auto& line : Split(text, '\n', true)) {
    KL_ASSERT_OK_AND_ASSIGN(CollectedEvent e, ParseJsonlEvent(line));
    ++lines;
    inferred += e.inferred();
    EXPECT_TRUE(seen.insert({e.cluster + "/" + e.uid, e.resource_version}).second)
        << "(" << e.uid << ", " << e.resource_version << ") twice";
  }
  EXPECT_GT(lines, 100u);
  EXPECT_GT(inferred, 0u) << "the deletions made while the collector was dead must be inferred";
}

TEST(CollectCliTest, AnUnreachableClusterSaysWhy) {
  std::string binary = JoinPath(testing::BinaryDir(), "src/cli/kubelake");
  if (!FileExists(binary)) GTEST_SKIP() << binary << " not built";
  testing::TempDir dir;
  // A port nothing listens on: bound but not listening, and kept bound for the
  // whole test so that no other test's server can take it meanwhile.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string server = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  std::string kubeconfig = dir.Sub("kubeconfig");
  ASSERT_TRUE(
      WriteFile(kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n    server: " + server +
                                "\ncontexts:\n- name: gone\n  context:\n    cluster: gone\n"
                                "    user: u\nusers:\n- name: u\n  user:\n    token: t\n"
                                "current-context: gone\n")
          .ok());
  std::string log = dir.Sub("log");
  pid_t pid = SpawnLogged({binary, "collect", "--kubeconfig", kubeconfig, "--sink", "jsonl:" + dir.Sub("events.jsonl"),
                           "--duration", "3", "--stats-interval", "1"},
                          log);
  ASSERT_GT(pid, 0);
  int status = 0;
  waitpid(pid, &status, 0);
  std::string text = ReadFile(log).value_or("");
  // The first failure of each of the eight watches, with the cause and the URL; not one line per retry.
  size_t failing = 0;
  for (const auto& line : Split(text, '\n', true)) {
    if (line.find("failing: connection refused at " + server + "/api") != std::string::npos) ++failing;
  }
  EXPECT_EQ(failing, 8u) << text;
  // The status line names the cluster's last error.
  EXPECT_NE(text.find("gone: connection refused (" + server), std::string::npos) << text;
  EXPECT_NE(text.find("8/8 watches failing"), std::string::npos) << text;
  ::close(fd);
}

}  // namespace
}  // namespace kl::collector
