#include "sql/streaming/connectors.h"

#include <set>

#include "common/json.h"
#include "common/random.h"
#include "common/string_util.h"
#include "pipeline/runtime/log_source.h"
#include "sql/binder/types.h"

namespace kl::sql::streaming {

using format::ColumnBatch;
using format::DataField;
using format::DataType;
using format::Datum;
using format::Row;
using format::RowType;
using format::TypeRoot;

namespace {

const std::set<std::string> kLogMetadata = {"timestamp", "key", "partition", "offset"};

std::string Opt(const std::map<std::string, std::string>& o, const std::string& k, const std::string& fallback = "") {
  auto it = o.find(k);
  return it == o.end() ? fallback : it->second;
}

// How one column of a log table is made from a record.
struct LogColumn {
  enum Source : unsigned char { kTimestamp, kKey, kPartition, kOffset, kValue, kJsonField } source;
  DataType type;
  std::string field;  // kJsonField
};

Result<std::vector<LogColumn>> LogColumns(const CatalogObject& t) {
  std::string format = Opt(t.connector_options, "format", Opt(t.connector_options, "value.format", "raw"));
  std::vector<LogColumn> out;
  for (const auto& c : t.connector_columns) {
    if (c.kind == ConnectorColumn::Kind::kComputed) continue;
    LogColumn lc;
    lc.type = c.type;
    if (c.kind == ConnectorColumn::Kind::kMetadata) {
      const std::string& k = c.metadata_key.empty() ? c.name : c.metadata_key;
      lc.source = k == "timestamp"   ? LogColumn::kTimestamp
                  : k == "key"       ? LogColumn::kKey
                  : k == "partition" ? LogColumn::kPartition
                                     : LogColumn::kOffset;
    } else if (format == "json") {
      lc.source = LogColumn::kJsonField;
      lc.field = c.name;
    } else {
      lc.source = LogColumn::kValue;
    }
    out.push_back(std::move(lc));
  }
  return out;
}

// Maps log records (partition, offset, timestamp, key, value) to rows of chosen columns.
class RecordMapper {
 public:
  RecordMapper(std::vector<LogColumn> columns, std::string table)
      : columns_(std::move(columns)), table_(std::move(table)) {
    for (const auto& c : columns_) json_ = json_ || c.source == LogColumn::kJsonField;
  }

  Result<Row> Map(int32_t partition, int64_t offset, int64_t timestamp, std::string_view key, Datum value) {
    Row row;
    KL_RETURN_IF_ERROR(MapInto(partition, offset, timestamp, key, std::move(value), &row));
    return row;
  }

  // Map into `row` (cleared first; a row reused keeps its capacity).
  Status MapInto(int32_t partition, int64_t offset, int64_t timestamp, std::string_view key, Datum value, Row* out) {
    Row& row = *out;
    row.clear();
    row.reserve(columns_.size());
    std::optional<JsonValue> doc;
    if (json_) {
      auto parsed =
          ParseJson(value.is_null() ? std::string_view() : std::string_view(value.as_bytes()), "record value");
      if (!parsed.ok() || !parsed->is_object()) {
        return Status::InvalidArgument("reading " + table_ + ": the record at partition " + std::to_string(partition) +
                                       " offset " + std::to_string(offset) +
                                       " is not a JSON object ('format' = 'json')");
      }
      doc = std::move(*parsed);
    }
    size_t value_uses = 0;
    for (const auto& c : columns_) value_uses += c.source == LogColumn::kValue;
    for (const auto& c : columns_) {
      switch (c.source) {
        case LogColumn::kTimestamp:
          if (c.type.root() == TypeRoot::kTimestamp || c.type.root() == TypeRoot::kTimestampLtz) {
            row.push_back(Datum::Time({timestamp, 0}));
          } else {
            row.push_back(Datum::Int(timestamp));
          }
          break;
        case LogColumn::kKey: row.push_back(key.empty() ? Datum() : Datum::Bytes(std::string(key))); break;
        case LogColumn::kPartition: row.push_back(Datum::Int(partition)); break;
        case LogColumn::kOffset: row.push_back(Datum::Int(offset)); break;
        case LogColumn::kValue: row.push_back(--value_uses == 0 ? std::move(value) : value); break;
        case LogColumn::kJsonField: {
          const JsonValue* f = doc->Find(c.field);
          if (f == nullptr || f->is_null()) {
            row.push_back(Datum());
            break;
          }
          auto d = format::DatumFromJson(*f, c.type);
          if (!d.ok()) {
            return Status::InvalidArgument("reading " + table_ + ": field \"" + c.field +
                                           "\" of the record at partition " + std::to_string(partition) + " offset " +
                                           std::to_string(offset) + ": " + d.status().message());
          }
          row.push_back(std::move(*d));
          break;
        }
      }
    }
    return Status::OK();
  }

