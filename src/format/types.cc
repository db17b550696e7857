#include "format/types.h"

#include <cctype>

#include "common/string_util.h"

namespace kl::format {
namespace {

const std::vector<DataField>& EmptyFields() {
  static const std::vector<DataField> empty;
  return empty;
}

const DataType& IntType() {
  static const DataType t = DataType::Int();
  return t;
}

// A recursive-descent parser over Paimon's type spelling.
class TypeParser {
 public:
  explicit TypeParser(std::string_view text) : text_(text) {}

  Result<DataType> ParseAll() {
    KL_ASSIGN_OR_RETURN(DataType t, ParseType());
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after type");
    return t;
  }

 private:
  Status Error(std::string_view what) const {
    return Status::InvalidArgument("cannot parse type \"" + std::string(text_) + "\" at position " +
                                   std::to_string(pos_) + ": " + std::string(what));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  std::string Word() {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) ++pos_;
    return ToUpper(text_.substr(start, pos_ - start));
  }

  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool PeekWord(std::string_view word) {
    size_t saved = pos_;
    std::string w = Word();
    pos_ = saved;
    return w == word;
  }

  Result<int> Number() {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    auto v = ParseInt64(text_.substr(start, pos_ - start));
    if (!v || *v > DataType::kMaxLength) return Error("expected a number");
    return static_cast<int>(*v);
  }

  // "(n)" if present, else `fallback`.
  Result<int> OptionalParam(int fallback) {
    if (!Consume('(')) return fallback;
    KL_ASSIGN_OR_RETURN(int n, Number());
    if (!Consume(')')) return Error("expected ')'");
    return n;
  }

  Result<std::string> FieldName() {
    SkipSpace();
    if (Consume('`')) {
      std::string name;
      while (pos_ < text_.size()) {
        if (text_[pos_] == '`') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '`') {
            name += '`';
            pos_ += 2;
            continue;
          }
          ++pos_;
          return name;
        }
        name += text_[pos_++];
      }
      return Error("unterminated field name");
    }
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) ++pos_;
    if (start == pos_) return Error("expected a field name");
    return std::string(text_.substr(start, pos_ - start));
  }

  Result<DataType> ParseType() {
    std::string word = Word();
    if (word.empty()) return Error("expected a type name");
    DataType t;
    if (word == "BOOLEAN")
      t = DataType::Boolean();
    else if (word == "TINYINT")
      t = DataType::TinyInt();
    else if (word == "SMALLINT")
      t = DataType::SmallInt();
    else if (word == "INT" || word == "INTEGER")
      t = DataType::Int();
    else if (word == "BIGINT")
      t = DataType::BigInt();
    else if (word == "FLOAT")
      t = DataType::Float();
    else if (word == "DOUBLE") {
      if (PeekWord("PRECISION")) Word();
      t = DataType::Double();
    } else if (word == "DECIMAL" || word == "DEC" || word == "NUMERIC") {
      int p = 10, s = 0;
      if (Consume('(')) {
        KL_ASSIGN_OR_RETURN(p, Number());
        if (Consume(',')) {
          KL_ASSIGN_OR_RETURN(s, Number());
        }
        if (!Consume(')')) return Error("expected ')'");
      }
      if (p < 1 || p > 38 || s < 0 || s > p) return Error("DECIMAL precision must be 1..38 and scale 0..precision");
      t = DataType::Decimal(p, s);
    } else if (word == "CHAR") {
      KL_ASSIGN_OR_RETURN(int n, OptionalParam(1));
      t = DataType::Char(n);
    } else if (word == "VARCHAR") {
      KL_ASSIGN_OR_RETURN(int n, OptionalParam(1));
      t = DataType::VarChar(n);
    } else if (word == "STRING") {
      t = DataType::String();
    } else if (word == "BINARY") {
      KL_ASSIGN_OR_RETURN(int n, OptionalParam(1));
      t = DataType::Binary(n);
    } else if (word == "VARBINARY") {
      KL_ASSIGN_OR_RETURN(int n, OptionalParam(1));
      t = DataType::VarBinary(n);
    } else if (word == "BYTES") {
      t = DataType::Bytes();
    } else if (word == "DATE") {
      t = DataType::Date();
    } else if (word == "TIME") {
      KL_ASSIGN_OR_RETURN(int p, OptionalParam(0));
      if (PeekWord("WITHOUT")) {
        Word();
        Word();
        Word();  // WITHOUT TIME ZONE
      }
      t = DataType::Time(p);
    } else if (word == "TIMESTAMP" || word == "TIMESTAMP_LTZ") {
      KL_ASSIGN_OR_RETURN(int p, OptionalParam(6));
      if (p < 0 || p > 9) return Error("TIMESTAMP precision must be 0..9");
      bool ltz = word == "TIMESTAMP_LTZ";
      if (PeekWord("WITH")) {
        Word();
        if (Word() != "LOCAL") return Error("expected WITH LOCAL TIME ZONE");
        if (Word() != "TIME" || Word() != "ZONE") return Error("expected WITH LOCAL TIME ZONE");
        ltz = true;
      } else if (PeekWord("WITHOUT")) {
        Word();
        Word();
        Word();
      }
      t = ltz ? DataType::TimestampLtz(p) : DataType::Timestamp(p);
    } else if (word == "ARRAY" || word == "MULTISET") {
      if (!Consume('<')) return Error("expected '<'");
      KL_ASSIGN_OR_RETURN(DataType element, ParseType());
      if (!Consume('>')) return Error("expected '>'");
      t = word == "ARRAY" ? DataType::Array(element) : DataType::Multiset(element);
    } else if (word == "MAP") {
      if (!Consume('<')) return Error("expected '<'");
      KL_ASSIGN_OR_RETURN(DataType key, ParseType());
      if (!Consume(',')) return Error("expected ','");
      KL_ASSIGN_OR_RETURN(DataType value, ParseType());
      if (!Consume('>')) return Error("expected '>'");
      t = DataType::Map(key, value);
    } else if (word == "ROW") {
      std::vector<DataField> fields;
      char close = Consume('<') ? '>' : (Consume('(') ? ')' : 0);
      if (close == 0) return Error("expected '<' after ROW");
      if (!Consume(close)) {
        do {
          DataField f;
          f.id = static_cast<int32_t>(fields.size());
          KL_ASSIGN_OR_RETURN(f.name, FieldName());
          KL_ASSIGN_OR_RETURN(f.type, ParseType());
          SkipSpace();
          if (pos_ < text_.size() && text_[pos_] == '\'') {
            ++pos_;
            while (pos_ < text_.size()) {
              if (text_[pos_] == '\'') {
                if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '\'') {
                  f.description += '\'';
                  pos_ += 2;
                  continue;
                }
                ++pos_;
                break;
              }
              f.description += text_[pos_++];
            }
          }
          fields.push_back(std::move(f));
        } while (Consume(','));
        if (!Consume(close)) return Error("expected end of ROW");
      }
      t = DataType::Row(std::move(fields));
    } else {
      return Error("unknown type " + word);
    }
    if (PeekWord("NOT")) {
      Word();
      if (Word() != "NULL") return Error("expected NOT NULL");
      t = t.WithNullable(false);
    } else if (PeekWord("NULL")) {
      Word();
    }
    return t;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

