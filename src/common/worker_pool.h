// Helper threads that run one caller's independent tasks side by side (the
// buckets of a table's checkpoint). The caller works on its own tasks too:
// a call makes progress even while every helper is busy with another
// caller's tasks, nested calls cannot deadlock, and a parallelism of 1 runs
// everything on the calling thread, in order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace kl {

class WorkerPool {
 public:
  // Starts with `helpers` threads; Run() adds more when a call asks for more parallelism.
  // The helpers carry `thread_name` (at most 15 characters), so per-thread CPU figures
  // tell pools apart.
  explicit WorkerPool(int helpers = 0, std::string thread_name = "kl-worker");
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs task(0) … task(n-1), at most `parallelism` at once (the caller and
  // parallelism-1 helpers), and returns once every task that started has
  // returned. The result is OK or the Status of the failed task with the
  // lowest index; after a failure, tasks not yet started are skipped (they
  // would be thrown away with the failed call). `helper_cpu_seconds`, when
  // given, receives the CPU time the tasks spent on helper threads (the
  // caller's own share shows in its thread's CPU time).
  Status Run(size_t n, int parallelism, const std::function<Status(size_t)>& task,
             double* helper_cpu_seconds = nullptr);

  int helpers() const;

  // The pool the process shares (never destroyed: helpers block idle at exit).
  static WorkerPool& Shared();
  // Threads one caller's tasks use by default: set by SetDefaultParallelism
  // (`kubelake run --threads`), else the cores this process may run on.
  static int DefaultParallelism();
  // n <= 0 restores the default (the cores this process may run on).
  static void SetDefaultParallelism(int n);
  // The cores this process may run on (its CPU affinity), at least 1.
  static int AvailableCores();

 private:
  struct Batch;
  void EnsureHelpers(int helpers);
  void HelperLoop();
  static void Work(Batch* batch);

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Batch>> tickets_;  // one per helper a call asked for
  std::vector<std::thread> threads_;
  bool stopping_ = false;
  const std::string thread_name_;
};

}  // namespace kl
