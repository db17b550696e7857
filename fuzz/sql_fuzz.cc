// libFuzzer target for the SQL front end and engine: the lexer, the script
// splitter and the parser (Flink's dialect and PostgreSQL's) on any bytes,
// then describing (parameter types inferred) and binding, planning and
// running the queries among them against small in-memory tables (no files
// are written: the default catalog points at a directory that does not exist).
// Every input must end in a result or an error, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sql/parser/parser.h"
#include "sql/sql.h"

namespace {

using kl::format::ColumnBatch;
using kl::format::DataField;
using kl::format::DataType;
using kl::format::Datum;
using kl::format::RowType;

std::shared_ptr<kl::sql::SqlEngine> MakeEngine() {
  kl::sql::EngineOptions o;
  o.warehouse = "/nonexistent/kubelake-fuzz-warehouse";
  auto engine = kl::sql::SqlEngine::Create(o);
  if (!engine.ok()) return nullptr;
  auto virt = std::make_shared<kl::sql::VirtualCatalog>();
  RowType t({DataField{0, "a", DataType::Int(), ""}, DataField{1, "s", DataType::String(), ""},
             DataField{2, "d", DataType::Double(), ""}, DataField{3, "ts", DataType::Timestamp(3), ""},
             DataField{4, "arr", DataType::Array(DataType::Int()), ""}});
  virt->AddTable("fz", "t", t, [t](kl::sql::ExecContext&) -> kl::Result<ColumnBatch> {
    ColumnBatch b(t);
    for (int i = 0; i < 20; ++i) {
      b.AppendRow({i % 7 == 0 ? Datum() : Datum::Int(i % 5), Datum::Bytes(std::string(static_cast<size_t>(i % 4), 'x')),
                   Datum::Double(i * 0.5), Datum::Time({1700000000000LL + i * 1000, 0}),
                   Datum::List({Datum::Int(i), Datum()})});
    }
    return b;
  });
  engine->get()->RegisterGlobalDatabase("fz", virt, "fz", /*searched=*/true);
  return *engine;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::shared_ptr<kl::sql::SqlEngine> engine = MakeEngine();
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)kl::sql::Tokenize(text);
  (void)kl::sql::EndsStatement(text);
  for (const auto& piece : kl::sql::SplitStatements(text)) {
    for (auto dialect : {kl::sql::Dialect::kFlink, kl::sql::Dialect::kPostgres}) {
      kl::sql::ParseOptions po;
      po.dialect = dialect;
      auto st = kl::sql::ParseStatement(piece.text, piece.pos, po);
      if (!st.ok() || engine == nullptr) continue;
      auto kind = (*st)->kind;
      // Only statements that read: queries, EXPLAIN, DESCRIBE, SHOW.
      if (kind != kl::sql::StatementKind::kQuery && kind != kl::sql::StatementKind::kExplain &&
          kind != kl::sql::StatementKind::kDescribe && kind != kl::sql::StatementKind::kShowTables &&
          kind != kl::sql::StatementKind::kShowFunctions) {
        continue;
      }
      auto session = engine->NewSession();
      (void)session->Set("sql.memory-limit", "64mb");
      if (dialect == kl::sql::Dialect::kPostgres) (void)session->Set(kl::sql::kDialectSetting, "postgresql");
      session->set_timeout_millis(2000);
      session->set_row_limit(1000);
      session->set_read_only(true);
      (void)session->DescribeStatement(piece.text);
      (void)session->Execute(piece.text);
    }
  }
  return 0;
}
