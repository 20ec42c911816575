#pragma once
// chargerecon's error codes: the one numbered list, grouped by concern in blocks of 100.
// Numbers are never reused; a retired code stays here, commented out, so logs stay readable.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <system_error>

namespace chargerecon {

enum class errc {
  // http (1..99)
  invalid_url = 1,          // the configured URL does not parse or has an unsupported scheme
  plain_http_refused = 2,   // http:// to a non-loopback host without allow_plain_http
  resolve_failed = 3,
  connect_failed = 4,
  connect_timeout = 5,
  tls_setup_failed = 6,     // CA file unreadable, bad TLS context
  tls_handshake_failed = 7, // certificate or host-name verification refused, or no TLS in common: not transient
  request_timeout = 8,
  response_too_large = 9,
  connection_lost = 10,     // the peer closed or reset the connection mid-request
  http_protocol_error = 11, // the peer's bytes are not HTTP/1.1
  invalid_request = 12,     // a request the client will not send (CR/LF in a header, bad target)

  // crm (100..199)
  crm_http_status = 100,        // CRM.COM answered with a non-2xx HTTP status
  crm_status_not_ok = 101,      // status.code other than "OK"
  crm_token_rejected = 102,     // the call failed because the token is invalid or expired
  crm_login_refused = 103,      // authentication/token refused our credentials
  malformed_answer = 104,       // an answer that is not the JSON the method documents
  crm_limit_exceeded = 105,     // a request over the method's documented limit, refused before sending
  crm_retries_exhausted = 106,  // a transient failure outlasted the retry budget
  invalid_argument = 107,       // a request argument the method cannot take

  // config (200..299)
  config_invalid = 200,
  secret_unreadable = 201,
  secret_too_open = 202,        // a secret file readable by group or others

  // ledger (300..399)
  ledger_open_failed = 300,
  ledger_locked = 301,          // another chargerecond holds the ledger
  ledger_integrity = 302,
  ledger_write_failed = 303,    // includes a full disk or a read-only file
  ledger_schema_too_new = 304,
  ledger_unknown_charge = 305,
  ledger_bad_transition = 306,
  ledger_duplicate_reference = 307, // a billing reference already stored for another charge
  ledger_read_failed = 308,

  // billing (400..499)
  billing_rejected = 400,       // 400/404/422: held for a person
  billing_transient = 401,      // 408/429/5xx/timeouts: retried
  billing_protocol_error = 402, // 2xx without a usable reference_number
};

const boost::system::error_category& chargerecon_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), chargerecon_category()};
}

// What failed, for whom can act on it: the code for branching, the diagnostic for people.
// The diagnostic names what failed (method, field, charge number); text that came from a peer
// is escaped and truncated (see quote_peer_text) before it lands here.
struct error {
  boost::system::error_code code;
  std::string diagnostic;

  error() = default;
  error(boost::system::error_code c, std::string d = {}) : code(c), diagnostic(std::move(d)) {}
  error(errc c, std::string d = {}) : code(make_error_code(c)), diagnostic(std::move(d)) {}

  // "<diagnostic> (<code message>)", for logs.
  std::string to_string() const;
};

// Lets boost::system::result<T, error>::value() throw a system_error carrying the diagnostic.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

// Peer-supplied text made safe for a diagnostic or log line: control characters and invalid
// UTF-8 escaped, cut to max_bytes with a marker.
std::string quote_peer_text(std::string_view text, std::size_t max_bytes = 200);

}  // namespace chargerecon

namespace boost::system {
template <>
struct is_error_code_enum<chargerecon::errc> : std::true_type {};
}  // namespace boost::system
