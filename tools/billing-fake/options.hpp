#pragma once
// billing-fake's command line: every flag, its default and its help line in one place.

#include "billing-fake/fake.hpp"
#include "common/error.hpp"
#include "http/server.hpp"

#include <string>
#include <vector>

namespace chargerecon::billing_fake {

struct fake_options {
  fake_config fake;
  http::server_config server;
  std::string port_file;   // the bound port + "\n", written atomically once listening
  std::string token_file;  // read by read_token_file() into fake.token
  bool quiet = false;
  bool help = false;
};

// `args` without the program name. --flag VALUE and --flag=VALUE both work.
// Errors: invalid_argument naming the flag (unknown, missing value, bad value).
result<fake_options> parse_options(const std::vector<std::string>& args);

std::string usage_text();

// The token: the file's first line without its line ending.
// Errors: secret_unreadable naming the path (missing, unreadable, or an empty first line).
result<std::string> read_token_file(const std::string& path);

}  // namespace chargerecon::billing_fake
