// What only the Kafka backend has: topics on brokers, broker errors and
// retries, broker-side retention. On librdkafka's mock cluster.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "log/log_test_util.h"

namespace kl::log {
namespace {

using testing::PollRecords;

constexpr int16_t kProduceApiKey = 0;  // Kafka protocol ApiKey of Produce requests

class KafkaLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mock = KafkaMockCluster::Start(3);
    ASSERT_TRUE(mock.ok()) << mock.status().ToString();
    mock_ = std::move(*mock);
    KL_ASSERT_OK(mock_->CreateTopic("events", 3, 3));
  }
  KafkaLogOptions Options(int32_t partitions = 3) {
    KafkaLogOptions o;
    o.brokers = mock_->bootstrap_servers();
    o.topic = "events";
    o.partitions = partitions;
    o.request_timeout_ms = 5000;
    return o;
  }
  std::unique_ptr<KafkaMockCluster> mock_;
};

TEST_F(KafkaLogTest, OpensExistingTopicsAndChecksTheirPartitionCount) {
  KL_ASSERT_OK_AND_ASSIGN(auto log, KafkaLog::Open(Options(0)));
  EXPECT_EQ(log->NumPartitions(), 3);
  EXPECT_NE(log->Describe().find("events"), std::string::npos);
  auto wrong = KafkaLog::Open(Options(5));
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument) << wrong.status().ToString();
  KafkaLogOptions missing = Options(0);
  missing.topic = "no-such-topic";
  auto absent = KafkaLog::Open(missing);
  EXPECT_TRUE(absent.status().IsNotFound()) << absent.status().ToString();
  // The same through a URI.
  KL_ASSERT_OK_AND_ASSIGN(auto by_uri, OpenEventLog("kafka://" + mock_->bootstrap_servers() + "/events"));
  EXPECT_EQ(by_uri->NumPartitions(), 3);
  EXPECT_FALSE(OpenEventLog("kafka://" + mock_->bootstrap_servers() + "/events?colour=blue").ok());
}

TEST_F(KafkaLogTest, RetriedProduceRequestsNeitherDuplicateNorReorder) {
  KL_ASSERT_OK_AND_ASSIGN(auto log, KafkaLog::Open(Options()));
  // The brokers fail the next produce requests with retriable errors; the
  // idempotent producer retries them and the broker drops the duplicates.
  rd_kafka_mock_push_request_errors(mock_->raw(), kProduceApiKey, 4, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  KL_ASSERT_OK_AND_ASSIGN(auto producer, log->NewProducer());
  for (int i = 0; i < 300; ++i) KL_ASSERT_OK(producer->Send({"k", "event-" + std::to_string(i), 0, 1}));
  KL_ASSERT_OK(producer->Flush());
  EXPECT_EQ(*log->EndOffset(1), 300);
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, log->NewConsumer("check"));
  KL_ASSERT_OK(consumer->Seek(1, kOffsetBeginning));
  auto got = PollRecords(consumer.get(), 300);
  ASSERT_EQ(got.size(), 300u);
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(got[i].first.offset, i);
    EXPECT_EQ(got[i].second.second, "event-" + std::to_string(i));
  }
}

TEST_F(KafkaLogTest, NonRetriableProduceErrorsSurfaceAtFlush) {
  KL_ASSERT_OK_AND_ASSIGN(auto log, KafkaLog::Open(Options()));
  KL_ASSERT_OK_AND_ASSIGN(auto producer, log->NewProducer());
  KL_ASSERT_OK(producer->Send({"k", "first", 0, 0}));
  KL_ASSERT_OK(producer->Flush());  // the producer id is set up
  rd_kafka_mock_push_request_errors(mock_->raw(), kProduceApiKey, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  KL_ASSERT_OK(producer->Send({"k", "refused", 0, 0}));
  Status s = producer->Flush();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("failed since the last flush"), std::string::npos) << s.ToString();
}

TEST_F(KafkaLogTest, ReadingWhatTheBrokerDeletedIsExpired) {
  KL_ASSERT_OK_AND_ASSIGN(auto log, KafkaLog::Open(Options()));
  // The mock broker keeps about 5 MB per partition and drops older batches.
  KL_ASSERT_OK_AND_ASSIGN(auto producer, log->NewProducer());
  Random rng(3);
  std::string value;  // random bytes: producer compression must not shrink them
  while (value.size() < (64 << 10)) value.push_back(static_cast<char>(rng.Next()));
  for (int round = 0; round < 12; ++round) {
    for (int i = 0; i < 16; ++i) KL_ASSERT_OK(producer->Send({"k", value, 0, 2}));
    KL_ASSERT_OK(producer->Flush());
  }
  KL_ASSERT_OK_AND_ASSIGN(int64_t start, log->StartOffset(2));
  ASSERT_GT(start, 0) << "the mock broker should have dropped the oldest records";
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, log->NewConsumer("late"));
  KL_ASSERT_OK(consumer->Seek(2, 0));
  Status status;
  for (int i = 0; i < 20 && status.ok(); ++i) {
    auto batch = consumer->Poll({});
    status = batch.status();
    ASSERT_TRUE(!batch.ok() || batch->empty()) << "records after a gap must not be returned";
  }
  EXPECT_TRUE(status.IsExpired()) << status.ToString();
  // From the start offset on, everything is there.
  KL_ASSERT_OK(consumer->Seek(2, kOffsetBeginning));
  KL_ASSERT_OK_AND_ASSIGN(int64_t end, log->EndOffset(2));
  auto got = PollRecords(consumer.get(), static_cast<size_t>(end - start));
  ASSERT_EQ(static_cast<int64_t>(got.size()), end - start);
  EXPECT_EQ(got.front().first.offset, start);
}

}  // namespace
}  // namespace kl::log
