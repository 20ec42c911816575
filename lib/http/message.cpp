#include "http/message.hpp"

#include <algorithm>
#include <cctype>

namespace chargerecon::http {

std::optional<std::string_view> find_header(const std::vector<header_field>& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (std::equal(h.name.begin(), h.name.end(), name.begin(), name.end(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return std::string_view(h.value);
  }
  return std::nullopt;
}

}  // namespace chargerecon::http
