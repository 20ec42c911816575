#include "billing-fake/options.hpp"

#include <fstream>

#include "common/command_line.hpp"

namespace chargerecon::billing_fake {

std::string usage_text() {
  return R"(usage: billing-fake [flags]

The reference billing system of chargerecon's billing HTTP contract, for tests and demos.
POST <path> with Idempotency-Key bills a charge once (201, then 409 with the first reference);
GET /state shows what was billed, GET /stats the counters alone (posts, faults injected by kind);
POST /faults {"fail_5xx": 0, "latency": 5, ...} changes the fault settings while it runs.

  --listen ADDR            address to listen on (default 127.0.0.1)
  --port N                 port (default 0: the kernel picks one; see --port-file)
  --port-file PATH         write the bound port and a newline here once listening
  --tls-cert PATH          PEM certificate: serve HTTPS (with --tls-key)
  --tls-key PATH           PEM private key
  --path PATH              charge POSTs go to a path ending with this (default /bill)
  --token-file PATH        require "Authorization: Bearer <first line of PATH>" (else 401)
  --reject-customers LIST  comma-separated customers always refused with 422 (e.g. C0007,C0013)
  --latency DURATION       delay before answering a charge POST (250, 250ms, 2s, 1m; default 0)
  --jitter DURATION        plus a uniform extra delay up to this (default 0)
  --fail-5xx P             probability of a 503 without recording (0..1, default 0)
  --rate-limit P           probability of a 429 with Retry-After: 1, without recording
  --apply-then-drop P      probability of recording the charge, then closing without an answer
  --malformed-json P       probability of recording the charge, then answering 201 with a body
                           that is not JSON
  --drop P                 probability of closing without recording or answering
  --seed N                 seed of the fault draws and jitter (default 1)
  --quiet                  log only warnings and errors
  --help                   this text

Fault probabilities add up to at most 1. SIGTERM or SIGINT stops it (exit 0); a bad flag exits 64.
)";
}

result<fake_options> parse_options(const std::vector<std::string>& args) {
  fake_options o;
  const auto kinds =
      cli::known_flags({"help", "quiet"}, {"listen", "port", "port-file", "tls-cert", "tls-key", "path", "token-file",
                                           "reject-customers", "latency", "jitter", "fail-5xx", "rate-limit",
                                           "apply-then-drop", "malformed-json", "drop", "seed"});
  const auto apply = [&](const cli::flag& f) -> result<void> {
    const std::string_view flag = f.name;
    const std::string value(f.value.value_or(""));
    if (flag == "help" || flag == "quiet") {
      (flag == "help" ? o.help : o.quiet) = true;
    } else if (flag == "listen") {
      if (value.empty()) return cli::flag_error(flag, "is empty");
      o.server.listen_address = value;
    } else if (flag == "port") {
      return cli::set(o.server.port, cli::whole_number<std::uint16_t>(flag, value, 0, 65535));
    } else if (flag == "port-file") {
      if (value.empty()) return cli::flag_error(flag, "is empty");
      o.port_file = value;
    } else if (flag == "tls-cert") {
      o.server.tls_cert_file = value;
    } else if (flag == "tls-key") {
      o.server.tls_key_file = value;
    } else if (flag == "path") {
      if (!value.starts_with("/")) return cli::flag_error(flag, "must start with '/'");
      o.fake.path = value;
    } else if (flag == "token-file") {
      if (value.empty()) return cli::flag_error(flag, "is empty");
      o.token_file = value;
    } else if (flag == "reject-customers") {
      std::string_view rest = value;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto item = rest.substr(0, comma);
        if (item.empty()) return cli::flag_error(flag, "has an empty customer");
        o.fake.reject_customers.emplace(item);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (comma != std::string_view::npos && rest.empty()) return cli::flag_error(flag, "has an empty customer");
      }
    } else if (flag == "latency" || flag == "jitter") {
      return cli::set(flag == "latency" ? o.fake.latency : o.fake.jitter,
                      cli::duration(flag, value, std::chrono::milliseconds(1)));
    } else if (flag == "fail-5xx") {
      return cli::set(o.fake.fail_5xx, cli::probability(flag, value));
    } else if (flag == "rate-limit") {
      return cli::set(o.fake.rate_limit, cli::probability(flag, value));
    } else if (flag == "apply-then-drop") {
      return cli::set(o.fake.apply_then_drop, cli::probability(flag, value));
    } else if (flag == "malformed-json") {
      return cli::set(o.fake.malformed_json, cli::probability(flag, value));
    } else if (flag == "drop") {
      return cli::set(o.fake.drop, cli::probability(flag, value));
    } else {  // seed, the last of kinds' value flags
      return cli::set(o.fake.seed, cli::whole_number<std::uint64_t>(flag, value, 0, UINT64_MAX));
    }
    return {};
  };
  if (auto read = cli::read_flags(args, kinds, apply); !read) return read.error();

  const double faults =
      o.fake.drop + o.fake.fail_5xx + o.fake.rate_limit + o.fake.apply_then_drop + o.fake.malformed_json;
  if (faults > 1.0 + 1e-9)
    return error{errc::invalid_argument,
                 "--drop, --fail-5xx, --rate-limit, --apply-then-drop and --malformed-json add up to more than 1"};
  if (o.server.tls_cert_file.empty() != o.server.tls_key_file.empty())
    return error{errc::invalid_argument, "--tls-cert and --tls-key go together"};
  return o;
}

result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line))
    return error{errc::secret_unreadable, "billing-fake: cannot read the token file " + path};
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return error{errc::secret_unreadable, "billing-fake: the token file " + path + " starts with an empty line"};
  return line;
}

}  // namespace chargerecon::billing_fake
