// A small embedded HTTP/1.1 server on libmicrohttpd: GET/HEAD (and, where
// a route asks for it, POST with a bounded body) routes by exact path, a thread per connection (a slow request never holds up
// another), bounded connections and idle timeouts.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "server/listen.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace kl::server {

struct HttpRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::string body;  // POST
  std::string content_type;

  // The query argument, or `fallback` when absent.
  std::string Arg(const std::string& name, const std::string& fallback = "") const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  unsigned max_connections = 128;
  unsigned idle_timeout_s = 60;
  std::set<std::string> post_paths;  // routes that take POST (besides GET and HEAD)
  size_t max_body_bytes = 1 << 20;   // a larger POST body is refused (413)
};

class HttpServer {
 public:
  // Routes by exact path; `fallback` answers every other path.
  static Result<std::unique_ptr<HttpServer>> Start(const ListenAddress& address,
                                                   std::map<std::string, HttpHandler> routes, HttpHandler fallback,
                                                   HttpServerOptions options = {});
  ~HttpServer();
  void Stop();

  int port() const { return port_; }
  // "http://127.0.0.1:8080"
  std::string url() const;

 private:
  HttpServer() = default;

 public:
  // libmicrohttpd's access handler calls this for each request.
  int HandleRequest(MHD_Connection* c, const char* url, const char* method, const char* upload_data,
                    size_t* upload_data_size, void** con_cls);

 private:
  ListenAddress address_;
  int port_ = 0;
  MHD_Daemon* daemon_ = nullptr;
  HttpServerOptions options_;
  std::map<std::string, HttpHandler> routes_;
  HttpHandler fallback_;
};

// {"error": message} with the given status.
HttpResponse JsonError(int status, const std::string& message);

}  // namespace kl::server