  // True when every column is a record's metadata or its whole value: AppendColumns applies.
  bool reads_no_json() const { return !json_; }

  // Whether column `c` is the record's value.
  bool is_value(int c) const {
    return c >= 0 && static_cast<size_t>(c) < columns_.size() &&
           columns_[static_cast<size_t>(c)].source == LogColumn::kValue;
  }

  // The records as rows of the chosen columns, appended to `out` column by column, as
  // MapInto would make them (an empty key is NULL); each value is copied once, into its
  // column's bytes, but those of column `tapped` (a LogValueTap's), which gets empty strings.
  // Not for 'json' columns (reads_no_json()).
  void AppendColumns(const log::RecordBatch& records, format::ColumnBatch* out, int tapped = -1) const {
    const size_t n = records.size();
    std::vector<std::string_view> views(n);
    std::vector<int64_t> ints(n);
    std::vector<uint8_t> nulls;
    for (size_t c = 0; c < columns_.size(); ++c) {
      format::Column& col = out->mutable_column(c);
      const LogColumn& lc = columns_[c];
      switch (lc.source) {
        case LogColumn::kTimestamp:
          if (lc.type.root() == TypeRoot::kTimestamp || lc.type.root() == TypeRoot::kTimestampLtz) {
            col.Reserve(col.size() + n);
            for (const auto& r : records) col.AppendTimestamp({r.timestamp_ms, 0});
            break;
          }
          for (size_t i = 0; i < n; ++i) ints[i] = records[i].timestamp_ms;
          col.AppendInts(ints.data(), n);
          break;
        case LogColumn::kPartition:
          for (size_t i = 0; i < n; ++i) ints[i] = records[i].partition;
          col.AppendInts(ints.data(), n);
          break;
        case LogColumn::kOffset:
          for (size_t i = 0; i < n; ++i) ints[i] = records[i].offset;
          col.AppendInts(ints.data(), n);
          break;
        case LogColumn::kKey:
          nulls.assign(n, 0);
          for (size_t i = 0; i < n; ++i) {
            views[i] = records[i].key;
            nulls[i] = views[i].empty();
          }
          col.AppendBytesBatch(views.data(), nulls.data(), n);
          break;
        case LogColumn::kValue:
          for (size_t i = 0; i < n; ++i) {
            views[i] = static_cast<int>(c) == tapped ? std::string_view("", 0) : records[i].value;
          }
          col.AppendBytesBatch(views.data(), n);
          break;
        case LogColumn::kJsonField: break;  // not here (reads_no_json)
      }
    }
    out->SetNumRows(out->num_rows() + n);
  }

 private:
  std::vector<LogColumn> columns_;
  std::string table_;
  bool json_ = false;
};

std::vector<LogColumn> Select(const std::vector<LogColumn>& all, const std::vector<int>& columns) {
  std::vector<LogColumn> out;
  for (int c : columns) out.push_back(all[static_cast<size_t>(c)]);
  return out;
}

// Batch reads: every partition from the startup position to its end when the read starts.
class LogBatchReader : public RowReader {
 public:
  LogBatchReader(std::shared_ptr<log::EventLog> log, std::unique_ptr<log::Consumer> consumer, RowType type,
                 RecordMapper mapper, std::map<int32_t, int64_t> ends)
      : log_(std::move(log)),
        consumer_(std::move(consumer)),
        type_(std::move(type)),
        mapper_(std::move(mapper)),
        ends_(std::move(ends)) {}

