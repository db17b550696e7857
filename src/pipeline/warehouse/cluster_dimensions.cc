#include "pipeline/warehouse/cluster_dimensions.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <map>
#include <tuple>

#include "common/clock.h"

namespace kl::pipeline {
namespace {

using format::Datum;
using format::Row;
using format::RowKind;
using format::RowType;

// cluster_id, region_id, region, zone: the four dimension columns, in DWD's order.
using Dimension = std::array<Datum, 4>;

// What a node's newest version says, ordered as DWD orders versions (rv, event time, deletion).
struct NodeVersion {
  int64_t rv = 0;
  int64_t event_time = 0;
  bool deleted = false;
  Datum region, zone;

  auto order() const { return std::make_tuple(rv, event_time, deleted); }
};

class ClusterDimensionOp : public Operator {
 public:
  ClusterDimensionOp(RowType output, size_t base_columns, ClusterDimensionSpec spec, std::array<int, 7> columns)
      : output_(std::move(output)),
        base_columns_(base_columns),
        spec_(std::move(spec)),
        kind_(columns[0]),
        uid_(columns[1]),
        rv_(columns[2]),
        deleted_(columns[3]),
        event_time_(columns[4]),
        topology_region_(columns[5]),
        topology_zone_(columns[6]) {}

  std::string name() const override { return "cluster-dimensions"; }
  const RowType& output_type() const override { return output_; }

  Status Process(Changes& in, Changes*) override {
    for (auto& c : in) {
      NoteNode(c.row);
      held_.push_back(std::move(c));
    }
    return Status::OK();
  }

  bool takes_batches() const override { return true; }

  Status ProcessBatch(ChangeBatch& in, ChangeBatch*) override {
    if (in.empty()) return Status::OK();  // a batch with nothing kept may have no columns
    const format::ColumnBatch& rows = in.rows;
    const format::Column& kind = rows.column(static_cast<size_t>(kind_));
    for (size_t i = 0; i < in.size(); ++i) {
      if (!kind.IsNull(i) && kind.GetBytes(i) == "Node") NoteNode(rows.GetRow(i));
    }
    // Held as it came: its columns go on to the sink at the checkpoint without a copy.
    held_batches_.push_back(std::move(in));
    in = ChangeBatch{};
    return Status::OK();
  }

  Status FinishBatch(ChangeBatch* out) override {
    std::vector<ChangeBatch> batches;
    KL_RETURN_IF_ERROR(FinishBatches(&batches));
    for (ChangeBatch& b : batches) AppendBatch(b, out);
    return Status::OK();
  }

  Status FinishBatches(std::vector<ChangeBatch>* out) override {
    if (!held_.empty()) {
      // Rows came by Process: whatever came by ProcessBatch too is released with them.
      for (const ChangeBatch& b : held_batches_) AppendBatchToChanges(b, &held_);
      held_batches_.clear();
      ChangeBatch batch;
      KL_RETURN_IF_ERROR(Operator::FinishBatch(&batch));
      if (!batch.empty()) out->push_back(std::move(batch));
      return Status::OK();
    }
    std::vector<std::string> held_clusters;
    for (const ChangeBatch& b : held_batches_) {
      const format::Column& cluster = b.rows.column(0);
      for (size_t i = 0; i < b.size(); ++i) {
        // Consecutive rows mostly share their cluster (a log partition is a cluster).
        if (cluster.IsNull(i)) continue;
        std::string_view c = cluster.GetBytes(i);
        if (held_clusters.empty() || held_clusters.back() != c) held_clusters.emplace_back(c);
      }
    }
    Changes reemitted;
    KL_RETURN_IF_ERROR(Reconcile(std::move(held_clusters), &reemitted));
    // Re-emitted rows first, then the held ones, as Finish orders them.
    if (!reemitted.empty()) {
      ChangeBatch batch;
      AppendChangesToBatch(output_, reemitted, &batch);
      out->push_back(std::move(batch));
    }
    std::vector<ChangeBatch> held = std::move(held_batches_);
    held_batches_.clear();
    std::map<std::string, Dimension, std::less<>> resolved;
    for (ChangeBatch& b : held) {
      const size_t n = b.size();
      ChangeBatch dimensioned{format::ColumnBatch(output_), std::move(b.kinds)};
      std::vector<format::Column>& columns = b.rows.mutable_columns();
      for (size_t c = 0; c < base_columns_; ++c) dimensioned.rows.mutable_column(c) = std::move(columns[c]);
      const format::Column& cluster = dimensioned.rows.column(0);
      const Dimension* dim = nullptr;
      std::string_view dim_cluster;
      for (size_t d = 0; d < 4; ++d) dimensioned.rows.mutable_column(base_columns_ + d).Reserve(n);
      for (size_t i = 0; i < n; ++i) {
        std::string_view c = cluster.GetBytes(i);  // never NULL: the table's key
        if (dim == nullptr || c != dim_cluster) {
          auto it = resolved.find(c);
          if (it == resolved.end()) it = resolved.emplace(std::string(c), Resolve(std::string(c))).first;
          dim = &it->second;
          dim_cluster = it->first;
        }
        for (size_t d = 0; d < 4; ++d) dimensioned.rows.mutable_column(base_columns_ + d).Append((*dim)[d]);
      }
      dimensioned.rows.SetNumRows(n);
      out->push_back(std::move(dimensioned));
    }
    return Status::OK();
  }

