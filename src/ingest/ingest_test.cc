#include "ingest/ingest.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "common/file/file_util.h"
#include "common/random.h"
#include "common/testing/test_util.h"
#include "format/compression.h"
#include "log/event_log.h"
#include "log/segment/record_format.h"
#include "log/segment/segment_verify.h"

namespace kl::ingest {
namespace {

std::string Event(int i, std::string_view type = "ADDED") {
  return "{\"type\":\"" + std::string(type) + "\",\"obj\":{\"metadata\":{\"name\":\"p" + std::to_string(i) +
         "\"}},\"kind\":\"Pod\",\"uid\":\"u" + std::to_string(i) + "\",\"resourceversion\":\"" +
         std::to_string(100 + i) + "\",\"__time_milli__\":1}";
}

std::string Body(const std::string& cluster, const std::string& stream, uint64_t first, int from, int to) {
  BatchEncoder enc;
  enc.Begin(cluster, stream, first);
  for (int i = from; i < to; ++i) enc.Add(1000 + i, Event(i));
  return enc.Finish();
}

// Version 2: the records as a collector's spool frames them (offset = sequence).
std::string RecordsBody(const std::string& cluster, const std::string& stream, uint64_t first, int from, int to) {
  BatchEncoder enc;
  enc.BeginRecords(cluster, stream, first);
  for (int i = from; i < to; ++i) {
    std::string record;
    log::AppendRecord(&record, static_cast<int64_t>(first) + (i - from), 1000 + i, cluster, Event(i));
    enc.AddRecord(record);
  }
  return enc.Finish();
}

TEST(WireTest, RoundTripAndEveryDamageIsRejected) {
  std::string body = Body("prod-1", "s1", 42, 0, 5);
  KL_ASSERT_OK_AND_ASSIGN(DecodedBatch b, DecodeBatch(body));
  EXPECT_EQ(b.header.cluster, "prod-1");
  EXPECT_EQ(b.header.stream, "s1");
  EXPECT_EQ(b.header.first_sequence, 42u);
  ASSERT_EQ(b.events.size(), 5u);
  EXPECT_EQ(b.events[3].content, Event(3));
  EXPECT_EQ(b.events[3].timestamp_ms, 1003);
  for (size_t cut = 0; cut < body.size(); ++cut) {
    EXPECT_FALSE(DecodeBatch(std::string_view(body).substr(0, cut)).ok()) << cut;
  }
  for (size_t i = 0; i < body.size(); ++i) {
    std::string damaged = body;
    damaged[i] ^= 0x10;
    EXPECT_FALSE(DecodeBatch(damaged).ok()) << "flip at " << i;
  }
  // A handshake: no events.
  BatchEncoder enc;
  enc.Begin("c", "s", 7);
  KL_ASSERT_OK_AND_ASSIGN(DecodedBatch empty, DecodeBatch(enc.Finish()));
  EXPECT_TRUE(empty.events.empty());
  EXPECT_EQ(empty.header.first_sequence, 7u);
}

TEST(WireTest, VersionTwoRoundTripAndEveryDamageIsRejected) {
  std::string body = RecordsBody("prod-1", "s1", 42, 0, 5);
  KL_ASSERT_OK_AND_ASSIGN(DecodedBatch b, DecodeBatch(body));
  EXPECT_EQ(b.header.cluster, "prod-1");
  EXPECT_EQ(b.header.stream, "s1");
  EXPECT_EQ(b.header.first_sequence, 42u);
  ASSERT_EQ(b.events.size(), 5u);
  EXPECT_EQ(b.events[3].content, Event(3));
  EXPECT_EQ(b.events[3].timestamp_ms, 1003);
  log::DecodedRecord rec;
  std::string problem;
  ASSERT_EQ(log::DecodeRecord(b.events[3].record, &rec, &problem), log::DecodeState::kOk) << problem;
  EXPECT_EQ(rec.offset, 45);
  EXPECT_EQ(rec.encoded_size, b.events[3].record.size());
  // Framing here equals framing by the log (the other AddRecord).
  BatchEncoder enc;
  enc.BeginRecords("prod-1", "s1", 42);
  for (int i = 0; i < 5; ++i) enc.AddRecord(42 + i, 1000 + i, "prod-1", Event(i));
  EXPECT_EQ(enc.Finish(), body);
  for (size_t cut = 0; cut < body.size(); ++cut) {
    EXPECT_FALSE(DecodeBatch(std::string_view(body).substr(0, cut)).ok()) << cut;
  }
  for (size_t i = 0; i < body.size(); ++i) {
    std::string damaged = body;
    damaged[i] ^= 0x10;
    EXPECT_FALSE(DecodeBatch(damaged).ok()) << "flip at " << i;
  }
  EXPECT_FALSE(DecodeBatch(body + "x").ok());
  // A handshake.
  enc.BeginRecords("c", "s", 7);
  KL_ASSERT_OK_AND_ASSIGN(DecodedBatch empty, DecodeBatch(enc.Finish()));
  EXPECT_TRUE(empty.events.empty());
  EXPECT_EQ(empty.header.first_sequence, 7u);
  // Records with valid CRCs that do not belong: another sequence, another
  // cluster's key, a negative timestamp.
  auto one = [](int64_t offset, int64_t ts, const std::string& key) {
    BatchEncoder e;
    e.BeginRecords("prod-1", "s1", 10);
    std::string record;
    log::AppendRecord(&record, offset, ts, key, Event(1));
    e.AddRecord(record);
    return e.Finish();
  };
  KL_EXPECT_OK(DecodeBatch(one(10, 1, "prod-1")).status());
  Status wrong_sequence = DecodeBatch(one(11, 1, "prod-1")).status();
  EXPECT_NE(wrong_sequence.message().find("carries sequence 11, not 10"), std::string::npos)
      << wrong_sequence.ToString();
  EXPECT_FALSE(DecodeBatch(one(10, 1, "prod-2")).ok());
  EXPECT_FALSE(DecodeBatch(one(10, -1, "prod-1")).ok());
}

TEST(WireTest, EventValidation) {
  KL_EXPECT_OK(ValidateEventContent(Event(1)));
  KL_EXPECT_OK(ValidateEventContent(Event(1, "DELETED")));
  EXPECT_FALSE(ValidateEventContent("").ok());
  EXPECT_FALSE(ValidateEventContent("[1,2]").ok());
  EXPECT_FALSE(ValidateEventContent("{\"type\":\"ADDED\"}").ok());
  EXPECT_FALSE(ValidateEventContent(Event(1, "BOOKMARK")).ok());
  EXPECT_FALSE(ValidateEventContent(Event(1) + "x").ok());
  std::string broken = Event(1);
  broken.replace(broken.find("{\"metadata\""), 1, "[");
  EXPECT_FALSE(ValidateEventContent(broken).ok()) << broken;
  std::string no_uid = Event(1);
  no_uid.replace(no_uid.find("\"uid\""), 5, "\"xid\"");
  EXPECT_FALSE(ValidateEventContent(no_uid).ok());
}

// Malformed JSON anywhere in the document — inside obj, in fields the
// validator does not look at, after the object — is refused: the log must
// hold only what the pipeline can parse.
TEST(WireTest, EventValidationRefusesMalformedJsonAnywhere) {
  const std::string head = R"({"type":"ADDED","uid":"u","kind":"Pod","resourceversion":"1",)";
  const std::vector<std::string> bad = {
      head + R"("obj":{"a":tru}})",
      head + R"("obj":{"a":1.2.3}})",
      head + R"("obj":{"a":01}})",
      head + R"("obj":{"a":-}})",
      head + R"("obj":{"a":"\x"}})",
      head + R"("obj":{"a":"\u12"}})",
      head + "\"obj\":{\"a\":\"tab\there\"}}",
      head + "\"obj\":{\"a\":\"\xff\xfe\"}}",  // not UTF-8
      head + "\"obj\":{\"a\":\"\xc0\xaf\"}}",  // overlong UTF-8
      head + R"("obj":{"a":[1 2]}})",
      head + R"("obj":{"a":[1,]}})",
      head + R"("obj":{"a":1,}})",
      head + R"("obj":{"a" 1}})",
      head + R"("obj":{"a":[}})",
      head + R"("obj":{"a":1},"x":nul})",
      head + R"("obj":{"a":1},"x":[}})",
      head + R"("obj":{"a":1},"x":{"y":}})",
      head + R"("obj":{"a":1}} {})",
      head + R"("obj":{"a":1}}})",
      head + R"("obj":{"a":1}})" + std::string(1, '\0'),
      head + R"("obj":{"a":1})",
  };
  for (const std::string& doc : bad) {
    EXPECT_FALSE(ValidateEventContent(doc).ok()) << doc;
  }
  // What is well-formed stays accepted: escapes, unicode, numbers, nesting, whitespace.
  const std::vector<std::string> good = {
      head + R"("obj":{"a":"\"q\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00","b":-1.5e-3,"c":[true,false,null,{}],"d":[]}})",
      head + "\"obj\":{\"\xc3\xa9\":\"\xf0\x9f\x98\x80\"}}",
      " \n" + head + R"( "obj" : { } } )" + "\n",
  };
  for (const std::string& doc : good) {
    Status s = ValidateEventContent(doc);
    EXPECT_TRUE(s.ok()) << doc << ": " << s.ToString();
  }
  // Types of the required fields.
  EXPECT_FALSE(ValidateEventContent(R"({"type":"ADDED","uid":"u","kind":"Pod","resourceversion":1,"obj":{}})").ok());
  EXPECT_FALSE(ValidateEventContent(R"({"type":"ADDED","uid":"","kind":"Pod","resourceversion":"1","obj":{}})").ok());
  EXPECT_FALSE(ValidateEventContent(R"({"type":"ADDED","uid":"u","kind":"Pod","resourceversion":"1","obj":[]})").ok());
  EXPECT_FALSE(ValidateEventContent(R"({"type":7,"uid":"u","kind":"Pod","resourceversion":"1","obj":{}})").ok());
}

