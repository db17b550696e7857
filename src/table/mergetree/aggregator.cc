#include "table/mergetree/aggregator.h"

#include <roaring/roaring.h>

#include <algorithm>
#include <set>

#include "common/string_util.h"

namespace kl::table {

using format::DataType;
using format::Datum;
using format::Int128;
using format::TypeRoot;

Status FieldAggregator::Retract(Datum*, const Datum&, bool) {
  return Status::NotSupported("aggregate function " + std::string(name()) +
                              " cannot take back a retracted (-U/-D) value that meets other records of its key;"
                              " set fields.<column>.ignore-retract = true to drop retractions");
}

namespace {

// Integer results wrap to the column width, as Java's narrowing casts do.
int64_t WrapToType(int64_t v, TypeRoot root) {
  switch (root) {
    case TypeRoot::kTinyInt: return static_cast<int8_t>(v);
    case TypeRoot::kSmallInt: return static_cast<int16_t>(v);
    case TypeRoot::kInt: return static_cast<int32_t>(v);
    default: return v;
  }
}

enum class Arith { kAdd, kSub, kMul, kDiv };

Result<Datum> Arithmetic(const Datum& a, const Datum& b, const DataType& type, Arith op) {
  switch (type.physical()) {
    case format::PhysicalKind::kInt: {
      int64_t x = a.as_int(), y = b.as_int(), r = 0;
      switch (op) {
        case Arith::kAdd: r = static_cast<int64_t>(static_cast<uint64_t>(x) + static_cast<uint64_t>(y)); break;
        case Arith::kSub: r = static_cast<int64_t>(static_cast<uint64_t>(x) - static_cast<uint64_t>(y)); break;
        case Arith::kMul: r = static_cast<int64_t>(static_cast<uint64_t>(x) * static_cast<uint64_t>(y)); break;
        case Arith::kDiv:
          if (y == 0) return Status::InvalidArgument("division by zero while retracting a product");
          r = (x == INT64_MIN && y == -1) ? x : x / y;
          break;
      }
      return Datum::Int(WrapToType(r, type.root()));
    }
    case format::PhysicalKind::kDouble: {
      double x = a.as_double(), y = b.as_double(), r = 0;
      switch (op) {
        case Arith::kAdd: r = x + y; break;
        case Arith::kSub: r = x - y; break;
        case Arith::kMul: r = x * y; break;
        case Arith::kDiv: r = x / y; break;
      }
      if (type.root() == TypeRoot::kFloat) r = static_cast<float>(r);
      return Datum::Double(r);
    }
    case format::PhysicalKind::kDecimal: {
      Int128 x = a.as_decimal(), y = b.as_decimal();
      switch (op) {
        case Arith::kAdd: return Datum::Decimal(x + y);
        case Arith::kSub: return Datum::Decimal(x - y);
        case Arith::kMul: {
          Int128 scale = 1;
          for (int i = 0; i < type.scale(); ++i) scale *= 10;
          return Datum::Decimal(x * y / scale);
        }
        case Arith::kDiv: {
          if (y == 0) return Status::InvalidArgument("division by zero while retracting a product");
          Int128 scale = 1;
          for (int i = 0; i < type.scale(); ++i) scale *= 10;
          return Datum::Decimal(x * scale / y);
        }
      }
      break;
    }
    default: break;
  }
  return Status::InvalidArgument("type " + type.ToString() + " is not numeric");
}

Datum Negate(const Datum& v, const DataType& type) {
  switch (type.physical()) {
    case format::PhysicalKind::kInt:
      return Datum::Int(WrapToType(static_cast<int64_t>(0 - static_cast<uint64_t>(v.as_int())), type.root()));
    case format::PhysicalKind::kDouble: return Datum::Double(-v.as_double());
    case format::PhysicalKind::kDecimal: return Datum::Decimal(-v.as_decimal());
    default: return v;
  }
}

bool IsNumeric(const DataType& t) {
  return t.is_integer() || t.root() == TypeRoot::kFloat || t.root() == TypeRoot::kDouble ||
         t.root() == TypeRoot::kDecimal;
}

class SumAgg : public FieldAggregator {
 public:
  explicit SumAgg(DataType type) : type_(std::move(type)) {}
  std::string_view name() const override { return "sum"; }
  bool can_retract() const override { return true; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    if (in.is_null()) return Status::OK();
    if (acc->is_null()) {
      *acc = in;
      return Status::OK();
    }
    KL_ASSIGN_OR_RETURN(*acc, Arithmetic(*acc, in, type_, Arith::kAdd));
    return Status::OK();
  }
  Status Retract(Datum* acc, const Datum& in, bool) override {
    if (in.is_null()) return Status::OK();
    if (acc->is_null()) {
      *acc = Negate(in, type_);
      return Status::OK();
    }
    KL_ASSIGN_OR_RETURN(*acc, Arithmetic(*acc, in, type_, Arith::kSub));
    return Status::OK();
  }

