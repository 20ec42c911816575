#include "support/tls_fixture.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

namespace chargerecon::test {
namespace {

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const { X509_free(p); }
};
struct bio_free {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;

[[noreturn]] void fail(const std::string& step) {
  const unsigned long code = ERR_get_error();
  char text[256] = "no OpenSSL error queued";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  throw std::runtime_error("tls_fixture: " + step + " failed: " + text);
}

void check(bool ok, const std::string& step) {
  if (!ok) fail(step);
}

pkey_ptr make_key() {
  // P-256: fast to generate, so every test binary can afford fresh keys.
  pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  check(key != nullptr, "generating an EC key");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, std::string("building extension ") + value);
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(added == 1, std::string("adding extension ") + value);
}

enum class kind { ca, server };

// issuer == nullptr: self-signed.
x509_ptr make_certificate(EVP_PKEY* key, const char* common_name, kind what, X509* issuer, EVP_PKEY* issuer_key,
                          long serial) {
  x509_ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), 2) == 1, "setting the certificate version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1, "setting the serial number");
  // An hour of slack either way keeps clock skew between the test and OpenSSL irrelevant.
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "setting notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) != nullptr, "setting notAfter");
  check(X509_set_pubkey(cert.get(), key) == 1, "setting the public key");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("chargerecon tests"),
                                   -1, -1, 0) == 1,
        "setting O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1,
                                   -1, 0) == 1,
        "setting CN");
  X509* signer = issuer ? issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1, "setting the issuer");

  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer) add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (what == kind::ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  }
  check(X509_sign(cert.get(), issuer ? issuer_key : key, EVP_sha256()) > 0, "signing the certificate");
  return cert;
}

void write_certificate(const std::string& path, X509* cert) {
  bio_ptr out(BIO_new_file(path.c_str(), "w"));
  check(out != nullptr, "creating " + path);
  check(PEM_write_bio_X509(out.get(), cert) == 1, "writing " + path);
}

void write_key(const std::string& path, EVP_PKEY* key) {
  bio_ptr out(BIO_new_file(path.c_str(), "w"));
  check(out != nullptr, "creating " + path);
  check(PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "writing " + path);
}

}  // namespace

tls_fixture::tls_fixture() {
  std::string pattern = (std::filesystem::temp_directory_path() / "chargerecon-tls-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("tls_fixture: mkdtemp failed");
  dir = buffer.data();
  ca_file = dir + "/ca.pem";
  cert_file = dir + "/server.pem";
  key_file = dir + "/server-key.pem";
  self_signed_cert_file = dir + "/self-signed.pem";
  self_signed_key_file = dir + "/self-signed-key.pem";

  try {
    const pkey_ptr ca_key = make_key();
    const x509_ptr ca = make_certificate(ca_key.get(), "chargerecon test CA", kind::ca, nullptr, nullptr, 1);
    const pkey_ptr server_key = make_key();
    const x509_ptr server = make_certificate(server_key.get(), "localhost", kind::server, ca.get(), ca_key.get(), 2);
    const pkey_ptr lone_key = make_key();
    const x509_ptr lone = make_certificate(lone_key.get(), "localhost", kind::server, nullptr, nullptr, 3);

    write_certificate(ca_file, ca.get());
    write_certificate(cert_file, server.get());
    write_key(key_file, server_key.get());
    write_certificate(self_signed_cert_file, lone.get());
    write_key(self_signed_key_file, lone_key.get());
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    throw;
  }
}

tls_fixture::~tls_fixture() {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace chargerecon::test
