#include "server/pgwire/testing/test_engine.h"

#include <chrono>
#include <thread>

#include "common/string_util.h"
#include "server/pgwire/types.h"

namespace kl::server::testing {
namespace {

using format::DataType;
using format::Datum;
using format::Row;
using format::RowType;

SqlError Syntax(const std::string& what) { return SqlError{sqlstate::kSyntaxError, what, "", "", 1}; }

std::optional<DataType> TypeByName(std::string name) {
  name = ToLower(name);
  if (name == "int2" || name == "smallint") return DataType::SmallInt();
  if (name == "int4" || name == "int" || name == "integer") return DataType::Int();
  if (name == "int8" || name == "bigint") return DataType::BigInt();
  if (name == "text" || name == "varchar") return DataType::String();
  if (name == "float4" || name == "real") return DataType::Float();
  if (name == "float8" || name == "double") return DataType::Double();
  if (name == "numeric" || name == "decimal") return DataType::Decimal(20, 4);
  if (name == "bool" || name == "boolean") return DataType::Boolean();
  if (name == "date") return DataType::Date();
  if (name == "timestamp") return DataType::Timestamp(6);
  if (name == "timestamptz") return DataType::TimestampLtz(6);
  if (name == "bytea") return DataType::Bytes();
  return std::nullopt;
}

// Tokens: words, numbers, 'strings' (kept quoted), $n, and punctuation ("::" as one).
std::vector<std::string> Tokenize(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c)) || c == ';') {
      ++i;
    } else if (c == '\'') {
      size_t j = i + 1;
      std::string text = "'";
      while (j < s.size()) {
        if (s[j] == '\'' && j + 1 < s.size() && s[j + 1] == '\'') {
          text += '\'';
          j += 2;
        } else if (s[j] == '\'') {
          break;
        } else {
          text += s[j++];
        }
      }
      out.push_back(text + "'");
      i = j + 1;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '.' || c == '-') {
      size_t j = i + 1;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '.')) ++j;
      out.emplace_back(s.substr(i, j - i));
      i = j;
    } else if (c == ':' && i + 1 < s.size() && s[i + 1] == ':') {
      out.emplace_back("::");
      i += 2;
    } else {
      out.emplace_back(1, c);
      ++i;
    }
  }
  return out;
}

struct Value {
  DataType type = DataType::String();
  Datum datum;
  int param = 0;  // $n, 1-based
};

// Parses one value at tokens[*i].
SqlResult<Value> ParseValue(const std::vector<std::string>& t, size_t* i,
                            const std::vector<std::optional<DataType>>& hints) {
  if (*i >= t.size()) return Syntax("syntax error at end of input");
  const std::string& tok = t[(*i)++];
  Value v;
  std::string text;
  bool is_text = false;
  if (tok[0] == '$') {
    auto n = ParseInt64(tok.substr(1));
    if (!n || *n < 1 || *n > 100) return Syntax("bad parameter " + tok);
    v.param = static_cast<int>(*n);
    if (static_cast<size_t>(v.param) <= hints.size() && hints[v.param - 1]) v.type = *hints[v.param - 1];
  } else if (tok[0] == '\'') {
    text = tok.substr(1, tok.size() - 2);
    is_text = true;
    v.datum = Datum::Bytes(text);
  } else if (EqualsIgnoreCase(tok, "null")) {
    v.datum = Datum();
  } else if (EqualsIgnoreCase(tok, "true") || EqualsIgnoreCase(tok, "false")) {
    v.type = DataType::Boolean();
    v.datum = Datum::Bool(EqualsIgnoreCase(tok, "true"));
  } else if (auto n = ParseInt64(tok)) {
    v.type = *n >= INT32_MIN && *n <= INT32_MAX ? DataType::Int() : DataType::BigInt();
    v.datum = Datum::Int(*n);
  } else if (auto d = ParseDouble(tok)) {
    v.type = DataType::Double();
    v.datum = Datum::Double(*d);
  } else {
    return Syntax("syntax error at or near \"" + tok + "\"");
  }
  if (*i + 1 < t.size() && t[*i] == "::") {
    auto type = TypeByName(t[*i + 1]);
    if (!type) return SqlError{sqlstate::kUndefinedObject, "type \"" + t[*i + 1] + "\" does not exist", "", "", 0};
    *i += 2;
    v.type = *type;
    if (is_text) {
      auto parsed = pg::DecodeValue(text, v.type, 0, false);
      if (!parsed.ok()) return SqlError{sqlstate::kInvalidTextRepresentation, parsed.status().message(), "", "", 0};
      v.datum = *parsed;
    }
  }
  return v;
}

