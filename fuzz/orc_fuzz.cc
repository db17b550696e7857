// libFuzzer target for the ORC reader: postscript, protobuf footers, chunked
// decompression, stripe footers and every value decoder. Input is a whole file,
// or (first byte 'R') raw bytes handed to the run-length decoders directly.
#include <cstddef>
#include <cstdint>
#include <string>

#include "format/orc/orc_reader.h"

using namespace kl::format::orc;  // NOLINT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  if (size > 2 && input[0] == 'R') {
    // Second byte picks the count; the rest is the encoded stream.
    size_t count = static_cast<uint8_t>(input[1]) * 4;
    std::string stream = input.substr(2);
    std::vector<int64_t> ints;
    std::vector<uint8_t> bytes;
    std::vector<kl::format::Int128> decimals;
    (void)DecodeIntRle(stream, count, true, true, &ints);
    (void)DecodeIntRle(stream, count, false, true, &ints);
    (void)DecodeIntRle(stream, count, true, false, &ints);
    (void)DecodeByteRle(stream, count, &bytes);
    (void)DecodeBooleanRle(stream, count, &bytes);
    (void)DecodeSignedVarints128(stream, count, &decimals);
    std::string out;
    (void)Decompress(CompressionKind::kZstd, 4096, stream, &out);
    (void)Decompress(CompressionKind::kZlib, 4096, stream, &out);
    (void)Decompress(CompressionKind::kSnappy, 4096, stream, &out);
    (void)Decompress(CompressionKind::kLz4, 4096, stream, &out);
    return 0;
  }
  auto reader = OrcReader::OpenBuffer(std::move(input), "fuzz.orc");
  if (!reader.ok()) return 0;
  (void)(*reader)->ReadAll((*reader)->schema());
  return 0;
}
