// Catalogs: where names in SQL lead. A catalog holds databases, a database
// holds tables and views. kubelake's catalog of type 'paimon' is a Paimon
// filesystem warehouse (table::Catalog), with Paimon's system tables
// (`t$snapshots`, `t$files`, ...) beside every table. Other catalogs and
// databases of virtual tables (e.g. PostgreSQL's pg_catalog, served to
// clients by the wire-protocol server) plug in through the same interface.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "format/column.h"
#include "sql/execution/context.h"
#include "table/data/predicate.h"
#include "table/table.h"

namespace kl::sql {

// One comparison a scan may apply itself (column index into the table's schema).
struct ScanFilter {
  int column = 0;
  table::CompareOp op = table::CompareOp::kEq;
  format::Datum literal;                // of the column's type
  std::vector<format::Datum> literals;  // kIn: the values (non-null, sorted, distinct: table::InLeaf)
};

struct ScanRequest {
  std::vector<int> columns;         // indexes into the table's schema, in output order
  std::vector<ScanFilter> filters;  // rows returned satisfy all of them
  std::optional<int64_t> limit;     // the reader may stop after this many rows
  // A hint: the caller keeps only rows whose values in key_columns (table columns) equal
  // one of key_rows, so a source may skip key ranges holding none (the filters on each
  // column still decide which rows are returned).
  std::vector<int> key_columns;
  std::vector<format::Row> key_rows;
  // Set: read exactly this snapshot of the table (one TableSource::CurrentSnapshot named).
  std::shared_ptr<const table::Snapshot> snapshot;
};

// Batches of a scan, each holding the requested columns.
class RowReader {
 public:
  virtual ~RowReader() = default;
  // Fills `out` (cleared first) with the next rows; false at the end.
  virtual Result<bool> Next(format::ColumnBatch* out) = 0;
};

// Anything that can be scanned.
class TableSource {
 public:
  virtual ~TableSource() = default;
  virtual const format::RowType& schema() const = 0;
  // Whether Open applies ScanRequest::filters itself (else the engine filters).
  virtual bool AppliesFilters() const { return false; }
  virtual Result<std::unique_ptr<RowReader>> Open(const ScanRequest& request, ExecContext& ctx) = 0;
  // The snapshot a scan opened now would read, when the source can name it and read exactly
  // it again (ScanRequest::snapshot): what it returns stays true of that snapshot, so results
  // made from it may be kept while it stays the current one. Null when it cannot (a read as
  // of a time or with options, an empty table, tables that are not Paimon tables).
  virtual Result<std::shared_ptr<const table::Snapshot>> CurrentSnapshot() {
    return std::shared_ptr<const table::Snapshot>();
  }
  // One line for EXPLAIN: what is read, with which pushed-down conditions.
  virtual std::string Describe(const ScanRequest& request) const = 0;
};

// Rows computed when scanned (system tables, virtual tables); scans filter and project them.
class MaterializedSource : public TableSource {
 public:
  using Producer = std::function<Result<format::ColumnBatch>(ExecContext& ctx)>;
  MaterializedSource(std::string name, format::RowType schema, Producer producer)
      : name_(std::move(name)), schema_(std::move(schema)), producer_(std::move(producer)) {}
  const format::RowType& schema() const override { return schema_; }
  bool AppliesFilters() const override { return true; }
  Result<std::unique_ptr<RowReader>> Open(const ScanRequest& request, ExecContext& ctx) override;
  std::string Describe(const ScanRequest& request) const override;

 private:
  std::string name_;
  format::RowType schema_;
  Producer producer_;
};

enum class ObjectKind : unsigned char { kTable, kView, kSystemTable, kVirtualTable };

// A column of a connector table as declared: physical (from the record's value),
// metadata (`type METADATA [FROM 'key'] [VIRTUAL]`) or computed (`name AS expr`).
struct ConnectorColumn {
  enum class Kind : unsigned char { kPhysical, kMetadata, kComputed };
  std::string name;
  format::DataType type;  // computed columns: filled in by the binder
  Kind kind = Kind::kPhysical;
  std::string metadata_key;  // kMetadata: the key read (the column name when not given)
  std::string expr_text;     // kComputed
  bool is_virtual = false;   // kMetadata VIRTUAL: read-only
};

// A table or view a name resolved to.
struct CatalogObject {
  ObjectKind kind = ObjectKind::kTable;
  std::string catalog, database, name;
  format::RowType schema;                 // columns (views: filled in by the binder)
  std::shared_ptr<TableSource> source;    // tables: how to read it
  std::shared_ptr<table::Table> paimon;   // Paimon tables: the table itself (DDL, SHOW CREATE)
  std::string view_query;                 // views: the query text
  std::vector<std::string> view_columns;  // views: column names given in CREATE VIEW
  std::string comment;
  // Connector tables (CREATE TEMPORARY TABLE ... WITH ('connector' = ...)):
  // their options and columns as declared. `schema` holds the physical and
  // metadata columns, which the source produces; the binder adds computed ones.
  std::map<std::string, std::string> connector_options;
  std::vector<ConnectorColumn> connector_columns;
  std::vector<std::string> primary_key;
  // How many of `schema`'s last columns are system columns (PostgreSQL's
  // `tableoid` of the catalogs): read by name, never part of `*`.
  size_t system_columns = 0;