TEST(ClustersTest, ParseAndAuthenticate) {
  std::string yaml =
      "clusters:\n"
      "- name: a\n  token: secret-a\n"
      "- name: b\n  tokenSha256: " +
      Sha256Hex("secret-b") +
      "\n"
      "- name: c\n  certificateCommonName: cluster-c\n";
  KL_ASSERT_OK_AND_ASSIGN(AcceptedClusters list, AcceptedClusters::Parse(yaml));
  EXPECT_EQ(list.size(), 3u);
  std::string err;
  EXPECT_EQ(list.Authenticate("a", "secret-a", "", &err), 0) << err;
  EXPECT_EQ(list.Authenticate("b", "secret-b", "", &err), 0) << err;
  EXPECT_EQ(list.Authenticate("c", "", "cluster-c", &err), 0) << err;
  EXPECT_EQ(list.Authenticate("a", "secret-b", "", &err), 401);
  EXPECT_NE(err.find("wrong token"), std::string::npos) << err;
  EXPECT_EQ(err.find("secret"), std::string::npos) << "never echo a secret: " << err;
  EXPECT_EQ(list.Authenticate("a", "", "", &err), 401);
  EXPECT_EQ(list.Authenticate("zz", "secret-a", "", &err), 403);
  EXPECT_NE(err.find("not accepted"), std::string::npos) << err;
  EXPECT_EQ(list.Authenticate("c", "", "cluster-a", &err), 403);
  EXPECT_EQ(list.Authenticate("c", "secret-a", "", &err), 401);
  EXPECT_FALSE(AcceptedClusters::Parse("clusters:\n- name: x\n").ok());
  EXPECT_FALSE(AcceptedClusters::Parse("clusters:\n- name: x\n  tokenSha256: abc\n").ok());
  EXPECT_FALSE(AcceptedClusters::Parse("clusters:\n- name: x\n  token: t\n- name: x\n  token: u\n").ok());
  EXPECT_FALSE(AcceptedClusters::Parse("nope: 1").ok());
}

