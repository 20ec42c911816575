// chargerecond: wiring only. Everything it calls lives in lib/.
#include <cstdio>
#include <string>
#include <string_view>

#include "config/loader.hpp"
#include "engine/service.hpp"
#include "observability/event_log.hpp"

#include <unistd.h>

namespace {

// sysexits.h's values, spelled out: they are part of the command-line contract.
constexpr int exit_ok = 0;
constexpr int exit_usage = 64;        // EX_USAGE
constexpr int exit_config = 78;       // EX_CONFIG

constexpr std::string_view default_config_path = "/etc/chargerecon/chargerecon.yaml";

constexpr std::string_view usage_text =
    "usage: chargerecond [--config FILE] [--once]\n"
    "       chargerecond --check-config FILE\n"
    "       chargerecond --help | --version\n";

constexpr std::string_view help_text =
    "Reconciles CRM.COM netflix charges with the operator's billing system.\n"
    "\n"
    "options:\n"
    "  --config FILE        the configuration (default /etc/chargerecon/chargerecon.yaml)\n"
    "  --once               drain: stop once a pass finds nothing new and no charge is\n"
    "                       left unfinished (cron-style runs, tests)\n"
    "  --check-config FILE  validate FILE and the secret files it names, report every\n"
    "                       problem, and exit; secret values are never printed\n"
    "  --help               this text\n"
    "  --version            the version\n"
    "\n"
    "secrets are read from files; names left empty or relative in the configuration are\n"
    "looked up in $CREDENTIALS_DIRECTORY (systemd LoadCredential=) under the credential\n"
    "names crm-password, crm-web-api-key and billing-token. To check them outside the\n"
    "service, set CREDENTIALS_DIRECTORY to the directory that holds those files.\n"
    "\n"
    "exit status: 0 success (also after SIGTERM), 64 usage error, 65 the ledger failed its\n"
    "integrity check (restore it from a backup), 69 start-up failed (ledger locked or unusable),\n"
    "70 stopped on an unrecoverable error, 78 configuration error\n";

int usage_error(std::string_view what) {
  std::fprintf(stderr, "chargerecond: %.*s\n%.*s", static_cast<int>(what.size()), what.data(),
               static_cast<int>(usage_text.size()), usage_text.data());
  return exit_usage;
}

void print_line(std::FILE* to, const std::string& line) { std::fprintf(to, "%s\n", line.c_str()); }

// Loads the configuration and checks the secret files, printing every problem to stderr.
// The secrets themselves are read to be checked, then dropped: nothing here prints them.
bool check(const std::string& path, chargerecon::config& out) {
  auto loaded = chargerecon::load_config(path);
  if (!loaded) {
    for (const auto& p : loaded.error().problems) print_line(stderr, p.to_string());
    return false;
  }
  const auto problems = chargerecon::check_secrets(*loaded, chargerecon::secret_env::from_process());
  for (const auto& e : problems) print_line(stderr, path + ": " + e.diagnostic);
  if (!problems.empty()) return false;
  out = std::move(*loaded);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path(default_config_path);
  bool check_only = false;
  bool config_given = false;
  bool once = false;

  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fwrite(usage_text.data(), 1, usage_text.size(), stdout);
      std::fwrite(help_text.data(), 1, help_text.size(), stdout);
      return exit_ok;
    }
    if (arg == "--version") {
      std::puts("chargerecond " CHARGERECON_VERSION);
      return exit_ok;
    }
    if (arg == "--once") {
      once = true;
      continue;
    }
    if (arg == "--config" || arg == "--check-config") {
      if (config_given) return usage_error("give one configuration file");
      const char* value = i + 1 < argc ? argv[++i] : nullptr;
      if (!value || *value == '\0') return usage_error(std::string(arg) + " needs a FILE");
      config_path = value;
      config_given = true;
      check_only = arg == "--check-config";
      continue;
    }
    if (arg.starts_with("--config=") || arg.starts_with("--check-config=")) {
      if (config_given) return usage_error("give one configuration file");
      const auto eq = arg.find('=');
      if (eq + 1 == arg.size()) return usage_error(std::string(arg.substr(0, eq)) + " needs a FILE");
      config_path = std::string(arg.substr(eq + 1));
      config_given = true;
      check_only = arg.starts_with("--check-config=");
      continue;
    }
    return usage_error("unknown argument '" + chargerecon::quote_peer_text(arg, 80) + "'");
  }

  chargerecon::config cfg;
  if (!check(config_path, cfg)) return exit_config;
  if (check_only) {
    std::printf("%s: configuration OK\n", config_path.c_str());
    return exit_ok;
  }
  auto secrets = chargerecon::load_secrets(cfg, chargerecon::secret_env::from_process());
  if (!secrets) {
    print_line(stderr, config_path + ": " + secrets.error().diagnostic);
    return exit_config;
  }
  auto log = chargerecon::obs::make_stderr_log(chargerecon::resolve_log_format(cfg.log, isatty(STDERR_FILENO) == 1),
                                               cfg.log.level);
  // Under systemd, events go to the journal as structured fields (journalctl CHARGERECON_EVENT=...).
  if (chargerecon::obs::stderr_is_journal()) log.use_journal(true);
  return chargerecon::engine::run_service(cfg, *secrets, {once, config_path}, log);
}
