// Regular (non-windowed) joins of two streams, with both sides in state.
#include "common/coding.h"
#include "sql/execution/expression_eval.h"
#include "sql/streaming/keyed_state.h"
#include "sql/streaming/operators.h"

namespace kl::sql::streaming {

using format::ColumnBatch;
using format::DataField;
using format::Datum;
using format::Row;
using format::RowKind;
using format::RowType;

namespace {

struct JoinEntry {
  Row row;
  int64_t count = 0;    // identical rows held
  int64_t matches = 0;  // rows of the other side it joins with (outer sides: NULL padding when 0)
};

using Bucket = std::vector<JoinEntry>;

class StreamJoinOp : public pipeline::Operator {
 public:
  StreamJoinOp(const LogicalOp& op, const ExecContext& ctx) : op_(op), output_(op.schema), ctx_(ctx) {
    for (int side = 0; side < 2; ++side) {
      const RowType& in = op.children[static_cast<size_t>(side)]->schema;
      width_[side] = in.size();
      std::vector<BoundExprPtr> exprs = side == 0 ? op.left_keys : op.right_keys;
      std::vector<DataField> fields;
      for (const auto& e : exprs) fields.push_back({static_cast<int32_t>(fields.size()), "k", e->type, ""});
      for (size_t i = 0; i < in.size(); ++i) {
        exprs.push_back(MakeColumn(static_cast<int>(i), in.type(i), in.field(i).name));
        fields.push_back({static_cast<int32_t>(fields.size()), in.field(i).name, in.type(i), ""});
      }
      pre_[side] = MakeCalc(in, nullptr, exprs, RowType(fields), ctx, side == 0 ? "join-left-keys" : "join-right-keys");
    }
    num_keys_ = op.left_keys.size();
    JoinType t = op.join_type;
    outer_[0] = t == JoinType::kLeft || t == JoinType::kFull;
    outer_[1] = t == JoinType::kRight || t == JoinType::kFull;
  }

  std::string name() const override { return "join"; }
  const RowType& output_type() const override { return output_; }
  bool stateful() const override { return true; }

  Status Process(Changes& in, Changes* out) override {
    // Keep the order of changes across the two sides: each side's keys are computed per run.
    size_t i = 0;
    while (i < in.size()) {
      size_t j = i;
      while (j < in.size() && in[j].input == in[i].input) ++j;
      int side = in[i].input == 0 ? 0 : 1;
      Changes run(std::make_move_iterator(in.begin() + static_cast<ptrdiff_t>(i)),
                  std::make_move_iterator(in.begin() + static_cast<ptrdiff_t>(j)));
      Changes keyed;
      KL_RETURN_IF_ERROR(pre_[side]->Process(run, &keyed));
      for (auto& c : keyed) KL_RETURN_IF_ERROR(One(side, c, out));
      i = j;
    }
    return Status::OK();
  }

  Status SaveState(bool full, pipeline::StateWriter* out) override {
    state_.Save(full, out, [](const Bucket& b) {
      std::string s;
      PutVarint64(&s, b.size());
      for (const auto& e : b) {
        PutVarint64(&s, ZigZagEncode(e.count));
        PutVarint64(&s, ZigZagEncode(e.matches));
        pipeline::EncodeRow(e.row, &s);
      }
      return s;
    });
    return Status::OK();
  }
  void StateCommitted() override { state_.Committed(); }
  Status LoadState(const pipeline::OperatorState& state) override {
    return state_.Load(state, [](std::string_view v) -> Result<Bucket> {
      Bucket b;
      ByteReader r(v);
      uint64_t n = r.Varint();
      if (!r.ok() || n > v.size()) return Status::Corruption("join state: bad entry");
      std::string_view rest(reinterpret_cast<const char*>(r.position()), r.remaining());
      for (uint64_t i = 0; i < n; ++i) {
        ByteReader nums(rest);
        JoinEntry e;
        e.count = nums.ZigZag();
        e.matches = nums.ZigZag();
        if (!nums.ok()) return Status::Corruption("join state: truncated entry");
        rest = std::string_view(reinterpret_cast<const char*>(nums.position()), nums.remaining());
        KL_ASSIGN_OR_RETURN(e.row, pipeline::DecodeRow(&rest));
        b.push_back(std::move(e));
      }
      return b;
    });
  }

 private:
  Row Joined(int side, const Row& mine, const Row* other) const {
    Row r;
    r.reserve(width_[0] + width_[1]);
    const Row* left = side == 0 ? &mine : other;
    const Row* right = side == 0 ? other : &mine;
    for (size_t i = 0; i < width_[0]; ++i) r.push_back(left != nullptr ? (*left)[i] : Datum());
    for (size_t i = 0; i < width_[1]; ++i) r.push_back(right != nullptr ? (*right)[i] : Datum());
    return r;
  }

