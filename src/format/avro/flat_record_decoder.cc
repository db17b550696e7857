#include "format/avro/flat_record_decoder.h"

#include <cstring>

#include "common/coding.h"

namespace kl::format::avro {
namespace {

inline bool ReadVarint(const uint8_t** p, const uint8_t* end, uint64_t* v) {
  if (*p < end && **p < 0x80) {
    *v = *(*p)++;
    return true;
  }
  return GetVarint64(p, end, v);
}

inline int64_t ZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

}  // namespace

std::unique_ptr<FlatRecordDecoder> FlatRecordDecoder::Make(const std::vector<const AvroSchema*>& fields,
                                                           const std::vector<int>& targets,
                                                           const RowType& read_type) {
  std::unique_ptr<FlatRecordDecoder> d(new FlatRecordDecoder());
  for (size_t i = 0; i < fields.size(); ++i) {
    const AvroSchema& s = *fields[i];
    Field f{Op::kLong, -1, -1};
    const AvroSchema* value = &s;
    if (s.type == AvroType::kUnion) {
      f.null_branch = static_cast<int8_t>(s.NullBranch());
      if (f.null_branch < 0) return nullptr;
      value = s.branches[static_cast<size_t>(1 - f.null_branch)].get();
    }
    switch (value->type) {
      case AvroType::kBoolean: f.op = Op::kBoolean; break;
      case AvroType::kInt:
      case AvroType::kLong: f.op = Op::kLong; break;
      case AvroType::kFloat: f.op = Op::kFloat; break;
      case AvroType::kDouble: f.op = Op::kDouble; break;
      case AvroType::kString:
      case AvroType::kBytes: f.op = Op::kBytes; break;
      default: return nullptr;
    }
    if (targets[i] >= 0) {
      Scratch scratch;
      scratch.column = targets[i];
      // The kinds the general decoder accepts for these types, and nothing else.
      switch (read_type.type(static_cast<size_t>(targets[i])).physical()) {
        case PhysicalKind::kInt:
          if (f.op != Op::kBoolean && f.op != Op::kLong) return nullptr;
          break;
        case PhysicalKind::kDouble:
          if (f.op == Op::kBoolean || f.op == Op::kBytes) return nullptr;
          scratch.as_double = f.op == Op::kLong;
          break;
        case PhysicalKind::kBytes:
          if (f.op != Op::kBytes) return nullptr;
          break;
        default: return nullptr;
      }
      f.target = static_cast<int>(d->scratch_.size());
      d->scratch_.push_back(std::move(scratch));
    }
    d->fields_.push_back(f);
  }
  return d;
}

void FlatRecordDecoder::Reset(size_t count) {
  for (Scratch& s : scratch_) {
    s.ints.clear();
    s.doubles.clear();
    s.views.clear();
    s.nulls.clear();
    s.any_null = false;
    s.nulls.reserve(count);
  }
}

bool FlatRecordDecoder::Decode(const uint8_t** pos, const uint8_t* end, size_t count, std::vector<Column>* columns,
                               size_t* bad_record, std::string* error) {
  Reset(count);
  const uint8_t* p = *pos;
  for (size_t r = 0; r < count; ++r) {
    for (const Field& f : fields_) {
      bool null = false;
      if (f.null_branch >= 0) {
        uint64_t raw;
        if (!ReadVarint(&p, end, &raw)) {
          *bad_record = r;
          *error = "record is truncated";
          return false;
        }
        int64_t branch = ZigZag(raw);
        if (branch != 0 && branch != 1) {
          *bad_record = r;
          *error = "union branch " + std::to_string(branch) + " out of range";
          return false;
        }
        null = branch == f.null_branch;
      }
      Scratch* s = f.target >= 0 ? &scratch_[static_cast<size_t>(f.target)] : nullptr;
      if (null) {
        if (s == nullptr) continue;
        s->nulls.push_back(1);
        s->any_null = true;
        if (f.op == Op::kBytes)
          s->views.emplace_back();
        else if (f.op == Op::kBoolean || (f.op == Op::kLong && !s->as_double))
          s->ints.push_back(0);
        else
          s->doubles.push_back(0);
        continue;
      }
      switch (f.op) {
        case Op::kBoolean: {
          if (p >= end) break;
          uint8_t b = *p++;
          if (s != nullptr) s->ints.push_back(b != 0);
          if (s != nullptr) s->nulls.push_back(0);
          continue;
        }
        case Op::kLong: {
          uint64_t raw;
          if (!ReadVarint(&p, end, &raw)) break;
          if (s != nullptr) {
            if (s->as_double)
              s->doubles.push_back(static_cast<double>(ZigZag(raw)));
            else
              s->ints.push_back(ZigZag(raw));
            s->nulls.push_back(0);
          }
          continue;
        }
        case Op::kFloat: {
          if (end - p < 4) break;
          float v;
          std::memcpy(&v, p, 4);
          p += 4;
          if (s != nullptr) s->doubles.push_back(v);
          if (s != nullptr) s->nulls.push_back(0);
          continue;
        }
        case Op::kDouble: {
          if (end - p < 8) break;
          double v;
          std::memcpy(&v, p, 8);
          p += 8;
          if (s != nullptr) s->doubles.push_back(v);
          if (s != nullptr) s->nulls.push_back(0);
          continue;
        }
        case Op::kBytes: {
          uint64_t raw;
          if (!ReadVarint(&p, end, &raw)) break;
          int64_t len = ZigZag(raw);
          if (len < 0 || static_cast<uint64_t>(len) > static_cast<uint64_t>(end - p)) {
            *bad_record = r;
            *error = "length " + std::to_string(len) + " exceeds the block";
            return false;
          }
          if (s != nullptr) {
            s->views.emplace_back(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
            s->nulls.push_back(0);
          }
          p += len;
          continue;
        }
      }
      // A value ran past the end of the block.
      *bad_record = r;
      *error = "record is truncated";
      return false;
    }
  }
  Flush(columns, count);
  *pos = p;
  return true;
}

void FlatRecordDecoder::Flush(std::vector<Column>* columns, size_t count) {
  for (Scratch& s : scratch_) {
    Column& column = (*columns)[static_cast<size_t>(s.column)];
    const uint8_t* nulls = s.any_null ? s.nulls.data() : nullptr;
    switch (column.kind()) {
      case PhysicalKind::kInt: column.AppendInts(s.ints.data(), nulls, count); break;
      case PhysicalKind::kDouble: column.AppendDoubles(s.doubles.data(), nulls, count); break;
      default: column.AppendBytesBatch(s.views.data(), nulls, count); break;
    }
  }
}

}  // namespace kl::format::avro
