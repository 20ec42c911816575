#include "common/json_text.hpp"

#include <boost/json/serializer.hpp>

namespace chargerecon {

void append_json_string(std::string& out, std::string_view value) {
  // One serializer per thread, reset for each string: making one costs more than its use.
  thread_local boost::json::serializer sr;
  sr.reset(boost::json::string_view(value.data(), value.size()));
  char buffer[256];
  while (!sr.done()) {
    const auto part = sr.read(buffer, sizeof buffer);
    out.append(part.data(), part.size());
  }
}

void append_json_string_object(std::string& out,
                               std::initializer_list<std::pair<std::string_view, std::string_view>> members) {
  std::size_t size = 2;
  for (const auto& [key, value] : members) size += key.size() + value.size() + 6;
  out.reserve(out.size() + size);  // what it takes without escapes
  out.push_back('{');
  bool first = true;
  for (const auto& [key, value] : members) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, key);
    out.push_back(':');
    append_json_string(out, value);
  }
  out.push_back('}');
}

}  // namespace chargerecon
