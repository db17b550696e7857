// Why a watch fails, in the words an operator acts on (connection refused,
// DNS, TLS, 401/403, timeouts, HTTP status), and which failures are worth a
// log line: the first of each watch, every change of its cause (rate-limited)
// and the recovery — not the same error every backoff period.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "collector/watch/http_loop.h"

namespace kl::collector {

// The cause of a failed transfer: a short category, e.g. "connection refused",
// "DNS: cannot resolve the host", "TLS: server certificate not trusted",
// "timeout", "connection dropped", or the HTTP status's cause.
std::string TransferFailureCause(const HttpOutcome& outcome);
// "HTTP 401 Unauthorized: credentials rejected", "HTTP 403 Forbidden: no permission to list/watch", ...
std::string HttpStatusCause(long status);

// Per watch: decides which failures to log.
class FailureLog {
 public:
  explicit FailureLog(int64_t interval_ms = 10000) : interval_ms_(interval_ms) {}

  // A failure with `cause`. Returns the text to log now (the first failure, or a new cause
  // at least `interval_ms` after the last line), else nothing.
  std::optional<std::string> OnFailure(const std::string& cause, int64_t now_ms);
  // The watch works again. Returns a line when failures had been logged.
  std::optional<std::string> OnSuccess();

  uint64_t consecutive_failures() const { return failures_; }

 private:
  int64_t interval_ms_;
  std::string logged_cause_;  // the cause of the last line; empty: nothing logged since the last success
  int64_t logged_ms_ = 0;
  uint64_t failures_ = 0;             // since the last success
  uint64_t failures_since_line_ = 0;  // not logged individually
};

}  // namespace kl::collector
