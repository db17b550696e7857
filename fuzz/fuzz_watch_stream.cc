// Fuzzes the watch path: bytes cut into chunks -> framer -> watch event
// parser -> ResourceSync, as an API server's response body would arrive.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "collector/watch/framer.h"
#include "collector/watch/sync.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kl::collector;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first byte picks the chunk size, so chunk boundaries fall everywhere.
  size_t chunk = size > 0 ? 1 + data[0] % 64 : 1;
  if (!input.empty()) input.remove_prefix(1);
  WatchTarget target;
  target.cluster = "c";
  target.version = "v1";
  target.resource = "pods";
  target.kind = "Pod";
  target.watch_name = "fuzz";
  ResourceSync sync(target);
  sync.BeginWatch(0);
  JsonStreamFramer framer(1 << 16);
  std::vector<CollectedEvent> out;
  for (size_t pos = 0; pos < input.size(); pos += chunk) {
    kl::Status s = framer.Feed(input.substr(pos, chunk), [&](std::string_view event) {
      kl::Status error;
      sync.OnWatchEvent(event, event.size() + kFramerPadding, 0, &out, &error);
      return kl::Status::OK();
    });
    if (!s.ok()) break;
  }
  return 0;
}
