#pragma once
// chargerecond's configuration as YAML text, for the programs and tests that start the daemon
// (bench, chaos, the integration fixtures): they fill a `config` and hand the daemon a file,
// instead of each spelling the YAML out by hand.

#include <string>

#include "config/config.hpp"

namespace chargerecon {

// Every key the loader reads, in its order and spelling (durations "1500ms", sizes "3MiB",
// log.format "auto" for an unset format), quoted wherever YAML would otherwise read a value as
// something else. For a valid `c`, parse_config(to_yaml(c)) gives back a config equal to `c`;
// an invalid one is written as it is, for the loader to refuse.
std::string to_yaml(const config& c);

}  // namespace chargerecon
