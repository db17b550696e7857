#include "collector/watchset/watchset_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <set>

#include "collector/watch/framer.h"
#include "collector/watchset/watch_spec.h"
#include "common/clock.h"

namespace kl::collector {
namespace {

constexpr const char* kWatchSetsPath = "/apis/kubelake.io/v1alpha1/watchsets";

std::string ResourceLabel(const WatchTarget& t) {
  return (t.group.empty() ? "" : t.group + "/") + t.resource + (t.namespace_.empty() ? "" : " in " + t.namespace_);
}

}  // namespace

WatchSetController::WatchSetController(ClusterCredentials cluster, WatchSetControllerOptions options)
    : cluster_(std::move(cluster)), options_(std::move(options)), framer_(std::make_unique<JsonStreamFramer>()) {
  auto tls = std::make_shared<TlsSettings>();
  tls->ca_pem = cluster_.ca_pem;
  tls->client_cert_pem = cluster_.client_cert_pem;
  tls->client_key_pem = cluster_.client_key_pem;
  tls->insecure_skip_verify = cluster_.insecure_skip_tls_verify;
  tls_ = tls;
}

WatchSetController::~WatchSetController() { Stop(); }

std::string WatchSetController::CollectionUrl() const { return cluster_.server + kWatchSetsPath; }

std::vector<std::string> WatchSetController::Headers() const {
  std::vector<std::string> headers;
  auto token = CurrentToken(cluster_);
  if (token.ok() && !token->empty()) headers.push_back("Authorization: Bearer " + *token);
  return headers;
}

std::vector<WatchSetController::SetState> WatchSetController::Sets() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SetState> out;
  for (const auto& [name, s] : sets_) out.push_back(s);
  return out;
}

std::string WatchSetController::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

void WatchSetController::Fail(const std::string& error, bool relist) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_error_ != error) spdlog::warn("collector: WatchSets of {}: {}", cluster_.name, error);
    last_error_ = error;
  }
  loop_.RunAfter(options_.retry_ms, [this, relist] {
    if (relist || resource_version_.empty())
      List();
    else
      Watch();
  });
}

Result<std::vector<WatchTarget>> WatchSetController::LoadInitial(int64_t timeout_ms) {
  KL_RETURN_IF_ERROR(loop_.Start());
  auto done = std::make_shared<std::promise<Status>>();
  auto future = done->get_future();
  loop_.Post([this, done] {
    HttpRequest req;
    req.url = CollectionUrl();
    req.headers = Headers();
    req.tls = tls_;
    req.timeout_ms = 30000;
    auto body = std::make_shared<std::string>();
    req.on_data = [body](long, std::string_view bytes) {
      body->append(bytes);
      return true;
    };
    req.on_done = [this, body, done](const HttpOutcome& outcome) {
      if (!outcome.transport_ok) {
        done->set_value(Status::Unavailable("listing WatchSets at " + CollectionUrl() + ": " + outcome.error));
        return;
      }
      if (outcome.http_status == 404) {
        crd_missing_ = true;
        spdlog::warn("collector: {} has no WatchSet CRD (watchsets.kubelake.io); watching nothing until it does",
                     cluster_.name);
        done->set_value(Status::OK());
        return;
      }
      if (outcome.http_status != 200) {
        done->set_value(Status::Unavailable("listing WatchSets at " + CollectionUrl() + ": HTTP " +
                                            std::to_string(outcome.http_status) + ": " + body->substr(0, 300)));
        return;
      }
      auto list = ParseJson(*body, "WatchSet list");
      if (!list.ok()) {
        done->set_value(list.status());
        return;
      }
      const JsonValue* meta = list->Find("metadata");
      resource_version_ = meta != nullptr ? meta->GetStringOr("resourceVersion", "") : "";
      const JsonValue* items = list->Find("items");
      if (items != nullptr && items->is_array()) {
        for (const JsonValue& item : items->items()) Upsert(item);
      }
      done->set_value(Status::OK());
    };
    loop_.Submit(std::move(req));
  });
  if (future.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready) {
    return Status::Unavailable("listing WatchSets at " + CollectionUrl() + ": no answer in time");
  }
  KL_RETURN_IF_ERROR(future.get());
  std::vector<WatchTarget> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, s] : sets_) out.insert(out.end(), s.targets.begin(), s.targets.end());
  return out;
}

