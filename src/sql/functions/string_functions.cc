// String functions with Flink's semantics: positions count characters from 1,
// a NULL argument gives NULL (CONCAT_WS skips NULL values), indexes out of
// range give NULL (SPLIT_INDEX) or clamp (SUBSTRING).
#include <algorithm>
#include <cctype>
#include <mutex>
#include <regex>

#include "common/string_util.h"
#include "sql/functions/cast.h"
#include "sql/functions/helpers.h"
#include "sql/functions/operators.h"

namespace kl::sql {

namespace {

Datum Str(std::string s) { return Datum::Bytes(std::move(s)); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
std::string Upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// SUBSTRING(s, start[, len]) on characters: start 1-based; 0 acts as 1; negative counts from the end.
Result<Datum> Substring(std::string_view s, int64_t start, std::optional<int64_t> len) {
  int64_t n = static_cast<int64_t>(Utf8Length(s));
  if (len && *len < 0) return Status::InvalidArgument("SUBSTRING length must not be negative");
  int64_t from;
  if (start > 0) {
    from = start - 1;
  } else if (start == 0) {
    from = 0;
  } else {
    from = n + start;
    if (from < 0) from = 0;
  }
  if (from >= n) return Str("");
  int64_t to = len ? std::min(n, from + *len) : n;
  size_t b = Utf8Offset(s, static_cast<size_t>(from));
  size_t e = Utf8Offset(s, static_cast<size_t>(to));
  return Str(std::string(s.substr(b, e - b)));
}

// A regex compiled once when the pattern is a constant, else per distinct
// pattern. A bound expression may be evaluated by several threads at once (a
// streaming Calc splits a batch), so the cache is guarded and hands out a
// shared reference that stays valid while another thread swaps the pattern.
class RegexCache {
 public:
  explicit RegexCache(std::optional<Datum> constant) {
    if (constant && !constant->is_null()) pattern_ = constant->as_bytes();
  }
  Result<std::shared_ptr<const std::regex>> Get(std::string_view pattern) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!compiled_ || pattern != pattern_) {
      pattern_ = std::string(pattern);
      try {
        compiled_ = std::make_shared<const std::regex>(pattern_, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        compiled_.reset();
        return Status::InvalidArgument("bad regular expression '" + pattern_ + "': " + e.what());
      }
    }
    return compiled_;
  }

 private:
  std::mutex mu_;
  std::string pattern_;
  std::shared_ptr<const std::regex> compiled_;
};

Status CheckConstantRegex(const CallSite& site, size_t i) {
  if (i < site.constants.size() && site.constants[i] && !site.constants[i]->is_null()) {
    try {
      std::regex re(site.constants[i]->as_bytes(), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return site.Error("bad regular expression '" + site.constants[i]->as_bytes() + "' in " + site.name + ": " +
                        e.what());
    }
  }
  return Status::OK();
}

std::string Pad(std::string_view s, int64_t len, std::string_view pad, bool left) {
  int64_t n = static_cast<int64_t>(Utf8Length(s));
  if (len <= n) return std::string(s.substr(0, Utf8Offset(s, static_cast<size_t>(std::max<int64_t>(len, 0)))));
  if (pad.empty()) return std::string(s);
  std::string fill;
  int64_t need = len - n;
  size_t pad_chars = Utf8Length(pad);
  while (static_cast<int64_t>(Utf8Length(fill)) + static_cast<int64_t>(pad_chars) <= need) fill += pad;
  int64_t rest = need - static_cast<int64_t>(Utf8Length(fill));
  fill += std::string(pad.substr(0, Utf8Offset(pad, static_cast<size_t>(rest))));
  return left ? fill + std::string(s) : std::string(s) + fill;
}

// PostgreSQL's concat(...) and concat_ws(sep, ...): NULL arguments are skipped (concat
// never gives NULL; concat_ws does for a NULL separator) and values of any type join
// as PostgreSQL prints them (true is 't', 2.0::float8 is '2').
Result<BoundFunction> BindPostgresConcat(const CallSite& site, bool with_separator) {
  BoundFunction f;
  f.return_type = with_separator ? DataType::String() : DataType::String().NotNull();
  std::vector<DataType> types;
  for (size_t i = 0; i < site.arg_types.size(); ++i) {
    DataType t = site.arg_types[i].WithNullable(true);
    if (with_separator && i == 0) t = DataType::String();
    f.arg_types.push_back(t);
    types.push_back(t);
  }
  f.kernel = RowKernel(
      [types, with_separator](ExecContext& ctx, const Datum* a, Datum* out) -> Status {
        if (with_separator && a[0].is_null()) {
          *out = Datum();
          return Status::OK();
        }
        std::string s;
        bool first = true;
        for (size_t i = with_separator ? 1 : 0; i < types.size(); ++i) {
          if (a[i].is_null()) continue;
          if (with_separator && !first) s.append(a[0].as_bytes());
          first = false;
          if (IsStringType(types[i])) {
            s.append(a[i].as_bytes());
          } else {
            KL_ASSIGN_OR_RETURN(std::string text, PostgresOutputText(ctx, a[i], types[i]));
            s.append(text);
          }
        }
        *out = Datum::Bytes(std::move(s));
        return Status::OK();
      },
      true, types.size());
  return f;
}

}  // namespace

void RegisterStringFunctions(FunctionRegistry* r) {
  DataType S = DataType::String();
  DataType I = DataType::Int();
  r->AddScalar(
      "CONCAT",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 1, SIZE_MAX));
        if (site.postgres) return BindPostgresConcat(site, false);
        BoundFunction f = BindConcat(site.arg_types.size());
        for (size_t i = 0; i < site.arg_types.size(); ++i) {
          if (site.arg_types[i].is_nested()) return site.Error(site.Arg(i) + " must be a string");
          f.arg_types.push_back(DataType::String());
        }
        return f;
      },
      "CONCAT(s1, s2, ...): NULL if any is NULL");
  r->AddScalar(
      "CONCAT_WS",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, SIZE_MAX));
        if (site.postgres) return BindPostgresConcat(site, true);
        BoundFunction f;
        f.return_type = DataType::String();
        for (size_t i = 0; i < site.arg_types.size(); ++i) {
          if (site.arg_types[i].is_nested()) return site.Error(site.Arg(i) + " must be a string");
          f.arg_types.push_back(DataType::String());
        }
        f.kernel = RowKernel(
            [](ExecContext&, const Datum* a, Datum* out) -> Status {
              *out = Datum();
              return Status::OK();
            },
            true);
        f.kernel = [](ExecContext&, const std::vector<const Column*>& args, size_t rows, Column* out) -> Status {
          std::string s;
          for (size_t i = 0; i < rows; ++i) {
            if (args[0]->IsNull(i)) {
              out->AppendNull();
              continue;
            }
            std::string_view sep = args[0]->GetBytes(i);
            s.clear();
            bool first = true;
            for (size_t a = 1; a < args.size(); ++a) {
              if (args[a]->IsNull(i)) continue;
              if (!first) s.append(sep);
              s.append(args[a]->GetBytes(i));
              first = false;
            }
            out->AppendBytes(s);
          }
          return Status::OK();
        };
        return f;
      },
      "CONCAT_WS(separator, s1, s2, ...): skips NULL values");
  r->AddScalar("LOWER",
               FixedBinder("s", 1, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             *o = Str(Lower(a[0].as_bytes()));
                             return Status::OK();
                           }),
               "LOWER(s)");
  r->AddScalar("UPPER",
               FixedBinder("s", 1, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             *o = Str(Upper(a[0].as_bytes()));
                             return Status::OK();
                           }),
               "UPPER(s)");
  auto trim = [](bool left, bool right) {
    return [left, right](ExecContext&, const Datum* a, Datum* o) -> Status {
      std::string_view s = a[0].as_bytes();
      std::string chars = " ";
      if (!a[1].is_null()) chars = a[1].as_bytes();
      size_t b = 0, e = s.size();
      if (left) {
        while (b < e && chars.find(s[b]) != std::string::npos) ++b;
      }
      if (right) {
        while (e > b && chars.find(s[e - 1]) != std::string::npos) --e;
      }
      *o = Str(std::string(s.substr(b, e - b)));
      return Status::OK();
    };
  };
  r->AddScalar("TRIM", FixedBinder("ss", 1, S, trim(true, true)), "TRIM([BOTH|LEADING|TRAILING] [chars FROM] s)");
  r->AddScalar("BTRIM", FixedBinder("ss", 1, S, trim(true, true)), "BTRIM(s[, chars])");
  r->AddScalar("LTRIM", FixedBinder("ss", 1, S, trim(true, false)), "LTRIM(s[, chars])");
  r->AddScalar("RTRIM", FixedBinder("ss", 1, S, trim(false, true)), "RTRIM(s[, chars])");
  r->AddScalar("SUBSTRING",
               FixedBinder("sii", 2, S,
                           [](ExecContext&, const Datum* a, Datum* o) -> Status {
                             std::optional<int64_t> len;
                             if (!a[2].is_null()) len = a[2].as_int();
                             KL_ASSIGN_OR_RETURN(*o, Substring(a[0].as_bytes(), a[1].as_int(), len));
                             return Status::OK();
                           }),
               "SUBSTRING(s FROM start [FOR length]) | SUBSTRING(s, start[, length])");
  r->AddScalar("SUBSTR", *r->FindScalar("SUBSTRING"), "SUBSTR(s, start[, length])");
  r->AddScalar("REPLACE",
               FixedBinder("sss", 3, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             std::string s = a[0].as_bytes();
                             const std::string& from = a[1].as_bytes();
                             const std::string& to = a[2].as_bytes();
                             if (from.empty()) {
                               *o = Str(s);
                               return Status::OK();
                             }
                             std::string out;
                             size_t pos = 0;
                             while (true) {
                               size_t f = s.find(from, pos);
                               if (f == std::string::npos) break;
                               out.append(s, pos, f - pos);
                               out += to;
                               pos = f + from.size();
                             }
                             out.append(s, pos, std::string::npos);
                             *o = Str(std::move(out));
                             return Status::OK();
                           }),
               "REPLACE(s, from, to)");
  r->AddScalar(
      "REGEXP_EXTRACT",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckConstantRegex(site, 1));
        auto cache = std::make_shared<RegexCache>(site.constants.size() > 1 ? site.constants[1] : std::nullopt);
        return FixedBinder("ssi", 2, DataType::String(), [cache](ExecContext&, const Datum* a, Datum* o) -> Status {
          KL_ASSIGN_OR_RETURN(std::shared_ptr<const std::regex> re, cache->Get(a[1].as_bytes()));
          int64_t group = a[2].is_null() ? 0 : a[2].as_int();
          std::smatch m;
          const std::string& s = a[0].as_bytes();
          if (!std::regex_search(s, m, *re) || group < 0 || static_cast<size_t>(group) >= m.size() ||
              !m[group].matched) {
            *o = Datum();
          } else {
            *o = Str(m[group].str());
          }
          return Status::OK();
        })(site);
      },
      "REGEXP_EXTRACT(s, regex[, group]): group 0 (default) is the whole match");
  r->AddScalar(
      "REGEXP_REPLACE",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckConstantRegex(site, 1));
        auto cache = std::make_shared<RegexCache>(site.constants.size() > 1 ? site.constants[1] : std::nullopt);
        return FixedBinder("sss", 3, DataType::String(), [cache](ExecContext&, const Datum* a, Datum* o) -> Status {
          KL_ASSIGN_OR_RETURN(std::shared_ptr<const std::regex> re, cache->Get(a[1].as_bytes()));
          *o = Str(std::regex_replace(a[0].as_bytes(), *re, a[2].as_bytes()));
          return Status::OK();
        })(site);
      },
      "REGEXP_REPLACE(s, regex, replacement)");
  r->AddScalar(
      "REGEXP",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckConstantRegex(site, 1));
        auto cache = std::make_shared<RegexCache>(site.constants.size() > 1 ? site.constants[1] : std::nullopt);
        return FixedBinder("ss", 2, DataType::Boolean(), [cache](ExecContext&, const Datum* a, Datum* o) -> Status {
          KL_ASSIGN_OR_RETURN(std::shared_ptr<const std::regex> re, cache->Get(a[1].as_bytes()));
          *o = Datum::Bool(std::regex_search(a[0].as_bytes(), *re));
          return Status::OK();
        })(site);
      },
      "REGEXP(s, regex): TRUE when some part of s matches");
  r->AddScalar("SPLIT_INDEX",
               FixedBinder("ssi", 3, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             const std::string& s = a[0].as_bytes();
                             const std::string& sep = a[1].as_bytes();
                             int64_t idx = a[2].as_int();
                             *o = Datum();
                             if (idx < 0 || sep.empty()) return Status::OK();
                             size_t pos = 0;
                             for (int64_t k = 0;; ++k) {
                               size_t f = s.find(sep, pos);
                               if (k == idx) {
                                 *o = Str(s.substr(pos, f == std::string::npos ? std::string::npos : f - pos));
                                 return Status::OK();
                               }
                               if (f == std::string::npos) return Status::OK();
                               pos = f + sep.size();
                             }
                           }),
               "SPLIT_INDEX(s, separator, index): the index-th piece (from 0), NULL past the end");
  r->AddScalar(
      "SPLIT",
      FixedBinder("ss", 2, DataType::Array(DataType::String()),
                  [](ExecContext&, const Datum* a, Datum* o) {
                    const std::string& s = a[0].as_bytes();
                    const std::string& sep = a[1].as_bytes();
                    format::DatumList items;
                    if (sep.empty()) {
                      for (size_t i = 0; i < s.size();) {
                        size_t n = Utf8Offset(std::string_view(s).substr(i), 1);
                        items.push_back(Str(s.substr(i, n)));
                        i += std::max<size_t>(n, 1);
                      }
                    } else {
                      size_t pos = 0;
                      while (true) {
                        size_t f = s.find(sep, pos);
                        items.push_back(Str(s.substr(pos, f == std::string::npos ? std::string::npos : f - pos)));
                        if (f == std::string::npos) break;
                        pos = f + sep.size();
                      }
                    }
                    *o = Datum::List(std::move(items));
                    return Status::OK();
                  }),
      "SPLIT(s, separator): ARRAY<STRING>");
  auto char_length = FixedBinder("s", 1, I, [](ExecContext&, const Datum* a, Datum* o) {
    *o = Datum::Int(static_cast<int64_t>(Utf8Length(a[0].as_bytes())));
    return Status::OK();
  });
  r->AddScalar("CHAR_LENGTH", char_length, "CHAR_LENGTH(s): characters");
  r->AddScalar("CHARACTER_LENGTH", char_length, "CHARACTER_LENGTH(s)");
  r->AddScalar("LENGTH", char_length, "LENGTH(s): characters");
  r->AddScalar("OCTET_LENGTH",
               FixedBinder("x", 1, I,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             *o = Datum::Int(
                                 a[0].kind() == Datum::Kind::kBytes ? static_cast<int64_t>(a[0].as_bytes().size()) : 0);
                             return Status::OK();
                           }),
               "OCTET_LENGTH(s): bytes");
  auto locate = [](ExecContext&, const Datum* a, Datum* o) {
    // a[0] needle, a[1] haystack, a[2] start (1-based)
    std::string_view hay = a[1].as_bytes();
    int64_t start = a[2].is_null() ? 1 : a[2].as_int();
    if (start < 1) {
      *o = Datum::Int(0);
      return Status::OK();
    }
    size_t from = Utf8Offset(hay, static_cast<size_t>(start - 1));
    size_t f = hay.find(a[0].as_bytes(), from);
    *o = Datum::Int(f == std::string::npos ? 0 : static_cast<int64_t>(Utf8Length(hay.substr(0, f))) + 1);
    return Status::OK();
  };
  r->AddScalar("POSITION", FixedBinder("ssi", 2, I, locate), "POSITION(needle IN s): 1-based, 0 when absent");
  r->AddScalar("LOCATE", FixedBinder("ssi", 2, I, locate), "LOCATE(needle, s[, start])");
  r->AddScalar("INSTR",
               FixedBinder("ss", 2, I,
                           [locate](ExecContext& c, const Datum* a, Datum* o) {
                             Datum swapped[3] = {a[1], a[0], Datum()};
                             return locate(c, swapped, o);
                           }),
               "INSTR(s, needle)");
  r->AddScalar("LPAD",
               FixedBinder("sis", 3, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             if (a[1].as_int() < 0) {
                               *o = Datum();
                             } else {
                               *o = Str(Pad(a[0].as_bytes(), a[1].as_int(), a[2].as_bytes(), true));
                             }
                             return Status::OK();
                           }),
               "LPAD(s, length, pad)");
  r->AddScalar("RPAD",
               FixedBinder("sis", 3, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             if (a[1].as_int() < 0) {
                               *o = Datum();
                             } else {
                               *o = Str(Pad(a[0].as_bytes(), a[1].as_int(), a[2].as_bytes(), false));
                             }
                             return Status::OK();
                           }),
               "RPAD(s, length, pad)");
  r->AddScalar("REPEAT",
               FixedBinder("si", 2, S,
                           [](ExecContext&, const Datum* a, Datum* o) -> Status {
                             int64_t n = a[1].as_int();
                             const std::string& s = a[0].as_bytes();
                             if (n <= 0) {
                               *o = Str("");
                               return Status::OK();
                             }
                             if (static_cast<double>(n) * static_cast<double>(s.size()) > 256.0 * 1024 * 1024) {
                               return Status::InvalidArgument("REPEAT would build a string over 256 MB");
                             }
                             std::string out;
                             out.reserve(s.size() * n);
                             for (int64_t i = 0; i < n; ++i) out += s;
                             *o = Str(std::move(out));
                             return Status::OK();
                           }),
               "REPEAT(s, n)");
  r->AddScalar("REVERSE",
               FixedBinder("s", 1, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             std::string_view s = a[0].as_bytes();
                             std::string out;
                             size_t i = s.size();
                             while (i > 0) {
                               size_t start = i - 1;
                               while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
                               out.append(s.substr(start, i - start));
                               i = start;
                             }
                             *o = Str(std::move(out));
                             return Status::OK();
                           }),
               "REVERSE(s)");
  r->AddScalar("INITCAP",
               FixedBinder("s", 1, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             std::string s = a[0].as_bytes();
                             bool start = true;
                             for (auto& c : s) {
                               unsigned char u = static_cast<unsigned char>(c);
                               if (std::isalnum(u)) {
                                 c = static_cast<char>(start ? std::toupper(u) : std::tolower(u));
                                 start = false;
                               } else {
                                 start = true;
                               }
                             }
                             *o = Str(std::move(s));
                             return Status::OK();
                           }),
               "INITCAP(s)");
  r->AddScalar("LEFT",
               FixedBinder("si", 2, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             int64_t n = a[1].as_int();
                             std::string_view s = a[0].as_bytes();
                             *o = Str(n <= 0 ? "" : std::string(s.substr(0, Utf8Offset(s, static_cast<size_t>(n)))));
                             return Status::OK();
                           }),
               "LEFT(s, n)");
  r->AddScalar("RIGHT",
               FixedBinder("si", 2, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             int64_t n = a[1].as_int();
                             std::string_view s = a[0].as_bytes();
                             int64_t len = static_cast<int64_t>(Utf8Length(s));
                             if (n <= 0) {
                               *o = Str("");
                             } else if (n >= len) {
                               *o = Str(std::string(s));
                             } else {
                               *o = Str(std::string(s.substr(Utf8Offset(s, static_cast<size_t>(len - n)))));
                             }
                             return Status::OK();
                           }),
               "RIGHT(s, n)");
  r->AddScalar("ASCII",
               FixedBinder("s", 1, I,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             const std::string& s = a[0].as_bytes();
                             *o = s.empty() ? Datum::Int(0) : Datum::Int(static_cast<unsigned char>(s[0]));
                             return Status::OK();
                           }),
               "ASCII(s)");
  r->AddScalar("CHR",
               FixedBinder("i", 1, S,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             int64_t c = a[0].as_int();
                             if (c < 0 || c > 255) {
                               *o = Datum();
                             } else {
                               std::string s;
                               if (c < 128) {
                                 s.push_back(static_cast<char>(c));
                               } else {
                                 s.push_back(static_cast<char>(0xC0 | (c >> 6)));
                                 s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
                               }
                               *o = Str(s);
                             }
                             return Status::OK();
                           }),
               "CHR(code)");
  r->AddScalar(
      "STR_TO_MAP",
      FixedBinder("sss", 1, DataType::Map(DataType::String(), DataType::String()),
                  [](ExecContext&, const Datum* a, Datum* o) {
                    std::string pair_sep = a[1].is_null() ? "," : a[1].as_bytes();
                    std::string kv_sep = a[2].is_null() ? "=" : a[2].as_bytes();
                    format::DatumList items;
                    for (const auto& piece : Split(a[0].as_bytes(), pair_sep.empty() ? ',' : pair_sep[0])) {
                      size_t eq = kv_sep.empty() ? std::string::npos : piece.find(kv_sep);
                      items.push_back(Str(piece.substr(0, eq)));
                      items.push_back(eq == std::string::npos ? Datum() : Str(piece.substr(eq + kv_sep.size())));
                    }
                    *o = Datum::List(std::move(items));
                    return Status::OK();
                  }),
      "STR_TO_MAP(s[, pair separator, key-value separator])");
}

}  // namespace kl::sql
