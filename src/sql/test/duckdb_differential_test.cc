// Differential test against DuckDB (npm @duckdb/node-api, installed into the
// build directory on first run): a seeded generator builds random tables with
// NULLs, written as Paimon tables whose Parquet data files DuckDB reads, and
// random SELECTs (filters, joins, group-bys, windows, Top-N, DISTINCT,
// subqueries, ORDER BY ... LIMIT) in the SQL both engines share. Results must
// agree as multisets of rows (numbers to 9 significant digits). Prints how
// many queries agreed; a disagreement prints the query and the seed.
// KUBELAKE_SQL_DIFF_SEED / KUBELAKE_SQL_DIFF_QUERIES override the defaults.
// Skips when node/npm or the npm registry are unavailable.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/file/file_util.h"
#include "common/json.h"
#include "common/random.h"
#include "common/string_util.h"
#include "common/testing/test_util.h"
#include "sql/binder/types.h"
#include "sql/sql.h"

namespace kl::sql {
namespace {

std::string EnsureDuckDb() {
  if (std::system("node --version > /dev/null 2>&1") != 0 || std::system("npm --version > /dev/null 2>&1") != 0) {
    return "";
  }
  std::string dir = JoinPath(kl::testing::BinaryDir(), "npm-duckdb");
  std::string modules = JoinPath(dir, "node_modules");
  if (FileExists(JoinPath(modules, "@duckdb/node-api/package.json"))) return modules;
  (void)CreateDirs(dir);
  std::string cmd = "npm install --prefix '" + dir +
                    "' --no-audit --no-fund --no-save --loglevel=error @duckdb/node-api > '" + dir +
                    "/install.log' 2>&1";
  if (std::system(cmd.c_str()) != 0) return "";
  return FileExists(JoinPath(modules, "@duckdb/node-api/package.json")) ? modules : "";
}

// ---- random data ----

std::string Quote(const std::string& s) { return "'" + s + "'"; }

std::string Values(Random* r, int rows, bool second) {
  std::string out;
  const char* gs[] = {"a", "b", "c", "d", "e"};
  for (int i = 0; i < rows; ++i) {
    if (i > 0) out += ", ";
    auto maybe = [&](const std::string& v, int null_in) { return r->OneIn(null_in) ? std::string("NULL") : v; };
    std::string k = maybe(std::to_string(r->Range(0, 6)), 7);
    std::string g = maybe(Quote(gs[r->Uniform(5)]), 6);
    std::string v = maybe(std::to_string(r->Range(-50, 50)), 8);
    if (!second) {
      std::string d = maybe(std::to_string(r->Range(-40, 40)) + ".25", 9);
      out += "(" + std::to_string(i + 1) + ", " + k + ", " + g + ", " + v + ", CAST(" + d + " AS DOUBLE))";
    } else {
      out += "(" + std::to_string(1000 + i) + ", " + k + ", " + g + ", " + v + ")";
    }
  }
  return out;
}

// ---- random queries ----

class Generator {
 public:
  explicit Generator(uint64_t seed) : r_(seed) {}

  std::string Query() {
    switch (r_.Uniform(9)) {
      case 0: return Filter();
      case 1: return GroupBy();
      case 2: return Join();
      case 3: return Window();
      case 4: return TopN();
      case 5: return OrderLimit();
      case 6: return Distinct();
      case 7: return Subquery();
      default: return JoinGroup();
    }
  }

