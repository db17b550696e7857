#include "pipeline/runtime/state.h"

#include <algorithm>

#include "common/coding.h"
#include "common/file/file_util.h"
#include "log/crc32c.h"

namespace kl::pipeline {

using format::Datum;
using format::Row;

namespace {

constexpr char kMagic[] = "KLSTATE1";
constexpr size_t kMagicSize = 8;
// Below this, deltas never trigger a full checkpoint (rewriting a small state is cheap anyway).
constexpr int64_t kMinCompactBytes = 1 << 20;

enum : uint8_t { kPut = 1, kErase = 2 };

void PutBytes(std::string* out, std::string_view s) {
  PutVarint64(out, s.size());
  out->append(s);
}

Result<Datum> DecodeDatum(ByteReader* r, int depth) {
  if (depth > 64) return Status::Corruption("state: values nest too deep");
  uint8_t tag = r->Byte();
  switch (static_cast<Datum::Kind>(tag)) {
    case Datum::Kind::kNull: return Datum();
    case Datum::Kind::kBool: return Datum::Bool(r->Byte() != 0);
    case Datum::Kind::kInt: return Datum::Int(r->ZigZag());
    case Datum::Kind::kDouble: {
      uint64_t bits = r->Fixed64LE();
      double d;
      std::memcpy(&d, &bits, 8);
      return Datum::Double(d);
    }
    case Datum::Kind::kBytes: {
      uint64_t n = r->Varint();
      return Datum::Bytes(std::string(r->Bytes(n)));
    }
    case Datum::Kind::kDecimal: {
      uint64_t lo = r->Fixed64LE(), hi = r->Fixed64LE();
      unsigned __int128 u = (static_cast<unsigned __int128>(hi) << 64) | lo;
      return Datum::Decimal(static_cast<format::Int128>(u));
    }
    case Datum::Kind::kTimestamp: {
      int64_t millis = r->ZigZag();
      int64_t nanos = r->ZigZag();
      return Datum::Time({millis, static_cast<int32_t>(nanos)});
    }
    case Datum::Kind::kList: {
      uint64_t n = r->Varint();
      if (n > r->remaining()) return Status::Corruption("state: list longer than its bytes");
      format::DatumList items;
      items.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        KL_ASSIGN_OR_RETURN(Datum d, DecodeDatum(r, depth + 1));
        items.push_back(std::move(d));
      }
      return Datum::List(std::move(items));
    }
  }
  return Status::Corruption("state: unknown value tag " + std::to_string(tag));
}

Result<SourcePosition> DecodePositionFrom(ByteReader* r, int depth) {
  if (depth > 8) return Status::Corruption("state: source positions nest too deep");
  SourcePosition p;
  uint64_t n = r->Varint();
  if (n > r->remaining()) return Status::Corruption("state: bad source position");
  for (uint64_t i = 0; i < n; ++i) {
    int32_t partition = static_cast<int32_t>(r->ZigZag());
    p.log_offsets[partition] = r->ZigZag();
  }
  p.table_snapshot = r->ZigZag();
  uint64_t inputs = r->Varint();
  if (inputs > r->remaining()) return Status::Corruption("state: bad source position");
  for (uint64_t i = 0; i < inputs; ++i) {
    KL_ASSIGN_OR_RETURN(SourcePosition in, DecodePositionFrom(r, depth + 1));
    p.inputs.push_back(std::move(in));
  }
  if (!r->ok()) return Status::Corruption("state: truncated source position");
  return p;
}

}  // namespace

void EncodeDatum(const Datum& d, std::string* out) {
  out->push_back(static_cast<char>(d.kind()));
  switch (d.kind()) {
    case Datum::Kind::kNull: break;
    case Datum::Kind::kBool: out->push_back(d.as_bool() ? 1 : 0); break;
    case Datum::Kind::kInt: PutVarint64(out, ZigZagEncode(d.as_int())); break;
    case Datum::Kind::kDouble: {
      uint64_t bits;
      double v = d.as_double();
      std::memcpy(&bits, &v, 8);
      PutFixed64LE(out, bits);
      break;
    }
    case Datum::Kind::kBytes: PutBytes(out, d.as_bytes()); break;
    case Datum::Kind::kDecimal: {
      auto u = static_cast<unsigned __int128>(d.as_decimal());
      PutFixed64LE(out, static_cast<uint64_t>(u));
      PutFixed64LE(out, static_cast<uint64_t>(u >> 64));
      break;
    }
    case Datum::Kind::kTimestamp:
      PutVarint64(out, ZigZagEncode(d.as_timestamp().millis));
      PutVarint64(out, ZigZagEncode(d.as_timestamp().nanos));
      break;
    case Datum::Kind::kList:
      PutVarint64(out, d.as_list().size());
      for (const auto& item : d.as_list()) EncodeDatum(item, out);
      break;
  }
}

void EncodeRow(const Row& row, std::string* out) {
  PutVarint64(out, row.size());
  for (const auto& d : row) EncodeDatum(d, out);
}

