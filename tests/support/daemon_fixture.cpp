#include "support/daemon_fixture.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <csignal>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "config/writer.hpp"
#include "http/client.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "observability/event_log.hpp"

namespace chargerecon::test {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::chrono::seconds state_call_deadline{30};
constexpr std::chrono::seconds start_timeout{30};
constexpr std::size_t describe_tail_bytes = 6000;

// One blocking GET on a private io_context; throws unless the answer is 2xx.
std::string http_get(const std::string& origin, std::string_view target) {
  asio::io_context ioc;
  http::client_config config;
  config.base_url = origin + "/";
  config.connect_timeout = std::chrono::seconds(10);
  config.request_timeout = state_call_deadline;
  config.max_response_bytes = 512 * 1024 * 1024;  // a large backlog makes a large state
  auto client = http::client::create(ioc.get_executor(), config);
  if (!client)
    throw std::runtime_error("GET " + origin + "/" + std::string(target) + ": " + client.error().to_string());
  http::request req;
  req.verb = http::method::get;
  req.target = std::string(target);
  std::optional<result<http::response>> answer;
  std::exception_ptr failure;
  // Named: the lambda must outlive its coroutine.
  auto body = [&]() -> asio::awaitable<void> {
    answer = co_await (*client)->send(std::move(req));
    (*client)->close_idle();
  };
  asio::co_spawn(ioc, body(), [&](std::exception_ptr e) { failure = e; });
  ioc.run_for(state_call_deadline + std::chrono::seconds(5));
  if (failure) std::rethrow_exception(failure);
  const std::string what = "GET " + origin + "/" + std::string(target);
  if (!answer) throw std::runtime_error(what + " did not finish");
  if (!*answer) throw std::runtime_error(what + ": " + answer->error().to_string());
  if (answer->value().status < 200 || answer->value().status >= 300)
    throw std::runtime_error(what + ": HTTP " + std::to_string(answer->value().status) + ": " +
                             quote_peer_text(answer->value().body, 500));
  return std::move(answer->value().body);
}

// The end of a daemon's stderr for a failure message. Idle passes (a --once run that cannot
// drain logs one every 500ms) would push everything useful out, so they are only counted.
std::string tail(const std::string& text, std::size_t bytes) {
  std::string kept;
  std::size_t idle = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("\"event\":\"poll.pass_done\"") != std::string::npos &&
        line.find("\"new_charges\":0}") != std::string::npos) {
      ++idle;
      continue;
    }
    kept += line + "\n";
  }
  std::string out = idle ? "[" + std::to_string(idle) + " poll.pass_done lines without new charges left out]\n" : "";
  if (kept.size() <= bytes) return out + kept;
  return out + "[... " + std::to_string(kept.size() - bytes) + " bytes before]\n" + kept.substr(kept.size() - bytes);
}

std::string field_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

std::vector<log_event> parse_log(const std::string& text) {
  std::vector<log_event> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    // A line cut short by SIGKILL is not an event.
    if (ec || !v.is_object()) continue;
    log_event e;
    for (const auto& [k, val] : v.get_object()) {
      if (k == "level")
        e.level = field_text(val);
      else if (k == "event")
        e.event = field_text(val);
      else
        e.fields[std::string(k)] = field_text(val);
    }
    e.line = std::move(line);
    out.push_back(std::move(e));
  }
  return out;
}

std::string read_or_empty(const std::filesystem::path& path) {
  try {
    return read_file(path);
  } catch (const std::runtime_error&) {
    return {};
  }
}

std::unique_ptr<ledger::sqlite_ledger> open_read_only(const std::filesystem::path& path) {
  ledger::sqlite_ledger_options o;
  o.path = path;
  o.mode = ledger::open_mode::read_only;
  o.check_integrity = false;
  auto opened = ledger::sqlite_ledger::open(o, obs::event_log::null());
  if (!opened) throw std::runtime_error("cannot open the ledger read-only: " + opened.error().to_string());
  return std::move(*opened);
}

}  // namespace

// ---- billing-fake ---------------------------------------------------------------------------

const billing_record* billing_state::find(std::string_view number) const {
  for (const auto& r : records)
    if (r.number == number) return &r;
  return nullptr;
}

std::size_t billing_state::records_for(std::string_view number) const {
  std::size_t n = 0;
  for (const auto& r : records) n += r.number == number ? 1 : 0;
  return n;
}

std::filesystem::path billing_fake::program() {
#ifdef CHARGERECON_BILLING_FAKE_PATH
  return CHARGERECON_BILLING_FAKE_PATH;
#else
  return {};
#endif
}

