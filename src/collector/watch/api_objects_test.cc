// Parsing real API server output: the fixtures in ../shared/k8s-fixtures.
#include "collector/watch/api_objects.h"

#include <gtest/gtest.h>

#include "collector/watch/framer.h"
#include "common/json.h"
#include "common/testing/test_util.h"

namespace kl::collector {
namespace {

std::string Read(const std::string& path) {
  auto r = ReadFile(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::string();
}

TEST(ApiObjectsTest, EverySingleObjectFixtureYieldsItsMetadata) {
  KL_REQUIRE_SHARED("k8s-fixtures", dir);
  ApiParser parser;
  int parsed = 0;
  for (const char* sub : {"k9s/render", "k9s/xray", "kubernetes-api"}) {
    std::string folder = JoinPath(dir, sub);
    auto names = ListDir(folder);
    ASSERT_TRUE(names.ok()) << names.status().ToString();
    for (const std::string& name : *names) {
      std::string text = Read(JoinPath(folder, name));
      // The independent reader: the owned tree from common/json.
      auto tree = ParseJson(text, name);
      ASSERT_TRUE(tree.ok()) << tree.status().ToString();
      const JsonValue* metadata = tree->Find("metadata");
      ASSERT_NE(metadata, nullptr) << name;
      ObjectMeta meta;
      KL_ASSERT_OK(parser.ParseObjectMeta(text, 0, &meta));
      EXPECT_EQ(meta.kind, tree->GetStringOr("kind", "")) << name;
      EXPECT_EQ(meta.api_version, tree->GetStringOr("apiVersion", "")) << name;
      EXPECT_EQ(meta.uid, metadata->GetStringOr("uid", "")) << name;
      EXPECT_EQ(meta.name, metadata->GetStringOr("name", "")) << name;
      EXPECT_EQ(meta.namespace_, metadata->GetStringOr("namespace", "")) << name;
      EXPECT_EQ(meta.resource_version, metadata->GetStringOr("resourceVersion", "")) << name;
      ++parsed;
    }
  }
  EXPECT_GE(parsed, 50);
}

TEST(ApiObjectsTest, RealPodFixtureValues) {
  KL_REQUIRE_SHARED("k8s-fixtures/k9s/render/po.json", path);
  ApiParser parser;
  ObjectMeta meta;
  KL_ASSERT_OK(parser.ParseObjectMeta(Read(path), 0, &meta));
  EXPECT_EQ(meta.kind, "Pod");
  EXPECT_EQ(meta.uid, "614908ed-415b-4506-8370-e3e36fa8cc13");
  EXPECT_EQ(meta.namespace_, "default");
  EXPECT_EQ(meta.name, "nginx");
  EXPECT_EQ(meta.resource_version, "1482816");
}

TEST(ApiObjectsTest, ChunkedListPagesCarryContinueAndVersion) {
  KL_REQUIRE_SHARED("k8s-fixtures/kubeclient", dir);
  ApiParser parser;
  ListPage page;
  std::string first = Read(JoinPath(dir, "pods_1.json"));
  KL_ASSERT_OK(parser.ParseListPage(first, 0, &page));
  EXPECT_EQ(page.kind, "PodList");
  EXPECT_EQ(page.resource_version, "53225946");
  EXPECT_EQ(page.continue_token, "eyJ2IjoibWV0YS5rOHMua");
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[0].meta.name, "my-ruby-project-2-build");
  EXPECT_EQ(page.items[0].meta.uid, "0c478b50-babb-11e8-ba7e-d094660d31fb");
  EXPECT_EQ(page.items[0].meta.resource_version, "42398462");
  EXPECT_EQ(page.items[0].meta.kind, "") << "list items carry no kind";
  // The raw item is the exact JSON text of the item.
  auto item = ParseJson(page.items[1].object, "item");
  ASSERT_TRUE(item.ok()) << item.status().ToString();
  EXPECT_EQ(item->Find("metadata")->GetStringOr("name", ""), "redis-1-94zxb");

  KL_ASSERT_OK(parser.ParseListPage(Read(JoinPath(dir, "pods_2.json")), 0, &page));
  EXPECT_EQ(page.continue_token, "");
  EXPECT_EQ(page.resource_version, "53226147");
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[1].meta.uid, "3065d8ce-d86a-11e8-ba7e-d094660d31fb");