std::string EncodeRow(const Row& row) {
  std::string out;
  EncodeRow(row, &out);
  return out;
}

Result<Row> DecodeRow(std::string_view* in) {
  ByteReader r(*in);
  uint64_t n = r.Varint();
  if (!r.ok() || n > r.remaining()) return Status::Corruption("state: bad row");
  Row row;
  row.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    KL_ASSIGN_OR_RETURN(Datum d, DecodeDatum(&r, 0));
    row.push_back(std::move(d));
  }
  if (!r.ok()) return Status::Corruption("state: truncated row");
  in->remove_prefix(static_cast<size_t>(r.position() - reinterpret_cast<const uint8_t*>(in->data())));
  return row;
}

void EncodePosition(const SourcePosition& p, std::string* out) {
  PutVarint64(out, p.log_offsets.size());
  for (const auto& [partition, offset] : p.log_offsets) {
    PutVarint64(out, ZigZagEncode(partition));
    PutVarint64(out, ZigZagEncode(offset));
  }
  PutVarint64(out, ZigZagEncode(p.table_snapshot));
  PutVarint64(out, p.inputs.size());
  for (const auto& in : p.inputs) EncodePosition(in, out);
}

Result<SourcePosition> DecodePosition(std::string_view* in) {
  ByteReader r(*in);
  KL_ASSIGN_OR_RETURN(SourcePosition p, DecodePositionFrom(&r, 0));
  in->remove_prefix(static_cast<size_t>(r.position() - reinterpret_cast<const uint8_t*>(in->data())));
  return p;
}

void StateWriter::Put(std::string_view key, std::string_view value) {
  data_.push_back(static_cast<char>(kPut));
  PutBytes(&data_, key);
  PutBytes(&data_, value);
  ++entries_;
}

void StateWriter::Erase(std::string_view key) {
  data_.push_back(static_cast<char>(kErase));
  PutBytes(&data_, key);
  ++entries_;
}

StateStore::StateStore(std::string dir, std::string fingerprint)
    : dir_(std::move(dir)), fingerprint_(std::move(fingerprint)) {}

std::string StateStore::PathOf(int64_t identifier, bool full) const {
  return JoinPath(dir_, "checkpoint-" + std::to_string(identifier) + (full ? ".full" : ".delta"));
}

Result<std::vector<StateStore::FileId>> StateStore::List() const {
  std::vector<FileId> out;
  if (!IsDirectory(dir_)) return out;
  KL_ASSIGN_OR_RETURN(auto names, ListDir(dir_));
  for (const auto& n : names) {
    if (n.rfind("checkpoint-", 0) != 0) continue;
    size_t dot = n.rfind('.');
    if (dot == std::string::npos) continue;
    std::string suffix = n.substr(dot + 1);
    if (suffix != "full" && suffix != "delta") continue;
    std::string digits = n.substr(11, dot - 11);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 18) continue;
    out.push_back({std::stoll(digits), suffix == "full"});
  }
  std::sort(out.begin(), out.end(), [](const FileId& a, const FileId& b) {
    return a.identifier != b.identifier ? a.identifier < b.identifier : a.full < b.full;
  });
  return out;
}

Status StateStore::Clear() {
  KL_ASSIGN_OR_RETURN(auto files, List());
  for (const auto& f : files) KL_RETURN_IF_ERROR(RemoveFile(PathOf(f.identifier, f.full)));
  have_full_ = false;
  last_full_bytes_ = delta_bytes_since_full_ = 0;
  pending_.clear();
  return Status::OK();
}

