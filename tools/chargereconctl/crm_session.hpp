#pragma once
// CRM.COM for a one-shot command: crm::client over http::client, built from chargerecond's
// configuration exactly as the daemon builds it (lib/engine/service.cpp), with each call run to
// completion on a private io_context. Blocking; Asio stays out of this header.
//
// The client's retries apply (a CLI gives up sooner: 3 attempts, short backoff), and its log
// events (never a token or password) go to the event_log given, so an operator sees retries.

#include <memory>
#include <string>
#include <vector>

#include "chargereconctl/reports.hpp"
#include "common/error.hpp"
#include "config/config.hpp"
#include "crm/types.hpp"
#include "observability/event_log.hpp"

namespace chargerecon::ctl {

class crm_session {
 public:
  // Errors: those of http::client::create (invalid_url, plain_http_refused, tls_setup_failed).
  static result<std::unique_ptr<crm_session>> create(const config& cfg, const secrets& sec, obs::event_log log);
  ~crm_session();
  crm_session(const crm_session&) = delete;
  crm_session& operator=(const crm_session&) = delete;

  // Each: the crm::client call's errors (crm_login_refused, crm_retries_exhausted,
  // crm_http_status, crm_token_rejected, invalid_argument, crm_limit_exceeded, ...).
  result<std::vector<crm::promotion>> promotions();
  result<std::vector<crm::subscription>> show_subscription(crm::subscription_query query);
  result<crm::subscription_signup> create_subscription(crm::subscription_create_request request);
  result<void> suspend(std::string customer, bool suspended);
  result<crm::device_result> devices(bool registering, crm::group_identifier group, std::vector<std::string> esns);

  // One complete pass of charges/list with `status`, pages of `page_size`, by the offset RULE
  // (engine::pass_cursor). Nothing is acknowledged, so the offset advances by what each page
  // held. A pass that stalls ends with complete = false rather than looping.
  result<crm_listing> list_all(crm::list_status status, unsigned page_size);

 private:
  struct impl;
  explicit crm_session(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace chargerecon::ctl
