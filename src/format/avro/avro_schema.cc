#include "format/avro/avro_schema.h"

#include <map>
#include <set>

namespace kl::format::avro {
namespace {

AvroSchemaPtr Primitive(AvroType t, LogicalType logical = LogicalType::kNone) {
  auto s = std::make_shared<AvroSchema>();
  s->type = t;
  s->logical = logical;
  return s;
}

AvroSchemaPtr NullableOf(AvroSchemaPtr inner) {
  auto s = std::make_shared<AvroSchema>();
  s->type = AvroType::kUnion;
  s->branches = {Primitive(AvroType::kNull), std::move(inner)};
  return s;
}

struct NamedTypes {
  std::map<std::string, AvroSchemaPtr> by_name;
  // Records whose fields are still being parsed: a reference to one of them is recursion.
  std::set<std::string> in_progress;
};

Result<AvroSchemaPtr> Parse(const JsonValue& json, const std::string& enclosing_ns, NamedTypes* named, int depth);

Result<AvroType> PrimitiveByName(const std::string& name) {
  static const std::map<std::string, AvroType> kTypes = {
      {"null", AvroType::kNull},   {"boolean", AvroType::kBoolean}, {"int", AvroType::kInt},
      {"long", AvroType::kLong},   {"float", AvroType::kFloat},     {"double", AvroType::kDouble},
      {"bytes", AvroType::kBytes}, {"string", AvroType::kString},
  };
  auto it = kTypes.find(name);
  if (it == kTypes.end()) return Status::NotFound(name);
  return it->second;
}

LogicalType LogicalByName(const std::string& name, AvroType base) {
  if (name == "decimal" && (base == AvroType::kBytes || base == AvroType::kFixed)) return LogicalType::kDecimal;
  if (name == "date" && base == AvroType::kInt) return LogicalType::kDate;
  if (name == "time-millis" && base == AvroType::kInt) return LogicalType::kTimeMillis;
  if (name == "time-micros" && base == AvroType::kLong) return LogicalType::kTimeMicros;
  if (base == AvroType::kLong) {
    if (name == "timestamp-millis") return LogicalType::kTimestampMillis;
    if (name == "timestamp-micros") return LogicalType::kTimestampMicros;
    if (name == "timestamp-nanos") return LogicalType::kTimestampNanos;
    if (name == "local-timestamp-millis") return LogicalType::kLocalTimestampMillis;
    if (name == "local-timestamp-micros") return LogicalType::kLocalTimestampMicros;
    if (name == "local-timestamp-nanos") return LogicalType::kLocalTimestampNanos;
  }
  if (name == "uuid" && base == AvroType::kString) return LogicalType::kUuid;
  return LogicalType::kNone;  // unknown logical types are ignored, as the spec says
}

std::string FullName(const std::string& name, const std::string& ns) {
  if (name.find('.') != std::string::npos || ns.empty()) return name;
  return ns + "." + name;
}

Result<AvroSchemaPtr> ParseObject(const JsonValue& json, const std::string& enclosing_ns, NamedTypes* named,
                                  int depth) {
  const JsonValue* type_json = json.Find("type");
  if (type_json == nullptr) return Status::Corruption("Avro schema object without \"type\"");
  // {"type": {...}} or {"type": [...]}: the object only wraps another schema.
  if (!type_json->is_string()) return Parse(*type_json, enclosing_ns, named, depth + 1);
  const std::string& type_name = type_json->as_string();
  auto s = std::make_shared<AvroSchema>();
  auto prim = PrimitiveByName(type_name);
  if (prim.ok()) {
    s->type = *prim;
  } else if (type_name == "record" || type_name == "error") {
    s->type = AvroType::kRecord;
  } else if (type_name == "enum") {
    s->type = AvroType::kEnum;
  } else if (type_name == "array") {
    s->type = AvroType::kArray;
  } else if (type_name == "map") {
    s->type = AvroType::kMap;
  } else if (type_name == "fixed") {
    s->type = AvroType::kFixed;
  } else {
    // {"type": "some.named.Type"}: a reference to a named type wrapped in an object.
    return Parse(*type_json, enclosing_ns, named, depth + 1);
  }
  std::string ns = json.GetStringOr("namespace", enclosing_ns);
  if (s->type == AvroType::kRecord || s->type == AvroType::kEnum || s->type == AvroType::kFixed) {
    KL_ASSIGN_OR_RETURN(std::string name, json.GetString("name"));
    s->name = FullName(name, ns);
    size_t dot = s->name.rfind('.');
    ns = dot == std::string::npos ? "" : s->name.substr(0, dot);
  }
  switch (s->type) {
    case AvroType::kRecord: {
      const JsonValue* fields = json.Find("fields");
      if (fields == nullptr || !fields->is_array()) return Status::Corruption("record " + s->name + " has no fields");
      // Registered first so a self-reference is recognised (and refused: Paimon types are finite
      // trees, and a self-referencing schema would also be a reference cycle in memory).
      named->by_name[s->name] = s;
      named->in_progress.insert(s->name);
      for (const auto& f : fields->items()) {
        AvroField field;
        KL_ASSIGN_OR_RETURN(field.name, f.GetString("name"));
        const JsonValue* ft = f.Find("type");
        if (ft == nullptr) return Status::Corruption("field " + field.name + " has no type");
        KL_ASSIGN_OR_RETURN(field.schema, Parse(*ft, ns, named, depth + 1));
        if (const JsonValue* d = f.Find("default")) {
          field.has_default = true;
          field.default_value = *d;
        }
        s->fields.push_back(std::move(field));
      }
      named->in_progress.erase(s->name);
      break;
    }
    case AvroType::kEnum: {
      const JsonValue* symbols = json.Find("symbols");
      if (symbols == nullptr || !symbols->is_array()) return Status::Corruption("enum " + s->name + " has no symbols");
      for (const auto& sym : symbols->items()) s->symbols.push_back(sym.as_string());
      named->by_name[s->name] = s;
      break;
    }
    case AvroType::kFixed: {
      KL_ASSIGN_OR_RETURN(int64_t size, json.GetInt("size"));
      if (size < 0 || size > (1 << 20)) return Status::Corruption("fixed " + s->name + " has bad size");
      s->fixed_size = static_cast<int>(size);
      named->by_name[s->name] = s;
      break;
    }
    case AvroType::kArray: {
      const JsonValue* items = json.Find("items");
      if (items == nullptr) return Status::Corruption("array schema without items");
      KL_ASSIGN_OR_RETURN(s->items, Parse(*items, ns, named, depth + 1));
      break;
    }
    case AvroType::kMap: {
      const JsonValue* values = json.Find("values");
      if (values == nullptr) return Status::Corruption("map schema without values");
      KL_ASSIGN_OR_RETURN(s->values, Parse(*values, ns, named, depth + 1));
      break;
    }
    default: break;
  }
  if (const JsonValue* logical = json.Find("logicalType"); logical != nullptr && logical->is_string()) {
    s->logical = LogicalByName(logical->as_string(), s->type);
    if (s->logical == LogicalType::kDecimal) {
      s->precision = static_cast<int>(json.GetIntOr("precision", 0));
      s->scale = static_cast<int>(json.GetIntOr("scale", 0));
      if (s->precision <= 0 || s->precision > 38 || s->scale < 0 || s->scale > s->precision) {
        s->logical = LogicalType::kNone;  // invalid decimal parameters: read as plain bytes
      }
    }
  }
  return AvroSchemaPtr(s);
}

Result<AvroSchemaPtr> Parse(const JsonValue& json, const std::string& enclosing_ns, NamedTypes* named, int depth) {
  if (depth > 64) return Status::Corruption("Avro schema nested deeper than 64 levels");
  if (json.is_string()) {
    const std::string& name = json.as_string();
    auto prim = PrimitiveByName(name);
    if (prim.ok()) return Primitive(*prim);
    auto it = named->by_name.find(FullName(name, enclosing_ns));
    if (it == named->by_name.end()) it = named->by_name.find(name);
    if (it == named->by_name.end()) return Status::Corruption("unknown Avro type name \"" + name + "\"");
    if (named->in_progress.count(it->first) > 0) {
      return Status::NotSupported("recursive Avro type \"" + it->first + "\" has no Paimon type");
    }
    return it->second;
  }
  if (json.is_array()) {
    auto s = std::make_shared<AvroSchema>();
    s->type = AvroType::kUnion;
    for (const auto& b : json.items()) {
      KL_ASSIGN_OR_RETURN(AvroSchemaPtr branch, Parse(b, enclosing_ns, named, depth + 1));
      s->branches.push_back(std::move(branch));
    }
    if (s->branches.empty()) return Status::Corruption("empty Avro union");
    return AvroSchemaPtr(s);
  }
  if (json.is_object()) return ParseObject(json, enclosing_ns, named, depth);
  return Status::Corruption("Avro schema must be a string, array or object");
}

const char* PrimitiveName(AvroType t) {
  switch (t) {
    case AvroType::kNull: return "null";
    case AvroType::kBoolean: return "boolean";
    case AvroType::kInt: return "int";
    case AvroType::kLong: return "long";
    case AvroType::kFloat: return "float";
    case AvroType::kDouble: return "double";
    case AvroType::kBytes: return "bytes";
    case AvroType::kString: return "string";
    default: return nullptr;
  }
}

const char* LogicalName(LogicalType t) {
  switch (t) {
    case LogicalType::kDecimal: return "decimal";
    case LogicalType::kDate: return "date";
    case LogicalType::kTimeMillis: return "time-millis";
    case LogicalType::kTimeMicros: return "time-micros";
    case LogicalType::kTimestampMillis: return "timestamp-millis";
    case LogicalType::kTimestampMicros: return "timestamp-micros";
    case LogicalType::kTimestampNanos: return "timestamp-nanos";
    case LogicalType::kLocalTimestampMillis: return "local-timestamp-millis";
    case LogicalType::kLocalTimestampMicros: return "local-timestamp-micros";
    case LogicalType::kLocalTimestampNanos: return "local-timestamp-nanos";
    case LogicalType::kUuid: return "uuid";
    case LogicalType::kNone: return nullptr;
  }
  return nullptr;
}

void WriteSchema(JsonWriter* w, const AvroSchema& s, std::map<std::string, bool>* written, const std::string& ns) {
  const char* prim = PrimitiveName(s.type);
  if (prim != nullptr && s.logical == LogicalType::kNone) {
    w->String(prim);
    return;
  }
  if (s.type == AvroType::kUnion) {
    w->BeginArray();
    for (const auto& b : s.branches) WriteSchema(w, *b, written, ns);
    w->EndArray();
    return;
  }
  if (!s.name.empty() && (*written)[s.name]) {
    w->String(s.name);
    return;
  }
  w->BeginObject();
  w->Key("type");
  switch (s.type) {
    case AvroType::kRecord: {
      (*written)[s.name] = true;
      size_t dot = s.name.rfind('.');
      std::string record_ns = dot == std::string::npos ? "" : s.name.substr(0, dot);
      w->String("record").Key("name").String(dot == std::string::npos ? s.name : s.name.substr(dot + 1));
      // Nested records inherit the enclosing namespace, so it is written only where it changes.
      if (record_ns != ns) w->Key("namespace").String(record_ns);
      w->Key("fields").BeginArray();
      for (const auto& f : s.fields) {
        w->BeginObject().Key("name").String(f.name).Key("type");
        WriteSchema(w, *f.schema, written, record_ns);
        if (f.has_default) w->Key("default").Value(f.default_value);
        w->EndObject();
      }
      w->EndArray();
      break;
    }
    case AvroType::kEnum:
      (*written)[s.name] = true;
      w->String("enum").Key("name").String(s.name).Key("symbols").BeginArray();
      for (const auto& sym : s.symbols) w->String(sym);
      w->EndArray();
      break;
    case AvroType::kFixed:
      (*written)[s.name] = true;
      w->String("fixed").Key("name").String(s.name).Key("size").Int(s.fixed_size);
      break;
    case AvroType::kArray:
      w->String("array").Key("items");
      WriteSchema(w, *s.items, written, ns);
      break;
    case AvroType::kMap:
      w->String("map").Key("values");
      WriteSchema(w, *s.values, written, ns);
      break;
    default: w->String(prim); break;
  }
  if (const char* logical = LogicalName(s.logical)) {
    w->Key("logicalType").String(logical);
    if (s.logical == LogicalType::kDecimal) w->Key("precision").Int(s.precision).Key("scale").Int(s.scale);
  }
  w->EndObject();
}

AvroSchemaPtr FromDataType(const DataType& t, const std::string& name_for_record);

AvroSchemaPtr NonNullFromDataType(const DataType& t, const std::string& name_for_record) {
  switch (t.root()) {
    case TypeRoot::kBoolean: return Primitive(AvroType::kBoolean);
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt: return Primitive(AvroType::kInt);
    case TypeRoot::kBigInt: return Primitive(AvroType::kLong);
    case TypeRoot::kFloat: return Primitive(AvroType::kFloat);
    case TypeRoot::kDouble: return Primitive(AvroType::kDouble);
    case TypeRoot::kChar:
    case TypeRoot::kVarChar: return Primitive(AvroType::kString);
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary: return Primitive(AvroType::kBytes);
    case TypeRoot::kDecimal: {
      auto s = std::make_shared<AvroSchema>();
      s->type = AvroType::kBytes;
      s->logical = LogicalType::kDecimal;
      s->precision = t.precision();
      s->scale = t.scale();
      return s;
    }
    case TypeRoot::kDate: return Primitive(AvroType::kInt, LogicalType::kDate);
    case TypeRoot::kTime: return Primitive(AvroType::kInt, LogicalType::kTimeMillis);
    case TypeRoot::kTimestamp:
      return Primitive(AvroType::kLong, t.precision() <= 3   ? LogicalType::kTimestampMillis
                                        : t.precision() <= 6 ? LogicalType::kTimestampMicros
                                                             : LogicalType::kTimestampNanos);
    case TypeRoot::kTimestampLtz:
      return Primitive(AvroType::kLong, t.precision() <= 3   ? LogicalType::kLocalTimestampMillis
                                        : t.precision() <= 6 ? LogicalType::kLocalTimestampMicros
                                                             : LogicalType::kLocalTimestampNanos);
    case TypeRoot::kArray: {
      auto s = std::make_shared<AvroSchema>();
      s->type = AvroType::kArray;
      s->items = FromDataType(t.element(), name_for_record);
      return s;
    }
    case TypeRoot::kMultiset:
    case TypeRoot::kMap: {
      DataType key = t.root() == TypeRoot::kMap ? t.key() : t.element();
      DataType value = t.root() == TypeRoot::kMap ? t.value() : DataType::Int().NotNull();
      if (key.is_string()) {
        auto s = std::make_shared<AvroSchema>();
        s->type = AvroType::kMap;
        s->values = FromDataType(value, name_for_record);
        return s;
      }
      auto entry = std::make_shared<AvroSchema>();
      entry->type = AvroType::kRecord;
      entry->name = name_for_record;
      entry->fields.push_back({"key", FromDataType(key, name_for_record + "_key"), false, {}});
      entry->fields.push_back({"value", FromDataType(value, name_for_record + "_value"), false, {}});
      auto s = std::make_shared<AvroSchema>();
      s->type = AvroType::kArray;
      s->items = entry;
      return s;
    }
    case TypeRoot::kRow: {
      auto s = std::make_shared<AvroSchema>();
      s->type = AvroType::kRecord;
      s->name = name_for_record;
      for (const auto& f : t.fields()) {
        AvroField field;
        field.name = f.name;
        field.schema = FromDataType(f.type, name_for_record + "_" + f.name);
        if (f.type.nullable()) field.has_default = true;  // default null
        s->fields.push_back(std::move(field));
      }
      return s;
    }
    case TypeRoot::kInterval: break;  // a value of SQL queries only; tables refuse it
  }
  return Primitive(AvroType::kNull);
}

AvroSchemaPtr FromDataType(const DataType& t, const std::string& name_for_record) {
  AvroSchemaPtr inner = NonNullFromDataType(t, name_for_record);
  return t.nullable() ? NullableOf(std::move(inner)) : inner;
}

}  // namespace

int AvroSchema::NullBranch() const {
  if (type != AvroType::kUnion || branches.size() != 2) return -1;
  if (branches[0]->type == AvroType::kNull) return 0;
  if (branches[1]->type == AvroType::kNull) return 1;
  return -1;
}

const AvroSchema& AvroSchema::NonNull() const {
  int n = NullBranch();
  return n < 0 ? *this : *branches[1 - n];
}

Result<AvroSchemaPtr> ParseAvroSchema(std::string_view json) {
  KL_ASSIGN_OR_RETURN(JsonValue parsed, ParseJson(json, "Avro schema"));
  NamedTypes named;
  return Parse(parsed, "", &named, 0);
}

std::string AvroSchemaToJson(const AvroSchema& schema) {
  JsonWriter w;
  std::map<std::string, bool> written;
  WriteSchema(&w, schema, &written, "");
  return w.Release();
}

AvroSchemaPtr AvroSchemaFromRowType(const RowType& row, const std::string& record_name, const std::string& ns) {
  std::string full = ns.empty() ? record_name : ns + "." + record_name;
  auto s = std::make_shared<AvroSchema>();
  s->type = AvroType::kRecord;
  s->name = full;
  for (const auto& f : row.fields()) {
    AvroField field;
    field.name = f.name;
    field.schema = FromDataType(f.type, full + "_" + f.name);
    if (f.type.nullable()) field.has_default = true;
    s->fields.push_back(std::move(field));
  }
  return s;
}

Result<DataType> DataTypeFromAvro(const AvroSchema& schema) {
  int null_branch = schema.NullBranch();
  if (schema.type == AvroType::kUnion && null_branch < 0) {
    return Status::NotSupported("Avro unions other than [\"null\", T] have no Paimon type");
  }
  const AvroSchema& s = schema.NonNull();
  bool nullable = null_branch >= 0;
  DataType t;
  switch (s.type) {
    case AvroType::kBoolean: t = DataType::Boolean(); break;
    case AvroType::kInt:
      t = s.logical == LogicalType::kDate         ? DataType::Date()
          : s.logical == LogicalType::kTimeMillis ? DataType::Time(3)
                                                  : DataType::Int();
      break;
    case AvroType::kLong:
      switch (s.logical) {
        case LogicalType::kTimestampMillis: t = DataType::Timestamp(3); break;
        case LogicalType::kTimestampMicros: t = DataType::Timestamp(6); break;
        case LogicalType::kTimestampNanos: t = DataType::Timestamp(9); break;
        case LogicalType::kLocalTimestampMillis: t = DataType::TimestampLtz(3); break;
        case LogicalType::kLocalTimestampMicros: t = DataType::TimestampLtz(6); break;
        case LogicalType::kLocalTimestampNanos: t = DataType::TimestampLtz(9); break;
        default: t = DataType::BigInt();
      }
      break;
    case AvroType::kFloat: t = DataType::Float(); break;
    case AvroType::kDouble: t = DataType::Double(); break;
    case AvroType::kString:
    case AvroType::kEnum: t = DataType::String(); break;
    case AvroType::kBytes:
    case AvroType::kFixed:
      t = s.logical == LogicalType::kDecimal ? DataType::Decimal(s.precision, s.scale) : DataType::Bytes();
      break;
    case AvroType::kArray: {
      const AvroSchema& item = s.items->NonNull();
      if (item.type == AvroType::kRecord && item.fields.size() == 2 && item.fields[0].name == "key" &&
          item.fields[1].name == "value") {
        KL_ASSIGN_OR_RETURN(DataType k, DataTypeFromAvro(*item.fields[0].schema));
        KL_ASSIGN_OR_RETURN(DataType v, DataTypeFromAvro(*item.fields[1].schema));
        t = DataType::Map(k, v);
      } else {
        KL_ASSIGN_OR_RETURN(DataType e, DataTypeFromAvro(*s.items));
        t = DataType::Array(e);
      }
      break;
    }
    case AvroType::kMap: {
      KL_ASSIGN_OR_RETURN(DataType v, DataTypeFromAvro(*s.values));
      t = DataType::Map(DataType::String().NotNull(), v);
      break;
    }
    case AvroType::kRecord: {
      std::vector<DataField> fields;
      for (const auto& f : s.fields) {
        KL_ASSIGN_OR_RETURN(DataType ft, DataTypeFromAvro(*f.schema));
        fields.push_back({static_cast<int32_t>(fields.size()), f.name, ft, ""});
      }
      t = DataType::Row(std::move(fields));
      break;
    }
    case AvroType::kNull: return Status::NotSupported("Avro null type has no Paimon type");
    case AvroType::kUnion: return Status::NotSupported("nested Avro union");
  }
  return t.WithNullable(nullable);
}

}  // namespace kl::format::avro
