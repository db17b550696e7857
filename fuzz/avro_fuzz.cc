// Feeds arbitrary bytes to the Avro container reader: it must return an
// error or rows, never crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "format/avro/avro_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kl::format;
  auto reader = avro::AvroReader::FromBuffer("fuzz", std::string(reinterpret_cast<const char*>(data), size));
  if (!reader.ok()) return 0;
  auto type = (*reader)->FileRowType();
  if (!type.ok()) return 0;
  ColumnBatch batch(*type);
  while (true) {
    auto n = (*reader)->Read(256, &batch);
    if (!n.ok() || *n == 0) break;
    batch.Clear();
  }
  return 0;
}
