// Password authentication for the PostgreSQL server: a users file of hashed
// passwords in PostgreSQL's own formats (md5 and SCRAM-SHA-256 verifiers,
// as pg_authid.rolpassword holds them), and the server side of the md5,
// cleartext and SCRAM-SHA-256 (RFC 5802 / 7677) exchanges.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kl::server::pg {

struct ScramVerifier {
  int iterations = 0;
  std::string salt;        // raw bytes
  std::string stored_key;  // raw 32 bytes
  std::string server_key;  // raw 32 bytes
};

struct UserEntry {
  std::string name;
  std::optional<std::string> md5;  // "md5" + hex(md5(password + user))
  std::optional<ScramVerifier> scram;
};

// The users file: one "name:verifier" line per user, where the verifier is
// "md5<32 hex>" or "SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64>";
// blank lines and lines starting with '#' are ignored.
Result<std::map<std::string, UserEntry>> LoadUsersFile(const std::string& path);
Result<UserEntry> ParseUserLine(std::string_view line);

std::string Md5Hex(std::string_view data);
// The md5 verifier of a password: "md5" + md5hex(password + user).
std::string Md5Verifier(std::string_view user, std::string_view password);
// A SCRAM-SHA-256 verifier string with a random salt.
std::string ScramVerifierString(std::string_view password, int iterations = 4096);
Result<ScramVerifier> ParseScramVerifier(std::string_view text);

// Checks a cleartext password against whatever verifier the user has.
bool CheckCleartext(const UserEntry& user, std::string_view password);
// Checks an md5 response ("md5" + md5hex(md5hex(password + user) + salt)).
bool CheckMd5Response(const UserEntry& user, std::string_view salt, std::string_view response);

// The server side of one SCRAM-SHA-256 exchange.
class ScramExchange {
 public:
  explicit ScramExchange(ScramVerifier verifier) : verifier_(std::move(verifier)) {}
  // client-first-message -> server-first-message.
  Result<std::string> First(std::string_view client_first);
  // client-final-message -> server-final-message ("v=..."); an error when the proof is wrong.
  Result<std::string> Final(std::string_view client_final);

 private:
  ScramVerifier verifier_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;
  std::string gs2_header_;
};

std::string Base64Encode(std::string_view data);
Result<std::string> Base64Decode(std::string_view text);
std::string RandomBytes(size_t n);

}  // namespace kl::server::pg
