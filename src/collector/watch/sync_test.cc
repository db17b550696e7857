#include "collector/watch/sync.h"

#include <gtest/gtest.h>

#include <set>

#include "collector/fold.h"
#include "collector/watch/framer.h"
#include "common/json.h"
#include "common/testing/test_util.h"
#include "log/crc32c.h"

namespace kl::collector {
namespace {

WatchTarget PodsTarget() {
  WatchTarget t;
  t.cluster = "c1";
  t.version = "v1";
  t.resource = "pods";
  t.kind = "Pod";
  t.watch_name = "pods";
  return t;
}

std::string Read(const std::string& path) {
  auto r = ReadFile(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::string();
}

// Feeds a whole NDJSON body through the framer into the sync.
Status FeedWatch(ResourceSync* sync, std::string_view body, std::vector<CollectedEvent>* out,
                 std::vector<ResourceSync::WatchOutcome>* outcomes) {
  JsonStreamFramer framer;
  return framer.Feed(body, [&](std::string_view v) {
    Status error;
    outcomes->push_back(sync->OnWatchEvent(v, v.size() + kFramerPadding, 1000, out, &error));
    return error;
  });
}

// Removes HTTP/1.1 headers and chunked transfer coding from a raw response.
std::string Dechunk(const std::string& raw) {
  size_t pos = raw.find("\r\n\r\n");
  pos = pos == std::string::npos ? 0 : pos + 4;
  std::string body;
  while (pos < raw.size()) {
    size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t n = std::stoul(raw.substr(pos, eol - pos), nullptr, 16);
    if (n == 0) break;
    body.append(raw, eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  return body;
}

TEST(SyncTest, KubeclientWatchStreamFoldsToNothingLive) {
  KL_REQUIRE_SHARED("k8s-fixtures/kubeclient/watch_stream.json", path);
  ResourceSync sync(PodsTarget());
  sync.BeginWatch(1000);
  std::vector<CollectedEvent> out;
  std::vector<ResourceSync::WatchOutcome> outcomes;
  // Without a prior list the pod is unknown, so the ADDED is tracked first.
  KL_ASSERT_OK(FeedWatch(&sync, Read(path), &out, &outcomes));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].type, EventType::kAdded);
  EXPECT_EQ(out[1].type, EventType::kModified);
  EXPECT_EQ(out[2].type, EventType::kDeleted);
  EXPECT_EQ(out[2].resource_version, "1398");
  EXPECT_EQ(out[0].uid, "e75f2c07-b047-11e4-89e4-525400c903c1");
  EventFolder folder;
  for (auto& e : out) folder.Apply(e);
  EXPECT_TRUE(folder.Live("c1").empty());
  EXPECT_EQ(sync.tracker().resume_rv(), "1398");
  // The ODS content is well-formed and carries the fields the warehouse reads.
  KL_ASSERT_OK_AND_ASSIGN(JsonValue content, ParseJson(out[1].content, "content"));
  EXPECT_EQ(content.GetStringOr("type", ""), "MODIFIED");
  EXPECT_EQ(content.GetStringOr("kind", ""), "Pod");
  EXPECT_EQ(content.GetStringOr("group", "x"), "");
  EXPECT_EQ(content.GetStringOr("version", ""), "v1");
  EXPECT_EQ(content.GetStringOr("namespace", ""), "default");
  EXPECT_EQ(content.GetStringOr("name", ""), "php");
  EXPECT_EQ(content.GetStringOr("resourceversion", ""), "1390");
  EXPECT_EQ(content.GetStringOr("watchname", ""), "pods");
  EXPECT_EQ(content.GetIntOr("__time_milli__", 0), 1000);
  EXPECT_EQ(content.GetIntOr("watchsetuptimestamp", 0), 1000);
  EXPECT_EQ(content.Find("obj")->Find("status")->GetStringOr("host", ""), "127.0.0.1");
  EXPECT_EQ(content.Find("inferred"), nullptr);
}

TEST(SyncTest, ClientGoRawChunkedWatchWithBookmark) {
  KL_REQUIRE_SHARED("k8s-fixtures/client-go/events", path);
  WatchTarget t = PodsTarget();
  t.resource = "serviceaccounts";
  t.kind = "ServiceAccount";
  ResourceSync sync(t);
  sync.BeginWatch(5);
  std::vector<CollectedEvent> out;
  std::vector<ResourceSync::WatchOutcome> outcomes;
  KL_ASSERT_OK(FeedWatch(&sync, Dechunk(Read(path)), &out, &outcomes));
  ASSERT_EQ(outcomes.size(), 2u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "foobar");
  EXPECT_EQ(out[0].resource_version, "217");
  EXPECT_EQ(sync.bookmarks(), 1u);
  EXPECT_EQ(sync.tracker().resume_rv(), "964") << "the bookmark moves the resume version";
}

TEST(SyncTest, K8sOpenapiWatchListFoldsToEightPods) {
  KL_REQUIRE_SHARED("k8s-fixtures/k8s-openapi/watch_event-watch_pods_without_initial_events.json", path);
  KL_ASSERT_OK_AND_ASSIGN(JsonValue replay, ParseJson(Read(path), "replay"));
  ASSERT_EQ(replay.items().size(), 1u);
  std::string body = replay.items()[0].GetStringOr("response_body", "");
  ResourceSync sync(PodsTarget());
  sync.BeginWatch(7);
  std::vector<CollectedEvent> out;
  std::vector<ResourceSync::WatchOutcome> outcomes;
  // Feed in small pieces: HTTP chunks do not line up with events.
  JsonStreamFramer framer;
  for (size_t i = 0; i < body.size(); i += 333) {
    KL_ASSERT_OK(framer.Feed(std::string_view(body).substr(i, 333), [&](std::string_view v) {
      Status error;
      outcomes.push_back(sync.OnWatchEvent(v, v.size() + kFramerPadding, 7, &out, &error));
      return error;
    }));
  }
  EXPECT_EQ(out.size(), 8u);
  EventFolder folder;
  for (auto& e : out) folder.Apply(e);
  auto live = folder.Live("c1");
  EXPECT_EQ(live.size(), 8u);
  EXPECT_EQ(live["f78db027-d69e-485e-9a9e-a6dc7493b6d7"].name, "coredns-589f44dc88-4fpns");
  EXPECT_EQ(live["25835dbf-21bb-4b20-bbd2-c5491d8362eb"].resource_version, "401");
  EXPECT_EQ(sync.tracker().resume_rv(), "550");
  EXPECT_EQ(sync.tracker().size(), 8u);
}

TEST(SyncTest, ListPagesThenRelistInfersDeletions) {
  KL_REQUIRE_SHARED("k8s-fixtures/kubeclient", dir);
  ResourceSync sync(PodsTarget());
  std::vector<CollectedEvent> out;
  std::string cont;
  sync.BeginList(100);
  std::string page1 = Read(JoinPath(dir, "pods_1.json"));
  KL_ASSERT_OK(sync.OnListPage(page1, 0, 100, &cont, &out));
  EXPECT_EQ(cont, "eyJ2IjoibWV0YS5rOHMua");
  KL_ASSERT_OK(sync.OnListPage(Read(JoinPath(dir, "pods_2.json")), 0, 100, &cont, &out));
  EXPECT_EQ(cont, "");
  sync.FinishList(100, &out);
  ASSERT_EQ(out.size(), 4u);
  for (auto& e : out) {
    EXPECT_EQ(e.type, EventType::kAdded);
    EXPECT_EQ(e.origin, EventOrigin::kList);
  }
  // Items get apiVersion and kind so each event's object describes itself.
  KL_ASSERT_OK_AND_ASSIGN(JsonValue content, ParseJson(out[0].content, "content"));
  EXPECT_EQ(content.Find("obj")->GetStringOr("kind", ""), "Pod");
  EXPECT_EQ(content.Find("obj")->GetStringOr("apiVersion", ""), "v1");
  EXPECT_EQ(content.GetStringOr("origin", ""), "list");
  // The first page names the list's snapshot.
  EXPECT_EQ(sync.tracker().resume_rv(), "53225946");

  // Relist: only page 1 now; the two pods of page 2 vanished meanwhile.
  out.clear();
  sync.BeginList(200);
  KL_ASSERT_OK(sync.OnListPage(page1, 0, 200, &cont, &out));
  EXPECT_TRUE(out.empty()) << "unchanged objects are not emitted again";
  sync.FinishList(200, &out);
  ASSERT_EQ(out.size(), 2u);
  std::set<std::string> deleted;
  for (auto& e : out) {
    EXPECT_EQ(e.type, EventType::kDeleted);
    EXPECT_TRUE(e.inferred());
    EXPECT_EQ(e.resource_version, "53225946");
    deleted.insert(e.name);
    KL_ASSERT_OK_AND_ASSIGN(JsonValue c, ParseJson(e.content, "content"));
    EXPECT_TRUE(c.Find("inferred")->as_bool());
    const JsonValue* meta = c.Find("obj")->Find("metadata");
    EXPECT_EQ(meta->GetStringOr("uid", ""), e.uid);
    EXPECT_EQ(meta->GetStringOr("namespace", ""), e.namespace_);
    EXPECT_EQ(meta->GetStringOr("resourceVersion", ""), "53225946");
    EXPECT_EQ(c.Find("obj")->GetStringOr("kind", ""), "Pod");
  }
  EXPECT_EQ(deleted, (std::set<std::string>{"topological-inventory-persister-9-hznds",
                                            "topological-inventory-persister-9-vzr6h"}));
  EXPECT_EQ(sync.tracker().size(), 2u);
}

// A list whose first page announces how many items follow (remainingItemCount) fills the
// tracker without regrowing it: its memory after the first page holds the whole list. A
// relist of the same objects reserves nothing more, and an announced count beyond reason is
// capped.
TEST(SyncTest, ListReservesTheTrackerFromTheAnnouncedItemCount) {
  auto page = [](int first, int count, int64_t remaining) {
    std::string body = "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"900\"";
    if (remaining > 0) body += ",\"continue\":\"c\",\"remainingItemCount\":" + std::to_string(remaining);
    body += "},\"items\":[";
    for (int i = first; i < first + count; ++i) {
      if (i > first) body += ",";
      body += "{\"metadata\":{\"name\":\"web-" + std::to_string(i) + "\",\"namespace\":\"tenant-" +
              std::to_string(i % 7) + "\",\"uid\":\"0b6f2a7e-2f4c-4e1a-9d3b-" + std::to_string(100000000 + i) +
              "\",\"resourceVersion\":\"" + std::to_string(500 + i) + "\"}}";
    }
    return body + "]}";
  };
  constexpr int kPages = 6, kPerPage = 500;
  ResourceSync sync(PodsTarget());
  std::vector<CollectedEvent> out;
  std::string cont;
  size_t after_first = 0;
  for (int round = 0; round < 2; ++round) {
    sync.BeginList(100);
    for (int p = 0; p < kPages; ++p) {
      KL_ASSERT_OK(sync.OnListPage(page(p * kPerPage, kPerPage, (kPages - 1 - p) * kPerPage), 0, 100, &cont, &out));
      if (p == 0) {
        // The relist reserves nothing more than the first list held.
        if (round == 1) {
          EXPECT_LE(sync.tracker().MemoryBytes(), after_first);
        }
        after_first = sync.tracker().MemoryBytes();
      }
      EXPECT_EQ(sync.tracker().MemoryBytes(), after_first) << "round " << round << " page " << p;
    }
    sync.FinishList(100, &out);
    EXPECT_EQ(sync.tracker().size(), size_t{kPages * kPerPage});
  }
  EXPECT_EQ(out.size(), size_t{kPages * kPerPage}) << "the relist emits nothing";
  // Every object is tracked at its version.
  for (int i = 0; i < kPages * kPerPage; i += 97) {
    uint64_t key = 0;
    ASSERT_TRUE(sync.tracker().Lookup("0b6f2a7e-2f4c-4e1a-9d3b-" + std::to_string(100000000 + i), &key));
    EXPECT_EQ(key, uint64_t(500 + i));
  }
  ResourceSync lied_to(PodsTarget());
  lied_to.BeginList(100);
  KL_ASSERT_OK(lied_to.OnListPage(page(0, 2, int64_t{1} << 50), 0, 100, &cont, &out));
  // Entries of 24 bytes, index slots of 8 (at most 70 % full, a power of two: at most 4 per
  // object), the strings: within the caps while the list lasts...
  const size_t capped = ObjectTracker::kMaxReservedObjects * (24 + 4 * 8) + ObjectTracker::kMaxReservedTextBytes;
  EXPECT_LE(lied_to.tracker().MemoryBytes(), capped + 4096);
  EXPECT_EQ(lied_to.tracker().size(), 2u);
  // ...and what the list did not fill goes back when it ends.
  lied_to.FinishList(100, &out);
  EXPECT_EQ(lied_to.tracker().size(), 2u);
  EXPECT_LT(lied_to.tracker().MemoryBytes(), size_t{64} << 10);
  uint64_t key = 0;
  EXPECT_TRUE(lied_to.tracker().Lookup("0b6f2a7e-2f4c-4e1a-9d3b-" + std::to_string(100000001), &key));
}

// Every event carries the CRC of its content (the log frames records with
// it), also when made from a recycled event whose old content was longer.
TEST(SyncTest, EventsCarryTheCrcOfTheirContentAlsoWhenRecycled) {
  ResourceSync sync(PodsTarget());
  std::vector<CollectedEvent> out;
  std::string cont;
  sync.BeginList(100);
  auto page = [](int from, size_t pad) {
    std::string p = R"({"kind":"PodList","metadata":{"resourceVersion":"70"},"items":[)";
    for (int i = from; i < from + 3; ++i) {
      if (i > from) p += ",";
      p += R"({"metadata":{"name":"p)" + std::to_string(i) + R"(","namespace":"ns","uid":"u)" + std::to_string(i) +
           R"(","resourceVersion":"7"},"spec":{"pad":")" + std::string(pad, 'x') + R"("}})";
    }
    return p + "]}";
  };
  KL_ASSERT_OK(sync.OnListPage(page(0, 900), 0, 1234, &cont, &out));
  ASSERT_EQ(out.size(), 3u);
  sync.Recycle(&out);
  out.clear();
  KL_ASSERT_OK(sync.OnListPage(page(3, 10), 0, 1235, &cont, &out));
  ASSERT_EQ(out.size(), 3u);
  for (const CollectedEvent& e : out) {
    ASSERT_TRUE(e.content_crc32c.has_value());
    EXPECT_EQ(*e.content_crc32c, log::Crc32c(e.content));
    EXPECT_LT(e.content.size(), 700u);
  }
}

