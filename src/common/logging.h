// Process-wide logging setup. Code logs with spdlog (`spdlog::info(...)`);
// this only chooses the level and sends everything to stderr so stdout
// stays clean for command output (JSON lines, reports).
#pragma once

#include <string_view>

namespace kl {

// level: trace, debug, info, warn, error, off. Unknown names fall back to info.
void InitLogging(std::string_view level);

}  // namespace kl