class SleepStream : public RowStream {
 public:
  explicit SleepStream(int64_t ms) : ms_(ms) {}
  SqlResult<size_t> Next(size_t max, std::vector<Row>* rows, const QueryContext& ctx) override {
    if (done_) return size_t{0};
    int64_t until = MonotonicMicros() + ms_ * 1000;
    while (MonotonicMicros() < until) {
      if (auto stop = ctx.Interrupted()) return *stop;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    done_ = true;
    rows->push_back({Datum::Int(ms_)});
    return size_t{1};
  }

 private:
  int64_t ms_;
  bool done_ = false;
};

class SeriesStream : public RowStream {
 public:
  SeriesStream(int64_t n, int64_t fail_after) : n_(n), fail_after_(fail_after) {}
  SqlResult<size_t> Next(size_t max, std::vector<Row>* rows, const QueryContext& ctx) override {
    if (auto stop = ctx.Interrupted()) return *stop;
    if (fail_after_ >= 0 && next_ > fail_after_) return SqlError{"22012", "division by zero", "", "", 0};
    size_t k = 0;
    while (k < max && next_ <= n_) {
      if (fail_after_ >= 0 && next_ > fail_after_) break;
      rows->push_back({Datum::Int(next_++)});
      ++k;
    }
    return k;
  }

 private:
  int64_t n_;
  int64_t fail_after_;
  int64_t next_ = 1;
};

// Rows 1..n as column batches of two rows (n, its text, n / 2 as a double; the text of
// row 3 is NULL): a stream the server encodes from columns (RowStream::NextBatch).
class BatchSeriesStream : public RowStream {
 public:
  BatchSeriesStream(int64_t n, RowType type) : n_(n), type_(std::move(type)) {}
  SqlResult<size_t> Next(size_t max, std::vector<Row>* rows, const QueryContext& ctx) override {
    format::ColumnBatch batch;
    auto more = NextBatch(&batch, ctx);
    if (!more.ok()) return more.error();
    for (size_t i = 0; *more && i < batch.num_rows(); ++i) rows->push_back(batch.GetRow(i));
    return *more ? batch.num_rows() : 0;
  }
  bool batched() const override { return true; }
  SqlResult<bool> NextBatch(format::ColumnBatch* batch, const QueryContext& ctx) override {
    if (auto stop = ctx.Interrupted()) return *stop;
    if (next_ > n_) return false;
    *batch = format::ColumnBatch(type_);
    for (int k = 0; k < 2 && next_ <= n_; ++k, ++next_) {
      batch->AppendRow({Datum::Int(next_), next_ == 3 ? Datum() : Datum::Bytes("row " + std::to_string(next_)),
                        Datum::Double(static_cast<double>(next_) / 2)});
    }
    return true;
  }

 private:
  int64_t n_;
  RowType type_;
  int64_t next_ = 1;
};

class TestSession : public QuerySession {
 public:
  SqlResult<StatementDescription> Describe(std::string_view sql,
                                           const std::vector<std::optional<DataType>>& hints) override {
    auto plan = Plan(sql, hints, nullptr);
    if (!plan.ok()) return plan.error();
    return plan->description;
  }

  SqlResult<StatementResult> Execute(std::string_view sql, const std::vector<Datum>& params,
                                     const QueryContext& ctx) override {
    auto plan = Plan(sql, {}, &params);
    if (!plan.ok()) return plan.error();
    StatementResult r;
    r.returns_rows = true;
    r.columns = plan->description.columns;
    r.rows = std::move(plan->rows);
    return r;
  }

 private:
  struct PlanResult {
    StatementDescription description;
    std::unique_ptr<RowStream> rows;
  };

