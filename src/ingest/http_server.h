// HttpServer: a small embedded HTTP/1.1 server on libmicrohttpd, HTTPS with
// GnuTLS, optionally asking clients for a certificate signed by a given CA
// (whose verified subject common name the handler sees). Request bodies are
// collected up to a limit (413 beyond it); one handler answers every request.
// Kept self-contained so that the ingest endpoint and the serving part's
// /metrics and dashboard can later share one server.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace kl::ingest {

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // address to bind ("0.0.0.0" for all)
  int port = 0;                    // 0: any free port
  std::string tls_cert_pem;        // empty: plain HTTP
  std::string tls_key_pem;
  std::string client_ca_pem;  // non-empty: ask for client certificates signed by this CA
  size_t max_body_bytes = 64 << 20;
  unsigned max_connections = 512;
  unsigned connection_timeout_s = 120;  // idle keep-alive connections are closed after this
  // 0: a thread per connection. N > 0: N threads, each serving many
  // connections from an epoll loop; a handler blocks only its own thread's
  // connections, so N bounds how many requests are handled at once.
  unsigned threads = 0;
};

struct HttpRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // followed by kBodyPadding readable bytes
  std::string client_cert_cn;                  // verified client certificate's CN, else empty
  std::string client_cert_error;               // why a presented certificate was not accepted
  std::string peer;                            // "ip:port"
  std::string Header(const std::string& lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpServer {
 public:
  // Bytes of spare capacity after every request body (in-place JSON parsing).
  static constexpr size_t kBodyPadding = 64;
  // The handler may take the request's buffers (the body is its to change).
  using Handler = std::function<HttpResponse(HttpRequest&)>;

  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status Start();
  void Stop();
  int port() const { return port_; }
  bool tls() const { return !options_.tls_cert_pem.empty(); }
  std::string url() const;
  uint64_t requests() const { return requests_.load(); }

 private:
  struct Connection;
  friend struct HttpServerCallbacks;
  int OnRequest(MHD_Connection* connection, const char* url, const char* method, const char* upload_data,
                size_t* upload_data_size, void** con_cls);

  HttpServerOptions options_;
  Handler handler_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  std::mutex mu_;
  std::atomic<uint64_t> requests_{0};
};

// "host:port" (also "[v6]:port" and ":port") into its parts.
Status ParseListenAddress(const std::string& text, std::string* host, int* port);

}  // namespace kl::ingest
