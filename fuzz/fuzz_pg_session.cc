// libFuzzer target: a PostgreSQL client session from arbitrary bytes — the
// startup packet, authentication answers and any sequence of frontend
// messages — through the real Session with the test engine. The server must
// answer or close, never crash or hang. The first byte picks trust or a
// SCRAM/md5 users table.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "server/pgwire/auth.h"
#include "server/pgwire/session.h"
#include "server/pgwire/statement.h"
#include "server/pgwire/testing/test_engine.h"

namespace {

class MemoryTransport : public kl::server::pg::Transport {
 public:
  explicit MemoryTransport(std::string input) : input_(std::move(input)) {}
  kl::Result<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min(n, input_.size() - at_);
    std::copy(input_.data() + at_, input_.data() + at_ + k, buf);
    at_ += k;
    return k;
  }
  kl::Status Write(std::string_view data) override {
    written_ += data.size();
    return kl::Status::OK();
  }
  bool peer_is_loopback() const override { return true; }
  std::string peer() const override { return "fuzz"; }

 private:
  std::string input_;
  size_t at_ = 0;
  size_t written_ = 0;
};

const std::map<std::string, kl::server::pg::UserEntry>& Users() {
  static const auto* users = [] {
    auto* m = new std::map<std::string, kl::server::pg::UserEntry>();
    (*m)["md5"] = *kl::server::pg::ParseUserLine("md5:" + kl::server::pg::Md5Verifier("md5", "pw"));
    (*m)["scram"] = *kl::server::pg::ParseUserLine("scram:" + kl::server::pg::ScramVerifierString("pw", 16));
    return m;
  }();
  return *users;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // COPY's own parser, on the bytes as a statement and after the keyword.
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)kl::server::pg::ParseCopy(text);
  (void)kl::server::pg::ParseCopy("COPY " + std::string(text));
  static kl::server::testing::TestEngine engine;
  kl::server::pg::PgCounters counters;
  kl::server::pg::SessionConfig config;
  config.users = (data[0] & 1) != 0 ? &Users() : nullptr;
  config.max_rows = 1000;
  config.max_statement_ms = 100;
  MemoryTransport transport(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  kl::server::pg::Session session(&transport, &engine, config, nullptr, &counters, 1);
  session.Run();
  return 0;
}
