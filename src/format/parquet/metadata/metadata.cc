#include "format/parquet/metadata/metadata.h"

#include "format/parquet/metadata/thrift_compact.h"

namespace kl::format::parquet {

const char* EncodingName(Encoding e) {
  switch (e) {
    case Encoding::kPlain: return "PLAIN";
    case Encoding::kPlainDictionary: return "PLAIN_DICTIONARY";
    case Encoding::kRle: return "RLE";
    case Encoding::kBitPacked: return "BIT_PACKED";
    case Encoding::kDeltaBinaryPacked: return "DELTA_BINARY_PACKED";
    case Encoding::kDeltaLengthByteArray: return "DELTA_LENGTH_BYTE_ARRAY";
    case Encoding::kDeltaByteArray: return "DELTA_BYTE_ARRAY";
    case Encoding::kRleDictionary: return "RLE_DICTIONARY";
    case Encoding::kByteStreamSplit: return "BYTE_STREAM_SPLIT";
  }
  return "UNKNOWN_ENCODING";
}

const char* CodecName(Codec c) {
  switch (c) {
    case Codec::kUncompressed: return "UNCOMPRESSED";
    case Codec::kSnappy: return "SNAPPY";
    case Codec::kGzip: return "GZIP";
    case Codec::kLzo: return "LZO";
    case Codec::kBrotli: return "BROTLI";
    case Codec::kLz4Hadoop: return "LZ4";
    case Codec::kZstd: return "ZSTD";
    case Codec::kLz4Raw: return "LZ4_RAW";
  }
  return "UNKNOWN_CODEC";
}

namespace {

using T = ThriftType;

// Reads a struct field by field: `on_field(id, type)` returns true when it consumed the
// value, false to have it skipped.
template <typename F>
void ReadStruct(CompactReader* r, F on_field) {
  r->BeginStruct();
  int16_t id;
  ThriftType type;
  while (r->ReadFieldHeader(&id, &type)) {
    if (!on_field(id, type)) r->Skip(type);
  }
  r->EndStruct();
}

bool Is(CompactReader* r, ThriftType actual, ThriftType expected) {
  bool bools =
      (actual == T::kBoolTrue || actual == T::kBoolFalse) && (expected == T::kBoolTrue || expected == T::kBoolFalse);
  return actual == expected || bools;
}

std::string Str(CompactReader* r) { return std::string(r->ReadBinary()); }

template <typename F>
void ReadList(CompactReader* r, ThriftType expected_elem, F on_elem) {
  ThriftType elem;
  uint32_t n = r->ReadListHeader(&elem);
  if (!r->ok()) return;
  bool bool_list = expected_elem == T::kBoolTrue && (elem == T::kBoolTrue || elem == T::kBoolFalse);
  if (!bool_list && elem != expected_elem) {
    for (uint32_t i = 0; i < n && r->ok(); ++i) r->Skip(elem);
    return;
  }
  for (uint32_t i = 0; i < n && r->ok(); ++i) on_elem();
}

// An empty struct (union members such as StringType carry no fields).
void SkipEmpty(CompactReader* r) {
  ReadStruct(r, [](int16_t, ThriftType) { return false; });
}

void ReadTimeUnit(CompactReader* r, TimeUnit* unit) {
  ReadStruct(r, [&](int16_t id, ThriftType t) {
    if (t != T::kStruct) return false;
    if (id == 1)
      *unit = TimeUnit::kMillis;
    else if (id == 2)
      *unit = TimeUnit::kMicros;
    else if (id == 3)
      *unit = TimeUnit::kNanos;
    else
      return false;
    SkipEmpty(r);
    return true;
  });
}

void ReadLogicalType(CompactReader* r, LogicalType* lt) {
  using K = LogicalType::Kind;
  ReadStruct(r, [&](int16_t id, ThriftType t) {
    if (t != T::kStruct) return false;
    switch (id) {
      case 1:
        lt->kind = K::kString;
        SkipEmpty(r);
        return true;
      case 2:
        lt->kind = K::kMap;
        SkipEmpty(r);
        return true;
      case 3:
        lt->kind = K::kList;
        SkipEmpty(r);
        return true;
      case 4:
        lt->kind = K::kEnum;
        SkipEmpty(r);
        return true;
      case 5:
        lt->kind = K::kDecimal;
        ReadStruct(r, [&](int16_t f, ThriftType ft) {
          if (!Is(r, ft, T::kI32)) return false;
          if (f == 1)
            lt->scale = r->ReadI32();
          else if (f == 2)
            lt->precision = r->ReadI32();
          else
            return false;
          return true;
        });
        return true;
      case 6:
        lt->kind = K::kDate;
        SkipEmpty(r);
        return true;
      case 7:
      case 8:
        lt->kind = id == 7 ? K::kTime : K::kTimestamp;
        ReadStruct(r, [&](int16_t f, ThriftType ft) {
          if (f == 1 && Is(r, ft, T::kBoolTrue))
            lt->adjusted_to_utc = ft == T::kBoolTrue;
          else if (f == 2 && ft == T::kStruct)
            ReadTimeUnit(r, &lt->unit);
          else
            return false;
          return true;
        });
        return true;
      case 10:
        lt->kind = K::kInteger;
        ReadStruct(r, [&](int16_t f, ThriftType ft) {
          if (f == 1 && ft == T::kByte)
            lt->bit_width = r->ReadByte();
          else if (f == 2 && Is(r, ft, T::kBoolTrue))
            lt->is_signed = ft == T::kBoolTrue;
          else
            return false;
          return true;
        });
        return true;
      case 11:
        lt->kind = K::kUnknown;
        SkipEmpty(r);
        return true;
      case 12:
        lt->kind = K::kJson;
        SkipEmpty(r);
        return true;
      case 13:
        lt->kind = K::kBson;
        SkipEmpty(r);
        return true;
      case 14:
        lt->kind = K::kUuid;
        SkipEmpty(r);
        return true;
      case 15:
        lt->kind = K::kFloat16;
        SkipEmpty(r);
        return true;
      default: lt->kind = K::kOther; return false;
    }
  });
}

void ReadSchemaElement(CompactReader* r, SchemaElement* e) {
  ReadStruct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        if (!Is(r, t, T::kI32)) return false;
        {
          int32_t v = r->ReadI32();
          if (v < 0 || v > 7) r->Fail("schema element has unknown physical type " + std::to_string(v));
          e->type = static_cast<PhysicalType>(v);
        }
        return true;
      case 2:
        if (!Is(r, t, T::kI32)) return false;
        e->type_length = r->ReadI32();
        return true;
      case 3:
        if (!Is(r, t, T::kI32)) return false;
        {
          int32_t v = r->ReadI32();
          if (v < 0 || v > 2) r->Fail("schema element has unknown repetition " + std::to_string(v));
          e->repetition = static_cast<Repetition>(v);
        }
        return true;
      case 4:
        if (!Is(r, t, T::kBinary)) return false;
        e->name = Str(r);
        return true;
      case 5:
        if (!Is(r, t, T::kI32)) return false;
        e->num_children = r->ReadI32();
        return true;
      case 6:
        if (!Is(r, t, T::kI32)) return false;
        e->converted_type = static_cast<ConvertedType>(r->ReadI32());
        return true;
      case 7:
        if (!Is(r, t, T::kI32)) return false;
        e->scale = r->ReadI32();
        return true;
      case 8:
        if (!Is(r, t, T::kI32)) return false;
        e->precision = r->ReadI32();
        return true;
      case 9:
        if (!Is(r, t, T::kI32)) return false;
        e->field_id = r->ReadI32();
        return true;
      case 10:
        if (t != T::kStruct) return false;
        ReadLogicalType(r, &e->logical);
        return true;
      default: return false;
    }
  });
}