  Result<bool> Next(ColumnBatch* out) override {
    *out = ColumnBatch(type_);
    while (!ends_.empty()) {
      log::PollOptions po;
      po.max_records = 2048;
      po.timeout_ms = 100;
      KL_ASSIGN_OR_RETURN(log::RecordBatch batch, consumer_->Poll(po));
      for (const auto& r : batch) {
        auto end = ends_.find(r.partition);
        if (end == ends_.end() || r.offset >= end->second) continue;
        KL_ASSIGN_OR_RETURN(
            Row row, mapper_.Map(r.partition, r.offset, r.timestamp_ms, r.key, Datum::Bytes(std::string(r.value))));
        out->AppendRow(row);
        if (r.offset + 1 >= end->second) {
          KL_RETURN_IF_ERROR(consumer_->Unassign(r.partition));
          ends_.erase(end);
        }
      }
      if (out->num_rows() > 0) return true;
    }
    return out->num_rows() > 0;
  }

 private:
  std::shared_ptr<log::EventLog> log_;
  std::unique_ptr<log::Consumer> consumer_;
  RowType type_;
  RecordMapper mapper_;
  std::map<int32_t, int64_t> ends_;  // partitions not yet read to their end
};

class LogTableSource : public TableSource {
 public:
  // Keeps a copy of the table's definition (without its source: no cycle).
  LogTableSource(const CatalogObject& table, LogOpener opener)
      : schema_(table.schema), table_(std::make_shared<CatalogObject>(table)), opener_(std::move(opener)) {
    table_->source.reset();
  }
  const RowType& schema() const override { return schema_; }

  Result<std::unique_ptr<RowReader>> Open(const ScanRequest& request, ExecContext& ctx) override {
    const std::string uri = Opt(table_->connector_options, "uri");
    KL_ASSIGN_OR_RETURN(auto log, opener_(uri));
    KL_ASSIGN_OR_RETURN(int64_t start, LogStartOffset(table_->connector_options));
    std::string group = Opt(table_->connector_options, "properties.group.id", "kubelake-sql-read-" + RandomUuid());
    KL_ASSIGN_OR_RETURN(auto consumer, log->NewConsumer(group));
    std::map<int32_t, int64_t> ends;
    for (int32_t p = 0; p < log->NumPartitions(); ++p) {
      KL_ASSIGN_OR_RETURN(int64_t end, log->EndOffset(p));
      KL_RETURN_IF_ERROR(consumer->Seek(p, start));
      KL_ASSIGN_OR_RETURN(int64_t at, consumer->Position(p));
      if (at < end) {
        ends[p] = end;
      } else {
        KL_RETURN_IF_ERROR(consumer->Unassign(p));
      }
    }
    KL_ASSIGN_OR_RETURN(auto all, LogColumns(*table_));
    std::vector<DataField> fields;
    for (int c : request.columns) fields.push_back(schema_.field(static_cast<size_t>(c)));
    RecordMapper mapper(Select(all, request.columns), table_->name);
    return std::unique_ptr<RowReader>(
        new LogBatchReader(std::move(log), std::move(consumer), RowType(fields), std::move(mapper), std::move(ends)));
  }

  std::string Describe(const ScanRequest& request) const override {
    std::vector<std::string> cols;
    for (int c : request.columns) cols.push_back(schema_.field(static_cast<size_t>(c)).name);
    return "kubelake-log " + Opt(table_->connector_options, "uri") + " columns=[" + Join(cols, ", ") + "]";
  }

 private:
  RowType schema_;
  std::shared_ptr<CatalogObject> table_;
  LogOpener opener_;
};

class SinkOnlySource : public TableSource {
 public:
  SinkOnlySource(RowType schema, std::string what) : schema_(std::move(schema)), what_(std::move(what)) {}
  const RowType& schema() const override { return schema_; }
  Result<std::unique_ptr<RowReader>> Open(const ScanRequest&, ExecContext&) override {
    return Status::NotSupported(what_ + " is a sink: kubelake writes it and does not read it");
  }
  std::string Describe(const ScanRequest&) const override { return what_; }

