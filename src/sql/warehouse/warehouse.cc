#include "sql/warehouse/warehouse.h"

#include <map>

#include "common/file/file_util.h"
#include "common/string_util.h"

namespace kl::sql {

extern const char kWarehouseSqlText[];  // warehouse_sql.cc, generated from warehouse.sql

const std::string& WarehouseSqlTemplate() {
  static const std::string text(kWarehouseSqlText);
  return text;
}

namespace {

// Inside '...' literals and `...` names: quotes doubled.
std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\'' || c == '`') out.push_back(c);
    out.push_back(c);
  }
  return out;
}

}  // namespace

Result<std::string> WarehouseSql(const pipeline::WarehouseOptions& o, const std::string& log_uri,
                                 const std::string& text) {
  std::map<std::string, std::string> values = {
      {"database", o.database},
      {"log_uri", log_uri},
      {"user_label", o.user_label},
      {"instance_label", o.instance_label},
      {"file_format", o.file_format},
      {"commit_interval_ms", std::to_string(std::max<int64_t>(1, o.commit_interval_ms))},
      {"follow_interval_ms", std::to_string(std::max<int64_t>(1, o.follow_interval_ms))},
      {"ods_commit_interval_ms",
       std::to_string(std::max<int64_t>(1, std::max(o.commit_interval_ms, o.ods_commit_interval_ms)))},
      {"snapshots_retained_max", std::to_string(std::max(o.snapshots_retained, 10))},
      {"ods_snapshots_retained_max", pipeline::OdsRetainedMax(o)},
      {"ads_tag_period_key", pipeline::AdsTagPeriodOption(o).first},
      {"ads_tag_period", pipeline::AdsTagPeriodOption(o).second},
      {"ads_tags_retained", std::to_string(std::max(1, o.ads_tags_retained))},
      {"trend_interval_ms", std::to_string(o.trend_interval_ms)},
      {"ods_buckets", std::to_string(o.ods_buckets)},
      {"dwd_buckets", std::to_string(o.dwd_buckets)},
  };
  // Pieces of SQL rather than values in string literals: their values are escaped where built.
  const std::map<std::string, std::string> fragments = {
      {"dwd_deleted_retention", o.deleted_retention.empty()
                                    ? std::string()
                                    : "'record-level.expire-time' = '" + Escape(o.deleted_retention) +
                                          "', 'record-level.time-field' = 'deleted_time',"},
  };
  const std::string& t = text;
  std::string out;
  size_t i = 0;
  while (i < t.size()) {
    size_t at = t.find("${", i);
    if (at == std::string::npos) {
      out.append(t, i, std::string::npos);
      break;
    }
    out.append(t, i, at - i);
    size_t end = t.find('}', at);
    if (end == std::string::npos) return Status::InvalidArgument("the warehouse's SQL: unterminated ${");
    std::string name = t.substr(at + 2, end - at - 2);
    if (auto fragment = fragments.find(name); fragment != fragments.end()) {
      out += fragment->second;
      i = end + 1;
      continue;
    }
    auto it = values.find(name);
    if (it == values.end()) {
      std::vector<std::string> known;
      for (const auto& [k, v] : values) known.push_back("${" + k + "}");
      for (const auto& [k, v] : fragments) known.push_back("${" + k + "}");
      return Status::InvalidArgument("the warehouse's SQL: unknown placeholder ${" + name +
                                     "} (known: " + Join(known, ", ") + ")");
    }
    out += Escape(it->second);
    i = end + 1;
  }
  if (o.ods) return out;
  // Without raw events: the statements of ods_events go.
  std::string kept;
  for (const auto& piece : SplitStatements(out)) {
    // By its code, not its comments: the file's opening comment (which names
    // ods_events) belongs to CREATE DATABASE.
    std::string code;
    for (const std::string& line : Split(piece.text, '\n')) {
      code.append(line, 0, line.find("--")).push_back('\n');
    }
    if (code.find("ods_events") != std::string::npos) continue;
    kept += piece.text + ";\n";
  }
  return kept;
}

Result<std::vector<std::unique_ptr<pipeline::Job>>> PlanJobs(const std::shared_ptr<SqlEngine>& engine,
                                                             const std::string& sql, const std::string& source) {
  std::vector<std::unique_ptr<pipeline::Job>> jobs;
  auto session = engine->NewSession();
  session->set_job_handler([&jobs](std::unique_ptr<pipeline::Job> job) {
    jobs.push_back(std::move(job));
    return Status::OK();
  });
  Status s = session->ExecuteScript(sql, [](const ScriptStatement&, const StatementResult&) { return Status::OK(); });
  if (!s.ok()) return s.WithContext(source);
  return jobs;
}

Result<std::vector<std::unique_ptr<pipeline::Job>>> BuildWarehouseJobs(log::EventLog* log,
                                                                       const pipeline::WarehouseOptions& o,
                                                                       std::string log_uri) {
  if (log_uri.empty()) log_uri = "kubelake:warehouse-log";
  EngineOptions eo;
  eo.warehouse = o.warehouse;
  eo.default_database = o.database;
  KL_ASSIGN_OR_RETURN(auto engine, SqlEngine::Create(eo));
  engine->RegisterLog(log_uri, log);
  KL_ASSIGN_OR_RETURN(std::string sql, WarehouseSql(o, log_uri));
  return PlanJobs(engine, sql, "the warehouse's SQL");
}

Result<std::vector<std::unique_ptr<pipeline::Job>>> BuildWarehouseJobs(log::EventLog* log,
                                                                       const pipeline::WarehouseOptions& o,
                                                                       const std::string& log_uri,
                                                                       const std::string& warehouse_sql,
                                                                       const std::vector<std::string>& extra_files) {
  EngineOptions eo;
  eo.warehouse = o.warehouse;
  eo.default_database = o.database;
  KL_ASSIGN_OR_RETURN(auto engine, SqlEngine::Create(eo));
  engine->RegisterLog(log_uri, log);
  std::string source = "the warehouse's SQL";
  std::string text = WarehouseSqlTemplate();
  if (!warehouse_sql.empty()) {
    KL_ASSIGN_OR_RETURN(text, ReadFile(warehouse_sql));
    source = warehouse_sql;
  }
  auto sql = WarehouseSql(o, log_uri, text);
  if (!sql.ok()) return sql.status().WithContext(source);
  KL_ASSIGN_OR_RETURN(auto jobs, PlanJobs(engine, *sql, source));
  for (const auto& f : extra_files) {
    KL_ASSIGN_OR_RETURN(std::string extra, ReadFile(f));
    KL_ASSIGN_OR_RETURN(auto more, PlanJobs(engine, extra, f));
    for (auto& j : more) {
      for (const auto& existing : jobs) {
        if (existing->name() == j->name()) {
          return Status::InvalidArgument(f + ": a job named '" + j->name() +
                                         "' exists already; SET 'pipeline.name' to another name before its INSERT");
        }
      }
      jobs.push_back(std::move(j));
    }
  }
  return jobs;
}

}  // namespace kl::sql
