// `kubelake sql`: statements from -e and -f, or an interactive shell (libedit)
// with history, multi-line statements and timing.
#include <editline/readline.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cli/commands.h"
#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/json.h"
#include "common/string_util.h"
#include "sql/binder/types.h"
#include "sql/functions/cast.h"
#include "sql/sql.h"
#include "sql/warehouse/warehouse.h"
#include "table/schema/cast.h"
#include "table/table.h"

namespace kl::cli {

namespace {

struct SqlArgs {
  std::string data_dir = "kubelake-data";
  std::string warehouse;
  std::string database = "kubelake";
  std::vector<std::string> statements;  // -e
  std::vector<std::string> files;       // -f
  std::string format = "table";
  int64_t max_rows = -1;
  double duration_s = 0;  // with streaming jobs: stop them after this long (0: until SIGTERM / Ctrl-C)
  bool print_warehouse_sql = false;
};

std::atomic<bool> g_sql_stop{false};

class Printer {
 public:
  Printer(std::string format, sql::SqlSession* session) : format_(std::move(format)), session_(session) {}

  std::string Text(const format::Datum& d, const format::DataType& t) {
    sql::ExecContext ctx;
    if (auto z = session_->Get("table.local-time-zone")) {
      if (auto off = table::ParseTimeZoneOffset(*z); off.ok()) ctx.time_zone_offset_millis = *off;
    }
    return sql::ValueToText(ctx, d, t);
  }

  void Print(const sql::StatementResult& r) {
    if (format_ == "jsonl") {
      JsonWriter w;
      for (const auto& b : r.batches) {
        for (size_t i = 0; i < b.num_rows(); ++i) {
          w.Clear();
          w.BeginObject();
          for (size_t c = 0; c < r.columns.size(); ++c) {
            w.Key(r.columns.field(c).name);
            const format::DataType& t = r.columns.type(c);
            format::Datum v = b.column(c).Get(i);
            if (t.root() == format::TypeRoot::kInterval && !v.is_null()) {
              w.String(Text(v, t));  // PostgreSQL's text of an interval (PostgreSQL dialect)
            } else {
              format::WriteDatumJson(&w, v, t);
            }
          }
          w.EndObject();
          std::printf("%s\n", w.str().c_str());
        }
      }
      return;
    }
    if (format_ == "csv") {
      std::vector<std::string> header;
      for (const auto& f : r.columns.fields()) header.push_back(Csv(f.name));
      std::printf("%s\n", Join(header, ",").c_str());
      for (const auto& b : r.batches) {
        for (size_t i = 0; i < b.num_rows(); ++i) {
          std::vector<std::string> cells;
          for (size_t c = 0; c < r.columns.size(); ++c) {
            format::Datum d = b.column(c).Get(i);
            cells.push_back(d.is_null() ? "" : Csv(Text(d, r.columns.type(c))));
          }
          std::printf("%s\n", Join(cells, ",").c_str());
        }
      }
      return;
    }
    // Aligned table.
    std::vector<std::vector<std::string>> rows;
    std::vector<size_t> width;
    std::vector<bool> right;
    for (const auto& f : r.columns.fields()) {
      width.push_back(Utf8Width(f.name));
      right.push_back(sql::IsNumeric(f.type));
    }
    for (const auto& b : r.batches) {
      for (size_t i = 0; i < b.num_rows(); ++i) {
        std::vector<std::string> row;
        for (size_t c = 0; c < r.columns.size(); ++c) {
          format::Datum d = b.column(c).Get(i);
          std::string s = d.is_null() ? "NULL" : Text(d, r.columns.type(c));
          for (auto& ch : s) {
            if (ch == '\n' || ch == '\t') ch = ' ';
          }
          width[c] = std::max(width[c], Utf8Width(s));
          row.push_back(std::move(s));
        }
        rows.push_back(std::move(row));
      }
    }
    auto line = [&](const std::vector<std::string>& cells, bool header) {
      std::string s;
      for (size_t c = 0; c < cells.size(); ++c) {
        size_t pad = width[c] - std::min(width[c], Utf8Width(cells[c]));
        if (right[c] && !header) s.append(pad, ' ');
        s += cells[c];
        if (!(right[c] && !header) && c + 1 < cells.size()) s.append(pad, ' ');
        if (c + 1 < cells.size()) s += "  ";
      }
      while (!s.empty() && s.back() == ' ') s.pop_back();
      std::printf("%s\n", s.c_str());
    };
    line(r.columns.names(), true);
    std::vector<std::string> rule;
    for (size_t w : width) rule.emplace_back(w, '-');
    line(rule, true);
    for (const auto& row : rows) line(row, false);
  }

