#include "sql/functions/operators.h"

#include <cctype>
#include <cmath>

#include "common/clock.h"
#include "common/string_util.h"
#include "sql/binder/types.h"

namespace kl::sql {

using format::Int128;
using format::PhysicalKind;
using format::Timestamp;
using format::TypeRoot;

namespace {

template <typename Cmp>
ScalarKernel ComparisonKernel(PhysicalKind kind, Cmp cmp) {
  return [kind, cmp](ExecContext&, const std::vector<const Column*>& args, size_t rows, Column* out) -> Status {
    const Column& a = *args[0];
    const Column& b = *args[1];
    bool nulls = a.has_nulls() || b.has_nulls();
    for (size_t i = 0; i < rows; ++i) {
      if (nulls && (a.IsNull(i) || b.IsNull(i))) {
        out->AppendNull();
        continue;
      }
      int c;
      switch (kind) {
        case PhysicalKind::kInt: {
          int64_t x = a.GetInt(i), y = b.GetInt(i);
          c = x < y ? -1 : x > y ? 1 : 0;
          break;
        }
        case PhysicalKind::kDouble: {
          double x = a.GetDouble(i), y = b.GetDouble(i);
          c = x < y ? -1 : x > y ? 1 : (x == y ? 0 : 2);  // 2: NaN, unordered
          break;
        }
        case PhysicalKind::kBytes: {
          int r = a.GetBytes(i).compare(b.GetBytes(i));
          c = r < 0 ? -1 : r > 0 ? 1 : 0;
          break;
        }
        default: c = a.CompareAt(i, b, i); break;
      }
      out->AppendInt(cmp(c) ? 1 : 0);
    }
    return Status::OK();
  };
}

Int128 Pow10(int n) {
  Int128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

bool Fits(Int128 v, int precision) {
  Int128 limit = Pow10(precision);
  return v < limit && v > -limit;
}

// v * 10^n with overflow detection.
bool ScaleUp(Int128 v, int n, Int128* out) {
  Int128 r = v;
  for (int i = 0; i < n; ++i) {
    if (__builtin_mul_overflow(r, static_cast<Int128>(10), &r)) return false;
  }
  *out = r;
  return true;
}

Int128 DivRound(Int128 a, Int128 b) {
  Int128 q = a / b, r = a % b;
  if (r < 0) r = -r;
  Int128 ab = b < 0 ? -b : b;
  if (r >= ab - r) q += ((a < 0) != (b < 0)) ? -1 : 1;
  return q;
}

}  // namespace

Result<BoundFunction> BindComparison(const std::string& op, const DataType& type) {
  if (type.root() == TypeRoot::kInterval) return BindIntervalComparison(op);
  BoundFunction f;
  f.return_type = DataType::Boolean();
  PhysicalKind k = type.physical();
  if (op == "=") {
    f.kernel = ComparisonKernel(k, [](int c) { return c == 0; });
  } else if (op == "<>") {
    f.kernel = ComparisonKernel(k, [](int c) { return c != 0; });
  } else if (op == "<") {
    f.kernel = ComparisonKernel(k, [](int c) { return c == -1; });
  } else if (op == "<=") {
    f.kernel = ComparisonKernel(k, [](int c) { return c == -1 || c == 0; });
  } else if (op == ">") {
    f.kernel = ComparisonKernel(k, [](int c) { return c == 1; });
  } else if (op == ">=") {
    f.kernel = ComparisonKernel(k, [](int c) { return c == 1 || c == 0; });
  } else {
    return Status::Internal("unknown comparison " + op);
  }
  return f;
}

Result<BoundFunction> BindArithmetic(const std::string& op, const DataType& a, const DataType& b,
                                     const DataType& result) {
  BoundFunction f;
  f.return_type = result;
  char o = op[0];
  if (IsApproximate(result)) {
    f.arg_types = {DataType::Double().WithNullable(a.nullable()), DataType::Double().WithNullable(b.nullable())};
    bool is_float = result.root() == TypeRoot::kFloat;
    f.kernel = [o, is_float](ExecContext&, const std::vector<const Column*>& args, size_t rows, Column* out) -> Status {
      const Column& x = *args[0];
      const Column& y = *args[1];
      for (size_t i = 0; i < rows; ++i) {
        if (x.IsNull(i) || y.IsNull(i)) {
          out->AppendNull();
          continue;
        }
        double p = x.GetDouble(i), q = y.GetDouble(i), r;
        switch (o) {
          case '+': r = p + q; break;
          case '-': r = p - q; break;
          case '*': r = p * q; break;
          case '/': r = p / q; break;
          default: r = std::fmod(p, q); break;
        }
        out->AppendDouble(is_float && std::fabs(r) <= 3.4028234663852886e38 ? static_cast<float>(r) : r);
      }
      return Status::OK();
    };
    return f;
  }
  if (IsIntegral(result)) {
    TypeRoot root = result.root();
    f.kernel = [o, root](ExecContext&, const std::vector<const Column*>& args, size_t rows, Column* out) -> Status {
      const Column& x = *args[0];
      const Column& y = *args[1];
      bool nulls = x.has_nulls() || y.has_nulls();
      if (!nulls) {
        // No NULLs: values straight into a buffer, one loop per operator.
        std::vector<int64_t> r(rows);
        if (o == '+' || o == '-' || o == '*') {
          for (size_t i = 0; i < rows; ++i) {
            uint64_t p = static_cast<uint64_t>(x.GetInt(i)), q = static_cast<uint64_t>(y.GetInt(i));
            r[i] = static_cast<int64_t>(o == '+' ? p + q : o == '-' ? p - q : p * q);
          }
        } else {
          for (size_t i = 0; i < rows; ++i) {
            int64_t p = x.GetInt(i), q = y.GetInt(i);
            if (q == 0) return Status::InvalidArgument(o == '/' ? "division by zero" : "modulo by zero (MOD / %)");
            if (q == -1)
              r[i] = o == '/' ? static_cast<int64_t>(0 - static_cast<uint64_t>(p)) : 0;
            else
              r[i] = o == '/' ? p / q : p % q;
          }
        }
        if (root != TypeRoot::kBigInt) {
          for (auto& v : r) v = WrapToIntegral(v, root);
        }
        out->AppendInts(r.data(), rows);
        return Status::OK();
      }
      for (size_t i = 0; i < rows; ++i) {
        if (nulls && (x.IsNull(i) || y.IsNull(i))) {
          out->AppendNull();
          continue;
        }
        uint64_t p = static_cast<uint64_t>(x.GetInt(i)), q = static_cast<uint64_t>(y.GetInt(i));
        int64_t r;
        switch (o) {
          case '+': r = static_cast<int64_t>(p + q); break;
          case '-': r = static_cast<int64_t>(p - q); break;
          case '*': r = static_cast<int64_t>(p * q); break;
          default: {
            int64_t sp = static_cast<int64_t>(p), sq = static_cast<int64_t>(q);
            if (sq == 0) return Status::InvalidArgument(o == '/' ? "division by zero" : "modulo by zero (MOD / %)");
            if (sq == -1) {
              r = o == '/' ? static_cast<int64_t>(0 - p) : 0;
            } else {
              r = o == '/' ? sp / sq : sp % sq;
            }
          }
        }
        out->AppendInt(WrapToIntegral(r, root));
      }
      return Status::OK();
    };
    return f;
  }
  // DECIMAL: operands as decimals with their own scales.
  DataType da = ToDecimal(a), db = ToDecimal(b);
  f.arg_types = {da, db};
  int s1 = da.scale(), s2 = db.scale(), s = result.scale(), p = result.precision();
  f.kernel = [o, s1, s2, s, p](ExecContext&, const std::vector<const Column*>& args, size_t rows,
                               Column* out) -> Status {
    const Column& x = *args[0];
    const Column& y = *args[1];
    for (size_t i = 0; i < rows; ++i) {
      if (x.IsNull(i) || y.IsNull(i)) {
        out->AppendNull();
        continue;
      }
      Int128 u = x.GetDecimal(i), v = y.GetDecimal(i), r = 0;
      bool ok = true;
      switch (o) {
        case '+':
        case '-': {
          int m = std::max(s1, s2);
          Int128 uu, vv;
          ok = ScaleUp(u, m - s1, &uu) && ScaleUp(v, m - s2, &vv);
          if (ok) ok = !(o == '+' ? __builtin_add_overflow(uu, vv, &r) : __builtin_sub_overflow(uu, vv, &r));
          if (ok && m > s) r = DivRound(r, Pow10(m - s));
          if (ok && m < s) ok = ScaleUp(r, s - m, &r);
          break;
        }
        case '*': {
          ok = !__builtin_mul_overflow(u, v, &r);
          int m = s1 + s2;
          if (ok && m > s) r = DivRound(r, Pow10(m - s));
          if (ok && m < s) ok = ScaleUp(r, s - m, &r);
          break;
        }
        case '/': {
          if (v == 0) return Status::InvalidArgument("division by zero");
          // r = u / v with scale s: u * 10^(s - s1 + s2) / v
          int shift = s - s1 + s2;
          Int128 num;
          if (shift >= 0) {
            ok = ScaleUp(u, shift, &num);
            if (ok) r = DivRound(num, v);
          } else {
            Int128 den;
            ok = -shift <= 38 && !__builtin_mul_overflow(v, Pow10(-shift), &den);
            if (ok) r = DivRound(u, den);
          }
          break;
        }
        default: {
          if (v == 0) return Status::InvalidArgument("modulo by zero (MOD / %)");
          int m = std::max(s1, s2);
          Int128 uu, vv;
          ok = ScaleUp(u, m - s1, &uu) && ScaleUp(v, m - s2, &vv);
          if (ok) r = uu % vv;
          if (ok && m > s) r = DivRound(r, Pow10(m - s));
          if (ok && m < s) ok = ScaleUp(r, s - m, &r);
        }
      }
      if (!ok || !Fits(r, p)) {
        out->AppendNull();  // DECIMAL overflow: NULL, as Flink
      } else {
        out->AppendDecimal(r);
      }
    }
    return Status::OK();
  };
  return f;
}

BoundFunction BindNegate(const DataType& type) {
  BoundFunction f;
  f.return_type = type;
  PhysicalKind k = type.physical();
  TypeRoot root = type.root();
  f.kernel = [k, root](ExecContext&, const std::vector<const Column*>& args, size_t rows, Column* out) -> Status {
    const Column& x = *args[0];
    for (size_t i = 0; i < rows; ++i) {
      if (x.IsNull(i)) {
        out->AppendNull();
      } else if (k == PhysicalKind::kInt) {
        out->AppendInt(WrapToIntegral(static_cast<int64_t>(0 - static_cast<uint64_t>(x.GetInt(i))), root));
      } else if (k == PhysicalKind::kDouble) {
        out->AppendDouble(-x.GetDouble(i));
      } else {
        out->AppendDecimal(-x.GetDecimal(i));
      }
    }
    return Status::OK();
  };
  return f;
}

BoundFunction BindIntervalAdd(const DataType& temporal, bool months, bool subtract) {
  BoundFunction f;
  f.return_type = temporal;
  bool is_date = temporal.root() == TypeRoot::kDate;
  bool is_time = temporal.root() == TypeRoot::kTime;
  f.kernel = [months, subtract, is_date, is_time](ExecContext&, const std::vector<const Column*>& args, size_t rows,
                                                  Column* out) -> Status {
    const Column& t = *args[0];
    const Column& n = *args[1];
    for (size_t i = 0; i < rows; ++i) {
      if (t.IsNull(i) || n.IsNull(i)) {
        out->AppendNull();
        continue;
      }
      int64_t amount = n.GetInt(i);
      if (subtract) amount = amount == INT64_MIN ? INT64_MAX : -amount;
      if (months && (amount > 1200000 || amount < -1200000)) {
        return Status::InvalidArgument("interval of more than 100000 years");
      }
      if (is_date || is_time) {
        int64_t v = t.GetInt(i);
        if (is_time) {
          out->AppendInt(((v + amount % 86400000) % 86400000 + 86400000) % 86400000);
        } else if (months) {
          out->AppendInt(AddMonthsToDay(v, amount));
        } else {
          out->AppendInt(v + FloorDiv(amount, 86400000));  // |v| < 2^40 days, amount/day < 2^37
        }
        continue;
      }
      Timestamp ts = t.GetTimestamp(i);
      if (months) {
        int64_t days = FloorDiv(ts.millis, 86400000);
        int64_t ms = ts.millis - days * 86400000;
        ts.millis = AddMonthsToDay(days, amount) * 86400000 + ms;
      } else if (__builtin_add_overflow(ts.millis, amount, &ts.millis)) {
        return Status::InvalidArgument("timestamp out of range after adding an interval");
      }
      out->AppendTimestamp(ts);
    }
    return Status::OK();
  };
  return f;
}

BoundFunction BindConcat(size_t nargs) {
  BoundFunction f;
  f.return_type = DataType::String();
  f.kernel = [](ExecContext&, const std::vector<const Column*>& args, size_t rows, Column* out) -> Status {
    std::string s;
    for (size_t i = 0; i < rows; ++i) {
      bool null = false;
      s.clear();
      for (const Column* c : args) {
        if (c->IsNull(i)) {
          null = true;
          break;
        }
        s.append(c->GetBytes(i));
      }
      if (null) {
        out->AppendNull();
      } else {
        out->AppendBytes(s);
      }
    }
    return Status::OK();
  };
  return f;
}

// ---- LIKE ----

namespace {

bool EqualChars(char a, char b, bool ci) {
  return ci ? std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)) : a == b;
}

size_t Utf8Len(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 6) return 2;
  if ((lead >> 4) == 14) return 3;
  if ((lead >> 3) == 30) return 4;
  return 1;
}

}  // namespace

