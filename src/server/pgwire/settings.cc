#include "server/pgwire/settings.h"

#include <cmath>
#include <cstdio>

#include "common/string_util.h"
#include "sql/functions/datetime/time_zone.h"

namespace kl::server::pg {
namespace {

struct SettingDef {
  const char* name;     // lower case
  const char* display;  // as PostgreSQL spells it
  const char* default_value;
  bool reported;  // GUC_REPORT: sent as ParameterStatus
  bool read_only;
  const char* description;
};

const SettingDef kSettings[] = {
    {"application_name", "application_name", "", true, false,
     "Sets the application name reported in statistics and logs."},
    {"bytea_output", "bytea_output", "hex", false, false, "Output format for bytea (hex only)."},
    {"client_encoding", "client_encoding", "UTF8", true, false, "The client's character set (UTF8 only)."},
    {"client_min_messages", "client_min_messages", "notice", false, false, "Lowest message level sent to the client."},
    {"datestyle", "DateStyle", "ISO, MDY", true, false, "Display format for date and time values (ISO only)."},
    {"default_transaction_isolation", "default_transaction_isolation", "read committed", false, false,
     "Isolation of new transactions."},
    {"default_transaction_read_only", "default_transaction_read_only", "off", false, false,
     "Whether new transactions are read-only."},
    {"extra_float_digits", "extra_float_digits", "1", false, false,
     "Float output: the shortest text that reads back exactly (as PostgreSQL 12+ with 1)."},
    {"idle_in_transaction_session_timeout", "idle_in_transaction_session_timeout", "0", false, false,
     "Accepted for compatibility; transactions hold nothing here."},
    {"integer_datetimes", "integer_datetimes", "on", true, true, "Datetimes are 64-bit integers."},
    {"intervalstyle", "IntervalStyle", "postgres", true, false, "Display format for intervals (postgres only)."},
    {"is_superuser", "is_superuser", "off", true, true, "Whether the session user is a superuser."},
    {"lock_timeout", "lock_timeout", "0", false, false, "Accepted for compatibility; reads take no locks."},
    {"max_identifier_length", "max_identifier_length", "63", false, true, "Longest identifier."},
    {"search_path", "search_path", "\"$user\", public", false, false, "Schema search order."},
    {"server_encoding", "server_encoding", "UTF8", true, true, "The server's character set."},
    {"server_version", "server_version", kServerVersion, true, true, "The server's version."},
    {"server_version_num", "server_version_num", "150000", false, true, "The server's version as a number."},
    {"session_authorization", "session_authorization", "", true, true, "The session user."},
    {"standard_conforming_strings", "standard_conforming_strings", "on", true, false,
     "'...' strings treat backslashes literally (on only)."},
    {"statement_timeout", "statement_timeout", "0", false, false,
     "Longest time a statement may run, in ms (capped by the server's own limit)."},
    {"timezone", "TimeZone", "UTC", true, false, "Time zone for showing and reading timestamps with time zone."},
    {"transaction_isolation", "transaction_isolation", "read committed", false, false,
     "Each statement reads the latest committed snapshot."},
    {"transaction_read_only", "transaction_read_only", "off", false, false, "Whether the transaction is read-only."},
};

const SettingDef* Find(std::string_view name) {
  for (const auto& s : kSettings) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

SqlError Invalid(const std::string& name, const std::string& value, const std::string& why) {
  return SqlError{sqlstate::kInvalidParameterValue, "invalid value for parameter \"" + name + "\": \"" + value + "\"",
                  why, "", 0};
}

}  // namespace

bool IsKnownSetting(std::string_view name) { return Find(name) != nullptr; }

std::optional<int64_t> ParseDurationMs(std::string_view text) {
  std::string t = ToLower(Trim(text));
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  auto n = ParseDouble(t.substr(0, i));
  if (!n || *n < 0) return std::nullopt;
  std::string unit(Trim(t.substr(i)));
  double scale = 1;
  if (unit.empty() || unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "min") {
    scale = 60000;
  } else if (unit == "h") {
    scale = 3600000;
  } else if (unit == "d") {
    scale = 86400000;
  } else if (unit == "us") {
    scale = 0.001;
  } else {
    return std::nullopt;
  }
  return static_cast<int64_t>(*n * scale);
}

Settings::Settings(const std::string& user) {
  for (const auto& s : kSettings) defaults_[s.name] = s.default_value;
  defaults_["session_authorization"] = user;
  values_ = defaults_;
}

SqlResult<std::string> Settings::Set(const std::string& name, const std::string& raw) {
  const SettingDef* def = Find(name);
  if (def == nullptr && name.find('.') != std::string::npos && name.front() != '.' && name.back() != '.') {
    // A custom setting ("myapp.tenant"), as PostgreSQL keeps them.
    values_[name] = EqualsIgnoreCase(raw, "default") ? "" : raw;
    return values_[name];
  }
  if (def == nullptr) {
    return SqlError{sqlstate::kUndefinedObject, "unrecognized configuration parameter \"" + name + "\"", "", "", 0};
  }
  if (def->read_only) {
    return SqlError{"55P02", "parameter \"" + name + "\" cannot be changed", "", "", 0};
  }
  std::string value = raw;
  if (EqualsIgnoreCase(value, "default")) value = defaults_[name];
  std::string lower = ToLower(value);
  if (name == "client_encoding") {
    std::string e;
    for (char c : lower) {
      if (c != '-' && c != '_') e.push_back(c);
    }
    if (e != "utf8" && e != "unicode") return Invalid(name, value, "kubelake speaks UTF8 only.");
    value = "UTF8";
  } else if (name == "datestyle") {
    if (lower.find("iso") == std::string::npos && lower.find("mdy") == std::string::npos &&
        lower.find("dmy") == std::string::npos && lower.find("ymd") == std::string::npos) {
      return Invalid(name, value, "only the ISO date style is supported.");
    }
    if (lower.find("sql") != std::string::npos || lower.find("postgres") != std::string::npos ||
        lower.find("german") != std::string::npos) {
      return Invalid(name, value, "only the ISO date style is supported.");
    }
    std::string order = lower.find("dmy") != std::string::npos   ? "DMY"
                        : lower.find("ymd") != std::string::npos ? "YMD"
                                                                 : "MDY";
    value = "ISO, " + order;
  } else if (name == "intervalstyle") {
    if (lower != "postgres") return Invalid(name, value, "only the postgres interval style is supported.");
  } else if (name == "standard_conforming_strings") {
    if (lower != "on" && lower != "true" && lower != "1") {
      return Invalid(name, value, "kubelake always treats backslashes in '...' literally.");
    }
    value = "on";
  } else if (name == "bytea_output") {
    if (lower != "hex") return Invalid(name, value, "only hex bytea output is supported.");
  } else if (name == "extra_float_digits") {
    auto n = ParseInt64(value);
    if (!n || *n < -15 || *n > 3) return Invalid(name, value, "must be an integer from -15 to 3.");
  } else if (name == "statement_timeout" || name == "lock_timeout" || name == "idle_in_transaction_session_timeout") {
    auto ms = ParseDurationMs(value);
    if (!ms) return Invalid(name, value, "expected a duration such as 5s, 500ms or 1min.");
    value = std::to_string(*ms);
  } else if (name == "timezone") {
    // A plain number is hours EAST of Greenwich (SET TIME ZONE 5.5), named as PostgreSQL
    // names it: "<+05:30>-05:30" (POSIX form, where the offset counts west).
    auto hours = ParseDouble(Trim(value));
    if (hours && *hours >= -15 && *hours <= 15) {
      int64_t east = std::llround(*hours * 60);
      char text[48];
      int64_t a = east < 0 ? -east : east;
      std::string hm = std::to_string(a / 60 + 100).substr(1);
      if (a % 60 != 0) hm += ":" + std::to_string(a % 60 + 100).substr(1);
      std::snprintf(text, sizeof(text), "<%c%s>%c%s", east < 0 ? '-' : '+', hm.c_str(), east < 0 ? '+' : '-',
                    hm.c_str());
      value = text;
    }
    auto zone = sql::TimeZone::FromPostgresName(value);
    if (value.empty() || !zone.ok()) {
      return Invalid(def->display, value, value.empty() ? "empty time zone." : zone.status().message() + ".");
    }
  } else if (name == "transaction_read_only" || name == "default_transaction_read_only") {
    if (lower != "on" && lower != "off" && lower != "true" && lower != "false") {
      return Invalid(name, value, "expected on or off.");
    }
    value = lower == "true" || lower == "on" ? "on" : "off";
  }
  values_[name] = value;
  return value;
}

void Settings::Reset(const std::string& name) {
  const SettingDef* def = Find(name);
  if (def != nullptr && !def->read_only) values_[name] = defaults_[name];
  if (def == nullptr) values_.erase(name);
}

void Settings::ResetAll() {
  for (const auto& s : kSettings) {
    if (!s.read_only) values_[s.name] = defaults_[s.name];
  }
  for (auto it = values_.begin(); it != values_.end();) {
    it = Find(it->first) == nullptr ? values_.erase(it) : std::next(it);
  }
}

void Settings::SetDefault(const std::string& name, const std::string& value) {
  defaults_[name] = value;
  values_[name] = value;
}

std::optional<std::string> Settings::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::vector<std::string>> Settings::All() const {
  std::vector<std::vector<std::string>> out;
  for (const auto& s : kSettings) out.push_back({s.display, values_.at(s.name), s.description});
  for (const auto& [name, value] : values_) {
    if (Find(name) == nullptr) out.push_back({name, value, "A custom setting."});
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Settings::Reported() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : kSettings) {
    if (s.reported) out.emplace_back(s.display, values_.at(s.name));
  }
  return out;
}

std::string Settings::ReportedName(const std::string& name) {
  const SettingDef* def = Find(name);
  return def != nullptr && def->reported ? def->display : "";
}

std::shared_ptr<const sql::TimeZone> Settings::time_zone() const {
  const std::string& name = values_.at("timezone");
  if (zone_ == nullptr || zone_name_ != name) {
    // Values are checked when set; a default that cannot be read shows UTC.
    auto zone = sql::TimeZone::FromPostgresName(name);
    zone_ = zone.ok() ? *zone : sql::TimeZone::Fixed(0);
    zone_name_ = name;
  }
  return zone_;
}

int64_t Settings::statement_timeout_ms() const {
  auto v = ParseInt64(values_.at("statement_timeout"));
  return v ? *v : 0;
}

}  // namespace kl::server::pg