void ReadStatistics(CompactReader* r, Statistics* s) {
  ReadStruct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        if (!Is(r, t, T::kBinary)) return false;
        s->max = Str(r);
        return true;
      case 2:
        if (!Is(r, t, T::kBinary)) return false;
        s->min = Str(r);
        return true;
      case 3:
        if (!Is(r, t, T::kI64)) return false;
        s->null_count = r->ReadI64();
        return true;
      case 4:
        if (!Is(r, t, T::kI64)) return false;
        s->distinct_count = r->ReadI64();
        return true;
      case 5:
        if (!Is(r, t, T::kBinary)) return false;
        s->max_value = Str(r);
        return true;
      case 6:
        if (!Is(r, t, T::kBinary)) return false;
        s->min_value = Str(r);
        return true;
      default: return false;
    }
  });
}

void ReadColumnMetaData(CompactReader* r, ColumnMetaData* m) {
  ReadStruct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        if (!Is(r, t, T::kI32)) return false;
        {
          int32_t v = r->ReadI32();
          if (v < 0 || v > 7) r->Fail("column has unknown physical type " + std::to_string(v));
          m->type = static_cast<PhysicalType>(v);
        }
        return true;
      case 2:
        if (t != T::kList) return false;
        ReadList(r, T::kI32, [&] { m->encodings.push_back(static_cast<Encoding>(r->ReadI32())); });
        return true;
      case 3:
        if (t != T::kList) return false;
        ReadList(r, T::kBinary, [&] { m->path_in_schema.push_back(Str(r)); });
        return true;
      case 4:
        if (!Is(r, t, T::kI32)) return false;
        m->codec = static_cast<Codec>(r->ReadI32());
        return true;
      case 5:
        if (!Is(r, t, T::kI64)) return false;
        m->num_values = r->ReadI64();
        return true;
      case 6:
        if (!Is(r, t, T::kI64)) return false;
        m->total_uncompressed_size = r->ReadI64();
        return true;
      case 7:
        if (!Is(r, t, T::kI64)) return false;
        m->total_compressed_size = r->ReadI64();
        return true;
      case 9:
        if (!Is(r, t, T::kI64)) return false;
        m->data_page_offset = r->ReadI64();
        return true;
      case 10:
        if (!Is(r, t, T::kI64)) return false;
        m->index_page_offset = r->ReadI64();
        return true;
      case 11:
        if (!Is(r, t, T::kI64)) return false;
        m->dictionary_page_offset = r->ReadI64();
        return true;
      case 12:
        if (t != T::kStruct) return false;
        ReadStatistics(r, &m->statistics);
        return true;
      case 13:
        if (t != T::kList) return false;
        ReadList(r, T::kStruct, [&] {
          PageEncodingStats s;
          ReadStruct(r, [&](int16_t f, ThriftType ft) {
            if (!Is(r, ft, T::kI32)) return false;
            if (f == 1)
              s.page_type = static_cast<PageType>(r->ReadI32());
            else if (f == 2)
              s.encoding = static_cast<Encoding>(r->ReadI32());
            else if (f == 3)
              s.count = r->ReadI32();
            else
              return false;
            return true;
          });
          m->encoding_stats.push_back(s);
        });
        return true;
      default: return false;
    }
  });
}

