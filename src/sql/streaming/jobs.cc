#include "sql/streaming/jobs.h"

#include <pthread.h>

namespace kl::sql::streaming {

Status JobHost::Start(std::unique_ptr<pipeline::Job> job, std::string statement, std::string explain) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string name = job->name();
  auto it = jobs_.find(name);
  if (it != jobs_.end()) {
    if (!it->second->done.load()) {
      return Status::AlreadyExists("a job named '" + name +
                                   "' is running; SET 'pipeline.name' to another name for this INSERT");
    }
    it->second->Join();
    jobs_.erase(it);
  }
  auto e = std::make_unique<Entry>();
  e->job = std::move(job);
  e->statement = std::move(statement);
  e->explain = std::move(explain);
  Entry* raw = e.get();
  raw->thread = std::thread([raw] {
    pthread_setname_np(pthread_self(), raw->job->name().substr(0, 15).c_str());
    raw->job->Run(raw->stop);
    raw->done = true;
  });
  jobs_[name] = std::move(e);
  return Status::OK();
}

bool JobHost::Running(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(name);
  return it != jobs_.end() && !it->second->done.load();
}

std::vector<JobInfo> JobHost::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobInfo> out;
  for (const auto& [name, e] : jobs_) {
    JobInfo i;
    i.name = name;
    i.statement = e->statement;
    i.explain = e->explain;
    i.status = e->job->status();
    i.running = !e->done.load();
    out.push_back(std::move(i));
  }
  return out;
}

Status JobHost::Stop(const std::string& name) {
  Entry* e = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(name);
    if (it == jobs_.end()) return Status::NotFound("there is no job named '" + name + "'");
    e = it->second.get();
  }
  e->stop = true;
  e->Join();
  return Status::OK();
}

void JobHost::StopAll() {
  std::vector<Entry*> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, e] : jobs_) all.push_back(e.get());
  }
  for (Entry* e : all) e->stop = true;
  for (Entry* e : all) e->Join();
}

}  // namespace kl::sql::streaming