Result<StateStore::Restored> StateStore::Load(int64_t identifier, size_t num_operators) {
  KL_ASSIGN_OR_RETURN(auto files, List());
  // Checkpoints after the last commit never had their commit land.
  for (const auto& f : files) {
    if (f.identifier > identifier) KL_RETURN_IF_ERROR(RemoveFile(PathOf(f.identifier, f.full)));
  }
  std::vector<FileId> chain;
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    if (it->identifier > identifier) continue;
    chain.push_back(*it);
    if (it->full) break;
  }
  std::reverse(chain.begin(), chain.end());
  if (chain.empty() || chain.back().identifier != identifier) {
    return Status::NotFound("the state checkpoint of commit " + std::to_string(identifier) + " is missing in " + dir_ +
                            " (the job's sink has that commit; its operator state and source positions are lost)");
  }
  if (!chain.front().full) {
    return Status::Corruption("state checkpoints in " + dir_ + " up to " + std::to_string(identifier) +
                              " have no full checkpoint to start from");
  }
  Restored out;
  out.operators.resize(num_operators);
  have_full_ = true;
  last_full_bytes_ = delta_bytes_since_full_ = 0;
  for (const auto& f : chain) {
    std::string path = PathOf(f.identifier, f.full);
    KL_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
    auto bad = [&](const std::string& what) { return Status::Corruption("state checkpoint " + path + ": " + what); };
    if (bytes.size() < kMagicSize + 4 || bytes.compare(0, kMagicSize, kMagic) != 0) return bad("not a checkpoint");
    uint32_t stored = LoadLE32(bytes.data() + bytes.size() - 4);
    if (log::Crc32c(bytes.data(), bytes.size() - 4) != stored) return bad("checksum mismatch");
    if (f.full) {
      last_full_bytes_ = static_cast<int64_t>(bytes.size());
    } else {
      delta_bytes_since_full_ += static_cast<int64_t>(bytes.size());
    }
    std::string_view body(bytes.data() + kMagicSize, bytes.size() - kMagicSize - 4);
    ByteReader r(body);
    std::string_view fingerprint = r.Bytes(r.Varint());
    if (!r.ok()) return bad("truncated header");
    if (fingerprint != fingerprint_) {
      return Status::InvalidArgument("the job's query is not the one its state in " + dir_ +
                                     " was saved for; give the changed job another name ('pipeline.name') or "
                                     "remove that directory and the job's commits to start it afresh");
    }
    int64_t id = r.ZigZag();
    bool full = r.Byte() != 0;
    if (!r.ok() || id != f.identifier || full != f.full) return bad("header names another checkpoint");
    std::string_view rest(reinterpret_cast<const char*>(r.position()), r.remaining());
    KL_ASSIGN_OR_RETURN(SourcePosition position, DecodePosition(&rest));
    ByteReader ops(rest);
    uint64_t n = ops.Varint();
    if (!ops.ok() || n > ops.remaining()) return bad("bad operator count");
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t index = ops.Varint();
      std::string_view data = ops.Bytes(ops.Varint());
      if (!ops.ok()) return bad("truncated operator state");
      if (index >= num_operators) return bad("state of operator " + std::to_string(index) + " the job does not have");
      OperatorState& state = out.operators[index];
      if (f.full) state.clear();
      ByteReader e(data);
      while (e.ok() && e.remaining() > 0) {
        uint8_t tag = e.Byte();
        std::string_view key = e.Bytes(e.Varint());
        if (tag == kPut) {
          std::string_view value = e.Bytes(e.Varint());
          if (!e.ok()) break;
          state[std::string(key)] = std::string(value);
        } else if (tag == kErase) {
          if (!e.ok()) break;
          state.erase(std::string(key));
        } else {
          return bad("unknown entry tag");
        }
      }
      if (!e.ok()) return bad("truncated entries");
    }
    if (f.identifier == identifier) out.position = std::move(position);
  }
  // Deltas before the restored full checkpoint are no longer needed.
  for (const auto& f : files) {
    if (f.identifier < chain.front().identifier) KL_RETURN_IF_ERROR(RemoveFile(PathOf(f.identifier, f.full)));
  }
  pending_.clear();
  return out;
}

bool StateStore::WantFull() const {
  if (!have_full_) return true;
  return delta_bytes_since_full_ > kMinCompactBytes && delta_bytes_since_full_ > last_full_bytes_;
}

Status StateStore::Save(int64_t identifier, const SourcePosition& position, bool full,
                        const std::vector<const StateWriter*>& states) {
  std::string out(kMagic, kMagicSize);
  PutBytes(&out, fingerprint_);
  PutVarint64(&out, ZigZagEncode(identifier));
  out.push_back(full ? 1 : 0);
  EncodePosition(position, &out);
  size_t n = 0;
  for (const auto* s : states) n += s != nullptr;
  PutVarint64(&out, n);
  for (size_t i = 0; i < states.size(); ++i) {
    if (states[i] == nullptr) continue;
    PutVarint64(&out, i);
    PutBytes(&out, states[i]->data());
  }
  PutFixed32LE(&out, log::Crc32c(out));
  KL_RETURN_IF_ERROR(CreateDirs(dir_));
  // An earlier attempt at this identifier (of the other kind) must not be read with it.
  KL_RETURN_IF_ERROR(RemoveFile(PathOf(identifier, !full)));
  KL_RETURN_IF_ERROR(WriteFileAtomic(PathOf(identifier, full), out, /*sync=*/true));
  pending_[identifier] = full;
  if (full) {
    last_full_bytes_ = static_cast<int64_t>(out.size());
    delta_bytes_since_full_ = 0;
    have_full_ = true;
  } else {
    delta_bytes_since_full_ += static_cast<int64_t>(out.size());
  }
  return Status::OK();
}

void StateStore::Committed(int64_t identifier) {
  auto it = pending_.find(identifier);
  bool full = it != pending_.end() && it->second;
  pending_.erase(pending_.begin(), pending_.upper_bound(identifier));
  if (!full) return;
  auto files = List();
  if (!files.ok()) return;
  for (const auto& f : *files) {
    if (f.identifier < identifier) (void)RemoveFile(PathOf(f.identifier, f.full));
  }
}

void StateStore::Abandon(int64_t identifier) {
  auto it = pending_.find(identifier);
  if (it == pending_.end()) return;
  (void)RemoveFile(PathOf(identifier, it->second));
  if (it->second) have_full_ = false;  // the next checkpoint starts a chain again
  pending_.erase(it);
}

}  // namespace kl::pipeline