// A batch POST as a collector of `cluster` sends it (no token: no authorization header).
HttpRequest BatchRequest(const std::string& cluster, const std::string& token, std::string body) {
  HttpRequest r;
  r.method = "POST";
  r.path = std::string(kBatchPath);
  r.headers["x-kubelake-cluster"] = cluster;
  if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
  r.body = std::move(body);
  return r;
}

// The same with its body compressed with zstd, as collectors send version 2 batches.
HttpRequest ZstdBatchRequest(const std::string& cluster, const std::string& token, const std::string& raw) {
  HttpRequest r = BatchRequest(cluster, token, "");
  r.headers["content-encoding"] = "zstd";
  KL_EXPECT_OK(format::ZstdCompress(1, raw, &r.body));
  return r;
}

class IngestServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KL_ASSERT_OK(
        WriteFile(dir_.Sub("clusters.yaml"), "clusters:\n- name: a\n  token: tok-a\n- name: b\n  token: tok-b\n"));
    KL_ASSERT_OK_AND_ASSIGN(log_, log::OpenEventLog("dir:" + dir_.Sub("log") + "?partitions=4&fsync=never"));
    options_.clusters_file = dir_.Sub("clusters.yaml");
    options_.state_path = dir_.Sub("ingest/state.json");
    options_.state_interval_ms = 3600 * 1000;  // tests write the state themselves
    StartServer();
  }

  void StartServer() {
    auto s = IngestServer::Start(log_.get(), options_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }

  HttpResponse Post(const std::string& cluster, const std::string& token, const std::string& body) {
    HttpRequest r = BatchRequest(cluster, token, body);
    return server_->Handle(r);
  }

  // Events of `cluster` in the log, in order (their uids).
  std::vector<std::string> Logged(const std::string& cluster) {
    std::vector<std::string> out;
    int32_t p = log_->PartitionFor(cluster);
    auto consumer = log_->NewConsumer("t").value();
    KL_EXPECT_OK(consumer->Seek(p, log::kOffsetBeginning));
    int64_t end = log_->EndOffset(p).value();
    int64_t pos = 0;
    while (pos < end) {
      auto batch = consumer->Poll({}).value();
      for (const auto& r : batch) {
        pos = r.offset + 1;
        if (r.key == cluster) {
          auto v = r.value;
          size_t at = v.find("\"uid\":\"") + 7;
          out.emplace_back(v.substr(at, v.find('"', at) - at));
        }
      }
    }
    return out;
  }

  static std::vector<std::string> Uids(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) out.push_back("u" + std::to_string(i));
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<log::EventLog> log_;
  IngestOptions options_;
  std::unique_ptr<IngestServer> server_;
};