 private:
  DataType type_;
};

class ProductAgg : public FieldAggregator {
 public:
  explicit ProductAgg(DataType type) : type_(std::move(type)) {}
  std::string_view name() const override { return "product"; }
  bool can_retract() const override { return true; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    if (in.is_null()) return Status::OK();
    if (acc->is_null()) {
      *acc = in;
      return Status::OK();
    }
    KL_ASSIGN_OR_RETURN(*acc, Arithmetic(*acc, in, type_, Arith::kMul));
    return Status::OK();
  }
  Status Retract(Datum* acc, const Datum& in, bool) override {
    if (in.is_null()) return Status::OK();
    if (acc->is_null()) return Status::OK();
    KL_ASSIGN_OR_RETURN(*acc, Arithmetic(*acc, in, type_, Arith::kDiv));
    return Status::OK();
  }

 private:
  DataType type_;
};

// Counts non-null raw input values. A stored (already merged) value is a
// count itself and is added, which keeps the count exact across compactions.
class CountAgg : public FieldAggregator {
 public:
  explicit CountAgg(DataType type) : type_(std::move(type)) {}
  std::string_view name() const override { return "count"; }
  bool can_retract() const override { return true; }
  Status Agg(Datum* acc, const Datum& in, bool merged_input) override { return Add(acc, in, merged_input, 1); }
  Status Retract(Datum* acc, const Datum& in, bool merged_input) override { return Add(acc, in, merged_input, -1); }

 private:
  Status Add(Datum* acc, const Datum& in, bool merged_input, int64_t sign) {
    int64_t contribution = in.is_null() ? 0 : (merged_input ? in.as_int() : 1);
    int64_t base = acc->is_null() ? 0 : acc->as_int();
    *acc = Datum::Int(WrapToType(base + sign * contribution, type_.root()));
    return Status::OK();
  }
  DataType type_;
};

class MinMaxAgg : public FieldAggregator {
 public:
  explicit MinMaxAgg(bool is_max) : is_max_(is_max) {}
  std::string_view name() const override { return is_max_ ? "max" : "min"; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    if (in.is_null()) return Status::OK();
    int c = acc->is_null() ? 1 : format::CompareDatum(in, *acc);
    if (acc->is_null() || (is_max_ ? c > 0 : c < 0)) *acc = in;
    return Status::OK();
  }

 private:
  bool is_max_;
};

class LastValueAgg : public FieldAggregator {
 public:
  std::string_view name() const override { return "last_value"; }
  bool can_retract() const override { return true; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    *acc = in;
    return Status::OK();
  }
  Status AggReversed(Datum*, const Datum&, bool) override { return Status::OK(); }  // older: the last stays
  Status Retract(Datum* acc, const Datum&, bool) override {
    *acc = Datum();
    return Status::OK();
  }
};

class LastNonNullValueAgg : public FieldAggregator {
 public:
  std::string_view name() const override { return "last_non_null_value"; }
  bool can_retract() const override { return true; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    if (!in.is_null()) *acc = in;
    return Status::OK();
  }
  Status AggReversed(Datum* acc, const Datum& in, bool) override {
    if (acc->is_null()) *acc = in;
    return Status::OK();
  }
  Status Retract(Datum* acc, const Datum& in, bool) override {
    if (!in.is_null()) *acc = Datum();
    return Status::OK();
  }
};

class FirstValueAgg : public FieldAggregator {
 public:
  std::string_view name() const override { return "first_value"; }
  void Reset() override { initialized_ = false; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    if (!initialized_) {
      *acc = in;
      initialized_ = true;
    }
    return Status::OK();
  }
  // An older input comes first.
  Status AggReversed(Datum* acc, const Datum& in, bool) override {
    *acc = in;
    initialized_ = true;
    return Status::OK();
  }