 private:
  static size_t Utf8Width(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) {
      if ((c & 0xC0) != 0x80) ++n;
    }
    return n;
  }
  static std::string Csv(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
      if (c == '"') out += '"';
      out.push_back(c);
    }
    return out + "\"";
  }
  std::string format_;
  sql::SqlSession* session_;
};

Status RunScript(sql::SqlSession* session, Printer* printer, const std::string& script, const std::string& source) {
  Status s = session->ExecuteScript(script, [&](const sql::ScriptStatement&, const sql::StatementResult& r) {
    for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    if (r.statement_kind == "INSERT" && r.message.rfind("Job ", 0) == 0)
      std::fprintf(stderr, "%s\n", r.message.c_str());
    if (r.has_rows) printer->Print(r);
    if (r.truncated) std::fprintf(stderr, "warning: result cut at --max-rows\n");
    std::fflush(stdout);
    return Status::OK();
  });
  if (!s.ok() && !source.empty()) return s.WithContext(source);
  return s;
}

std::string HistoryPath() {
  const char* home = std::getenv("HOME");
  return home == nullptr ? "" : JoinPath(home, ".kubelake_sql_history");
}

Status Interactive(sql::SqlSession* session, Printer* printer) {
  std::string history = HistoryPath();
  using_history();
  if (!history.empty()) read_history(history.c_str());
  std::printf("kubelake SQL (catalog %s, database %s). End statements with ';', \\q to quit.\n",
              session->current_catalog().c_str(), session->current_database().c_str());
  std::string buffer;
  while (true) {
    const char* prompt = buffer.empty() ? "kubelake> " : "       -> ";
    char* line = readline(prompt);
    if (line == nullptr) {
      std::printf("\n");
      break;
    }
    std::string text(line);
    std::free(line);
    std::string trimmed(Trim(text));
    if (buffer.empty() &&
        (trimmed == "\\q" || trimmed == "quit" || trimmed == "exit" || trimmed == "quit;" || trimmed == "exit;")) {
      break;
    }
    if (buffer.empty() && trimmed.empty()) continue;
    buffer += buffer.empty() ? text : "\n" + text;
    if (!sql::EndsStatement(buffer)) continue;
    add_history(buffer.c_str());
    if (!history.empty()) write_history(history.c_str());
    for (const auto& piece : sql::SplitStatements(buffer)) {
      int64_t start = MonotonicMicros();
      auto r = session->Execute(piece.text);
      double secs = static_cast<double>(MonotonicMicros() - start) / 1e6;
      if (!r.ok()) {
        std::printf("error: %s\n", r.status().message().c_str());
        // Point at the column of a one-line statement.
        const std::string& m = r.status().message();
        if (m.rfind("line 1, column ", 0) == 0 && piece.text.find('\n') == std::string::npos) {
          int col = std::atoi(m.c_str() + 15);
          std::printf("  %s\n  %s^\n", piece.text.c_str(), std::string(col > 0 ? col - 1 : 0, ' ').c_str());
        }
        continue;
      }
      for (const auto& w : r->warnings) std::printf("warning: %s\n", w.c_str());
      if (r->has_rows) {
        printer->Print(*r);
        std::printf("(%zu row%s%s, %.3f s)\n", r->num_rows(), r->num_rows() == 1 ? "" : "s",
                    r->truncated ? ", cut at --max-rows" : "", secs);
      } else {
        std::string msg = r->message.empty() ? "OK" : r->message;
        if (r->rows_affected >= 0) msg += ", " + std::to_string(r->rows_affected) + " rows written";
        std::printf("%s (%.3f s)\n", msg.c_str(), secs);
      }
    }
    buffer.clear();
  }
  return Status::OK();
}

