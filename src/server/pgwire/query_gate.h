// Lets a few sessions at a time do query work (about one per core), in the order
// they asked, instead of every connection's thread competing for the cores at once.
// With more busy connections than cores the scheduler would slice every query
// into pieces and interleave them, so a short look-up waits behind the slices of
// all the others; taking turns keeps its wait to the queries ahead of it.
// A holder never blocks on a client while holding a turn (sessions leave before
// reading or writing the socket), and one that keeps its turn longer than
// `demote_after_us` (a long query) stops counting, so nothing waits behind it
// for longer than that.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>

namespace kl::server::pg {

class QueryGate {
 public:
  // slots <= 0: one per hardware thread.
  explicit QueryGate(int slots = 0, int64_t demote_after_us = 10000);
  // Waits for a turn; returns its ticket for Leave().
  uint64_t Enter();
  void Leave(uint64_t ticket);
  int slots() const { return slots_; }

 private:
  int slots_;
  int64_t demote_after_us_;
  void Admit();  // one turn ended: let the next ticket in

  std::mutex mu_;
  std::map<uint64_t, std::condition_variable*> waiting_;  // tickets waiting for their turn
  uint64_t next_ticket_ = 0;
  uint64_t done_ = 0;                    // turns ended (left or demoted); ticket t may run when t < done_ + slots_
  std::map<uint64_t, int64_t> holders_;  // ticket -> when it started (microseconds), not demoted
};

// A session's turn at a gate, held across the messages of one request.
class GateTurn {
 public:
  explicit GateTurn(QueryGate* gate) : gate_(gate) {}
  ~GateTurn() { Leave(); }
  void Enter() {
    if (gate_ != nullptr && !held_) {
      ticket_ = gate_->Enter();
      held_ = true;
    }
  }
  void Leave() {
    if (held_) {
      gate_->Leave(ticket_);
      held_ = false;
    }
  }

 private:
  QueryGate* gate_;
  uint64_t ticket_ = 0;
  bool held_ = false;
};

}  // namespace kl::server::pg
