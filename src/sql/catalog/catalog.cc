#include "sql/catalog/catalog.h"

#include "sql/parser/ast.h"

namespace kl::sql {

std::string CatalogObject::connector() const {
  auto it = connector_options.find("connector");
  return it == connector_options.end() ? "" : it->second;
}

std::string CatalogObject::FullName() const {
  return QuoteIdentifier(catalog) + "." + QuoteIdentifier(database) + "." + QuoteIdentifier(name);
}

Result<bool> Catalog::DatabaseExists(const std::string& db) {
  KL_ASSIGN_OR_RETURN(auto dbs, ListDatabases());
  for (const auto& d : dbs) {
    if (d == db) return true;
  }
  return false;
}

Result<std::shared_ptr<table::Table>> Catalog::GetPaimonTable(const std::string& db, const std::string& name,
                                                              const ReadOptions& read) {
  KL_ASSIGN_OR_RETURN(std::shared_ptr<CatalogObject> object, GetObject(db, name, read));
  if (object->kind != ObjectKind::kTable) return std::shared_ptr<table::Table>();
  return object->paimon;
}

namespace {
Status Unsupported(const Catalog& c, const std::string& what) {
  return Status::NotSupported("a catalog of type '" + c.type() + "' does not support " + what);
}
}  // namespace

Status Catalog::CreateDatabase(const std::string&, bool) { return Unsupported(*this, "CREATE DATABASE"); }
Status Catalog::DropDatabase(const std::string&, bool, bool) { return Unsupported(*this, "DROP DATABASE"); }
Status Catalog::CreateTable(const std::string&, const std::string&, const table::TableSchema&, bool) {
  return Unsupported(*this, "CREATE TABLE");
}
Status Catalog::DropTable(const std::string&, const std::string&, bool) { return Unsupported(*this, "DROP TABLE"); }
Status Catalog::RenameTable(const std::string&, const std::string&, const std::string&) {
  return Unsupported(*this, "ALTER TABLE ... RENAME");
}
Status Catalog::AlterTable(const std::string&, const std::string&,
                           const std::function<Result<table::TableSchema>(const table::TableSchema&)>&) {
  return Unsupported(*this, "ALTER TABLE");
}
Status Catalog::CreateView(const std::string&, const std::string&, const std::string&, const std::vector<std::string>&,
                           bool) {
  return Unsupported(*this, "CREATE VIEW");
}
Status Catalog::DropView(const std::string&, const std::string&, bool) { return Unsupported(*this, "DROP VIEW"); }

// ---- MaterializedSource ----

namespace {

bool Passes(const format::Column& c, size_t row, const ScanFilter& f) {
  table::PredicateLeaf leaf{"", f.op, f.literal, f.literals};
  return table::LeafMatches(leaf, c, row);
}

class BatchReader : public RowReader {
 public:
  BatchReader(format::ColumnBatch rows, ScanRequest request) : rows_(std::move(rows)), request_(std::move(request)) {}
  Result<bool> Next(format::ColumnBatch* out) override {
    std::vector<format::DataField> fields;
    for (int c : request_.columns) fields.push_back(rows_.schema().field(c));
    *out = format::ColumnBatch(format::RowType(fields));
    size_t produced = 0;
    while (pos_ < rows_.num_rows() && produced < kBatchSize) {
      if (request_.limit && emitted_ >= *request_.limit) break;
      size_t r = pos_++;
      bool ok = true;
      for (const auto& f : request_.filters) ok = ok && Passes(rows_.column(f.column), r, f);
      if (!ok) continue;
      for (size_t k = 0; k < request_.columns.size(); ++k) {
        out->mutable_column(k).AppendFrom(rows_.column(request_.columns[k]), r);
      }
      ++produced;
      ++emitted_;
    }
    out->SetNumRows(produced);
    return produced > 0;
  }

 private:
  format::ColumnBatch rows_;
  ScanRequest request_;
  size_t pos_ = 0;
  int64_t emitted_ = 0;
};

}  // namespace

Result<std::unique_ptr<RowReader>> MaterializedSource::Open(const ScanRequest& request, ExecContext& ctx) {
  KL_ASSIGN_OR_RETURN(format::ColumnBatch rows, producer_(ctx));
  if (rows.num_columns() != schema_.size()) {
    return Status::Internal("virtual table " + name_ + " produced " + std::to_string(rows.num_columns()) +
                            " columns for a schema of " + std::to_string(schema_.size()));
  }
  return std::unique_ptr<RowReader>(new BatchReader(std::move(rows), request));
}

std::string MaterializedSource::Describe(const ScanRequest& request) const {
  std::string s = name_ + " (computed)";
  if (!request.filters.empty()) s += " filters=" + std::to_string(request.filters.size());
  return s;
}

// ---- VirtualCatalog ----

void VirtualCatalog::AddTable(const std::string& db, const std::string& name, format::RowType schema,
                              MaterializedSource::Producer producer, size_t system_columns) {
  tables_[db][name] = {std::make_shared<MaterializedSource>(db + "." + name, std::move(schema), std::move(producer)),
                       system_columns};
}

Result<std::vector<std::string>> VirtualCatalog::ListDatabases() {
  std::vector<std::string> out;
  for (const auto& [db, _] : tables_) out.push_back(db);
  return out;
}

Result<std::vector<std::string>> VirtualCatalog::ListTables(const std::string& db) {
  auto it = tables_.find(db);
  if (it == tables_.end()) return Status::NotFound("database " + db + " does not exist");
  std::vector<std::string> out;
  for (const auto& [t, _] : it->second) out.push_back(t);
  return out;
}

Result<std::shared_ptr<CatalogObject>> VirtualCatalog::GetObject(const std::string& db, const std::string& name,
                                                                 const ReadOptions&) {
  auto it = tables_.find(db);
  if (it == tables_.end()) return Status::NotFound("database " + db + " does not exist");
  auto t = it->second.find(name);
  if (t == it->second.end()) return Status::NotFound("table " + db + "." + name + " does not exist");
  auto obj = std::make_shared<CatalogObject>();
  obj->kind = ObjectKind::kVirtualTable;
  obj->database = db;
  obj->name = name;
  obj->schema = t->second.source->schema();
  obj->source = t->second.source;
  obj->system_columns = t->second.system_columns;
  return obj;
}

}  // namespace kl::sql
