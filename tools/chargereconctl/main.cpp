// chargereconctl: wiring only. argv -> invocation (cli) -> run (commands) -> exit status.

#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "chargereconctl/cli.hpp"
#include "chargereconctl/commands.hpp"

using namespace chargerecon;

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    auto inv = ctl::parse_command_line(args, {env_or_empty("SUDO_USER"), env_or_empty("USER")});
    if (!inv) {
      std::cerr << "chargereconctl: " << inv.error().diagnostic << "\n";
      std::cerr << ctl::usage_line(ctl::command_named(args));
      return ctl::exit_usage;
    }
    ctl::context ctx{std::cout, std::cerr, std::cin,
                     [] { return ledger::to_timestamp(std::chrono::system_clock::now()); }, secret_env::from_process()};
    const int status = ctl::run(*inv, ctx);
    std::cout.flush();
    return status;
  } catch (const std::exception& e) {
    std::cerr << "chargereconctl: internal error: " << e.what() << "\n";
    return ctl::exit_software;
  }
}
