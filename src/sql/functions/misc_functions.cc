// Conditional, collection and session functions. (COALESCE, IF, NULLIF and
// IFNULL are rewritten into CASE by the binder, which gives their arguments a
// common type and evaluates later arguments only where needed.)
#include <cstring>

#include "common/random.h"
#include "sql/functions/cast.h"
#include "sql/functions/helpers.h"

namespace kl::sql {

namespace {

Result<BoundFunction> BindGreatest(const CallSite& site, bool greatest) {
  KL_RETURN_IF_ERROR(CheckArgCount(site, 1, SIZE_MAX));
  DataType common = site.arg_types[0];
  for (size_t i = 1; i < site.arg_types.size(); ++i) {
    auto c = CommonType(common, site.arg_types[i]);
    if (!c.ok()) return site.Error(site.name + ": " + c.status().message());
    common = *c;
  }
  BoundFunction f;
  f.return_type = common.WithNullable(true);
  f.arg_types.assign(site.arg_types.size(), common);
  f.kernel = [greatest](ExecContext&, const std::vector<const Column*>& args, size_t rows, Column* out) -> Status {
    for (size_t i = 0; i < rows; ++i) {
      size_t best = 0;
      bool null = false;
      for (size_t a = 0; a < args.size(); ++a) {
        if (args[a]->IsNull(i)) {
          null = true;  // Flink: NULL when any argument is NULL
          break;
        }
        int c = args[a]->CompareAt(i, *args[best], i);
        if (greatest ? c > 0 : c < 0) best = a;
      }
      if (null) {
        out->AppendNull();
      } else {
        out->AppendFrom(*args[best], i);
      }
    }
    return Status::OK();
  };
  return f;
}

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

void RegisterMiscFunctions(FunctionRegistry* r) {
  r->AddScalar(
      "GREATEST", [](const CallSite& s) { return BindGreatest(s, true); }, "GREATEST(a, b, ...)");
  r->AddScalar(
      "LEAST", [](const CallSite& s) { return BindGreatest(s, false); }, "LEAST(a, b, ...)");
  r->AddScalar(
      "CARDINALITY",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 1));
        TypeRoot t = site.arg_types[0].root();
        if (t != TypeRoot::kArray && t != TypeRoot::kMap && t != TypeRoot::kMultiset) {
          return site.Error(site.Arg(0) + " must be an ARRAY, MAP or MULTISET");
        }
        bool map = t == TypeRoot::kMap;
        BoundFunction f;
        f.return_type = DataType::Int();
        f.kernel = RowKernel([map](ExecContext&, const Datum* a, Datum* o) {
          *o = Datum::Int(static_cast<int64_t>(a[0].as_list().size() / (map ? 2 : 1)));
          return Status::OK();
        });
        return f;
      },
      "CARDINALITY(array | map)");
  r->AddScalar(
      "ARRAY_CONTAINS",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 2));
        if (site.arg_types[0].root() != TypeRoot::kArray) return site.Error(site.Arg(0) + " must be an ARRAY");
        auto c = CommonType(site.arg_types[0].element(), site.arg_types[1]);
        if (!c.ok()) return site.Error("ARRAY_CONTAINS: " + c.status().message());
        BoundFunction f;
        f.return_type = DataType::Boolean();
        f.arg_types = {DataType::Array(*c), *c};
        f.kernel = RowKernel([](ExecContext&, const Datum* a, Datum* o) {
          bool found = false;
          for (const auto& item : a[0].as_list()) {
            if (!item.is_null() && format::CompareDatum(item, a[1]) == 0) found = true;
          }
          *o = Datum::Bool(found);
          return Status::OK();
        });
        return f;
      },
      "ARRAY_CONTAINS(array, value)");
  auto map_part = [](bool keys) {
    return [keys](const CallSite& site) -> Result<BoundFunction> {
      KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 1));
      if (site.arg_types[0].root() != TypeRoot::kMap) return site.Error(site.Arg(0) + " must be a MAP");
      BoundFunction f;
      f.return_type = DataType::Array(keys ? site.arg_types[0].key() : site.arg_types[0].value());
      f.kernel = RowKernel([keys](ExecContext&, const Datum* a, Datum* o) {
        format::DatumList out;
        const auto& items = a[0].as_list();
        for (size_t i = keys ? 0 : 1; i < items.size(); i += 2) out.push_back(items[i]);
        *o = Datum::List(std::move(out));
        return Status::OK();
      });
      return f;
    };
  };
  r->AddScalar("MAP_KEYS", map_part(true), "MAP_KEYS(map)");
  r->AddScalar("MAP_VALUES", map_part(false), "MAP_VALUES(map)");
  r->AddScalar(
      "TYPEOF",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 2));
        std::string name = site.arg_types[0].ToString();
        BoundFunction f;
        f.return_type = DataType::String().NotNull();
        f.kernel = [name](ExecContext&, const std::vector<const Column*>&, size_t rows, Column* out) -> Status {
          for (size_t i = 0; i < rows; ++i) out->AppendBytes(name);
          return Status::OK();
        };
        return f;
      },
      "TYPEOF(x): the type's name");
  r->AddScalar(
      "UUID",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 0, 0));
        BoundFunction f;
        f.return_type = DataType::String().NotNull();
        f.deterministic = false;
        f.kernel = [](ExecContext&, const std::vector<const Column*>&, size_t rows, Column* out) -> Status {
          for (size_t i = 0; i < rows; ++i) out->AppendBytes(RandomUuid());
          return Status::OK();
        };
        return f;
      },
      "UUID()");
  auto session_value = [](bool catalog) {
    return [catalog](const CallSite& site) -> Result<BoundFunction> {
      KL_RETURN_IF_ERROR(CheckArgCount(site, 0, 0));
      BoundFunction f;
      f.return_type = DataType::String().NotNull();
      f.deterministic = false;
      f.kernel = [catalog](ExecContext& ctx, const std::vector<const Column*>&, size_t rows, Column* out) -> Status {
        for (size_t i = 0; i < rows; ++i) out->AppendBytes(catalog ? ctx.current_catalog : ctx.current_database);
        return Status::OK();
      };
      return f;
    };
  };
  r->AddScalar("CURRENT_DATABASE", session_value(false), "CURRENT_DATABASE()");
  r->AddScalar("CURRENT_CATALOG", session_value(true), "CURRENT_CATALOG");
  r->AddScalar("TO_BASE64",
               FixedBinder("x", 1, DataType::String(),
                           [](ExecContext&, const Datum* a, Datum* o) {
                             if (a[0].kind() != Datum::Kind::kBytes) {
                               *o = Datum();
                               return Status::OK();
                             }
                             const std::string& in = a[0].as_bytes();
                             std::string out;
                             size_t i = 0;
                             for (; i + 2 < in.size(); i += 3) {
                               uint32_t v = (static_cast<uint8_t>(in[i]) << 16) |
                                            (static_cast<uint8_t>(in[i + 1]) << 8) | static_cast<uint8_t>(in[i + 2]);
                               for (int k = 3; k >= 0; --k) out.push_back(kBase64[(v >> (6 * k)) & 63]);
                             }
                             if (i < in.size()) {
                               uint32_t v = static_cast<uint8_t>(in[i]) << 16;
                               if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
                               out.push_back(kBase64[(v >> 18) & 63]);
                               out.push_back(kBase64[(v >> 12) & 63]);
                               out.push_back(i + 1 < in.size() ? kBase64[(v >> 6) & 63] : '=');
                               out.push_back('=');
                             }
                             *o = Datum::Bytes(out);
                             return Status::OK();
                           }),
               "TO_BASE64(s)");
  r->AddScalar("FROM_BASE64",
               FixedBinder("s", 1, DataType::String(),
                           [](ExecContext&, const Datum* a, Datum* o) {
                             const std::string& in = a[0].as_bytes();
                             std::string out;
                             uint32_t buf = 0;
                             int bits = 0;
                             for (char c : in) {
                               const char* p = std::strchr(kBase64, c);
                               if (c == '=' || c == '\0') break;
                               if (p == nullptr) {
                                 *o = Datum();
                                 return Status::OK();
                               }
                               buf = (buf << 6) | static_cast<uint32_t>(p - kBase64);
                               bits += 6;
                               if (bits >= 8) {
                                 bits -= 8;
                                 out.push_back(static_cast<char>((buf >> bits) & 0xFF));
                               }
                             }
                             *o = Datum::Bytes(out);
                             return Status::OK();
                           }),
               "FROM_BASE64(s)");
}

}  // namespace kl::sql
