#pragma once
// Throwaway TLS material generated at test run time with the OpenSSL C API (nothing in git,
// no openssl command): a CA, a server certificate signed by it for DNS "localhost" and IP
// 127.0.0.1, and an unrelated self-signed certificate for the same names. Written as PEM into
// a fresh temporary directory that the destructor removes.

#include <string>

namespace chargerecon::test {

class tls_fixture {
 public:
  // Throws std::runtime_error naming the OpenSSL step that failed (test set-up only).
  tls_fixture();
  ~tls_fixture();
  tls_fixture(const tls_fixture&) = delete;
  tls_fixture& operator=(const tls_fixture&) = delete;

  std::string dir;
  std::string ca_file;                // the CA certificate: what a client trusts
  std::string cert_file;              // server certificate signed by the CA (localhost, 127.0.0.1)
  std::string key_file;               // its private key
  std::string self_signed_cert_file;  // self-signed server certificate (localhost, 127.0.0.1)
  std::string self_signed_key_file;
};

}  // namespace chargerecon::test