// The content of list events byte for byte: apiVersion and kind are spliced in
// front of the item's own fields (none after an empty object), and names that
// need JSON escaping are escaped.
TEST(SyncTest, ListEventContentSplicesApiVersionAndKindIntoTheItem) {
  WatchTarget target = PodsTarget();
  target.group = "apps";
  target.kind = "Deployment";
  target.watch_name = "core/apps/deployments";
  ResourceSync sync(target);
  std::vector<CollectedEvent> out;
  std::string cont;
  sync.BeginList(100);
  std::string page =
      R"({"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{"resourceVersion":"70"},"items":[)"
      R"({"metadata":{"name":"web","namespace":"ns","uid":"u1","resourceVersion":"7"},"spec":{"replicas":2}},)"
      R"({ "metadata":{"name":"q\"uote","namespace":"ns","uid":"u2","resourceVersion":"8"}},)"
      R"({"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"own","uid":"u3","resourceVersion":"9"}}]})";
  KL_ASSERT_OK(sync.OnListPage(page, 0, 1234, &cont, &out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].content,
            R"({"type":"ADDED","obj":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web",)"
            R"("namespace":"ns","uid":"u1","resourceVersion":"7"},"spec":{"replicas":2}},"group":"apps",)"
            R"("version":"v1","kind":"Deployment","namespace":"ns","name":"web","resourceversion":"7","uid":"u1",)"
            R"("watchname":"core/apps/deployments","watchsetuptimestamp":100,"__time_milli__":1234,"origin":"list"})");
  // Blanks after the brace stay; the name with a quote goes the escaping way.
  EXPECT_EQ(out[1].content,
            R"({"type":"ADDED","obj":{"apiVersion":"apps/v1","kind":"Deployment", "metadata":{"name":"q\"uote",)"
            R"("namespace":"ns","uid":"u2","resourceVersion":"8"}},"group":"apps","version":"v1","kind":"Deployment",)"
            R"("namespace":"ns","name":"q\"uote","resourceversion":"8","uid":"u2","watchname":"core/apps/deployments",)"
            R"("watchsetuptimestamp":100,"__time_milli__":1234,"origin":"list"})");
  EXPECT_EQ(out[1].name, "q\"uote");
  // An item that names its kind is taken verbatim.
  KL_ASSERT_OK_AND_ASSIGN(JsonValue third, ParseJson(out[2].content, "content"));
  EXPECT_EQ(out[2].content.rfind(R"({"type":"ADDED","obj":{"kind":"Deployment","apiVersion":"apps/v1",)", 0), 0u);
  EXPECT_EQ(third.GetStringOr("namespace", "?"), "");
  for (const CollectedEvent& e : out) {
    EXPECT_EQ(e.content_crc32c, log::Crc32c(e.content));
    KL_ASSERT_OK_AND_ASSIGN(CollectedEvent back, EventFromContent(e.cluster, e.ingest_time_ms, e.content));
    EXPECT_EQ(back.uid, e.uid);
    EXPECT_EQ(back.name, e.name);
    EXPECT_EQ(back.resource_version, e.resource_version);
  }

  // An empty item object gets no comma after the kind (and fails for want of a uid).
  out.clear();
  ResourceSync empty_sync(target);
  empty_sync.BeginList(100);
  EXPECT_FALSE(
      empty_sync.OnListPage(R"({"kind":"DeploymentList","metadata":{},"items":[{ }]})", 0, 1, &cont, &out).ok());
  EXPECT_TRUE(out.empty());
}