TEST_F(IngestServerTest, RetriesAreAppendedOnceAndGapsRefused) {
  EXPECT_EQ(Post("a", "tok-a", Body("a", "s1", 0, 0, 10)).status, 200);
  HttpResponse retry = Post("a", "tok-a", Body("a", "s1", 0, 0, 10));
  EXPECT_EQ(retry.status, 200);
  EXPECT_EQ(ParseBatchAnswer(retry.body).next, 10u);
  // Overlapping retry: only the new part is appended.
  EXPECT_EQ(Post("a", "tok-a", Body("a", "s1", 5, 5, 15)).status, 200);
  HttpResponse gap = Post("a", "tok-a", Body("a", "s1", 20, 20, 25));
  EXPECT_EQ(gap.status, 409);
  EXPECT_EQ(ParseBatchAnswer(gap.body).next, 15u);
  EXPECT_EQ(Logged("a"), Uids(0, 15));
  IngestStats st = server_->Stats();
  EXPECT_EQ(st.events, 15u);
  EXPECT_EQ(st.duplicates, 15u);
  EXPECT_EQ(st.gaps, 1u);
}

// Version 2 bodies (the spool's records) append like version 1: once, in
// order, keyed by the cluster, with the collector's timestamps; a stream may
// switch between the versions (an upgraded collector).
TEST_F(IngestServerTest, VersionTwoBatchesAppendOnceAndMixWithVersionOne) {
  EXPECT_EQ(Post("a", "tok-a", Body("a", "s1", 0, 0, 10)).status, 200);
  HttpResponse v2 = Post("a", "tok-a", RecordsBody("a", "s1", 10, 10, 20));
  EXPECT_EQ(v2.status, 200) << v2.body;
  EXPECT_EQ(ParseBatchAnswer(v2.body).next, 20u);
  // A retried and an overlapping version 2 batch.
  EXPECT_EQ(Post("a", "tok-a", RecordsBody("a", "s1", 10, 10, 20)).status, 200);
  EXPECT_EQ(Post("a", "tok-a", RecordsBody("a", "s1", 15, 15, 25)).status, 200);
  EXPECT_EQ(Post("a", "tok-a", RecordsBody("a", "s1", 30, 30, 31)).status, 409);
  EXPECT_EQ(Post("a", "tok-a", Body("a", "s1", 25, 25, 27)).status, 200);
  EXPECT_EQ(Logged("a"), Uids(0, 27));
  EXPECT_EQ(server_->Stats().duplicates, 15u);
  // Records in the log: offsets of the central log, the collector's timestamps, checksums intact.
  int32_t p = log_->PartitionFor("a");
  auto consumer = log_->NewConsumer("t").value();
  KL_ASSERT_OK(consumer->Seek(p, log::kOffsetBeginning));
  int n = 0;
  while (n < 27) {
    auto batch = consumer->Poll({}).value();
    ASSERT_FALSE(batch.empty());
    for (const auto& r : batch) {
      EXPECT_EQ(r.key, "a");
      EXPECT_EQ(r.value, Event(n));
      EXPECT_EQ(r.timestamp_ms, 1000 + n);
      ++n;
    }
  }
  // One bad event spoils a version 2 batch too.
  BatchEncoder enc;
  enc.BeginRecords("a", "s1", 27);
  std::string record;
  log::AppendRecord(&record, 27, 1, "a", Event(27));
  enc.AddRecord(record);
  record.clear();
  log::AppendRecord(&record, 28, 1, "a",
                    R"({"type":"ADDED","obj":{"a":tru},"kind":"Pod","uid":"x","resourceversion":"1"})");
  enc.AddRecord(record);
  HttpResponse bad = Post("a", "tok-a", enc.Finish());
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("event 1"), std::string::npos) << bad.body;
  // A version 2 body naming another cluster than the credentials.
  EXPECT_EQ(Post("a", "tok-a", RecordsBody("b", "s1", 0, 0, 3)).status, 400);
  EXPECT_EQ(Logged("a"), Uids(0, 27));
  EXPECT_TRUE(Logged("b").empty());
}

