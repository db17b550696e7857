#include "pipeline/cluster_dimensions.h"

#include <map>

#include "pipeline/lookup_join.h"

namespace kl::pipeline {
namespace {

using format::Datum;
using format::Row;
using format::RowType;

Datum Str(const std::string& s) { return s.empty() ? Datum() : Datum::Bytes(s); }

class ClusterDimensionOp : public Operator {
 public:
  ClusterDimensionOp(RowType output, std::unique_ptr<Operator> join, size_t base, int region, int zone)
      : output_(std::move(output)), join_(std::move(join)), base_(base), region_(region), zone_(zone) {}
  std::string name() const override { return "cluster-dimensions"; }
  const RowType& output_type() const override { return output_; }

  Status Process(Changes& in, Changes* out) override {
    Changes joined;
    KL_RETURN_IF_ERROR(join_->Process(in, &joined));
    for (auto& c : joined) {
      Row& r = c.row;
      const std::string cluster = r[0].is_null() ? "" : r[0].as_bytes();
      const Datum& topo_region = r[static_cast<size_t>(region_)];
      const Datum& topo_zone = r[static_cast<size_t>(zone_)];
      if (!topo_region.is_null()) {
        learned_[cluster] = {topo_region.as_bytes(), topo_zone.is_null() ? "" : topo_zone.as_bytes()};
      }
      // Joined: cluster_id, region_id, region, zone, node_region, node_zone.
      auto pick = [&](const Datum& user, const Datum& node, bool region) -> Datum {
        if (!user.is_null()) return user;
        if (!node.is_null()) return node;
        auto it = learned_.find(cluster);
        if (it == learned_.end()) return Datum();
        return Str(region ? it->second.first : it->second.second);
      };
      size_t b = base_;
      Datum cluster_id = r[b];
      Datum region_id = r[b + 1].is_null() ? pick(r[b + 2], r[b + 4], true) : r[b + 1];
      Datum region = pick(r[b + 2], r[b + 4], true);
      Datum zone = pick(r[b + 3], r[b + 5], false);
      r.resize(b);
      r.push_back(std::move(cluster_id));
      r.push_back(std::move(region_id));
      r.push_back(std::move(region));
      r.push_back(std::move(zone));
      out->push_back(std::move(c));
    }
    return Status::OK();
  }

 private:
  RowType output_;
  std::unique_ptr<Operator> join_;
  size_t base_;
  int region_, zone_;
  std::map<std::string, std::pair<std::string, std::string>> learned_;  // cluster -> node labels seen
};

}  // namespace

Result<std::unique_ptr<Operator>> MakeClusterDimensions(const RowType& input, ClusterDimensionSpec spec) {
  const RowType& target = spec.target->schema().fields;
  if (target.size() != input.size() + 4 || input.size() == 0 || input.field(0).name != "cluster") {
    return Status::InvalidArgument("cluster dimensions: " + spec.target->path() +
                                   " must hold the input columns (cluster first) and four dimension columns");
  }
  int region = input.IndexOf("topology_region"), zone = input.IndexOf("topology_zone");
  if (region < 0 || zone < 0) {
    return Status::InvalidArgument("cluster dimensions: the input needs topology_region and topology_zone");
  }
  LookupJoinSpec join;
  join.table = spec.dimension;
  join.input_keys = {"cluster"};
  join.table_keys = {"cluster"};
  join.columns = {"cluster_id", "region_id", "region", "zone", "node_region", "node_zone"};
  join.output_names = {"dim_cluster_id", "dim_region_id", "dim_region", "dim_zone", "dim_node_region", "dim_node_zone"};
  join.refresh_ms = spec.refresh_ms;
  KL_ASSIGN_OR_RETURN(auto join_op, MakeLookupJoin(input, join));
  return std::unique_ptr<Operator>(new ClusterDimensionOp(target, std::move(join_op), input.size(), region, zone));
}

}  // namespace kl::pipeline