  bool WantsCheckpoint() override {
    // A changed dim_cluster must reach the rows even when no event comes.
    int64_t now = NowMillis();
    if (now - wants_checked_ms_ < spec_.refresh_ms) return false;
    wants_checked_ms_ = now;
    auto latest = spec_.dimension->snapshots().LatestId();
    force_refresh_ = latest.ok() && *latest != dimension_snapshot_;
    return force_refresh_;
  }

  Status Finish(Changes* out) override {
    std::vector<std::string> held_clusters;
    for (const auto& c : held_) held_clusters.push_back(c.row[0].as_bytes());
    KL_RETURN_IF_ERROR(Reconcile(std::move(held_clusters), out));
    // The held rows go last: a replayed version of a re-emitted row still wins as it would have.
    // (Resolve walks the cluster's nodes: once per cluster, not per row.)
    std::map<std::string, Dimension> resolved;
    for (auto& c : held_) {
      const std::string& cluster = c.row[0].as_bytes();
      auto it = resolved.find(cluster);
      if (it == resolved.end()) it = resolved.emplace(cluster, Resolve(cluster)).first;
      c.row.resize(base_columns_);
      for (const auto& d : it->second) c.row.push_back(d);
      out->push_back(std::move(c));
    }
    held_.clear();
    return Status::OK();
  }

 private:
  // Before the held rows (of `held_clusters`) go out: re-emits the committed rows whose
  // cluster's dimension moved since they got theirs.
  Status Reconcile(std::vector<std::string> held_clusters, Changes* out) {
    KL_RETURN_IF_ERROR(RefreshDimensionTable());
    if (!reconciled_) {
      KL_RETURN_IF_ERROR(ReconcileCommitted(std::nullopt, out));
      reconciled_ = true;
    }
    std::vector<std::string> clusters = std::move(held_clusters);
    for (const auto& [cluster, dim] : applied_) clusters.push_back(cluster);
    std::sort(clusters.begin(), clusters.end());
    clusters.erase(std::unique(clusters.begin(), clusters.end()), clusters.end());
    for (const auto& cluster : clusters) {
      auto it = applied_.find(cluster);
      Dimension now = Resolve(cluster);
      if (it == applied_.end()) {
        applied_[cluster] = now;  // no committed rows yet (the start-up pass saw none)
      } else if (it->second != now) {
        KL_RETURN_IF_ERROR(ReconcileCommitted(cluster, out));
      }
    }
    return Status::OK();
  }

  void NoteNode(const Row& row) {
    const Datum& kind = row[static_cast<size_t>(kind_)];
    if (kind.is_null() || kind.as_bytes() != "Node" || row[0].is_null()) return;
    NodeVersion v;
    auto get_int = [&](int col) {
      const Datum& d = row[static_cast<size_t>(col)];
      return d.is_null() ? int64_t{0} : d.as_int();
    };
    v.rv = get_int(rv_);
    v.event_time = get_int(event_time_);
    v.deleted = get_int(deleted_) != 0;
    v.region = row[static_cast<size_t>(topology_region_)];
    v.zone = row[static_cast<size_t>(topology_zone_)];
    auto& nodes = nodes_[row[0].as_bytes()];
    auto [it, inserted] = nodes.try_emplace(row[static_cast<size_t>(uid_)].as_bytes(), v);
    if (!inserted && v.order() >= it->second.order()) it->second = v;
  }

  // The dimension of `cluster` now: what users set in dim_cluster, else what node labels say.
  Dimension Resolve(const std::string& cluster) const {
    Dimension user;
    if (auto it = user_set_.find(cluster); it != user_set_.end()) user = it->second;
    std::optional<std::pair<std::string, std::string>> from_nodes;
    if (auto it = nodes_.find(cluster); it != nodes_.end()) {
      for (const auto& [uid, v] : it->second) {
        if (v.deleted || v.region.is_null()) continue;
        std::pair<std::string, std::string> labels{v.region.as_bytes(), v.zone.is_null() ? "" : v.zone.as_bytes()};
        if (!from_nodes || labels < *from_nodes) from_nodes = labels;
      }
    }
    auto text = [](const std::string& s) { return s.empty() ? Datum() : Datum::Bytes(s); };
    Dimension dim;
    dim[0] = user[0];
    dim[2] = !user[2].is_null() ? user[2] : from_nodes ? text(from_nodes->first) : Datum();
    dim[3] = !user[3].is_null() ? user[3] : from_nodes ? text(from_nodes->second) : Datum();
    dim[1] = !user[1].is_null() ? user[1] : dim[2];
    return dim;
  }

