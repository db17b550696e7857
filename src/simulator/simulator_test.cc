// The simulated API server over real HTTPS, read with libcurl.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <set>

#include "common/json.h"
#include "common/string_util.h"
#include "common/testing/test_util.h"
#include "simulator/fleet.h"

namespace kl::simulator {
namespace {

struct Response {
  long code = 0;
  std::string body;
  CURLcode result = CURLE_OK;
};

Response Fetch(const std::string& url, const std::string& token, const std::string& ca_pem, long timeout_ms = 5000) {
  Response r;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_blob blob{const_cast<char*>(ca_pem.data()), ca_pem.size(), CURL_BLOB_COPY};
  if (!ca_pem.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
  curl_slist* headers = nullptr;
  std::string auth = "Authorization: Bearer " + token;
  if (!token.empty()) headers = curl_slist_append(headers, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* ud) {
        static_cast<std::string*>(ud)->append(p, s * n);
        return s * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  r.result = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.code);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return r;
}

class SimulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FleetOptions options;
    options.clusters = 2;
    options.shape.nodes = 3;
    options.shape.pods = 25;
    options.bookmark_interval_ms = 200;
    options.dir = dir_.Sub("fleet");
    auto fleet = Fleet::Create(options);
    ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
    fleet_ = std::move(*fleet);
    KL_ASSERT_OK(fleet_->Start());
  }
  Response Get(const std::string& path, size_t cluster = 0, long timeout_ms = 5000) {
    return Fetch(fleet_->url(cluster) + path, fleet_->token(cluster), fleet_->ca_pem(), timeout_ms);
  }