void ReadColumnChunk(CompactReader* r, ColumnChunk* c) {
  ReadStruct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        if (!Is(r, t, T::kBinary)) return false;
        c->file_path = Str(r);
        return true;
      case 2:
        if (!Is(r, t, T::kI64)) return false;
        c->file_offset = r->ReadI64();
        return true;
      case 3:
        if (t != T::kStruct) return false;
        c->has_meta_data = true;
        ReadColumnMetaData(r, &c->meta_data);
        return true;
      case 4:
        if (!Is(r, t, T::kI64)) return false;
        c->offset_index_offset = r->ReadI64();
        return true;
      case 5:
        if (!Is(r, t, T::kI32)) return false;
        c->offset_index_length = r->ReadI32();
        return true;
      case 6:
        if (!Is(r, t, T::kI64)) return false;
        c->column_index_offset = r->ReadI64();
        return true;
      case 7:
        if (!Is(r, t, T::kI32)) return false;
        c->column_index_length = r->ReadI32();
        return true;
      default: return false;
    }
  });
}

void ReadRowGroup(CompactReader* r, RowGroup* g) {
  ReadStruct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        if (t != T::kList) return false;
        ReadList(r, T::kStruct, [&] {
          g->columns.emplace_back();
          ReadColumnChunk(r, &g->columns.back());
        });
        return true;
      case 2:
        if (!Is(r, t, T::kI64)) return false;
        g->total_byte_size = r->ReadI64();
        return true;
      case 3:
        if (!Is(r, t, T::kI64)) return false;
        g->num_rows = r->ReadI64();
        return true;
      case 5:
        if (!Is(r, t, T::kI64)) return false;
        g->file_offset = r->ReadI64();
        return true;
      case 6:
        if (!Is(r, t, T::kI64)) return false;
        g->total_compressed_size = r->ReadI64();
        return true;
      case 7:
        if (!Is(r, t, T::kI16)) return false;
        g->ordinal = static_cast<int16_t>(r->ReadVarintSigned());
        return true;
      default: return false;
    }
  });
}

