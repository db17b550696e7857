#include "server/http/api.h"

#include <algorithm>

#include "common/clock.h"
#include "common/json.h"
#include "common/string_util.h"
#include "server/metrics/metrics.h"

namespace kl::server {
namespace {

void WriteDatum(JsonWriter* w, const format::Datum& d, const format::DataType& type) {
  if (d.is_null()) {
    w->Null();
  } else if (type.root() == format::TypeRoot::kBoolean) {
    w->Bool(d.as_bool());
  } else if (type.physical() == format::PhysicalKind::kInt) {
    w->Int(d.as_int());
  } else if (type.physical() == format::PhysicalKind::kDouble) {
    w->Double(d.as_double());
  } else if (type.physical() == format::PhysicalKind::kBytes) {
    w->String(d.as_bytes());
  } else {
    w->Null();
  }
}

HttpResponse Json(std::string body) { return HttpResponse{200, "application/json", std::move(body), {}}; }

// Errors of a query: a missing warehouse is "not yet" (503), bad arguments 400, the rest 500.
HttpResponse QueryError(const Status& s) {
  if (s.IsNotFound()) return JsonError(503, "the warehouse is not ready: " + s.message());
  if (s.code() == StatusCode::kInvalidArgument) return JsonError(400, s.message());
  return JsonError(500, s.ToString());
}

template <typename R>
HttpResponse Answer(const Result<R>& r, const std::function<void(JsonWriter*)>& extra = {}) {
  if (!r.ok()) return QueryError(r.status());
  std::string body = QueryResultJson(*r);
  if (extra) {
    // Splice extra members before the closing brace of the object.
    JsonWriter w;
    w.BeginObject();
    extra(&w);
    w.EndObject();
    std::string more = w.Release();
    if (more.size() > 2) body = body.substr(0, body.size() - 1) + "," + more.substr(1);
  }
  return Json(std::move(body));
}

// Parses a non-negative integer argument within [lo, hi]; an error names it.
Result<int64_t> IntArg(const HttpRequest& req, const std::string& name, int64_t fallback, int64_t lo, int64_t hi) {
  std::string v = req.Arg(name);
  if (v.empty()) return fallback;
  auto n = ParseInt64(v);
  if (!n || *n < lo || *n > hi) {
    return Status::InvalidArgument("argument " + name + "=" + v + ": expected an integer from " + std::to_string(lo) +
                                   " to " + std::to_string(hi));
  }
  return *n;
}

// "2024-05-01T10:00:00Z" or epoch milliseconds.
Result<int64_t> TimeArg(const HttpRequest& req, const std::string& name) {
  std::string v = req.Arg(name);
  if (v.empty()) return int64_t{0};
  if (auto n = ParseInt64(v)) return *n;
  int64_t ms = ParseRfc3339Millis(v);
  if (ms < 0) return Status::InvalidArgument("argument " + name + "=" + v + ": expected RFC 3339 time or epoch ms");
  return ms;
}

void WriteStatus(JsonWriter* w, const SystemStatus& s, const Readiness& ready) {
  w->BeginObject();
  w->Key("now").String(FormatRfc3339(s.now_ms));
  w->Key("ready").Bool(ready.ready);
  w->Key("problems").BeginArray();
  for (const auto& p : ready.problems) w->String(p);
  w->EndArray();
  if (s.fresh_as_of_ms > 0) {
    w->Key("fresh_as_of").String(FormatRfc3339(s.fresh_as_of_ms));
    w->Key("freshness_seconds").Double(static_cast<double>(s.now_ms - s.fresh_as_of_ms) / 1000.0);
  } else {
    w->Key("fresh_as_of").Null().Key("freshness_seconds").Null();
  }
  w->Key("jobs").BeginArray();
  for (const auto& j : s.jobs) {
    w->BeginObject().Key("name").String(j.name).Key("running").Bool(j.running);
    w->Key("changes_in").Uint(j.changes_in).Key("commits").Uint(j.commits).Key("errors").Uint(j.errors);
    int64_t progress = JobProgressMs(j);
    if (progress > 0) {
      w->Key("freshness_seconds").Double(static_cast<double>(s.now_ms - progress) / 1000.0);
    } else {
      w->Key("freshness_seconds").Null();
    }
    auto lag = s.job_log_lag.find(j.name);
    if (lag != s.job_log_lag.end()) w->Key("log_lag_records").Int(lag->second);
    if (!j.last_error.empty()) w->Key("last_error").String(j.last_error);
    w->EndObject();
  }
  w->EndArray();
  w->Key("collector");
  if (s.has_collector) {
    w->BeginObject().Key("events").Uint(s.collector_events).Key("watches").BeginArray();
    for (const auto& ws : s.watches) {
      w->BeginObject().Key("cluster").String(ws.cluster).Key("watch").String(ws.watch_name);
      w->Key("state").String(collector::WatchStateName(ws.state)).Key("tracked").Uint(ws.tracked);
      w->Key("relists").Uint(ws.expired).Key("errors").Uint(ws.errors).EndObject();
    }
    w->EndArray().EndObject();
  } else {
    w->Null();
  }
  w->Key("tables").BeginArray();
  for (const auto& t : s.tables) {
    if (!t.exists) continue;
    w->BeginObject().Key("name").String(t.name).Key("latest_snapshot").Int(t.latest_snapshot);
    w->Key("snapshots").Int(t.latest_snapshot == 0 ? 0 : t.latest_snapshot - t.earliest_snapshot + 1);
    if (t.last_commit_ms > 0) {
      w->Key("last_commit").String(FormatRfc3339(t.last_commit_ms));
      w->Key("age_seconds").Double(static_cast<double>(s.now_ms - t.last_commit_ms) / 1000.0);
    }
    w->EndObject();
  }
  w->EndArray();
  w->Key("log");
  if (s.log.available) {
    w->BeginObject().Key("description").String(s.log.description).Key("records").Int(s.log.end_offsets);
    w->Key("retained_records").Int(s.log.retained_records);
    if (s.log.bytes_on_disk >= 0) w->Key("bytes_on_disk").Int(s.log.bytes_on_disk);
    w->EndObject();
  } else {
    w->Null();
  }
  w->EndObject();
}

}  // namespace

namespace {

template <typename R>
std::string ResultJson(const R& r) {
  JsonWriter w;
  w.BeginObject().Key("columns").BeginArray();
  for (const auto& f : r.columns.fields()) {
    w.BeginObject().Key("name").String(f.name).Key("type").String(f.type.ToString()).EndObject();
  }
  w.EndArray().Key("rows").BeginArray();
  for (const auto& row : r.rows) {
    w.BeginArray();
    for (size_t i = 0; i < row.size() && i < r.columns.size(); ++i) WriteDatum(&w, row[i], r.columns.type(i));
    w.EndArray();
  }
  w.EndArray().EndObject();
  return w.Release();
}

}  // namespace

std::string QueryResultJson(const pipeline::QueryResult& r) { return ResultJson(r); }
std::string QueryResultJson(const sql::QueryResult& r) { return ResultJson(r); }

void AddApiRoutes(const ApiContext& ctx, std::map<std::string, HttpHandler>* routes) {
  auto& r = *routes;
  r["/healthz"] = [](const HttpRequest&) { return HttpResponse{200, "text/plain; charset=utf-8", "ok\n", {}}; };
  r["/readyz"] = [ctx](const HttpRequest&) {
    Readiness ready = CheckReady(ctx.status(), ctx.ready_max_age_ms);
    std::string body = ready.ready ? "ready\n" : "not ready\n";
    for (const auto& p : ready.problems) body += "- " + p + "\n";
    return HttpResponse{ready.ready ? 200 : 503, "text/plain; charset=utf-8", body, {}};
  };
  r["/api/v1/status"] = [ctx](const HttpRequest&) {
    SystemStatus s = ctx.status();
    Readiness ready = CheckReady(s, ctx.ready_max_age_ms);
    JsonWriter w;
    WriteStatus(&w, s, ready);
    return Json(w.Release());
  };
  r["/api/v1/audit"] = [ctx](const HttpRequest& req) {
    sql::AuditQuery q;
    std::string by = req.Arg("by", "kind");
    if (by != "kind" && by != "namespace") return JsonError(400, "argument by=" + by + ": expected kind or namespace");
    q.by_namespace = by == "namespace";
    q.cluster = req.Arg("cluster");
    q.kind = req.Arg("kind");
    if (!IsWarehouseCreated(ctx.warehouse)) return JsonError(503, "the warehouse has no tables yet");
    return Answer(sql::QueryAudit(ctx.warehouse, q));
  };
  // Look-ups by user reuse their plan and the node dimension's join table across requests.
  auto lookups = std::make_shared<sql::TopologyLookups>(ctx.warehouse);
  r["/api/v1/topology"] = [ctx, lookups](const HttpRequest& req) {
    sql::TopologyQuery q;
    q.user_id = req.Arg("user");
    q.node = req.Arg("node");
    q.cluster = req.Arg("cluster");
    if (q.user_id.empty() == q.node.empty()) {
      return JsonError(400, "give either user=ID or node=NAME (with cluster=NAME to pick one cluster's node)");
    }
    auto at = TimeArg(req, "at");
    if (!at.ok()) return JsonError(400, at.status().message());
    q.as_of_ms = *at;
    if (!IsWarehouseCreated(ctx.warehouse)) return JsonError(503, "the warehouse has no tables yet");
    return Answer(lookups->Query(q), [&](JsonWriter* w) {
      if (q.as_of_ms > 0) w->Key("as_of").String(FormatRfc3339(q.as_of_ms));
    });
  };
  r["/api/v1/trend"] = [ctx](const HttpRequest& req) {
    sql::TrendQuery q;
    auto minutes = IntArg(req, "minutes", 60, 1, 60 * 24 * 31);
    if (!minutes.ok()) return JsonError(400, minutes.status().message());
    q.minutes = static_cast<int>(*minutes);
    q.cluster = req.Arg("cluster");
    q.kind = req.Arg("kind", "Pod");
    q.user_id = req.Arg("user");
    if (!IsWarehouseCreated(ctx.warehouse)) return JsonError(503, "the warehouse has no tables yet");
    return Answer(sql::QueryTrend(ctx.warehouse, q));
  };
  r["/api/v1/deleted"] = [ctx](const HttpRequest& req) {
    pipeline::DeletedQuery q;
    auto limit = IntArg(req, "limit", 100, 1, 10000);
    if (!limit.ok()) return JsonError(400, limit.status().message());
    q.limit = static_cast<size_t>(*limit);
    q.cluster = req.Arg("cluster");
    q.kind = req.Arg("kind");
    q.name = req.Arg("name");
    if (!IsWarehouseCreated(ctx.warehouse)) return JsonError(503, "the warehouse has no tables yet");
    return Answer(pipeline::QueryDeleted(ctx.warehouse, q));
  };
  r["/api/v1/users"] = [ctx](const HttpRequest& req) {
    auto limit = IntArg(req, "limit", 50, 1, 10000);
    if (!limit.ok()) return JsonError(400, limit.status().message());
    if (!IsWarehouseCreated(ctx.warehouse)) return JsonError(503, "the warehouse has no tables yet");
    return Answer(pipeline::QueryUsers(ctx.warehouse, req.Arg("prefix"), static_cast<size_t>(*limit)));
  };
  r["/api/v1/nodes"] = [ctx](const HttpRequest& req) {
    if (!IsWarehouseCreated(ctx.warehouse)) return JsonError(503, "the warehouse has no tables yet");
    return Answer(pipeline::QueryNodes(ctx.warehouse, req.Arg("cluster")));
  };
}

}  // namespace kl::server
