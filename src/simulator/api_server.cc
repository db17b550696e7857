#include "simulator/api_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/json.h"
#include "common/mhd_util.h"
#include "common/string_util.h"
#include "simulator/custom_resources.h"

namespace kl::simulator {
namespace {

std::string StatusBody(int code, std::string_view reason, std::string_view message) {
  JsonWriter w;
  w.BeginObject().Key("kind").String("Status").Key("apiVersion").String("v1").Key("metadata").BeginObject().EndObject();
  w.Key("status").String("Failure").Key("message").String(message).Key("reason").String(reason).Key("code").Int(code);
  w.EndObject();
  return w.Release();
}

int Respond(MHD_Connection* c, unsigned code, std::string body) {
  // Hand the body to libmicrohttpd without copying it (list pages are megabytes).
  auto* owned = new std::string(std::move(body));
  MHD_Response* r = MHD_create_response_from_buffer_with_free_callback_cls(
      owned->size(), owned->data(), [](void* cls) { delete static_cast<std::string*>(cls); }, owned);
  if (r == nullptr) {
    delete owned;
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", "application/json");
  MHD_add_response_header(r, "Cache-Control", "no-cache, private");
  int ret = MHD_queue_response(c, code, r);
  MHD_destroy_response(r);
  return ret;
}

int RespondStatus(MHD_Connection* c, int code, std::string_view reason, std::string_view message) {
  return Respond(c, static_cast<unsigned>(code), StatusBody(code, reason, message));
}

std::string Arg(MHD_Connection* c, const char* key) {
  const char* v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
  return v != nullptr ? v : "";
}

std::string ResourceListJson(std::string_view group_version, std::string_view group) {
  JsonWriter w;
  w.BeginObject().Key("kind").String("APIResourceList").Key("apiVersion").String("v1");
  w.Key("groupVersion").String(group_version).Key("resources").BeginArray();
  for (int i = 0; i < kNumResources; ++i) {
    const ResourceInfo& r = Resource(i);
    if (r.group != group) continue;
    w.BeginObject().Key("name").String(r.resource).Key("singularName").String(r.singular);
    w.Key("namespaced").Bool(r.namespaced).Key("kind").String(r.kind);
    if (r.writable) {
      w.Key("verbs").BeginArray().String("create").String("delete").String("get").String("list").String("patch");
      w.String("update").String("watch").EndArray();
    } else {
      w.Key("verbs").BeginArray().String("get").String("list").String("watch").EndArray();
    }
    w.Key("shortNames").Raw("[" + std::string(r.short_names) + "]");
    w.EndObject();
    if (i == kWatchSets) {
      w.BeginObject().Key("name").String("watchsets/status").Key("singularName").String("");
      w.Key("namespaced").Bool(false).Key("kind").String(r.kind);
      w.Key("verbs").BeginArray().String("get").String("patch").String("update").EndArray().EndObject();
    }
  }
  w.EndArray().EndObject();
  return w.Release();
}

// OpenAPI v3 as far as kubectl needs it: the index of group versions, and
// per group version the write operations of each kind with the
// `fieldValidation` parameter (kubectl then validates on the server instead
// of downloading schemas).
std::string OpenApiV3(const std::string& path, bool crd) {
  auto gv_path = [](const ResourceInfo& r) {
    return r.group.empty() ? "api/" + std::string(r.version)
                           : "apis/" + std::string(r.group) + "/" + std::string(r.version);
  };
  JsonWriter w;
  if (path == "/openapi/v3") {
    std::set<std::string> gvs;
    for (int i = 0; i < kNumResources; ++i) {
      if (i == kWatchSets && !crd) continue;
      gvs.insert(gv_path(Resource(i)));
    }
    w.BeginObject().Key("paths").BeginObject();
    for (const std::string& gv : gvs) {
      w.Key(gv).BeginObject().Key("serverRelativeURL").String("/openapi/v3/" + gv).EndObject();
    }
    w.EndObject().EndObject();
    return w.Release();
  }
  std::string want = path.substr(std::string("/openapi/v3/").size());
  w.BeginObject().Key("openapi").String("3.0.0").Key("info").BeginObject().Key("title").String("Kubernetes");
  w.Key("version").String("v1.29.4").EndObject().Key("paths").BeginObject();
  for (int i = 0; i < kNumResources; ++i) {
    const ResourceInfo& r = Resource(i);
    if (gv_path(r) != want || (i == kWatchSets && !crd)) continue;
    auto op = [&](JsonWriter& o, const char* verb) {
      o.Key(verb).BeginObject().Key("x-kubernetes-group-version-kind").BeginObject().Key("group").String(r.group);
      o.Key("version").String(r.version).Key("kind").String(r.kind).EndObject();
      o.Key("parameters").BeginArray().BeginObject().Key("name").String("fieldValidation").Key("in").String("query");
      o.Key("schema").BeginObject().Key("type").String("string").EndObject().EndObject().EndArray().EndObject();
    };
    std::string base = "/" + want + (r.namespaced ? "/namespaces/{namespace}/" : "/") + std::string(r.resource);
    w.Key(base).BeginObject();
    op(w, "post");
    w.EndObject();
    w.Key(base + "/{name}").BeginObject();
    op(w, "put");
    op(w, "patch");
    w.EndObject();
  }
  w.EndObject().EndObject();
  return w.Release();
}

std::string ObjectLine(std::string_view type, std::string_view object_json) {
  std::string line;
  line.reserve(object_json.size() + 32);
  line.append("{\"type\":\"").append(type).append("\",\"object\":").append(object_json).append("}\n");
  return line;
}

}  // namespace

// State of one open watch response; MHD calls Read from the connection's thread.
struct WatchStream {
  ApiServer* server;
  Filter filter;
  uint64_t cursor = 0;
  int64_t deadline_us = 0;
  bool bookmarks = false;
  int64_t last_sent_us = 0;
  uint64_t drop_generation = 0;
  std::string pending;
  size_t pending_off = 0;
  bool finished = false;  // after an ERROR event: end cleanly once sent
  std::vector<Change> changes;

