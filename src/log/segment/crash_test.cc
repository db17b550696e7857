// The Flush contract across SIGKILL, for both backends: writer processes are
// killed at random moments while this process reads. Every record a writer
// was told is flushed must be in the log exactly once; nothing appears twice;
// each writer's records keep their order; offsets stay dense.
//
// Children are this test binary started again with KL_LOG_CRASH_URI set; after
// each successful Flush a child appends the last flushed sequence number to
// its acknowledgement file (page cache survives SIGKILL).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "common/string_util.h"
#include "log/log_test_util.h"

extern char** environ;

namespace kl::log {
namespace {

constexpr int32_t kPartitions = 3;

[[noreturn]] void RunChild(const char* uri, const char* ack_path) {
  auto log = OpenEventLog(uri);
  if (!log.ok()) {
    std::fprintf(stderr, "crash child: %s\n", log.status().ToString().c_str());
    ::_exit(3);
  }
  auto producer = (*log)->NewProducer();
  if (!producer.ok()) {
    std::fprintf(stderr, "crash child: %s\n", producer.status().ToString().c_str());
    ::_exit(4);
  }
  int ack = ::open(ack_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (ack < 0) ::_exit(5);
  Random rng(static_cast<uint64_t>(::getpid()));
  std::string me = "w" + std::to_string(::getpid()) + "-";
  // Half the groups go through SendBatch (the embedded log's gathered writes).
  bool batched = rng.OneIn(2);
  std::vector<std::pair<int64_t, std::string>> values;
  for (int64_t seq = 0;; ++seq) {
    std::string value = me + std::to_string(seq) + "-" + std::string(rng.Uniform(60), 'x');
    if (batched) {
      values.emplace_back(seq, std::move(value));
    } else if (!(*producer)->Send({"k", value, 0, static_cast<int32_t>(seq % kPartitions)}).ok()) {
      ::_exit(6);
    }
    if (rng.OneIn(25)) {
      if (batched) {
        std::vector<ProducerRecord> records;
        for (const auto& [s, v] : values) records.push_back({"k", v, 0, static_cast<int32_t>(s % kPartitions)});
        if (!(*producer)->SendBatch(records).ok()) ::_exit(9);
        values.clear();
      }
      batched = rng.OneIn(2);
      if (!(*producer)->Flush().ok()) ::_exit(7);
      std::string line = std::to_string(seq) + "\n";
      if (::write(ack, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(8);
      // A steady trickle, not a flood: the reader keeps up, and the mock
      // Kafka broker (which keeps ~5 MB per partition) drops nothing.
      ::usleep(2000);
    }
  }
}

const bool kIsChild = [] {
  const char* uri = std::getenv("KL_LOG_CRASH_URI");
  if (uri != nullptr) RunChild(uri, std::getenv("KL_LOG_CRASH_ACK"));
  return false;
}();

pid_t Spawn(const std::string& uri, const std::string& ack_path) {
  std::vector<std::string> env = {"KL_LOG_CRASH_URI=" + uri, "KL_LOG_CRASH_ACK=" + ack_path};
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  char arg0[] = "log_crash_test_writer";
  char* argv[] = {arg0, nullptr};
  pid_t pid = -1;
  EXPECT_EQ(::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, envp.data()), 0);
  return pid;
}

class CrashTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CrashTest, FlushedRecordsSurviveKilledWritersExactlyOnce) {
  ASSERT_FALSE(kIsChild);
  kl::testing::TempDir dir;
  std::unique_ptr<KafkaMockCluster> mock;
  std::string uri;
  int64_t min_ms = 50, spread_ms = 250;
  const bool embedded = GetParam() != "kafka";
  if (GetParam() == "dir-never") {
    uri = "dir:" + dir.Sub("log") + "?partitions=3&fsync=never&segment_bytes=64k";
  } else if (GetParam() == "dir-batch") {
    uri = "dir:" + dir.Sub("log") + "?partitions=3&fsync=batch&segment_bytes=64k";
  } else if (GetParam() == "dir-interval") {
    // Records become visible at the periodic sync; a writer killed before it
    // leaves them to the next writer, which publishes what it recovered.
    uri = "dir:" + dir.Sub("log") + "?partitions=3&fsync=30ms&segment_bytes=64k";
  } else {
    KL_ASSERT_OK_AND_ASSIGN(mock, KafkaMockCluster::Start(3));
    KL_ASSERT_OK(mock->CreateTopic("crash", kPartitions, 3));
    uri = "kafka://" + mock->bootstrap_servers() + "/crash";
    min_ms = 1200;  // a new idempotent producer needs about a second for its producer id
    spread_ms = 800;
  }
  KL_ASSERT_OK_AND_ASSIGN(auto log, OpenEventLog(uri));
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, log->NewConsumer("crash-reader"));
  for (int32_t p = 0; p < kPartitions; ++p) KL_ASSERT_OK(consumer->Seek(p, kOffsetBeginning));

  std::map<int32_t, int64_t> next_offset;
  std::set<std::pair<std::string, int64_t>> seen;               // (writer, seq)
  std::map<std::pair<std::string, int32_t>, int64_t> last_seq;  // (writer, partition) -> seq
  auto drain = [&](int64_t for_ms) {
    int64_t until = MonotonicMicros() + for_ms * 1000;
    while (MonotonicMicros() < until) {
      PollOptions options;
      options.timeout_ms = 20;
      auto batch = consumer->Poll(options);
      ASSERT_TRUE(batch.ok()) << batch.status().ToString();
      for (const Record& r : *batch) {
        ASSERT_EQ(r.offset, next_offset[r.partition]) << "partition " << r.partition;
        ++next_offset[r.partition];
        auto parts = Split(r.value, '-');
        ASSERT_GE(parts.size(), 2u) << r.value;
        int64_t seq = *ParseInt64(parts[1]);
        ASSERT_TRUE(seen.insert({parts[0], seq}).second) << "duplicate record " << parts[0] << " #" << seq;
        auto key = std::make_pair(parts[0], r.partition);
        auto it = last_seq.find(key);
        ASSERT_TRUE(it == last_seq.end() || it->second < seq) << "reordered record " << parts[0] << " #" << seq;
        last_seq[key] = seq;
      }
    }
  };

  Random rng(GetParam().size());
  std::vector<std::pair<pid_t, std::string>> writers;
  for (int round = 0; round < 4; ++round) {
    std::string ack = dir.Sub("ack-" + std::to_string(round));
    pid_t child = Spawn(uri, ack);
    ASSERT_GT(child, 0);
    writers.push_back({child, ack});
    drain(min_ms + static_cast<int64_t>(rng.Uniform(spread_ms)));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited on its own with " << WEXITSTATUS(status);
  }
  if (embedded) {
    // The next writer to open the log cuts a torn tail the last kill may have left.
    KL_ASSERT_OK_AND_ASSIGN(auto writer, OpenEventLog(uri));
    KL_ASSERT_OK(writer->NewProducer().status());
  }
  // Read until the reader has reached every partition's end (the writers are gone).
  int64_t deadline = MonotonicMicros() + 60'000'000;
  while (MonotonicMicros() < deadline) {
    bool caught_up = true;
    for (int32_t p = 0; p < kPartitions; ++p) caught_up = caught_up && next_offset[p] >= *log->EndOffset(p);
    if (caught_up) break;
    drain(200);
  }
  drain(200);

  size_t acknowledged = 0;
  for (const auto& [pid, ack] : writers) {
    auto lines = Split(ReadFile(ack).value_or(""), '\n', /*skip_empty=*/true);
    if (lines.empty()) continue;
    int64_t flushed = *ParseInt64(lines.back());
    std::string name = "w" + std::to_string(pid);
    for (int64_t seq = 0; seq <= flushed; ++seq) {
      ASSERT_TRUE(seen.count({name, seq})) << "flushed record " << name << " #" << seq << " is missing";
    }
    acknowledged += static_cast<size_t>(flushed + 1);
  }
  EXPECT_GT(acknowledged, 100u) << "the writers should have flushed plenty before being killed";
  for (int32_t p = 0; p < kPartitions; ++p) {
    KL_ASSERT_OK_AND_ASSIGN(int64_t end, log->EndOffset(p));
    EXPECT_EQ(next_offset[p], end) << "partition " << p;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, CrashTest, ::testing::Values("dir-never", "dir-batch", "dir-interval", "kafka"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

}  // namespace
}  // namespace kl::log
