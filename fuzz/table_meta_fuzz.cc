// libFuzzer target for the JSON metadata of tables that kubelake reads from
// disk: snapshot files and tag files (tagCreateTime as Jackson's array or ISO
// text, tagTimeRetained as seconds or ISO text), and the names of automatic
// tags as each period and formatter parses them, and consumer files (kubelake's
// in-place record or Paimon's JSON).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "table/manifest/snapshot.h"
#include "table/operation/consumer.h"
#include "table/tag/tag.h"

using namespace kl::table;  // NOLINT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)Snapshot::FromJson(text, "fuzz");
  auto consumer = ConsumerManager::ParseRecord(text, "fuzz");
  if (consumer.ok()) {
    auto again = ConsumerManager::ParseRecord(ConsumerManager::RecordText(*consumer), "fuzz");
    if (!again.ok() || *again != *consumer) __builtin_trap();
  }
  auto tag = Tag::FromJson("fuzz", text, "fuzz");
  if (tag.ok()) {
    std::string again = Tag::ToJson(tag->snapshot.ToJson(), tag->create_time, tag->time_retained_millis);
    (void)Tag::FromJson("fuzz", again, "fuzz");
  }
  static const std::map<std::string, std::string> kPeriods[] = {
      {},
      {{"tag.period-formatter", "without_dashes"}},
      {{"tag.creation-period", "hourly"}},
      {{"tag.creation-period", "hourly"}, {"tag.period-formatter", "without_dashes_and_spaces"}},
      {{"tag.creation-period", "two-hours"}},
      {{"tag.creation-period-duration", "10 min"}},
  };
  std::string name = text.substr(0, 40);
  for (const auto& options : kPeriods) {
    auto period = TagPeriod::FromOptions(TableOptions(options));
    if (!period.ok()) continue;
    if (auto time = period->TagToTime(name)) (void)period->TimeToTag(period->NormalizeToPreviousTag(*time));
  }
  return 0;
}