  SqlResult<PlanResult> Plan(std::string_view sql, std::vector<std::optional<DataType>> hints,
                             const std::vector<Datum>* params) {
    std::vector<std::string> t = Tokenize(sql);
    PlanResult p;
    p.description.returns_rows = true;
    if (t.empty() || !EqualsIgnoreCase(t[0], "select")) {
      return Syntax("syntax error at or near \"" + (t.empty() ? std::string() : t[0]) + "\"");
    }
    if (t.size() >= 4 && t[1] == "*" && EqualsIgnoreCase(t[2], "from")) {
      if (EqualsIgnoreCase(t[3], "generate_series") && t.size() >= 7 && t[4] == "(" && t[6] == ")") {
        auto n = ParseInt64(t[5]);
        if (!n) return Syntax("generate_series needs a number");
        p.description.columns = RowType({{0, "n", DataType::BigInt(), ""}});
        if (params != nullptr) p.rows = std::make_unique<SeriesStream>(*n, -1);
        return p;
      }
      if (EqualsIgnoreCase(t[3], "generate_batches") && t.size() >= 7 && t[4] == "(" && t[6] == ")") {
        auto n = ParseInt64(t[5]);
        if (!n) return Syntax("generate_batches needs a number");
        p.description.columns = RowType(
            {{0, "n", DataType::BigInt(), ""}, {1, "s", DataType::String(), ""}, {2, "d", DataType::Double(), ""}});
        if (params != nullptr) p.rows = std::make_unique<BatchSeriesStream>(*n, p.description.columns);
        return p;
      }
      if (!EqualsIgnoreCase(t[3], "items")) {
        return SqlError{sqlstate::kUndefinedTable, "relation \"" + t[3] + "\" does not exist", "", "", 15};
      }
      p.description.columns = TestEngine::ItemsType();
      std::vector<Row> rows = TestEngine::Items();
      size_t i = 4;
      if (i < t.size() && EqualsIgnoreCase(t[i], "where")) {
        if (i + 3 > t.size() || !EqualsIgnoreCase(t[i + 1], "id") || t[i + 2] != "=") {
          return Syntax("only WHERE id = <value> is understood");
        }
        i += 3;
        if (hints.empty()) hints.resize(1);
        if (!hints[0]) hints[0] = DataType::BigInt();
        auto v = ParseValue(t, &i, hints);
        if (!v.ok()) return v.error();
        if (v->param > 0)
          p.description.parameters.resize(std::max<size_t>(v->param, p.description.parameters.size()),
                                          DataType::BigInt());
        if (params != nullptr) {
          Datum key = v->param > 0
                          ? (static_cast<size_t>(v->param) <= params->size() ? (*params)[v->param - 1] : Datum())
                          : v->datum;
          std::vector<Row> kept;
          for (auto& r : rows) {
            if (!key.is_null() && key.kind() == Datum::Kind::kInt && r[0].as_int() == key.as_int()) kept.push_back(r);
          }
          rows = std::move(kept);
        }
      }
      if (i + 1 < t.size() && EqualsIgnoreCase(t[i], "limit")) {
        auto n = ParseInt64(t[i + 1]);
        if (!n || *n < 0) return Syntax("LIMIT needs a number");
        if (rows.size() > static_cast<size_t>(*n)) rows.resize(static_cast<size_t>(*n));
        i += 2;
      }
      if (i != t.size()) return Syntax("syntax error at or near \"" + t[i] + "\"");
      if (params != nullptr) p.rows = std::make_unique<VectorRowStream>(std::move(rows));
      return p;
    }
    if (t.size() == 5 && t[2] == "(" && t[4] == ")" &&
        (EqualsIgnoreCase(t[1], "sleep") || EqualsIgnoreCase(t[1], "fail_after"))) {
      auto n = ParseInt64(t[3]);
      if (!n) return Syntax("needs a number");
      p.description.columns = RowType({{0, ToLower(t[1]), DataType::BigInt(), ""}});
      if (params != nullptr) {
        if (EqualsIgnoreCase(t[1], "sleep")) {
          p.rows = std::make_unique<SleepStream>(*n);
        } else {
          p.rows = std::make_unique<SeriesStream>(*n + 1000, *n);
        }
      }
      return p;
    }
    // SELECT value [AS name], ...
    std::vector<format::DataField> fields;
    Row row;
    size_t i = 1;
    while (i < t.size()) {
      auto v = ParseValue(t, &i, hints);
      if (!v.ok()) return v.error();
      std::string name = "?column?";
      if (i + 1 < t.size() && EqualsIgnoreCase(t[i], "as")) {
        name = t[i + 1];
        i += 2;
      }
      if (v->param > 0) {
        auto& ps = p.description.parameters;
        if (ps.size() < static_cast<size_t>(v->param)) ps.resize(v->param, DataType::String());
        ps[v->param - 1] = v->type;
        if (params != nullptr) {
          if (static_cast<size_t>(v->param) > params->size()) {
            return SqlError{sqlstate::kProtocolViolation, "no value for $" + std::to_string(v->param), "", "", 0};
          }
          v->datum = (*params)[v->param - 1];
        }
      }
      fields.push_back({static_cast<int32_t>(fields.size()), name, v->type, ""});
      row.push_back(v->datum);
      if (i < t.size()) {
        if (t[i] != ",") return Syntax("syntax error at or near \"" + t[i] + "\"");
        ++i;
      }
    }
    if (fields.empty()) return Syntax("syntax error at end of input");
    p.description.columns = RowType(std::move(fields));
    if (params != nullptr) p.rows = std::make_unique<VectorRowStream>(std::vector<Row>{row});
    return p;
  }
};

}  // namespace