Result<LikeMatcher> LikeMatcher::Compile(std::string_view pattern, int escape, bool case_insensitive) {
  LikeMatcher m;
  m.case_insensitive_ = case_insensitive;
  std::string lit;
  auto flush = [&] {
    if (!lit.empty()) {
      m.pieces_.push_back({Piece::kLiteral, lit});
      lit.clear();
    }
  };
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (escape >= 0 && c == static_cast<char>(escape)) {
      if (i + 1 >= pattern.size()) return Status::InvalidArgument("LIKE pattern ends with its escape character");
      char n = pattern[i + 1];
      if (n != '%' && n != '_' && n != static_cast<char>(escape)) {
        return Status::InvalidArgument("LIKE pattern: escape character before '" + std::string(1, n) +
                                       "' (only %, _ and the escape itself may follow it)");
      }
      lit.push_back(n);
      ++i;
    } else if (c == '%') {
      flush();
      if (m.pieces_.empty() || m.pieces_.back().kind != Piece::kAnyRun) m.pieces_.push_back({Piece::kAnyRun, ""});
    } else if (c == '_') {
      flush();
      m.pieces_.push_back({Piece::kAnyOne, ""});
    } else {
      lit.push_back(c);
    }
  }
  flush();
  if (!case_insensitive) {
    auto& p = m.pieces_;
    if (p.empty()) {
      m.shape_ = Shape::kExact;
    } else if (p.size() == 1 && p[0].kind == Piece::kLiteral) {
      m.shape_ = Shape::kExact;
      m.fixed_ = p[0].text;
    } else if (p.size() == 2 && p[0].kind == Piece::kLiteral && p[1].kind == Piece::kAnyRun) {
      m.shape_ = Shape::kPrefix;
      m.fixed_ = p[0].text;
    } else if (p.size() == 2 && p[0].kind == Piece::kAnyRun && p[1].kind == Piece::kLiteral) {
      m.shape_ = Shape::kSuffix;
      m.fixed_ = p[1].text;
    } else if (p.size() == 3 && p[0].kind == Piece::kAnyRun && p[1].kind == Piece::kLiteral &&
               p[2].kind == Piece::kAnyRun) {
      m.shape_ = Shape::kContains;
      m.fixed_ = p[1].text;
    }
  }
  return m;
}