Status WatchSetController::Start(Collector* collector) {
  if (started_) return Status::OK();
  KL_RETURN_IF_ERROR(loop_.Start());
  collector_ = collector;
  started_ = true;
  loop_.Post([this] {
    Apply();
    if (resource_version_.empty())
      List();
    else
      Watch();
  });
  std::function<void()> tick;
  auto status_tick = std::make_shared<std::function<void()>>();
  *status_tick = [this, status_tick] {
    WriteStatuses();
    loop_.RunAfter(options_.status_interval_ms, *status_tick);
  };
  loop_.Post([this, status_tick] { loop_.RunAfter(500, *status_tick); });
  return Status::OK();
}

void WatchSetController::Stop() {
  loop_.Stop();
  started_ = false;
}

// ---- list / watch ----

void WatchSetController::List() {
  HttpRequest req;
  req.url = CollectionUrl();
  req.headers = Headers();
  req.tls = tls_;
  req.timeout_ms = 30000;
  body_.clear();
  req.on_data = [this](long, std::string_view bytes) {
    body_.append(bytes);
    return true;
  };
  req.on_done = [this](const HttpOutcome& outcome) {
    if (!outcome.transport_ok) return Fail("listing WatchSets: " + outcome.error, true);
    if (outcome.http_status == 404) {
      if (!crd_missing_) spdlog::warn("collector: {} has no WatchSet CRD (watchsets.kubelake.io)", cluster_.name);
      crd_missing_ = true;
      {
        std::lock_guard<std::mutex> lock(mu_);
        sets_.clear();
      }
      Apply();
      return Fail("the WatchSet CRD (watchsets.kubelake.io) is not installed", true);
    }
    if (outcome.http_status != 200) {
      return Fail("listing WatchSets: HTTP " + std::to_string(outcome.http_status) + ": " + body_.substr(0, 300), true);
    }
    crd_missing_ = false;
    auto list = ParseJson(body_, "WatchSet list");
    if (!list.ok()) return Fail(list.status().ToString(), true);
    const JsonValue* meta = list->Find("metadata");
    resource_version_ = meta != nullptr ? meta->GetStringOr("resourceVersion", "") : "";
    std::set<std::string> seen;
    const JsonValue* items = list->Find("items");
    if (items != nullptr && items->is_array()) {
      for (const JsonValue& item : items->items()) {
        Upsert(item);
        const JsonValue* m = item.Find("metadata");
        if (m != nullptr) seen.insert(m->GetStringOr("name", ""));
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = sets_.begin(); it != sets_.end();) it = seen.count(it->first) ? std::next(it) : sets_.erase(it);
      last_error_.clear();
    }
    Apply();
    Watch();
  };
  loop_.Submit(std::move(req));
}

void WatchSetController::Watch() {
  framer_->Reset();
  body_.clear();
  HttpRequest req;
  req.url = CollectionUrl() +
            "?watch=true&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=" + UrlEncode(resource_version_);
  req.headers = Headers();
  req.tls = tls_;
  req.low_speed_time_s = 90;
  req.on_data = [this](long status, std::string_view bytes) {
    if (status != 200) {
      body_.append(bytes.substr(0, 4096));
      return true;
    }
    Status s = framer_->Feed(bytes, [this](std::string_view event) {
      OnEvent(event);
      return Status::OK();
    });
    return s.ok();
  };
  req.on_done = [this](const HttpOutcome& outcome) {
    watch_transfer_ = 0;
    if (outcome.http_status == 410) return List();
    if (outcome.http_status == 404) return List();  // the CRD went away
    if (outcome.transport_ok && outcome.http_status == 200) {
      if (resource_version_.empty()) return List();
      return Watch();  // a clean end at timeoutSeconds
    }
    Fail("watching WatchSets: " + (outcome.transport_ok
                                       ? "HTTP " + std::to_string(outcome.http_status) + ": " + body_.substr(0, 300)
                                       : outcome.error),
         false);
  };
  watch_transfer_ = loop_.Submit(std::move(req));
}

