#include "server/listen.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

#include "common/string_util.h"

namespace kl::server {

std::string ListenAddress::ToString(int bound_port) const {
  return (ipv6 && host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(bound_port);
}

Result<std::optional<ListenAddress>> ParseListenAddress(std::string_view text, std::string_view what) {
  std::string t(Trim(text));
  if (t == "off") return std::optional<ListenAddress>();
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(std::string(what) + " '" + t + "': " + why + " (expected HOST:PORT or off)");
  };
  ListenAddress a;
  std::string port;
  if (!t.empty() && t[0] == '[') {
    size_t close = t.find(']');
    if (close == std::string::npos || close + 1 >= t.size() || t[close + 1] != ':') return bad("unclosed [");
    a.host = t.substr(1, close - 1);
    port = t.substr(close + 2);
  } else {
    size_t colon = t.rfind(':');
    if (colon == std::string::npos) return bad("no port");
    a.host = t.substr(0, colon);
    port = t.substr(colon + 1);
  }
  if (a.host.empty()) return bad("no host (use 0.0.0.0 to listen on every interface)");
  auto p = ParseInt64(port);
  if (!p || *p < 0 || *p > 65535) return bad("port must be 0..65535");
  a.port = static_cast<int>(*p);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(a.host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) return bad(std::string("cannot resolve host: ") + gai_strerror(rc));
  // Prefer IPv4 for names that resolve to both (localhost).
  addrinfo* pick = res;
  for (addrinfo* r = res; r != nullptr; r = r->ai_next) {
    if (r->ai_family == AF_INET) {
      pick = r;
      break;
    }
  }
  std::memcpy(&a.addr, pick->ai_addr, pick->ai_addrlen);
  a.addr_len = pick->ai_addrlen;
  a.ipv6 = pick->ai_family == AF_INET6;
  freeaddrinfo(res);
  if (a.ipv6) {
    reinterpret_cast<sockaddr_in6*>(&a.addr)->sin6_port = htons(static_cast<uint16_t>(a.port));
  } else {
    reinterpret_cast<sockaddr_in*>(&a.addr)->sin_port = htons(static_cast<uint16_t>(a.port));
  }
  a.loopback = IsLoopbackPeer(reinterpret_cast<const sockaddr*>(&a.addr));
  return std::optional<ListenAddress>(a);
}

bool IsLoopbackPeer(const sockaddr* addr) {
  if (addr == nullptr) return false;
  if (addr->sa_family == AF_INET) {
    uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(addr)->sin_addr.s_addr);
    return (ip >> 24) == 127;
  }
  if (addr->sa_family == AF_INET6) {
    const in6_addr& a6 = reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) return a6.s6_addr[12] == 127;
  }
  if (addr->sa_family == AF_UNIX) return true;
  return false;
}

}  // namespace kl::server
