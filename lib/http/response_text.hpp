#pragma once
// The bytes the server sends for a handler's response: what Beast's serializer writes for the
// message the server makes of it. The common answer (a status, a few distinct headers, a body)
// is written directly, which costs a tenth of building a Beast message and walking its
// serializer, and its body is sent as it is, not copied; anything else goes through Beast
// itself. A test holds the two to the same bytes.

#include "http/message.hpp"

#include <string>

namespace chargerecon::http {

// The answer to send: `head` (the status line, r's headers in order, "Content-Type:
// application/json" when r has none, the Connection field that `keep_alive` calls for at this
// HTTP version, Content-Length and a blank line), then `body`, r's body taken over. A status
// outside 100..999 is written as 500. When Beast has to write the answer, `head` holds all of
// it and `body` is empty. Either way both are replaced.
// Throws what Beast throws for a message it cannot write: std::invalid_argument for a body on
// a 1xx, 204 or 304 answer, std::length_error for a header name or value over 64 KiB.
void write_response(response&& r, unsigned version, bool keep_alive, std::string& head, std::string& body);

namespace detail {
// The whole answer through a Beast message and its serializer, appended to `out`: the
// reference for write_response.
void append_response_by_beast(std::string& out, response&& r, unsigned version, bool keep_alive);
}  // namespace detail

}  // namespace chargerecon::http