void WatchSetController::OnEvent(std::string_view text) {
  auto event = ParseJson(text, "WatchSet watch event");
  if (!event.ok()) return;
  std::string type = event->GetStringOr("type", "");
  const JsonValue* object = event->Find("object");
  if (object == nullptr) return;
  if (type == "ERROR") {
    // 410 Expired: relist. Anything else: also relist, after the stream ends.
    resource_version_.clear();
    return;
  }
  const JsonValue* meta = object->Find("metadata");
  if (meta != nullptr) {
    std::string rv = meta->GetStringOr("resourceVersion", "");
    if (!rv.empty()) resource_version_ = rv;
  }
  if (type == "BOOKMARK") return;
  std::string name = meta != nullptr ? meta->GetStringOr("name", "") : "";
  if (type == "DELETED") {
    bool erased;
    {
      std::lock_guard<std::mutex> lock(mu_);
      erased = sets_.erase(name) > 0;
    }
    if (erased) {
      spdlog::info("collector: WatchSet {} deleted", name);
      Apply();
    }
    return;
  }
  if (type == "ADDED" || type == "MODIFIED") {
    std::string before;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = sets_.find(name);
      if (it != sets_.end()) before = it->second.spec_json;
    }
    Upsert(*object);
    std::string after;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = sets_.find(name);
      if (it != sets_.end()) after = it->second.spec_json;
    }
    // Status writes (ours included) change nothing to watch.
    if (before != after || before.empty()) {
      spdlog::info("collector: WatchSet {} {}", name, type == "ADDED" ? "added" : "changed");
      Apply();
    }
  }
}

void WatchSetController::Upsert(const JsonValue& object) {
  const JsonValue* meta = object.Find("metadata");
  if (meta == nullptr) return;
  std::string name = meta->GetStringOr("name", "");
  if (name.empty()) return;
  const JsonValue* spec = object.Find("spec");
  std::string spec_json = spec != nullptr ? spec->ToJson() : "null";
  std::lock_guard<std::mutex> lock(mu_);
  SetState& s = sets_[name];
  s.name = name;
  s.generation = meta->GetIntOr("generation", 0);
  if (s.spec_json == spec_json && !s.spec_json.empty()) return;
  s.spec_json = spec_json;
  s.valid = false;
  s.error.clear();
  // An edit that cannot be used keeps the watches of the last good spec
  // running (and says why in the status), as operators do.
  // A JSON document is YAML: the same parser as for WatchSet files.
  auto parsed = ParseWatchSets(object.ToJson());
  if (!parsed.ok()) {
    s.error = parsed.status().message();
    return;
  }
  WatchSet set = (*parsed)[0];
  if (!set.clusters.empty() &&
      std::find(set.clusters.begin(), set.clusters.end(), cluster_.name) == set.clusters.end()) {
    s.error = "names clusters other than this one (" + cluster_.name + ")";
    s.targets.clear();
    return;
  }
  set.clusters.clear();
  auto targets = ExpandTargets({set}, {cluster_});
  if (!targets.ok()) {
    s.error = targets.status().message();
    return;
  }
  s.targets = std::move(*targets);
  s.valid = true;
}

void WatchSetController::Apply() {
  if (collector_ == nullptr) return;
  std::vector<WatchTarget> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, s] : sets_) all.insert(all.end(), s.targets.begin(), s.targets.end());
  }
  Status st = collector_->SetTargets(std::move(all));
  if (!st.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = "applying WatchSets: " + st.ToString();
    spdlog::error("collector: {}", last_error_);
  }
}

// ---- status ----

