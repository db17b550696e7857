// `kubelake log ...`: look into and operate an event log.
//   info   <uri>               partitions, offsets, consumer groups and their lag
//   verify <dir>               check every record of an embedded log (exit 1 on damage)
//   repair <dir> --partition n cut a damaged partition before its first bad record
//   tail   <uri>               print records as JSON lines, optionally following new ones
//   produce <uri>              append stdin lines as records (demos, scripts)
//   mock-kafka                 run librdkafka's mock Kafka cluster until interrupted
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "common/json.h"
#include "common/string_util.h"
#include "log/event_log.h"
#include "log/kafka/kafka_mock.h"
#include "log/log_uri.h"
#include "log/segment/segment_log.h"
#include "log/segment/segment_verify.h"

namespace kl::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

// Opens a log to look into it: a dir: log must exist already (no new empty log
// appears because of a typo in a path).
Result<std::unique_ptr<log::EventLog>> OpenExisting(const std::string& uri) {
  KL_ASSIGN_OR_RETURN(auto parsed, log::ParseLogUri(uri));
  if (parsed.kind == log::LogUri::Kind::kKafka) return log::OpenEventLog(uri);
  log::SegmentLogOptions options;
  KL_RETURN_IF_ERROR(log::ApplySegmentLogParams(parsed.params, &options));
  options.create_if_missing = false;
  KL_ASSIGN_OR_RETURN(auto opened, log::SegmentLog::Open(parsed.path, options));
  return std::unique_ptr<log::EventLog>(std::move(opened));
}

Status Info(const std::string& uri, const std::vector<std::string>& groups_asked) {
  KL_ASSIGN_OR_RETURN(auto log, OpenExisting(uri));
  std::vector<std::string> groups = groups_asked;
  if (auto* segment = dynamic_cast<log::SegmentLog*>(log.get()); segment != nullptr && groups.empty()) {
    KL_ASSIGN_OR_RETURN(groups, segment->Groups());
  }
  std::vector<std::map<int32_t, int64_t>> committed;
  for (const auto& g : groups) {
    KL_ASSIGN_OR_RETURN(auto c, log->CommittedOffsets(g));
    committed.push_back(std::move(c));
  }
  JsonWriter w(/*pretty=*/true);
  w.BeginObject().Key("log").String(log->Describe()).Key("partitions").BeginArray();
  for (int32_t p = 0; p < log->NumPartitions(); ++p) {
    KL_ASSIGN_OR_RETURN(int64_t start, log->StartOffset(p));
    KL_ASSIGN_OR_RETURN(int64_t end, log->EndOffset(p));
    w.BeginObject().Key("partition").Int(p).Key("start_offset").Int(start).Key("end_offset").Int(end);
    w.Key("groups").BeginObject();
    for (size_t g = 0; g < groups.size(); ++g) {
      auto it = committed[g].find(p);
      w.Key(groups[g]).BeginObject();
      if (it == committed[g].end()) {
        w.Key("committed").Null().Key("lag").Int(end - start);
      } else {
        w.Key("committed").Int(it->second).Key("lag").Int(end - it->second);
      }
      w.EndObject();
    }
    w.EndObject().EndObject();
  }
  w.EndArray().EndObject();
  std::printf("%s\n", w.str().c_str());
  return Status::OK();
}

Status Verify(const std::string& dir_or_uri) {
  KL_ASSIGN_OR_RETURN(auto uri, log::ParseLogUri(dir_or_uri));
  if (uri.kind != log::LogUri::Kind::kDir) return Status::InvalidArgument("verify checks embedded (dir:) logs only");
  KL_ASSIGN_OR_RETURN(auto report, log::VerifySegmentLog(uri.path));
  for (const auto& p : report.partition_reports) {
    std::printf("partition %d: %zu segments, %s, offsets %lld..%lld", p.partition, p.segments,
                HumanBytes(static_cast<double>(p.bytes)).c_str(), static_cast<long long>(p.start_offset),
                static_cast<long long>(p.end_offset));
    if (p.watermark && *p.watermark != p.end_offset) {
      std::printf(", readers see offsets below %lld", static_cast<long long>(*p.watermark));
    }
    if (p.tail_bytes > 0) {
      std::printf(
          ", %llu bytes after the last record (torn tail, cut when a writer next opens the log, "
          "or a write in progress)",
          static_cast<unsigned long long>(p.tail_bytes));
    }
    std::printf("%s%s\n", p.problem.empty() ? ": ok" : ": DAMAGED: ", p.problem.c_str());
  }
  if (!report.ok()) return Status::Corruption("the log at " + uri.path + " is damaged (see above)");
  return Status::OK();
}