 private:
  std::string Pick(std::vector<std::string> v) { return v[r_.Uniform(v.size())]; }
  std::string Int() { return std::to_string(r_.Range(-3, 8)); }
  std::string NumCol(const std::string& t) { return t + "." + Pick({"k", "v"}); }
  std::string Pred(const std::string& t, int depth = 0) {
    switch (r_.Uniform(depth > 1 ? 6 : 9)) {
      case 0: return NumCol(t) + " " + Pick({"=", "<>", "<", "<=", ">", ">="}) + " " + Int();
      case 1: return t + ".g " + Pick({"=", "<>", "<", ">="}) + " " + Quote(Pick({"a", "b", "c", "z"}));
      case 2: return NumCol(t) + " IS " + Pick({"", "NOT "}) + "NULL";
      case 3:
        return NumCol(t) + Pick({" IN ", " NOT IN "}) + "(" + Int() + ", " + Int() + (r_.OneIn(3) ? ", NULL" : "") +
               ")";
      case 4:
        return NumCol(t) + Pick({" BETWEEN ", " NOT BETWEEN "}) + Int() + " AND " + std::to_string(r_.Range(2, 30));
      case 5: return t + ".g LIKE " + Quote(Pick({"a%", "%b", "_", "%"}));
      case 6: return "(" + Pred(t, depth + 1) + " AND " + Pred(t, depth + 1) + ")";
      case 7: return "(" + Pred(t, depth + 1) + " OR " + Pred(t, depth + 1) + ")";
      default: return "NOT (" + Pred(t, depth + 1) + ")";
    }
  }
  std::string Scalar(const std::string& t) {
    switch (r_.Uniform(7)) {
      case 0: return t + ".k + " + t + ".v";
      case 1: return t + ".v * " + Int();
      case 2: return "ABS(" + t + ".v)";
      case 3: return "CASE WHEN " + Pred(t, 2) + " THEN " + t + ".k ELSE " + t + ".v END";
      case 4: return "COALESCE(" + t + ".k, " + t + ".v, -1)";
      case 5: return "UPPER(" + t + ".g) || 'x'";
      default: return t + ".v - " + t + ".k";
    }
  }
  std::string Agg(const std::string& t) {
    switch (r_.Uniform(7)) {
      case 0: return "COUNT(*)";
      case 1: return "COUNT(" + t + "." + Pick({"k", "g", "v"}) + ")";
      case 2: return "SUM(" + t + ".v)";
      case 3: return "MIN(" + t + "." + Pick({"k", "g", "v", "d"}) + ")";
      case 4: return "MAX(" + t + "." + Pick({"k", "g", "v", "d"}) + ")";
      case 5: return "AVG(CAST(" + t + ".v AS DOUBLE))";
      default: return "COUNT(DISTINCT " + t + "." + Pick({"k", "g"}) + ")";
    }
  }
  std::string Filter() { return "SELECT t1.id, " + Scalar("t1") + ", t1.g FROM t1 WHERE " + Pred("t1"); }
  std::string GroupBy() {
    std::string keys = Pick({"t1.g", "t1.k", "t1.g, t1.k"});
    std::string q = "SELECT " + keys + ", " + Agg("t1") + ", " + Agg("t1") + " FROM t1";
    if (r_.OneIn(2)) q += " WHERE " + Pred("t1");
    q += " GROUP BY " + keys;
    if (r_.OneIn(3)) q += " HAVING COUNT(*) > " + std::to_string(r_.Range(1, 20));
    return q;
  }
  std::string Join() {
    std::string type = Pick({"JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"});
    std::string on = "t1.k = t2.k";
    if (r_.OneIn(3)) on += " AND t2.v " + Pick({">", "<"}) + " " + Int();
    if (r_.OneIn(4)) on += " AND t1.g = t2.g";
    std::string q = "SELECT t1.id, t2.id, t1.v, t2.v FROM t1 " + type + " t2 ON " + on;
    if (r_.OneIn(2) && type == "JOIN") q += " WHERE " + Pred("t1");
    return q;
  }
  std::string JoinGroup() {
    return "SELECT t2.g, COUNT(*), SUM(t1.v), MAX(t2.v) FROM t1 JOIN t2 ON t1.k = t2.k GROUP BY t2.g";
  }
  std::string Window() {
    std::string part = Pick({"t1.g", "t1.k"});
    switch (r_.Uniform(5)) {
      case 0: return "SELECT t1.id, ROW_NUMBER() OVER (PARTITION BY " + part + " ORDER BY t1.id) FROM t1";
      case 1:
        return "SELECT t1.id, RANK() OVER (PARTITION BY " + part +
               " ORDER BY t1.v NULLS FIRST), DENSE_RANK() OVER (PARTITION BY " + part +
               " ORDER BY t1.v DESC NULLS LAST) FROM t1";
      case 2: return "SELECT t1.id, SUM(t1.v) OVER (PARTITION BY " + part + " ORDER BY t1.id) FROM t1";
      case 3:
        return "SELECT t1.id, LAG(t1.v) OVER (PARTITION BY " + part +
               " ORDER BY t1.id), LEAD(t1.k, 2) OVER (PARTITION BY " + part + " ORDER BY t1.id) FROM t1";
      default:
        return "SELECT t1.id, COUNT(*) OVER (PARTITION BY " + part + "), MAX(t1.v) OVER (PARTITION BY " + part +
               " ORDER BY t1.id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM t1";
    }
  }
  std::string TopN() {
    return "SELECT id, g, v, rn FROM (SELECT t1.id, t1.g, t1.v, ROW_NUMBER() OVER (PARTITION BY t1.g ORDER BY t1.v " +
           Pick({"DESC NULLS LAST", "ASC NULLS FIRST", "DESC NULLS FIRST"}) + ", t1.id) AS rn FROM t1) AS x WHERE rn " +
           Pick({"= 1", "<= 2", "< 4"});
  }
  std::string OrderLimit() {
    std::string dir = Pick({"ASC NULLS FIRST", "ASC NULLS LAST", "DESC NULLS FIRST", "DESC NULLS LAST"});
    std::string q = "SELECT t1.id, t1.v, t1.g FROM t1";
    if (r_.OneIn(2)) q += " WHERE " + Pred("t1");
    q += " ORDER BY t1." + Pick({"v", "k", "g"}) + " " + dir + ", t1.id LIMIT " + std::to_string(r_.Range(0, 30));
    if (r_.OneIn(3)) q += " OFFSET " + std::to_string(r_.Range(0, 10));
    return q;
  }
  std::string Distinct() {
    return "SELECT DISTINCT " + Pick({"t1.g", "t1.k", "t1.g, t1.k", "t1.k + 1"}) + " FROM t1" +
           (r_.OneIn(2) ? " WHERE " + Pred("t1") : "");
  }
  std::string Subquery() {
    switch (r_.Uniform(4)) {
      case 0: return "SELECT t1.id FROM t1 WHERE t1.k IN (SELECT t2.k FROM t2 WHERE " + Pred("t2") + ")";
      case 1: return "SELECT t1.id FROM t1 WHERE t1.k NOT IN (SELECT t2.k FROM t2 WHERE t2.k IS NOT NULL)";
      case 2: return "SELECT t1.id, t1.v - (SELECT MAX(t2.v) FROM t2) FROM t1 WHERE " + Pred("t1");
      default: return "SELECT t1.k FROM t1 WHERE " + Pred("t1") + " UNION ALL SELECT t2.k FROM t2 WHERE " + Pred("t2");
    }
  }

