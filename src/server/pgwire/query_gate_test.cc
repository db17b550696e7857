#include "server/pgwire/query_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/clock.h"

namespace kl::server::pg {
namespace {

TEST(QueryGateTest, NoMoreHoldersThanSlots) {
  QueryGate gate(2, /*demote_after_us=*/60'000'000);
  std::atomic<int> inside{0}, most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        uint64_t ticket = gate.Enter();
        int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        --inside;
        gate.Leave(ticket);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(most.load(), 1);
  EXPECT_LE(most.load(), 2);
}

TEST(QueryGateTest, TurnsInArrivalOrder) {
  QueryGate gate(1, /*demote_after_us=*/60'000'000);
  uint64_t first = gate.Enter();
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      uint64_t ticket = gate.Enter();
      {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(t);
      }
      gate.Leave(ticket);
    });
    // Each waits before the next asks (the gate serves tickets in order).
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  gate.Leave(first);
  for (auto& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(QueryGateTest, ALongHolderStopsCountingAfterTheLimit) {
  QueryGate gate(1, /*demote_after_us=*/50'000);
  uint64_t slow = gate.Enter();
  int64_t t0 = MonotonicMicros();
  uint64_t next = gate.Enter();  // the slow holder still holds its turn
  int64_t waited = MonotonicMicros() - t0;
  EXPECT_GE(waited, 40'000);
  EXPECT_LT(waited, 5'000'000);
  gate.Leave(slow);  // demoted: does not free a second turn
  std::atomic<bool> entered{false};
  std::thread third([&] {
    uint64_t t = gate.Enter();
    entered = true;
    gate.Leave(t);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(entered.load()) << "one slot: the third waits for the second";
  gate.Leave(next);
  third.join();
  EXPECT_TRUE(entered.load());
}

TEST(GateTurnTest, EnterAndLeaveAreIdempotent) {
  QueryGate gate(1, /*demote_after_us=*/60'000'000);
  {
    GateTurn turn(&gate);
    turn.Enter();
    turn.Enter();  // already held: no second ticket
    turn.Leave();
    turn.Leave();
    turn.Enter();
  }  // left on destruction
  uint64_t t = gate.Enter();
  gate.Leave(t);
  GateTurn none(nullptr);
  none.Enter();
  none.Leave();
}

}  // namespace
}  // namespace kl::server::pg
