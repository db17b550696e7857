#include "ingest/http_server.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "common/mhd_util.h"
#include "common/string_util.h"

namespace kl::ingest {
namespace {

MhdResult CollectHeader(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(cls);
  if (key != nullptr) (*headers)[ToLower(key)] = value != nullptr ? value : "";
  return MHD_YES;
}

// The verified common name of the client's certificate, or why there is none.
void ClientCertificate(MHD_Connection* c, std::string* cn, std::string* error) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (info == nullptr || info->tls_session == nullptr) return;
  auto session = static_cast<gnutls_session_t>(info->tls_session);
  unsigned int list_size = 0;
  const gnutls_datum_t* list = gnutls_certificate_get_peers(session, &list_size);
  if (list == nullptr || list_size == 0) return;  // no certificate presented
  unsigned int status = 0;
  if (gnutls_certificate_verify_peers2(session, &status) != GNUTLS_E_SUCCESS || status != 0) {
    gnutls_datum_t out{};
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
      *error = std::string("client certificate rejected: ") + reinterpret_cast<const char*>(out.data);
      gnutls_free(out.data);
    } else {
      *error = "client certificate rejected";
    }
    return;
  }
  gnutls_x509_crt_t cert;
  if (gnutls_x509_crt_init(&cert) != 0) return;
  if (gnutls_x509_crt_import(cert, &list[0], GNUTLS_X509_FMT_DER) == 0) {
    char buf[256];
    size_t size = sizeof(buf);
    if (gnutls_x509_crt_get_dn_by_oid(cert, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size) == 0) {
      *cn = std::string(buf, size);
    } else {
      *error = "client certificate has no common name";
    }
  }
  gnutls_x509_crt_deinit(cert);
}

std::string Peer(MHD_Connection* c) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "";
  char host[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (info->client_addr->sa_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(info->client_addr);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
  } else if (info->client_addr->sa_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(info->client_addr);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

MhdResult Send(MHD_Connection* c, const HttpResponse& response) {
  auto* owned = new std::string(response.body);
  MHD_Response* r = MHD_create_response_from_buffer_with_free_callback_cls(
      owned->size(), owned->data(), [](void* cls) { delete static_cast<std::string*>(cls); }, owned);
  if (r == nullptr) {
    delete owned;
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", response.content_type.c_str());
  for (const auto& [k, v] : response.headers) MHD_add_response_header(r, k.c_str(), v.c_str());
  MhdResult ret = static_cast<MhdResult>(MHD_queue_response(c, static_cast<unsigned>(response.status), r));
  MHD_destroy_response(r);
  return ret;
}

}  // namespace

std::string HttpRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

struct HttpServer::Connection {
  HttpRequest request;
  bool too_large = false;
};

namespace {
// Request bodies are megabytes: each connection's thread keeps its buffer
// from one request to the next instead of faulting in fresh pages.
thread_local std::string t_body_buffer;
}  // namespace

struct HttpServerCallbacks {
  static MhdResult Handle(void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
                          const char* upload_data, size_t* upload_data_size, void** con_cls) {
    return static_cast<MhdResult>(
        static_cast<HttpServer*>(cls)->OnRequest(connection, url, method, upload_data, upload_data_size, con_cls));
  }
  static void Completed(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
    auto* conn = static_cast<HttpServer::Connection*>(*con_cls);
    if (conn != nullptr && conn->request.body.capacity() > t_body_buffer.capacity() &&
        conn->request.body.capacity() <= (64u << 20)) {
      t_body_buffer.swap(conn->request.body);
    }
    delete conn;
    *con_cls = nullptr;
  }
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)), port_(options_.port) {}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::url() const {
  std::string host = options_.host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(tls() ? "https" : "http") + "://" + host + ":" + std::to_string(port_);
}

Status HttpServer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (daemon_ != nullptr) return Status::OK();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* resolved = nullptr;
  std::string host = options_.host.empty() ? "0.0.0.0" : options_.host;
  int rc = getaddrinfo(host.c_str(), std::to_string(port_).c_str(), &hints, &resolved);
  if (rc != 0 || resolved == nullptr) {
    return Status::InvalidArgument("cannot resolve listen address " + host + ": " + gai_strerror(rc));
  }
  sockaddr_storage addr{};
  std::memcpy(&addr, resolved->ai_addr, resolved->ai_addrlen);
  bool v6 = resolved->ai_family == AF_INET6;
  freeaddrinfo(resolved);

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  flags |= options_.threads > 0 ? MHD_USE_EPOLL : MHD_USE_THREAD_PER_CONNECTION;
  if (v6) flags |= MHD_USE_IPv6;
  std::vector<MHD_OptionItem> opts;
  if (options_.threads > 1) opts.push_back({MHD_OPTION_THREAD_POOL_SIZE, options_.threads, nullptr});
  opts.push_back({MHD_OPTION_SOCK_ADDR, 0, &addr});
  opts.push_back({MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, nullptr});
  opts.push_back(
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&MhdLogToDebug), const_cast<char*>("http server")});
  opts.push_back({MHD_OPTION_CONNECTION_TIMEOUT, options_.connection_timeout_s, nullptr});
  opts.push_back({MHD_OPTION_CONNECTION_LIMIT, options_.max_connections, nullptr});
  opts.push_back({MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&HttpServerCallbacks::Completed), nullptr});
  if (tls()) {
    flags |= MHD_USE_TLS;
    opts.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(options_.tls_key_pem.c_str())});
    opts.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(options_.tls_cert_pem.c_str())});
    if (!options_.client_ca_pem.empty()) {
      opts.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(options_.client_ca_pem.c_str())});
    }
  } else if (!options_.client_ca_pem.empty()) {
    return Status::InvalidArgument("client certificates need TLS: give a server certificate and key");
  }
  opts.push_back({MHD_OPTION_END, 0, nullptr});
  daemon_ = MHD_start_daemon(flags, static_cast<uint16_t>(port_), nullptr, nullptr, &HttpServerCallbacks::Handle, this,
                             MHD_OPTION_ARRAY, opts.data(), MHD_OPTION_END);
  if (daemon_ == nullptr) {
    return Status::IOError("cannot listen on " + host + ":" + std::to_string(port_) +
                           (tls() ? " (or the TLS certificate/key is not valid PEM)" : "") +
                           ": address in use or not available");
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  if (info != nullptr) port_ = info->port;
  return Status::OK();
}

