#include "support/service_fixture.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "config/writer.hpp"
#include "http/client.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "observability/event_log.hpp"

namespace chargerecon::test {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

}  // namespace

// ---- notify socket ---------------------------------------------------------------------------------

notify_socket::notify_socket(std::filesystem::path path) : path_(std::move(path)) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const auto text = path_.string();
  if (text.size() >= sizeof addr.sun_path) throw std::runtime_error("notify socket path too long: " + text);
  std::memcpy(addr.sun_path, text.c_str(), text.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket(AF_UNIX): ") + std::strerror(errno));
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd_);
    throw std::runtime_error("bind " + text + ": " + why);
  }
}

notify_socket::~notify_socket() {
  if (fd_ >= 0) ::close(fd_);
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

std::optional<std::string> notify_socket::receive(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
  if (n <= 0) return std::nullopt;
  char buf[4096];
  const auto got = ::recv(fd_, buf, sizeof buf, 0);
  if (got < 0) throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
  return std::string(buf, static_cast<std::size_t>(got));
}

bool notify_socket::receive_until(std::string_view line, std::vector<std::string>& seen,
                                  std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    auto m = receive(left);
    if (!m) return false;
    seen.push_back(*m);
    if (notify_has(*m, line)) return true;
  }
}

std::vector<std::string> notify_socket::drain() {
  std::vector<std::string> out;
  while (auto m = receive(std::chrono::milliseconds(0))) out.push_back(*m);
  return out;
}

bool notify_has(std::string_view message, std::string_view line) {
  for (auto l : split(message, '\n'))
    if (l == line) return true;
  return false;
}

// ---- the daemon --------------------------------------------------------------------------------------

service_fixture::service_fixture(service_settings settings) : dir_("chargerecon-svc") {
  std::filesystem::create_directory(dir_ / "credentials");
  std::filesystem::permissions(dir_ / "credentials", std::filesystem::perms::owner_all);
  write_file(dir_ / "credentials" / "crm-password", settings.crm_password + "\n", 0600);
  write_config(settings);
}

std::string service_fixture::config_text(const service_settings& s) const {
  daemon_settings d;
  d.crm_base_url = s.crm_base_url;
  d.billing_url = s.billing_url;
  d.poll_interval = s.poll_interval;
  d.crm_timeout = s.crm_timeout;
  d.page_size = s.page_size;
  d.ack_max_attempts = s.ack_max_attempts;
  d.log_level = s.log_level;
  d.shutdown_deadline = s.shutdown_deadline;
  config c = config_for(d, ledger_path());
  if (s.billing_token) c.billing.token_file = token_path().string();
  return to_yaml(c) + s.extra_yaml;
}

void service_fixture::write_config(const service_settings& s) const {
  if (s.billing_token) write_file(token_path(), *s.billing_token + "\n", 0600);
  // Replaced whole with a rename, as an editor or a config manager does: a SIGHUP never reads
  // a half-written file.
  const auto tmp = dir_ / "chargerecon.yaml.tmp";
  write_file(tmp, config_text(s), 0600);
  std::filesystem::rename(tmp, config_path());
}

daemon_process service_fixture::start(const environment& extra_env) {
  const auto n = ++runs_;
  environment env{{"CREDENTIALS_DIRECTORY", (dir_ / "credentials").string()}};
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  auto child = child_process::spawn(daemon_fixture::program(), {"--config", config_path().string()}, env,
                                    dir_ / ("run-" + std::to_string(n) + ".stdout"),
                                    dir_ / ("run-" + std::to_string(n) + ".stderr"));
  return daemon_process(std::move(child), "chargerecond run " + std::to_string(n));
}