 private:
  bool initialized_ = false;
};

class FirstNonNullValueAgg : public FieldAggregator {
 public:
  std::string_view name() const override { return "first_non_null_value"; }
  void Reset() override { initialized_ = false; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    if (!initialized_ && !in.is_null()) {
      *acc = in;
      initialized_ = true;
    }
    return Status::OK();
  }
  Status AggReversed(Datum* acc, const Datum& in, bool) override {
    if (!in.is_null()) {
      *acc = in;
      initialized_ = true;
    }
    return Status::OK();
  }

 private:
  bool initialized_ = false;
};

// Paimon's listagg: blank inputs add nothing, a blank accumulator is replaced; with
// `distinct`, an input's tokens that the accumulator already holds (or that are blank)
// are skipped. Tokens are compared as they are, not trimmed.
class ListAggAgg : public FieldAggregator {
 public:
  ListAggAgg(std::string delimiter, bool distinct)
      : delimiter_(delimiter.empty() ? " " : std::move(delimiter)), distinct_(distinct) {}
  std::string_view name() const override { return "listagg"; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    if (in.is_null() || IsBlank(in.as_bytes())) return Status::OK();
    if (acc->is_null() || IsBlank(acc->as_bytes())) {
      *acc = in;
      return Status::OK();
    }
    if (!distinct_) {
      *acc = Datum::Bytes(acc->as_bytes() + delimiter_ + in.as_bytes());
      return Status::OK();
    }
    std::vector<std::string_view> held = SplitTokens(acc->as_bytes());
    std::set<std::string_view> seen(held.begin(), held.end());
    std::string out = acc->as_bytes();
    for (std::string_view token : SplitTokens(in.as_bytes())) {
      if (IsBlank(token) || !seen.insert(token).second) continue;
      out += delimiter_;
      out += token;
    }
    *acc = Datum::Bytes(std::move(out));
    return Status::OK();
  }
  // An older input goes in front.
  Status AggReversed(Datum* acc, const Datum& in, bool merged) override {
    if (in.is_null() || acc->is_null()) return Agg(acc, in, merged);
    Datum older = in;
    KL_RETURN_IF_ERROR(Agg(&older, *acc, merged));
    *acc = std::move(older);
    return Status::OK();
  }

 private:
  // Java's Character.isWhitespace over ASCII, as StringUtils.isBlank uses it.
  static bool IsBlank(std::string_view s) {
    for (unsigned char c : s) {
      if (!(c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f))) return false;
    }
    return true;
  }
  // Splits at every whole delimiter, keeping empty tokens (they are skipped as blank).
  std::vector<std::string_view> SplitTokens(std::string_view s) const {
    std::vector<std::string_view> tokens;
    size_t start = 0;
    while (start < s.size()) {
      size_t pos = s.find(delimiter_, start);
      if (pos == std::string_view::npos) {
        tokens.push_back(s.substr(start));
        break;
      }
      tokens.push_back(s.substr(start, pos - start));
      start = pos + delimiter_.size();
    }
    return tokens;
  }

  std::string delimiter_;
  bool distinct_;
};

class BoolAgg : public FieldAggregator {
 public:
  explicit BoolAgg(bool is_and) : is_and_(is_and) {}
  std::string_view name() const override { return is_and_ ? "bool_and" : "bool_or"; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    if (in.is_null()) return Status::OK();
    if (acc->is_null()) {
      *acc = in;
      return Status::OK();
    }
    bool a = acc->as_int() != 0, b = in.as_int() != 0;
    *acc = Datum::Bool(is_and_ ? (a && b) : (a || b));
    return Status::OK();
  }

 private:
  bool is_and_;
};

// Paimon's collect: the elements of every input, in one array (distinct: each once).
// Paimon keeps distinct elements in a hash set, so its order is unspecified; here the
// first occurrence's. Retraction removes one element per retracted one.
class CollectAgg : public FieldAggregator {
 public:
  explicit CollectAgg(bool distinct) : distinct_(distinct) {}
  std::string_view name() const override { return "collect"; }
  bool can_retract() const override { return true; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    if (acc->is_null() && in.is_null()) return Status::OK();
    if ((acc->is_null() || in.is_null()) && !distinct_) {
      if (acc->is_null()) *acc = in;
      return Status::OK();
    }
    format::DatumList out = acc->is_null() ? format::DatumList{} : acc->as_list();
    if (!in.is_null()) {
      for (const Datum& e : in.as_list()) {
        if (distinct_ && std::find(out.begin(), out.end(), e) != out.end()) continue;
        out.push_back(e);
      }
    }
    *acc = Datum::List(std::move(out));
    return Status::OK();
  }
  // As Paimon: an older input is appended like a newer one.
  Status AggReversed(Datum* acc, const Datum& in, bool merged) override { return Agg(acc, in, merged); }
  Status Retract(Datum* acc, const Datum& in, bool) override {
    if (acc->is_null() || in.is_null() || in.as_list().empty()) return Status::OK();
    format::DatumList retracted = in.as_list();
    format::DatumList out;
    for (const Datum& e : acc->as_list()) {
      auto it = std::find(retracted.begin(), retracted.end(), e);
      if (it != retracted.end()) {
        retracted.erase(it);
      } else {
        out.push_back(e);
      }
    }
    *acc = Datum::List(std::move(out));
    return Status::OK();
  }

