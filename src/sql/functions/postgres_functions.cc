// Functions PostgreSQL clients and their users call that Flink's dialect has
// no name for: arrays (array_to_string, string_to_array, array_upper, ...),
// identifiers and formatting (quote_ident, format, parse_ident, split_part),
// regexp_like (behind the ~ operators), string_agg, json_build_object,
// to_timestamp(epoch seconds) and pg_sleep, plus the series and subscripts
// that generate_series / generate_subscripts walk. Catalog functions
// (pg_get_userbyid, format_type, ...) belong to the PostgreSQL server, which
// registers them with the engine.
#include <cmath>
#include <mutex>
#include <regex>
#include <thread>

#include "common/clock.h"
#include "common/json.h"
#include "common/string_util.h"
#include "sql/binder/types.h"
#include "sql/functions/cast.h"
#include "sql/functions/function.h"
#include "sql/functions/helpers.h"

namespace kl::sql {

namespace {

Datum Str(std::string s) { return Datum::Bytes(std::move(s)); }

// Array argument check: ARRAY of anything.
Status NeedArray(const CallSite& site, size_t i) {
  if (i < site.arg_types.size() && site.arg_types[i].root() != TypeRoot::kArray) {
    return site.Error(site.Arg(i) + " must be an array, not " + TypeName(site.arg_types[i].WithNullable(true)));
  }
  return Status::OK();
}

// PostgreSQL's identifier quoting: lower-case letters, digits and _ (not first a digit) stay bare.
std::string QuoteIdent(const std::string& s) {
  bool plain = !s.empty() && !(s[0] >= '0' && s[0] <= '9');
  for (char c : s) plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  static const char* kReserved[] = {
      "all",  "and",      "any",  "array", "as",     "asc",   "case",   "cast", "check", "column", "create", "default",
      "desc", "distinct", "do",   "else",  "end",    "false", "for",    "from", "grant", "group",  "having", "in",
      "into", "is",       "join", "limit", "not",    "null",  "offset", "on",   "or",    "order",  "select", "table",
      "then", "to",       "true", "union", "unique", "user",  "using",  "when", "where", "with"};
  for (const char* r : kReserved) plain = plain && s != r;
  if (plain) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string JsonQuote(const std::string& s) {
  JsonWriter w;
  w.String(s);
  return w.Release();
}

std::string QuoteLiteral(const std::string& s) {
  bool backslash = s.find('\\') != std::string::npos;
  std::string out = backslash ? "E'" : "'";
  for (char c : s) {
    if (c == '\'') out.push_back('\'');
    if (c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

}  // namespace

void RegisterPostgresFunctions(FunctionRegistry* r) {
  const DataType S = DataType::String();
  r->AddScalar(
      "REGEXP_LIKE",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 3));
        bool icase = false;
        if (site.arg_types.size() == 3) {
          if (!site.constants[2] || site.constants[2]->is_null())
            return site.Error("the flags of REGEXP_LIKE must be a constant");
          for (char f : site.constants[2]->as_bytes()) {
            if (f == 'i') {
              icase = true;
            } else if (f != 'c') {
              return site.Error(std::string("REGEXP_LIKE flag '") + f + "' is not supported (i and c are)");
            }
          }
        }
        auto flags = std::regex::ECMAScript | (icase ? std::regex::icase : std::regex::ECMAScript);
        // Guarded: several threads may evaluate one bound expression at once.
        struct Cache {
          std::mutex mu;
          std::string pattern;
          std::shared_ptr<const std::regex> re;
        };
        auto cache = std::make_shared<Cache>();
        return FixedBinder(
            "sss", 2, DataType::Boolean(), [cache, flags](ExecContext&, const Datum* a, Datum* o) -> Status {
              const std::string& p = a[1].as_bytes();
              std::shared_ptr<const std::regex> re;
              {
                std::lock_guard<std::mutex> lock(cache->mu);
                if (!cache->re || cache->pattern != p) {
                  try {
                    cache->re = std::make_shared<const std::regex>(p, flags);
                    cache->pattern = p;
                  } catch (const std::regex_error& e) {
                    cache->re.reset();
                    return Status::InvalidArgument("invalid regular expression '" + p + "': " + e.what());
                  }
                }
                re = cache->re;
              }
              *o = Datum::Bool(std::regex_search(a[0].as_bytes(), *re));
              return Status::OK();
            })(site);
      },
      "REGEXP_LIKE(s, regex[, flags]): TRUE when some part of s matches (flags 'i': ignore case); s ~ regex");
  r->AddScalar(
      "ARRAY_TO_STRING",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 3));
        KL_RETURN_IF_ERROR(NeedArray(site, 0));
        DataType elem = site.arg_types[0].element().WithNullable(true);
        BoundFunction f;
        f.return_type = DataType::String();
        f.arg_types = {site.arg_types[0], DataType::String()};
        if (site.arg_types.size() == 3) f.arg_types.push_back(DataType::String());
        f.kernel = RowKernel(
            [elem](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
              if (a[0].is_null() || a[1].is_null()) {
                *o = Datum();
                return Status::OK();
              }
              std::string out;
              bool first = true;
              for (const auto& item : a[0].as_list()) {
                if (item.is_null() && a[2].is_null()) continue;
                if (!first) out += a[1].as_bytes();
                first = false;
                if (item.is_null()) {
                  out += a[2].as_bytes();
                } else {
                  KL_ASSIGN_OR_RETURN(std::string text, PostgresOutputText(ctx, item, elem));
                  out += text;
                }
              }
              *o = Str(out);
              return Status::OK();
            },
            true, 3);
        return f;
      },
      "ARRAY_TO_STRING(array, separator[, null_text])");
  r->AddScalar("STRING_TO_ARRAY",
               FixedBinder(
                   "sss", 2, DataType::Array(S),
                   [](ExecContext&, const Datum* a, Datum* o) -> Status {
                     if (a[0].is_null()) {
                       *o = Datum();
                       return Status::OK();
                     }
                     const std::string& s = a[0].as_bytes();
                     format::DatumList items;
                     auto add = [&](std::string piece) {
                       if (!a[2].is_null() && piece == a[2].as_bytes()) {
                         items.emplace_back();
                       } else {
                         items.push_back(Str(std::move(piece)));
                       }
                     };
                     if (!s.empty()) {
                       if (a[1].is_null()) {
                         for (char c : s) add(std::string(1, c));
                       } else if (a[1].as_bytes().empty()) {
                         add(s);
                       } else {
                         const std::string& sep = a[1].as_bytes();
                         size_t pos = 0;
                         while (true) {
                           size_t f = s.find(sep, pos);
                           add(s.substr(pos, f == std::string::npos ? std::string::npos : f - pos));
                           if (f == std::string::npos) break;
                           pos = f + sep.size();
                         }
                       }
                     }
                     *o = Datum::List(std::move(items));
                     return Status::OK();
                   },
                   true),
               "STRING_TO_ARRAY(s, separator[, null_text])");
  auto bound = [](int which) {  // 0 lower, 1 upper, 2 length
    return [which](const CallSite& site) -> Result<BoundFunction> {
      KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 2));
      KL_RETURN_IF_ERROR(NeedArray(site, 0));
      BoundFunction f;
      f.return_type = DataType::Int();
      f.arg_types = {site.arg_types[0], DataType::BigInt()};
      f.kernel = RowKernel([which](ExecContext&, const Datum* a, Datum* o) -> Status {
        size_t n = a[0].as_list().size();
        // One-dimensional arrays: dimension 1 only; an empty array has no bounds (NULL).
        if (a[1].as_int() != 1 || n == 0) {
          *o = Datum();
        } else {
          *o = Datum::Int(which == 0 ? 1 : static_cast<int64_t>(n));
        }
        return Status::OK();
      });
      return f;
    };
  };
  r->AddScalar("ARRAY_LOWER", bound(0), "ARRAY_LOWER(array, dimension)");
  r->AddScalar("ARRAY_UPPER", bound(1), "ARRAY_UPPER(array, dimension)");
  r->AddScalar("ARRAY_LENGTH", bound(2), "ARRAY_LENGTH(array, dimension)");
  r->AddScalar(
      "ARRAY_POSITION",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 2));
        KL_RETURN_IF_ERROR(NeedArray(site, 0));
        BoundFunction f;
        f.return_type = DataType::Int();
        f.arg_types = {site.arg_types[0], site.arg_types[0].element().WithNullable(true)};
        f.kernel = RowKernel(
            [](ExecContext&, const Datum* a, Datum* o) -> Status {
              *o = Datum();
              if (a[0].is_null()) return Status::OK();
              const auto& items = a[0].as_list();
              for (size_t i = 0; i < items.size(); ++i) {
                bool match =
                    items[i].is_null() ? a[1].is_null() : !a[1].is_null() && format::CompareDatum(items[i], a[1]) == 0;
                if (match) {
                  *o = Datum::Int(static_cast<int64_t>(i + 1));
                  break;
                }
              }
              return Status::OK();
            },
            true);
        return f;
      },
      "ARRAY_POSITION(array, value): position (from 1) of the first equal element");
  r->AddScalar(
      "ARRAY_REMOVE",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 2));
        KL_RETURN_IF_ERROR(NeedArray(site, 0));
        BoundFunction f;
        f.return_type = site.arg_types[0].WithNullable(true);
        f.arg_types = {site.arg_types[0], site.arg_types[0].element().WithNullable(true)};
        f.kernel = RowKernel(
            [](ExecContext&, const Datum* a, Datum* o) -> Status {
              if (a[0].is_null()) {
                *o = Datum();
                return Status::OK();
              }
              format::DatumList kept;
              for (const auto& item : a[0].as_list()) {
                // NULL removes NULLs: elements are compared as IS NOT DISTINCT FROM.
                bool equal = item.is_null() ? a[1].is_null() : !a[1].is_null() && format::CompareDatum(item, a[1]) == 0;
                if (!equal) kept.push_back(item);
              }
              *o = Datum::List(std::move(kept));
              return Status::OK();
            },
            true);
        return f;
      },
      "ARRAY_REMOVE(array, value): the array without the elements equal to value (NULL removes NULLs)");
  // The arrays generate_series and generate_subscripts walk (see the binder).
  r->AddScalar(
      "__SERIES",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 3));
        for (size_t i = 0; i < site.arg_types.size(); ++i) {
          if (!IsIntegral(site.arg_types[i])) {
            return site.Error("generate_series takes integers (argument " + std::to_string(i + 1) + " is " +
                              TypeName(site.arg_types[i].WithNullable(true)) + ")");
          }
        }
        BoundFunction f;
        bool wide = false;
        for (const auto& t : site.arg_types) wide = wide || t.root() == TypeRoot::kBigInt;
        DataType elem = wide ? DataType::BigInt() : DataType::Int();
        f.return_type = DataType::Array(elem.NotNull());
        f.arg_types = {DataType::BigInt(), DataType::BigInt(), DataType::BigInt()};
        f.arg_types.resize(site.arg_types.size());
        f.kernel = RowKernel(
            [](ExecContext&, const Datum* a, Datum* o) -> Status {
              int64_t start = a[0].as_int(), stop = a[1].as_int(), step = a[2].is_null() ? 1 : a[2].as_int();
              if (step == 0) return Status::InvalidArgument("step size cannot equal zero");
              __int128 count = step > 0 ? (stop >= start ? (static_cast<__int128>(stop) - start) / step + 1 : 0)
                                        : (start >= stop ? (static_cast<__int128>(start) - stop) / -step + 1 : 0);
              if (count > 10000000) {
                return Status::InvalidArgument("generate_series of more than 10,000,000 values is not supported");
              }
              format::DatumList items;
              items.reserve(static_cast<size_t>(count));
              for (__int128 k = 0; k < count; ++k) items.push_back(Datum::Int(static_cast<int64_t>(start + k * step)));
              *o = Datum::List(std::move(items));
              return Status::OK();
            },
            false, 3);
        return f;
      },
      "");
  r->AddScalar(
      "__SUBSCRIPTS",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 1));
        KL_RETURN_IF_ERROR(NeedArray(site, 0));
        BoundFunction f;
        f.return_type = DataType::Array(DataType::Int().NotNull());
        f.kernel = RowKernel([](ExecContext&, const Datum* a, Datum* o) -> Status {
          format::DatumList items;
          for (size_t i = 0; i < a[0].as_list().size(); ++i) items.push_back(Datum::Int(static_cast<int64_t>(i + 1)));
          *o = Datum::List(std::move(items));
          return Status::OK();
        });
        return f;
      },
      "");
  r->AddScalar("QUOTE_IDENT",
               FixedBinder("s", 1, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             *o = Str(QuoteIdent(a[0].as_bytes()));
                             return Status::OK();
                           }),
               "QUOTE_IDENT(name): the name quoted as an identifier where needed");
  r->AddScalar("QUOTE_LITERAL",
               FixedBinder("s", 1, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             *o = Str(QuoteLiteral(a[0].as_bytes()));
                             return Status::OK();
                           }),
               "QUOTE_LITERAL(text): the text as a quoted SQL string");
  r->AddScalar("QUOTE_NULLABLE",
               FixedBinder(
                   "s", 1, S,
                   [](ExecContext&, const Datum* a, Datum* o) {
                     *o = Str(a[0].is_null() ? "NULL" : QuoteLiteral(a[0].as_bytes()));
                     return Status::OK();
                   },
                   true),
               "QUOTE_NULLABLE(text): QUOTE_LITERAL, or NULL unquoted");
  r->AddScalar("SPLIT_PART",
               FixedBinder("ssi", 3, S,
                           [](ExecContext&, const Datum* a, Datum* o) -> Status {
                             const std::string& s = a[0].as_bytes();
                             const std::string& sep = a[1].as_bytes();
                             int64_t n = a[2].as_int();
                             if (n == 0) return Status::InvalidArgument("field position must not be zero");
                             std::vector<std::string> parts;
                             if (sep.empty()) {
                               parts.push_back(s);
                             } else {
                               size_t pos = 0;
                               while (true) {
                                 size_t f = s.find(sep, pos);
                                 parts.push_back(s.substr(pos, f == std::string::npos ? std::string::npos : f - pos));
                                 if (f == std::string::npos) break;
                                 pos = f + sep.size();
                               }
                             }
                             int64_t k = n > 0 ? n - 1 : static_cast<int64_t>(parts.size()) + n;
                             *o = Str(k >= 0 && k < static_cast<int64_t>(parts.size()) ? parts[k] : "");
                             return Status::OK();
                           }),
               "SPLIT_PART(s, separator, n): the n-th piece (from 1; negative counts from the end)");
  r->AddScalar(
      "PARSE_IDENT",
      FixedBinder("s", 1, DataType::Array(S),
                  [](ExecContext&, const Datum* a, Datum* o) -> Status {
                    const std::string& s = a[0].as_bytes();
                    format::DatumList parts;
                    size_t i = 0;
                    while (true) {
                      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
                      std::string part;
                      if (i < s.size() && s[i] == '"') {
                        ++i;
                        while (true) {
                          if (i >= s.size())
                            return Status::InvalidArgument("string is not a valid identifier: \"" + s + "\"");
                          if (s[i] == '"') {
                            if (i + 1 < s.size() && s[i + 1] == '"') {
                              part.push_back('"');
                              i += 2;
                              continue;
                            }
                            ++i;
                            break;
                          }
                          part.push_back(s[i++]);
                        }
                      } else {
                        while (i < s.size() && s[i] != '.' && !std::isspace(static_cast<unsigned char>(s[i]))) {
                          part.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i++]))));
                        }
                        if (part.empty())
                          return Status::InvalidArgument("string is not a valid identifier: \"" + s + "\"");
                      }
                      parts.push_back(Str(part));
                      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
                      if (i >= s.size()) break;
                      if (s[i] != '.')
                        return Status::InvalidArgument("string is not a valid identifier: \"" + s + "\"");
                      ++i;
                    }
                    *o = Datum::List(std::move(parts));
                    return Status::OK();
                  }),
      "PARSE_IDENT(qualified_name): its parts as an array, quotes removed");
  r->AddScalar(
      "FORMAT",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 64));
        if (!IsStringType(site.arg_types[0])) return site.Error("the format of FORMAT must be text");
        std::vector<DataType> types = site.arg_types;
        BoundFunction f;
        f.return_type = DataType::String();
        f.kernel = RowKernel(
            [types](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
              if (a[0].is_null()) {
                *o = Datum();
                return Status::OK();
              }
              const std::string& fmt = a[0].as_bytes();
              std::string out;
              size_t next = 1;
              for (size_t i = 0; i < fmt.size(); ++i) {
                if (fmt[i] != '%') {
                  out.push_back(fmt[i]);
                  continue;
                }
                if (++i >= fmt.size()) return Status::InvalidArgument("unterminated format() type specifier");
                if (fmt[i] == '%') {
                  out.push_back('%');
                  continue;
                }
                // %n$s: an explicit argument position.
                size_t j = i, pos = 0;
                while (j < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[j])))
                  pos = pos * 10 + (fmt[j++] - '0');
                size_t arg = next;
                if (j > i && j < fmt.size() && fmt[j] == '$') {
                  arg = pos;
                  i = j + 1;
                } else {
                  ++next;
                }
                if (i >= fmt.size()) return Status::InvalidArgument("unterminated format() type specifier");
                if (arg < 1 || arg >= types.size()) return Status::InvalidArgument("too few arguments for format()");
                char spec = fmt[i];
                const Datum& v = a[arg];
                std::string text;
                if (!v.is_null()) {
                  KL_ASSIGN_OR_RETURN(text, PostgresOutputText(ctx, v, types[arg]));
                }
                if (spec == 's') {
                  out += text;
                } else if (spec == 'I') {
                  if (v.is_null())
                    return Status::InvalidArgument("null values cannot be formatted as an SQL identifier");
                  out += QuoteIdent(text);
                } else if (spec == 'L') {
                  out += v.is_null() ? "NULL" : QuoteLiteral(text);
                } else {
                  return Status::InvalidArgument(std::string("unrecognized format() type specifier \"") + spec + "\"");
                }
              }
              *o = Str(out);
              return Status::OK();
            },
            true, types.size());
        return f;
      },
      "FORMAT(format, args...): %s text, %I identifier, %L literal, %% a percent sign");
  r->AddScalar(
      "JSON_BUILD_OBJECT",
      [](const CallSite& site) -> Result<BoundFunction> {
        if (site.arg_types.size() % 2 != 0) return site.Error("JSON_BUILD_OBJECT takes key, value pairs");
        std::vector<DataType> types = site.arg_types;
        BoundFunction f;
        f.return_type = DataType::String().NotNull();
        f.kernel = RowKernel(
            [types](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
              std::string out = "{";
              for (size_t i = 0; i + 1 < types.size(); i += 2) {
                if (a[i].is_null()) return Status::InvalidArgument("JSON_BUILD_OBJECT: a key is NULL");
                if (i > 0) out += ", ";
                out += JsonQuote(ValueToText(ctx, a[i], types[i])) + " : ";
                const Datum& v = a[i + 1];
                const DataType& t = types[i + 1];
                if (v.is_null()) {
                  out += "null";
                } else if (t.root() == TypeRoot::kBoolean) {
                  out += v.as_int() != 0 ? "true" : "false";
                } else if (IsNumeric(t)) {
                  out += ValueToText(ctx, v, t);
                } else {
                  out += JsonQuote(ValueToText(ctx, v, t));
                }
              }
              *o = Str(out + "}");
              return Status::OK();
            },
            true, types.size());
        return f;
      },
      "JSON_BUILD_OBJECT(key, value, ...): a JSON object as text");
  r->AddScalar(
      "PG_SLEEP",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 1));
        if (!IsNumeric(site.arg_types[0])) return site.Error("PG_SLEEP takes seconds");
        BoundFunction f;
        f.return_type = DataType::Boolean();
        f.arg_types = {DataType::Double()};
        f.deterministic = false;
        f.kernel = RowKernel([](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          int64_t until = MonotonicMicros() + static_cast<int64_t>(a[0].as_double() * 1e6);
          while (MonotonicMicros() < until) {
            KL_RETURN_IF_ERROR(ctx.CheckInterrupt());
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
          *o = Datum();
          return Status::OK();
        });
        return f;
      },
      "PG_SLEEP(seconds): waits (stops early when the statement is cancelled or times out)");
  // to_timestamp(epoch seconds) besides Flink's TO_TIMESTAMP(text[, format]).
  if (const ScalarBinder* text_form = r->FindScalar("TO_TIMESTAMP")) {
    ScalarBinder flink = *text_form;
    r->AddScalar(
        "TO_TIMESTAMP",
        [flink](const CallSite& site) -> Result<BoundFunction> {
          if (site.arg_types.size() != 1 || !IsNumeric(site.arg_types[0])) return flink(site);
          BoundFunction f;
          f.return_type = DataType::TimestampLtz(6);
          f.arg_types = {DataType::Double()};
          f.kernel = RowKernel([](ExecContext&, const Datum* a, Datum* o) -> Status {
            double s = a[0].as_double();
            if (!std::isfinite(s) || std::fabs(s) > 9.2e12) return Status::InvalidArgument("timestamp out of range");
            *o = Datum::Time(format::Timestamp::FromMicros(static_cast<int64_t>(std::llround(s * 1e6))));
            return Status::OK();
          });
          return f;
        },
        "TO_TIMESTAMP(text[, format]) | TO_TIMESTAMP(epoch_seconds)");
  }
  if (const AggregateBinder* listagg = r->FindAggregate("LISTAGG")) {
    AggregateBinder b = *listagg;
    r->AddAggregate(
        "STRING_AGG",
        [b](const CallSite& site) -> Result<BoundAggregate> {
          if (site.arg_types.size() != 2) return site.Error("STRING_AGG takes a value and a separator");
          return b(site);
        },
        "STRING_AGG(text, separator)");
  }
}

}  // namespace kl::sql