  bool is_connector() const { return !connector_options.empty(); }
  std::string connector() const;  // the 'connector' option, or ""
  std::string FullName() const;   // catalog.database.name, quoted where needed
};

// Options of a table read given in SQL (hints, FOR SYSTEM_TIME AS OF).
struct ReadOptions {
  std::map<std::string, std::string> dynamic_options;  // /*+ OPTIONS(...) */
  std::optional<int64_t> as_of_millis;                 // FOR SYSTEM_TIME AS OF
};

class Catalog {
 public:
  virtual ~Catalog() = default;
  virtual std::string type() const = 0;
  virtual std::map<std::string, std::string> options() const { return {}; }

  virtual Result<std::vector<std::string>> ListDatabases() = 0;
  virtual Result<bool> DatabaseExists(const std::string& db);
  virtual Result<std::vector<std::string>> ListTables(const std::string& db) = 0;
  virtual Result<std::vector<std::string>> ListViews(const std::string& db) { return std::vector<std::string>{}; }
  // NotFound when there is no such object.
  virtual Result<std::shared_ptr<CatalogObject>> GetObject(const std::string& db, const std::string& name,
                                                           const ReadOptions& read) = 0;
  // GetObject(db, name, read)'s `paimon` when it is a table, else null; errors as GetObject's.
  // Cheaper where a catalog need not build the object to know its table.
  virtual Result<std::shared_ptr<table::Table>> GetPaimonTable(const std::string& db, const std::string& name,
                                                               const ReadOptions& read);

  virtual Status CreateDatabase(const std::string& db, bool ignore_if_exists);
  virtual Status DropDatabase(const std::string& db, bool ignore_if_missing, bool cascade);
  virtual Status CreateTable(const std::string& db, const std::string& name, const table::TableSchema& schema,
                             bool ignore_if_exists);
  virtual Status DropTable(const std::string& db, const std::string& name, bool ignore_if_missing);
  virtual Status RenameTable(const std::string& db, const std::string& from, const std::string& to);
  // Writes the schema that `change` makes of the current one (a new schema file).
  virtual Status AlterTable(const std::string& db, const std::string& name,
                            const std::function<Result<table::TableSchema>(const table::TableSchema&)>& change);
  virtual Status CreateView(const std::string& db, const std::string& name, const std::string& query,
                            const std::vector<std::string>& columns, bool ignore_if_exists);
  virtual Status DropView(const std::string& db, const std::string& name, bool ignore_if_missing);
};

// The catalog of type 'paimon': a filesystem warehouse. Views are kept as
// files in <db>.db/.kubelake-views/ (Paimon's filesystem catalog has none).
std::shared_ptr<Catalog> NewPaimonCatalog(const std::string& warehouse);

// A catalog of tables computed on demand, for virtual databases such as
// pg_catalog: add tables with a schema and a function producing their rows.
class VirtualCatalog : public Catalog {
 public:
  std::string type() const override { return "virtual"; }
  void AddTable(const std::string& db, const std::string& name, format::RowType schema,
                MaterializedSource::Producer producer, size_t system_columns = 0);
  Result<std::vector<std::string>> ListDatabases() override;
  Result<std::vector<std::string>> ListTables(const std::string& db) override;
  Result<std::shared_ptr<CatalogObject>> GetObject(const std::string& db, const std::string& name,
                                                   const ReadOptions& read) override;

 private:
  struct Table {
    std::shared_ptr<MaterializedSource> source;
    size_t system_columns = 0;
  };
  std::map<std::string, std::map<std::string, Table>> tables_;
};

// Paimon's system tables of `table` (snapshots, schemas, options, files,
// manifests, consumers, audit_log); NotFound naming the known ones otherwise.
Result<std::shared_ptr<CatalogObject>> OpenSystemTable(const std::shared_ptr<table::Table>& table,
                                                       const std::string& system_name);
std::vector<std::string> SystemTableNames();

// Reads a Paimon table as SQL scans do: projection, filters pushed into the
// read (partition pruning, file statistics), snapshot by options or time.
std::shared_ptr<TableSource> NewPaimonSource(std::shared_ptr<table::Table> table, ReadOptions read);

}  // namespace kl::sql
