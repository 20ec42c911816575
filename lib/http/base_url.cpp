// parse_base_url and is_loopback_host: the URL policy of the HTTP client, free of I/O.

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <charconv>

#include "http/client.hpp"

namespace chargerecon::http {
namespace {

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The URL comes from our configuration, but a URL with userinfo may carry a password: such a
// URL is never echoed into a diagnostic (it would end up in logs).
std::string describe(std::string_view url) {
  if (url.find('@') != std::string_view::npos) return "the base URL (not shown: it contains '@')";
  return "base URL '" + quote_peer_text(url) + "'";
}

error invalid(std::string_view url, std::string_view why) {
  return error{errc::invalid_url, describe(url) + ": " + std::string(why)};
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  std::string lower = to_lower(host);
  // A trailing dot is the fully qualified spelling of the same name.
  if (lower == "localhost" || lower == "localhost.") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(lower, ec);
  if (ec) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()).is_loopback();
  return address.is_loopback();
}

result<base_url> parse_base_url(std::string_view url, bool allow_plain_http) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return invalid(url, "not an absolute URL (" + parsed.error().message() + ")");
  const boost::urls::url_view& u = *parsed;

  base_url out;
  switch (u.scheme_id()) {
    case boost::urls::scheme::https:
      out.tls = true;
      break;
    case boost::urls::scheme::http:
      out.tls = false;
      break;
    default:
      return invalid(url, "scheme must be https or http");
  }
  if (!u.has_authority()) return invalid(url, "no host");
  if (u.has_userinfo())
    return invalid(url, "credentials in the URL are not supported (configure them as secrets instead)");
  // Requests append their own path and query to the base; a fragment is never sent at all.
  if (u.has_query()) return invalid(url, "a base URL takes no query");
  if (u.has_fragment()) return invalid(url, "a base URL takes no fragment");

  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
      out.host = u.host_ipv4_address().to_string();
      break;
    case boost::urls::host_type::ipv6:
      out.host = u.host_ipv6_address().to_string();
      break;
    case boost::urls::host_type::name: {
      const auto encoded = u.encoded_host();
      if (encoded.empty()) return invalid(url, "no host");
      // Percent-escapes in a DNS name are legal URL syntax but never a real host name.
      if (encoded.find('%') != std::string_view::npos) return invalid(url, "percent-escapes in the host name");
      out.host = to_lower(encoded);
      break;
    }
    default:
      return invalid(url, "unsupported host syntax");
  }

  if (u.has_port() && !u.port().empty()) {
    const auto port = u.port();
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      return invalid(url, "port must be 1-65535");
    out.port = std::to_string(value);
  } else {
    out.port = out.tls ? "443" : "80";
  }

  if (!out.tls && !allow_plain_http && !is_loopback_host(out.host))
    return error{errc::plain_http_refused,
                 describe(url) +
                     ": plain http is allowed only to a loopback host (127.0.0.0/8, ::1, localhost); "
                     "use https or set allow_plain_http"};

  out.path = std::string(u.encoded_path());
  // After an authority the path is empty or starts with '/'. Boost.URL 1.81 accepts
  // "https://h:http/" as port "" and path "http/": refuse what the grammar does not allow.
  if (!out.path.empty() && out.path.front() != '/') return invalid(url, "malformed port or path");
  if (out.path.empty()) out.path = "/";
  if (out.path.back() != '/') out.path.push_back('/');
  return out;
}

}  // namespace chargerecon::http