std::string QuoteName(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  out += '`';
  return out;
}

}  // namespace

DataType DataType::Decimal(int precision, int scale) {
  DataType t(TypeRoot::kDecimal);
  t.precision_ = precision;
  t.scale_ = scale;
  return t;
}

DataType DataType::Char(int length) {
  DataType t(TypeRoot::kChar);
  t.length_ = length;
  return t;
}

DataType DataType::VarChar(int length) {
  DataType t(TypeRoot::kVarChar);
  t.length_ = length;
  return t;
}

DataType DataType::Binary(int length) {
  DataType t(TypeRoot::kBinary);
  t.length_ = length;
  return t;
}

DataType DataType::VarBinary(int length) {
  DataType t(TypeRoot::kVarBinary);
  t.length_ = length;
  return t;
}

DataType DataType::Time(int precision) {
  DataType t(TypeRoot::kTime);
  t.precision_ = precision;
  return t;
}

DataType DataType::Timestamp(int precision) {
  DataType t(TypeRoot::kTimestamp);
  t.precision_ = precision;
  return t;
}

DataType DataType::TimestampLtz(int precision) {
  DataType t(TypeRoot::kTimestampLtz);
  t.precision_ = precision;
  return t;
}

DataType DataType::Array(DataType element) {
  DataType t(TypeRoot::kArray);
  t.children_ = std::make_shared<const std::vector<DataType>>(std::vector<DataType>{std::move(element)});
  return t;
}

DataType DataType::Multiset(DataType element) {
  DataType t(TypeRoot::kMultiset);
  t.children_ = std::make_shared<const std::vector<DataType>>(std::vector<DataType>{std::move(element)});
  return t;
}

DataType DataType::Map(DataType key, DataType value) {
  DataType t(TypeRoot::kMap);
  t.children_ = std::make_shared<const std::vector<DataType>>(std::vector<DataType>{std::move(key), std::move(value)});
  return t;
}

DataType DataType::Row(std::vector<DataField> fields) {
  DataType t(TypeRoot::kRow);
  t.fields_ = std::make_shared<const std::vector<DataField>>(std::move(fields));
  return t;
}