std::unique_ptr<QuerySession> TestEngine::NewSession(const SessionInfo&) { return std::make_unique<TestSession>(); }

format::RowType TestEngine::ItemsType() {
  return RowType({{0, "id", DataType::BigInt(), ""},
                  {1, "name", DataType::String(), ""},
                  {2, "price", DataType::Decimal(10, 2), ""},
                  {3, "ratio", DataType::Double(), ""},
                  {4, "active", DataType::Boolean(), ""},
                  {5, "born", DataType::Date(), ""},
                  {6, "seen", DataType::Timestamp(6), ""},
                  {7, "seen_tz", DataType::TimestampLtz(6), ""},
                  {8, "data", DataType::Bytes(), ""},
                  {9, "tags", DataType::Array(DataType::String()), ""},
                  {10, "small", DataType::Int(), ""},
                  {11, "labels", DataType::Map(DataType::String(), DataType::String()), ""}});
}

std::vector<format::Row> TestEngine::Items() {
  auto ts = [](int64_t micros) { return Datum::Time(format::Timestamp::FromMicros(micros)); };
  return {
      {Datum::Int(1), Datum::Bytes("alpha"), Datum::Decimal(1999), Datum::Double(0.5), Datum::Bool(true),
       Datum::Int(19723), ts(1704164645123456), ts(1704164645000000), Datum::Bytes(std::string("\x00\x01\xff", 3)),
       Datum::List({Datum::Bytes("a"), Datum::Bytes("b c"), Datum()}), Datum::Int(-7),
       Datum::List({Datum::Bytes("team"), Datum::Bytes("infra")})},
      {Datum::Int(2), Datum::Bytes("h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac"),
       Datum::Decimal(-5), Datum::Double(-1.25e-7), Datum::Bool(false), Datum::Int(-1), ts(0), ts(-1000000),
       Datum::Bytes(""), Datum::List({}), Datum::Int(2147483647), Datum::List({})},
      {Datum::Int(3), Datum(), Datum(), Datum(), Datum(), Datum(), Datum(), Datum(), Datum(), Datum(), Datum(),
       Datum()},
      {Datum::Int(9007199254740993), Datum::Bytes("quote ' and \" and \\ backslash"), Datum::Decimal(12345678901),
       Datum::Double(1e300), Datum::Bool(true), Datum::Int(2932896), ts(253402300799999999), ts(1),
       Datum::Bytes("bytes"), Datum::List({Datum::Bytes("NULL"), Datum::Bytes("")}), Datum::Int(0),
       Datum::List({Datum::Bytes("k"), Datum()})},
  };
}

}  // namespace kl::server::testing