 private:
  bool distinct_;
};

// Paimon's merge_map: the union of the maps, a newer value winning for the same key;
// retraction removes the retracted keys. Entries keep their first position (Paimon's
// hash map leaves the order unspecified).
class MergeMapAgg : public FieldAggregator {
 public:
  std::string_view name() const override { return "merge_map"; }
  bool can_retract() const override { return true; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    if (acc->is_null() || in.is_null()) {
      if (acc->is_null()) *acc = in;
      return Status::OK();
    }
    format::DatumList out = acc->as_list();  // k0, v0, k1, v1, ...
    const format::DatumList& add = in.as_list();
    for (size_t i = 0; i + 1 < add.size(); i += 2) {
      size_t j = 0;
      while (j + 1 < out.size() && !(out[j] == add[i])) j += 2;
      if (j + 1 < out.size()) {
        out[j + 1] = add[i + 1];
      } else {
        out.push_back(add[i]);
        out.push_back(add[i + 1]);
      }
    }
    *acc = Datum::List(std::move(out));
    return Status::OK();
  }
  Status Retract(Datum* acc, const Datum& in, bool) override {
    if (acc->is_null() || in.is_null() || in.as_list().empty()) return Status::OK();
    const format::DatumList& gone = in.as_list();
    format::DatumList out;
    const format::DatumList& held = acc->as_list();
    for (size_t i = 0; i + 1 < held.size(); i += 2) {
      bool retracted = false;
      for (size_t j = 0; j + 1 < gone.size() && !retracted; j += 2) retracted = gone[j] == held[i];
      if (retracted) continue;
      out.push_back(held[i]);
      out.push_back(held[i + 1]);
    }
    *acc = Datum::List(std::move(out));
    return Status::OK();
  }
};

// Paimon's rbm32: the union of 32-bit Roaring bitmaps in the portable format (Java
// RoaringBitmap's serialize). No retraction.
class RoaringBitmap32Agg : public FieldAggregator {
 public:
  std::string_view name() const override { return "rbm32"; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    if (acc->is_null() || in.is_null()) {
      if (acc->is_null()) *acc = in;
      return Status::OK();
    }
    KL_ASSIGN_OR_RETURN(roaring_bitmap_t * a, Read(acc->as_bytes()));
    auto b = Read(in.as_bytes());
    if (!b.ok()) {
      roaring_bitmap_free(a);
      return b.status();
    }
    roaring_bitmap_or_inplace(a, *b);
    roaring_bitmap_free(*b);
    std::string out(roaring_bitmap_portable_size_in_bytes(a), '\0');
    roaring_bitmap_portable_serialize(a, out.data());
    roaring_bitmap_free(a);
    *acc = Datum::Bytes(std::move(out));
    return Status::OK();
  }

 private:
  static Result<roaring_bitmap_t*> Read(const std::string& bytes) {
    size_t size = roaring_bitmap_portable_deserialize_size(bytes.data(), bytes.size());
    roaring_bitmap_t* bitmap =
        size == 0 || size != bytes.size() ? nullptr : roaring_bitmap_portable_deserialize_safe(bytes.data(), size);
    if (bitmap == nullptr) {
      return Status::InvalidArgument("rbm32: a value of " + std::to_string(bytes.size()) +
                                     " bytes is not a portable 32-bit Roaring bitmap");
    }
    return bitmap;
  }
};

// Primary-key columns: the key is the same for all records of a group.
class PrimaryKeyAgg : public FieldAggregator {
 public:
  std::string_view name() const override { return "primary-key"; }
  bool can_retract() const override { return true; }
  Status Agg(Datum* acc, const Datum& in, bool) override {
    *acc = in;
    return Status::OK();
  }
  Status Retract(Datum* acc, const Datum& in, bool) override {
    *acc = in;
    return Status::OK();
  }
};

class IgnoreRetractAgg : public FieldAggregator {
 public:
  explicit IgnoreRetractAgg(std::unique_ptr<FieldAggregator> inner) : inner_(std::move(inner)) {}
  std::string_view name() const override { return inner_->name(); }
  bool can_retract() const override { return true; }
  void Reset() override { inner_->Reset(); }
  Status Agg(Datum* acc, const Datum& in, bool merged) override { return inner_->Agg(acc, in, merged); }
  Status AggReversed(Datum* acc, const Datum& in, bool merged) override { return inner_->AggReversed(acc, in, merged); }
  Status Retract(Datum*, const Datum&, bool) override { return Status::OK(); }