void ReadDataPageHeader(CompactReader* r, DataPageHeader* h) {
  ReadStruct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        if (!Is(r, t, T::kI32)) return false;
        h->num_values = r->ReadI32();
        return true;
      case 2:
        if (!Is(r, t, T::kI32)) return false;
        h->encoding = static_cast<Encoding>(r->ReadI32());
        return true;
      case 3:
        if (!Is(r, t, T::kI32)) return false;
        h->definition_level_encoding = static_cast<Encoding>(r->ReadI32());
        return true;
      case 4:
        if (!Is(r, t, T::kI32)) return false;
        h->repetition_level_encoding = static_cast<Encoding>(r->ReadI32());
        return true;
      case 5:
        if (t != T::kStruct) return false;
        ReadStatistics(r, &h->statistics);
        return true;
      default: return false;
    }
  });
}

void ReadDictionaryPageHeader(CompactReader* r, DictionaryPageHeader* h) {
  ReadStruct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        if (!Is(r, t, T::kI32)) return false;
        h->num_values = r->ReadI32();
        return true;
      case 2:
        if (!Is(r, t, T::kI32)) return false;
        h->encoding = static_cast<Encoding>(r->ReadI32());
        return true;
      case 3:
        if (!Is(r, t, T::kBoolTrue)) return false;
        h->is_sorted = t == T::kBoolTrue;
        return true;
      default: return false;
    }
  });
}

void ReadDataPageHeaderV2(CompactReader* r, DataPageHeaderV2* h) {
  ReadStruct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        if (!Is(r, t, T::kI32)) return false;
        h->num_values = r->ReadI32();
        return true;
      case 2:
        if (!Is(r, t, T::kI32)) return false;
        h->num_nulls = r->ReadI32();
        return true;
      case 3:
        if (!Is(r, t, T::kI32)) return false;
        h->num_rows = r->ReadI32();
        return true;
      case 4:
        if (!Is(r, t, T::kI32)) return false;
        h->encoding = static_cast<Encoding>(r->ReadI32());
        return true;
      case 5:
        if (!Is(r, t, T::kI32)) return false;
        h->definition_levels_byte_length = r->ReadI32();
        return true;
      case 6:
        if (!Is(r, t, T::kI32)) return false;
        h->repetition_levels_byte_length = r->ReadI32();
        return true;
      case 7:
        if (!Is(r, t, T::kBoolTrue)) return false;
        h->is_compressed = t == T::kBoolTrue;
        return true;
      case 8:
        if (t != T::kStruct) return false;
        ReadStatistics(r, &h->statistics);
        return true;
      default: return false;
    }
  });
}

bool Finish(const CompactReader& r, std::string* error) {
  if (r.ok()) return true;
  *error = r.error();
  return false;
}

// --- writing ---

