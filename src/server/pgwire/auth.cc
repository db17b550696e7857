#include "server/pgwire/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/file/file_util.h"
#include "common/string_util.h"

namespace kl::server::pg {
namespace {

std::string Sha256(std::string_view data) {
  unsigned char out[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string SaltedPassword(std::string_view password, std::string_view salt, int iterations) {
  unsigned char out[32];
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                    EVP_sha256(), sizeof(out), out);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// "a=1,b=2" -> value of attribute `key`, or nullopt.
std::optional<std::string_view> Attribute(std::string_view message, char key) {
  size_t pos = 0;
  while (pos <= message.size()) {
    size_t end = message.find(',', pos);
    if (end == std::string_view::npos) end = message.size();
    std::string_view part = message.substr(pos, end - pos);
    if (part.size() >= 2 && part[0] == key && part[1] == '=') return part.substr(2);
    pos = end + 1;
  }
  return std::nullopt;
}

Status Malformed(std::string_view what) {
  return Status::InvalidArgument("malformed SCRAM message: " + std::string(what));
}

}  // namespace

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::InvalidArgument("invalid base64 (length not a multiple of 4)");
  for (char c : text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')) {
      return Status::InvalidArgument("invalid base64 character");
    }
  }
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return Status::InvalidArgument("invalid base64");
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  return out;
}

std::string Md5Hex(std::string_view data) {
  unsigned char out[16];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 15]);
  }
  return hex;
}

std::string Md5Verifier(std::string_view user, std::string_view password) {
  return "md5" + Md5Hex(std::string(password) + std::string(user));
}

std::string ScramVerifierString(std::string_view password, int iterations) {
  std::string salt = RandomBytes(16);
  std::string salted = SaltedPassword(password, salt, iterations);
  std::string client_key = HmacSha256(salted, "Client Key");
  std::string server_key = HmacSha256(salted, "Server Key");
  return "SCRAM-SHA-256$" + std::to_string(iterations) + ":" + Base64Encode(salt) + "$" +
         Base64Encode(Sha256(client_key)) + ":" + Base64Encode(server_key);
}

Result<ScramVerifier> ParseScramVerifier(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("SCRAM-SHA-256 verifier: " + std::string(why) +
                                   " (expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)");
  };
  constexpr std::string_view kPrefix = "SCRAM-SHA-256$";
  if (text.substr(0, kPrefix.size()) != kPrefix) return bad("wrong prefix");
  text.remove_prefix(kPrefix.size());
  size_t dollar = text.find('$');
  if (dollar == std::string_view::npos) return bad("no '$' between salt and keys");
  std::string_view iter_salt = text.substr(0, dollar), keys = text.substr(dollar + 1);
  size_t c1 = iter_salt.find(':'), c2 = keys.find(':');
  if (c1 == std::string_view::npos || c2 == std::string_view::npos) return bad("missing ':'");
  ScramVerifier v;
  auto iterations = ParseInt64(iter_salt.substr(0, c1));
  if (!iterations || *iterations < 1 || *iterations > 10000000) return bad("bad iteration count");
  v.iterations = static_cast<int>(*iterations);
  KL_ASSIGN_OR_RETURN(v.salt, Base64Decode(iter_salt.substr(c1 + 1)));
  KL_ASSIGN_OR_RETURN(v.stored_key, Base64Decode(keys.substr(0, c2)));
  KL_ASSIGN_OR_RETURN(v.server_key, Base64Decode(keys.substr(c2 + 1)));
  if (v.stored_key.size() != 32 || v.server_key.size() != 32) return bad("keys must be 32 bytes");
  return v;
}

Result<UserEntry> ParseUserLine(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::InvalidArgument("expected NAME:VERIFIER");
  }
  UserEntry u;
  u.name = std::string(line.substr(0, colon));
  std::string_view verifier = Trim(line.substr(colon + 1));
  if (verifier.substr(0, 3) == "md5") {
    if (verifier.size() != 35) return Status::InvalidArgument("md5 verifier must be md5 followed by 32 hex digits");
    for (char c : verifier.substr(3)) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) {
        return Status::InvalidArgument("md5 verifier must be md5 followed by 32 hex digits");
      }
    }
    u.md5 = ToLower(verifier);
  } else if (verifier.substr(0, 14) == "SCRAM-SHA-256$") {
    KL_ASSIGN_OR_RETURN(u.scram, ParseScramVerifier(verifier));
  } else {
    return Status::InvalidArgument(
        "unknown verifier (plain passwords are not accepted; write md5... or SCRAM-SHA-256$...,"
        " e.g. with `kubelake pg-password`)");
  }
  return u;
}

