#include "server/pgwire/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kl::server {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

std::string PeerString(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (a.ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
    port = ntohs(v6->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

void SetTimeout(int fd, int option, int64_t ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv));
}

// A connected socket, optionally wrapped in TLS.
class SocketTransport : public pg::Transport {
 public:
  SocketTransport(int fd, SSL_CTX* ctx, std::string peer, bool loopback)
      : fd_(fd), ctx_(ctx), peer_(std::move(peer)), loopback_(loopback) {}
  ~SocketTransport() override {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
  }

  Result<size_t> Read(char* buf, size_t n) override {
    while (true) {
      if (ssl_ != nullptr) {
        int r = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(n, 1 << 30)));
        if (r > 0) return static_cast<size_t>(r);
        int err = SSL_get_error(ssl_, r);
        if (err == SSL_ERROR_ZERO_RETURN) return size_t{0};
        if (err == SSL_ERROR_SYSCALL && errno == EINTR) continue;
        return Status::IOError("TLS read from " + peer_ + ": " + OpenSslError());
      }
      ssize_t r = ::recv(fd_, buf, n, 0);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno == EINTR) continue;
      return Status::IOError("read from " + peer_ + ": " + std::strerror(errno));
    }
  }

  Status Write(std::string_view data) override {
    while (!data.empty()) {
      if (ssl_ != nullptr) {
        int w = SSL_write(ssl_, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 30)));
        if (w <= 0) {
          if (SSL_get_error(ssl_, w) == SSL_ERROR_SYSCALL && errno == EINTR) continue;
          return Status::IOError("TLS write to " + peer_ + ": " + OpenSslError());
        }
        data.remove_prefix(static_cast<size_t>(w));
        continue;
      }
      ssize_t w = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("write to " + peer_ + ": " + std::strerror(errno));
      }
      data.remove_prefix(static_cast<size_t>(w));
    }
    return Status::OK();
  }

  bool TlsAvailable() const override { return ctx_ != nullptr; }
  Status StartTls() override {
    ssl_ = SSL_new(ctx_);
    if (ssl_ == nullptr) return Status::IOError("TLS: " + OpenSslError());
    SSL_set_fd(ssl_, fd_);
    if (SSL_accept(ssl_) != 1) return Status::IOError("TLS handshake: " + OpenSslError());
    return Status::OK();
  }
  bool tls() const override { return ssl_ != nullptr; }
  void StartupDone() override { SetTimeout(fd_, SO_RCVTIMEO, 0); }
  bool peer_is_loopback() const override { return loopback_; }
  std::string peer() const override { return peer_; }

 private:
  int fd_;
  SSL_CTX* ctx_;
  SSL* ssl_ = nullptr;
  std::string peer_;
  bool loopback_;
};

}  // namespace

class PgServer::Cancels : public pg::CancelRegistry {
 public:
  void Register(int32_t pid, int32_t key, std::atomic<bool>* flag) override {
    std::lock_guard<std::mutex> lock(mu_);
    entries_[pid] = {key, flag};
  }
  void Unregister(int32_t pid) override {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(pid);
  }
  void Cancel(int32_t pid, int32_t key) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(pid);
    if (it != entries_.end() && it->second.first == key) it->second.second->store(true);
  }

 private:
  std::mutex mu_;
  std::map<int32_t, std::pair<int32_t, std::atomic<bool>*>> entries_;
};

struct PgServer::Connection {
  int fd = -1;
  std::string peer;
  bool loopback = false;
};

Result<std::unique_ptr<PgServer>> PgServer::Start(const ListenAddress& address, const PgServerOptions& options,
                                                  QueryEngine* engine) {
  std::unique_ptr<PgServer> s(new PgServer());
  s->options_ = options;
  s->engine_ = engine;
  s->cancels_ = std::make_unique<Cancels>();
  if (!options.users_file.empty()) {
    KL_ASSIGN_OR_RETURN(s->users_, pg::LoadUsersFile(options.users_file));
    s->have_users_ = true;
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return Status::InvalidArgument("TLS needs both --pg-tls-cert and --pg-tls-key");
  }
  if (options.require_tls && options.tls_cert.empty()) {
    return Status::InvalidArgument("requiring TLS needs --pg-tls-cert and --pg-tls-key");
  }
  if (!options.tls_cert.empty()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) return Status::Internal("TLS: " + OpenSslError());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, options.tls_cert.c_str()) != 1) {
      std::string e = OpenSslError();
      SSL_CTX_free(ctx);
      return Status::InvalidArgument("TLS certificate " + options.tls_cert + ": " + e);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, options.tls_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      std::string e = OpenSslError();
      SSL_CTX_free(ctx);
      return Status::InvalidArgument("TLS key " + options.tls_key + ": " + e);
    }
    s->tls_ctx_ = ctx;
  }
  int fd = ::socket(address.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(std::string("PostgreSQL server: socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address.addr), address.addr_len) != 0 || ::listen(fd, 512) != 0) {
    std::string e = std::strerror(errno);
    ::close(fd);
    return Status::IOError("PostgreSQL server: cannot listen on " + address.ToString(address.port) + ": " + e);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  s->port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  s->listen_fd_ = fd;
  if (!address.loopback && !s->have_users_) {
    spdlog::warn("PostgreSQL server listens on {} without a users file: only loopback clients can log in",
                 address.ToString(s->port_));
  }
  if (options.query_slots >= 0) s->gate_ = std::make_unique<pg::QueryGate>(options.query_slots);
  PgServer* self = s.get();
  s->accept_thread_ = std::thread([self] { self->AcceptLoop(); });
  return s;
}

PgServer::~PgServer() { Stop(); }

void PgServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [fd, c] : live_) ::shutdown(fd, SHUT_RDWR);  // wakes every session
    threads.swap(threads_);
  }
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
  if (tls_ctx_ != nullptr) {
    SSL_CTX_free(static_cast<SSL_CTX*>(tls_ctx_));
    tls_ctx_ = nullptr;
  }
}

