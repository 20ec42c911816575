#include "bench/baseline.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <unordered_map>
#include <variant>

#include "billing/client.hpp"
#include "crm/client.hpp"
#include "crm/http_transport.hpp"
#include "http/client.hpp"
#include "ledger/sqlite_ledger.hpp"

namespace chargerecon::bench {
namespace asio = boost::asio;
namespace {

ledger::timestamp now_ts() { return ledger::to_timestamp(std::chrono::system_clock::now()); }

constexpr unsigned page_size = 50;

class naive_loop {
 public:
  naive_loop(crm::client& crm, billing::client& bill, ledger::ledger& store, obs::event_log log)
      : crm_(crm), bill_(bill), store_(store), log_(std::move(log)) {}

  asio::awaitable<result<baseline_summary>> run() {
    co_await asio::this_coro::throw_if_cancelled(false);
    std::size_t offset = 0;
    for (;;) {
      auto page = co_await crm_.list_charges(crm::list_status::processed, offset, page_size);
      if (!page) co_return page.error();
      ++summary_.pages;
      // Malformed elements stay in the list: nobody acknowledges what nobody could read.
      offset += page->malformed.size();
      auto stayed = co_await work_page(*page);
      if (!stayed) co_return stayed.error();
      offset += *stayed;
      if (page->entries < page_size) break;
    }
    summary_.left_in_list = offset;
    co_return summary_;
  }

 private:
  // Records, bills and acknowledges one page; returns how many of its charges stay listed.
  asio::awaitable<result<std::size_t>> work_page(const crm::charges_page& page) {
    std::size_t stayed = 0;
    if (page.charges.empty()) co_return stayed;
    std::vector<ledger::observed_charge> observed;
    for (const auto& c : page.charges)
      observed.push_back({c.number, c.customer, std::string(crm::to_wire(c.status)), c.amount, c.currency, c.raw_json});
    auto recorded = store_.record_page(observed, now_ts());
    if (!recorded) co_return recorded.error();
    summary_.charges += recorded->size();

    std::unordered_map<std::string, const crm::charge*> by_number;
    for (const auto& c : page.charges) by_number.emplace(c.number, &c);
    std::vector<crm::ack_item> acks;
    for (const auto& r : *recorded) {
      const auto& c = *by_number.at(r.number);
      switch (r.state) {
        case ledger::charge_state::seen: {
          auto billed = co_await bill_one(c);
          if (!billed) co_return billed.error();
          if (*billed)
            acks.push_back({c.number, c.customer, std::move(**billed)});
          else
            ++stayed;
          break;
        }
        case ledger::charge_state::ack_pending:
          acks.push_back({c.number, c.customer, std::nullopt});
          break;
        default:  // pending, held, dead (a fresh ledger has no others here)
          ++stayed;
          break;
      }
    }
    if (acks.empty()) co_return stayed;
    const auto sent = acks.size();
    std::vector<std::string> numbers;
    for (const auto& a : acks) numbers.push_back(a.number);
    auto refused = co_await crm_.acknowledge(std::move(acks));
    if (!refused) co_return refused.error();
    ledger::ack_report report;
    std::unordered_map<std::string, const crm::ack_refusal*> refused_by_number;
    for (const auto& f : *refused) refused_by_number.emplace(f.number, &f);
    for (auto& n : numbers) {
      if (const auto it = refused_by_number.find(n); it != refused_by_number.end())
        report.refused.push_back({n, it->second->error_code, it->second->error_description});
      else
        report.acknowledged.push_back(n);
    }
    auto recorded_ack = store_.record_ack_result(report, now_ts());
    if (!recorded_ack) co_return recorded_ack.error();
    summary_.acknowledged += static_cast<std::uint64_t>(recorded_ack->acknowledged);
    stayed += sent - static_cast<std::size_t>(recorded_ack->acknowledged);
    co_return stayed;
  }

  // billing, post, answer: the reference when billed, nullopt when it stays listed (held, or
  // billing gave up).
  asio::awaitable<result<std::optional<std::string>>> bill_one(const crm::charge& c) {
    const std::string numbers[] = {c.number};
    if (auto marked = store_.mark_billing(numbers, now_ts()); !marked) co_return marked.error();
    auto posted = co_await bill_.post(c.number, c.raw_json);
    if (!posted) co_return posted.error();
    if (const auto* b = std::get_if<billing::billed>(&*posted)) {
      if (auto r = store_.mark_billed(c.number, b->reference, now_ts()); !r) co_return r.error();
      ++summary_.billed;
      co_return std::optional<std::string>(b->reference);
    }
    if (const auto* rej = std::get_if<billing::rejected>(&*posted)) {
      if (auto r = store_.mark_held(c.number, rej->reason, now_ts()); !r) co_return r.error();
      ++summary_.held;
      co_return std::optional<std::string>();
    }
    const auto& gave = std::get<billing::gave_up>(*posted);
    log_.warn("baseline.post_gave_up", {{"number", c.number}, {"error", gave.last.to_string()}});
    if (auto r =
            store_.record_bill_failure(c.number, gave.last.to_string(), now_ts() + std::chrono::seconds(1), now_ts());
        !r)
      co_return r.error();
    ++summary_.failed_posts;
    co_return std::optional<std::string>();
  }

  crm::client& crm_;
  billing::client& bill_;
  ledger::ledger& store_;
  obs::event_log log_;
  baseline_summary summary_;
};

}  // namespace

result<baseline_summary> run_baseline(const baseline_config& config, obs::event_log log) {
  ledger::sqlite_ledger_options lopts;
  lopts.path = config.ledger_path;
  lopts.mode = ledger::open_mode::exclusive;
  lopts.policy.bill_statuses = config.bill_statuses;
  auto opened = ledger::sqlite_ledger::open(lopts, log);
  if (!opened) return opened.error();

  asio::io_context io(1);
  // One connection each: the loop never has two calls in flight.
  http::client_config crm_http;
  crm_http.base_url = config.crm_base_url;
  crm_http.max_connections = 1;
  auto crm_http_client = http::client::create(io.get_executor(), crm_http);
  if (!crm_http_client) return crm_http_client.error();
  crm::client crm_client(crm::make_http_transport(**crm_http_client), config.credentials, {}, log);

  http::client_config bill_http;
  bill_http.base_url = config.billing_base_url;
  bill_http.max_connections = 1;
  auto bill_http_client = http::client::create(io.get_executor(), bill_http);
  if (!bill_http_client) return bill_http_client.error();
  billing::client_config bill_conf;
  bill_conf.concurrency = 1;
  bill_conf.target.target = config.billing_target;
  billing::client bill_client(billing::make_transport(**bill_http_client), bill_conf, log);

  naive_loop loop(crm_client, bill_client, **opened, log);
  std::optional<result<baseline_summary>> outcome;
  std::exception_ptr failure;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { outcome = co_await loop.run(); },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);  // a bug: main reports it
  if (!outcome) return error{errc::invalid_argument, "baseline: the loop ended without an outcome"};
  return std::move(*outcome);
}

}  // namespace chargerecon::bench
