#include "common/worker_pool.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <utility>

#include "common/clock.h"

namespace kl {

namespace {
// More helpers than this would only queue for the same cores.
constexpr int kMaxHelpers = 255;
std::atomic<int> default_parallelism{0};  // 0: the cores this process may use
}  // namespace

struct WorkerPool::Batch {
  const std::function<Status(size_t)>* task = nullptr;  // valid while the caller waits in Run()
  size_t n = 0;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<Status> results;
  std::mutex mu;
  std::condition_variable done;
  int active_helpers = 0;  // helpers inside Work(); the caller waits for none
  double helper_cpu = 0;
};

WorkerPool::WorkerPool(int helpers, std::string thread_name) : thread_name_(std::move(thread_name)) {
  EnsureHelpers(helpers);
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

int WorkerPool::helpers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(threads_.size());
}

void WorkerPool::EnsureHelpers(int helpers) {
  helpers = std::min(helpers, kMaxHelpers);
  std::lock_guard<std::mutex> lock(mu_);
  while (static_cast<int>(threads_.size()) < helpers) {
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), thread_name_.substr(0, 15).c_str());
      HelperLoop();
    });
  }
}

void WorkerPool::HelperLoop() {
  while (true) {
    std::shared_ptr<Batch> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !tickets_.empty(); });
      if (stopping_) return;
      batch = std::move(tickets_.front());
      tickets_.pop_front();
    }
    {
      // Counted before claiming a task: once the caller has seen no active
      // helper, a helper arriving late finds every task claimed.
      std::lock_guard<std::mutex> lock(batch->mu);
      ++batch->active_helpers;
    }
    double cpu0 = ThreadCpuSeconds();
    Work(batch.get());
    double cpu = ThreadCpuSeconds() - cpu0;
    {
      std::lock_guard<std::mutex> lock(batch->mu);
      batch->helper_cpu += cpu;
      --batch->active_helpers;
    }
    batch->done.notify_all();
  }
}

void WorkerPool::Work(Batch* batch) {
  while (true) {
    size_t i = batch->next.fetch_add(1);
    if (i >= batch->n) return;
    if (batch->failed.load()) continue;  // skipped: the call fails anyway
    Status s = (*batch->task)(i);
    if (!s.ok()) {
      batch->results[i] = std::move(s);
      batch->failed.store(true);
    }
  }
}

Status WorkerPool::Run(size_t n, int parallelism, const std::function<Status(size_t)>& task,
                       double* helper_cpu_seconds) {
  if (helper_cpu_seconds != nullptr) *helper_cpu_seconds = 0;
  if (n == 0) return Status::OK();
  int helpers = static_cast<int>(std::min<size_t>(n, static_cast<size_t>(std::max(parallelism, 1)))) - 1;
  if (helpers <= 0) {
    for (size_t i = 0; i < n; ++i) KL_RETURN_IF_ERROR(task(i));
    return Status::OK();
  }
  EnsureHelpers(helpers);
  auto batch = std::make_shared<Batch>();
  batch->task = &task;
  batch->n = n;
  batch->results.resize(n);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int h = 0; h < helpers; ++h) tickets_.push_back(batch);
  }
  if (helpers == 1) {
    wake_.notify_one();
  } else {
    wake_.notify_all();
  }
  Work(batch.get());
  {
    // Tickets no helper took: nothing is left to claim.
    std::lock_guard<std::mutex> lock(mu_);
    tickets_.erase(std::remove(tickets_.begin(), tickets_.end(), batch), tickets_.end());
  }
  {
    std::unique_lock<std::mutex> lock(batch->mu);
    batch->done.wait(lock, [&] { return batch->active_helpers == 0; });
    if (helper_cpu_seconds != nullptr) *helper_cpu_seconds = batch->helper_cpu;
  }
  for (auto& s : batch->results) {
    if (!s.ok()) return std::move(s);
  }
  return Status::OK();
}

WorkerPool& WorkerPool::Shared() {
  static WorkerPool* pool = new WorkerPool(0);
  return *pool;
}

int WorkerPool::AvailableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

int WorkerPool::DefaultParallelism() {
  int n = default_parallelism.load();
  return n > 0 ? n : AvailableCores();
}

void WorkerPool::SetDefaultParallelism(int n) { default_parallelism.store(std::max(n, 0)); }

}  // namespace kl