// With streaming jobs started, the process runs them until --duration passes or
// SIGTERM / SIGINT comes; every job then commits once more. A job that fails
// stops the others and the process, with its error.
Status RunJobs(sql::SqlEngine* engine, double duration_s) {
  if (engine->Jobs().empty()) return Status::OK();
  std::signal(SIGINT, [](int) { g_sql_stop = true; });
  std::signal(SIGTERM, [](int) { g_sql_stop = true; });
  int64_t start = MonotonicMicros();
  Status failed;
  while (!g_sql_stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (duration_s > 0 && static_cast<double>(MonotonicMicros() - start) / 1e6 >= duration_s) break;
    bool any_running = false;
    for (const auto& j : engine->Jobs()) {
      if (j.status.failed) failed = Status::Aborted("job '" + j.name + "' failed: " + j.status.last_error);
      any_running = any_running || j.running;
    }
    if (!failed.ok() || !any_running) break;
  }
  engine->StopJobs();
  for (const auto& j : engine->Jobs()) {
    std::fprintf(stderr, "job '%s': %llu changes in, %llu out, %llu commits%s\n", j.name.c_str(),
                 static_cast<unsigned long long>(j.status.changes_in),
                 static_cast<unsigned long long>(j.status.changes_out),
                 static_cast<unsigned long long>(j.status.commits), j.status.failed ? ", FAILED" : "");
  }
  return failed;
}

Status RunSql(const SqlArgs& a) {
  if (a.print_warehouse_sql) {
    std::fputs(sql::WarehouseSqlTemplate().c_str(), stdout);
    return Status::OK();
  }
  if (a.format != "table" && a.format != "jsonl" && a.format != "csv") {
    return Status::InvalidArgument("--format must be table, jsonl or csv");
  }
  sql::EngineOptions o;
  o.warehouse = a.warehouse.empty() ? JoinPath(a.data_dir, "warehouse") : a.warehouse;
  o.default_database = a.database;
  if (a.database == "kubelake" && !IsDirectory(table::Catalog(o.warehouse).DatabasePath(a.database))) {
    // SQL may create its own tables; the warehouse's are not there.
    std::fprintf(stderr,
                 "kubelake sql: no kubelake warehouse at %s (no kubelake.db/); `kubelake run` (or `kubelake pipeline`, "
                 "`kubelake demo`) creates one: --data-dir DIR keeps it in DIR/warehouse\n",
                 o.warehouse.c_str());
  }
  KL_ASSIGN_OR_RETURN(auto engine, sql::SqlEngine::Create(o));
  auto session = engine->NewSession();
  session->set_row_limit(a.max_rows);
  Printer printer(a.format, session.get());
  if (a.statements.empty() && a.files.empty()) {
    if (!isatty(STDIN_FILENO)) {
      // Statements piped in.
      std::string script, line;
      char buf[65536];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) script.append(buf, n);
      return RunScript(session.get(), &printer, script, "");
    }
    return Interactive(session.get(), &printer);
  }
  for (const auto& e : a.statements) KL_RETURN_IF_ERROR(RunScript(session.get(), &printer, e, ""));
  for (const auto& f : a.files) {
    KL_ASSIGN_OR_RETURN(std::string script, ReadFile(f));
    KL_RETURN_IF_ERROR(RunScript(session.get(), &printer, script, f));
  }
  return RunJobs(engine.get(), a.duration_s);
}

}  // namespace

void AddSqlCommands(CLI::App* app) {
  auto args = std::make_shared<SqlArgs>();
  auto* cmd = app->add_subcommand("sql", "Run Flink SQL over the warehouse: -e, -f, or an interactive shell");
  cmd->add_option("--data-dir", args->data_dir, "data directory of kubelake run/demo")->capture_default_str();
  cmd->add_option("--warehouse", args->warehouse, "Paimon warehouse directory (default: <data-dir>/warehouse)");
  cmd->add_option("--database", args->database, "current database at start")->capture_default_str();
  cmd->add_option("-e,--execute", args->statements, "statements to run (repeatable; split on ';')");
  cmd->add_option("-f,--file", args->files, "file of statements to run (repeatable, in order)");
  cmd->add_option("--format", args->format, "table, jsonl or csv")->capture_default_str();
  cmd->add_option("--max-rows", args->max_rows, "print at most this many rows of a query (-1: all)")
      ->capture_default_str();
  cmd->add_flag("--print-warehouse-sql", args->print_warehouse_sql,
                "print the warehouse's SQL as kubelake run/pipeline/demo run it (with its ${...} placeholders)");
  cmd->add_option("--duration", args->duration_s,
                  "streaming INSERT jobs run until SIGTERM / Ctrl-C, or for this many seconds");
  cmd->callback([args] { Finish(RunSql(*args)); });
}

}  // namespace kl::cli