// Events handed back after a sink copied them are reused for the next ones;
// nothing of what they held may show: every event equals the one a sync
// without recycling makes from the same input.
TEST(SyncTest, RecycledEventsCarryNothingOfTheirPast) {
  auto page = [](int first, int count, const std::string& name_prefix, const std::string& cont) {
    std::string body = R"({"kind":"PodList","metadata":{"resourceVersion":"900")" +
                       (cont.empty() ? std::string() : R"(,"continue":")" + cont + "\"") + R"(},"items":[)";
    for (int i = first; i < first + count; ++i) {
      if (i > first) body += ",";
      body += R"({"metadata":{"name":")" + name_prefix + std::to_string(i) + R"(","namespace":"ns-)" +
              std::to_string(i % 3) + R"(","uid":"uid-)" + std::to_string(i) + R"(","resourceVersion":")" +
              std::to_string(500 + i) + R"("},"spec":{"x":")" + std::string(static_cast<size_t>(i * 37 % 300), 'x') +
              R"("}})";
    }
    return body + "]}";
  };
  const std::string pages[] = {page(0, 6, "a-rather-long-pod-name-", "c1"), page(6, 4, "p", "c2"),
                               page(10, 9, "mid-", "")};
  ResourceSync recycling(PodsTarget()), fresh(PodsTarget());
  recycling.BeginList(50);
  fresh.BeginList(50);
  std::vector<CollectedEvent> reused, reference;
  std::string cont;
  for (const std::string& p : pages) {
    KL_ASSERT_OK(recycling.OnListPage(p, 0, 60, &cont, &reused));
    KL_ASSERT_OK(fresh.OnListPage(p, 0, 60, &cont, &reference));
    ASSERT_EQ(reused.size(), reference.size());
    for (size_t i = 0; i < reused.size(); ++i) {
      EXPECT_EQ(reused[i].content, reference[i].content);
      EXPECT_EQ(reused[i].uid, reference[i].uid);
      EXPECT_EQ(reused[i].name, reference[i].name);
      EXPECT_EQ(reused[i].namespace_, reference[i].namespace_);
      EXPECT_EQ(reused[i].resource_version, reference[i].resource_version);
      EXPECT_EQ(reused[i].type, reference[i].type);
    }
    recycling.Recycle(&reused);
    EXPECT_TRUE(reused.empty());
    reference.clear();
  }
  recycling.FinishList(70, &reused);
  fresh.FinishList(70, &reference);
  EXPECT_TRUE(reused.empty());
  // Watching: a deletion after recycled list events.
  recycling.BeginWatch(80);
  fresh.BeginWatch(80);
  std::vector<ResourceSync::WatchOutcome> outcomes;
  std::string modification = R"({"type":"MODIFIED","object":{"kind":"Pod","apiVersion":"v1","metadata":{)"
                             R"("name":"a-rather-long-pod-name-3","namespace":"ns-0","uid":"uid-3",)"
                             R"("resourceVersion":"940"},"status":{"phase":"Running"}}})"
                             "\n";
  KL_ASSERT_OK(FeedWatch(&recycling, modification, &reused, &outcomes));
  KL_ASSERT_OK(FeedWatch(&fresh, modification, &reference, &outcomes));
  ASSERT_EQ(reused.size(), 1u);
  EXPECT_EQ(reused[0].content, reference[0].content);
  recycling.Recycle(&reused);
  reference.clear();
  std::string deletion = R"({"type":"DELETED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p7",)"
                         R"("namespace":"ns-1","uid":"uid-7","resourceVersion":"950"}}})"
                         "\n";
  KL_ASSERT_OK(FeedWatch(&recycling, deletion, &reused, &outcomes));
  KL_ASSERT_OK(FeedWatch(&fresh, deletion, &reference, &outcomes));
  ASSERT_EQ(reused.size(), 1u);
  ASSERT_EQ(reference.size(), 1u);
  EXPECT_EQ(reused[0].content, reference[0].content);
  EXPECT_EQ(reused[0].type, EventType::kDeleted);
}