 private:
  RowType schema_;
  std::string what_;
};

// A log table's streaming source: the log source, mapped to the table's columns.
class LogTableStreamSource : public pipeline::Source {
 public:
  // Record bytes per batch (PollBatch): the records read, the column they are copied
  // into and the sink's encoder reading that stay in a core's cache. With the log's
  // 16 MB per poll, the ODS job's copies went through memory: its source took 0.34-0.44
  // CPU s for 250,505 events (pipeline_bench --staged-only) against 0.19-0.21 s at 1 MB
  // and 0.16-0.17 s at 256 KB.
  static constexpr size_t kBatchPollBytes = 256 << 10;
  // The same when the values are tapped (not copied: LogValueTap) for a Calc that parses
  // them: DWD's operators pay per batch, 0.72-0.75 CPU s at 1 MB and 0.85-0.87 s at 256 KB.
  static constexpr size_t kTappedPollBytes = 1 << 20;

  LogTableStreamSource(std::shared_ptr<log::EventLog> log, std::unique_ptr<pipeline::LogSource> inner, RowType type,
                       RecordMapper mapper)
      : log_(std::move(log)), inner_(std::move(inner)), type_(std::move(type)), mapper_(std::move(mapper)) {}
  std::string name() const override { return inner_->name(); }
  const RowType& output_type() const override { return type_; }
  Status Restore(const std::optional<pipeline::SourcePosition>& position) override { return inner_->Restore(position); }
  Status Poll(size_t max_changes, int64_t timeout_ms, pipeline::Changes* out) override {
    // The records' rows (partition, offset, timestamp, key, value) become the table's, in place.
    size_t first = out->size();
    KL_RETURN_IF_ERROR(inner_->Poll(max_changes, timeout_ms, out));
    for (size_t i = first; i < out->size(); ++i) {
      Row& r = (*out)[i].row;
      Status mapped = mapper_.MapInto(static_cast<int32_t>(r[0].as_int()), r[1].as_int(), r[2].as_int(),
                                      r[3].is_null() ? std::string_view() : std::string_view(r[3].as_bytes()),
                                      std::move(r[4]), &scratch_);
      if (!mapped.ok()) {
        out->resize(first);
        return mapped;
      }
      // The record's row becomes the scratch row of the next one: no allocation per record.
      std::swap(r, scratch_);
    }
    return Status::OK();
  }
  // Metadata and whole values need no per-record work: a job whose operators and sink take
  // batches gets the records as columns, without a row (and a string per value) each.
  bool emits_batches() const override { return mapper_.reads_no_json(); }
  Status PollBatch(size_t max_changes, int64_t timeout_ms, pipeline::ChangeBatch* out) override {
    if (!mapper_.reads_no_json()) return Source::PollBatch(max_changes, timeout_ms, out);
    // The tap carries the values of a batch that is theirs alone (a fresh one, as a job polls):
    // rows added to one whose values are in the tap would have theirs nowhere.
    if (tap_ != nullptr && tap_->filled && !out->empty()) {
      return Status::Internal("log source " + name() + ": a batch polled into holds tapped values");
    }
    log::RecordBatch records;
    const bool tapping = tap_ != nullptr && out->empty();
    KL_RETURN_IF_ERROR(
        inner_->PollRecords(max_changes, timeout_ms, &records, tapping ? kTappedPollBytes : kBatchPollBytes));
    if (records.empty()) return Status::OK();
    if (out->rows.num_columns() == 0) out->rows = ColumnBatch(type_);
    mapper_.AppendColumns(records, &out->rows, tapping ? tap_->column : -1);
    out->kinds.resize(out->kinds.size() + records.size(), format::RowKind::kInsert);
    if (tapping) {
      tap_->records = std::move(records);
      tap_->padding = log_->value_padding();
      tap_->filled = true;
    }
    return Status::OK();
  }
  bool Tap(std::shared_ptr<LogValueTap> tap) {
    if (!mapper_.reads_no_json() || !mapper_.is_value(tap->column)) return false;
    tap_ = std::move(tap);
    return true;
  }
  pipeline::SourcePosition position() const override { return inner_->position(); }
  bool more_waiting() const override { return inner_->more_waiting(); }
  Status Committed(const pipeline::SourcePosition& position) override { return inner_->Committed(position); }