void WriteStatistics(CompactWriter* w, int16_t field, const Statistics& s) {
  w->FieldStructBegin(field);
  if (s.max) w->FieldBinary(1, *s.max);
  if (s.min) w->FieldBinary(2, *s.min);
  if (s.null_count) w->FieldI64(3, *s.null_count);
  if (s.distinct_count) w->FieldI64(4, *s.distinct_count);
  if (s.max_value) w->FieldBinary(5, *s.max_value);
  if (s.min_value) w->FieldBinary(6, *s.min_value);
  w->EndStruct();
}

void WriteEmptyStruct(CompactWriter* w, int16_t field) {
  w->FieldStructBegin(field);
  w->EndStruct();
}

void WriteLogicalType(CompactWriter* w, const LogicalType& lt) {
  using K = LogicalType::Kind;
  w->FieldStructBegin(10);
  switch (lt.kind) {
    case K::kString: WriteEmptyStruct(w, 1); break;
    case K::kMap: WriteEmptyStruct(w, 2); break;
    case K::kList: WriteEmptyStruct(w, 3); break;
    case K::kEnum: WriteEmptyStruct(w, 4); break;
    case K::kDecimal:
      w->FieldStructBegin(5);
      w->FieldI32(1, lt.scale);
      w->FieldI32(2, lt.precision);
      w->EndStruct();
      break;
    case K::kDate: WriteEmptyStruct(w, 6); break;
    case K::kTime:
    case K::kTimestamp:
      w->FieldStructBegin(lt.kind == K::kTime ? 7 : 8);
      w->FieldBool(1, lt.adjusted_to_utc);
      w->FieldStructBegin(2);
      WriteEmptyStruct(w, lt.unit == TimeUnit::kMillis ? 1 : lt.unit == TimeUnit::kMicros ? 2 : 3);
      w->EndStruct();
      w->EndStruct();
      break;
    case K::kInteger:
      w->FieldStructBegin(10);
      w->FieldByte(1, lt.bit_width);
      w->FieldBool(2, lt.is_signed);
      w->EndStruct();
      break;
    case K::kUuid: WriteEmptyStruct(w, 14); break;
    case K::kJson: WriteEmptyStruct(w, 12); break;
    default: break;
  }
  w->EndStruct();
}

}  // namespace

bool ParseFileMetaData(std::string_view data, FileMetaData* m, std::string* error) {
  CompactReader r(data.data(), data.size());
  bool saw_schema = false, saw_rows = false;
  ReadStruct(&r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        if (!Is(&r, t, T::kI32)) return false;
        m->version = r.ReadI32();
        return true;
      case 2:
        if (t != T::kList) return false;
        saw_schema = true;
        ReadList(&r, T::kStruct, [&] {
          m->schema.emplace_back();
          ReadSchemaElement(&r, &m->schema.back());
        });
        return true;
      case 3:
        if (!Is(&r, t, T::kI64)) return false;
        saw_rows = true;
        m->num_rows = r.ReadI64();
        return true;
      case 4:
        if (t != T::kList) return false;
        ReadList(&r, T::kStruct, [&] {
          m->row_groups.emplace_back();
          ReadRowGroup(&r, &m->row_groups.back());
        });
        return true;
      case 5:
        if (t != T::kList) return false;
        ReadList(&r, T::kStruct, [&] {
          KeyValue kv;
          ReadStruct(&r, [&](int16_t f, ThriftType ft) {
            if (!Is(&r, ft, T::kBinary)) return false;
            if (f == 1)
              kv.key = Str(&r);
            else if (f == 2)
              kv.value = Str(&r);
            else
              return false;
            return true;
          });
          m->key_value_metadata.push_back(std::move(kv));
        });
        return true;
      case 6:
        if (!Is(&r, t, T::kBinary)) return false;
        m->created_by = Str(&r);
        return true;
      case 7:
        if (t != T::kList) return false;
        ReadList(&r, T::kStruct, [&] {
          ++m->num_column_orders;
          r.Skip(T::kStruct);
        });
        return true;
      default: return false;
    }
  });
  if (r.ok() && (!saw_schema || !saw_rows)) r.Fail("file metadata lacks the required schema or num_rows");
  return Finish(r, error);
}

