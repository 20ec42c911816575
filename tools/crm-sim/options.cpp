#include "crm-sim/options.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <string_view>

#include "common/command_line.hpp"

namespace chargerecon::crm_sim {

namespace {

struct flag {
  std::string_view name;
  std::string_view value_name;  // empty: a switch
  std::string_view help;
  std::function<result<void>(crm_sim_options&, std::string_view)> set;
};

using setter = std::function<result<void>(crm_sim_options&, std::string_view)>;

setter text(std::string crm_sim_options::*member) {
  return [member](crm_sim_options& o, std::string_view v) -> result<void> {
    o.*member = std::string(v);
    return {};
  };
}

setter sim_text(std::string sim_config::*member) {
  return [member](crm_sim_options& o, std::string_view v) -> result<void> {
    o.sim.*member = std::string(v);
    return {};
  };
}

setter on(std::function<bool&(crm_sim_options&)> target) {
  return [target](crm_sim_options& o, std::string_view) -> result<void> {
    target(o) = true;
    return {};
  };
}

setter probability(std::string_view name, double fault_config::*member) {
  return [name, member](crm_sim_options& o, std::string_view v) -> result<void> {
    return cli::set(o.sim.faults.*member, cli::probability(name, v));
  };
}

setter duration(std::string_view name, std::chrono::milliseconds bare_unit,
                std::function<std::chrono::milliseconds&(crm_sim_options&)> target) {
  return [name, bare_unit, target](crm_sim_options& o, std::string_view v) -> result<void> {
    return cli::set(target(o), cli::duration(name, v, bare_unit));
  };
}

const std::vector<flag>& flags() {
  using namespace std::chrono;
  static const std::vector<flag> table = {
      {"listen", "ADDR", "address to listen on (default 127.0.0.1)",
       [](crm_sim_options& o, std::string_view v) -> result<void> {
         o.server.listen_address = std::string(v);
         return {};
       }},
      {"port", "N", "port to listen on (default 0: the kernel picks one; see --port-file)",
       [](crm_sim_options& o, std::string_view v) {
         return cli::set(o.server.port, cli::whole_number<std::uint16_t>("port", v, 0, 65535));
       }},
      {"port-file", "PATH", "write the bound port and a newline here once listening (atomically)",
       text(&crm_sim_options::port_file)},
      {"tls-cert", "PEM", "serve HTTPS with this certificate (with --tls-key)",
       [](crm_sim_options& o, std::string_view v) -> result<void> {
         o.server.tls_cert_file = std::string(v);
         return {};
       }},
      {"tls-key", "PEM", "the private key of --tls-cert",
       [](crm_sim_options& o, std::string_view v) -> result<void> {
         o.server.tls_key_file = std::string(v);
         return {};
       }},
      {"quiet", "", "do not print a line per call on stderr", on([](crm_sim_options& o) -> bool& { return o.quiet; })},
      {"help", "", "print this help and exit", on([](crm_sim_options& o) -> bool& { return o.help; })},
      {"username", "NAME", "the valid login user name (default operator)", sim_text(&sim_config::username)},
      {"password-file", "PATH", "file whose first line is the valid password (default: the password is \"secret\")",
       text(&crm_sim_options::password_file)},
      {"organisation", "NAME", "the valid organisation (default demo-org)", sim_text(&sim_config::organisation)},
      {"web-api-key", "KEY", "the Web API key accepted by authentication/web_api_key/token (default: none)",
       sim_text(&sim_config::web_api_key)},
      {"token-lifetime", "DURATION", "tokens expire this long after issue (default 2h; bare number: seconds)",
       duration("token-lifetime", seconds(1),
                [](crm_sim_options& o) -> milliseconds& { return o.sim.token_lifetime; })},
      {"exp-as-string", "", "write the JWT's iat and exp claims as numeric strings",
       on([](crm_sim_options& o) -> bool& { return o.sim.exp_as_string; })},
      {"login-refusal-http-401", "", "refuse wrong credentials with HTTP 401 (default: 200 with status.code ERROR)",
       on([](crm_sim_options& o) -> bool& { return o.sim.login_refusal_http_401; })},
      {"token-error-http-401", "",
       "refuse invalid or expired tokens with HTTP 401 (default: 200 with status.code ERROR)",
       on([](crm_sim_options& o) -> bool& { return o.sim.token_error_http_401; })},
      {"seed", "N", "seed of every random choice: charges, faults, token ids (default 1)",
       [](crm_sim_options& o, std::string_view v) {
         return cli::set(o.sim.generator.seed, cli::whole_number<std::uint64_t>("seed", v, 0, UINT64_MAX));
       }},
      {"backlog", "N", "charges waiting at start (default 0)",
       [](crm_sim_options& o, std::string_view v) {
         return cli::set(o.sim.generator.backlog, cli::whole_number<std::size_t>("backlog", v, 0, 10'000'000));
       }},
      {"arrival-rate", "R", "new charges per second after start (default 0: none)",
       [](crm_sim_options& o, std::string_view v) {
         return cli::set(o.sim.generator.arrival_rate, cli::number("arrival-rate", v, 0, 100000));
       }},
      {"customers", "N", "customers C0001..CN the charges belong to (default 50)",
       [](crm_sim_options& o, std::string_view v) {
         return cli::set(o.sim.generator.customers, cli::whole_number<std::size_t>("customers", v, 1, 9999));
       }},
      {"pending-ratio", "P", "share of charges born PENDING (default 0.1)",
       [](crm_sim_options& o, std::string_view v) {
         return cli::set(o.sim.generator.pending_ratio, cli::probability("pending-ratio", v));
       }},
      {"pending-resolve-after", "DURATION",
       "a PENDING charge becomes APPROVED or DECLINED this much later (default 10s)",
       duration("pending-resolve-after", seconds(1),
                [](crm_sim_options& o) -> milliseconds& { return o.sim.generator.pending_resolve_after; })},
      {"latency", "DURATION", "added to every CRM call (default 0; bare number: ms)",
       duration("latency", milliseconds(1), [](crm_sim_options& o) -> milliseconds& { return o.sim.faults.latency; })},
      {"jitter", "DURATION", "latency varies by up to this much either way (default 0; bare number: ms)",
       duration("jitter", milliseconds(1), [](crm_sim_options& o) -> milliseconds& { return o.sim.faults.jitter; })},
      {"fail-5xx", "P", "probability of a 500/502/503/504 answer (default 0)",
       probability("fail-5xx", &fault_config::fail_5xx)},
      {"drop", "P", "probability of closing the connection without an answer (default 0)",
       probability("drop", &fault_config::drop)},
      {"malformed-json", "P", "probability of a 200 answer that is not JSON (netflix methods; default 0)",
       probability("malformed-json", &fault_config::malformed_json)},
      {"truncate-json", "P",
       "probability of a 200 answer cut in half, after doing the call (netflix methods; default 0)",
       probability("truncate-json", &fault_config::truncate_json)},
      {"token-expiry-every", "DURATION", "every token dies this long after issue (default 0: off; bare number: s)",
       duration("token-expiry-every", seconds(1),
                [](crm_sim_options& o) -> milliseconds& { return o.sim.faults.token_expiry_every; })},
      {"ack-refuse-first", "K", "refuse each charge's first K acknowledgements (default 0)",
       [](crm_sim_options& o, std::string_view v) {
         return cli::set(o.sim.faults.ack_refuse_first,
                         cli::whole_number<unsigned>("ack-refuse-first", v, 0, 1'000'000));
       }},
      {"ack-refuse-code", "CODE", "error_code of those refusals (default TEMPORARY_FAILURE)",
       [](crm_sim_options& o, std::string_view v) -> result<void> {
         if (v.empty()) return cli::flag_error("ack-refuse-code", "must not be empty");
         o.sim.faults.ack_refuse_code = std::string(v);
         return {};
       }},
      {"ack-apply-then-drop", "P",
       "probability of applying an acknowledgement, then dropping the connection (default 0)",
       probability("ack-apply-then-drop", &fault_config::ack_apply_then_drop)},
  };
  return table;
}

const flag* find_flag(std::string_view name) {
  for (const auto& f : flags())
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace

result<crm_sim_options> parse_options(const std::vector<std::string>& args) {
  crm_sim_options options;
  const auto kind = [](std::string_view name) -> std::optional<cli::flag_kind> {
    const auto* f = find_flag(name);
    if (!f) return std::nullopt;
    return f->value_name.empty() ? cli::flag_kind::switch_flag : cli::flag_kind::value_flag;
  };
  const auto apply = [&](const cli::flag& given) {
    return find_flag(given.name)->set(options, given.value.value_or(""));
  };
  if (auto read = cli::read_flags(args, kind, apply); !read) return read.error();
  if (options.server.tls_cert_file.empty() != options.server.tls_key_file.empty()) {
    return error{errc::invalid_argument, "--tls-cert and --tls-key go together"};
  }
  return options;
}

std::string usage_text() {
  std::string out =
      "usage: crm-sim [flags]\n"
      "A CRM.COM netflix API simulator (/crmapi/rest/v2/...) with seeded charges and fault injection.\n"
      "Test endpoints: GET /sim/state, GET /sim/stats (counters only: calls, faults injected by kind),\n"
      "POST /sim/charges (a JSON array of raw charges served verbatim),\n"
      "POST /sim/faults (a JSON object keyed by the fault flags' names with '_', e.g. {\"fail_5xx\":0.2};\n"
      "also ack_misname_next: K), POST /sim/amend (a generated charge's new customer, amount or currency).\n"
      "Exits 0 on SIGTERM/SIGINT, 64 on a bad flag, 1 when it cannot start.\n\nflags:\n";
  for (const auto& f : flags()) {
    std::string left = "  --" + std::string(f.name);
    if (!f.value_name.empty()) left += " " + std::string(f.value_name);
    if (left.size() < 34)
      left.resize(34, ' ');
    else
      left += "\n" + std::string(34, ' ');
    out += left + std::string(f.help) + "\n";
  }
  return out;
}

result<std::string> read_password_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return error{errc::secret_unreadable, "cannot read the password file " + path + ": " + std::strerror(errno)};
  }
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace chargerecon::crm_sim
