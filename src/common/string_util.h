// Small string helpers used across parts.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kl {

std::vector<std::string> Split(std::string_view s, char sep, bool skip_empty = false);
std::string_view Trim(std::string_view s);
std::string ToLower(std::string_view s);
std::string ToUpper(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

// Whole-string integer parses; nullopt on any junk or overflow.
std::optional<int64_t> ParseInt64(std::string_view s);
std::optional<uint64_t> ParseUint64(std::string_view s);
std::optional<double> ParseDouble(std::string_view s);

// A count with a unit ("64 mb", "30s", "7d"; spaces around, unit in any case) scaled by
// the unit's factor in `units`; nullopt for an unknown unit, a bad number or overflow.
using ScaledUnits = std::initializer_list<std::pair<std::string_view, int64_t>>;
std::optional<int64_t> ParseScaledInt(std::string_view text, ScaledUnits units);

// "1.5 KB", "3.2 MB" for reports.
std::string HumanBytes(double bytes);

}  // namespace kl
