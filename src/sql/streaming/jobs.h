// The streaming jobs of one SQL engine: each runs on its own thread until it
// is stopped (STOP JOB, the engine's end, SIGTERM of `kubelake sql`) or fails
// with an error restarting cannot cure; a stop commits once more.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/runtime/job.h"

namespace kl::sql::streaming {

struct JobInfo {
  std::string name;
  std::string statement;  // the INSERT as written
  std::string explain;    // its operators
  pipeline::JobStatus status;
  bool running = false;  // its thread runs (false after a stop or a failure)
};

class JobHost {
 public:
  JobHost() = default;
  ~JobHost() { StopAll(); }
  JobHost(const JobHost&) = delete;
  JobHost& operator=(const JobHost&) = delete;

  // Starts `job` (opened already) on its own thread; AlreadyExists when a job of
  // that name runs. A stopped or failed job of the name is replaced.
  Status Start(std::unique_ptr<pipeline::Job> job, std::string statement, std::string explain);
  bool Running(const std::string& name) const;
  std::vector<JobInfo> List() const;
  // Stops the job (waiting for its final commit); NotFound when there is none.
  Status Stop(const std::string& name);
  void StopAll();

 private:
  struct Entry {
    std::unique_ptr<pipeline::Job> job;
    std::string statement, explain;
    std::atomic<bool> stop{false};
    std::atomic<bool> done{false};
    std::thread thread;
    std::mutex join_mu;  // Stop and Start may both want the thread joined
    void Join() {
      std::lock_guard<std::mutex> lock(join_mu);
      if (thread.joinable()) thread.join();
    }
  };
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> jobs_;
};

}  // namespace kl::sql::streaming