std::vector<ledger::charge_record> service_fixture::ledger_charges() const {
  ledger::sqlite_ledger_options o;
  o.path = ledger_path();
  o.mode = ledger::open_mode::read_only;
  o.check_integrity = false;
  auto opened = ledger::sqlite_ledger::open(o, obs::event_log::null());
  if (!opened) throw std::runtime_error("cannot open the ledger read-only: " + opened.error().to_string());
  std::vector<ledger::charge_record> all;
  ledger::charge_filter f;
  f.limit = 1000;
  for (;;) {
    auto page = (*opened)->list(f);
    if (!page) throw std::runtime_error("cannot list the ledger: " + page.error().to_string());
    all.insert(all.end(), page->begin(), page->end());
    if (page->size() < f.limit) break;
    f.offset += f.limit;
  }
  return all;
}

std::uint16_t metrics_port(daemon_process& daemon, std::chrono::milliseconds timeout) {
  if (!daemon.wait_for_event("metrics.listening", timeout))
    throw std::runtime_error("no metrics.listening event: " + daemon.describe());
  const auto text = daemon.events("metrics.listening").front().field("port");
  std::uint16_t port = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), port);
  if (r.ec != std::errc() || port == 0) throw std::runtime_error("metrics.listening without a port: " + text);
  return port;
}

// ---- HTTP ----------------------------------------------------------------------------------------------

http_answer http_get(std::uint16_t port, std::string_view target, std::chrono::milliseconds timeout) {
  boost::asio::io_context ioc;
  http::client_config c;
  c.base_url = "http://127.0.0.1:" + std::to_string(port) + "/";
  c.connect_timeout = timeout;
  c.request_timeout = timeout;
  auto client = http::client::create(ioc.get_executor(), c);
  if (!client) throw std::runtime_error("http client: " + client.error().to_string());
  std::optional<result<http::response>> answer;
  http::request req;
  req.target = std::string(target);
  while (!req.target.empty() && req.target.front() == '/') req.target.erase(0, 1);
  boost::asio::co_spawn(
      ioc, [&]() -> boost::asio::awaitable<void> { answer = co_await (*client)->send(std::move(req)); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.run_for(timeout + std::chrono::seconds(5));
  if (!answer) throw std::runtime_error("GET " + std::string(target) + ": no answer in time");
  if (!*answer) throw std::runtime_error("GET " + std::string(target) + ": " + answer->error().to_string());
  return {(*answer)->status, (*answer)->body};
}

// ---- Prometheus text -------------------------------------------------------------------------------

namespace {

bool valid_name(std::string_view n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n.front()))) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':')) return false;
  return true;
}

double parse_value(std::string_view v, std::string_view line) {
  if (v == "+Inf") return INFINITY;
  if (v == "-Inf") return -INFINITY;
  if (v == "NaN") return NAN;
  double d = 0;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), d);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size())
    throw std::runtime_error("bad sample value in: " + std::string(line));
  return d;
}

// The family a sample belongs to: histogram samples carry a suffix.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  if (types.contains(name)) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string_view s(suffix);
    if (name.size() > s.size() && name.ends_with(s)) {
      const auto base = name.substr(0, name.size() - s.size());
      const auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  return {};
}

}  // namespace

exposition parse_exposition(std::string_view text) {
  exposition out;
  for (auto line : split(text, '\n')) {
    if (line.empty()) continue;
    const std::string l(line);
    if (line.starts_with("# HELP ")) {
      auto rest = line.substr(7);
      const auto sp = rest.find(' ');
      const auto name = std::string(rest.substr(0, sp));
      if (!valid_name(name)) throw std::runtime_error("bad metric name in: " + l);
      out.help[name] = sp == std::string_view::npos ? "" : std::string(rest.substr(sp + 1));
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      const auto parts = split(line.substr(7), ' ');
      if (parts.size() != 2) throw std::runtime_error("bad TYPE line: " + l);
      const std::string name(parts[0]), type(parts[1]);
      if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" && type != "untyped")
        throw std::runtime_error("unknown type in: " + l);
      if (!out.help.contains(name)) throw std::runtime_error("TYPE before HELP: " + l);
      out.types[name] = type;
      continue;
    }
    if (line.starts_with("#")) continue;
    metric_sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    if (!valid_name(s.name)) throw std::runtime_error("bad metric name in: " + l);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const auto eq = line.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
          throw std::runtime_error("bad label in: " + l);
        const std::string key(line.substr(i, eq - i));
        if (!valid_name(key)) throw std::runtime_error("bad label name in: " + l);
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) throw std::runtime_error("unterminated label value in: " + l);
        if (!s.labels.emplace(key, value).second) throw std::runtime_error("repeated label in: " + l);
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) throw std::runtime_error("unterminated labels in: " + l);
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') throw std::runtime_error("no value in: " + l);
    s.value = parse_value(trim(line.substr(i + 1)), line);
    if (family_of(s.name, out.types).empty()) throw std::runtime_error("sample of no announced family: " + l);
    out.samples.push_back(std::move(s));
  }
  return out;
}

