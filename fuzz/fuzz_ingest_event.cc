// Arbitrary bytes as one event of an ingest batch: the central side's event
// check either refuses them or accepts a document that the pipeline's event
// parser reads (the log must hold only what the pipeline can parse).
// fuzz_ingest_json holds the check to simdjson DOM's verdict.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ingest/wire.h"
#include "pipeline/warehouse/k8s_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string content(reinterpret_cast<const char*>(data), size);
  if (kl::ingest::ValidateEventContent(content).ok()) {
    static kl::pipeline::K8sEventParser parser(kl::pipeline::K8sEventOptions{});
    if (!parser.Parse(content).ok()) std::abort();
  }
  return 0;
}
