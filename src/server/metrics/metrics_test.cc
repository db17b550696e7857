// The collector's failures on /metrics: failures in a row per watch, and for failing
// watches the cause and URL of the last error (what `kubelake collect` logs).
#include "server/metrics/metrics.h"

#include <gtest/gtest.h>

namespace kl::server {
namespace {

TEST(MetricsTest, FailingWatchesShowTheirLastError) {
  SystemStatus status;
  status.has_collector = true;
  collector::WatchStats ok;
  ok.cluster = "prod-1";
  ok.watch_name = "default/pods";
  ok.state = collector::WatchState::kWatching;
  collector::WatchStats failing = ok;
  failing.cluster = "prod-2";
  failing.state = collector::WatchState::kBackoff;
  failing.errors = 41;
  failing.consecutive_failures = 7;
  failing.last_error_cause = "connection refused";
  failing.last_error_url = "https://10.0.0.2:6443/api/v1/pods";
  failing.last_error_ms = 1700000000500;
  status.watches = {ok, failing};
  MetricsWriter out;
  WriteSystemMetrics(status, &out);
  std::string text = out.Text();
  EXPECT_NE(text.find("kubelake_collector_watch_failures{cluster=\"prod-1\",watch=\"default/pods\"} 0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("kubelake_collector_watch_failures{cluster=\"prod-2\",watch=\"default/pods\"} 7"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("kubelake_collector_watch_last_error{cluster=\"prod-2\",watch=\"default/pods\",cause=\"connection "
                "refused\",url=\"https://10.0.0.2:6443/api/v1/pods\"} 1"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("kubelake_collector_watch_last_error{cluster=\"prod-1\""), std::string::npos) << text;
  EXPECT_NE(
      text.find("kubelake_collector_watch_last_error_timestamp_seconds{cluster=\"prod-2\",watch=\"default/pods\"} "
                "1700000000.5"),
      std::string::npos)
      << text;
}

}  // namespace
}  // namespace kl::server
