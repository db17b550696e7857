// Arbitrary bytes as one event of an ingest batch: the central side's event
// check either refuses them or accepts a document that the pipeline's event
// parser reads (the log must hold only what the pipeline can parse), and it
// judges alike in place (padding after the content) and copied.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ingest/wire.h"
#include "pipeline/warehouse/k8s_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string content(reinterpret_cast<const char*>(data), size);
  content.reserve(size + 64);
  size_t readable = content.capacity() - content.size();
  bool in_place = kl::ingest::ValidateEventContent(content, readable).ok();
  bool copied = kl::ingest::ValidateEventContent(content, 0).ok();
  if (in_place != copied) std::abort();
  if (in_place) {
    static kl::pipeline::K8sEventParser parser(kl::pipeline::K8sEventOptions{});
    if (!parser.Parse(content).ok()) std::abort();
  }
  return 0;
}