bool ParsePageHeader(std::string_view data, PageHeader* h, size_t* consumed, std::string* error) {
  CompactReader r(data.data(), data.size());
  bool saw_type = false;
  ReadStruct(&r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        if (!Is(&r, t, T::kI32)) return false;
        saw_type = true;
        h->type = static_cast<PageType>(r.ReadI32());
        return true;
      case 2:
        if (!Is(&r, t, T::kI32)) return false;
        h->uncompressed_page_size = r.ReadI32();
        return true;
      case 3:
        if (!Is(&r, t, T::kI32)) return false;
        h->compressed_page_size = r.ReadI32();
        return true;
      case 4:
        if (!Is(&r, t, T::kI32)) return false;
        h->crc = r.ReadI32();
        return true;
      case 5:
        if (t != T::kStruct) return false;
        h->has_data = true;
        ReadDataPageHeader(&r, &h->data);
        return true;
      case 7:
        if (t != T::kStruct) return false;
        h->has_dictionary = true;
        ReadDictionaryPageHeader(&r, &h->dictionary);
        return true;
      case 8:
        if (t != T::kStruct) return false;
        h->has_data_v2 = true;
        ReadDataPageHeaderV2(&r, &h->data_v2);
        return true;
      default: return false;
    }
  });
  if (r.ok() && !saw_type) r.Fail("page header lacks a page type");
  if (r.ok() && (h->uncompressed_page_size < 0 || h->compressed_page_size < 0)) r.Fail("negative page size");
  *consumed = r.consumed();
  return Finish(r, error);
}

bool ParseColumnIndex(std::string_view data, ColumnIndex* c, std::string* error) {
  CompactReader r(data.data(), data.size());
  ReadStruct(&r, [&](int16_t id, ThriftType t) {
    if (t != T::kList && id != 4) return false;
    switch (id) {
      case 1: ReadList(&r, T::kBoolTrue, [&] { c->null_pages.push_back(r.ReadListBool()); }); return true;
      case 2: ReadList(&r, T::kBinary, [&] { c->min_values.push_back(Str(&r)); }); return true;
      case 3: ReadList(&r, T::kBinary, [&] { c->max_values.push_back(Str(&r)); }); return true;
      case 4:
        if (!Is(&r, t, T::kI32)) return false;
        c->boundary_order = r.ReadI32();
        return true;
      case 5: ReadList(&r, T::kI64, [&] { c->null_counts.push_back(r.ReadI64()); }); return true;
      default: return false;
    }
  });
  if (r.ok() && (c->min_values.size() != c->null_pages.size() || c->max_values.size() != c->null_pages.size() ||
                 (!c->null_counts.empty() && c->null_counts.size() != c->null_pages.size()))) {
    r.Fail("column index lists differ in length");
  }
  return Finish(r, error);
}

bool ParseOffsetIndex(std::string_view data, OffsetIndex* o, std::string* error) {
  CompactReader r(data.data(), data.size());
  ReadStruct(&r, [&](int16_t id, ThriftType t) {
    if (id != 1 || t != T::kList) return false;
    ReadList(&r, T::kStruct, [&] {
      PageLocation loc;
      ReadStruct(&r, [&](int16_t f, ThriftType ft) {
        if (f == 1 && Is(&r, ft, T::kI64))
          loc.offset = r.ReadI64();
        else if (f == 2 && Is(&r, ft, T::kI32))
          loc.compressed_page_size = r.ReadI32();
        else if (f == 3 && Is(&r, ft, T::kI64))
          loc.first_row_index = r.ReadI64();
        else
          return false;
        return true;
      });
      o->page_locations.push_back(loc);
    });
    return true;
  });
  return Finish(r, error);
}