 private:
  std::shared_ptr<log::EventLog> log_;  // outlives the source's consumer
  std::unique_ptr<pipeline::LogSource> inner_;
  RowType type_;
  RecordMapper mapper_;
  Row scratch_;
  std::shared_ptr<LogValueTap> tap_;  // TapLogValues
};

}  // namespace

Result<int64_t> LogStartOffset(const std::map<std::string, std::string>& options) {
  std::string mode = Opt(options, "scan.startup.mode", "group-offsets");
  if (mode == "earliest-offset") return log::kOffsetBeginning;
  if (mode == "latest-offset") return log::kOffsetEnd;
  if (mode == "group-offsets") return log::kOffsetCommitted;
  return Status::InvalidArgument("'scan.startup.mode' = '" + mode +
                                 "': kubelake-log tables take 'earliest-offset', 'latest-offset' or 'group-offsets'");
}

Result<std::shared_ptr<CatalogObject>> MakeConnectorTable(const Statement& st, const std::string& catalog,
                                                          const std::string& database, LogOpener opener) {
  auto obj = std::make_shared<CatalogObject>();
  obj->kind = ObjectKind::kTable;
  obj->catalog = catalog;
  obj->database = database;
  obj->name = st.name.last();
  obj->connector_options = st.options;
  obj->primary_key = st.primary_key;
  obj->comment = st.comment;
  std::string connector = Opt(st.options, "connector");
  std::vector<DataField> fields;
  std::set<std::string> names;
  for (const auto& c : st.columns) {
    if (!names.insert(c.name).second) return ErrorAt(c.pos, "column " + QuoteIdentifier(c.name) + " is defined twice");
    ConnectorColumn cc;
    cc.name = c.name;
    cc.type = c.type;
    if (c.computed) {
      cc.kind = ConnectorColumn::Kind::kComputed;
      cc.expr_text = c.computed_text;
    } else if (c.metadata) {
      cc.kind = ConnectorColumn::Kind::kMetadata;
      cc.metadata_key = c.metadata_key;
      cc.is_virtual = c.is_virtual;
    }
    if (cc.kind != ConnectorColumn::Kind::kComputed) {
      fields.push_back({static_cast<int32_t>(fields.size()), c.name, c.type, c.comment});
    }
    obj->connector_columns.push_back(std::move(cc));
  }
  for (const auto& k : st.primary_key) {
    if (!names.count(k)) return ErrorAt(st.pos, "PRIMARY KEY column " + QuoteIdentifier(k) + " is not a column");
  }
  obj->schema = RowType(fields);
  if (connector == "kubelake-log") {
    if (Opt(st.options, "uri").empty()) {
      return ErrorAt(st.pos, "a 'kubelake-log' table needs 'uri' (dir:/path/to/log or kafka://brokers/topic)");
    }
    auto start = LogStartOffset(st.options);
    if (!start.ok()) return ErrorAt(st.pos, start.status().message());
    std::string format = Opt(st.options, "format", Opt(st.options, "value.format", "raw"));
    if (format != "raw" && format != "json") {
      return ErrorAt(st.pos, "'format' = '" + format + "': kubelake-log tables read values as 'raw' or 'json'");
    }
    size_t physical = 0;
    for (const auto& c : st.columns) {
      if (c.computed) continue;
      if (c.metadata) {
        std::string key = c.metadata_key.empty() ? c.name : c.metadata_key;
        if (!kLogMetadata.count(key)) {
          return ErrorAt(c.pos, "METADATA FROM '" + key +
                                    "': a kubelake-log table offers 'timestamp', 'key', 'partition' and 'offset'");
        }
        TypeRoot r = c.type.root();
        bool ok = key == "key"         ? IsStringType(c.type)
                  : key == "timestamp" ? (IsIntegral(c.type) && r == TypeRoot::kBigInt) || r == TypeRoot::kTimestamp ||
                                             r == TypeRoot::kTimestampLtz
                  : key == "partition" ? r == TypeRoot::kInt || r == TypeRoot::kBigInt
                                       : r == TypeRoot::kBigInt;
        if (!ok) {
          return ErrorAt(c.pos, "METADATA FROM '" + key + "' cannot be " + TypeName(c.type) +
                                    " (timestamp: BIGINT milliseconds or TIMESTAMP_LTZ(3); key: STRING; partition: "
                                    "INT; offset: BIGINT)");
        }
        continue;
      }
      ++physical;
      if (format == "raw" && !IsStringType(c.type) && c.type.root() != TypeRoot::kVarBinary &&
          c.type.root() != TypeRoot::kBinary) {
        return ErrorAt(c.pos,
                       "with 'format' = 'raw' the record's value is a STRING or BYTES column, not " + TypeName(c.type));
      }
    }
    if (format == "raw" && physical != 1) {
      return ErrorAt(st.pos,
                     "a kubelake-log table with 'format' = 'raw' has exactly one physical column (the value); "
                     "declare the others METADATA or use 'format' = 'json'");
    }
    obj->source = std::make_shared<LogTableSource>(*obj, std::move(opener));
    return obj;
  }
  if (connector == "jdbc") {
    std::string url = Opt(st.options, "url");
    if (url.rfind("jdbc:postgresql://", 0) != 0) {
      return ErrorAt(st.pos,
                     "a 'jdbc' table needs 'url' = 'jdbc:postgresql://host:port/database' (kubelake writes "
                     "PostgreSQL)");
    }
    if (Opt(st.options, "table-name").empty()) return ErrorAt(st.pos, "a 'jdbc' table needs 'table-name'");
    for (const auto& c : st.columns) {
      if (c.metadata || c.computed) {
        return ErrorAt(c.pos, "a 'jdbc' table has physical columns only (" + c.name + " is not)");
      }
    }
    obj->source = std::make_shared<SinkOnlySource>(obj->schema, "jdbc table " + obj->name);
    return obj;
  }
  if (connector == "print") {
    for (const auto& c : st.columns) {
      if (c.metadata || c.computed) {
        return ErrorAt(c.pos, "a 'print' table has physical columns only (" + c.name + " is not)");
      }
    }
    obj->source = std::make_shared<SinkOnlySource>(obj->schema, "print table " + obj->name);
    return obj;
  }
  if (connector.empty()) {
    return ErrorAt(st.pos,
                   "CREATE TEMPORARY TABLE needs 'connector' ('kubelake-log', 'jdbc' or 'print'); Paimon "
                   "tables are created without TEMPORARY");
  }
  return ErrorAt(st.pos, "'connector' = '" + connector + "' is not one kubelake has ('kubelake-log', 'jdbc', 'print')");
}

bool TapLogValues(pipeline::Source* source, std::shared_ptr<LogValueTap> tap) {
  auto* s = dynamic_cast<LogTableStreamSource*>(source);
  return s != nullptr && s->Tap(std::move(tap));
}

std::shared_ptr<TableSource> MakeLogBatchSource(const CatalogObject& table, LogOpener opener) {
  return std::make_shared<LogTableSource>(table, std::move(opener));
}

Result<std::unique_ptr<pipeline::Source>> MakeLogTableSource(const CatalogObject& table,
                                                             const std::vector<int>& columns, const std::string& job,
                                                             const LogOpener& opener) {
  KL_ASSIGN_OR_RETURN(auto log, opener(Opt(table.connector_options, "uri")));
  KL_ASSIGN_OR_RETURN(int64_t start, LogStartOffset(table.connector_options));
  std::string group = Opt(table.connector_options, "properties.group.id", "kubelake-sql-" + job);
  KL_ASSIGN_OR_RETURN(auto inner, pipeline::LogSource::Create(log.get(), group, start));
  KL_ASSIGN_OR_RETURN(auto all, LogColumns(table));
  std::vector<DataField> fields;
  for (int c : columns) fields.push_back(table.schema.field(static_cast<size_t>(c)));
  return std::unique_ptr<pipeline::Source>(new LogTableStreamSource(std::move(log), std::move(inner), RowType(fields),
                                                                    RecordMapper(Select(all, columns), table.name)));
}

}  // namespace kl::sql::streaming