// Compressed version 2 bodies are appended from the inflated buffer, each
// record renumbered where it lies: a retry (a fresh body with the collector's
// sequences) appends nothing twice, and a batch that overlaps appends its tail.
TEST_F(IngestServerTest, CompressedVersionTwoBatchesAppendInPlaceOnce) {
  auto post_zstd = [&](const std::string& raw) {
    HttpRequest r = ZstdBatchRequest("a", "tok-a", raw);
    return server_->Handle(r);
  };
  EXPECT_EQ(Post("a", "tok-a", Body("a", "s1", 0, 0, 3)).status, 200);  // so the offsets differ from sequences
  HttpResponse first = post_zstd(RecordsBody("a", "s1", 3, 3, 40));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(ParseBatchAnswer(first.body).next, 40u);
  EXPECT_EQ(post_zstd(RecordsBody("a", "s1", 3, 3, 40)).status, 200);
  EXPECT_EQ(post_zstd(RecordsBody("a", "s1", 30, 30, 50)).status, 200);
  EXPECT_EQ(Logged("a"), Uids(0, 50));
  EXPECT_EQ(server_->Stats().duplicates, 47u);
  KL_ASSERT_OK_AND_ASSIGN(auto report, log::VerifySegmentLog(dir_.Sub("log")));
  EXPECT_TRUE(report.ok());
}