// The fields after the object take a fast way when nothing needs escaping and
// the general one otherwise; both give the same document.
TEST(SyncTest, OdsContentEscapesOnlyWhereNeeded) {
  OdsFields f;
  f.type = EventType::kDeleted;
  f.origin = EventOrigin::kInferred;
  f.object_head = R"({"a":1,)";
  f.object_json = R"("b":2})";
  f.version = "v1";
  f.kind = "Pod";
  f.namespace_ = "ns";
  f.name = "tab\there";
  f.resource_version = "12";
  f.uid = "u";
  f.watch_name = "w";
  f.watch_setup_ms = -5;
  f.event_time_ms = 9223372036854775807;
  std::string content = "x";
  AppendOdsContent(f, &content);
  EXPECT_EQ(content,
            R"(x{"type":"DELETED","obj":{"a":1,"b":2},"group":"","version":"v1","kind":"Pod","namespace":"ns",)"
            R"("name":"tab\there","resourceversion":"12","uid":"u","watchname":"w","watchsetuptimestamp":-5,)"
            R"("__time_milli__":9223372036854775807,"origin":"relist","inferred":true})");
  f.name = "plain";
  content.clear();
  AppendOdsContent(f, &content);
  KL_ASSERT_OK_AND_ASSIGN(JsonValue doc, ParseJson(content, "content"));
  EXPECT_EQ(doc.GetStringOr("name", ""), "plain");
  EXPECT_NE(content.find(R"("__time_milli__":9223372036854775807,"origin":"relist","inferred":true})"),
            std::string::npos);
  // Long names do not fit the stack buffer: the general way, same shape.
  std::string long_name(2000, 'n');
  f.name = long_name;
  content.clear();
  AppendOdsContent(f, &content);
  KL_ASSERT_OK_AND_ASSIGN(JsonValue long_doc, ParseJson(content, "content"));
  EXPECT_EQ(long_doc.GetStringOr("name", ""), long_name);
  EXPECT_EQ(long_doc.GetStringOr("origin", ""), "relist");
}

