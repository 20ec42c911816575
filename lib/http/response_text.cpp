#include "http/response_text.hpp"

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>

namespace chargerecon::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;

// A status outside 100..999 cannot be written: the handler has a bug, and the client gets a 500.
unsigned writable_status(unsigned status) { return status >= 100 && status <= 999 ? status : 500; }

// Whether the message Beast would build holds r's headers in r's order, with nothing of the
// server's (Content-Length, Connection) merged into one of them and nothing to throw about.
bool written_as_given(const response& r, unsigned version, unsigned status) {
  if (version != 10 && version != 11) return false;
  if (status < 200 || status == 204 || status == 304) return false;  // Beast's special cases
  constexpr std::size_t longest = std::numeric_limits<std::uint16_t>::max() - 2;
  for (std::size_t i = 0; i < r.headers.size(); ++i) {
    const auto& name = r.headers[i].name;
    if (name.size() > longest || r.headers[i].value.size() > longest) return false;
    if (beast::iequals(name, "Content-Length") || beast::iequals(name, "Transfer-Encoding") ||
        beast::iequals(name, "Connection"))
      return false;
    for (std::size_t j = 0; j < i; ++j)
      if (beast::iequals(name, r.headers[j].name)) return false;  // Beast groups repeated names
  }
  return true;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

void write_response(response&& r, unsigned version, bool keep_alive, std::string& head, std::string& body) {
  head.clear();
  body.clear();
  const unsigned status = writable_status(r.status);
  if (!written_as_given(r, version, status)) {
    detail::append_response_by_beast(head, std::move(r), version, keep_alive);
    return;
  }
  const char status_line[] = {'H',
                              'T',
                              'T',
                              'P',
                              '/',
                              static_cast<char>('0' + version / 10),
                              '.',
                              static_cast<char>('0' + version % 10),
                              ' ',
                              static_cast<char>('0' + status / 100),
                              static_cast<char>('0' + status / 10 % 10),
                              static_cast<char>('0' + status % 10),
                              ' '};
  head.append(status_line, sizeof status_line);
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  head.append(reason.data(), reason.size());
  head.append("\r\n");
  bool has_content_type = false;
  for (const auto& h : r.headers) {
    has_content_type = has_content_type || beast::iequals(h.name, "Content-Type");
    append_field(head, h.name, trim_field_value(h.value));
  }
  if (!has_content_type) append_field(head, "Content-Type", "application/json");
  // Beast's keep_alive(): HTTP/1.1 says when it closes, HTTP/1.0 when it does not.
  if (version == 11 && !keep_alive) append_field(head, "Connection", "close");
  if (version == 10 && keep_alive) append_field(head, "Connection", "keep-alive");
  char length[24];
  const auto end = std::to_chars(length, length + sizeof length, r.body.size()).ptr;
  append_field(head, "Content-Length", std::string_view(length, static_cast<std::size_t>(end - length)));
  head.append("\r\n");
  body = std::move(r.body);
}

void detail::append_response_by_beast(std::string& out, response&& r, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> res;
  res.version(version);
  res.result(writable_status(r.status));
  for (auto& h : r.headers) res.insert(h.name, h.value);
  if (res.find(bhttp::field::content_type) == res.end()) res.set(bhttp::field::content_type, "application/json");
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();

  bhttp::serializer<false, bhttp::string_body> sr(res);
  boost::system::error_code ec;
  do {
    sr.next(ec, [&](boost::system::error_code&, const auto& buffers) {
      for (const auto b : beast::buffers_range_ref(buffers)) out.append(static_cast<const char*>(b.data()), b.size());
      sr.consume(beast::buffer_bytes(buffers));
    });
  } while (!ec && !sr.is_done());
}

}  // namespace chargerecon::http