  Random r_;
};

// ---- comparison ----

std::string Norm(double v) {
  if (std::isnan(v)) return "NaN";
  if (v == 0) return "0";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

std::string KubelakeCell(const format::Datum& d, const format::DataType& t) {
  if (d.is_null()) return "NULL";
  if (t.root() == format::TypeRoot::kBoolean) return d.as_int() ? "true" : "false";
  if (IsIntegral(t)) return Norm(static_cast<double>(d.as_int()));
  if (IsApproximate(t)) return Norm(d.as_double());
  if (t.root() == format::TypeRoot::kDecimal) {
    return Norm(std::strtod(format::FormatDecimal(d.as_decimal(), t.scale()).c_str(), nullptr));
  }
  return format::DatumToString(d, t);
}

std::string DuckCell(const JsonValue& v, const format::DataType& t) {
  if (v.is_null()) return "NULL";
  if (v.type() == JsonValue::Type::kBool) return v.as_bool() ? "true" : "false";
  if (IsNumeric(t)) {
    if (v.is_number()) return Norm(v.as_double());
    if (v.is_string()) return Norm(std::strtod(v.as_string().c_str(), nullptr));
  }
  if (v.is_string()) return v.as_string();
  return v.ToJson();
}

TEST(SqlDuckDbTest, RandomQueriesAgree) {
  std::string modules = EnsureDuckDb();
  if (modules.empty()) GTEST_SKIP() << "node/npm or the npm registry is unavailable; @duckdb/node-api not installed";
  uint64_t seed = 20240601;
  if (const char* s = std::getenv("KUBELAKE_SQL_DIFF_SEED")) seed = std::strtoull(s, nullptr, 10);
  int count = 400;
  if (const char* s = std::getenv("KUBELAKE_SQL_DIFF_QUERIES")) count = std::atoi(s);
  kl::testing::TempDir dir;
  EngineOptions o;
  o.warehouse = dir.Sub("warehouse");
  auto engine = SqlEngine::Create(o);
  ASSERT_TRUE(engine.ok());
  auto session = (*engine)->NewSession();
  Random data(seed);
  for (const std::string& stmt :
       {std::string("CREATE DATABASE kubelake"),
        std::string("CREATE TABLE t1 (id BIGINT NOT NULL, k INT, g STRING, v BIGINT, d DOUBLE) WITH ('file.format' = "
                    "'parquet', 'kubelake.data-file.sync' = 'false')"),
        std::string("CREATE TABLE t2 (id BIGINT NOT NULL, k INT, g STRING, v BIGINT) WITH ('file.format' = 'parquet', "
                    "'kubelake.data-file.sync' = 'false')"),
        "INSERT INTO t1 VALUES " + Values(&data, 300, false), "INSERT INTO t2 VALUES " + Values(&data, 80, true)}) {
    auto r = session->Execute(stmt);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  std::string db = JoinPath(o.warehouse, "kubelake.db");
  std::string setup = "CREATE VIEW t1 AS SELECT * FROM read_parquet('" + JoinPath(db, "t1") +
                      "/**/*.parquet');\nCREATE VIEW t2 AS SELECT * FROM read_parquet('" + JoinPath(db, "t2") +
                      "/**/*.parquet');\n";
  ASSERT_TRUE(WriteFile(dir.Sub("setup.sql"), setup).ok());
  Generator gen(seed);
  std::vector<std::string> queries;
  std::string lines;
  for (int i = 0; i < count; ++i) {
    queries.push_back(gen.Query());
    std::string q;
    AppendJsonString(&q, queries.back());
    lines += q + "\n";
  }
  ASSERT_TRUE(WriteFile(dir.Sub("queries.jsonl"), lines).ok());
  std::string script = JoinPath(kl::testing::SourceDir(), "src/sql/test/duckdb_run.mjs");
  std::string cmd = "node '" + script + "' '" + modules + "' '" + dir.Sub("setup.sql") + "' '" +
                    dir.Sub("queries.jsonl") + "' '" + dir.Sub("out.jsonl") + "' 2> '" + dir.Sub("err") + "'";
  int rc = std::system(cmd.c_str());
  auto err = ReadFile(dir.Sub("err"));
  ASSERT_EQ(rc, 0) << "node failed: " << (err.ok() ? *err : "");
  auto out = ReadFile(dir.Sub("out.jsonl"));
  ASSERT_TRUE(out.ok());
  std::vector<std::string> duck_lines = Split(*out, '\n', true);
  ASSERT_EQ(duck_lines.size(), queries.size());
  int agreed = 0, failed = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    auto mine = session->Execute(queries[i]);
    auto duck = ParseJson(duck_lines[i], "duckdb output");
    ASSERT_TRUE(duck.ok());
    const JsonValue* duck_error = duck->Find("error");
    std::string why;
    if (!mine.ok() || duck_error != nullptr) {
      why = "kubelake: " + (mine.ok() ? std::string("ok") : mine.status().ToString()) +
            "; duckdb: " + (duck_error ? duck_error->as_string() : "ok");
    } else {
      std::vector<std::string> a, b;
      for (const auto& row : mine->Rows()) {
        std::string s;
        for (size_t c = 0; c < row.size(); ++c) s += KubelakeCell(row[c], mine->columns.type(c)) + "|";
        a.push_back(s);
      }
      for (const auto& row : duck->Find("rows")->items()) {
        std::string s;
        for (size_t c = 0; c < row.items().size() && c < mine->columns.size(); ++c) {
          s += DuckCell(row.items()[c], mine->columns.type(c)) + "|";
        }
        b.push_back(s);
      }
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a != b) {
        why = "results differ: kubelake " + std::to_string(a.size()) + " rows, duckdb " + std::to_string(b.size()) +
              " rows";
        for (size_t k = 0; k < std::max(a.size(), b.size()) && k < 200; ++k) {
          std::string x = k < a.size() ? a[k] : "-", y = k < b.size() ? b[k] : "-";
          if (x != y) {
            why += "\n  first difference at sorted row " + std::to_string(k) + ": kubelake " + x + "  duckdb " + y;
            break;
          }
        }
      }
    }
    if (why.empty()) {
      ++agreed;
    } else {
      ++failed;
      ADD_FAILURE() << "seed " << seed << ", query " << i << ":\n  " << queries[i] << "\n  " << why;
    }
  }
  std::printf("kubelake and DuckDB agreed on %d of %zu random queries (seed %llu)\n", agreed, queries.size(),
              static_cast<unsigned long long>(seed));
  EXPECT_EQ(failed, 0);
}

}  // namespace
}  // namespace kl::sql
