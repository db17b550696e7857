#include "server/pgwire/query_gate.h"

#include <chrono>
#include <thread>

#include "common/clock.h"
#include "common/worker_pool.h"

namespace kl::server::pg {

QueryGate::QueryGate(int slots, int64_t demote_after_us) : slots_(slots), demote_after_us_(demote_after_us) {
  if (slots_ <= 0) slots_ = WorkerPool::AvailableCores();
}

uint64_t QueryGate::Enter() {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t ticket = next_ticket_++;
  std::condition_variable mine;
  bool waiting = false;
  while (ticket >= done_ + static_cast<uint64_t>(slots_)) {
    // The holder that started first is the one to demote when it has run too long.
    int64_t now = MonotonicMicros();
    auto oldest = holders_.end();
    for (auto it = holders_.begin(); it != holders_.end(); ++it) {
      if (oldest == holders_.end() || it->second < oldest->second) oldest = it;
    }
    if (!waiting) {
      waiting_[ticket] = &mine;
      waiting = true;
    }
    if (oldest == holders_.end()) {
      // Turns admitted but not yet taken up: their threads are waking.
      mine.wait_for(lock, std::chrono::microseconds(demote_after_us_));
      continue;
    }
    if (now - oldest->second >= demote_after_us_) {
      holders_.erase(oldest);
      Admit();
      continue;
    }
    mine.wait_for(lock, std::chrono::microseconds(oldest->second + demote_after_us_ - now));
  }
  if (waiting) waiting_.erase(ticket);
  holders_[ticket] = MonotonicMicros();
  return ticket;
}

void QueryGate::Leave(uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mu_);
  if (holders_.erase(ticket) == 0) return;  // demoted: its turn was already counted
  Admit();
}

void QueryGate::Admit() {
  ++done_;
  // Wake only the ticket this lets in (each waiter has its own condition variable).
  auto it = waiting_.find(done_ + static_cast<uint64_t>(slots_) - 1);
  if (it != waiting_.end()) it->second->notify_one();
}

}  // namespace kl::server::pg