DataType DataType::WithNullable(bool nullable) const {
  DataType t = *this;
  t.nullable_ = nullable;
  return t;
}

const DataType& DataType::element() const { return children_ && !children_->empty() ? (*children_)[0] : IntType(); }
const DataType& DataType::key() const { return children_ && !children_->empty() ? (*children_)[0] : IntType(); }
const DataType& DataType::value() const { return children_ && children_->size() > 1 ? (*children_)[1] : IntType(); }
const std::vector<DataField>& DataType::fields() const { return fields_ ? *fields_ : EmptyFields(); }

PhysicalKind DataType::physical() const {
  switch (root_) {
    case TypeRoot::kBoolean:
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kBigInt:
    case TypeRoot::kDate:
    case TypeRoot::kTime: return PhysicalKind::kInt;
    case TypeRoot::kFloat:
    case TypeRoot::kDouble: return PhysicalKind::kDouble;
    case TypeRoot::kChar:
    case TypeRoot::kVarChar:
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary: return PhysicalKind::kBytes;
    case TypeRoot::kDecimal:
    case TypeRoot::kInterval: return PhysicalKind::kDecimal;
    case TypeRoot::kTimestamp:
    case TypeRoot::kTimestampLtz: return PhysicalKind::kTimestamp;
    case TypeRoot::kArray:
    case TypeRoot::kMap:
    case TypeRoot::kMultiset:
    case TypeRoot::kRow: return PhysicalKind::kNested;
  }
  return PhysicalKind::kInt;
}

bool DataType::is_integer() const {
  return root_ == TypeRoot::kTinyInt || root_ == TypeRoot::kSmallInt || root_ == TypeRoot::kInt ||
         root_ == TypeRoot::kBigInt;
}

std::string DataType::ToString() const {
  std::string s;
  switch (root_) {
    case TypeRoot::kBoolean: s = "BOOLEAN"; break;
    case TypeRoot::kTinyInt: s = "TINYINT"; break;
    case TypeRoot::kSmallInt: s = "SMALLINT"; break;
    case TypeRoot::kInt: s = "INT"; break;
    case TypeRoot::kBigInt: s = "BIGINT"; break;
    case TypeRoot::kFloat: s = "FLOAT"; break;
    case TypeRoot::kDouble: s = "DOUBLE"; break;
    case TypeRoot::kDecimal: s = "DECIMAL(" + std::to_string(precision_) + ", " + std::to_string(scale_) + ")"; break;
    case TypeRoot::kChar: s = "CHAR(" + std::to_string(length_) + ")"; break;
    case TypeRoot::kVarChar: s = length_ == kMaxLength ? "STRING" : "VARCHAR(" + std::to_string(length_) + ")"; break;
    case TypeRoot::kBinary: s = "BINARY(" + std::to_string(length_) + ")"; break;
    case TypeRoot::kVarBinary:
      s = length_ == kMaxLength ? "BYTES" : "VARBINARY(" + std::to_string(length_) + ")";
      break;
    case TypeRoot::kDate: s = "DATE"; break;
    case TypeRoot::kTime: s = "TIME(" + std::to_string(precision_) + ")"; break;
    case TypeRoot::kTimestamp: s = "TIMESTAMP(" + std::to_string(precision_) + ")"; break;
    case TypeRoot::kTimestampLtz: s = "TIMESTAMP(" + std::to_string(precision_) + ") WITH LOCAL TIME ZONE"; break;
    case TypeRoot::kArray: s = "ARRAY<" + element().ToString() + ">"; break;
    case TypeRoot::kMultiset: s = "MULTISET<" + element().ToString() + ">"; break;
    case TypeRoot::kMap: s = "MAP<" + key().ToString() + ", " + value().ToString() + ">"; break;
    case TypeRoot::kInterval: s = "INTERVAL"; break;
    case TypeRoot::kRow: {
      s = "ROW<";
      for (size_t i = 0; i < fields().size(); ++i) {
        if (i > 0) s += ", ";
        s += QuoteName(fields()[i].name) + " " + fields()[i].type.ToString();
      }
      s += ">";
      break;
    }
  }
  if (!nullable_) s += " NOT NULL";
  return s;
}

JsonValue DataType::ToJson() const {
  std::string suffix = nullable_ ? "" : " NOT NULL";
  switch (root_) {
    case TypeRoot::kArray:
    case TypeRoot::kMultiset:
      return JsonValue::Object(
          {{"type", JsonValue::String((root_ == TypeRoot::kArray ? "ARRAY" : "MULTISET") + suffix)},
           {"element", element().ToJson()}});
    case TypeRoot::kMap:
      return JsonValue::Object(
          {{"type", JsonValue::String("MAP" + suffix)}, {"key", key().ToJson()}, {"value", value().ToJson()}});
    case TypeRoot::kRow: {
      std::vector<JsonValue> fields_json;
      for (const auto& f : fields()) fields_json.push_back(f.ToJson());
      return JsonValue::Object(
          {{"type", JsonValue::String("ROW" + suffix)}, {"fields", JsonValue::Array(std::move(fields_json))}});
    }
    default: return JsonValue::String(ToString());
  }
}