TEST_F(IngestServerTest, RefusalsAppendNothing) {
  HttpResponse wrong = Post("a", "tok-b", Body("a", "s1", 0, 0, 3));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(ParseBatchAnswer(wrong.body).error.find("wrong token"), std::string::npos) << wrong.body;
  HttpResponse unknown = Post("zz", "tok-a", Body("zz", "s1", 0, 0, 3));
  EXPECT_EQ(unknown.status, 403);
  EXPECT_NE(ParseBatchAnswer(unknown.body).error.find("not accepted"), std::string::npos) << unknown.body;
  HttpResponse none = Post("a", "", Body("a", "s1", 0, 0, 3));
  EXPECT_EQ(none.status, 401);
  // The body names another cluster than the credentials.
  EXPECT_EQ(Post("a", "tok-a", Body("b", "s1", 0, 0, 3)).status, 400);
  // One bad event spoils the batch: nothing of it is appended.
  BatchEncoder enc;
  enc.Begin("a", "s1", 0);
  enc.Add(1, Event(0));
  enc.Add(1, Event(1));
  enc.Add(1, "{\"type\":\"ADDED\",\"obj\":{}}");
  HttpResponse bad = Post("a", "tok-a", enc.Finish());
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("event 2"), std::string::npos) << bad.body;
  std::string damaged = Body("a", "s1", 0, 0, 3);
  damaged[20] ^= 1;
  EXPECT_EQ(Post("a", "tok-a", damaged).status, 400);
  EXPECT_TRUE(Logged("a").empty());
  EXPECT_EQ(server_->Stats().rejected_auth, 3u);
  EXPECT_EQ(server_->Stats().rejected_malformed, 3u);
}

// Version 2 batches as collectors send them (zstd): an event whose JSON is
// malformed deep inside obj, or in a way only a full check sees, refuses the
// whole batch, named by its index, sequence and byte; nothing is appended, and
// the same batch with the event repaired is then taken whole.
TEST_F(IngestServerTest, MalformedEventInsideAZstdBatchRefusesItWhole) {
  auto post_zstd = [&](const std::vector<std::string>& contents) {
    BatchEncoder enc;
    enc.BeginRecords("a", "s1", 0);
    for (size_t i = 0; i < contents.size(); ++i) enc.AddRecord(static_cast<int64_t>(i), 1000, "a", contents[i]);
    HttpRequest r = ZstdBatchRequest("a", "tok-a", enc.Finish());
    return server_->Handle(r);
  };
  const std::string good = R"({"type":"ADDED","uid":"u2","kind":"Pod","resourceversion":"102","obj":{"a":[1,2,3]}})";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"type":"ADDED","uid":"u2","kind":"Pod","resourceversion":"102","obj":{"a":[1,2 3]}})",
       "not valid JSON: a comma or ] expected between values at byte 80"},
      {R"({"type":"ADDED","uid":"u2","kind":"Pod","resourceversion":"102","obj":{"a":[1,2,1e999]}})",
       "not valid JSON: invalid number (its grammar, or out of range: integers take 64 bits, doubles must be finite) "
       "at byte 80"},
      {R"({"type":"ADDED","uid":"u2","kind":"Pod","resourceversion":"102","obj":{"a":"\ud800"}})",
       "not valid JSON: invalid escape in the string starting at byte 75"},
      {R"({"type":"ADDED","uid":"u2","kind":"Pod","resourceversion":"102","obj":{"a":[1,2,3]}} {})",
       "not valid JSON: more after the end of the document at byte 85"},
      {R"({"type":"ADDED","uid":"u2","kind":"Pod","resourceversion":"102","obj":[1,2,3]})", "obj is not an object"},
  };
  for (const auto& [content, error] : bad) {
    HttpResponse r = post_zstd({Event(0), Event(1), content, Event(3)});
    EXPECT_EQ(r.status, 400) << content;
    std::string message = ParseBatchAnswer(r.body).error;
    EXPECT_NE(message.find("event 2 (sequence 2): " + error), std::string::npos) << message;
    EXPECT_NE(message.find("nothing of this batch was appended"), std::string::npos) << message;
    EXPECT_TRUE(Logged("a").empty());
  }
  HttpResponse ok = post_zstd({Event(0), Event(1), good, Event(3)});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Logged("a").size(), 4u);
  EXPECT_EQ(server_->Stats().rejected_malformed, bad.size());
}