billing_fake::billing_fake(std::vector<std::string> flags) : dir_("billing-fake") {
  const auto path = program();
  if (path.empty()) throw std::runtime_error("the billing-fake target is not defined in this build");
  if (!std::filesystem::exists(path))
    throw std::runtime_error(path.string() + " is missing: build the billing-fake target first");
  const auto port_file = dir_ / "port";
  flags.insert(flags.end(), {"--port", "0", "--port-file", port_file.string(), "--quiet"});
  child_ =
      std::make_unique<child_process>(child_process::spawn(path, flags, {}, dir_ / "stdout.txt", dir_ / "stderr.txt"));
  const auto port = wait_for_port_file(port_file, start_timeout, *child_);
  if (!port) throw std::runtime_error("billing-fake did not report its port:\n" + child_->output());
  port_ = *port;
}

billing_fake::~billing_fake() {
  if (child_ && child_->running()) {
    child_->signal(SIGTERM);
    child_->wait(std::chrono::seconds(5));
  }
}

std::string billing_fake::origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string billing_fake::bill_url() const { return origin() + "/bill"; }
std::string billing_fake::output() const { return child_ ? child_->output() : std::string(); }

billing_state billing_fake::state() const {
  billing_state s;
  s.json = http_get(origin(), "state");
  const auto root = json::parse(s.json).as_object();
  for (const auto& item : root.at("records").as_array()) {
    const auto& o = item.as_object();
    billing_record r;
    r.reference_number = o.at("reference_number").as_string();
    r.number = o.at("number").as_string();
    r.customer = o.at("customer").as_string();
    r.amount = o.at("amount").as_string();
    r.currency = o.at("currency").as_string();
    r.posts = o.at("posts").to_number<std::uint64_t>();
    s.records.push_back(std::move(r));
  }
  s.posts_total = root.at("posts_total").to_number<std::uint64_t>();
  for (const auto& [key, n] : root.at("posts_by_key").as_object())
    s.posts_by_key[std::string(key)] = n.to_number<std::uint64_t>();
  return s;
}

// ---- log -------------------------------------------------------------------------------------

std::string log_event::field(std::string_view key) const {
  const auto it = fields.find(std::string(key));
  return it == fields.end() ? std::string() : it->second;
}

// ---- daemon_process ---------------------------------------------------------------------------

daemon_process::daemon_process(child_process child, std::string label)
    : child_(std::move(child)), label_(std::move(label)) {}

std::string daemon_process::stderr_text() const { return read_or_empty(child_.stderr_file()); }

std::vector<log_event> daemon_process::log() const { return parse_log(stderr_text()); }

std::vector<log_event> daemon_process::events(std::string_view name) const {
  std::vector<log_event> out;
  for (auto& e : log())
    if (e.event == name) out.push_back(std::move(e));
  return out;
}