// Every byte JSON escapes is noticed wherever it stands in a name (the check goes
// 16 bytes at a time, then byte by byte): the content stays valid JSON, the name exact.
TEST(SyncTest, OdsContentEscapesEveryByteThatNeedsItAtEveryPosition) {
  OdsFields f;
  f.object_json = "{}";
  f.version = "v1";
  f.kind = "Pod";
  f.uid = "u";
  for (size_t length : {1u, 15u, 16u, 17u, 40u}) {
    for (size_t at = 0; at < length; ++at) {
      for (char c : {'\0', '\x01', '\n', '\x1f', '"', '\\'}) {
        std::string name(length, 'a');
        name[at] = c;
        for (int field = 0; field < 2; ++field) {
          f.name = field == 0 ? std::string_view(name) : std::string_view("n");
          f.namespace_ = field == 1 ? std::string_view(name) : std::string_view("ns");
          std::string content;
          AppendOdsContent(f, &content);
          KL_ASSERT_OK_AND_ASSIGN(JsonValue doc, ParseJson(content, "content"));
          ASSERT_EQ(doc.GetStringOr(field == 0 ? "name" : "namespace", ""), name)
              << "length " << length << " at " << at << " byte " << static_cast<int>(c);
        }
      }
    }
  }
  // Bytes from 0x7f up need no escape: they are copied as they are.
  std::string high = "caf\xc3\xa9-\x7f-\xe2\x82\xac-0123456789abcdef";
  f.name = high;
  f.namespace_ = "ns";
  std::string content;
  AppendOdsContent(f, &content);
  EXPECT_NE(content.find("\"name\":\"" + high + "\""), std::string::npos) << content;
}

