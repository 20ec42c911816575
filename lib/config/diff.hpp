#pragma once
// What a configuration reload changes, and which of those changes a running daemon can apply.

#include "config/config.hpp"

#include <string>
#include <vector>

namespace chargerecon {

// Key paths ("poll.interval") whose values differ between `before` and `after`.
std::vector<std::string> changed_keys(const config& before, const config& after);

// Keys a running chargerecond applies at once on SIGHUP: intervals, batch linger and size,
// billing backoff, done error codes, log level and format. Everything else (endpoints,
// credentials, the ledger, concurrency, TLS, timeouts, metrics address) needs a restart.
bool applies_live(const std::string& key);

}  // namespace chargerecon