void SerializeFileMetaData(const FileMetaData& m, std::string* out) {
  CompactWriter w(out);
  w.BeginStruct();
  w.FieldI32(1, m.version);
  w.FieldListBegin(2, T::kStruct, static_cast<uint32_t>(m.schema.size()));
  for (const auto& e : m.schema) {
    w.BeginStruct();
    if (e.type) w.FieldI32(1, static_cast<int32_t>(*e.type));
    if (e.type == PhysicalType::kFixedLenByteArray) w.FieldI32(2, e.type_length);
    if (e.repetition) w.FieldI32(3, static_cast<int32_t>(*e.repetition));
    w.FieldBinary(4, e.name);
    if (!e.type) w.FieldI32(5, e.num_children);
    if (e.converted_type != ConvertedType::kNone) w.FieldI32(6, static_cast<int32_t>(e.converted_type));
    if (e.converted_type == ConvertedType::kDecimal) {
      w.FieldI32(7, e.scale);
      w.FieldI32(8, e.precision);
    }
    if (e.field_id) w.FieldI32(9, *e.field_id);
    if (e.logical.kind != LogicalType::Kind::kNone) WriteLogicalType(&w, e.logical);
    w.EndStruct();
  }
  w.FieldI64(3, m.num_rows);
  w.FieldListBegin(4, T::kStruct, static_cast<uint32_t>(m.row_groups.size()));
  for (const auto& g : m.row_groups) {
    w.BeginStruct();
    w.FieldListBegin(1, T::kStruct, static_cast<uint32_t>(g.columns.size()));
    for (const auto& c : g.columns) {
      w.BeginStruct();
      w.FieldI64(2, c.file_offset);
      const ColumnMetaData& cm = c.meta_data;
      w.FieldStructBegin(3);
      w.FieldI32(1, static_cast<int32_t>(cm.type));
      w.FieldListBegin(2, T::kI32, static_cast<uint32_t>(cm.encodings.size()));
      for (Encoding e : cm.encodings) w.I32(static_cast<int32_t>(e));
      w.FieldListBegin(3, T::kBinary, static_cast<uint32_t>(cm.path_in_schema.size()));
      for (const auto& p : cm.path_in_schema) w.Binary(p);
      w.FieldI32(4, static_cast<int32_t>(cm.codec));
      w.FieldI64(5, cm.num_values);
      w.FieldI64(6, cm.total_uncompressed_size);
      w.FieldI64(7, cm.total_compressed_size);
      w.FieldI64(9, cm.data_page_offset);
      if (cm.dictionary_page_offset) w.FieldI64(11, *cm.dictionary_page_offset);
      if (!cm.statistics.empty()) WriteStatistics(&w, 12, cm.statistics);
      if (!cm.encoding_stats.empty()) {
        w.FieldListBegin(13, T::kStruct, static_cast<uint32_t>(cm.encoding_stats.size()));
        for (const auto& s : cm.encoding_stats) {
          w.BeginStruct();
          w.FieldI32(1, static_cast<int32_t>(s.page_type));
          w.FieldI32(2, static_cast<int32_t>(s.encoding));
          w.FieldI32(3, s.count);
          w.EndStruct();
        }
      }
      w.EndStruct();
      if (c.offset_index_offset) w.FieldI64(4, *c.offset_index_offset);
      if (c.offset_index_length) w.FieldI32(5, *c.offset_index_length);
      if (c.column_index_offset) w.FieldI64(6, *c.column_index_offset);
      if (c.column_index_length) w.FieldI32(7, *c.column_index_length);
      w.EndStruct();
    }
    w.FieldI64(2, g.total_byte_size);
    w.FieldI64(3, g.num_rows);
    if (g.file_offset) w.FieldI64(5, *g.file_offset);
    if (g.total_compressed_size) w.FieldI64(6, *g.total_compressed_size);
    if (g.ordinal) {
      w.FieldHeader(7, T::kI16);
      w.I32(*g.ordinal);
    }
    w.EndStruct();
  }
  if (!m.key_value_metadata.empty()) {
    w.FieldListBegin(5, T::kStruct, static_cast<uint32_t>(m.key_value_metadata.size()));
    for (const auto& kv : m.key_value_metadata) {
      w.BeginStruct();
      w.FieldBinary(1, kv.key);
      if (kv.value) w.FieldBinary(2, *kv.value);
      w.EndStruct();
    }
  }
  if (!m.created_by.empty()) w.FieldBinary(6, m.created_by);
  if (m.num_column_orders > 0) {
    w.FieldListBegin(7, T::kStruct, static_cast<uint32_t>(m.num_column_orders));
    for (int i = 0; i < m.num_column_orders; ++i) {
      w.BeginStruct();
      WriteEmptyStruct(&w, 1);  // TYPE_ORDER
      w.EndStruct();
    }
  }
  w.EndStruct();
}

