#include "common/error.hpp"

#include <boost/throw_exception.hpp>

#include <algorithm>
#include <cstdio>

namespace chargerecon {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "chargerecon"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::invalid_url: return "invalid URL";
      case errc::plain_http_refused: return "plain http refused for a non-loopback host";
      case errc::resolve_failed: return "host name resolution failed";
      case errc::connect_failed: return "connection failed";
      case errc::connect_timeout: return "connection timed out";
      case errc::tls_setup_failed: return "TLS setup failed";
      case errc::tls_handshake_failed: return "TLS handshake or certificate verification failed";
      case errc::request_timeout: return "request timed out";
      case errc::response_too_large: return "response larger than the configured cap";
      case errc::connection_lost: return "connection lost";
      case errc::http_protocol_error: return "HTTP protocol error";
      case errc::invalid_request: return "invalid HTTP request";
      case errc::crm_http_status: return "CRM.COM answered with an HTTP error status";
      case errc::crm_status_not_ok: return "CRM.COM answered with a status other than OK";
      case errc::crm_token_rejected: return "CRM.COM rejected the token";
      case errc::crm_login_refused: return "CRM.COM refused the login credentials";
      case errc::malformed_answer: return "malformed answer";
      case errc::crm_limit_exceeded: return "request over the method's limit";
      case errc::crm_retries_exhausted: return "retries exhausted";
      case errc::invalid_argument: return "invalid argument";
      case errc::config_invalid: return "invalid configuration";
      case errc::secret_unreadable: return "secret file unreadable";
      case errc::secret_too_open: return "secret file readable by others";
      case errc::ledger_open_failed: return "ledger could not be opened";
      case errc::ledger_locked: return "ledger is locked by another process";
      case errc::ledger_integrity: return "ledger failed its integrity check";
      case errc::ledger_write_failed: return "ledger write failed";
      case errc::ledger_schema_too_new: return "ledger schema is newer than this program";
      case errc::ledger_unknown_charge: return "charge not in the ledger";
      case errc::ledger_bad_transition: return "state transition not allowed";
      case errc::ledger_duplicate_reference: return "billing reference already used by another charge";
      case errc::ledger_read_failed: return "ledger read failed";
      case errc::billing_rejected: return "billing rejected the charge";
      case errc::billing_transient: return "billing failed transiently";
      case errc::billing_protocol_error: return "billing answer unusable";
    }
    return "chargerecon error " + std::to_string(ev);
  }
};

}  // namespace

const boost::system::error_category& chargerecon_category() noexcept {
  static const category instance;
  return instance;
}

std::string error::to_string() const {
  if (diagnostic.empty()) return code.message();
  return diagnostic + " (" + code.message() + ")";
}

void throw_exception_from_error(const error& e, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(e.code, e.diagnostic), loc);
}

namespace {
// Length of a valid UTF-8 sequence starting at s[i], or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0 && b0 >= 0xC2) len = 2;
  else if ((b0 & 0xF0) == 0xE0) len = 3;
  else if ((b0 & 0xF8) == 0xF0 && b0 <= 0xF4) len = 4;
  else return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return len;
}
}  // namespace

std::string quote_peer_text(std::string_view text, std::size_t max_bytes) {
  // Most peer text is short printable ASCII, kept as it is: checked in one pass, copied once.
  if (text.size() <= max_bytes && std::all_of(text.begin(), text.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c >= 0x20 && c < 0x7F && c != '\\';
      }))
    return std::string(text);
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 8);
  std::size_t i = 0;
  while (i < text.size()) {
    if (out.size() >= max_bytes) {
      out += "...[" + std::to_string(text.size() - i) + " more bytes]";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0 || c < 0x20 || c == 0x7F || c == '\\') {
      char buf[8];
      if (c == '\\') std::snprintf(buf, sizeof buf, "\\\\");
      else std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
      ++i;
      continue;
    }
    out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace chargerecon
