#include "support/crm_sim_fixture.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <csignal>
#include <exception>
#include <stdexcept>

#include "http/client.hpp"

namespace chargerecon::test {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::chrono::seconds sim_call_deadline{20};

std::optional<std::string> optional_text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  return std::string(v->as_string());
}

sim_state parse_state(std::string body) {
  sim_state s;
  const auto root = json::parse(body).as_object();
  for (const auto& item : root.at("charges").as_array()) {
    const auto& o = item.as_object();
    sim_charge c;
    c.number = o.at("number").as_string();
    c.customer = o.at("customer").as_string();
    c.status = optional_text(o, "status");
    c.amount = optional_text(o, "amount");
    c.currency = o.at("currency").as_string();
    c.acknowledged = o.at("acknowledged").as_bool();
    c.reference_number = optional_text(o, "reference_number");
    c.ack_attempts = o.at("ack_attempts").to_number<unsigned>();
    c.ack_refusals = o.at("ack_refusals").to_number<unsigned>();
    c.raw = o.at("raw").as_bool();
    s.charges.push_back(std::move(c));
  }
  s.logins = root.at("logins").to_number<std::uint64_t>();
  for (const auto& [method, n] : root.at("calls").as_object())
    s.calls[std::string(method)] = n.to_number<std::uint64_t>();
  s.registered_devices = root.at("registered_devices").to_number<std::uint64_t>();
  s.json = std::move(body);
  return s;
}

}  // namespace

std::uint64_t sim_state::calls_to(std::string_view method) const {
  const auto it = calls.find(std::string(method));
  return it == calls.end() ? 0 : it->second;
}

const sim_charge* sim_state::find(std::string_view number) const {
  for (const auto& c : charges) {
    if (c.number == number) return &c;
  }
  return nullptr;
}

std::filesystem::path crm_sim::program() {
#ifdef CHARGERECON_CRM_SIM_PATH
  return CHARGERECON_CRM_SIM_PATH;
#else
  return {};
#endif
}

crm_sim::crm_sim(std::vector<std::string> flags) : crm_sim(crm_sim_start{std::move(flags), {}, {}}) {}

crm_sim::crm_sim(crm_sim_start start) : dir_("crm-sim"), ca_file_(std::move(start.ca_file)) {
  const auto path = program();
  if (path.empty()) throw std::runtime_error("the crm-sim target is not defined in this build");
  if (!std::filesystem::exists(path))
    throw std::runtime_error(path.string() + " is missing: build the crm-sim target first");
  for (const auto& f : start.flags) tls_ = tls_ || f == "--tls-cert" || f.starts_with("--tls-cert=");
  if (start.start_timeout.count() <= 0) start.start_timeout = std::chrono::seconds(30);

  auto args = std::move(start.flags);
  const auto port_file = dir_ / "port";
  args.insert(args.end(), {"--port", "0", "--port-file", port_file.string()});
  child_ =
      std::make_unique<child_process>(child_process::spawn(path, args, {}, dir_ / "stdout.txt", dir_ / "stderr.txt"));
  const auto port = wait_for_port_file(port_file, start.start_timeout, *child_);
  if (!port) throw std::runtime_error("crm-sim did not report its port:\n" + child_->output());
  port_ = *port;
}

crm_sim::~crm_sim() {
  // SIGTERM first so crm-sim closes its sockets itself; the child's destructor kills what lingers.
  if (child_ && child_->running()) {
    child_->signal(SIGTERM);
    child_->wait(std::chrono::seconds(5));
  }
}

std::string crm_sim::origin() const {
  return std::string(tls_ ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port_);
}

std::string crm_sim::base_url() const { return origin() + "/crmapi/rest/v2/"; }

std::string crm_sim::exchange(bool post, std::string_view target, std::string_view body) const {
  asio::io_context ioc;
  http::client_config config;
  config.base_url = origin() + "/";
  config.ca_file = ca_file_;
  config.connect_timeout = std::chrono::seconds(10);
  config.request_timeout = sim_call_deadline;
  // /sim/state lists every charge: a large backlog makes a large answer.
  config.max_response_bytes = 512 * 1024 * 1024;
  auto client = http::client::create(ioc.get_executor(), config);
  if (!client) throw std::runtime_error("crm_sim fixture: " + client.error().to_string());

  http::request req;
  req.verb = post ? http::method::post : http::method::get;
  req.target = std::string(target);
  if (post) {
    req.body = std::string(body);
    req.content_type = "application/json";
  }
  std::optional<result<http::response>> answer;
  std::exception_ptr failure;
  bool done = false;
  // Named: a coroutine lambda's captures live in the closure, which must outlive the coroutine.
  auto exchange_once = [&]() -> asio::awaitable<void> {
    answer = co_await (*client)->send(std::move(req));
    (*client)->close_idle();
  };
  asio::cancellation_signal cancel;
  asio::co_spawn(ioc, exchange_once(), asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
                   done = true;
                   failure = e;
                 }));
  ioc.run_for(sim_call_deadline + std::chrono::seconds(5));
  if (!done) {
    // The client's own timeouts make this unlikely; still, end the exchange before the client
    // and the io_context go away under it.
    cancel.emit(asio::cancellation_type::terminal);
    ioc.restart();
    ioc.run_for(std::chrono::seconds(5));
  }
  if (failure) std::rethrow_exception(failure);
  const std::string what = std::string(post ? "POST /" : "GET /") + std::string(target);
  if (!answer) throw std::runtime_error("crm_sim fixture: " + what + " did not finish\n" + output());
  if (!*answer)
    throw std::runtime_error("crm_sim fixture: " + what + ": " + answer->error().to_string() + "\n" + output());
  const auto& resp = answer->value();
  if (resp.status < 200 || resp.status >= 300) {
    throw std::runtime_error("crm_sim fixture: " + what + ": HTTP " + std::to_string(resp.status) + ": " +
                             quote_peer_text(resp.body, 500));
  }
  return resp.body;
}

sim_state crm_sim::state() const { return parse_state(exchange(false, "sim/state", {})); }

std::size_t crm_sim::post_charges(std::string_view json_array) const {
  const auto body = exchange(true, "sim/charges", json_array);
  return json::parse(body).as_object().at("appended").to_number<std::size_t>();
}

std::string crm_sim::post_faults(std::string_view json_object) const {
  return exchange(true, "sim/faults", json_object);
}

std::string crm_sim::amend(std::string_view json_object) const { return exchange(true, "sim/amend", json_object); }

std::optional<int> crm_sim::stop(std::chrono::milliseconds timeout) {
  if (!child_) return std::nullopt;
  child_->signal(SIGTERM);
  return child_->wait(timeout);
}

std::string crm_sim::output() const { return child_ ? child_->output() : std::string(); }

}  // namespace chargerecon::test