std::string Event(const std::string& type, const std::string& uid, const std::string& name, int rv) {
  return R"({"type":")" + type + R"(","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name +
         R"(","namespace":"ns","uid":")" + uid + R"(","resourceVersion":")" + std::to_string(rv) + R"("}}})" + "\n";
}

TEST(SyncTest, WatchDropsReplaysAndReportsExpiry) {
  ResourceSync sync(PodsTarget());
  sync.mutable_tracker().set_resume_rv("10");
  sync.BeginWatch(1);
  std::vector<CollectedEvent> out;
  std::vector<ResourceSync::WatchOutcome> outcomes;
  std::string body =
      Event("ADDED", "u1", "a", 9) +      // at or below the start: replay
      Event("ADDED", "u1", "a", 11) +     //
      Event("MODIFIED", "u1", "a", 11) +  // same version again: dropped
      Event("DELETED", "u2", "b", 12) +   // never tracked: dropped
      Event("MODIFIED", "u1", "a", 13) +
      R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"20"}}})"
      "\n" +
      R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}})";
  KL_ASSERT_OK(FeedWatch(&sync, body, &out, &outcomes));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].resource_version, "11");
  EXPECT_EQ(out[1].resource_version, "13");
  EXPECT_EQ(outcomes.back(), ResourceSync::WatchOutcome::kExpired);
  EXPECT_EQ(sync.tracker().resume_rv(), "20");

  std::vector<CollectedEvent> more;
  Status error;
  auto outcome = sync.OnWatchEvent(R"({"type":"ERROR","object":{"kind":"Status","code":500,"message":"boom"}})", 0, 1,
                                   &more, &error);
  EXPECT_EQ(outcome, ResourceSync::WatchOutcome::kFailed);
  EXPECT_NE(error.message().find("boom"), std::string::npos);
}

