#include "simulator/api_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <thread>

#include "common/clock.h"
#include "common/json.h"
#include "common/string_util.h"

namespace kl::simulator {
namespace {

// libmicrohttpd changed the handler return type to `enum MHD_Result` in 0.9.71.
#if MHD_VERSION >= 0x00097002
using MhdResult = MHD_Result;
#else
using MhdResult = int;
#endif

std::string StatusBody(int code, std::string_view reason, std::string_view message) {
  JsonWriter w;
  w.BeginObject().Key("kind").String("Status").Key("apiVersion").String("v1").Key("metadata").BeginObject().EndObject();
  w.Key("status").String("Failure").Key("message").String(message).Key("reason").String(reason).Key("code").Int(code);
  w.EndObject();
  return w.Release();
}

// libmicrohttpd's own messages ("Closing connection ...") go to the debug log:
// cut watches are a fault the simulator causes on purpose.
void MhdLog(void*, const char* fmt, va_list ap) {
  char buf[512];
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  std::string_view msg(buf);
  while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  spdlog::debug("simulator http: {}", msg);
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
    w.Key("verbs").BeginArray().String("get").String("list").String("watch").EndArray();
    w.Key("shortNames").Raw("[" + std::string(r.short_names) + "]");
    w.EndObject();
  }
  w.EndArray().EndObject();
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
        std::string_view type = c.type == ChangeType::kAdded ? "ADDED" : c.type == ChangeType::kModified ? "MODIFIED" : "DELETED";
        pending.append("{\"type\":\"").append(type).append("\",\"object\":").append(c.object->json).append("}\n");
      }
      if (pending.empty() && bookmarks &&
          MonotonicMicros() - last_sent_us >= server->options_.bookmark_interval_ms * 1000) {
        const ResourceInfo& r = Resource(filter.resource);
        std::string apiv = r.group.empty() ? std::string(r.version) : std::string(r.group) + "/" + std::string(r.version);
        pending = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"" + std::string(r.kind) + "\",\"apiVersion\":\"" + apiv +
                  "\",\"metadata\":{\"resourceVersion\":\"" + std::to_string(cursor) + "\"}}}\n";
      }
    }
  }
};

struct RequestHandler {
  static MhdResult Handle(void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
                          const char*, size_t* upload_data_size, void** con_cls) {
    return static_cast<MhdResult>(
        static_cast<ApiServer*>(cls)->HandleRequest(connection, url, method, upload_data_size, con_cls));
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
    daemon_ = MHD_start_daemon(flags, static_cast<uint16_t>(port_), nullptr, nullptr, handler, this,
                               MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
                               MHD_OPTION_EXTERNAL_LOGGER, &MhdLog, nullptr,
                               MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_HTTPS_MEM_KEY,
                               options_.tls_material.server_key_pem.c_str(), MHD_OPTION_HTTPS_MEM_CERT,
                               options_.tls_material.server_cert_pem.c_str(), MHD_OPTION_END);
  } else {
    daemon_ = MHD_start_daemon(flags, static_cast<uint16_t>(port_), nullptr, nullptr, handler, this,
                               MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
                               MHD_OPTION_EXTERNAL_LOGGER, &MhdLog, nullptr,
                               MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_END);
  }
  if (daemon_ == nullptr) {
    return Status::IOError("simulated API server for " + identity_.name + ": cannot listen on 127.0.0.1:" +
                           std::to_string(port_));
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

int ApiServer::HandleRequest(MHD_Connection* connection, const char* url, const char* method,
                             size_t* upload_data_size, void** con_cls) {
  ApiServer* self = this;
  if (*con_cls == nullptr) {
    // First call: headers only. GET has no body, but answer on the second call
    // as MHD expects for requests that might carry one.
    static int marker;
    *con_cls = &marker;
    return MHD_YES;
  }
  if (*upload_data_size != 0) {
    *upload_data_size = 0;  // ignore request bodies
    return MHD_YES;
  }
  ++self->requests_;
  if (!self->options_.token.empty()) {
    const char* auth = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Authorization");
    if (auth == nullptr || std::string(auth) != "Bearer " + self->options_.token) {
      return RespondStatus(connection, 401, "Unauthorized", "Unauthorized");
    }
  }
  return self->Dispatch(connection, url, method);
}

int ApiServer::Dispatch(MHD_Connection* c, const std::string& path, const std::string& method) {
  if (method != "GET") return RespondStatus(c, 405, "MethodNotAllowed", "the simulated API server is read-only");
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
    w.Key("preferredVersion").BeginObject().Key("groupVersion").String("apps/v1").Key("version").String("v1").EndObject();
    w.EndObject();
  };
  if (path == "/apis") {
    JsonWriter w;
    w.BeginObject().Key("kind").String("APIGroupList").Key("apiVersion").String("v1").Key("groups").BeginArray();
    apps_group(w);
    w.EndArray().EndObject();
    return Respond(c, 200, w.Release());
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
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    ns = rest[1];
    resource = FindResource(group, version, rest[2]);
    if (rest.size() == 4) name = rest[3];
    if (rest.size() > 4 || (resource >= 0 && !Resource(resource).namespaced)) resource = -1;
  } else if (rest.size() == 1 || rest.size() == 2) {
    resource = FindResource(group, version, rest[0]);
    if (rest.size() == 2) name = rest[1];
  }
  if (resource < 0) return RespondStatus(c, 404, "NotFound", "the server could not find the requested resource");
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
  body.append(info.version).append("\",\"metadata\":{\"resourceVersion\":\"").append(std::to_string(page->rv)).append("\"");
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
      [](void* cls, uint64_t, char* buf, size_t max) -> ssize_t { return static_cast<WatchStream*>(cls)->Read(buf, max); },
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
