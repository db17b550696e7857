#include "collector/watch/http_loop.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "common/clock.h"

namespace kl::collector {
namespace {

// A plain HTTP/1.1 server on a loopback port, one thread per connection:
// answers each request with `body`, or with headers only and then silence
// when `stall` is set (a watch that stopped sending).
class TinyServer {
 public:
  TinyServer(std::string body, bool stall) : body_(std::move(body)), stall_(stall) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 64);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~TinyServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    acceptor_.join();
    for (auto& t : connections_) t.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/x"; }

 private:
  void Accept() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      connections_.emplace_back([this, c] { Serve(c); });
    }
  }
  void Serve(int c) {
    char buf[4096];
    std::string request;
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    std::string response =
        stall_ ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               : "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body_.size()) +
                     "\r\nConnection: close\r\n\r\n" + body_;
    (void)!write(c, response.data(), response.size());
    if (stall_) {
      while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    close(c);
  }

  std::string body_;
  bool stall_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> connections_;
};

// Many transfers on one loop: every body arrives whole, every transfer ends once.
TEST(HttpLoopTest, ConcurrentTransfersAllComplete) {
  std::string body(300000, 'b');
  for (size_t i = 0; i < body.size(); i += 997) body[i] = static_cast<char>('a' + i % 26);
  TinyServer server(body, /*stall=*/false);
  HttpLoop loop;
  ASSERT_TRUE(loop.Start().ok());
  constexpr int kTransfers = 24;
  std::vector<std::string> received(kTransfers);
  std::vector<HttpOutcome> outcomes(kTransfers);
  std::atomic<int> done{0};
  std::promise<void> all_done;
  loop.Post([&] {
    for (int i = 0; i < kTransfers; ++i) {
      HttpRequest r;
      r.url = server.url();
      r.on_data = [&, i](long status, std::string_view bytes) {
        EXPECT_EQ(status, 200);
        received[i].append(bytes);
        return true;
      };
      r.on_done = [&, i](const HttpOutcome& o) {
        outcomes[i] = o;
        if (++done == kTransfers) all_done.set_value();
      };
      loop.Submit(std::move(r));
    }
  });
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  loop.Stop();
  for (int i = 0; i < kTransfers; ++i) {
    EXPECT_TRUE(outcomes[i].transport_ok) << outcomes[i].error;
    EXPECT_EQ(outcomes[i].http_status, 200);
    EXPECT_EQ(received[i], body) << i;
  }
}

// Nothing arrives: libcurl's low-speed limit ends the transfer through the
// timeout action (no socket becomes ready), and a task posted meanwhile runs
// at once rather than after the wait.
TEST(HttpLoopTest, StalledTransferTimesOutAndPostedTasksRunPromptly) {
  TinyServer server("", /*stall=*/true);
  HttpLoop loop;
  ASSERT_TRUE(loop.Start().ok());
  std::promise<HttpOutcome> outcome;
  std::atomic<bool> done{false};
  int64_t start = MonotonicMicros();
  loop.Post([&] {
    HttpRequest r;
    r.url = server.url();
    r.low_speed_time_s = 1;
    r.on_done = [&](const HttpOutcome& o) {
      done = true;
      outcome.set_value(o);
    };
    loop.Submit(std::move(r));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Posted while the loop waits for the stalled transfer's timeout: it runs at once, before
  // that timeout ends the transfer (an order, not a duration, so a slow machine cannot fail it).
  std::promise<bool> ran;
  loop.Post([&] { ran.set_value(done.load()); });
  auto ran_future = ran.get_future();
  ASSERT_EQ(ran_future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_FALSE(ran_future.get()) << "a posted task waited for the loop's timeout";
  auto outcome_future = outcome.get_future();
  ASSERT_EQ(outcome_future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  HttpOutcome o = outcome_future.get();
  EXPECT_FALSE(o.transport_ok);
  EXPECT_TRUE(o.timed_out) << o.error;
  EXPECT_GE(MonotonicMicros() - start, 900'000);
  // A timer set from the loop fires on time as well.
  std::promise<void> fired;
  int64_t timer_set = MonotonicMicros();
  loop.Post([&] { loop.RunAfter(100, [&] { fired.set_value(); }); });
  ASSERT_EQ(fired.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_GE(MonotonicMicros() - timer_set, 90'000);
  loop.Stop();
}

}  // namespace
}  // namespace kl::collector
