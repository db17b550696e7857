// CPU per event of the DWD job's JSON extraction (src/sql/warehouse/warehouse.sql,
// pipeline dwd): its 25 JSON_VALUE / JSON_QUERY calls over `content`. As in the
// streaming Calc, the two K8S_SUM_*(JSON_QUERY(... WITH ARRAY WRAPPER)) calls
// over the container request arrays are summing calls of the shared parse, and
// all 25 are evaluated by one JsonCallSet (one parse per event, shared walks)
// over columns of 1,024 events, the Calc's chunk size. Events: simulator pods as
// the collector's ODS content (~2.5 KB, as ingest_bench sends). One thread,
// thread CPU time; prints the median and lowest per event over the rounds.
//
//   build/bench/json_bench [--events 20000] [--rounds 7]
//
// For `perf record`, more rounds: --rounds 50.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/clock.h"
#include "pod_events.h"
#include "sql/execution/context.h"
#include "sql/functions/function.h"
#include "sql/functions/json_functions.h"

using namespace kl;
using namespace kl::sql;

namespace {

CallSite Site(const std::string& name, std::vector<DataType> types, std::vector<std::optional<Datum>> constants) {
  CallSite site;
  site.name = name;
  site.untyped_null.assign(types.size(), false);
  site.arg_types = std::move(types);
  site.constants = std::move(constants);
  return site;
}

}  // namespace

int main(int argc, char** argv) {
  int events = 20000, rounds = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--events") == 0) events = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
  }
  // warehouse.sql's dwd calls, its labels at their defaults.
  struct Call {
    std::string path;
    JsonCallOptions options;
    const char* sum = nullptr;  // K8S_SUM_* over the call
  };
  std::vector<Call> calls;
  auto value = [&](const std::string& path, DataType type = DataType::String()) {
    JsonCallOptions o;
    o.returning = type;
    calls.push_back({path, o});
  };
  auto query = [&](const std::string& path, const char* sum) {
    JsonCallOptions o;
    o.kind = JsonFunctionKind::kQuery;
    if (sum) o.wrapper = JsonWrapperKind::kUnconditional;
    calls.push_back({path, o, sum});
  };
  for (const char* p : {"$.type", "$.uid", "$.kind", "$.group", "$.version", "$.namespace", "$.name",
                        "$.resourceversion", "$.origin"}) {
    value(p);
  }
  value("$.__time_milli__", DataType::BigInt());
  value("$.watchname");
  value("$.watchsetuptimestamp", DataType::BigInt());
  value("$.obj.metadata.creationTimestamp");
  query("$.obj.metadata.labels", nullptr);
  value("$.obj.metadata.ownerReferences[0].kind");
  value("$.obj.metadata.ownerReferences[0].name");
  value("$.obj.spec.nodeName");
  value("$.obj.status.phase");
  value("$.obj.spec.unschedulable", DataType::Boolean());
  value("$.obj.metadata.labels['kubelake.io/user']");
  value("$.obj.metadata.labels['kubelake.io/instance']");
  query("$.obj.spec.containers[*].resources.requests.cpu", "K8S_SUM_CPU_MILLIS");
  query("$.obj.spec.containers[*].resources.requests.memory", "K8S_SUM_MEMORY_BYTES");
  value("$.obj.metadata.labels['topology.kubernetes.io/region']");
  value("$.obj.metadata.labels['topology.kubernetes.io/zone']");

  std::vector<std::shared_ptr<const JsonCall>> bound;
  std::vector<DataType> types;
  auto registry = FunctionRegistry::Builtins();
  for (const Call& c : calls) {
    auto f = BindJsonFunction(
        Site("JSON_VALUE", {DataType::String(), DataType::String()}, {std::nullopt, Datum::Bytes(c.path)}), c.options);
    if (!f.ok()) {
      std::fprintf(stderr, "%s\n", f.status().ToString().c_str());
      return 1;
    }
    if (c.sum == nullptr) {
      bound.push_back(f->json);
      types.push_back(f->return_type);
      continue;
    }
    // The Calc's fused sum (JsonCall::sum_of_strings), as it sets it up.
    auto sum = (*registry->FindScalar(c.sum))(Site(c.sum, {DataType::String()}, {std::nullopt}));
    if (!sum.ok() || sum->json_string_term == nullptr) {
      std::fprintf(stderr, "%s has no string term\n", c.sum);
      return 1;
    }
    auto summed = std::make_shared<JsonCall>(*f->json);
    summed->sum_of_strings = sum->json_string_term;
    bound.push_back(summed);
    types.push_back(DataType::BigInt());
  }
  std::vector<const JsonCall*> list;
  for (const auto& c : bound) list.push_back(c.get());

  format::Column docs(DataType::String());
  size_t bytes = 0;
  for (int i = 0; i < events; ++i) {
    bench::PodEvent e = bench::MakePodEvent(i);
    bytes += e.content.size();
    docs.AppendBytes(e.content);
  }
  std::printf("DWD JSON calls (%zu) over %d simulator pod events, %zu bytes each on average\n", list.size(), events,
              bytes / static_cast<size_t>(std::max(events, 1)));
  ExecContext ctx;
  JsonCallSet set(list);
  std::vector<double> us;
  for (int r = 0; r < rounds; ++r) {
    double start = ThreadCpuSeconds();
    for (int b = 0; b < events; b += 1024) {
      std::vector<format::Column> outs;
      for (const DataType& t : types) {
        outs.emplace_back(t);
        outs.back().Reserve(1024);
      }
      Status s =
          set.Evaluate(ctx, docs, static_cast<size_t>(b), static_cast<size_t>(std::min(events, b + 1024)), &outs);
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
    }
    us.push_back((ThreadCpuSeconds() - start) / events * 1e6);
  }
  std::sort(us.begin(), us.end());
  std::printf("  JsonCallSet  %.3f us/event (lowest %.3f)\n", us[us.size() / 2], us[0]);
  return 0;
}
