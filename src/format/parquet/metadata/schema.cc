#include "format/parquet/metadata/schema.h"

#include <functional>

namespace kl::format::parquet {
namespace {

// Paimon derives ids for list elements and map keys/values from the enclosing field's id
// and the nesting depth, around this base, with this many depths per field.
constexpr int64_t kStructuredIdBase = 536870911;  // Integer.MAX_VALUE / 4
constexpr int64_t kDepthLimit = 1024;

// Deep schemas are legal but nothing real nests this far; the cap keeps recursion bounded.
constexpr int kMaxSchemaDepth = 64;

int32_t FitId(int64_t v) { return static_cast<int32_t>(v); }

int MinBytesForPrecision(int precision) {
  int bytes = 1;
  while (true) {
    // 2^(8*bytes - 1) > 10^precision ?
    long double capacity = 1;
    for (int i = 0; i < 8 * bytes - 1; ++i) capacity *= 2;
    long double need = 1;
    for (int i = 0; i < precision; ++i) need *= 10;
    if (capacity > need) return bytes;
    ++bytes;
  }
}

SchemaElement Primitive(const std::string& name, PhysicalType type, bool nullable, std::optional<int32_t> id) {
  SchemaElement e;
  e.name = name;
  e.type = type;
  e.repetition = nullable ? Repetition::kOptional : Repetition::kRequired;
  e.field_id = id;
  return e;
}

SchemaElement Group(const std::string& name, Repetition rep, int children, std::optional<int32_t> id) {
  SchemaElement e;
  e.name = name;
  e.repetition = rep;
  e.num_children = children;
  e.field_id = id;
  return e;
}

void Timestamp(SchemaElement* e, TimeUnit unit, bool utc) {
  e->logical.kind = LogicalType::Kind::kTimestamp;
  e->logical.unit = unit;
  e->logical.adjusted_to_utc = utc;
  e->converted_type = unit == TimeUnit::kMillis ? ConvertedType::kTimestampMillis : ConvertedType::kTimestampMicros;
}

Status AppendType(const std::string& name, const DataType& type, std::optional<int32_t> id, int32_t base_id, int depth,
                  std::vector<SchemaElement>* out, int nesting = 0) {
  if (nesting > kMaxSchemaDepth)
    return Status::NotSupported("type nests deeper than " + std::to_string(kMaxSchemaDepth));
  bool nullable = type.nullable();
  Repetition rep = nullable ? Repetition::kOptional : Repetition::kRequired;
  switch (type.root()) {
    case TypeRoot::kBoolean: out->push_back(Primitive(name, PhysicalType::kBoolean, nullable, id)); return Status::OK();
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt: {
      SchemaElement e = Primitive(name, PhysicalType::kInt32, nullable, id);
      bool tiny = type.root() == TypeRoot::kTinyInt;
      e.logical.kind = LogicalType::Kind::kInteger;
      e.logical.bit_width = tiny ? 8 : 16;
      e.logical.is_signed = true;
      e.converted_type = tiny ? ConvertedType::kInt8 : ConvertedType::kInt16;
      out->push_back(e);
      return Status::OK();
    }
    case TypeRoot::kInt: out->push_back(Primitive(name, PhysicalType::kInt32, nullable, id)); return Status::OK();
    case TypeRoot::kBigInt: out->push_back(Primitive(name, PhysicalType::kInt64, nullable, id)); return Status::OK();
    case TypeRoot::kFloat: out->push_back(Primitive(name, PhysicalType::kFloat, nullable, id)); return Status::OK();
    case TypeRoot::kDouble: out->push_back(Primitive(name, PhysicalType::kDouble, nullable, id)); return Status::OK();
    case TypeRoot::kChar:
    case TypeRoot::kVarChar: {
      SchemaElement e = Primitive(name, PhysicalType::kByteArray, nullable, id);
      e.logical.kind = LogicalType::Kind::kString;
      e.converted_type = ConvertedType::kUtf8;
      out->push_back(e);
      return Status::OK();
    }
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary:
      out->push_back(Primitive(name, PhysicalType::kByteArray, nullable, id));
      return Status::OK();
    case TypeRoot::kDecimal: {
      int p = type.precision();
      if (p < 1 || p > 38) return Status::InvalidArgument("DECIMAL precision " + std::to_string(p) + " out of range");
      PhysicalType phys = p <= 9    ? PhysicalType::kInt32
                          : p <= 18 ? PhysicalType::kInt64
                                    : PhysicalType::kFixedLenByteArray;
      SchemaElement e = Primitive(name, phys, nullable, id);
      if (phys == PhysicalType::kFixedLenByteArray) e.type_length = MinBytesForPrecision(p);
      e.logical.kind = LogicalType::Kind::kDecimal;
      e.logical.precision = p;
      e.logical.scale = type.scale();
      e.converted_type = ConvertedType::kDecimal;
      e.precision = p;
      e.scale = type.scale();
      out->push_back(e);
      return Status::OK();
    }
    case TypeRoot::kDate: {
      SchemaElement e = Primitive(name, PhysicalType::kInt32, nullable, id);
      e.logical.kind = LogicalType::Kind::kDate;
      e.converted_type = ConvertedType::kDate;
      out->push_back(e);
      return Status::OK();
    }
    case TypeRoot::kTime: {
      SchemaElement e = Primitive(name, PhysicalType::kInt32, nullable, id);
      e.logical.kind = LogicalType::Kind::kTime;
      e.logical.unit = TimeUnit::kMillis;
      e.logical.adjusted_to_utc = true;
      e.converted_type = ConvertedType::kTimeMillis;
      out->push_back(e);
      return Status::OK();
    }
    case TypeRoot::kTimestamp:
    case TypeRoot::kTimestampLtz: {
      bool utc = type.root() == TypeRoot::kTimestampLtz;
      int p = type.precision();
      if (p > 6) {
        out->push_back(Primitive(name, PhysicalType::kInt96, nullable, id));
      } else {
        SchemaElement e = Primitive(name, PhysicalType::kInt64, nullable, id);
        Timestamp(&e, p <= 3 ? TimeUnit::kMillis : TimeUnit::kMicros, utc);
        out->push_back(e);
      }
      return Status::OK();
    }
    case TypeRoot::kArray: {
      SchemaElement list = Group(name, rep, 1, id);
      list.logical.kind = LogicalType::Kind::kList;
      list.converted_type = ConvertedType::kList;
      out->push_back(list);
      out->push_back(Group("list", Repetition::kRepeated, 1, std::nullopt));
      return AppendType("element", type.element(), ArrayElementFieldId(base_id, depth + 1), base_id, depth + 1, out,
                        nesting + 1);
    }
    case TypeRoot::kMap:
    case TypeRoot::kMultiset: {
      SchemaElement map = Group(name, rep, 1, id);
      map.logical.kind = LogicalType::Kind::kMap;
      map.converted_type = ConvertedType::kMap;
      out->push_back(map);
      SchemaElement kv = Group("key_value", Repetition::kRepeated, 2, std::nullopt);
      kv.converted_type = ConvertedType::kMapKeyValue;
      out->push_back(kv);
      bool multiset = type.root() == TypeRoot::kMultiset;
      DataType key = (multiset ? type.element() : type.key()).NotNull();
      DataType value = multiset ? DataType::Int().NotNull() : type.value();
      KL_RETURN_IF_ERROR(
          AppendType("key", key, MapKeyFieldId(base_id, depth + 1), base_id, depth + 1, out, nesting + 1));
      return AppendType("value", value, MapValueFieldId(base_id, depth + 1), base_id, depth + 1, out, nesting + 1);
    }
    case TypeRoot::kRow: {
      const auto& fields = type.fields();
      if (fields.empty())
        return Status::InvalidArgument("ROW field \"" + name + "\" has no fields; Parquet groups need one");
      out->push_back(Group(name, rep, static_cast<int>(fields.size()), id));
      // ROW fields carry their own ids and stay at the row's depth (as Java Paimon counts).
      for (const auto& f : fields) KL_RETURN_IF_ERROR(AppendType(f.name, f.type, f.id, f.id, depth, out, nesting + 1));
      return Status::OK();
    }
    case TypeRoot::kInterval: break;  // a value of SQL queries only, not a column type
  }
  return Status::NotSupported("type " + type.ToString());
}

bool IsListAnnotated(const SchemaElement& e) {
  return e.logical.kind == LogicalType::Kind::kList || e.converted_type == ConvertedType::kList;
}

bool IsMapAnnotated(const SchemaElement& e) {
  return e.logical.kind == LogicalType::Kind::kMap || e.converted_type == ConvertedType::kMap ||
         e.converted_type == ConvertedType::kMapKeyValue;
}

// The logical annotation of an element, derived from its legacy converted type when the
// newer LogicalType field is absent (older writers).
LogicalType EffectiveLogical(const SchemaElement& e) {
  using K = LogicalType::Kind;
  LogicalType lt = e.logical;
  if (lt.kind != K::kNone) return lt;
  switch (e.converted_type) {
    case ConvertedType::kUtf8: lt.kind = K::kString; break;
    case ConvertedType::kEnum: lt.kind = K::kEnum; break;
    case ConvertedType::kJson: lt.kind = K::kJson; break;
    case ConvertedType::kDecimal:
      lt.kind = K::kDecimal;
      lt.precision = e.precision;
      lt.scale = e.scale;
      break;
    case ConvertedType::kDate: lt.kind = K::kDate; break;
    case ConvertedType::kTimeMillis:
      lt.kind = K::kTime;
      lt.unit = TimeUnit::kMillis;
      break;
    case ConvertedType::kTimeMicros:
      lt.kind = K::kTime;
      lt.unit = TimeUnit::kMicros;
      break;
    case ConvertedType::kTimestampMillis:
      lt.kind = K::kTimestamp;
      lt.unit = TimeUnit::kMillis;
      break;
    case ConvertedType::kTimestampMicros:
      lt.kind = K::kTimestamp;
      lt.unit = TimeUnit::kMicros;
      break;
    case ConvertedType::kInt8:
      lt.kind = K::kInteger;
      lt.bit_width = 8;
      break;
    case ConvertedType::kInt16:
      lt.kind = K::kInteger;
      lt.bit_width = 16;
      break;
    case ConvertedType::kInt32:
      lt.kind = K::kInteger;
      lt.bit_width = 32;
      break;
    case ConvertedType::kInt64:
      lt.kind = K::kInteger;
      lt.bit_width = 64;
      break;
    case ConvertedType::kUint8:
      lt.kind = K::kInteger;
      lt.bit_width = 8;
      lt.is_signed = false;
      break;
    case ConvertedType::kUint16:
      lt.kind = K::kInteger;
      lt.bit_width = 16;
      lt.is_signed = false;
      break;
    case ConvertedType::kUint32:
      lt.kind = K::kInteger;
      lt.bit_width = 32;
      lt.is_signed = false;
      break;
    case ConvertedType::kUint64:
      lt.kind = K::kInteger;
      lt.bit_width = 64;
      lt.is_signed = false;
      break;
    default: break;
  }
  return lt;
}

Result<std::pair<DataType, LeafConversion>> PrimitiveType(const SchemaElement& e) {
  using K = LogicalType::Kind;
  using C = LeafConversion;
  LogicalType lt = EffectiveLogical(e);
  auto bad = [&](const std::string& why) { return Status::Corruption("column \"" + e.name + "\": " + why); };
  auto decimal = [&](C conv) -> Result<std::pair<DataType, LeafConversion>> {
    if (lt.precision < 1 || lt.precision > 38 || lt.scale < 0 || lt.scale > lt.precision) {
      return bad("DECIMAL(" + std::to_string(lt.precision) + ", " + std::to_string(lt.scale) + ") is out of range");
    }
    return std::make_pair(DataType::Decimal(lt.precision, lt.scale), conv);
  };
  auto timestamp = [&](TimeUnit unit, bool utc) {
    int p = unit == TimeUnit::kMillis ? 3 : unit == TimeUnit::kMicros ? 6 : 9;
    C conv = unit == TimeUnit::kMillis   ? C::kTimestampMillis
             : unit == TimeUnit::kMicros ? C::kTimestampMicros
                                         : C::kTimestampNanos;
    return std::make_pair(utc ? DataType::TimestampLtz(p) : DataType::Timestamp(p), conv);
  };
  switch (*e.type) {
    case PhysicalType::kBoolean: return std::make_pair(DataType::Boolean(), C::kBoolean);
    case PhysicalType::kInt32:
      if (lt.kind == K::kDecimal) return decimal(C::kDecimalInt);
      if (lt.kind == K::kDate) return std::make_pair(DataType::Date(), C::kInt);
      if (lt.kind == K::kTime) return std::make_pair(DataType::Time(3), C::kTimeMillis);
      if (lt.kind == K::kInteger) {
        if (lt.is_signed) {
          if (lt.bit_width == 8) return std::make_pair(DataType::TinyInt(), C::kInt);
          if (lt.bit_width == 16) return std::make_pair(DataType::SmallInt(), C::kInt);
        } else {
          if (lt.bit_width == 8) return std::make_pair(DataType::SmallInt(), C::kInt);
          if (lt.bit_width == 16) return std::make_pair(DataType::Int(), C::kInt);
          return std::make_pair(DataType::BigInt(), C::kUInt32);
        }
      }
      return std::make_pair(DataType::Int(), C::kInt);
    case PhysicalType::kInt64:
      if (lt.kind == K::kDecimal) return decimal(C::kDecimalInt);
      if (lt.kind == K::kTimestamp) return timestamp(lt.unit, lt.adjusted_to_utc);
      if (lt.kind == K::kTime) {
        return std::make_pair(DataType::Time(lt.unit == TimeUnit::kMicros ? 6 : 9),
                              lt.unit == TimeUnit::kMicros ? C::kTimeMicros : C::kTimeNanos);
      }
      return std::make_pair(DataType::BigInt(), C::kInt);
    case PhysicalType::kInt96: return std::make_pair(DataType::Timestamp(9), C::kInt96);
    case PhysicalType::kFloat: return std::make_pair(DataType::Float(), C::kFloat);
    case PhysicalType::kDouble: return std::make_pair(DataType::Double(), C::kDouble);
    case PhysicalType::kByteArray:
      if (lt.kind == K::kDecimal) return decimal(C::kDecimalBytes);
      if (lt.kind == K::kString || lt.kind == K::kEnum || lt.kind == K::kJson) {
        return std::make_pair(DataType::String(), C::kBytes);
      }
      return std::make_pair(DataType::Bytes(), C::kBytes);
    case PhysicalType::kFixedLenByteArray:
      if (e.type_length <= 0) return bad("FIXED_LEN_BYTE_ARRAY without a positive length");
      if (lt.kind == K::kDecimal) {
        if (e.type_length > 16) return bad("decimal stored in more than 16 bytes");
        return decimal(C::kDecimalBytes);
      }
      return std::make_pair(DataType::Binary(e.type_length), C::kBytes);
  }
  return bad("unknown physical type");
}

}  // namespace

int32_t ArrayElementFieldId(int32_t field_id, int depth) {
  return FitId(kStructuredIdBase + int64_t{field_id} * kDepthLimit + depth);
}
int32_t MapKeyFieldId(int32_t field_id, int depth) {
  return FitId(kStructuredIdBase - int64_t{field_id} * kDepthLimit - depth);
}
int32_t MapValueFieldId(int32_t field_id, int depth) {
  return FitId(kStructuredIdBase + int64_t{field_id} * kDepthLimit + depth);
}

Status AppendParquetFields(const DataField& field, std::vector<SchemaElement>* out) {
  return AppendType(field.name, field.type, field.id, field.id, 0, out);
}

Result<std::vector<SchemaElement>> ToParquetSchema(const RowType& row_type) {
  std::vector<SchemaElement> out;
  SchemaElement root;
  root.name = "paimon_schema";
  root.num_children = static_cast<int32_t>(row_type.size());
  out.push_back(root);
  for (const auto& f : row_type.fields()) {
    KL_RETURN_IF_ERROR(AppendParquetFields(f, &out).WithContext("field \"" + f.name + "\""));
  }
  return out;
}

Result<FileSchema> FileSchema::Make(const std::vector<SchemaElement>& elements) {
  FileSchema s;
  if (elements.empty()) return Status::Corruption("empty schema");
  if (elements[0].type) return Status::Corruption("schema root is a primitive");
  s.nodes_.reserve(elements.size());
  // Depth-first layout: each group is followed by its num_children subtrees.
  size_t next = 0;
  std::function<Status(int, int)> build = [&](int parent, int depth) -> Status {
    if (next >= elements.size()) return Status::Corruption("schema ends inside a group");
    if (depth > kMaxSchemaDepth)
      return Status::Corruption("schema nests deeper than " + std::to_string(kMaxSchemaDepth));
    int index = static_cast<int>(s.nodes_.size());
    SchemaNode node;
    node.element = elements[next++];
    node.parent = parent;
    if (parent >= 0) {
      const SchemaNode& p = s.nodes_[parent];
      if (!node.element.repetition)
        return Status::Corruption("schema element \"" + node.element.name + "\" lacks a repetition");
      node.def_level = static_cast<int16_t>(p.def_level + (*node.element.repetition != Repetition::kRequired ? 1 : 0));
      node.rep_level = static_cast<int16_t>(p.rep_level + (*node.element.repetition == Repetition::kRepeated ? 1 : 0));
      node.path = p.path;
      node.path.push_back(node.element.name);
    }
    s.nodes_.push_back(node);
    if (s.nodes_[index].element.type) {
      s.nodes_[index].leaf = static_cast<int>(s.leaves_.size());
      LeafInfo leaf;
      leaf.node = index;
      leaf.max_def = s.nodes_[index].def_level;
      leaf.max_rep = s.nodes_[index].rep_level;
      leaf.physical = *s.nodes_[index].element.type;
      leaf.type_length = s.nodes_[index].element.type_length;
      s.leaves_.push_back(leaf);
      return Status::OK();
    }
    int32_t n = s.nodes_[index].element.num_children;
    if (n <= 0 && parent >= 0)
      return Status::Corruption("group \"" + s.nodes_[index].element.name + "\" has no children");
    if (n < 0 || static_cast<size_t>(n) > elements.size() - next)
      return Status::Corruption("bad child count in schema");
    for (int32_t i = 0; i < n; ++i) {
      s.nodes_[index].children.push_back(static_cast<int>(s.nodes_.size()));
      KL_RETURN_IF_ERROR(build(index, depth + 1));
    }
    return Status::OK();
  };
  KL_RETURN_IF_ERROR(build(-1, 0));
  if (next != elements.size()) return Status::Corruption("schema has elements outside the root");
  KL_RETURN_IF_ERROR(s.Convert());
  return s;
}

Result<DataType> FileSchema::ConvertType(int index, bool* all_ids, int32_t* id) {
  const SchemaNode& node = nodes_[index];
  const SchemaElement& e = node.element;
  *id = e.field_id.value_or(-1);
  if (!e.field_id) *all_ids = false;
  bool nullable = e.repetition == Repetition::kOptional;
  auto fail = [&](const std::string& why) { return Status::Corruption("field \"" + e.name + "\": " + why); };
  int32_t ignored;
  bool ignored_ids = true;
  if (e.repetition == Repetition::kRepeated && node.parent >= 0) {
    const SchemaElement& parent = nodes_[node.parent].element;
    if (!IsListAnnotated(parent) && !IsMapAnnotated(parent)) {
      // A bare repeated field: a list of required elements.
      SchemaNode copy = node;  // convert the element as if it were required
      nodes_[index].element.repetition = Repetition::kRequired;
      Result<DataType> element = ConvertType(index, &ignored_ids, &ignored);
      nodes_[index] = copy;
      if (!element.ok()) return element.status();
      return DataType::Array(*element).NotNull();
    }
  }
  if (e.type) {
    KL_ASSIGN_OR_RETURN(auto converted, PrimitiveType(e));
    if (node.leaf >= 0) leaves_[node.leaf].conversion = converted.second;
    DataType t = converted.first.WithNullable(nullable);
    if (node.leaf >= 0) leaves_[node.leaf].type = t;
    return t;
  }
  if (IsListAnnotated(e)) {
    if (node.children.size() != 1) return fail("LIST group must have one child");
    int r = node.children[0];
    const SchemaNode& rep = nodes_[r];
    if (rep.element.repetition != Repetition::kRepeated) return fail("LIST child is not repeated");
    bool three_level = !rep.element.type && rep.children.size() == 1 && rep.element.name != "array" &&
                       rep.element.name != e.name + "_tuple";
    DataType element;
    if (three_level) {
      KL_ASSIGN_OR_RETURN(element, ConvertType(rep.children[0], &ignored_ids, &ignored));
    } else {
      SchemaNode copy = rep;
      nodes_[r].element.repetition = Repetition::kRequired;
      Result<DataType> el = ConvertType(r, &ignored_ids, &ignored);
      nodes_[r] = copy;
      if (!el.ok()) return el.status();
      element = *el;
    }
    return DataType::Array(element).WithNullable(nullable);
  }
  if (IsMapAnnotated(e) && node.children.size() == 1 && !nodes_[node.children[0]].element.type) {
    const SchemaNode& kv = nodes_[node.children[0]];
    if (kv.element.repetition != Repetition::kRepeated) return fail("MAP child is not repeated");
    if (kv.children.size() != 2) return fail("MAP key_value group must have a key and a value");
    KL_ASSIGN_OR_RETURN(DataType key, ConvertType(kv.children[0], &ignored_ids, &ignored));
    KL_ASSIGN_OR_RETURN(DataType value, ConvertType(kv.children[1], &ignored_ids, &ignored));
    return DataType::Map(key, value).WithNullable(nullable);
  }
  std::vector<DataField> fields;
  for (size_t i = 0; i < node.children.size(); ++i) {
    int c = node.children[i];
    DataField f;
    f.name = nodes_[c].element.name;
    bool child_ids = true;
    KL_ASSIGN_OR_RETURN(f.type, ConvertType(c, &child_ids, &f.id));
    if (f.id < 0) f.id = static_cast<int32_t>(i);
    fields.push_back(std::move(f));
  }
  return DataType::Row(std::move(fields)).WithNullable(nullable);
}

Result<LevelNode> FileSchema::BuildLevels(int index, bool as_required) {
  const SchemaNode& node = nodes_[index];
  const SchemaElement& e = node.element;
  LevelNode out;
  out.first_leaf = static_cast<int>(leaves_.size());
  // leaves below: find by scanning the subtree
  std::function<void(int, int*, int*)> span = [&](int n, int* lo, int* hi) {
    if (nodes_[n].leaf >= 0) {
      *lo = std::min(*lo, nodes_[n].leaf);
      *hi = std::max(*hi, nodes_[n].leaf + 1);
    }
    for (int c : nodes_[n].children) span(c, lo, hi);
  };
  int lo = static_cast<int>(leaves_.size()), hi = -1;
  span(index, &lo, &hi);
  out.first_leaf = lo;
  out.leaf_end = hi;
  out.def = node.def_level;
  out.nullable = !as_required && e.repetition == Repetition::kOptional;
  bool bare_repeated = !as_required && e.repetition == Repetition::kRepeated && node.parent >= 0 &&
                       !IsListAnnotated(nodes_[node.parent].element) && !IsMapAnnotated(nodes_[node.parent].element);
  if (bare_repeated) {
    out.kind = LevelNode::Kind::kList;
    out.nullable = false;
    out.def = static_cast<int16_t>(node.def_level - 1);
    out.repeated_def = node.def_level;
    out.rep = node.rep_level;
    KL_ASSIGN_OR_RETURN(LevelNode element, BuildLevels(index, true));
    out.children.push_back(std::move(element));
    return out;
  }
  if (e.type) {
    out.kind = LevelNode::Kind::kLeaf;
    out.leaf = node.leaf;
    return out;
  }
  if (IsListAnnotated(e)) {
    int r = node.children[0];
    const SchemaNode& rep = nodes_[r];
    bool three_level = !rep.element.type && rep.children.size() == 1 && rep.element.name != "array" &&
                       rep.element.name != e.name + "_tuple";
    out.kind = LevelNode::Kind::kList;
    out.repeated_def = rep.def_level;
    out.rep = rep.rep_level;
    KL_ASSIGN_OR_RETURN(LevelNode element, three_level ? BuildLevels(rep.children[0], false) : BuildLevels(r, true));
    out.children.push_back(std::move(element));
    return out;
  }
  if (IsMapAnnotated(e) && node.children.size() == 1 && !nodes_[node.children[0]].element.type) {
    const SchemaNode& kv = nodes_[node.children[0]];
    out.kind = LevelNode::Kind::kMap;
    out.repeated_def = kv.def_level;
    out.rep = kv.rep_level;
    for (int c : kv.children) {
      KL_ASSIGN_OR_RETURN(LevelNode child, BuildLevels(c, false));
      out.children.push_back(std::move(child));
    }
    return out;
  }
  out.kind = LevelNode::Kind::kRow;
  for (int c : node.children) {
    KL_ASSIGN_OR_RETURN(LevelNode child, BuildLevels(c, false));
    out.children.push_back(std::move(child));
  }
  return out;
}

Status FileSchema::Convert() {
  std::vector<DataField> fields;
  has_field_ids_ = !nodes_[0].children.empty();
  for (size_t i = 0; i < nodes_[0].children.size(); ++i) {
    int c = nodes_[0].children[i];
    top_level_.push_back(c);
    DataField f;
    f.name = nodes_[c].element.name;
    bool ids = true;
    KL_ASSIGN_OR_RETURN(f.type, ConvertType(c, &ids, &f.id));
    if (!nodes_[c].element.field_id) {
      has_field_ids_ = false;
      f.id = static_cast<int32_t>(i);
    }
    fields.push_back(std::move(f));
    KL_ASSIGN_OR_RETURN(LevelNode levels, BuildLevels(c, false));
    level_trees_.push_back(std::move(levels));
  }
  for (size_t t = 0; t < top_level_.size(); ++t) {
    for (int l = level_trees_[t].first_leaf; l < level_trees_[t].leaf_end; ++l)
      leaves_[l].top_level = static_cast<int>(t);
  }
  for (const auto& leaf : leaves_) {
    if (leaf.top_level < 0) return Status::Corruption("leaf column outside every field");
  }
  row_type_ = RowType(std::move(fields));
  return Status::OK();
}

}  // namespace kl::format::parquet
