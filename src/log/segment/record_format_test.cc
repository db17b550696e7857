// The pieces below the log: checksum, record codec, segment naming, the
// partitioner, URIs and the retention rules.
#include "log/segment/record_format.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <vector>

#include "common/random.h"
#include "common/testing/test_util.h"
#include "log/crc32c.h"
#include "log/event_log.h"
#include "log/kafka/kafka_log.h"
#include "log/log_uri.h"
#include "log/segment/retention.h"
#include "log/segment/segment_file.h"

namespace kl::log {
namespace {

TEST(Crc32cTest, MatchesKnownValues) {
  // The CRC-32C check value, and the all-zero / all-ones vectors of RFC 3720 B.4.
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(Crc32cTest, ExtendEqualsOneShotAtEverySplit) {
  Random rng(11);
  std::string data = rng.Alnum(301);
  uint32_t whole = Crc32c(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    uint32_t crc = Crc32cExtend(Crc32c(data.data(), split), data.data() + split, data.size() - split);
    ASSERT_EQ(crc, whole) << "split at " << split;
  }
}

// Bit by bit, straight from the definition: an independent reference.
uint32_t Crc32cBitwise(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
  }
  return ~crc;
}

TEST(Crc32cTest, MatchesBitwiseReferenceAtEveryLengthAndAlignment) {
  // Lengths around the block sizes (the crc32 instruction's 3 x 256 B and
  // 3 x 8 KB, the carry-less folding's 64 and 256 B) and their multiples, at
  // every alignment of the start.
  Random rng(7);
  std::string data = rng.Alnum(80 * 1024);
  for (size_t i = 0; i < data.size(); i += 7) data[i] = static_cast<char>(rng.Uniform(256));
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 1600; ++n) lengths.push_back(n);
  // Records of a few KB: the folding path (64 and 256 B steps) and its tail.
  for (size_t n = 1601; n <= 5200; n += 3) lengths.push_back(n);
  for (size_t base : {3 * 8192, 2 * 3 * 8192, 3 * 8192 + 768, 3 * 3 * 8192}) {
    for (size_t d = 0; d <= 20; ++d) {
      lengths.push_back(base - d);
      lengths.push_back(base + d);
    }
  }
  for (size_t n : lengths) {
    for (size_t align = 0; align < (n <= 1600 ? 8u : 2u); ++align) {
      if (align + n > data.size()) continue;
      std::string_view piece(data.data() + align, n);
      ASSERT_EQ(Crc32c(piece), Crc32cBitwise(piece)) << "length " << n << " at offset " << align;
    }
  }
  // Extending over pieces that cut through blocks.
  std::string_view all(data);
  uint32_t crc = 0;
  for (size_t at = 0, step = 1; at < all.size(); at += step, step = step * 3 + 1) {
    size_t len = std::min(step, all.size() - at);
    crc = Crc32cExtend(crc, all.data() + at, len);
  }
  EXPECT_EQ(crc, Crc32cBitwise(all));
}

TEST(Crc32cTest, CombineEqualsTheCrcOfTheJoinedPieces) {
  Random rng(29);
  for (int round = 0; round < 1000; ++round) {
    std::string a(rng.Uniform(round % 10 == 0 ? 5000 : 64), '\0'), b(rng.Uniform(round % 7 == 0 ? 70000 : 3000), '\0');
    for (char& c : a) c = static_cast<char>(rng.Uniform(256));
    for (char& c : b) c = static_cast<char>(rng.Uniform(256));
    ASSERT_EQ(Crc32cCombine(Crc32c(a), Crc32c(b), b.size()), Crc32cBitwise(a + b))
        << "sizes " << a.size() << " + " << b.size();
  }
}

TEST(Crc32cTest, PatchEqualsRecomputingAfterAChange) {
  Random rng(23);
  for (int round = 0; round < 2000; ++round) {
    size_t size = round < 100 ? static_cast<size_t>(round) + 1 : 1 + rng.Uniform(round % 10 == 0 ? 70000 : 3000);
    std::string message(size, '\0');
    for (char& c : message) c = static_cast<char>(rng.Uniform(256));
    size_t n = 1 + rng.Uniform(std::min<size_t>(size, 16));
    size_t at = rng.Uniform(size - n + 1);
    std::string delta(n, '\0');
    for (char& c : delta) c = static_cast<char>(rng.Uniform(256));
    uint32_t before = Crc32c(message);
    for (size_t i = 0; i < n; ++i) message[at + i] ^= delta[i];
    ASSERT_EQ(Crc32cPatch(before, size, at, delta.data(), n), Crc32cBitwise(message))
        << "size " << size << " at " << at << " n " << n;
  }
}

TEST(RecordFormatTest, SealingRenumbersAndKeepsTheRecordValid) {
  Random rng(5);
  for (int round = 0; round < 500; ++round) {
    std::string value = rng.Alnum(rng.Uniform(round % 50 == 0 ? 100000 : 4000));
    std::string key = rng.Alnum(rng.Uniform(20));
    int64_t from = static_cast<int64_t>(rng.Uniform(1ull << 40));
    int64_t to = round % 3 == 0 ? from : static_cast<int64_t>(rng.Uniform(1ull << 62));
    std::string record, expected;
    AppendRecord(&record, from, 1000 + round, key, value);
    AppendRecord(&expected, to, 1000 + round, key, value);
    SealRecord(record.data(), to);
    ASSERT_EQ(record, expected) << "round " << round;
    DecodedRecord r;
    std::string problem;
    ASSERT_EQ(DecodeRecord(record, &r, &problem), DecodeState::kOk) << problem;
    EXPECT_EQ(r.offset, to);
  }
  // A record damaged before sealing stays damaged after.
  std::string record;
  AppendRecord(&record, 0, 1, "k", "{\"a\":1}");
  record[record.size() - 2] ^= 1;
  SealRecord(record.data(), 77);
  DecodedRecord r;
  std::string problem;
  EXPECT_EQ(DecodeRecord(record, &r, &problem), DecodeState::kBad);
}

TEST(RecordFormatTest, RoundTripsAndReportsItsSize) {
  std::string buf;
  AppendRecord(&buf, 42, 1'700'000'000'123, "cluster-a", "{\"type\":\"ADDED\"}");
  AppendRecord(&buf, 43, -5, "", "");
  DecodedRecord r;
  std::string problem;
  ASSERT_EQ(DecodeRecord(buf, &r, &problem), DecodeState::kOk) << problem;
  EXPECT_EQ(r.offset, 42);
  EXPECT_EQ(r.timestamp_ms, 1'700'000'000'123);
  EXPECT_EQ(r.key, "cluster-a");
  EXPECT_EQ(r.value, "{\"type\":\"ADDED\"}");
  EXPECT_EQ(r.encoded_size, EncodedRecordSize(9, 16));
  EXPECT_EQ(RecordSizeAt(buf), r.encoded_size);
  ASSERT_EQ(DecodeRecord(std::string_view(buf).substr(r.encoded_size), &r, &problem), DecodeState::kOk);
  EXPECT_EQ(r.offset, 43);
  EXPECT_EQ(r.timestamp_ms, -5);
  EXPECT_TRUE(r.key.empty());
  EXPECT_TRUE(r.value.empty());
}

TEST(RecordFormatTest, EveryPrefixIsIncompleteNeverBad) {
  // A reader racing the writer sees prefixes of a record: none may look like damage.
  std::string buf;
  AppendRecord(&buf, 7, 1, "key", std::string(300, 'v'));
  for (size_t n = 0; n < buf.size(); ++n) {
    DecodedRecord r;
    std::string problem;
    ASSERT_EQ(DecodeRecord(std::string_view(buf).substr(0, n), &r, &problem), DecodeState::kIncomplete)
        << "prefix of " << n << " bytes";
  }
}

TEST(RecordFormatTest, EverySingleBitFlipIsDetected) {
  std::string clean;
  AppendRecord(&clean, 9, 1234, "cluster", "value-bytes");
  for (size_t byte = 0; byte < clean.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = clean;
      damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
      DecodedRecord r;
      std::string problem;
      DecodeState state = DecodeRecord(damaged, &r, &problem);
      // A flipped length may also make the record look longer (incomplete):
      // either way it is never accepted.
      ASSERT_NE(state, DecodeState::kOk) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(RecordFormatTest, SealRecordFillsOffsetAndChecksum) {
  std::string buf;
  AppendRecord(&buf, 0, 5, "k", "v");
  SealRecord(buf.data(), 123456789);
  DecodedRecord r;
  std::string problem;
  ASSERT_EQ(DecodeRecord(buf, &r, &problem), DecodeState::kOk) << problem;
  EXPECT_EQ(r.offset, 123456789);
}

TEST(RecordFormatTest, FindValidRecordSkipsGarbageButNotOldOffsets) {
  Random rng(3);
  std::string buf = rng.Alnum(100);
  size_t at = buf.size();
  AppendRecord(&buf, 50, 0, "k", "v");
  buf += rng.Alnum(40);
  EXPECT_EQ(FindValidRecord(buf, 0, 50), at);
  EXPECT_EQ(FindValidRecord(buf, 0, 48), at);
  // Offset 50 cannot follow offset 10 after only 100 bytes (records take at least 28).
  EXPECT_EQ(FindValidRecord(buf, 0, 10), std::string_view::npos);
  EXPECT_EQ(FindValidRecord(buf, 0, 51), std::string_view::npos) << "an older record is not evidence of newer data";
  EXPECT_EQ(FindValidRecord(buf, at + 1, 0), std::string_view::npos);
  EXPECT_EQ(FindValidRecord(std::string(5000, '\0'), 0, 0), std::string_view::npos);
}

TEST(RecordFormatTest, SegmentHeaderChecksMagicAndBase) {
  std::string header = EncodeSegmentHeader(4711);
  ASSERT_EQ(header.size(), kSegmentHeaderSize);
  std::string problem;
  EXPECT_EQ(CheckSegmentHeader(header, 4711, &problem), HeaderState::kOk);
  EXPECT_EQ(CheckSegmentHeader(header.substr(0, 10), 4711, &problem), HeaderState::kIncomplete);
  EXPECT_EQ(CheckSegmentHeader(header, 4712, &problem), HeaderState::kBad);
  EXPECT_NE(problem.find("4711"), std::string::npos);
  EXPECT_EQ(CheckSegmentHeader("KLSEGxxx12345678", 0, &problem), HeaderState::kBad);
}

TEST(SegmentFileTest, NamesSortByOffset) {
  EXPECT_EQ(SegmentFileName(0), "00000000000000000000.log");
  EXPECT_EQ(SegmentFileName(4711), "00000000000000004711.log");
  EXPECT_EQ(IndexFileName(4711), "00000000000000004711.idx");
  EXPECT_EQ(ParseSegmentFileName("00000000000000004711.log"), 4711);
  EXPECT_FALSE(ParseSegmentFileName("00000000000000004711.idx"));
  EXPECT_FALSE(ParseSegmentFileName("0000000000000000471x.log"));
  EXPECT_FALSE(ParseSegmentFileName("4711.log"));
  EXPECT_LT(SegmentFileName(999), SegmentFileName(1000));
}

TEST(PartitionerTest, MatchesKafkaMurmur2Partitioner) {
  // librdkafka's murmur2 partitioner is the Java client's default: the same
  // key must land in the same partition whichever client wrote it.
  Random rng(5);
  for (int32_t partitions : {1, 3, 8, 16, 100}) {
    for (int i = 0; i < 300; ++i) {
      std::string key = i == 0 ? "" : rng.Alnum(1 + rng.Uniform(40));
      int32_t theirs = rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions, nullptr, nullptr);
      ASSERT_EQ(PartitionForKey(key, partitions), theirs) << "key '" << key << "' over " << partitions;
    }
  }
}

TEST(LogUriTest, ParsesDirAndKafkaForms) {
  KL_ASSERT_OK_AND_ASSIGN(LogUri dir, ParseLogUri("dir:/var/lib/kubelake/log?partitions=16&fsync=batch"));
  EXPECT_EQ(dir.kind, LogUri::Kind::kDir);
  EXPECT_EQ(dir.path, "/var/lib/kubelake/log");
  EXPECT_EQ(dir.params.at("partitions"), "16");
  KL_ASSERT_OK_AND_ASSIGN(LogUri plain, ParseLogUri("/tmp/x"));
  EXPECT_EQ(plain.kind, LogUri::Kind::kDir);
  EXPECT_EQ(plain.path, "/tmp/x");
  KL_ASSERT_OK_AND_ASSIGN(LogUri kafka, ParseLogUri("kafka://b1:9092,b2:9092/events?partitions=8"));
  EXPECT_EQ(kafka.kind, LogUri::Kind::kKafka);
  EXPECT_EQ(kafka.brokers, "b1:9092,b2:9092");
  EXPECT_EQ(kafka.topic, "events");
  EXPECT_FALSE(ParseLogUri("kafka://b1:9092").ok());
  EXPECT_FALSE(ParseLogUri("kafka://b1/bad topic").ok());
  EXPECT_FALSE(ParseLogUri("s3://bucket/x").ok());
  EXPECT_FALSE(ParseLogUri("dir:/x?novalue").ok());
  EXPECT_FALSE(ParseLogUri("").ok());
}

TEST(LogUriTest, AppliesSegmentLogParameters) {
  SegmentLogOptions o;
  KL_ASSERT_OK(ApplySegmentLogParams({{"partitions", "12"},
                                      {"segment_bytes", "64M"},
                                      {"segment_age", "6h"},
                                      {"fsync", "250ms"},
                                      {"retention", "7d"},
                                      {"retention_bytes", "10G"},
                                      {"required_groups", "pipeline,audit"}},
                                     &o));
  EXPECT_EQ(o.partitions, 12);
  EXPECT_EQ(o.segment_bytes, 64u << 20);
  EXPECT_EQ(o.segment_max_age_ms, 6 * 3'600'000LL);
  EXPECT_EQ(o.fsync, FsyncPolicy::kInterval);
  EXPECT_EQ(o.fsync_interval_ms, 250);
  EXPECT_EQ(o.retention.max_age_ms, 7 * 86'400'000LL);
  EXPECT_EQ(o.retention.max_bytes, 10LL << 30);
  EXPECT_EQ(o.required_groups, (std::vector<std::string>{"pipeline", "audit"}));
  KL_ASSERT_OK(ApplySegmentLogParams({{"fsync", "never"}}, &o));
  EXPECT_EQ(o.fsync, FsyncPolicy::kNever);
  EXPECT_FALSE(ApplySegmentLogParams({{"fsync", "sometimes"}}, &o).ok());
  EXPECT_FALSE(ApplySegmentLogParams({{"partitions", "0"}}, &o).ok());
  EXPECT_FALSE(ApplySegmentLogParams({{"colour", "blue"}}, &o).ok());
}

TEST(LogUriTest, AppliesKafkaParameters) {
  KafkaLogOptions o;
  KL_ASSERT_OK(
      ApplyKafkaLogParams({{"partitions", "8"}, {"rdkafka.security.protocol", "SSL"}, {"linger", "20ms"}}, &o));
  EXPECT_EQ(o.partitions, 8);
  EXPECT_EQ(o.rdkafka.at("security.protocol"), "SSL");
  EXPECT_EQ(o.linger_ms, 20);
  EXPECT_FALSE(ApplyKafkaLogParams({{"fsync", "batch"}}, &o).ok());
}

TEST(LogUriTest, SizesAndDurations) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096);
  EXPECT_EQ(*ParseByteSize("1k"), 1024);
  EXPECT_EQ(*ParseByteSize("2MiB"), 2 << 20);
  EXPECT_FALSE(ParseByteSize("12 parsecs").ok());
  EXPECT_FALSE(ParseByteSize("99999999999999999T").ok());
  EXPECT_EQ(*ParseDurationMs("1500"), 1500);
  EXPECT_EQ(*ParseDurationMs("30s"), 30'000);
  EXPECT_EQ(*ParseDurationMs("12h"), 43'200'000);
  EXPECT_FALSE(ParseDurationMs("-1s").ok());
}

std::vector<RetentionSegment> Segments(std::initializer_list<std::tuple<int64_t, uint64_t, int64_t>> list) {
  std::vector<RetentionSegment> out;
  for (const auto& [base, size, mtime] : list) out.push_back({base, size, mtime});
  return out;
}

TEST(RetentionTest, DeletesOldestFirstBySizeAndNeverTheActiveSegment) {
  auto segs = Segments({{0, 100, 0}, {10, 100, 0}, {20, 100, 0}, {30, 100, 0}});
  RetentionPolicy by_size{250, -1};
  EXPECT_EQ(SegmentsToDelete(segs, by_size, 1000, std::nullopt), 2u);  // 400 -> 200
  RetentionPolicy tiny{0, -1};
  EXPECT_EQ(SegmentsToDelete(segs, tiny, 1000, std::nullopt), 3u) << "the active segment stays";
  RetentionPolicy none{-1, -1};
  EXPECT_EQ(SegmentsToDelete(segs, none, 1000, std::nullopt), 0u);
  EXPECT_EQ(SegmentsToDelete(Segments({{0, 100, 0}}), tiny, 1000, std::nullopt), 0u);
}

TEST(RetentionTest, DeletesByAgeUntilTheFirstYoungSegment) {
  auto segs = Segments({{0, 1, 100}, {10, 1, 200}, {20, 1, 900}, {30, 1, 100}});
  RetentionPolicy by_age{-1, 500};
  // now=1000: segments last written at 100 and 200 are older than 500 ms.
  EXPECT_EQ(SegmentsToDelete(segs, by_age, 1000, std::nullopt), 2u);
}

TEST(RetentionTest, RequiredGroupsHoldSegmentsWithUnreadOffsets) {
  auto segs = Segments({{0, 100, 0}, {10, 100, 0}, {20, 100, 0}, {30, 100, 0}});
  RetentionPolicy tiny{0, 0};
  // Committed 15: segment [0,10) is fully read, [10,20) is not.
  EXPECT_EQ(SegmentsToDelete(segs, tiny, 1000, 15), 1u);
  EXPECT_EQ(SegmentsToDelete(segs, tiny, 1000, 20), 2u) << "[10,20) is read completely at 20";
  EXPECT_EQ(SegmentsToDelete(segs, tiny, 1000, 0), 0u) << "a group with no commit holds everything";
}

}  // namespace
}  // namespace kl::log
