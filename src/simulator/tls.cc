#include "simulator/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <memory>

namespace kl::simulator {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

Status OpenSslError(const std::string& what) {
  unsigned long code = ERR_get_error();
  char buf[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, buf, sizeof(buf));
  return Status::Internal("generating TLS material: " + what + ": " + buf);
}

Result<PkeyPtr> NewKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("EC key");
  return key;
}

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return OpenSslError(std::string("extension ") + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? Status::OK() : OpenSslError("adding extension");
}

Result<X509Ptr> NewCert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, long serial,
                        bool is_ca, bool client = false) {
  X509Ptr cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("kubelake"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (is_ca) {
    KL_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE"));
    KL_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"));
    KL_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash"));
  } else if (client) {
    KL_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE"));
    KL_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature"));
    KL_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_ext_key_usage, "clientAuth"));
    KL_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always"));
  } else {
    KL_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE"));
    KL_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
    KL_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth"));
    KL_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_subject_alt_name,
                                    "DNS:localhost,IP:127.0.0.1,IP:::1,DNS:kubernetes.default.svc"));
    KL_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always"));
  }
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) return OpenSslError("signing");
  return cert;
}

Result<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("writing certificate PEM");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<std::string> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("writing key PEM");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

Result<TlsMaterial> GenerateTlsMaterial(const std::string& common_name) {
  KL_ASSIGN_OR_RETURN(PkeyPtr ca_key, NewKey());
  KL_ASSIGN_OR_RETURN(X509Ptr ca, NewCert(common_name, ca_key.get(), nullptr, nullptr, 1, true));
  KL_ASSIGN_OR_RETURN(PkeyPtr server_key, NewKey());
  KL_ASSIGN_OR_RETURN(X509Ptr server,
                      NewCert("kubelake-sim-apiserver", server_key.get(), ca.get(), ca_key.get(), 2, false));
  TlsMaterial out;
  KL_ASSIGN_OR_RETURN(out.ca_cert_pem, CertPem(ca.get()));
  KL_ASSIGN_OR_RETURN(out.server_cert_pem, CertPem(server.get()));
  KL_ASSIGN_OR_RETURN(out.server_key_pem, KeyPem(server_key.get()));
  KL_ASSIGN_OR_RETURN(out.ca_key_pem, KeyPem(ca_key.get()));
  return out;
}

Result<ClientCertificate> GenerateClientCertificate(const TlsMaterial& ca, const std::string& common_name) {
  BioPtr cert_bio(BIO_new_mem_buf(ca.ca_cert_pem.data(), static_cast<int>(ca.ca_cert_pem.size())));
  X509Ptr ca_cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!ca_cert) return OpenSslError("reading the CA certificate");
  BioPtr key_bio(BIO_new_mem_buf(ca.ca_key_pem.data(), static_cast<int>(ca.ca_key_pem.size())));
  PkeyPtr ca_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!ca_key) return OpenSslError("reading the CA key");
  KL_ASSIGN_OR_RETURN(PkeyPtr key, NewKey());
  static std::atomic<long> serial{1000};
  KL_ASSIGN_OR_RETURN(X509Ptr cert,
                      NewCert(common_name, key.get(), ca_cert.get(), ca_key.get(), serial++, false, true));
  ClientCertificate out;
  KL_ASSIGN_OR_RETURN(out.cert_pem, CertPem(cert.get()));
  KL_ASSIGN_OR_RETURN(out.key_pem, KeyPem(key.get()));
  return out;
}

std::string Base64Encode(std::string_view data) {
  static const char* kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out.push_back(kChars[v >> 18]);
    out.push_back(kChars[(v >> 12) & 63]);
    out.push_back(kChars[(v >> 6) & 63]);
    out.push_back(kChars[v & 63]);
  }
  if (i < data.size()) {
    uint32_t v = uint8_t(data[i]) << 16;
    if (i + 1 < data.size()) v |= uint8_t(data[i + 1]) << 8;
    out.push_back(kChars[v >> 18]);
    out.push_back(kChars[(v >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? kChars[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace kl::simulator