TEST_F(IngestServerTest, CrashAfterAppendBeforeStateWriteIsRecoveredFromTheLog) {
  EXPECT_EQ(Post("a", "tok-a", Body("a", "s1", 0, 0, 4)).status, 200);
  EXPECT_EQ(Post("b", "tok-b", Body("b", "t1", 100, 0, 3)).status, 200);
  server_->Stop();
  KL_ASSERT_OK_AND_ASSIGN(std::string state_at_4, ReadFile(options_.state_path));
  StartServer();
  // Appended, but the state file will be rolled back as if the process died before writing it.
  EXPECT_EQ(Post("a", "tok-a", Body("a", "s1", 4, 4, 9)).status, 200);
  EXPECT_EQ(Post("a", "tok-a", Body("a", "s1", 9, 9, 12)).status, 200);
  EXPECT_EQ(Post("b", "tok-b", Body("b", "t1", 103, 3, 5)).status, 200);
  server_->Stop();
  server_.reset();
  KL_ASSERT_OK(WriteFile(options_.state_path, state_at_4));
  StartServer();
  // The collector did not see the acks and resends from 4: nothing is appended twice.
  HttpResponse r = Post("a", "tok-a", Body("a", "s1", 4, 4, 14));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseBatchAnswer(r.body).next, 14u);
  EXPECT_EQ(Logged("a"), Uids(0, 14));
  HttpResponse hb = Post("b", "tok-b", Body("b", "t1", 103, 3, 6));
  EXPECT_EQ(ParseBatchAnswer(hb.body).next, 106u) << hb.body;
  EXPECT_EQ(Logged("b"), Uids(0, 6));
}

TEST_F(IngestServerTest, ANewStreamContinuesWhereItSays) {
  EXPECT_EQ(Post("a", "tok-a", Body("a", "s1", 0, 0, 3)).status, 200);
  // A collector with a new spool starts its own numbering.
  HttpResponse r = Post("a", "tok-a", Body("a", "s2", 0, 3, 5));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseBatchAnswer(r.body).next, 2u);
  EXPECT_EQ(Logged("a"), Uids(0, 5));
}

// A central process killed after its log write but before the log's visible
// end moved (fsync interval not reached): the events are in the files but not
// yet visible. The next process must count them, or the resent batch would be
// appended twice.
TEST(IngestCrashTest, EventsBeyondAStaleVisibleEndAreCounted) {
  testing::TempDir dir;
  KL_ASSERT_OK(WriteFile(dir.Sub("clusters.yaml"), "clusters:\n- name: a\n  token: tok-a\n"));
  std::string uri = "dir:" + dir.Sub("log") + "?partitions=2&fsync=1h";
  IngestOptions o;
  o.clusters_file = dir.Sub("clusters.yaml");
  o.state_path = dir.Sub("state.json");
  o.state_interval_ms = 3600 * 1000;
  auto post = [](IngestServer* server, const std::string& body) {
    HttpRequest r = BatchRequest("a", "tok-a", body);
    return server->Handle(r);
  };
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Appends 0..10, then dies without any destructor (no final sync or state write).
    auto log = log::OpenEventLog(uri);
    if (!log.ok()) _exit(2);
    auto server = IngestServer::Start(log->get(), o);
    if (!server.ok()) _exit(3);
    if (post(server->get(), Body("a", "s", 0, 0, 10)).status != 200) _exit(4);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  KL_ASSERT_OK_AND_ASSIGN(auto log, log::OpenEventLog(uri));
  KL_ASSERT_OK_AND_ASSIGN(auto server, IngestServer::Start(log.get(), o));
  // The collector never saw the acknowledgement and sends the batch again.
  HttpResponse again = post(server.get(), Body("a", "s", 0, 0, 12));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(ParseBatchAnswer(again.body).next, 12u);
  EXPECT_EQ(server->Stats().duplicates, 10u);
  server->Stop();
  server.reset();
  int32_t p = log->PartitionFor("a");
  log.reset();  // closing syncs and publishes
  KL_ASSERT_OK_AND_ASSIGN(auto reopened, log::OpenEventLog(uri));
  KL_ASSERT_OK_AND_ASSIGN(auto producer, reopened->NewProducer());  // the writer's recovery publishes
  KL_ASSERT_OK_AND_ASSIGN(int64_t end, reopened->EndOffset(p));
  EXPECT_EQ(end, 12);
}

