#include "format/parquet/metadata/thrift_compact.h"

#include <cstring>

namespace kl::format::parquet {
namespace {

// Footers of real files nest at most ~8 deep (FileMetaData > RowGroup > ColumnChunk >
// ColumnMetaData > Statistics ...); anything deeper is hostile input.
constexpr int kMaxDepth = 32;

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

}  // namespace

void CompactReader::Fail(std::string what) {
  if (error_.empty()) {
    error_ = std::move(what) + " at byte " + std::to_string(consumed());
  }
  p_ = end_;
}

uint64_t CompactReader::ReadVarint() {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (p_ >= end_) {
      Fail("truncated varint");
      return 0;
    }
    uint64_t byte = *p_++;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return result;
  }
  Fail("overlong varint");
  return 0;
}

int64_t CompactReader::ReadVarintSigned() { return UnZigZag(ReadVarint()); }

int32_t CompactReader::ReadI32() {
  int64_t v = ReadVarintSigned();
  if (v < INT32_MIN || v > INT32_MAX) {
    Fail("i32 out of range");
    return 0;
  }
  return static_cast<int32_t>(v);
}

int8_t CompactReader::ReadByte() {
  if (p_ >= end_) {
    Fail("truncated byte");
    return 0;
  }
  return static_cast<int8_t>(*p_++);
}

double CompactReader::ReadDouble() {
  if (end_ - p_ < 8) {
    Fail("truncated double");
    return 0;
  }
  double v;
  std::memcpy(&v, p_, 8);
  p_ += 8;
  return v;
}

std::string_view CompactReader::ReadBinary() {
  uint64_t n = ReadVarint();
  if (!ok()) return {};
  if (n > static_cast<uint64_t>(end_ - p_)) {
    Fail("binary of " + std::to_string(n) + " bytes overruns the buffer");
    return {};
  }
  std::string_view out(reinterpret_cast<const char*>(p_), n);
  p_ += n;
  return out;
}

bool CompactReader::ReadListBool() { return ReadByte() == 1; }

void CompactReader::BeginStruct() {
  if (++depth_ > kMaxDepth) {
    Fail("structs nested too deeply");
    return;
  }
  last_field_stack_.push_back(last_field_);
  last_field_ = 0;
}

void CompactReader::EndStruct() {
  --depth_;
  if (!last_field_stack_.empty()) {
    last_field_ = last_field_stack_.back();
    last_field_stack_.pop_back();
  }
}

bool CompactReader::ReadFieldHeader(int16_t* id, ThriftType* type) {
  if (!ok()) return false;
  if (p_ >= end_) {
    Fail("truncated struct");
    return false;
  }
  uint8_t byte = *p_++;
  if (byte == 0) return false;
  uint8_t t = byte & 0x0f;
  uint8_t delta = byte >> 4;
  if (t > static_cast<uint8_t>(ThriftType::kStruct)) {
    Fail("unknown thrift type " + std::to_string(t));
    return false;
  }
  int16_t field;
  if (delta != 0) {
    field = static_cast<int16_t>(last_field_ + delta);
  } else {
    int64_t v = ReadVarintSigned();
    if (v < INT16_MIN || v > INT16_MAX) {
      Fail("field id out of range");
      return false;
    }
    field = static_cast<int16_t>(v);
  }
  last_field_ = field;
  *id = field;
  *type = static_cast<ThriftType>(t);
  return ok();
}

uint32_t CompactReader::ReadListHeader(ThriftType* elem_type) {
  uint8_t byte = static_cast<uint8_t>(ReadByte());
  if (!ok()) return 0;
  uint64_t size = byte >> 4;
  uint8_t t = byte & 0x0f;
  if (size == 15) size = ReadVarint();
  if (t > static_cast<uint8_t>(ThriftType::kStruct)) {
    Fail("unknown thrift list element type " + std::to_string(t));
    return 0;
  }
  // Every element takes at least one byte (bools in lists take one), so a count larger
  // than what is left is corrupt; this also caps the allocations callers make.
  if (size > static_cast<uint64_t>(end_ - p_)) {
    Fail("list of " + std::to_string(size) + " elements overruns the buffer");
    return 0;
  }
  *elem_type = static_cast<ThriftType>(t);
  return static_cast<uint32_t>(size);
}

