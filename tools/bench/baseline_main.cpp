// chargerecon-baseline: the naive sequential reconciler (bench/baseline.hpp), wiring only.
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

#include "bench/baseline.hpp"

namespace {

constexpr std::string_view usage_text =
    "usage: chargerecon-baseline --crm-url URL --billing-url URL --ledger PATH --password-file PATH\n"
    "                            [--username NAME] [--organisation NAME]\n"
    "\n"
    "Drains CRM.COM's PROCESSED charges once with a naive sequential loop (list a page, bill each\n"
    "charge in turn, acknowledge the page, repeat), into a fresh or existing ledger at PATH.\n"
    "  --crm-url URL          CRM.COM's root, e.g. http://127.0.0.1:18080 (crmapi/rest/v2/ is appended)\n"
    "  --billing-url URL      where charges are posted, e.g. http://127.0.0.1:18081/bill\n"
    "  --ledger PATH          the SQLite ledger\n"
    "  --password-file PATH   first line: the CRM.COM password\n"
    "  --username NAME        default operator (crm-sim's)\n"
    "  --organisation NAME    default demo-org (crm-sim's)\n"
    "exit status: 0 drained, 1 failed or left charges unfinished, 64 usage error\n";

int usage(std::string_view what) {
  std::fprintf(stderr, "chargerecon-baseline: %.*s\n%.*s", static_cast<int>(what.size()), what.data(),
               static_cast<int>(usage_text.size()), usage_text.data());
  return 64;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace chargerecon;
  std::string crm_url, billing_url, ledger_path, password_file;
  bench::baseline_config config;
  config.credentials.username = "operator";
  config.credentials.organisation = "demo-org";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help") {
      std::fwrite(usage_text.data(), 1, usage_text.size(), stdout);
      return 0;
    }
    if (i + 1 >= argc) return usage(std::string(arg) + " needs a value, or is unknown");
    const std::string value = argv[++i];
    if (arg == "--crm-url")
      crm_url = value;
    else if (arg == "--billing-url")
      billing_url = value;
    else if (arg == "--ledger")
      ledger_path = value;
    else if (arg == "--password-file")
      password_file = value;
    else if (arg == "--username")
      config.credentials.username = value;
    else if (arg == "--organisation")
      config.credentials.organisation = value;
    else
      return usage("unknown argument '" + quote_peer_text(arg, 80) + "'");
  }
  if (crm_url.empty() || billing_url.empty() || ledger_path.empty() || password_file.empty())
    return usage("--crm-url, --billing-url, --ledger and --password-file are required");

  std::ifstream pw(password_file);
  if (!pw || !std::getline(pw, config.credentials.password))
    return usage("cannot read --password-file " + password_file);
  if (!crm_url.ends_with('/')) crm_url += '/';
  config.crm_base_url = crm_url + "crmapi/rest/v2/";
  auto parsed = boost::urls::parse_absolute_uri(billing_url);
  if (!parsed) return usage("--billing-url does not parse");
  boost::urls::url origin(*parsed);
  std::string path(parsed->encoded_path());
  origin.set_encoded_path("/");
  origin.remove_query();
  if (!path.empty() && path.front() == '/') path.erase(0, 1);
  config.billing_base_url = std::string(origin.buffer());
  config.billing_target = path;
  config.ledger_path = ledger_path;

  auto log = obs::make_stderr_log(obs::log_format::text, obs::log_level::warn, "chargerecon-baseline");
  auto done = bench::run_baseline(config, log);
  if (!done) {
    std::fprintf(stderr, "chargerecon-baseline: %s\n", done.error().to_string().c_str());
    return 1;
  }
  const auto& s = *done;
  std::fprintf(stderr,
               "chargerecon-baseline: %llu pages, %llu charges, %llu billed, %llu held, %llu acknowledged, %llu left "
               "listed, %llu failed posts\n",
               static_cast<unsigned long long>(s.pages), static_cast<unsigned long long>(s.charges),
               static_cast<unsigned long long>(s.billed), static_cast<unsigned long long>(s.held),
               static_cast<unsigned long long>(s.acknowledged), static_cast<unsigned long long>(s.left_in_list),
               static_cast<unsigned long long>(s.failed_posts));
  return s.failed_posts == 0 ? 0 : 1;
}
