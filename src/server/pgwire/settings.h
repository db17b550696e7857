// Session settings the PostgreSQL server keeps itself (PostgreSQL's GUCs
// that drivers set and read): their defaults, which values this server can
// honour, and which ones are reported to the client (ParameterStatus) at
// start and after every change.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/pgwire/query_engine.h"

namespace kl::sql {
class TimeZone;
}

namespace kl::server::pg {

// The version clients see: PostgreSQL 15 behaviour, then kubelake's own.
inline constexpr char kServerVersion[] = "15.0 (kubelake 0.1.0)";

bool IsKnownSetting(std::string_view name);

class Settings : public SessionSettings {
 public:
  explicit Settings(const std::string& user);

  // Sets `name` (lower case) to `value` ("default" resets). Returns the
  // canonical value, or the error PostgreSQL would give (22023, 55P02, 42704).
  // Names with a dot ("myapp.tenant") are custom settings, kept as given.
  SqlResult<std::string> Set(const std::string& name, const std::string& value) override;
  void Reset(const std::string& name);
  void ResetAll();
  std::optional<std::string> Get(const std::string& name) const override;
  // Every setting in name order: (display name, value, description).
  std::vector<std::vector<std::string>> All() const override;
  // A setting's starting value for this session (the engine's default search_path, ...).
  void SetDefault(const std::string& name, const std::string& value) override;

  // Reported parameters: display name -> value.
  std::vector<std::pair<std::string, std::string>> Reported() const;
  // The display name ("DateStyle") of a reported setting, or "" when it is not reported.
  static std::string ReportedName(const std::string& name);

  // statement_timeout in milliseconds (0 = none).
  int64_t statement_timeout_ms() const;
  // The TimeZone setting's zone (timestamptz values shown and read in it).
  std::shared_ptr<const sql::TimeZone> time_zone() const;

 private:
  mutable std::shared_ptr<const sql::TimeZone> zone_;  // of zone_name_
  mutable std::string zone_name_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::string> defaults_;
};

// "5s", "500ms", "1min", "2h", "250" (ms) -> milliseconds; nullopt when malformed.
std::optional<int64_t> ParseDurationMs(std::string_view text);

}  // namespace kl::server::pg
