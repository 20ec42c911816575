#pragma once
// The body of a message that a beast::http::basic_parser of ours reads into a std::string (the
// client's responses, the server's requests): reserved from Content-Length, appended part by
// part, refused with buffer_overflow past what a string holds. Private to lib/http.

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/optional/optional.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <string>

namespace chargerecon::http::detail {

inline void reserve_body(std::string& body, const boost::optional<std::uint64_t>& content_length,
                         boost::system::error_code& ec) {
  ec = {};
  if (!content_length) return;
  if (*content_length > body.max_size()) {
    ec = boost::beast::http::error::buffer_overflow;
    return;
  }
  body.reserve(static_cast<std::size_t>(*content_length));
}

inline std::size_t append_body(std::string& body, boost::beast::string_view part, boost::system::error_code& ec) {
  if (part.size() > body.max_size() - body.size()) {
    ec = boost::beast::http::error::buffer_overflow;
    return 0;
  }
  body.append(part.data(), part.size());
  ec = {};
  return part.size();
}

}  // namespace chargerecon::http::detail