 private:
  std::unique_ptr<FieldAggregator> inner_;
};

}  // namespace

Result<std::unique_ptr<FieldAggregator>> CreateFieldAggregator(const std::string& function, const DataType& type,
                                                               const std::string& field_name,
                                                               const TableOptions& options, bool ignore_retract) {
  std::unique_ptr<FieldAggregator> agg;
  auto require = [&](bool ok, const char* what) -> Status {
    if (ok) return Status::OK();
    return Status::InvalidArgument("aggregate function " + function + " on column " + field_name + " needs " + what +
                                   ", not " + type.ToString());
  };
  if (function == "sum") {
    KL_RETURN_IF_ERROR(require(IsNumeric(type), "a numeric type"));
    agg = std::make_unique<SumAgg>(type);
  } else if (function == "product") {
    KL_RETURN_IF_ERROR(require(IsNumeric(type), "a numeric type"));
    agg = std::make_unique<ProductAgg>(type);
  } else if (function == "count") {
    KL_RETURN_IF_ERROR(require(type.is_integer(), "an integer type"));
    agg = std::make_unique<CountAgg>(type);
  } else if (function == "max" || function == "min") {
    KL_RETURN_IF_ERROR(require(!type.is_nested(), "a comparable type"));
    agg = std::make_unique<MinMaxAgg>(function == "max");
  } else if (function == "last_value") {
    agg = std::make_unique<LastValueAgg>();
  } else if (function == "last_non_null_value") {
    agg = std::make_unique<LastNonNullValueAgg>();
  } else if (function == "first_value") {
    agg = std::make_unique<FirstValueAgg>();
  } else if (function == "first_non_null_value" ||
             function == "first_not_null_value") {  // the latter: Paimon's old name
    agg = std::make_unique<FirstNonNullValueAgg>();
  } else if (function == "listagg") {
    KL_RETURN_IF_ERROR(require(type.is_string(), "a string type"));
    std::string delimiter = options.FieldOption(field_name, "list-agg-delimiter").value_or(",");
    bool distinct = EqualsIgnoreCase(options.FieldOption(field_name, "distinct").value_or("false"), "true");
    agg = std::make_unique<ListAggAgg>(delimiter, distinct);
  } else if (function == "bool_and" || function == "bool_or") {
    KL_RETURN_IF_ERROR(require(type.root() == TypeRoot::kBoolean, "BOOLEAN"));
    agg = std::make_unique<BoolAgg>(function == "bool_and");
  } else if (function == "collect") {
    KL_RETURN_IF_ERROR(require(type.root() == TypeRoot::kArray, "ARRAY"));
    agg = std::make_unique<CollectAgg>(
        EqualsIgnoreCase(options.FieldOption(field_name, "distinct").value_or("false"), "true"));
  } else if (function == "merge_map") {
    KL_RETURN_IF_ERROR(require(type.root() == TypeRoot::kMap, "MAP"));
    agg = std::make_unique<MergeMapAgg>();
  } else if (function == "rbm32") {
    KL_RETURN_IF_ERROR(require(type.is_binary(), "VARBINARY"));
    agg = std::make_unique<RoaringBitmap32Agg>();
  } else if (function == "primary-key") {
    agg = std::make_unique<PrimaryKeyAgg>();
  } else if (function == "rbm64" || function == "hll_sketch" || function == "theta_sketch" ||
             function == "nested_update" || function == "nested_partial_update" ||
             function == "merge_map_with_keytime") {
    return Status::NotSupported("Paimon's aggregate function " + function + " (column " + field_name +
                                ") is not implemented by kubelake");
  } else {
    return Status::NotSupported("aggregate function \"" + function + "\" (column " + field_name + ")");
  }
  if (ignore_retract) agg = std::make_unique<IgnoreRetractAgg>(std::move(agg));
  return agg;
}

}  // namespace kl::table