TEST(SyncTest, TrackerRebuiltFromEmittedEventsResumesWithoutDuplicates) {
  ResourceSync sync(PodsTarget());
  sync.mutable_tracker().set_resume_rv("1");
  sync.BeginWatch(1);
  std::vector<CollectedEvent> out;
  std::vector<ResourceSync::WatchOutcome> outcomes;
  KL_ASSERT_OK(FeedWatch(&sync,
                         Event("ADDED", "u1", "a", 2) + Event("ADDED", "u2", "b", 3) + Event("DELETED", "u1", "a", 4) +
                             Event("MODIFIED", "u2", "b", 5),
                         &out, &outcomes));
  ASSERT_EQ(out.size(), 4u);
  // Restart: rebuild from the log, then the server replays from an older point.
  ObjectTracker rebuilt;
  for (auto& e : out) rebuilt.ApplyEmitted(e);
  EXPECT_EQ(rebuilt.resume_rv(), "5");
  EXPECT_EQ(rebuilt.size(), 1u);
  ResourceSync again(PodsTarget(), std::move(rebuilt));
  again.mutable_tracker().set_resume_rv("2");  // e.g. a checkpoint older than the log's tail
  again.BeginWatch(2);
  std::vector<CollectedEvent> out2;
  KL_ASSERT_OK(FeedWatch(
      &again, Event("ADDED", "u2", "b", 3) + Event("MODIFIED", "u2", "b", 5) + Event("MODIFIED", "u2", "b", 6), &out2,
      &outcomes));
  ASSERT_EQ(out2.size(), 1u);
  EXPECT_EQ(out2[0].resource_version, "6");

  // A relist cut off by a crash does not move the resume version.
  ObjectTracker partial;
  CollectedEvent listed = out[1];
  listed.origin = EventOrigin::kList;
  listed.resource_version = "99";
  partial.ApplyEmitted(out[0]);
  partial.ApplyEmitted(listed);
  EXPECT_EQ(partial.resume_rv(), "2");
}

