#pragma once
// Reading chargerecond's YAML configuration and the secret files it names.
//
// The whole document is validated before anything is returned, and every problem is reported,
// each naming the file, the line, the key path and what is wrong:
//   chargerecon.yaml:12: poll.page_size: 80 is out of range 1..50
// Unknown keys are problems too (a typo must not silently fall back to a default). A key whose
// value is null (`key:`, `key: ~`) counts as absent: its default applies.

#include <boost/system/result.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "config/config.hpp"

namespace chargerecon {

struct config_problem {
  std::string file;
  std::size_t line = 0;  // 1-based; 0 when the problem has no line (a section that is absent)
  std::string key;       // "poll.page_size", "billing.bill_statuses[1]"; empty for the whole document
  std::string message;

  // "file:line: key: message", leaving out the parts that are empty.
  std::string to_string() const;
};

struct config_error {
  std::vector<config_problem> problems;

  // errc::config_invalid with every problem, one per line, as the diagnostic.
  error to_error() const;
};

// Lets config_result<T>::value() throw (start-up code that prefers exceptions).
[[noreturn]] void throw_exception_from_error(const config_error& e, const boost::source_location& loc);

template <class T>
using config_result = boost::system::result<T, config_error>;

// Reads and validates the file. An unreadable file or a YAML syntax error is one problem.
config_result<config> load_config(const std::string& path);
// Same, from text; `file_name` only labels the problems.
config_result<config> parse_config(std::string_view yaml_text, std::string_view file_name);

// Every key path the loader accepts ("crm.base_url", ...), in document order. The example
// configuration's test uses it so that etc/chargerecon.yaml cannot miss a key.
std::vector<std::string> config_key_paths();

// "500ms", "30s", "5m", "1h": a whole number and a unit, nothing else. nullopt otherwise,
// and for values beyond a century (which only a typo produces).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// The shortest exact spelling parse_duration accepts: 90000ms -> "90s", 5400000ms -> "90m".
std::string format_duration(std::chrono::milliseconds d);
// The shortest exact spelling of a size that max_response_size accepts: 3145728 -> "3MiB".
std::string format_size(std::size_t bytes);

struct listen_address {
  std::string host;  // an IP literal, IPv6 without brackets
  std::uint16_t port = 0;
};
// "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:0". Errors: errc::config_invalid.
result<listen_address> parse_listen_address(std::string_view text);

// Where relative or absent secret file names are looked up: systemd's LoadCredential= puts
// the files in $CREDENTIALS_DIRECTORY. The credential names are
//   crm-password      crm.password_file (password login, crm.username set)
//   crm-web-api-key   crm.web_api_key_file (Web API key login, crm.username empty)
//   billing-token     billing.token_file (optional: no Authorization header without it)
struct secret_env {
  std::string credentials_directory;  // empty: not set

  static secret_env from_process();  // reads $CREDENTIALS_DIRECTORY
};

// Reads the secrets `cfg` calls for. A file is refused when group or others have any access
// to it (mode & 077), when it is not a regular file, is empty, or holds more than one line;
// trailing line ends (\n, \r\n) are dropped. Diagnostics name the key and the file, never
// the content.
// Errors: errc::secret_too_open, errc::secret_unreadable, errc::config_invalid (a relative or
// absent name with no $CREDENTIALS_DIRECTORY to resolve it). load_secrets returns the first;
// check_secrets returns them all (for --check-config).
result<secrets> load_secrets(const config& cfg, const secret_env& env);
std::vector<error> check_secrets(const config& cfg, const secret_env& env);

// One secret file, checked as above; `key` ("crm.password_file") labels the diagnostics.
result<secret> read_secret_file(const std::string& path, std::string_view key);

}  // namespace chargerecon