bool LikeMatcher::Matches(std::string_view s) const {
  switch (shape_) {
    case Shape::kExact: return s == fixed_;
    case Shape::kPrefix: return s.substr(0, fixed_.size()) == fixed_;
    case Shape::kSuffix: return s.size() >= fixed_.size() && s.substr(s.size() - fixed_.size()) == fixed_;
    case Shape::kContains: return s.find(fixed_) != std::string_view::npos;
    case Shape::kGeneral: break;
  }
  // Greedy matching with backtracking to the last '%'.
  size_t pi = 0, si = 0;
  size_t star_p = std::string::npos, star_s = 0;
  auto match_piece = [&](size_t p, size_t at, size_t* len) -> bool {
    const Piece& piece = pieces_[p];
    if (piece.kind == Piece::kAnyOne) {
      if (at >= s.size()) return false;
      *len = Utf8Len(static_cast<unsigned char>(s[at]));
      return at + *len <= s.size();
    }
    if (at + piece.text.size() > s.size()) return false;
    for (size_t k = 0; k < piece.text.size(); ++k) {
      if (!EqualChars(s[at + k], piece.text[k], case_insensitive_)) return false;
    }
    *len = piece.text.size();
    return true;
  };
  while (true) {
    if (pi < pieces_.size() && pieces_[pi].kind == Piece::kAnyRun) {
      star_p = pi++;
      star_s = si;
      continue;
    }
    if (pi == pieces_.size() && si == s.size()) return true;
    size_t len = 0;
    if (pi < pieces_.size() && match_piece(pi, si, &len)) {
      ++pi;
      si += len;
      continue;
    }
    if (star_p == std::string::npos || star_s >= s.size()) return false;
    star_s += Utf8Len(static_cast<unsigned char>(s[star_s]));
    si = star_s;
    pi = star_p + 1;
  }
}

