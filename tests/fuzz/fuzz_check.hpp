#pragma once
// What every fuzz target shares: invariant checks that stop the run loudly (libFuzzer saves the
// input as a crash; the corpus replay names the file), and the guard that turns an escaping
// exception into such a stop instead of a bare std::terminate.

#include <string>
#include <string_view>

namespace chargerecon::fuzz {

// Stops the process (std::abort) with "fuzz invariant broken: <what>" and the input being run,
// when `holds` is false.
void require(bool holds, std::string_view what);

// Runs target(input); an exception that escapes it is a finding: reported, then std::abort.
void run_guarded(void (*target)(std::string_view), std::string_view input);

// The replay names the input it runs, so that a broken invariant says which file it was.
void set_current_input(std::string name);

// True when `part` is a substring of `whole`: parsed number tokens must be the peer's exact text.
bool contains(std::string_view whole, std::string_view part);

}  // namespace chargerecon::fuzz