Result<DataType> DataType::FromJson(const JsonValue& json) {
  if (json.is_string()) return Parse(json.as_string());
  if (!json.is_object()) return Status::Corruption("a data type must be a string or an object");
  KL_ASSIGN_OR_RETURN(std::string type_name, json.GetString("type"));
  std::string upper = ToUpper(Trim(type_name));
  bool nullable = true;
  if (upper.size() > 9 && upper.compare(upper.size() - 9, 9, " NOT NULL") == 0) {
    nullable = false;
    upper = std::string(Trim(upper.substr(0, upper.size() - 9)));
  }
  DataType t;
  if (upper == "ARRAY" || upper == "MULTISET") {
    const JsonValue* element = json.Find("element");
    if (element == nullptr) return Status::Corruption(upper + " type without \"element\"");
    KL_ASSIGN_OR_RETURN(DataType e, FromJson(*element));
    t = upper == "ARRAY" ? Array(e) : Multiset(e);
  } else if (upper == "MAP") {
    const JsonValue* key = json.Find("key");
    const JsonValue* value = json.Find("value");
    if (key == nullptr || value == nullptr) return Status::Corruption("MAP type without \"key\" and \"value\"");
    KL_ASSIGN_OR_RETURN(DataType k, FromJson(*key));
    KL_ASSIGN_OR_RETURN(DataType v, FromJson(*value));
    t = Map(k, v);
  } else if (upper == "ROW") {
    const JsonValue* fields = json.Find("fields");
    if (fields == nullptr || !fields->is_array()) return Status::Corruption("ROW type without \"fields\"");
    std::vector<DataField> out;
    for (const auto& f : fields->items()) {
      KL_ASSIGN_OR_RETURN(DataField field, DataField::FromJson(f));
      out.push_back(std::move(field));
    }
    t = Row(std::move(out));
  } else {
    return Parse(type_name);
  }
  return t.WithNullable(nullable);
}

Result<DataType> DataType::Parse(std::string_view text) { return TypeParser(text).ParseAll(); }

bool DataType::operator==(const DataType& other) const {
  return nullable_ == other.nullable_ && EqualsIgnoreNullable(other);
}

bool DataType::EqualsIgnoreNullable(const DataType& other) const {
  if (root_ != other.root_ || length_ != other.length_ || precision_ != other.precision_ || scale_ != other.scale_) {
    return false;
  }
  size_t n = children_ ? children_->size() : 0;
  size_t m = other.children_ ? other.children_->size() : 0;
  if (n != m) return false;
  for (size_t i = 0; i < n; ++i) {
    if (!((*children_)[i] == (*other.children_)[i])) return false;
  }
  return fields() == other.fields();
}

JsonValue DataField::ToJson() const {
  JsonValue::Members m{{"id", JsonValue::Int(id)}, {"name", JsonValue::String(name)}, {"type", type.ToJson()}};
  if (!description.empty()) m.emplace_back("description", JsonValue::String(description));
  return JsonValue::Object(std::move(m));
}

Result<DataField> DataField::FromJson(const JsonValue& json) {
  DataField f;
  KL_ASSIGN_OR_RETURN(int64_t id, json.GetInt("id"));
  f.id = static_cast<int32_t>(id);
  KL_ASSIGN_OR_RETURN(f.name, json.GetString("name"));
  const JsonValue* type = json.Find("type");
  if (type == nullptr) return Status::Corruption("field \"" + f.name + "\" has no type");
  auto t = DataType::FromJson(*type);
  if (!t.ok()) return t.status().WithContext("field \"" + f.name + "\"");
  f.type = std::move(t).value();
  f.description = json.GetStringOr("description", "");
  return f;
}

int RowType::IndexOf(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int RowType::IndexOfId(int32_t id) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

std::vector<std::string> RowType::names() const {
  std::vector<std::string> out;
  out.reserve(fields_.size());
  for (const auto& f : fields_) out.push_back(f.name);
  return out;
}

RowType RowType::Project(const std::vector<int>& indexes) const {
  std::vector<DataField> out;
  out.reserve(indexes.size());
  for (int i : indexes) out.push_back(fields_[static_cast<size_t>(i)]);
  return RowType(std::move(out));
}

}  // namespace kl::format
