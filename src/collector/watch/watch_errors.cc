#include "collector/watch/watch_errors.h"

#include <curl/curl.h>

#include <cerrno>

namespace kl::collector {

std::string HttpStatusCause(long status) {
  switch (status) {
    case 400: return "HTTP 400 Bad Request";
    case 401: return "HTTP 401 Unauthorized: credentials rejected (token or client certificate)";
    case 403: return "HTTP 403 Forbidden: no permission to list/watch this resource (RBAC)";
    case 404: return "HTTP 404 Not Found: the server does not serve this resource";
    case 407: return "HTTP 407 Proxy Authentication Required";
    case 429: return "HTTP 429 Too Many Requests: the server is throttling";
    case 500: return "HTTP 500 Internal Server Error";
    case 502: return "HTTP 502 Bad Gateway";
    case 503: return "HTTP 503 Service Unavailable";
    case 504: return "HTTP 504 Gateway Timeout";
    default: break;
  }
  std::string s = "HTTP " + std::to_string(status);
  if (status >= 500) return s + " server error";
  return s;
}

std::string TransferFailureCause(const HttpOutcome& outcome) {
  if (outcome.transport_ok) return HttpStatusCause(outcome.http_status);
  switch (static_cast<CURLcode>(outcome.curl_code)) {
    case CURLE_COULDNT_RESOLVE_HOST: return "DNS: cannot resolve the host";
    case CURLE_COULDNT_RESOLVE_PROXY: return "DNS: cannot resolve the proxy";
    case CURLE_COULDNT_CONNECT:
      if (outcome.os_errno == ECONNREFUSED || outcome.error.find("refused") != std::string::npos) {
        return "connection refused";
      }
      if (outcome.os_errno == EHOSTUNREACH || outcome.os_errno == ENETUNREACH ||
          outcome.error.find("route") != std::string::npos) {
        return "no route to host";
      }
      if (outcome.os_errno == ETIMEDOUT) return "timeout connecting";
      return "cannot connect";
    case CURLE_OPERATION_TIMEDOUT:
      return outcome.error.find("onnect") != std::string::npos ? "timeout connecting" : "timeout";
    case CURLE_PEER_FAILED_VERIFICATION: return "TLS: server certificate not trusted or not for this host";
    case CURLE_SSL_CACERT_BADFILE: return "TLS: bad CA certificate";
    case CURLE_SSL_CERTPROBLEM: return "TLS: bad client certificate";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT: return "TLS: handshake failed";
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE: return "connection dropped";
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return "bad server URL";
    case CURLE_WRITE_ERROR:
      if (outcome.aborted) return "stream stopped";
      break;
    default: break;
  }
  return "transfer failed";
}

std::optional<std::string> FailureLog::OnFailure(const std::string& cause, int64_t now_ms) {
  ++failures_;
  bool first = logged_cause_.empty();
  bool changed = !first && cause != logged_cause_;
  if (!first && !(changed && now_ms - logged_ms_ >= interval_ms_)) {
    ++failures_since_line_;
    return std::nullopt;
  }
  std::string line = first ? "failing" : "now failing";
  if (!first && failures_since_line_ > 0) {
    line += " (" + std::to_string(failures_since_line_) + " more failures since \"" + logged_cause_ + "\")";
  }
  logged_cause_ = cause;
  logged_ms_ = now_ms;
  failures_since_line_ = 0;
  return line;
}

std::optional<std::string> FailureLog::OnSuccess() {
  bool logged = !logged_cause_.empty();
  uint64_t failures = failures_;
  std::string last = logged_cause_;
  failures_ = 0;
  failures_since_line_ = 0;
  logged_cause_.clear();
  if (!logged) return std::nullopt;
  return "works again after " + std::to_string(failures) + " failures (last: " + last + ")";
}

}  // namespace kl::collector
