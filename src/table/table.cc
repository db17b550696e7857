#include "table/table.h"

#include "common/file/file_util.h"

namespace kl::table {

Result<std::shared_ptr<Table>> Table::Open(const std::string& path) {
  SchemaManager schemas(path);
  auto schema = schemas.Latest();
  if (!schema.ok()) {
    if (schema.status().IsNotFound()) return Status::NotFound(path + " is not a table (no schema/ directory)");
    return schema.status();
  }
  KL_ASSIGN_OR_RETURN(auto ctx, TableContext::Create(path, std::move(schema).value()));
  return std::shared_ptr<Table>(new Table(std::move(ctx)));
}

Result<std::shared_ptr<Table>> Table::Open(const std::string& path,
                                           const std::map<std::string, std::string>& dynamic_options) {
  SchemaManager schemas(path);
  auto schema = schemas.Latest();
  if (!schema.ok()) {
    if (schema.status().IsNotFound()) return Status::NotFound(path + " is not a table (no schema/ directory)");
    return schema.status();
  }
  for (const auto& [k, v] : dynamic_options) schema->options[k] = v;
  // File format options given for this use are checked as at CREATE TABLE, before any write;
  // others keep failing where they are used (a tag option at the tag creator).
  for (const auto& [k, v] : dynamic_options) {
    if (k.starts_with("file.") || k.starts_with("changelog-file.")) {
      KL_RETURN_IF_ERROR(schema->table_options().ValidateFileCompressions().WithContext("table " + path));
      break;
    }
  }
  return OpenWithSchema(path, std::move(schema).value());
}

Result<std::shared_ptr<Table>> Table::OpenWithSchema(const std::string& path, TableSchema schema) {
  KL_ASSIGN_OR_RETURN(auto ctx, TableContext::Create(path, std::move(schema)));
  return std::shared_ptr<Table>(new Table(std::move(ctx)));
}

Result<std::shared_ptr<Table>> Table::Create(const std::string& path, const TableSchema& schema) {
  KL_RETURN_IF_ERROR(schema.Validate().WithContext("table " + path));
  SchemaManager schemas(path);
  if (FileExists(schemas.SchemaPath(0))) return Status::AlreadyExists("table " + path + " already exists");
  TableSchema first = schema;
  first.id = 0;
  Status s = schemas.Commit(first);
  if (s.IsAlreadyExists()) return Status::AlreadyExists("table " + path + " already exists");
  KL_RETURN_IF_ERROR(s);
  return Open(path);
}

std::unique_ptr<TableWriter> Table::NewWriter(const std::string& commit_user) const {
  return std::make_unique<TableWriter>(ctx_, commit_user);
}

Result<RowsWithKinds> Table::ReadAll(std::optional<int64_t> snapshot_id, std::vector<std::string> projection,
                                     Predicate filter) const {
  TableScan scan = NewScan();
  ScanPlan plan;
  if (snapshot_id) {
    KL_ASSIGN_OR_RETURN(plan, scan.PlanSnapshot(*snapshot_id));
  } else {
    KL_ASSIGN_OR_RETURN(plan, scan.PlanConfigured());
  }
  KL_ASSIGN_OR_RETURN(auto read, NewRead(std::move(projection), std::move(filter)));
  return read->ReadAll(plan);
}

std::string Catalog::DatabasePath(const std::string& db) const { return JoinPath(warehouse_, db + ".db"); }

std::string Catalog::TablePath(const std::string& db, const std::string& table) const {
  return JoinPath(DatabasePath(db), table);
}

Status Catalog::CreateDatabase(const std::string& db, bool ignore_if_exists) {
  std::string path = DatabasePath(db);
  if (IsDirectory(path)) {
    return ignore_if_exists ? Status::OK() : Status::AlreadyExists("database " + db + " already exists");
  }
  return CreateDirs(path);
}

Result<std::vector<std::string>> Catalog::ListDatabases() const {
  auto names = ListDir(warehouse_);
  if (!names.ok()) return names.status();
  std::vector<std::string> out;
  for (const auto& n : *names) {
    if (n.size() > 3 && n.compare(n.size() - 3, 3, ".db") == 0 && IsDirectory(JoinPath(warehouse_, n))) {
      out.push_back(n.substr(0, n.size() - 3));
    }
  }
  return out;
}

Result<std::vector<std::string>> Catalog::ListTables(const std::string& db) const {
  auto names = ListDir(DatabasePath(db));
  if (!names.ok()) return names.status();
  std::vector<std::string> out;
  for (const auto& n : *names) {
    if (IsDirectory(JoinPath(JoinPath(DatabasePath(db), n), "schema"))) out.push_back(n);
  }
  return out;
}

Result<std::shared_ptr<Table>> Catalog::CreateTable(const std::string& db, const std::string& table,
                                                    const TableSchema& schema, bool ignore_if_exists) {
  KL_RETURN_IF_ERROR(CreateDatabase(db, true));
  auto created = Table::Create(TablePath(db, table), schema);
  if (!created.ok() && created.status().IsAlreadyExists() && ignore_if_exists) return Table::Open(TablePath(db, table));
  return created;
}

Result<std::shared_ptr<Table>> Catalog::GetTable(const std::string& db, const std::string& table) const {
  return Table::Open(TablePath(db, table));
}

Status Catalog::DropTable(const std::string& db, const std::string& table) {
  std::string path = TablePath(db, table);
  if (!IsDirectory(path)) return Status::NotFound("table " + db + "." + table + " does not exist");
  return RemoveAll(path);
}

}  // namespace kl::table
