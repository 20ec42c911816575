#pragma once
// The port-file convention of our servers started on port 0 (crm-sim, billing-fake): once
// listening, they write the bound port and a newline to a file the caller named; tests and
// scripts poll for it (tests/support/process.hpp: wait_for_port_file).

#include <cstdint>
#include <string>

namespace chargerecon::http {

// Writes "<port>\n" to `path` through a temporary file and a rename, so a reader polling the
// path never sees a half-written number. False when the file cannot be written.
bool write_port_file(const std::string& path, std::uint16_t port);

}  // namespace chargerecon::http