  KL_ASSERT_OK(parser.ParseListPage(Read(JoinPath(dir, "persistent_volume_claims_nil_items.json")), 0, &page));
  EXPECT_TRUE(page.items.empty());
  EXPECT_EQ(page.resource_version, "1089012");
}

// A page parser reuses the items of the page before: nothing of them may
// show through in a smaller page, nor in fields the new items lack.
TEST(ApiObjectsTest, ASmallerPageAfterALargerOneHoldsOnlyItsOwnItems) {
  ApiParser parser;
  ListPage page;
  std::string big = R"({"kind":"PodList","metadata":{"resourceVersion":"5","continue":"c"},"items":[)";
  for (int i = 0; i < 40; ++i) {
    if (i > 0) big += ",";
    big += R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"pod-with-a-long-name-)" + std::to_string(i) +
           R"(","namespace":"tenant-with-a-long-name","uid":"uid-)" + std::to_string(i) +
           R"(-0123456789abcdef","resourceVersion":")" + std::to_string(100 + i) + R"("}})";
  }
  big += "]}";
  KL_ASSERT_OK(parser.ParseListPage(big, 0, &page));
  ASSERT_EQ(page.items.size(), 40u);
  EXPECT_EQ(page.items[39].meta.name, "pod-with-a-long-name-39");
  std::string small =
      R"({"kind":"PodList","metadata":{"resourceVersion":"6"},"items":[{"metadata":{"name":"a","uid":"u-a",)"
      R"("resourceVersion":"7"}},{"metadata":{"uid":"u-b"}}]})";
  KL_ASSERT_OK(parser.ParseListPage(small, 0, &page));
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.continue_token, "");
  EXPECT_EQ(page.resource_version, "6");
  const ObjectMeta& a = page.items[0].meta;
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.uid, "u-a");
  EXPECT_EQ(a.resource_version, "7");
  EXPECT_EQ(a.namespace_, "");
  EXPECT_EQ(a.kind, "");
  EXPECT_EQ(a.api_version, "");
  EXPECT_EQ(page.items[0].object, R"({"metadata":{"name":"a","uid":"u-a","resourceVersion":"7"}})");
  const ObjectMeta& b = page.items[1].meta;
  EXPECT_EQ(b.uid, "u-b");
  EXPECT_EQ(b.name, "");
  EXPECT_EQ(b.resource_version, "");
  // A page that fails half-way leaves only what it parsed before the damage.
  EXPECT_FALSE(parser.ParseListPage(R"({"items":[{"metadata":{"uid":"x"}},{"metadata":{"uid":5}}]})", 0, &page).ok());
  EXPECT_LE(page.items.size(), 2u);
  KL_ASSERT_OK(parser.ParseListPage(R"({"kind":"PodList","items":[]})", 0, &page));
  EXPECT_TRUE(page.items.empty());
}

TEST(ApiObjectsTest, EveryListFixtureParsesAndCountsItems) {
  KL_REQUIRE_SHARED("k8s-fixtures/kubeclient", dir);
  ApiParser parser;
  auto names = ListDir(dir);
  ASSERT_TRUE(names.ok());
  int lists = 0;
  for (const std::string& name : *names) {
    if (name.size() < 10 || name.substr(name.size() - 10) != "_list.json") continue;
    std::string text = Read(JoinPath(dir, name));
    auto tree = ParseJson(text, name);
    ASSERT_TRUE(tree.ok());
    if (tree->Find("items") == nullptr) continue;  // discovery documents named *_list
    ListPage page;
    KL_ASSERT_OK(parser.ParseListPage(text, 0, &page));
    EXPECT_EQ(page.items.size(), tree->Find("items")->items().size()) << name;
    ++lists;
  }
  EXPECT_GE(lists, 15);
}

TEST(ApiObjectsTest, ErrorStatusBodies) {
  KL_REQUIRE_SHARED("k8s-fixtures/kubeclient", dir);
  ApiParser parser;
  ApiStatus status;
  KL_ASSERT_OK(parser.ParseStatus(Read(JoinPath(dir, "pods_410.json")), &status));
  EXPECT_EQ(status.code, 410);
  EXPECT_EQ(status.reason, "Expired");
  EXPECT_TRUE(status.IsExpired());
  KL_ASSERT_OK(parser.ParseStatus(Read(JoinPath(dir, "bindings_list.json")), &status));
  EXPECT_EQ(status.code, 404);
  EXPECT_EQ(status.reason, "NotFound");
  EXPECT_FALSE(status.IsExpired());
  KL_ASSERT_OK(parser.ParseStatus(Read(JoinPath(dir, "namespace_already_exists.json")), &status));
  EXPECT_EQ(status.code, 409);
  EXPECT_EQ(status.reason, "AlreadyExists");
  KL_ASSERT_OK(parser.ParseStatus(Read(JoinPath(dir, "namespace_exception.json")), &status));
  EXPECT_EQ(status.code, 500);
  EXPECT_EQ(status.reason, "");
  Status bad = parser.ParseStatus(Read(JoinPath(dir, "service_illegal_json_404.json")), &status);
  EXPECT_TRUE(bad.IsCorruption()) << bad.ToString();
}