Status Repair(const std::string& dir_or_uri, int32_t partition) {
  KL_ASSIGN_OR_RETURN(auto uri, log::ParseLogUri(dir_or_uri));
  if (uri.kind != log::LogUri::Kind::kDir) return Status::InvalidArgument("repair works on embedded (dir:) logs only");
  KL_ASSIGN_OR_RETURN(std::string what, log::RepairPartition(uri.path, partition));
  std::printf("%s\n", what.c_str());
  return Status::OK();
}

struct TailArgs {
  std::string uri;
  std::vector<int32_t> partitions;
  std::string from = "beginning";
  std::string group = "kubelake-cli";
  bool follow = false;
  bool raw = false;
  int64_t limit = -1;
};

Status Tail(const TailArgs& args) {
  KL_ASSIGN_OR_RETURN(auto log, OpenExisting(args.uri));
  KL_ASSIGN_OR_RETURN(auto consumer, log->NewConsumer(args.group));
  int64_t from = 0;
  if (args.from == "beginning") {
    from = log::kOffsetBeginning;
  } else if (args.from == "end") {
    from = log::kOffsetEnd;
  } else if (args.from == "committed") {
    from = log::kOffsetCommitted;
  } else if (auto n = ParseInt64(args.from); n && *n >= 0) {
    from = *n;
  } else {
    return Status::InvalidArgument("--from takes beginning, end, committed or an offset, not '" + args.from + "'");
  }
  std::vector<int32_t> partitions = args.partitions;
  if (partitions.empty()) {
    for (int32_t p = 0; p < log->NumPartitions(); ++p) partitions.push_back(p);
  }
  std::map<int32_t, int64_t> stop_at;  // without --follow: the ends as of now
  for (int32_t p : partitions) {
    KL_RETURN_IF_ERROR(consumer->Seek(p, from));
    KL_ASSIGN_OR_RETURN(stop_at[p], log->EndOffset(p));
    KL_ASSIGN_OR_RETURN(int64_t position, consumer->Position(p));
    if (!args.follow && position >= stop_at[p]) KL_RETURN_IF_ERROR(consumer->Unassign(p));
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  int64_t printed = 0;
  std::string line;
  while (!g_stop && (args.limit < 0 || printed < args.limit)) {
    if (!args.follow) {
      bool any = false;
      for (int32_t p : partitions) any = any || consumer->Position(p).ok();
      if (!any) break;
    }
    log::PollOptions options;
    options.timeout_ms = 200;
    KL_ASSIGN_OR_RETURN(log::RecordBatch batch, consumer->Poll(options));
    for (const log::Record& r : batch) {
      if (args.limit >= 0 && printed >= args.limit) break;
      if (args.raw) {
        std::fwrite(r.value.data(), 1, r.value.size(), stdout);
        std::fputc('\n', stdout);
      } else {
        JsonWriter w;
        w.BeginObject().Key("partition").Int(r.partition).Key("offset").Int(r.offset);
        w.Key("timestamp_ms").Int(r.timestamp_ms).Key("key").String(r.key).Key("value").String(r.value).EndObject();
        std::printf("%s\n", w.str().c_str());
      }
      ++printed;
      if (!args.follow && r.offset + 1 >= stop_at[r.partition]) KL_RETURN_IF_ERROR(consumer->Unassign(r.partition));
    }
    std::fflush(stdout);
  }
  return Status::OK();
}

Status Produce(const std::string& uri, const std::string& key, int32_t partition) {
  KL_ASSIGN_OR_RETURN(auto log, log::OpenEventLog(uri));
  KL_ASSIGN_OR_RETURN(auto producer, log->NewProducer());
  std::string line;
  int64_t count = 0;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    KL_RETURN_IF_ERROR(producer->Send({key, line, 0, partition}));
    ++count;
  }
  KL_RETURN_IF_ERROR(producer->Flush());
  std::fprintf(stderr, "appended %lld records to %s\n", static_cast<long long>(count), log->Describe().c_str());
  return Status::OK();
}