  testing::TempDir dir_;
  std::unique_ptr<Fleet> fleet_;
};

TEST_F(SimulatorTest, DiscoveryDocuments) {
  Response api = Get("/api");
  ASSERT_EQ(api.code, 200) << api.body;
  KL_ASSERT_OK_AND_ASSIGN(JsonValue v, ParseJson(api.body, "/api"));
  EXPECT_EQ(v.GetStringOr("kind", ""), "APIVersions");
  KL_ASSERT_OK_AND_ASSIGN(JsonValue core, ParseJson(Get("/api/v1").body, "/api/v1"));
  std::set<std::string> names;
  for (const auto& r : core.Find("resources")->items()) names.insert(r.GetStringOr("name", ""));
  EXPECT_EQ(names, (std::set<std::string>{"namespaces", "nodes", "pods", "services"}));
  KL_ASSERT_OK_AND_ASSIGN(JsonValue apps, ParseJson(Get("/apis/apps/v1").body, "/apis/apps/v1"));
  EXPECT_EQ(apps.Find("resources")->items().size(), 4u);
  KL_ASSERT_OK_AND_ASSIGN(JsonValue groups, ParseJson(Get("/apis").body, "/apis"));
  EXPECT_EQ(groups.Find("groups")->items()[0].GetStringOr("name", ""), "apps");
  EXPECT_EQ(Get("/api/v1/widgets").code, 404);
}

TEST_F(SimulatorTest, RequiresTheBearerTokenAndTheCa) {
  Response r = Fetch(fleet_->url(0) + "/api/v1/pods", "wrong", fleet_->ca_pem());
  EXPECT_EQ(r.code, 401);
  EXPECT_NE(r.body.find("\"reason\":\"Unauthorized\""), std::string::npos);
  // Another cluster's token is not this one's.
  EXPECT_EQ(Fetch(fleet_->url(0) + "/api/v1/pods", fleet_->token(1), fleet_->ca_pem()).code, 401);
  // Without the CA the certificate is not trusted.
  Response untrusted = Fetch(fleet_->url(0) + "/api", fleet_->token(0), "");
  EXPECT_NE(untrusted.result, CURLE_OK);
  KL_ASSERT_OK_AND_ASSIGN(std::string kubeconfig, ReadFile(fleet_->kubeconfig_path()));
  EXPECT_NE(kubeconfig.find("- name: sim-2"), std::string::npos);
  EXPECT_NE(kubeconfig.find("certificate-authority-data: "), std::string::npos);
  EXPECT_NE(kubeconfig.find("token: " + fleet_->token(1)), std::string::npos);
}

TEST_F(SimulatorTest, ChunkedListMatchesGroundTruth) {
  fleet_->SetChurn(false);
  std::set<std::string> uids;
  std::string token, rv;
  int pages = 0;
  do {
    Response r = Get("/api/v1/pods?limit=7" + (token.empty() ? "" : "&continue=" + token));
    ASSERT_EQ(r.code, 200) << r.body;
    KL_ASSERT_OK_AND_ASSIGN(JsonValue page, ParseJson(r.body, "page"));
    EXPECT_EQ(page.GetStringOr("kind", ""), "PodList");
    std::string page_rv = page.Find("metadata")->GetStringOr("resourceVersion", "");
    if (rv.empty()) rv = page_rv;
    EXPECT_EQ(page_rv, rv) << "every page comes from the first page's snapshot";
    EXPECT_LE(page.Find("items")->items().size(), 7u);
    for (const auto& item : page.Find("items")->items()) uids.insert(item.Find("metadata")->GetStringOr("uid", ""));
    token = page.Find("metadata")->GetStringOr("continue", "");
    ++pages;
  } while (!token.empty());
  EXPECT_GT(pages, 2);
  std::set<std::string> truth;
  GroundTruth t = fleet_->Truth(0);
  for (const auto& o : t.objects) {
    if (o.kind == "Pod") truth.insert(o.uid);
  }
  EXPECT_EQ(uids, truth);
  EXPECT_EQ(Get("/api/v1/pods?limit=5&continue=1.1.5").code, 410) << "unknown snapshot: expired";
  // Truth over HTTP equals the C++ call.
  KL_ASSERT_OK_AND_ASSIGN(JsonValue http_truth, ParseJson(Get("/kubelake/truth").body, "truth"));
  EXPECT_EQ(http_truth.GetStringOr("resourceVersion", ""), std::to_string(t.resource_version));
  EXPECT_EQ(http_truth.Find("objects")->items().size(), t.objects.size());
  // Namespaced list and get of one object.
  std::string ns = fleet_->store(0)->All(kPods)[0]->namespace_;
  std::string name = fleet_->store(0)->All(kPods)[0]->name;
  KL_ASSERT_OK_AND_ASSIGN(JsonValue one, ParseJson(Get("/api/v1/namespaces/" + ns + "/pods/" + name).body, "pod"));
  EXPECT_EQ(one.Find("metadata")->GetStringOr("name", ""), name);
  KL_ASSERT_OK_AND_ASSIGN(JsonValue in_ns, ParseJson(Get("/api/v1/namespaces/" + ns + "/pods").body, "pods"));
  for (const auto& item : in_ns.Find("items")->items())
    EXPECT_EQ(item.Find("metadata")->GetStringOr("namespace", ""), ns);
  Response by_node = Get("/api/v1/pods?fieldSelector=spec.nodeName%3Dnone");
  KL_ASSERT_OK_AND_ASSIGN(JsonValue none, ParseJson(by_node.body, "pods"));
  EXPECT_TRUE(none.Find("items")->items().empty());
}

TEST_F(SimulatorTest, WatchStreamsChangesAndBookmarksThenTimesOut) {
  fleet_->SetChurn(false);
  uint64_t rv = fleet_->store(0)->resource_version();
  fleet_->store(0)->Put(kPods, "default", "extra", [](uint64_t v, StoredObject* o) {
    o->uid = "extra-uid";
    o->json =
        "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"extra\",\"namespace\":\"default\","
        "\"uid\":\"extra-uid\",\"resourceVersion\":\"" +
        std::to_string(v) + "\"}}";
  });
  Response r =
      Get("/api/v1/pods?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=" + std::to_string(rv));
  ASSERT_EQ(r.code, 200);
  ASSERT_EQ(r.result, CURLE_OK) << "the server ends the watch cleanly at timeoutSeconds";
  std::vector<std::string> lines = Split(r.body, '\n', true);
  ASSERT_GE(lines.size(), 2u) << r.body;
  KL_ASSERT_OK_AND_ASSIGN(JsonValue first, ParseJson(lines[0], "event"));
  EXPECT_EQ(first.GetStringOr("type", ""), "ADDED");
  EXPECT_EQ(first.Find("object")->Find("metadata")->GetStringOr("name", ""), "extra");
  KL_ASSERT_OK_AND_ASSIGN(JsonValue last, ParseJson(lines.back(), "event"));
  EXPECT_EQ(last.GetStringOr("type", ""), "BOOKMARK");
  EXPECT_EQ(last.Find("object")->Find("metadata")->GetStringOr("resourceVersion", ""),
            std::to_string(fleet_->store(0)->resource_version()));
}

TEST_F(SimulatorTest, WatchFromCompactedVersionGets410InStream) {
  uint64_t rv = fleet_->store(0)->resource_version();
  fleet_->store(0)->Put(kNamespaces, "", "later", [](uint64_t, StoredObject* o) { o->json = "{}"; });
  fleet_->InjectFault(Fault{0, 0, FaultKind::kCompact, 0, 0});
  Response r = Get("/api/v1/pods?watch=true&timeoutSeconds=5&resourceVersion=" + std::to_string(rv));
  ASSERT_EQ(r.code, 200);
  KL_ASSERT_OK_AND_ASSIGN(JsonValue event, ParseJson(Split(r.body, '\n', true).at(0), "event"));
  EXPECT_EQ(event.GetStringOr("type", ""), "ERROR");
  EXPECT_EQ(event.Find("object")->GetIntOr("code", 0), 410);
  EXPECT_EQ(event.Find("object")->GetStringOr("reason", ""), "Expired");
  // The other cluster was not compacted.
  uint64_t rv1 = fleet_->store(1)->resource_version();
  Response ok = Get("/api/v1/pods?watch=true&timeoutSeconds=1&resourceVersion=" + std::to_string(rv1), 1);
  EXPECT_EQ(ok.body.find("ERROR"), std::string::npos);
}

TEST_F(SimulatorTest, DowntimeRefusesConnectionsThenComesBackOnTheSamePort) {
  int port = fleet_->server(0)->port();
  fleet_->InjectFault(Fault{0, 0, FaultKind::kDown, 300, 0});
  Response down = Get("/api", 0, 1000);
  EXPECT_EQ(down.result, CURLE_COULDNT_CONNECT);
  for (int i = 0; i < 100 && !fleet_->server(0)->running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(fleet_->server(0)->running());
  EXPECT_EQ(fleet_->server(0)->port(), port);
  EXPECT_EQ(Get("/api").code, 200);
}

TEST_F(SimulatorTest, DroppedWatchEndsWithAnError) {
  uint64_t rv = fleet_->store(0)->resource_version();
  std::thread dropper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    fleet_->InjectFault(Fault{0, 0, FaultKind::kDropWatches, 0, 0});
  });
  Response r = Get("/api/v1/pods?watch=true&timeoutSeconds=10&resourceVersion=" + std::to_string(rv));
  dropper.join();
  EXPECT_NE(r.result, CURLE_OK) << "a cut chunked stream is an error, not a clean end";
}

}  // namespace
}  // namespace kl::simulator