  Result<bool> Residual(const Row& joined) {
    if (!op_.join_condition) return true;
    ColumnBatch b(output_);
    b.AppendRow(joined);
    std::vector<uint32_t> sel;
    KL_RETURN_IF_ERROR(EvaluateFilter(*op_.join_condition, b, ctx_, &sel));
    return !sel.empty();
  }

  static void Repeat(Changes* out, RowKind kind, const Row& row, int64_t times) {
    for (int64_t t = 0; t < times; ++t) out->push_back({kind, row});
  }

  Status One(int side, Change& c, Changes* out) {
    Row keys(c.row.begin(), c.row.begin() + static_cast<ptrdiff_t>(num_keys_));
    Row row(std::make_move_iterator(c.row.begin() + static_cast<ptrdiff_t>(num_keys_)),
            std::make_move_iterator(c.row.end()));
    bool add = !format::IsRetract(c.kind);
    bool null_key = false;
    for (const auto& k : keys) null_key = null_key || k.is_null();
    int other = 1 - side;
    if (null_key) {
      // NULL never equals anything: only an outer side shows the row, padded.
      if (outer_[side]) out->push_back({add ? RowKind::kInsert : RowKind::kDelete, Joined(side, row, nullptr)});
      return Status::OK();
    }
    std::string key = pipeline::EncodeRow(keys);
    std::string mine_key = std::string(1, static_cast<char>('0' + side)) + key;
    std::string other_key = std::string(1, static_cast<char>('0' + other)) + key;
    Bucket* mine = state_.Find(mine_key);
    JoinEntry* own = nullptr;
    if (mine != nullptr) {
      for (auto& e : *mine) {
        if (format::CompareRows(e.row, row) == 0) own = &e;
      }
    }
    if (!add && own == nullptr) return Status::OK();  // a retraction of a row never joined
    Bucket* theirs = state_.Find(other_key);
    int64_t matched = 0;
    if (theirs != nullptr) {
      bool touched = false;
      for (auto& m : *theirs) {
        Row joined = Joined(side, row, &m.row);
        KL_ASSIGN_OR_RETURN(bool ok, Residual(joined));
        if (!ok) continue;
        matched += m.count;
        touched = true;
        if (add) {
          if (outer_[other] && m.matches == 0) Repeat(out, RowKind::kDelete, Joined(other, m.row, nullptr), m.count);
          Repeat(out, RowKind::kInsert, joined, m.count);
          m.matches += 1;
        } else {
          Repeat(out, RowKind::kDelete, joined, m.count);
          m.matches -= 1;
          if (outer_[other] && m.matches == 0) Repeat(out, RowKind::kInsert, Joined(other, m.row, nullptr), m.count);
        }
      }
      if (touched) state_.Touch(other_key);
    }
    if (matched == 0 && outer_[side]) {
      out->push_back({add ? RowKind::kInsert : RowKind::kDelete, Joined(side, row, nullptr)});
    }
    Bucket& bucket = state_.Touch(mine_key);
    if (add) {
      own = nullptr;
      for (auto& e : bucket) {
        if (format::CompareRows(e.row, row) == 0) own = &e;
      }
      if (own == nullptr) {
        bucket.push_back({std::move(row), 1, matched});
      } else {
        own->count += 1;
      }
    } else {
      for (size_t i = 0; i < bucket.size(); ++i) {
        if (format::CompareRows(bucket[i].row, row) != 0) continue;
        if (--bucket[i].count <= 0) bucket.erase(bucket.begin() + static_cast<ptrdiff_t>(i));
        break;
      }
      if (bucket.empty()) state_.Erase(mine_key);
    }
    return Status::OK();
  }

  LogicalOp op_;
  RowType output_;
  ExecContext ctx_;
  std::unique_ptr<pipeline::Operator> pre_[2];
  size_t width_[2] = {0, 0};
  size_t num_keys_ = 0;
  bool outer_[2] = {false, false};
  KeyedState<Bucket> state_;
};

}  // namespace

Result<std::unique_ptr<pipeline::Operator>> MakeStreamJoin(const LogicalOp& join, const ExecContext& ctx) {
  if (join.kind != OpKind::kJoin || join.children.size() != 2) return Status::Internal("join over a non-join node");
  if (join.join_type == JoinType::kSemi || join.join_type == JoinType::kAnti) {
    return Status::NotSupported("semi and anti joins in streaming jobs");
  }
  return std::unique_ptr<pipeline::Operator>(new StreamJoinOp(join, ctx));
}

}  // namespace kl::sql::streaming