void HttpServer::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (daemon_ == nullptr) return;
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

int HttpServer::OnRequest(MHD_Connection* connection, const char* url, const char* method, const char* upload_data,
                          size_t* upload_data_size, void** con_cls) {
  auto* conn = static_cast<Connection*>(*con_cls);
  if (conn == nullptr) {
    conn = new Connection();
    *con_cls = conn;
    conn->request.body.swap(t_body_buffer);
    conn->request.body.clear();
    conn->request.method = method;
    conn->request.path = url;
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &CollectHeader, &conn->request.headers);
    if (auto len = ParseUint64(conn->request.Header("content-length"))) {
      if (*len > options_.max_body_bytes)
        conn->too_large = true;
      else
        conn->request.body.reserve(*len + kBodyPadding);
    }
    return MHD_YES;
  }
  if (*upload_data_size != 0) {
    if (!conn->too_large) {
      if (conn->request.body.size() + *upload_data_size > options_.max_body_bytes) {
        conn->too_large = true;
        std::string().swap(conn->request.body);
      } else {
        conn->request.body.append(upload_data, *upload_data_size);
      }
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  ++requests_;
  HttpResponse response;
  if (conn->too_large) {
    response.status = 413;
    response.body = "{\"error\":\"request body larger than " + std::to_string(options_.max_body_bytes) + " bytes\"}";
    return Send(connection, response);
  }
  HttpRequest& req = conn->request;
  req.body.reserve(req.body.size() + kBodyPadding);
  req.peer = Peer(connection);
  if (tls() && !options_.client_ca_pem.empty())
    ClientCertificate(connection, &req.client_cert_cn, &req.client_cert_error);
  response = handler_(req);
  return Send(connection, response);
}

Status ParseListenAddress(const std::string& text, std::string* host, int* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("listen address \"" + text + "\" is not HOST:PORT");
  std::string h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  auto p = ParseUint64(text.substr(colon + 1));
  if (!p || *p > 65535) return Status::InvalidArgument("listen address \"" + text + "\": bad port");
  *host = h.empty() ? "0.0.0.0" : h;
  *port = static_cast<int>(*p);
  return Status::OK();
}

}  // namespace kl::ingest