// An event log whose producers take their time to flush: a central side
// slower than its collectors.
class SlowLog : public log::EventLog {
 public:
  SlowLog(log::EventLog* inner, int64_t flush_ms) : inner_(inner), flush_ms_(flush_ms) {}
  std::string Describe() const override { return "slow " + inner_->Describe(); }
  int32_t NumPartitions() const override { return inner_->NumPartitions(); }
  Result<std::unique_ptr<log::Producer>> NewProducer() override {
    KL_ASSIGN_OR_RETURN(auto p, inner_->NewProducer());
    return std::unique_ptr<log::Producer>(new SlowProducer(std::move(p), flush_ms_));
  }
  Result<std::unique_ptr<log::Consumer>> NewConsumer(const std::string& group) override {
    return inner_->NewConsumer(group);
  }
  Result<int64_t> StartOffset(int32_t p) override { return inner_->StartOffset(p); }
  Result<int64_t> EndOffset(int32_t p) override { return inner_->EndOffset(p); }
  Result<std::map<int32_t, int64_t>> CommittedOffsets(const std::string& g) override {
    return inner_->CommittedOffsets(g);
  }

 private:
  class SlowProducer : public log::Producer {
   public:
    SlowProducer(std::unique_ptr<log::Producer> inner, int64_t ms) : inner_(std::move(inner)), ms_(ms) {}
    Status Send(const log::ProducerRecord& r) override { return inner_->Send(r); }
    Status Flush() override {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms_));
      return inner_->Flush();
    }

   private:
    std::unique_ptr<log::Producer> inner_;
    int64_t ms_;
  };
  log::EventLog* inner_;
  int64_t flush_ms_;
};

TEST(IngestBackpressureTest, BatchesBeyondTheAppendSlotsGet503AndGoInWhenRetried) {
  testing::TempDir dir;
  KL_ASSERT_OK(
      WriteFile(dir.Sub("clusters.yaml"), "clusters:\n- name: a\n  token: tok-a\n- name: b\n  token: tok-b\n"));
  KL_ASSERT_OK_AND_ASSIGN(auto inner, log::OpenEventLog("dir:" + dir.Sub("log") + "?partitions=2&fsync=never"));
  SlowLog slow(inner.get(), 400);
  IngestOptions o;
  o.clusters_file = dir.Sub("clusters.yaml");
  o.state_path = dir.Sub("state.json");
  o.max_concurrent_appends = 1;
  o.busy_wait_ms = 50;
  KL_ASSERT_OK_AND_ASSIGN(auto server, IngestServer::Start(&slow, o));
  auto post = [&](const std::string& cluster, const std::string& body) {
    HttpRequest r = BatchRequest(cluster, "tok-" + cluster, body);
    return server->Handle(r);
  };
  HttpResponse first;
  std::thread slow_append([&] { first = post("a", Body("a", "s", 0, 0, 5)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  HttpResponse busy = post("b", Body("b", "t", 0, 0, 5));  // the only slot is taken
  slow_append.join();
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(busy.status, 503) << busy.body;
  bool retry_after = false;
  for (const auto& [k, v] : busy.headers) retry_after = retry_after || (k == "Retry-After" && v == "1");
  EXPECT_TRUE(retry_after);
  EXPECT_EQ(server->Stats().busy, 1u);
  EXPECT_EQ(server->Stats().events, 5u);  // nothing of the refused batch
  HttpResponse retried = post("b", Body("b", "t", 0, 0, 5));
  EXPECT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(server->Stats().events, 10u);
  server->Stop();
}

}  // namespace
}  // namespace kl::ingest