std::string WatchSetController::StatusFor(SetState* set, const std::vector<WatchStats>& stats) {
  std::string prefix = set->name + "/";
  std::string status = "True", reason = "Watching", message;
  std::string last_error;
  JsonWriter resources;
  resources.BeginArray();
  size_t watching = 0, total = 0;
  auto worse = [&](const std::string& r, const std::string& m) {
    static const std::vector<std::string> order = {"Watching", "Listing", "WatchFailing", "ResourceNotFound",
                                                   "Forbidden"};
    auto rank = [&](const std::string& x) { return std::find(order.begin(), order.end(), x) - order.begin(); };
    if (rank(r) > rank(reason)) {
      reason = r;
      message = m;
    }
  };
  for (const WatchTarget& t : set->targets) {
    const WatchStats* w = nullptr;
    for (const WatchStats& s : stats) {
      if (s.watch_name == t.watch_name && s.cluster == t.cluster) w = &s;
    }
    ++total;
    resources.BeginObject();
    if (!t.group.empty()) resources.Key("group").String(t.group);
    resources.Key("version").String(t.version).Key("resource").String(t.resource);
    if (!t.namespace_.empty()) resources.Key("namespace").String(t.namespace_);
    if (w == nullptr) {
      resources.Key("state").String("starting").EndObject();
      worse("Listing", ResourceLabel(t) + ": starting");
      continue;
    }
    resources.Key("state").String(WatchStateName(w->state)).Key("events").Uint(w->events);
    resources.Key("tracked").Uint(w->tracked);
    bool healthy = w->state == WatchState::kWatching;
    if (!w->last_error.empty()) resources.Key("lastError").String(w->last_error);
    resources.EndObject();
    if (!w->last_error.empty()) last_error = ResourceLabel(t) + ": " + w->last_error;
    if (healthy) {
      ++watching;
    } else if (w->last_http_status == 403) {
      worse("Forbidden",
            ResourceLabel(t) + ": the collector's service account may not list/watch it (RBAC): " + w->last_error);
    } else if (w->last_http_status == 404) {
      worse("ResourceNotFound", ResourceLabel(t) + ": the API server does not serve this resource: " + w->last_error);
    } else if (w->state == WatchState::kListing || w->state == WatchState::kIdle) {
      worse("Listing", ResourceLabel(t) + ": listing");
    } else {
      worse("WatchFailing", ResourceLabel(t) + ": " + w->last_error);
    }
  }
  resources.EndArray();
  if (!set->valid) {
    reason = "InvalidSpec";
    message = set->error;
    last_error = set->error;
  }
  if (reason != "Watching")
    status = "False";
  else
    message = "watching " + std::to_string(watching) + " of " + std::to_string(total) + " resources";
  std::string key = status + "/" + reason;
  if (key != set->condition_key) {
    set->condition_key = key;
    set->transition_ms = NowMillis();
  }
  JsonWriter w;
  w.BeginObject().Key("status").BeginObject();
  w.Key("observedGeneration").Int(set->generation);
  w.Key("conditions").BeginArray().BeginObject().Key("type").String("Ready").Key("status").String(status);
  w.Key("reason").String(reason).Key("message").String(message);
  w.Key("lastTransitionTime").String(FormatRfc3339(set->transition_ms)).EndObject().EndArray();
  w.Key("watchedResources").Raw(resources.str());
  w.Key("lastError").String(last_error);
  w.Key("collectorCluster").String(cluster_.name);
  if (options_.extra_status) options_.extra_status(&w);
  w.EndObject().EndObject();
  return w.Release();
}

void WatchSetController::WriteStatuses() {
  if (collector_ == nullptr) return;
  std::vector<WatchStats> stats = collector_->Stats();
  std::vector<std::pair<std::string, std::string>> writes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, set] : sets_) {
      if (!set.valid && set.error.find("names clusters other than") != std::string::npos) continue;
      std::string body = StatusFor(&set, stats);
      if (body != set.last_status) writes.emplace_back(name, std::move(body));
    }
  }
  for (auto& [name, body] : writes) {
    HttpRequest req;
    req.url = CollectionUrl() + "/" + UrlEncode(name) + "/status";
    req.method = "PATCH";
    req.body = body;
    req.headers = Headers();
    req.headers.push_back("Content-Type: application/merge-patch+json");
    req.tls = tls_;
    req.timeout_ms = 30000;
    auto answer = std::make_shared<std::string>();
    req.on_data = [answer](long, std::string_view bytes) {
      if (answer->size() < 4096) answer->append(bytes);
      return true;
    };
    std::string set_name = name, written = body;
    req.on_done = [this, set_name, written, answer](const HttpOutcome& outcome) {
      if (outcome.transport_ok && outcome.http_status < 300) {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = sets_.find(set_name);
        if (it != sets_.end()) it->second.last_status = written;
        return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      std::string error =
          "writing the status of WatchSet " + set_name + ": " +
          (outcome.transport_ok ? "HTTP " + std::to_string(outcome.http_status) + ": " + answer->substr(0, 300)
                                : outcome.error);
      if (error != last_error_) spdlog::warn("collector: {}", error);
      last_error_ = error;
    };
    loop_.Submit(std::move(req));
  }
}

}  // namespace kl::collector
