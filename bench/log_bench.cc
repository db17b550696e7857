// Event log throughput: embedded log append (fsync every batch / never) and
// read, then Kafka produce / consume on librdkafka's mock cluster.
//
//   build/bench/log_bench [--mb 512] [--record-bytes 4096] [--dir /tmp] [--kafka-records 8000]
//
// Prints one line per figure. CPU time is process CPU (all threads), so
// "per core" figures divide by it rather than by wall time.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "log/kafka/kafka_log.h"
#include "log/kafka/kafka_mock.h"
#include "log/segment/segment_log.h"

namespace {

using namespace kl;
using namespace kl::log;

double CpuSeconds() {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Timer {
  int64_t wall0 = MonotonicMicros();
  double cpu0 = CpuSeconds();
  double wall() const { return static_cast<double>(MonotonicMicros() - wall0) / 1e6; }
  double cpu() const { return CpuSeconds() - cpu0; }
};

void Report(const char* what, uint64_t records, uint64_t bytes, const Timer& t) {
  double wall = t.wall();
  std::printf("%-44s %9.0f records/s %8.1f MB/s  (%llu records, %.2f s wall, %.2f s cpu)\n", what,
              static_cast<double>(records) / wall, static_cast<double>(bytes) / wall / 1e6,
              static_cast<unsigned long long>(records), wall, t.cpu());
  std::fflush(stdout);
}

void Die(const Status& s) {
  std::fprintf(stderr, "log_bench: %s\n", s.ToString().c_str());
  std::exit(1);
}

std::vector<std::string> Keys() {
  std::vector<std::string> keys;
  for (int i = 0; i < 32; ++i) keys.push_back("cluster-" + std::to_string(i));
  return keys;
}

// round_robin: spread records evenly over partitions instead of by key.
// warm_up: first write (untimed) one record per partition, so that client
// start-up (Kafka's producer id, connections) is not counted.
void AppendAll(EventLog* log, uint64_t records, const std::string& value, const char* label, bool round_robin = false,
               bool warm_up = false) {
  auto producer = log->NewProducer();
  if (!producer.ok()) Die(producer.status());
  auto keys = Keys();
  if (warm_up) {
    for (int32_t p = 0; p < log->NumPartitions(); ++p) {
      Status s = (*producer)->Send({"warm-up", value, 0, p});
      if (!s.ok()) Die(s);
    }
    Status s = (*producer)->Flush();
    if (!s.ok()) Die(s);
  }
  Timer t;
  for (uint64_t i = 0; i < records; ++i) {
    int32_t partition = round_robin ? static_cast<int32_t>(i % log->NumPartitions()) : -1;
    Status s = (*producer)->Send({keys[i % keys.size()], value, 0, partition});
    if (!s.ok()) Die(s);
  }
  Status s = (*producer)->Flush();
  if (!s.ok()) Die(s);
  Report(label, records, records * value.size(), t);
}

// warm_up: first read (untimed) the first record of every partition.
void ReadAll(EventLog* log, uint64_t expected, const char* label, bool warm_up = false) {
  auto consumer = log->NewConsumer("bench");
  if (!consumer.ok()) Die(consumer.status());
  for (int32_t p = 0; p < log->NumPartitions(); ++p) {
    Status s = (*consumer)->Seek(p, kOffsetBeginning);
    if (!s.ok()) Die(s);
  }
  PollOptions options;
  options.timeout_ms = 2000;
  if (warm_up) {
    options.max_records = 1;
    for (int32_t p = 0; p < log->NumPartitions(); ++p) {
      for (int32_t q = 0; q < log->NumPartitions(); ++q) {
        Status s = q == p ? (*consumer)->Seek(q, kOffsetBeginning) : (*consumer)->Unassign(q);
        if (!s.ok()) Die(s);
      }
      auto batch = (*consumer)->Poll(options);
      if (!batch.ok() || batch->size() != 1) Die(Status::Internal("warm-up read failed"));
    }
    for (int32_t p = 0; p < log->NumPartitions(); ++p) {
      Status s = (*consumer)->Seek(p, 1);
      if (!s.ok()) Die(s);
    }
  }
  Timer t;
  uint64_t records = 0, bytes = 0;
  options.max_records = 10000;
  while (records < expected) {
    auto batch = (*consumer)->Poll(options);
    if (!batch.ok()) Die(batch.status());
    if (batch->empty()) break;
    records += batch->size();
    bytes += batch->payload_bytes();
  }
  Report(label, records, bytes, t);
  if (records != expected) std::printf("  (expected %llu records)\n", static_cast<unsigned long long>(expected));
}

void SegmentRun(const std::string& base, FsyncPolicy policy, uint64_t records, const std::string& value,
                bool read_back) {
  std::string dir = base + "/kubelake-log-bench-" + RandomUuid();
  SegmentLogOptions options;
  options.partitions = 8;
  options.fsync = policy;
  auto log = SegmentLog::Open(dir, options);
  if (!log.ok()) Die(log.status());
  AppendAll(log->get(), records, value,
            policy == FsyncPolicy::kEveryBatch ? "embedded append, fsync every batch" : "embedded append, fsync never");
  if (read_back) ReadAll(log->get(), records, "embedded read (page cache)");
  log->reset();
  (void)RemoveAll(dir);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t mb = 512;
  size_t record_bytes = 4096;
  std::string dir = "/tmp";
  uint64_t kafka_records = 8000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--mb")
      mb = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--record-bytes")
      record_bytes = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--dir")
      dir = argv[i + 1];
    else if (flag == "--kafka-records")
      kafka_records = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  Random rng(1);
  std::string value = rng.Alnum(record_bytes);  // an event-sized value
  uint64_t records = mb * (1 << 20) / record_bytes;
  std::printf("event log benchmark: %zu-byte records, %llu MB per embedded run, 8 partitions, dir %s\n", record_bytes,
              static_cast<unsigned long long>(mb), dir.c_str());
  SegmentRun(dir, FsyncPolicy::kEveryBatch, records, value, false);
  SegmentRun(dir, FsyncPolicy::kNever, records, value, true);

  auto mock = KafkaMockCluster::Start(3);
  if (!mock.ok()) Die(mock.status());
  Status created = (*mock)->CreateTopic("bench", 8, 3);
  if (!created.ok()) Die(created);
  KafkaLogOptions kafka;
  kafka.brokers = (*mock)->bootstrap_servers();
  kafka.topic = "bench";
  kafka.partitions = 8;
  auto log = KafkaLog::Open(kafka);
  if (!log.ok()) Die(log.status());
  // Round robin: the mock broker keeps only about 5 MB per partition.
  AppendAll(log->get(), kafka_records, value, "kafka (mock cluster) produce + flush", /*round_robin=*/true,
            /*warm_up=*/true);
  ReadAll(log->get(), kafka_records, "kafka (mock cluster) consume", /*warm_up=*/true);
  return 0;
}
