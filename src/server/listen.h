// Listen addresses of the servers: "127.0.0.1:8080", "[::1]:5433",
// "localhost:8080", "0.0.0.0:5433", or "off".
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kl::server {

struct ListenAddress {
  std::string host;  // as given (numeric or "localhost")
  int port = 0;      // 0: any free port (tests)
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  bool ipv6 = false;
  bool loopback = false;

  // "127.0.0.1:8080" with the port actually bound.
  std::string ToString(int bound_port) const;
};

// nullopt for "off"; an error names what is wrong with the text.
Result<std::optional<ListenAddress>> ParseListenAddress(std::string_view text, std::string_view what);

// Whether a peer address is a loopback one (127.0.0.0/8, ::1, ::ffff:127.x).
bool IsLoopbackPeer(const sockaddr* addr);

}  // namespace kl::server