void CompactReader::Skip(ThriftType type) {
  if (!ok()) return;
  switch (type) {
    case ThriftType::kStop: Fail("unexpected stop type"); return;
    case ThriftType::kBoolTrue:
    case ThriftType::kBoolFalse: return;  // value was in the field header
    case ThriftType::kByte: ReadByte(); return;
    case ThriftType::kI16:
    case ThriftType::kI32:
    case ThriftType::kI64: ReadVarint(); return;
    case ThriftType::kDouble: ReadDouble(); return;
    case ThriftType::kBinary: ReadBinary(); return;
    case ThriftType::kList:
    case ThriftType::kSet: {
      if (++depth_ > kMaxDepth) {
        Fail("lists nested too deeply");
        return;
      }
      ThriftType elem;
      uint32_t n = ReadListHeader(&elem);
      for (uint32_t i = 0; i < n && ok(); ++i) {
        if (elem == ThriftType::kBoolTrue || elem == ThriftType::kBoolFalse)
          ReadByte();
        else
          Skip(elem);
      }
      --depth_;
      return;
    }
    case ThriftType::kMap: {
      if (++depth_ > kMaxDepth) {
        Fail("maps nested too deeply");
        return;
      }
      uint64_t n = ReadVarint();
      if (n > static_cast<uint64_t>(end_ - p_)) {
        Fail("map overruns the buffer");
        return;
      }
      if (n > 0) {
        uint8_t kv = static_cast<uint8_t>(ReadByte());
        auto k = static_cast<ThriftType>(kv >> 4), v = static_cast<ThriftType>(kv & 0x0f);
        if ((kv >> 4) > 12 || (kv & 0x0f) > 12) {
          Fail("bad map element types");
          return;
        }
        for (uint64_t i = 0; i < n && ok(); ++i) {
          if (k == ThriftType::kBoolTrue || k == ThriftType::kBoolFalse)
            ReadByte();
          else
            Skip(k);
          if (v == ThriftType::kBoolTrue || v == ThriftType::kBoolFalse)
            ReadByte();
          else
            Skip(v);
        }
      }
      --depth_;
      return;
    }
    case ThriftType::kStruct: {
      BeginStruct();
      int16_t id;
      ThriftType t;
      while (ReadFieldHeader(&id, &t)) Skip(t);
      EndStruct();
      return;
    }
  }
}

bool CompactReader::Expect(ThriftType actual, ThriftType expected) {
  bool bools = (actual == ThriftType::kBoolTrue || actual == ThriftType::kBoolFalse) &&
               (expected == ThriftType::kBoolTrue || expected == ThriftType::kBoolFalse);
  if (actual == expected || bools) return true;
  Skip(actual);
  return false;
}

void CompactWriter::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void CompactWriter::BeginStruct() {
  last_field_stack_.push_back(last_field_);
  last_field_ = 0;
}

void CompactWriter::EndStruct() {
  out_->push_back(0);
  last_field_ = last_field_stack_.back();
  last_field_stack_.pop_back();
}

void CompactWriter::FieldHeader(int16_t id, ThriftType type) {
  int delta = id - last_field_;
  if (delta > 0 && delta <= 15) {
    out_->push_back(static_cast<char>((delta << 4) | static_cast<uint8_t>(type)));
  } else {
    out_->push_back(static_cast<char>(type));
    Varint(ZigZag(id));
  }
  last_field_ = id;
}

void CompactWriter::FieldI32(int16_t id, int32_t v) {
  FieldHeader(id, ThriftType::kI32);
  I32(v);
}

void CompactWriter::FieldI64(int16_t id, int64_t v) {
  FieldHeader(id, ThriftType::kI64);
  I64(v);
}

void CompactWriter::FieldBool(int16_t id, bool v) {
  FieldHeader(id, v ? ThriftType::kBoolTrue : ThriftType::kBoolFalse);
}

void CompactWriter::FieldByte(int16_t id, int8_t v) {
  FieldHeader(id, ThriftType::kByte);
  out_->push_back(static_cast<char>(v));
}

void CompactWriter::FieldBinary(int16_t id, std::string_view v) {
  FieldHeader(id, ThriftType::kBinary);
  Binary(v);
}

void CompactWriter::FieldListBegin(int16_t id, ThriftType elem_type, uint32_t size) {
  FieldHeader(id, ThriftType::kList);
  ListHeader(elem_type, size);
}

void CompactWriter::ListHeader(ThriftType elem_type, uint32_t size) {
  if (size < 15) {
    out_->push_back(static_cast<char>((size << 4) | static_cast<uint8_t>(elem_type)));
  } else {
    out_->push_back(static_cast<char>(0xf0 | static_cast<uint8_t>(elem_type)));
    Varint(size);
  }
}

void CompactWriter::I32(int32_t v) { Varint(ZigZag(v)); }
void CompactWriter::I64(int64_t v) { Varint(ZigZag(v)); }

void CompactWriter::Binary(std::string_view v) {
  Varint(v.size());
  out_->append(v);
}

void CompactWriter::ListBool(bool v) { out_->push_back(v ? 1 : 2); }

}  // namespace kl::format::parquet
