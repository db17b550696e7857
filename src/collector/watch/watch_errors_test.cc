// Failure causes of watches and which of them are logged (see collector_e2e_test for the
// same against real servers).
#include "collector/watch/watch_errors.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <cerrno>

namespace kl::collector {
namespace {

HttpOutcome Transport(CURLcode code, std::string error = "") {
  HttpOutcome o;
  o.transport_ok = false;
  o.curl_code = code;
  o.error = std::move(error);
  return o;
}

HttpOutcome Http(long status) {
  HttpOutcome o;
  o.transport_ok = true;
  o.http_status = status;
  return o;
}

TEST(WatchErrorsTest, CausesNameWhatAnOperatorFixes) {
  EXPECT_EQ(TransferFailureCause(
                Transport(CURLE_COULDNT_CONNECT, "Failed to connect to 10.0.0.1 port 6443: Connection refused")),
            "connection refused");
  EXPECT_EQ(TransferFailureCause(Transport(CURLE_COULDNT_CONNECT, "Failed to connect: No route to host")),
            "no route to host");
  HttpOutcome refused = Transport(CURLE_COULDNT_CONNECT, "Failed to connect: Couldn't connect to server");
  refused.os_errno = ECONNREFUSED;
  EXPECT_EQ(TransferFailureCause(refused), "connection refused");
  EXPECT_EQ(TransferFailureCause(Transport(CURLE_COULDNT_RESOLVE_HOST, "Could not resolve host: k8s.example")),
            "DNS: cannot resolve the host");
  EXPECT_EQ(TransferFailureCause(Transport(CURLE_OPERATION_TIMEDOUT, "Connection timed out after 10001 ms")),
            "timeout connecting");
  EXPECT_EQ(TransferFailureCause(Transport(CURLE_OPERATION_TIMEDOUT, "Operation too slow")), "timeout");
  EXPECT_EQ(TransferFailureCause(Transport(CURLE_PEER_FAILED_VERIFICATION)).rfind("TLS: server certificate", 0), 0u);
  EXPECT_EQ(TransferFailureCause(Transport(CURLE_SSL_CONNECT_ERROR)), "TLS: handshake failed");
  EXPECT_EQ(TransferFailureCause(Transport(CURLE_SSL_CERTPROBLEM)), "TLS: bad client certificate");
  EXPECT_EQ(TransferFailureCause(Transport(CURLE_RECV_ERROR)), "connection dropped");
  EXPECT_EQ(TransferFailureCause(Transport(CURLE_URL_MALFORMAT)), "bad server URL");
  EXPECT_EQ(TransferFailureCause(Http(401)).rfind("HTTP 401 Unauthorized", 0), 0u);
  EXPECT_EQ(TransferFailureCause(Http(403)).rfind("HTTP 403 Forbidden", 0), 0u);
  EXPECT_NE(TransferFailureCause(Http(403)).find("RBAC"), std::string::npos);
  EXPECT_EQ(HttpStatusCause(404).rfind("HTTP 404", 0), 0u);
  EXPECT_EQ(HttpStatusCause(503), "HTTP 503 Service Unavailable");
  EXPECT_EQ(HttpStatusCause(599), "HTTP 599 server error");
  EXPECT_EQ(HttpStatusCause(418), "HTTP 418");
}

TEST(WatchErrorsTest, LogsTheFirstFailureAndChangesOfCauseRateLimitedAndTheRecovery) {
  FailureLog log(10000);
  auto first = log.OnFailure("connection refused", 1000);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, "failing");
  // The same cause at every retry: silent.
  for (int i = 1; i <= 5; ++i) EXPECT_FALSE(log.OnFailure("connection refused", 1000 + i * 100).has_value());
  // A new cause within the interval: silent (rate limit)...
  EXPECT_FALSE(log.OnFailure("TLS: handshake failed", 5000).has_value());
  // ...and said at the next failure after it, with what was not said.
  auto changed = log.OnFailure("TLS: handshake failed", 11000);
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(*changed, "now failing (6 more failures since \"connection refused\")");
  EXPECT_FALSE(log.OnFailure("TLS: handshake failed", 30000).has_value());  // unchanged
  EXPECT_EQ(log.consecutive_failures(), 9u);
  auto recovered = log.OnSuccess();
  ASSERT_TRUE(recovered.has_value());
  EXPECT_EQ(*recovered, "works again after 9 failures (last: TLS: handshake failed)");
  EXPECT_EQ(log.consecutive_failures(), 0u);
  EXPECT_FALSE(log.OnSuccess().has_value());
  // After a recovery the next failure is a first one again.
  auto again = log.OnFailure("HTTP 403 Forbidden", 30001);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, "failing");
}

}  // namespace
}  // namespace kl::collector
