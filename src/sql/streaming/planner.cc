// Planning streaming INSERT jobs onto the pipeline runtime.
#include <algorithm>
#include <set>

#include "common/file/file_util.h"
#include "common/string_util.h"
#include "pipeline/runtime/lookup_join.h"
#include "pipeline/warehouse/cluster_dimensions.h"
#include "sql/binder/binder.h"
#include "sql/binder/types.h"
#include "sql/execution/expression_eval.h"
#include "sql/functions/cast.h"
#include "sql/streaming/jdbc_sink.h"
#include "sql/streaming/operators.h"
#include "sql/streaming/print_sink.h"
#include "sql/streaming/streaming.h"
#include "table/schema/options.h"

namespace kl::sql::streaming {

using format::DataField;
using format::Datum;
using format::Row;
using format::RowType;

namespace {

std::string Opt(const std::map<std::string, std::string>& o, const std::string& k, const std::string& fallback = "") {
  auto it = o.find(k);
  return it == o.end() ? fallback : it->second;
}

bool HasSubquery(const BoundExprPtr& e) {
  if (!e) return false;
  bool found = false;
  VisitExpr(*e, [&](const BoundExpr& x) { found = found || x.kind == BoundKind::kSubquery; });
  return found;
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

struct Built {
  int node = -1;
  bool insert_only = true;
};

// Whether each Top-N's row number is read by anything above it (through
// projections and filters): Top-N emits per rank only when it is.
void AnalyzeRankUse(const LogicalOpPtr& op, const std::set<int>& used, std::map<const LogicalOp*, bool>* out) {
  auto all = [](const LogicalOp& o) {
    std::set<int> s;
    for (size_t i = 0; i < o.schema.size(); ++i) s.insert(static_cast<int>(i));
    return s;
  };
  auto cols = [](const BoundExprPtr& e, std::set<int>* s) {
    if (!e) return;
    std::vector<int> c;
    CollectColumns(*e, &c);
    s->insert(c.begin(), c.end());
  };
  switch (op->kind) {
    case OpKind::kProject: {
      std::set<int> child;
      for (int i : used) {
        if (i >= 0 && static_cast<size_t>(i) < op->exprs.size()) cols(op->exprs[static_cast<size_t>(i)], &child);
      }
      AnalyzeRankUse(op->children[0], child, out);
      return;
    }
    case OpKind::kFilter: {
      std::set<int> child = used;
      cols(op->predicate, &child);
      AnalyzeRankUse(op->children[0], child, out);
      return;
    }
    case OpKind::kTopN:
      if (op->rank_column) (*out)[op.get()] = used.count(static_cast<int>(op->schema.size()) - 1) > 0;
      break;
    default: break;
  }
  for (const auto& c : op->children) AnalyzeRankUse(c, all(*c), out);
}

// `e` with its column references replaced by the expressions they name.
BoundExprPtr InlineColumns(const BoundExprPtr& e, const std::vector<BoundExprPtr>& below) {
  if (e->kind == BoundKind::kColumn) return below[static_cast<size_t>(e->column)];
  auto copy = std::make_shared<BoundExpr>(*e);
  for (auto& a : copy->args) a = InlineColumns(a, below);
  return copy;
}

class Planner {
 public:
  explicit Planner(const JobSettings& s) : s_(s) {}

  std::map<const LogicalOp*, bool> rank_used;  // AnalyzeRankUse

  std::vector<TreeNode> nodes;
  std::vector<std::string> labels;
  std::vector<std::unique_ptr<pipeline::Source>> sources;

  int Add(std::unique_ptr<pipeline::Operator> op, std::vector<int> children, std::string label, int source = -1) {
    TreeNode n;
    n.op = std::move(op);
    n.children = std::move(children);
    n.source = source;
    nodes.push_back(std::move(n));
    labels.push_back(std::move(label));
    return static_cast<int>(nodes.size()) - 1;
  }

  Result<Built> Build(const LogicalOpPtr& op) {
    switch (op->kind) {
      case OpKind::kScan: return Scan(*op);
      case OpKind::kValues: {
        pipeline::Changes rows;
        for (const auto& r : op->rows) rows.push_back({format::RowKind::kInsert, r});
        int src = AddSource(std::make_unique<pipeline::ValuesSource>(op->schema, std::move(rows)));
        return Built{Add(nullptr, {}, "Values rows=" + std::to_string(op->rows.size()), src), true};
      }
      case OpKind::kFilter:
      case OpKind::kProject: return Calc(op);
      case OpKind::kAggregate: {
        KL_RETURN_IF_ERROR(CheckExprs(op->groups));
        for (const auto& a : op->aggregates) {
          KL_RETURN_IF_ERROR(CheckExprs(a.args));
          if (HasSubquery(a.filter)) return Unsupported("subqueries");
        }
        KL_ASSIGN_OR_RETURN(Built child, Build(op->children[0]));
        KL_ASSIGN_OR_RETURN(auto agg, MakeGroupAggregate(*op, s_.exec));
        std::string label = "GroupAggregate groups=[" + Exprs(op->groups) + "] aggregates=[";
        for (size_t i = 0; i < op->aggregates.size(); ++i) label += (i ? ", " : "") + op->aggregates[i].name;
        return Built{Add(std::move(agg), {child.node}, label + "]"), false};
      }
      case OpKind::kTopN: {
        KL_RETURN_IF_ERROR(CheckExprs(op->partition_keys));
        KL_ASSIGN_OR_RETURN(Built child, Build(op->children[0]));
        RankOptions ro;
        ro.insert_only = child.insert_only;
        auto used = rank_used.find(op.get());
        ro.output_rank = op->rank_column && (used == rank_used.end() || used->second);
        KL_ASSIGN_OR_RETURN(auto rank, MakeRank(*op, ro, s_.exec));
        std::string label = "Rank partition=[" + Exprs(op->partition_keys) + "] limit=" + std::to_string(op->limit) +
                            (ro.output_rank ? " with row number" : "") +
                            (child.insert_only ? " (append input)" : " (retracting input)");
        return Built{Add(std::move(rank), {child.node}, label), false};
      }
      case OpKind::kLimit: {
        KL_ASSIGN_OR_RETURN(Built child, Build(op->children[0]));
        if (!child.insert_only) return Unsupported("LIMIT over a query that updates its rows");
        return Built{
            Add(MakeStreamLimit(op->schema, op->limit, op->offset), {child.node}, "Limit " + std::to_string(op->limit)),
            true};
      }
      case OpKind::kJoin: return Join(op);
      case OpKind::kUnion: {
        std::vector<int> kids;
        bool insert_only = true;
        for (const auto& c : op->children) {
          KL_ASSIGN_OR_RETURN(Built b, Build(c));
          kids.push_back(b.node);
          insert_only = insert_only && b.insert_only;
        }
        int u = Add(nullptr, kids, "UnionAll");
        if (op->all) return Built{u, insert_only};
        // UNION: distinct rows, a GROUP BY of every column.
        auto distinct = std::make_shared<LogicalOp>();
        distinct->kind = OpKind::kAggregate;
        distinct->children = {op->children[0]};
        distinct->schema = op->schema;
        for (size_t i = 0; i < op->schema.size(); ++i) {
          distinct->groups.push_back(MakeColumn(static_cast<int>(i), op->schema.type(i), op->schema.field(i).name));
        }
        KL_ASSIGN_OR_RETURN(auto agg, MakeGroupAggregate(*distinct, s_.exec));
        return Built{Add(std::move(agg), {u}, "Distinct"), false};
      }
      case OpKind::kSort:
        return Unsupported("ORDER BY without LIMIT (a streaming result has no order; use ORDER BY ... LIMIT n)");
      case OpKind::kWindow:
        return Unsupported("OVER windows other than ROW_NUMBER() ... WHERE rn <= n (the Top-N pattern)");
      case OpKind::kSetOp: return Unsupported("INTERSECT and EXCEPT");
      case OpKind::kUnnest: return Unsupported("UNNEST");
    }
    return Status::Internal("unknown plan node");
  }

 private:
  static Status Unsupported(const std::string& what) {
    return Status::NotSupported(what +
                                " is not supported in streaming jobs; run the INSERT in batch mode (SET "
                                "'execution.runtime-mode' = 'batch')");
  }
  static Status CheckExprs(const std::vector<BoundExprPtr>& exprs) {
    for (const auto& e : exprs) {
      if (HasSubquery(e)) return Unsupported("subqueries");
    }
    return Status::OK();
  }
  static std::string Exprs(const std::vector<BoundExprPtr>& exprs) {
    std::string s;
    for (size_t i = 0; i < exprs.size(); ++i) s += (i ? ", " : "") + exprs[i]->ToString();
    return s;
  }

  static BoundExprPtr Inline(const BoundExprPtr& e, const std::vector<BoundExprPtr>& below) {
    return InlineColumns(e, below);
  }

  int AddSource(std::unique_ptr<pipeline::Source> src) {
    sources.push_back(std::move(src));
    return static_cast<int>(sources.size()) - 1;
  }

  Result<Built> Calc(const LogicalOpPtr& op) {
    BoundExprPtr predicate;
    std::vector<BoundExprPtr> exprs;
    LogicalOpPtr child;
    if (op->kind == OpKind::kProject) {
      exprs = op->exprs;
      child = op->children[0];
      if (child->kind == OpKind::kFilter) {
        predicate = child->predicate;
        child = child->children[0];
      }
    } else {
      predicate = op->predicate;
      child = op->children[0];
      for (size_t i = 0; i < op->schema.size(); ++i) {
        exprs.push_back(MakeColumn(static_cast<int>(i), child->schema.type(i), child->schema.field(i).name));
      }
    }
    KL_RETURN_IF_ERROR(CheckExprs(exprs));
    if (HasSubquery(predicate)) return Unsupported("subqueries");
    // Projections (and filters) below fold into this Calc: one pass over each row, and
    // JSON calls repeated by the folding still parse each document once.
    while (child->kind == OpKind::kProject || child->kind == OpKind::kFilter) {
      if (child->kind == OpKind::kProject) {
        bool simple = true;
        for (const auto& e : child->exprs) simple = simple && !HasSubquery(e);
        if (!simple) break;
        for (auto& e : exprs) e = Inline(e, child->exprs);
        if (predicate) predicate = Inline(predicate, child->exprs);
      } else {
        if (HasSubquery(child->predicate)) break;
        // The lower filter first: AND evaluates the upper one only where it holds.
        predicate = predicate ? MakeAnd({child->predicate, predicate}) : child->predicate;
      }
      child = child->children[0];
    }
    KL_ASSIGN_OR_RETURN(Built in, Build(child));
    std::string label = "Calc";
    if (predicate) label += " where " + predicate->ToString();
    label += " select " + Exprs(exprs);
    return Built{Add(MakeCalc(child->schema, predicate, exprs, op->schema, s_.exec), {in.node}, label), in.insert_only};
  }

 public:
  // A scan's source without the Calc of its pushed-down conditions: the rows as
  // read, and the conditions and the scan's columns over them. Without `calc`
  // the rows as read are the scan's; with it, `exprs` may still be empty (a
  // COUNT(*) under a pushed-down filter reads no column but filters rows).
  struct RawScan {
    Built built;
    bool calc = false;
    BoundExprPtr predicate;
    std::vector<BoundExprPtr> exprs;
    RowType read_type;
  };

  Result<Built> Scan(const LogicalOp& op) {
    KL_ASSIGN_OR_RETURN(RawScan raw, ScanRaw(op));
    return FinishScan(raw, op);
  }

  Built FinishScan(const RawScan& raw, const LogicalOp& op) {
    if (!raw.calc) return raw.built;
    std::string flabel = "Calc";
    if (raw.predicate) flabel += " where " + raw.predicate->ToString();
    int node = Add(MakeCalc(raw.read_type, raw.predicate, raw.exprs, op.schema, s_.exec, "scan-filter"),
                   {raw.built.node}, flabel);
    return Built{node, raw.built.insert_only};
  }

  Result<RawScan> ScanRaw(const LogicalOp& op) {
    const CatalogObject& t = *op.table;
    if (op.scan_lookup) {
      return Status::NotSupported("FOR SYSTEM_TIME AS OF " + op.scan_lookup_time + " (" + t.name +
                                  ") belongs on the right side of a JOIN ... ON equality with the left side");
    }
    if (op.scan_time_travel || op.table_hints.count("scan.tag-name") || op.table_hints.count("scan.version") ||
        op.table_hints.count("scan.timestamp")) {
      return Status::NotSupported("FOR SYSTEM_TIME AS OF a time, 'scan.timestamp' and tags read one snapshot of " +
                                  t.name +
                                  ", which is a batch read; a streaming job starts at a snapshot with "
                                  "'scan.snapshot-id' or 'scan.timestamp-millis'");
    }
    if (op.scan_sample_ms > 0) {
      KL_ASSIGN_OR_RETURN(auto table, table::Table::Open(t.paimon->path(), op.table_hints));
      std::vector<std::string> columns;
      for (int c : op.scan_columns) {
        columns.push_back(static_cast<size_t>(c) < t.schema.size() ? t.schema.field(static_cast<size_t>(c)).name : "");
      }
      KL_ASSIGN_OR_RETURN(auto source,
                          pipeline::TableSamplesSource::Create(
                              table, columns, op.scan_sample_ms,
                              // its samples' snapshots outlive expiry
                              op.table_hints.count("consumer-id") ? op.table_hints.at("consumer-id") : s_.name));
      int src = AddSource(std::move(source));
      return RawScan{
          Built{Add(nullptr, {},
                    "Source: snapshots of " + t.name + " every " + std::to_string(op.scan_sample_ms) + " ms", src),
                true},
          false,
          nullptr,
          {},
          RowType()};
    }
    // The source reads the scan's columns plus those of its pushed-down conditions.
    std::vector<int> read = op.scan_columns;
    std::vector<int> pk;
    if (t.paimon && t.kind == ObjectKind::kTable) {
      for (const auto& k : t.paimon->schema().primary_keys) pk.push_back(t.schema.IndexOf(k));
    }
    for (const auto& f : op.scan_filters) {
      std::vector<int> cols;
      CollectColumns(*f, &cols);
      for (int c : cols) {
        if (std::find(read.begin(), read.end(), c) == read.end()) read.push_back(c);
      }
    }
    bool normalize = false;
    std::string label;
    int src = -1;
    bool insert_only = true;
    if (t.is_connector()) {
      if (t.connector() != "kubelake-log") {
        return Status::NotSupported("'" + t.connector() + "' tables are sinks; a streaming job cannot read " + t.name);
      }
      KL_ASSIGN_OR_RETURN(auto source, MakeLogTableSource(t, read, s_.name, s_.log_opener));
      label =
          "Source: " + source->name() + " startup=" + Opt(t.connector_options, "scan.startup.mode", "group-offsets");
      src = AddSource(std::move(source));
    } else if (t.paimon && t.kind == ObjectKind::kTable) {
      const auto& schema = t.paimon->schema();
      std::map<std::string, std::string> options = schema.options;
      for (const auto& [k, v] : op.table_hints) options[k] = v;
      table::TableOptions o(options);
      if (!schema.primary_keys.empty()) {
        insert_only = false;
        if (o.changelog_producer() == table::ChangelogProducer::kNone) {
          if (o.merge_engine() == table::MergeEngine::kAggregation ||
              o.merge_engine() == table::MergeEngine::kPartialUpdate) {
            return Status::NotSupported(
                "a streaming read of " + t.name + " (merge engine " + Opt(options, "merge-engine") +
                ", no changelog producer) would see partial records, not rows; set 'changelog-producer' = 'lookup' "
                "on the table");
          }
          normalize = true;
          for (int c : pk) {
            if (std::find(read.begin(), read.end(), c) == read.end()) read.push_back(c);
          }
        }
      }
      KL_ASSIGN_OR_RETURN(auto table, table::Table::Open(t.paimon->path(), op.table_hints));
      pipeline::TableChangeOptions tco;
      std::string mode = Opt(options, "scan.mode", "default");
      std::string snapshot = Opt(options, "scan.snapshot-id");
      std::string millis = Opt(options, "scan.timestamp-millis");
      if (mode == "default") {
        mode = !snapshot.empty() ? "from-snapshot" : !millis.empty() ? "from-timestamp" : "latest-full";
      }
      if (mode == "latest-full" || mode == "full" || mode == "compacted-full") {
        tco.start = table::StreamStart::kLatestFull;
      } else if (mode == "latest") {
        tco.start = table::StreamStart::kLatest;
      } else if (mode == "from-snapshot" || mode == "from-snapshot-full") {
        auto id = ParseInt64(snapshot);
        if (!id || *id < 1) {
          return Status::InvalidArgument("'scan.mode' = '" + mode + "' needs 'scan.snapshot-id' (a snapshot number)");
        }
        tco.start = mode == "from-snapshot" ? table::StreamStart::kFromSnapshot : table::StreamStart::kFromSnapshotFull;
        tco.start_snapshot = *id;
      } else if (mode == "from-timestamp") {
        auto ms = ParseInt64(millis);
        if (!ms) return Status::InvalidArgument("'scan.mode' = 'from-timestamp' needs 'scan.timestamp-millis'");
        KL_ASSIGN_OR_RETURN(auto at, table->snapshots().AtOrBefore(*ms));
        tco.start = table::StreamStart::kFromSnapshot;
        if (at) {
          tco.start_snapshot = at->id + 1;
        } else {
          KL_ASSIGN_OR_RETURN(auto earliest, table->snapshots().EarliestId());
          tco.start_snapshot = earliest.value_or(1);
        }
      } else {
        return Status::InvalidArgument("'scan.mode' = '" + mode +
                                       "' is not a streaming scan mode (default, latest-full, full, latest, "
                                       "from-snapshot, from-snapshot-full, from-timestamp, compacted-full)");
      }
      tco.consumer_id = Opt(options, "consumer-id");
      tco.start_from_consumer = !tco.consumer_id.empty();
      // The conditions pushed into the scan are decided on the read's columns, so rows the
      // job drops are never built (the Calc or aggregate above still applies them). A
      // changelog to be normalized must arrive whole: its filter stays above the normalize.
      if (!normalize && op.scan_pushed.size() == op.scan_filters.size()) {
        for (const auto& f : op.scan_pushed) {
          tco.filter.And({t.schema.field(static_cast<size_t>(f.column)).name, f.op, f.literal, f.literals});
        }
      }
      std::vector<std::string> names;
      for (int c : read) names.push_back(t.schema.field(static_cast<size_t>(c)).name);
      KL_ASSIGN_OR_RETURN(auto source, pipeline::TableChangeSource::Create(table, names, tco));
      label = "Source: paimon " + t.name + " scan.mode=" + mode +
              (tco.consumer_id.empty() ? "" : " consumer-id=" + tco.consumer_id) +
              (tco.filter.empty() ? "" : " filter=[" + tco.filter.ToString() + "]");
      src = AddSource(std::move(source));
    } else {
      return Status::NotSupported(t.FullName() +
                                  " cannot be read by a streaming job (system and virtual tables are "
                                  "read in batch queries)");
    }
    // Columns as read.
    std::vector<DataField> fields;
    for (int c : read) fields.push_back(t.schema.field(static_cast<size_t>(c)));
    RowType read_type(fields);
    label += " columns=[";
    for (size_t i = 0; i < fields.size(); ++i) label += (i ? ", " : "") + fields[i].name;
    label += "]";
    int node = Add(nullptr, {}, label, src);
    if (normalize) {
      std::vector<int> keys;
      for (int c : pk) keys.push_back(static_cast<int>(std::find(read.begin(), read.end(), c) - read.begin()));
      node = Add(MakeChangelogNormalize(read_type, keys), {node}, "ChangelogNormalize (no changelog producer)");
    }
    bool reshaped = read != op.scan_columns;
    if (op.scan_filters.empty() && !reshaped) return RawScan{Built{node, insert_only}, false, nullptr, {}, read_type};
    // Pushed-down conditions apply here; extra columns read for them go.
    std::vector<int> pos_of(t.schema.size(), -1);
    for (size_t i = 0; i < read.size(); ++i) pos_of[static_cast<size_t>(read[i])] = static_cast<int>(i);
    std::vector<BoundExprPtr> terms;
    for (const auto& f : op.scan_filters) terms.push_back(RemapColumns(f, pos_of));
    BoundExprPtr predicate = terms.empty() ? nullptr : MakeAnd(terms);
    std::vector<BoundExprPtr> exprs;
    for (int c : op.scan_columns) {
      int p = pos_of[static_cast<size_t>(c)];
      exprs.push_back(
          MakeColumn(p, read_type.type(static_cast<size_t>(p)), read_type.field(static_cast<size_t>(p)).name));
    }
    return RawScan{Built{node, insert_only}, true, predicate, std::move(exprs), read_type};
  }

 private:
  Result<Built> Join(const LogicalOpPtr& op) {
    KL_RETURN_IF_ERROR(CheckExprs(op->left_keys));
    KL_RETURN_IF_ERROR(CheckExprs(op->right_keys));
    if (HasSubquery(op->join_condition)) return Unsupported("subqueries");
    const LogicalOpPtr& right = op->children[1];
    if (right->kind == OpKind::kScan && right->scan_lookup) return LookupJoin(op);
    if (op->children[0]->kind == OpKind::kScan && op->children[0]->scan_lookup) {
      return Status::NotSupported("the FOR SYSTEM_TIME AS OF table of a lookup join goes on the right side");
    }
    KL_ASSIGN_OR_RETURN(Built l, Build(op->children[0]));
    KL_ASSIGN_OR_RETURN(Built r, Build(right));
    KL_ASSIGN_OR_RETURN(auto join, MakeStreamJoin(*op, s_.exec));
    static const char* kTypes[] = {"inner", "left", "right", "full", "cross", "semi", "anti"};
    std::string label = std::string("Join ") + kTypes[static_cast<int>(op->join_type)] + " keys=[" +
                        Exprs(op->left_keys) + "] = [" + Exprs(op->right_keys) + "]";
    bool insert_only = op->join_type == JoinType::kInner && l.insert_only && r.insert_only;
    return Built{Add(std::move(join), {l.node, r.node}, label), insert_only};
  }

  Result<Built> LookupJoin(const LogicalOpPtr& op) {
    const LogicalOp& scan = *op->children[1];
    const CatalogObject& t = *scan.table;
    if (!t.paimon || t.kind != ObjectKind::kTable) {
      return Status::NotSupported("lookup joins read Paimon tables; " + t.name + " is not one");
    }
    if (op->join_type != JoinType::kInner && op->join_type != JoinType::kLeft) {
      return Status::NotSupported("a lookup join (FOR SYSTEM_TIME AS OF) is an INNER or LEFT JOIN");
    }
    if (op->left_keys.empty()) {
      return Status::NotSupported("a lookup join needs an equality between the left side and a column of " + t.name);
    }
    if (op->join_condition && op->join_type == JoinType::kLeft) {
      return Status::NotSupported("a LEFT lookup join with conditions besides key equalities");
    }
    KL_ASSIGN_OR_RETURN(Built left, Build(op->children[0]));
    const RowType& left_type = op->children[0]->schema;
    pipeline::LookupJoinSpec spec;
    KL_ASSIGN_OR_RETURN(spec.table, table::Table::Open(t.paimon->path(), scan.table_hints));
    int input = left.node;
    RowType input_type = left_type;
    // Key expressions that are not plain columns are computed first, after the left columns.
    std::vector<BoundExprPtr> extra;
    for (size_t k = 0; k < op->left_keys.size(); ++k) {
      const BoundExprPtr& lk = op->left_keys[k];
      const BoundExprPtr& rk = op->right_keys[k];
      if (rk->kind != BoundKind::kColumn) {
        return Status::NotSupported("lookup join keys must be plain columns of " + t.name);
      }
      spec.table_keys.push_back(scan.schema.field(static_cast<size_t>(rk->column)).name);
      if (lk->kind == BoundKind::kColumn) {
        spec.input_key_indexes.push_back(lk->column);
      } else {
        spec.input_key_indexes.push_back(static_cast<int>(left_type.size() + extra.size()));
        extra.push_back(lk);
      }
    }
    if (!extra.empty()) {
      std::vector<BoundExprPtr> exprs;
      std::vector<DataField> fields = left_type.fields();
      for (size_t i = 0; i < left_type.size(); ++i) {
        exprs.push_back(MakeColumn(static_cast<int>(i), left_type.type(i), left_type.field(i).name));
      }
      for (const auto& e : extra) {
        exprs.push_back(e);
        fields.push_back(
            {static_cast<int32_t>(fields.size()), "lookup_key" + std::to_string(fields.size()), e->type, ""});
      }
      input_type = RowType(fields);
      input = Add(MakeCalc(left_type, nullptr, exprs, input_type, s_.exec, "lookup-keys"), {input}, "Calc lookup keys");
    }
    for (int c : scan.scan_columns) spec.columns.push_back(t.schema.field(static_cast<size_t>(c)).name);
    if (!scan.scan_filters.empty()) {
      // Conditions on the table alone (pushed into its scan) select the rows joined.
      auto pred = MakeAnd(scan.scan_filters);
      RowType full = t.schema;
      ExecContext ctx = s_.exec;
      spec.table_filter = [pred, full, ctx](const Row& row) mutable {
        format::ColumnBatch b(full);
        b.AppendRow(row);
        std::vector<uint32_t> sel;
        return EvaluateFilter(*pred, b, ctx, &sel).ok() && !sel.empty();
      };
    }
    spec.inner = op->join_type == JoinType::kInner;
    std::string label = std::string("LookupJoin ") + (spec.inner ? "inner " : "left ") + t.name + " keys=[" +
                        kl::Join(spec.table_keys, ", ") + "] as of " + scan.scan_lookup_time;
    KL_ASSIGN_OR_RETURN(auto lj, pipeline::MakeLookupJoin(input_type, spec));
    int node = Add(std::move(lj), {input}, label);
    RowType joined = lj_output(input_type, scan);
    if (!extra.empty() || op->join_condition) {
      // Drop the computed keys; an INNER join's other conditions filter.
      std::vector<BoundExprPtr> exprs;
      for (size_t i = 0; i < left_type.size(); ++i) {
        exprs.push_back(MakeColumn(static_cast<int>(i), joined.type(i), joined.field(i).name));
      }
      size_t base = input_type.size();
      for (size_t i = 0; i < scan.schema.size(); ++i) {
        exprs.push_back(MakeColumn(static_cast<int>(base + i), joined.type(base + i), joined.field(base + i).name));
      }
      BoundExprPtr predicate;
      if (op->join_condition) {
        std::vector<int> mapping;
        for (size_t i = 0; i < left_type.size(); ++i) mapping.push_back(static_cast<int>(i));
        for (size_t i = 0; i < scan.schema.size(); ++i) mapping.push_back(static_cast<int>(base + i));
        predicate = RemapColumns(op->join_condition, mapping);
      }
      node = Add(MakeCalc(joined, predicate, exprs, op->schema, s_.exec, "lookup-join-condition"), {node},
                 predicate ? "Calc where " + predicate->ToString() : "Calc");
    }
    return Built{node, left.insert_only};
  }

  static RowType lj_output(const RowType& input, const LogicalOp& scan) {
    std::vector<DataField> fields = input.fields();
    for (const auto& f : scan.schema.fields()) {
      fields.push_back({static_cast<int32_t>(fields.size()), f.name, f.type.WithNullable(true), ""});
    }
    return RowType(fields);
  }

  const JobSettings& s_;
};

// GROUP BY whose every result goes into a summing aggregation table keyed by the
// groups: the job emits each checkpoint's deltas and the table's merge sums them
// (no state; the hand-wired warehouse's counts, from SQL).
struct DeltaPlan {
  LogicalOpPtr aggregate;
  std::vector<int> target_of_output;  // per aggregate output column: its target column
};

std::optional<DeltaPlan> FindDeltaAggregate(const LogicalOpPtr& root, const std::vector<int>& into,
                                            const table::TableSchema& target) {
  table::TableOptions o(target.options);
  if (target.primary_keys.empty() || o.merge_engine() != table::MergeEngine::kAggregation || o.ignore_delete()) {
    return std::nullopt;
  }
  LogicalOpPtr agg = root;
  std::vector<int> out_of(root->schema.size());  // query column -> aggregate output column
  for (size_t i = 0; i < out_of.size(); ++i) out_of[i] = static_cast<int>(i);
  if (root->kind == OpKind::kProject) {
    for (size_t i = 0; i < root->exprs.size(); ++i) {
      if (root->exprs[i]->kind != BoundKind::kColumn) return std::nullopt;
      out_of[i] = root->exprs[i]->column;
    }
    agg = root->children[0];
  }
  if (agg->kind != OpKind::kAggregate || agg->groups.empty()) return std::nullopt;
  size_t ng = agg->groups.size();
  DeltaPlan plan;
  plan.aggregate = agg;
  plan.target_of_output.assign(agg->schema.size(), -1);
  std::set<int> fed;
  for (size_t q = 0; q < out_of.size(); ++q) {
    int a = out_of[q];
    if (plan.target_of_output[static_cast<size_t>(a)] >= 0) return std::nullopt;  // one output twice
    plan.target_of_output[static_cast<size_t>(a)] = into[q];
    fed.insert(into[q]);
  }
  const RowType& t = target.fields;
  if (fed.size() != t.size()) return std::nullopt;
  std::set<std::string> pk(target.primary_keys.begin(), target.primary_keys.end());
  std::string default_fn = o.GetString("fields.default-aggregate-function", "");
  for (size_t a = 0; a < agg->schema.size(); ++a) {
    int to = plan.target_of_output[a];
    if (to < 0) return std::nullopt;
    const std::string& name = t.field(static_cast<size_t>(to)).name;
    if (a < ng) {
      if (!pk.count(name)) return std::nullopt;
      continue;
    }
    if (pk.count(name)) return std::nullopt;
    std::string fn = o.FieldOption(name, "aggregate-function").value_or(default_fn);
    if (fn != "sum") return std::nullopt;
    if (t.type(static_cast<size_t>(to)).physical() != format::PhysicalKind::kInt) return std::nullopt;
    const AggregateCall& call = agg->aggregates[a - ng];
    if (call.distinct) return std::nullopt;
    if (call.name == "COUNT") continue;
    if (call.name == "SUM" && call.args.size() == 1 && call.args[0]->type.physical() == format::PhysicalKind::kInt) {
      continue;
    }
    return std::nullopt;
  }
  if (pk.size() != ng) return std::nullopt;
  return plan;
}

Result<int> BuildDeltaAggregate(Planner* p, const DeltaPlan& d, const JobSettings& s) {
  const LogicalOp& agg = *d.aggregate;
  size_t ng = agg.groups.size();
  std::vector<BoundExprPtr> exprs = agg.groups;
  std::vector<int> arg_col, filter_col;
  for (const auto& call : agg.aggregates) {
    arg_col.push_back(call.args.empty() ? -1 : static_cast<int>(exprs.size()));
    if (!call.args.empty()) exprs.push_back(call.args[0]);
  }
  for (const auto& call : agg.aggregates) {
    filter_col.push_back(call.filter ? static_cast<int>(exprs.size()) : -1);
    if (call.filter) exprs.push_back(call.filter);
  }
  auto columns_only = [](const std::vector<BoundExprPtr>& v) {
    for (const auto& e : v) {
      if (e->kind != BoundKind::kColumn || e->column < 0) return false;
    }
    return true;
  };
  // The warehouse's counts and sums (WHERE deleted IS NOT TRUE AND ... GROUP BY cluster,
  // kind) read columns under a filter of columns against constants: the filters and
  // projections below fold into the extraction, which reads the source's rows as they
  // come, decides the filter on each and takes its columns, with no Calc copying them.
  std::vector<BoundExprPtr> folded = exprs;
  BoundExprPtr predicate;
  LogicalOpPtr below = agg.children[0];
  while (below->kind == OpKind::kProject || below->kind == OpKind::kFilter) {
    if (below->kind == OpKind::kProject) {
      bool simple = true;
      for (const auto& e : below->exprs) simple = simple && !HasSubquery(e);
      if (!simple) break;
      for (auto& e : folded) e = InlineColumns(e, below->exprs);
      if (predicate) predicate = InlineColumns(predicate, below->exprs);
    } else {
      if (HasSubquery(below->predicate)) break;
      predicate = predicate ? MakeAnd({below->predicate, predicate}) : below->predicate;
    }
    below = below->children[0];
  }
  std::function<bool(const Row&)> row_filter;
  bool fold = columns_only(folded) && (!predicate || (row_filter = MakeRowPredicate(*predicate)) != nullptr);
  std::string label = "DeltaAggregate (sums deltas into the aggregation table; no state)";
  std::vector<size_t> at(exprs.size());
  int pre;
  if (fold) {
    Built child;
    if (below->kind == OpKind::kScan && !below->scan_lookup) {
      // The conditions pushed into the scan fold in as well when the result still
      // reads columns under such a filter; otherwise the scan keeps its Calc.
      KL_ASSIGN_OR_RETURN(Planner::RawScan raw, p->ScanRaw(*below));
      child = raw.built;
      if (raw.calc) {
        std::vector<BoundExprPtr> over_read = folded;
        for (auto& e : over_read) e = InlineColumns(e, raw.exprs);
        BoundExprPtr pred = predicate ? InlineColumns(predicate, raw.exprs) : nullptr;
        if (raw.predicate && pred) {
          // One conjunction of terms, as a row-wise filter takes them.
          std::vector<BoundExprPtr> terms;
          for (const BoundExprPtr& part : {raw.predicate, pred}) {
            if (part->kind == BoundKind::kAnd) {
              terms.insert(terms.end(), part->args.begin(), part->args.end());
            } else {
              terms.push_back(part);
            }
          }
          pred = MakeAnd(std::move(terms));
        } else if (raw.predicate) {
          pred = raw.predicate;
        }
        std::function<bool(const Row&)> read_filter;
        if (columns_only(over_read) && (!pred || (read_filter = MakeRowPredicate(*pred)) != nullptr)) {
          folded = std::move(over_read);
          predicate = pred;
          row_filter = std::move(read_filter);
        } else {
          child = p->FinishScan(raw, *below);
        }
      }
    } else {
      KL_ASSIGN_OR_RETURN(child, p->Build(below));
    }
    pre = child.node;
    for (size_t i = 0; i < folded.size(); ++i) at[i] = static_cast<size_t>(folded[i]->column);
    if (predicate) label += " where " + predicate->ToString();
  } else {
    KL_ASSIGN_OR_RETURN(Built child, p->Build(agg.children[0]));
    pre = child.node;
    if (columns_only(exprs)) {
      // Columns of the child's rows: read as they come.
      for (size_t i = 0; i < exprs.size(); ++i) at[i] = static_cast<size_t>(exprs[i]->column);
    } else {
      std::vector<DataField> fields;
      for (const auto& e : exprs) fields.push_back({static_cast<int32_t>(fields.size()), "v", e->type, ""});
      const RowType& in = agg.children[0]->schema;
      pre = p->Add(MakeCalc(in, nullptr, exprs, RowType(fields), s.exec, "delta-inputs"), {child.node},
                   "Calc group keys and arguments");
      for (size_t i = 0; i < exprs.size(); ++i) at[i] = i;
    }
  }
  pipeline::DeltaAggregateSpec spec;
  std::vector<DataField> out;
  for (size_t i = 0; i < ng; ++i)
    out.push_back({static_cast<int32_t>(i), agg.schema.field(i).name, agg.schema.type(i), ""});
  for (size_t a = 0; a < agg.aggregates.size(); ++a) {
    out.push_back({static_cast<int32_t>(out.size()), agg.schema.field(ng + a).name, format::DataType::BigInt(), ""});
  }
  spec.output = RowType(out);
  spec.key_columns = ng;
  std::vector<bool> is_count;
  for (const auto& call : agg.aggregates) is_count.push_back(call.name == "COUNT");
  spec.extract = [ng, arg_col, filter_col, is_count, at, row_filter](const Row& row, Row* key,
                                                                     std::vector<int64_t>* values) {
    if (row_filter && !row_filter(row)) return false;
    for (size_t i = 0; i < ng; ++i) key->push_back(row[at[i]]);
    for (size_t a = 0; a < arg_col.size(); ++a) {
      int64_t v = 0;
      bool counted = true;
      if (filter_col[a] >= 0) {
        const Datum& f = row[at[static_cast<size_t>(filter_col[a])]];
        counted = !f.is_null() && f.as_int() != 0;
      }
      if (counted) {
        if (arg_col[a] < 0) {
          v = 1;
        } else {
          const Datum& x = row[at[static_cast<size_t>(arg_col[a])]];
          v = x.is_null() ? 0 : is_count[a] ? 1 : x.as_int();
        }
      }
      values->push_back(v);
    }
    return true;
  };
  // The same on a batch's columns, when the filter can be decided there and the summed
  // and filter columns are integers: a job following a table then hands the aggregate its
  // reads as they are (Source::emits_batches).
  std::function<bool(const format::ColumnBatch&, size_t)> batch_filter;
  bool batch_ok = true;
  if (row_filter) {
    batch_filter = MakeBatchRowPredicate(*predicate);  // the row filter's terms: always one
    batch_ok = batch_filter != nullptr;
  }
  const std::vector<BoundExprPtr>& read = fold ? folded : exprs;
  auto integer = [&](int e) { return read[static_cast<size_t>(e)]->type.physical() == format::PhysicalKind::kInt; };
  for (size_t a = 0; a < arg_col.size(); ++a) {
    if (arg_col[a] >= 0 && !is_count[a]) batch_ok = batch_ok && integer(arg_col[a]);
    if (filter_col[a] >= 0) batch_ok = batch_ok && integer(filter_col[a]);
  }
  if (batch_ok) {
    spec.extract_at = [ng, arg_col, filter_col, is_count, at, batch_filter](const format::ColumnBatch& batch, size_t r,
                                                                            Row* key, std::vector<int64_t>* values) {
      if (batch_filter && !batch_filter(batch, r)) return false;
      if (key != nullptr) {
        for (size_t i = 0; i < ng; ++i) key->push_back(batch.column(at[i]).Get(r));
      }
      for (size_t a = 0; a < arg_col.size(); ++a) {
        int64_t v = 0;
        bool counted = true;
        if (filter_col[a] >= 0) {
          const format::Column& f = batch.column(at[static_cast<size_t>(filter_col[a])]);
          counted = !f.IsNull(r) && f.GetInt(r) != 0;
        }
        if (counted) {
          if (arg_col[a] < 0) {
            v = 1;
          } else {
            const format::Column& x = batch.column(at[static_cast<size_t>(arg_col[a])]);
            v = x.IsNull(r) ? 0 : is_count[a] ? 1 : x.GetInt(r);
          }
        }
        values->push_back(v);
      }
      return true;
    };
    spec.key_at.assign(at.begin(), at.begin() + static_cast<std::ptrdiff_t>(ng));
  }
  return p->Add(pipeline::MakeDeltaAggregate(std::move(spec), "delta-aggregate"), {pre}, label);
}

std::string Render(const Planner& p, int node, int depth) {
  std::string s(static_cast<size_t>(depth) * 2, ' ');
  s += p.labels[static_cast<size_t>(node)] + "\n";
  for (int c : p.nodes[static_cast<size_t>(node)].children) s += Render(p, c, depth + 1);
  return s;
}

struct Assembled {
  pipeline::JobParts parts;
  std::string explain;
};

Result<Assembled> Assemble(const LogicalOpPtr& plan, const InsertTarget& target, const JobSettings& s) {
  const CatalogObject& obj = *target.table;
  RowType target_type = obj.paimon ? obj.paimon->schema().fields : obj.schema;
  // Which target column each query column fills.
  std::vector<int> into;
  if (target.columns.empty()) {
    for (size_t i = 0; i < target_type.size(); ++i) into.push_back(static_cast<int>(i));
  } else {
    for (const auto& c : target.columns) {
      int idx = target_type.IndexOf(c);
      if (idx < 0) {
        return Status::InvalidArgument("table " + obj.name + " has no column " + QuoteIdentifier(c) +
                                       DidYouMean(c, target_type.names()));
      }
      into.push_back(idx);
    }
  }
  if (plan->schema.size() != into.size()) {
    return Status::InvalidArgument("INSERT into " + obj.name + ": the query gives " +
                                   std::to_string(plan->schema.size()) + " columns but " + std::to_string(into.size()) +
                                   " are written");
  }
  for (size_t i = 0; i < into.size(); ++i) {
    const auto& from = plan->schema.type(i);
    const auto& to = target_type.type(static_cast<size_t>(into[i]));
    if (!CastSupported(from, to)) {
      return Status::InvalidArgument("column " + QuoteIdentifier(target_type.field(static_cast<size_t>(into[i])).name) +
                                     " of " + obj.name + " is " + TypeName(to.WithNullable(true)) +
                                     " but the query gives " + TypeName(from.WithNullable(true)));
    }
  }
  Planner p(s);
  {
    std::set<int> all;
    for (size_t i = 0; i < plan->schema.size(); ++i) all.insert(static_cast<int>(i));
    AnalyzeRankUse(plan, all, &p.rank_used);
  }
  Assembled out;
  SinkAdapterSpec adapter;
  adapter.target = target_type;
  adapter.drop_null_violations = s.drop_null_violations;
  adapter.target_name = obj.name;
  std::unique_ptr<pipeline::Sink> sink;
  std::string sink_label;
  std::optional<DeltaPlan> delta;
  std::string
      cluster_dims;  // 'kubelake.cluster-dimensions': the dimension table the sink's last four columns come from
  std::map<std::string, std::string> table_hints;
  for (const auto& [k, v] : target.hints) {
    if (k == "kubelake.cluster-dimensions") {
      cluster_dims = v;
    } else {
      table_hints[k] = v;
    }
  }
  if (obj.paimon) {
    KL_ASSIGN_OR_RETURN(auto table, table::Table::Open(obj.paimon->path(), table_hints));
    table::TableSchema schema = table->schema();
    for (const auto& [k, v] : table_hints) schema.options[k] = v;
    adapter.mode = SinkModeFor(schema);
    for (const auto& k : schema.primary_keys) adapter.key_columns.push_back(schema.fields.IndexOf(k));
    delta = FindDeltaAggregate(plan, into, schema);
    sink = std::make_unique<pipeline::TableSink>(table, s.name);
    sink_label = "Sink: paimon " + obj.name + " (" + std::string(SinkModeName(adapter.mode)) + ")";
  } else if (obj.connector() == "jdbc") {
    KL_ASSIGN_OR_RETURN(sink, MakeJdbcSink(obj, s.name));
    adapter.mode = obj.primary_key.empty() ? SinkMode::kAppend : SinkMode::kUpsert;
    for (const auto& k : obj.primary_key) adapter.key_columns.push_back(obj.schema.IndexOf(k));
    sink_label = "Sink: " + sink->name() + (obj.primary_key.empty() ? " (append)" : " (upsert by primary key)");
  } else if (obj.connector() == "print") {
    KL_ASSIGN_OR_RETURN(sink, MakePrintSink(obj));
    adapter.mode = SinkMode::kRetract;
    sink_label = "Sink: " + sink->name() + " (every change)";
  } else {
    return Status::NotSupported(obj.FullName() +
                                " cannot be written (INSERT writes Paimon, 'jdbc' and 'print' tables)");
  }
  int root;
  if (delta) {
    KL_ASSIGN_OR_RETURN(root, BuildDeltaAggregate(&p, *delta, s));
    adapter.query = p.nodes[static_cast<size_t>(root)].op->output_type();
    adapter.into = delta->target_of_output;
  } else {
    KL_ASSIGN_OR_RETURN(Built b, p.Build(plan));
    if (!b.insert_only && adapter.mode == SinkMode::kAppend) {
      return Status::InvalidArgument(obj.name +
                                     " has no primary key, so it takes inserts only, but this query "
                                     "updates and deletes its results (GROUP BY, Top-N, outer joins, or a primary-key "
                                     "table read as a changelog); give the table a PRIMARY KEY");
    }
    root = b.node;
    adapter.query = plan->schema;
    adapter.into = into;
  }
  root = p.Add(MakeSinkAdapter(adapter, s.exec), {root}, "SinkAdapter");
  if (!cluster_dims.empty()) {
    // The last four columns are the cluster dimension, kept by the sink itself.
    const RowType& t = adapter.target;
    size_t n = t.size();
    if (!obj.paimon || n < 5 || t.field(0).name != "cluster" || t.field(n - 4).name != "cluster_id" ||
        t.field(n - 3).name != "region_id" || t.field(n - 2).name != "region" || t.field(n - 1).name != "zone") {
      return Status::InvalidArgument(
          "'kubelake.cluster-dimensions' needs a Paimon table whose first column is cluster "
          "and whose last four are cluster_id, region_id, region, zone");
    }
    pipeline::ClusterDimensionSpec spec;
    KL_ASSIGN_OR_RETURN(spec.dimension, table::Table::Open(JoinPath(DirName(obj.paimon->path()), cluster_dims)));
    KL_ASSIGN_OR_RETURN(spec.target, table::Table::Open(obj.paimon->path()));
    // It takes the target's rows and fills their dimension columns.
    KL_ASSIGN_OR_RETURN(auto dims, pipeline::MakeClusterDimensions(t, spec));
    root = p.Add(std::move(dims), {root}, "ClusterDimensions from " + cluster_dims);
  }
  root = p.Add(nullptr, {root}, sink_label);
  out.explain = Render(p, root, 0);
  // One source and a chain: the job's own operator list; otherwise one operator tree.
  bool chain = p.sources.size() == 1;
  for (const auto& n : p.nodes) chain = chain && n.children.size() <= 1;
  if (chain) {
    std::vector<int> order;
    for (int n = root; n >= 0;) {
      order.push_back(n);
      const auto& kids = p.nodes[static_cast<size_t>(n)].children;
      n = kids.empty() ? -1 : kids[0];
    }
    std::reverse(order.begin(), order.end());
    for (int n : order) {
      auto& node = p.nodes[static_cast<size_t>(n)];
      if (node.op) out.parts.operators.push_back(std::move(node.op));
    }
    out.parts.source = std::move(p.sources[0]);
    // A first Calc reading a log's values only as JSON documents parses them where the log
    // read them: no copy into the source's batch (the DWD job's content, kilobytes each).
    if (!out.parts.operators.empty()) {
      int doc = CalcDocumentOnlyColumn(*out.parts.operators[0], out.parts.source->output_type());
      if (doc >= 0) {
        auto tap = std::make_shared<LogValueTap>();
        tap->column = doc;
        if (TapLogValues(out.parts.source.get(), tap)) TapCalcDocuments(out.parts.operators[0].get(), tap);
      }
    }
  } else {
    RowType output = adapter.target;
    out.parts.operators.push_back(MakeOperatorTree(std::move(p.nodes), root, std::move(output)));
    out.parts.source = std::make_unique<pipeline::MultiSource>(std::move(p.sources));
  }
  out.parts.sink = std::move(sink);
  return out;
}

}  // namespace

Result<PlannedJob> PlanInsertJob(LogicalOpPtr plan, const InsertTarget& target, const JobSettings& settings) {
  // Planned once now (errors surface at the INSERT), then again at every (re)start of the job.
  KL_ASSIGN_OR_RETURN(Assembled first, Assemble(plan, target, settings));
  PlannedJob out;
  out.explain = first.explain;
  pipeline::JobOptions options;
  options.commit_interval_ms = settings.checkpoint_interval_ms;
  options.state_dir = settings.state_dir;
  options.state_fingerprint = std::to_string(Fnv1a(plan->Explain() + "\n" + first.explain));
  options.is_fatal = [](const Status& s) {
    return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotSupported;
  };
  auto shared_first = std::make_shared<std::optional<Assembled>>(std::move(first));
  pipeline::JobFactory factory = [plan, target, settings, shared_first]() -> Result<pipeline::JobParts> {
    if (shared_first->has_value()) {
      pipeline::JobParts parts = std::move((*shared_first)->parts);
      shared_first->reset();
      return parts;
    }
    KL_ASSIGN_OR_RETURN(Assembled a, Assemble(plan, target, settings));
    return std::move(a.parts);
  };
  out.job = std::make_unique<pipeline::Job>(settings.name, std::move(factory), options);
  return out;
}

}  // namespace kl::sql::streaming
