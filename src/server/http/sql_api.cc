#include "server/http/sql_api.h"

#include <cmath>
#include <cstdio>

#include "common/clock.h"
#include "common/json.h"
#include "common/string_util.h"
#include "sql/functions/cast.h"
#include "sql/sql.h"

namespace kl::server {
namespace {

using format::DataType;
using format::Datum;
using format::TypeRoot;

// A value as JSON: numbers as numbers, DECIMAL as text (exact), dates and times as text,
// arrays as arrays, maps and rows as objects.
void WriteValue(JsonWriter* w, sql::ExecContext& ctx, const Datum& d, const DataType& t) {
  if (d.is_null()) {
    w->Null();
    return;
  }
  switch (t.root()) {
    case TypeRoot::kBoolean: w->Bool(d.as_int() != 0); return;
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kBigInt: w->Int(d.as_int()); return;
    case TypeRoot::kFloat:
    case TypeRoot::kDouble: {
      double v = d.as_double();
      if (std::isfinite(v)) {
        w->Double(v);
      } else {
        w->String(sql::ValueToText(ctx, d, t));
      }
      return;
    }
    case TypeRoot::kArray:
    case TypeRoot::kMultiset:
      w->BeginArray();
      for (const auto& item : d.as_list()) WriteValue(w, ctx, item, t.element());
      w->EndArray();
      return;
    case TypeRoot::kMap: {
      const auto& items = d.as_list();
      w->BeginObject();
      for (size_t i = 0; i + 1 < items.size(); i += 2) {
        w->Key(items[i].is_null() ? "null" : sql::ValueToText(ctx, items[i], t.key()));
        WriteValue(w, ctx, items[i + 1], t.value());
      }
      w->EndObject();
      return;
    }
    case TypeRoot::kRow: {
      const auto& items = d.as_list();
      w->BeginObject();
      for (size_t i = 0; i < t.fields().size() && i < items.size(); ++i) {
        w->Key(t.fields()[i].name);
        WriteValue(w, ctx, items[i], t.fields()[i].type);
      }
      w->EndObject();
      return;
    }
    default: w->String(sql::ValueToText(ctx, d, t)); return;
  }
}

HttpResponse Error(int status, const Status& s) {
  std::string message = s.message();
  int line = 0, column = 0, consumed = 0;
  JsonWriter w;
  w.BeginObject();
  if (std::sscanf(message.c_str(), "line %d, column %d: %n", &line, &column, &consumed) == 2 && consumed > 0) {
    w.Key("error").String(message.substr(static_cast<size_t>(consumed)));
    w.Key("line").Int(line).Key("column").Int(column);
  } else {
    w.Key("error").String(message);
  }
  w.EndObject();
  return HttpResponse{status, "application/json", w.Release(), {}};
}

}  // namespace

void AddSqlApiRoute(std::shared_ptr<sql::SqlEngine> engine, const SqlApiOptions& options,
                    std::map<std::string, HttpHandler>* routes, HttpServerOptions* http_options) {
  http_options->post_paths.insert("/api/v1/sql");
  (*routes)["/api/v1/sql"] = [engine, options](const HttpRequest& req) -> HttpResponse {
    if (req.method != "POST") {
      return JsonError(405, "POST the statement text (or {\"sql\": \"...\"}) to /api/v1/sql");
    }
    std::string text = req.body;
    std::string dialect = "flink";
    size_t max_rows = options.max_rows;
    int64_t timeout_ms = options.timeout_ms;
    std::string_view trimmed = Trim(text);
    if (req.content_type.find("json") != std::string::npos || (!trimmed.empty() && trimmed.front() == '{')) {
      auto json = ParseJson(text, "the request body");
      if (!json.ok()) return JsonError(400, json.status().message());
      auto sql_text = json->GetString("sql");
      if (!sql_text.ok()) return JsonError(400, "the request needs \"sql\": the statement text");
      text = *sql_text;
      dialect = json->GetStringOr("dialect", "flink");
      int64_t rows = json->GetIntOr("max_rows", static_cast<int64_t>(max_rows));
      if (rows < 0) return JsonError(400, "max_rows must be zero or more");
      max_rows = std::min(max_rows, static_cast<size_t>(rows));
      int64_t t = json->GetIntOr("timeout_ms", timeout_ms);
      if (t <= 0) return JsonError(400, "timeout_ms must be positive");
      timeout_ms = std::min(timeout_ms, t);
    }
    if (Trim(text).empty()) return JsonError(400, "no statement: POST the SQL text");
    auto session = engine->NewSession();
    Status set = session->Set(sql::kDialectSetting, dialect);
    if (!set.ok()) return JsonError(400, set.message());
    session->set_read_only(true);
    session->set_row_limit(static_cast<int64_t>(max_rows));
    session->set_timeout_millis(timeout_ms);
    int64_t start = MonotonicMicros();
    int statements = 0;
    std::string last;
    Status s = session->ExecuteScript(text, [&](const sql::ScriptStatement&, const sql::StatementResult& r) -> Status {
      ++statements;
      sql::ExecContext ctx;
      JsonWriter w;
      w.BeginObject();
      w.Key("statement_kind").String(r.statement_kind);
      if (r.has_rows) {
        w.Key("columns").BeginArray();
        for (const auto& f : r.columns.fields()) {
          w.BeginObject().Key("name").String(f.name).Key("type").String(f.type.ToString()).EndObject();
        }
        w.EndArray().Key("rows").BeginArray();
        size_t n = 0;
        for (const auto& b : r.batches) {
          for (size_t i = 0; i < b.num_rows(); ++i, ++n) {
            w.BeginArray();
            for (size_t c = 0; c < b.num_columns(); ++c) WriteValue(&w, ctx, b.column(c).Get(i), r.columns.type(c));
            w.EndArray();
          }
        }
        w.EndArray().Key("row_count").Uint(n).Key("truncated").Bool(r.truncated);
      } else {
        w.Key("message").String(r.message);
        if (r.rows_affected >= 0) w.Key("rows_affected").Int(r.rows_affected);
      }
      if (!r.warnings.empty()) {
        w.Key("warnings").BeginArray();
        for (const auto& warning : r.warnings) w.String(warning);
        w.EndArray();
      }
      w.EndObject();
      last = w.Release();
      return Status::OK();
    });
    if (!s.ok()) {
      int status = s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ||
                           s.code() == StatusCode::kNotSupported || s.code() == StatusCode::kAlreadyExists
                       ? 400
                   : s.code() == StatusCode::kAborted ? 408
                                                      : 500;
      return Error(status, s);
    }
    if (statements == 0) return JsonError(400, "no statement: the text holds only comments");
    // Splice the count and the time into the last statement's object.
    JsonWriter extra;
    extra.BeginObject()
        .Key("statements")
        .Int(statements)
        .Key("elapsed_ms")
        .Double(static_cast<double>(MonotonicMicros() - start) / 1000.0)
        .EndObject();
    std::string more = extra.Release();
    std::string body = last.substr(0, last.size() - 1) + "," + more.substr(1);
    return HttpResponse{200, "application/json", body, {}};
  };
}

}  // namespace kl::server