Result<std::map<std::string, UserEntry>> LoadUsersFile(const std::string& path) {
  KL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::map<std::string, UserEntry> users;
  int line_no = 0;
  for (const auto& raw : Split(text, '\n')) {
    ++line_no;
    std::string_view line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    auto entry = ParseUserLine(line);
    if (!entry.ok()) return entry.status().WithContext("users file " + path + " line " + std::to_string(line_no));
    users[entry->name] = std::move(*entry);
  }
  return users;
}

bool CheckCleartext(const UserEntry& user, std::string_view password) {
  if (user.scram) {
    std::string salted = SaltedPassword(password, user.scram->salt, user.scram->iterations);
    return ConstantTimeEqual(Sha256(HmacSha256(salted, "Client Key")), user.scram->stored_key);
  }
  if (user.md5) return ConstantTimeEqual(Md5Verifier(user.name, password), *user.md5);
  return false;
}

bool CheckMd5Response(const UserEntry& user, std::string_view salt, std::string_view response) {
  if (!user.md5) return false;
  std::string expected = "md5" + Md5Hex(user.md5->substr(3) + std::string(salt));
  return ConstantTimeEqual(expected, response);
}

Result<std::string> ScramExchange::First(std::string_view client_first) {
  // gs2-header: "n,," or "y,," (no channel binding offered by this server), or "p=..." (refused).
  if (client_first.size() < 3) return Malformed("client-first-message too short");
  if (client_first[0] == 'p') {
    return Status::NotSupported("SCRAM channel binding was not offered by this server");
  }
  if ((client_first[0] != 'n' && client_first[0] != 'y') || client_first[1] != ',') {
    return Malformed("bad gs2 header");
  }
  size_t second = client_first.find(',', 2);
  if (second == std::string_view::npos) return Malformed("bad gs2 header");
  gs2_header_ = std::string(client_first.substr(0, second + 1));
  client_first_bare_ = std::string(client_first.substr(second + 1));
  auto client_nonce = Attribute(client_first_bare_, 'r');
  if (!client_nonce || client_nonce->empty()) return Malformed("no client nonce");
  nonce_ = std::string(*client_nonce) + Base64Encode(RandomBytes(18));
  server_first_ = "r=" + nonce_ + ",s=" + Base64Encode(verifier_.salt) + ",i=" + std::to_string(verifier_.iterations);
  return server_first_;
}

Result<std::string> ScramExchange::Final(std::string_view client_final) {
  size_t proof_at = client_final.rfind(",p=");
  if (proof_at == std::string_view::npos) return Malformed("no proof");
  std::string_view without_proof = client_final.substr(0, proof_at);
  auto channel = Attribute(without_proof, 'c');
  auto nonce = Attribute(without_proof, 'r');
  if (!channel || !nonce) return Malformed("missing channel binding or nonce");
  KL_ASSIGN_OR_RETURN(std::string binding, Base64Decode(*channel));
  if (binding != gs2_header_) return Malformed("channel binding does not match the gs2 header");
  if (*nonce != nonce_) return Malformed("nonce does not match");
  KL_ASSIGN_OR_RETURN(std::string proof, Base64Decode(client_final.substr(proof_at + 3)));
  if (proof.size() != 32) return Malformed("proof must be 32 bytes");
  std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  std::string client_signature = HmacSha256(verifier_.stored_key, auth_message);
  std::string client_key(32, '\0');
  for (size_t i = 0; i < 32; ++i) client_key[i] = static_cast<char>(proof[i] ^ client_signature[i]);
  if (!ConstantTimeEqual(Sha256(client_key), verifier_.stored_key)) {
    return Status::InvalidArgument("password does not match");
  }
  return "v=" + Base64Encode(HmacSha256(verifier_.server_key, auth_message));
}

}  // namespace kl::server::pg
