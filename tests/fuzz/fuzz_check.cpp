#include "fuzz_check.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace chargerecon::fuzz {
namespace {

std::string& current_input() {
  static std::string name;
  return name;
}

[[noreturn]] void fail(std::string_view kind, std::string_view what) {
  std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(kind.size()), kind.data(), static_cast<int>(what.size()),
               what.data());
  if (!current_input().empty()) std::fprintf(stderr, "input: %s\n", current_input().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace

void require(bool holds, std::string_view what) {
  if (!holds) fail("fuzz invariant broken", what);
}

void run_guarded(void (*target)(std::string_view), std::string_view input) {
  try {
    target(input);
  } catch (const std::exception& e) {
    fail("exception escaped the target", e.what());
  } catch (...) {
    fail("exception escaped the target", "not a std::exception");
  }
}

void set_current_input(std::string name) { current_input() = std::move(name); }

bool contains(std::string_view whole, std::string_view part) { return whole.find(part) != std::string_view::npos; }

}  // namespace chargerecon::fuzz