  ssize_t Read(char* buf, size_t max) {
    while (true) {
      if (pending_off < pending.size()) {
        size_t n = std::min(max, pending.size() - pending_off);
        std::memcpy(buf, pending.data() + pending_off, n);
        pending_off += n;
        if (pending_off == pending.size()) {
          pending.clear();
          pending_off = 0;
        }
        last_sent_us = MonotonicMicros();
        return static_cast<ssize_t>(n);
      }
      if (finished) return MHD_CONTENT_READER_END_OF_STREAM;
      if (server->stopping_.load() || server->drop_generation_.load() != drop_generation) {
        return MHD_CONTENT_READER_END_WITH_ERROR;  // the connection is cut, not closed cleanly
      }
      int64_t now = MonotonicMicros();
      if (now < server->stall_until_us_.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      if (now >= deadline_us) return MHD_CONTENT_READER_END_OF_STREAM;
      changes.clear();
      Status s = server->store_->WaitChanges(filter, &cursor, 512, 100, &changes);
      if (s.IsExpired()) {
        pending = ObjectLine("ERROR", StatusBody(410, "Expired", s.message()));
        finished = true;
        continue;
      }
      for (const Change& c : changes) {
        std::string_view type = c.type == ChangeType::kAdded      ? "ADDED"
                                : c.type == ChangeType::kModified ? "MODIFIED"
                                                                  : "DELETED";
        pending.append("{\"type\":\"").append(type).append("\",\"object\":").append(c.object->json).append("}\n");
      }
      if (pending.empty() && bookmarks &&
          MonotonicMicros() - last_sent_us >= server->options_.bookmark_interval_ms * 1000) {
        const ResourceInfo& r = Resource(filter.resource);
        std::string apiv =
            r.group.empty() ? std::string(r.version) : std::string(r.group) + "/" + std::string(r.version);
        pending = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"" + std::string(r.kind) + "\",\"apiVersion\":\"" +
                  apiv + "\",\"metadata\":{\"resourceVersion\":\"" + std::to_string(cursor) + "\"}}}\n";
      }
    }
  }
};

// A request's body as it arrives (writes of configuration objects).
struct RequestBody {
  std::string data;
};

struct RequestHandler {
  static MhdResult Handle(void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
                          const char* upload_data, size_t* upload_data_size, void** con_cls) {
    return static_cast<MhdResult>(
        static_cast<ApiServer*>(cls)->HandleRequest(connection, url, method, upload_data, upload_data_size, con_cls));
  }
  static void Completed(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
    delete static_cast<RequestBody*>(*con_cls);
    *con_cls = nullptr;
  }
};

ApiServer::ApiServer(ClusterStore* store, ClusterIdentity identity, ApiServerOptions options)
    : store_(store), identity_(std::move(identity)), options_(std::move(options)), port_(options_.port) {}

ApiServer::~ApiServer() { Stop(); }

std::string ApiServer::url() const {
  return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

Status ApiServer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (daemon_ != nullptr) return Status::OK();
  stopping_ = false;
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (options_.tls) flags |= MHD_USE_TLS;
  MHD_AccessHandlerCallback handler = &RequestHandler::Handle;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (options_.tls) {
    daemon_ = MHD_start_daemon(
        flags, static_cast<uint16_t>(port_), nullptr, nullptr, handler, this, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_EXTERNAL_LOGGER, &MhdLogToDebug,
        const_cast<char*>("simulator http"), MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_NOTIFY_COMPLETED,
        &RequestHandler::Completed, nullptr, MHD_OPTION_HTTPS_MEM_KEY, options_.tls_material.server_key_pem.c_str(),
        MHD_OPTION_HTTPS_MEM_CERT, options_.tls_material.server_cert_pem.c_str(), MHD_OPTION_END);
  } else {
    daemon_ =
        MHD_start_daemon(flags, static_cast<uint16_t>(port_), nullptr, nullptr, handler, this, MHD_OPTION_SOCK_ADDR,
                         &addr, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_EXTERNAL_LOGGER, &MhdLogToDebug,
                         const_cast<char*>("simulator http"), MHD_OPTION_CONNECTION_TIMEOUT, 0u,
                         MHD_OPTION_NOTIFY_COMPLETED, &RequestHandler::Completed, nullptr, MHD_OPTION_END);
  }
  if (daemon_ == nullptr) {
    return Status::IOError("simulated API server for " + identity_.name +
                           ": cannot listen on 127.0.0.1:" + std::to_string(port_));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  if (info != nullptr) port_ = info->port;
  return Status::OK();
}

void ApiServer::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (daemon_ == nullptr) return;
  stopping_ = true;
  store_->WakeAll();
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

void ApiServer::DropWatches() {
  ++drop_generation_;
  store_->WakeAll();
}

void ApiServer::StallWatches(int64_t duration_ms) { stall_until_us_ = MonotonicMicros() + duration_ms * 1000; }

void ApiServer::Forbid(const std::string& resource, bool forbidden) {
  std::lock_guard<std::mutex> lock(forbidden_mu_);
  if (resource.empty())
    forbidden_.clear();
  else if (forbidden)
    forbidden_.insert(resource);
  else
    forbidden_.erase(resource);
}

bool ApiServer::Forbidden(int resource) {
  std::lock_guard<std::mutex> lock(forbidden_mu_);
  return forbidden_.count(std::string(Resource(resource).resource)) != 0;
}

int ApiServer::HandleRequest(MHD_Connection* connection, const char* url, const char* method, const char* upload_data,
                             size_t* upload_data_size, void** con_cls) {
  ApiServer* self = this;
  if (*con_cls == nullptr) {
    // First call: headers only; the body (if any) follows.
    *con_cls = new RequestBody();
    return MHD_YES;
  }
  auto* body = static_cast<RequestBody*>(*con_cls);
  if (*upload_data_size != 0) {
    if (body->data.size() < (3 << 20)) body->data.append(upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  ++self->requests_;
  if (!self->options_.token.empty()) {
    const char* auth = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Authorization");
    if (auth == nullptr || std::string(auth) != "Bearer " + self->options_.token) {
      return RespondStatus(connection, 401, "Unauthorized", "Unauthorized");
    }
  }
  return self->Dispatch(connection, url, method, body->data);
}

int ApiServer::Dispatch(MHD_Connection* c, const std::string& path, const std::string& method,
                        const std::string& body) {
  if (path == "/healthz" || path == "/readyz" || path == "/livez") {
    MHD_Response* r = MHD_create_response_from_buffer(2, const_cast<char*>("ok"), MHD_RESPMEM_PERSISTENT);
    int ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (path == "/kubelake/truth") return Respond(c, 200, store_->Truth().ToJson());
  if (path == "/version") {
    JsonWriter w;
    w.BeginObject().Key("major").String("1").Key("minor").String("29").Key("gitVersion").String(identity_.version);
    w.Key("platform").String("linux/amd64").EndObject();
    return Respond(c, 200, w.Release());
  }
  if (path == "/api") {
    JsonWriter w;
    w.BeginObject().Key("kind").String("APIVersions").Key("versions").BeginArray().String("v1").EndArray();
    w.Key("serverAddressByClientCIDRs").BeginArray().BeginObject().Key("clientCIDR").String("0.0.0.0/0");
    w.Key("serverAddress").String("127.0.0.1:" + std::to_string(port_)).EndObject().EndArray().EndObject();
    return Respond(c, 200, w.Release());
  }
  auto apps_group = [](JsonWriter& w) {
    w.BeginObject().Key("name").String("apps").Key("versions").BeginArray();
    w.BeginObject().Key("groupVersion").String("apps/v1").Key("version").String("v1").EndObject().EndArray();
    w.Key("preferredVersion")
        .BeginObject()
        .Key("groupVersion")
        .String("apps/v1")
        .Key("version")
        .String("v1")
        .EndObject();
    w.EndObject();
  };
  bool crd = store_->Get(kCustomResourceDefinitions, "", std::string(kWatchSetCrdName)) != nullptr;
  auto group_doc = [](JsonWriter& w, std::string_view name, std::string_view version) {
    std::string gv = std::string(name) + "/" + std::string(version);
    w.BeginObject().Key("name").String(name).Key("versions").BeginArray();
    w.BeginObject().Key("groupVersion").String(gv).Key("version").String(version).EndObject().EndArray();
    w.Key("preferredVersion").BeginObject().Key("groupVersion").String(gv).Key("version").String(version).EndObject();
    w.EndObject();
  };
  if (path == "/apis") {
    JsonWriter w;
    w.BeginObject().Key("kind").String("APIGroupList").Key("apiVersion").String("v1").Key("groups").BeginArray();
    apps_group(w);
    group_doc(w, "apiextensions.k8s.io", "v1");
    if (crd) group_doc(w, "kubelake.io", "v1alpha1");
    w.EndArray().EndObject();
    return Respond(c, 200, w.Release());
  }
  if (path == "/openapi/v3" || path.rfind("/openapi/v3/", 0) == 0) return Respond(c, 200, OpenApiV3(path, crd));
  for (auto [g, v] :
       {std::pair<std::string_view, std::string_view>{"apiextensions.k8s.io", "v1"}, {"kubelake.io", "v1alpha1"}}) {
    if (g == "kubelake.io" && !crd) continue;
    std::string prefix = "/apis/" + std::string(g);
    if (path == prefix) {
      JsonWriter w;
      group_doc(w, g, v);
      std::string out = w.Release();
      out.insert(1, "\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",");
      return Respond(c, 200, out);
    }
    if (path == prefix + "/" + std::string(v))
      return Respond(c, 200, ResourceListJson(std::string(g) + "/" + std::string(v), g));
  }
  if (path == "/apis/apps") {
    JsonWriter w;
    apps_group(w);
    std::string body = w.Release();
    body.insert(1, "\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",");
    return Respond(c, 200, body);
  }
  if (path == "/api/v1") return Respond(c, 200, ResourceListJson("v1", ""));
  if (path == "/apis/apps/v1") return Respond(c, 200, ResourceListJson("apps/v1", "apps"));

  // /api/v1/... or /apis/<group>/<version>/...
  std::vector<std::string> parts = Split(path, '/', /*skip_empty=*/true);
  std::string group, version;
  size_t i;
  if (parts.size() >= 3 && parts[0] == "api") {
    version = parts[1];
    i = 2;
  } else if (parts.size() >= 4 && parts[0] == "apis") {
    group = parts[1];
    version = parts[2];
    i = 3;
  } else {
    return RespondStatus(c, 404, "NotFound", "the server could not find the requested resource");
  }
  std::vector<std::string> rest(parts.begin() + static_cast<ptrdiff_t>(i), parts.end());
  std::string ns, name;
  int resource = -1;
  bool status_subresource = false;
  if (rest.size() == 3 && rest[2] == "status") {  // cluster-scoped object's status subresource
    int r = FindResource(group, version, rest[0]);
    if (r == kWatchSets) {
      status_subresource = true;
      rest.pop_back();
    }
  }
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    ns = rest[1];
    resource = FindResource(group, version, rest[2]);
    if (rest.size() == 4) name = rest[3];
    if (rest.size() > 4 || (resource >= 0 && !Resource(resource).namespaced)) resource = -1;
  } else if (rest.size() == 1 || rest.size() == 2) {
    resource = FindResource(group, version, rest[0]);
    if (rest.size() == 2) name = rest[1];
  }
  if (resource == kWatchSets && !crd) resource = -1;  // not served until its CRD exists
  if (resource < 0) return RespondStatus(c, 404, "NotFound", "the server could not find the requested resource");
  if (Forbidden(resource)) {
    const ResourceInfo& r = Resource(resource);
    return RespondStatus(c, 403, "Forbidden",
                         std::string(r.resource) + (r.group.empty() ? "" : "." + std::string(r.group)) +
                             " is forbidden: User \"system:serviceaccount:kubelake:kubelake-collector\" cannot " +
                             (method == "GET" ? "list" : "write") + " resource \"" + std::string(r.resource) +
                             "\" in API group \"" + std::string(r.group) + "\" at the cluster scope");
  }
  if (method != "GET") {
    if (!Resource(resource).writable) {
      return RespondStatus(c, 405, "MethodNotAllowed", "the simulated API server writes only CRDs and WatchSets");
    }
    WriteRequest w;
    w.method = method;
    w.resource = resource;
    w.name = name;
    w.status_subresource = status_subresource;
    const char* ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    w.content_type = ct != nullptr ? ct : "";
    w.body = body;
    w.dry_run = Arg(c, "dryRun") == "All";
    WriteResponse out = HandleWrite(store_, w);
    return Respond(c, static_cast<unsigned>(out.code), std::move(out.body));
  }
  return ServeCollection(c, resource, ns, name);
}

int ApiServer::ServeCollection(MHD_Connection* c, int resource, const std::string& ns, const std::string& name) {
  const ResourceInfo& info = Resource(resource);
  if (!name.empty()) {
    ObjectPtr obj = store_->Get(resource, info.namespaced ? ns : "", name);
    if (obj == nullptr) {
      return RespondStatus(c, 404, "NotFound", std::string(info.resource) + " \"" + name + "\" not found");
    }
    return Respond(c, 200, obj->json);
  }
  Filter filter;
  filter.resource = resource;
  filter.namespace_ = ns;
  auto labels = LabelSelector::Parse(Arg(c, "labelSelector"));
  if (!labels.ok()) return RespondStatus(c, 400, "BadRequest", labels.status().message());
  auto fields = FieldSelector::Parse(Arg(c, "fieldSelector"));
  if (!fields.ok()) return RespondStatus(c, 400, "BadRequest", fields.status().message());
  filter.labels = std::move(*labels);
  filter.fields = std::move(*fields);
  std::string watch = Arg(c, "watch");
  if (watch == "true" || watch == "1") return ServeWatch(c, std::move(filter));

  size_t limit = 0;
  if (auto l = ParseUint64(Arg(c, "limit"))) limit = static_cast<size_t>(*l);
  auto page = store_->List(filter, limit, Arg(c, "continue"), NowMillis());
  if (!page.ok()) {
    if (page.status().IsExpired()) return RespondStatus(c, 410, "Expired", page.status().message());
    return RespondStatus(c, 400, "BadRequest", page.status().message());
  }
  std::string body;
  size_t total = 64;
  for (const ObjectPtr& o : page->items) total += o->json.size() + 1;
  body.reserve(total + 256);
  body.append("{\"kind\":\"").append(info.list_kind).append("\",\"apiVersion\":\"");
  if (!info.group.empty()) body.append(info.group).append("/");
  body.append(info.version)
      .append("\",\"metadata\":{\"resourceVersion\":\"")
      .append(std::to_string(page->rv))
      .append("\"");
  if (!page->continue_token.empty()) {
    body.append(",\"continue\":\"").append(page->continue_token).append("\",\"remainingItemCount\":");
    body.append(std::to_string(page->remaining));
  }
  body.append("},\"items\":[");
  for (size_t k = 0; k < page->items.size(); ++k) {
    if (k > 0) body.push_back(',');
    body.append(page->items[k]->json);
  }
  body.append("]}");
  return Respond(c, 200, std::move(body));
}

int ApiServer::ServeWatch(MHD_Connection* c, Filter filter) {
  ++watches_started_;
  auto stream = std::make_unique<WatchStream>();
  stream->server = this;
  stream->bookmarks = Arg(c, "allowWatchBookmarks") == "true";
  stream->drop_generation = drop_generation_.load();
  int64_t timeout_s = options_.default_watch_timeout_s;
  if (auto t = ParseUint64(Arg(c, "timeoutSeconds"))) timeout_s = static_cast<int64_t>(*t);
  stream->deadline_us = MonotonicMicros() + timeout_s * 1000000;
  stream->last_sent_us = MonotonicMicros();
  std::string rv = Arg(c, "resourceVersion");
  if (rv.empty() || rv == "0") {
    // No version: the current state as synthetic ADDED events, then changes.
    auto all = store_->List(filter, 0, "", NowMillis());
    if (!all.ok()) return RespondStatus(c, 500, "InternalError", all.status().message());
    for (const ObjectPtr& o : all->items) stream->pending += ObjectLine("ADDED", o->json);
    stream->cursor = all->rv;
  } else {
    auto v = ParseUint64(rv);
    if (!v) return RespondStatus(c, 400, "BadRequest", "invalid resourceVersion: " + rv);
    stream->cursor = *v;
  }
  stream->filter = std::move(filter);
  ++open_watches_;
  MHD_Response* r = MHD_create_response_from_callback(
      MHD_SIZE_UNKNOWN, 64 * 1024,
      [](void* cls, uint64_t, char* buf, size_t max) -> ssize_t {
        return static_cast<WatchStream*>(cls)->Read(buf, max);
      },
      stream.get(),
      [](void* cls) {
        auto* s = static_cast<WatchStream*>(cls);
        --s->server->open_watches_;
        delete s;
      });
  if (r == nullptr) {
    --open_watches_;
    return RespondStatus(c, 500, "InternalError", "cannot create the watch response");
  }
  stream.release();  // owned by the response now
  MHD_add_response_header(r, "Content-Type", "application/json");
  MHD_add_response_header(r, "Cache-Control", "no-cache, private");
  int ret = MHD_queue_response(c, 200, r);
  MHD_destroy_response(r);
  return ret;
}

}  // namespace kl::simulator
