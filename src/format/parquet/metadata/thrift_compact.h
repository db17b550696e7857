// Thrift compact protocol: just the subset the Parquet footer, page headers
// and page index use (structs, lists, i8..i64, double, binary, bool). The
// reader never trusts a length: every read is bounds-checked, nesting depth
// and list sizes are capped, and the first failure sticks (ok() turns false).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kl::format::parquet {

enum class ThriftType : uint8_t {
  kStop = 0,
  kBoolTrue = 1,
  kBoolFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
};

class CompactReader {
 public:
  CompactReader(const void* data, size_t size) : p_(static_cast<const uint8_t*>(data)), begin_(p_), end_(p_ + size) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t consumed() const { return static_cast<size_t>(p_ - begin_); }
  void Fail(std::string what);

  // Struct traversal: BeginStruct, then ReadFieldHeader until it yields kStop, then EndStruct.
  void BeginStruct();
  void EndStruct();
  // Returns false at the end of the struct (or on error); sets id and type otherwise.
  bool ReadFieldHeader(int16_t* id, ThriftType* type);
  // Reads the value of a bool field (its value lives in the field header).
  bool FieldBool(ThriftType type) { return type == ThriftType::kBoolTrue; }

  int64_t ReadVarintSigned();  // i16 / i32 / i64 (zigzag varint)
  int32_t ReadI32();
  int64_t ReadI64() { return ReadVarintSigned(); }
  int8_t ReadByte();
  double ReadDouble();
  std::string_view ReadBinary();
  bool ReadListBool();  // a bool element inside a list (one byte)
  // Returns the element count (capped by remaining bytes) and element type.
  uint32_t ReadListHeader(ThriftType* elem_type);
  // Skips a value of any type (unknown fields).
  void Skip(ThriftType type);

  // Reads the value of a field expected to have type `expected`; false (and the value is
  // skipped) when the file used another type for it, which forward-compatible readers ignore.
  bool Expect(ThriftType actual, ThriftType expected);

 private:
  uint64_t ReadVarint();

  const uint8_t* p_;
  const uint8_t* begin_;
  const uint8_t* end_;
  std::string error_;
  std::vector<int16_t> last_field_stack_;
  int16_t last_field_ = 0;
  int depth_ = 0;
};

class CompactWriter {
 public:
  explicit CompactWriter(std::string* out) : out_(out) {}

  void BeginStruct();
  void EndStruct();  // writes the stop byte
  void FieldHeader(int16_t id, ThriftType type);

  void FieldI32(int16_t id, int32_t v);
  void FieldI64(int16_t id, int64_t v);
  void FieldBool(int16_t id, bool v);
  void FieldByte(int16_t id, int8_t v);
  void FieldBinary(int16_t id, std::string_view v);
  void FieldStructBegin(int16_t id) {
    FieldHeader(id, ThriftType::kStruct);
    BeginStruct();
  }
  void FieldListBegin(int16_t id, ThriftType elem_type, uint32_t size);

  void ListHeader(ThriftType elem_type, uint32_t size);
  void I32(int32_t v);
  void I64(int64_t v);
  void Binary(std::string_view v);
  void ListBool(bool v);

 private:
  void Varint(uint64_t v);

  std::string* out_;
  std::vector<int16_t> last_field_stack_;
  int16_t last_field_ = 0;
};

}  // namespace kl::format::parquet