void PgServer::AcceptLoop() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, 200);
    if (ready <= 0) continue;
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    accepted_++;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto c = std::make_shared<Connection>();
    c->fd = fd;
    c->peer = PeerString(peer);
    c->loopback = IsLoopbackPeer(reinterpret_cast<const sockaddr*>(&peer));
    std::lock_guard<std::mutex> lock(mu_);
    // Join the threads of connections that ended, so they do not pile up.
    for (auto it = threads_.begin(); it != threads_.end();) {
      auto done = std::find(finished_.begin(), finished_.end(), it->get_id());
      if (done != finished_.end()) {
        it->join();
        finished_.erase(done);
        it = threads_.erase(it);
      } else {
        ++it;
      }
    }
    live_[fd] = c;
    active_++;
    threads_.emplace_back([this, c] { Serve(c); });
  }
}

void PgServer::Serve(std::shared_ptr<Connection> c) {
  // OpenSSL writes with write(2), which raises SIGPIPE when the client has gone; blocked in
  // this thread, the write fails with EPIPE instead and only this connection ends (the
  // kubelake binary ignores SIGPIPE anyway; programs embedding the server may not).
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  SSL_CTX* ctx = static_cast<SSL_CTX*>(tls_ctx_);
  SetTimeout(c->fd, SO_SNDTIMEO, options_.write_timeout_ms);
  SetTimeout(c->fd, SO_RCVTIMEO, options_.startup_timeout_ms);
  {
    SocketTransport transport(c->fd, ctx, c->peer, c->loopback);
    if (active_.load() > options_.max_connections) {
      rejected_++;
      // Answer the startup with the error PostgreSQL gives, then close.
      pg::MessageWriter w;
      w.Begin('E');
      for (auto [k, v] : {std::pair<char, const char*>{'S', "FATAL"},
                          {'V', "FATAL"},
                          {'C', sqlstate::kTooManyConnections},
                          {'M', "sorry, too many clients already"}}) {
        w.Byte(static_cast<uint8_t>(k));
        w.CString(v);
      }
      w.Byte(0);
      w.End();
      (void)transport.Write(w.buffer());
    } else {
      pg::SessionConfig config;
      config.users = have_users_ ? &users_ : nullptr;
      config.password_method =
          options_.cleartext_passwords ? pg::PasswordMethod::kCleartext : pg::PasswordMethod::kScramOrMd5;
      config.require_tls = options_.require_tls;
      config.max_statement_ms = options_.statement_timeout_ms;
      config.max_rows = options_.max_rows;
      config.gate = gate_.get();
      pg::Session session(&transport, engine_, config, cancels_.get(), &counters_, next_pid_++);
      session.Run();
    }
  }
  ::shutdown(c->fd, SHUT_RDWR);
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(c->fd);
  ::close(c->fd);
  active_--;
  finished_.push_back(std::this_thread::get_id());
}

void PgServer::WriteMetrics(MetricsWriter* out) const {
  using Type = MetricsWriter::Type;
  out->Declare("kubelake_pg_connections", Type::kGauge, "Open PostgreSQL protocol connections.");
  out->Add("kubelake_pg_connections", {}, active_.load());
  out->Declare("kubelake_pg_connections_accepted_total", Type::kCounter, "PostgreSQL protocol connections accepted.");
  out->Add("kubelake_pg_connections_accepted_total", {}, static_cast<double>(accepted_.load()));
  out->Declare("kubelake_pg_connections_rejected_total", Type::kCounter,
               "Connections refused because the server was at its connection limit.");
  out->Add("kubelake_pg_connections_rejected_total", {}, static_cast<double>(rejected_.load()));
  out->Declare("kubelake_pg_queries_total", Type::kCounter, "Query messages and portal executions.");
  out->Add("kubelake_pg_queries_total", {}, static_cast<double>(counters_.queries.load()));
  out->Declare("kubelake_pg_query_errors_total", Type::kCounter, "Statements that ended in an error.");
  out->Add("kubelake_pg_query_errors_total", {}, static_cast<double>(counters_.query_errors.load()));
  out->Declare("kubelake_pg_auth_failures_total", Type::kCounter, "Failed logins.");
  out->Add("kubelake_pg_auth_failures_total", {}, static_cast<double>(counters_.auth_failures.load()));
  out->Declare("kubelake_pg_protocol_errors_total", Type::kCounter, "Malformed messages from clients.");
  out->Add("kubelake_pg_protocol_errors_total", {}, static_cast<double>(counters_.protocol_errors.load()));
  out->Declare("kubelake_pg_rows_sent_total", Type::kCounter, "Result rows sent.");
  out->Add("kubelake_pg_rows_sent_total", {}, static_cast<double>(counters_.rows_sent.load()));
}

}  // namespace kl::server
