// What every part serving HTTP with libmicrohttpd needs (header only; used by
// the parts that link libmicrohttpd: simulator, ingest, server).
#pragma once

#include <microhttpd.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <string_view>

namespace kl {

// libmicrohttpd changed the handler return type to `enum MHD_Result` in 0.9.71.
#if MHD_VERSION >= 0x00097002
using MhdResult = MHD_Result;
#else
using MhdResult = int;
#endif

// MHD_OPTION_EXTERNAL_LOGGER: libmicrohttpd's own messages ("Closing connection
// ...") go to the debug log, named by the C string passed as the logger's
// closure (clients that go away are routine, not errors).
inline void MhdLogToDebug(void* name, const char* fmt, va_list ap) {
  char buf[512];
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  std::string_view msg(buf);
  while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  spdlog::debug("{}: {}", name != nullptr ? static_cast<const char*>(name) : "http", msg);
}

}  // namespace kl