void SerializePageHeader(const PageHeader& h, std::string* out) {
  CompactWriter w(out);
  w.BeginStruct();
  w.FieldI32(1, static_cast<int32_t>(h.type));
  w.FieldI32(2, h.uncompressed_page_size);
  w.FieldI32(3, h.compressed_page_size);
  if (h.crc) w.FieldI32(4, *h.crc);
  if (h.has_data) {
    w.FieldStructBegin(5);
    w.FieldI32(1, h.data.num_values);
    w.FieldI32(2, static_cast<int32_t>(h.data.encoding));
    w.FieldI32(3, static_cast<int32_t>(h.data.definition_level_encoding));
    w.FieldI32(4, static_cast<int32_t>(h.data.repetition_level_encoding));
    if (!h.data.statistics.empty()) WriteStatistics(&w, 5, h.data.statistics);
    w.EndStruct();
  }
  if (h.has_dictionary) {
    w.FieldStructBegin(7);
    w.FieldI32(1, h.dictionary.num_values);
    w.FieldI32(2, static_cast<int32_t>(h.dictionary.encoding));
    w.EndStruct();
  }
  if (h.has_data_v2) {
    const auto& d = h.data_v2;
    w.FieldStructBegin(8);
    w.FieldI32(1, d.num_values);
    w.FieldI32(2, d.num_nulls);
    w.FieldI32(3, d.num_rows);
    w.FieldI32(4, static_cast<int32_t>(d.encoding));
    w.FieldI32(5, d.definition_levels_byte_length);
    w.FieldI32(6, d.repetition_levels_byte_length);
    w.FieldBool(7, d.is_compressed);
    if (!d.statistics.empty()) WriteStatistics(&w, 8, d.statistics);
    w.EndStruct();
  }
  w.EndStruct();
}

void SerializeColumnIndex(const ColumnIndex& c, std::string* out) {
  CompactWriter w(out);
  w.BeginStruct();
  w.FieldListBegin(1, T::kBoolTrue, static_cast<uint32_t>(c.null_pages.size()));
  for (bool b : c.null_pages) w.ListBool(b);
  w.FieldListBegin(2, T::kBinary, static_cast<uint32_t>(c.min_values.size()));
  for (const auto& v : c.min_values) w.Binary(v);
  w.FieldListBegin(3, T::kBinary, static_cast<uint32_t>(c.max_values.size()));
  for (const auto& v : c.max_values) w.Binary(v);
  w.FieldI32(4, c.boundary_order);
  if (!c.null_counts.empty()) {
    w.FieldListBegin(5, T::kI64, static_cast<uint32_t>(c.null_counts.size()));
    for (int64_t v : c.null_counts) w.I64(v);
  }
  w.EndStruct();
}

void SerializeOffsetIndex(const OffsetIndex& o, std::string* out) {
  CompactWriter w(out);
  w.BeginStruct();
  w.FieldListBegin(1, T::kStruct, static_cast<uint32_t>(o.page_locations.size()));
  for (const auto& loc : o.page_locations) {
    w.BeginStruct();
    w.FieldI64(1, loc.offset);
    w.FieldI32(2, loc.compressed_page_size);
    w.FieldI64(3, loc.first_row_index);
    w.EndStruct();
  }
  w.EndStruct();
}

}  // namespace kl::format::parquet
