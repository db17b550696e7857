// Small string helpers used across parts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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

// "1.5 KB", "3.2 MB" for reports.
std::string HumanBytes(double bytes);

}  // namespace kl