TEST(ApiObjectsTest, WatchEventTypesAndErrors) {
  ApiParser parser;
  WatchEvent event;
  std::string text = R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
                     R"j("message":"too old resource version: 5 (90)","reason":"Expired","code":410}})j";
  KL_ASSERT_OK(parser.ParseWatchEvent(text, 0, &event));
  EXPECT_EQ(event.type, WatchEventType::kError);
  EXPECT_TRUE(event.status.IsExpired());
  EXPECT_EQ(event.status.message, "too old resource version: 5 (90)");
  EXPECT_EQ(std::string(event.object).substr(0, 16), "{\"kind\":\"Status\"");

  EXPECT_TRUE(parser.ParseWatchEvent(R"({"type":"SOMETHING","object":{}})", 0, &event).IsCorruption());
  EXPECT_TRUE(parser.ParseWatchEvent(R"({"type":"ADDED"})", 0, &event).IsCorruption());
  EXPECT_TRUE(parser.ParseWatchEvent(R"({"type":"ADDED","object":{"metadata":)", 0, &event).IsCorruption());
  EXPECT_TRUE(parser.ParseWatchEvent(R"({"type":"ADDED","object":{"metadata":{"uid":7}}})", 0, &event).IsCorruption());
  // Garbled inside the object is refused. (The framed form of this text, with the bytes that
  // followed it in the stream as padding, made a view of negative length before object bounds
  // were checked: fuzz/corpus/watch_stream/object-bounds-regression.)
  std::string garbled =
      R"({"type":"ADDED","object":{"{ind":"P'od","apiVerwion":"v1","metadata":{"":"vapViersionmespace":"n",)"
      R"("uid":"u1","reVcrroeessuion":"6"},"statue":"DDs":{"p","metadata":{"":"vapViersionmespace":"n","uid":"u1",)"
      R"("reVcrroeessuion":"6"},"statue":"DDs":{"phase":"Runnname":"a5$"}}})"
      "\n,\n"
      R"(  "objhase":"Runnname":"a5$"})";
  EXPECT_FALSE(parser.ParseWatchEvent(garbled, 0, &event).ok());
}

// Keys are compared as written unless they hold an escape: escaped spellings of
// the names read as the names, and other keys (an escaped quote, a longer name) do not.
TEST(ApiObjectsTest, EscapedKeysReadAsTheirText) {
  const std::string plain = R"({"metadata":{"name":"a","namespace":"ns","uid":"u1","resourceVersion":"7"},)"
                            R"("kind":"Pod","apiVersion":"v1","spec":{}})";
  const std::string escaped =
      R"({"met\u0061data":{"n\u0061me":"a","namespace":"ns","\u0075id":"u1","resourceV\u0065rsion":"7",)"
      R"("na\"me":"wrong","uidx":"wrong","name\\":"wrong"},"kin\u0064":"Pod","apiVersion":"v1","spec":{"uid":"x"}})";
  ApiParser parser;
  for (const std::string& object : {plain, escaped}) {
    SCOPED_TRACE(object);
    // The parsed items and events point into their input: it outlives them.
    const std::string list = R"({"kind":"PodList","m\u0065tadata":{"resourceVersion":"9","continue":"c"},)"
                             R"("items":[)" +
                             object + "]}";
    ListPage page;
    KL_ASSERT_OK(parser.ParseListPage(list, 0, &page));
    EXPECT_EQ(page.kind, "PodList");
    EXPECT_EQ(page.resource_version, "9");
    EXPECT_EQ(page.continue_token, "c");
    ASSERT_EQ(page.items.size(), 1u);
    EXPECT_EQ(page.items[0].object, object);
    WatchEvent event;
    const std::string event_text = R"({"typ\u0065":"MODIFIED","object":)" + object + "}";
    KL_ASSERT_OK(parser.ParseWatchEvent(event_text, 0, &event));
    EXPECT_EQ(event.type, WatchEventType::kModified);
    EXPECT_EQ(event.object, object);
    for (const ObjectMeta& meta : {page.items[0].meta, event.meta}) {
      EXPECT_EQ(meta.name, "a");
      EXPECT_EQ(meta.namespace_, "ns");
      EXPECT_EQ(meta.uid, "u1");
      EXPECT_EQ(meta.resource_version, "7");
      EXPECT_EQ(meta.kind, "Pod");
      EXPECT_EQ(meta.api_version, "v1");
    }
  }
}

TEST(ApiObjectsTest, PrettyPrintedWatchEventFramesAndParses) {
  KL_REQUIRE_SHARED("k8s-fixtures/kubeclient/node_notice.json", path);
  std::string text = Read(path);
  JsonStreamFramer framer;
  ApiParser parser;
  int events = 0;
  KL_ASSERT_OK(framer.Feed(text, [&](std::string_view v) {
    WatchEvent event;
    KL_RETURN_IF_ERROR(parser.ParseWatchEvent(v, v.size() + kFramerPadding, &event));
    EXPECT_EQ(event.type, WatchEventType::kAdded);
    EXPECT_EQ(event.meta.kind, "Node");
    EXPECT_FALSE(event.meta.uid.empty());
    auto obj = ParseJson(event.object, "object");
    EXPECT_TRUE(obj.ok());
    ++events;
    return Status::OK();
  }));
  EXPECT_EQ(events, 1);
}

TEST(ApiObjectsTest, NumericResourceVersions) {
  EXPECT_EQ(NumericResourceVersion("0"), 0);
  EXPECT_EQ(NumericResourceVersion("53225946"), 53225946);
  EXPECT_EQ(NumericResourceVersion(""), -1);
  EXPECT_EQ(NumericResourceVersion("resourceVersionValue"), -1);
  EXPECT_EQ(NumericResourceVersion("12a"), -1);
}

}  // namespace
}  // namespace kl::collector
