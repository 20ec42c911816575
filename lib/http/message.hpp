#pragma once
// Plain HTTP message types shared by the client and the server. No Beast here: callers of
// the HTTP layer never see its headers.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chargerecon::http {

enum class method { get, post };

struct header_field {
  std::string name;
  std::string value;
};

// Field names compared as HTTP compares them: ASCII letters in any case.
bool iequals(std::string_view a, std::string_view b);

// Case-insensitive look-up of a header's value.
std::optional<std::string_view> find_header(const std::vector<header_field>& headers, std::string_view name);

// A field's value as Beast stores it: without the spaces and tabs around it.
std::string_view trim_field_value(std::string_view value);

struct request {
  method verb = method::get;
  // Path and query, already encoded (built with Boost.URL). The client prefixes the base
  // URL's path: with base "https://h/crmapi/rest/v2/", target "netflix/charges/list?x=1".
  std::string target;
  std::string body;
  std::string content_type;             // sent when non-empty
  std::vector<header_field> headers;    // extra headers (Authorization, Idempotency-Key, ...)
};

struct response {
  unsigned status = 0;
  std::string body;
  std::vector<header_field> headers;
  std::optional<std::string_view> header(std::string_view name) const { return find_header(headers, name); }
};

}  // namespace chargerecon::http
