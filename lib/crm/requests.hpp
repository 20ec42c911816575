#pragma once
// Requests of the CRM.COM netflix methods, built without sending anything: GET targets with
// Boost.URL (every value percent-encoded, '+' included, since CRM.COM's servlet stack reads
// '+' in a query as a space; lists comma separated), POST bodies with Boost.JSON ("token" a
// top-level key beside the parameters). Targets are relative ("netflix/charges/list?..."):
// http::client prefixes the base URL's path.
//
// The method's documented limits are enforced here, before anything is sent:
//   acknowledge      at most 50 items           -> errc::crm_limit_exceeded (the engine batches)
//   charges/list     number_of_results 1..50    -> 0: invalid_argument, over 50: crm_limit_exceeded
//   *_devices        at most 1000 devices       -> crm_limit_exceeded (crm::client splits larger sets)
//   create           validity_duration 1..86400 -> over: crm_limit_exceeded, 0 or less: invalid_argument
// Missing mandatory values (empty customer, empty item number, ...) are errc::invalid_argument.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "crm/types.hpp"
#include "http/message.hpp"

namespace chargerecon::crm {

inline constexpr std::size_t max_ack_items = 50;
inline constexpr unsigned max_results_per_page = 50;
inline constexpr std::size_t max_devices_per_call = 1000;

// Who we log in as. Either web_api_key (authentication/web_api_key/token, HTTP Basic) or
// username + password + organisation (authentication/token); unit is optional for both.
// Secrets: never log, never put into a diagnostic.
struct credentials {
  std::string username;
  std::string password;
  std::string organisation;
  std::string unit;
  std::string web_api_key;
};

// The login method these credentials use (for diagnostics and logs).
std::string_view login_method(const credentials& c);
result<http::request> build_login(const credentials& c);

struct list_charges_params {
  list_status status = list_status::processed;
  std::size_t offset = 0;
  unsigned number_of_results = max_results_per_page;
  // fields_set; empty: all fields. When given, the fields the parser requires (number,
  // billing_system_customer_identifier, amount, currency, charge_status) are added, so a
  // narrowed list still yields charges rather than a page of malformed ones.
  std::vector<std::string> fields;
};
result<http::request> build_list_charges(std::string_view token, const list_charges_params& params);

result<http::request> build_acknowledge(std::string_view token, std::span<const ack_item> items);

result<http::request> build_list_promotions(std::string_view token, const std::vector<std::string>& fields);

result<http::request> build_show_subscription(std::string_view token, const subscription_query& query);

result<http::request> build_create_subscription(std::string_view token, const subscription_create_request& request);

// suspend or unsuspend (method::suspend / method::unsuspend).
result<http::request> build_suspension(std::string_view method_name, std::string_view token, std::string_view customer);

// register_devices or unregister_devices (method::register_devices / method::unregister_devices).
result<http::request> build_devices(std::string_view method_name, std::string_view token, const group_identifier& group,
                                    std::span<const std::string> esns);

// esns cut into consecutive slices of at most max_devices_per_call, in order.
std::vector<std::span<const std::string>> split_devices(std::span<const std::string> esns);

}  // namespace chargerecon::crm
