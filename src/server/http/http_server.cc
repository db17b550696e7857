#include "server/http/http_server.h"

#include <microhttpd.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>

#include "common/json.h"
#include "common/mhd_util.h"

namespace kl::server {
namespace {

MhdResult CollectArg(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* args = static_cast<std::map<std::string, std::string>*>(cls);
  if (key != nullptr) (*args)[key] = value != nullptr ? value : "";
  return MHD_YES;
}

int Send(MHD_Connection* c, const HttpResponse& response, bool head) {
  auto* owned = new std::string(head ? std::string() : response.body);
  MHD_Response* r = MHD_create_response_from_buffer_with_free_callback_cls(
      owned->size(), owned->data(), [](void* cls) { delete static_cast<std::string*>(cls); }, owned);
  if (r == nullptr) {
    delete owned;
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", response.content_type.c_str());
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  bool has_cache = false;
  for (const auto& [k, v] : response.headers) {
    MHD_add_response_header(r, k.c_str(), v.c_str());
    has_cache |= k == "Cache-Control";
  }
  if (!has_cache) MHD_add_response_header(r, "Cache-Control", "no-store");
  int ret = MHD_queue_response(c, static_cast<unsigned>(response.status), r);
  MHD_destroy_response(r);
  return ret;
}

MhdResult DispatchRequest(void* cls, MHD_Connection* c, const char* url, const char* method, const char* version,
                          const char* upload_data, size_t* upload_data_size, void** con_cls);

// What a request carries between libmicrohttpd's calls: the POST body read so far.
struct RequestState {
  std::string body;
  bool too_large = false;
};

void RequestCompleted(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
  delete static_cast<RequestState*>(*con_cls);
  *con_cls = nullptr;
}

}  // namespace

std::string HttpRequest::Arg(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

HttpResponse JsonError(int status, const std::string& message) {
  JsonWriter w;
  w.BeginObject().Key("error").String(message).EndObject();
  return HttpResponse{status, "application/json", w.Release(), {}};
}

namespace {
MhdResult DispatchRequest(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                          const char* upload_data, size_t* upload_data_size, void** con_cls) {
  return static_cast<MhdResult>(
      static_cast<HttpServer*>(cls)->HandleRequest(c, url, method, upload_data, upload_data_size, con_cls));
}
}  // namespace

int HttpServer::HandleRequest(MHD_Connection* c, const char* url, const char* method, const char* upload_data,
                              size_t* upload_data_size, void** con_cls) {
  HttpServer* self = this;
  std::string m = method != nullptr ? method : "";
  std::string path = url != nullptr ? url : "/";
  bool post = m == "POST" && options_.post_paths.count(path) != 0;
  if (m != "GET" && m != "HEAD" && !post) {
    // Answer before any body is read: MHD discards it and closes.
    bool takes_post = options_.post_paths.count(path) != 0;
    HttpResponse r = JsonError(
        405, "method " + m + " not allowed; " + path + " answers GET and HEAD" + (takes_post ? " and POST" : ""));
    r.headers.emplace_back("Allow", takes_post ? "GET, HEAD, POST" : "GET, HEAD");
    return Send(c, r, false);
  }
  if (*con_cls == nullptr) {  // first call: headers only
    *con_cls = new RequestState();
    return MHD_YES;
  }
  auto* state = static_cast<RequestState*>(*con_cls);
  if (*upload_data_size > 0) {  // more of the body
    if (state->body.size() + *upload_data_size > options_.max_body_bytes) {
      state->too_large = true;
    } else {
      state->body.append(upload_data, *upload_data_size);
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (state->too_large) {
    return Send(c,
                JsonError(413, "the request body is larger than " + std::to_string(options_.max_body_bytes) + " bytes"),
                false);
  }
  HttpRequest req;
  req.method = m;
  req.path = path;
  req.body = std::move(state->body);
  const char* content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
  if (content_type != nullptr) req.content_type = content_type;
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, &CollectArg, &req.query);
  HttpResponse response;
  auto it = self->routes_.find(req.path);
  const HttpHandler& handler = it != self->routes_.end() ? it->second : self->fallback_;
  if (handler) {
    response = handler(req);
  } else {
    response = JsonError(404, "no such path: " + req.path);
  }
  return Send(c, response, m == "HEAD");
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ListenAddress& address,
                                                      std::map<std::string, HttpHandler> routes, HttpHandler fallback,
                                                      HttpServerOptions options) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->address_ = address;
  s->routes_ = std::move(routes);
  s->fallback_ = std::move(fallback);
  s->options_ = options;
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (address.ipv6) flags |= MHD_USE_IPv6;
  s->daemon_ = MHD_start_daemon(flags, static_cast<uint16_t>(address.port), nullptr, nullptr, &DispatchRequest, s.get(),
                                MHD_OPTION_SOCK_ADDR, &address.addr, MHD_OPTION_EXTERNAL_LOGGER, &MhdLogToDebug,
                                const_cast<char*>("http"), MHD_OPTION_CONNECTION_LIMIT, options.max_connections,
                                MHD_OPTION_CONNECTION_TIMEOUT, options.idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED,
                                &RequestCompleted, nullptr, MHD_OPTION_END);
  if (s->daemon_ == nullptr) {
    return Status::IOError("HTTP server: cannot listen on " + address.ToString(address.port) +
                           " (address in use or not available)");
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(s->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  s->port_ = info != nullptr && info->port != 0 ? info->port : address.port;
  return s;
}

std::string HttpServer::url() const { return "http://" + address_.ToString(port_); }

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (daemon_ != nullptr) {
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
  }
}

}  // namespace kl::server