Status MockKafka(int brokers, const std::string& topic, int partitions) {
  KL_ASSIGN_OR_RETURN(auto mock, log::KafkaMockCluster::Start(brokers));
  if (!topic.empty()) KL_RETURN_IF_ERROR(mock->CreateTopic(topic, partitions, std::min(brokers, 3)));
  std::printf("kafka://%s/%s\n", mock->bootstrap_servers().c_str(), topic.empty() ? "<topic>" : topic.c_str());
  std::fflush(stdout);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return Status::OK();
}

}  // namespace

void AddLogCommands(CLI::App* app) {
  auto* log_cmd = app->add_subcommand("log", "Inspect and operate the event log (embedded dir: or kafka://)");
  log_cmd->require_subcommand(1);

  auto* info = log_cmd->add_subcommand("info", "Partitions, offsets, consumer groups and their lag");
  auto info_uri = std::make_shared<std::string>();
  auto info_groups = std::make_shared<std::vector<std::string>>();
  info->add_option("uri", *info_uri, "log URI, e.g. dir:/var/lib/kubelake/log or kafka://host:9092/topic")->required();
  info->add_option("--group", *info_groups, "consumer group to show (embedded logs list all by default)");
  info->callback([info_uri, info_groups] { Finish(Info(*info_uri, *info_groups)); });

  auto* verify = log_cmd->add_subcommand("verify", "Check every record of an embedded log; exit 1 on damage");
  auto verify_dir = std::make_shared<std::string>();
  verify->add_option("dir", *verify_dir, "log directory")->required();
  verify->callback([verify_dir] { Finish(Verify(*verify_dir)); });

  auto* repair = log_cmd->add_subcommand(
      "repair", "Cut a damaged partition before its first bad record (the rest is moved aside, not deleted)");
  auto repair_dir = std::make_shared<std::string>();
  auto repair_partition = std::make_shared<int32_t>(-1);
  repair->add_option("dir", *repair_dir, "log directory")->required();
  repair->add_option("--partition", *repair_partition, "the damaged partition")->required();
  repair->callback([=] { Finish(Repair(*repair_dir, *repair_partition)); });

  auto* tail = log_cmd->add_subcommand("tail", "Print records as JSON lines");
  auto tail_args = std::make_shared<TailArgs>();
  tail->add_option("uri", tail_args->uri, "log URI")->required();
  tail->add_option("--partition", tail_args->partitions, "partition(s) to read (default: all)");
  tail->add_option("--from", tail_args->from, "beginning, end, committed or an offset")->capture_default_str();
  tail->add_option("--group", tail_args->group, "consumer group for --from committed")->capture_default_str();
  tail->add_option("--limit", tail_args->limit, "stop after this many records");
  tail->add_flag("--follow,-f", tail_args->follow, "keep waiting for new records");
  tail->add_flag("--raw", tail_args->raw, "print only the values, one per line");
  tail->callback([tail_args] { Finish(Tail(*tail_args)); });

  auto* produce = log_cmd->add_subcommand("produce", "Append each line of stdin as one record");
  auto produce_uri = std::make_shared<std::string>();
  auto produce_key = std::make_shared<std::string>("cli");
  auto produce_partition = std::make_shared<int32_t>(-1);
  produce->add_option("uri", *produce_uri, "log URI")->required();
  produce->add_option("--key", *produce_key, "record key (the cluster name)")->capture_default_str();
  produce->add_option("--partition", *produce_partition, "partition (default: by key)");
  produce->callback([=] { Finish(Produce(*produce_uri, *produce_key, *produce_partition)); });

  auto* mock = log_cmd->add_subcommand("mock-kafka", "Run librdkafka's mock Kafka cluster in this process");
  auto mock_brokers = std::make_shared<int>(3);
  auto mock_topic = std::make_shared<std::string>();
  auto mock_partitions = std::make_shared<int>(8);
  mock->add_option("--brokers", *mock_brokers, "number of brokers")->capture_default_str();
  mock->add_option("--topic", *mock_topic, "create this topic");
  mock->add_option("--partitions", *mock_partitions, "partitions of --topic")->capture_default_str();
  mock->callback([=] { Finish(MockKafka(*mock_brokers, *mock_topic, *mock_partitions)); });
}

}  // namespace kl::cli
