// Fuzzes list-page and Status parsing and the relist sweep that follows.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collector/watch/sync.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kl::collector;
  std::string body(reinterpret_cast<const char*>(data), size);
  WatchTarget target;
  target.cluster = "c";
  target.version = "v1";
  target.resource = "pods";
  target.kind = "Pod";
  target.watch_name = "fuzz";
  ResourceSync sync(target);
  std::vector<CollectedEvent> out;
  std::string cont;
  sync.BeginList(0);
  if (sync.OnListPage(body, 0, 0, &cont, &out).ok()) sync.FinishList(0, &out);
  ApiParser parser;
  ApiStatus status;
  (void)parser.ParseStatus(body, &status);
  ObjectMeta meta;
  (void)parser.ParseObjectMeta(body, 0, &meta);
  return 0;
}