TEST(SyncTest, EventsRoundTripThroughJsonLines) {
  ResourceSync sync(PodsTarget());
  sync.BeginWatch(1);
  std::vector<CollectedEvent> out;
  std::vector<ResourceSync::WatchOutcome> outcomes;
  KL_ASSERT_OK(FeedWatch(&sync, Event("ADDED", "u1", "a\\\"quoted", 2), &out, &outcomes));
  ASSERT_EQ(out.size(), 1u);
  testing::TempDir dir;
  {
    KL_ASSERT_OK_AND_ASSIGN(auto sink, JsonlSink::Open(dir.Sub("events.jsonl")));
    KL_ASSERT_OK(sink->Emit(out));
    KL_ASSERT_OK(sink->Flush());
  }
  KL_ASSERT_OK_AND_ASSIGN(std::string text, ReadFile(dir.Sub("events.jsonl")));
  ASSERT_EQ(text.back(), '\n');
  KL_ASSERT_OK_AND_ASSIGN(CollectedEvent back, ParseJsonlEvent(text.substr(0, text.size() - 1)));
  EXPECT_EQ(back.cluster, "c1");
  EXPECT_EQ(back.uid, "u1");
  EXPECT_EQ(back.name, "a\"quoted");
  EXPECT_EQ(back.resource_version, "2");
  EXPECT_EQ(back.type, EventType::kAdded);
  EXPECT_EQ(back.origin, EventOrigin::kWatch);
  EXPECT_EQ(back.watch_name, "pods");
  EXPECT_EQ(back.ingest_time_ms, 1000);
}

TEST(FoldTest, DeletionWinsOverEverythingAtOrBeforeItsVersion) {
  EventFolder folder;
  auto ev = [](EventType type, const std::string& rv) {
    CollectedEvent e;
    e.cluster = "c";
    e.uid = "u";
    e.type = type;
    e.resource_version = rv;
    return e;
  };
  folder.Apply(ev(EventType::kModified, "7"), 10);
  folder.Apply(ev(EventType::kDeleted, "9"), 5);
  folder.Apply(ev(EventType::kModified, "8"), 50);  // late, older version
  folder.Apply(ev(EventType::kModified, "9"), 60);  // same version as the deletion
  EXPECT_TRUE(folder.Live("c").empty());
  ASSERT_EQ(folder.all().at("c").at("u").resource_version, "9");
  EXPECT_TRUE(folder.all().at("c").at("u").deleted);
}

}  // namespace
}  // namespace kl::collector
