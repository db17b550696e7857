// table — Apache Paimon tables in C++. A table is a directory of snapshots,
// schemas, manifests and data files in Paimon's layout, so Flink, Spark,
// StarRocks and Trino read what kubelake writes and kubelake reads what they
// wrote. Primary-key tables are LSM trees merged on read, in fixed buckets
// or in dynamic bucket mode (a key index assigns buckets; merge engines:
// deduplicate, partial-update, aggregation, first-row; changelog producers:
// none, input, lookup); append tables hold rows as written. Commits are
// atomic and idempotent per (commit user, identifier), and record the log
// offsets they cover, which the streaming jobs build exactly-once on.
//
// Layout, by Paimon concept: schema/ (schemas, options, casts), data/ (rows,
// keys, data files and their formats, predicates), mergetree/ (write buffer,
// merge functions, merge-on-read, compaction), manifest/ (snapshots,
// manifests and their merging), index/ (dynamic bucket index, deletion
// vectors), tag/ (tags and their automatic creation), operation/ (commit,
// scan, read, write, expiry, consumers).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "table/manifest/snapshot.h"
#include "table/operation/commit.h"
#include "table/operation/maintenance.h"
#include "table/operation/scan.h"
#include "table/operation/table_read.h"
#include "table/operation/table_writer.h"
#include "table/schema/schema.h"
#include "table/table_context.h"

namespace kl::table {

class Table {
 public:
  // Opens the table at `path` with its latest schema.
  static Result<std::shared_ptr<Table>> Open(const std::string& path);
  // The same, with options that override the table's for this handle only (Paimon's
  // dynamic options, e.g. {"scan.snapshot-id", ...} or a different merge engine to read with).
  static Result<std::shared_ptr<Table>> Open(const std::string& path,
                                             const std::map<std::string, std::string>& dynamic_options);
  // Opens the table as described by `schema` (an older schema of it, or one with changed
  // options): reads map every file's columns onto `schema`'s by field id.
  static Result<std::shared_ptr<Table>> OpenWithSchema(const std::string& path, TableSchema schema);
  // Creates a table (schema-0); AlreadyExists if `path` already holds one.
  static Result<std::shared_ptr<Table>> Create(const std::string& path, const TableSchema& schema);

  const std::string& path() const { return ctx_->path(); }
  const TableSchema& schema() const { return ctx_->schema(); }
  std::shared_ptr<TableContext> context() const { return ctx_; }
  SnapshotManager snapshots() const { return SnapshotManager(path()); }

  std::unique_ptr<TableWriter> NewWriter(const std::string& commit_user) const;
  TableScan NewScan() const { return TableScan(ctx_); }
  StreamScan NewStreamScan(StreamStart start, std::optional<int64_t> snapshot = std::nullopt,
                           PartitionFilter filter = nullptr) const {
    return StreamScan(ctx_, start, snapshot, std::move(filter));
  }
  Result<std::unique_ptr<TableRead>> NewRead(std::vector<std::string> projection = {}, Predicate filter = {}) const {
    return TableRead::Create(ctx_, std::move(projection), std::move(filter));
  }
  // The merged rows that pass `filter` of `snapshot_id`, else of where the handle's options
  // travel ('scan.snapshot-id', 'scan.tag-name', 'scan.version', 'scan.timestamp-millis'),
  // else of the latest snapshot.
  Result<RowsWithKinds> ReadAll(std::optional<int64_t> snapshot_id = std::nullopt,
                                std::vector<std::string> projection = {}, Predicate filter = {}) const;

 private:
  explicit Table(std::shared_ptr<TableContext> ctx) : ctx_(std::move(ctx)) {}
  std::shared_ptr<TableContext> ctx_;
};

// A filesystem warehouse laid out as Paimon's: <warehouse>/<db>.db/<table>/.
class Catalog {
 public:
  explicit Catalog(std::string warehouse) : warehouse_(std::move(warehouse)) {}

  const std::string& warehouse() const { return warehouse_; }
  std::string DatabasePath(const std::string& db) const;
  std::string TablePath(const std::string& db, const std::string& table) const;

  Status CreateDatabase(const std::string& db, bool ignore_if_exists = true);
  Result<std::vector<std::string>> ListDatabases() const;
  Result<std::vector<std::string>> ListTables(const std::string& db) const;
  // Creates the table, or opens it when it exists and `ignore_if_exists`.
  Result<std::shared_ptr<Table>> CreateTable(const std::string& db, const std::string& table, const TableSchema& schema,
                                             bool ignore_if_exists = false);
  Result<std::shared_ptr<Table>> GetTable(const std::string& db, const std::string& table) const;
  Status DropTable(const std::string& db, const std::string& table);

 private:
  std::string warehouse_;
};

}  // namespace kl::table
