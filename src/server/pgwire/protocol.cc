#include "server/pgwire/protocol.h"

namespace kl::server::pg {
namespace {

Status Short(std::string_view what) {
  return Status::InvalidArgument("invalid message format: " + std::string(what) + " runs past the end of the message");
}

}  // namespace

Result<uint8_t> MessageReader::Byte() {
  if (remaining() < 1) return Short("a byte");
  return static_cast<uint8_t>(data_[pos_++]);
}

Result<int16_t> MessageReader::Int16() {
  if (remaining() < 2) return Short("an int16");
  auto b = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
  pos_ += 2;
  return static_cast<int16_t>((b[0] << 8) | b[1]);
}

Result<int32_t> MessageReader::Int32() {
  if (remaining() < 4) return Short("an int32");
  auto b = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
  pos_ += 4;
  return static_cast<int32_t>((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3]);
}

Result<std::string_view> MessageReader::CString() {
  size_t end = data_.find('\0', pos_);
  if (end == std::string_view::npos) return Status::InvalidArgument("invalid message format: unterminated string");
  std::string_view s = data_.substr(pos_, end - pos_);
  pos_ = end + 1;
  return s;
}

Result<std::string_view> MessageReader::Bytes(size_t n) {
  if (remaining() < n) return Short(std::to_string(n) + " bytes");
  std::string_view s = data_.substr(pos_, n);
  pos_ += n;
  return s;
}

Status MessageReader::ExpectEnd(std::string_view message) const {
  if (remaining() != 0) {
    return Status::InvalidArgument("invalid message format: " + std::to_string(remaining()) +
                                   " unexpected bytes at the end of " + std::string(message));
  }
  return Status::OK();
}

void MessageWriter::Begin(char type) {
  out_.push_back(type);
  start_ = out_.size();
  out_.append(4, '\0');
}

void MessageWriter::Int16(int16_t v) {
  const char b[2] = {static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
  out_.append(b, 2);
}

void MessageWriter::Int32(int32_t v) {
  uint32_t u = static_cast<uint32_t>(v);
  const char b[4] = {static_cast<char>(u >> 24), static_cast<char>((u >> 16) & 0xff),
                     static_cast<char>((u >> 8) & 0xff), static_cast<char>(u & 0xff)};
  out_.append(b, 4);
}

void MessageWriter::CString(std::string_view s) {
  for (char c : s) {
    if (c != '\0') out_.push_back(c);
  }
  out_.push_back('\0');
}

void MessageWriter::End() {
  uint32_t len = static_cast<uint32_t>(out_.size() - start_);
  for (int i = 0; i < 4; ++i) out_[start_ + i] = static_cast<char>((len >> (24 - 8 * i)) & 0xff);
}

Result<StartupPacket> ParseStartupPacket(std::string_view body) {
  MessageReader r(body);
  StartupPacket p;
  KL_ASSIGN_OR_RETURN(p.protocol, r.Int32());
  if (p.protocol == kSslRequestCode || p.protocol == kGssEncRequestCode) {
    p.kind = p.protocol == kSslRequestCode ? StartupPacket::Kind::kSslRequest : StartupPacket::Kind::kGssEncRequest;
    KL_RETURN_IF_ERROR(r.ExpectEnd("SSLRequest"));
    return p;
  }
  if (p.protocol == kCancelRequestCode) {
    p.kind = StartupPacket::Kind::kCancel;
    KL_ASSIGN_OR_RETURN(p.cancel_pid, r.Int32());
    KL_ASSIGN_OR_RETURN(p.cancel_key, r.Int32());
    return p;  // newer clients may send a longer key: the first four bytes are ours
  }
  if ((p.protocol >> 16) != 3) {
    return Status::NotSupported("unsupported frontend protocol " + std::to_string(p.protocol >> 16) + "." +
                                std::to_string(p.protocol & 0xffff) + ": server supports 3.0");
  }
  while (true) {
    KL_ASSIGN_OR_RETURN(std::string_view name, r.CString());
    if (name.empty()) break;
    KL_ASSIGN_OR_RETURN(std::string_view value, r.CString());
    p.parameters.emplace_back(std::string(name), std::string(value));
  }
  KL_RETURN_IF_ERROR(r.ExpectEnd("the startup packet"));
  return p;
}

Result<ParseMessage> ParseParse(std::string_view body) {
  MessageReader r(body);
  ParseMessage m;
  KL_ASSIGN_OR_RETURN(auto name, r.CString());
  KL_ASSIGN_OR_RETURN(auto query, r.CString());
  KL_ASSIGN_OR_RETURN(int16_t n, r.Int16());
  if (n < 0) return Status::InvalidArgument("invalid message format: negative parameter count in Parse");
  if (static_cast<size_t>(n) * 4 > r.remaining()) return Short("Parse's parameter types");
  m.statement = name;
  m.query = query;
  for (int i = 0; i < n; ++i) {
    KL_ASSIGN_OR_RETURN(int32_t t, r.Int32());
    m.param_types.push_back(static_cast<uint32_t>(t));
  }
  KL_RETURN_IF_ERROR(r.ExpectEnd("Parse"));
  return m;
}

Result<BindMessage> ParseBind(std::string_view body) {
  MessageReader r(body);
  BindMessage m;
  KL_ASSIGN_OR_RETURN(auto portal, r.CString());
  KL_ASSIGN_OR_RETURN(auto statement, r.CString());
  m.portal = portal;
  m.statement = statement;
  KL_ASSIGN_OR_RETURN(int16_t nf, r.Int16());
  if (nf < 0 || static_cast<size_t>(nf) * 2 > r.remaining()) {
    return Status::InvalidArgument("invalid message format: bad parameter format count in Bind");
  }
  for (int i = 0; i < nf; ++i) {
    KL_ASSIGN_OR_RETURN(int16_t f, r.Int16());
    if (f != 0 && f != 1) return Status::InvalidArgument("invalid parameter format code " + std::to_string(f));
    m.param_formats.push_back(f);
  }
  KL_ASSIGN_OR_RETURN(int16_t np, r.Int16());
  if (np < 0 || static_cast<size_t>(np) * 4 > r.remaining()) {
    return Status::InvalidArgument("invalid message format: bad parameter count in Bind");
  }
  for (int i = 0; i < np; ++i) {
    KL_ASSIGN_OR_RETURN(int32_t len, r.Int32());
    if (len == -1) {
      m.params.emplace_back(std::nullopt);
      continue;
    }
    if (len < 0) return Status::InvalidArgument("invalid message format: negative parameter length in Bind");
    KL_ASSIGN_OR_RETURN(auto bytes, r.Bytes(static_cast<size_t>(len)));
    m.params.emplace_back(std::string(bytes));
  }
  KL_ASSIGN_OR_RETURN(int16_t nr, r.Int16());
  if (nr < 0 || static_cast<size_t>(nr) * 2 > r.remaining()) {
    return Status::InvalidArgument("invalid message format: bad result format count in Bind");
  }
  for (int i = 0; i < nr; ++i) {
    KL_ASSIGN_OR_RETURN(int16_t f, r.Int16());
    if (f != 0 && f != 1) return Status::InvalidArgument("invalid result format code " + std::to_string(f));
    m.result_formats.push_back(f);
  }
  KL_RETURN_IF_ERROR(r.ExpectEnd("Bind"));
  if (m.param_formats.size() > 1 && m.param_formats.size() != m.params.size()) {
    return Status::InvalidArgument("bind message has " + std::to_string(m.param_formats.size()) +
                                   " parameter formats but " + std::to_string(m.params.size()) + " parameters");
  }
  return m;
}

Result<TargetMessage> ParseTarget(std::string_view body, std::string_view message) {
  MessageReader r(body);
  TargetMessage m;
  KL_ASSIGN_OR_RETURN(uint8_t kind, r.Byte());
  if (kind != 'S' && kind != 'P') {
    return Status::InvalidArgument("invalid " + std::string(message) + " message subtype " + std::to_string(kind));
  }
  m.kind = static_cast<char>(kind);
  KL_ASSIGN_OR_RETURN(auto name, r.CString());
  m.name = name;
  KL_RETURN_IF_ERROR(r.ExpectEnd(message));
  return m;
}

Result<ExecuteMessage> ParseExecute(std::string_view body) {
  MessageReader r(body);
  ExecuteMessage m;
  KL_ASSIGN_OR_RETURN(auto portal, r.CString());
  m.portal = portal;
  KL_ASSIGN_OR_RETURN(m.max_rows, r.Int32());
  KL_RETURN_IF_ERROR(r.ExpectEnd("Execute"));
  if (m.max_rows < 0) m.max_rows = 0;
  return m;
}

Result<std::string> ParseQuery(std::string_view body) {
  MessageReader r(body);
  KL_ASSIGN_OR_RETURN(auto q, r.CString());
  KL_RETURN_IF_ERROR(r.ExpectEnd("Query"));
  return std::string(q);
}

Result<SaslInitial> ParseSaslInitial(std::string_view body) {
  MessageReader r(body);
  SaslInitial m;
  KL_ASSIGN_OR_RETURN(auto mech, r.CString());
  m.mechanism = mech;
  KL_ASSIGN_OR_RETURN(int32_t len, r.Int32());
  if (len >= 0) {
    KL_ASSIGN_OR_RETURN(auto data, r.Bytes(static_cast<size_t>(len)));
    m.data = data;
  }
  KL_RETURN_IF_ERROR(r.ExpectEnd("SASLInitialResponse"));
  return m;
}

}  // namespace kl::server::pg
