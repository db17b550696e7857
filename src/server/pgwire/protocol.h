// PostgreSQL frontend/backend protocol 3.0 messages: bounds-checked reading
// of what clients send, and building of what the server answers. Nothing
// here trusts a length or count from the wire.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kl::server::pg {

// Codes of the packets that come before (or instead of) a StartupMessage.
inline constexpr int32_t kProtocolVersion3 = 196608;  // 3.0
inline constexpr int32_t kSslRequestCode = 80877103;
inline constexpr int32_t kGssEncRequestCode = 80877104;
inline constexpr int32_t kCancelRequestCode = 80877102;
// The largest message accepted (PostgreSQL's own limit for most messages is 1 GB;
// a statement larger than this is not a query an operations warehouse receives).
inline constexpr size_t kMaxMessageBytes = 64 << 20;
inline constexpr size_t kMaxStartupBytes = 10000;  // as PostgreSQL's MAX_STARTUP_PACKET_LENGTH

class MessageReader {
 public:
  explicit MessageReader(std::string_view body) : data_(body) {}
  Result<uint8_t> Byte();
  Result<int16_t> Int16();
  Result<int32_t> Int32();
  Result<std::string_view> CString();  // up to a NUL, which is consumed
  Result<std::string_view> Bytes(size_t n);
  size_t remaining() const { return data_.size() - pos_; }
  Status ExpectEnd(std::string_view message) const;

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Builds backend messages: Begin(type), fields, End() (which fills in the length).
class MessageWriter {
 public:
  void Begin(char type);
  void Byte(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Int16(int16_t v);
  void Int32(int32_t v);
  void CString(std::string_view s);  // NULs inside are dropped
  void Bytes(std::string_view s) { out_.append(s); }
  void End();
  std::string& buffer() { return out_; }
  size_t size() const { return out_.size(); }

 private:
  std::string out_;
  size_t start_ = 0;
};

// The first packet of a connection (length word excluded).
struct StartupPacket {
  enum class Kind { kStartup, kSslRequest, kGssEncRequest, kCancel };
  Kind kind = Kind::kStartup;
  int32_t protocol = 0;
  std::vector<std::pair<std::string, std::string>> parameters;
  int32_t cancel_pid = 0;
  int32_t cancel_key = 0;
};
Result<StartupPacket> ParseStartupPacket(std::string_view body);

struct ParseMessage {
  std::string statement;
  std::string query;
  std::vector<uint32_t> param_types;
};
Result<ParseMessage> ParseParse(std::string_view body);

struct BindMessage {
  std::string portal;
  std::string statement;
  std::vector<int16_t> param_formats;
  std::vector<std::optional<std::string>> params;  // nullopt = NULL
  std::vector<int16_t> result_formats;
};
Result<BindMessage> ParseBind(std::string_view body);

struct TargetMessage {  // Describe and Close: 'S'tatement or 'P'ortal, and its name
  char kind = 'S';
  std::string name;
};
Result<TargetMessage> ParseTarget(std::string_view body, std::string_view message);

struct ExecuteMessage {
  std::string portal;
  int32_t max_rows = 0;  // 0 = all
};
Result<ExecuteMessage> ParseExecute(std::string_view body);

Result<std::string> ParseQuery(std::string_view body);

// SASLInitialResponse: mechanism and the client's first message.
struct SaslInitial {
  std::string mechanism;
  std::string data;
};
Result<SaslInitial> ParseSaslInitial(std::string_view body);

}  // namespace kl::server::pg
