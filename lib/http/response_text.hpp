#pragma once
// The bytes the server sends for a handler's response: what Beast's serializer writes for the
// message the server makes of it. The common answer (a status, a few distinct headers, a body)
// is written directly, which costs a tenth of building a Beast message and walking its
// serializer; anything else goes through Beast itself. A test holds the two to the same bytes.

#include "http/message.hpp"

#include <string>

namespace chargerecon::http {

// Appends to `out` the status line (a status outside 100..999 is written as 500), r's headers
// in order, "Content-Type: application/json" when r has none, the Connection field that
// `keep_alive` calls for at this HTTP version, Content-Length, a blank line and the body.
// Throws what Beast throws for a message it cannot write: std::invalid_argument for a body on
// a 1xx, 204 or 304 answer, std::length_error for a header name or value over 64 KiB.
void append_response(std::string& out, response&& r, unsigned version, bool keep_alive);

namespace detail {
// The same through a Beast message and its serializer: the reference for append_response.
void append_response_by_beast(std::string& out, response&& r, unsigned version, bool keep_alive);
}  // namespace detail

}  // namespace chargerecon::http
