#include "sql/parser/parser.h"

#include <cctype>
#include <cmath>
#include <set>

#include "common/string_util.h"
#include "sql/parser/postgres_types.h"

namespace kl::sql {

using format::DataField;
using format::DataType;
using format::Datum;

namespace {

// Words that end an expression or a FROM item, so they are never taken as an
// implicit alias, and never as a bare column name.
const std::set<std::string>& Reserved() {
  static const std::set<std::string> kWords = {"ALL",       "AND",     "ANY",    "AS",          "ASC",
                                               "BETWEEN",   "BY",      "CASE",   "CROSS",       "DESC",
                                               "DISTINCT",  "ELSE",    "END",    "EXCEPT",      "EXISTS",
                                               "FALSE",     "FETCH",   "FILTER", "FOR",         "FROM",
                                               "FULL",      "GROUP",   "HAVING", "IN",          "INNER",
                                               "INTERSECT", "INTO",    "IS",     "JOIN",        "LATERAL",
                                               "LEFT",      "LIKE",    "LIMIT",  "MINUS",       "NATURAL",
                                               "NOT",       "NULL",    "OFFSET", "ON",          "OR",
                                               "ORDER",     "OUTER",   "OVER",   "QUALIFY",     "RIGHT",
                                               "SELECT",    "SIMILAR", "THEN",   "TRUE",        "UNION",
                                               "UNKNOWN",   "USING",   "VALUES", "WHEN",        "WHERE",
                                               "WINDOW",    "WITH",    "ROWS",   "RANGE",       "NULLS",
                                               "PARTITION", "ESCAPE",  "UNNEST", "TABLESAMPLE", "MATCH_RECOGNIZE"};
  return kWords;
}

bool IsReserved(const Token& t) { return t.kind == TokenKind::kIdentifier && Reserved().count(ToUpper(t.text)) > 0; }

std::string Describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kEnd: return "end of input";
    case TokenKind::kString: return "string '" + t.text + "'";
    case TokenKind::kQuotedIdentifier: return "`" + t.text + "`";
    case TokenKind::kHint: return "hint /*+ " + t.text + " */";
    case TokenKind::kParameter: return "parameter";
    default: return "'" + t.text + "'";
  }
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::string_view text, bool postgres = false)
      : toks_(std::move(tokens)), text_(text), pg_(postgres) {}

  Result<StatementPtr> ParseOne() {
    KL_ASSIGN_OR_RETURN(auto st, Statement_());
    while (Peek().IsSymbol(";")) Advance();
    if (Peek().kind != TokenKind::kEnd) {
      return Expected("end of statement (a ';' before the next statement?)");
    }
    return st;
  }

  Result<ExprPtr> ExprOnly() {
    KL_ASSIGN_OR_RETURN(ExprPtr e, Expr());
    if (Peek().kind != TokenKind::kEnd) return Expected("end of expression");
    return e;
  }

  Result<DataType> TypeOnly() {
    KL_ASSIGN_OR_RETURN(DataType t, Type());
    if (Peek().kind != TokenKind::kEnd) return Expected("end of type");
    return t;
  }

 private:
  // ---- token helpers ----
  const Token& Peek(size_t ahead = 0) const { return toks_[std::min(i_ + ahead, toks_.size() - 1)]; }
  const Token& Advance() {
    const Token& t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }
  bool AcceptKeyword(std::string_view kw) {
    if (Peek().IsKeyword(kw)) {
      Advance();
      return true;
    }
    return false;
  }
  bool AcceptSymbol(std::string_view s) {
    if (Peek().IsSymbol(s)) {
      Advance();
      return true;
    }
    return false;
  }
  Status Expected(std::string_view what) const {
    const Token& t = Peek();
    return ErrorAt(t.pos, "syntax error: expected " + std::string(what) + " but found " + Describe(t));
  }
  Status ExpectKeyword(std::string_view kw) {
    if (AcceptKeyword(kw)) return Status::OK();
    return Expected(std::string(kw));
  }
  Status ExpectSymbol(std::string_view s) {
    if (AcceptSymbol(s)) return Status::OK();
    return Expected("'" + std::string(s) + "'");
  }
  // Guards recursion depth: deeply nested input must fail cleanly, not overflow the stack.
  class DepthGuard {
   public:
    explicit DepthGuard(Parser* p) : p_(p) { ++p_->depth_; }
    ~DepthGuard() { --p_->depth_; }

   private:
    Parser* p_;
  };
  Status CheckDepth() const {
    if (depth_ > 200) return ErrorAt(Peek().pos, "statement nested too deeply (more than 200 levels)");
    return Status::OK();
  }

  Result<std::string> Identifier(std::string_view what = "a name") {
    const Token& t = Peek();
    if (t.kind == TokenKind::kQuotedIdentifier || (t.kind == TokenKind::kIdentifier && !IsReserved(t))) {
      Advance();
      return NameText(t);
    }
    return Expected(what);
  }
  // A name token's text: PostgreSQL folds unquoted names to lower case.
  std::string NameText(const Token& t) const {
    return pg_ && t.kind == TokenKind::kIdentifier ? ToLower(t.text) : t.text;
  }
  Result<QualifiedName> Name(std::string_view what = "a name") {
    QualifiedName n;
    n.pos = Peek().pos;
    KL_ASSIGN_OR_RETURN(std::string first, Identifier(what));
    n.parts.push_back(std::move(first));
    while (Peek().IsSymbol(".")) {
      Advance();
      KL_ASSIGN_OR_RETURN(std::string part, Identifier("a name after '.'"));
      n.parts.push_back(std::move(part));
    }
    if (n.parts.size() > 3)
      return ErrorAt(n.pos, "a name has at most three parts (catalog.database.object): " + n.ToString());
    return n;
  }
  Result<std::string> StringLiteral(std::string_view what) {
    if (Peek().kind != TokenKind::kString) return Expected(what);
    return Advance().text;
  }
  Result<int64_t> IntegerLiteral(std::string_view what) {
    if (Peek().kind != TokenKind::kInteger) return Expected(what);
    SourcePos pos = Peek().pos;
    auto v = ParseInt64(Advance().text);
    if (!v) return ErrorAt(pos, "number too large");
    return *v;
  }
  std::string TextFrom(size_t first_token) const {
    size_t begin = toks_[first_token].offset;
    size_t end = toks_[i_ > 0 ? i_ - 1 : 0].end;
    if (end < begin) end = begin;
    return std::string(text_.substr(begin, end - begin));
  }

  // ---- statements ----
  Result<StatementPtr> Statement_() {
    const Token& t = Peek();
    auto st = std::make_shared<Statement>();
    st->pos = t.pos;
    st->text = std::string(text_);
    if (t.IsKeyword("SELECT") || t.IsKeyword("WITH") || t.IsKeyword("VALUES") || t.IsSymbol("(")) {
      st->kind = StatementKind::kQuery;
      KL_ASSIGN_OR_RETURN(st->query, Query_());
      return st;
    }
    if (AcceptKeyword("EXPLAIN")) {
      st->kind = StatementKind::kExplain;
      if (AcceptKeyword("PLAN")) KL_RETURN_IF_ERROR(ExpectKeyword("FOR"));
      while (AcceptKeyword("ESTIMATED_COST") || AcceptKeyword("CHANGELOG_MODE") ||
             AcceptKeyword("JSON_EXECUTION_PLAN") || AcceptKeyword("PLAN_ADVICE")) {
        AcceptSymbol(",");
      }
      if (Peek().IsKeyword("INSERT")) {
        KL_ASSIGN_OR_RETURN(auto inner, Statement_());
        st->statements.push_back(inner);
        return st;
      }
      KL_ASSIGN_OR_RETURN(st->query, Query_());
      return st;
    }
    if (t.IsKeyword("INSERT")) return Insert(st);
    if (t.IsKeyword("EXECUTE") || t.IsKeyword("BEGIN") || t.IsKeyword("END") || t.IsKeyword("STOP")) {
      return StreamingStatement(st);
    }
    if (AcceptKeyword("CALL")) return Call(st);
    if (AcceptKeyword("CREATE")) return Create(st);
    if (AcceptKeyword("DROP")) return Drop(st);
    if (AcceptKeyword("ALTER")) return Alter(st);
    if (AcceptKeyword("USE")) {
      if (AcceptKeyword("CATALOG")) {
        st->kind = StatementKind::kUseCatalog;
      } else {
        st->kind = StatementKind::kUseDatabase;
      }
      KL_ASSIGN_OR_RETURN(st->name, Name());
      return st;
    }
    if (AcceptKeyword("SHOW")) return Show(st);
    if (AcceptKeyword("DESCRIBE") || AcceptKeyword("DESC")) {
      st->kind = StatementKind::kDescribe;
      st->extended = AcceptKeyword("EXTENDED");
      KL_ASSIGN_OR_RETURN(st->name, Name("a table name"));
      return st;
    }
    if (AcceptKeyword("SET")) return Set(st);
    if (AcceptKeyword("RESET")) {
      st->kind = StatementKind::kReset;
      if (Peek().kind == TokenKind::kString) st->key = Advance().text;
      return st;
    }
    if (t.kind == TokenKind::kEnd) return Expected("a statement");
    return ErrorAt(t.pos, "syntax error: unknown statement starting with " + Describe(t) +
                              " (expected SELECT, WITH, VALUES, EXPLAIN, INSERT, CREATE, DROP, ALTER, USE, SHOW, "
                              "DESCRIBE, SET or RESET)");
  }

  Result<StatementPtr> Set(StatementPtr st) {
    if (Peek().kind == TokenKind::kEnd || Peek().IsSymbol(";")) {
      st->kind = StatementKind::kSet;  // SET: list the settings
      return st;
    }
    if (Peek().kind == TokenKind::kString) {
      st->kind = StatementKind::kSet;
      st->key = Advance().text;
      KL_RETURN_IF_ERROR(ExpectSymbol("="));
      if (Peek().kind != TokenKind::kString) return Expected("a quoted value: SET 'key' = 'value'");
      st->value = Advance().text;
      return st;
    }
    // Unquoted: MaxCompute session lines (SET odps.sql.x=y) are ignored with a
    // warning; any other unquoted SET is an error, since Flink requires quotes.
    SourcePos pos = Peek().pos;
    size_t first = i_;
    while (Peek().kind != TokenKind::kEnd && !Peek().IsSymbol(";")) Advance();
    std::string line = TextFrom(first);
    std::string key = line.substr(0, line.find('='));
    std::string_view trimmed = Trim(key);
    if (StartsWithIgnoreCase(trimmed, "odps.")) {
      st->kind = StatementKind::kIgnoredSessionLine;
      st->key = std::string(trimmed);
      st->value = line.find('=') == std::string::npos ? "" : std::string(Trim(line.substr(line.find('=') + 1)));
      return st;
    }
    return ErrorAt(pos, "syntax error: SET needs quoted key and value: SET 'key' = 'value' (found SET " + line + ")");
  }

  static bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
  }

  Result<StatementPtr> Show(StatementPtr st) {
    if (AcceptKeyword("CATALOGS")) {
      st->kind = StatementKind::kShowCatalogs;
    } else if (AcceptKeyword("DATABASES")) {
      st->kind = StatementKind::kShowDatabases;
    } else if (AcceptKeyword("TABLES") || AcceptKeyword("VIEWS")) {
      st->kind = toks_[i_ - 1].IsKeyword("VIEWS") ? StatementKind::kShowViews : StatementKind::kShowTables;
      if (AcceptKeyword("FROM") || AcceptKeyword("IN")) {
        KL_ASSIGN_OR_RETURN(st->name, Name("a database name"));
      }
      bool negate = AcceptKeyword("NOT");
      if (AcceptKeyword("LIKE")) {
        KL_ASSIGN_OR_RETURN(st->like_pattern, StringLiteral("a LIKE pattern"));
        st->extended = negate;  // NOT LIKE
      } else if (negate) {
        return Expected("LIKE");
      }
    } else if (AcceptKeyword("FUNCTIONS")) {
      st->kind = StatementKind::kShowFunctions;
    } else if (AcceptKeyword("JOBS")) {
      st->kind = StatementKind::kShowJobs;
    } else if (AcceptKeyword("CURRENT")) {
      if (AcceptKeyword("CATALOG")) {
        st->kind = StatementKind::kShowCurrentCatalog;
      } else {
        KL_RETURN_IF_ERROR(ExpectKeyword("DATABASE"));
        st->kind = StatementKind::kShowCurrentDatabase;
      }
    } else if (AcceptKeyword("CREATE")) {
      if (!AcceptKeyword("TABLE")) KL_RETURN_IF_ERROR(ExpectKeyword("VIEW"));
      st->kind = StatementKind::kShowCreateTable;
      KL_ASSIGN_OR_RETURN(st->name, Name("a table name"));
    } else {
      return Expected(
          "CATALOGS, DATABASES, TABLES, VIEWS, FUNCTIONS, CURRENT CATALOG, CURRENT DATABASE or CREATE TABLE");
    }
    return st;
  }

  Result<std::map<std::string, std::string>> Properties() {
    std::map<std::string, std::string> out;
    KL_RETURN_IF_ERROR(ExpectSymbol("("));
    if (AcceptSymbol(")")) return out;
    do {
      KL_ASSIGN_OR_RETURN(std::string k, StringLiteral("a quoted option key 'key' = 'value'"));
      KL_RETURN_IF_ERROR(ExpectSymbol("="));
      KL_ASSIGN_OR_RETURN(std::string v, StringLiteral("a quoted option value 'key' = 'value'"));
      out[k] = v;
    } while (AcceptSymbol(","));
    KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    return out;
  }

  Result<std::vector<std::string>> NameList() {
    std::vector<std::string> out;
    KL_RETURN_IF_ERROR(ExpectSymbol("("));
    do {
      KL_ASSIGN_OR_RETURN(std::string n, Identifier("a column name"));
      out.push_back(std::move(n));
    } while (AcceptSymbol(","));
    KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    return out;
  }

  Result<StatementPtr> Create(StatementPtr st) {
    if (AcceptKeyword("CATALOG")) {
      st->kind = StatementKind::kCreateCatalog;
      KL_RETURN_IF_ERROR(IfNotExists(st.get()));
      KL_ASSIGN_OR_RETURN(st->name, Name("a catalog name"));
      KL_RETURN_IF_ERROR(ExpectKeyword("WITH"));
      KL_ASSIGN_OR_RETURN(st->options, Properties());
      return st;
    }
    if (AcceptKeyword("DATABASE") || AcceptKeyword("SCHEMA")) {
      st->kind = StatementKind::kCreateDatabase;
      KL_RETURN_IF_ERROR(IfNotExists(st.get()));
      KL_ASSIGN_OR_RETURN(st->name, Name("a database name"));
      if (AcceptKeyword("COMMENT")) {
        KL_ASSIGN_OR_RETURN(st->comment, StringLiteral("a comment"));
      }
      if (AcceptKeyword("WITH")) {
        KL_ASSIGN_OR_RETURN(st->options, Properties());
      }
      return st;
    }
    if (AcceptKeyword("TEMPORARY")) st->temporary = true;
    if (AcceptKeyword("VIEW")) {
      st->kind = StatementKind::kCreateView;
      KL_RETURN_IF_ERROR(IfNotExists(st.get()));
      KL_ASSIGN_OR_RETURN(st->name, Name("a view name"));
      if (Peek().IsSymbol("(")) {
        KL_ASSIGN_OR_RETURN(st->view_columns, NameList());
      }
      if (AcceptKeyword("COMMENT")) {
        KL_ASSIGN_OR_RETURN(st->comment, StringLiteral("a comment"));
      }
      KL_RETURN_IF_ERROR(ExpectKeyword("AS"));
      size_t first = i_;
      KL_ASSIGN_OR_RETURN(st->query, Query_());
      st->query_text = TextFrom(first);
      return st;
    }
    if (!AcceptKeyword("TABLE")) return Expected("TABLE, VIEW, DATABASE or CATALOG after CREATE");
    st->kind = StatementKind::kCreateTable;
    KL_RETURN_IF_ERROR(IfNotExists(st.get()));
    KL_ASSIGN_OR_RETURN(st->name, Name("a table name"));
    if (AcceptSymbol("(")) {
      do {
        if (AcceptKeyword("CONSTRAINT")) KL_RETURN_IF_ERROR(Identifier("a constraint name").status());
        if (Peek().IsKeyword("PRIMARY")) {
          Advance();
          KL_RETURN_IF_ERROR(ExpectKeyword("KEY"));
          if (!st->primary_key.empty()) return ErrorAt(toks_[i_ - 1].pos, "a table has one PRIMARY KEY");
          KL_ASSIGN_OR_RETURN(st->primary_key, NameList());
          KL_RETURN_IF_ERROR(NotEnforced());
        } else if (Peek().IsKeyword("WATERMARK")) {
          // Event-time watermarks matter to streaming jobs only; accepted and kept nowhere.
          Advance();
          KL_RETURN_IF_ERROR(ExpectKeyword("FOR"));
          KL_RETURN_IF_ERROR(Identifier("a column name").status());
          KL_RETURN_IF_ERROR(ExpectKeyword("AS"));
          KL_RETURN_IF_ERROR(Expr().status());
        } else {
          ColumnDef c;
          c.pos = Peek().pos;
          KL_ASSIGN_OR_RETURN(c.name, Identifier("a column name"));
          if (AcceptKeyword("AS")) {
            KL_RETURN_IF_ERROR(ComputedColumn(&c));
            st->columns.push_back(std::move(c));
            continue;
          }
          KL_ASSIGN_OR_RETURN(c.type, Type());
          if (Peek().IsKeyword("METADATA")) KL_RETURN_IF_ERROR(MetadataColumn(&c));
          if (AcceptKeyword("PRIMARY")) {
            KL_RETURN_IF_ERROR(ExpectKeyword("KEY"));
            KL_RETURN_IF_ERROR(NotEnforced());
            c.primary_key = true;
          }
          if (AcceptKeyword("COMMENT")) {
            KL_ASSIGN_OR_RETURN(c.comment, StringLiteral("a comment"));
          }
          st->columns.push_back(std::move(c));
        }
      } while (AcceptSymbol(","));
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    }
    if (AcceptKeyword("COMMENT")) {
      KL_ASSIGN_OR_RETURN(st->comment, StringLiteral("a comment"));
    }
    if (AcceptKeyword("PARTITIONED")) {
      KL_RETURN_IF_ERROR(ExpectKeyword("BY"));
      KL_ASSIGN_OR_RETURN(st->partition_keys, NameList());
    }
    if (AcceptKeyword("WITH")) {
      KL_ASSIGN_OR_RETURN(st->options, Properties());
    }
    if (AcceptKeyword("LIKE")) {
      st->kind = StatementKind::kCreateTableLike;
      KL_ASSIGN_OR_RETURN(st->like_name, Name("a table name after LIKE"));
      if (Peek().IsSymbol("(")) {
        // LIKE options (INCLUDING ALL, EXCLUDING OPTIONS, ...): kubelake copies the
        // schema and options; options given in WITH override the copied ones.
        int depth = 0;
        do {
          if (Peek().IsSymbol("(")) ++depth;
          if (Peek().IsSymbol(")")) --depth;
          if (Peek().kind == TokenKind::kEnd) return Expected("')'");
          Advance();
        } while (depth > 0);
      }
    } else if (AcceptKeyword("AS")) {
      if (!st->columns.empty()) {
        return ErrorAt(toks_[i_ - 1].pos,
                       "CREATE TABLE ... AS SELECT takes its columns from the query, not a column list");
      }
      size_t first = i_;
      KL_ASSIGN_OR_RETURN(st->query, Query_());
      st->query_text = TextFrom(first);
    } else if (st->columns.empty()) {
      return Expected("a column list, LIKE or AS after the table name");
    }
    for (const auto& c : st->columns) {
      if (c.primary_key) {
        if (!st->primary_key.empty()) return ErrorAt(c.pos, "a table has one PRIMARY KEY");
        st->primary_key.push_back(c.name);
      }
    }
    return st;
  }

  Status NotEnforced() {
    if (!AcceptKeyword("NOT")) {
      return Expected("NOT ENFORCED (Flink requires PRIMARY KEY ... NOT ENFORCED)");
    }
    return ExpectKeyword("ENFORCED");
  }

  Status IfNotExists(Statement* st) {
    if (AcceptKeyword("IF")) {
      KL_RETURN_IF_ERROR(ExpectKeyword("NOT"));
      KL_RETURN_IF_ERROR(ExpectKeyword("EXISTS"));
      st->if_not_exists = true;
    }
    return Status::OK();
  }
  Status IfExists(Statement* st) {
    if (AcceptKeyword("IF")) {
      KL_RETURN_IF_ERROR(ExpectKeyword("EXISTS"));
      st->if_exists = true;
    }
    return Status::OK();
  }

  Result<StatementPtr> Drop(StatementPtr st) {
    if (AcceptKeyword("TEMPORARY")) st->temporary = true;
    if (AcceptKeyword("TABLE")) {
      st->kind = StatementKind::kDropTable;
    } else if (AcceptKeyword("VIEW")) {
      st->kind = StatementKind::kDropView;
    } else if (AcceptKeyword("DATABASE") || AcceptKeyword("SCHEMA")) {
      st->kind = StatementKind::kDropDatabase;
    } else {
      return Expected("TABLE, VIEW or DATABASE after DROP");
    }
    KL_RETURN_IF_ERROR(IfExists(st.get()));
    KL_ASSIGN_OR_RETURN(st->name, Name());
    if (AcceptKeyword("CASCADE")) st->extended = true;
    AcceptKeyword("RESTRICT");
    return st;
  }

  Result<StatementPtr> Alter(StatementPtr st) {
    KL_RETURN_IF_ERROR(ExpectKeyword("TABLE"));
    KL_RETURN_IF_ERROR(IfExists(st.get()));
    KL_ASSIGN_OR_RETURN(st->name, Name("a table name"));
    if (AcceptKeyword("SET")) {
      st->kind = StatementKind::kAlterTableSet;
      KL_ASSIGN_OR_RETURN(st->options, Properties());
      return st;
    }
    if (AcceptKeyword("RESET")) {
      st->kind = StatementKind::kAlterTableReset;
      KL_RETURN_IF_ERROR(ExpectSymbol("("));
      do {
        KL_ASSIGN_OR_RETURN(std::string k, StringLiteral("a quoted option key"));
        st->reset_keys.push_back(std::move(k));
      } while (AcceptSymbol(","));
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      return st;
    }
    if (AcceptKeyword("RENAME")) {
      st->kind = StatementKind::kAlterTableRename;
      KL_RETURN_IF_ERROR(ExpectKeyword("TO"));
      KL_ASSIGN_OR_RETURN(st->like_name, Name("the new table name"));
      return st;
    }
    if (AcceptKeyword("ADD")) {
      st->kind = StatementKind::kAlterTableAddColumns;
      AcceptKeyword("COLUMN");
      bool list = AcceptSymbol("(");
      do {
        ColumnDef c;
        c.pos = Peek().pos;
        KL_ASSIGN_OR_RETURN(c.name, Identifier("a column name"));
        KL_ASSIGN_OR_RETURN(c.type, Type());
        if (AcceptKeyword("COMMENT")) {
          KL_ASSIGN_OR_RETURN(c.comment, StringLiteral("a comment"));
        }
        if (AcceptKeyword("FIRST") || AcceptKeyword("AFTER")) {
          return ErrorAt(toks_[i_ - 1].pos, "ADD ... FIRST/AFTER is not supported: new columns go last");
        }
        st->columns.push_back(std::move(c));
      } while (list && AcceptSymbol(","));
      if (list) KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      return st;
    }
    return Expected("SET, RESET, ADD or RENAME TO after ALTER TABLE name");
  }

  Result<StatementPtr> Insert(StatementPtr st) {
    Advance();  // INSERT
    st->kind = StatementKind::kInsert;
    if (AcceptKeyword("OVERWRITE")) {
      st->overwrite = true;
    } else {
      KL_RETURN_IF_ERROR(ExpectKeyword("INTO"));
    }
    KL_ASSIGN_OR_RETURN(st->name, Name("a table name"));
    if (Peek().kind == TokenKind::kHint) {
      KL_ASSIGN_OR_RETURN(st->options, HintOptions());
    }
    if (AcceptKeyword("PARTITION")) {
      KL_RETURN_IF_ERROR(ExpectSymbol("("));
      do {
        StaticPartitionValue v;
        v.pos = Peek().pos;
        KL_ASSIGN_OR_RETURN(v.column, Identifier("a partition column name"));
        KL_RETURN_IF_ERROR(ExpectSymbol("="));
        KL_ASSIGN_OR_RETURN(v.value, PartitionLiteral());
        for (const auto& other : st->static_partition) {
          if (other.column == v.column) {
            return ErrorAt(v.pos, "partition column " + QuoteIdentifier(v.column) + " is given twice");
          }
        }
        st->static_partition.push_back(std::move(v));
      } while (AcceptSymbol(","));
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    }
    if (Peek().IsSymbol("(") && !(Peek(1).IsKeyword("SELECT") || Peek(1).IsKeyword("WITH") ||
                                  Peek(1).IsKeyword("VALUES") || Peek(1).IsSymbol("("))) {
      KL_ASSIGN_OR_RETURN(st->insert_columns, NameList());
    }
    KL_ASSIGN_OR_RETURN(st->query, Query_());
    return st;
  }

  // A static partition value: a string, a (signed) number, TRUE or FALSE, or DATE/TIMESTAMP '...'.
  Result<std::string> PartitionLiteral() {
    if (Peek().IsKeyword("DATE") || Peek().IsKeyword("TIMESTAMP")) {
      if (Peek(1).kind == TokenKind::kString) Advance();
    }
    const Token& t = Peek();
    if (t.kind == TokenKind::kString) return Advance().text;
    if (t.IsKeyword("TRUE") || t.IsKeyword("FALSE")) return ToUpper(Advance().text);
    std::string sign;
    if (t.IsSymbol("-") || t.IsSymbol("+")) {
      if (Advance().text == "-") sign = "-";
    }
    TokenKind k = Peek().kind;
    if (k == TokenKind::kInteger || k == TokenKind::kDecimal || k == TokenKind::kFloat) return sign + Advance().text;
    if (Peek().IsKeyword("NULL")) {
      return ErrorAt(Peek().pos, "a static partition value cannot be NULL; give the column in the query instead");
    }
    return Expected("a literal partition value");
  }

  // /*+ OPTIONS('k'='v', ...) */ -> options. Other hints are accepted and ignored.
  Result<std::map<std::string, std::string>> HintOptions() {
    const Token& h = Advance();
    std::map<std::string, std::string> out;
    KL_ASSIGN_OR_RETURN(auto inner, Tokenize(h.text, {h.pos.line, h.pos.column + 3}));
    Parser p(std::move(inner), h.text);
    while (p.Peek().kind != TokenKind::kEnd) {
      if (p.Peek().kind != TokenKind::kIdentifier) return p.Expected("a hint name such as OPTIONS");
      std::string name = ToUpper(p.Advance().text);
      if (name == "OPTIONS") {
        KL_ASSIGN_OR_RETURN(auto props, p.Properties());
        for (auto& [k, v] : props) out[k] = v;
      } else if (p.Peek().IsSymbol("(")) {
        int depth = 0;
        do {
          if (p.Peek().IsSymbol("(")) ++depth;
          if (p.Peek().IsSymbol(")")) --depth;
          if (p.Peek().kind == TokenKind::kEnd) return p.Expected("')'");
          p.Advance();
        } while (depth > 0);
      }
      p.AcceptSymbol(",");
    }
    return out;
  }

  // ---- types ----
  Result<int> TypeParam(std::string_view what) {
    KL_ASSIGN_OR_RETURN(int64_t v, IntegerLiteral(what));
    if (v < 0 || v > DataType::kMaxLength) return ErrorAt(toks_[i_ - 1].pos, std::string(what) + " out of range");
    return static_cast<int>(v);
  }

  Result<DataType> Type(std::string* pg_conversion = nullptr) {
    DepthGuard guard(this);
    KL_RETURN_IF_ERROR(CheckDepth());
    if (pg_) {
      KL_ASSIGN_OR_RETURN(auto pg_type, PostgresType(pg_conversion));
      if (pg_type) return TypeSuffix(*pg_type);
    }
    SourcePos pos = Peek().pos;
    if (Peek().kind != TokenKind::kIdentifier) return Expected("a data type");
    std::string w = ToUpper(Advance().text);
    DataType t;
    auto opt_len = [&](int fallback) -> Result<int> {
      if (!AcceptSymbol("(")) return fallback;
      KL_ASSIGN_OR_RETURN(int n, TypeParam("a length"));
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      if (n < 1) return ErrorAt(pos, "length must be at least 1");
      return n;
    };
    if (w == "STRING") {
      t = DataType::String();
    } else if (w == "VARCHAR" || (w == "CHARACTER" && Peek().IsKeyword("VARYING"))) {
      if (w == "CHARACTER") Advance();
      // VARCHAR without a length is STRING in Flink's DDL.
      KL_ASSIGN_OR_RETURN(int n, opt_len(DataType::kMaxLength));
      t = DataType::VarChar(n);
    } else if (w == "CHAR" || w == "CHARACTER") {
      if (AcceptKeyword("VARYING")) {
        KL_ASSIGN_OR_RETURN(int n, opt_len(DataType::kMaxLength));
        t = DataType::VarChar(n);
      } else {
        KL_ASSIGN_OR_RETURN(int n, opt_len(1));
        t = DataType::Char(n);
      }
    } else if (w == "BOOLEAN" || w == "BOOL") {
      t = DataType::Boolean();
    } else if (w == "TINYINT") {
      t = DataType::TinyInt();
    } else if (w == "SMALLINT") {
      t = DataType::SmallInt();
    } else if (w == "INT" || w == "INTEGER") {
      t = DataType::Int();
    } else if (w == "BIGINT") {
      t = DataType::BigInt();
    } else if (w == "FLOAT" || w == "REAL") {
      t = DataType::Float();
    } else if (w == "DOUBLE") {
      AcceptKeyword("PRECISION");
      t = DataType::Double();
    } else if (w == "DECIMAL" || w == "DEC" || w == "NUMERIC") {
      int p = 10, s = 0;
      if (AcceptSymbol("(")) {
        KL_ASSIGN_OR_RETURN(p, TypeParam("a precision"));
        if (AcceptSymbol(",")) {
          KL_ASSIGN_OR_RETURN(s, TypeParam("a scale"));
        }
        KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      }
      if (p < 1 || p > 38) return ErrorAt(pos, "DECIMAL precision must be between 1 and 38, not " + std::to_string(p));
      if (s > p)
        return ErrorAt(pos, "DECIMAL scale " + std::to_string(s) + " exceeds its precision " + std::to_string(p));
      t = DataType::Decimal(p, s);
    } else if (w == "DATE") {
      t = DataType::Date();
    } else if (w == "TIME") {
      int p = 0;
      if (AcceptSymbol("(")) {
        KL_ASSIGN_OR_RETURN(p, TypeParam("a precision"));
        KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      }
      if (p > 9) return ErrorAt(pos, "TIME precision must be between 0 and 9");
      if (AcceptKeyword("WITHOUT")) {
        KL_RETURN_IF_ERROR(ExpectKeyword("TIME"));
        KL_RETURN_IF_ERROR(ExpectKeyword("ZONE"));
      }
      t = DataType::Time(p);
    } else if (w == "TIMESTAMP" || w == "TIMESTAMP_LTZ") {
      int p = w == "TIMESTAMP_LTZ" ? 6 : 6;
      if (AcceptSymbol("(")) {
        KL_ASSIGN_OR_RETURN(p, TypeParam("a precision"));
        KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      }
      if (p > 9) return ErrorAt(pos, "TIMESTAMP precision must be between 0 and 9");
      bool ltz = w == "TIMESTAMP_LTZ";
      if (!ltz && AcceptKeyword("WITH")) {
        if (!AcceptKeyword("LOCAL")) {
          return ErrorAt(Peek().pos,
                         "TIMESTAMP WITH TIME ZONE is not a Flink type; use TIMESTAMP WITH LOCAL TIME ZONE");
        }
        KL_RETURN_IF_ERROR(ExpectKeyword("TIME"));
        KL_RETURN_IF_ERROR(ExpectKeyword("ZONE"));
        ltz = true;
      } else if (!ltz && AcceptKeyword("WITHOUT")) {
        KL_RETURN_IF_ERROR(ExpectKeyword("TIME"));
        KL_RETURN_IF_ERROR(ExpectKeyword("ZONE"));
      }
      t = ltz ? DataType::TimestampLtz(p) : DataType::Timestamp(p);
    } else if (w == "BINARY") {
      KL_ASSIGN_OR_RETURN(int n, opt_len(1));
      t = DataType::Binary(n);
    } else if (w == "VARBINARY") {
      KL_ASSIGN_OR_RETURN(int n, opt_len(1));
      t = DataType::VarBinary(n);
    } else if (w == "BYTES") {
      t = DataType::Bytes();
    } else if (w == "ARRAY" || w == "MULTISET") {
      KL_RETURN_IF_ERROR(ExpectSymbol("<"));
      KL_ASSIGN_OR_RETURN(DataType e, Type());
      KL_RETURN_IF_ERROR(ExpectSymbol(">"));
      t = w == "ARRAY" ? DataType::Array(e) : DataType::Multiset(e);
    } else if (w == "MAP") {
      KL_RETURN_IF_ERROR(ExpectSymbol("<"));
      KL_ASSIGN_OR_RETURN(DataType k, Type());
      KL_RETURN_IF_ERROR(ExpectSymbol(","));
      KL_ASSIGN_OR_RETURN(DataType v, Type());
      KL_RETURN_IF_ERROR(ExpectSymbol(">"));
      t = DataType::Map(k, v);
    } else if (w == "ROW") {
      bool angle = AcceptSymbol("<");
      if (!angle) KL_RETURN_IF_ERROR(ExpectSymbol("("));
      std::vector<DataField> fields;
      int id = 0;
      if (!(angle ? Peek().IsSymbol(">") : Peek().IsSymbol(")"))) {
        do {
          KL_ASSIGN_OR_RETURN(std::string n, Identifier("a field name"));
          KL_ASSIGN_OR_RETURN(DataType ft, Type());
          std::string desc;
          if (Peek().kind == TokenKind::kString) desc = Advance().text;
          fields.push_back({id++, n, ft, desc});
        } while (AcceptSymbol(","));
      }
      KL_RETURN_IF_ERROR(ExpectSymbol(angle ? ">" : ")"));
      t = DataType::Row(std::move(fields));
    } else {
      return ErrorAt(pos, "unknown data type " + w +
                              " (Flink types: STRING, VARCHAR(n), CHAR(n), BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, "
                              "FLOAT, DOUBLE, DECIMAL(p, s), DATE, TIME, TIMESTAMP(p), TIMESTAMP_LTZ(p), BYTES, "
                              "BINARY(n), VARBINARY(n), ARRAY<t>, MAP<k, v>, MULTISET<t>, ROW<...>)");
    }
    return TypeSuffix(t);
  }

  // [NOT] NULL and postfix ARRAY (INT ARRAY) after a type.
  Result<DataType> TypeSuffix(DataType t) {
    if (AcceptKeyword("NOT")) {
      KL_RETURN_IF_ERROR(ExpectKeyword("NULL"));
      t = t.NotNull();
    } else {
      AcceptKeyword("NULL");
    }
    while (AcceptKeyword("ARRAY")) t = DataType::Array(t);
    return t;
  }

  // ---- queries ----
  Result<QueryPtr> Query_() {
    DepthGuard guard(this);
    KL_RETURN_IF_ERROR(CheckDepth());
    auto q = std::make_shared<Query>();
    q->pos = Peek().pos;
    if (AcceptKeyword("WITH")) {
      AcceptKeyword("RECURSIVE");
      do {
        CommonTableExpr cte;
        cte.pos = Peek().pos;
        KL_ASSIGN_OR_RETURN(cte.name, Identifier("a name for the WITH query"));
        if (Peek().IsSymbol("(")) {
          KL_ASSIGN_OR_RETURN(cte.columns, NameList());
        }
        KL_RETURN_IF_ERROR(ExpectKeyword("AS"));
        KL_RETURN_IF_ERROR(ExpectSymbol("("));
        KL_ASSIGN_OR_RETURN(cte.query, Query_());
        KL_RETURN_IF_ERROR(ExpectSymbol(")"));
        q->ctes.push_back(std::move(cte));
      } while (AcceptSymbol(","));
    }
    KL_ASSIGN_OR_RETURN(q->body, SetExpr());
    if (AcceptKeyword("ORDER")) {
      KL_RETURN_IF_ERROR(ExpectKeyword("BY"));
      KL_ASSIGN_OR_RETURN(q->order_by, OrderList());
    }
    if (q->body->op == SetOpKind::kNone && q->body->select && q->body->select->distinct_on) {
      // DISTINCT ON keeps the first row of each group in the query's ORDER BY; an ordinal
      // there names a select-list expression.
      const SelectCore& s = *q->body->select;
      std::vector<OrderItem> order = q->order_by;
      for (auto& item : order) {
        if (item.expr->kind == ExprKind::kColumn && item.expr->qualifier.empty()) {
          // An output column's name, as PostgreSQL's ORDER BY reads it first.
          for (const auto& si : s.items) {
            if (!si.alias.empty() && si.alias == item.expr->name) item.expr = si.expr;
          }
          continue;
        }
        if (item.expr->kind != ExprKind::kLiteral || item.expr->type.root() != format::TypeRoot::kInt) continue;
        int64_t n = item.expr->value.as_int();
        if (n < 1 || static_cast<size_t>(n) > s.items.size() || s.items[n - 1].expr->kind == ExprKind::kStar) {
          return ErrorAt(item.expr->pos, "ORDER BY position " + std::to_string(n) +
                                             " is not a select-list expression DISTINCT ON can order by");
        }
        item.expr = s.items[n - 1].expr;
      }
      s.distinct_on->order_by = std::move(order);
    }
    if (AcceptKeyword("LIMIT")) {
      if (AcceptKeyword("ALL")) {
        // no limit
      } else {
        KL_ASSIGN_OR_RETURN(q->limit, Expr());
        if (AcceptSymbol(",")) {  // LIMIT offset, count (MySQL style, accepted by Flink)
          q->offset = q->limit;
          KL_ASSIGN_OR_RETURN(q->limit, Expr());
        }
      }
    }
    if (AcceptKeyword("OFFSET")) {
      KL_ASSIGN_OR_RETURN(q->offset, Expr());
      if (!AcceptKeyword("ROWS")) AcceptKeyword("ROW");
    }
    if (AcceptKeyword("FETCH")) {
      if (!AcceptKeyword("FIRST")) KL_RETURN_IF_ERROR(ExpectKeyword("NEXT"));
      if (Peek().IsKeyword("ROW") || Peek().IsKeyword("ROWS")) {
        auto one = std::make_shared<ParsedExpr>();
        one->pos = Peek().pos;
        one->value = Datum::Int(1);
        one->type = DataType::Int().NotNull();
        q->limit = one;
      } else {
        KL_ASSIGN_OR_RETURN(q->limit, Expr());
      }
      if (!AcceptKeyword("ROWS")) KL_RETURN_IF_ERROR(ExpectKeyword("ROW"));
      KL_RETURN_IF_ERROR(ExpectKeyword("ONLY"));
    }
    return q;
  }

  Result<std::vector<OrderItem>> OrderList() {
    std::vector<OrderItem> out;
    do {
      OrderItem item;
      KL_ASSIGN_OR_RETURN(item.expr, Expr());
      if (AcceptKeyword("DESC")) {
        item.descending = true;
      } else {
        AcceptKeyword("ASC");
      }
      if (AcceptKeyword("NULLS")) {
        if (AcceptKeyword("FIRST")) {
          item.nulls_first = true;
        } else {
          KL_RETURN_IF_ERROR(ExpectKeyword("LAST"));
          item.nulls_first = false;
        }
      }
      out.push_back(std::move(item));
    } while (AcceptSymbol(","));
    return out;
  }

  // UNION / EXCEPT (left-assoc) over INTERSECT (binds tighter).
  Result<std::shared_ptr<QueryBody>> SetExpr() {
    KL_ASSIGN_OR_RETURN(auto left, IntersectExpr());
    while (Peek().IsKeyword("UNION") || Peek().IsKeyword("EXCEPT") || Peek().IsKeyword("MINUS")) {
      auto node = std::make_shared<QueryBody>();
      node->pos = Peek().pos;
      node->op = Peek().IsKeyword("UNION") ? SetOpKind::kUnion : SetOpKind::kExcept;
      Advance();
      if (AcceptKeyword("ALL")) {
        node->all = true;
      } else {
        AcceptKeyword("DISTINCT");
      }
      node->left = left;
      KL_ASSIGN_OR_RETURN(node->right, IntersectExpr());
      left = node;
    }
    return left;
  }

  Result<std::shared_ptr<QueryBody>> IntersectExpr() {
    KL_ASSIGN_OR_RETURN(auto left, QueryTerm());
    while (Peek().IsKeyword("INTERSECT")) {
      auto node = std::make_shared<QueryBody>();
      node->pos = Advance().pos;
      node->op = SetOpKind::kIntersect;
      if (AcceptKeyword("ALL")) {
        node->all = true;
      } else {
        AcceptKeyword("DISTINCT");
      }
      node->left = left;
      KL_ASSIGN_OR_RETURN(node->right, QueryTerm());
      left = node;
    }
    return left;
  }

  Result<std::shared_ptr<QueryBody>> QueryTerm() {
    DepthGuard guard(this);
    KL_RETURN_IF_ERROR(CheckDepth());
    auto body = std::make_shared<QueryBody>();
    body->pos = Peek().pos;
    if (AcceptSymbol("(")) {
      KL_ASSIGN_OR_RETURN(body->nested, Query_());
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      return body;
    }
    if (Peek().IsKeyword("VALUES")) {
      Advance();
      auto q = std::make_shared<Query>();
      q->pos = body->pos;
      KL_ASSIGN_OR_RETURN(q->values, ValuesRows());
      body->nested = q;
      return body;
    }
    if (!Peek().IsKeyword("SELECT")) return Expected("SELECT, VALUES or '('");
    KL_ASSIGN_OR_RETURN(body->select, Select());
    return body;
  }

  Result<std::vector<std::vector<ExprPtr>>> ValuesRows() {
    std::vector<std::vector<ExprPtr>> rows;
    do {
      std::vector<ExprPtr> row;
      if (AcceptSymbol("(")) {
        KL_ASSIGN_OR_RETURN(row, ExprsThenClose());
      } else {
        KL_ASSIGN_OR_RETURN(auto e, Expr());
        row.push_back(e);
      }
      if (!rows.empty() && rows[0].size() != row.size()) {
        return ErrorAt(row[0]->pos, "VALUES rows differ in length: " + std::to_string(rows[0].size()) + " and " +
                                        std::to_string(row.size()) + " values");
      }
      rows.push_back(std::move(row));
    } while (AcceptSymbol(","));
    return rows;
  }

  Result<std::shared_ptr<SelectCore>> Select() {
    auto s = std::make_shared<SelectCore>();
    s->pos = Advance().pos;                             // SELECT
    while (Peek().kind == TokenKind::kHint) Advance();  // query hints other than table OPTIONS are ignored
    std::vector<ExprPtr> distinct_on;
    if (AcceptKeyword("DISTINCT")) {
      if (pg_ && AcceptKeyword("ON")) {
        KL_RETURN_IF_ERROR(ExpectSymbol("("));
        KL_ASSIGN_OR_RETURN(distinct_on, ExprsThenClose());
      } else {
        s->distinct = true;
      }
    } else {
      AcceptKeyword("ALL");
    }
    do {
      SelectItem item;
      item.pos = Peek().pos;
      KL_ASSIGN_OR_RETURN(item.expr, Expr());
      if (AcceptKeyword("AS")) {
        if (Peek().kind == TokenKind::kString) {
          item.alias = Advance().text;
        } else if (pg_ && Peek().kind == TokenKind::kIdentifier) {
          item.alias = NameText(Advance());  // PostgreSQL: any word may follow AS (AS select, AS table)
        } else {
          KL_ASSIGN_OR_RETURN(item.alias, Identifier("a column alias"));
        }
      } else if ((Peek().kind == TokenKind::kIdentifier && !IsReserved(Peek())) ||
                 Peek().kind == TokenKind::kQuotedIdentifier) {
        item.alias = NameText(Advance());
      }
      s->items.push_back(std::move(item));
    } while (AcceptSymbol(","));
    if (AcceptKeyword("FROM")) {
      KL_ASSIGN_OR_RETURN(s->from, FromList());
    }
    if (AcceptKeyword("WHERE")) {
      KL_ASSIGN_OR_RETURN(s->where, Expr());
    }
    if (AcceptKeyword("GROUP")) {
      KL_RETURN_IF_ERROR(ExpectKeyword("BY"));
      if (Peek().IsKeyword("GROUPING") || Peek().IsKeyword("ROLLUP") || Peek().IsKeyword("CUBE")) {
        return ErrorAt(Peek().pos, "GROUPING SETS, ROLLUP and CUBE are not supported; use UNION ALL of GROUP BYs");
      }
      do {
        KL_ASSIGN_OR_RETURN(auto e, Expr());
        s->group_by.push_back(e);
      } while (AcceptSymbol(","));
    }
    if (AcceptKeyword("HAVING")) {
      KL_ASSIGN_OR_RETURN(s->having, Expr());
    }
    if (AcceptKeyword("WINDOW")) {
      do {
        KL_ASSIGN_OR_RETURN(std::string name, Identifier("a window name"));
        KL_RETURN_IF_ERROR(ExpectKeyword("AS"));
        KL_RETURN_IF_ERROR(ExpectSymbol("("));
        KL_ASSIGN_OR_RETURN(auto spec, WindowBody());
        s->windows[name] = spec;
      } while (AcceptSymbol(","));
    }
    if (AcceptKeyword("QUALIFY")) {
      KL_ASSIGN_OR_RETURN(s->qualify, Expr());
    }
    if (!distinct_on.empty()) {
      auto spec = std::make_shared<WindowSpec>();
      spec->partition_by = std::move(distinct_on);
      spec->pos = s->pos;
      auto rn = Make(ExprKind::kFunction, s->pos);
      rn->op = "ROW_NUMBER";
      rn->name = "row_number";
      rn->over = spec;
      auto one = Make(ExprKind::kLiteral, s->pos);
      one->value = Datum::Int(1);
      one->type = DataType::Int().NotNull();
      ExprPtr first = Binary("=", rn, one, s->pos);
      s->qualify = s->qualify ? Binary("AND", s->qualify, first, s->pos) : first;
      s->distinct_on = spec;
    }
    return s;
  }

  Result<TableRefPtr> FromList() {
    KL_ASSIGN_OR_RETURN(auto left, JoinedTable());
    while (AcceptSymbol(",")) {
      auto j = std::make_shared<ParsedTableRef>();
      j->kind = TableRefKind::kJoin;
      j->join = JoinType::kCross;
      j->pos = Peek().pos;
      j->left = left;
      KL_ASSIGN_OR_RETURN(j->right, JoinedTable());
      left = j;
    }
    return left;
  }

  Result<TableRefPtr> JoinedTable() {
    KL_ASSIGN_OR_RETURN(auto left, TablePrimary());
    while (true) {
      SourcePos pos = Peek().pos;
      JoinType type;
      bool natural = AcceptKeyword("NATURAL");
      if (AcceptKeyword("CROSS")) {
        KL_RETURN_IF_ERROR(ExpectKeyword("JOIN"));
        type = JoinType::kCross;
      } else if (AcceptKeyword("INNER")) {
        KL_RETURN_IF_ERROR(ExpectKeyword("JOIN"));
        type = JoinType::kInner;
      } else if (AcceptKeyword("JOIN")) {
        type = JoinType::kInner;
      } else if (AcceptKeyword("LEFT") || AcceptKeyword("RIGHT") || AcceptKeyword("FULL")) {
        std::string w = ToUpper(toks_[i_ - 1].text);
        AcceptKeyword("OUTER");
        KL_RETURN_IF_ERROR(ExpectKeyword("JOIN"));
        type = w == "LEFT" ? JoinType::kLeft : w == "RIGHT" ? JoinType::kRight : JoinType::kFull;
      } else {
        if (natural) return Expected("JOIN after NATURAL");
        break;
      }
      auto j = std::make_shared<ParsedTableRef>();
      j->kind = TableRefKind::kJoin;
      j->join = type;
      j->pos = pos;
      j->natural = natural;
      j->left = left;
      KL_ASSIGN_OR_RETURN(j->right, TablePrimary());
      if (type != JoinType::kCross && !natural) {
        if (AcceptKeyword("ON")) {
          KL_ASSIGN_OR_RETURN(j->condition, Expr());
        } else if (AcceptKeyword("USING")) {
          KL_ASSIGN_OR_RETURN(j->using_columns, NameList());
        } else if (j->right->kind != TableRefKind::kUnnest) {
          return Expected("ON or USING after the joined table");
        }
      }
      left = j;
    }
    return left;
  }

  Status Alias(ParsedTableRef* ref) {
    bool as = AcceptKeyword("AS");
    if (as || (Peek().kind == TokenKind::kIdentifier && !IsReserved(Peek())) ||
        Peek().kind == TokenKind::kQuotedIdentifier) {
      KL_ASSIGN_OR_RETURN(ref->alias, Identifier("an alias"));
      if (Peek().IsSymbol("(")) {
        KL_ASSIGN_OR_RETURN(ref->column_aliases, NameList());
      }
    }
    return Status::OK();
  }

  Result<TableRefPtr> TablePrimary() {
    DepthGuard guard(this);
    KL_RETURN_IF_ERROR(CheckDepth());
    auto ref = std::make_shared<ParsedTableRef>();
    ref->pos = Peek().pos;
    if (AcceptKeyword("LATERAL")) ref->lateral = true;
    if (Peek().IsKeyword("UNNEST")) {
      Advance();
      ref->kind = TableRefKind::kUnnest;
      KL_RETURN_IF_ERROR(ExpectSymbol("("));
      do {
        KL_ASSIGN_OR_RETURN(auto e, Expr());
        ref->args.push_back(e);
      } while (AcceptSymbol(","));
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      if (AcceptKeyword("WITH")) {
        KL_RETURN_IF_ERROR(ExpectKeyword("ORDINALITY"));
        ref->with_ordinality = true;
      }
      KL_RETURN_IF_ERROR(Alias(ref.get()));
      return ref;
    }
    if (Peek().IsKeyword("TABLE") && Peek(1).IsSymbol("(")) return TableFunction(ref);
    if (AcceptSymbol("(")) {
      if (Peek().IsKeyword("SELECT") || Peek().IsKeyword("WITH") || Peek().IsKeyword("VALUES") ||
          (Peek().IsSymbol("(") && LooksLikeQuery())) {
        ref->kind = TableRefKind::kSubquery;
        KL_ASSIGN_OR_RETURN(ref->subquery, Query_());
        KL_RETURN_IF_ERROR(ExpectSymbol(")"));
        KL_RETURN_IF_ERROR(Alias(ref.get()));
        return ref;
      }
      KL_ASSIGN_OR_RETURN(auto inner, FromList());
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      return inner;
    }
    if (Peek().IsKeyword("VALUES")) {
      Advance();
      ref->kind = TableRefKind::kValues;
      KL_ASSIGN_OR_RETURN(ref->rows, ValuesRows());
      KL_RETURN_IF_ERROR(Alias(ref.get()));
      return ref;
    }
    if (pg_ && LooksLikeTableFunction()) return PostgresTableFunction(ref);
    ref->kind = TableRefKind::kBase;
    KL_ASSIGN_OR_RETURN(ref->name, Name("a table name"));
    if (Peek().kind == TokenKind::kHint) {
      KL_ASSIGN_OR_RETURN(ref->hints, HintOptions());
    }
    if (Peek().IsKeyword("FOR") && Peek(1).IsKeyword("SYSTEM_TIME")) {
      Advance();
      Advance();
      KL_RETURN_IF_ERROR(ExpectKeyword("AS"));
      KL_RETURN_IF_ERROR(ExpectKeyword("OF"));
      KL_ASSIGN_OR_RETURN(ref->as_of, Additive());
    } else if (Peek().IsKeyword("FOR") && Peek(1).IsKeyword("SYSTEM_VERSION")) {
      // Spark's time travel to a tag or snapshot: Paimon's 'scan.version'.
      Advance();
      Advance();
      KL_RETURN_IF_ERROR(ExpectKeyword("AS"));
      KL_RETURN_IF_ERROR(ExpectKeyword("OF"));
      if (Peek().kind == TokenKind::kInteger) {
        ref->hints["scan.version"] = Advance().text;
      } else {
        KL_ASSIGN_OR_RETURN(ref->hints["scan.version"],
                            StringLiteral("a tag name or snapshot number after FOR SYSTEM_VERSION AS OF"));
      }
    }
    KL_RETURN_IF_ERROR(Alias(ref.get()));
    return ref;
  }

  // After '(' at a '(': is what follows a query ((SELECT ...) UNION ...) rather than a join?
  bool LooksLikeQuery() const {
    size_t j = i_;
    while (j < toks_.size() && toks_[j].IsSymbol("(")) ++j;
    return j < toks_.size() &&
           (toks_[j].IsKeyword("SELECT") || toks_[j].IsKeyword("WITH") || toks_[j].IsKeyword("VALUES"));
  }

  // ---- expressions ----
  Result<ExprPtr> Expr() {
    DepthGuard guard(this);
    KL_RETURN_IF_ERROR(CheckDepth());
    return Or();
  }

  ExprPtr Make(ExprKind kind, SourcePos pos) {
    auto e = std::make_shared<ParsedExpr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }

  ExprPtr Binary(const std::string& op, ExprPtr l, ExprPtr r, SourcePos pos) {
    auto e = Make(ExprKind::kBinary, pos);
    e->op = op;
    e->args = {std::move(l), std::move(r)};
    return e;
  }

  Result<ExprPtr> Or() {
    KL_ASSIGN_OR_RETURN(auto left, And());
    while (Peek().IsKeyword("OR")) {
      SourcePos pos = Advance().pos;
      KL_ASSIGN_OR_RETURN(auto right, And());
      left = Binary("OR", left, right, pos);
    }
    return left;
  }

  Result<ExprPtr> And() {
    KL_ASSIGN_OR_RETURN(auto left, Not());
    while (Peek().IsKeyword("AND")) {
      SourcePos pos = Advance().pos;
      KL_ASSIGN_OR_RETURN(auto right, Not());
      left = Binary("AND", left, right, pos);
    }
    return left;
  }

  Result<ExprPtr> Not() {
    if (Peek().IsKeyword("NOT")) {
      DepthGuard guard(this);
      KL_RETURN_IF_ERROR(CheckDepth());
      SourcePos pos = Advance().pos;
      KL_ASSIGN_OR_RETURN(auto inner, Not());
      auto e = Make(ExprKind::kUnary, pos);
      e->op = "NOT";
      e->args = {inner};
      return e;
    }
    return Comparison();
  }

  Result<ExprPtr> Comparison() {
    KL_ASSIGN_OR_RETURN(auto left, Concat());
    while (true) {
      const Token& t = Peek();
      SourcePos pos = t.pos;
      if (t.kind == TokenKind::kSymbol && (t.text == "=" || t.text == "<>" || t.text == "!=" || t.text == "<" ||
                                           t.text == "<=" || t.text == ">" || t.text == ">=")) {
        std::string op = t.text == "!=" ? "<>" : t.text;
        Advance();
        if (Peek().IsKeyword("ANY") || Peek().IsKeyword("SOME") || Peek().IsKeyword("ALL")) {
          if (!pg_ || !Peek(1).IsSymbol("(")) {
            return ErrorAt(Peek().pos, "comparisons with ANY/SOME/ALL (subquery) are not supported; use IN or EXISTS");
          }
          KL_ASSIGN_OR_RETURN(left, Quantified(op, left, pos));
          continue;
        }
        KL_ASSIGN_OR_RETURN(auto right, Concat());
        left = Binary(op, left, right, pos);
        continue;
      }
      if (pg_ && (IsRegexSymbol(t) || (t.IsKeyword("OPERATOR") && Peek(1).IsSymbol("(")))) {
        KL_ASSIGN_OR_RETURN(std::string op, OperatorName());
        if (op == "=" || op == "<>" || op == "<" || op == "<=" || op == ">" || op == ">=") {
          KL_ASSIGN_OR_RETURN(auto right, Concat());
          left = Binary(op, left, right, pos);
        } else if (op == "~~" || op == "!~~" || op == "~~*" || op == "!~~*") {
          KL_ASSIGN_OR_RETURN(auto pattern, Concat());
          auto e = Make(ExprKind::kLike, pos);
          e->negated = op[0] == '!';
          e->op = op.back() == '*' ? "ILIKE" : "LIKE";
          e->args = {left, pattern};
          left = e;
        } else {
          KL_ASSIGN_OR_RETURN(auto right, Concat());
          left = Binary(op, left, right, pos);
        }
        continue;
      }
      if (t.IsKeyword("IS")) {
        Advance();
        bool neg = AcceptKeyword("NOT");
        if (AcceptKeyword("NULL")) {
          auto e = Make(ExprKind::kIsNull, pos);
          e->negated = neg;
          e->args = {left};
          left = e;
        } else if (AcceptKeyword("TRUE") || AcceptKeyword("FALSE") || AcceptKeyword("UNKNOWN")) {
          auto e = Make(ExprKind::kIsBool, pos);
          e->negated = neg;
          e->op = ToUpper(toks_[i_ - 1].text);
          e->args = {left};
          left = e;
        } else if (AcceptKeyword("DISTINCT")) {
          KL_RETURN_IF_ERROR(ExpectKeyword("FROM"));
          KL_ASSIGN_OR_RETURN(auto right, Concat());
          auto e = Make(ExprKind::kIsDistinct, pos);
          e->negated = neg;
          e->args = {left, right};
          left = e;
        } else {
          return Expected("NULL, TRUE, FALSE, UNKNOWN or DISTINCT FROM after IS");
        }
        continue;
      }
      bool neg = false;
      if (t.IsKeyword("NOT") && (Peek(1).IsKeyword("IN") || Peek(1).IsKeyword("BETWEEN") || Peek(1).IsKeyword("LIKE") ||
                                 Peek(1).IsKeyword("SIMILAR") || Peek(1).IsKeyword("ILIKE"))) {
        Advance();
        neg = true;
      }
      if (AcceptKeyword("IN")) {
        KL_RETURN_IF_ERROR(ExpectSymbol("("));
        if (Peek().IsKeyword("SELECT") || Peek().IsKeyword("WITH") || Peek().IsKeyword("VALUES")) {
          auto e = Make(ExprKind::kInSubquery, pos);
          e->negated = neg;
          e->args = {left};
          KL_ASSIGN_OR_RETURN(e->subquery, Query_());
          KL_RETURN_IF_ERROR(ExpectSymbol(")"));
          left = e;
        } else {
          auto e = Make(ExprKind::kInList, pos);
          e->negated = neg;
          e->args = {left};
          do {
            KL_ASSIGN_OR_RETURN(auto item, Expr());
            e->args.push_back(item);
          } while (AcceptSymbol(","));
          KL_RETURN_IF_ERROR(ExpectSymbol(")"));
          left = e;
        }
        continue;
      }
      if (AcceptKeyword("BETWEEN")) {
        AcceptKeyword("ASYMMETRIC");
        if (AcceptKeyword("SYMMETRIC")) return ErrorAt(pos, "BETWEEN SYMMETRIC is not supported");
        KL_ASSIGN_OR_RETURN(auto low, Concat());
        KL_RETURN_IF_ERROR(ExpectKeyword("AND"));
        KL_ASSIGN_OR_RETURN(auto high, Concat());
        auto e = Make(ExprKind::kBetween, pos);
        e->negated = neg;
        e->args = {left, low, high};
        left = e;
        continue;
      }
      if (Peek().IsKeyword("LIKE") || Peek().IsKeyword("ILIKE") || Peek().IsKeyword("SIMILAR")) {
        std::string op = ToUpper(Advance().text);
        if (op == "SIMILAR") {
          KL_RETURN_IF_ERROR(ExpectKeyword("TO"));
          op = "SIMILAR TO";
        }
        KL_ASSIGN_OR_RETURN(auto pattern, Concat());
        auto e = Make(ExprKind::kLike, pos);
        e->negated = neg;
        e->op = op;
        e->args = {left, pattern};
        if (AcceptKeyword("ESCAPE")) {
          KL_ASSIGN_OR_RETURN(auto esc, Concat());
          e->args.push_back(esc);
        }
        left = e;
        continue;
      }
      if (neg) return Expected("IN, BETWEEN or LIKE after NOT");
      break;
    }
    return left;
  }

  // || and, in PostgreSQL, the JSON operators -> ->> #> #>> (one precedence level, left to right).
  Result<ExprPtr> Concat() {
    KL_ASSIGN_OR_RETURN(auto left, Additive());
    while (true) {
      if (Peek().IsSymbol("||")) {
        SourcePos pos = Advance().pos;
        KL_ASSIGN_OR_RETURN(auto right, Additive());
        left = Binary("||", left, right, pos);
        continue;
      }
      bool json = Peek().IsSymbol("->") || Peek().IsSymbol("->>") || Peek().IsSymbol("#>") || Peek().IsSymbol("#>>");
      if (!json) break;
      if (!pg_) return ErrorAt(Peek().pos, Peek().text + " is PostgreSQL's; Flink SQL has JSON_VALUE and JSON_QUERY");
      const Token& t = Advance();
      KL_ASSIGN_OR_RETURN(auto right, Additive());
      auto e = Make(ExprKind::kFunction, t.pos);
      e->op = t.text[0] == '-' ? "__PG_JSON_GET" : "__PG_JSON_GET_PATH";
      e->name = t.text;
      auto as_text = Make(ExprKind::kLiteral, t.pos);
      as_text->value = Datum::Bool(t.text.size() == 3);
      as_text->type = DataType::Boolean().NotNull();
      e->args = {left, right, as_text};
      left = e;
    }
    return left;
  }

  Result<ExprPtr> Additive() {
    KL_ASSIGN_OR_RETURN(auto left, Multiplicative());
    while (Peek().IsSymbol("+") || Peek().IsSymbol("-")) {
      const Token& t = Advance();
      KL_ASSIGN_OR_RETURN(auto right, Multiplicative());
      left = Binary(t.text, left, right, t.pos);
    }
    return left;
  }

  Result<ExprPtr> Multiplicative() {
    KL_ASSIGN_OR_RETURN(auto left, Unary());
    while (Peek().IsSymbol("*") || Peek().IsSymbol("/") || Peek().IsSymbol("%")) {
      const Token& t = Advance();
      KL_ASSIGN_OR_RETURN(auto right, Unary());
      left = Binary(t.text, left, right, t.pos);
    }
    return left;
  }

  Result<ExprPtr> Unary() {
    if (Peek().IsSymbol("-") || Peek().IsSymbol("+")) {
      DepthGuard guard(this);
      KL_RETURN_IF_ERROR(CheckDepth());
      const Token& t = Advance();
      KL_ASSIGN_OR_RETURN(auto inner, Unary());
      // A sign on a number is part of it; on anything else the binder decides (PostgreSQL
      // has no unary + for intervals or times).
      if (t.text == "+" && inner->kind == ExprKind::kLiteral) return inner;
      if (t.text == "+") {
        auto e = Make(ExprKind::kUnary, t.pos);
        e->op = "+";
        e->args = {inner};
        return e;
      }
      // Fold -<number> into the literal so that -2147483648 is an INT.
      if (inner->kind == ExprKind::kLiteral && !inner->value.is_null()) {
        return Negate(inner, t.pos);
      }
      auto e = Make(ExprKind::kUnary, t.pos);
      e->op = "-";
      e->args = {inner};
      return e;
    }
    return Postfix();
  }

  Result<ExprPtr> Negate(ExprPtr lit, SourcePos pos) {
    auto e = std::make_shared<ParsedExpr>(*lit);
    e->pos = pos;
    switch (lit->type.root()) {
      case format::TypeRoot::kInt:
      case format::TypeRoot::kBigInt: {
        int64_t v = lit->value.as_int();
        if (v == INT64_MIN) break;
        e->value = Datum::Int(-v);
        e->type = (-v >= INT32_MIN && -v <= INT32_MAX) ? DataType::Int().NotNull() : DataType::BigInt().NotNull();
        return e;
      }
      case format::TypeRoot::kDecimal: e->value = Datum::Decimal(-lit->value.as_decimal()); return e;
      case format::TypeRoot::kDouble: e->value = Datum::Double(-lit->value.as_double()); return e;
      default: break;
    }
    auto u = Make(ExprKind::kUnary, pos);
    u->op = "-";
    u->args = {lit};
    return u;
  }

  Result<ExprPtr> Postfix() {
    KL_ASSIGN_OR_RETURN(auto base, Primary());
    while (true) {
      if (Peek().IsSymbol("[")) {
        SourcePos pos = Advance().pos;
        KL_ASSIGN_OR_RETURN(auto index, Expr());
        KL_RETURN_IF_ERROR(ExpectSymbol("]"));
        auto e = Make(ExprKind::kSubscript, pos);
        e->args = {base, index};
        base = e;
      } else if (pg_ && Peek().IsSymbol("::") && Peek(1).IsKeyword("INTERVAL") && base->kind == ExprKind::kLiteral &&
                 base->value.kind() == Datum::Kind::kBytes) {
        // '5 minutes'::interval, as Grafana's '$__interval'::interval: the text is the literal's.
        SourcePos pos = Advance().pos;
        Advance();
        KL_ASSIGN_OR_RETURN(base, PostgresIntervalText(std::string(base->value.as_bytes()), pos));
      } else if (Peek().IsSymbol("::")) {
        SourcePos pos = Advance().pos;
        auto e = Make(ExprKind::kCast, pos);
        KL_ASSIGN_OR_RETURN(e->type, Type(&e->op));
        e->args = {base};
        base = e;
      } else if (pg_ && Peek().IsKeyword("AT") && Peek(1).IsKeyword("TIME") && Peek(2).IsKeyword("ZONE")) {
        // t AT TIME ZONE zone: PostgreSQL's timezone(zone, t).
        SourcePos pos = Advance().pos;
        Advance();
        Advance();
        KL_ASSIGN_OR_RETURN(auto zone, Primary());
        auto e = Make(ExprKind::kFunction, pos);
        e->op = "TIMEZONE";
        e->name = "timezone";
        e->args = {zone, base};
        base = e;
      } else if (pg_ && Peek().IsKeyword("COLLATE")) {
        // Collations change ordering and comparison of text in PostgreSQL; kubelake compares
        // bytes (PostgreSQL's "C" collation) and accepts the clause.
        Advance();
        KL_RETURN_IF_ERROR(Name("a collation name").status());
      } else if (Peek().IsSymbol(".") && base->kind != ExprKind::kColumn) {
        SourcePos pos = Advance().pos;
        auto e = Make(ExprKind::kField, pos);
        KL_ASSIGN_OR_RETURN(e->name, Identifier("a field name"));
        e->args = {base};
        base = e;
      } else {
        return base;
      }
    }
  }

  Result<ExprPtr> Literal(TokenKind kind, const std::string& text, SourcePos pos) {
    auto e = Make(ExprKind::kLiteral, pos);
    switch (kind) {
      case TokenKind::kInteger: {
        auto v = ParseInt64(text);
        if (v) {
          e->value = Datum::Int(*v);
          bool small = *v >= INT32_MIN && *v <= INT32_MAX;
          e->type = small ? DataType::Int().NotNull() : DataType::BigInt().NotNull();
          e->name = "int-literal";
          return e;
        }
        std::string digits = text;
        while (digits.size() > 1 && digits[0] == '0') digits.erase(0, 1);
        if (digits.size() > 38) return ErrorAt(pos, "number " + text + " is too large (more than 38 digits)");
        int p = static_cast<int>(digits.size());
        KL_ASSIGN_OR_RETURN(auto unscaled, format::ParseDecimal(digits, p, 0));
        e->value = Datum::Decimal(unscaled);
        e->type = DataType::Decimal(p, 0).NotNull();
        return e;
      }
      case TokenKind::kDecimal: {
        std::string t = text;
        size_t dot = t.find('.');
        std::string int_part = t.substr(0, dot), frac = t.substr(dot + 1);
        while (int_part.size() > 1 && int_part[0] == '0') int_part.erase(0, 1);
        if (int_part.empty()) int_part = "0";
        int s = static_cast<int>(frac.size());
        int p = static_cast<int>((int_part == "0" ? 0 : int_part.size()) + frac.size());
        if (p < 1) p = 1;
        if (p < s) p = s;
        if (p > 38) {
          // Too many digits for DECIMAL: a DOUBLE, as Flink does for such literals.
          auto d = ParseDouble(text);
          if (!d) return ErrorAt(pos, "bad number " + text);
          e->value = Datum::Double(*d);
          e->type = DataType::Double().NotNull();
          return e;
        }
        KL_ASSIGN_OR_RETURN(auto unscaled, format::ParseDecimal(int_part + "." + frac, p, s));
        e->value = Datum::Decimal(unscaled);
        e->type = DataType::Decimal(p, s).NotNull();
        return e;
      }
      case TokenKind::kFloat: {
        auto d = ParseDouble(text);
        if (!d) return ErrorAt(pos, "bad number " + text);
        e->value = Datum::Double(*d);
        e->type = DataType::Double().NotNull();
        return e;
      }
      case TokenKind::kString:
        e->value = Datum::Bytes(text);
        e->type = DataType::String().NotNull();
        return e;
      case TokenKind::kBinaryString: {
        std::string bytes;
        for (size_t i = 0; i + 1 < text.size(); i += 2) {
          bytes.push_back(static_cast<char>(std::stoi(text.substr(i, 2), nullptr, 16)));
        }
        e->value = Datum::Bytes(bytes);
        e->type = DataType::Bytes().NotNull();
        return e;
      }
      default: return ErrorAt(pos, "not a literal");
    }
  }

  // A typed literal's text cast to its type (the caller sets it), which the binder folds.
  ExprPtr TypedLiteralCast(const std::string& text, SourcePos pos) {
    auto lit = Make(ExprKind::kLiteral, pos);
    lit->value = Datum::Bytes(text);
    lit->type = DataType::String().NotNull();
    auto e = Make(ExprKind::kCast, pos);
    e->args = {lit};
    e->name = "typed-literal";
    return e;
  }

  Result<ExprPtr> TypedLiteral(const std::string& word, SourcePos pos) {
    // DATE '...', TIME '...', TIMESTAMP '...', TIMESTAMP_LTZ '...': a cast of a string literal
    // that the binder folds (and reports bad text at this place).
    KL_ASSIGN_OR_RETURN(std::string text, StringLiteral("a quoted value after " + word));
    auto e = TypedLiteralCast(text, pos);
    if (word == "DATE") {
      e->type = DataType::Date().NotNull();
    } else if (word == "TIME") {
      e->type = DataType::Time(0).NotNull();
    } else {
      // The literal's precision is the number of fraction digits written, as in Flink.
      int precision = 0;
      size_t dot = text.find('.', text.find(':') == std::string::npos ? text.size() : text.find(':'));
      if (dot != std::string::npos) {
        for (size_t i = dot + 1; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) ++precision;
      }
      precision = std::min(precision, 9);
      e->type =
          word == "TIMESTAMP" ? DataType::Timestamp(precision).NotNull() : DataType::TimestampLtz(precision).NotNull();
    }
    return e;
  }

  static bool IsTimeUnit(const std::string& u) {
    static const std::set<std::string> kUnits = {"YEAR",          "YEARS",        "QUARTER",        "MONTH",
                                                 "MONTHS",        "WEEK",         "WEEKS",          "DAY",
                                                 "DAYS",          "HOUR",         "HOURS",          "MINUTE",
                                                 "MINUTES",       "SECOND",       "SECONDS",        "MILLISECOND",
                                                 "MILLISECONDS",  "MICROSECOND",  "MICROSECONDS",   "NANOSECOND",
                                                 "DOW",           "DOY",          "EPOCH",          "DECADE",
                                                 "CENTURY",       "MILLENNIUM",   "ISODOW",         "ISOYEAR",
                                                 "SQL_TSI_DAY",   "SQL_TSI_HOUR", "SQL_TSI_MINUTE", "SQL_TSI_SECOND",
                                                 "SQL_TSI_MONTH", "SQL_TSI_YEAR", "SQL_TSI_WEEK",   "SQL_TSI_QUARTER",
                                                 "FRAC_SECOND"};
    return kUnits.count(u) > 0;
  }

  Result<std::string> TimeUnit() {
    if (Peek().kind != TokenKind::kIdentifier || !IsTimeUnit(ToUpper(Peek().text))) {
      return Expected("a time unit (YEAR, QUARTER, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND, MILLISECOND, ...)");
    }
    std::string u = ToUpper(Advance().text);
    if (u.rfind("SQL_TSI_", 0) == 0) u = u.substr(8);
    if (u == "YEARS" || u == "MONTHS" || u == "WEEKS" || u == "DAYS" || u == "HOURS" || u == "MINUTES" ||
        u == "SECONDS" || u == "MILLISECONDS" || u == "MICROSECONDS") {
      u.pop_back();
    }
    return u;
  }

  Result<ExprPtr> Interval(SourcePos pos) {
    if (pg_ && Peek().kind == TokenKind::kString && !IsTimeUnitToken(Peek(1))) return PostgresInterval(pos);
    bool negative = AcceptSymbol("-");
    std::string text;
    if (Peek().kind == TokenKind::kString) {
      text = Advance().text;
    } else if (Peek().kind == TokenKind::kInteger) {
      text = Advance().text;
    } else {
      return Expected("a quoted number after INTERVAL, e.g. INTERVAL '5' MINUTE");
    }
    KL_ASSIGN_OR_RETURN(std::string unit, TimeUnit());
    if (AcceptKeyword("TO")) {
      return ErrorAt(pos, "compound intervals (... TO ...) are not supported; add single-unit intervals instead");
    }
    // INTERVAL '5' MINUTE in a PostgreSQL session: the interval '5 minute'.
    if (pg_) return PostgresIntervalText((negative ? "-" : "") + text + " " + unit, pos);
    std::string_view t = Trim(text);
    bool neg_text = !t.empty() && t[0] == '-';
    if (neg_text || (!t.empty() && t[0] == '+')) t.remove_prefix(1);
    auto e = Make(ExprKind::kInterval, pos);
    e->op = unit;
    auto num = ParseDouble(t);
    if (!num || t.empty()) return ErrorAt(pos, "bad interval value '" + text + "' (a number was expected)");
    double v = *num * ((negative != neg_text) ? -1 : 1);
    if (unit == "YEAR" || unit == "MONTH" || unit == "QUARTER") {
      if (std::fabs(v) > 1.2e6) return ErrorAt(pos, "interval out of range (at most 100000 years)");
      if (v != static_cast<double>(static_cast<int64_t>(v))) return ErrorAt(pos, "a month interval must be whole");
      e->interval_months = true;
      int64_t m = static_cast<int64_t>(v) * (unit == "YEAR" ? 12 : unit == "QUARTER" ? 3 : 1);
      e->value = Datum::Int(m);
    } else {
      double ms_per = unit == "WEEK"          ? 7 * 86400000.0
                      : unit == "DAY"         ? 86400000.0
                      : unit == "HOUR"        ? 3600000.0
                      : unit == "MINUTE"      ? 60000.0
                      : unit == "SECOND"      ? 1000.0
                      : unit == "MILLISECOND" ? 1.0
                                              : -1;
      if (ms_per < 0) return ErrorAt(pos, "interval unit " + unit + " is not supported");
      double ms = v * ms_per;
      if (ms > 9.2e18 || ms < -9.2e18) return ErrorAt(pos, "interval out of range");
      e->value = Datum::Int(static_cast<int64_t>(ms));
    }
    e->type = DataType::BigInt().NotNull();
    return e;
  }

  // After "(": a function's arguments, none or more, and the ")".
  Result<std::vector<ExprPtr>> ArgList() {
    if (AcceptSymbol(")")) return std::vector<ExprPtr>();
    return ExprsThenClose();
  }

  // After "(": one or more comma-separated expressions and the ")".
  Result<std::vector<ExprPtr>> ExprsThenClose() {
    std::vector<ExprPtr> exprs;
    do {
      KL_ASSIGN_OR_RETURN(auto e, Expr());
      exprs.push_back(e);
    } while (AcceptSymbol(","));
    KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    return exprs;
  }

  Result<JsonBehavior> Behavior(std::string_view where, ExprPtr* default_expr, bool query) {
    if (AcceptKeyword("NULL")) return JsonBehavior::kNull;
    if (AcceptKeyword("ERROR")) return JsonBehavior::kError;
    if (AcceptKeyword("TRUE")) return JsonBehavior::kTrue;
    if (AcceptKeyword("FALSE")) return JsonBehavior::kFalse;
    if (AcceptKeyword("UNKNOWN")) return JsonBehavior::kUnknown;
    if (query && AcceptKeyword("EMPTY")) {
      if (AcceptKeyword("ARRAY")) return JsonBehavior::kEmptyArray;
      KL_RETURN_IF_ERROR(ExpectKeyword("OBJECT"));
      return JsonBehavior::kEmptyObject;
    }
    if (!query && AcceptKeyword("DEFAULT")) {
      KL_ASSIGN_OR_RETURN(*default_expr, Concat());
      return JsonBehavior::kDefault;
    }
    return Expected("NULL, ERROR" + std::string(query ? ", EMPTY ARRAY or EMPTY OBJECT" : " or DEFAULT <value>") +
                    " before ON " + std::string(where));
  }

  Result<ExprPtr> JsonFunction(const std::string& name, SourcePos pos) {
    ExprKind kind = name == "JSON_VALUE"   ? ExprKind::kJsonValue
                    : name == "JSON_QUERY" ? ExprKind::kJsonQuery
                                           : ExprKind::kJsonExists;
    auto e = Make(kind, pos);
    e->op = name;
    KL_ASSIGN_OR_RETURN(auto doc, Expr());
    KL_RETURN_IF_ERROR(ExpectSymbol(","));
    KL_ASSIGN_OR_RETURN(auto path, Concat());
    e->args = {doc, path};
    if (kind == ExprKind::kJsonValue && AcceptKeyword("RETURNING")) {
      KL_ASSIGN_OR_RETURN(e->type, Type());
      e->has_type = true;
    }
    if (kind == ExprKind::kJsonQuery) {
      if (AcceptKeyword("RETURNING")) {
        KL_ASSIGN_OR_RETURN(e->type, Type());
        e->has_type = true;
      }
      if (AcceptKeyword("WITHOUT")) {
        AcceptKeyword("ARRAY");
        KL_RETURN_IF_ERROR(ExpectKeyword("WRAPPER"));
      } else if (AcceptKeyword("WITH")) {
        if (AcceptKeyword("CONDITIONAL")) {
          e->wrapper = JsonWrapper::kConditional;
        } else {
          AcceptKeyword("UNCONDITIONAL");
          e->wrapper = JsonWrapper::kUnconditional;
        }
        AcceptKeyword("ARRAY");
        KL_RETURN_IF_ERROR(ExpectKeyword("WRAPPER"));
      }
    }
    // [behavior ON EMPTY] [behavior ON ERROR], in that order (JSON_EXISTS: ON ERROR only).
    for (int round = 0; round < 2; ++round) {
      if (Peek().IsSymbol(")")) break;
      size_t save = i_;
      ExprPtr def;
      KL_ASSIGN_OR_RETURN(JsonBehavior b, Behavior("EMPTY/ERROR", &def, kind == ExprKind::kJsonQuery));
      KL_RETURN_IF_ERROR(ExpectKeyword("ON"));
      if (AcceptKeyword("EMPTY") && kind != ExprKind::kJsonExists) {
        e->on_empty = b;
        e->on_empty_default = def;
      } else if (AcceptKeyword("ERROR")) {
        e->on_error = b;
        e->on_error_default = def;
      } else {
        i_ = save;
        return Expected(kind == ExprKind::kJsonExists ? "<behavior> ON ERROR" : "<behavior> ON EMPTY or ON ERROR");
      }
    }
    KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    return e;
  }

  Result<std::shared_ptr<WindowSpec>> WindowBody() {
    auto spec = std::make_shared<WindowSpec>();
    spec->pos = Peek().pos;
    if (AcceptKeyword("PARTITION")) {
      KL_RETURN_IF_ERROR(ExpectKeyword("BY"));
      do {
        KL_ASSIGN_OR_RETURN(auto e, Expr());
        spec->partition_by.push_back(e);
      } while (AcceptSymbol(","));
    }
    if (AcceptKeyword("ORDER")) {
      KL_RETURN_IF_ERROR(ExpectKeyword("BY"));
      KL_ASSIGN_OR_RETURN(spec->order_by, OrderList());
    }
    if (Peek().IsKeyword("ROWS") || Peek().IsKeyword("RANGE")) {
      WindowFrame f;
      f.unit = ToUpper(Advance().text) == "ROWS" ? FrameUnit::kRows : FrameUnit::kRange;
      if (AcceptKeyword("BETWEEN")) {
        KL_ASSIGN_OR_RETURN(f.start, Bound());
        KL_RETURN_IF_ERROR(ExpectKeyword("AND"));
        KL_ASSIGN_OR_RETURN(f.end, Bound());
      } else {
        KL_ASSIGN_OR_RETURN(f.start, Bound());
        f.end = {FrameBoundKind::kCurrentRow, 0};
      }
      spec->frame = f;
    }
    KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    return spec;
  }

  Result<FrameBound> Bound() {
    FrameBound b;
    if (AcceptKeyword("UNBOUNDED")) {
      if (AcceptKeyword("PRECEDING")) {
        b.kind = FrameBoundKind::kUnboundedPreceding;
      } else {
        KL_RETURN_IF_ERROR(ExpectKeyword("FOLLOWING"));
        b.kind = FrameBoundKind::kUnboundedFollowing;
      }
      return b;
    }
    if (AcceptKeyword("CURRENT")) {
      KL_RETURN_IF_ERROR(ExpectKeyword("ROW"));
      b.kind = FrameBoundKind::kCurrentRow;
      return b;
    }
    if (Peek().IsKeyword("INTERVAL"))
      return ErrorAt(Peek().pos, "RANGE frames with INTERVAL offsets are not supported");
    KL_ASSIGN_OR_RETURN(b.offset, IntegerLiteral("UNBOUNDED, CURRENT ROW or a number of rows"));
    if (b.offset > (int64_t{1} << 40)) return ErrorAt(toks_[i_ - 1].pos, "frame offset too large");
    if (AcceptKeyword("PRECEDING")) {
      b.kind = FrameBoundKind::kPreceding;
    } else {
      KL_RETURN_IF_ERROR(ExpectKeyword("FOLLOWING"));
      b.kind = FrameBoundKind::kFollowing;
    }
    return b;
  }

  Result<ExprPtr> FunctionCall(const std::string& name, SourcePos pos) {
    std::string upper = ToUpper(name);
    auto e = Make(ExprKind::kFunction, pos);
    e->op = upper;
    e->name = name;
    if (upper == "COUNT" && Peek().IsSymbol("*")) {
      Advance();
      e->star = true;
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    } else {
      if (AcceptKeyword("DISTINCT")) {
        e->distinct = true;
      } else {
        AcceptKeyword("ALL");
      }
      if (AcceptSymbol(")")) {
        if (e->distinct) return Expected("an argument after DISTINCT");
      } else {
        do {
          KL_ASSIGN_OR_RETURN(auto a, Expr());
          e->args.push_back(a);
          if ((upper == "FLOOR" || upper == "CEIL" || upper == "CEILING") && e->args.size() == 1 &&
              Peek().IsKeyword("TO")) {
            Advance();
            SourcePos upos = Peek().pos;
            KL_ASSIGN_OR_RETURN(std::string unit, TimeUnit());
            auto u = Make(ExprKind::kLiteral, upos);
            u->value = Datum::Bytes(unit);
            u->type = DataType::String().NotNull();
            u->name = "time-unit";
            e->args.push_back(u);
            break;
          }
        } while (AcceptSymbol(","));
        // PostgreSQL's aggregate order inside the call: string_agg(x, ',' ORDER BY y).
        if (Peek().IsKeyword("ORDER") && Peek(1).IsKeyword("BY")) {
          Advance();
          Advance();
          KL_ASSIGN_OR_RETURN(e->within_group, OrderList());
        }
        if ((upper == "FIRST_VALUE" || upper == "LAST_VALUE") && AcceptKeyword("IGNORE")) {
          KL_RETURN_IF_ERROR(ExpectKeyword("NULLS"));
          e->name = "ignore-nulls";
        }
        KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      }
    }
    if (AcceptKeyword("WITHIN")) {
      if (!e->within_group.empty()) {
        return ErrorAt(Peek().pos, "an aggregate has either ORDER BY inside its parentheses or WITHIN GROUP, not both");
      }
      e->within_group_clause = true;
      KL_RETURN_IF_ERROR(ExpectKeyword("GROUP"));
      KL_RETURN_IF_ERROR(ExpectSymbol("("));
      KL_RETURN_IF_ERROR(ExpectKeyword("ORDER"));
      KL_RETURN_IF_ERROR(ExpectKeyword("BY"));
      KL_ASSIGN_OR_RETURN(e->within_group, OrderList());
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    }
    if (AcceptKeyword("FILTER")) {
      KL_RETURN_IF_ERROR(ExpectSymbol("("));
      KL_RETURN_IF_ERROR(ExpectKeyword("WHERE"));
      KL_ASSIGN_OR_RETURN(e->filter, Expr());
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    }
    if (AcceptKeyword("OVER")) {
      if (AcceptSymbol("(")) {
        KL_ASSIGN_OR_RETURN(e->over, WindowBody());
      } else {
        KL_ASSIGN_OR_RETURN(e->over_name, Identifier("a window name or (PARTITION BY ... ORDER BY ...)"));
      }
    }
    return e;
  }

  Result<ExprPtr> Primary() {
    DepthGuard guard(this);
    KL_RETURN_IF_ERROR(CheckDepth());
    const Token& t = Peek();
    SourcePos pos = t.pos;
    switch (t.kind) {
      case TokenKind::kInteger:
      case TokenKind::kDecimal:
      case TokenKind::kFloat:
      case TokenKind::kString:
      case TokenKind::kBinaryString: {
        Token tok = Advance();
        return Literal(tok.kind, tok.text, pos);
      }
      case TokenKind::kParameter: {
        Token tok = Advance();
        auto e = Make(ExprKind::kParameter, pos);
        e->param_index = tok.text.empty() ? ++positional_params_ : static_cast<int>(ParseInt64(tok.text).value_or(0));
        if (e->param_index < 1 || e->param_index > 65535)
          return ErrorAt(pos, "parameter numbers run from $1 to $65535");
        return e;
      }
      case TokenKind::kSymbol: {
        if (t.IsSymbol("(")) {
          Advance();
          if (Peek().IsKeyword("SELECT") || Peek().IsKeyword("WITH") || Peek().IsKeyword("VALUES") ||
              (Peek().IsSymbol("(") && LooksLikeQuery())) {
            auto e = Make(ExprKind::kScalarSubquery, pos);
            KL_ASSIGN_OR_RETURN(e->subquery, Query_());
            KL_RETURN_IF_ERROR(ExpectSymbol(")"));
            return e;
          }
          KL_ASSIGN_OR_RETURN(auto inner, Expr());
          if (AcceptSymbol(",")) {  // (a, b): a row
            auto row = Make(ExprKind::kRowCtor, pos);
            row->args.push_back(inner);
            do {
              KL_ASSIGN_OR_RETURN(auto a, Expr());
              row->args.push_back(a);
            } while (AcceptSymbol(","));
            KL_RETURN_IF_ERROR(ExpectSymbol(")"));
            return row;
          }
          KL_RETURN_IF_ERROR(ExpectSymbol(")"));
          if (Peek().IsSymbol(".") && Peek(1).kind != TokenKind::kSymbol) {
            // (composite).field: the parentheses make it a field access, not a qualified name.
            SourcePos fpos = Advance().pos;
            auto f = Make(ExprKind::kField, fpos);
            KL_ASSIGN_OR_RETURN(f->name, Identifier("a field name"));
            f->args = {inner};
            return f;
          }
          return inner;
        }
        if (t.IsSymbol("*")) {
          Advance();
          return Make(ExprKind::kStar, pos);
        }
        return Expected("an expression");
      }
      case TokenKind::kQuotedIdentifier: return ColumnOrStar();
      case TokenKind::kIdentifier: break;
      default: return Expected("an expression");
    }
    std::string w = ToUpper(t.text);
    if (w == "NULL") {
      Advance();
      auto e = Make(ExprKind::kLiteral, pos);
      e->type = DataType::String();  // NULL without a type: the binder gives it one from its context
      e->name = "null-literal";
      return e;
    }
    if (w == "TRUE" || w == "FALSE") {
      Advance();
      auto e = Make(ExprKind::kLiteral, pos);
      e->value = Datum::Bool(w == "TRUE");
      e->type = DataType::Boolean().NotNull();
      return e;
    }
    if ((w == "DATE" || w == "TIME" || w == "TIMESTAMP" || w == "TIMESTAMP_LTZ") &&
        Peek(1).kind == TokenKind::kString) {
      Advance();
      return TypedLiteral(w, pos);
    }
    if (pg_ && w == "TIMESTAMPTZ" && Peek(1).kind == TokenKind::kString) {  // PostgreSQL's timestamptz '...'
      Advance();
      return TypedLiteral("TIMESTAMP_LTZ", pos);
    }
    if (w == "INTERVAL") {
      Advance();
      return Interval(pos);
    }
    if (w == "CASE") {
      Advance();
      auto e = Make(ExprKind::kCase, pos);
      if (!Peek().IsKeyword("WHEN")) {
        KL_ASSIGN_OR_RETURN(auto operand, Expr());
        e->args.push_back(operand);
        e->has_operand = true;
      }
      if (!Peek().IsKeyword("WHEN")) return Expected("WHEN");
      while (AcceptKeyword("WHEN")) {
        KL_ASSIGN_OR_RETURN(auto when, Expr());
        KL_RETURN_IF_ERROR(ExpectKeyword("THEN"));
        KL_ASSIGN_OR_RETURN(auto then, Expr());
        e->args.push_back(when);
        e->args.push_back(then);
      }
      if (AcceptKeyword("ELSE")) {
        KL_ASSIGN_OR_RETURN(auto other, Expr());
        e->args.push_back(other);
        e->has_else = true;
      }
      KL_RETURN_IF_ERROR(ExpectKeyword("END"));
      return e;
    }
    if ((w == "CAST" || w == "TRY_CAST") && Peek(1).IsSymbol("(")) {
      Advance();
      Advance();
      auto e = Make(ExprKind::kCast, pos);
      e->try_cast = w == "TRY_CAST";
      KL_ASSIGN_OR_RETURN(auto v, Expr());
      KL_RETURN_IF_ERROR(ExpectKeyword("AS"));
      KL_ASSIGN_OR_RETURN(e->type, Type(&e->op));
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      e->args = {v};
      return e;
    }
    if (w == "EXISTS" && Peek(1).IsSymbol("(")) {
      Advance();
      Advance();
      auto e = Make(ExprKind::kExists, pos);
      KL_ASSIGN_OR_RETURN(e->subquery, Query_());
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      return e;
    }
    if (w == "EXTRACT" && Peek(1).IsSymbol("(")) {
      Advance();
      Advance();
      auto e = Make(ExprKind::kExtract, pos);
      KL_ASSIGN_OR_RETURN(e->op, TimeUnit());
      KL_RETURN_IF_ERROR(ExpectKeyword("FROM"));
      KL_ASSIGN_OR_RETURN(auto v, Expr());
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      e->args = {v};
      return e;
    }
    if ((w == "TIMESTAMPDIFF" || w == "TIMESTAMPADD") && Peek(1).IsSymbol("(")) {
      Advance();
      Advance();
      auto e = Make(ExprKind::kTimestampDiff, pos);
      e->name = w;
      KL_ASSIGN_OR_RETURN(e->op, TimeUnit());
      KL_RETURN_IF_ERROR(ExpectSymbol(","));
      KL_ASSIGN_OR_RETURN(auto a, Expr());
      KL_RETURN_IF_ERROR(ExpectSymbol(","));
      KL_ASSIGN_OR_RETURN(auto b, Expr());
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      e->args = {a, b};
      return e;
    }
    if ((w == "JSON_VALUE" || w == "JSON_QUERY" || w == "JSON_EXISTS") && Peek(1).IsSymbol("(")) {
      Advance();
      Advance();
      return JsonFunction(w, pos);
    }
    if (w == "TRIM" && Peek(1).IsSymbol("(")) {
      Advance();
      Advance();
      auto e = Make(ExprKind::kTrim, pos);
      e->op = "BOTH";
      if (AcceptKeyword("BOTH") || AcceptKeyword("LEADING") || AcceptKeyword("TRAILING")) {
        e->op = ToUpper(toks_[i_ - 1].text);
      }
      if (AcceptKeyword("FROM")) {
        KL_ASSIGN_OR_RETURN(auto v, Expr());
        e->args = {v};
      } else {
        KL_ASSIGN_OR_RETURN(auto first, Expr());
        if (AcceptKeyword("FROM")) {
          KL_ASSIGN_OR_RETURN(auto v, Expr());
          e->args = {first, v};
        } else {
          e->args = {first};
        }
      }
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      return e;
    }
    if (w == "POSITION" && Peek(1).IsSymbol("(")) {
      Advance();
      Advance();
      auto e = Make(ExprKind::kPosition, pos);
      KL_ASSIGN_OR_RETURN(auto needle, Concat());
      KL_RETURN_IF_ERROR(ExpectKeyword("IN"));
      KL_ASSIGN_OR_RETURN(auto hay, Expr());
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      e->args = {needle, hay};
      return e;
    }
    if ((w == "SUBSTRING" || w == "SUBSTR") && Peek(1).IsSymbol("(")) {
      Advance();
      Advance();
      auto e = Make(ExprKind::kSubstring, pos);
      KL_ASSIGN_OR_RETURN(auto v, Expr());
      e->args.push_back(v);
      if (AcceptKeyword("FROM") || AcceptSymbol(",")) {
        KL_ASSIGN_OR_RETURN(auto from, Expr());
        e->args.push_back(from);
        if (AcceptKeyword("FOR") || AcceptSymbol(",")) {
          KL_ASSIGN_OR_RETURN(auto len, Expr());
          e->args.push_back(len);
        }
      } else {
        return Expected("FROM or ',' in SUBSTRING");
      }
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      return e;
    }
    if (pg_ && w == "ARRAY" && Peek(1).IsSymbol("(")) {
      Advance();
      Advance();
      auto e = Make(ExprKind::kArraySubquery, pos);
      KL_ASSIGN_OR_RETURN(e->subquery, Query_());
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      return e;
    }
    if ((w == "ARRAY" || w == "MAP") && Peek(1).IsSymbol("[")) {
      Advance();
      Advance();
      auto e = Make(w == "ARRAY" ? ExprKind::kArrayCtor : ExprKind::kMapCtor, pos);
      if (!AcceptSymbol("]")) {
        do {
          KL_ASSIGN_OR_RETURN(auto a, Expr());
          e->args.push_back(a);
        } while (AcceptSymbol(","));
        KL_RETURN_IF_ERROR(ExpectSymbol("]"));
      }
      if (w == "MAP" && e->args.size() % 2 != 0) return ErrorAt(pos, "MAP[...] needs key, value pairs");
      return e;
    }
    if (w == "ROW" && Peek(1).IsSymbol("(")) {
      Advance();
      Advance();
      auto e = Make(ExprKind::kRowCtor, pos);
      KL_ASSIGN_OR_RETURN(e->args, ArgList());
      return e;
    }
    if (w == "CURRENT_TIMESTAMP" || w == "CURRENT_DATE" || w == "CURRENT_TIME" || w == "LOCALTIMESTAMP" ||
        w == "LOCALTIME" || w == "CURRENT_ROW_TIMESTAMP" || w == "CURRENT_USER" || w == "SESSION_USER" || w == "USER" ||
        w == "CURRENT_CATALOG" || w == "CURRENT_SCHEMA" || (pg_ && w == "CURRENT_ROLE")) {
      if (!Peek(1).IsSymbol("(") || w == "CURRENT_ROW_TIMESTAMP") {
        Advance();
        if (w == "CURRENT_ROW_TIMESTAMP") {
          KL_RETURN_IF_ERROR(ExpectSymbol("("));
          KL_RETURN_IF_ERROR(ExpectSymbol(")"));
        }
        auto e = Make(ExprKind::kFunction, pos);
        e->op = w;
        e->name = w;
        return e;
      }
    }
    if (IsReserved(t) && !(Peek(1).IsSymbol("(") && (w == "LEFT" || w == "RIGHT" || (pg_ && w == "UNNEST")))) {
      return Expected("an expression");
    }
    // name, name.name, name(...)
    if (Peek(1).IsSymbol("(")) {
      std::string name = Advance().text;
      Advance();
      return FunctionCall(name, pos);
    }
    return ColumnOrStar();
  }

  Result<ExprPtr> ColumnOrStar() {
    SourcePos pos = Peek().pos;
    std::vector<std::string> parts;
    KL_ASSIGN_OR_RETURN(std::string first, Identifier("a column name"));
    parts.push_back(first);
    while (Peek().IsSymbol(".")) {
      if (Peek(1).IsSymbol("*")) {
        Advance();
        Advance();
        auto e = Make(ExprKind::kStar, pos);
        e->qualifier = parts;
        return e;
      }
      Advance();
      KL_ASSIGN_OR_RETURN(std::string part, Identifier("a name after '.'"));
      parts.push_back(part);
    }
    // a.b(...) : a qualified function name (catalog functions) is not supported, except
    // PostgreSQL's built-in schemas, whose functions are the engine's own.
    if (parts.size() > 1 && Peek().IsSymbol("(")) {
      if (pg_ && parts.size() == 2 && IsBuiltinSchema(parts[0])) {
        Advance();
        return FunctionCall(parts[1], pos);
      }
      return ErrorAt(pos, "qualified function names are not supported: " + Join(parts, "."));
    }
    auto e = Make(ExprKind::kColumn, pos);
    e->name = parts.back();
    parts.pop_back();
    e->qualifier = std::move(parts);
    return e;
  }

  // ---- PostgreSQL syntax (sessions of the PostgreSQL wire protocol) ----

  static bool IsBuiltinSchema(const std::string& schema) {
    return EqualsIgnoreCase(schema, "pg_catalog") || EqualsIgnoreCase(schema, "information_schema");
  }

  static bool IsRegexSymbol(const Token& t) {
    return t.IsSymbol("~") || t.IsSymbol("!~") || t.IsSymbol("~*") || t.IsSymbol("!~*") || t.IsSymbol("~~") ||
           t.IsSymbol("!~~");
  }

  bool IsTimeUnitToken(const Token& t) const { return t.kind == TokenKind::kIdentifier && IsTimeUnit(ToUpper(t.text)); }

  // An operator symbol, or OPERATOR([schema.]symbol) as psql writes it.
  Result<std::string> OperatorName() {
    if (!AcceptKeyword("OPERATOR")) return Advance().text;
    KL_RETURN_IF_ERROR(ExpectSymbol("("));
    if (Peek().kind == TokenKind::kIdentifier && Peek(1).IsSymbol(".")) {
      if (!IsBuiltinSchema(Peek().text)) return Expected("an operator of pg_catalog");
      Advance();
      Advance();
    }
    const Token& op = Peek();
    if (op.kind != TokenKind::kSymbol || op.IsSymbol(")")) return Expected("an operator such as ~ or =");
    std::string text = Advance().text;
    if (text == "!=") text = "<>";
    KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    return text;
  }

  // x op ANY|SOME|ALL (array expression | subquery), after the operator.
  Result<ExprPtr> Quantified(const std::string& op, ExprPtr left, SourcePos pos) {
    auto e = Make(ExprKind::kQuantified, pos);
    e->op = op;
    e->name = Peek().IsKeyword("ALL") ? "ALL" : "ANY";
    Advance();
    KL_RETURN_IF_ERROR(ExpectSymbol("("));
    if (Peek().IsKeyword("SELECT") || Peek().IsKeyword("WITH") || Peek().IsKeyword("VALUES")) {
      KL_ASSIGN_OR_RETURN(e->subquery, Query_());
      e->args = {left};
    } else {
      KL_ASSIGN_OR_RETURN(auto array, Expr());
      e->args = {left, array};
    }
    KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    return e;
  }

  // A PostgreSQL type name: `int4`, `pg_catalog.int4`, `character varying(10)`, `"char"`,
  // `timestamp with time zone`, `double precision`, `int2[]`. nullopt (nothing consumed) when the
  // next tokens are no PostgreSQL type, so Flink's names get their turn.
  Result<std::optional<DataType>> PostgresType(std::string* conversion) {
    size_t start = i_;
    SourcePos pos = Peek().pos;
    size_t k = 0;
    if (Peek().kind == TokenKind::kIdentifier && Peek(1).IsSymbol(".") && IsBuiltinSchema(Peek().text)) k = 2;
    const Token& first = Peek(k);
    if (first.kind != TokenKind::kIdentifier && first.kind != TokenKind::kQuotedIdentifier) {
      return std::optional<DataType>();
    }
    std::string name = first.kind == TokenKind::kQuotedIdentifier ? first.text : ToLower(first.text);
    if (first.kind == TokenKind::kQuotedIdentifier && name == "char") name = "\"char\"";
    std::string two = Peek(k + 1).kind == TokenKind::kIdentifier ? ToLower(Peek(k + 1).text) : "";
    size_t words = 1;
    if (name == "double" && two == "precision") {
      name = "float8";
      words = 2;
    } else if ((name == "character" || name == "char") && two == "varying") {
      name = "varchar";
      words = 2;
    } else if (name == "\"char\"") {
      name = "text";  // PostgreSQL's one-byte internal type
    }
    auto found = LookupPostgresType(name);
    if (!found) return std::optional<DataType>();
    i_ = start + k + words;
    DataType t = found->type;
    if (found->modifiers != 0 && AcceptSymbol("(")) {
      KL_ASSIGN_OR_RETURN(int a, TypeParam("a type modifier"));
      int b = -1;
      if (AcceptSymbol(",")) {
        KL_ASSIGN_OR_RETURN(b, TypeParam("a type modifier"));
      }
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
      if (found->modifiers == 'l') {
        if (a < 1) return ErrorAt(pos, "length must be at least 1");
        t = t.root() == format::TypeRoot::kChar ? DataType::Char(a) : DataType::VarChar(a);
      } else if (found->modifiers == 'p') {
        int scale = b < 0 ? 0 : b;
        if (a < 1 || a > 38)
          return ErrorAt(pos, "NUMERIC precision must be between 1 and 38, not " + std::to_string(a));
        if (scale > a) return ErrorAt(pos, "NUMERIC scale " + std::to_string(scale) + " exceeds its precision");
        t = DataType::Decimal(a, scale);
        found->conversion.clear();
      } else if (found->modifiers == 't') {
        if (a > 9) return ErrorAt(pos, "precision must be between 0 and 9");
        t = t.root() == format::TypeRoot::kTime           ? DataType::Time(a)
            : t.root() == format::TypeRoot::kTimestampLtz ? DataType::TimestampLtz(a)
                                                          : DataType::Timestamp(a);
      }
    }
    if (t.root() == format::TypeRoot::kTimestamp || t.root() == format::TypeRoot::kTime) {
      if (AcceptKeyword("WITH")) {
        KL_RETURN_IF_ERROR(ExpectKeyword("TIME"));
        KL_RETURN_IF_ERROR(ExpectKeyword("ZONE"));
        if (t.root() == format::TypeRoot::kTimestamp) t = DataType::TimestampLtz(t.precision());
      } else if (AcceptKeyword("WITHOUT")) {
        KL_RETURN_IF_ERROR(ExpectKeyword("TIME"));
        KL_RETURN_IF_ERROR(ExpectKeyword("ZONE"));
      }
    }
    while (Peek().IsSymbol("[") && Peek(1).IsSymbol("]")) {
      Advance();
      Advance();
      t = DataType::Array(t);
      found->conversion.clear();
    }
    if (conversion != nullptr) *conversion = found->conversion;
    return std::optional<DataType>(t);
  }

  // In FROM: name(...) or schema.name(...) is a function (generate_series, unnest, ...).
  bool LooksLikeTableFunction() const {
    if (Peek().kind != TokenKind::kIdentifier) return false;
    if (Peek(1).IsSymbol("(")) return true;
    return Peek(1).IsSymbol(".") && Peek(2).kind == TokenKind::kIdentifier && Peek(3).IsSymbol("(") &&
           IsBuiltinSchema(Peek().text);
  }

  Result<TableRefPtr> PostgresTableFunction(TableRefPtr ref) {
    if (Peek(1).IsSymbol(".")) {
      Advance();
      Advance();
    }
    ref->name.pos = Peek().pos;
    ref->name.parts = {ToLower(Advance().text)};
    Advance();  // (
    KL_ASSIGN_OR_RETURN(ref->args, ArgList());
    ref->kind = EqualsIgnoreCase(ref->name.parts[0], "unnest") ? TableRefKind::kUnnest : TableRefKind::kTableFunction;
    if (AcceptKeyword("WITH")) {
      KL_RETURN_IF_ERROR(ExpectKeyword("ORDINALITY"));
      ref->with_ordinality = true;
    }
    KL_RETURN_IF_ERROR(Alias(ref.get()));
    return ref;
  }

  // ---- streaming statements and connector columns (SQL part 2) ----

  // EXECUTE STATEMENT SET BEGIN INSERT ...; ...; END | EXECUTE INSERT ... |
  // BEGIN STATEMENT SET | END | STOP JOB 'name'
  Result<StatementPtr> StreamingStatement(StatementPtr st) {
    if (AcceptKeyword("EXECUTE")) {
      if (Peek().IsKeyword("INSERT")) return Insert(st);
      KL_RETURN_IF_ERROR(ExpectKeyword("STATEMENT"));
      KL_RETURN_IF_ERROR(ExpectKeyword("SET"));
      KL_RETURN_IF_ERROR(ExpectKeyword("BEGIN"));
      st->kind = StatementKind::kStatementSet;
      while (!Peek().IsKeyword("END")) {
        if (!Peek().IsKeyword("INSERT")) return Expected("INSERT or END in a statement set");
        auto inner = std::make_shared<Statement>();
        inner->pos = Peek().pos;
        size_t first = i_;
        KL_ASSIGN_OR_RETURN(inner, Insert(inner));
        inner->text = TextFrom(first);
        st->statements.push_back(inner);
        if (!AcceptSymbol(";")) {
          if (!Peek().IsKeyword("END")) return Expected("';' after the INSERT");
        }
      }
      Advance();  // END
      if (st->statements.empty()) return ErrorAt(st->pos, "a statement set needs at least one INSERT");
      return st;
    }
    if (AcceptKeyword("BEGIN")) {
      KL_RETURN_IF_ERROR(ExpectKeyword("STATEMENT"));
      KL_RETURN_IF_ERROR(ExpectKeyword("SET"));
      st->kind = StatementKind::kBeginStatementSet;
      return st;
    }
    if (AcceptKeyword("END")) {
      st->kind = StatementKind::kEndStatementSet;
      return st;
    }
    Advance();  // STOP
    KL_RETURN_IF_ERROR(ExpectKeyword("JOB"));
    st->kind = StatementKind::kStopJob;
    KL_ASSIGN_OR_RETURN(st->value, StringLiteral("a quoted job name: STOP JOB 'name'"));
    if (AcceptKeyword("WITH")) {
      if (!AcceptKeyword("SAVEPOINT") && !AcceptKeyword("DRAIN")) return Expected("SAVEPOINT or DRAIN");
    }
    return st;
  }

  // CALL [catalog.]sys.name(arg, ...): Paimon's procedures; arguments by position or,
  // as in Flink, by name (`table` => 'db.t').
  Result<StatementPtr> Call(StatementPtr st) {
    st->kind = StatementKind::kCall;
    KL_ASSIGN_OR_RETURN(st->name, Name("a procedure name, e.g. sys.create_tag"));
    KL_RETURN_IF_ERROR(ExpectSymbol("("));
    if (!AcceptSymbol(")")) {
      do {
        std::string arg_name;
        if ((Peek().kind == TokenKind::kIdentifier || Peek().kind == TokenKind::kQuotedIdentifier) &&
            Peek(1).IsSymbol("=") && Peek(2).IsSymbol(">")) {
          arg_name = ToLower(Advance().text);
          Advance();
          Advance();
        }
        KL_ASSIGN_OR_RETURN(auto e, Expr());
        st->call_args.emplace_back(std::move(arg_name), std::move(e));
      } while (AcceptSymbol(","));
      KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    }
    return st;
  }

  // TABLE(name(TABLE t, arg, ...)) [alias]: a table-valued function (SNAPSHOTS).
  Result<TableRefPtr> TableFunction(TableRefPtr ref) {
    Advance();  // TABLE
    Advance();  // (
    ref->kind = TableRefKind::kTableFunction;
    KL_ASSIGN_OR_RETURN(std::string name, Identifier("a table function name"));
    ref->function = ToUpper(name);
    KL_RETURN_IF_ERROR(ExpectSymbol("("));
    if (!Peek().IsSymbol(")")) {
      do {
        if (Peek().IsKeyword("TABLE")) {
          Advance();
          KL_ASSIGN_OR_RETURN(QualifiedName t, Name("a table name"));
          ref->tables.push_back(std::move(t));
        } else {
          KL_ASSIGN_OR_RETURN(auto e, Expr());
          ref->args.push_back(e);
        }
      } while (AcceptSymbol(","));
    }
    KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    KL_RETURN_IF_ERROR(ExpectSymbol(")"));
    KL_RETURN_IF_ERROR(Alias(ref.get()));
    return ref;
  }

  // INTERVAL '2 days 3 hours' (units inside the string, as PostgreSQL writes them).
  Result<ExprPtr> PostgresInterval(SourcePos pos) { return PostgresIntervalText(Advance().text, pos); }

  // A PostgreSQL interval constant: a cast of its text to INTERVAL, which the binder folds
  // (PostgreSQL's input syntax, and its errors at this place).
  Result<ExprPtr> PostgresIntervalText(const std::string& text, SourcePos pos) {
    auto e = TypedLiteralCast(text, pos);
    e->type = DataType::Interval().NotNull();
    return e;
  }

  // After `name AS`: the expression, kept as text for the binder.
  Status ComputedColumn(ColumnDef* c) {
    size_t first = i_;
    KL_ASSIGN_OR_RETURN(c->computed, Expr());
    c->computed_text = TextFrom(first);
    if (AcceptKeyword("COMMENT")) {
      KL_ASSIGN_OR_RETURN(c->comment, StringLiteral("a comment"));
    }
    return Status::OK();
  }

  // At METADATA: [FROM 'key'] [VIRTUAL].
  Status MetadataColumn(ColumnDef* c) {
    Advance();  // METADATA
    c->metadata = true;
    if (AcceptKeyword("FROM")) {
      KL_ASSIGN_OR_RETURN(c->metadata_key, StringLiteral("a quoted metadata key"));
    }
    if (AcceptKeyword("VIRTUAL")) c->is_virtual = true;
    return Status::OK();
  }

  std::vector<Token> toks_;
  std::string_view text_;
  bool pg_ = false;
  size_t i_ = 0;
  int depth_ = 0;
  int positional_params_ = 0;
};

}  // namespace

Result<StatementPtr> ParseStatement(std::string_view text, SourcePos base, const ParseOptions& options) {
  KL_ASSIGN_OR_RETURN(auto toks, Tokenize(text, base));
  Parser p(std::move(toks), text, options.dialect == Dialect::kPostgres);
  return p.ParseOne();
}

Result<ExprPtr> ParseExpression(std::string_view text) {
  KL_ASSIGN_OR_RETURN(auto toks, Tokenize(text));
  Parser p(std::move(toks), text);
  return p.ExprOnly();
}

Result<DataType> ParseDataType(std::string_view text) {
  KL_ASSIGN_OR_RETURN(auto toks, Tokenize(text));
  Parser p(std::move(toks), text);
  return p.TypeOnly();
}

}  // namespace kl::sql
