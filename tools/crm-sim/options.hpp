#pragma once
// crm-sim's command line: every flag, its default and its help line in one table.

#include <string>
#include <vector>

#include "common/error.hpp"
#include "crm-sim/simulator.hpp"
#include "http/server.hpp"

namespace chargerecon::crm_sim {

struct crm_sim_options {
  sim_config sim;
  http::server_config server;
  std::string port_file;      // the bound port + "\n", written once listening
  std::string password_file;  // read by read_password_file(); "secret" when unset
  bool quiet = false;
  bool help = false;
};

// `args` without the program name. --flag VALUE and --flag=VALUE both work.
// Errors: invalid_argument naming the flag (unknown, missing value, bad value).
result<crm_sim_options> parse_options(const std::vector<std::string>& args);

std::string usage_text();

// The first line of the file, without its line ending.
// Errors: secret_unreadable naming the path.
result<std::string> read_password_file(const std::string& path);

}  // namespace chargerecon::crm_sim