  Status RefreshDimensionTable() {
    int64_t now = NowMillis();
    if (loaded_ && !force_refresh_ && now - refreshed_ms_ < spec_.refresh_ms) return Status::OK();
    refreshed_ms_ = now;
    force_refresh_ = false;
    KL_ASSIGN_OR_RETURN(std::optional<int64_t> latest, spec_.dimension->snapshots().LatestId());
    if (loaded_ && latest == dimension_snapshot_) return Status::OK();
    std::map<std::string, Dimension> fresh;
    if (latest) {
      KL_ASSIGN_OR_RETURN(table::RowsWithKinds rows,
                          spec_.dimension->ReadAll(*latest, {"cluster", "cluster_id", "region_id", "region", "zone"}));
      for (size_t i = 0; i < rows.size(); ++i) {
        Row r = rows.rows.GetRow(i);
        if (r[0].is_null()) continue;
        fresh[r[0].as_bytes()] = {r[1], r[2], r[3], r[4]};
      }
    }
    user_set_ = std::move(fresh);
    dimension_snapshot_ = latest;
    loaded_ = true;
    return Status::OK();
  }

  // Re-emits the committed rows (of one cluster, or of all) whose dimension is not the
  // one Resolve gives now, and records that the cluster's rows now carry it. Node rows
  // are noted first: after a restart they are what says a cluster's region.
  Status ReconcileCommitted(const std::optional<std::string>& cluster, Changes* out) {
    KL_ASSIGN_OR_RETURN(std::optional<int64_t> latest, spec_.target->snapshots().LatestId());
    if (!latest) return Status::OK();
    table::PartitionFilter filter;
    if (cluster) {
      filter = [cluster](const Row& partition) {
        return !partition.empty() && !partition[0].is_null() && partition[0].as_bytes() == *cluster;
      };
    }
    KL_ASSIGN_OR_RETURN(table::ScanPlan plan, spec_.target->NewScan().PlanSnapshot(*latest, filter));
    KL_ASSIGN_OR_RETURN(auto read, spec_.target->NewRead());
    KL_ASSIGN_OR_RETURN(table::RowsWithKinds rows, read->ReadAll(plan));
    if (!cluster) {
      for (size_t i = 0; i < rows.size(); ++i) NoteNode(rows.rows.GetRow(i));
    }
    std::map<std::string, Dimension> resolved;
    size_t reemitted = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      Row row = rows.rows.GetRow(i);
      if (row[0].is_null()) continue;
      const std::string& c = row[0].as_bytes();
      auto it = resolved.find(c);
      if (it == resolved.end()) it = resolved.emplace(c, Resolve(c)).first;
      bool stale = false;
      for (size_t d = 0; d < 4; ++d) stale = stale || !(row[base_columns_ + d] == it->second[d]);
      if (!stale) continue;
      for (size_t d = 0; d < 4; ++d) row[base_columns_ + d] = it->second[d];
      out->push_back({RowKind::kInsert, std::move(row)});
      ++reemitted;
    }
    for (auto& [c, dim] : resolved) applied_[c] = dim;
    if (cluster) applied_[*cluster] = Resolve(*cluster);
    if (reemitted > 0) {
      spdlog::info("dwd: {} rows of {} take the cluster dimension known now", reemitted,
                   cluster ? "cluster " + *cluster : std::string("the table"));
    }
    return Status::OK();
  }

  RowType output_;
  size_t base_columns_;
  ClusterDimensionSpec spec_;
  int kind_, uid_, rv_, deleted_, event_time_, topology_region_, topology_zone_;

  Changes held_;
  std::vector<ChangeBatch> held_batches_;                            // held as columns (ProcessBatch)
  std::map<std::string, std::map<std::string, NodeVersion>> nodes_;  // cluster -> node uid -> newest version
  std::map<std::string, Dimension> user_set_;                        // dim_cluster, by cluster
  std::map<std::string, Dimension> applied_;                         // the dimension the cluster's committed rows carry
  std::optional<int64_t> dimension_snapshot_;
  bool loaded_ = false;
  bool reconciled_ = false;
  bool force_refresh_ = false;
  int64_t refreshed_ms_ = 0;
  int64_t wants_checked_ms_ = 0;
};

}  // namespace

Result<std::unique_ptr<Operator>> MakeClusterDimensions(const RowType& input, ClusterDimensionSpec spec) {
  const RowType& target = spec.target->schema().fields;
  // The input may carry the target's four dimension columns too (replaced here).
  size_t base = input.size() == target.size() ? input.size() - 4 : input.size();
  if (target.size() != base + 4 || input.size() < 4 || input.field(0).name != "cluster") {
    return Status::InvalidArgument("cluster dimensions: " + spec.target->path() +
                                   " must hold the input columns (cluster first) and four dimension columns");
  }
  std::array<int, 7> cols;
  const char* names[] = {"kind", "uid", "rv", "deleted", "event_time", "topology_region", "topology_zone"};
  for (size_t i = 0; i < cols.size(); ++i) {
    cols[i] = input.IndexOf(names[i]);
    if (cols[i] < 0) return Status::InvalidArgument(std::string("cluster dimensions: no input column ") + names[i]);
  }
  return std::unique_ptr<Operator>(new ClusterDimensionOp(target, base, std::move(spec), cols));
}

}  // namespace kl::pipeline