std::optional<double> exposition::value(std::string_view name, const std::map<std::string, std::string>& labels) const {
  for (const auto& s : samples)
    if (s.name == name && s.labels == labels) return s.value;
  return std::nullopt;
}

double exposition::sum(std::string_view name, const std::map<std::string, std::string>& match) const {
  double total = 0;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool ok = true;
    for (const auto& [k, v] : match) {
      const auto it = s.labels.find(k);
      ok = ok && it != s.labels.end() && it->second == v;
    }
    if (ok) total += s.value;
  }
  return total;
}

// ---- README ----------------------------------------------------------------------------------------

std::map<std::string, documented_event> readme_log_events() {
  const auto text = read_file(std::filesystem::path(CHARGERECON_SOURCE_DIR) / "README.md");
  std::map<std::string, documented_event> out;
  bool in_section = false;
  for (auto line : split(text, '\n')) {
    if (line.starts_with("#")) {
      in_section = trim(line) == "### Log events";
      continue;
    }
    if (!in_section || !line.starts_with("| `")) continue;
    // | `event` | level | field, field | alert |
    auto cells = split(line, '|');
    if (cells.size() < 5) throw std::runtime_error("README log events: a row without 4 cells: " + std::string(line));
    const auto name_cell = trim(cells[1]);
    if (name_cell.size() < 3 || name_cell.back() != '`')
      throw std::runtime_error("README: bad event cell: " + std::string(line));
    const std::string name(name_cell.substr(1, name_cell.size() - 2));
    documented_event e;
    e.level = std::string(trim(cells[2]));
    for (auto f : split(trim(cells[3]), ',')) {
      f = trim(f);
      if (f.empty() || f == "-") continue;
      e.fields.emplace(f);
    }
    e.alert = trim(cells[4]).starts_with("yes");
    if (!out.emplace(name, std::move(e)).second) throw std::runtime_error("README: event listed twice: " + name);
  }
  return out;
}

std::vector<std::string> undocumented_events(const std::vector<log_event>& log,
                                             const std::map<std::string, documented_event>& documented) {
  std::vector<std::string> problems;
  std::set<std::string> reported;  // one problem per event name, not one per line
  for (const auto& e : log) {
    if (reported.contains(e.event)) continue;
    const auto it = documented.find(e.event);
    if (it == documented.end()) {
      reported.insert(e.event);
      problems.push_back("event " + e.event + " is not in the README's table: " + e.line);
      continue;
    }
    std::set<std::string> fields;
    for (const auto& [k, v] : e.fields)
      if (k != "ts" && k != "level" && k != "event") fields.insert(k);
    if (e.level != it->second.level || fields != it->second.fields) {
      reported.insert(e.event);
      std::string listed;
      for (const auto& f : it->second.fields) listed += (listed.empty() ? "" : ", ") + f;
      problems.push_back("event " + e.event + " differs from the README's table (level " + it->second.level +
                         ", fields " + listed + "): " + e.line);
    }
  }
  return problems;
}

}  // namespace chargerecon::test
