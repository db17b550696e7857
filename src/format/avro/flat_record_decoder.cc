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

// A float or double (little-endian, as Avro stores them) widened to double.
template <typename T>
inline bool ReadFixed(const uint8_t** p, const uint8_t* end, double* out) {
  if (end - *p < static_cast<ptrdiff_t>(sizeof(T))) return false;
  T v;
  std::memcpy(&v, *p, sizeof(T));
  *p += sizeof(T);
  *out = v;
  return true;
}

}  // namespace

std::unique_ptr<FlatRecordDecoder> FlatRecordDecoder::Make(const std::vector<const AvroSchema*>& fields,
                                                           const std::vector<int>& targets, const RowType& read_type) {
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
      scratch.kind = read_type.type(static_cast<size_t>(targets[i])).physical();
      switch (scratch.kind) {
        case PhysicalKind::kInt:
          if (f.op != Op::kBoolean && f.op != Op::kLong) return nullptr;
          break;
        case PhysicalKind::kDouble:
          if (f.op == Op::kBoolean || f.op == Op::kBytes) return nullptr;
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
  // Sized up front and written by index: no capacity check per value.
  for (Scratch& s : scratch_) {
    if (s.kind == PhysicalKind::kBytes) {
      if (s.views.size() < count) s.views.resize(count);
    } else if (s.kind == PhysicalKind::kDouble) {
      if (s.doubles.size() < count) s.doubles.resize(count);
    } else if (s.ints.size() < count) {
      s.ints.resize(count);
    }
    if (s.nulls.size() < count) s.nulls.resize(count);
    s.any_null = false;
  }
}

bool FlatRecordDecoder::Decode(const uint8_t** pos, const uint8_t* end, size_t count, std::vector<Column>* columns,
                               size_t* bad_record, std::string* error) {
  Reset(count);
  const uint8_t* p = *pos;
  auto fail = [&](size_t r, std::string what) {
    *bad_record = r;
    *error = std::move(what);
    return false;
  };
  for (size_t r = 0; r < count; ++r) {
    for (const Field& f : fields_) {
      Scratch* s = f.target >= 0 ? &scratch_[static_cast<size_t>(f.target)] : nullptr;
      if (f.null_branch >= 0) {
        uint64_t raw;
        if (!ReadVarint(&p, end, &raw)) return fail(r, "record is truncated");
        int64_t branch = ZigZagDecode(raw);
        if (branch != 0 && branch != 1) return fail(r, "union branch " + std::to_string(branch) + " out of range");
        if (branch == f.null_branch) {
          if (s != nullptr) {
            s->nulls[r] = 1;
            s->any_null = true;
            // A null row's value: 0, or an empty view (no bytes), as Column::AppendNull.
            if (s->kind == PhysicalKind::kBytes)
              s->views[r] = {};
            else if (s->kind == PhysicalKind::kDouble)
              s->doubles[r] = 0;
            else
              s->ints[r] = 0;
          }
          continue;
        }
      }
      if (s != nullptr) s->nulls[r] = 0;
      switch (f.op) {
        case Op::kBoolean: {
          if (p >= end) return fail(r, "record is truncated");
          uint8_t b = *p++;
          if (s != nullptr) s->ints[r] = b != 0;
          break;
        }
        case Op::kLong: {
          uint64_t raw;
          if (!ReadVarint(&p, end, &raw)) return fail(r, "record is truncated");
          if (s == nullptr) break;
          if (s->kind == PhysicalKind::kDouble)
            s->doubles[r] = static_cast<double>(ZigZagDecode(raw));
          else
            s->ints[r] = ZigZagDecode(raw);
          break;
        }
        case Op::kFloat:
        case Op::kDouble: {
          double v;
          bool ok = f.op == Op::kFloat ? ReadFixed<float>(&p, end, &v) : ReadFixed<double>(&p, end, &v);
          if (!ok) return fail(r, "record is truncated");
          if (s != nullptr) s->doubles[r] = v;
          break;
        }
        case Op::kBytes: {
          uint64_t raw;
          if (!ReadVarint(&p, end, &raw)) return fail(r, "record is truncated");
          int64_t len = ZigZagDecode(raw);
          if (len < 0 || static_cast<uint64_t>(len) > static_cast<uint64_t>(end - p)) {
            return fail(r, "length " + std::to_string(len) + " exceeds the block");
          }
          if (s != nullptr) s->views[r] = std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
          p += len;
          break;
        }
      }
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
    switch (s.kind) {
      case PhysicalKind::kInt: column.AppendInts(s.ints.data(), nulls, count); break;
      case PhysicalKind::kDouble: column.AppendDoubles(s.doubles.data(), nulls, count); break;
      default: column.AppendBytesBatch(s.views.data(), nulls, count); break;
    }
  }
}

}  // namespace kl::format::avro
