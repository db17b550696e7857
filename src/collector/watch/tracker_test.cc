#include "collector/watch/tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "common/random.h"
#include "common/testing/test_util.h"

namespace kl::collector {
namespace {

using Obs = ObjectTracker::Observation;

TEST(TrackerTest, ObserveReportsNewNewerAndStale) {
  ObjectTracker t;
  EXPECT_EQ(t.Observe("u1", "ns", "a", "10"), Obs::kNew);
  EXPECT_EQ(t.Observe("u1", "ns", "a", "10"), Obs::kStale);
  EXPECT_EQ(t.Observe("u1", "ns", "a", "9"), Obs::kStale) << "older version must not win";
  EXPECT_EQ(t.Observe("u1", "ns", "a", "11"), Obs::kNewer);
  EXPECT_EQ(t.size(), 1u);
  // Non-numeric versions compare by equality only.
  EXPECT_EQ(t.Observe("u2", "", "b", "resourceVersionValue"), Obs::kNew);
  EXPECT_EQ(t.Observe("u2", "", "b", "resourceVersionValue"), Obs::kStale);
  EXPECT_EQ(t.Observe("u2", "", "b", "other"), Obs::kNewer);
  std::string ns, name;
  uint64_t key = 0;
  ASSERT_TRUE(t.Lookup("u1", &key, &ns, &name));
  EXPECT_EQ(key, 11u);
  EXPECT_EQ(ns, "ns");
  EXPECT_EQ(name, "a");
  EXPECT_TRUE(t.Forget("u1"));
  EXPECT_FALSE(t.Forget("u1"));
  EXPECT_FALSE(t.Contains("u1"));
  EXPECT_EQ(t.size(), 1u);
}

TEST(TrackerTest, MatchesAReferenceMapUnderRandomOperations) {
  Random rng(7);
  ObjectTracker t;
  std::map<std::string, uint64_t> model;
  for (int i = 0; i < 200000; ++i) {
    std::string uid = "uid-" + std::to_string(rng.Uniform(5000));
    if (rng.OneIn(3)) {
      EXPECT_EQ(t.Forget(uid), model.erase(uid) == 1);
    } else {
      uint64_t rv = rng.Uniform(1000000);
      Obs o = t.Observe(uid, "ns-" + std::to_string(rv % 7), "name-" + uid, std::to_string(rv));
      auto it = model.find(uid);
      if (it == model.end()) {
        EXPECT_EQ(o, Obs::kNew);
        model[uid] = rv;
      } else if (rv > it->second) {
        EXPECT_EQ(o, Obs::kNewer);
        it->second = rv;
      } else {
        EXPECT_EQ(o, Obs::kStale);
      }
    }
  }
  EXPECT_EQ(t.size(), model.size());
  size_t visited = 0;
  t.ForEach([&](std::string_view uid, std::string_view, std::string_view name, uint64_t key) {
    ++visited;
    auto it = model.find(std::string(uid));
    ASSERT_NE(it, model.end());
    EXPECT_EQ(key, it->second);
    EXPECT_EQ(name, "name-" + std::string(uid));
  });
  EXPECT_EQ(visited, model.size());
}

// Uids of every length around the hash's 8-byte words, looked up with and
// without a prefetch hint first, across the index's growth.
TEST(TrackerTest, UidsOfAnyLengthAreFoundAndKeptApart) {
  ObjectTracker t;
  std::vector<std::string> uids;
  for (size_t len = 0; len <= 40; ++len) {
    for (int v = 0; v < 200; ++v) {
      std::string uid(len, 'a');
      for (size_t i = 0; i < len; ++i) uid[i] = static_cast<char>('a' + (v + i * 7) % 26);
      if (len > 0) uid[len - 1] = static_cast<char>('A' + v % 26);
      if (len > 1) uid[0] = static_cast<char>('0' + v / 26);
      uids.push_back(uid);
    }
  }
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  for (size_t i = 0; i < uids.size(); ++i) {
    if (i % 2 == 0) t.Prefetch(uids[i]);
    EXPECT_EQ(t.Observe(uids[i], "ns", "n" + std::to_string(i), std::to_string(i + 1)), Obs::kNew) << uids[i];
  }
  EXPECT_EQ(t.size(), uids.size());
  for (size_t i = 0; i < uids.size(); ++i) {
    uint64_t key = 0;
    std::string name;
    ASSERT_TRUE(t.Lookup(uids[i], &key, nullptr, &name)) << uids[i];
    EXPECT_EQ(key, i + 1);
    EXPECT_EQ(name, "n" + std::to_string(i));
    EXPECT_EQ(t.Observe(uids[i], "ns", name, std::to_string(i + 1)), Obs::kStale);
  }
  EXPECT_FALSE(t.Contains(uids.back() + "x"));
  // The checkpoint stores no hashes: a restored tracker finds every uid.
  KL_ASSERT_OK_AND_ASSIGN(ObjectTracker restored, ObjectTracker::RestoreCheckpoint(t.ExportCheckpoint()));
  for (size_t i = 0; i < uids.size(); i += 17) EXPECT_TRUE(restored.Contains(uids[i])) << uids[i];
}

TEST(TrackerTest, SweepReturnsWhatTheListDidNotContain) {
  ObjectTracker t;
  t.Observe("a", "ns", "pa", "1");
  t.Observe("b", "ns", "pb", "2");
  t.Observe("c", "", "pc", "3");
  t.BeginSweep();
  t.Observe("a", "ns", "pa", "1");  // unchanged
  t.Observe("d", "ns", "pd", "9");  // new
  auto gone = t.EndSweep();
  ASSERT_EQ(gone.size(), 2u);
  std::map<std::string, std::string> names;
  for (auto& g : gone) names[g.uid] = g.namespace_ + "/" + g.name;
  EXPECT_EQ(names["b"], "ns/pb");
  EXPECT_EQ(names["c"], "/pc");
  EXPECT_TRUE(t.Contains("a"));
  EXPECT_TRUE(t.Contains("d"));
  EXPECT_FALSE(t.Contains("b"));
  EXPECT_EQ(t.size(), 2u);
}

TEST(TrackerTest, CheckpointRoundTripsAndDetectsDamage) {
  ObjectTracker t;
  for (int i = 0; i < 1000; ++i)
    t.Observe("uid-" + std::to_string(i), "ns", "pod-" + std::to_string(i), std::to_string(100 + i));
  for (int i = 0; i < 1000; i += 3) t.Forget("uid-" + std::to_string(i));
  t.set_resume_rv("5000");
  std::string cp = t.ExportCheckpoint();
  KL_ASSERT_OK_AND_ASSIGN(ObjectTracker back, ObjectTracker::RestoreCheckpoint(cp));
  EXPECT_EQ(back.size(), t.size());
  EXPECT_EQ(back.resume_rv(), "5000");
  t.ForEach([&](std::string_view uid, std::string_view ns, std::string_view name, uint64_t key) {
    uint64_t k2;
    std::string ns2, name2;
    ASSERT_TRUE(back.Lookup(uid, &k2, &ns2, &name2));
    EXPECT_EQ(k2, key);
    EXPECT_EQ(ns2, ns);
    EXPECT_EQ(name2, name);
  });
  std::string damaged = cp;
  damaged[damaged.size() / 2] ^= 0x20;
  EXPECT_TRUE(ObjectTracker::RestoreCheckpoint(damaged).status().IsCorruption());
  EXPECT_TRUE(ObjectTracker::RestoreCheckpoint(cp.substr(0, cp.size() - 3)).status().IsCorruption());
  EXPECT_TRUE(ObjectTracker::RestoreCheckpoint("").status().IsCorruption());
}

TEST(TrackerTest, StaysWithinTheMemoryBudgetPerObject) {
  ObjectTracker t;
  Random rng(1);
  const int n = 150000;
  for (int i = 0; i < n; ++i) {
    std::string name = "tenant-" + std::to_string(i % 997) + "-web-7d9f8b6c5-" + rng.Alnum(5);
    t.Observe(rng.Uuid(), "tenant-" + std::to_string(i % 997), name, std::to_string(1000000 + i));
  }
  double per_object = static_cast<double>(t.MemoryBytes()) / n;
  // The budget; informers hold ~13 KB per pod.
  EXPECT_LE(per_object, 256.0) << per_object;
}

}  // namespace
}  // namespace kl::collector
