#include "billing-fake/options.hpp"

#include <charconv>
#include <fstream>
#include <limits>
#include <optional>

namespace chargerecon::billing_fake {
namespace {

error bad_flag(std::string_view flag, std::string_view why) {
  return error{errc::invalid_argument, "--" + std::string(flag) + ": " + std::string(why)};
}

template <class Int>
std::optional<Int> parse_int(std::string_view s) {
  Int v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "250", "250ms" or "2s".
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  std::int64_t scale = 1;
  if (s.ends_with("ms")) s.remove_suffix(2);
  else if (s.ends_with("s")) {
    s.remove_suffix(1);
    scale = 1000;
  }
  const auto n = parse_int<std::int64_t>(s);
  if (!n || *n < 0 || *n > std::numeric_limits<std::int64_t>::max() / 1000 / 1000) return std::nullopt;
  return std::chrono::milliseconds{*n * scale};
}

std::optional<double> parse_probability(std::string_view s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || !(v >= 0.0 && v <= 1.0)) return std::nullopt;
  return v;
}

}  // namespace

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
  --latency DURATION       delay before answering a charge POST (250, 250ms, 2s; default 0)
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
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!arg.starts_with("--")) return error{errc::invalid_argument, "unexpected argument '" + quote_peer_text(arg) + "'"};
    arg.remove_prefix(2);
    std::string_view flag = arg;
    std::optional<std::string> inline_value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      inline_value = std::string(arg.substr(eq + 1));
    }

    if (flag == "help" || flag == "quiet") {
      if (inline_value) return bad_flag(flag, "takes no value");
      (flag == "help" ? o.help : o.quiet) = true;
      continue;
    }

    std::string value;
    if (inline_value) value = std::move(*inline_value);
    else if (i + 1 < args.size()) value = args[++i];
    else return bad_flag(flag, "needs a value");

    const auto probability = [&](double& into) -> std::optional<error> {
      const auto p = parse_probability(value);
      if (!p) return bad_flag(flag, "'" + quote_peer_text(value) + "' is not a probability between 0 and 1");
      into = *p;
      return std::nullopt;
    };
    const auto duration = [&](std::chrono::milliseconds& into) -> std::optional<error> {
      const auto d = parse_duration(value);
      if (!d) return bad_flag(flag, "'" + quote_peer_text(value) + "' is not a duration like 250, 250ms or 2s");
      into = *d;
      return std::nullopt;
    };

    std::optional<error> failed;
    if (flag == "listen") {
      if (value.empty()) return bad_flag(flag, "is empty");
      o.server.listen_address = value;
    } else if (flag == "port") {
      const auto p = parse_int<std::uint16_t>(value);
      if (!p) return bad_flag(flag, "'" + quote_peer_text(value) + "' is not a port number (0..65535)");
      o.server.port = *p;
    } else if (flag == "port-file") {
      if (value.empty()) return bad_flag(flag, "is empty");
      o.port_file = value;
    } else if (flag == "tls-cert") {
      o.server.tls_cert_file = value;
    } else if (flag == "tls-key") {
      o.server.tls_key_file = value;
    } else if (flag == "path") {
      if (!value.starts_with("/")) return bad_flag(flag, "must start with '/'");
      o.fake.path = value;
    } else if (flag == "token-file") {
      if (value.empty()) return bad_flag(flag, "is empty");
      o.token_file = value;
    } else if (flag == "reject-customers") {
      std::string_view rest = value;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto item = rest.substr(0, comma);
        if (item.empty()) return bad_flag(flag, "has an empty customer");
        o.fake.reject_customers.emplace(item);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (comma != std::string_view::npos && rest.empty()) return bad_flag(flag, "has an empty customer");
      }
    } else if (flag == "latency") {
      failed = duration(o.fake.latency);
    } else if (flag == "jitter") {
      failed = duration(o.fake.jitter);
    } else if (flag == "fail-5xx") {
      failed = probability(o.fake.fail_5xx);
    } else if (flag == "rate-limit") {
      failed = probability(o.fake.rate_limit);
    } else if (flag == "apply-then-drop") {
      failed = probability(o.fake.apply_then_drop);
    } else if (flag == "malformed-json") {
      failed = probability(o.fake.malformed_json);
    } else if (flag == "drop") {
      failed = probability(o.fake.drop);
    } else if (flag == "seed") {
      const auto s = parse_int<std::uint64_t>(value);
      if (!s) return bad_flag(flag, "'" + quote_peer_text(value) + "' is not a non-negative integer");
      o.fake.seed = *s;
    } else {
      return error{errc::invalid_argument, "unknown flag --" + quote_peer_text(flag)};
    }
    if (failed) return std::move(*failed);
  }

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