bool daemon_process::wait_for_events(std::string_view name, std::size_t count, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (events(name).size() >= count) return true;
    if (!running() || std::chrono::steady_clock::now() >= deadline) return events(name).size() >= count;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string daemon_process::describe() {
  const auto status = child_.wait(std::chrono::milliseconds(0));
  return label_ + " (pid " + std::to_string(pid()) + ", " +
         (status ? "exit status " + std::to_string(*status) : std::string("running")) + ")\n--- stderr\n" +
         tail(stderr_text(), describe_tail_bytes);
}

std::string once_result::describe() const {
  return std::string("chargerecond --once: ") +
         (exit_status ? "exit status " + std::to_string(*exit_status) : std::string("did not finish in time")) +
         "\n--- stderr\n" + tail(stderr_text, describe_tail_bytes);
}

// ---- the daemon's configuration ---------------------------------------------------------------

config config_for(const daemon_settings& s, const std::filesystem::path& ledger) {
  config c;
  c.crm.base_url = s.crm_base_url;
  c.crm.username = "operator";
  c.crm.organisation = "demo-org";
  c.crm.timeout = s.crm_timeout;
  c.crm.connect_timeout = std::chrono::seconds(5);
  c.poll.interval = s.poll_interval;
  c.poll.charge_status = s.charge_status;
  c.poll.page_size = s.page_size;
  c.billing.url = s.billing_url;
  c.billing.concurrency = s.billing_concurrency;
  c.billing.timeout = s.billing_timeout;
  c.billing.connect_timeout = std::chrono::seconds(5);
  c.billing.bill_statuses = s.bill_statuses;
  c.billing.backoff_initial = s.billing_backoff_initial;
  c.billing.backoff_max = s.billing_backoff_max;
  c.ack.batch_size = s.ack_batch_size;
  c.ack.linger = s.ack_linger;
  c.ack.max_attempts = s.ack_max_attempts;
  c.ack.backoff_initial = s.ack_backoff_initial;
  c.ack.backoff_max = s.ack_backoff_max;
  c.ledger.path = ledger.string();
  c.log.level = s.log_level;
  c.log.format = obs::log_format::json;
  c.metrics.listen = "127.0.0.1:0";
  c.shutdown.deadline = s.shutdown_deadline;
  return c;
}

// ---- daemon_fixture ---------------------------------------------------------------------------

std::filesystem::path daemon_fixture::program() {
#ifdef CHARGERECON_CHARGERECOND_PATH
  return CHARGERECON_CHARGERECOND_PATH;
#else
  return {};
#endif
}

std::filesystem::path daemon_fixture::audit_program() {
#ifdef CHARGERECON_SIM_AUDIT_PATH
  return CHARGERECON_SIM_AUDIT_PATH;
#else
  return {};
#endif
}

daemon_fixture::daemon_fixture(daemon_settings settings) : dir_("chargerecond"), settings_(std::move(settings)) {
  const auto path = program();
  if (path.empty()) throw std::runtime_error("the chargerecond target is not defined in this build");
  if (!std::filesystem::exists(path))
    throw std::runtime_error(path.string() + " is missing: build the chargerecond target first");
  std::filesystem::create_directory(credentials_dir());
  std::filesystem::permissions(credentials_dir(), std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
  write_file(credentials_dir() / "crm-password", "secret\n", 0600);  // crm-sim's default
  write_config();
}

void daemon_fixture::write_config() const {
  write_file(config_path(), to_yaml(config_for(settings_, ledger_path())), 0600);
}

daemon_process daemon_fixture::start(bool once) {
  const auto n = ++runs_;
  std::vector<std::string> args{"--config", config_path().string()};
  if (once) args.emplace_back("--once");
  const auto label = "chargerecond run " + std::to_string(n) + (once ? " (--once)" : "");
  environment env{{"CREDENTIALS_DIRECTORY", credentials_dir().string()}};
  env.insert(env.end(), extra_env_.begin(), extra_env_.end());
  auto child = child_process::spawn(program(), args, env,
                                    dir_ / ("run-" + std::to_string(n) + ".stdout"),
                                    dir_ / ("run-" + std::to_string(n) + ".stderr"));
  return daemon_process(std::move(child), label);
}

once_result daemon_fixture::run_once(std::chrono::milliseconds timeout) {
  auto p = start(true);
  once_result r;
  r.exit_status = p.wait(timeout);
  if (!r.exit_status) {
    // Bounded: a run that does not drain fails the test, with what it logged.
    p.signal(SIGTERM);
    if (!p.wait(settings_.shutdown_deadline + std::chrono::seconds(5))) p.signal(SIGKILL);
    p.wait(std::chrono::seconds(10));
  }
  r.stderr_text = p.stderr_text();
  r.log = parse_log(r.stderr_text);
  return r;
}

audit_result daemon_fixture::audit(const std::string& crm_origin, const std::string& billing_origin,
                                   bool expect_drained, std::chrono::milliseconds timeout) {
  const auto path = audit_program();
  if (path.empty()) throw std::runtime_error("the sim-audit target is not defined in this build");
  if (!std::filesystem::exists(path)) throw std::runtime_error(path.string() + " is missing: build sim-audit first");
  std::vector<std::string> args{"--crm-url",    crm_origin, "--billing-url",
                                billing_origin, "--ledger", ledger_path().string()};
  std::string statuses;
  for (const auto status : settings_.bill_statuses)
    statuses += (statuses.empty() ? "" : ",") + std::string(to_string(status));
  args.insert(args.end(), {"--bill-statuses", statuses});
  if (expect_drained) args.emplace_back("--expect-drained");
  const auto n = ++runs_;
  const auto out = dir_ / ("audit-" + std::to_string(n) + ".stdout");
  const auto err = dir_ / ("audit-" + std::to_string(n) + ".stderr");
  auto child = child_process::spawn(path, args, {}, out, err);
  const auto status = child.wait(timeout);
  if (!status) throw std::runtime_error("sim-audit did not finish within the timeout:\n" + child.output());
  return audit_result{*status, read_or_empty(out) + read_or_empty(err)};
}

std::vector<ledger::charge_record> daemon_fixture::ledger_charges() const {
  auto store = open_read_only(ledger_path());
  std::vector<ledger::charge_record> all;
  ledger::charge_filter f;
  f.limit = 1000;
  for (;;) {
    auto page = store->list(f);
    if (!page) throw std::runtime_error("cannot list the ledger: " + page.error().to_string());
    all.insert(all.end(), page->begin(), page->end());
    if (page->size() < f.limit) break;
    f.offset += f.limit;
  }
  return all;
}

std::vector<ledger::event_record> daemon_fixture::ledger_events(std::string_view number) const {
  auto store = open_read_only(ledger_path());
  auto events = store->events(number);
  if (!events) throw std::runtime_error("cannot read the ledger's events: " + events.error().to_string());
  return std::move(*events);
}

}  // namespace chargerecon::test