Result<BoundFunction> BindLike(const CallSite& site, bool case_insensitive, bool similar) {
  if (similar) return site.Error("SIMILAR TO is not supported; use REGEXP(value, pattern)");
  for (size_t i = 0; i < site.arg_types.size(); ++i) {
    if (!IsStringType(site.arg_types[i])) {
      return site.Error("LIKE needs strings, but " + site.Arg(i) + " is " + TypeName(site.arg_types[i]));
    }
  }
  int escape = -1;
  if (site.arg_types.size() > 2) {
    if (!site.constants[2] || site.constants[2]->is_null() || site.constants[2]->as_bytes().size() != 1) {
      return site.Error("LIKE ... ESCAPE needs a constant single character");
    }
    escape = static_cast<unsigned char>(site.constants[2]->as_bytes()[0]);
  }
  BoundFunction f;
  f.return_type = DataType::Boolean();
  std::shared_ptr<LikeMatcher> fixed;
  if (site.constants[1]) {
    if (site.constants[1]->is_null()) {
      f.kernel = [](ExecContext&, const std::vector<const Column*>&, size_t rows, Column* out) -> Status {
        for (size_t i = 0; i < rows; ++i) out->AppendNull();
        return Status::OK();
      };
      return f;
    }
    auto m = LikeMatcher::Compile(site.constants[1]->as_bytes(), escape, case_insensitive);
    if (!m.ok()) return site.Error(m.status().message());
    fixed = std::make_shared<LikeMatcher>(std::move(*m));
  }
  f.kernel = [fixed, escape, case_insensitive](ExecContext&, const std::vector<const Column*>& args, size_t rows,
                                               Column* out) -> Status {
    const Column& v = *args[0];
    const Column& p = *args[1];
    std::optional<LikeMatcher> last;
    std::string last_pattern;
    for (size_t i = 0; i < rows; ++i) {
      if (v.IsNull(i) || p.IsNull(i)) {
        out->AppendNull();
        continue;
      }
      const LikeMatcher* m = fixed.get();
      if (m == nullptr) {
        std::string_view pat = p.GetBytes(i);
        if (!last || pat != last_pattern) {
          KL_ASSIGN_OR_RETURN(LikeMatcher compiled, LikeMatcher::Compile(pat, escape, case_insensitive));
          last = std::move(compiled);
          last_pattern = std::string(pat);
        }
        m = &*last;
      }
      out->AppendInt(m->Matches(v.GetBytes(i)) ? 1 : 0);
    }
    return Status::OK();
  };
  return f;
}

}  // namespace kl::sql
